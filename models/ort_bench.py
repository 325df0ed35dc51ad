#!/usr/bin/env python3
"""ONNX Runtime latency baseline for an embedding model.

Usage:
    python3 models/ort_bench.py MODEL.onnx TOKENS.json

TOKENS.json is {"token_ids": [[...], ...], "runs": N}. Every sequence is run
at batch 1 (input_ids, attention_mask of ones, token_type_ids of zeros),
round-robin, for N timed runs after a warm-up. ONNX Runtime uses one intra-op
thread, one inter-op thread and sequential execution.

stdout carries exactly one JSON line:
    {"runtime": "onnxruntime", "version": ..., "p50_us": ..., "p95_us": ...,
     "mean_us": ..., "runs": N}
Everything else goes to stderr. Needs only numpy and onnxruntime, and is also
imported by models/build.py so both measure the same way.
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort


def make_session(model_path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(str(model_path), sess_options=so, providers=["CPUExecutionProvider"])


def feeds_for(ids):
    ids = np.asarray(ids, dtype=np.int64).reshape(1, -1)
    return {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
    }


def percentile(sorted_vals, q):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return 0.0
    k = max(0, min(len(sorted_vals) - 1, int(np.ceil(q / 100.0 * len(sorted_vals))) - 1))
    return float(sorted_vals[k])


def bench(sess, token_ids, runs, warmup=None):
    """Time `runs` batch-1 runs, round-robin over token_ids. Returns microsecond stats."""
    feeds = [feeds_for(ids) for ids in token_ids]
    if not feeds:
        raise ValueError("no token sequences")
    if warmup is None:
        warmup = max(10, 2 * len(feeds))
    out_names = [o.name for o in sess.get_outputs()][:1]
    for i in range(warmup):
        sess.run(out_names, feeds[i % len(feeds)])
    times = []
    for i in range(runs):
        f = feeds[i % len(feeds)]
        t0 = time.perf_counter_ns()
        sess.run(out_names, f)
        times.append((time.perf_counter_ns() - t0) / 1000.0)
    s = sorted(times)
    return {
        "p50_us": round(percentile(s, 50), 1),
        "p95_us": round(percentile(s, 95), 1),
        "mean_us": round(float(np.mean(times)), 1),
        "runs": runs,
    }


def main(argv):
    if len(argv) != 3:
        print("usage: ort_bench.py MODEL.onnx TOKENS.json", file=sys.stderr)
        return 2
    with open(argv[2], "r", encoding="utf-8") as f:
        spec = json.load(f)
    token_ids = spec["token_ids"]
    runs = int(spec.get("runs", 200))
    print(f"ort_bench: {argv[1]}, {len(token_ids)} sequences, {runs} runs", file=sys.stderr)
    sess = make_session(argv[1])
    stats = bench(sess, token_ids, runs)
    line = {"runtime": "onnxruntime", "version": ort.__version__}
    line.update(stats)
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

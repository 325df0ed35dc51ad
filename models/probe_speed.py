"""Timing probe for student shapes, run before any training.

Builds the fp32 triage graph of the teacher (6 layers) and of candidate students (a layer count, an
attention-head count and an FFN width per layer) from the package weights, sliced to each shape and
with zero heads: untrained, but with the exact operations and sizes a trained model of that shape would
have. Each file is timed in tract with `examples/triage_forms.rs` (the same example `export.py` uses),
in rounds, files in turn, and each keeps its lowest p50. It prints the teacher/student p50 ratio of
every shape, so a shape can be chosen for speed before training decides its accuracy.

    models/.venv/bin/python models/probe_speed.py 3x12x1536 3x10x1536 3x8x1536 --rounds 3

A shape is LAYERSxHEADSxFFN. The weights kept are the first heads and neurons of the student's teacher
layers (`train.STUDENT_LAYERS`); which ones are kept does not change the time.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import onnx

import build

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "probe"
STUDENT_LAYERS = build.STUDENT_LAYER_MAPS


def triage_heads():
    """The triage heads as build_fp32_model takes them, from the bundled model's manifest (train.py, which
    defines them too, needs torch)."""
    manifest = tomllib.loads((HERE / "triage-student-int8" / "manifest.toml").read_text())
    return [(h["name"], f"heads.{h['name']}", len(h["labels"])) for h in manifest["heads"]]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def shaped(src, layers, heads, ffn):
    """The package weights as a `layers`-layer model with `heads` heads and `ffn` FFN neurons per layer,
    plus zero triage heads."""
    layer_map = list(range(build.LAYERS)) if layers == build.LAYERS else STUDENT_LAYERS[layers]
    dims = np.arange(heads * build.HEAD_DIM)
    w = {k: np.asarray(v) for k, v in src.items() if k.startswith("embeddings.")}
    for i, t in enumerate(layer_map):
        for k, v in src.items():
            m = re.match(rf"encoder\.layer\.{t}\.(.*)", k)
            if not m:
                continue
            rest = m.group(1)
            v = np.asarray(v)
            if rest.startswith("attention.self."):
                v = v[dims]
            elif rest == "attention.output.dense.weight":
                v = v[:, dims]
            elif rest.startswith("intermediate.dense."):
                v = v[:ffn]
            elif rest == "output.dense.weight":
                v = v[:, :ffn]
            w[f"encoder.layer.{i}.{rest}"] = np.ascontiguousarray(v)
    for name, prefix, n in triage_heads():
        w[prefix + ".weight"] = np.zeros((n, build.HIDDEN), np.float32)
        w[prefix + ".bias"] = np.zeros(n, np.float32)
    return w


def parse_shape(s):
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", s)
    if not m:
        raise SystemExit(f"shape {s!r}: expected LAYERSxHEADSxFFN, e.g. 3x10x1536")
    layers, heads, ffn = map(int, m.groups())
    if layers not in STUDENT_LAYERS or not 0 < heads <= build.HEADS or not 0 < ffn <= build.INTERMEDIATE:
        raise SystemExit(f"shape {s!r}: layers in {sorted(STUDENT_LAYERS)}, heads 1..{build.HEADS}, "
                         f"ffn 1..{build.INTERMEDIATE}")
    return layers, heads, ffn


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("shapes", nargs="+", help="student shapes, LAYERSxHEADSxFFN")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    shapes = [parse_shape(s) for s in args.shapes]
    model_dir, src, _ = build.load_source()
    WORK.mkdir(parents=True, exist_ok=True)
    files = {}
    for key, (layers, heads, ffn) in [("teacher", (build.LAYERS, build.HEADS, build.INTERMEDIATE))] + \
            [(f"{a}x{b}x{c}", (a, b, c)) for a, b, c in shapes]:
        g = build.build_fp32_model(shaped(src, layers, heads, ffn), layers=layers, heads=triage_heads(),
                                   graph_name=f"probe_{key}")
        path = WORK / f"{key}.onnx"
        onnx.save(g, str(path))
        files[key] = path
        log(f"{key}: {path.stat().st_size / 1e6:.1f} MB")
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target"))
    subprocess.run(["cargo", "build", "-q", "--example", "triage_forms"], cwd=REPO, env=env, check=True)
    exe = Path(env["CARGO_TARGET_DIR"]) / "debug" / "examples" / "triage_forms"
    tokenizer = HERE / "triage-student-int8" / "tokenizer.json"
    best = {}
    for r in range(args.rounds):
        for key, path in files.items():
            out = subprocess.run([str(exe), str(path), str(tokenizer)], cwd=REPO, env=env, check=True,
                                 capture_output=True, text=True).stdout.strip()
            got = json.loads(out)
            log(f"round {r + 1} {key}: p50 {got['p50_us'] / 1000:.2f} ms")
            if key not in best or got["p50_us"] < best[key]["p50_us"]:
                best[key] = got
    t = best["teacher"]["p50_us"]
    print(f"{'shape':<12} {'p50 ms':>8} {'teacher/shape':>14}")
    for key, got in best.items():
        print(f"{key:<12} {got['p50_us'] / 1000:>8.2f} {t / got['p50_us']:>13.2f}x")


if __name__ == "__main__":
    main()

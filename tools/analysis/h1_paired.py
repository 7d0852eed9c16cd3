#!/usr/bin/env python3
"""H1 paired: how many heads find the gold positions, model B against model A on the same samples.

From a `ratkv niah --preset h1` results.jsonl (rows with diagnostics.head_hits, one character per (layer,
head): '1' when that head's selection held every gold position at every answer step). Per sample, the
fraction of heads that hit; per (method, budget) and task the mean over the samples both models ran, then the
mean over the chosen tasks (each task weighs the same, as `ratkv report`'s Avg); the last column is B - A with
a 95% percentile bootstrap interval (samples resampled within each task). `ratkv report` ranks heads (#1, #10,
top-50) per model; this adds the paired comparison with an interval.

usage: h1_paired.py RESULTS.jsonl MODEL_A MODEL_B [--tasks t1,t2,...] [--boot 2000] [--seed 1]
"""
import argparse
import collections
import json
import random

from sparse_vs_dense import LABELS  # the task labels, shared with the other analysis tool


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("model_a")
    ap.add_argument("model_b")
    ap.add_argument("--tasks", default=",".join(LABELS))
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tasks = args.tasks.split(",")
    # (method, budget) -> task -> sample -> model -> fraction of heads that hit
    hits = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(dict)))
    with open(args.results) as f:
        for line in f:
            r = json.loads(line)
            h = (r.get("diagnostics") or {}).get("head_hits")
            if not h or r["task"] not in tasks or r["model"] not in (args.model_a, args.model_b):
                continue
            hits[(r["method"], r["budget"])][r["task"]][r["sample"]][r["model"]] = h.count("1") / len(h)
    rng = random.Random(args.seed)
    print(f"| Method | Budget | {args.model_a}: heads hitting | {args.model_b}: heads hitting | "
          f"{args.model_b} - {args.model_a} [95% CI] | pairs |")
    print("|---|---|---:|---:|---|---:|")
    for (method, budget) in sorted(hits):
        per_task = {}
        for t in tasks:
            pairs = [(v[args.model_a], v[args.model_b]) for v in hits[(method, budget)][t].values()
                     if args.model_a in v and args.model_b in v]
            if pairs:
                per_task[t] = pairs
        if not per_task:
            continue
        mean = lambda xs: sum(xs) / len(xs)
        a = mean([mean([p[0] for p in ps]) for ps in per_task.values()])
        b = mean([mean([p[1] for p in ps]) for ps in per_task.values()])
        boots = []
        for _ in range(args.boot):
            boots.append(mean([mean([d[1] - d[0] for d in (rng.choice(ps) for _ in ps)])
                               for ps in per_task.values()]))
        boots.sort()
        lo, hi = boots[int(0.025 * args.boot)], boots[int(0.975 * args.boot) - 1]
        n = sum(len(ps) for ps in per_task.values())
        print(f"| {method} | {budget} | {a:.3f} | {b:.3f} | {b - a:+.3f} [{lo:+.3f}, {hi:+.3f}] | {n} |")


if __name__ == "__main__":
    main()

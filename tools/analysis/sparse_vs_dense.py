#!/usr/bin/env python3
"""How much of each model's own dense accuracy a sparse method keeps, from a `ratkv niah` results.jsonl.

For every (model, method, budget) and task: the mean over samples of (sparse score - dense score of the same
sample), then the mean over the chosen tasks (each task weighs the same, as in `ratkv report`'s Avg), with a 95%
percentile bootstrap interval (samples resampled within each task). The last column compares two models on the
same samples: the difference of their drops, with its bootstrap interval. This separates "the sparse method lost
less" from "the model was better to begin with", which the raw accuracies mix.

usage: sparse_vs_dense.py RESULTS.jsonl MODEL_A MODEL_B [--tasks t1,t2,...] [--boot 2000] [--seed 1]
"""
import argparse
import collections
import json
import random

LABELS = {"niah_single_1": "S-1", "niah_single_2": "S-2", "niah_single_3": "S-3", "niah_multikey_1": "MK-1",
          "niah_multikey_2": "MK-2", "niah_multikey_3": "MK-3", "niah_multivalue": "MV", "niah_multiquery": "MQ"}


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
    score = {}
    arms = set()
    for line in open(args.results):
        r = json.loads(line)
        score[(r["model"], r["method"], r["budget"], r["task"], r["sample"])] = r["score"]
        if r["method"] != "dense":
            arms.add((r["method"], r["budget"]))
    rng = random.Random(args.seed)

    def drops(model, arm, task, samples):
        return [score[(model, arm[0], arm[1], task, s)] - score[(model, "dense", "1", task, s)] for s in samples]

    print(f"tasks: {' '.join(LABELS.get(t, t) for t in tasks)}")
    print(f"| Method | Budget | {args.model_a}: sparse − dense | {args.model_b}: sparse − dense | "
          f"difference ({args.model_b} − {args.model_a}) | samples |")
    print("|---|---|---|---|---|---|")
    for arm in sorted(arms):
        # The samples every needed cell exists for, per task (both models, sparse and dense).
        per_task = {}
        for t in tasks:
            per_task[t] = sorted(s for (m, me, b, tt, s) in score if m == args.model_a and me == arm[0]
                                 and b == arm[1] and tt == t and all(
                                     (mm, x, y, t, s) in score for mm in (args.model_a, args.model_b)
                                     for (x, y) in (arm, ("dense", "1"))))
        if any(not v for v in per_task.values()):
            continue
        da = {t: drops(args.model_a, arm, t, per_task[t]) for t in tasks}
        db = {t: drops(args.model_b, arm, t, per_task[t]) for t in tasks}

        def stat(idx):
            a = sum(sum(da[t][i] for i in idx[t]) / len(idx[t]) for t in tasks) / len(tasks)
            b = sum(sum(db[t][i] for i in idx[t]) / len(idx[t]) for t in tasks) / len(tasks)
            return a, b, b - a

        point = stat({t: range(len(per_task[t])) for t in tasks})
        boots = []
        for _ in range(args.boot):
            idx = {t: [rng.randrange(len(per_task[t])) for _ in per_task[t]] for t in tasks}
            boots.append(stat(idx))
        cells = []
        for k in range(3):
            v = sorted(b[k] for b in boots)
            lo, hi = v[int(0.025 * len(v))], v[int(0.975 * len(v)) - 1]
            cells.append(f"{point[k]:+.2f} [{lo:+.1f}, {hi:+.1f}]")
        n = sum(len(v) for v in per_task.values())
        print(f"| {arm[0]} | {arm[1]} | {cells[0]} | {cells[1]} | {cells[2]} | {n} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Merges `ratkv niah` results files graded on several machines into one, a row per cell.

A cell is (model, task, length, sample, method, budget), as `ratkv niah` keys it. When two files hold the
same cell, their rows are compared with the timing fields left out (`seconds`, and `seconds` inside
`diagnostics`) and with the fields older rows lack filled in as ratkv reads them (`matmul` f32): equal rows
are the evidence that the machines compute the same thing; a row that differs is reported with the fields
that differ, and the row of the earlier file on the command line is kept. Rows come out in the order first
seen, so merging new rows into a committed file leaves the committed lines as they were. Also checks that
every (task, length, sample) has one prompt hash (a hash of the prompt text, the same for every model) in
every file and model: that the machines, and the two models of a pair, were given the same prompts.
Lines that do not parse (a shard cut off mid-line) are skipped with a warning, as ratkv skips them.

usage: merge_rows.py OUT.jsonl IN.jsonl [IN.jsonl ...] [--allow-differ N]
Writes OUT only if the checks pass: at most N cells differ (default 0) and no prompt hash disagrees;
otherwise exits 1 and leaves OUT as it was.
"""
import argparse
import json
import os
import sys


def cell_key(row):
    return (row["model"], row["task"], row["length"], row["sample"], row["method"],
            json.dumps(row.get("budget"), sort_keys=True))


def without_timing(row):
    row = dict(row)
    row.setdefault("matmul", "f32")
    row.pop("seconds", None)
    if isinstance(row.get("diagnostics"), dict):
        row["diagnostics"] = {k: v for k, v in row["diagnostics"].items() if k != "seconds"}
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--allow-differ", type=int, default=0)
    args = ap.parse_args()
    kept = {}  # cell key -> (line, row without timing)
    order = []
    same = differ = 0
    hashes = {}
    bad_hashes = 0
    for path in args.inputs:
        added = unreadable = 0
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    unreadable += 1
                    continue
                key = cell_key(row)
                prompt = (row["task"], row["length"], row["sample"])
                if hashes.setdefault(prompt, row.get("prompt_hash")) != row.get("prompt_hash"):
                    bad_hashes += 1
                    print(f"prompt hash differs: {prompt} ({row['model']} in {path})", file=sys.stderr)
                if key in kept:
                    fields = without_timing(row)
                    if kept[key][1] == fields:
                        same += 1
                    else:
                        differ += 1
                        old = kept[key][1]
                        names = sorted(k for k in set(fields) | set(old) if fields.get(k) != old.get(k))
                        print(f"differs: {key} in {', '.join(names)}; kept {old['prediction']!r}, "
                              f"{path} has {row['prediction']!r}", file=sys.stderr)
                    continue
                kept[key] = (line.rstrip("\n"), without_timing(row))
                order.append(key)
                added += 1
        print(f"{path}: {added} new cells" + (f", {unreadable} unreadable lines skipped" if unreadable else ""))
    print(f"{len(order)} cells; {same + differ} duplicate rows: {same} equal, {differ} differ; "
          f"{len(hashes)} prompts, {bad_hashes} hash disagreements")
    if differ > args.allow_differ or bad_hashes:
        print(f"not written: {args.out}", file=sys.stderr)
        sys.exit(1)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        for key in order:
            f.write(kept[key][0] + "\n")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

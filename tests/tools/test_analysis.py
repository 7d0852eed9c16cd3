#!/usr/bin/env python3
"""Tests of the analysis tools behind docs/results.md (tools/analysis), on small hand-made results files.

Run by CTest (AnalysisTools) or by hand: python3 -m unittest discover -s tests/tools
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "analysis")


def row(model, task, sample, method, budget, score, seconds=0.5, prompt_hash=None, prediction="1"):
    """One `ratkv niah` result row, with the fields the tools read."""
    return {"model": model, "task": task, "length": 4096, "sample": sample, "method": method, "budget": budget,
            "score": score, "seconds": seconds, "prediction": prediction, "outputs": [prediction],
            "prompt_hash": prompt_hash or f"{task}-{sample}", "matmul": "f32", "diagnostics": {}}


def write_rows(path, rows, tail=""):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write(tail)


def run_tool(name, *args):
    return subprocess.run([sys.executable, os.path.join(TOOLS, name), *args], capture_output=True, text=True)


def table_rows(stdout):
    """The markdown body rows of a tool's table, split into stripped cells."""
    rows = [line.strip("|").split("|") for line in stdout.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in r] for r in rows[1:]]  # without the header


class SparseVsDense(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "results.jsonl")

    def tearDown(self):
        self.dir.cleanup()

    def test_drops_are_per_sample_then_per_task_means(self):
        # Model a loses 100 on every sample of task x under quest and nothing on task y: its drop is
        # (-100 + 0) / 2 = -50 whatever the resampling, so the interval collapses onto the point. Model b
        # loses 100 on one sample of four in x: -12.5 at the point, an interval that is not a single value.
        rows = []
        for s in range(4):
            for task in ("x", "y"):
                rows.append(row("a", task, s, "dense", "1", 100.0))
                rows.append(row("b", task, s, "dense", "1", 100.0))
                rows.append(row("a", task, s, "quest:b=64", "1/4", 0.0 if task == "x" else 100.0))
                rows.append(row("b", task, s, "quest:b=64", "1/4", 0.0 if (task, s) == ("x", 0) else 100.0))
        write_rows(self.path, rows)
        out = run_tool("sparse_vs_dense.py", self.path, "a", "b", "--tasks", "x,y", "--boot", "400")
        self.assertEqual(out.returncode, 0, out.stderr)
        (cells,) = table_rows(out.stdout)
        self.assertEqual(cells[:2], ["quest:b=64", "1/4"])
        self.assertEqual(cells[2], "-50.00 [-50.0, -50.0]")
        self.assertTrue(cells[3].startswith("-12.50 ["), cells[3])
        self.assertNotEqual(cells[3], "-12.50 [-12.5, -12.5]")
        self.assertTrue(cells[4].startswith("+37.50 ["), cells[4])
        self.assertEqual(cells[5], "8")  # pairs: 4 samples x 2 tasks

    def test_only_samples_with_every_cell_count(self):
        # Sample 1 lacks b's sparse row: it leaves both models' means, and the count.
        rows = [row(m, "x", s, "dense", "1", 100.0) for m in ("a", "b") for s in range(2)]
        rows += [row("a", "x", s, "snapkv:w=64", "1/8", 0.0) for s in range(2)]
        rows += [row("b", "x", 0, "snapkv:w=64", "1/8", 100.0)]
        write_rows(self.path, rows)
        out = run_tool("sparse_vs_dense.py", self.path, "a", "b", "--tasks", "x")
        self.assertEqual(out.returncode, 0, out.stderr)
        (cells,) = table_rows(out.stdout)
        self.assertEqual(cells[2:], ["-100.00 [-100.0, -100.0]", "+0.00 [+0.0, +0.0]", "+100.00 [+100.0, +100.0]",
                                     "1"])


class MergeRows(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.a = os.path.join(self.dir.name, "a.jsonl")
        self.b = os.path.join(self.dir.name, "b.jsonl")
        self.out = os.path.join(self.dir.name, "out.jsonl")

    def tearDown(self):
        self.dir.cleanup()

    def merged(self):
        with open(self.out) as f:
            return [json.loads(line) for line in f]

    def test_equal_duplicates_merge_and_keep_the_first_files_lines(self):
        first = [row("m", "x", 0, "dense", "1", 100.0, seconds=1.0), row("m", "x", 1, "dense", "1", 0.0)]
        # The same cell graded elsewhere: another time, an older row without `matmul`; plus one new cell.
        again = dict(first[0], seconds=7.0)
        del again["matmul"]
        write_rows(self.a, first)
        write_rows(self.b, [again, row("m", "x", 2, "dense", "1", 100.0)], tail='{"model": "m", "ta')
        out = run_tool("merge_rows.py", self.out, self.a, self.b)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("3 cells; 1 duplicate rows: 1 equal, 0 differ", out.stdout)
        self.assertIn("1 unreadable lines skipped", out.stdout)
        merged = self.merged()
        self.assertEqual([r["sample"] for r in merged], [0, 1, 2])
        self.assertEqual(merged[0]["seconds"], 1.0)

    def test_a_differing_duplicate_is_refused_unless_allowed(self):
        write_rows(self.out, [])
        write_rows(self.a, [row("m", "x", 0, "quest:b=64", "1/4", 100.0, prediction="42")])
        write_rows(self.b, [row("m", "x", 0, "quest:b=64", "1/4", 0.0, prediction="7")])
        out = run_tool("merge_rows.py", self.out, self.a, self.b)
        self.assertEqual(out.returncode, 1)
        self.assertIn("differs", out.stderr)
        self.assertIn("prediction", out.stderr)
        self.assertEqual(self.merged(), [])  # OUT left as it was
        out = run_tool("merge_rows.py", self.out, self.a, self.b, "--allow-differ", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([r["prediction"] for r in self.merged()], ["42"])

    def test_two_prompts_for_one_sample_are_refused(self):
        write_rows(self.a, [row("m1", "x", 0, "dense", "1", 100.0, prompt_hash="aaaa")])
        write_rows(self.b, [row("m2", "x", 0, "dense", "1", 100.0, prompt_hash="bbbb")])
        out = run_tool("merge_rows.py", self.out, self.a, self.b)
        self.assertEqual(out.returncode, 1)
        self.assertIn("prompt hash differs", out.stderr)
        self.assertFalse(os.path.exists(self.out))


if __name__ == "__main__":
    unittest.main()

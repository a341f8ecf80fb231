#!/usr/bin/env python3
"""memscope diff end to end: msx_diff_prog (diff_prog.c) grows a cache in
grow_cache in two phases 400 ms apart; it runs under `memscope run` with
MEMSCOPE_STACK_DEPTH=16. Two runs with different phase-2 growth are diffed
(the grown site and its exact bytes), two moments of one run (the growth
between them exactly), a run still going (its trace without END), the
--fail-if-grown gate, JSON against the text, HTML escaping a hostile thread
name, and the output-safety check.

Every JSON is checked against docs/diff.schema.json.

Usage: test_diff.py MEMSCOPE DIFF_PROG DIFF_PROG_SRC DIFF_SCHEMA"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import msx_schema

MEMSCOPE, PROG, PROG_SRC, SCHEMA_PATH = sys.argv[1:5]
VALIDATOR = msx_schema.validator(SCHEMA_PATH)
BLOCK = 4096
HOSTILE = '<script>&"\'x'  # 13 bytes: fits a thread name (15)


def marker_line(marker):
    with open(PROG_SRC) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise AssertionError(marker)


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith("MEMSCOPE_") and k != "LD_PRELOAD"}
    e["MEMSCOPE_STACK_DEPTH"] = "16"
    return e


def run(*args):
    p = subprocess.run([MEMSCOPE] + list(args), capture_output=True, env=env())
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def record(out_dir, *prog_args):
    p = subprocess.run([MEMSCOPE, "run", "-q", "-o", out_dir, "--formats", "json", "--", PROG] + list(prog_args),
                       capture_output=True, env=env())
    assert p.returncode == 0, p.stderr.decode()
    traces = glob.glob(os.path.join(out_dir, "*.msgpack"))
    assert len(traces) == 1, os.listdir(out_dir)
    return traces[0]


def text_figs(text, label):
    """The figures of the row `label` in the text output: {fig: (delta, a, b)}."""
    lines = [re.sub(r" \[(new|gone) in B\]$", "", line) for line in text.splitlines()]
    i = lines.index("  " + label)
    figs = {}
    for line in lines[i + 1:]:
        m = re.match(r"^    (\w+) ([+-]\d+) \((\d+) -> (\d+)", line)
        if not m:
            break
        figs[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    return figs


class Diff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        os.mkdir(os.path.join(cls.dir, "a"))
        os.mkdir(os.path.join(cls.dir, "b"))
        cls.a = record(os.path.join(cls.dir, "a"), "10", "2", HOSTILE)
        cls.b = record(os.path.join(cls.dir, "b"), "10", "7", HOSTILE)
        cls.grow = marker_line("GROW_LINE")
        cls.site1 = "grow_cache (diff_prog.c:%d) < main (diff_prog.c:%d)" % (cls.grow, marker_line("PHASE1_LINE"))
        cls.site2 = "grow_cache (diff_prog.c:%d) < main (diff_prog.c:%d)" % (cls.grow, marker_line("PHASE2_LINE"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    @staticmethod
    def row(d, kind, label):
        rows = [r for r in d["rows"] if r["kind"] == kind and r["label"] == label]
        assert len(rows) == 1, [r["label"] for r in d["rows"]]
        return rows[0]

    def test_two_runs_name_the_grown_site(self):
        j = self.path("two.json")
        st, out, err = run("diff", self.a, self.b, "--json", j, "-q")
        self.assertEqual(st, 0, err)
        grown = 5 * BLOCK
        self.assertEqual(text_figs(out, self.site2)["live_bytes"], (grown, 2 * BLOCK, 7 * BLOCK))
        self.assertEqual(text_figs(out, "total")["live_bytes"][0], grown)
        # the first site listed is the grown one; phase 1's did not change
        sites = out[out.index("\nSites"):].splitlines()
        self.assertEqual(sites[2], "  " + self.site2)
        self.assertNotIn(self.site1, out)
        with open(j) as f:
            d = json.load(f)
        VALIDATOR.validate(d)
        self.assertEqual(d["live_growth"], grown)
        r = self.row(d, "site", self.site2)
        self.assertEqual(r["live_bytes"], {"a": 2 * BLOCK, "b": 7 * BLOCK, "delta": grown, "ratio": 3.5})
        self.assertEqual(r["allocations"]["delta"], 5)
        self.assertEqual(self.row(d, "site", self.site1)["leaked_bytes"]["delta"], 0)
        # matched across runs by frames, not addresses: one row per site
        self.assertTrue(r["in_a"] and r["in_b"])
        # JSON matches the text, figure by figure, for every row the text lists
        for row in d["rows"]:
            label = "total" if row["kind"] == "total" else row["label"]
            if "  " + label not in out.splitlines():
                continue
            for fig, (delta, a, b) in text_figs(out, label).items():
                self.assertEqual((row[fig]["delta"], row[fig]["a"], row[fig]["b"]), (delta, a, b), (label, fig))
        # the hostile thread matched by name in both
        t = self.row(d, "thread", HOSTILE)
        self.assertEqual(t["live_bytes"]["a"], 777)
        self.assertEqual(t["live_bytes"]["delta"], 0)

    def test_moments_give_the_growth_between(self):
        j = self.path("moments.json")
        st, out, err = run("diff", self.b, "--from", "200ms", "--to", "0.6s", "--json", j, "-q")
        self.assertEqual(st, 0, err)
        grown = 7 * BLOCK
        self.assertEqual(text_figs(out, "total")["live_bytes"][0], grown)
        self.assertEqual(text_figs(out, "total")["bytes_allocated"][0], grown)
        self.assertEqual(text_figs(out, "total")["allocations"][0], 7)
        self.assertEqual(text_figs(out, self.site2)["live_bytes"], (grown, 0, grown))
        self.assertNotIn("leaked_bytes", out)
        with open(j) as f:
            d = json.load(f)
        VALIDATOR.validate(d)
        self.assertTrue(d["moments"])
        self.assertEqual((d["a"]["time_ns"], d["b"]["time_ns"]), (200000000, 600000000))
        self.assertEqual(d["live_growth"], grown)
        # the start of the trace to the first moment: phase 1
        st, out, err = run("diff", self.b, "--to", "200ms")
        self.assertEqual(st, 0, err)
        self.assertEqual(text_figs(out, self.site1)["live_bytes"], (10 * BLOCK, 0, 10 * BLOCK))
        self.assertNotIn(self.site2, out)

    def test_archive_against_trace(self):
        arch = self.path("a.msbin")
        st, _, err = run("report", "-q", self.a, "--bin", arch)
        self.assertIn(st, (0, 3), err)
        st, out, err = run("diff", arch, self.b)
        self.assertEqual(st, 0, err)
        self.assertEqual(text_figs(out, self.site2)["live_bytes"], (5 * BLOCK, 2 * BLOCK, 7 * BLOCK))
        self.assertEqual(text_figs(out, "total")["live_bytes"][0], 5 * BLOCK)
        st, _, err = run("diff", arch, "--to", "1s")
        self.assertEqual(st, 1, err)
        self.assertIn("archive", err)

    def test_fail_if_grown_gates(self):
        grown = 5 * BLOCK
        for bound, want in ((grown - 1, 4), (grown, 0), (10 ** 9, 0), (0, 4)):
            st, _, err = run("diff", self.a, self.b, "--fail-if-grown", str(bound))
            self.assertEqual(st, want, (bound, err))
            self.assertEqual("more than" in err, want == 4, err)
        # shrinking never fails the gate
        st, _, err = run("diff", self.b, self.a, "--fail-if-grown", "0")
        self.assertEqual(st, 0, err)
        st, _, err = run("diff", self.b, "--from", "200ms", "--to", "600ms", "--fail-if-grown", str(7 * BLOCK - 1))
        self.assertEqual(st, 4, err)
        st, _, err = run("diff", self.b, "--from", "200ms", "--to", "600ms", "--fail-if-grown", str(7 * BLOCK))
        self.assertEqual(st, 0, err)

    def test_running_program(self):
        d = self.path("running")
        os.mkdir(d)
        go = self.path("go")
        p = subprocess.Popen([MEMSCOPE, "run", "-q", "-o", d, "--formats", "json", "--", PROG, "10", "7", HOSTILE, go],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
        try:
            deadline = time.time() + 60
            while not os.path.exists(go + ".ready"):
                self.assertIsNone(p.poll(), "the program ended early")
                self.assertLess(time.time(), deadline, "the program never got ready")
                time.sleep(0.05)
            traces = glob.glob(os.path.join(d, "*.msgpack"))
            self.assertEqual(len(traces), 1)
            st, out, err = run("diff", self.a, traces[0], "--fail-if-grown", "100")
            self.assertIsNone(p.poll(), "the program must still run while diffed")
            self.assertEqual(st, 4, err)  # the gate wins over "incomplete" (3)
            self.assertIn("no END record", err)
            self.assertEqual(text_figs(out, self.site2)["live_bytes"], (5 * BLOCK, 2 * BLOCK, 7 * BLOCK))
            st, out, err = run("diff", traces[0], "--from", "200ms", "--to", "600ms")
            self.assertEqual(st, 3, err)
            self.assertEqual(text_figs(out, "total")["live_bytes"][0], 7 * BLOCK)
        finally:
            open(go, "w").close()
            p.wait(timeout=60)

    def test_html_escapes_hostile_names(self):
        h, j = self.path("d.html"), self.path("d.json")
        st, out, err = run("diff", self.a, self.b, "--html", h, "--json", j, "-q")
        self.assertEqual(st, 0, err)
        with open(h, encoding="utf-8") as f:
            html = f.read()
        self.assertNotIn("<script", html)
        self.assertIn("&lt;script&gt;&amp;&quot;&#39;x", html)
        self.assertNotRegex(html, r"(src|href)\s*=\s*[\"']?(https?:)?//")  # no external requests
        with open(j) as f:
            d = json.load(f)
        VALIDATOR.validate(d)
        self.assertEqual(self.row(d, "thread", HOSTILE)["label"], HOSTILE)

    def test_outputs_are_not_inputs(self):
        copy = self.path("copy.msgpack")
        shutil.copy(self.a, copy)
        with open(copy, "rb") as f:
            before = f.read()
        for opt in ("--json", "--html"):
            st, _, err = run("diff", copy, self.b, opt, copy)
            self.assertEqual(st, 2, err)
            self.assertIn("refusing", err)
        st, _, err = run("diff", self.a, self.b, "--json", self.path("x"), "--html", self.path("x"))
        self.assertEqual(st, 2, err)
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_usage(self):
        for args in ((self.a,), (self.a, self.b, "--from", "1s"), (self.a, "--from", "1parsec"),
                     (self.a, "--from", "2s", "--to", "1s"), (self.a, self.b, "--fail-if-grown", "-1")):
            st, _, err = run("diff", *args)
            self.assertEqual(st, 2, (args, err))
        st, out, _ = run("help", "diff")
        self.assertEqual(st, 0)
        self.assertIn("--fail-if-grown", out)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

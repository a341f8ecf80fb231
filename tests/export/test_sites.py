#!/usr/bin/env python3
"""Call-stack sites end to end: real programs under `memscope run` with
MEMSCOPE_STACK_DEPTH=16, their reports' functions[], sites[], leaks, folded
output, suppressions, and the runtime's own allocations (/bin/true).

Usage: test_sites.py MEMSCOPE SITES_PROG SITES_LEAK SITES_PROG_SRC SITES_LEAK_SRC SCHEMA"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

import msx_schema

MEMSCOPE, PROG, LEAK, PROG_SRC, LEAK_SRC, SCHEMA_PATH = sys.argv[1:7]
VALIDATOR = msx_schema.validator(SCHEMA_PATH)


def marker_line(path, marker):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise AssertionError(marker)


def run(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSCOPE_") and k != "LD_PRELOAD"}
    env.update(env_extra or {})
    p = subprocess.run(list(args), capture_output=True, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Sites(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def record(self, *prog):
        st, out, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--formats", "json", "--", *prog,
                           env_extra={"MEMSCOPE_STACK_DEPTH": "16"})
        self.assertEqual(st, 0, err)
        name = os.path.basename(prog[0])
        traces = glob.glob(os.path.join(self.dir, name + ".*.msgpack"))
        self.assertEqual(len(traces), 1, os.listdir(self.dir))
        with open(traces[0][:-len(".msgpack")] + ".json") as f:
            r = json.load(f)
        VALIDATOR.validate(r)
        return traces[0], r

    @staticmethod
    def function(r, name):
        fs = [f for f in r["functions"] if f["function"] == name]
        assert len(fs) == 1, [f["function"] for f in r["functions"]]
        return fs[0]

    def test_functions_exact(self):
        trace, r = self.record(PROG)
        g, l = self.function(r, "grow_cache"), self.function(r, "load_table")
        self.assertEqual(g["bytes_allocated"], 12800000)
        self.assertEqual(g["allocations"], 100)
        self.assertEqual(l["bytes_allocated"], 50 << 20)
        self.assertEqual(os.path.basename(g["file"]), "sites_prog.c")
        self.assertEqual(g["line"], marker_line(PROG_SRC, "GROW_LINE"))
        self.assertEqual(l["line"], marker_line(PROG_SRC, "LOAD_LINE"))
        self.assertFalse(any(s["runtime"] for s in r["sites"] if s["function"] in ("grow_cache", "load_table")))
        # folded: outermost first, and the lines sum to bytes_allocated
        folded = os.path.join(self.dir, "p.folded")
        st, _, err = run(MEMSCOPE, "report", "-q", trace, "--folded", folded)
        self.assertIn(st, (0, 3), err)
        total = 0
        with open(folded) as f:
            lines = f.read().splitlines()
        for line in lines:
            stack, value = line.rsplit(" ", 1)
            total += int(value)
        self.assertEqual(total, r["summary"]["bytes_allocated"])
        self.assertTrue(any(line.endswith("main;grow_cache 12800000") for line in lines), lines)
        # an output that is the input is refused
        st, _, err = run(MEMSCOPE, "report", trace, "--folded", trace)
        self.assertEqual(st, 2, err)

    def test_leaks_by_function(self):
        trace, r = self.record(LEAK)
        n, b = self.function(r, "make_node(int)"), self.function(r, "make_buffer(int)")
        self.assertEqual((n["leaked_bytes"], n["leaked_blocks"]), (500 * 408, 500))
        self.assertEqual((b["leaked_bytes"], b["leaked_blocks"]), (3000, 3))
        self.assertEqual(n["line"], marker_line(LEAK_SRC, "NODE_LINE"))
        self.assertEqual(b["line"], marker_line(LEAK_SRC, "BUFFER_LINE"))
        ids = {s["id"] for s in r["sites"] if s["function"] == "make_node(int)"}
        self.assertTrue(any(k.get("site") in ids and k["size"] == 408 for k in r["leaks"]))
        prog = r["summary"]["leaked_program_bytes"]
        self.assertEqual(prog, 500 * 408 + 3000)
        # the summary names them with file:line
        st, out, err = run(MEMSCOPE, "summary", trace)
        self.assertIn(st, (0, 3), err)
        self.assertIn("leaked in 500 blocks  make_node(int)  sites_leak.cc:%d" % marker_line(LEAK_SRC, "NODE_LINE"), out)
        # suppressed: out of the program's leaks
        supp = os.path.join(self.dir, "supp.txt")
        with open(supp, "w") as f:
            f.write("# ours\nleak:^make_node\n")
        out_json = os.path.join(self.dir, "s.json")
        st, _, err = run(MEMSCOPE, "report", "-q", trace, "--json", out_json, "--suppressions", supp)
        self.assertIn(st, (0, 3), err)
        with open(out_json) as f:
            s = json.load(f)
        self.assertEqual(s["summary"]["leaked_program_bytes"], 3000)
        self.assertEqual(s["summary"]["leaked_suppressed_bytes"], 500 * 408)
        self.assertEqual(s["summary"]["leaked_bytes"], r["summary"]["leaked_bytes"])
        # the environment names the file too
        st, _, err = run(MEMSCOPE, "report", "-q", trace, "--json", out_json, env_extra={"MEMSCOPE_SUPPRESSIONS": supp})
        with open(out_json) as f:
            self.assertEqual(json.load(f)["summary"]["leaked_suppressed_bytes"], 500 * 408)

    def test_runtime(self):
        # /bin/true --version: stdio and locale allocations of libc only
        _, r = self.record("/bin/true", "--version")
        self.assertTrue(r["sites"])
        for s in r["sites"]:
            self.assertTrue(s["runtime"], s)
        self.assertEqual(r["summary"]["leaked_program_bytes"], 0)
        self.assertEqual(r["summary"]["leaked_runtime_bytes"], r["summary"]["leaked_bytes"])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

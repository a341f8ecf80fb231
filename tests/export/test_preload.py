#!/usr/bin/env python3
"""`memscope run` with the real recorder: a multithreaded program's worker
threads make known heap calls, and the report must match them exactly.

Usage: test_preload.py MEMSCOPE PROGRAM SCHEMA
Needs the jsonschema module (Debian package python3-jsonschema)."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

import msx_schema

MEMSCOPE, PROG, SCHEMA_PATH = sys.argv[1:4]
VALIDATOR = msx_schema.validator(SCHEMA_PATH)


def run(*args):
    """Runs a command without memscope's own variables; returns (status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSCOPE_") and k != "LD_PRELOAD"}
    p = subprocess.run(list(args), capture_output=True, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Preload(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_exact_counts_multithreaded(self):
        st, out, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--formats", "json,html,bin", "--", PROG, "4", "20000")
        self.assertEqual(st, 0, err)
        want = json.loads(out)["workers"]
        traces = glob.glob(os.path.join(self.dir, "msx_preload_prog.*.msgpack"))
        self.assertEqual(len(traces), 1, os.listdir(self.dir))
        stem = traces[0][:-len(".msgpack")]
        for ext in (".json", ".html", ".msbin"):
            self.assertTrue(os.path.exists(stem + ext), ext)
        with open(stem + ".json") as f:
            r = json.load(f)
        VALIDATOR.validate(r)
        self.assertEqual(r["anomalies"]["total"], 0)
        self.assertEqual(r["summary"]["dropped_events"], 0)
        self.assertTrue(r["source"]["complete"])
        by_name = {t["name"]: t for t in r["threads"]}
        for w in want:
            t = by_name[w["name"]]
            for k in ["allocations", "frees", "reallocs", "bytes_allocated", "leaked_blocks", "cross_thread_frees"]:
                self.assertEqual(t[k], w[k], (w["name"], k))
            self.assertEqual(t["live_bytes"], w["leaked_bytes"], w["name"])
            self.assertTrue(t["exited"])
        self.assertGreaterEqual(r["summary"]["allocations"], sum(w["allocations"] for w in want))
        self.assertEqual(r["events"], r["summary"]["allocations"] + r["summary"]["frees"] + r["summary"]["reallocs"])

    def test_exit_status(self):
        st, _, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--", "sh", "-c", "exit 7")
        self.assertEqual(st, 7, err)
        st, _, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--", "sh", "-c", "kill -9 $$")
        self.assertEqual(st, 128 + 9, err)
        self.assertIn("never reached its exit flush", err)
        st, _, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--", os.path.join(self.dir, "no-such-program"))
        self.assertEqual(st, 127)
        self.assertIn("no-such-program", err)

    def report_of(self, pattern):
        """The JSON report `memscope run` wrote for the one trace matching pattern."""
        traces = glob.glob(os.path.join(self.dir, pattern))
        self.assertEqual(len(traces), 1, os.listdir(self.dir))
        with open(traces[0][:-len(".msgpack")] + ".json") as f:
            r = json.load(f)
        VALIDATOR.validate(r)
        return r

    def test_ending_by_underscore_exit(self):
        st, _, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--", PROG, "_exit")
        self.assertEqual(st, 0, err)
        self.assertNotIn("never reached", err)
        r = self.report_of("msx_preload_prog.*.msgpack")
        self.assertTrue(r["source"]["complete"])
        self.assertEqual(r["source"]["ending"], "_exit")
        trace = glob.glob(os.path.join(self.dir, "msx_preload_prog.*.msgpack"))[0]
        st, out, err = run(MEMSCOPE, "summary", trace)
        self.assertEqual(st, 0, err)
        self.assertIn("ended by _exit", out)

    def test_ending_by_exec(self):
        st, _, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--", "sh", "-c", "exec true")
        self.assertEqual(st, 0, err)
        self.assertNotIn("never reached", err)
        self.assertEqual(self.report_of("sh.*.msgpack")["source"]["ending"], "exec")
        self.assertEqual(self.report_of("true.*.msgpack")["source"]["ending"], "exit")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])

#!/usr/bin/env python3
"""`memscope pack` on a real trace: the bench's churn workload traced by the
memscope worker (1,000,000 steps, about 2.25 million events), packed in at
most 2 bytes per event; report and summary of the packed file equal the
trace's (the file name aside); damaged packed files give a named error and
no crash; pack never writes over a file; `run --pack` removes the trace only
once the packed file checks out, and keeps it when the check fails
(MEMSCOPE_TEST_PACK_DAMAGE=1, the test-only hook).

Usage: test_pack.py MEMSCOPE WORKER_MEMSCOPE WORKER_GLIBC
(WORKER_MEMSCOPE: bench-worker-memscope; WORKER_GLIBC: bench-worker-glibc,
run under `memscope run`; "" when not built: those tests are skipped)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

MEMSCOPE = os.path.abspath(sys.argv[1])
WORKER = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else ""
GLIBC_WORKER = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else ""
STEPS = 1000000


def run(*args, **kw):
    p = subprocess.run(list(args), capture_output=True, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def report_json(path, out):
    rc, _, err = run(MEMSCOPE, "report", path, "--json", out, "-q")
    assert rc == 0, err
    with open(out) as f:
        return f.read()


class Pack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not WORKER:
            raise unittest.SkipTest("bench-worker-memscope not built")
        cls.dir = tempfile.mkdtemp(prefix="msx-pack-")
        env = dict(os.environ, MEMSCOPE_MODE="full", MEMSCOPE_OUTPUT=cls.dir)
        env.pop("LD_PRELOAD", None)
        rc, out, err = run(WORKER, "churn", "1", str(STEPS), env=env)
        if rc != 0:
            raise AssertionError("worker failed: %s" % err)
        traces = [f for f in os.listdir(cls.dir) if f.endswith(".msgpack")]
        assert len(traces) == 1, traces
        cls.trace = os.path.join(cls.dir, traces[0])
        cls.packed = cls.trace[:-len(".msgpack")] + ".mspack"
        rc, cls.pack_out, err = run(MEMSCOPE, "pack", cls.trace)
        assert rc == 0, err
        cls.raw_json = report_json(cls.trace, os.path.join(cls.dir, "raw.json"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_bytes_per_event(self):
        events = json.loads(self.raw_json)["events"]
        self.assertGreater(events, 2 * STEPS)
        size = os.path.getsize(self.packed)
        self.assertLessEqual(size / events, 2.0, "%d bytes for %d events" % (size, events))
        self.assertIn("%d events" % events, self.pack_out)
        print("packed churn trace: %d events, %d -> %d bytes, %.3f bytes/event" %
              (events, os.path.getsize(self.trace), size, size / events), file=sys.stderr)

    def test_reports_equal(self):
        packed_json = report_json(self.packed, os.path.join(self.dir, "packed.json"))
        strip = lambda s: s.replace(json.dumps(self.packed), json.dumps(self.trace))
        self.assertEqual(strip(packed_json), self.raw_json)
        rc1, s1, _ = run(MEMSCOPE, "summary", self.trace)
        rc2, s2, _ = run(MEMSCOPE, "summary", self.packed)
        self.assertEqual((rc1, rc2), (0, 0))
        self.assertEqual(s2.replace(self.packed, self.trace), s1)

    def test_damaged(self):
        with open(self.packed, "rb") as f:
            data = f.read()
        bad = os.path.join(self.dir, "bad.mspack")
        cases = [("cut", data[:len(data) // 2]), ("cut-header", data[:100])]
        for at in (20, 70, 250, len(data) // 3, len(data) - 10):
            flipped = bytearray(data)
            flipped[at] ^= 0x04
            cases.append(("flip@%d" % at, bytes(flipped)))
        for what, blob in cases:
            with open(bad, "wb") as f:
                f.write(blob)
            rc, out, err = run(MEMSCOPE, "summary", bad)
            self.assertIn(rc, (1, 3), "%s: status %d, %s" % (what, rc, err))
            self.assertIn(bad, err, "%s: the message does not name the file: %s" % (what, err))

    def test_never_overwrites(self):
        before = os.path.getsize(self.trace)
        rc, _, err = run(MEMSCOPE, "pack", self.trace, "-o", self.trace)
        self.assertEqual(rc, 1)
        self.assertIn("it is the input", err)
        self.assertEqual(os.path.getsize(self.trace), before)
        other = os.path.join(self.dir, "exists.mspack")
        with open(other, "w") as f:
            f.write("mine")
        rc, _, err = run(MEMSCOPE, "pack", self.trace, "-o", other)
        self.assertEqual(rc, 1)
        self.assertIn("it exists", err)
        with open(other) as f:
            self.assertEqual(f.read(), "mine")
        # the default output exists already (setUpClass packed it)
        rc, _, err = run(MEMSCOPE, "pack", self.trace)
        self.assertEqual(rc, 1)
        self.assertIn("it exists", err)


class RunPack(unittest.TestCase):
    def setUp(self):
        if not GLIBC_WORKER:
            self.skipTest("memscope run needs the preload library")
        self.dir = tempfile.mkdtemp(prefix="msx-runpack-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_pack(self, **env):
        e = dict(os.environ, **env)
        return run(MEMSCOPE, "run", "-o", self.dir, "--pack", "--formats", "json", "--",
                   GLIBC_WORKER, "churn", "1", "50000", env=e)

    def test_removes_trace_after_check(self):
        rc, _, err = self.run_pack()
        self.assertEqual(rc, 0, err)
        names = sorted(os.listdir(self.dir))
        self.assertFalse([n for n in names if n.endswith(".msgpack")], names)
        packed = [n for n in names if n.endswith(".mspack")]
        self.assertEqual(len(packed), 1, names)
        self.assertIn("checked it: removed", err)
        jsons = [n for n in names if n.endswith(".json")]
        with open(os.path.join(self.dir, jsons[0])) as f:
            first = f.read()
        again = report_json(os.path.join(self.dir, packed[0]), os.path.join(self.dir, "again.json"))
        trace = os.path.join(self.dir, packed[0][:-len(".mspack")] + ".msgpack")
        self.assertEqual(again.replace(json.dumps(os.path.join(self.dir, packed[0])), json.dumps(trace)), first)

    def test_keeps_trace_when_check_fails(self):
        rc, _, err = self.run_pack(MEMSCOPE_TEST_PACK_DAMAGE="1")
        self.assertEqual(rc, 0, err)
        names = sorted(os.listdir(self.dir))
        self.assertEqual(len([n for n in names if n.endswith(".msgpack")]), 1, names)
        self.assertFalse([n for n in names if n.endswith(".mspack")], names)
        self.assertRegex(err, r"failed its check .*the trace kept")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

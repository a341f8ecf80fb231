#!/usr/bin/env python3
"""pprof profiles end to end: a real program (pprof_prog.c) under `memscope run`
with MEMSCOPE_STACK_DEPTH=16, its `report --pprof` and `--pprof-peak` read back
by `go tool pprof`, their figures against the JSON report's functions[],
summary and peak_snapshot; the labels of threads and tasks with hostile
names; a sampled trace's estimates and period; the output checks.

Without `go` the tests skip, and fail under CI=true (CI must have it:
scripts/deps.sh installs golang-go).

Usage: test_pprof.py MEMSCOPE PPROF_PROG PPROF_PROG_SRC"""
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

MEMSCOPE, PROG, PROG_SRC = sys.argv[1:4]
GO = shutil.which("go")
OURS = ("grow_cache", "load_table", "keep_some", "new_item")


def run(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSCOPE_") and k != "LD_PRELOAD"}
    env.update(env_extra or {})
    p = subprocess.run(list(args), capture_output=True, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def need_go(test):
    if GO:
        return
    if os.environ.get("CI") == "true":
        test.fail("go is missing (scripts/deps.sh installs golang-go)")
    test.skipTest("go is missing: `go tool pprof` reads the profiles")


def pprof(test, *args):
    env = {"HOME": test.dir, "GOCACHE": os.path.join(test.dir, "gocache"), "PPROF_TMPDIR": test.dir,
           "PPROF_BINARY_PATH": "/nonexistent"}
    st, out, err = run(GO, "tool", "pprof", *args, env_extra=env)
    test.assertEqual(st, 0, err)
    return out


def top(test, path, index):
    """{function: (flat, cum)} and the total of `go tool pprof -top`."""
    out = pprof(test, "-top", "-unit=B", "-nodefraction=0", "-nodecount=100000", "-sample_index=" + index, path)
    total = None
    m = re.search(r"Total samples = (\d+)B?\s", out)
    if m:
        total = int(m.group(1))
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1].endswith("%") and f[4].endswith("%"):
            num = lambda s: int(s.rstrip("B"))
            name = " ".join(f[5:])
            if name.endswith(" (inline)"):  # pprof's mark of an inlined call
                name = name[:-len(" (inline)")]
            rows[name] = (num(f[0]), num(f[3]))
    return rows, total


def raw_samples(test, path):
    """The samples of `go tool pprof -raw`: [({type: value}, {label: value})]."""
    out = pprof(test, "-raw", path)
    lines = out.split("Samples:\n", 1)[1].split("\nLocations", 1)[0].splitlines()
    types = [t.split("/")[0] for t in lines[0].split()]
    samples = []
    for line in lines[1:]:
        if re.match(r"^\s*-?\d+(\s+-?\d+)*:", line):
            vals = [int(x) for x in line.split(":")[0].split()]
            samples.append((dict(zip(types, vals)), {}))
        else:
            for k, v in re.findall(r"(\w+):\[(.*?)\]", line):
                samples[-1][1][k] = v
    return samples


def by_label(samples, label, kind):
    """{label value: sum of figure kind} (samples without the label under None)."""
    out = {}
    for vals, labels in samples:
        k = labels.get(label)
        out[k] = out.get(k, 0) + vals[kind]
    return out


def json_functions(r, key):
    """{function: JSON figure summed over functions[] of that name}."""
    out = {}
    for f in r["functions"]:
        out[f["function"]] = out.get(f["function"], 0) + f[key]
    return out


class Pprof(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def record(self, env_extra=None):
        env = {"MEMSCOPE_STACK_DEPTH": "16"}
        env.update(env_extra or {})
        st, out, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--formats", "json", "--", PROG, env_extra=env)
        self.assertEqual(st, 0, err)
        traces = glob.glob(os.path.join(self.dir, os.path.basename(PROG) + ".*.msgpack"))
        self.assertEqual(len(traces), 1, os.listdir(self.dir))
        with open(traces[0][:-len(".msgpack")] + ".json") as f:
            r = json.load(f)
        a, p = os.path.join(self.dir, "heap.pb.gz"), os.path.join(self.dir, "peak.pb.gz")
        st, _, err = run(MEMSCOPE, "report", "-q", traces[0], "--pprof", a, "--pprof-peak", p)
        self.assertIn(st, (0, 3), err)
        self.assertNotIn("pprof", err)  # the cells agree with the sites
        with open(a, "rb") as f:
            self.assertEqual(f.read(2), b"\x1f\x8b")  # gzip
        return traces[0], r, a, p

    def check_against_json(self, r, a, p, exact):
        # alloc_space, alloc_objects: flat per function = functions[] (own frame)
        for index, key in (("alloc_space", "bytes_allocated"), ("alloc_objects", "allocations"),
                           ("inuse_space", "live_bytes")):
            rows, total = top(self, a, index)
            want = json_functions(r, key)
            for name in OURS:  # -top leaves out what is 0
                self.assertEqual(rows.get(name, (0, 0))[0], want.get(name, 0), (index, name, rows))
            for name, (flat, _) in rows.items():
                if flat:
                    self.assertEqual(flat, want.get(name), (index, name))
        # inuse = live at the end; the peak profile = peak_snapshot
        rows, total = top(self, a, "inuse_space")
        self.assertEqual(total, r["summary"]["leaked_bytes"])
        rows, total = top(self, a, "inuse_objects")
        self.assertEqual(total, r["summary"]["leaked_blocks"])
        rows, total = top(self, p, "inuse_space")
        want = json_functions(r, "peak_bytes")
        for name in ("grow_cache", "load_table"):
            self.assertEqual(rows.get(name, (0, 0))[0], want.get(name, 0), name)
        self.assertNotIn("keep_some", {n for n, v in rows.items() if v[0]})
        if exact:
            self.assertEqual(total, r["peak_snapshot"]["live_bytes"])
            rows, total = top(self, p, "inuse_objects")
            self.assertEqual(total, r["peak_snapshot"]["blocks"])

    def test_full(self):
        need_go(self)
        trace, r, a, p = self.record()
        funcs = json_functions(r, "bytes_allocated")
        self.assertEqual(funcs["grow_cache"], 12800000)
        self.assertEqual(funcs["load_table"], 50 << 20)
        self.check_against_json(r, a, p, exact=True)
        rows, total = top(self, a, "alloc_space")
        self.assertEqual(total, r["summary"]["bytes_allocated"])
        self.assertEqual(rows["grow_cache"][0], 12800000)
        self.assertEqual(rows["keep_some"][0], 40960)
        # by thread and by task: the JSON's threads[] and tasks[]
        smp = raw_samples(self, a)
        for kind, key in (("alloc_space", "bytes_allocated"), ("alloc_objects", "allocations"),
                          ("inuse_space", "live_bytes"), ("inuse_objects", "leaked_blocks")):
            got = by_label(smp, "thread_id", kind)
            self.assertEqual(got, {str(t["id"]): t[key] for t in r["threads"] if str(t["id"]) in got}, kind)
            self.assertEqual(set(got), {str(t["id"]) for t in r["threads"] if t["allocations"]})
        for kind, key in (("alloc_space", "bytes_allocated"), ("inuse_space", "live_bytes")):
            got = by_label(smp, "task_id", kind)
            got.pop(None)
            self.assertEqual(got, {str(t["id"]): t[key] for t in r["tasks"]}, kind)
        self.assertEqual(len(r["tasks"]), 2)
        rows, _ = top(self, a, "inuse_space")
        self.assertEqual(rows["keep_some"][0], 40960)
        self.assertEqual(rows["new_item"][0], 20000)
        self.assertNotIn("grow_cache", rows)  # nothing of it is live: -top leaves it out
        # the lines of the functions, from symbolization
        raw = pprof(self, "-raw", a)
        with open(PROG_SRC) as f:
            grow = next(i for i, l in enumerate(f, 1) if "GROW_LINE" in l)
        self.assertRegex(raw, r"grow_cache \S*pprof_prog\.c:%d" % grow)
        # an inlined call: one Location, its Lines new_item then work_items
        with open(PROG_SRC) as f:
            item = next(i for i, l in enumerate(f, 1) if "ITEM_LINE" in l)
        self.assertRegex(raw, r"M=1 new_item \S*pprof_prog\.c:%d s=0\n\s+work_items \S*pprof_prog\.c:\d+ s=0\n" % item)
        self.assertRegex(raw, r"Mappings\n\s*1: 0x[0-9a-f]+/0x[0-9a-f]+/0x0 \S*msx_pprof_prog [0-9a-f]{40}")

    def test_labels_hostile(self):
        need_go(self)
        trace, r, a, p = self.record()
        raw = pprof(self, "-raw", a)
        threads = {t["id"]: t for t in r["threads"]}
        self.assertEqual(len(threads), 3, threads)
        # each sample of new_item (in work_items) carries its thread and its task, names as written (invalid UTF-8 replaced)
        tags = pprof(self, "-tags", a)
        self.assertIn('q"<script>x', tags)
        self.assertIn("bad\ufffd\ufffd\ufffdname", tags)
        self.assertIn('job "</script>"', tags)
        self.assertIn("job\ufffd", tags)
        # the file holds no invalid UTF-8: each bad byte became U+FFFD
        with open(a, "rb") as f:
            pb = gzip.decompress(f.read())
        self.assertNotIn(b"bad\xff", pb)
        self.assertIn(b"bad" + "\ufffd".encode() * 3 + b"name", pb)
        self.assertIn(b'q"<script>x', pb)
        for key in ("thread_id", "tid", "task_id", "task", "thread"):
            self.assertRegex(tags, r"(?m)^ *%s:" % key)
        # new_item of the quoted thread is 10 blocks live and 20 allocated, under its task
        out = pprof(self, "-top", "-unit=B", "-sample_index=alloc_space", '-tagfocus=thread=q"<script>x', a)
        self.assertRegex(out, r"20000B .* new_item")
        tids = [t for t in r["threads"] if t["name"] == 'q"<script>x']
        self.assertEqual(len(tids), 1)
        out = pprof(self, "-top", "-unit=B", "-sample_index=alloc_space", "-tagfocus=thread_id=%d" % tids[0]["id"], a)
        self.assertRegex(out, r"20000B .* new_item")
        self.assertNotIn("grow_cache", out)
        task = [t for t in r["tasks"] if t.get("name") == 'job "</script>"']
        self.assertEqual(len(task), 1, r["tasks"])
        out = pprof(self, "-top", "-unit=B", "-sample_index=inuse_space", "-tagfocus=task_id=%d" % task[0]["id"], a)
        self.assertRegex(out, r"10000B .* new_item")

    def test_sampled(self):
        need_go(self)
        trace, r, a, p = self.record({"MEMSCOPE_MODE": "sampled", "MEMSCOPE_SAMPLE_BYTES": "65536",
                                      "MEMSCOPE_SAMPLE_SEED": "7"})
        self.assertEqual((r["sampling"]["mode"], r["sampling"]["sample_bytes"]), ("bytes", 65536))
        self.check_against_json(r, a, p, exact=False)
        raw = pprof(self, "-raw", a)
        self.assertRegex(raw, r"PeriodType: space bytes\nPeriod: 65536\n")
        # the estimates are weighted: the 50 MiB block stands for itself, the
        # 128,000-byte ones for more than the sampled bytes
        rows, _ = top(self, a, "alloc_space")
        self.assertEqual(rows["load_table"][0], 50 << 20)
        self.assertEqual(rows["grow_cache"][0], json_functions(r, "bytes_allocated")["grow_cache"])
        self.assertIn("estimate", next(f for f in r["functions"] if f["function"] == "grow_cache"))
        # the cells of a site are rounded to the site's figure: by thread they
        # are the threads' own estimates give or take a unit per site
        smp = raw_samples(self, a)
        nsites = len(r["sites"]) + 1
        for kind, key in (("alloc_space", "bytes_allocated"), ("alloc_objects", "allocations"),
                          ("inuse_space", "live_bytes")):
            got = by_label(smp, "thread_id", kind)
            for t in r["threads"]:
                self.assertLessEqual(abs(got.get(str(t["id"]), 0) - t[key]), nsites, (kind, t["id"], got))

    def test_outputs_refused(self):
        trace, _ = self.record_plain()
        same = os.path.join(self.dir, "x.pb.gz")
        for args in (["--pprof", trace], ["--pprof-peak", trace], ["--pprof", same, "--pprof-peak", same],
                     ["--pprof", same, "--json", same]):
            st, _, err = run(MEMSCOPE, "report", trace, *args)
            self.assertEqual(st, 2, (args, err))
        self.assertFalse(os.path.exists(same))
        # an archive has no pprof figures: refused, nothing written
        msbin = os.path.join(self.dir, "t.msbin")
        st, _, err = run(MEMSCOPE, "report", "-q", trace, "--bin", msbin)
        self.assertIn(st, (0, 3), err)
        st, _, err = run(MEMSCOPE, "report", msbin, "--pprof", same)
        self.assertEqual(st, 2, err)
        self.assertIn("archive", err)
        self.assertFalse(os.path.exists(same))

    def record_plain(self):
        st, out, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--formats", "json", "--", PROG,
                           env_extra={"MEMSCOPE_STACK_DEPTH": "16"})
        self.assertEqual(st, 0, err)
        traces = glob.glob(os.path.join(self.dir, os.path.basename(PROG) + ".*.msgpack"))
        return traces[0], None


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

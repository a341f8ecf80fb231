#!/usr/bin/env python3
"""`memscope report --chrome`: the Chrome trace-event JSON of a real traced
program (chrome_prog.c: worker threads running tasks, hostile names, metrics
sampled) checked against the JSON report of the same trace and against what
the program says it did.

Usage: test_chrome.py MEMSCOPE CHROME_PROG SCHEMA
Needs the jsonschema module (Debian package python3-jsonschema)."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest
from collections import defaultdict

import msx_schema

MEMSCOPE, PROG, SCHEMA_PATH = sys.argv[1:4]
VALIDATOR = msx_schema.validator(SCHEMA_PATH)


def run(*args, env_add=None):
    """Runs a command without memscope's own variables (but env_add); returns (status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSCOPE_") and k != "LD_PRELOAD"}
    env.update(env_add or {})
    p = subprocess.run(list(args), capture_output=True, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_schema(test, c):
    """Every event has the fields the viewers need, of the right types."""
    test.assertEqual(c["displayTimeUnit"], "ns")
    test.assertIsInstance(c["traceEvents"], list)
    for k, v in c["otherData"].items():
        test.assertIsInstance(v, str, k)
    for e in c["traceEvents"]:
        test.assertIn(e["ph"], ("M", "C", "X"), e)
        test.assertIsInstance(e["name"], str, e)
        test.assertIsInstance(e["pid"], int, e)
        test.assertIsInstance(e["tid"], int, e)
        test.assertTrue(is_num(e["ts"]) and e["ts"] >= 0, e)
        test.assertIsInstance(e["args"], dict, e)
        if e["ph"] == "C":
            test.assertTrue(e["args"] and all(is_num(v) for v in e["args"].values()), e)
        elif e["ph"] == "X":
            test.assertTrue(is_num(e["dur"]) and e["dur"] >= 0, e)
        else:
            test.assertIn(e["name"], ("process_name", "thread_name"), e)
            test.assertIsInstance(e["args"]["name"], str, e)


def counters(c):
    """Counter track name -> [(ts, value)] in file order."""
    t = defaultdict(list)
    for e in c["traceEvents"]:
        if e["ph"] == "C":
            t[e["name"]].append((e["ts"], e["args"]["bytes"]))
    return t


class Chrome(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def record(self, nthreads, ntasks):
        """Runs the program; returns (what it said, trace path, JSON report, Chrome JSON, raw Chrome bytes)."""
        st, out, err = run(PROG, str(nthreads), str(ntasks),
                           env_add={"MEMSCOPE_OUTPUT": self.dir, "MEMSCOPE_METRICS_INTERVAL": "5"})
        self.assertEqual(st, 0, err)
        traces = glob.glob(os.path.join(self.dir, "msx_chrome_prog.*.msgpack"))
        self.assertEqual(len(traces), 1, os.listdir(self.dir))
        jpath, cpath = os.path.join(self.dir, "r.json"), os.path.join(self.dir, "c.json")
        st, _, err = run(MEMSCOPE, "report", "-q", traces[0], "--json", jpath, "--chrome", cpath)
        self.assertEqual(st, 0, err)
        with open(jpath) as f:
            r = json.load(f)
        VALIDATOR.validate(r)
        with open(cpath, "rb") as f:
            raw = f.read()
        c = json.loads(raw.decode("utf-8"))  # strict UTF-8
        check_schema(self, c)
        return json.loads(out), traces[0], r, c, raw

    def check_track(self, track, peak, live, what):
        self.assertTrue(track, what)
        ts = [t for t, _ in track]
        self.assertEqual(ts, sorted(ts), what)
        self.assertEqual(max(v for _, v in track), peak, what)
        self.assertEqual(track[-1][1], live, what)

    def check_timeline(self, track, r, interval):
        """The live heap counter agrees with each interval of the report's
        timeline: its value at the interval's end and its highest in it."""
        bucket = r["timeline_bucket_ns"]
        self.assertLessEqual(interval, bucket)
        self.assertEqual(bucket % interval, 0)
        pts = [(round(t * 1000), v) for t, v in track]
        j, carry = 0, 0
        for p in r["timeline"]:
            end = p["time_ns"] + bucket
            inside = []
            while j < len(pts) and pts[j][0] < end:
                inside.append(pts[j][1])
                j += 1
            self.assertEqual(max([carry] + inside), p["max_live_bytes"], p)
            carry = inside[-1] if inside else carry
            self.assertEqual(carry, p["live_bytes"], p)
        self.assertEqual(j, len(pts))

    def test_counters_spans_names(self):
        said, _, r, c, raw = self.record(4, 3)
        self.assertEqual(r["anomalies"]["total"], 0)
        self.assertEqual(r["summary"]["dropped_events"], 0)
        tracks = counters(c)
        s = r["summary"]
        self.check_track(tracks["live heap"], s["peak_live_bytes"], s["leaked_bytes"], "live heap")
        self.check_timeline(tracks["live heap"], r, int(c["otherData"]["counter_interval_ns"]))
        # per thread and per task, against threads[] and tasks[]
        nthr = 0
        for t in r["threads"]:
            name = "live bytes: thread %d" % t["id"] + (" " + t["name"] if t["name"] else "")
            if t["peak_live_bytes"] == 0:
                self.assertNotIn(name, tracks)
                continue
            nthr += 1
            self.check_track(tracks[name], t["peak_live_bytes"], t["live_bytes"], name)
        self.assertGreaterEqual(nthr, 5)  # main and the 4 workers
        self.assertEqual(len(r["tasks"]), 12)
        for t in r["tasks"]:
            name = "live bytes: task %d %s" % (t["id"], t["name"])
            self.check_track(tracks[name], t["peak_live_bytes"], t["live_bytes"], name)
        self.assertEqual(sum(1 for k in tracks if k.startswith("live bytes: task ")), 12)
        self.assertFalse([k for k in tracks if "other" in k])
        # the workers' kept bytes are their threads' live bytes
        by_name = {t["name"].split('"')[0]: t for t in r["threads"] if t["name"]}
        for w in said["workers"]:
            self.assertEqual(by_name["w%d" % w["n"]]["live_bytes"], w["kept"])
        # metrics: one counter per recorded sample, equal to it
        for key, track in (("rss", "rss"), ("active", "jemalloc active"), ("resident", "jemalloc resident")):
            want = [(m["time_ns"], m[key]) for m in r["metrics_timeline"] if key in m]
            self.assertGreater(len(want), 2, key)
            got = [(round(t * 1000), v) for t, v in tracks[track]]
            self.assertEqual(got, want, key)
        # spans: one per task, on its thread, named after it
        tid_of = {w["n"]: by_name["w%d" % w["n"]]["id"] for w in said["workers"]}
        spans = [e for e in c["traceEvents"] if e["ph"] == "X"]
        self.assertEqual(len(spans), 12)
        names = {t["id"]: t["name"] for t in r["tasks"]}
        end = r["summary"]["duration_ns"] / 1000
        for w in said["workers"]:
            for tid in w["tasks"]:
                mine = [e for e in spans if e["args"]["task"] == tid]
                self.assertEqual(len(mine), 1, tid)
                self.assertEqual(mine[0]["tid"], tid_of[w["n"]])
                self.assertEqual(mine[0]["name"], names[tid])
                self.assertTrue(0 <= mine[0]["ts"] <= mine[0]["ts"] + mine[0]["dur"] <= end + 0.001)
        # names: every thread has its thread_name, the process its process_name
        meta = {(e["name"], e["tid"]): e["args"]["name"] for e in c["traceEvents"] if e["ph"] == "M"}
        self.assertEqual(meta[("process_name", 0)], r["process"]["exe"])
        for t in r["threads"]:
            self.assertEqual(meta[("thread_name", t["id"])], t["name"] or "thread %d" % t["id"])
        pids = {e["pid"] for e in c["traceEvents"]}
        self.assertEqual(pids, {r["process"]["pid"]})
        # hostile names: escaped, invalid UTF-8 replaced, the file still parses
        self.assertNotIn(b"<script>", raw)
        self.assertNotIn(b"</script>", raw)
        self.assertIn('w0"<script>\ufffd\ufffd', meta.values())
        self.assertTrue(any('"</script>\\\ufffd(' in k for k in tracks))

    def test_folded_threads_and_tasks(self):
        said, _, r, c, _ = self.record(40, 2)
        tracks = counters(c)
        self.check_timeline(tracks["live heap"], r, int(c["otherData"]["counter_interval_ns"]))
        listed = {}
        for t in r["threads"]:
            name = "live bytes: thread %d" % t["id"] + (" " + t["name"] if t["name"] else "")
            if name in tracks:
                listed[t["id"]] = t
                self.check_track(tracks[name], t["peak_live_bytes"], t["live_bytes"], name)
        self.assertEqual(len(listed), 32)
        rest = [t for t in r["threads"] if t["id"] not in listed and t["peak_live_bytes"]]
        self.assertEqual(int(c["otherData"]["threads_folded"]), len(rest))
        self.assertGreaterEqual(min(t["peak_live_bytes"] for t in listed.values()),
                                max(t["peak_live_bytes"] for t in rest))
        other = tracks["live bytes: %d other threads" % len(rest)]
        self.assertEqual(other[-1][1], sum(t["live_bytes"] for t in rest))
        self.assertLessEqual(max(v for _, v in other), sum(t["peak_live_bytes"] for t in rest))
        tl = [t for t in r["tasks"] if "live bytes: task %d %s" % (t["id"], t["name"]) in tracks]
        self.assertEqual(len(tl), 32)
        for t in tl:
            self.check_track(tracks["live bytes: task %d %s" % (t["id"], t["name"])], t["peak_live_bytes"],
                             t["live_bytes"], t["id"])
        trest = [t for t in r["tasks"] if t not in tl]
        self.assertEqual(len(trest), 80 - 32)
        other = tracks["live bytes: %d other tasks" % len(trest)]
        self.assertEqual(other[-1][1], sum(t["live_bytes"] for t in trest))
        # spans: the hybrid lanes (32 threads) and the rest counted
        spans = [e for e in c["traceEvents"] if e["ph"] == "X"]
        self.assertEqual(len(spans) + int(c["otherData"]["lanes_omitted_spans"]), 80)

    def test_from_archive(self):
        _, trace, r, _, _ = self.record(2, 2)
        a, cpath = os.path.join(self.dir, "a.msbin"), os.path.join(self.dir, "a.json")
        st, _, err = run(MEMSCOPE, "report", "-q", trace, "--bin", a)
        self.assertEqual(st, 0, err)
        st, _, err = run(MEMSCOPE, "report", "-q", a, "--chrome", cpath)
        self.assertEqual(st, 0, err)
        with open(cpath) as f:
            c = json.load(f)
        check_schema(self, c)
        tracks = counters(c)
        self.check_track(tracks["live heap"], r["summary"]["peak_live_bytes"], r["summary"]["leaked_bytes"], "heap")
        self.assertFalse([k for k in tracks if k.startswith("live bytes:")])
        self.assertEqual(sum(1 for e in c["traceEvents"] if e["ph"] == "X"), 4)

    def test_refusals(self):
        _, trace, _, _, _ = self.record(1, 1)
        with open(trace, "rb") as f:
            before = f.read()
        j = os.path.join(self.dir, "x.json")
        for args in (["--chrome", trace], ["--chrome", j, "--json", j], ["--chrome", j, "--folded", j]):
            st, _, err = run(MEMSCOPE, "report", trace, *args)
            self.assertEqual(st, 2, (args, err))
            self.assertIn("--chrome", err)
        st, _, err = run(MEMSCOPE, "report", trace, trace, "--chrome", j)
        self.assertEqual(st, 2, err)
        self.assertFalse(os.path.exists(j))
        with open(trace, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_trace_processor(self):
        try:
            from perfetto.trace_processor import TraceProcessor  # noqa: F401
        except ImportError:
            self.skipTest("Perfetto's trace_processor is not installed (not packaged by Debian)")
        _, _, _, _, _ = self.record(2, 2)
        tp = TraceProcessor(trace=os.path.join(self.dir, "c.json"))
        n = next(iter(tp.query("select count(*) as n from slice"))).n
        self.assertEqual(n, 4)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

#!/usr/bin/env python3
"""Runs each example of examples/ from the build tree, with MEMSCOPE_OUTPUT a
fresh directory and MEMSCOPE_AUTO_EXPORT=json,html, and checks the report it
wrote against what the program did (the figures it prints itself, and the
work its source says it does): threads, tasks with their parents and the
threads they ran on, per-thread and per-task counts, cross-thread frees, the
deliberate leak. Each JSON is validated against docs/report.schema.json, and
the dashboard must embed the same figures.

Usage: test_examples.py SCHEMA MEMSCOPE EXAMPLE...
(EXAMPLE: the path of a built example; an example not given, such as the
libuv one in a build without libuv, is skipped.)
Needs the jsonschema module (Debian package python3-jsonschema)."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export"))
import msx_schema  # noqa: E402  (re-runs under /usr/bin/python3 if jsonschema is missing)

SCHEMA_PATH, MEMSCOPE = (os.path.abspath(a) for a in sys.argv[1:3])
EXAMPLES = {os.path.basename(p): os.path.abspath(p) for p in sys.argv[3:]}
del sys.argv[1:]
VALIDATOR = msx_schema.validator(SCHEMA_PATH)
MIB = 1 << 20


def embedded_json(html):
    """The report JSON embedded in a dashboard page."""
    m = re.search(r'<script type="application/json" id="memscope-data">\n(.*?)</script>', html, re.S)
    assert m, "no embedded data"
    return json.loads(m.group(1))


class Example:
    """One run of an example: its stdout, its JSON report and its dashboard's data."""

    def __init__(self, name, *args):
        self.tmp = tempfile.TemporaryDirectory()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSCOPE_")}
        env.update(MEMSCOPE_OUTPUT=self.tmp.name, MEMSCOPE_AUTO_EXPORT="json,html",
                   MEMSCOPE_TOOL=MEMSCOPE)
        p = subprocess.run([EXAMPLES[name], *args], env=env, capture_output=True, timeout=240)
        self.status = p.returncode
        self.stdout = p.stdout.decode("utf-8", "replace")
        self.stderr = p.stderr.decode("utf-8", "replace")
        self.json_path = os.path.join(self.tmp.name, name + ".json")
        self.html_path = os.path.join(self.tmp.name, name + ".html")
        self.report = self.page = None
        if os.path.exists(self.json_path):
            with open(self.json_path) as f:
                self.report = json.load(f)
        if os.path.exists(self.html_path):
            with open(self.html_path) as f:
                self.page = embedded_json(f.read())

    def close(self):
        self.tmp.cleanup()


class ExampleCase:
    """Runs its example once (NAME, ARGS) for all its tests, and checks what
    every example's report must say. Mixed into a unittest.TestCase per
    example."""
    NAME = None
    ARGS = ()

    @classmethod
    def setUpClass(cls):
        if cls.NAME not in EXAMPLES:
            raise unittest.SkipTest("%s was not built" % cls.NAME)
        cls.run_ = Example(cls.NAME, *cls.ARGS)
        cls.r = cls.run_.report

    @classmethod
    def tearDownClass(cls):
        cls.run_.close()

    def thread_names(self):
        return {t["id"]: t["name"] for t in self.r["threads"]}

    def tasks_by_name(self):
        tasks = {}
        for t in self.r["tasks"]:
            self.assertNotIn(t["name"], tasks, "two tasks named %s" % t["name"])
            tasks[t["name"]] = t
        return tasks

    def test_ran_and_reported(self):
        run = self.run_
        self.assertEqual(run.status, 0, run.stdout + run.stderr)
        self.assertIsNotNone(run.report, "no %s: %s" % (run.json_path, run.stderr))
        self.assertIsNotNone(run.page, "no %s: %s" % (run.html_path, run.stderr))
        VALIDATOR.validate(run.report)
        VALIDATOR.validate(run.page)
        # the dashboard shows the figures of the JSON
        for k in ["events", "summary", "threads", "tasks", "variables", "leaks", "anomalies"]:
            self.assertEqual(run.page[k], run.report[k], k)

    def test_trace_whole(self):
        r = self.r
        self.assertTrue(r["source"]["complete"])
        self.assertEqual(r["source"]["ending"], "exit")
        self.assertEqual(r["summary"]["dropped_events"], 0)
        self.assertEqual(r["source"]["damaged_chunks"], 0)
        self.assertEqual(r["anomalies"]["total"], 0, r["anomalies"]["list"][:5])
        self.assertEqual(r["threads_omitted"], 0)
        self.assertEqual(r["tasks_omitted"], 0)


class BasicUsage(ExampleCase, unittest.TestCase):
    NAME = "basic_usage"

    def test_deliberate_leak(self):
        # Everything is freed but one word's text, which is labelled: exactly
        # one labelled block is live at the end, and it is a leak.
        r = self.r
        self.assertEqual(sum(v["live_blocks"] for v in r["variables"]), 1, r["variables"])
        leaked = [v for v in r["variables"] if v["live_blocks"]][0]
        self.assertGreater(leaked["blocks"], 1)  # a label in a loop: one row, many blocks
        self.assertGreaterEqual(r["summary"]["leaked_blocks"], 1)
        self.assertGreaterEqual(r["summary"]["leaked_bytes"], leaked["live_bytes"])
        self.assertIn(leaked["live_bytes"], [lk["size"] for lk in r["leaks"]])

    def test_realloc_keeps_label(self):
        grown = [v for v in self.r["variables"] if v["reallocs"] > 0]
        self.assertTrue(grown, self.r["variables"])
        self.assertEqual(grown[0]["live_blocks"], 0)


class ComplexMultithread(ExampleCase, unittest.TestCase):
    NAME = "complex_multithread_showcase"

    def printed(self):
        """Per worker name: what the program counted itself."""
        rows = {}
        for m in re.finditer(r"(?m)^thread (\S+): allocations (\d+) bytes (\d+) handed_off (\d+) "
                             r"freed_from_others (\d+)$", self.run_.stdout):
            rows[m.group(1)] = dict(zip(["allocations", "bytes", "handed_off", "received"],
                                        map(int, m.groups()[1:])))
        self.assertEqual(len(rows), 30, self.run_.stdout)
        return rows

    def test_thirty_named_threads(self):
        names = [t["name"] for t in self.r["threads"]]
        workers = sorted(n for n in names if n.startswith("worker-"))
        self.assertEqual(workers, ["worker-%02d" % i for i in range(30)])
        self.assertIn("main", names)

    def test_per_thread_figures(self):
        printed = self.printed()
        for t in self.r["threads"]:
            if t["name"] not in printed:
                continue
            p = printed[t["name"]]
            self.assertEqual(t["allocations"], p["allocations"], t["name"])
            self.assertEqual(t["bytes_allocated"], p["bytes"], t["name"])
            self.assertGreaterEqual(t["bytes_allocated"], MIB, t["name"])
            self.assertGreaterEqual(t["peak_live_bytes"], MIB, t["name"])
            # its own blocks but those it handed off, and those handed to it
            self.assertEqual(t["frees"], p["allocations"] - p["handed_off"] + p["received"], t["name"])
            self.assertEqual(t["live_bytes"], 0, t["name"])
            self.assertGreater(p["received"], 0, t["name"])
            self.assertGreater(t["cross_thread_frees"], 0, t["name"])
            self.assertEqual(t["reallocs"], 0, t["name"])

    def test_cross_thread_frees(self):
        printed = self.printed()
        handed = sum(p["handed_off"] for p in printed.values())
        self.assertEqual(handed, sum(p["received"] for p in printed.values()))
        self.assertGreater(sum(t["cross_thread_frees"] for t in self.r["threads"]), 0)
        # every block allocated by a worker was freed by some worker
        workers = [t for t in self.r["threads"] if t["name"] in printed]
        self.assertEqual(sum(t["frees"] for t in workers), sum(t["allocations"] for t in workers))


class AsyncShowcase(ExampleCase, unittest.TestCase):
    NAME = "comprehensive_async_showcase"

    def printed(self):
        m = re.search(r"(?m)^comprehensive_async_showcase: (\d+) requests answered by (\d+) pool "
                      r"threads, (\d+) head bytes, (\d+) body bytes", self.run_.stdout)
        self.assertTrue(m, self.run_.stdout)
        return dict(zip(["requests", "pool_threads", "head_bytes", "body_bytes"], map(int, m.groups())))

    def test_task_tree(self):
        p = self.printed()
        tasks = self.tasks_by_name()
        server = tasks["server"]
        self.assertEqual(server["parent"], 0)
        for n in range(p["requests"]):
            req = tasks["request-%d" % n]
            self.assertEqual(req["parent"], server["id"])
            self.assertEqual(tasks["work-%d" % n]["parent"], req["id"])
            self.assertEqual(tasks["respond-%d" % n]["parent"], req["id"])
        housekeeping = [t for name, t in tasks.items() if name.startswith("housekeeping-")]
        self.assertTrue(housekeeping)
        for t in housekeeping:
            self.assertEqual(t["parent"], server["id"])
        self.assertEqual(len(tasks), 1 + 3 * p["requests"] + len(housekeeping))
        self.assertEqual(self.r["summary"]["tasks"], len(tasks))
        for t in tasks.values():
            self.assertTrue(t["ended"], t["name"])
            self.assertEqual(t["live_bytes"], 0, t["name"])

    def test_pool_threads(self):
        p = self.printed()
        names = self.thread_names()
        pool = {i for i, n in names.items() if n.startswith("uv-pool-")}
        self.assertGreaterEqual(p["pool_threads"], 1)
        self.assertEqual(len(pool), p["pool_threads"])
        loop = [i for i, n in names.items() if n == "uv-loop"]
        self.assertEqual(len(loop), 1)
        tasks = self.tasks_by_name()
        used = set()
        for n in range(p["requests"]):
            work = tasks["work-%d" % n]
            # the work ran on one pool thread; the request and its response on the loop
            self.assertEqual(len(work["threads"]), 1, work)
            self.assertIn(work["threads"][0], pool, work)
            used.add(work["threads"][0])
            self.assertEqual(tasks["request-%d" % n]["threads"], loop)
            self.assertEqual(tasks["respond-%d" % n]["threads"], loop)
        self.assertEqual(used, pool)
        for i in pool:
            t = [t for t in self.r["threads"] if t["id"] == i][0]
            self.assertGreater(t["allocations"], 0)

    def test_work_blocks_freed_on_the_loop(self):
        p = self.printed()
        tasks = self.tasks_by_name()
        work = [tasks["work-%d" % n] for n in range(p["requests"])]
        for w in work:
            self.assertGreater(w["reallocs"], 0, w)  # the body grows
            self.assertEqual(w["live_bytes"], 0, w)
        for n in range(p["requests"]):
            self.assertEqual(tasks["request-%d" % n]["allocations"], 2)  # the request and its text
        # Every block a work made is freed: the headers on its pool thread,
        # the body on the loop thread (at least one cross-thread free per
        # work). Which block a free pairs with is the merge's estimate when
        # threads hand an address back and forth inside overlapping TIME
        # windows (FORMAT.md "Merging threads"), so per task the frees can
        # move between tasks: they are checked summed up.
        self.assertEqual(sum(w["frees"] for w in work), sum(w["allocations"] for w in work))
        self.assertGreaterEqual(sum(w["cross_thread_frees"] for w in work), p["requests"])
        self.assertGreaterEqual(sum(w["bytes_allocated"] for w in work), p["body_bytes"] + p["requests"])
        head = sum(tasks["respond-%d" % n]["bytes_allocated"] for n in range(p["requests"]))
        self.assertGreaterEqual(head, p["head_bytes"])

    def test_access_log_variable(self):
        log = [v for v in self.r["variables"] if v["name"] == "access_log"]
        self.assertEqual(len(log), 1, self.r["variables"])
        self.assertGreater(log[0]["reallocs"], 0)
        self.assertEqual(log[0]["frees"], log[0]["blocks"])
        self.assertEqual(log[0]["live_blocks"], 0)


class Enhanced30Threads(ExampleCase, unittest.TestCase):
    NAME = "enhanced_30_thread_demo"
    ARGS = ("-v",)

    def printed(self):
        """Per job name: the threads the program ran it on, its blocks and bytes."""
        jobs = {}
        for m in re.finditer(r"(?m)^(job-\d+): threads (\S+) (\S+) (\S+) (\S+) blocks (\d+) bytes (\d+)$",
                             self.run_.stdout):
            jobs[m.group(1)] = {"threads": set(m.groups()[1:5]), "blocks": int(m.group(6)),
                                "bytes": int(m.group(7))}
        self.assertEqual(len(jobs), 100, self.run_.stdout)
        return jobs

    def test_thirty_threads(self):
        names = [t["name"] for t in self.r["threads"]]
        stage = sorted(n for n in names if re.match(r"(load|index|store)-\d$", n))
        self.assertEqual(stage, sorted("%s-%d" % (s, i) for s in ["load", "index", "store"]
                                       for i in range(10)))
        self.assertEqual(len(names), 31)  # and main

    def test_hundred_tasks_that_hop(self):
        jobs = self.printed()
        names = self.thread_names()
        tasks = self.tasks_by_name()
        self.assertEqual(sorted(tasks), sorted(jobs))
        self.assertEqual(self.r["summary"]["tasks"], 100)
        for name, t in tasks.items():
            j = jobs[name]
            self.assertTrue(t["ended"], name)
            self.assertEqual(t["parent"], 0)
            self.assertEqual({names[i] for i in t["threads"]}, j["threads"], name)
            self.assertEqual(len(t["threads"]), 4, name)
            self.assertEqual(t["allocations"] + t["reallocs"], j["blocks"], name)
            self.assertEqual(t["bytes_allocated"], j["bytes"], name)
            self.assertEqual(t["live_bytes"], 0, name)
            self.assertGreater(t["cross_thread_frees"], 0, name)
        self.assertTrue(any(len(t["threads"]) > 1 for t in tasks.values()))
        # every block of every job is freed; which job's block a free pairs
        # with can be the merge's estimate (see AsyncShowcase), so the frees
        # are checked summed up
        self.assertEqual(sum(t["frees"] for t in tasks.values()),
                         sum(t["allocations"] for t in tasks.values()))

    def test_thread_totals_match_tasks(self):
        # every allocation of a stage thread is made inside a job's task
        tasks = self.r["tasks"]
        stage = [t for t in self.r["threads"] if t["name"] != "main"]
        self.assertEqual(sum(t["allocations"] for t in stage) + sum(t["reallocs"] for t in stage),
                         sum(t["allocations"] + t["reallocs"] for t in tasks) - 100)  # main made the records
        for t in stage:
            self.assertEqual(t["live_bytes"], 0, t["name"])

    def test_labelled_texts(self):
        texts = [v for v in self.r["variables"] if v["name"] == "j->text"]
        self.assertEqual(len(texts), 1, self.r["variables"])
        self.assertEqual(texts[0]["blocks"], 100)
        self.assertEqual(texts[0]["frees"], 100)
        self.assertEqual(texts[0]["type"], "char *")


if __name__ == "__main__":
    unittest.main(verbosity=2)

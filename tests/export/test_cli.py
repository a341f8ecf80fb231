#!/usr/bin/env python3
"""Tests of the memscope command on synthetic traces (gen_trace): exact
counts, the JSON against docs/report.schema.json, the dashboard's embedded
JSON, archives, damaged input, exit codes and --help.

Usage: test_cli.py MEMSCOPE GEN_TRACE SCHEMA
Needs the jsonschema module (Debian package python3-jsonschema)."""
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import unittest

import msx_schema

MEMSCOPE, GEN, SCHEMA_PATH = (os.path.abspath(a) for a in sys.argv[1:4])
VALIDATOR = msx_schema.validator(SCHEMA_PATH)


def run(*args, **kw):
    """Runs a command; returns (status, stdout, stderr)."""
    p = subprocess.run(list(args), capture_output=True, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


# In the ASan build, a sanitized program started with a harmless library in
# LD_PRELOAD (below) would refuse to run: its runtime must come first. The
# library changes nothing, so the check is turned off for the programs these
# tests start (other builds ignore ASAN_OPTIONS).
os.environ["ASAN_OPTIONS"] = ":".join(
    x for x in (os.environ.get("ASAN_OPTIONS", ""), "verify_asan_link_order=0") if x)


def harmless_library():
    """A shared library that changes nothing when preloaded (the libc this
    python runs on), for `memscope run` tests that do not need tracing
    (MEMSCOPE_LIB): they work in the sanitizer builds too."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if re.search(r"/libc[.-][^/]*so", path):
                return path
    raise AssertionError("no libc in /proc/self/maps")


def library_mapped_here(pattern):
    """The path of a shared library this python has mapped whose file name
    matches pattern, for tests that must tell whether a preload reached a
    process (a library that /bin/sh and /bin/cat do not link)."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if re.search(pattern, os.path.basename(path)):
                return path
    raise AssertionError("no library matching %s in /proc/self/maps" % pattern)


def read(path):
    """The bytes of a file."""
    with open(path, "rb") as f:
        return f.read()


def embedded_json(html):
    """The report JSON embedded in a dashboard page."""
    m = re.search(r'<script type="application/json" id="memscope-data">\n(.*?)</script>', html, re.S)
    assert m, "no embedded data"
    return json.loads(m.group(1))


class Cli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.truth = {}
        for name, args in [("plain", ["--threads", "4", "--events", "200000", "--live", "3000"]),
                           ("hostile", ["--threads", "8", "--events", "5000", "--hostile"]),
                           ("killed", ["--threads", "2", "--events", "3000", "--no-end"])]:
            path = os.path.join(cls.dir, name + ".1.msgpack")
            st, out, err = run(GEN, path, *args)
            assert st == 0, err
            cls.truth[name] = json.loads(out)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def p(self, name):
        return os.path.join(self.dir, name)

    def report(self, trace, tag, status=0):
        """memscope report with all three outputs; returns (json, html, bin paths)."""
        j, h, b = self.p(tag + ".json"), self.p(tag + ".html"), self.p(tag + ".msbin")
        st, out, err = run(MEMSCOPE, "report", "-q", self.p(trace), "--json", j, "--html", h, "--bin", b)
        self.assertEqual(st, status, err)
        return j, h, b

    def test_exact_counts(self):
        j, _, _ = self.report("plain.1.msgpack", "plain")
        with open(j) as f:
            r = json.load(f)
        t = self.truth["plain"]
        self.assertEqual(r["events"], t["events"])
        for k in ["allocations", "frees", "reallocs", "bytes_allocated"]:
            self.assertEqual(r["summary"][k], t[k], k)
        self.assertEqual(r["summary"]["threads"], 4)
        for got, want in zip(r["threads"], t["threads"]):
            for k in ["allocations", "frees", "reallocs", "bytes_allocated"]:
                self.assertEqual(got[k], want[k], (got["id"], k))
        self.assertEqual(sum(th["events"] for th in r["threads"]), r["events"])
        self.assertGreater(r["stream_bytes"], r["events"])

    def test_schema(self):
        for name in ["plain", "hostile", "killed"]:
            j, h, _ = self.report(name + ".1.msgpack", "s-" + name, 3 if name == "killed" else 0)
            with open(j) as f:
                VALIDATOR.validate(json.load(f))
            with open(h, encoding="utf-8") as f:
                VALIDATOR.validate(embedded_json(f.read()))

    def test_html_offline_and_escaped(self):
        _, h, _ = self.report("hostile.1.msgpack", "hostile")
        with open(h, "rb") as f:
            page = f.read()
        self.assertLess(len(page), 5 * 1024 * 1024)
        for banned in [b"://", b"src=", b"href=", b"url(", b"@import", b"<link", b"Math.random"]:
            self.assertNotIn(banned, page)
        self.assertNotIn(b"<script>alert", page)
        self.assertEqual(page.count(b"<script"), 2)
        data = embedded_json(page.decode("utf-8"))
        self.assertIn("<script>alert(1)</script>", [t["name"] for t in data["threads"]])
        self.assertIn("<script>alert(3)</script>", [t["name"] for t in data["tasks"]])
        self.assertEqual([t["parent"] for t in data["tasks"]], [0, 1])

    def test_archive_round_trip(self):
        j, h, b = self.report("plain.1.msgpack", "rt")
        j2, h2 = self.p("rt2.json"), self.p("rt2.html")
        st, _, err = run(MEMSCOPE, "report", "-q", b, "--json", j2, "--html", h2)
        self.assertEqual(st, 0, err)
        with open(j) as f1, open(j2) as f2:
            self.assertEqual(f1.read(), f2.read())
        with open(h, "rb") as f1, open(h2, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())
        self.assertLess(os.path.getsize(b), os.path.getsize(self.p("plain.1.msgpack")) / 20)

    def test_default_outputs(self):
        out = self.p("outdir")
        st, _, err = run(MEMSCOPE, "report", "-o", out, "--formats", "json,bin",
                         self.p("plain.1.msgpack"), self.p("hostile.1.msgpack"))
        self.assertEqual(st, 0, err)
        self.assertEqual(sorted(os.listdir(out)),
                         ["hostile.1.json", "hostile.1.msbin", "plain.1.json", "plain.1.msbin"])
        self.assertIn("wrote " + os.path.join(out, "plain.1.json"), err)

    def test_summary(self):
        st, out, err = run(MEMSCOPE, "summary", self.p("plain.1.msgpack"))
        self.assertEqual(st, 0, err)
        t = self.truth["plain"]
        self.assertIn("events     200,000", out)
        self.assertIn("{:,} allocations".format(t["allocations"]), out)
        st, out, err = run(MEMSCOPE, "summary", self.p("hostile.1.msgpack"))
        self.assertEqual(st, 0, err)
        self.assertFalse(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out), "raw control characters")
        # its two tasks, each a row under the task header, the invalid byte escaped
        tasks = out[out.index("\n  task "):]
        self.assertRegex(tasks, r"\n  1 +[0-9,]+ .*<script>alert\(3\)</script>\n")
        self.assertRegex(tasks, r"\n  2 +[0-9,]+ .*\"q\"&'\\xff\n")

    def test_summary_invalid_utf8(self):
        """Every byte of an invalid UTF-8 sequence (overlong, surrogate) is
        printed as \\xNN: the output is valid UTF-8."""
        p = subprocess.run([MEMSCOPE, "summary", self.p("hostile.1.msgpack")], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        p.stdout.decode("utf-8")  # strict: raises on a raw surrogate or overlong form
        self.assertIn(b"\\xed\\xa0\\x80 surrogate", p.stdout)
        self.assertIn(b"\\xc0\\xaf overlong", p.stdout)
        self.assertIn(b"bad\\xff\\xfe utf8", p.stdout)

    def test_incomplete_trace(self):
        st, _, err = run(MEMSCOPE, "report", "-q", self.p("killed.1.msgpack"), "--json", self.p("k.json"))
        self.assertEqual(st, 3)
        self.assertIn(self.p("killed.1.msgpack"), err)
        self.assertIn("never reached its exit flush", err)
        with open(self.p("k.json")) as f:
            r = json.load(f)
        self.assertEqual(r["events"], self.truth["killed"]["events"])
        self.assertFalse(r["source"]["complete"])

    def test_truncated_trace(self):
        src = self.p("plain.1.msgpack")
        cut = self.p("cut.msgpack")
        with open(src, "rb") as f:
            data = f.read()
        size = len(data) - 65536 + 5000
        with open(cut, "wb") as f:
            f.write(data[:size])
        st, _, err = run(MEMSCOPE, "report", "-q", cut, "--json", self.p("cut.json"))
        self.assertEqual(st, 3, err)
        self.assertIn(cut + ": offset %d:" % size, err)
        self.assertIn("truncated", err)
        with open(self.p("cut.json")) as f:
            VALIDATOR.validate(json.load(f))

    def test_unreadable_input(self):
        cases = {"empty.msgpack": b"", "random.msgpack": os.urandom(100000),
                 "text.msgpack": b"hello world\n" * 100}
        for name, data in cases.items():
            path = self.p(name)
            with open(path, "wb") as f:
                f.write(data)
            for cmd in (["report", "-q", path, "--json", self.p("x.json")], ["summary", path]):
                st, _, err = run(MEMSCOPE, *cmd)
                self.assertEqual(st, 1, (name, err))
                self.assertIn(path + ": offset 0:", err)
                self.assertEqual(err.count("\n"), 1, err)
        st, _, err = run(MEMSCOPE, "summary", self.p("missing.msgpack"))
        self.assertEqual(st, 1)
        self.assertIn("No such file", err)

    def test_usage(self):
        for args in (["--help"], ["report", "--help"], ["summary", "--help"], ["run", "--help"]):
            st, out, _ = run(MEMSCOPE, *args)
            self.assertEqual(st, 0, args)
            self.assertIn("Usage: memscope", out)
            self.assertIn("Exit status", out)
        for args in ([], ["bogus"], ["report"], ["report", "--bogus", "x"], ["summary"],
                     ["report", "--json", "x", "a", "b"], ["run"], ["report", "--formats", "pdf", "a"]):
            st, _, err = run(MEMSCOPE, *args)
            self.assertEqual(st, 2, (args, err))
        st, out, _ = run(MEMSCOPE, "--version")
        self.assertEqual(st, 0)
        self.assertTrue(out.startswith("memscope "))


class OutputSafety(unittest.TestCase):
    """An output is never an input, nor another output: checked by inode for
    files that exist and by resolved name for the others; refused with status
    2 before anything is written."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        base = os.path.join(cls.tmp.name, "base.1.msgpack")
        st, _, err = run(GEN, base, "--threads", "2", "--events", "2000")
        assert st == 0, err
        cls.bytes = read(base)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        """Each test has a directory and a trace of its own (a test that fails
        may have overwritten its trace)."""
        self.dir = tempfile.mkdtemp(dir=self.tmp.name)
        self.trace = self.p("t.1.msgpack")
        with open(self.trace, "wb") as f:
            f.write(self.bytes)

    def p(self, name):
        return os.path.join(self.dir, name)

    def refused(self, args, **kw):
        """Runs memscope; checks status 2, one "refusing" message, the trace intact."""
        st, out, err = run(MEMSCOPE, *args, **kw)
        self.assertEqual(st, 2, (args, err))
        self.assertIn("refusing to write", err)
        self.assertNotIn("wrote", err)
        self.assertEqual(read(self.trace), self.bytes)
        return err

    def test_output_is_the_input(self):
        err = self.refused(["report", self.trace, "--json", self.trace])
        self.assertIn("it is the input", err)

    def test_output_is_the_input_by_another_name(self):
        os.symlink(self.trace, self.p("link.json"))
        os.link(self.trace, self.p("hard.html"))
        self.refused(["report", self.trace, "--json", self.p("link.json")])
        self.refused(["report", self.trace, "--html", self.p("hard.html")])
        os.mkdir(self.p("sub"))
        self.refused(["report", self.trace, "--bin", self.p("sub/../t.1.msgpack")])
        self.assertTrue(os.path.islink(self.p("link.json")))

    def test_two_outputs_one_file(self):
        err = self.refused(["report", self.trace, "--json", self.p("j.json"), "--html", self.p("j.json")])
        self.assertIn("also the --json output", err)
        self.assertFalse(os.path.exists(self.p("j.json")))
        # not existing yet: compared by resolved name (a symlinked directory too)
        os.mkdir(self.p("sub"))
        os.symlink(self.p("sub"), self.p("alias"))
        self.refused(["report", self.trace, "--json", self.p("sub/../x.json"), "--bin", self.p("x.json")])
        self.refused(["report", self.trace, "--json", self.p("sub/y"), "--html", self.p("alias/y")])
        self.assertEqual(os.listdir(self.p("sub")), [])
        # existing: compared by inode
        with open(self.p("a.json"), "w"):
            pass
        os.link(self.p("a.json"), self.p("b.html"))
        self.refused(["report", self.trace, "--json", self.p("a.json"), "--html", self.p("b.html")])
        self.assertEqual(read(self.p("a.json")), b"")

    def test_devices_are_not_files(self):
        st, _, err = run(MEMSCOPE, "report", "-q", self.trace, "--json", "/dev/null", "--html", "/dev/null")
        self.assertEqual(st, 0, err)

    def test_default_outputs(self):
        # the archive's default archive output is the archive itself
        b = self.p("r.msbin")
        st, _, err = run(MEMSCOPE, "report", "-q", self.trace, "--bin", b)
        self.assertEqual(st, 0, err)
        archive = read(b)
        self.refused(["report", b, "--formats", "bin"])
        self.assertEqual(read(b), archive)
        # two traces of one name into one directory
        os.mkdir(self.p("a"))
        os.mkdir(self.p("b"))
        for d in "ab":
            os.link(self.trace, self.p(d + "/t.1.msgpack"))
        out = self.p("out")
        err = self.refused(["report", "-o", out, self.p("a/t.1.msgpack"), self.p("b/t.1.msgpack")])
        self.assertFalse(os.path.exists(out), "nothing written, not even the directory")

    def test_run_default_outputs(self):
        """A report that `run` would write over a trace is refused too."""
        trace = self.trace
        os.symlink(trace, self.p("t.1.json"))
        env = dict(os.environ, MEMSCOPE_LIB=harmless_library())
        # the program changes the trace's time: run reports on it
        st, _, err = run(MEMSCOPE, "run", "-o", self.dir, "--", "touch", trace, env=env)
        self.assertEqual(st, 0, err)
        self.assertIn("refusing to write", err)
        self.assertNotIn("wrote", err)
        self.assertTrue(os.path.islink(self.p("t.1.json")))
        self.assertFalse(os.path.exists(self.p("t.1.html")))

class RunProcesses(unittest.TestCase):
    """`memscope run` on command lines that start many processes: one index
    of the traces instead of a line per file, and --no-children."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_index_largest_first(self):
        """25 traces written during the run: 20 lines of the index, most
        events first, each with its report, then "and 5 more"; no line per
        file written; -q prints nothing."""
        env = dict(os.environ, MEMSCOPE_LIB=harmless_library())
        script = ('for i in $(seq 1 25); do "$0" "$MEMSCOPE_OUTPUT/p$i.$((1000 + i)).msgpack" '
                  '--events $((i * 40 % 1000 + i)) >/dev/null || exit 1; done')
        st, out, err = run(MEMSCOPE, "run", "-o", self.dir, "--", "sh", "-c", script, GEN, env=env)
        self.assertEqual(st, 0, err)
        self.assertNotIn("wrote", err)
        lines = err.splitlines()
        self.assertTrue(lines[0].startswith("memscope: 25 traces, most events first"), err)
        self.assertEqual(lines[1].split(), ["pid", "program", "events", "peak", "status", "report"])
        rows = [l.split() for l in lines[2:22]]
        self.assertEqual(lines[22:], ["  and 5 more"], err)
        events = {i: i * 40 % 1000 + i for i in range(1, 26)}
        want = sorted(events, key=lambda i: -events[i])[:20]
        self.assertEqual([r[1] for r in rows], ["p%d.%d" % (i, 1000 + i) for i in want])
        for r, i in zip(rows, want):
            self.assertEqual(int(r[2]), events[i], r)
            self.assertEqual(r[0], "4242")  # gen_trace's pid
            self.assertEqual(r[5], "ok", r)
            self.assertEqual(r[6], "p%d.%d.json" % (i, 1000 + i))
            self.assertTrue(os.path.exists(os.path.join(self.dir, r[6])))
        # the 5 not listed have their reports too
        self.assertEqual(len([f for f in os.listdir(self.dir) if f.endswith(".html")]), 25)
        st, out, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--", "sh", "-c", script, GEN, env=env)
        self.assertEqual((st, err), (0, ""))

    def test_no_children_is_not_inherited(self):
        """--no-children preloads the library into PROGRAM but leaves
        LD_PRELOAD alone: a program PROGRAM starts does not load it. Without
        it the child does."""
        lib = library_mapped_here(r"^libm[.-].*so")
        env = dict(os.environ, MEMSCOPE_LIB=lib)
        env.pop("LD_PRELOAD", None)
        name = os.path.basename(lib)
        script = ('grep -q "/%s$" /proc/$$/maps && echo yes || echo no; echo "[$LD_PRELOAD]"; '
                  'cat /proc/self/maps | grep -q "/%s$" && echo yes || echo no; echo "[$0]"' % (name, name))
        st, out, err = run(MEMSCOPE, "run", "-q", "--no-children", "-o", self.dir, "--", "sh", "-c", script,
                           "zero", env=env)
        self.assertEqual(st, 0, err)
        self.assertEqual(out.split(), ["yes", "[]", "no", "[zero]"], err)
        st, out, err = run(MEMSCOPE, "run", "-q", "-o", self.dir, "--", "sh", "-c", script, "zero", env=env)
        self.assertEqual(st, 0, err)
        self.assertEqual(out.split(), ["yes", "[%s]" % os.path.realpath(lib), "yes", "[zero]"], err)

    def test_no_children_program_lookup_and_status(self):
        """--no-children finds PROGRAM in PATH as execvp does, passes its exit
        status on, keeps argv[0], and refuses a script (only its interpreter
        would be traced) with 126; a missing program is 127."""
        env = dict(os.environ, MEMSCOPE_LIB=harmless_library())
        st, out, err = run(MEMSCOPE, "run", "-q", "--no-children", "-o", self.dir, "--", "sh", "-c", "exit 7",
                           env=env)
        self.assertEqual(st, 7, err)
        d = self.dir
        with open(os.path.join(d, "script"), "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(os.path.join(d, "script"), 0o755)
        with open(os.path.join(d, "notexec"), "w") as f:
            f.write("x")
        penv = dict(env, PATH=d + ":" + env.get("PATH", "/usr/bin:/bin"))
        st, out, err = run(MEMSCOPE, "run", "--no-children", "-o", d, "--", "script", env=penv)
        self.assertEqual((st, out), (126, ""), err)
        self.assertIn("is a script", err)
        st, _, err = run(MEMSCOPE, "run", "--no-children", "-o", d, "--", os.path.join(d, "notexec"), env=env)
        self.assertEqual(st, 126, err)
        st, _, err = run(MEMSCOPE, "run", "--no-children", "-o", d, "--", "no-such-program-x", env=env)
        self.assertEqual(st, 127, err)
        self.assertIn("no-such-program-x", err)
        # found in PATH: the first executable of that name, as execvp
        os.mkdir(os.path.join(d, "bin"))
        os.symlink("/bin/echo", os.path.join(d, "bin", "notexec"))
        penv = dict(env, PATH=d + ":" + os.path.join(d, "bin"))
        st, out, err = run(MEMSCOPE, "run", "-q", "--no-children", "-o", d, "--", "notexec", "a", env=penv)
        self.assertEqual((st, out), (0, "a\n"), err)
        # argv[0] as given: ls names itself by it
        os.symlink("/bin/ls", os.path.join(d, "bin", "myls"))
        st, out, err = run(MEMSCOPE, "run", "-q", "--no-children", "-o", d, "--", "myls", "--bogus-x", env=penv)
        self.assertEqual(st, 2, err)
        self.assertTrue(err.startswith("myls: unrecognized option '--bogus-x'"), err)


class OptionSyntax(unittest.TestCase):
    """Options as getopt_long reads them, help and version everywhere."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.trace = os.path.join(cls.tmp.name, "t.1.msgpack")
        st, _, err = run(GEN, cls.trace, "--threads", "2", "--events", "2000")
        assert st == 0, err

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=self.tmp.name)

    def p(self, name):
        return os.path.join(self.dir, name)

    def test_equals_and_attached_values(self):
        st, _, err = run(MEMSCOPE, "report", "--json=" + self.p("a.json"), self.trace, "--html=" + self.p("a.html"))
        self.assertEqual(st, 0, err)
        self.assertTrue(os.path.exists(self.p("a.json")) and os.path.exists(self.p("a.html")))
        st, _, err = run(MEMSCOPE, "report", self.trace, "-q", "-o" + self.p("d"), "--formats=bin,json")
        self.assertEqual(st, 0, err)
        self.assertEqual(sorted(os.listdir(self.p("d"))), ["t.1.json", "t.1.msbin"])

    def test_options_after_traces_and_double_dash(self):
        os.symlink(self.trace, self.p("-t.1.msgpack"))
        st, _, err = run(MEMSCOPE, "report", "-q", "--formats", "json", "--", "-t.1.msgpack", cwd=self.dir)
        self.assertEqual(st, 0, err)
        self.assertTrue(os.path.exists(self.p("-t.1.json")))
        st, _, err = run(MEMSCOPE, "summary", "--", "-t.1.msgpack", cwd=self.dir)
        self.assertEqual(st, 0, err)

    def test_format_names_any_case(self):
        st, _, err = run(MEMSCOPE, "report", "-q", "-o", self.p("d"), "--formats", "JSON,Html", self.trace)
        self.assertEqual(st, 0, err)
        self.assertEqual(sorted(os.listdir(self.p("d"))), ["t.1.html", "t.1.json"])

    def test_help_command(self):
        for args, head in ((["help"], "Usage: memscope COMMAND"), (["help", "report"], "Usage: memscope report"),
                           (["help", "summary"], "Usage: memscope summary"), (["help", "run"], "Usage: memscope run")):
            st, out, err = run(MEMSCOPE, *args)
            self.assertEqual(st, 0, (args, err))
            self.assertTrue(out.startswith(head), (args, out))
        st, _, err = run(MEMSCOPE, "help", "bogus")
        self.assertEqual(st, 2)
        self.assertIn("unknown command bogus", err)

    def test_version_everywhere(self):
        for args in (["--version"], ["report", "--version"], ["summary", "--version"], ["run", "--version"]):
            st, out, err = run(MEMSCOPE, *args)
            self.assertEqual(st, 0, (args, err))
            self.assertRegex(out, r"^memscope \d+\.\d+\.\d+\n$")

    def test_missing_value_and_unknown_option(self):
        for args in (["report", self.trace, "--json"], ["report", "-o"], ["run", "-o"],
                     ["report", "--jsonx=a", self.trace], ["summary", "-x", self.trace]):
            st, _, err = run(MEMSCOPE, *args)
            self.assertEqual(st, 2, (args, err))
            self.assertTrue(err.startswith("memscope: "), (args, err))

    def test_missing_input_says_errno(self):
        for cmd in (["report", "-q", "-o", self.dir], ["summary"]):
            st, _, err = run(MEMSCOPE, *cmd, self.p("missing.msgpack"))
            self.assertEqual(st, 1, err)
            self.assertEqual(err, "memscope: %s: No such file or directory\n" % self.p("missing.msgpack"))

    def test_run_options(self):
        env = dict(os.environ, MEMSCOPE_LIB=harmless_library())
        st, _, err = run(MEMSCOPE, "run", "-q", "-o" + self.p("d"), "--", "true", env=env)
        self.assertEqual(st, 0, err)
        self.assertTrue(os.path.isdir(self.p("d")))
        # the program's own options are its own
        st, out, err = run(MEMSCOPE, "run", "-q", "-o", self.p("d"), "echo", "-o", "--json", env=env)
        self.assertEqual((st, out), (0, "-o --json\n"), err)

    def test_run_empty_output_is_unset(self):
        """MEMSCOPE_OUTPUT= (empty) means the default directory, as in the library."""
        env = dict(os.environ, MEMSCOPE_LIB=harmless_library(), MEMSCOPE_OUTPUT="")
        st, _, err = run(MEMSCOPE, "run", "-q", "--", "true", env=env, cwd=self.dir)
        self.assertEqual(st, 0, err)
        self.assertTrue(os.path.isdir(self.p("MemoryAnalysis")), err)


class HostileFiles(unittest.TestCase):
    """`memscope report` and `summary` on files made to break a reader: each
    must end quickly (the FIFO too: the readers open with O_NONBLOCK) with the
    status of docs/CLI.md (1: not readable at all, 3: damaged, reports
    written) and a message that names the file and the problem; never a
    crash or a hang."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        src = os.path.join(cls.dir, "good.msgpack")
        st, _, err = run(GEN, src, "--threads", "2", "--events", "300")
        assert st == 0, err
        cls.good = read(src)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def p(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        path = self.p(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def patched(self, name, offset, fmt, value):
        """The good trace with one field packed over, as a file."""
        data = bytearray(self.good)
        struct.pack_into(fmt, data, offset, value)
        return self.write(name, bytes(data))

    def check(self, path, status, problem):
        """Both commands on path: the status, one message naming the file and
        holding `problem`, and for status 3 a JSON report that validates."""
        out = self.p("out.json")
        if os.path.exists(out):
            os.unlink(out)
        for cmd in (["report", "-q", path, "--json", out], ["summary", path]):
            st, _, err = run(MEMSCOPE, *cmd, timeout=20)
            self.assertEqual(st, status, (cmd, err))
            self.assertIn("memscope: " + path + ": ", err)
            self.assertIn(problem, err)
            self.assertNotIn("Sanitizer", err)
        if status == 3:
            with open(out) as f:
                VALIDATOR.validate(json.load(f))
        else:
            self.assertFalse(os.path.exists(out))

    def test_random_bytes(self):
        self.check(self.write("random", random.Random(1).randbytes(70000)), 1, "not a memscope trace")

    def test_random_chunks_after_a_good_header(self):
        path = self.write("random-chunks", self.good[:4096] + random.Random(2).randbytes(65536))
        self.check(path, 3, "no chunk header here")

    def test_empty_file(self):
        self.check(self.write("empty", b""), 1, "empty file")

    def test_directory(self):
        os.makedirs(self.p("dir.msgpack"), exist_ok=True)
        self.check(self.p("dir.msgpack"), 1, "Is a directory")

    def test_fifo(self):
        path = self.p("fifo.msgpack")
        if not os.path.exists(path):
            os.mkfifo(path)
        self.check(path, 1, "not a regular file")
        # with a writer that holds it open and writes a trace's header
        fd = os.open(path, os.O_RDWR)
        try:
            os.write(fd, self.good[:4096])
            self.check(path, 1, "not a regular file")
        finally:
            os.close(fd)

    def test_absurd_header_size(self):
        self.check(self.patched("hs", 12, "<I", 0xFFFFFFFF), 1, "bad header_size 4294967295")
        self.check(self.patched("hs0", 12, "<I", 0), 1, "bad header_size 0")
        # the largest a reader accepts, far past the end of the file
        self.check(self.patched("hsbig", 12, "<I", 1 << 20), 3, "file ends inside the file header")

    def test_absurd_chunk_size(self):
        self.check(self.patched("cs", 16, "<I", 0xFFFFF000), 1, "bad chunk_size 4294963200")
        self.check(self.patched("cs1", 16, "<I", 4097), 1, "bad chunk_size 4097")

    def test_absurd_space_taken(self):
        self.check(self.patched("st", 48, "<Q", (1 << 64) - 1), 3,
                   "the header says 18446744073709551615 bytes of chunks were taken")

    def test_committed_beyond_chunk(self):
        self.check(self.patched("cm", 4096 + 4, "<I", 0xFFFFFFF0), 3,
                   "corrupt header (committed 4294967280")
        # a chunk that claims more than the largest chunk
        self.check(self.patched("csz", 4096 + 52, "<I", 0xFFFFF000), 3, "no chunk header here (size 4294963200)")

    def test_sparse_terabyte(self):
        """A hole of 1 TiB after the chunks, then one more chunk (of a thread
        99 of its own): read quickly (holes are skipped, not read 4 KiB at a
        time: that took 48 minutes), and the chunk after the hole is found."""
        path = self.p("sparse.msgpack")
        chunk = bytearray(self.good[4096:4096 + 65536])
        struct.pack_into("<I", chunk, 8, 99)  # the chunk's thread serial
        with open(path, "wb") as f:
            f.write(self.good)
            f.seek(len(self.good) + (1 << 40))
            f.write(chunk)
        out = self.p("sparse.json")
        st, _, err = run(MEMSCOPE, "report", "-q", path, "--json", out, timeout=20)
        self.assertEqual(st, 3, err)
        self.assertIn(path + ": offset %d: no chunk header here (size 0)" % len(self.good), err)
        with open(out) as f:
            r = json.load(f)
        self.assertIn(99, [t["id"] for t in r["threads"]])
        os.unlink(path)

    def test_archive_absurd_lengths(self):
        head = b"MSBIN\0\0\0" + struct.pack("<II", 1, 0)
        schema = b"\xaeschema_version\x01"
        bodies = {
            "root-map": b"\xdf\xff\xff\xff\xff",
            "threads-array": b"\x82" + schema + b"\xa7threads\xdd\xff\xff\xff\xff",
            "file-str": b"\x82" + schema + b"\xa6source\x81\xa4file\xdb\xff\xff\xff\xff",
            "process-map": b"\x82" + schema + b"\xa7process\xdf\xff\xff\xff\xff",
            "argv-array": b"\x82" + schema + b"\xa7process\x81\xa4argv\xdd\x7f\xff\xff\xff" + b"\xa1x" * 100,
        }
        for name, body in bodies.items():
            with self.subTest(name):
                self.check(self.write(name + ".msbin", head + body), 1, "corrupt archive")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])

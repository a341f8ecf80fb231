#!/usr/bin/env python3
"""Real, unmodified programs under memscope: the sqlite3 shell, the python3
interpreter, git, redis-server driven by redis-benchmark (with a BGSAVE,
which forks) and a C++ program using the standard containers. Each runs
plainly, under LD_PRELOAD and under `memscope run`, and must print the same
and exit the same in all three; its trace must be complete. For the
single-threaded ones the allocation count of the trace agrees with
valgrind's "total heap usage: N allocs" (valgrind counts a realloc as an
alloc, so it is compared with allocations + reallocs) within 1%.

Usage: test_real.py MEMSCOPE LIBRARY CXX_PROG SOURCE_DIR
Needs sqlite3, python3 (/usr/bin/python3), git, redis-server, redis-cli,
redis-benchmark and valgrind: scripts/deps.sh installs them, and a missing
one fails its test."""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

MEMSCOPE, LIBRARY, CXX_PROG, SOURCE = (os.path.abspath(a) for a in sys.argv[1:5])
SQL_SCRIPT = os.path.join(SOURCE, "bench", "sqlite.sql")
PYTHON = "/usr/bin/python3"  # the interpreter itself, not a pyenv shim (a bash script)
PY_CODE = ("import json; d = {str(i): list(range(i % 50)) for i in range(5000)}; "
           "print(len(json.dumps(d, sort_keys=True)))")
TOLERANCE = 0.01  # memscope's count against valgrind's


def need(program):
    """The path of program; fails the test if it is missing."""
    path = shutil.which(program)
    if not path:
        raise AssertionError("%s is missing: scripts/deps.sh installs it" % program)
    return path


def base_env(**extra):
    """A fixed environment without memscope's variables or any preload."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMSCOPE_") and k not in ("LD_PRELOAD", "PYTHONHASHSEED")}
    env.update(MALLOC_PERTURB_="0", PYTHONHASHSEED="0", LC_ALL="C")
    env.update(extra)
    return env


def run(args, env=None, stdin=None, cwd=None, timeout=120):
    """Runs a command; returns (status, stdout, stderr) as text."""
    with open(stdin or os.devnull, "rb") as f:
        p = subprocess.run(args, env=env or base_env(), stdin=f, cwd=cwd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def modes(tmp):
    """The three ways a program is run: name, argv prefix, environment, and
    the directory its traces go to (None: untraced)."""
    pre, viarun = os.path.join(tmp, "preload"), os.path.join(tmp, "run")
    return [("plain", [], base_env(), None),
            ("preload", [], base_env(LD_PRELOAD=LIBRARY, MEMSCOPE_OUTPUT=pre), pre),
            ("run", [MEMSCOPE, "run", "-q", "-o", viarun, "--"], base_env(MEMSCOPE_LIB=LIBRARY), viarun)]


def report(trace):
    """The JSON report of a trace (memscope report)."""
    j = trace[:-len(".msgpack")] + ".check.json"
    st, _, err = run([MEMSCOPE, "report", "-q", trace, "--json", j])
    assert st == 0, (trace, err)
    with open(j) as f:
        return json.load(f)


def valgrind_allocs(args, env, stdin=None, cwd=None):
    """valgrind's "total heap usage: N allocs" of one run of args (no
    memscope: valgrind replaces malloc itself); returns (N, stdout)."""
    log = tempfile.NamedTemporaryFile(prefix="memscope-vg-", suffix=".log", delete=False)
    log.close()
    try:
        st, out, err = run([need("valgrind"), "--log-file=" + log.name] + args, env=env, stdin=stdin, cwd=cwd,
                           timeout=300)
        with open(log.name) as f:
            text = f.read()
    finally:
        os.unlink(log.name)
    m = re.search(r"total heap usage: ([\d,]+) allocs", text)
    assert st == 0 and m, (st, err, text[-2000:])
    return int(m.group(1).replace(",", "")), out


class Real(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def same_everywhere(self, args, stdin=None, cwd_of=None, env_extra=None):
        """Runs args in the three modes; checks that status, stdout and
        stderr are the plain run's, and returns {mode: traces dir}."""
        results, dirs = {}, {}
        for name, prefix, env, tdir in modes(self.dir):
            env.update(env_extra or {})
            cwd = cwd_of(name) if cwd_of else None
            results[name] = run(prefix + args, env=env, stdin=stdin, cwd=cwd)
            dirs[name] = tdir
        self.assertEqual(results["plain"][0], 0, results["plain"])
        for name in ("preload", "run"):
            self.assertEqual(results[name], results["plain"], name)
        return dirs

    def one_trace(self, tdir, prefix):
        """The only trace in tdir, named prefix.*; checks it is complete and
        clean, and returns its report."""
        traces = glob.glob(os.path.join(tdir, "*.msgpack"))
        self.assertEqual([os.path.basename(t).startswith(prefix + ".") for t in traces], [True], traces)
        r = report(traces[0])
        self.assertTrue(r["source"]["complete"], traces[0])
        self.assertEqual(r["source"]["problems_total"], 0)
        self.assertEqual(r["summary"]["dropped_events"], 0)
        return r

    def agrees_with_valgrind(self, r, args, env=None, stdin=None, cwd=None):
        """The trace's allocations + reallocs are within 1% of valgrind's count."""
        n, _ = valgrind_allocs(args, env or base_env(), stdin=stdin, cwd=cwd)
        got = r["summary"]["allocations"] + r["summary"]["reallocs"]
        print("%s: valgrind %d allocs, memscope %d (%d allocations + %d reallocs)"
              % (os.path.basename(args[0]), n, got, r["summary"]["allocations"], r["summary"]["reallocs"]),
              file=sys.stderr)
        self.assertLessEqual(abs(got - n), TOLERANCE * n, (got, n))

    def test_sqlite3(self):
        args = [need("sqlite3"), "-bail", ":memory:"]
        dirs = self.same_everywhere(args, stdin=SQL_SCRIPT)
        for mode in ("preload", "run"):
            r = self.one_trace(dirs[mode], "sqlite3")
            self.assertGreater(r["summary"]["allocations"], 100000)
        self.agrees_with_valgrind(r, args, stdin=SQL_SCRIPT)

    def test_python3(self):
        if not os.access(PYTHON, os.X_OK):
            self.fail("%s is missing: scripts/deps.sh installs it" % PYTHON)
        args = [PYTHON, "-c", PY_CODE]
        dirs = self.same_everywhere(args)
        for mode in ("preload", "run"):
            r = self.one_trace(dirs[mode], "python3")
            self.assertGreater(r["summary"]["allocations"], 1000)
        self.agrees_with_valgrind(r, args)

    def git_env(self):
        """Fixed author, committer, dates and no user or system config: the
        same commits (and hashes) in every run."""
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        stamp = "2020-01-01T00:00:00Z"
        return dict(GIT_AUTHOR_NAME="A U Thor", GIT_AUTHOR_EMAIL="a@example.org", GIT_AUTHOR_DATE=stamp,
                    GIT_COMMITTER_NAME="C O Mitter", GIT_COMMITTER_EMAIL="c@example.org",
                    GIT_COMMITTER_DATE=stamp, HOME=home, GIT_CONFIG_NOSYSTEM="1",
                    GIT_CONFIG_GLOBAL=os.devnull, GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0")

    def test_git(self):
        git = need("git")
        genv = self.git_env()
        # no background maintenance: each command is one process
        g = [git, "-c", "maintenance.auto=false", "-c", "gc.auto=0", "-c", "init.defaultBranch=main"]
        repos = {}

        def repo(mode):
            return repos.setdefault(mode, tempfile.mkdtemp(dir=self.dir, prefix="repo-" + mode + "-"))

        self.same_everywhere(g + ["init", "-q", "."], cwd_of=repo, env_extra=genv)
        for mode in ("plain", "preload", "run"):
            for i in range(40):
                with open(os.path.join(repo(mode), "f%02d.txt" % i), "w") as f:
                    f.write("line %d\n" % i * (i + 1))
        self.same_everywhere(g + ["add", "."], cwd_of=repo, env_extra=genv)
        self.same_everywhere(g + ["commit", "-q", "-m", "first"], cwd_of=repo, env_extra=genv)
        dirs = self.same_everywhere(g + ["log", "--stat", "--no-color"], cwd_of=repo, env_extra=genv)
        traces = sorted(glob.glob(os.path.join(dirs["preload"], "git.*.msgpack")), key=os.path.getmtime)
        self.assertEqual(len(traces), 4, traces)  # init, add, commit, log: one process each
        for t in traces:
            r = report(t)
            self.assertTrue(r["source"]["complete"], t)
            self.assertEqual(r["source"]["problems_total"], 0)
        r = report(traces[-1])  # git log, read-only: valgrind's run allocates the same
        self.agrees_with_valgrind(r, g + ["log", "--stat", "--no-color"], env=base_env(**genv), cwd=repo("plain"))

    def test_cxx_containers(self):
        dirs = self.same_everywhere([CXX_PROG])
        for mode in ("preload", "run"):
            r = self.one_trace(dirs[mode], os.path.basename(CXX_PROG))
            self.assertGreater(r["summary"]["allocations"], 400)
        self.agrees_with_valgrind(r, [CXX_PROG])

    def test_redis(self):
        """redis-server on a loopback port of its own, driven by
        redis-benchmark (bounded: 5000 requests per test, 60 s), then a few
        commands, a BGSAVE (a forked child writes the dump) and SHUTDOWN.
        The replies, the benchmark's tests, the server's log (without pids
        and times) and its exit status are the same in all three modes; the
        traces hold the server and its BGSAVE child."""
        server, cli, bench = need("redis-server"), need("redis-cli"), need("redis-benchmark")
        results = {}
        for name, prefix, env, tdir in modes(self.dir):
            results[name] = self.redis_session(name, prefix + [server], env, cli, bench)
        self.assertEqual(results["plain"][0], 0, results["plain"])
        for name in ("preload", "run"):
            self.assertEqual(results[name], results["plain"], name)
        for name in ("preload", "run"):
            tdir = modes(self.dir)[["plain", "preload", "run"].index(name)][3]
            reps = [report(t) for t in glob.glob(os.path.join(tdir, "redis-server.*.msgpack"))]
            main = [r for r in reps if not r["process"]["forked"]]
            children = [r for r in reps if r["process"]["forked"]]
            self.assertEqual(len(main), 1, [r["source"]["file"] for r in reps])
            self.assertGreaterEqual(len(children), 1, [r["source"]["file"] for r in reps])
            self.assertTrue(main[0]["source"]["complete"])
            self.assertGreater(main[0]["summary"]["allocations"], 10000)
            for c in children:
                self.assertEqual(c["process"]["parent_pid"], main[0]["process"]["pid"])
                self.assertTrue(c["source"]["complete"], c["source"]["file"])

    def test_run_no_children(self):
        """memscope run --no-children: python3 starts sqlite3 and forks; only
        python3's own trace is reported, sqlite3 writes none (the library is
        not inherited), the forked copy's trace is counted as not reported.
        A script (a pyenv shim is one) is refused with 126."""
        sqlite = need("sqlite3")
        code = ("import os, subprocess, sys; sys.stdout.flush();"
                "subprocess.run([%r, ':memory:', 'select 6*7;'], check=True);"
                "pid = os.fork();"
                "os._exit(0) if pid == 0 else print(os.waitpid(pid, 0)[1])" % sqlite)
        tdir = os.path.join(self.dir, "nc")
        env = base_env(MEMSCOPE_LIB=LIBRARY)
        st, out, err = run([MEMSCOPE, "run", "--no-children", "-o", tdir, "--", PYTHON, "-c", code], env=env)
        self.assertEqual((st, out), (0, "42\n0\n"), err)
        names = sorted(os.listdir(tdir))
        self.assertFalse([n for n in names if n.startswith("sqlite3.")], names)
        traces = [n for n in names if n.endswith(".msgpack")]
        self.assertEqual(len(traces), 2, names)  # python3 and its forked copy
        reports = [n for n in names if n.endswith(".json")]
        self.assertEqual(len(reports), 1, names)
        self.assertIn("1 trace of forked copies of %s not reported" % PYTHON, err)
        rows = [l for l in err.splitlines() if l.startswith("*")]
        self.assertEqual(len(rows), 1, err)
        self.assertIn(reports[0], rows[0])
        r = report(os.path.join(tdir, reports[0][:-len(".json")] + ".msgpack"))
        self.assertTrue(r["source"]["complete"])
        self.assertGreater(r["summary"]["allocations"], 1000)
        # without --no-children sqlite3 is traced too
        tdir2 = os.path.join(self.dir, "all")
        st, out, err = run([MEMSCOPE, "run", "-o", tdir2, "--", PYTHON, "-c", code], env=env)
        self.assertEqual((st, out), (0, "42\n0\n"), err)
        self.assertTrue([n for n in os.listdir(tdir2) if n.startswith("sqlite3.")], os.listdir(tdir2))
        script = os.path.join(self.dir, "shim")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\"\n" % PYTHON)
        os.chmod(script, 0o755)
        st, out, err = run([MEMSCOPE, "run", "--no-children", "-o", tdir, "--", script, "-c", "print(1)"], env=env)
        self.assertEqual((st, out), (126, ""), err)
        self.assertIn("is a script", err)

    def test_run_index(self):
        """memscope run on a shell that starts sqlite3 24 times, then execs
        git: the index lists the 20 traces with most events in order, then
        those of the shell's own process (the shell, and git which it
        executed in place) that were not among them, marked *, then "and N
        more"; each row agrees with its report."""
        sqlite, git = need("sqlite3"), need("git")
        tdir = os.path.join(self.dir, "idx")
        script = ("for n in $(seq 100 100 2400); do echo \"select count(*) from (with recursive c(x) as "
                  "(select 1 union all select x+1 from c where x < $n) select x from c);\" | %s :memory:; done; "
                  "exec %s --version" % (sqlite, git))
        st, out, err = run([MEMSCOPE, "run", "-o", tdir, "--", "/bin/sh", "-c", script],
                           env=base_env(MEMSCOPE_LIB=LIBRARY))
        self.assertEqual(st, 0, err)
        self.assertEqual(out.splitlines()[:24], [str(n) for n in range(100, 2401, 100)])
        traces = {n: report(os.path.join(tdir, n)) for n in os.listdir(tdir) if n.endswith(".msgpack")}
        self.assertGreater(len(traces), 25)
        shell = [r["process"]["pid"] for n, r in traces.items() if n.startswith("sh.") and not r["process"]["forked"]]
        self.assertEqual(len(shell), 1, sorted(traces))
        own = sorted(n[:-len(".msgpack")] for n, r in traces.items() if r["process"]["pid"] == shell[0])
        self.assertEqual(len([n for n in own if n.startswith("git.")]), 1, own)
        lines = err.splitlines()
        self.assertTrue(lines[0].startswith("memscope: %d traces, most events first" % len(traces)), err)
        rows = [l.split() for l in lines[2:-1]]
        marked = [r[1:] for r in rows if r[0] == "*"]
        rows = [r[1:] if r[0] == "*" else r for r in rows]
        self.assertEqual(sorted(r[6][:-len(".json")] for r in marked), own, err)
        top = [int(r[2]) for r in rows[:20]]
        self.assertEqual(top, sorted((r["events"] for r in traces.values()), reverse=True)[:20], err)
        self.assertEqual(len(rows), 20 + len([r for r in rows[20:] if r in marked]), err)
        self.assertEqual(lines[-1], "  and %d more" % (len(traces) - len(rows)), err)
        for r in rows:
            rep = traces[r[6][:-len(".json")] + ".msgpack"]
            self.assertEqual((rep["events"], rep["process"]["pid"]), (int(r[2]), int(r[0])), r)

    def redis_session(self, mode, server_argv, env, cli, bench):
        """One server's life (see test_redis); returns what must match."""
        data = os.path.join(self.dir, "redis-" + mode)
        os.mkdir(data)
        with socket.socket() as s:  # a free loopback port of our own
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
        argv = server_argv + ["--port", port, "--bind", "127.0.0.1", "--protected-mode", "yes", "--save", "",
                              "--appendonly", "no", "--dir", data, "--daemonize", "no", "--loglevel", "warning",
                              "--logfile", ""]
        log = open(os.path.join(data, "server.log"), "w+b")
        srv = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        cenv = base_env()

        def redis(*cmd):
            st, out, err = run([cli, "-h", "127.0.0.1", "-p", port] + list(cmd), env=cenv, timeout=20)
            self.assertEqual(st, 0, (cmd, err))
            return out

        try:
            for _ in range(100):  # up to 10 s to start
                if run([cli, "-h", "127.0.0.1", "-p", port, "ping"], env=cenv, timeout=5)[1] == "PONG\n":
                    break
                self.assertIsNone(srv.poll(), "the server ended")
                time.sleep(0.1)
            else:
                self.fail("redis-server did not answer within 10 s")
            st, out, err = run([bench, "-h", "127.0.0.1", "-p", port, "-n", "5000", "-c", "8", "-P", "4",
                                "-t", "set,get,incr,lpush,rpop,sadd,hset,lrange_100", "--csv"],
                               env=cenv, timeout=60)
            self.assertEqual(st, 0, err)
            tests = [line.split(",")[0] for line in out.splitlines()[1:]]
            replies = [redis("set", "answer", "1"), redis("incrby", "answer", "41"), redis("get", "answer"),
                       redis("rpush", "l", "x", "y", "z"), redis("lrange", "l", "0", "-1"), redis("dbsize"),
                       redis("bgsave")]
            for _ in range(200):  # up to 20 s for the forked child to write the dump
                info = redis("info", "persistence")
                if "rdb_bgsave_in_progress:0" in info:
                    break
                time.sleep(0.1)
            else:
                self.fail("BGSAVE did not end within 20 s")
            self.assertIn("rdb_last_bgsave_status:ok", info)
            self.assertTrue(os.path.getsize(os.path.join(data, "dump.rdb")) > 0)
            run([cli, "-h", "127.0.0.1", "-p", port, "shutdown", "nosave"], env=cenv, timeout=20)
            status = srv.wait(timeout=30)
        finally:
            if srv.poll() is None:
                srv.kill()
                srv.wait()
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
        log.close()
        # "26678:M 01 Dec 2026 20:43:13.928 # msg": keep the role and the message
        lines = [re.sub(r"^\d+:([A-Z]) \d+ \w+ \d+ [\d:.]+ ", r"\1 ", l) for l in text.splitlines()]
        lines = [re.sub(r"pid=\d+", "pid=N", l) for l in lines]
        return status, tests, replies, lines


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])

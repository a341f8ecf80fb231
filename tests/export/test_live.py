#!/usr/bin/env python3
"""`memscope live` end to end: in tmux (a real terminal), against live_prog,
a real traced program that allocates in phases and writes what it has live
(memscope_snapshot_live_bytes, and its own count) to a status file after
each phase, then holds still. Checks that the pane shows exactly that live
heap during each phase (so the screen refreshes), the threads, tasks and
symbolized sites, that live exits 0 with a final line when the program
exits, and that C-c ends it with status 130 and the cursor shown again.
Without a terminal: plain blocks, a killed program, a trace that never
appears. tmux missing: the tmux tests fail under CI=true (scripts/deps.sh
installs it) and are skipped otherwise.

Usage: test_live.py MEMSCOPE LIVE_PROG"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

MEMSCOPE, PROG = sys.argv[1:3]
TMUX = shutil.which("tmux")
IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
LIVE_RE = re.compile(r"live heap  ([\d,]+) bytes")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSCOPE_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def wait_for(pred, timeout, step=0.05):
    """Polls pred() until it returns a true value (returned) or timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "traces")
        os.mkdir(self.dir)
        self.status = os.path.join(self.tmp.name, "status")
        self.prog = None

    def tearDown(self):
        if self.prog and self.prog.poll() is None:
            self.prog.kill()
            self.prog.wait()
        self.tmp.cleanup()

    def start_prog(self, hold, from_phase=0):
        self.prog = subprocess.Popen([PROG, self.status, str(hold), str(from_phase)],
                                     env=clean_env(MEMSCOPE_OUTPUT=self.dir, MEMSCOPE_STACK_DEPTH="8"))

    def phases(self):
        """The status lines written so far: {phase: (snapshot, own)}."""
        try:
            with open(self.status) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return {}
        out = {}
        for line in lines:
            m = re.fullmatch(r"phase (\d+) snapshot (\d+) own (\d+)", line)
            self.assertTrue(m, line)
            out[int(m[1])] = (int(m[2]), int(m[3]))
        return out


class Tmux(Base):
    def setUp(self):
        if not TMUX:
            if IN_CI:
                self.fail("tmux is missing: scripts/deps.sh installs it, and under CI=true a missing "
                          "dependency fails the test")
            self.skipTest("tmux is missing (scripts/deps.sh installs it)")
        super().setUp()
        self.sock = os.path.join(self.tmp.name, "tmux.sock")
        self.addCleanup(self.tmux_quiet, "kill-server")

    def tmux(self, *args):
        p = subprocess.run([TMUX, "-S", self.sock, *args], capture_output=True, text=True, env=clean_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def tmux_quiet(self, *args):
        subprocess.run([TMUX, "-S", self.sock, *args], capture_output=True, env=clean_env())

    def start_live(self, *args):
        """Starts `memscope live ARGS` in a detached 200x60 pane; after it
        ends the shell prints LIVE-EXIT=<status> and stays (its trap keeps
        it from ending on the C-c that live gets too, as an interactive shell
        would; live is started with SIGINT's default action)."""
        cmd = " ".join(["'%s'" % a for a in (MEMSCOPE, "live", *args)])
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "60",
                  "sh -c \"trap : INT; %s; echo LIVE-EXIT=\\$?; sleep 600\"" % cmd.replace('"', '\\"'))

    def pane(self):
        return self.tmux("capture-pane", "-p", "-J")

    def cursor_visible(self):
        return self.tmux("display-message", "-p", "#{cursor_flag}").strip() == "1"

    def shown_live(self):
        m = LIVE_RE.search(self.pane())
        return int(m[1].replace(",", "")) if m else None

    def test_follows_phases_and_exit(self):
        # live starts first: it waits for a trace to appear in the directory
        self.start_live("--interval", "0.2", "--wait", "20", self.dir)
        time.sleep(0.3)
        self.assertIsNone(self.shown_live(), self.pane())
        self.start_prog(hold=3)
        baseline = None
        shown_values = []
        for phase in range(5):
            got = wait_for(lambda: self.phases().get(phase), 15)
            self.assertTrue(got, "phase %d never reported" % phase)
            snapshot, own = got
            # within the phase's hold the pane must come to show exactly
            # what the program has live (live refreshes every 0.2 s)
            wait_for(lambda: self.shown_live() == snapshot, 2.0)
            shown = self.shown_live()
            self.assertEqual(shown, snapshot, "phase %d:\n%s" % (phase, self.pane()))
            if baseline is None:
                baseline = snapshot - own
            # the program's own count agrees with the snapshot's, above the runtime's blocks
            self.assertLessEqual(abs((snapshot - baseline) - own), 512, (phase, snapshot, own, baseline))
            shown_values.append(shown)
            # while the program holds still, refreshes find nothing new in
            # its chunk headers and keep the last analysis (still exact)
            self.assertTrue(wait_for(lambda: "nothing new in the trace" in self.pane(), 1.5), self.pane())
            self.assertEqual(self.shown_live(), snapshot)
            text = self.pane()
            self.assertTrue(self.phases().get(phase + 1) is None, "phase %d was over before it was checked" % phase)
            self.assertFalse(self.cursor_visible(), "cursor shown while live runs")
            if phase == 1:
                self.assertRegex(text, r"\n  \d+ +\d+ +4\.00 MiB +4\.00 MiB +64  live-worker  \(ended\)")
                self.assertRegex(text, r"\n  1 +4\.00 MiB +4\.00 MiB +64  phase-task")
                self.assertRegex(text, r"4\.00 MiB +4\.00 MiB +64  grow_worker  live_prog\.c:\d+")
            if phase == 2:
                self.assertRegex(text, r"977 KiB +977 KiB +1,000  grow_main  live_prog\.c:\d+")
                self.assertRegex(text, r"peak +%s bytes" % format(snapshot, ","))
        self.assertEqual(len(set(shown_values)), 5, shown_values)
        # the program exits after phase 4's hold: live shows a final line and ends with 0
        self.assertEqual(self.prog.wait(timeout=20), 0)
        text = wait_for(lambda: "LIVE-EXIT=" in self.pane() and self.pane(), 10)
        self.assertTrue(text, self.pane())
        self.assertIn("LIVE-EXIT=0", text)
        self.assertRegex(text, r"memscope: live: process %d exited: live heap %s bytes at the end, peak %s bytes"
                         % (self.prog.pid, format(self.phases()[4][0], ","), format(self.phases()[2][0], ",")))
        self.assertTrue(self.cursor_visible())

    def test_ctrl_c(self):
        self.start_prog(hold=30)
        self.assertTrue(wait_for(lambda: self.phases().get(0), 15))
        trace = wait_for(lambda: [f for f in os.listdir(self.dir) if f.endswith(".msgpack")], 5)
        self.start_live("--interval", "0.2", os.path.join(self.dir, trace[0]))
        self.assertTrue(wait_for(lambda: self.shown_live() is not None, 10), self.pane())
        self.assertFalse(self.cursor_visible())
        self.tmux("send-keys", "C-c")
        text = wait_for(lambda: "LIVE-EXIT=" in self.pane() and self.pane(), 10)
        self.assertTrue(text, self.pane())
        self.assertIn("LIVE-EXIT=130", text)
        self.assertIn("memscope: live: interrupted", text)
        self.assertTrue(self.cursor_visible(), "the cursor was left hidden")
        # the program goes on: live only reads its trace
        self.assertIsNone(self.prog.poll())


class Plain(Base):
    def test_not_a_tty_and_killed(self):
        self.start_prog(hold=30, from_phase=1)
        self.assertTrue(wait_for(lambda: self.phases().get(1), 15))
        live = subprocess.Popen([MEMSCOPE, "live", "--interval", "0.1", self.dir], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=clean_env(), text=True)
        time.sleep(1.0)
        self.prog.send_signal(signal.SIGKILL)
        self.prog.wait()
        out, err = live.communicate(timeout=20)
        self.assertEqual(live.returncode, 0, err)
        self.assertNotIn("\033", out)  # no escapes when stdout is not a terminal
        blocks = re.split(r"(?m)^memscope live  ", out)[1:]
        self.assertGreater(len(blocks), 3, out)
        snapshot = self.phases()[1][0]
        for b in blocks[-3:]:
            self.assertIn("live heap  %s bytes" % format(snapshot, ","), b)
        self.assertRegex(out.splitlines()[-1], r"memscope: live: process %d no longer exists" % self.prog.pid)

    def test_trace_never_appears(self):
        t = time.monotonic()
        p = subprocess.run([MEMSCOPE, "live", "--wait", "0.5", os.path.join(self.dir, "none.1.msgpack")],
                           capture_output=True, text=True, env=clean_env())
        self.assertEqual(p.returncode, 1)
        self.assertGreaterEqual(time.monotonic() - t, 0.5)
        self.assertIn("none.1.msgpack: No such file or directory (waited 0.5 s)", p.stderr)
        p = subprocess.run([MEMSCOPE, "live", "--wait", "0", self.dir], capture_output=True, text=True,
                           env=clean_env())
        self.assertEqual(p.returncode, 1)
        self.assertIn("no *.msgpack trace appeared in it within 0 s", p.stderr)
        p = subprocess.run([MEMSCOPE, "live", "--interval", "0", self.dir], capture_output=True, text=True,
                           env=clean_env())
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

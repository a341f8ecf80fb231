#!/usr/bin/env python3
"""The installed copy links statically: `meson install --destdir D` of this
build, then examples/basic_usage.c linked against D with the command that
README.md gives and with the flags of the installed memscope_alloc.pc
(pkg-config --static). Each program needs no libmemscope_alloc.so
(readelf -d), runs with no LD_PRELOAD and no library path, and writes its
trace, which the installed memscope reads.

Usage: test_install.py MESON BUILD_DIR SOURCE_DIR CC [SANITIZE]
SANITIZE is the build's b_sanitize: other than "none", the archive is
instrumented, and the README's command gets -fsanitize=SANITIZE and the
whole archive (the runtime's malloc must not win), as the .pc file has it.
Needs pkg-config and readelf (binutils); scripts/deps.sh installs both."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

MESON, BUILD, SOURCE, CC = sys.argv[1:5]
SANITIZE = sys.argv[5] if len(sys.argv) > 5 else "none"

# The static link command README.md must show ("Link it statically"), for a
# copy installed where the compiler looks: -l: names the archive, since a
# plain -lmemscope_alloc finds libmemscope_alloc.so first once both are
# installed. Here the install is under a destdir, so -I and -L are added.
README_LINK = ["-l:libmemscope_alloc.a", "-lpthread", "-ldl", "-lm"]
if SANITIZE != "none":
    README_LINK = ["-fsanitize=" + SANITIZE, "-Wl,--whole-archive", "-l:libmemscope_alloc.a",
                   "-Wl,--no-whole-archive", "-lpthread", "-ldl", "-lm"]


def run(args, **kw):
    """Runs a command; returns (status, stdout, stderr)."""
    p = subprocess.run(args, capture_output=True, timeout=300, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def clean_env(**extra):
    """The environment without memscope's variables and any preload or library path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMSCOPE_") and k not in ("LD_PRELOAD", "LD_LIBRARY_PATH")}
    env["MALLOC_PERTURB_"] = "0"
    env.update(extra)
    return env


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dest = os.path.join(cls.tmp.name, "dest")
        st, out, err = run([MESON, "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", cls.dest])
        assert st == 0, out + err
        archives = glob.glob(os.path.join(cls.dest, "**", "libmemscope_alloc.a"), recursive=True)
        assert len(archives) == 1, archives
        cls.libdir = os.path.dirname(archives[0])
        # both libraries are installed side by side: the case a link must get right
        assert os.path.exists(os.path.join(cls.libdir, "libmemscope_alloc.so")), os.listdir(cls.libdir)
        pcs = glob.glob(os.path.join(cls.dest, "**", "memscope_alloc.pc"), recursive=True)
        assert len(pcs) == 1, pcs
        cls.pc = pcs[0]
        with open(cls.pc) as f:
            cls.prefix = re.search(r"(?m)^prefix=(.*)$", f.read()).group(1)
        cls.root = cls.dest + cls.prefix  # the installed prefix, under the destdir
        tools = glob.glob(os.path.join(cls.root, "bin", "memscope"))
        assert len(tools) == 1, tools
        cls.tool = tools[0]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def link_and_run(self, flags):
        """Links basic_usage.c with flags (in a directory of its own), checks
        that it needs no libmemscope_alloc.so, runs it and returns the JSON
        report of its trace."""
        self.dir = tempfile.mkdtemp(dir=self.tmp.name)
        exe = os.path.join(self.dir, "app")
        st, out, err = run([CC, "-o", exe, os.path.join(SOURCE, "examples", "basic_usage.c")] + flags)
        self.assertEqual(st, 0, (flags, err))
        st, dyn, err = run(["readelf", "-d", exe])
        self.assertEqual(st, 0, err)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", dyn)
        self.assertIn("libc.so.6", needed, dyn)  # readelf read the dynamic section
        self.assertFalse([n for n in needed if "memscope" in n], (flags, needed))
        traces = os.path.join(self.dir, "traces")
        st, out, err = run([exe], env=clean_env(MEMSCOPE_OUTPUT=traces), cwd=self.dir)
        self.assertEqual(st, 0, err)
        found = glob.glob(os.path.join(traces, "app.*.msgpack"))
        self.assertEqual(len(found), 1, os.listdir(self.dir))
        j = os.path.join(self.dir, "app.json")
        st, _, err = run([self.tool, "report", "-q", found[0], "--json", j], env=clean_env())
        self.assertEqual(st, 0, err)
        with open(j) as f:
            r = json.load(f)
        self.assertTrue(r["source"]["complete"])
        self.assertGreater(r["summary"]["allocations"], 1000)
        self.assertGreater(r["summary"]["leaked_blocks"], 0)  # basic_usage forgets a block on purpose
        return r

    def test_readme_command(self):
        """The README's command (with -I and -L for the destdir)."""
        self.link_and_run(["-I", os.path.join(self.root, "include"), "-L", self.libdir] + README_LINK)

    def test_pkg_config_static(self):
        """pkg-config --static --cflags --libs memscope_alloc (the prefix moved
        to the destdir); plain --libs gives a static link too."""
        if not shutil.which("pkg-config"):
            self.fail("pkg-config is missing: scripts/deps.sh installs it")
        env = clean_env(PKG_CONFIG_PATH=os.path.dirname(self.pc))
        for static in (["--static"], []):
            st, out, err = run(["pkg-config", "--define-variable=prefix=" + self.root] + static
                               + ["--cflags", "--libs", "memscope_alloc"], env=env)
            self.assertEqual(st, 0, err)
            flags = out.split()
            self.assertIn("-L" + self.libdir, flags)
            self.link_and_run(flags)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])

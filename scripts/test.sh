#!/bin/sh
# Builds memscope and runs every test: the normal build, valgrind on the memscope
# tool, cppcheck, then the sanitizer builds (ASan+UBSan, TSan) and the fuzz build
# (clang, libFuzzer: suite "fuzz" only). Ends with the line "N passed, N failed,
# N skipped" and exits 0 only if nothing failed.
#
# usage: ./scripts/test.sh            (everything)
#        MEMSCOPE_TEST_QUICK=1 ./scripts/test.sh   (the normal build, valgrind, cppcheck)
#
# What is counted: test cases, read from meson's build/meson-logs/testlog.json
# (one record per meson test, with its result and its stdout and stderr).
#   - A CMocka suite (one meson test; its stdout starts "[==========] Running N
#     test(s).") counts N cases per group: each "[       OK ] name" line of its
#     stdout is one passed, each "[  SKIPPED ] name" one skipped, and every other
#     case (FAILED, ERROR, or never finished because the binary crashed) one
#     failed. Only stdout is read: CMocka repeats the names in a summary on
#     stderr.
#   - A Python unittest script (its stderr has "Ran N tests") counts its N
#     cases: skipped and failed (failures, errors, unexpected successes) from its
#     last line ("OK (skipped=1)", "FAILED (failures=1, errors=2)"), passed the
#     rest.
#   - Any other meson test counts as one case: OK or expected fail is passed,
#     SKIP (exit status 77) skipped, anything else failed.
#   - A meson test that failed (or timed out) while all its cases read as passed
#     or skipped (a sanitizer report at exit, a crash after the last case) adds
#     one failed, so a failing suite never reads as all passed.
#   - A configuration that does not set up, build or write its test log counts
#     one failed.
#   - valgrind (memcheck on `memscope summary` and `report` over a real trace, a
#     synthetic one, a damaged one and an archive) counts one case, and so does
#     cppcheck over the C sources.
# Skipped cases are listed by name, and the counts of the three configurations
# are added up.
set -u
cd "$(dirname "$0")/.."
./scripts/deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

passed=0
failed=0
skipped=0

# count_log TESTLOG_JSON: prints the skipped and failed cases by name, then a
# last line "PASSED FAILED SKIPPED" (the rules above).
count_log() {
    python3 - "$1" <<'EOF'
import json, re, sys

passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(line)
    name, result = t["name"], t["result"]
    out, err = t.get("stdout") or "", t.get("stderr") or ""
    p = f = s = 0
    groups = [int(n) for n in re.findall(r"(?m)^\[==========\] Running (\d+) test\(s\)\.$", out)]
    ran = re.search(r"(?m)^Ran (\d+) tests? in ", err)
    if groups:
        for m in re.finditer(r"(?m)^\[ *(OK|SKIPPED) *\] (.+)$", out):
            if m.group(1) == "OK":
                p += 1
            else:
                s += 1
                print("skipped: %s: %s" % (name, m.group(2)))
        f = max(sum(groups) - p - s, 0)
        for m in re.finditer(r"(?m)^\[ *(FAILED|ERROR) *\] (.+)$", out):
            print("failed: %s: %s" % (name, m.group(2)))
    elif ran:
        total = int(ran.group(1))
        last = err[ran.end():]
        s = sum(int(n) for n in re.findall(r"skipped=(\d+)", last))
        f = sum(int(n) for n in re.findall(r"(?:failures|errors|unexpected successes)=(\d+)", last))
        if not re.search(r"(?m)^(OK|FAILED)\b", last):
            f = max(f, 1)  # no verdict line: the script died
        p = max(total - f - s, 0)
        for m in re.finditer(r"(?m)^(\S+) \(.*\) \.\.\. skipped", err):
            print("skipped: %s: %s" % (name, m.group(1)))
        for m in re.finditer(r"(?m)^(?:FAIL|ERROR): (\S+)", err):
            print("failed: %s: %s" % (name, m.group(1)))
    elif result in ("OK", "EXPECTEDFAIL"):
        p = 1
    elif result == "SKIP":
        s = 1
        print("skipped: %s" % name)
    else:
        f = 1
    if result not in ("OK", "EXPECTEDFAIL", "SKIP") and f == 0:
        f = 1
        print("failed: %s: %s" % (name, result))
    passed, failed, skipped = passed + p, failed + f, skipped + s
print(passed, failed, skipped)
EOF
}

# run_config DIR [--cc CC] [--suite SUITE] MESON_ARGS...: configures (with
# compiler CC), builds and tests one build directory (only SUITE's tests),
# adding its counts to passed/failed/skipped.
run_config() {
    dir=$1
    shift
    cfg_cc="" cfg_suite=""
    while [ $# -ge 2 ]; do
        case $1 in
        --cc) cfg_cc=$2; shift 2 ;;
        --suite) cfg_suite=$2; shift 2 ;;
        *) break ;;
        esac
    done
    t0=$(date +%s)
    echo "== $dir: ${cfg_cc:+CC=$cfg_cc }meson setup $*${cfg_suite:+ (suite $cfg_suite)}"
    if [ ! -f "$dir/build.ninja" ]; then
        env ${cfg_cc:+CC=$cfg_cc} meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
            cat "$dir.setup.log"; failed=$((failed + 1)); return; }
    fi
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        tail -40 "$dir.build.log"
        failed=$((failed + 1))
        return
    fi
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs --num-processes 2 ${cfg_suite:+--suite "$cfg_suite"} \
        >"$dir.test.log" 2>&1
    grep -E '^ *[0-9]+/[0-9]+ ' "$dir.test.log" || true
    counts=""
    if [ -f "$dir/meson-logs/testlog.json" ]; then
        count_log "$dir/meson-logs/testlog.json" >"$dir.count.log" 2>&1
        grep -E '^(skipped|failed): ' "$dir.count.log" || true
        counts=$(tail -1 "$dir.count.log" | grep -E '^[0-9]+ [0-9]+ [0-9]+$')
    fi
    if [ -z "$counts" ]; then
        tail -60 "$dir.test.log"
        [ -f "$dir.count.log" ] && tail -20 "$dir.count.log"
        failed=$((failed + 1))
        return
    fi
    set -- $counts
    if [ "$2" -gt 0 ]; then
        grep -E -B2 -A30 '(FAILED|ERROR|Assertion|runtime error|WARNING: ThreadSanitizer|ERROR: AddressSanitizer)' "$dir.test.log" | head -150
    fi
    echo "$dir: $1 passed, $2 failed, $3 skipped ($(($(date +%s) - t0)) s)"
    passed=$((passed + $1))
    failed=$((failed + $2))
    skipped=$((skipped + $3))
}

# count_check NAME STATUS LOG: one case for a check that is not a meson test;
# a failure shows the end of its log.
count_check() {
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
    else
        echo "failed: $1 (see $3)"
        tail -40 "$3"
        failed=$((failed + 1))
    fi
}

# check_valgrind: memcheck on the memscope tool of the normal build, over a
# real trace (the core suite's workload under the preload library), a
# synthetic one with hostile strings (gen_trace), a truncated copy, and the
# archive report wrote. Any memcheck error (leaks included) or an exit status
# other than the expected one fails it.
check_valgrind() {
    log=build.valgrind.log
    : >"$log"
    t0=$(date +%s)
    vg_rc=0
    work=$(mktemp -d)
    tool=build/tools/memscope
    # vg_run STATUS ARGS...: the tool under memcheck must exit with STATUS
    vg_run() {
        want=$1
        shift
        echo "+ memscope $*" >>"$log"
        valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes \
            "$tool" "$@" >>"$log" 2>&1
        got=$?
        if [ "$got" -ne "$want" ]; then
            echo "valgrind: memscope $*: exit status $got, expected $want (99: a memcheck error)" >>"$log"
            vg_rc=1
        fi
    }
    if MEMSCOPE_OUTPUT="$work/real" MEMSCOPE_BUFFER_SIZE=64K \
        LD_PRELOAD="$PWD/build/allocator/libmemscope_alloc.so" build/tests/core/workload stress 3 2000 \
        >>"$log" 2>&1 && build/tests/export/gen_trace "$work/synth.msgpack" --threads 4 --events 20000 \
        --hostile >/dev/null 2>>"$log"; then
        real=$(ls "$work"/real/*.msgpack 2>/dev/null | head -1)
    else
        real=""
    fi
    if [ -n "$real" ]; then
        head -c 20000 "$work/synth.msgpack" >"$work/cut.msgpack"
        vg_run 0 summary "$real"
        vg_run 0 report -q "$real" --json "$work/r.json" --html "$work/r.html" --bin "$work/r.msbin"
        vg_run 0 report -q "$work/synth.msgpack" --json "$work/s.json" --html "$work/s.html"
        vg_run 0 summary "$work/synth.msgpack"
        vg_run 3 summary "$work/cut.msgpack"
        vg_run 3 report -q "$work/cut.msgpack" --json "$work/c.json"
        vg_run 0 report -q "$work/r.msbin" --json "$work/a.json" --html "$work/a.html"
        vg_run 0 summary "$work/r.msbin"
    else
        echo "valgrind: could not make the traces (workload under the preload library, gen_trace)" >>"$log"
        vg_rc=1
    fi
    rm -rf "$work"
    echo "valgrind: memscope summary/report: $([ $vg_rc -eq 0 ] && echo clean || echo FAILED) ($(($(date +%s) - t0)) s)"
    count_check valgrind $vg_rc "$log"
}

# check_cppcheck: cppcheck over every C source of the normal build (from its
# compile_commands.json, each command split into arguments: cppcheck 2.10 does
# not undo the shell quoting of -DNAME="value") and the fuzz targets. bench/ is
# left out: cppcheck 2.10 cannot parse it (a syntaxError at its initializers of
# macro strings) and would check nothing there anyway. Findings in tests/core
# are suppressed in scripts/cppcheck.supp, each with its reason; findings
# elsewhere are fixed, or suppressed inline next to the code with the reason.
check_cppcheck() {
    log=build.cppcheck.log
    t0=$(date +%s)
    python3 -c '
import glob, json, os, shlex, sys
cmds = json.load(open(sys.argv[1]))
for c in cmds:
    if "command" in c:
        c["arguments"] = shlex.split(c.pop("command"))
cmds = [c for c in cmds if "/bench/" not in c["file"]]
# the fuzz targets (not in this build: -Dfuzz is off), with the include
# directories of the code they fuzz
src = os.getcwd()
for f in sorted(glob.glob(os.path.join(src, "tests/fuzz/*.c"))):
    cmds.append({"directory": src, "file": f, "arguments": ["cc", "-std=c11", "-D_GNU_SOURCE",
                 "-Iexport", "-Iformat", "-Itracking", "-c", f]})
json.dump(cmds, open(sys.argv[2], "w"))
' build/compile_commands.json build/cppcheck-commands.json
    cppcheck --quiet --project=build/cppcheck-commands.json -j2 --error-exitcode=1 \
        --enable=warning,portability,performance --inline-suppr \
        --suppress=missingIncludeSystem --suppressions-list=scripts/cppcheck.supp \
        --template='{file}:{line}: {severity}: {id}: {message}' >"$log" 2>&1
    cc_rc=$?
    grep -E '^[^ ]+:[0-9]+: ' "$log" | sort -u || true
    echo "cppcheck: $([ $cc_rc -eq 0 ] && echo clean || echo FAILED) ($(($(date +%s) - t0)) s)"
    count_check cppcheck $cc_rc "$log"
}

run_config build
if [ -x build/tools/memscope ]; then
    check_valgrind
    check_cppcheck
else
    echo "failed: valgrind, cppcheck: the normal build has no memscope tool"
    failed=$((failed + 2))
fi
if [ "${MEMSCOPE_TEST_QUICK:-0}" != 1 ]; then
    run_config build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    run_config build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug
    # the libFuzzer targets (tests/fuzz), clang only; the CMocka suites are
    # left out (tests/core does not build with clang)
    run_config build-fuzz --cc clang --suite fuzz -Dfuzz=enabled -Dtests=disabled
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

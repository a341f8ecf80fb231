#!/bin/sh
# Builds memscope and runs every test: the normal build, then the sanitizer builds
# (ASan+UBSan, TSan). Ends with the line "N passed, N failed, N skipped" and exits
# 0 only if nothing failed.
#
# usage: ./scripts/test.sh            (all three configurations)
#        MEMSCOPE_TEST_QUICK=1 ./scripts/test.sh   (the normal build only)
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

# run_config DIR MESON_ARGS...: configures, builds and tests one build directory,
# adding its counts to passed/failed/skipped.
run_config() {
    dir=$1
    shift
    echo "== $dir: meson setup $*"
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
            cat "$dir.setup.log"; failed=$((failed + 1)); return; }
    fi
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        tail -40 "$dir.build.log"
        failed=$((failed + 1))
        return
    fi
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs --num-processes 2 >"$dir.test.log" 2>&1
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
    echo "$dir: $1 passed, $2 failed, $3 skipped"
    passed=$((passed + $1))
    failed=$((failed + $2))
    skipped=$((skipped + $3))
}

run_config build
if [ "${MEMSCOPE_TEST_QUICK:-0}" != 1 ]; then
    run_config build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    run_config build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

#!/bin/sh
# Builds memscope and runs every test: the normal build, then the sanitizer builds
# (ASan+UBSan, TSan). Ends with the line "N passed, N failed".
#
# usage: ./scripts/test.sh            (all three configurations)
#        MEMSCOPE_TEST_QUICK=1 ./scripts/test.sh   (the normal build only)
set -u
cd "$(dirname "$0")/.."
./scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# run_config DIR MESON_ARGS...: configures, builds and tests one build directory,
# adding its counts to passed/failed.
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
    meson test -C "$dir" --print-errorlogs --num-processes 2 >"$dir.test.log" 2>&1
    grep -E '^ *[0-9]+/[0-9]+ ' "$dir.test.log" || true
    ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$dir.test.log")
    bad=0
    for k in Fail "Unexpected Pass" Timeout; do
        n=$(sed -n "s/^$k: *\([0-9]*\).*/\1/p" "$dir.test.log")
        bad=$((bad + ${n:-0}))
    done
    if [ -z "$ok" ]; then
        tail -60 "$dir.test.log"
        bad=$((bad + 1))
        ok=0
    elif [ "$bad" -gt 0 ]; then
        grep -E -B2 -A30 '(FAILED|ERROR|Assertion|runtime error|WARNING: ThreadSanitizer|ERROR: AddressSanitizer)' "$dir.test.log" | head -150
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
}

run_config build
if [ "${MEMSCOPE_TEST_QUICK:-0}" != 1 ]; then
    run_config build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    run_config build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

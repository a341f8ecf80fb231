#!/bin/sh
# Installs what memscope needs to build, test and demo, on Debian, when missing
# (clang and its runtime for the libFuzzer build, valgrind and cppcheck for the
# checks of scripts/test.sh; chromium, nodejs and npm for the browser test of
# the dashboards, which also needs npm's playwright-core: `npm ci` installs the
# version of tests/browser/package-lock.json into tests/browser/node_modules,
# and playwright-core never downloads a browser of its own).
# Run as root (or with sudo available). Idempotent and quiet when all is there.
set -eu

# libuv for the event-loop example (examples/comprehensive_async_showcase.c,
# built only when meson finds it). The last two lines: the real programs of
# the `real` test suite (tests/real) and valgrind, whose allocation counts that
# suite compares with the traces' (and which memchecks the tool); clang for
# the fuzz build; cppcheck; chromium for the browser test (tests/browser);
# tmux for the terminal test of `memscope live` (tests/export/test_live.py);
# protobuf-c (library and protoc-c) and zlib for `report --pprof`, and go for
# the test that reads those profiles with `go tool pprof`.
PACKAGES="gcc g++ binutils pkg-config meson ninja-build \
libjemalloc-dev libmsgpack-dev libcmocka-dev libuv1-dev libdw-dev libunwind-dev libzstd-dev \
sqlite3 python3 python3-jsonschema \
git redis-server redis-tools valgrind \
clang libclang-rt-14-dev cppcheck chromium tmux \
libprotobuf-c-dev protobuf-c-compiler zlib1g-dev golang-go"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# node and npm from Debian's nodejs and npm, unless the machine has them
# already (another nodejs package bundles npm, and conflicts with Debian's).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# Optional: heaptrack, for the bench's comparison rows (scripts/bench.sh).
if [ "${MEMSCOPE_DEPS_BENCH:-0}" = 1 ]; then
    dpkg-query -W -f='${Status}' heaptrack 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing heaptrack"
fi

# npm_ci: playwright-core for tests/browser, when its node_modules lacks it.
npm_ci() {
    browser="$(dirname "$0")/../tests/browser"
    [ -f "$browser/node_modules/playwright-core/package.json" ] && return 0
    echo "deps: npm ci in tests/browser (playwright-core)" >&2
    for try in 1 2 3; do
        npm ci --no-audit --no-fund --prefix "$browser" >/dev/null && return 0
        echo "deps: npm ci failed (try $try of 3)" >&2
        sleep $((try * 5))
    done
    return 1
}

if [ -n "$missing" ]; then
    echo "deps: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # A mirror can fail for a moment: three tries, a few seconds apart.
    ok=0
    for try in 1 2 3; do
        # shellcheck disable=SC2086
        if $SUDO apt-get update -qq &&
            $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
            ok=1
            break
        fi
        echo "deps: apt-get failed (try $try of 3)" >&2
        sleep $((try * 5))
    done
    [ $ok -eq 1 ] || exit 1
fi
npm_ci

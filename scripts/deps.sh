#!/bin/sh
# Installs what memscope needs to build, test and demo, on Debian, when missing
# (clang and its runtime for the libFuzzer build, valgrind and cppcheck for the
# checks of scripts/test.sh).
# Run as root (or with sudo available). Idempotent and quiet when all is there.
set -eu

# libuv for the event-loop example (examples/comprehensive_async_showcase.c,
# built only when meson finds it). The last two lines: the real programs of
# the `real` test suite (tests/real) and valgrind, whose allocation counts that
# suite compares with the traces' (and which memchecks the tool); clang for
# the fuzz build; cppcheck.
PACKAGES="gcc g++ binutils pkg-config meson ninja-build \
libjemalloc-dev libmsgpack-dev libcmocka-dev libuv1-dev \
sqlite3 python3 python3-jsonschema \
git redis-server redis-tools valgrind \
clang libclang-rt-14-dev cppcheck"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# Optional: heaptrack, for the bench's comparison rows (scripts/bench.sh).
if [ "${MEMSCOPE_DEPS_BENCH:-0}" = 1 ]; then
    dpkg-query -W -f='${Status}' heaptrack 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing heaptrack"
fi
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# A mirror can fail for a moment: three tries, a few seconds apart.
for try in 1 2 3; do
    # shellcheck disable=SC2086
    if $SUDO apt-get update -qq &&
        $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
        exit 0
    fi
    echo "deps: apt-get failed (try $try of 3)" >&2
    sleep $((try * 5))
done
exit 1

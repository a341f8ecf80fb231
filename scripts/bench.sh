#!/bin/sh
# Builds memscope in release mode into build-bench/ and runs memscope-bench.
#
#   ./scripts/bench.sh                  full run (about a minute on 2 cores)
#   ./scripts/bench.sh --quick          fewer steps and repeats (under a minute)
#   ./scripts/bench.sh --json out.json  also write the results as JSON
#
# Every argument goes to memscope-bench (see `--help`). Missing packages,
# heaptrack included, are installed by scripts/deps.sh.
set -eu

cd "$(dirname "$0")/.."

MEMSCOPE_DEPS_BENCH=1 ./scripts/deps.sh

# The test suites are not needed to measure: -Dtests=disabled keeps the build short.
if [ -f build-bench/build.ninja ]; then
    meson configure build-bench -Dbuildtype=release -Dtests=disabled
else
    meson setup build-bench --buildtype=release -Dtests=disabled
fi
ninja -C build-bench

exec build-bench/bench/memscope-bench "$@"

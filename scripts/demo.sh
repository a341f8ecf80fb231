#!/bin/sh
# The two-minute tour: installs what is missing, builds, runs the basic example
# under memscope, says where its trace and reports are, and how to run the
# other examples.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

out=MemoryAnalysis
mkdir -p "$out"
rm -f "$out"/basic_usage.*
echo "== running examples/basic_usage with MEMSCOPE_OUTPUT=$out (it asks for its reports itself)"
MEMSCOPE_OUTPUT=$out ./build/examples/basic_usage

trace=$(ls -t "$out"/basic_usage.*.msgpack | head -n 1)
echo
echo "trace:     $trace ($(wc -c <"$trace") bytes)"
if [ -x build/tools/memscope ]; then
    ./build/tools/memscope summary "$trace"
fi
for f in "$out/basic_usage.json" "$out/basic_usage.html"; do
    [ -f "$f" ] && echo "report:    $f"
done
echo
echo "Open $out/basic_usage.html in a browser; it needs no network."
echo
echo "The other examples (README, \"The examples\") run the same way:"
for ex in complex_multithread_showcase comprehensive_async_showcase enhanced_30_thread_demo; do
    if [ -x "build/examples/$ex" ]; then
        echo "    MEMSCOPE_OUTPUT=$out ./build/examples/$ex"
    fi
done

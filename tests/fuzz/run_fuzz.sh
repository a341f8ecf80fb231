#!/bin/sh
# Runs one libFuzzer target for meson (tests/fuzz/meson.build).
#
#   run_fuzz.sh regress FUZZER SRCDIR TARGET BUILDDIR
#       runs each file of SRCDIR/corpus/TARGET and SRCDIR/crashes/TARGET once;
#       fails if the corpus is empty or any input fails.
#   run_fuzz.sh fuzz FUZZER SRCDIR TARGET BUILDDIR [LIBFUZZER OPTIONS...]
#       fuzzes for MEMSCOPE_FUZZ_SECONDS (20) seconds, starting from those
#       inputs; new inputs go to BUILDDIR/corpus-TARGET, a crashing input to
#       BUILDDIR/crash-TARGET-*, which is to be added to crashes/TARGET once fixed.
set -eu
mode=$1 fuzzer=$2 src=$3 target=$4 build=$5
shift 5
corpus=$src/corpus/$target
crashes=$src/crashes/$target
# Inputs up to 64 KiB; no single allocation may pass 128 MiB (a reader must
# never allocate much more than the file holds: 2000 times is far more than
# any view needs) nor the process 1 GiB; 10 s per input at most. libFuzzer
# exits 77 on a crash by default, which meson reads as a skip: 1 instead.
limits="-max_len=65536 -malloc_limit_mb=128 -rss_limit_mb=1024 -timeout=10 -error_exitcode=1 -timeout_exitcode=1"

case $mode in
regress)
    n=$(find "$corpus" -type f | wc -l)
    if [ "$n" -eq 0 ]; then
        echo "run_fuzz: no seed inputs in $corpus" >&2
        exit 1
    fi
    files=$(find "$corpus" "$crashes" -type f 2>/dev/null | sort)
    echo "run_fuzz: $target: $(echo "$files" | wc -l) inputs"
    # shellcheck disable=SC2086
    exec "$fuzzer" $limits "$@" $files
    ;;
fuzz)
    work=$build/corpus-$target
    mkdir -p "$work"
    dirs="$work $corpus"
    [ -d "$crashes" ] && dirs="$dirs $crashes"
    # shellcheck disable=SC2086
    exec "$fuzzer" $limits -max_total_time="${MEMSCOPE_FUZZ_SECONDS:-20}" -print_final_stats=1 \
        -artifact_prefix="$build/crash-$target-" "$@" $dirs
    ;;
*)
    echo "run_fuzz: unknown mode $mode" >&2
    exit 2
    ;;
esac

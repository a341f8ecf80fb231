#!/bin/sh
# Builds jemalloc_private.o: Debian's libjemalloc_pic.a merged into one relocatable
# object whose public names (malloc, free, mallctl, ...) are renamed to msjem_*,
# whose system calls are renamed to msjem_sys_* (jemalloc_sys.c: errno kept),
# and whose every other global symbol is made local.
#
# Why: Debian's libjemalloc exports the standard malloc names unprefixed, so an
# archive holding both it and our malloc would define them twice. With the copy
# renamed and localised, libmemscope_alloc.a carries jemalloc inside itself and a
# user links with `-lmemscope_alloc -lpthread -ldl -lm` and no jemalloc.
#
# jemalloc_cpp.o (jemalloc's own operator new/delete) is left out: it needs
# libstdc++, and memscope defines the C++ operators itself.
#
# A sanitizer build links a second copy, renamed to msrange_* instead (PREFIX),
# for the sampled blocks alone (allocator/sampled.c), beside the sanitizer's
# heap.
#
# usage: privatize-jemalloc.sh LIBJEMALLOC_PIC_A OUTPUT_O [OBJCOPY [LD [NM [PREFIX]]]]
set -eu
in=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
objcopy=${3:-objcopy}
ld=${4:-ld}
nm=${5:-nm}
prefix=${6:-msjem_}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ar x "$in"
rm -f jemalloc_cpp.o jemalloc_cpp.pic.o
"$ld" -r -o merged.o *.o

# Public jemalloc API -> msjem_* (PREFIX*).
: > rename.map
for s in malloc calloc realloc free posix_memalign aligned_alloc memalign valloc \
         malloc_usable_size mallocx rallocx xallocx sallocx dallocx sdallocx nallocx \
         mallctl mallctlnametomib mallctlbymib malloc_stats_print \
         malloc_conf malloc_conf_2_conf_harder malloc_message; do
    echo "$s $prefix$s" >> rename.map
done
# jemalloc's system calls go through errno-keeping wrappers (jemalloc_sys.c):
# only the symbols the object really calls.
undef=$("$nm" -u merged.o | awk '{print $2}')
[ -n "$undef" ] || { echo "privatize-jemalloc.sh: $nm lists no undefined symbol" >&2; exit 1; }
wrapped="mmap munmap madvise mprotect sbrk clock_gettime gettimeofday open creat close
         readlink sysconf sched_getcpu sched_yield sched_getaffinity sched_setaffinity
         pthread_create syscall"
for s in $wrapped; do
    if echo "$undef" | grep -qx "$s"; then
        echo "$s msjem_sys_$s" >> rename.map
    fi
done
# Every other function it calls must leave errno alone (or be jemalloc's own
# error path): a jemalloc that calls anything else stops the build, rather
# than let free() change errno unseen. Add the call to jemalloc_sys.c, or here
# if it cannot set errno.
neutral="_GLOBAL_OFFSET_TABLE_ _Unwind_Backtrace _Unwind_GetIP __ctype_b_loc __errno_location
         __popcountdi2 __sched_cpucount __stack_chk_fail _exit abort atexit dlsym exp log round
         getpid memchr memcmp memcpy memmove memset strchr strcmp strcpy strerror_r strlen
         strncmp strncpy secure_getenv sigfillset pthread_sigmask pthread_self pthread_atfork
         pthread_cond_init pthread_cond_signal pthread_cond_timedwait pthread_cond_wait
         pthread_getname_np pthread_setname_np pthread_join pthread_key_create pthread_setspecific
         pthread_mutex_init pthread_mutex_lock pthread_mutex_trylock pthread_mutex_unlock
         pthread_mutexattr_destroy pthread_mutexattr_init pthread_mutexattr_settype"
for s in $undef; do
    case " $(echo $wrapped $neutral) " in
    *" $s "*) ;;
    *) echo "privatize-jemalloc.sh: jemalloc calls $s, which is neither wrapped (jemalloc_sys.c) nor known to keep errno" >&2
       exit 1 ;;
    esac
done
"$objcopy" --redefine-syms=rename.map merged.o renamed.o

# Keep only PREFIX* global; everything else defined here becomes local.
"$nm" -g --defined-only renamed.o | awk '{print $3}' | grep "^$prefix" > keep.list
"$objcopy" --keep-global-symbols=keep.list renamed.o "$out"

/*
 * malloc_policy.c - run a bulk command with glibc's malloc tuned for it.
 *
 * dossier's bulk work (hashing a tree, recording 100,000 events, folding a
 * million events into projections) allocates and frees large blocks at a high
 * rate: RocksDB memtable arenas and write batches, artifact sets, encoded set
 * rows.  With glibc's defaults much of that memory is fresh for each use
 * (blocks above the mmap threshold are mapped and unmapped every time; the
 * heap top is trimmed), so it is paid for again in page faults, and a page
 * fault is expensive on a virtual machine.  Measured on the project's 2-core
 * VM (kernel 6.18, THP "madvise"), same binary, only the tunables changed,
 * median of a few runs:
 *
 *                                        defaults    tuned       minor faults
 *     dossier replay --from-zero, 1M ev  0.64 M/s    0.93-1.05   54k -> 6k
 *     bench/log.sh, raw appends          402 k/s     531 k/s
 *     bench/log.sh, through the emitter  358 k/s     447 k/s
 *     dossier scan, 100,000 files cold   1.46-1.51 s 1.32-1.36 s 40k -> 26k
 *
 * The tuning is four glibc tunables:
 *     glibc.malloc.hugetlb=1              the heap and big mappings are
 *                                         madvise(MADV_HUGEPAGE)d: one fault
 *                                         per 2 MiB instead of per 4 KiB;
 *     glibc.malloc.mmap_threshold=32 MiB  memtable arenas and write batches
 *                                         come from the heap and are reused;
 *     glibc.malloc.trim_threshold=256 MiB freed heap stays mapped for the
 *                                         next batch instead of being trimmed;
 *     glibc.malloc.arena_max=1            every thread allocates from that one
 *                                         heap.  The memtable arenas are
 *                                         allocated by the thread that writes
 *                                         (the log's committer) and the
 *                                         flush's buffers by RocksDB's thread:
 *                                         in their own arenas they came from
 *                                         64 MiB thread heaps that glibc grows
 *                                         4 KiB page by page, without huge
 *                                         pages.
 * The fourth, measured on 2026-12-03 against the first three (same VM; a
 * touched 4 KiB page costs 13-18 us there, a 2 MiB one ~0.5 ms):
 *
 *                                        three       four        minor faults
 *     dossier scan, 100,000 files cold   1.37-1.40 s 1.25-1.28 s 22k -> 7.5k
 *       its recording phase              0.35-0.38 s 0.26-0.27 s
 *     log_bench, 1M events via emitter   327-370 k/s 419-446 k/s
 *       CPU per 1M events                4.2-4.6 s   3.6-3.7 s
 *     dossier replay --from-zero, 1M ev  0.97-1.08 s 0.91-0.99 s
 *     peak RSS, scan of 1,000,000 files  393/456/450 388/436/447 MB (cold/warm/
 *                                                                   changed)
 * The hashing workers allocate nothing per file, so one arena costs them no
 * lock contention that shows.
 * Peak RSS moved by under 10% in those runs (huge pages are only backed where
 * they are touched).  A command that wants a lower peak still sets its own
 * mmap threshold with mallopt() (dossier scan of 250,000+ files does).
 *
 * Tunables are read once, when the process starts, so the only way to apply
 * them is to start again: malloc_policy_reexec() re-executes the same
 * binary (the file /proc/self/exe links to, so the process keeps its name;
 * same argv, same pid) with GLIBC_TUNABLES set.  It
 * does nothing -- and the command runs with the defaults -- when:
 *   - GLIBC_TUNABLES already names a glibc.malloc tunable (the user chose, or
 *     this is the re-executed process; this is also what stops a loop);
 *   - DOSSIER_MALLOC_POLICY=default is set (opt out);
 *   - the process runs under valgrind (its preload is in LD_PRELOAD) or was
 *     built with a sanitizer: those replace malloc, so tunables mean nothing;
 *   - the C library is not glibc, or the exec fails (then it just returns).
 * It must be called first thing in main(), before any thread or open file
 * that an exec would lose.  No global state; the environment change is the
 * only effect, and it is inherited by the processes dossier starts (git).
 */
#include "malloc_policy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLICY_TUNABLES "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:" \
                        "glibc.malloc.trim_threshold=268435456:glibc.malloc.arena_max=1"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DSR_MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define DSR_MALLOC_REPLACED 1
#endif
#endif
#ifndef DSR_MALLOC_REPLACED
#define DSR_MALLOC_REPLACED 0
#endif

int malloc_policy_wanted(void)
{
#ifndef __GLIBC__
    return 0;
#else
    if (DSR_MALLOC_REPLACED)
        return 0;
    const char *opt = getenv("DOSSIER_MALLOC_POLICY");
    if (opt && !strcmp(opt, "default"))
        return 0;
    const char *tun = getenv("GLIBC_TUNABLES");
    if (tun && strstr(tun, "glibc.malloc."))
        return 0;
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        return 0;
    return 1;
#endif
}

void malloc_policy_reexec(char **argv)
{
    if (!malloc_policy_wanted())
        return;
    const char *tun = getenv("GLIBC_TUNABLES");
    size_t n = (tun ? strlen(tun) + 1 : 0) + sizeof POLICY_TUNABLES;
    char *val = malloc(n);
    if (!val)
        return;
    if (tun && *tun)
        snprintf(val, n, "%s:%s", tun, POLICY_TUNABLES);
    else
        snprintf(val, n, "%s", POLICY_TUNABLES);
    /* The binary's real path, not /proc/self/exe: the process name (comm,
     * what ps, pgrep and top show) is taken from the file name exec'd. */
    char self[PATH_MAX];
    ssize_t n_self = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n_self > 0)
        self[n_self] = '\0';
    else
        snprintf(self, sizeof self, "/proc/self/exe");
    if (setenv("GLIBC_TUNABLES", val, 1) == 0) {
        (void)execv(self, argv);
        /* exec failed (no /proc, say): carry on with the defaults, and leave
         * the environment as it was */
        if (tun)
            (void)setenv("GLIBC_TUNABLES", tun, 1);
        else
            (void)unsetenv("GLIBC_TUNABLES");
    }
    free(val);
}

/*
 * malloc_policy.c - the dossier binary's malloc: jemalloc, configured here.
 *
 * Bulk work (hashing a tree, recording 100,000 events, folding a million
 * events into projections) allocates and frees large blocks at a high rate:
 * RocksDB memtable arenas and write batches, artifact sets, encoded rows.  A
 * page fault is expensive on a virtual machine, so those blocks should be
 * paid for once: jemalloc keeps freed extents for reuse, and with the options
 * below backs them with transparent huge pages (docs/bench.md, "Allocator",
 * has the measurements that chose jemalloc and these options).
 *
 *   thp:always          madvise(MADV_HUGEPAGE) on jemalloc's mappings: one
 *                       fault per 2 MiB touched where the system's THP mode
 *                       is "madvise", instead of one per 4 KiB;
 *   metadata_thp:auto   the same for jemalloc's own metadata once it grows;
 *   narenas:1           every thread allocates from one arena, so extents one
 *                       thread frees (RocksDB's flush thread, the log's
 *                       committer) serve the next batch of another.
 * Freed memory is returned to the system after jemalloc's default decay
 * (dirty_decay_ms), so long-running commands do not keep their peak.
 *
 * jemalloc reads this string at the process's first allocation, before
 * main(), then MALLOC_CONF from the environment, whose options win: that is
 * how a user changes or undoes these (MALLOC_CONF=thp:default,narenas:8).
 * Compiled only when the binary links jemalloc (DOSSIER_ALLOCATOR=jemalloc,
 * the default; sanitizer builds keep the C library's malloc).
 */
#include <jemalloc/jemalloc.h>

const char *malloc_conf = "thp:always,metadata_thp:auto,narenas:1";

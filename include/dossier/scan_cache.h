/*
 * dossier/scan_cache.h - the incremental scan cache, kept in the event log.
 *
 * Column family "scan_cache": one entry per (feature, relative path) of a
 * present artifact -> the stat tuple seen when it was hashed (dev, inode,
 * size, mtime_ns, ctime_ns), its XXH3-128 and SHA-256, and a "racy" flag;
 * and one per file that is unusable only because its text is not valid
 * UTF-8 (flagged utf8_invalid, with the offset of the first bad sequence),
 * so that an unchanged one is not read again either.
 * A rescan asks the cache before reading a file (dsr_scan_opts.cache_lookup):
 * an unchanged stat tuple reuses the digests without reading, a same-size
 * change is re-read for XXH3 only and reuses the SHA-256 when XXH3 matches.
 *
 * Racy entries.  File timestamps have a granularity (a kernel clock tick on
 * Linux, 1-2 s on FAT/ext3/HFS+), so a file rewritten just after it was
 * hashed may keep the same mtime.  An entry whose mtime is not at least
 * DSR_SCAN_CACHE_RACY_NS older than the start of the scan that wrote it is
 * flagged racy and re-read (XXH3) by the next scan, like git's racy index.
 *
 * Who writes: only dsr_record_scan(), in the same atomic batches as the
 * run's events, and only for artifacts whose SHA-256 the log has recorded
 * (an artifact_indexed event in the same or an earlier batch).  So a crash
 * never leaves an entry of a usable file that claims a hash the log never
 * recorded.  An utf8_invalid entry claims no recorded hash: it only spares
 * the read that would find the same bytes unusable again.
 *
 * Key: feature_slug '\0' relative_path with every '/' written as '\0', so
 * RocksDB's byte order is the scanner's walk order (components compared in
 * turn, a shorter component first) and a scan reads the feature's entries
 * with one forward iterator.  Value: little-endian; version 1 (90 bytes) for
 * a usable file, version 2 (98 bytes: the UTF-8 offset appended) for an
 * utf8_invalid one.  A value of another length, version or flags decodes as
 * a miss: the file is re-read and the entry rewritten or deleted.
 *
 * Thread-safety: a dsr_scan_cache is used by one thread (the scan's walking
 * thread calls the lookup), like the dsr_log it reads.
 */
#ifndef DOSSIER_SCAN_CACHE_H
#define DOSSIER_SCAN_CACHE_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/log.h"
#include "dossier/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSR_SCAN_CACHE_CF      "scan_cache"
/* 2 s: the coarsest common timestamp granularity (FAT); on Linux' own
 * file systems a tick is <= 10 ms, so this only costs re-reading files
 * written in the last 2 s before a scan. */
#define DSR_SCAN_CACHE_RACY_NS 2000000000LL

typedef struct dsr_scan_cache dsr_scan_cache;

/* Open feature's cache in log for one scan.  The lookups walk a forward
 * iterator, so they must come in walk order (dsr_scan guarantees it); an
 * out-of-order lookup falls back to a point read.  Returns 0, DSR_ENOMEM or
 * a log error. */
DSR_API int  dsr_scan_cache_open(dsr_log *log, const char *feature, dsr_scan_cache **out,
                         dsr_err *err);

/* The dsr_scan_opts.cache_lookup callback (ctx: the dsr_scan_cache).
 * Returns 1 (found, *out filled), 0 (unknown path, or an entry that does not
 * decode: it is scheduled for deletion) or a negative code (the reason is
 * kept: dsr_scan_cache_finish reports it). */
DSR_API int  dsr_scan_cache_lookup(void *ctx, const char *relative_path, dsr_scan_cached *out);

/* After the scan: drain the iterator.  Entries the scan never asked about
 * belong to files that are gone: they are listed as stale, for
 * dsr_record_scan to delete.  Returns 0 or the first error of the scan's
 * lookups / of the drain. */
DSR_API int  dsr_scan_cache_finish(dsr_scan_cache *c, dsr_err *err);
DSR_API size_t      dsr_scan_cache_stale_count(const dsr_scan_cache *c);
DSR_API const char *dsr_scan_cache_stale_at(const dsr_scan_cache *c, size_t i);  /* relative path */
DSR_API const char *dsr_scan_cache_feature(const dsr_scan_cache *c);
/* Entries read and entries found by lookups so far. */
DSR_API size_t      dsr_scan_cache_entries(const dsr_scan_cache *c);
DSR_API size_t      dsr_scan_cache_hits(const dsr_scan_cache *c);
DSR_API void dsr_scan_cache_free(dsr_scan_cache *c);   /* NULL is fine */

/* The entry an artifact's scan leaves: its stat tuple and digests; racy
 * when its mtime is not DSR_SCAN_CACHE_RACY_NS older than started_ns (the
 * scan's start).  a must be present, or unusable with utf8_invalid set
 * (sha256 filled either way). */
DSR_API void dsr_scan_cache_entry_of(const dsr_artifact *a, int64_t started_ns, dsr_scan_cached *out);

/* Write / delete one entry in a batch (used by dsr_record_scan). */
DSR_API int  dsr_scan_cache_put(dsr_log_batch *b, const char *feature, const char *relative_path,
                        const dsr_scan_cached *v, dsr_err *err);
DSR_API int  dsr_scan_cache_delete(dsr_log_batch *b, const char *feature, const char *relative_path,
                           dsr_err *err);

/* Read one entry.  DSR_ENOTFOUND when absent, DSR_ECORRUPT when it does not
 * decode. */
DSR_API int  dsr_scan_cache_get(dsr_log *log, const char *feature, const char *relative_path,
                        dsr_scan_cached *out, dsr_err *err);

/* Every entry of feature (NULL: of every feature) in key order.  fn returns
 * 0 to go on, non-zero to stop (that value is returned). */
typedef int (*dsr_scan_cache_fn)(void *ud, const char *feature, const char *relative_path,
                                 const dsr_scan_cached *v);
DSR_API int  dsr_scan_cache_each(dsr_log *log, const char *feature, dsr_scan_cache_fn fn, void *ud,
                         dsr_err *err);

#ifdef __cplusplus
}
#endif
#endif

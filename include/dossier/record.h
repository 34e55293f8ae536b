/*
 * dossier/record.h - turn a scan result into events in the log.
 *
 * One scan run = one run id (a ULID, the correlation_id of all its events).
 * The run's events are appended in atomic, fsync'd batches of at most
 * batch_events events: one mission_dossier_artifact_indexed per present
 * artifact, one mission_dossier_artifact_missing per absent or unusable
 * required blocking artifact (optional ones emit nothing), and last, in the
 * final batch, dossier_scan_completed.  A run that crashes before its final
 * batch has no dossier_scan_completed and is never taken as a complete scan.
 * Full emission records the artifacts in the order of the result (byte
 * order of relative_path), except that the missing events of the required
 * artifacts no file matched come after all the others: a scan recorded
 * while it runs (dossier/ingest.h, step 5) learns of those only at its end,
 * and both ways record the same events in the same order.
 *
 * emit_changed (`dossier scan --emit changed`): given the feature's current
 * artifact set (prev: the set of its latest snapshot, which is exactly what
 * the snapshot projection folds a changed-mode run onto), only artifacts of
 * the new set that are new or differ (hash, class, required status) get
 * artifact_indexed, and every (key, path) of prev that is not in the new
 * set gets dossier_artifact_removed - files gone, and files that became
 * unusable, optional ones included.  The new set is the present artifacts
 * minus every key reported missing (the projection drops those in both
 * modes).  Missing events are emitted as in full mode.  The completion
 * marker says emit_mode "changed" and removed_count, so the projection
 * yields the same set and parity hash as a full scan of the same tree.
 *
 * Scan cache (cache != NULL): the run updates the feature's scan cache in
 * the same batches as its events (see dossier/scan_cache.h): a present
 * artifact's entry is written when its digests were not taken unchanged
 * from the cache and its SHA-256 is recorded in the log (emitted by this
 * run in this or an earlier batch, taken from the cache, or equal to prev's
 * hash); entries of unusable files and the cache's stale entries (files
 * gone) are deleted.  A batch holds at most batch_events events plus cache
 * writes together.
 *
 * Thread-safety: as the log (one thread).
 */
#ifndef DOSSIER_RECORD_H
#define DOSSIER_RECORD_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/log.h"
#include "dossier/scan.h"
#include "dossier/scan_cache.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One artifact of the feature's current set (changed mode). */
typedef struct dsr_record_prev {
    const char *artifact_key, *relative_path, *artifact_class;
    const char *sha256;            /* 64 lowercase hex */
    int         required;
} dsr_record_prev;

/* 2: adds the remembered settings (manifest_path ... n_excludes); a
 * version-1 struct is read without them. */
#define DSR_RECORD_OPTS_VERSION 2

typedef struct dsr_record_opts {
    unsigned    version;           /* DSR_RECORD_OPTS_VERSION (see DSR_RECORD_OPTS_INIT) */
    const char *mission_type;      /* NULL when the scan had no manifest */
    const char *manifest_version;  /* NULL when no manifest */
    const char *step_id;           /* or NULL */
    const char *target_branch;     /* NULL -> "main" */
    size_t      batch_events;      /* 0 -> default (16384) */
    /* Added for incremental rescans (see above); zero: full emission, no cache. */
    int                    emit_changed;
    const dsr_record_prev *prev;   /* changed mode: the current set (any order) */
    size_t                 n_prev;
    dsr_scan_cache        *cache;  /* finished (dsr_scan_cache_finish) cache of the scan, or NULL */
    /* Version 2: settings recorded in the completion marker so the next scan
     * of the feature can reuse them (dossier/scan_settings.h).  The manifest
     * file (absolute path, NULL for a built-in one or none) and its content
     * hash (dsr_manifest_file, dsr_manifest_sha256); the exclusion patterns. */
    const char            *manifest_path;
    const char            *manifest_sha256;
    const char *const     *excludes;
    size_t                 n_excludes;
} dsr_record_opts;

#define DSR_RECORD_OPTS_INIT { .version = DSR_RECORD_OPTS_VERSION }

#define DSR_RECORD_STATS_VERSION 1

/* A report the call fills: initialise with DSR_RECORD_STATS_INIT (the call checks the
 * version, then zeroes the rest). */
typedef struct dsr_record_stats {
    unsigned version;          /* DSR_RECORD_STATS_VERSION */
    char     run_id[DSR_ULID_LEN + 1];
    uint64_t indexed, missing, duplicates;
    uint64_t refused;              /* payloads the emitter refused (run left incomplete) */
    uint64_t first_seq, last_seq;  /* sequences appended by this run (0 when none) */
    int      completed;            /* 1 when dossier_scan_completed was committed */
    uint64_t removed;              /* dossier_artifact_removed events (changed mode) */
    uint64_t unchanged;            /* present artifacts not re-emitted (changed mode) */
    uint64_t cache_put, cache_del; /* scan-cache entries written / deleted */
} dsr_record_stats;

#ifdef __cplusplus
#define DSR_RECORD_STATS_INIT { DSR_RECORD_STATS_VERSION }
#else
#define DSR_RECORD_STATS_INIT { .version = DSR_RECORD_STATS_VERSION }
#endif

/* Append the events of scan result r to log.  A refused payload is reported
 * in err_refused (the first one) and counted; the run then goes on emitting the
 * rest, but is not completed, and the call returns DSR_ESCHEMA.  A log failure
 * stops the run and returns its code; batches committed before it stay, without
 * a completion marker. */
DSR_API int dsr_record_scan(dsr_log *log, const dsr_scan_result *r, const dsr_record_opts *o,
                    dsr_record_stats *st, dsr_err *err);

#ifdef __cplusplus
}
#endif
#endif

/*
 * dossier/ingest.h - one call for the whole of `dossier scan`: walk and hash
 * a mission folder, record the run in its event log, bring the projections
 * up to date and try delivery once.  `dossier scan` is a thin client of it;
 * anything else that wants a scan recorded (a watcher, an embedding program)
 * calls the same function and gets the same events.
 *
 * Conventions (libgit2's):
 *   1. Option and report structs carry a `version` as their first field and
 *      are initialised with their _INIT macro, so a program built against an
 *      older header keeps working when fields are added at the end.
 *   2. Nothing here prints or exits.  What the command line shows comes from
 *      the report and from the phase callback; failures are a negative DSR_E*
 *      code, a dsr_err naming the object, and the step that failed.
 *   3. Everything a report points to is owned by the report and released by
 *      dsr_ingest_report_free.
 *
 * The sequence, in this order (each numbered step is one dsr_ingest_step, so
 * a caller can tell what failed):
 *   1. ROOT    the mission root must be a folder (a regular file, a missing
 *              path or a FIFO is refused before anything is created); the
 *              feature slug is derived from it.
 *   2. LOG     open the log for writing: opts->log_dir, or <root>/.dossier
 *              by default.  A default log path that is a symlink is refused
 *              (a planted `.dossier -> elsewhere` must not redirect a
 *              mission's record); an explicit log_dir may be one.
 *      SETTINGS the run's settings (dossier/scan_settings.h): with
 *              DSR_INGEST_REMEMBER, those not in opts->given are taken
 *              from the feature's latest completed scan; a built-in
 *              manifest named by opts->mission_type (or remembered) is
 *              loaded under the run's profile, a remembered manifest file
 *              is read again.
 *   3. BASE    --emit changed only: the projections catch up and the
 *              feature's latest snapshot becomes the changed-mode base,
 *              loaded on a thread of its own while step 5 walks the tree
 *              (its failure is reported once the walk is over).
 *   4. LOG     the feature's scan cache is opened.
 *   5. ROOT    dsr_scan walks and hashes (progress counters: opts->progress).
 *              A full emission of the whole tree (not --emit changed, not a
 *              path-limited run) is recorded meanwhile: each artifact as
 *              soon as the scan hands it on, in the batches and order of
 *              step 7, so the recording overlaps the hashing; a failure of
 *              the recording stops the scan (DSR_INGEST_STEP_RECORD).
 *   6. LOG     the cache is drained (files gone become stale entries); a
 *              run of DSR_INGEST_LARGE_RUN artifacts or more keeps the log's
 *              write buffers small.
 *   7. RECORD  dsr_record_scan appends the run, or what step 5 did not
 *              record of it: the required artifacts no file matched, the
 *              stale cache entries, the completion marker (see
 *              dossier/record.h for the durability contract: the marker
 *              rides in the last fsync'd batch).  Then the present artifacts
 *              are dropped from the scan result (only the summary is kept)
 *              before the fold.
 *   8. PROJECT the projections catch up; the feature's snapshot and drift
 *              are read for the report.  The run is already durable: a
 *              failure here loses nothing (the next command catches up).
 *   9. DELIVER dsr_deliver_after_scan, one bounded window; it never fails
 *              the run (its outcome is only reported).
 *
 * Thread-safety: dsr_ingest_run opens and closes its own log handle, so
 * calls on different logs may run in parallel threads; a second writer on
 * the same log gets DSR_ELOCKED (or waits, DSR_INGEST_WAIT).  The callback
 * runs on the calling thread; opts->progress is written by the scan's worker
 * threads while step 5 runs (read it with relaxed atomic loads).
 */
#ifndef DOSSIER_INGEST_H
#define DOSSIER_INGEST_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dossier/deliver.h"
#include "dossier/error.h"
#include "dossier/manifest.h"
#include "dossier/record.h"
#include "dossier/replay.h"
#include "dossier/scan.h"
#include "dossier/scan_settings.h"

#ifdef __cplusplus
extern "C" {
#endif

/* From this many artifacts a run trades a little speed for a lower memory
 * peak: the log keeps its write buffers small while the run is recorded.
 * A caller may adapt its own allocator at the end of DSR_INGEST_PHASE_SCAN
 * (the CLI fixes glibc's mmap threshold; see docs/bench.md). */
#define DSR_INGEST_LARGE_RUN 250000

/* Phases timed in the report and announced to the callback. */
typedef enum dsr_ingest_phase {
    DSR_INGEST_PHASE_OPEN = 0,  /* steps 1-4: root, log, catch-up, cache */
    DSR_INGEST_PHASE_SCAN,      /* step 5: walk + hash (and the base's load) */
    DSR_INGEST_PHASE_RECORD,    /* steps 6-7: cache drain, append the run */
    DSR_INGEST_PHASE_PROJECT,   /* step 8: projections, snapshot and drift read */
    DSR_INGEST_PHASE_DELIVER,   /* step 9: one delivery window */
    DSR_INGEST_PHASE_COUNT
} dsr_ingest_phase;

/* What a failure was about, for the caller's message: the mission root, the
 * log (or the cache kept in it), the changed-mode base, recording the run,
 * or the projections. */
typedef enum dsr_ingest_step {
    DSR_INGEST_STEP_NONE = 0,   /* no failure */
    DSR_INGEST_STEP_ROOT,
    DSR_INGEST_STEP_LOG,
    DSR_INGEST_STEP_BASE,
    DSR_INGEST_STEP_RECORD,
    DSR_INGEST_STEP_PROJECT,
    DSR_INGEST_STEP_SETTINGS    /* the run's settings (a remembered manifest
                                   unreadable, a step the manifest lacks) */
} dsr_ingest_step;

struct dsr_ingest_report;

/* Called on the calling thread when a phase begins (done 0) and when it has
 * ended successfully (done 1); a phase that fails gets no done call.  rep is
 * the report being filled: what a phase fills (see dsr_ingest_report) is
 * readable from its done call on.  The callback must not free or keep
 * pointers into rep past the call that returns it. */
typedef void (*dsr_ingest_phase_fn)(void *ctx, dsr_ingest_phase phase, int done,
                                    const struct dsr_ingest_report *rep);

enum {
    DSR_INGEST_WAIT        = 1 << 0,  /* wait for another writer (DSR_LOG_WAIT) */
    DSR_INGEST_EMIT_CHANGED = 1 << 1, /* emit only changes against the latest snapshot */
    DSR_INGEST_REHASH      = 1 << 2,  /* read every file (DSR_SCAN_CACHE_REHASH);
                                         stale cache entries are listed */
    DSR_INGEST_PLAIN_IO    = 1 << 3,  /* dsr_scan_opts.plain_io */
    DSR_INGEST_DELIVER_ALL = 1 << 4,  /* deliver to every enabled endpoint, not
                                         only those saved with --auto */
    DSR_INGEST_SKIP_UNCHANGED = 1 << 5,/* with DSR_INGEST_EMIT_CHANGED: when the
                                         scan finds the tree as the feature's
                                         latest snapshot has it (same artifact
                                         set, missing list and run keys), record
                                         nothing and stop after step 5
                                         (report->unchanged); for a watcher,
                                         whose rescans often follow events that
                                         change no content (chmod, touch).  A
                                         run whose settings differ from the
                                         remembered ones is always recorded */
    DSR_INGEST_REMEMBER = 1 << 6       /* (opts version 2) settings not in
                                         opts->given are the feature's
                                         remembered ones (see step SETTINGS) */
};

/* 2: adds mission_type, given and deliver_endpoint; a version-1 struct is
 * read without them. */
#define DSR_INGEST_OPTS_VERSION 2

typedef struct dsr_ingest_opts {
    unsigned            version;        /* DSR_INGEST_OPTS_VERSION */
    const char         *root;           /* the mission folder (required) */
    const dsr_manifest *manifest;       /* NULL: no manifest, completeness unknown */
    const char         *step_id;        /* required_by_step to apply, or NULL */
    const char         *feature_slug;   /* NULL: the root's base name */
    const char         *log_dir;        /* NULL: <root>/.dossier, refused if a symlink */
    const char         *target_branch;  /* NULL: root's git branch, else "main" */
    unsigned            jobs;           /* hashing threads; 0: number of cores */
    unsigned            flags;          /* DSR_INGEST_* */
    size_t              batch_events;   /* events per atomic batch; 0: default */
    dsr_scan_progress  *progress;       /* zeroed counters to update, or NULL */
    dsr_ingest_phase_fn on_phase;       /* or NULL */
    void               *on_phase_ctx;
    uint64_t            max_file_size;  /* dsr_scan_opts.max_file_size; 0: its default */
    /* Added for exclusion rules: dsr_scan_opts.excludes */
    const char *const  *excludes;
    size_t              n_excludes;
    /* Added for the profiles: how the scan hashes (dsr_scan_opts.profile);
     * the run records it and the snapshot computed from it follows it. */
    dsr_profile         profile;
    /* Version 2.  A built-in manifest by mission type, loaded under the
     * run's profile (dsr_manifest_load_builtin_profile); not with manifest. */
    const char         *mission_type;
    /* With DSR_INGEST_REMEMBER: the DSR_SETTING_* bits of the settings this
     * run sets itself (manifest or mission_type, step_id, profile,
     * excludes; a NULL or empty one given means none).  Every other one is
     * the feature's remembered setting (as given when it has none).  The
     * step is remembered with its manifest: when the manifest is given and
     * differs from the remembered one, the remembered step is not reused. */
    unsigned            given;
    /* Deliver to this saved endpoint (`dossier endpoint add`) in step 9,
     * whether or not it was saved with --auto; NULL: as flags say. */
    const char         *deliver_endpoint;
} dsr_ingest_opts;

#ifdef __cplusplus
#define DSR_INGEST_OPTS_INIT { DSR_INGEST_OPTS_VERSION }
#else
#define DSR_INGEST_OPTS_INIT { .version = DSR_INGEST_OPTS_VERSION }
#endif

typedef struct dsr_ingest_timing {
    double wall_s;   /* CLOCK_MONOTONIC seconds */
    double cpu_s;    /* process CPU seconds (every thread: workers, committer,
                        RocksDB's flushes) */
} dsr_ingest_timing;

/* 2: adds head.  A report made with version 1 is filled as before: the
 * library writes no field a version-1 caller's struct lacks.
 * 3: adds unchanged (DSR_INGEST_SKIP_UNCHANGED), likewise.
 * 4: adds the settings fields, likewise. */
#define DSR_INGEST_REPORT_VERSION 4

/* Filled by dsr_ingest_run.  "after X" names the phase whose done call
 * first shows a field; on failure the fields of the phases before the failed
 * one are filled. */
typedef struct dsr_ingest_report {
    unsigned         version;          /* DSR_INGEST_REPORT_VERSION */
    dsr_ingest_step  failed_step;      /* on failure: what it was about */
    /* after OPEN */
    char            *log_dir;          /* the log folder used */
    char            *feature_slug;
    char            *target_branch;    /* as recorded */
    /* after SCAN: the scan result; from RECORD's done call on, only its
     * absent and unusable artifacts remain (dsr_scan_result_drop_present),
     * every count and warning stays. */
    dsr_scan_result *scan;
    /* after RECORD */
    dsr_record_stats record;
    char           **cache_stale;      /* relative paths whose cache entry was
                                          stale (DSR_INGEST_REHASH), scan order */
    size_t           n_cache_stale;
    /* after PROJECT; NULL when the projection has nothing (or cannot be
     * read: the run is recorded either way) */
    dsr_snapshot_info *snapshot;
    dsr_drift_info    *drift;
    /* after DELIVER */
    int              deliver_rc;       /* dsr_deliver_after_scan's return */
    dsr_deliver_after_scan_report deliver;
    /* each phase's duration, indexed by dsr_ingest_phase and filled at its
     * done call; sized beyond DSR_INGEST_PHASE_COUNT so phases can be added
     * without moving the fields a later version appends */
    dsr_ingest_timing timing[8];
    /* after PROJECT (version 2): the log's head, the highest sequence in it,
     * once the projections have appended their derived events; the run's own
     * events are record.first_seq..record.last_seq below it */
    uint64_t         head;
    /* Version 3.  1: DSR_INGEST_SKIP_UNCHANGED found nothing to record; the
     * run stopped after SCAN (no RECORD, PROJECT or DELIVER phase; record,
     * snapshot and drift stay empty) and the log is as it was. */
    int              unchanged;
    /* Version 4, after OPEN.  settings: what the run uses (and records).
     * remembered: the feature's remembered settings (NULL without
     * DSR_INGEST_REMEMBER, or when it has no completed scan yet).  reused:
     * the DSR_SETTING_* bits taken from them; changed: the bits whose
     * setting differs from the remembered one (given otherwise, or a step
     * dropped with its manifest).  manifest_changed: 1 when the manifest
     * file is the remembered one but its content's hash differs.
     * manifest: the manifest the library loaded (opts->mission_type or a
     * remembered one), owned by the report; NULL when opts->manifest or
     * none is used. */
    dsr_scan_settings *settings;
    dsr_scan_settings *remembered;
    unsigned         reused, changed;
    int              manifest_changed;
    dsr_manifest    *manifest;
} dsr_ingest_report;

/* Designated in C so the macros stay right as fields are added; C++ (before
 * C++20) zero-fills what a brace list leaves out. */
#ifdef __cplusplus
#define DSR_INGEST_REPORT_INIT { DSR_INGEST_REPORT_VERSION }
#else
#define DSR_INGEST_REPORT_INIT { .version = DSR_INGEST_REPORT_VERSION }
#endif

/* Run the sequence above once.
 *
 * opts: version must be DSR_INGEST_OPTS_VERSION or an older one; root set.
 * out:  initialised with DSR_INGEST_REPORT_INIT (its version is checked);
 *       filled as described, also on failure; release it with
 *       dsr_ingest_report_free whatever the return.
 *
 * Returns 0 when the run was recorded and the projections are up to date
 * (missing artifacts are not an error: see out->scan's counts; delivery
 * problems only show in out->deliver), else a negative code with err naming
 * the object and out->failed_step set:
 *   DSR_EINVAL    bad options or version
 *   DSR_EIO       the root is not a readable folder; the log cannot be written;
 *                 a default log path that is a symlink
 *   DSR_ELOCKED   another writer holds the log (without DSR_INGEST_WAIT)
 *   DSR_ECORRUPT  the log or a projection does not decode
 *   DSR_ESCHEMA   an event was refused: the batches before stay, the run has
 *                 no completion marker (dossier/record.h)
 *   DSR_ENOMEM
 * A failure before step 2 creates nothing; after step 7 the run is durable. */
DSR_API int  dsr_ingest_run(const dsr_ingest_opts *opts, dsr_ingest_report *out, dsr_err *err);

/* As dsr_ingest_run, on a log the caller opened for writing (dsr_log_open
 * without DSR_LOG_RDONLY) and keeps: step 2 is skipped (opts->log_dir and
 * DSR_INGEST_WAIT are ignored; out->log_dir is dsr_log_dir(log)), and log
 * stays open whatever the return.  For a caller that stays the log's single
 * writer across many runs (`dossier watch`).  Same returns, except that
 * DSR_ELOCKED cannot happen. */
DSR_API int  dsr_ingest_run_log(dsr_log *log, const dsr_ingest_opts *opts,
                                dsr_ingest_report *out, dsr_err *err);

/* Added for `dossier watch`: as dsr_ingest_run_log, for a caller that knows
 * which paths of the tree changed since its previous run.  A run over the
 * changed paths only: the scan lists, stats and reads only what lies at or
 * below them (dsr_scan_opts.only_paths) and takes every other artifact from
 * the previous run's whole scan result, and the run records exactly the
 * events the whole-tree run would (see ingest/record_paths.h), at a cost
 * that follows the paths, not the tree - except the snapshot, which still
 * covers the whole tree, and a full emission, which records an event for
 * every artifact of the tree (as a whole-tree full run, in the same order).
 *
 * opts:  as for dsr_ingest_run_log: DSR_INGEST_EMIT_CHANGED for the events
 *        of `scan --emit changed`, without it those of a full scan.
 * paths: n_paths relative paths that may have changed since the run that
 *        made *state (a folder stands for everything below it; "" is the
 *        whole tree); NULL: a whole-tree scan (starting a watcher, or after
 *        events were lost).
 * state: in: the whole scan result of this caller's previous run of the
 *        same opts on log (NULL: none; with paths, it must not be NULL);
 *        always consumed.  out: this run's whole result (present artifacts
 *        included), the caller's to pass to the next run or to free with
 *        dsr_scan_result_free; NULL on failure (the next run is then a
 *        whole-tree one).  out->scan is NULL on return.
 * The premise, which the caller vouches for: it has been log's single
 * writer since *state's run (that run made the latest snapshot), and the
 * tree did not change outside paths since.  Same returns as
 * dsr_ingest_run_log, and DSR_EINVAL with paths and no state. */
DSR_API int  dsr_ingest_run_paths(dsr_log *log, const dsr_ingest_opts *opts,
                                  const char *const *paths, size_t n_paths,
                                  dsr_scan_result **state, dsr_ingest_report *out,
                                  dsr_err *err);

/* Release everything out points to and zero it, keeping its version (the
 * part a caller of an older version holds is all that is written).
 * NULL is fine. */
DSR_API void dsr_ingest_report_free(dsr_ingest_report *out);

/* "open", "walk+hash", "record", "projections", "deliver"; NULL when out of
 * range (static strings). */
DSR_API const char *dsr_ingest_phase_name(dsr_ingest_phase phase);

#ifdef __cplusplus
}
#endif
#endif

/*
 * dossier/replay.h - projections: state folded from the event log.
 *
 * A projection reads the log in sequence order from its checkpoint, folds
 * events into state kept in its own column family (`proj_<name>`) and may
 * emit derived events back through the emitter.  Its state rows, its
 * checkpoint (last applied sequence) and its derived events are written in
 * the same WriteBatch, so a crash never applies an event twice or skips one.
 *
 * Projections, in the order they run:
 *   snapshot  one mission_dossier_snapshot_computed per completed scan run
 *             (a run is closed by its dossier_scan_completed event); keeps the
 *             latest snapshot per feature, every snapshot record by id and
 *             the artifact set of every snapshot (content-addressed).
 *   drift     compares each snapshot with the feature's accepted baseline
 *             (dossier_baseline_accepted events) and emits one
 *             mission_dossier_parity_drift_detected when the parity hashes
 *             differ; keeps the current drift assessment per feature.
 *
 * Derived events have deterministic ids (time part = the source event's
 * timestamp, random part = hash of (projection, source event_id)), so a
 * replay re-derives the same ids and the log's idempotent append drops them:
 * replaying never adds an event.
 *
 * Thread-safety: as the dsr_log (one thread at a time).  Functions that write
 * (catch-up, run, verify) need a writer handle; the read accessors work on
 * read-only handles too.  All returned structs are owned by the caller and
 * freed with their _free function (NULL is fine).
 */
#ifndef DOSSIER_REPLAY_H
#define DOSSIER_REPLAY_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/profile.h"
#include "dossier/event.h"
#include "dossier/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSR_PROJ_SNAPSHOT "snapshot"
#define DSR_PROJ_DRIFT    "drift"

/* Registered projections, in run order (i < count; NULL past the end). */
DSR_API size_t      dsr_replay_projection_count(void);
DSR_API const char *dsr_replay_projection_name(size_t i);
/* 1 when name is a registered projection. */
DSR_API int         dsr_replay_projection_known(const char *name);

/* Option and stats structs carry a `version` first and are initialised with
 * their _INIT macro (libgit2's convention), so a program built against an
 * older header keeps working when fields are added at the end.  A call
 * refuses version 0 (a struct not initialised that way) and versions newer
 * than the library's with DSR_EINVAL. */
#define DSR_REPLAY_STATS_VERSION 1

typedef struct dsr_replay_stats {
    unsigned version;         /* DSR_REPLAY_STATS_VERSION */
    uint64_t events_read;     /* log records decoded */
    uint64_t events_applied;  /* (projection, event) pairs folded */
    uint64_t derived_new;     /* derived events appended to the log */
    uint64_t derived_dup;     /* derived events the log already held */
    uint64_t commits;         /* batches committed */
    uint64_t head;            /* log head when done */
} dsr_replay_stats;

#define DSR_REPLAY_STATS_INIT { DSR_REPLAY_STATS_VERSION, 0, 0, 0, 0, 0, 0 }

enum {
    DSR_REPLAY_FROM_ZERO = 1 << 0  /* drop the state first and rebuild from sequence 1 */
};

#define DSR_REPLAY_OPTS_VERSION 1

typedef struct dsr_replay_opts {
    unsigned version;        /* DSR_REPLAY_OPTS_VERSION */
    unsigned flags;          /* DSR_REPLAY_* */
    size_t   chunk_events;   /* events per committed chunk (a chunk runs on, up to 4x, to
                                end where no scan run is open); 0 -> default (65536) */
} dsr_replay_opts;

#define DSR_REPLAY_OPTS_INIT { DSR_REPLAY_OPTS_VERSION, 0, 0 }

/* Bring every projection up to the log head (repeating until no projection
 * emits anything new, so all checkpoints end equal to the head).  Called at
 * the end of `dossier scan`, `dossier import` and `dossier baseline accept`.
 * stats may be NULL.  Returns 0, DSR_ECORRUPT (an event does not decode: err
 * names its sequence) or a log error; committed chunks stay committed. */
DSR_API int dsr_replay_catch_up(dsr_log *log, dsr_replay_stats *stats, dsr_err *err);

/* Catch up one projection (name) or all (NULL or "all"); opts may be NULL.
 * With DSR_REPLAY_FROM_ZERO the projection's family is cleared first (one
 * atomic write) and rebuilt from sequence 1; a crash during the rebuild
 * leaves a consistent prefix that the next catch-up completes.  Chunks also
 * end early when their cached state passes 48 MB, which bounds memory.
 * Returns 0, DSR_EINVAL (unknown projection), DSR_ECORRUPT or a log error. */
DSR_API int dsr_replay_run(dsr_log *log, const char *projection, const dsr_replay_opts *opts,
                   dsr_replay_stats *stats, dsr_err *err);

/* Called by dsr_replay_verify once per difference found. */
typedef void (*dsr_replay_diff_fn)(void *ud, const char *projection, const char *what);

/* Rebuild projection (NULL/"all": every one) from zero into scratch families
 * (`verify_<name>`) up to its live checkpoint, without writing any event,
 * and compare row by row with the live state; also checks that every derived
 * event the rebuild produces is in the log with the same payload.  Each
 * difference is reported through fn (may be NULL); *n_diff gets the count
 * (differences are not an error: return 0).  The scratch families are
 * cleared afterwards.  Returns 0 or a log/corruption error. */
DSR_API int dsr_replay_verify(dsr_log *log, const char *projection, dsr_replay_diff_fn fn,
                      void *ud, size_t *n_diff, dsr_err *err);

/* Last sequence applied by projection (0: nothing yet). */
DSR_API int dsr_replay_checkpoint(dsr_log *log, const char *projection, uint64_t *seq, dsr_err *err);

/* Every row of projection's state family in key order (raw bytes).  For
 * debugging and for comparing rebuilds byte for byte.  fn returns 0 to go
 * on, non-zero to stop (that value is returned). */
typedef int (*dsr_replay_row_fn)(void *ud, const char *projection, const void *key,
                                 size_t klen, const void *val, size_t vlen);
DSR_API int dsr_replay_dump(dsr_log *log, const char *projection, dsr_replay_row_fn fn,
                    void *ud, dsr_err *err);

/* ---- read accessors ------------------------------------------------------ */

/* Features with at least one snapshot, sorted.  Free with dsr_replay_strv_free. */
DSR_API int  dsr_replay_features(dsr_log *log, char ***out, size_t *n, dsr_err *err);
DSR_API void dsr_replay_strv_free(char **v, size_t n);

/* Number of scan runs begun but not completed (crashed or still being
 * imported): they hold pending state and produce no snapshot. */
DSR_API int dsr_replay_open_runs(dsr_log *log, size_t *n, dsr_err *err);

typedef struct dsr_missing_ref {
    char *artifact_key, *artifact_class, *expected_path_pattern, *reason_code;
} dsr_missing_ref;

typedef struct dsr_artifact_ref {
    char *artifact_key, *relative_path, *artifact_class;
    char  sha256[65];
    int   required;
} dsr_artifact_ref;

typedef struct dsr_snapshot_info {
    char *snapshot_id;
    char *feature_slug;
    char *run_id;             /* the scan's correlation_id */
    char *event_id;           /* the derived mission_dossier_snapshot_computed */
    char *scan_event_id;      /* the run's dossier_scan_completed */
    char *timestamp;          /* of the scan completion */
    uint64_t scan_seq;
    char  parity_hash_sha256[65];
    dsr_artifact_counts counts;
    int64_t optional_absent;
    char *completeness_status;
    /* the scan's key fields; mission_type/manifest_version/step_id may be NULL */
    char *mission_type, *manifest_version, *step_id, *target_branch, *emit_mode;
    char *project_uuid, *node_id;
    int   counts_consistent;  /* 1: the run's events match the counts it declared */
    dsr_missing_ref *missing; size_t n_missing;   /* required artifacts missing */
    /* only when asked for; the strings of all artifacts share one block,
     * owned through artifacts[0].artifact_key (dsr_snapshot_info_free) */
    dsr_artifact_ref *artifacts; size_t n_artifacts;
    /* Added for the profiles: the profile of the scan (its hashes and the
     * parity formula).  Under spec-kitty-3, parity_hash_sha256 holds the hex
     * part of spec-kitty's "sha256:<hex>" snapshot hash. */
    dsr_profile profile;
} dsr_snapshot_info;

/* Latest snapshot of feature (snapshot_id NULL), or the snapshot snapshot_id
 * (which must belong to feature when feature is not NULL).  with_artifacts:
 * also fill the present artifact set (sorted by key, path).  DSR_ENOTFOUND
 * when there is none. */
DSR_API int  dsr_replay_snapshot_get(dsr_log *log, const char *feature, const char *snapshot_id,
                             int with_artifacts, dsr_snapshot_info **out, dsr_err *err);
DSR_API void dsr_snapshot_info_free(dsr_snapshot_info *s);

typedef struct dsr_baseline_info {
    char *feature_slug, *snapshot_id, *parity_hash_sha256;
    char *project_uuid, *node_id, *target_branch;
    char *mission_key, *manifest_version;   /* may be NULL */
    char *event_id, *timestamp;             /* the dossier_baseline_accepted event */
} dsr_baseline_info;

/* The accepted baseline of feature.  DSR_ENOTFOUND when none. */
DSR_API int  dsr_replay_baseline_get(dsr_log *log, const char *feature, dsr_baseline_info **out,
                             dsr_err *err);
DSR_API void dsr_baseline_info_free(dsr_baseline_info *b);

typedef enum dsr_drift_status {
    DSR_DRIFT_NONE = 0,          /* same parity hash as the baseline */
    DSR_DRIFT_DETECTED,          /* parity differs: a drift event was emitted */
    DSR_DRIFT_NO_BASELINE,       /* no baseline accepted for the feature */
    DSR_DRIFT_NOT_COMPARED,      /* baseline key differs from the snapshot's */
    DSR_DRIFT_BASELINE_UNKNOWN   /* baseline names a snapshot this log never computed */
} dsr_drift_status;

/* "none", "drift", "no_baseline", "not_compared", "baseline_unknown". */
DSR_API const char *dsr_drift_status_name(dsr_drift_status s);

typedef struct dsr_drift_change {
    char *artifact_key, *relative_path;
    char  old_sha256[65], new_sha256[65];    /* "" when absent on that side */
    int   required;
} dsr_drift_change;

typedef struct dsr_drift_mismatch {
    char *field, *snapshot_value, *baseline_value;  /* values may be NULL (null) */
} dsr_drift_mismatch;

typedef struct dsr_drift_info {
    char *feature_slug;
    dsr_drift_status status;
    char *severity;                          /* info|warning|error, or NULL */
    char *snapshot_id, *baseline_snapshot_id;  /* baseline's NULL without one */
    char *local_parity, *baseline_parity;
    char *event_id;                          /* drift event, NULL when none */
    char *source_event_id;                   /* snapshot or baseline event evaluated */
    char **missing_in_local;    size_t n_missing_in_local;
    char **missing_in_baseline; size_t n_missing_in_baseline;
    dsr_drift_change *changed;  size_t n_changed;  /* same key+path, other content */
    dsr_drift_change *vanished; size_t n_vanished; /* in baseline, gone locally */
    dsr_drift_change *added;    size_t n_added;    /* new locally */
    char **why; size_t n_why;                /* one sentence per reason */
    dsr_drift_mismatch *mismatch; size_t n_mismatch;  /* NOT_COMPARED: key fields */
} dsr_drift_info;

/* The drift assessment of feature's latest snapshot.  DSR_ENOTFOUND when the
 * drift projection has seen no snapshot of feature. */
DSR_API int  dsr_replay_drift_get(dsr_log *log, const char *feature, dsr_drift_info **out,
                          dsr_err *err);
DSR_API void dsr_drift_info_free(dsr_drift_info *d);

/* ---- history and differences -------------------------------------------- */

/* Every snapshot of feature, newest first (by the sequence of the scan that
 * produced it), without their artifacts.  *out is a malloc'd array of n
 * snapshots; free it with dsr_snapshot_infov_free.  A feature with no
 * snapshot gives n = 0 (not an error). */
DSR_API int  dsr_replay_snapshots(dsr_log *log, const char *feature, dsr_snapshot_info ***out,
                                  size_t *n, dsr_err *err);
DSR_API void dsr_snapshot_infov_free(dsr_snapshot_info **v, size_t n);

/* Where the "from" side of a diff came from when it was not named. */
typedef enum dsr_diff_from {
    DSR_DIFF_FROM_GIVEN = 0,    /* the caller named it */
    DSR_DIFF_FROM_BASELINE,     /* the feature's accepted baseline */
    DSR_DIFF_FROM_PREVIOUS      /* the snapshot before "to" (no baseline) */
} dsr_diff_from;

typedef struct dsr_snapshot_diff {
    char *feature_slug;
    char *from_snapshot_id, *to_snapshot_id;
    char  from_parity[65], to_parity[65];
    dsr_diff_from from_kind;
    int   to_is_latest;                            /* "to" is the feature's latest */
    /* entries by (artifact_key, relative_path), sorted; hashes "" on the
     * side that lacks the entry */
    dsr_drift_change *changed; size_t n_changed;   /* same key and path, other content */
    dsr_drift_change *removed; size_t n_removed;   /* in "from" only */
    dsr_drift_change *added;   size_t n_added;     /* in "to" only */
} dsr_snapshot_diff;

/* The artifacts that differ between two snapshots of feature.  to_id NULL:
 * the latest snapshot.  from_id NULL: the accepted baseline when there is
 * one, else the snapshot before "to".  feature may be
 * NULL when both ids are given (then both must belong to one feature).
 * Returns 0 with *out set (free with dsr_snapshot_diff_free); DSR_ENOTFOUND
 * naming what is missing (no such snapshot, a snapshot of another feature,
 * no earlier snapshot to compare with); or a log/corruption error. */
DSR_API int  dsr_replay_diff(dsr_log *log, const char *feature, const char *from_id,
                             const char *to_id, dsr_snapshot_diff **out, dsr_err *err);
DSR_API void dsr_snapshot_diff_free(dsr_snapshot_diff *d);

#ifdef __cplusplus
}
#endif
#endif

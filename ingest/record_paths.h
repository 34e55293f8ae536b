/*
 * record_paths.h - a scan run over the changed paths only (private to
 * ingest; the public entry is dsr_ingest_run_paths in dossier/ingest.h).
 *
 * A path-limited run records what a full changed-mode run records, from
 * less: the scanner lists, stats and reads only the changed paths and takes
 * every other artifact from the previous run's full result (keep); the
 * recorder is given only the part of the run that can differ from the
 * latest snapshot, and the matching part of that snapshot:
 *   view  the new result's artifacts in the paths, every absent or unusable
 *         one (missing events are emitted for all of them on every run),
 *         and every present one whose key is reported missing;
 *   prev  keep's snapshot set (present, key not reported missing) in the
 *         paths, and the present ones outside them whose key is reported
 *         missing now.
 * Outside the paths the two sides are the same artifacts with the same
 * digests, which a changed-mode run records nothing for; so dsr_record_scan
 * and ingest_same give the same events and the same answer on (view, prev)
 * as on (the whole result, the whole snapshot).  That needs the premise the
 * caller vouches for: keep is the result of the run that made the latest
 * snapshot (the caller was the log's single writer since), and nothing
 * changed outside the paths since.
 */
#ifndef DOSSIER_INGEST_RECORD_PATHS_H
#define DOSSIER_INGEST_RECORD_PATHS_H

#include "dossier/log.h"
#include "dossier/record.h"
#include "dossier/scan.h"
#include "pathset.h"

typedef struct paths_run {
    /* given */
    const char *const *paths;
    size_t             n_paths;
    dsr_scan_result   *keep;          /* consumed by the scan */
    dsr_log           *log;           /* for the cache lookups */
    const char        *slug;
    /* built */
    pathset            scope;
    dsr_record_prev   *prev;          /* strings in prev_text / the new result */
    size_t             n_prev, cap_prev;
    char             **prev_text;     /* one copy per prev entry taken from keep */
    size_t             n_prev_text, cap_prev_text;
    char             **keep_missing;  /* keep's missing keys, sorted */
    size_t             n_keep_missing;
    dsr_scan_result    view;          /* a shallow copy of the new result ... */
    dsr_artifact      *view_arts;     /* ... with these artifacts */
} paths_run;

/* Before the scan: the paths as a set, and what prev takes from keep
 * (copied: the scan consumes keep).  0 or DSR_ENOMEM (err set).  Only a
 * changed-mode run needs it (and then paths_run_view); a full emission over
 * the paths records the whole new result and uses paths_run_lookup alone,
 * which reads only log and slug. */
int  paths_run_begin(paths_run *p, dsr_err *err);

/* The scan's cache_lookup (ctx: the paths_run): a point read of the path's
 * entry, so a lookup costs the same wherever the path lies (the merge-join
 * lookup of a full scan steps over every entry before it). */
int  paths_run_lookup(void *ctx, const char *relative_path, dsr_scan_cached *out);

/* After the scan: view and the rest of prev, from the new result r (which
 * must outlive them).  0 or DSR_ENOMEM (err set). */
int  paths_run_view(paths_run *p, const dsr_scan_result *r, dsr_err *err);

void paths_run_free(paths_run *p);

#endif

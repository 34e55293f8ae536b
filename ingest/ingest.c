/*
 * ingest.c - the scan -> record -> project -> deliver sequence behind
 * `dossier scan` (see dossier/ingest.h for the numbered steps, the report
 * and the failure contract).
 *
 * Invariants kept here:
 *   1. Nothing is created before the mission root is known to be a folder
 *      and the log path is accepted (steps 1-2 come before dsr_log_open).
 *   2. The log is opened before any hashing, so a locked or broken log
 *      fails before the expensive part.
 *   3. Only the summary survives recording: the present artifacts and the
 *      changed-mode base are freed before the projections fold the run, so
 *      their memory does not add up with the fold's - except in a
 *      watcher's run (dsr_ingest_run_paths), which keeps the whole result
 *      for its next run.
 *   4. Delivery never changes the outcome: its result goes to the report.
 *   5. A log the caller opened (dsr_ingest_run_log) is never closed here.
 */
#include "dossier/ingest.h"
#include "dossier/log.h"
#include "dossier/scan_cache.h"
#include "ingest_same.h"
#include "record_stream.h"
#include "ingest_settings.h"
#include "opts_version.h"
#include "record_paths.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BRANCH_MAX 256

_Static_assert(DSR_INGEST_PHASE_COUNT <= sizeof ((dsr_ingest_report *)0)->timing
               / sizeof ((dsr_ingest_report *)0)->timing[0], "a phase without a timing slot");

/* ---- phase marks --------------------------------------------------------- */

typedef struct mark {
    double wall, cpu;
} mark;

static double clock_s(clockid_t id)
{
    struct timespec t;
    if (clock_gettime(id, &t))
        return 0;
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static mark mark_now(void)
{
    mark m = { clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID) };
    return m;
}

typedef struct run {
    const dsr_ingest_opts *o;
    dsr_ingest_report     *rep;
    mark                   since;   /* start of the phase under way */
} run;

static void phase_begin(run *r, dsr_ingest_phase p)
{
    r->since = mark_now();
    if (r->o->on_phase)
        r->o->on_phase(r->o->on_phase_ctx, p, 0, r->rep);
}

static void phase_done(run *r, dsr_ingest_phase p)
{
    mark now = mark_now();
    r->rep->timing[p].wall_s = now.wall - r->since.wall;
    r->rep->timing[p].cpu_s = now.cpu - r->since.cpu;
    if (r->o->on_phase)
        r->o->on_phase(r->o->on_phase_ctx, p, 1, r->rep);
}

static int fail(run *r, dsr_ingest_step step, int rc)
{
    assert(rc < 0);
    r->rep->failed_step = step;
    return rc;
}

/* ---- steps 1-2: the root and the log path -------------------------------- */

/* A root that exists but is not a folder (a regular file, a FIFO, a
 * device) is refused before anything is created for it; stat() neither
 * opens nor blocks.  A root that cannot be resolved at all is left to
 * dsr_scan_feature_slug, whose error names it. */
static int check_root(const char *root, dsr_err *err)
{
    struct stat st;
    if (stat(root, &st) == 0 && !S_ISDIR(st.st_mode))
        return dsr_err_set(err, DSR_EIO, "%s: not a folder (a mission is a folder); "
                           "nothing was created", root);
    return 0;
}

/* <root>/.dossier, refused when it is a symlink: whoever can write into a
 * mission folder could otherwise send its record anywhere.  An explicit log
 * folder is the caller's choice and may be a link. */
static int default_log_dir(const char *root, char **out, dsr_err *err)
{
    size_t n = strlen(root) + sizeof "/.dossier";
    char *dir = malloc(n);
    if (!dir)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    snprintf(dir, n, "%s/.dossier", root);
    struct stat st;
    if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        int rc = dsr_err_set(err, DSR_EIO, "%s: the default log folder is a symlink, which "
                             "is not followed (it could redirect the mission's record); "
                             "remove it, or name the log folder explicitly", dir);
        free(dir);
        return rc;
    }
    *out = dir;
    return 0;
}

/* ---- step 3: the changed-mode base -------------------------------------- */

/* The feature's current set for changed mode: its latest snapshot's
 * artifacts (the caller has caught the projections up to the log head);
 * none yet: an empty set.  The entries' strings (hash text included) all
 * live in one block *text and the snapshot is freed at once: for a very
 * large feature this holds less while the tree is walked and hashed
 * (docs/bench.md). */
static int load_base(dsr_log *log, const char *slug, char **text, dsr_record_prev **prev,
                     size_t *n, dsr_err *err)
{
    *text = NULL;
    *prev = NULL;
    *n = 0;
    dsr_snapshot_info *s = NULL;
    int rc = dsr_replay_snapshot_get(log, slug, NULL, 1, &s, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    size_t total = 0;
    for (size_t i = 0; i < s->n_artifacts; i++) {
        const dsr_artifact_ref *a = &s->artifacts[i];
        total += strlen(a->artifact_key) + strlen(a->relative_path) + strlen(a->artifact_class)
               + 3 + sizeof a->sha256;
    }
    if (s->n_artifacts && (!(*text = malloc(total))
                           || !(*prev = calloc(s->n_artifacts, sizeof **prev)))) {
        free(*text);
        *text = NULL;
        dsr_snapshot_info_free(s);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    char *w = *text;
    for (size_t i = 0; i < s->n_artifacts; i++) {
        const dsr_artifact_ref *a = &s->artifacts[i];
        const char *src[4] = { a->artifact_key, a->relative_path, a->artifact_class, a->sha256 };
        const char *dst[4];
        for (int k = 0; k < 4; k++) {
            size_t len = strlen(src[k]) + 1;
            memcpy(w, src[k], len);
            dst[k] = w;
            w += len;
        }
        (*prev)[i] = (dsr_record_prev){ dst[0], dst[1], dst[2], dst[3], a->required };
    }
    assert((size_t)(w - *text) == total);
    *n = s->n_artifacts;
    dsr_snapshot_info_free(s);
    return 0;
}

/* The base is loaded on a thread of its own while the tree is walked: the
 * walk does not use it (the record step does), and for a large feature
 * decoding its whole set is a visible part of the run (docs/bench.md).
 * The projections are caught up before it starts.  While both run the
 * handle is only read -- the walk through the scan cache's iterator, this
 * thread by point reads of the snapshot projection -- and RocksDB serves
 * concurrent reads; neither changes what the other reads of the handle
 * (its family table and read options; no batch is in flight).  Nothing
 * else uses the handle until base_wait. */
typedef struct base_job {
    pthread_t        thread;
    int              started;
    dsr_log         *log;
    const char      *slug;
    char            *text;
    dsr_record_prev *prev;
    size_t           n;
    int              rc;
    dsr_err          err;
} base_job;

static void *base_main(void *arg)
{
    base_job *j = arg;
    j->rc = load_base(j->log, j->slug, &j->text, &j->prev, &j->n, &j->err);
    return NULL;
}

/* Start loading; without a thread, load here (base_wait hands the outcome). */
static void base_start(base_job *j, dsr_log *log, const char *slug)
{
    *j = (base_job){ .log = log, .slug = slug };
    dsr_err_clear(&j->err);
    if (pthread_create(&j->thread, NULL, base_main, j) == 0)
        j->started = 1;
    else
        base_main(j);
}

/* Wait for the base (no-op when none was started or it was joined). */
static void base_wait(base_job *j)
{
    if (j->started)
        pthread_join(j->thread, NULL);
    j->started = 0;
}

/* ---- step 7: what survives recording ------------------------------------ */

static int keep_stale_paths(dsr_ingest_report *rep, dsr_err *err)
{
    const dsr_scan_result *s = rep->scan;
    size_t n = 0;
    for (size_t i = 0; i < s->n_artifacts; i++)
        n += s->artifacts[i].cache_stale != 0;
    if (!n)
        return 0;
    if (!(rep->cache_stale = calloc(n, sizeof *rep->cache_stale)))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_artifacts; i++) {
        if (!s->artifacts[i].cache_stale)
            continue;
        if (!(rep->cache_stale[rep->n_cache_stale] = strdup(s->artifacts[i].relative_path)))
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        rep->n_cache_stale++;
    }
    assert(rep->n_cache_stale == n);
    return 0;
}

/* ---- the sequence -------------------------------------------------------- */

static int check_versions(const dsr_ingest_opts *o, const dsr_ingest_report *out, dsr_err *err)
{
    if (opts_version_check(o ? o->version : 0, DSR_INGEST_OPTS_VERSION, "dsr_ingest_opts",
                           "DSR_INGEST_OPTS_INIT", err) ||
        opts_version_check(out->version, DSR_INGEST_REPORT_VERSION, "dsr_ingest_report",
                           "DSR_INGEST_REPORT_INIT", err))
        return DSR_EINVAL;
    if (!o->root || !*o->root)
        return dsr_err_set(err, DSR_EINVAL, "dsr_ingest_run: no mission root given");
    if ((o->flags & DSR_INGEST_SKIP_UNCHANGED) && !(o->flags & DSR_INGEST_EMIT_CHANGED))
        return dsr_err_set(err, DSR_EINVAL, "dsr_ingest_run: DSR_INGEST_SKIP_UNCHANGED "
                           "needs DSR_INGEST_EMIT_CHANGED (it compares with the latest snapshot)");
    return 0;
}

/* DSR_INGEST_SKIP_UNCHANGED, after step 5: 1 when the scan would fold to the
 * feature's latest snapshot (nothing to record), 0 when not or when there is
 * no snapshot yet, else a negative code. */
static int scan_unchanged(dsr_log *log, const ingest_settings *o, const dsr_ingest_report *rep,
                          const dsr_scan_result *scan, const dsr_record_prev *base,
                          size_t n_base, dsr_err *err)
{
    dsr_snapshot_info *s = NULL;
    int rc = dsr_replay_snapshot_get(log, rep->feature_slug, NULL, 0, &s, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    ingest_same_keys keys = {
        .mission_type = o->manifest ? dsr_manifest_mission_type(o->manifest) : NULL,
        .manifest_version = o->manifest ? dsr_manifest_version(o->manifest) : NULL,
        .step_id = o->step_id, .target_branch = rep->target_branch,
    };
    rc = ingest_same(scan, base, n_base, s, &keys);
    dsr_snapshot_info_free(s);
    return rc < 0 ? dsr_err_set(err, DSR_ENOMEM, "out of memory") : rc;
}

/* A watcher's run (dsr_ingest_run_paths): keep the whole result for the
 * next run; with keep, scan and record the paths only (record_paths.h). */
typedef struct keep_run {
    const char *const *paths;
    size_t             n_paths;
    dsr_scan_result   *keep;      /* NULL: a full scan */
} keep_run;

/* Recording while the scan runs: dsr_scan hands its artifacts on as their
 * files are hashed (dsr_scan_opts.on_artifacts). */
typedef struct streamed {
    record_stream *rs;
    int            rc;      /* the recording's failure, which stopped the scan */
    dsr_err        err;
} streamed;

static int on_artifacts(void *ctx, const dsr_scan_result *r, size_t from, size_t to)
{
    streamed *st = ctx;
    int rc = record_stream_add(st->rs, r, from, to, &st->err);
    if (rc == DSR_ESCHEMA)
        return 0;     /* counted; the run goes on and is left incomplete */
    return st->rc = rc;
}

static int ingest(dsr_log *given, const dsr_ingest_opts *o, const keep_run *kr,
                  dsr_ingest_report *rep, dsr_err *err)
{
    dsr_err_clear(err);
    assert(rep);
    int rc = check_versions(o, rep, err);
    if (rc) {
        rep->failed_step = DSR_INGEST_STEP_ROOT;
        return rc;
    }
    /* The reports of the steps, filled by the calls that run them. */
    rep->record.version = DSR_RECORD_STATS_VERSION;
    rep->deliver.version = DSR_DELIVER_AFTER_SCAN_REPORT_VERSION;
    run r = { o, rep, mark_now() };
    dsr_log *log = given;
    dsr_scan_cache *cache = NULL;
    paths_run pr = { 0 };
    int limited = kr && kr->keep;
    /* what is compared and recorded: the whole result, or its view */
    const dsr_scan_result *judged = NULL;
    char *base_text = NULL;
    dsr_record_prev *base = NULL;
    size_t n_base = 0;
    ingest_settings eff = { 0 };
    streamed sm = { 0 };
    base_job bj = { 0 };
    dsr_scan_opts so = { .version = DSR_SCAN_OPTS_VERSION, .root = o->root, .manifest = o->manifest, .step_id = o->step_id,
                         .feature_slug = o->feature_slug, .jobs = o->jobs,
                         .progress = o->progress, .max_file_size = o->max_file_size,
                         .excludes = o->excludes, .n_excludes = o->n_excludes,
                         .plain_io = (o->flags & DSR_INGEST_PLAIN_IO) != 0,
                         .profile = o->profile };

    phase_begin(&r, DSR_INGEST_PHASE_OPEN);
    /* 1. root */
    if ((rc = check_root(o->root, err)) || (rc = dsr_scan_feature_slug(&so, &rep->feature_slug, err))) {
        rc = fail(&r, DSR_INGEST_STEP_ROOT, rc);
        goto out;
    }
    if (o->target_branch)
        rep->target_branch = strdup(o->target_branch);
    else {
        char branch[BRANCH_MAX];
        rep->target_branch = strdup(dsr_git_branch(o->root, branch, sizeof branch) ? "main"
                                                                                      : branch);
    }
    if (!rep->target_branch) {
        rc = fail(&r, DSR_INGEST_STEP_ROOT, dsr_err_set(err, DSR_ENOMEM, "out of memory"));
        goto out;
    }
    /* 2. log (the caller's, or opened here) */
    if (given)
        rc = (rep->log_dir = strdup(dsr_log_dir(given))) ? 0
           : dsr_err_set(err, DSR_ENOMEM, "out of memory");
    else if (o->log_dir)
        rc = (rep->log_dir = strdup(o->log_dir)) ? 0 : dsr_err_set(err, DSR_ENOMEM, "out of memory");
    else
        rc = default_log_dir(o->root, &rep->log_dir, err);
    if (rc || (!given && (rc = dsr_log_open(&log, rep->log_dir,
                                 o->flags & DSR_INGEST_WAIT ? DSR_LOG_WAIT : 0, err)))) {
        rc = fail(&r, DSR_INGEST_STEP_LOG, rc);
        goto out;
    }
    /* 2b. the run's settings: given, or remembered */
    if ((rc = ingest_settings_resolve(log, o, rep->feature_slug, rep, &eff, err))) {
        rc = fail(&r, DSR_INGEST_STEP_SETTINGS, rc);
        goto out;
    }
    so.manifest = eff.manifest;
    so.step_id = eff.step_id;
    so.profile = eff.profile;
    so.excludes = eff.excludes;
    so.n_excludes = eff.n_excludes;
    /* the previous run's result was made under other settings (a
     * remembered manifest file edited since): the whole tree is scanned */
    if (eff.differs)
        limited = 0;
    /* 3. changed-mode base: the latest snapshot, or what the paths can
     * change of it (the kept result is the run that made it) */
    if (limited) {
        pr = (paths_run){ .paths = kr->paths, .n_paths = kr->n_paths, .keep = kr->keep,
                          .log = log, .slug = rep->feature_slug };
        /* a full emission records the whole result: of the paths run it
         * needs only the cache lookups, not what the view compares */
        if ((o->flags & DSR_INGEST_EMIT_CHANGED) && (rc = paths_run_begin(&pr, err))) {
            rc = fail(&r, DSR_INGEST_STEP_BASE, rc);
            goto out;
        }
    } else if ((o->flags & DSR_INGEST_EMIT_CHANGED)
               && (rc = dsr_replay_catch_up(log, NULL, err))) {
        rc = fail(&r, DSR_INGEST_STEP_BASE, rc);
        goto out;
    }
    /* 4. scan cache */
    if ((rc = dsr_scan_cache_open(log, rep->feature_slug, &cache, err))) {
        rc = fail(&r, DSR_INGEST_STEP_LOG, rc);
        goto out;
    }
    /* 3b. the changed-mode base, loaded while the tree is walked */
    if (!limited && (o->flags & DSR_INGEST_EMIT_CHANGED))
        base_start(&bj, log, rep->feature_slug);
    phase_done(&r, DSR_INGEST_PHASE_OPEN);

    dsr_record_opts ro = { .version = DSR_RECORD_OPTS_VERSION,
        .mission_type = eff.manifest ? dsr_manifest_mission_type(eff.manifest) : NULL,
        .manifest_version = eff.manifest ? dsr_manifest_version(eff.manifest) : NULL,
        .step_id = eff.step_id, .target_branch = rep->target_branch,
        .batch_events = o->batch_events,
        .emit_changed = (o->flags & DSR_INGEST_EMIT_CHANGED) != 0,
        .cache = cache,
        .manifest_path = eff.manifest ? dsr_manifest_file(eff.manifest) : NULL,
        .manifest_sha256 = eff.manifest ? dsr_manifest_sha256(eff.manifest) : NULL,
        .excludes = eff.excludes, .n_excludes = eff.n_excludes,
    };

    /* 5. walk + hash -- and, for a full emission of the whole tree, the
     * recording of each artifact as soon as the scan hands it on, so it
     * overlaps the hashing (ingest/record_stream.h) */
    phase_begin(&r, DSR_INGEST_PHASE_SCAN);
    so.cache_lookup = limited ? paths_run_lookup : dsr_scan_cache_lookup;
    so.cache_ctx = limited ? (void *)&pr : (void *)cache;
    so.cache_mode = o->flags & DSR_INGEST_REHASH ? DSR_SCAN_CACHE_REHASH : DSR_SCAN_CACHE_USE;
    if (limited) {
        so.only_paths = kr->paths;
        so.n_only_paths = kr->n_paths;
        so.keep = kr->keep;
    } else if (!ro.emit_changed) {
        if ((rc = record_stream_begin(log, &ro, &rep->record, &sm.rs, err))) {
            rc = fail(&r, DSR_INGEST_STEP_RECORD, rc);
            goto out;
        }
        so.on_artifacts = on_artifacts;
        so.on_artifacts_ctx = &sm;
    }
    rc = dsr_scan(&so, &rep->scan, err);
    base_wait(&bj);
    base_text = bj.text;
    base = bj.prev;
    n_base = bj.n;
    bj.text = NULL;
    bj.prev = NULL;
    if (!rc && bj.rc) {
        *err = bj.err;
        rc = fail(&r, DSR_INGEST_STEP_BASE, bj.rc);
        goto out;
    }
    if (rc) {
        if (sm.rc) {            /* the recording stopped it: that is the error */
            *err = sm.err;
            rc = fail(&r, DSR_INGEST_STEP_RECORD, sm.rc);
        } else {
            rc = fail(&r, DSR_INGEST_STEP_ROOT, rc);
        }
        goto out;
    }
    judged = rep->scan;
    /* A full emission records every artifact, so it is given the whole
     * result; only the changed mode is given the part that can differ. */
    if (limited && (o->flags & DSR_INGEST_EMIT_CHANGED)) {
        if ((rc = paths_run_view(&pr, rep->scan, err))) {
            rc = fail(&r, DSR_INGEST_STEP_BASE, rc);
            goto out;
        }
        judged = &pr.view;
        base = pr.prev;
        n_base = pr.n_prev;
    }
    phase_done(&r, DSR_INGEST_PHASE_SCAN);
    if ((o->flags & DSR_INGEST_SKIP_UNCHANGED) && !eff.differs) {
        if ((rc = scan_unchanged(log, &eff, rep, judged, base, n_base, err)) < 0) {
            rc = fail(&r, DSR_INGEST_STEP_BASE, rc);
            goto out;
        }
        if (rc == 1) {
            if (rep->version >= 3)
                rep->unchanged = 1;
            rc = 0;
            goto out;
        }
    }

    /* 6-7. record */
    phase_begin(&r, DSR_INGEST_PHASE_RECORD);
    /* A path-limited scan asked about its paths only: draining would call
     * every other entry stale.  Its files gone keep their entries until a
     * full scan drains them (a stale entry only costs a stat). */
    if (!limited && (rc = dsr_scan_cache_finish(cache, err))) {
        rc = fail(&r, DSR_INGEST_STEP_LOG, rc);
        goto out;
    }
    /* A very large run writes faster than RocksDB flushes; small write
     * buffers bound the memtables waiting for their flush (docs/bench.md). */
    if (rep->scan->n_artifacts >= DSR_INGEST_LARGE_RUN
        && (rc = dsr_log_limit_memtables(log, err))) {
        rc = fail(&r, DSR_INGEST_STEP_LOG, rc);
        goto out;
    }
    ro.prev = base;
    ro.n_prev = n_base;
    if (sm.rs) {
        record_stream *rs = sm.rs;
        sm.rs = NULL;               /* finish frees it */
        rc = record_stream_finish(rs, judged, err);
    } else {
        rc = dsr_record_scan(log, judged, &ro, &rep->record, err);
    }
    if (rc) {
        rc = fail(&r, DSR_INGEST_STEP_RECORD, rc);
        goto out;
    }
    if ((rc = keep_stale_paths(rep, err))) {
        rc = fail(&r, DSR_INGEST_STEP_RECORD, rc);
        goto out;
    }
    if (!kr)    /* a watcher keeps the whole result for its next run */
        dsr_scan_result_drop_present(rep->scan);
    if (!limited)
        free(base);
    base = NULL;
    free(base_text);
    base_text = NULL;
    paths_run_free(&pr);
    phase_done(&r, DSR_INGEST_PHASE_RECORD);

    /* 8. projections: the run is durable already */
    phase_begin(&r, DSR_INGEST_PHASE_PROJECT);
    if ((rc = dsr_replay_catch_up(log, NULL, err))) {
        rc = fail(&r, DSR_INGEST_STEP_PROJECT, rc);
        goto out;
    }
    /* Not there or unreadable: the report says so by a NULL; the run stands. */
    dsr_err ignore;
    (void)dsr_replay_snapshot_get(log, rep->scan->feature_slug, NULL, 0, &rep->snapshot, &ignore);
    (void)dsr_replay_drift_get(log, rep->scan->feature_slug, &rep->drift, &ignore);
    if (rep->version >= 2)   /* a version-1 struct ends before head */
        rep->head = dsr_log_head(log);
    phase_done(&r, DSR_INGEST_PHASE_PROJECT);

    /* 9. one bounded delivery window; never fails the run */
    phase_begin(&r, DSR_INGEST_PHASE_DELIVER);
    dsr_deliver_after_scan_opts dopts = { .version = DSR_DELIVER_AFTER_SCAN_OPTS_VERSION, .all_endpoints = (o->flags & DSR_INGEST_DELIVER_ALL) != 0 };
    if (o->version >= 2)
        dopts.endpoint = o->deliver_endpoint;
    rep->deliver_rc = dsr_deliver_after_scan(log, &dopts, &rep->deliver);
    phase_done(&r, DSR_INGEST_PHASE_DELIVER);
    rc = 0;
out:
    assert(rc == 0 || rep->failed_step != DSR_INGEST_STEP_NONE);
    assert(!bj.started);            /* joined right after the walk */
    record_stream_abort(sm.rs);     /* a run given up before its end */
    dsr_scan_cache_free(cache);
    if (!limited)
        free(base);
    free(base_text);
    paths_run_free(&pr);
    ingest_settings_release(&eff);
    if (!given)
        dsr_log_close(log);
    return rc;
}

int dsr_ingest_run(const dsr_ingest_opts *o, dsr_ingest_report *rep, dsr_err *err)
{
    return ingest(NULL, o, NULL, rep, err);
}

int dsr_ingest_run_log(dsr_log *log, const dsr_ingest_opts *o, dsr_ingest_report *rep,
                       dsr_err *err)
{
    assert(rep);
    if (!log) {
        dsr_err_clear(err);
        rep->failed_step = DSR_INGEST_STEP_LOG;
        return dsr_err_set(err, DSR_EINVAL, "dsr_ingest_run_log: no log given");
    }
    return ingest(log, o, NULL, rep, err);
}

int dsr_ingest_run_paths(dsr_log *log, const dsr_ingest_opts *o, const char *const *paths,
                         size_t n_paths, dsr_scan_result **state, dsr_ingest_report *rep,
                         dsr_err *err)
{
    assert(rep && state);
    dsr_scan_result *keep = *state;
    *state = NULL;
    int rc = 0;
    dsr_err_clear(err);
    if (!log)
        rc = dsr_err_set(err, DSR_EINVAL, "dsr_ingest_run_paths: no log given");
    else if (paths && !keep)
        rc = dsr_err_set(err, DSR_EINVAL, "dsr_ingest_run_paths: changed paths given but no "
                         "previous result to take the rest of the tree from");
    if (rc) {
        rep->failed_step = DSR_INGEST_STEP_ROOT;
        dsr_scan_result_free(keep);
        return rc;
    }
    keep_run kr = { paths, n_paths, paths ? keep : NULL };
    if (!paths)
        dsr_scan_result_free(keep);   /* a full scan: the old result has no use */
    rc = ingest(log, o, &kr, rep, err);
    dsr_scan_result_free(kr.keep);    /* consumed by the scan (left empty), or unused */
    if (!rc) {
        *state = rep->scan;           /* the caller's now, whole */
        rep->scan = NULL;
    }
    return rc;
}

void dsr_ingest_report_free(dsr_ingest_report *rep)
{
    if (!rep)
        return;
    free(rep->log_dir);
    free(rep->feature_slug);
    free(rep->target_branch);
    dsr_scan_result_free(rep->scan);
    for (size_t i = 0; i < rep->n_cache_stale; i++)
        free(rep->cache_stale[i]);
    free(rep->cache_stale);
    dsr_snapshot_info_free(rep->snapshot);
    dsr_drift_info_free(rep->drift);
    unsigned version = rep->version;
    if (version >= 4) {
        dsr_scan_settings_free(rep->settings);
        dsr_scan_settings_free(rep->remembered);
        dsr_manifest_free(rep->manifest);
    }
    /* back to its _INIT state, within the struct the caller's version has */
    memset(rep, 0, version >= 4 ? sizeof *rep
                 : version == 3 ? offsetof(dsr_ingest_report, settings)
                 : version == 2 ? offsetof(dsr_ingest_report, unchanged)
                                : offsetof(dsr_ingest_report, head));
    rep->version = version;
}

const char *dsr_ingest_phase_name(dsr_ingest_phase phase)
{
    static const char *const names[DSR_INGEST_PHASE_COUNT] = {
        [DSR_INGEST_PHASE_OPEN] = "open",
        [DSR_INGEST_PHASE_SCAN] = "walk+hash",
        [DSR_INGEST_PHASE_RECORD] = "record",
        [DSR_INGEST_PHASE_PROJECT] = "projections",
        [DSR_INGEST_PHASE_DELIVER] = "deliver",
    };
    return (unsigned)phase < DSR_INGEST_PHASE_COUNT ? names[phase] : NULL;
}

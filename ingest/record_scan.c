/*
 * record_scan.c - appends a scan result to the log as one scan run (see
 * dossier/record.h).  Owns the batching of a run, its completion marker,
 * changed-mode emission and the scan-cache writes that ride with the events.
 *
 * Durability: each batch is committed with sync, in order (full batches in
 * the background while the next is built, the last one in the foreground,
 * after them); the dossier_scan_completed event rides in the LAST batch
 * together with the run's final artifacts, so "completed" and "all events
 * present" become durable in the same fsync.  A crash before that commit leaves earlier
 * batches in the log with no marker: projections and `dossier verify` treat
 * such a run as incomplete, never as a (partial) snapshot.
 *
 * Scan cache: an entry is put into the batch that carries (or follows) the
 * event recording its hash, never before it, so after a crash at any point
 * every cache entry's SHA-256 is in a committed artifact_indexed event.
 * Deletions (unusable files, files gone) may land in any batch: a missing
 * entry only costs a re-read.  So may the entries of files of invalid UTF-8:
 * they claim no hash the log records (dossier/scan_cache.h).
 */
#include "opts_version.h"
#include "dossier/record.h"
#include "dossier/emit.h"
#include "log_store.h"
#include "record_order.h"
#include "record_stream.h"
#include "dossier/ingest.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH_EVENTS 16384

typedef struct run_ctx {
    dsr_log          *log;
    dsr_log_batch    *batch;
    size_t            batch_max;
    size_t            cache_ops;   /* cache writes in the open batch */
    dsr_emit_meta     meta;
    dsr_record_stats *st;
    const char       *slug;
    dsr_scan_cache   *cache;
    int64_t           started_ns;
    dsr_profile       profile;     /* the scan's: stamped on cache entries */
    dsr_err           refused;     /* first refused payload */
} run_ctx;

/* The run's last batch is committed here and now (it waits for the one in
 * flight); a full batch before it is committed in the background while the
 * next one is built. */
static int commit_batch(run_ctx *c, int last, dsr_err *err)
{
    dsr_log_batch *b = c->batch;
    c->batch = NULL;
    c->cache_ops = 0;
    return last ? dsr_log_batch_commit(b, err) : dsr_log_batch_commit_async(b, err);
}

/* Open a batch if none is open; commit a full one first. */
static int ensure_batch(run_ctx *c, dsr_err *err)
{
    if (c->batch && dsr_log_batch_events(c->batch) + c->cache_ops >= c->batch_max) {
        int rc = commit_batch(c, 0, err);
        if (rc)
            return rc;
    }
    if (!c->batch)
        return dsr_log_batch_begin(c->log, &c->batch, err);
    return 0;
}

static void note_seq(run_ctx *c, const dsr_emit_result *res)
{
    if (res->duplicate) {
        c->st->duplicates++;
        return;
    }
    if (!c->st->first_seq)
        c->st->first_seq = res->seq;
    c->st->last_seq = res->seq;
}

/* Count a refused payload (the run goes on, but is never completed). */
static int refuse(run_ctx *c, const dsr_err *e)
{
    if (!c->st->refused)
        c->refused = *e;
    c->st->refused++;
    return DSR_ESCHEMA;
}

static int emit_indexed(run_ctx *c, const dsr_artifact *a, dsr_err *err)
{
    dsr_artifact_indexed p = {
        .feature_slug = c->slug, .artifact_key = a->artifact_key,
        .artifact_class = a->artifact_class, .relative_path = a->relative_path,
        .content_hash_sha256 = a->sha256, .size_bytes = (int64_t)a->size_bytes,
        .wp_id = a->wp_id, .step_id = a->step_id,
        .required_status = a->required ? "required" : "optional",
    };
    dsr_emit_result res;
    dsr_err e;
    int rc = dsr_emit_artifact_indexed(c->batch, &p, &c->meta, &res, &e);
    if (rc == DSR_ESCHEMA)
        return refuse(c, &e);
    if (rc) {
        *err = e;
        return rc;
    }
    c->st->indexed++;
    note_seq(c, &res);
    return 0;
}

static int emit_missing(run_ctx *c, const dsr_artifact *a, dsr_err *err)
{
    dsr_artifact_missing p = {
        .feature_slug = c->slug, .artifact_key = a->artifact_key,
        .artifact_class = a->artifact_class,
        .expected_path_pattern = a->path_pattern ? a->path_pattern : a->relative_path,
        /* the contract's reason codes are fixed: an excluded file is not
         * found for a consumer, the detail names the rule */
        .reason_code = dsr_reason_name(a->reason == DSR_REASON_EXCLUDED ? DSR_REASON_NOT_FOUND
                                                                        : a->reason),
        .reason_detail = a->reason_detail, .blocking = 1,
    };
    dsr_emit_result res;
    dsr_err e;
    int rc = dsr_emit_artifact_missing(c->batch, &p, &c->meta, &res, &e);
    if (rc == DSR_ESCHEMA)
        return refuse(c, &e);
    if (rc) {
        *err = e;
        return rc;
    }
    c->st->missing++;
    note_seq(c, &res);
    return 0;
}

static int emit_removed(run_ctx *c, const dsr_record_prev *p, dsr_err *err)
{
    dsr_artifact_removed pl = { .feature_slug = c->slug, .artifact_key = p->artifact_key,
                                .relative_path = p->relative_path };
    dsr_emit_result res;
    dsr_err e;
    int rc = ensure_batch(c, err);
    if (rc)
        return rc;
    rc = dsr_emit_artifact_removed(c->batch, &pl, &c->meta, &res, &e);
    if (rc == DSR_ESCHEMA)
        return refuse(c, &e);
    if (rc) {
        *err = e;
        return rc;
    }
    c->st->removed++;
    note_seq(c, &res);
    return 0;
}

/* ---- scan cache ------------------------------------------------------------ */

/* A present artifact whose SHA-256 the log has recorded (known): write its
 * entry unless it came from the cache unchanged. */
static int cache_keep(run_ctx *c, const dsr_artifact *a, int known, dsr_err *err)
{
    if (!c->cache || !known || a->cache_use == DSR_CACHE_STAT)
        return 0;
    dsr_scan_cached v;
    dsr_scan_cache_entry_of(a, c->started_ns, &v);
    v.profile = c->profile;
    int rc = dsr_scan_cache_put(c->batch, c->slug, a->relative_path, &v, err);
    if (!rc) {
        c->cache_ops++;
        c->st->cache_put++;
    }
    return rc;
}

/* An unusable file of invalid UTF-8: its entry claims no recorded hash, so
 * it may ride in any batch. */
static int cache_keep_invalid(run_ctx *c, const dsr_artifact *a, dsr_err *err)
{
    assert(!a->present && a->utf8_invalid);
    if (a->cache_use == DSR_CACHE_STAT)
        return 0;
    int rc = ensure_batch(c, err);
    if (rc)
        return rc;
    dsr_scan_cached v;
    dsr_scan_cache_entry_of(a, c->started_ns, &v);
    v.profile = c->profile;
    rc = dsr_scan_cache_put(c->batch, c->slug, a->relative_path, &v, err);
    if (!rc) {
        c->cache_ops++;
        c->st->cache_put++;
    }
    return rc;
}

static int cache_drop(run_ctx *c, const char *rel, dsr_err *err)
{
    int rc = ensure_batch(c, err);
    if (!rc)
        rc = dsr_scan_cache_delete(c->batch, c->slug, rel, err);
    if (!rc) {
        c->cache_ops++;
        c->st->cache_del++;
    }
    return rc;
}

/* ---- changed mode ---------------------------------------------------------- */

int record_cmp_path_key(const char *pa, const char *ka, const char *pb, const char *kb)
{
    int r = strcmp(pa, pb);
    return r ? r : strcmp(ka, kb);
}

int record_cmp_prev(const void *x, const void *y)
{
    const dsr_record_prev *a = *(const dsr_record_prev *const *)x;
    const dsr_record_prev *b = *(const dsr_record_prev *const *)y;
    return record_cmp_path_key(a->relative_path, a->artifact_key, b->relative_path,
                               b->artifact_key);
}

static int cmp_art(const void *x, const void *y)
{
    const dsr_artifact *a = *(const dsr_artifact *const *)x;
    const dsr_artifact *b = *(const dsr_artifact *const *)y;
    return record_cmp_path_key(a->relative_path, a->artifact_key, b->relative_path,
                               b->artifact_key);
}

int record_cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int record_is_missing_event(const dsr_artifact *a)
{
    return !a->present && a->required && a->blocking;
}

/* The run's plan: artifacts in (path, key) order, the keys it reports
 * missing (sorted), and prev in (path, key) order. */
typedef struct plan {
    const dsr_artifact    **arts;
    size_t                  n_arts;
    const char            **missing_keys;
    size_t                  n_missing_keys;
    const dsr_record_prev **prev;
    size_t                  n_prev;
} plan;

static void plan_free(plan *p)
{
    free(p->arts);
    free(p->missing_keys);
    free(p->prev);
}

static int plan_make(const dsr_scan_result *r, const dsr_record_opts *o, plan *p, dsr_err *err)
{
    memset(p, 0, sizeof *p);
    size_t n = r->n_artifacts;
    p->arts = malloc((n ? n : 1) * sizeof *p->arts);
    p->missing_keys = malloc((n ? n : 1) * sizeof *p->missing_keys);
    p->prev = malloc((o->n_prev ? o->n_prev : 1) * sizeof *p->prev);
    if (!p->arts || !p->missing_keys || !p->prev) {
        plan_free(p);
        return dsr_err_set(err, DSR_ENOMEM, "recording the scan: out of memory");
    }
    int sorted = 1;
    for (size_t i = 0; i < n; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        p->arts[p->n_arts++] = a;
        if (i && sorted && cmp_art(&p->arts[i - 1], &p->arts[i]) > 0)
            sorted = 0;
        if (record_is_missing_event(a))
            p->missing_keys[p->n_missing_keys++] = a->artifact_key;
    }
    if (!sorted)    /* dsr_scan sorts; other producers may not */
        qsort(p->arts, p->n_arts, sizeof *p->arts, cmp_art);
    qsort(p->missing_keys, p->n_missing_keys, sizeof *p->missing_keys, record_cmp_str);
    sorted = 1;
    for (size_t i = 0; i < o->n_prev; i++) {
        p->prev[p->n_prev++] = &o->prev[i];
        if (i && sorted && record_cmp_prev(&p->prev[i - 1], &p->prev[i]) > 0)
            sorted = 0;
    }
    /* a snapshot lists its set by (key, path): the same order when every key
     * is derived from its path, as in a tree without a manifest */
    if (!sorted)
        qsort(p->prev, p->n_prev, sizeof *p->prev, record_cmp_prev);
    return 0;
}

static int key_missing(const plan *p, const char *key)
{
    return p->n_missing_keys &&
           bsearch(&key, p->missing_keys, p->n_missing_keys, sizeof *p->missing_keys, record_cmp_str);
}

/* ---- one artifact ------------------------------------------------------------- */

/* Full mode: indexed per present artifact, missing per required blocking
 * unusable one.  Changed mode: see dossier/record.h; *pi walks prev. */
static int record_artifact(run_ctx *c, const plan *p, int changed, size_t *pi,
                           const dsr_artifact *a, dsr_err *err)
{
    int rc = 0;
    if (!a->present) {
        if (record_is_missing_event(a) && (rc = ensure_batch(c, err)) == 0)
            rc = emit_missing(c, a, err);
        /* a file of invalid UTF-8 keeps an entry (unless it is unchanged
         * from the cache already), so an unchanged one is not read again;
         * any other unusable file (not a never-found pattern) must be
         * re-read */
        if ((rc == 0 || rc == DSR_ESCHEMA) && c->cache && a->reason != DSR_REASON_NOT_FOUND
            && a->reason != DSR_REASON_EXCLUDED) {
            int rc2 = a->utf8_invalid ? cache_keep_invalid(c, a, err)
                                      : cache_drop(c, a->relative_path, err);
            if (rc2)
                return rc2;
        }
        return rc;
    }
    if ((rc = ensure_batch(c, err)))
        return rc;
    if (!changed) {
        rc = emit_indexed(c, a, err);
        if (rc && rc != DSR_ESCHEMA)
            return rc;
        int rc2 = cache_keep(c, a, rc == 0 || a->cache_use != DSR_CACHE_MISS, err);
        return rc2 ? rc2 : rc;
    }
    /* changed mode: prev entries before a are gone */
    while (*pi < p->n_prev &&
           record_cmp_path_key(p->prev[*pi]->relative_path, p->prev[*pi]->artifact_key,
                        a->relative_path, a->artifact_key) < 0) {
        rc = emit_removed(c, p->prev[(*pi)++], err);
        if (rc && rc != DSR_ESCHEMA)
            return rc;
        if ((rc = ensure_batch(c, err)))
            return rc;
    }
    const dsr_record_prev *match = NULL;
    if (*pi < p->n_prev && !strcmp(p->prev[*pi]->relative_path, a->relative_path) &&
        !strcmp(p->prev[*pi]->artifact_key, a->artifact_key))
        match = p->prev[*pi];
    int known = a->cache_use != DSR_CACHE_MISS ||
                (match && !strcmp(match->sha256, a->sha256));
    if (key_missing(p, a->artifact_key)) {
        /* not in the new set (its key is reported missing): if it was in
         * prev, the match stays unconsumed and is emitted as removed */
        return cache_keep(c, a, known, err);
    }
    if (match)
        (*pi)++;
    if (match && !strcmp(match->sha256, a->sha256) &&
        !strcmp(match->artifact_class, a->artifact_class) &&
        !match->required == !a->required) {
        c->st->unchanged++;
        return cache_keep(c, a, 1, err);
    }
    rc = emit_indexed(c, a, err);
    if (rc && rc != DSR_ESCHEMA)
        return rc;
    int rc2 = cache_keep(c, a, rc == 0 || known, err);
    return rc2 ? rc2 : rc;
}

static int emit_completed(run_ctx *c, const dsr_scan_result *r, const dsr_record_opts *o,
                          dsr_err *err)
{
    dsr_scan_completed p = {
        .feature_slug = r->feature_slug,
        .mission_type = r->has_manifest ? o->mission_type : NULL,
        .manifest_version = r->has_manifest ? o->manifest_version : NULL,
        .step_id = o->step_id,
        .target_branch = o->target_branch ? o->target_branch : "main",
        .emit_mode = o->emit_changed ? "changed" : "full",
        .indexed_count = (int64_t)c->st->indexed,
        .missing_count = (int64_t)c->st->missing,
        .removed_count = (int64_t)c->st->removed,
        .optional_absent = (int64_t)r->n_optional_absent,
        /* wp04 leaves the field out: its events keep their bytes */
        .profile = r->profile == DSR_PROFILE_WP04 ? NULL : dsr_profile_name(r->profile),
    };
    if (o->version >= 2) {   /* the settings the next scan may reuse */
        p.manifest_path = r->has_manifest ? o->manifest_path : NULL;
        p.manifest_sha256 = p.manifest_path ? o->manifest_sha256 : NULL;
        p.excludes = o->excludes;
        p.n_excludes = o->n_excludes;
    }
    dsr_emit_result res;
    int rc = dsr_emit_scan_completed(c->batch, &p, &c->meta, &res, err);
    if (!rc)
        note_seq(c, &res);
    return rc;
}

/* ---- a run from start to end ----------------------------------------------- */

/* An artifact of the scan's manifest that no file matched: the result
 * gets it only at the end of the walk. */
static int is_ghost(const dsr_artifact *a)
{
    return !a->present && (a->reason == DSR_REASON_NOT_FOUND || a->reason == DSR_REASON_EXCLUDED);
}

struct record_stream {
    run_ctx               c;
    const dsr_record_opts *o;
    int                   bound;    /* c has taken the result's fields */
    int                   large;    /* the memtables were limited */
};

static int run_begin(dsr_log *log, const dsr_record_opts *o, dsr_record_stats *st,
                     run_ctx *c, dsr_err *err)
{
    int vrc = report_version_reset(st, sizeof *st, DSR_RECORD_STATS_VERSION, "dsr_record_stats",
                                   "DSR_RECORD_STATS_INIT", err);
    if (vrc)
        return vrc;
    vrc = opts_version_check(o->version, DSR_RECORD_OPTS_VERSION, "dsr_record_opts",
                             "DSR_RECORD_OPTS_INIT", err);
    if (vrc)
        return vrc;
    int rc = dsr_ulid_new(dsr_log_ulid_gen(log), st->run_id);
    if (rc)
        return dsr_err_set(err, rc, "cannot create a run id");
    *c = (run_ctx){
        .log = log, .batch = NULL,
        .batch_max = o->batch_events ? o->batch_events : DEFAULT_BATCH_EVENTS,
        .meta = { .correlation_id = st->run_id },
        .st = st, .cache = o->cache,
    };
    dsr_err_clear(&c->refused);
    return 0;
}

/* The fields of the scan result a run takes (all final from the first
 * artifact handed on). */
static int run_bind(run_ctx *c, const dsr_scan_result *r, dsr_err *err)
{
    if (c->cache && strcmp(dsr_scan_cache_feature(c->cache), r->feature_slug) != 0)
        return dsr_err_set(err, DSR_EINVAL, "scan cache of feature %s given for a scan of %s",
                           dsr_scan_cache_feature(c->cache), r->feature_slug);
    c->slug = r->feature_slug;
    c->started_ns = r->started_ns;
    c->profile = r->profile;
    return 0;
}

/* Stale cache entries, then the completion marker in the last batch (or,
 * when an event was refused, no marker). */
static int run_end(run_ctx *c, const dsr_scan_result *r, const dsr_record_opts *o,
                   dsr_err *err)
{
    int rc = 0;
    for (size_t i = 0; c->cache && i < dsr_scan_cache_stale_count(c->cache); i++)
        if ((rc = cache_drop(c, dsr_scan_cache_stale_at(c->cache, i), err)))
            return rc;
    if (c->st->refused) {
        /* Never mark a run complete when one of its events was refused. */
        if (c->batch ? (rc = commit_batch(c, 1, err)) : (rc = dsr_log_commit_wait(c->log, err)))
            return rc;
        *err = c->refused;
        return dsr_err_prefix(err, "run %s left incomplete (%llu event(s) refused)",
                              c->st->run_id, (unsigned long long)c->st->refused);
    }
    if ((rc = ensure_batch(c, err)) || (rc = emit_completed(c, r, o, err)))
        return rc;
    if ((rc = commit_batch(c, 1, err)))
        return rc;
    log_flush_start(c->log);
    c->st->completed = 1;
    return 0;
}

/* A failed run: the open batch goes, the one in flight is waited for. */
static void run_abort(run_ctx *c)
{
    dsr_log_batch_abort(c->batch);
    c->batch = NULL;
    (void)dsr_log_commit_wait(c->log, NULL);   /* the caller has the error */
}

int record_stream_begin(dsr_log *log, const dsr_record_opts *o, dsr_record_stats *st,
                        record_stream **out, dsr_err *err)
{
    *out = NULL;
    if (o->emit_changed)
        return dsr_err_set(err, DSR_EINVAL, "recording while scanning: full emission only");
    record_stream *s = calloc(1, sizeof *s);
    if (!s)
        return dsr_err_set(err, DSR_ENOMEM, "recording the scan: out of memory");
    int rc = run_begin(log, o, st, &s->c, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->o = o;
    *out = s;
    return 0;
}

int record_stream_add(record_stream *s, const dsr_scan_result *r, size_t from, size_t to,
                      dsr_err *err)
{
    int rc;
    if (!s->bound && (rc = run_bind(&s->c, r, err)))
        return rc;
    s->bound = 1;
    /* A very large run writes faster than RocksDB flushes; small write
     * buffers bound the memtables waiting for their flush (docs/bench.md). */
    if (!s->large && to >= DSR_INGEST_LARGE_RUN) {
        if ((rc = dsr_log_limit_memtables(s->c.log, err)))
            return rc;
        s->large = 1;
    }
    plan none;
    memset(&none, 0, sizeof none);
    size_t pi = 0;
    for (size_t i = from; i < to; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (is_ghost(a))
            continue;       /* recorded by record_stream_finish, after the rest */
        rc = record_artifact(&s->c, &none, 0, &pi, a, err);
        if (rc && rc != DSR_ESCHEMA)
            return rc;
    }
    return 0;
}

int record_stream_finish(record_stream *s, const dsr_scan_result *r, dsr_err *err)
{
    int rc = 0;
    if (!s->bound && (rc = run_bind(&s->c, r, err)))
        goto out;
    s->bound = 1;
    plan none;
    memset(&none, 0, sizeof none);
    size_t pi = 0;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        if (!is_ghost(&r->artifacts[i]))
            continue;
        rc = record_artifact(&s->c, &none, 0, &pi, &r->artifacts[i], err);
        if (rc && rc != DSR_ESCHEMA)
            goto out;
    }
    rc = run_end(&s->c, r, s->o, err);
out:
    if (rc && rc != DSR_ESCHEMA)
        run_abort(&s->c);
    free(s);
    return rc;
}

void record_stream_abort(record_stream *s)
{
    if (!s)
        return;
    run_abort(&s->c);
    free(s);
}

int dsr_record_scan(dsr_log *log, const dsr_scan_result *r, const dsr_record_opts *o,
                    dsr_record_stats *st, dsr_err *err)
{
    if (!o->emit_changed) {
        /* full emission: the artifacts in the result's order, then the ones
         * no file matched -- the order of a run recorded while scanning */
        record_stream *s;
        int rc = record_stream_begin(log, o, st, &s, err);
        if (rc)
            return rc;
        if ((rc = record_stream_add(s, r, 0, r->n_artifacts, err)) && rc != DSR_ESCHEMA) {
            record_stream_abort(s);
            return rc;
        }
        return record_stream_finish(s, r, err);
    }
    run_ctx c;
    int rc = run_begin(log, o, st, &c, err);
    if (rc || (rc = run_bind(&c, r, err)))
        return rc;
    plan p;
    if ((rc = plan_make(r, o, &p, err)))
        return rc;
    size_t pi = 0;
    for (size_t i = 0; i < p.n_arts; i++) {
        rc = record_artifact(&c, &p, 1, &pi, p.arts[i], err);
        if (rc && rc != DSR_ESCHEMA)
            goto fail;
    }
    while (pi < p.n_prev) {
        rc = emit_removed(&c, p.prev[pi++], err);
        if (rc && rc != DSR_ESCHEMA)
            goto fail;
    }
    plan_free(&p);
    if ((rc = run_end(&c, r, o, err)) && rc != DSR_ESCHEMA)
        run_abort(&c);
    return rc;
fail:
    plan_free(&p);
    run_abort(&c);
    return rc;
}

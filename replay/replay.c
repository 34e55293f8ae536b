/*
 * replay.c - the projection registry and the public entry points: run,
 * catch up, verify and dump (replay_drive.c is the driver they share;
 * proj_ctx.c what the projections get from it).
 *
 * Invariants:
 *   - a projection's state rows, its checkpoint ("ckpt" in its family) and
 *     the derived events it emits for a chunk of events are written in ONE
 *     WriteBatch (dsr_log_batch_commit: atomic, fsynced).  A crash therefore
 *     leaves either the whole chunk applied (checkpoint moved) or none of it
 *     (checkpoint unchanged, events not emitted): never an event applied
 *     twice or skipped.
 *   - between chunks a projection keeps nothing in memory that is not also
 *     committed (flush() persists open work), so a chunk boundary is a valid
 *     restart point;
 *   - each record is decoded once, by the pass's reader thread
 *     (replay_feed.c, record_view.c: the log validated it at append, so
 *     replay does not re-validate; a type no projection of the pass folds
 *     is read only as far as its type), and offered to every projection whose
 *     checkpoint is behind it, in registry order (snapshot before drift, so
 *     drift can read what snapshot wrote for an earlier event of the pass);
 *   - the driver loops until no projection is behind the head: derived events
 *     appended by a pass are passed over by the next, so all checkpoints end
 *     equal to the final head whatever the chunking.
 */
#include "replay.h"
#include "opts_version.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const proj_ops *const registry[] = { &proj_snapshot_ops, &proj_drift_ops };
#define N_PROJ (sizeof registry / sizeof registry[0])

size_t dsr_replay_projection_count(void) { return N_PROJ; }

const char *dsr_replay_projection_name(size_t i)
{
    return i < N_PROJ ? registry[i]->name : NULL;
}

const proj_ops *replay_find_ops(const char *name)
{
    for (size_t i = 0; i < N_PROJ; i++)
        if (!strcmp(registry[i]->name, name))
            return registry[i];
    return NULL;
}

int dsr_replay_projection_known(const char *name)
{
    return name && replay_find_ops(name) != NULL;
}

int dsr_replay_checkpoint(dsr_log *log, const char *projection, uint64_t *seq, dsr_err *err)
{
    if (!log || !projection || !seq)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_checkpoint: NULL argument");
    if (!replay_find_ops(projection))
        return dsr_err_set(err, DSR_EINVAL, "unknown projection '%s'", projection);
    char cf[48];
    proj_cf_name(projection, 0, cf);
    return replay_read_ckpt(log, cf, seq, err);
}


/* ---- contexts ---------------------------------------------------------------- */

typedef struct ctx_set {
    proj_ctx  ctx[N_PROJ];
    proj_ctx *list[N_PROJ];
    size_t    n;
} ctx_set;

static void ctxs_close(ctx_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        proj_ctx *c = s->list[i];
        c->ops->fini(c);
        ps_free(&c->st);
        dsr_buf_free(&c->scratch);
    }
    s->n = 0;
}

/* Projections a run of `name` needs: itself and the ones before it that it
 * reads (drift reads snapshot).  want[i] = 1 for each. */
static int select_projs(const char *projection, int want[N_PROJ], dsr_err *err)
{
    memset(want, 0, N_PROJ * sizeof *want);
    if (!projection || !strcmp(projection, "all")) {
        for (size_t i = 0; i < N_PROJ; i++)
            want[i] = 1;
        return 0;
    }
    for (size_t i = 0; i < N_PROJ; i++)
        if (!strcmp(registry[i]->name, projection)) {
            want[i] = 1;
            if (registry[i] == &proj_drift_ops)
                want[0] = 1;   /* registry[0] is the snapshot projection */
            return 0;
        }
    return dsr_err_set(err, DSR_EINVAL, "unknown projection '%s' (known: snapshot, drift, all)",
                       projection);
}

/* Open contexts for the wanted projections.  verify_mask[i]: build into the
 * scratch family of projection i (live otherwise). */
static int ctxs_open(ctx_set *s, dsr_log *log, const int want[N_PROJ],
                     const int verify_mask[N_PROJ], dsr_replay_stats *stats,
                     dsr_replay_diff_fn fn, void *ud, dsr_err *err)
{
    memset(s, 0, sizeof *s);
    int snap_verify = verify_mask[0] && want[0];
    for (size_t i = 0; i < N_PROJ; i++) {
        if (!want[i])
            continue;
        proj_ctx *c = &s->ctx[i];
        c->ops = registry[i];
        c->log = log;
        c->verify = verify_mask[i];
        c->stats = stats;
        c->diff_fn = fn;
        c->diff_ud = ud;
        proj_cf_name(c->ops->name, c->verify, c->cf);
        proj_cf_name(registry[0]->name, snap_verify, c->snap_cf);
        ps_init(&c->st, log, c->cf);
        /* drift reads snapshot rows through the snapshot context when both run
         * in this set: rows written earlier in the same chunk are only there */
        if (i > 0 && want[0])
            c->snap = &s->ctx[0];
        s->list[s->n++] = c;
        int rc = c->verify ? 0 : replay_read_ckpt(log, c->cf, &c->ckpt, err);
        /* A checkpoint is a sequence the projection applied, so it never
         * passes the head; one that does means events it saw are gone. */
        if (!rc && c->ckpt > dsr_log_head(log))
            rc = dsr_err_set(err, DSR_ECORRUPT, "%s: projection %s checkpoint %llu is past the "
                             "log's head %llu (run `dossier verify --repair`)", dsr_log_dir(log),
                             c->ops->name, (unsigned long long)c->ckpt,
                             (unsigned long long)dsr_log_head(log));
        if (!rc)
            rc = c->ops->init(c, err);
        if (rc) {
            c->ops->fini(c);
            ps_free(&c->st);
            s->n--;
            ctxs_close(s);
            return rc;
        }
    }
    return 0;
}

int dsr_replay_run(dsr_log *log, const char *projection, const dsr_replay_opts *opts,
                   dsr_replay_stats *stats, dsr_err *err)
{
    if (!log)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_run: NULL log");
    if (opts && opts_version_check(opts->version, DSR_REPLAY_OPTS_VERSION, "dsr_replay_opts",
                                   "DSR_REPLAY_OPTS_INIT", err))
        return DSR_EINVAL;
    if (stats && opts_version_check(stats->version, DSR_REPLAY_STATS_VERSION, "dsr_replay_stats",
                                    "DSR_REPLAY_STATS_INIT", err))
        return DSR_EINVAL;
    unsigned flags = opts ? opts->flags : 0;
    int want[N_PROJ], clear[N_PROJ], none[N_PROJ] = {0};
    int rc = select_projs(projection, want, err);
    if (rc)
        return rc;
    if (flags & DSR_REPLAY_FROM_ZERO) {
        /* Only the named projection(s) are rebuilt; a dependency pulled in
         * (snapshot for drift) is just caught up. */
        int named = projection && strcmp(projection, "all");
        for (size_t i = 0; i < N_PROJ; i++) {
            clear[i] = want[i] && (!named || !strcmp(registry[i]->name, projection));
            if (!clear[i])
                continue;
            char cf[48];
            proj_cf_name(registry[i]->name, 0, cf);
            /* One atomic write: a crash leaves the old state or none, never a mix. */
            if ((rc = dsr_log_clear_cf(log, cf, err)))
                return rc;
        }
    }
    ctx_set s;
    if ((rc = ctxs_open(&s, log, want, none, stats, NULL, NULL, err)))
        return rc;
    rc = replay_drive(log, s.list, s.n, opts ? opts->chunk_events : 0, stats, err);
    ctxs_close(&s);
    return rc;
}

int dsr_replay_catch_up(dsr_log *log, dsr_replay_stats *stats, dsr_err *err)
{
    return dsr_replay_run(log, NULL, NULL, stats, err);
}

/* ---- verify -------------------------------------------------------------------- */

static void print_key(char *out, size_t n, const void *key, size_t klen)
{
    const unsigned char *k = key;
    size_t o = 0;
    for (size_t i = 0; i < klen && o + 5 < n; i++) {
        if (k[i] == 0)
            out[o++] = '/';
        else if (k[i] >= 0x20 && k[i] < 0x7f)
            out[o++] = (char)k[i];
        else
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", k[i]);
    }
    out[o] = '\0';
}

/* Compare two families row by row (both iterated in key order). */
static int compare_cfs(proj_ctx *c, const char *live_cf, dsr_err *err)
{
    dsr_log_iter *a = NULL, *b = NULL;
    int rc = dsr_log_iter_cf(c->log, live_cf, NULL, 0, &a, err);
    if (!rc)
        rc = dsr_log_iter_cf(c->log, c->cf, NULL, 0, &b, err);
    const void *ka = NULL, *va = NULL, *kb = NULL, *vb = NULL;
    size_t kal = 0, val = 0, kbl = 0, vbl = 0;
    int ha = 0, hb = 0;
    if (!rc && (ha = dsr_log_iter_next(a, &ka, &kal, &va, &val, err)) < 0)
        rc = ha;
    if (!rc && (hb = dsr_log_iter_next(b, &kb, &kbl, &vb, &vbl, err)) < 0)
        rc = hb;
    char pk[256];
    while (!rc && (ha > 0 || hb > 0)) {
        int cmp;
        if (ha <= 0)
            cmp = 1;
        else if (hb <= 0)
            cmp = -1;
        else {
            size_t m = kal < kbl ? kal : kbl;
            cmp = memcmp(ka, kb, m);
            if (!cmp)
                cmp = kal < kbl ? -1 : kal > kbl;
        }
        if (cmp < 0) {
            print_key(pk, sizeof pk, ka, kal);
            proj_diff(c, "row %s is in the live state but not in the rebuild", pk);
        } else if (cmp > 0) {
            print_key(pk, sizeof pk, kb, kbl);
            proj_diff(c, "row %s is missing from the live state", pk);
        } else if (val != vbl || memcmp(va, vb, val)) {
            print_key(pk, sizeof pk, ka, kal);
            proj_diff(c, "row %s differs (live %zu bytes, rebuild %zu bytes)", pk, val, vbl);
        }
        if (cmp <= 0 && (ha = dsr_log_iter_next(a, &ka, &kal, &va, &val, err)) < 0)
            rc = ha;
        if (!rc && cmp >= 0 && (hb = dsr_log_iter_next(b, &kb, &kbl, &vb, &vbl, err)) < 0)
            rc = hb;
    }
    dsr_log_iter_free(a);
    dsr_log_iter_free(b);
    return rc;
}

int dsr_replay_verify(dsr_log *log, const char *projection, dsr_replay_diff_fn fn,
                      void *ud, size_t *n_diff, dsr_err *err)
{
    if (!log)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_verify: NULL log");
    int want[N_PROJ], verify[N_PROJ];
    int rc = select_projs(projection, want, err);
    if (rc)
        return rc;
    int named = projection && strcmp(projection, "all");
    for (size_t i = 0; i < N_PROJ; i++) {
        /* A dependency pulled in for a named projection is read live, not rebuilt. */
        verify[i] = want[i] && (!named || !strcmp(registry[i]->name, projection));
        want[i] = verify[i];
        if (!verify[i])
            continue;
        char cf[48];
        proj_cf_name(registry[i]->name, 1, cf);
        if ((rc = dsr_log_clear_cf(log, cf, err)))   /* leftovers of an interrupted verify */
            return rc;
    }
    ctx_set s;
    if ((rc = ctxs_open(&s, log, want, verify, NULL, fn, ud, err)))
        return rc;
    for (size_t i = 0; i < s.n && !rc; i++) {
        char live[48];
        proj_cf_name(s.list[i]->ops->name, 0, live);
        uint64_t stop;
        rc = replay_read_ckpt(log, live, &stop, err);
        /* Rebuild exactly as far as the live state went.  A live checkpoint
         * of 0 means nothing was applied: stop before sequence 1. */
        s.list[i]->stop = stop;
        s.list[i]->has_stop = 1;
    }
    if (!rc)
        rc = replay_drive(log, s.list, s.n, 0, NULL, err);
    size_t total = 0;
    for (size_t i = 0; i < s.n && !rc; i++) {
        proj_ctx *c = s.list[i];
        char live[48];
        proj_cf_name(c->ops->name, 0, live);
        rc = compare_cfs(c, live, err);
    }
    for (size_t i = 0; i < s.n; i++)
        total += s.list[i]->n_diff;
    ctxs_close(&s);
    for (size_t i = 0; i < N_PROJ && !rc; i++) {
        if (!verify[i])
            continue;
        char cf[48];
        proj_cf_name(registry[i]->name, 1, cf);
        rc = dsr_log_clear_cf(log, cf, err);
    }
    if (n_diff)
        *n_diff = total;
    return rc;
}

/* ---- dump ------------------------------------------------------------------------ */

int dsr_replay_dump(dsr_log *log, const char *projection, dsr_replay_row_fn fn, void *ud,
                    dsr_err *err)
{
    if (!log || !fn)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_dump: NULL argument");
    int want[N_PROJ];
    int rc = select_projs(projection, want, err);
    if (rc)
        return rc;
    int named = projection && strcmp(projection, "all");
    for (size_t i = 0; i < N_PROJ && !rc; i++) {
        if (!want[i] || (named && strcmp(registry[i]->name, projection)))
            continue;
        char cf[48];
        proj_cf_name(registry[i]->name, 0, cf);
        dsr_log_iter *it = NULL;
        if ((rc = dsr_log_iter_cf(log, cf, NULL, 0, &it, err)))
            break;
        for (;;) {
            const void *k, *v;
            size_t kl, vl;
            int r = dsr_log_iter_next(it, &k, &kl, &v, &vl, err);
            if (r <= 0) {
                rc = r;
                break;
            }
            if ((r = fn(ud, registry[i]->name, k, kl, v, vl))) {
                rc = r;
                break;
            }
        }
        dsr_log_iter_free(it);
    }
    return rc;
}

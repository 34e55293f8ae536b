/*
 * replay.c - the projection registry and the driver that feeds log events to
 * projections, in sequence order, from their checkpoints.
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
 *     replay does not re-validate), and offered to every projection whose
 *     checkpoint is behind it, in registry order (snapshot before drift, so
 *     drift can read what snapshot wrote for an earlier event of the pass);
 *   - the driver loops until no projection is behind the head: derived events
 *     appended by a pass are passed over by the next, so all checkpoints end
 *     equal to the final head whatever the chunking.
 */
#include "replay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Events per committed chunk: large enough that the fsync per commit is
 * amortised over tens of thousands of events, small enough that a chunk's
 * working state (run entries, cached sets) stays in the tens of megabytes. */
#define REPLAY_CHUNK_EVENTS 65536u   /* default; dsr_replay_opts.chunk_events */
/* ...and a chunk also ends once the rows it wrote or read (artifact sets
 * mostly) pass this size, which bounds memory whatever the scans look like. */
#define REPLAY_CHUNK_BYTES (48u * 1024u * 1024u)
/* ...but a chunk may run on to this many times chunk_events while a scan run
 * is still open in it (chunk_may_end). */
#define REPLAY_CHUNK_STRETCH 4u

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

void proj_cf_name(const char *proj, int verify, char out[48])
{
    snprintf(out, 48, "%s_%s", verify ? "verify" : "proj", proj);
}

int replay_read_ckpt(dsr_log *log, const char *cf, uint64_t *seq, dsr_err *err)
{
    dsr_buf v = DSR_BUF_INIT;
    int rc = dsr_log_get(log, cf, PK_CKPT, strlen(PK_CKPT), &v, err);
    *seq = 0;
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        rc = 0;
    } else if (!rc) {
        if (v.len != 8)
            rc = dsr_err_set(err, DSR_ECORRUPT, "%s: checkpoint row is %zu bytes (expected 8)",
                             cf, v.len);
        else
            *seq = dsr_seq_from_key(v.data);
    }
    dsr_buf_free(&v);
    return rc;
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

/* ---- derived events ------------------------------------------------------ */

void proj_diff(proj_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->n_diff++;
    if (c->diff_fn)
        c->diff_fn(c->diff_ud, c->ops->name, msg);
}

/* Verify mode: the rebuild wants to emit event (t, payload) with id dm; the
 * live projection must already have put exactly that event in the log. */
static int check_derived(proj_ctx *c, dsr_event_type t, const void *payload,
                         const derived_meta *dm, const dsr_envelope *src, dsr_err *err)
{
    uint64_t seq;
    int rc = dsr_log_find_event(c->log, dm->event_id, &seq, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        proj_diff(c, "derived %s %s (from event %.*s) is not in the log",
                  dsr_event_type_name(t), dm->event_id, (int)src->event_id.len,
                  src->event_id.ptr);
        return 0;
    }
    if (rc)
        return rc;
    dsr_buf rec = DSR_BUF_INIT;
    rc = dsr_log_get_event(c->log, seq, &rec, err);
    if (rc) {
        dsr_buf_free(&rec);
        return rc;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    rc = dsr_record_decode(rec.data, rec.len, &u, &env, err);
    if (!rc) {
        dsr_buf mine = DSR_BUF_INIT, theirs = DSR_BUF_INIT;
        msgpack_packer pk;
        mp_packer_init(&pk, &mine);
        int prc = dsr_payload_pack(&pk, t, payload);
        mp_packer_init(&pk, &theirs);
        if (!prc && msgpack_pack_object(&pk, *env.payload))
            prc = DSR_ENOMEM;
        if (prc)
            rc = dsr_err_set(err, prc, "cannot pack derived %s %s", dsr_event_type_name(t),
                             dm->event_id);
        else if (env.type != t || mine.len != theirs.len
                 || memcmp(mine.data, theirs.data, mine.len))
            proj_diff(c, "derived %s %s (seq %llu): the log holds a different payload than "
                      "the rebuild computes", dsr_event_type_name(t), dm->event_id,
                      (unsigned long long)seq);
        dsr_buf_free(&mine);
        dsr_buf_free(&theirs);
    } else {
        dsr_err_prefix(err, "derived event %s (seq %llu)", dm->event_id,
                       (unsigned long long)seq);
    }
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
    return rc;
}

int proj_emit(proj_ctx *c, dsr_event_type t, const void *payload, const dsr_envelope *src,
              const char *correlation_id, char event_id_out[DSR_ULID_LEN + 1], dsr_err *err)
{
    derived_meta dm;
    int rc = derive_meta(c->ops->name, src, correlation_id, &dm, err);
    if (rc)
        return rc;
    if (event_id_out)
        memcpy(event_id_out, dm.event_id, DSR_ULID_LEN + 1);
    if (c->verify)
        return check_derived(c, t, payload, &dm, src, err);
    dsr_emit_result res;
    rc = dsr_emit(c->st.b, t, payload, &dm.meta, &res, err);
    if (rc)
        return dsr_err_prefix(err, "projection %s, derived from event %.*s", c->ops->name,
                              (int)src->event_id.len, src->event_id.ptr);
    if (c->stats) {
        if (res.duplicate)
            c->stats->derived_dup++;
        else
            c->stats->derived_new++;
    }
    return 0;
}

/* ---- the driver ------------------------------------------------------------ */

static uint64_t target_of(const proj_ctx *c, uint64_t head)
{
    return c->has_stop && c->stop < head ? c->stop : head;
}

static int commit_chunk(dsr_log_batch *b, proj_ctx *const *ctxs, size_t n,
                        dsr_replay_stats *stats, dsr_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        proj_ctx *c = ctxs[i];
        rc = ps_flush(&c->st, err);     /* the rows this chunk wrote, final state */
        if (rc || !c->dirty)
            continue;
        rc = c->ops->flush(c, err);
        c->dirty = 0;
        if (!rc) {
            unsigned char v[8];
            dsr_seq_key(c->ckpt, v);
            rc = dsr_log_batch_put(b, c->cf, PK_CKPT, strlen(PK_CKPT), v, 8, err);
        }
    }
    if (rc)
        dsr_log_batch_abort(b);
    else
        rc = dsr_log_batch_commit(b, err);   /* frees b either way */
    for (size_t i = 0; i < n; i++)
        ps_chunk_end(&ctxs[i]->st);
    if (!rc && stats)
        stats->commits++;
    return rc;
}

static dsr_log_batch *begin_chunk(dsr_log *log, proj_ctx *const *ctxs, size_t n, dsr_err *err)
{
    dsr_log_batch *b = NULL;
    if (dsr_log_batch_begin(log, &b, err))
        return NULL;
    for (size_t i = 0; i < n; i++)
        ctxs[i]->st.b = b;
    return b;
}

/* Whether a chunk that reached chunk_events ends here.  A chunk is cut
 * where no projection holds an open scan run, so a run is folded in one go
 * and its entries are never written out as pending rows only to be read back
 * (a 100,000-event scan caught up in one chunk replays about twice as fast
 * as one cut at 65,536).  A run longer than REPLAY_CHUNK_STRETCH chunks, or
 * a chunk past REPLAY_CHUNK_BYTES, is cut anyway: memory stays bounded. */
static int chunk_may_end(proj_ctx *const *ctxs, size_t n, size_t in_chunk, size_t chunk_events,
                         size_t cached)
{
    if (in_chunk >= chunk_events * REPLAY_CHUNK_STRETCH || cached >= REPLAY_CHUNK_BYTES)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (ctxs[i]->ops->held && ctxs[i]->ops->held(ctxs[i]))
            return 0;
    return 1;
}

/* One pass over (lo, pass_head]: records come decoded from the reader
 * thread (replay_feed.c), a slab at a time.  Returns 0 or an error (the open
 * chunk is aborted; committed chunks stay). */
static int drive_pass(dsr_log *log, proj_ctx *const *ctxs, size_t n, uint64_t lo,
                      uint64_t pass_head, size_t chunk_events, dsr_replay_stats *stats,
                      dsr_err *err)
{
    feed *f = NULL;
    int rc = feed_start(log, lo, pass_head, &f, err);
    if (rc)
        return rc;
    dsr_log_batch *b = begin_chunk(log, ctxs, n, err);
    if (!b) {
        feed_stop(f);
        return err ? err->code : DSR_EIO;
    }
    size_t in_chunk = 0;
    for (;;) {
        const feed_rec *recs;
        size_t nrec;
        if ((rc = feed_next(f, &recs, &nrec, err)) || !nrec)
            break;
        for (size_t r = 0; r < nrec && !rc; r++) {
            uint64_t seq = recs[r].seq;
            const dsr_envelope *env = &recs[r].env;
            if (stats)
                stats->events_read++;
            for (size_t i = 0; i < n && !rc; i++) {
                proj_ctx *c = ctxs[i];
                if (c->ckpt >= seq || seq > target_of(c, pass_head))
                    continue;
                if (c->ops->consumes & (1u << env->type))
                    rc = c->ops->apply(c, seq, env, &recs[r].art, err);
                c->ckpt = seq;
                c->dirty = 1;
                if (stats)
                    stats->events_applied++;
            }
            if (rc)
                break;
            size_t cached = 0;
            for (size_t i = 0; i < n; i++)
                cached += ctxs[i]->st.bytes;
            if ((++in_chunk >= chunk_events || cached >= REPLAY_CHUNK_BYTES)
                && chunk_may_end(ctxs, n, in_chunk, chunk_events, cached)) {
                rc = commit_chunk(b, ctxs, n, stats, err);
                b = NULL;
                if (rc)
                    break;
                if (!(b = begin_chunk(log, ctxs, n, err))) {
                    rc = err ? err->code : DSR_EIO;
                    break;
                }
                in_chunk = 0;
            }
        }
        if (rc)
            break;
    }
    feed_stop(f);
    if (rc) {
        if (b) {
            dsr_log_batch_abort(b);
            for (size_t i = 0; i < n; i++)
                ps_chunk_end(&ctxs[i]->st);
        }
        return rc;
    }
    return commit_chunk(b, ctxs, n, stats, err);
}

int replay_drive(dsr_log *log, proj_ctx *const *ctxs, size_t n, size_t chunk_events,
                 dsr_replay_stats *stats, dsr_err *err)
{
    if (!chunk_events)
        chunk_events = REPLAY_CHUNK_EVENTS;
    /* Each pass can only append derived events that no projection emits
     * anything for, so this ends after at most 1 + N_PROJ passes; the bound
     * turns a projection bug into an error instead of a livelock. */
    for (unsigned pass = 0;; pass++) {
        uint64_t head = dsr_log_head(log);
        uint64_t lo = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (ctxs[i]->ckpt < target_of(ctxs[i], head) && ctxs[i]->ckpt < lo)
                lo = ctxs[i]->ckpt;
        if (lo == UINT64_MAX)
            break;
        if (pass > N_PROJ + 1)
            return dsr_err_set(err, DSR_ECORRUPT, "%s: projections keep emitting events "
                               "(pass %u, head %llu)", dsr_log_dir(log), pass,
                               (unsigned long long)head);
        int rc = drive_pass(log, ctxs, n, lo, head, chunk_events, stats, err);
        if (rc)
            return rc;
    }
    if (stats)
        stats->head = dsr_log_head(log);
    return 0;
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
    unsigned flags = opts ? opts->flags : 0;
    if (!log)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_run: NULL log");
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

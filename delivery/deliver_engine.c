/*
 * deliver_engine.c - one delivery run's engine, the delivery projection: reads the event log (read-only) in
 * sequence order and POSTs each selected event to one endpoint, recording
 * progress in the delivery state store (deliver_state.c).
 *
 * Ordering.  Events are queued per feature (aggregate) in log order; only a
 * feature's head event may be in flight, and the next one is sent once the
 * head is delivered or dead-lettered.  A failing head waits for its retry
 * time and holds back its feature only; a heap of ready heads, keyed by
 * (next try, sequence), picks what to send next across features.
 *
 * Durability and the at-least-once contract.  Results are collected after
 * each round of network activity and committed in one synced WriteBatch
 * BEFORE any new request is started, so at any moment at most `concurrency`
 * events have been sent without their result on disk: after a crash only
 * those can be sent again (same webhook-id).  What the batch holds:
 *   - delivered: delete its Q entry if any, or a K marker when it lies above
 *     the cursor (so a restart does not resend it);
 *   - retry: a Q entry with attempts, first/next try, last status;
 *   - dead: a D entry (and its Q entry deleted);
 *   - the cursor: `high` advances over the contiguous prefix of events that
 *     are resolved (delivered, dead, not selected) or parked in a Q entry;
 *     K markers at or below it are then deleted (range delete).
 * A run never reorders: after a restart, Q entries at or below `high` are
 * queued first, and the log is read from high + 1 merging the Q entries
 * above it and skipping the K/D ones.
 *
 * Thread-safety: a run is single-threaded (libcurl multi drives the
 * parallel requests); `stop` may be set from a signal handler.
 */
#include "deliver.h"
#include "clock.h"
#include "array.h"

#include <assert.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dossier/log.h"
#include "dossier/sk3.h"

/* Events read ahead of the senders; bounds memory on a large backlog. */
#define READ_WINDOW 16384
/* Longest sleep between checks of the stop flag and the log. */
#define SLICE_MS 100

/* ---- in-memory queue ---------------------------------------------------------- */

typedef struct feat feat;

typedef struct item {
    uint64_t     seq;
    char         event_id[DSR_ULID_LEN + 1];
    feat        *f;
    struct item *next;         /* next event of the same feature */
    unsigned     attempts;
    uint64_t     first_ms, next_ms;
    long         last_status;
    int          persisted;    /* has a Q entry on disk */
    int          live;         /* still in its feature's queue */
    int          refs;         /* held by the cursor FIFO and/or the done list */
    int          delivered;    /* resolved by a 2xx (needs K if above high) */
} item;

struct feat {
    char  *key;                /* aggregate: the feature slug */
    item  *head, *tail;
    int    busy;               /* head is in flight */
    size_t heap_pos;           /* SIZE_MAX when not in the heap */
};

typedef struct engine {
    dsr_log               *log;
    dstate            *st;
    http_client              *http;
    const dsr_deliver_opts *o;
    dsr_endpoint_info     *ep;           /* the target's; 410 Gone disables it */
    const dsr_webhook_secret *secret;
    uint64_t               type_mask;    /* 0: every type */
    dsr_deliver_report    *rep;

    dcursor            cur;          /* as committed */
    uint64_t               r;            /* last sequence read from the log */
    dsr_log_iter          *it;
    int                    log_done;
    uint64_t               k_max;        /* highest K marker that may exist */

    uint64_t              *skip;         /* K/D sequences above high, sorted */
    size_t                 nskip, skip_pos;
    item                 **qpend;        /* Q entries above high, by sequence */
    size_t                 nqpend, qpend_pos;

    feat                 **ftab;         /* open-addressing table of features */
    size_t                 fcap, fcount;
    feat                 **heap;
    size_t                 nheap, heapcap;
    item                 **fifo;         /* unresolved, un-persisted items by seq */
    size_t                 fhead, flen, fcapq;
    item                 **done;         /* delivered since the last commit */
    size_t                 ndone, donecap;
    size_t                 live;

    dbatch            *batch;
    int                    cursor_dirty;
    int                    gone, stopping;
    uint64_t               rng;
    dsr_buf                rec, body;
    dsr_sk3_runs          *runs;         /* spec-kitty-3: each run's namespace */
} engine;

static uint64_t rng_next(engine *e)
{
    /* splitmix64: enough for jitter, seeded from getrandom per run. */
    uint64_t z = (e->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static int ftab_grow(engine *e)
{
    size_t cap = e->fcap ? e->fcap * 2 : 64;
    feat **t = calloc(cap, sizeof *t);
    if (!t)
        return DSR_ENOMEM;
    for (size_t i = 0; i < e->fcap; i++) {
        feat *f = e->ftab[i];
        if (!f)
            continue;
        size_t j = hash_str(f->key) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = f;
    }
    free(e->ftab);
    e->ftab = t;
    e->fcap = cap;
    return 0;
}

static feat *feat_get(engine *e, const char *key, size_t klen)
{
    if ((e->fcount + 1) * 4 > e->fcap * 3 && ftab_grow(e) < 0)
        return NULL;
    char tmp[512];
    if (klen >= sizeof tmp)
        klen = sizeof tmp - 1;
    memcpy(tmp, key, klen);
    tmp[klen] = '\0';
    size_t j = hash_str(tmp) & (e->fcap - 1);
    while (e->ftab[j]) {
        if (!strcmp(e->ftab[j]->key, tmp))
            return e->ftab[j];
        j = (j + 1) & (e->fcap - 1);
    }
    feat *f = calloc(1, sizeof *f);
    if (!f || !(f->key = strdup(tmp))) {
        free(f);
        return NULL;
    }
    f->heap_pos = SIZE_MAX;
    e->ftab[j] = f;
    e->fcount++;
    return f;
}

static int heap_less(const feat *a, const feat *b)
{
    if (a->head->next_ms != b->head->next_ms)
        return a->head->next_ms < b->head->next_ms;
    return a->head->seq < b->head->seq;
}

static void heap_swap(engine *e, size_t i, size_t j)
{
    feat *t = e->heap[i];
    e->heap[i] = e->heap[j];
    e->heap[j] = t;
    e->heap[i]->heap_pos = i;
    e->heap[j]->heap_pos = j;
}

static int heap_push(engine *e, feat *f)
{
    if (f->heap_pos != SIZE_MAX || f->busy || !f->head)
        return 0;
    if (ARRAY_RESERVE1(e->heap, e->nheap, e->heapcap, 64))
        return DSR_ENOMEM;
    size_t i = e->nheap++;
    e->heap[i] = f;
    f->heap_pos = i;
    while (i > 0 && heap_less(e->heap[i], e->heap[(i - 1) / 2])) {
        heap_swap(e, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return 0;
}

static feat *heap_pop(engine *e)
{
    feat *top = e->heap[0];
    e->nheap--;
    if (e->nheap > 0) {
        e->heap[0] = e->heap[e->nheap];
        e->heap[0]->heap_pos = 0;
        size_t i = 0;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < e->nheap && heap_less(e->heap[l], e->heap[m]))
                m = l;
            if (r < e->nheap && heap_less(e->heap[r], e->heap[m]))
                m = r;
            if (m == i)
                break;
            heap_swap(e, i, m);
            i = m;
        }
    }
    top->heap_pos = SIZE_MAX;
    /* Heap order: nothing left is due before what was popped. */
    assert(e->nheap == 0 || !heap_less(e->heap[0], top));
    return top;
}

static int fifo_push(engine *e, item *it)
{
    if (e->flen == e->fcapq) {
        size_t cap = e->fcapq ? e->fcapq * 2 : 256;
        item **q = malloc(cap * sizeof *q);
        if (!q)
            return DSR_ENOMEM;
        for (size_t i = 0; i < e->flen; i++)
            q[i] = e->fifo[(e->fhead + i) % e->fcapq];
        free(e->fifo);
        e->fifo = q;
        e->fhead = 0;
        e->fcapq = cap;
    }
    /* The FIFO holds items in sequence order: the cursor advances over its
     * resolved prefix. */
    assert(e->flen == 0 || e->fifo[(e->fhead + e->flen - 1) % e->fcapq]->seq < it->seq);
    e->fifo[(e->fhead + e->flen) % e->fcapq] = it;
    e->flen++;
    it->refs++;
    return 0;
}

static void item_release(item *it)
{
    if (!it->live && !it->refs)
        free(it);
}

/* Queue it at the tail of its feature (callers add items in sequence order). */
static int enqueue(engine *e, item *it, const char *feature, size_t flen)
{
    feat *f = feat_get(e, feature, flen);
    if (!f)
        return DSR_ENOMEM;
    it->f = f;
    it->live = 1;
    it->next = NULL;
    if (f->tail)
        f->tail->next = it;
    else
        f->head = it;
    f->tail = it;
    e->live++;
    return heap_push(e, f);
}

/* Remove the feature's head (it was resolved) and requeue the feature. */
static int dequeue_head(engine *e, feat *f)
{
    item *it = f->head;
    assert(it && it->live && !f->busy && !it->persisted);
    f->head = it->next;
    if (!f->head)
        f->tail = NULL;
    it->live = 0;
    it->next = NULL;
    e->live--;
    item_release(it);
    return heap_push(e, f);
}

/* ---- loading state -------------------------------------------------------------- */

static int load_q(void *ctx, const dentry *d, dsr_err *err)
{
    engine *e = ctx;
    item *it = calloc(1, sizeof *it);
    if (!it)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    it->seq = d->seq;
    memcpy(it->event_id, d->event_id, sizeof it->event_id);
    it->attempts = d->attempts;
    it->first_ms = d->first_ms;
    it->next_ms = d->next_ms;
    it->last_status = d->last_status;
    it->persisted = 1;
    if (d->seq <= e->cur.high) {
        if (enqueue(e, it, d->feature, strlen(d->feature)) < 0) {
            free(it);
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        }
        return 0;
    }
    /* Above the cursor: keep it (with its feature) until the log reader
     * reaches its sequence, so it is queued in order. */
    item **q = realloc(e->qpend, (e->nqpend + 1) * sizeof *q);
    char *fk = strdup(d->feature);
    if (!q || !fk) {
        if (q)
            e->qpend = q;
        free(fk);
        free(it);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    e->qpend = q;
    /* The feature key rides in the unused `f` slot until the item is queued. */
    it->f = (feat *)fk;
    e->qpend[e->nqpend++] = it;
    return 0;
}

static int load_skip(void *ctx, const dentry *d, dsr_err *err)
{
    engine *e = ctx;
    uint64_t *s = realloc(e->skip, (e->nskip + 1) * sizeof *s);
    if (!s)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    e->skip = s;
    e->skip[e->nskip++] = d->seq;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int load_state(engine *e, dsr_err *err)
{
    int rc = dstate_get_cursor(e->st, e->ep->name, &e->cur, err);
    if (rc == 0)
        rc = dstate_scan(e->st, DK_PENDING, e->ep->name, 0, load_q, e, err);
    if (rc == 0)
        rc = dstate_scan(e->st, DK_DONE, e->ep->name, e->cur.high + 1, load_skip, e, err);
    if (rc == 0 && e->nskip)
        e->k_max = e->skip[e->nskip - 1];
    if (rc == 0)
        rc = dstate_scan(e->st, DK_DEAD, e->ep->name, e->cur.high + 1, load_skip, e, err);
    if (rc == 0 && e->nskip > 1)
        qsort(e->skip, e->nskip, sizeof *e->skip, cmp_u64);
    e->r = e->cur.high;
    return rc;
}

/* ---- admitting events from the log ----------------------------------------------- */

static void note(engine *e, const item *it, dsr_outcome oc, long status, const char *detail,
                 uint64_t next_ms)
{
    if (!e->o->observer)
        return;
    dsr_deliver_note n = { e->ep->name, it ? it->seq : 0, it ? it->event_id : "",
                           it ? it->attempts : 0, oc, status, detail, next_ms };
    e->o->observer(e->o->observer_ctx, &n);
}

static int ensure_batch(engine *e, dsr_err *err)
{
    if (!e->batch && !(e->batch = dbatch_new(e->st)))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    return 0;
}

/* A record that does not decode cannot be delivered; it becomes a dead
 * letter at once so it is visible and does not hold anything back. */
static int dead_on_admit(engine *e, uint64_t seq, const char *id, const char *why,
                         dsr_err *err)
{
    int rc = ensure_batch(e, err);
    if (rc < 0)
        return rc;
    dentry d = { 0 };
    d.seq = seq;
    snprintf(d.event_id, sizeof d.event_id, "%s", id);
    d.feature = "";
    d.dead_ms = clock_now_ms();
    d.reason = why;
    if (dbatch_put_entry(e->batch, DK_DEAD, e->ep->name, &d) < 0)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    e->rep->dead++;
    item tmp = { 0 };
    tmp.seq = seq;
    snprintf(tmp.event_id, sizeof tmp.event_id, "%s", id);
    note(e, &tmp, DSR_OUTCOME_DEAD, 0, why, 0);
    return 0;
}

/* Read events after r into the per-feature queues, up to the window. */
static int admit(engine *e, dsr_err *err)
{
    while (!e->log_done && e->live < READ_WINDOW) {
        if (!e->it) {
            int rc = dsr_log_iter_events(e->log, e->r + 1, &e->it, err);
            if (rc < 0)
                return rc;
        }
        const void *k, *v;
        size_t kl, vl;
        int got = dsr_log_iter_next(e->it, &k, &kl, &v, &vl, err);
        if (got < 0)
            return got;
        if (got == 0) {
            dsr_log_iter_free(e->it);
            e->it = NULL;
            e->log_done = 1;
            break;
        }
        uint64_t seq = dsr_seq_from_key(k);
        assert(seq > e->r);    /* the log is read once, in order */
        e->r = seq;
        /* Q entries above the old cursor take their place in sequence order. */
        while (e->qpend_pos < e->nqpend && e->qpend[e->qpend_pos]->seq <= seq) {
            item *it = e->qpend[e->qpend_pos++];
            char *fk = (char *)it->f;
            int rc = enqueue(e, it, fk, strlen(fk));
            free(fk);
            if (rc < 0)
                return dsr_err_set(err, DSR_ENOMEM, "out of memory");
            if (it->seq == seq)
                goto next;
        }
        while (e->skip_pos < e->nskip && e->skip[e->skip_pos] < seq)
            e->skip_pos++;
        if (e->skip_pos < e->nskip && e->skip[e->skip_pos] == seq)
            continue;
        {
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            dsr_envelope env;
            dsr_err derr = { 0, "" };
            int rc = dsr_record_decode(v, vl, &u, &env, &derr);
            if (rc < 0) {
                msgpack_unpacked_destroy(&u);
                char why[DSR_ERR_MSG_MAX + 64];
                snprintf(why, sizeof why, "record does not decode: %s", derr.msg);
                rc = dead_on_admit(e, seq, "", why, err);
                if (rc < 0)
                    return rc;
                continue;
            }
            if (e->runs && dsr_sk3_runs_note(e->runs, &env)) {
                msgpack_unpacked_destroy(&u);
                return dsr_err_set(err, DSR_ENOMEM, "out of memory");
            }
            if (!deliver_selects(e->ep, e->type_mask, &env)) {
                msgpack_unpacked_destroy(&u);
                continue;
            }
            item *it = calloc(1, sizeof *it);
            if (!it) {
                msgpack_unpacked_destroy(&u);
                return dsr_err_set(err, DSR_ENOMEM, "out of memory");
            }
            it->seq = seq;
            size_t il = env.event_id.len < DSR_ULID_LEN ? env.event_id.len : DSR_ULID_LEN;
            memcpy(it->event_id, env.event_id.ptr, il);
            it->event_id[il] = '\0';
            const dsr_str *fs = env.feature_slug.ptr ? &env.feature_slug : &env.aggregate_id;
            rc = enqueue(e, it, fs->ptr ? fs->ptr : "", fs->ptr ? fs->len : 0);
            msgpack_unpacked_destroy(&u);
            if (rc < 0 || fifo_push(e, it) < 0) {
                if (!it->live)
                    free(it);
                return dsr_err_set(err, DSR_ENOMEM, "out of memory");
            }
        }
    next:;
    }
    /* Q entries beyond the log's end (the log cannot shrink, so only after a
     * log was replaced): queue them anyway; sending reports them dead. */
    if (e->log_done && !e->o->follow) {
        while (e->qpend_pos < e->nqpend) {
            item *it = e->qpend[e->qpend_pos++];
            char *fk = (char *)it->f;
            int rc = enqueue(e, it, fk, strlen(fk));
            free(fk);
            if (rc < 0)
                return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* ---- sending -------------------------------------------------------------------------- */

static int resolve_dead(engine *e, item *it, long status, const char *reason, dsr_err *err);

static int send_one(engine *e, feat *f, dsr_err *err)
{
    item *it = f->head;
    assert(it && it->live && !f->busy && f->heap_pos == SIZE_MAX);
    dsr_buf_reset(&e->rec);
    int rc = dsr_log_get_event(e->log, it->seq, &e->rec, err);
    if (rc == DSR_ENOTFOUND) {
        f->busy = 0;
        return resolve_dead(e, it, 0, "event is no longer in the log", err);
    }
    if (rc < 0)
        return rc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    dsr_err derr = { 0 };
    if (dsr_record_decode(e->rec.data, e->rec.len, &u, &env, &derr)) {
        msgpack_unpacked_destroy(&u);
        return resolve_dead(e, it, 0, derr.code == DSR_ENOMEM ? "out of memory decoding it"
                                                              : "record does not decode", err);
    }
    /* the body is the endpoint's rendering, and the signature signs it */
    dsr_buf_reset(&e->body);
    if (e->runs) {
        rc = dsr_sk3_render(&env, e->runs, &e->body, &derr);
        msgpack_unpacked_destroy(&u);
        assert(rc != DSR_SK3_LEFT_OUT);   /* deliver_type_mask leaves them out */
        if (rc == DSR_ESCHEMA || rc == DSR_SK3_LEFT_OUT)
            return resolve_dead(e, it, 0, "event has no spec-kitty-3 rendering", err);
    } else {
        rc = dsr_msgpack_to_json(&u.data, &e->body);
        msgpack_unpacked_destroy(&u);
    }
    if (rc < 0)
        return dsr_err_set(err, DSR_ENOMEM, "event %s: out of memory", it->event_id);
    int64_t ts = (int64_t)(clock_now_ms() / 1000);
    char sig[DSR_WEBHOOK_SIG_MAX];
    if (e->secret) {
        rc = dsr_webhook_sign(e->secret, it->event_id, strlen(it->event_id), ts,
                              e->body.data, e->body.len, sig, err);
        if (rc < 0)
            return rc;
    }
    rc = http_client_post(e->http, it, it->event_id, ts, e->secret ? sig : NULL, &e->body, err);
    if (rc < 0)
        return rc;
    f->busy = 1;
    return 0;
}

static int dispatch(engine *e, uint64_t now, dsr_err *err)
{
    while (!e->stopping && !e->gone && http_client_idle_slots(e->http) > 0 && e->nheap > 0 &&
           e->heap[0]->head->next_ms <= now) {
        feat *f = heap_pop(e);
        int rc = send_one(e, f, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- results ---------------------------------------------------------------------------- */

static int entry_of(const item *it, dentry *d, const char *reason)
{
    memset(d, 0, sizeof *d);
    d->seq = it->seq;
    memcpy(d->event_id, it->event_id, sizeof d->event_id);
    d->feature = it->f ? it->f->key : "";
    d->attempts = it->attempts;
    d->first_ms = it->first_ms;
    d->next_ms = it->next_ms;
    d->last_status = it->last_status;
    d->reason = reason ? reason : "";
    return 0;
}

static int resolve_dead(engine *e, item *it, long status, const char *reason, dsr_err *err)
{
    int rc = ensure_batch(e, err);
    if (rc < 0)
        return rc;
    dentry d;
    entry_of(it, &d, reason);
    d.dead_ms = clock_now_ms();
    if (dbatch_put_entry(e->batch, DK_DEAD, e->ep->name, &d) < 0)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    if (it->persisted)
        dbatch_del_entry(e->batch, DK_PENDING, e->ep->name, it->seq);
    e->rep->dead++;
    note(e, it, DSR_OUTCOME_DEAD, status, reason, 0);
    it->persisted = 0;
    if (dequeue_head(e, it->f) < 0)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    return 0;
}

static int on_result(engine *e, const http_result *r, dsr_err *err)
{
    item *it = r->user;
    feat *f = it->f;
    /* Only a feature's head is ever in flight, one at a time. */
    assert(f->busy && f->head == it && f->heap_pos == SIZE_MAX);
    f->busy = 0;
    uint64_t now = clock_now_ms();
    it->attempts++;
    if (!it->first_ms)
        it->first_ms = now;
    it->last_status = r->status;
    e->rep->attempts++;
    uint64_t ra = UINT64_MAX;
    if (r->retry_after_set &&
        dsr_retry_after_parse(r->retry_after, strlen(r->retry_after), now, &ra) < 0)
        ra = UINT64_MAX;
    dsr_retry_decision d = dsr_retry_decide(&e->o->policy, r->has_status, r->status,
                                            it->attempts, it->first_ms, now, ra, rng_next(e));
    int rc = ensure_batch(e, err);
    if (rc < 0)
        return rc;
    char reason[DSR_ERR_MSG_MAX / 2];
    if (r->detail[0])
        snprintf(reason, sizeof reason, "%s: %s", d.reason, r->detail);
    else
        snprintf(reason, sizeof reason, "%s", d.reason);
    dentry q;
    switch (d.outcome) {
    case DSR_OUTCOME_DELIVERED:
        if (it->persisted)
            dbatch_del_entry(e->batch, DK_PENDING, e->ep->name, it->seq);
        it->persisted = 0;
        it->delivered = 1;
        e->cur.delivered++;
        e->cursor_dirty = 1;
        e->rep->delivered++;
        note(e, it, DSR_OUTCOME_DELIVERED, r->status, r->detail[0] ? r->detail : NULL, 0);
        if (ARRAY_RESERVE1(e->done, e->ndone, e->donecap, 64))
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        /* Keep it alive until the commit decides whether a K marker is
         * needed (it lies above the new cursor). */
        e->done[e->ndone++] = it;
        it->refs++;
        return dequeue_head(e, f) < 0 ? dsr_err_set(err, DSR_ENOMEM, "out of memory") : 0;
    case DSR_OUTCOME_DEAD:
        return resolve_dead(e, it, r->status, reason, err);
    case DSR_OUTCOME_GONE: {
        /* The event stays pending; the endpoint is disabled in the same
         * batch, so no process sends to it again until it is enabled. */
        it->next_ms = now;
        entry_of(it, &q, reason);
        if (dbatch_put_entry(e->batch, DK_PENDING, e->ep->name, &q) < 0)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        it->persisted = 1;
        e->ep->disabled = 1;
        e->ep->disabled_ms = now;
        free(e->ep->disabled_reason);
        e->ep->disabled_reason = strdup(reason);
        if (dbatch_put_endpoint(e->batch, e->ep) < 0)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        e->gone = 1;
        e->rep->disabled = 1;
        e->rep->failed++;
        note(e, it, DSR_OUTCOME_GONE, r->status, reason, 0);
        return 0;
    }
    case DSR_OUTCOME_RETRY:
        it->next_ms = d.next_ms;
        entry_of(it, &q, reason);
        if (dbatch_put_entry(e->batch, DK_PENDING, e->ep->name, &q) < 0)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        it->persisted = 1;
        e->rep->failed++;
        note(e, it, DSR_OUTCOME_RETRY, r->status, reason, d.next_ms);
        /* In a bounded window (after a scan) one failure is enough to know
         * the endpoint is unwell: stop sending and leave the rest pending. */
        if (e->o->budget_ms)
            e->stopping = 1;
        return heap_push(e, f) < 0 ? dsr_err_set(err, DSR_ENOMEM, "out of memory") : 0;
    }
    return 0;
}

/* Advance the cursor, write K markers for deliveries above it, and commit
 * everything gathered since the last commit in one synced batch. */
static int commit(engine *e, dsr_err *err)
{
    while (e->flen > 0) {
        item *it = e->fifo[e->fhead];
        if (it->live && !it->persisted)
            break;
        e->fhead = (e->fhead + 1) % e->fcapq;
        e->flen--;
        it->refs--;
        item_release(it);
    }
    uint64_t high = e->flen > 0 ? e->fifo[e->fhead]->seq - 1 : e->r;
    if (high < e->cur.high)
        high = e->cur.high;
    /* The cursor never passes an event that was not read. */
    assert(high == e->cur.high || high <= e->r);
    if (e->ndone > 0 || high != e->cur.high) {
        int rc = ensure_batch(e, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < e->ndone; i++) {
        item *it = e->done[i];
        if (it->seq > high) {
            dentry d = { 0 };
            d.seq = it->seq;
            dbatch_put_entry(e->batch, DK_DONE, e->ep->name, &d);
            if (it->seq > e->k_max)
                e->k_max = it->seq;
        }
        it->refs--;
        item_release(it);
    }
    e->ndone = 0;
    if (high != e->cur.high) {
        if (e->k_max > e->cur.high)
            dbatch_del_range(e->batch, DK_DONE, e->ep->name, e->cur.high + 1, high + 1);
        e->cur.high = high;
        e->cursor_dirty = 1;
    }
    if (e->cursor_dirty) {
        dbatch_put_cursor(e->batch, e->ep->name, &e->cur);
        e->cursor_dirty = 0;
    }
    if (!e->batch || dbatch_count(e->batch) == 0)
        return 0;
    dbatch *b = e->batch;
    e->batch = NULL;
    return dbatch_commit(b, err);
}

/* ---- the run ------------------------------------------------------------------------------- */

static int stop_requested(const engine *e)
{
    return e->o->stop && *e->o->stop;
}

static void engine_free(engine *e)
{
    if (e->it)
        dsr_log_iter_free(e->it);
    for (size_t i = 0; i < e->fcap; i++) {
        feat *f = e->ftab[i];
        if (!f)
            continue;
        for (item *it = f->head; it;) {
            item *nx = it->next;
            it->live = 0;
            if (!it->refs)
                free(it);
            it = nx;
        }
        free(f->key);
        free(f);
    }
    free(e->ftab);
    for (size_t i = 0; i < e->flen; i++) {
        item *it = e->fifo[(e->fhead + i) % e->fcapq];
        if (--it->refs == 0 && !it->live)
            free(it);
    }
    for (size_t i = 0; i < e->ndone; i++) {
        item *it = e->done[i];
        if (--it->refs == 0 && !it->live)
            free(it);
    }
    for (size_t i = e->qpend_pos; i < e->nqpend; i++) {
        free((char *)e->qpend[i]->f);
        free(e->qpend[i]);
    }
    free(e->qpend);
    free(e->skip);
    free(e->heap);
    free(e->fifo);
    free(e->done);
    dbatch_free(e->batch);
    dsr_buf_free(&e->rec);
    dsr_buf_free(&e->body);
    dsr_sk3_runs_free(e->runs);
}

/* spec-kitty-3: a run's namespace is in its dossier_scan_completed, written
 * after the run's artifact events, so the completions of the whole log are
 * noted before anything is sent (later ones as the log is read).  An event
 * sent while its run is still being written (follow mode, a scan of more
 * than one batch) renders its namespace as "unknown". */
static int note_all_runs(engine *e, dsr_err *err)
{
    if (dsr_sk3_runs_new(&e->runs))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    dsr_log_iter *it = NULL;
    int rc = dsr_log_iter_events(e->log, 1, &it, err);
    if (rc < 0)
        return rc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const void *k, *v;
    size_t vl;
    while ((rc = dsr_log_iter_next(it, &k, NULL, &v, &vl, err)) == 1) {
        dsr_envelope env;
        dsr_err derr = { 0 };
        if (dsr_record_decode(v, vl, &u, &env, &derr))
            continue;   /* admission dead-letters it, naming the damage */
        if (dsr_sk3_runs_note(e->runs, &env)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
            break;
        }
    }
    msgpack_unpacked_destroy(&u);
    dsr_log_iter_free(it);
    return rc < 0 ? rc : 0;
}

/* Results of one round of network activity: at most as many as slots. */
#define MAX_RESULTS DELIVER_MAX_CONCURRENCY

static int run_loop(engine *e, dsr_err *err)
{
    const dsr_deliver_opts *o = e->o;
    uint64_t start = clock_mono_ms();
    uint64_t deadline = o->budget_ms ? start + o->budget_ms : 0;
    uint64_t next_refresh = start + o->poll_ms;
    http_result *res = calloc(MAX_RESULTS, sizeof *res);
    if (!res)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    int rc = 0;
    for (;;) {
        if (stop_requested(e))
            e->stopping = 1;
        uint64_t mono = clock_mono_ms();
        if (deadline && mono >= deadline)
            e->stopping = 1;
        if (o->follow && e->log_done && !e->stopping && mono >= next_refresh) {
            next_refresh = mono + o->poll_ms;
            if ((rc = dsr_log_refresh(e->log, err)) < 0)
                break;
            if (dsr_log_head(e->log) > e->r)
                e->log_done = 0;
        }
        if (!e->stopping && !e->gone && (rc = admit(e, err)) < 0)
            break;
        if ((rc = dispatch(e, clock_now_ms(), err)) < 0)
            break;
        if (http_client_inflight(e->http) == 0) {
            if ((rc = commit(e, err)) < 0)
                break;
            if (e->stopping || e->gone)
                break;
            if (e->nheap == 0 && e->log_done) {
                if (!o->follow)
                    break;      /* everything selected is resolved */
                clock_sleep_ms(SLICE_MS < o->poll_ms ? SLICE_MS : o->poll_ms);
                continue;
            }
            if (e->nheap == 0)
                continue;      /* more to read */
            if (deadline)
                break;         /* a window does not wait out backoff */
            uint64_t now = clock_now_ms(), due = e->heap[0]->head->next_ms;
            uint64_t wait = due > now ? due - now : 0;
            clock_sleep_ms(wait < SLICE_MS ? wait : SLICE_MS);
            continue;
        }
        int wait = SLICE_MS;
        if (e->nheap > 0 && http_client_idle_slots(e->http) > 0) {
            uint64_t now = clock_now_ms(), due = e->heap[0]->head->next_ms;
            uint64_t w = due > now ? due - now : 0;
            if (w < (uint64_t)wait)
                wait = (int)w;
        }
        if (deadline) {
            uint64_t left = deadline > mono ? deadline - mono : 0;
            if (left < (uint64_t)wait)
                wait = (int)left;
        }
        size_t n = 0;
        if ((rc = http_client_poll(e->http, wait, res, MAX_RESULTS, &n, err)) < 0)
            break;
        size_t got = n;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = on_result(e, &res[i], err);
        /* Take every other answer that is already in before paying for the
         * synced commit, so one fsync covers as many results as possible. */
        while (rc == 0 && n > 0 && http_client_inflight(e->http) > 0) {
            if ((rc = http_client_poll(e->http, 0, res, MAX_RESULTS, &n, err)) < 0)
                break;
            got += n;
            for (size_t i = 0; i < n && rc == 0; i++)
                rc = on_result(e, &res[i], err);
        }
        if (rc < 0)
            break;
        /* Commit before anything new is sent: this bounds what a crash can
         * resend to the requests in flight. */
        if (got > 0 && (rc = commit(e, err)) < 0)
            break;
        if (deadline && clock_mono_ms() >= deadline && http_client_inflight(e->http) > 0) {
            /* The window is over: drop what is still in flight.  Those
             * events stay pending (their attempt is not counted) and a later
             * deliver sends them again with the same webhook-id. */
            void *users[MAX_RESULTS];
            size_t k = http_client_abandon(e->http, users, MAX_RESULTS);
            for (size_t i = 0; i < k && i < MAX_RESULTS; i++)
                ((item *)users[i])->f->busy = 0;
            e->rep->abandoned += k;
            rc = commit(e, err);
            break;
        }
    }
    free(res);
    return rc;
}

int deliver_engine_run(dsr_log *log, dstate *st, const dsr_deliver_opts *o,
                       deliver_target *t, dsr_deliver_report *rep, dsr_err *err)
{
    assert(o->concurrency >= 1 && o->concurrency <= MAX_RESULTS);
    engine e;
    memset(&e, 0, sizeof e);
    e.log = log;
    e.st = st;
    e.o = o;
    e.rep = rep;
    e.ep = t->ep;
    e.secret = t->secret;
    e.type_mask = t->type_mask;
    e.http = t->http;
    if (getrandom(&e.rng, sizeof e.rng, 0) != (ssize_t)sizeof e.rng)
        e.rng = clock_now_ms() ^ (uint64_t)(uintptr_t)&e;
    int rc = e.ep->profile == DSR_PROFILE_SPEC_KITTY_3 ? note_all_runs(&e, err) : 0;
    if (rc == 0)
        rc = load_state(&e, err);
    if (rc == 0)
        rc = run_loop(&e, err);
    engine_free(&e);
    return rc;
}

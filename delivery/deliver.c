/*
 * deliver.c - the delivery projection: reads the event log (read-only) in
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

#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dossier/log.h"

/* Events read ahead of the senders; bounds memory on a large backlog. */
#define READ_WINDOW 16384
/* Longest sleep between checks of the stop flag and the log. */
#define SLICE_MS 100

uint64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void dsr_deliver_opts_init(dsr_deliver_opts *o)
{
    memset(o, 0, sizeof *o);
    dsr_retry_policy p = DSR_RETRY_POLICY_DEFAULT;
    o->policy = p;
    o->concurrency = 4;
    o->timeout_ms = 10000;
    o->poll_ms = 250;
}

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
    dsr_endpoint_info      ep;
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
    if (e->nheap == e->heapcap) {
        size_t cap = e->heapcap ? e->heapcap * 2 : 64;
        feat **h = realloc(e->heap, cap * sizeof *h);
        if (!h)
            return DSR_ENOMEM;
        e->heap = h;
        e->heapcap = cap;
    }
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
    int rc = dstate_get_cursor(e->st, e->ep.name, &e->cur, err);
    if (rc == 0)
        rc = dstate_scan(e->st, DK_PENDING, e->ep.name, 0, load_q, e, err);
    if (rc == 0)
        rc = dstate_scan(e->st, DK_DONE, e->ep.name, e->cur.high + 1, load_skip, e, err);
    if (rc == 0 && e->nskip)
        e->k_max = e->skip[e->nskip - 1];
    if (rc == 0)
        rc = dstate_scan(e->st, DK_DEAD, e->ep.name, e->cur.high + 1, load_skip, e, err);
    if (rc == 0 && e->nskip > 1)
        qsort(e->skip, e->nskip, sizeof *e->skip, cmp_u64);
    e->r = e->cur.high;
    return rc;
}

/* ---- selection -------------------------------------------------------------------- */

int deliver_selects(const dsr_endpoint_info *ep, uint64_t type_mask,
                        const dsr_envelope *env)
{
    if (type_mask && !(type_mask & (UINT64_C(1) << env->type)))
        return 0;
    if (ep->n_features == 0)
        return 1;
    for (size_t i = 0; i < ep->n_features; i++) {
        const char *f = ep->features[i];
        if (env->feature_slug.ptr && strlen(f) == env->feature_slug.len &&
            !memcmp(f, env->feature_slug.ptr, env->feature_slug.len))
            return 1;
    }
    return 0;
}

static void note(engine *e, const item *it, dsr_outcome oc, long status, const char *detail,
                 uint64_t next_ms)
{
    if (!e->o->observer)
        return;
    dsr_deliver_note n = { e->ep.name, it ? it->seq : 0, it ? it->event_id : "",
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
    if (dbatch_put_entry(e->batch, DK_DEAD, e->ep.name, &d) < 0)
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
            if (!deliver_selects(&e->ep, e->type_mask, &env)) {
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
    dsr_buf_reset(&e->body);
    rc = dsr_msgpack_to_json(&u.data, &e->body);
    msgpack_unpacked_destroy(&u);
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
    if (dbatch_put_entry(e->batch, DK_DEAD, e->ep.name, &d) < 0)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    if (it->persisted)
        dbatch_del_entry(e->batch, DK_PENDING, e->ep.name, it->seq);
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
            dbatch_del_entry(e->batch, DK_PENDING, e->ep.name, it->seq);
        it->persisted = 0;
        it->delivered = 1;
        e->cur.delivered++;
        e->cursor_dirty = 1;
        e->rep->delivered++;
        note(e, it, DSR_OUTCOME_DELIVERED, r->status, r->detail[0] ? r->detail : NULL, 0);
        if (e->ndone == e->donecap) {
            size_t cap = e->donecap ? e->donecap * 2 : 64;
            item **dn = realloc(e->done, cap * sizeof *dn);
            if (!dn)
                return dsr_err_set(err, DSR_ENOMEM, "out of memory");
            e->done = dn;
            e->donecap = cap;
        }
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
        if (dbatch_put_entry(e->batch, DK_PENDING, e->ep.name, &q) < 0)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        it->persisted = 1;
        e->ep.disabled = 1;
        e->ep.disabled_ms = now;
        free(e->ep.disabled_reason);
        e->ep.disabled_reason = strdup(reason);
        if (dbatch_put_endpoint(e->batch, &e->ep) < 0)
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
        if (dbatch_put_entry(e->batch, DK_PENDING, e->ep.name, &q) < 0)
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
            dbatch_put_entry(e->batch, DK_DONE, e->ep.name, &d);
            if (it->seq > e->k_max)
                e->k_max = it->seq;
        }
        it->refs--;
        item_release(it);
    }
    e->ndone = 0;
    if (high != e->cur.high) {
        if (e->k_max > e->cur.high)
            dbatch_del_range(e->batch, DK_DONE, e->ep.name, e->cur.high + 1, high + 1);
        e->cur.high = high;
        e->cursor_dirty = 1;
    }
    if (e->cursor_dirty) {
        dbatch_put_cursor(e->batch, e->ep.name, &e->cur);
        e->cursor_dirty = 0;
    }
    if (!e->batch || dbatch_count(e->batch) == 0)
        return 0;
    dbatch *b = e->batch;
    e->batch = NULL;
    return dbatch_commit(b, err);
}

/* ---- the run ------------------------------------------------------------------------------- */

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);  /* EINTR (a signal) just ends the nap early */
}

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
}

/* Results of one round of network activity: at most as many as slots. */
#define MAX_RESULTS 256

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
                sleep_ms(SLICE_MS < o->poll_ms ? SLICE_MS : o->poll_ms);
                continue;
            }
            if (e->nheap == 0)
                continue;      /* more to read */
            if (deadline)
                break;         /* a window does not wait out backoff */
            uint64_t now = clock_now_ms(), due = e->heap[0]->head->next_ms;
            uint64_t wait = due > now ? due - now : 0;
            sleep_ms(wait < SLICE_MS ? wait : SLICE_MS);
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

/* Secret for the endpoint: the caller's, else the endpoint's secret file,
 * else $DOSSIER_WEBHOOK_SECRET, else none (unsigned). */
static int resolve_secret(const dsr_endpoint_info *ep, const dsr_webhook_secret *given,
                          dsr_webhook_secret *owned, const dsr_webhook_secret **out,
                          dsr_err *err)
{
    *out = NULL;
    if (given && given->key) {
        *out = given;
        return 0;
    }
    if (ep->secret_file) {
        int rc = dsr_webhook_secret_load(ep->secret_file, owned, err);
        if (rc < 0)
            return dsr_err_prefix(err, "endpoint %s", ep->name);
        *out = owned;
        return 0;
    }
    const char *env = getenv("DOSSIER_WEBHOOK_SECRET");
    if (env && *env) {
        int rc = dsr_webhook_secret_parse(env, strlen(env), "DOSSIER_WEBHOOK_SECRET", owned, err);
        if (rc < 0)
            return rc;
        *out = owned;
    }
    return 0;
}

int deliver_type_mask(const dsr_endpoint_info *ep, uint64_t *mask, dsr_err *err)
{
    *mask = 0;
    for (size_t i = 0; i < ep->n_types; i++) {
        dsr_event_type t;
        if (dsr_event_type_parse(ep->types[i], strlen(ep->types[i]), &t) < 0)
            return dsr_err_set(err, DSR_EINVAL, "endpoint %s: unknown event type '%s'",
                               ep->name, ep->types[i]);
        *mask |= UINT64_C(1) << t;
    }
    return 0;
}

/* Load the endpoint for a run: the saved one, or the ad-hoc one for o->url
 * (created on first use with its filters). */
static int load_endpoint(dstate *st, const dsr_deliver_opts *o, dsr_endpoint_info *ep,
                         dsr_err *err)
{
    if (o->endpoint)
        return dstate_get_endpoint(st, o->endpoint, ep, err);
    if (!o->url)
        return dsr_err_set(err, DSR_EINVAL, "deliver: no endpoint and no URL given");
    char name[DSR_ENDPOINT_NAME_MAX + 1];
    dsr_endpoint_adhoc_name(o->url, o->features, o->n_features, o->types, o->n_types, name);
    int rc = dstate_get_endpoint(st, name, ep, err);
    if (rc != DSR_ENOTFOUND)
        return rc;
    dsr_err_clear(err);
    memset(ep, 0, sizeof *ep);
    snprintf(ep->name, sizeof ep->name, "%s", name);
    ep->adhoc = 1;
    int oom = !(ep->url = strdup(o->url));
    if (o->n_features && !(ep->features = calloc(o->n_features, sizeof *ep->features)))
        oom = 1;
    for (size_t i = 0; !oom && i < o->n_features; i++, ep->n_features++)
        oom = !(ep->features[i] = strdup(o->features[i]));
    if (!oom && o->n_types && !(ep->types = calloc(o->n_types, sizeof *ep->types)))
        oom = 1;
    for (size_t i = 0; !oom && i < o->n_types; i++, ep->n_types++) {
        dsr_event_type t;
        if (dsr_event_type_parse(o->types[i], strlen(o->types[i]), &t) < 0) {
            endpoint_info_clear(ep);
            return dsr_err_set(err, DSR_EINVAL, "unknown event type '%s'", o->types[i]);
        }
        oom = !(ep->types[i] = strdup(dsr_event_type_name(t)));
    }
    if (oom) {
        endpoint_info_clear(ep);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    dbatch *b = dbatch_new(st);
    if (!b || dbatch_put_endpoint(b, ep) < 0) {
        dbatch_free(b);
        endpoint_info_clear(ep);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    rc = dbatch_commit(b, err);
    if (rc < 0)
        endpoint_info_clear(ep);
    return rc;
}

int deliver_run_open(dsr_log *log, dstate *st, const dsr_deliver_opts *o,
                         dsr_deliver_report *rep, dsr_err *err)
{
    memset(rep, 0, sizeof *rep);
    uint64_t t0 = clock_mono_ms();
    if (o->concurrency < 1 || o->concurrency > MAX_RESULTS)
        return dsr_err_set(err, DSR_EINVAL, "concurrency must be between 1 and %d", MAX_RESULTS);
    if (o->policy.max_attempts < 1)
        return dsr_err_set(err, DSR_EINVAL, "max attempts must be at least 1");
    engine e;
    memset(&e, 0, sizeof e);
    e.log = log;
    e.st = st;
    e.o = o;
    e.rep = rep;
    dsr_webhook_secret owned = DSR_WEBHOOK_SECRET_INIT;
    int rc = load_endpoint(st, o, &e.ep, err);
    if (rc < 0)
        return rc;
    snprintf(rep->endpoint, sizeof rep->endpoint, "%s", e.ep.name);
    if (e.ep.disabled) {
        rep->disabled = 1;
        rc = dsr_err_set(err, DSR_EINVAL, "endpoint %s is disabled (%s); run 'dossier "
                         "endpoint enable %s' once the receiver is back", e.ep.name,
                         e.ep.disabled_reason ? e.ep.disabled_reason : "410 Gone", e.ep.name);
        goto out;
    }
    if ((rc = deliver_type_mask(&e.ep, &e.type_mask, err)) < 0)
        goto out;
    if ((rc = resolve_secret(&e.ep, o->secret, &owned, &e.secret, err)) < 0)
        goto out;
    if (getrandom(&e.rng, sizeof e.rng, 0) != (ssize_t)sizeof e.rng)
        e.rng = clock_now_ms() ^ (uint64_t)(uintptr_t)&e;
    http_opts ho = { e.ep.url, o->cacert, o->timeout_ms, o->concurrency };
    if ((rc = http_client_create(&e.http, &ho, err)) < 0)
        goto out;
    if ((rc = load_state(&e, err)) < 0)
        goto out;
    rc = run_loop(&e, err);
    if (rc == 0) {
        uint64_t pend = 0, retrying = 0;
        rc = deliver_count_pending(log, st, &e.ep, &pend, &retrying, err);
        rep->pending = pend;
    }
out:
    if (e.http)
        http_client_free(e.http);
    engine_free(&e);
    endpoint_info_clear(&e.ep);
    dsr_webhook_secret_clear(&owned);
    rep->seconds = (double)(clock_mono_ms() - t0) / 1000.0;
    return rc;
}

int dsr_deliver_run(const char *logdir, const dsr_deliver_opts *o, dsr_deliver_report *rep,
                    dsr_err *err)
{
    memset(rep, 0, sizeof *rep);
    dsr_log *log = NULL;
    int rc = dsr_log_open(&log, logdir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE, err);
    if (rc < 0)
        return rc;
    dstate *st = NULL;
    rc = dstate_open(&st, logdir, 0, err);
    if (rc == 0)
        rc = deliver_run_open(log, st, o, rep, err);
    dstate_close(st);
    dsr_log_close(log);
    return rc;
}

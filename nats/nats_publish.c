/*
 * nats_publish.c - publish the event log to JetStream with a durable cursor.
 *
 * Each event after the cursor is sent with js_PublishMsgAsync to
 * `<prefix>.<feature token>.<event_type>`, body = the envelope's canonical
 * JSON, headers Nats-Msg-Id = event_id (the stream's duplicate window drops a
 * re-send) and Nats-Expected-Stream = our stream (never land in another one).
 *
 * Ordering and the cursor: events enter a ring of at most `window` slots in
 * log order.  libnats calls ack_handler() on its own reply thread for every
 * message, in whatever order the acks arrive; the handler marks the slot and
 * retires the ring's prefix of acked slots, moving acked_seq.  So acked_seq
 * is always a sequence such that every event <= it is in the stream, and
 * only acked_seq is ever written to the cursor store (synced): a crash loses
 * at most the acks since the last cursor write, and those events are re-sent
 * and dropped as duplicates by JetStream (within its duplicate window).
 * A failed publish (error ack, ack timeout) blocks the ring at that slot:
 * the round stops sending, waits for the outstanding acks, persists the
 * prefix before the failure and reports the error; the next round re-sends
 * from there.
 *
 * Profiles: with spec-kitty-3 the body is the event rendered by
 * dsr_sk3_render (the namespaces of the log's runs are noted first), the
 * subject ends in the PascalCase type, the internal types are passed over
 * (they advance the cursor, nothing is sent) and the cursor key names the
 * profile, so a wp04 and a spec-kitty-3 publisher of one log keep their own.
 *
 * Echo suppression: an event this log pulled from the same stream is already
 * there; the puller records it in the log's "nats_seen" family and we skip it
 * (it still advances the cursor).
 *
 * Threads: the publisher belongs to the caller's thread; ring, counters and
 * the failure text are shared with libnats's reply thread under `mu`.  A slot
 * is matched to its callback by the natsMsg pointer: the library owns a
 * message from a successful js_PublishMsgAsync until our handler destroys it,
 * so no live slot can share an address with another in-flight message.
 */
#include "opts_version.h"
#include "mirror.h"
#include "nats_cursor.h"
#include "clock.h"
#include "buf.h"

#include "dossier/event.h"
#include "dossier/log.h"
#include "dossier/sk3.h"

#include <stddef.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SLOT_INFLIGHT = 0, SLOT_DONE = 1, SLOT_FAILED = 2 };

typedef struct pub_slot {
    uint64_t seq;
    natsMsg *msg;              /* identity only; never dereferenced by us once sent */
    int      state;
} pub_slot;

struct dsr_nats_publisher {
    dsr_nats        *n;
    dsr_log         *log;
    jsCtx           *js;          /* our own context: the ack handler is per context */
    nats_cursor *cur;
    char            *cursor_key;
    dsr_sk3_runs    *runs;        /* spec-kitty-3: the runs' namespaces */
    uint64_t         noted;       /* runs noted up to this sequence */
    int64_t          stream_ns;   /* creation time of the stream the cursor belongs to */
    uint64_t         cursor;      /* last persisted value */
    uint64_t         persisted_ms; /* clock_mono_ms() of the last persist */
    dsr_nats_pub_opts o;

    /* ---- shared with the libnats reply thread, under mu ---- */
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    pub_slot        *ring;
    size_t           cap, head, count, inflight;
    size_t           low_water;   /* a full window resumes at this many slots used */
    int              waiting;     /* the publishing thread waits for window space */
    uint64_t         acked_seq;
    uint64_t         published, duplicates;
    int              failed;
    char             fail_msg[512];

    /* ---- caller's thread only ---- */
    dsr_buf          json, subject, seen_key;
    msgpack_unpacked up;
};

/* Retire the prefix of done slots (mu held). */
static void retire(dsr_nats_publisher *p)
{
    while (p->count && p->ring[p->head].state == SLOT_DONE) {
        p->acked_seq = p->ring[p->head].seq;
        p->head = (p->head + 1) % p->cap;
        p->count--;
    }
}

static void fail_locked(dsr_nats_publisher *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_locked(dsr_nats_publisher *p, const char *fmt, ...)
{
    if (p->failed)
        return;                 /* keep the first failure: it is the cause */
    p->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->fail_msg, sizeof p->fail_msg, fmt, ap);
    va_end(ap);
}

/* libnats reply thread: one call per published message. */
static void ack_handler(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    dsr_nats_publisher *p = closure;
    const char *id = NULL;
    if (pae && nats_lib.natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK)
        id = NULL;
    pthread_mutex_lock(&p->mu);
    for (size_t k = 0; k < p->count; k++) {
        pub_slot *s = &p->ring[(p->head + k) % p->cap];
        if (s->msg != msg || s->state != SLOT_INFLIGHT)
            continue;
        s->msg = NULL;
        p->inflight--;
        if (pa) {
            s->state = SLOT_DONE;
            if (pa->Duplicate)
                p->duplicates++;
            else
                p->published++;
        } else {
            s->state = SLOT_FAILED;
            fail_locked(p, "publishing event %s (log seq %llu): %s%s",
                        id ? id : "?", (unsigned long long)s->seq,
                        pae && pae->ErrText ? pae->ErrText
                                            : nats_lib.natsStatus_GetText(pae ? pae->Err : NATS_ERR),
                        pae && pae->Err == NATS_TIMEOUT ? " (no ack in time)" : "");
        }
        retire(p);
        break;
    }
    /* Wake the publishing thread only when it can do a useful amount of
     * work (a quarter of the window is free), when everything is acked, or
     * on failure: waking it per ack costs a context switch per event. */
    if (p->failed || p->inflight == 0 || (p->waiting && p->count <= p->low_water))
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    nats_lib.natsMsg_Destroy(msg);
}

static int persist(dsr_nats_publisher *p, int force, dsr_err *err)
{
    uint64_t now = clock_mono_ms();
    pthread_mutex_lock(&p->mu);
    uint64_t a = p->acked_seq;
    pthread_mutex_unlock(&p->mu);
    if (a <= p->cursor)
        return 0;
    if (!force && a - p->cursor < p->o.commit_every &&
        now - p->persisted_ms < 250)
        return 0;
    nats_cursor_val v = { a, p->stream_ns };
    int rc = nats_cursor_put(p->cur, p->cursor_key, &v, err);
    if (rc)
        return rc;
    p->cursor = a;
    p->persisted_ms = now;
    return 0;
}

int dsr_nats_publisher_open(dsr_nats_publisher **out, dsr_nats *n, dsr_log *log,
                            const dsr_nats_pub_opts *o, dsr_err *err)
{
    *out = NULL;
    if (o && opts_version_check(o->version, DSR_NATS_PUB_OPTS_VERSION, "dsr_nats_pub_opts",
                                "DSR_NATS_PUB_OPTS_INIT", err))
        return DSR_EINVAL;
    dsr_nats_publisher *p = calloc(1, sizeof *p);
    if (!p)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    /* a version 1 struct ends before profile */
    if (o)
        memcpy(&p->o, o, o->version >= 2 ? sizeof *o : offsetof(dsr_nats_pub_opts, profile));
    if (!dsr_profile_name(p->o.profile)) {
        int bad = (int)p->o.profile;
        free(p);
        return dsr_err_set(err, DSR_EINVAL, "dsr_nats_pub_opts: unknown profile %d", bad);
    }
    if (p->o.window <= 0)
        p->o.window = 4096;
    if (p->o.ack_wait_ms <= 0)
        p->o.ack_wait_ms = 10000;
    if (p->o.commit_every == 0)
        p->o.commit_every = 8192;
    p->n = n;
    p->log = log;
    p->cap = (size_t)p->o.window;
    p->low_water = p->cap - p->cap / 4;
    if (p->low_water == p->cap)
        p->low_water = p->cap - 1;
    msgpack_unpacked_init(&p->up);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rc = 0;
    if (!(p->ring = calloc(p->cap, sizeof *p->ring))) {
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        goto fail;
    }

    /* The stream's creation time tells a re-created stream from the one the
     * cursor was written for: a new incarnation gets everything again. */
    dsr_nats_stream_info si;
    if ((rc = dsr_nats_stream_info_get(n, &si, err)))
        goto fail;
    p->stream_ns = si.created_ns;

    /* One cursor per log identity, URL, stream and (other than wp04,
     * whose key is what it always was) profile. */
    int sk3 = p->o.profile == DSR_PROFILE_SPEC_KITTY_3;
    const char *ptail = sk3 ? " spec-kitty-3" : "";
    size_t klen = strlen(dsr_log_node_id(log)) + strlen(n->url) + strlen(n->stream)
                  + strlen(ptail) + 3;
    if (!(p->cursor_key = malloc(klen))) {
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(p->cursor_key, klen, "%s %s %s%s", dsr_log_node_id(log), n->url, n->stream, ptail);
    if (sk3 && dsr_sk3_runs_new(&p->runs)) {
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = nats_cursor_open(&p->cur, dsr_log_dir(log), err)))
        goto fail;
    nats_cursor_val v;
    if ((rc = nats_cursor_get(p->cur, p->cursor_key, &v, err)))
        goto fail;
    /* A cursor beyond the head means the log is not the one it was written
     * for (restored from a backup): start over, the stream drops duplicates. */
    p->cursor = (v.stream_ns == p->stream_ns && v.seq <= dsr_log_head(log)) ? v.seq : 0;
    p->acked_seq = p->cursor;
    p->persisted_ms = clock_mono_ms();

    jsOptions jo;
    nats_lib.jsOptions_Init(&jo);
    jo.Wait = n->timeout_ms;
    /* Our ring already bounds what is in flight; libnats's own bound is a
     * little larger because it releases a message only after our handler
     * returned, and must never stall us. */
    jo.PublishAsync.MaxPending = p->o.window + 16;
    jo.PublishAsync.AckHandler = ack_handler;
    jo.PublishAsync.AckHandlerClosure = p;
    natsStatus s = nats_lib.natsConnection_JetStream(&p->js, n->nc, &jo);
    if (s != NATS_OK) {
        rc = nats_err_set(err, DSR_ENET, s, 0, n, "JetStream context on %s", n->url);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    dsr_nats_publisher_free(p);
    return rc;
}

uint64_t dsr_nats_publisher_cursor(const dsr_nats_publisher *p) { return p->cursor; }

/* Wait until no publish is in flight, or give up after the ack wait plus a
 * margin and take the messages back from libnats (they count as failed). */
static void drain(dsr_nats_publisher *p)
{
    struct timespec dl = clock_deadline_ms((uint64_t)p->o.ack_wait_ms + 5000);
    pthread_mutex_lock(&p->mu);
    while (p->inflight > 0)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
            break;
    int stuck = p->inflight > 0;
    pthread_mutex_unlock(&p->mu);
    if (!stuck)
        return;
    natsMsgList pending = { 0 };
    if (nats_lib.js_PublishAsyncGetPendingList(&pending, p->js) == NATS_OK)
        nats_lib.natsMsgList_Destroy(&pending);
    pthread_mutex_lock(&p->mu);
    for (size_t k = 0; k < p->count; k++) {
        pub_slot *s = &p->ring[(p->head + k) % p->cap];
        if (s->state == SLOT_INFLIGHT) {
            s->state = SLOT_FAILED;
            s->msg = NULL;
        }
    }
    p->inflight = 0;
    fail_locked(p, "no publish ack from %s within %lld ms", p->n->url,
                (long long)p->o.ack_wait_ms);
    pthread_mutex_unlock(&p->mu);
}

/* 1 when the puller recorded event_id as already in our stream. */
static int seen_in_stream(dsr_nats_publisher *p, const dsr_str *event_id, dsr_err *err)
{
    dsr_buf_reset(&p->seen_key);
    if (dsr_buf_append(&p->seen_key, p->n->stream, strlen(p->n->stream) + 1) ||
        dsr_buf_append(&p->seen_key, event_id->ptr, event_id->len))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    /* The usual answer is "not found": ask without an error struct so no
     * message is formatted per event; ask again for the text on a failure. */
    dsr_buf val = DSR_BUF_INIT;
    int rc = dsr_log_get(p->log, NATS_SEEN_CF, p->seen_key.data, p->seen_key.len, &val, NULL);
    if (rc != 0 && rc != DSR_ENOTFOUND)
        rc = dsr_log_get(p->log, NATS_SEEN_CF, p->seen_key.data, p->seen_key.len, &val, err);
    dsr_buf_free(&val);
    if (rc == 0)
        return 1;
    return rc == DSR_ENOTFOUND ? 0 : rc;
}

/* Send one decoded envelope into a reserved slot.  0, or a negative code
 * (the slot is then marked failed). */
static int send_one(dsr_nats_publisher *p, pub_slot *slot, const dsr_envelope *env,
                    const msgpack_object *root, dsr_err *err)
{
    char idz[DSR_ULID_LEN + 1], tok[256];
    size_t idn = env->event_id.len < DSR_ULID_LEN ? env->event_id.len : DSR_ULID_LEN;
    memcpy(idz, env->event_id.ptr, idn);
    idz[idn] = '\0';
    dsr_nats_token(env->feature_slug.ptr, env->feature_slug.len, tok, sizeof tok);
    dsr_buf_reset(&p->json);
    dsr_buf_reset(&p->subject);
    const char *type = p->runs ? dsr_event_type_alias(env->type) : dsr_event_type_name(env->type);
    int enc = p->runs ? dsr_sk3_render(env, p->runs, &p->json, NULL)
                      : dsr_msgpack_to_json(root, &p->json);
    if (enc ||
        dsr_buf_append(&p->subject, p->n->prefix, strlen(p->n->prefix)) ||
        dsr_buf_putc(&p->subject, '.') || dsr_buf_puts(&p->subject, tok) ||
        dsr_buf_putc(&p->subject, '.') || dsr_buf_puts(&p->subject, type)) {
        pthread_mutex_lock(&p->mu);
        slot->state = SLOT_FAILED;
        p->inflight--;
        fail_locked(p, "out of memory encoding event %s", idz);
        pthread_mutex_unlock(&p->mu);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory encoding event %s", idz);
    }
    natsMsg *m = NULL;
    natsStatus s = nats_lib.natsMsg_Create(&m, p->subject.data, NULL, p->json.data, (int)p->json.len);
    jsPubOptions po;
    nats_lib.jsPubOptions_Init(&po);
    po.MsgId = idz;
    po.ExpectStream = p->n->stream;
    po.MaxWait = p->o.ack_wait_ms;
    if (s == NATS_OK) {
        /* Record the identity before sending: the ack may arrive before
         * js_PublishMsgAsync returns. */
        pthread_mutex_lock(&p->mu);
        slot->msg = m;
        pthread_mutex_unlock(&p->mu);
        s = nats_lib.js_PublishMsgAsync(p->js, &m, &po);
    }
    if (s == NATS_OK)
        return 0;
    /* Not accepted: we still own m and no callback will come for it. */
    int rc = nats_err_set(err, DSR_ENET, s, 0, p->n, "publishing event %s to %s",
                          idz, p->subject.data);
    nats_lib.natsMsg_Destroy(m);
    pthread_mutex_lock(&p->mu);
    slot->state = SLOT_FAILED;
    slot->msg = NULL;
    p->inflight--;
    fail_locked(p, "%s", err ? err->msg : "publish failed");
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* spec-kitty-3: note the namespace of every run whose completion is at
 * sequence >= from, before the round renders (a run's artifact events come
 * before its completion).  0 or a log error. */
static int note_runs(dsr_nats_publisher *p, uint64_t from, dsr_err *err)
{
    dsr_log_iter *it = NULL;
    int rc = dsr_log_iter_events(p->log, from, &it, err);
    if (rc)
        return rc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const void *key, *val;
    size_t klen, vlen;
    while ((rc = dsr_log_iter_next(it, &key, &klen, &val, &vlen, err)) == 1) {
        dsr_envelope env;
        if (dsr_record_decode(val, vlen, &u, &env, NULL))
            continue;   /* the round reports it, naming the sequence */
        if (dsr_sk3_runs_note(p->runs, &env)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
            break;
        }
    }
    msgpack_unpacked_destroy(&u);
    dsr_log_iter_free(it);
    return rc < 0 ? rc : 0;
}

int dsr_nats_publish_pending(dsr_nats_publisher *p, dsr_nats_pub_stats *st, dsr_err *err)
{
    if (st && report_version_reset(st, sizeof *st, DSR_NATS_PUB_STATS_VERSION,
                                   "dsr_nats_pub_stats", "DSR_NATS_PUB_STATS_INIT", err))
        return DSR_EINVAL;
    uint64_t skipped = 0, last_seen = p->cursor;
    pthread_mutex_lock(&p->mu);
    p->published = p->duplicates = 0;
    p->failed = 0;
    p->fail_msg[0] = '\0';
    p->head = p->count = p->inflight = 0;
    p->acked_seq = p->cursor;
    pthread_mutex_unlock(&p->mu);

    int rc = 0;
    dsr_log_iter *it = NULL;
    const char *node = dsr_log_node_id(p->log);
    /* the first round notes the whole log, later ones what is new */
    if (p->runs && dsr_log_head(p->log) > p->noted
        && (rc = note_runs(p, p->noted + 1, err)))
        goto done;
    if (p->runs)
        p->noted = dsr_log_head(p->log);
    size_t node_len = strlen(node);
    if (dsr_log_head(p->log) > p->cursor &&
        (rc = dsr_log_iter_events(p->log, p->cursor + 1, &it, err)))
        goto done;
    for (uint64_t i = 0; it; i++) {
        if (p->o.stop && *p->o.stop)
            break;
        const void *key, *val;
        size_t klen, vlen;
        int r = dsr_log_iter_next(it, &key, &klen, &val, &vlen, err);
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == 0)
            break;
        uint64_t seq = dsr_seq_from_key(key);
        dsr_envelope env;
        if ((rc = dsr_record_decode(val, vlen, &p->up, &env, err))) {
            dsr_err_prefix(err, "%s: event at seq %llu", dsr_log_dir(p->log),
                           (unsigned long long)seq);
            if (rc != DSR_ENOMEM) {
                rc = DSR_ECORRUPT;      /* a stored record that does not decode */
                if (err)
                    err->code = rc;
            }
            break;
        }
        last_seen = seq;
        int skip = 0, left_out = 0;
        if (p->runs) {
            if (dsr_sk3_runs_note(p->runs, &env)) {
                rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
                break;
            }
            left_out = env.type == DSR_EV_SCAN_COMPLETED || env.type == DSR_EV_BASELINE_ACCEPTED
                       || env.type == DSR_EV_ARTIFACT_REMOVED;
        }
        if (!(env.node_id.len == node_len && !memcmp(env.node_id.ptr, node, node_len))) {
            int sr = seen_in_stream(p, &env.event_id, err);
            if (sr < 0) {
                rc = sr;
                break;
            }
            skip = sr;
        }
        skip = skip || left_out;

        /* Reserve a slot: wait while the window is full, persisting the
         * cursor as acks come in. */
        pthread_mutex_lock(&p->mu);
        if (p->count == p->cap)
            p->waiting = 1;
        while (p->waiting && p->count > p->low_water && !p->failed) {
            struct timespec dl = clock_deadline_ms(100);
            pthread_cond_timedwait(&p->cv, &p->mu, &dl);
            if (p->count > p->low_water && !p->failed) {
                pthread_mutex_unlock(&p->mu);
                if ((rc = persist(p, 0, err)))
                    goto done;
                pthread_mutex_lock(&p->mu);
            }
        }
        p->waiting = 0;
        if (p->failed) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pub_slot *slot = &p->ring[(p->head + p->count) % p->cap];
        slot->seq = seq;
        slot->msg = NULL;
        slot->state = skip ? SLOT_DONE : SLOT_INFLIGHT;
        p->count++;
        if (skip) {
            retire(p);
        } else {
            p->inflight++;
        }
        pthread_mutex_unlock(&p->mu);
        if (skip) {
            skipped += !left_out;
        } else if (send_one(p, slot, &env, &p->up.data, err) < 0) {
            break;          /* the failure is recorded; drain and report below */
        }
        if ((i & 255) == 255 && (rc = persist(p, 0, err)))
            break;
    }

done:
    dsr_log_iter_free(it);
    drain(p);
    {
        dsr_err perr;
        dsr_err_clear(&perr);
        int prc = persist(p, 1, &perr);
        if (prc && !rc) {
            rc = prc;
            if (err)
                *err = perr;
        }
    }
    pthread_mutex_lock(&p->mu);
    int failed = p->failed;
    if (st) {
        st->published = p->published;
        st->duplicates = p->duplicates;
        st->skipped = skipped;
        st->cursor = p->cursor;
        st->head = last_seen;
    }
    if (failed && !rc)
        rc = dsr_err_set(err, DSR_ENET, "%s (stream %s at %s; the cursor stays at log seq "
                         "%llu, the next run re-sends from there)", p->fail_msg, p->n->stream,
                         p->n->url, (unsigned long long)p->cursor);
    p->head = p->count = 0;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void dsr_nats_publisher_free(dsr_nats_publisher *p)
{
    if (!p)
        return;
    if (p->js) {
        drain(p);
        nats_lib.jsCtx_Destroy(p->js);
    }
    nats_cursor_close(p->cur);
    free(p->cursor_key);
    dsr_sk3_runs_free(p->runs);
    free(p->ring);
    dsr_buf_free(&p->json);
    dsr_buf_free(&p->subject);
    dsr_buf_free(&p->seen_key);
    msgpack_unpacked_destroy(&p->up);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

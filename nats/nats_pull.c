/*
 * nats_pull.c - merge other nodes' events from JetStream into the local log
 * through a durable pull consumer.
 *
 * Per fetch (at most `batch` messages): every message is decoded (JSON ->
 * msgpack -> validated envelope) and handed to dsr_emit_import() in ONE log
 * batch, which stores an event only when its event_id is new and applies the
 * lamport merge rule; the batch is committed with fsync, and only then are
 * the messages acked.  A crash before the commit leaves nothing of the batch
 * and the server re-delivers the messages after the consumer's ack wait; a
 * crash after the commit but before the acks re-delivers events the log
 * already holds, which dsr_emit_import() recognises as duplicates.  So the
 * log never loses a message the server considers consumed, and never stores
 * one twice.
 *
 * A message that is not a valid envelope can never become one: it is
 * terminated (AckTerm: never re-delivered), reported through on_invalid and
 * counted, but not imported.
 *
 * With the spec-kitty-3 profile a body is first checked (dsr_sk3_check: a
 * problem makes it invalid, as above) and converted to the canonical
 * envelope (dsr_sk3_to_canonical), which then takes the same path.  The
 * stream has no scan completions (spec-kitty-3 has no such type), so, as
 * `import` does, one is made per run from what was converted
 * (dsr_sk3_runs_completion) and put in the log batch of the fetch after
 * which nothing is pending: the run's events precede it in the log.  Its id
 * derives from the run id, so making it again later is a duplicate.
 *
 * The durable consumer is created explicitly (js_AddConsumer) and the
 * subscription only binds to it, so closing the subscription never deletes
 * it: the next pull resumes where this one stopped.
 */
#include "opts_version.h"
#include "mirror.h"
#include "buf.h"

#include "dossier/emit.h"
#include "dossier/event.h"
#include "dossier/import.h"
#include "dossier/log.h"
#include "dossier/sk3.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000LL

typedef struct pull_ctx {
    dsr_nats                 *n;
    dsr_log                  *log;
    const dsr_nats_pull_opts *o;
    dsr_nats_pull_stats      *st;
    natsSubscription         *sub;
    char                      filter[300];
    msgpack_sbuffer           sbuf;
    msgpack_unpacked          up;
    dsr_buf                   key;
    const char               *node;
    size_t                    node_len;
    size_t                    feat_len;
    int                       batch;     /* messages per fetch (o->batch, maybe clamped) */
    dsr_sk3_runs             *runs;      /* spec-kitty-3: the runs converted so far */
} pull_ctx;

static int ensure_consumer(pull_ctx *c, dsr_err *err)
{
    dsr_nats *n = c->n;
    const char *durable = c->st->durable;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = nats_lib.js_GetConsumerInfo(&ci, n->js, n->stream, durable, NULL, &jerr);
    if (s == NATS_OK) {
        /* A fetch larger than what the consumer lets be unacked would wait
         * out its timeout every time (the server stops short of the batch). */
        int64_t map = ci->Config ? ci->Config->MaxAckPending : 0;
        if (map > 1 && c->batch > map / 2)
            c->batch = (int)(map / 2);
        const char *f = ci->Config && ci->Config->FilterSubject ? ci->Config->FilterSubject : "";
        const char *dlv = ci->Config && ci->Config->DeliverSubject ? ci->Config->DeliverSubject
                                                                   : "";
        int rc = 0;
        if (*dlv)
            rc = dsr_err_set(err, DSR_EINVAL,
                "consumer %s on stream %s is a push consumer; choose another --durable",
                durable, n->stream);
        else if (strcmp(f, c->filter) != 0)
            rc = dsr_err_set(err, DSR_EINVAL,
                "consumer %s on stream %s filters '%s', not '%s'; choose another --durable "
                "for this --feature", durable, n->stream, *f ? f : "(all)", c->filter);
        nats_lib.jsConsumerInfo_Destroy(ci);
        return rc;
    }
    if (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr) {
        if (jerr == JSStreamNotFoundErr)
            return dsr_err_set(err, DSR_ENOTFOUND,
                "stream %s does not exist on %s (nothing was published there yet, or "
                "--stream names another stream)", n->stream, n->url);
        return nats_err_set(err, DSR_ENET, s, jerr, n, "consumer %s on stream %s at %s",
                            durable, n->stream, n->url);
    }
    jsConsumerConfig cc;
    nats_lib.jsConsumerConfig_Init(&cc);
    cc.Durable = durable;
    cc.Description = "dossier pull";
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = c->o->ack_wait_ms * NS_PER_MS;
    cc.ReplayPolicy = js_ReplayInstant;
    cc.FilterSubject = c->filter;
    /* Room for the largest --batch twice over, plus the batch of a pull that
     * crashed and awaits re-delivery. */
    cc.MaxAckPending = 4 * 65536;
    ci = NULL;
    s = nats_lib.js_AddConsumer(&ci, n->js, n->stream, &cc, NULL, &jerr);
    nats_lib.jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK)
        return nats_err_set(err, jerr == JSConsumerNameExistErr ? DSR_EINVAL : DSR_ENET, s,
                            jerr, n, "cannot create consumer %s on stream %s at %s",
                            durable, n->stream, n->url);
    return 0;
}

/* 1 when the consumer has nothing left for us: nothing pending and nothing
 * delivered-but-unacked (which the server would re-deliver). */
static int caught_up(pull_ctx *c, dsr_err *err)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = nats_lib.js_GetConsumerInfo(&ci, c->n->js, c->n->stream, c->st->durable, NULL, &jerr);
    if (s != NATS_OK)
        return nats_err_set(err, DSR_ENET, s, jerr, c->n, "consumer %s on stream %s",
                            c->st->durable, c->n->stream);
    int done = ci->NumPending == 0 && ci->NumAckPending == 0;
    nats_lib.jsConsumerInfo_Destroy(ci);
    return done;
}

static void report_invalid(pull_ctx *c, natsMsg *m, const dsr_err *why, int refused)
{
    if (refused)
        c->st->refused++;
    else
        c->st->invalid++;
    if (!c->o->on_invalid)
        return;
    jsMsgMetaData *meta = NULL;
    uint64_t sseq = 0;
    if (nats_lib.natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        sseq = meta->Sequence.Stream;
        nats_lib.jsMsgMetaData_Destroy(meta);
    }
    c->o->on_invalid(c->o->on_invalid_ctx, sseq, nats_lib.natsMsg_GetSubject(m), why);
}

enum { MSG_IMPORTED, MSG_INVALID };

/* The first problem dsr_sk3_check reports, as "FIELD: problem", and how
 * many there were. */
typedef struct sk3_first {
    dsr_err *why;
    int      n;
} sk3_first;

static void sk3_problem(void *ctx, const char *field, const char *msg)
{
    sk3_first *f = ctx;
    if (f->n++ == 0)
        dsr_err_set(f->why, DSR_ESCHEMA, "%s: %s", field, msg);
}

/* spec-kitty-3: check the body and convert it into c->sbuf (canonical
 * msgpack).  0, DSR_ESCHEMA (why names the field) or DSR_ENOMEM. */
static int sk3_body(pull_ctx *c, const char *data, size_t len, dsr_err *why)
{
    sk3_first f = { why, 0 };
    int np = dsr_sk3_check(data, len, sk3_problem, &f);
    if (np < 0)
        return dsr_err_set(why, DSR_ENOMEM, "out of memory");
    if (np > 1) {
        char first[sizeof why->msg];
        snprintf(first, sizeof first, "%s", why->msg);
        return dsr_err_set(why, DSR_ESCHEMA, "%s (and %d more problems)", first, np - 1);
    }
    if (np)
        return DSR_ESCHEMA;
    int rc = dsr_sk3_to_canonical(data, len, c->runs, &c->sbuf, why);
    return rc == DSR_ENOMEM ? rc : rc ? DSR_ESCHEMA : 0;
}

/* Decode one message and import it into b.  Returns MSG_IMPORTED (also for
 * duplicates and other-feature skips), MSG_INVALID, or a negative code for a
 * failure of the log (the batch must then be abandoned). */
static int import_one(pull_ctx *c, dsr_log_batch *b, natsMsg *m, dsr_err *err)
{
    dsr_err why;
    dsr_err_clear(&why);
    c->sbuf.size = 0;
    const char *data = nats_lib.natsMsg_GetData(m);
    size_t len = (size_t)nats_lib.natsMsg_GetDataLength(m);
    int rc = c->runs ? sk3_body(c, data, len, &why)
                     : dsr_json_to_msgpack(data, len, &c->sbuf, &why);
    if (rc == DSR_ENOMEM) {
        *err = why;
        return rc;
    }
    dsr_envelope env;
    if (rc == 0) {
        size_t off = 0;
        msgpack_unpack_return ur = msgpack_unpack_next(&c->up, c->sbuf.data, c->sbuf.size, &off);
        if (ur != MSGPACK_UNPACK_SUCCESS)
            rc = dsr_err_set(&why, ur == MSGPACK_UNPACK_NOMEM_ERROR ? DSR_ENOMEM : DSR_EPARSE,
                             "message body does not decode");
        else
            rc = dsr_envelope_view(&c->up.data, &env, &why);
    }
    if (rc == DSR_ENOMEM) {
        *err = why;
        return rc;
    }
    if (rc) {
        report_invalid(c, m, &why, 0);
        return MSG_INVALID;
    }
    /* The subject token of a feature is lossy; the envelope decides. */
    if (c->o->feature_slug && (env.feature_slug.len != c->feat_len ||
        memcmp(env.feature_slug.ptr, c->o->feature_slug, c->feat_len) != 0)) {
        c->st->other_feature++;
        return MSG_IMPORTED;
    }
    /* The trust rule of `import` (dossier/import.h): a baseline, or an event
     * claiming this log's node_id that it does not hold, is not taken from
     * a stream unless the caller trusts it. */
    rc = dsr_import_check(c->log, &env, c->o->import_flags, &why);
    if (rc == DSR_ESCHEMA) {
        report_invalid(c, m, &why, 1);
        return MSG_INVALID;
    }
    if (rc) {
        *err = why;
        return rc;
    }
    dsr_emit_result res;
    rc = dsr_emit_import(b, &env, &res, &why);
    if (rc == DSR_ESCHEMA || rc == DSR_EPARSE || rc == DSR_EINVAL) {
        report_invalid(c, m, &why, 0);
        return MSG_INVALID;
    }
    if (rc) {
        *err = why;
        return rc;
    }
    if (res.duplicate) {
        c->st->duplicates++;
    } else {
        c->st->imported++;
        if (!c->st->first_seq)
            c->st->first_seq = res.seq;
        c->st->last_seq = res.seq;
    }
    /* Remember that this foreign event is in our stream, so publishing this
     * log does not echo it back (replay/nats_publish.c).  Own events are
     * never looked up there. */
    if (!(env.node_id.len == c->node_len && !memcmp(env.node_id.ptr, c->node, c->node_len))) {
        dsr_buf_reset(&c->key);
        if (dsr_buf_append(&c->key, c->n->stream, strlen(c->n->stream) + 1) ||
            dsr_buf_append(&c->key, env.event_id.ptr, env.event_id.len))
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        if ((rc = dsr_log_batch_put(b, NATS_SEEN_CF, c->key.data, c->key.len, "", 0, err)))
            return rc;
    }
    return MSG_IMPORTED;
}

/* spec-kitty-3: append to b the completion of every run converted so far
 * (dsr_sk3_runs_completion), skipping a run this log wrote (it holds the
 * run's own completion), another feature's, and one the trust rule refuses.
 * A completion already in the log is a duplicate and not counted. */
static int sk3_completions(pull_ctx *c, dsr_log_batch *b, dsr_err *err)
{
    int rc = 0;
    for (size_t i = 0; !rc; i++) {
        const char *run_event = NULL;
        c->sbuf.size = 0;
        rc = dsr_sk3_runs_completion(c->runs, i, &c->sbuf, &run_event, err);
        if (rc == DSR_ENOTFOUND)
            return 0;
        if (rc)
            return rc;
        dsr_envelope env;
        size_t off = 0;
        if (msgpack_unpack_next(&c->up, c->sbuf.data, c->sbuf.size, &off)
            != MSGPACK_UNPACK_SUCCESS)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        if ((rc = dsr_envelope_view(&c->up.data, &env, err)))
            return rc;
        if (c->o->feature_slug && (env.feature_slug.len != c->feat_len ||
            memcmp(env.feature_slug.ptr, c->o->feature_slug, c->feat_len) != 0))
            continue;
        if (env.node_id.len == c->node_len && !memcmp(env.node_id.ptr, c->node, c->node_len)) {
            uint64_t seq = 0;
            rc = dsr_log_find_event(c->log, run_event, &seq, err);
            if (rc == 0)
                continue;   /* this log's own run */
            if (rc != DSR_ENOTFOUND)
                return rc;
            rc = 0;
        }
        dsr_err why;
        dsr_err_clear(&why);
        rc = dsr_import_check(c->log, &env, c->o->import_flags, &why);
        if (rc == DSR_ESCHEMA) {
            rc = 0;         /* the run's own events were refused too */
            continue;
        }
        if (rc) {
            *err = why;
            return rc;
        }
        dsr_emit_result res;
        if ((rc = dsr_emit_import(b, &env, &res, err)))
            return rc;
        if (!res.duplicate) {
            c->st->imported++;
            if (!c->st->first_seq)
                c->st->first_seq = res.seq;
            c->st->last_seq = res.seq;
        }
    }
    return rc;
}

/* Import one fetched list: one log batch, commit, then ack / terminate.
 * *more is 0 when the server said nothing is pending after the last one. */
static int import_list(pull_ctx *c, natsMsgList *list, int *more, dsr_err *err)
{
    dsr_log_batch *b = NULL;
    int rc = dsr_log_batch_begin(c->log, &b, err);
    if (rc)
        return rc;
    unsigned char *verdict = calloc((size_t)list->Count, 1);
    if (!verdict) {
        dsr_log_batch_abort(b);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    for (int i = 0; i < list->Count; i++) {
        c->st->received++;
        int r = import_one(c, b, list->Msgs[i], err);
        if (r < 0) {
            dsr_log_batch_abort(b);
            free(verdict);
            return r;       /* nothing acked: the server re-delivers */
        }
        verdict[i] = (unsigned char)r;
    }
    /* spec-kitty-3: the runs' completions go with the fetch after which
     * nothing is pending (or the last one before a stop), after their events. */
    *more = 1;
    jsMsgMetaData *meta = NULL;
    if (list->Count > 0 && nats_lib.natsMsg_GetMetaData(&meta, list->Msgs[list->Count - 1]) == NATS_OK) {
        *more = meta->NumPending > 0;
        nats_lib.jsMsgMetaData_Destroy(meta);
    }
    if (c->runs && (!*more || (c->o->stop && *c->o->stop))
        && (rc = sk3_completions(c, b, err))) {
        dsr_log_batch_abort(b);
        free(verdict);
        return rc;
    }
    if ((rc = dsr_log_batch_commit(b, err))) {
        free(verdict);
        return rc;
    }
    /* Committed (fsync'd): now the server may forget these messages.  The
     * last ack is synchronous (or followed by a flush), so the server has
     * processed every ack of the batch (they travel in order on this
     * connection) before we look at the consumer's pending counts. */
    natsStatus s = NATS_OK;
    int last_sync = 0;
    for (int i = 0; i < list->Count && s == NATS_OK; i++) {
        natsMsg *m = list->Msgs[i];
        if (verdict[i] == MSG_INVALID) {
            s = nats_lib.natsMsg_Term(m, NULL);
        } else if (i == list->Count - 1) {
            s = nats_lib.natsMsg_AckSync(m, NULL, NULL);
            last_sync = 1;
        } else {
            s = nats_lib.natsMsg_Ack(m, NULL);
        }
    }
    /* The batch ended with a terminated message: make sure the server has
     * read everything we sent (PONG answers after the preceding protocol). */
    if (s == NATS_OK && !last_sync)
        s = nats_lib.natsConnection_FlushTimeout(c->n->nc, c->n->timeout_ms);
    free(verdict);
    if (s != NATS_OK)
        return nats_err_set(err, DSR_ENET, s, 0, c->n,
                            "acknowledging messages of consumer %s (they are in the log; "
                            "the server will re-deliver them and they will count as "
                            "duplicates)", c->st->durable);
    return 0;
}

int dsr_nats_pull(dsr_nats *n, dsr_log *log, const dsr_nats_pull_opts *o_in,
                  dsr_nats_pull_stats *st_out, dsr_err *err)
{
    dsr_nats_pull_opts o = DSR_NATS_PULL_OPTS_INIT;
    if (o_in && opts_version_check(o_in->version, DSR_NATS_PULL_OPTS_VERSION,
                                   "dsr_nats_pull_opts", "DSR_NATS_PULL_OPTS_INIT", err))
        return DSR_EINVAL;
    /* a version 1 struct ends before profile */
    if (o_in)
        memcpy(&o, o_in, o_in->version >= 2 ? sizeof o : offsetof(dsr_nats_pull_opts, profile));
    if (!dsr_profile_name(o.profile))
        return dsr_err_set(err, DSR_EINVAL, "dsr_nats_pull_opts: unknown profile %d",
                           (int)o.profile);
    if (o.batch <= 0)
        o.batch = 1024;
    if (o.fetch_wait_ms <= 0)
        o.fetch_wait_ms = 1000;
    if (o.ack_wait_ms <= 0)
        o.ack_wait_ms = 30000;
    dsr_nats_pull_stats st_local = DSR_NATS_PULL_STATS_INIT, *st = st_out ? st_out : &st_local;
    if (report_version_reset(st, sizeof *st, DSR_NATS_PULL_STATS_VERSION, "dsr_nats_pull_stats",
                             "DSR_NATS_PULL_STATS_INIT", err))
        return DSR_EINVAL;

    pull_ctx c = { .n = n, .log = log, .o = &o, .st = st, .key = DSR_BUF_INIT,
                   .batch = o.batch };
    c.node = dsr_log_node_id(log);
    c.node_len = strlen(c.node);
    if (o.feature_slug) {
        if (!*o.feature_slug)
            return dsr_err_set(err, DSR_EINVAL, "--feature: empty feature slug");
        char tok[256];
        c.feat_len = strlen(o.feature_slug);
        dsr_nats_token(o.feature_slug, c.feat_len, tok, sizeof tok);
        snprintf(c.filter, sizeof c.filter, "%s.%s.>", n->prefix, tok);
    } else {
        snprintf(c.filter, sizeof c.filter, "%s.>", n->prefix);
    }
    if (o.durable) {
        if (!nats_name_valid(o.durable))
            return dsr_err_set(err, DSR_EINVAL, "durable name '%s' is not valid (letters, "
                               "digits, '_' and '-' only)", o.durable);
        snprintf(st->durable, sizeof st->durable, "%s", o.durable);
    } else if (dsr_nats_default_durable(c.node, o.feature_slug, st->durable,
                                        sizeof st->durable)) {
        return dsr_err_set(err, DSR_EINVAL, "--feature '%s' is too long for a consumer name; "
                           "give one with --durable", o.feature_slug);
    }

    /* The stream must exist: a typo in --stream should not look like "no news". */
    int rc = dsr_nats_stream_info_get(n, NULL, err);
    if (rc == DSR_ENOTFOUND)
        return dsr_err_set(err, DSR_ENOTFOUND,
            "stream %s does not exist on %s (nothing was published there yet, or --stream "
            "names another stream)", n->stream, n->url);
    if (rc)
        return rc;
    if ((rc = ensure_consumer(&c, err)))
        return rc;

    jsSubOptions so;
    nats_lib.jsSubOptions_Init(&so);
    so.Stream = n->stream;
    so.Consumer = st->durable;
    jsErrCode jerr = 0;
    natsStatus s = nats_lib.js_PullSubscribe(&c.sub, n->js, c.filter, st->durable, NULL, &so, &jerr);
    if (s != NATS_OK)
        return nats_err_set(err, DSR_ENET, s, jerr, n, "cannot bind to consumer %s on "
                            "stream %s at %s", st->durable, n->stream, n->url);
    if (o.profile == DSR_PROFILE_SPEC_KITTY_3 && dsr_sk3_runs_new(&c.runs)) {
        nats_lib.natsSubscription_Destroy(c.sub);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    msgpack_sbuffer_init(&c.sbuf);
    msgpack_unpacked_init(&c.up);

    /* Nothing for us at all: answer now instead of waiting out a fetch.
     * Afterwards we ask again whenever a fetch comes back empty or the last
     * message says nothing is pending behind it. */
    int done = caught_up(&c, err);
    while (done == 0) {
        if (o.stop && *o.stop)
            break;
        natsMsgList list = { 0 };
        s = nats_lib.natsSubscription_Fetch(&list, c.sub, c.batch, o.fetch_wait_ms, &jerr);
        if (s == NATS_TIMEOUT) {
            /* Nothing arrived in fetch_wait_ms: done, unless the server still
             * holds unacked deliveries it will re-send after the ack wait. */
            done = caught_up(&c, err);
            continue;
        }
        if (s != NATS_OK) {
            rc = nats_err_set(err, DSR_ENET, s, jerr, n, "fetching from consumer %s on "
                              "stream %s at %s", st->durable, n->stream, n->url);
            break;
        }
        int more = 1;
        rc = import_list(&c, &list, &more, err);
        nats_lib.natsMsgList_Destroy(&list);
        if (rc)
            break;
        if (!more)
            done = caught_up(&c, err);
    }
    if (done < 0)
        rc = done;
    /* spec-kitty-3: a run whose completion no fetch carried (a stop, a fetch
     * that timed out) gets it now; one already written is a duplicate. */
    if (!rc && c.runs) {
        dsr_log_batch *b = NULL;
        if (!(rc = dsr_log_batch_begin(log, &b, err))) {
            if ((rc = sk3_completions(&c, b, err)))
                dsr_log_batch_abort(b);
            else
                rc = dsr_log_batch_commit(b, err);
        }
    }

    nats_lib.natsSubscription_Destroy(c.sub);   /* binding only: the durable stays */
    msgpack_sbuffer_destroy(&c.sbuf);
    msgpack_unpacked_destroy(&c.up);
    dsr_buf_free(&c.key);
    dsr_sk3_runs_free(c.runs);
    return rc;
}

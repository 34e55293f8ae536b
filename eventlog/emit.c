/*
 * emit.c - the one way events enter a log: validate a payload, wrap it in the
 * canonical envelope and append it to a batch (see dossier/emit.h).
 *
 * Invariants:
 *   - nothing is appended, and the lamport clock does not move, unless the
 *     payload and every caller-supplied envelope field are valid: an invalid
 *     payload is DSR_ESCHEMA with the validator's message (event type, field,
 *     value);
 *   - the clock moves only for events actually stored: a duplicate event_id is
 *     reported (res->duplicate) before the tick, so re-emitting derived events
 *     or re-importing a file leaves lamport unchanged;
 *   - the stored record is dsr_record_pack's form (format 2) of exactly the
 *     envelope and payload map that were validated: decoding it gives them
 *     back field for field.  The direct path for artifact_indexed payloads
 *     writes those same bytes without building the map
 *     (codec_indexed_direct_ok, codec_record_pack_indexed; tested equal);
 *   - imported envelopes keep event_id, payload and their lamport stamp; the
 *     log's own clock follows the merge rule max(clock, stamp) + 1 and never
 *     wraps: a stamp that would leave it no room is refused (DSR_ESCHEMA).
 * Encoding reuses the batch's scratch buffers (log.h): after the
 * first few events an emit allocates nothing.  Thread ownership: the batch's.
 */
#include "dossier/emit.h"
#include "codec.h"
#include "log.h"

#include <assert.h>
#include <string.h>
#include <time.h>

/* An import may move the clock to at most LAMPORT_MAX (a stamp of at most
 * LAMPORT_MAX - 1), so a local event after it still gets a larger stamp
 * without wrapping. */
#define LAMPORT_MAX (UINT64_MAX - 1)

static log_emit_scratch *scratch(dsr_log_batch *b)
{
    log_emit_scratch *s = &b->scratch;
    if (!s->ready) {
        msgpack_sbuffer_init(&s->rec);
        msgpack_sbuffer_init(&s->aux);
        if (!msgpack_zone_init(&s->zone, 8192))
            return NULL;
        msgpack_unpacked_init(&s->up);
        s->direct = (dsr_buf)DSR_BUF_INIT;
        memset(&s->memo, 0, sizeof s->memo);
        s->ready = 1;
    }
    msgpack_sbuffer_clear(&s->rec);
    msgpack_sbuffer_clear(&s->aux);
    dsr_buf_reset(&s->direct);
    /* Keeps the zone's last chunk: decoding a payload then allocates nothing. */
    msgpack_zone_clear(&s->zone);
    return s;
}

static uint64_t clock_ms(void)
{
    struct timespec tv;
    clock_gettime(CLOCK_REALTIME, &tv);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)(tv.tv_nsec / 1000000);
}

static void fill_result(dsr_emit_result *res, const char *id, uint64_t seq, int dup)
{
    if (!res)
        return;
    memcpy(res->event_id, id, DSR_ULID_LEN);
    res->event_id[DSR_ULID_LEN] = '\0';
    res->seq = seq;
    res->duplicate = dup;
}

/* The caller-supplied envelope fields, checked like dsr_envelope_view would. */
static int check_meta(dsr_event_type t, const dsr_emit_meta *m, dsr_err *err)
{
    const char *tn = dsr_event_type_name(t);
    if (!m)
        return 0;
    if (m->event_id && (strnlen(m->event_id, DSR_ULID_LEN + 1) != DSR_ULID_LEN
                        || !dsr_ulid_valid(m->event_id, DSR_ULID_LEN)))
        return dsr_err_set(err, DSR_ESCHEMA, "%s: event_id: \"%.40s\" is not a ULID", tn,
                           m->event_id);
    if (m->timestamp && !codec_rfc3339_valid(m->timestamp, strlen(m->timestamp)))
        return dsr_err_set(err, DSR_ESCHEMA, "%s: timestamp: \"%.40s\" is not an RFC 3339 "
                           "date-time with offset", tn, m->timestamp);
    if (m->correlation_id && !utf8_check(m->correlation_id, strlen(m->correlation_id)))
        return dsr_err_set(err, DSR_ESCHEMA, "%s: correlation_id is not valid UTF-8", tn);
    if (m->causation_id && !utf8_check(m->causation_id, strlen(m->causation_id)))
        return dsr_err_set(err, DSR_ESCHEMA, "%s: causation_id is not valid UTF-8", tn);
    return 0;
}

/* The general payload path: pack the struct, decode it, validate the map. */
static int decode_payload(log_emit_scratch *s, dsr_event_type t, const void *payload,
                          msgpack_object *obj, dsr_str *slug, dsr_err *err)
{
    const char *tn = dsr_event_type_name(t);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s->aux, msgpack_sbuffer_write);
    int rc = dsr_payload_pack(&pk, t, payload);
    if (rc == DSR_EINVAL)
        return dsr_err_set(err, DSR_ESCHEMA, "%s: payload: a required string field is NULL", tn);
    if (rc)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory encoding the payload", tn);
    size_t off = 0;
    if (msgpack_unpack(s->aux.data, s->aux.size, &off, &s->zone, obj) != MSGPACK_UNPACK_SUCCESS)
        return dsr_err_set(err, DSR_ENOMEM, "%s: cannot decode the encoded payload", tn);
    if ((rc = dsr_payload_validate(t, obj, err)))
        return rc;
    const msgpack_object *v = codec_map_get(obj, "feature_slug");
    if (!v || v->type != MSGPACK_OBJECT_STR || !v->via.str.size)
        return dsr_err_set(err, DSR_ESCHEMA, "%s: payload.feature_slug: missing or empty", tn);
    slug->ptr = v->via.str.ptr;
    slug->len = v->via.str.size;
    return 0;
}

int dsr_emit(dsr_log_batch *b, dsr_event_type t, const void *payload,
             const dsr_emit_meta *meta, dsr_emit_result *res, dsr_err *err)
{
    if (!b || !b->active)
        return dsr_err_set(err, DSR_EINVAL, "emit: no open batch");
    if ((unsigned)t >= DSR_EV_COUNT)
        return dsr_err_set(err, DSR_EINVAL, "emit: unknown event type %d", (int)t);
    const char *tn = dsr_event_type_name(t);
    if (!payload)
        return dsr_err_set(err, DSR_ESCHEMA, "%s: payload: missing", tn);
    dsr_log *log = b->log;
    int rc = check_meta(t, meta, err);
    if (rc)
        return rc;
    log_emit_scratch *s = scratch(b);
    if (!s)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", tn);

    /* 1. Payload: pack, decode, validate.  Fail fast, before any state moves.
     * An indexed payload (one per artifact: most of a scan) that passes the
     * direct check is valid as it stands and is packed straight into its
     * record in step 3; anything else, or any doubt, takes this path. */
    codec_indexed_direct dd;
    const dsr_artifact_indexed *direct = NULL;
    if (t == DSR_EV_ARTIFACT_INDEXED && codec_indexed_direct_ok(payload, &dd))
        direct = payload;
    msgpack_packer pk;
    msgpack_object obj;
    dsr_str slug;
    if (direct) {
        slug.ptr = direct->feature_slug;
        slug.len = strlen(direct->feature_slug);
    } else if ((rc = decode_payload(s, t, payload, &obj, &slug, err))) {
        return rc;
    }

    /* 2. Identity and idempotency.  A fresh id and the timestamp share one
     * reading of the clock (one clock_gettime per event, not two). */
    char id[DSR_ULID_LEN + 1];
    unsigned char id_bin[16];
    const unsigned char *fresh = NULL;   /* the fresh id's 16 bytes */
    uint64_t now_ms = 0;
    if (meta && meta->event_id) {
        memcpy(id, meta->event_id, DSR_ULID_LEN);
        id[DSR_ULID_LEN] = '\0';
    } else {
        now_ms = clock_ms();
        if ((rc = codec_ulid_next(&log->ulid, now_ms, id, id_bin)))
            return dsr_err_set(err, rc, "%s: cannot generate an event_id", tn);
        fresh = id_bin;
    }
    uint64_t seq = 0;
    rc = log_batch_lookup(b, id, &seq, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        fill_result(res, id, seq, 1);
        return 0;
    }
    const char *ts = meta && meta->timestamp ? meta->timestamp : NULL;
    if (!ts) {
        /* Formatting a date costs more than the rest of the envelope; a scan
         * emits many events per millisecond, so reuse the text within one. */
        if (!fresh)
            now_ms = clock_ms();
        if (now_ms != s->ts_ms || !s->ts[0]) {
            codec_rfc3339_of_ms(now_ms, s->ts);
            s->ts_ms = now_ms;
        }
        ts = s->ts;
    }

    /* 3. The stored record (format 2, record_pack.c).  The tick is
     * provisional: if the append fails the batch is unusable for this event
     * and the caller aborts or commits without it; we undo it below. */
    if (b->lamport == UINT64_MAX)   /* only a log written before imports were checked */
        return dsr_err_set(err, DSR_ECORRUPT, "%s: %s: the log's lamport clock is at its "
                           "largest value and cannot order another event", log->dir, tn);
    uint64_t lamport = dsr_log_batch_lamport_tick(b);
    msgpack_packer_init(&pk, &s->rec, msgpack_sbuffer_write);
    const char *corr = meta ? meta->correlation_id : NULL;
    const char *cause = meta ? meta->causation_id : NULL;
    dsr_envelope env = {
        .event_id = { id, DSR_ULID_LEN },
        .feature_slug = slug,
        .timestamp = { ts, strlen(ts) },
        .node_id = { log->node_id, strlen(log->node_id) },
        .project_uuid = { log->project_uuid, strlen(log->project_uuid) },
        .correlation_id = { corr, corr ? strlen(corr) : 0 },
        .causation_id = { cause, cause ? strlen(cause) : 0 },
        .type = t,
        .lamport_clock = lamport,
        .payload = direct ? NULL : &obj,
    };
    if (direct ? codec_record_pack_indexed(&s->direct, &env, fresh, &s->memo, direct, &dd)
               : dsr_record_pack(&pk, &env)) {
        b->lamport--;
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory encoding event %s", tn, id);
    }
    const char *rec = direct ? s->direct.data : s->rec.data;
    size_t rec_len = direct ? s->direct.len : s->rec.size;
    if ((rc = log_batch_append_new(b, id, rec, rec_len, &seq, err))) {
        b->lamport--;
        return rc;
    }
    /* One tick per stored event, and the stored stamp is the clock's. */
    assert(b->lamport == lamport && seq + 1 == b->next_seq);
    fill_result(res, id, seq, 0);
    return 0;
}

int dsr_emit_import(dsr_log_batch *b, const dsr_envelope *env, dsr_emit_result *res,
                    dsr_err *err)
{
    if (!b || !b->active || !env)
        return dsr_err_set(err, DSR_EINVAL, "import: no open batch or no envelope");
    if (!env->event_id.ptr || env->event_id.len != DSR_ULID_LEN
        || !dsr_ulid_valid(env->event_id.ptr, DSR_ULID_LEN))
        return dsr_err_set(err, DSR_ESCHEMA, "import: event_id: \"%.*s\" is not a ULID",
                           env->event_id.ptr ? (int)(env->event_id.len > 40 ? 40
                                                     : env->event_id.len) : 6,
                           env->event_id.ptr ? env->event_id.ptr : "(null)");
    char id[DSR_ULID_LEN + 1];
    memcpy(id, env->event_id.ptr, DSR_ULID_LEN);
    id[DSR_ULID_LEN] = '\0';
    uint64_t seq = 0;
    int rc = log_batch_lookup(b, id, &seq, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        fill_result(res, id, seq, 1);   /* already here: no merge, nothing stored */
        return 0;
    }
    /* Re-encode canonically (snake_case type, canonical key order and number
     * forms), then decode that exact record and validate it: what is stored
     * is always a record dsr_record_decode accepts. */
    log_emit_scratch *s = scratch(b);
    if (!s)
        return dsr_err_set(err, DSR_ENOMEM, "import: out of memory");
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s->rec, msgpack_sbuffer_write);
    if ((rc = dsr_record_pack(&pk, env)))
        return dsr_err_set(err, rc == DSR_EINVAL ? DSR_ESCHEMA : rc,
                           "import: event %s: envelope is incomplete", id);
    dsr_envelope check;
    if ((rc = dsr_record_decode(s->rec.data, s->rec.size, &s->up, &check, err)))
        return rc == DSR_ECORRUPT ? dsr_err_set(err, DSR_ESCHEMA,
                                                "import: event %s: does not re-encode", id)
                                  : rc;
    /* The merge sets the clock to max(clock, stamp) + 1 and the next local
     * event takes one more: a stamp that leaves no room for both would wrap
     * the clock to 0 for good.  Refused like any invalid field, before any
     * state moves. */
    uint64_t top = check.lamport_clock > b->lamport ? check.lamport_clock : b->lamport;
    if (top >= LAMPORT_MAX)
        return dsr_err_set(err, DSR_ESCHEMA, "import: event %s: lamport_clock %llu is too "
                           "large: the log's clock would overflow (at most %llu is accepted)",
                           id, (unsigned long long)check.lamport_clock,
                           (unsigned long long)(LAMPORT_MAX - 1));
    uint64_t before = b->lamport;
    dsr_log_batch_lamport_merge(b, check.lamport_clock);
    assert(b->lamport > check.lamport_clock && b->lamport < UINT64_MAX);
    if ((rc = log_batch_append_new(b, id, s->rec.data, s->rec.size, &seq, err))) {
        b->lamport = before;
        return rc;
    }
    fill_result(res, id, seq, 0);
    return 0;
}

int dsr_emit_artifact_indexed(dsr_log_batch *b, const dsr_artifact_indexed *p,
                              const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err)
{
    return dsr_emit(b, DSR_EV_ARTIFACT_INDEXED, p, m, r, err);
}

int dsr_emit_artifact_missing(dsr_log_batch *b, const dsr_artifact_missing *p,
                              const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err)
{
    return dsr_emit(b, DSR_EV_ARTIFACT_MISSING, p, m, r, err);
}

int dsr_emit_snapshot_computed(dsr_log_batch *b, const dsr_snapshot_computed *p,
                               const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err)
{
    return dsr_emit(b, DSR_EV_SNAPSHOT_COMPUTED, p, m, r, err);
}

int dsr_emit_parity_drift_detected(dsr_log_batch *b, const dsr_parity_drift_detected *p,
                                   const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err)
{
    return dsr_emit(b, DSR_EV_PARITY_DRIFT_DETECTED, p, m, r, err);
}

int dsr_emit_baseline_accepted(dsr_log_batch *b, const dsr_baseline_accepted *p,
                               const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err)
{
    return dsr_emit(b, DSR_EV_BASELINE_ACCEPTED, p, m, r, err);
}

int dsr_emit_scan_completed(dsr_log_batch *b, const dsr_scan_completed *p,
                            const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err)
{
    return dsr_emit(b, DSR_EV_SCAN_COMPLETED, p, m, r, err);
}

int dsr_emit_artifact_removed(dsr_log_batch *b, const dsr_artifact_removed *p,
                              const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err)
{
    return dsr_emit(b, DSR_EV_ARTIFACT_REMOVED, p, m, r, err);
}

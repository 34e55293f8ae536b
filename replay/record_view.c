/*
 * record_view.c - the replay driver's reader of stored records.  Format 2
 * (the compact array of eventlog/record_pack.c, what the log writes now) is
 * unpacked into a reused zone and expanded in place; for format 1 (the
 * canonical map) the envelope fields are pulled straight out of the msgpack
 * bytes and only the payload map is unpacked.
 *
 * Why not dsr_record_decode: every record in the log was validated when it
 * was appended (the emitter and dsr_emit_import are the only writers), so
 * re-running the full envelope and payload validators on each replay would
 * spend most of a replay's time proving what is already known.  This reader
 * checks the shape it relies on -- a 26-char event_id, a known
 * event_type, an RFC 3339-looking timestamp, "feature/<slug>" aggregate_id,
 * and a payload map -- and reports anything else as DSR_ECORRUPT naming the
 * field.  Projections then read payload fields defensively (wrong types are
 * treated as absent and reported).  A format 2 record of a type no projection
 * of the pass folds is read only as far as its event id and type: nothing
 * would look at the rest.
 */
#include "replay.h"
#include "codec.h"

#include <assert.h>
#include <string.h>

static int key_is(dsr_str k, const char *lit, size_t n)
{
    return k.len == n && !memcmp(k.ptr, lit, n);
}
#define KEY(k, lit) key_is(k, lit, sizeof lit - 1)

/* The checks both formats share; sets env->payload. */
static int finish_view(dsr_envelope *env, msgpack_object *payload, dsr_err *err)
{
    if (env->event_id.len != DSR_ULID_LEN)
        return dsr_err_set(err, DSR_ECORRUPT, "record has no 26-character event_id");
    if (!env->event_type.ptr
        || dsr_event_type_parse(env->event_type.ptr, env->event_type.len, &env->type))
        return dsr_err_set(err, DSR_ECORRUPT, "record %.26s: unknown event_type",
                           env->event_id.ptr);
    if (!env->timestamp.ptr || env->timestamp.len < 20)
        return dsr_err_set(err, DSR_ECORRUPT, "record %.26s: no timestamp", env->event_id.ptr);
    if (!env->aggregate_id.ptr || env->aggregate_id.len <= 8
        || memcmp(env->aggregate_id.ptr, "feature/", 8))
        return dsr_err_set(err, DSR_ECORRUPT, "record %.26s: aggregate_id is not feature/<slug>",
                           env->event_id.ptr);
    env->feature_slug.ptr = env->aggregate_id.ptr + 8;
    env->feature_slug.len = env->aggregate_id.len - 8;
    if (payload->type != MSGPACK_OBJECT_MAP)
        return dsr_err_set(err, DSR_ECORRUPT, "record %.26s: payload is not a map",
                           env->event_id.ptr);
    env->payload = payload;
    return 0;
}


/* Format 2 (an array, eventlog/record_pack.c): unpack it into zone, expand
 * it into the canonical map, and read the fields off their fixed places. */
static int view_format2(const void *rec, size_t len, msgpack_zone *zone, dsr_envelope *env,
                        dsr_err *err)
{
    msgpack_object arr, map;
    size_t off = 0;
    if (!codec_mp_sizes_plausible(rec, len)
        || msgpack_unpack(rec, len, &off, zone, &arr) != MSGPACK_UNPACK_SUCCESS || off != len)
        return dsr_err_set(err, DSR_ECORRUPT, "record does not decode");
    int rc = codec_record_expand(&arr, zone, &map);
    if (rc)
        return dsr_err_set(err, rc, rc == DSR_ENOMEM ? "out of memory expanding a record"
                                                     : "record is not an envelope");
    const msgpack_object_kv *f = map.via.map.ptr;   /* canonical order */
    env->event_id = codec_str_of(&f[0].val);
    env->event_type = codec_str_of(&f[1].val);
    env->aggregate_id = codec_str_of(&f[2].val);
    env->timestamp = codec_str_of(&f[3].val);
    env->node_id = codec_str_of(&f[4].val);
    if (f[5].val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return dsr_err_set(err, DSR_ECORRUPT, "record: lamport_clock does not decode");
    env->lamport_clock = f[5].val.via.u64;
    env->project_uuid = codec_str_of(&f[6].val);
    env->correlation_id = codec_str_of(&f[7].val);
    env->causation_id = codec_str_of(&f[8].val);
    env->schema_version = codec_str_of(&f[9].val);
    env->payload = &f[10].val;
    return 0;
}

int replay_record_view(const void *rec, size_t len, msgpack_zone *zone, msgpack_object *payload,
                       dsr_envelope *env, dsr_err *err)
{
    mpc c = { rec, (const unsigned char *)rec + len };
    memset(env, 0, sizeof *env);
    if (codec_record_is_format2(rec, len)) {
        int rc = view_format2(rec, len, zone, env, err);
        if (rc)
            return rc;
        *payload = *env->payload;
        env->payload = NULL;
        return finish_view(env, payload, err);
    }
    uint64_t n;
    const char *bad = NULL;
    const unsigned char *pl = NULL, *pl_end = NULL;
    if (mpc_map(&c, &n))
        return dsr_err_set(err, DSR_ECORRUPT, "record is not a msgpack map");
    for (uint64_t i = 0; i < n && !bad; i++) {
        dsr_str k;
        if (mpc_str(&c, &k) != 1) {
            bad = "key";
            break;
        }
        dsr_str *s = NULL;
        if (KEY(k, "event_id"))
            s = &env->event_id;
        else if (KEY(k, "event_type"))
            s = &env->event_type;
        else if (KEY(k, "aggregate_id"))
            s = &env->aggregate_id;
        else if (KEY(k, "timestamp"))
            s = &env->timestamp;
        else if (KEY(k, "node_id"))
            s = &env->node_id;
        else if (KEY(k, "project_uuid"))
            s = &env->project_uuid;
        else if (KEY(k, "correlation_id"))
            s = &env->correlation_id;
        else if (KEY(k, "causation_id"))
            s = &env->causation_id;
        else if (KEY(k, "schema_version"))
            s = &env->schema_version;
        if (s) {
            if (mpc_str(&c, s) < 0)
                bad = "a string field";
        } else if (KEY(k, "lamport_clock")) {
            if (mpc_uint(&c, &env->lamport_clock))
                bad = "lamport_clock";
        } else if (KEY(k, "payload")) {
            pl = c.p;
            if (mpc_skip(&c, 0))
                bad = "payload";
            pl_end = c.p;
        } else if (mpc_skip(&c, 0)) {
            bad = "an unknown field";
        }
    }
    if (bad)
        return dsr_err_set(err, DSR_ECORRUPT, "record: %s does not decode", bad);
    if (!pl)
        return dsr_err_set(err, DSR_ECORRUPT, "record %.26s: no payload", env->event_id.ptr);
    size_t off = 0;
    if (msgpack_unpack((const char *)pl, (size_t)(pl_end - pl), &off, zone, payload)
            != MSGPACK_UNPACK_SUCCESS)
        payload->type = MSGPACK_OBJECT_NIL;
    return finish_view(env, payload, err);
}

/* ---- the reader's view: artifact fields ------------------------------------------ */

static int is_artifact(dsr_event_type t)
{
    return t == DSR_EV_ARTIFACT_INDEXED || t == DSR_EV_ARTIFACT_MISSING
        || t == DSR_EV_ARTIFACT_REMOVED;
}

/* The enum value at index idx of payload field i of t, as a static name
 * (the names looked up once per field when memo is given). */
static dsr_str enum_name(dsr_event_type t, size_t i, uint64_t idx, rv_memo *memo)
{
    const char *const *vals = memo && i < RV_ENUM_FIELDS ? memo->enums[t][i] : NULL;
    dsr_str out = { NULL, 0 };
    if (!vals) {
        size_t len;
        int hex;
        if (!codec_payload_field(t, i, &len, &hex, &vals) || !vals)
            return out;
        if (memo && i < RV_ENUM_FIELDS)
            memo->enums[t][i] = vals;
    }
    for (uint64_t k = 0; vals[k]; k++)
        if (k == idx) {
            out.ptr = vals[k];
            out.len = strlen(vals[k]);
            break;
        }
    return out;
}

static int str_is(dsr_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len == n && !memcmp(s.ptr, lit, n);
}

static void art_hash_from_hex(replay_art *art, dsr_str h)
{
    art->has_hash = h.ptr && h.len == 64 && !dsr_unhex(h.ptr, 64, art->hash);
}

/* art from an artifact event's payload map (format 1, or a format 2 record
 * whose payload was stored as a map). */
static void art_from_map(const dsr_envelope *env, replay_art *art)
{
    enum { F_KEY, F_PATH, F_CLS, F_HASH, F_REQ, F_PATTERN, F_REASON, F_N };
    static const mp_key fields[F_N] = {
        MP_KEY("artifact_key"), MP_KEY("relative_path"), MP_KEY("artifact_class"),
        MP_KEY("content_hash_sha256"), MP_KEY("required_status"),
        MP_KEY("expected_path_pattern"), MP_KEY("reason_code"),
    };
    dsr_str f[F_N];
    mp_pick_str(env->payload, fields, F_N, f);
    art->ok = 1;
    art->key = f[F_KEY];
    art->path = env->type == DSR_EV_ARTIFACT_MISSING ? f[F_PATTERN] : f[F_PATH];
    art->cls = f[F_CLS];
    art->reason = f[F_REASON];
    art->required = str_is(f[F_REQ], "required");
    if (env->type == DSR_EV_ARTIFACT_INDEXED)
        art_hash_from_hex(art, f[F_HASH]);
}

/* A ULID as str (26 chars) or bin 16 (text into buf); 0 for nil, -1 other.
 * memo (may be NULL): the last binary id turned into text, reused when the
 * next one is the same (every event of a scan run has its correlation id). */
static int read_ulid(mpc *c, dsr_str *s, char buf[DSR_ULID_LEN + 1], rv_memo *memo)
{
    int k = mpc_str_bin(c, s);
    if (k == 2) {
        if (s->len != 16)
            return -1;
        if (memo && memo->ok && !memcmp(memo->bin, s->ptr, 16)) {
            memcpy(buf, memo->text, DSR_ULID_LEN + 1);
        } else {
            codec_ulid_from_bin((const unsigned char *)s->ptr, buf);
            if (memo) {
                memcpy(memo->bin, s->ptr, 16);
                memcpy(memo->text, buf, DSR_ULID_LEN + 1);
                memo->ok = 1;
            }
        }
        s->ptr = buf;
        s->len = DSR_ULID_LEN;
        return 1;
    }
    return k;
}

/* An enum field: its uint index (mapped to the static name) or a str. */
static int read_enum(mpc *c, dsr_event_type t, size_t i, dsr_str *s, rv_memo *memo)
{
    if (mpc_need(c, 1) && (c->p[0] <= 0x7f || (c->p[0] >= 0xcc && c->p[0] <= 0xcf))) {
        uint64_t idx;
        if (mpc_uint(c, &idx))
            return -1;
        *s = enum_name(t, i, idx, memo);
        return s->ptr ? 1 : -1;
    }
    return mpc_str(c, s) == 1 ? 1 : -1;
}

/* The head of a format 2 record: its 11-element array header, the event id
 * (text into ids[0], env->event_id) and the type.  1 with c past them, or 0
 * when rec is not a format 2 record with a known type (the caller takes the
 * general path, which also judges malformed records). */
static int read_head(mpc *c, dsr_envelope *env, dsr_event_type *t,
                     char ids[2][DSR_ULID_LEN + 1])
{
    uint64_t n, t64;
    if (!mpc_need(c, 1) || (c->p[0] != 0x9b && c->p[0] != 0xdc && c->p[0] != 0xdd))
        return 0;
    if (c->p[0] == 0x9b) {
        c->p++;
        n = 11;
    } else {
        unsigned char b = *c->p++;
        if (mpc_len(c, b == 0xdc ? 2 : 4, &n))
            return 0;
    }
    if (n != 11 || read_ulid(c, &env->event_id, ids[0], NULL) != 1 || mpc_uint(c, &t64)
        || t64 >= DSR_EV_COUNT)
        return 0;
    *t = (dsr_event_type)t64;
    return 1;
}

/* The fast path, c past read_head of an artifact event of type t: 1 when
 * the rest is the compact payload and env/art are filled; 0 when it is
 * anything else (the general path). */
static int read_artifact_fast(mpc *cp, dsr_event_type t, dsr_envelope *env, replay_art *art,
                              char ids[2][DSR_ULID_LEN + 1], rv_memo *memo)
{
    mpc c = *cp;
    uint64_t lamport;
    dsr_str skip_s, agg = { NULL, 0 };
    assert(is_artifact(t));
    if (mpc_str(&c, &agg) < 0 || mpc_str(&c, &env->timestamp) != 1
        || mpc_str_bin(&c, &skip_s) <= 0 || mpc_uint(&c, &lamport)
        || mpc_str_bin(&c, &skip_s) <= 0
        || read_ulid(&c, &env->correlation_id, ids[1], memo) < 0
        || mpc_str_bin(&c, &skip_s) < 0 || mpc_str(&c, &skip_s) < 0)
        return 0;
    size_t nf = codec_payload_field_count(t);
    if (!mpc_need(&c, 1) || c.p[0] != (unsigned char)(0x90 | nf))
        return 0;   /* a payload stored as a map */
    c.p++;
    dsr_str slug, hash = { NULL, 0 };
    int hk = 0;
    memset(art, 0, sizeof *art);
    if (mpc_str(&c, &slug) != 1 || mpc_str(&c, &art->key) != 1
        || (t != DSR_EV_ARTIFACT_REMOVED && read_enum(&c, t, 2, &art->cls, memo) != 1))
        return 0;
    switch (t) {
    case DSR_EV_ARTIFACT_INDEXED:
        if (mpc_str(&c, &art->path) != 1 || (hk = mpc_str_bin(&c, &hash)) <= 0
            || mpc_skip(&c, 0) || mpc_str(&c, &skip_s) < 0 || mpc_str(&c, &skip_s) < 0)
            return 0;
        dsr_str rq;
        if (read_enum(&c, t, 8, &rq, memo) != 1)
            return 0;
        art->required = str_is(rq, "required");
        if (hk == 2 && hash.len == 32) {
            memcpy(art->hash, hash.ptr, 32);
            art->has_hash = 1;
        } else if (hk == 1) {
            art_hash_from_hex(art, hash);
        }
        break;
    case DSR_EV_ARTIFACT_MISSING:
        if (mpc_str(&c, &art->path) != 1 || read_enum(&c, t, 4, &art->reason, memo) != 1
            || mpc_skip(&c, 0) || mpc_skip(&c, 0))
            return 0;
        break;
    default:   /* removed */
        if (mpc_str(&c, &art->path) != 1)
            return 0;
        break;
    }
    if (c.p != c.end)
        return 0;
    env->lamport_clock = lamport;
    env->type = t;
    env->event_type.ptr = dsr_event_type_name(t);
    env->event_type.len = strlen(env->event_type.ptr);
    if (agg.ptr) {
        if (agg.len <= 8 || memcmp(agg.ptr, "feature/", 8))
            return 0;
        env->aggregate_id = agg;
        env->feature_slug.ptr = agg.ptr + 8;
        env->feature_slug.len = agg.len - 8;
    } else {
        env->feature_slug = slug;   /* aggregate_id is derived from it (record_pack.c) */
    }
    if (env->event_id.len != DSR_ULID_LEN || env->timestamp.len < 20 || !env->feature_slug.len)
        return 0;
    art->ok = 1;
    return 1;
}

int replay_record_read(const void *rec, size_t len, const uint32_t *consumes, rv_memo *memo,
                       msgpack_zone *zone, msgpack_object *payload, dsr_envelope *env,
                       replay_art *art, char ids[2][DSR_ULID_LEN + 1], dsr_err *err)
{
    memset(env, 0, sizeof *env);
    mpc c = { rec, (const unsigned char *)rec + len };
    dsr_event_type t;
    int head = read_head(&c, env, &t, ids);
    /* not decoded: art holds what the snapshot fold needs, or nothing folds it */
    payload->type = MSGPACK_OBJECT_MAP;
    payload->via.map.size = 0;
    payload->via.map.ptr = NULL;
    if (head && consumes && !(*consumes & (1u << t)) && env->event_id.len == DSR_ULID_LEN) {
        memset(art, 0, sizeof *art);
        env->type = t;
        env->event_type.ptr = dsr_event_type_name(t);
        env->event_type.len = strlen(env->event_type.ptr);
        env->payload = payload;
        return 0;
    }
    if (head && is_artifact(t) && read_artifact_fast(&c, t, env, art, ids, memo)) {
        env->payload = payload;
        return 0;
    }
    memset(env, 0, sizeof *env);
    memset(art, 0, sizeof *art);
    int rc = replay_record_view(rec, len, zone, payload, env, err);
    if (!rc && is_artifact(env->type))
        art_from_map(env, art);
    return rc;
}

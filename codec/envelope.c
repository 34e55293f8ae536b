/*
 * envelope.c - the canonical event envelope: validation into a view,
 * canonical encoding, and decoding of an envelope map from msgpack.  The
 * stored record format (which may hold a compact array) is record_pack.c's,
 * which builds on this file, never the other way round.
 *
 * Invariants kept here:
 *  - an envelope has exactly the eleven keys of `keys[]` below, no others;
 *    the canonical encoding writes them in that order with the snake_case
 *    event_type and schema_version "1.0.0";
 *  - aggregate_id is "feature/<slug>" and slug equals payload.feature_slug
 *    (the one rule JSON Schema cannot express; see docs/events.md);
 *  - a view's strings point into the caller's msgpack object: nothing is
 *    copied or allocated.
 * The per-field rules match schemas/envelope.schema.json.
 */
#include "dossier/event.h"
#include "codec.h"
#include "be.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum {
    E_EVENT_ID, E_EVENT_TYPE, E_AGGREGATE_ID, E_TIMESTAMP, E_NODE_ID, E_LAMPORT,
    E_PROJECT_UUID, E_CORRELATION_ID, E_CAUSATION_ID, E_SCHEMA_VERSION, E_PAYLOAD,
    E_COUNT
};

static const char *const keys[E_COUNT] = {
    "event_id", "event_type", "aggregate_id", "timestamp", "node_id", "lamport_clock",
    "project_uuid", "correlation_id", "causation_id", "schema_version", "payload",
};
static const unsigned char key_lens[E_COUNT] = { 8, 10, 12, 9, 7, 13, 12, 14, 12, 14, 7 };

#define AGG_PREFIX "feature/"
#define AGG_PREFIX_LEN (sizeof AGG_PREFIX - 1)

/* Message: "[event <id>: ]<field>: <value> <what>". */
static int bad(dsr_err *err, const dsr_str *id, int field, const msgpack_object *v,
               const char *what)
{
    char val[160];
    codec_render_value(v, val, sizeof val);
    if (id && id->ptr)
        return dsr_err_set(err, DSR_ESCHEMA, "event %.*s: %s: %s %s", (int)id->len, id->ptr,
                           keys[field], val, what);
    return dsr_err_set(err, DSR_ESCHEMA, "%s: %s %s", keys[field], val, what);
}

const msgpack_object *codec_map_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl
            && !memcmp(k->via.str.ptr, key, kl))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

dsr_str codec_str_of(const msgpack_object *v)
{
    dsr_str s = { NULL, 0 };
    if (v->type == MSGPACK_OBJECT_STR) {
        /* a zero-length str may carry a NULL ptr; keep "" distinct from null */
        s.ptr = v->via.str.size ? v->via.str.ptr : "";
        s.len = v->via.str.size;
    }
    return s;
}

static int utf8_str(const msgpack_object *v)
{
    return v->type == MSGPACK_OBJECT_STR && utf8_check(v->via.str.ptr, v->via.str.size);
}

int dsr_envelope_view(const msgpack_object *obj, dsr_envelope *out, dsr_err *err)
{
    if (!obj || !out)
        return dsr_err_set(err, DSR_EINVAL, "envelope: NULL argument");
    if (obj->type != MSGPACK_OBJECT_MAP) {
        char val[160];
        codec_render_value(obj, val, sizeof val);
        return dsr_err_set(err, DSR_ESCHEMA, "envelope: %s is not an object", val);
    }
    const msgpack_object *f[E_COUNT] = { 0 };
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr[i].key;
        int idx = -1;
        if (k->type == MSGPACK_OBJECT_STR)
            for (int j = 0; j < E_COUNT; j++)
                if (key_lens[j] == k->via.str.size &&
                    !memcmp(keys[j], k->via.str.ptr, k->via.str.size)) {
                    idx = j;
                    break;
                }
        if (idx < 0) {
            char name[120];
            codec_render_value(k, name, sizeof name);
            return dsr_err_set(err, DSR_ESCHEMA, "envelope: unknown field %s", name);
        }
        if (f[idx])
            return dsr_err_set(err, DSR_ESCHEMA, "envelope: field \"%s\" appears twice", keys[idx]);
        f[idx] = &obj->via.map.ptr[i].val;
    }
    for (int j = 0; j < E_COUNT; j++)
        if (!f[j])
            return dsr_err_set(err, DSR_ESCHEMA, "envelope: missing field \"%s\"", keys[j]);

    dsr_envelope e;
    memset(&e, 0, sizeof e);

    const msgpack_object *v = f[E_EVENT_ID];
    if (v->type != MSGPACK_OBJECT_STR || !dsr_ulid_valid(v->via.str.ptr, v->via.str.size))
        return bad(err, NULL, E_EVENT_ID, v,
                   "is not a ULID (26 Crockford base32 characters, uppercase, first one 0-7)");
    e.event_id = codec_str_of(v);
    const dsr_str *id = &e.event_id;

    v = f[E_EVENT_TYPE];
    if (v->type != MSGPACK_OBJECT_STR ||
        dsr_event_type_parse(v->via.str.ptr, v->via.str.size, &e.type))
        return bad(err, id, E_EVENT_TYPE, v, "is not a known event type");
    e.event_type = codec_str_of(v);

    v = f[E_AGGREGATE_ID];
    if (!utf8_str(v) || v->via.str.size <= AGG_PREFIX_LEN ||
        memcmp(v->via.str.ptr, AGG_PREFIX, AGG_PREFIX_LEN))
        return bad(err, id, E_AGGREGATE_ID, v, "is not \"feature/<feature_slug>\"");
    e.aggregate_id = codec_str_of(v);
    e.feature_slug.ptr = e.aggregate_id.ptr + AGG_PREFIX_LEN;
    e.feature_slug.len = e.aggregate_id.len - AGG_PREFIX_LEN;

    v = f[E_TIMESTAMP];
    if (v->type != MSGPACK_OBJECT_STR || !codec_rfc3339_valid(v->via.str.ptr, v->via.str.size))
        return bad(err, id, E_TIMESTAMP, v,
                   "is not an RFC 3339 date-time with offset (e.g. 2026-01-31T12:00:00.000Z)");
    e.timestamp = codec_str_of(v);

    v = f[E_NODE_ID];
    if (!utf8_str(v) || v->via.str.size == 0)
        return bad(err, id, E_NODE_ID, v, "is not a non-empty string");
    e.node_id = codec_str_of(v);

    v = f[E_LAMPORT];
    int neg;
    uint64_t mag;
    int r = codec_as_integer(v, &neg, &mag);
    if (r == 0)
        return bad(err, id, E_LAMPORT, v, "is not an integer");
    if (neg && mag > 0)
        return bad(err, id, E_LAMPORT, v, "is below the minimum 0");
    if (r < 0)
        return bad(err, id, E_LAMPORT, v, "is above the maximum 18446744073709551615");
    e.lamport_clock = mag;

    v = f[E_PROJECT_UUID];
    if (v->type != MSGPACK_OBJECT_STR || !codec_uuid_valid(v->via.str.ptr, v->via.str.size))
        return bad(err, id, E_PROJECT_UUID, v, "is not a UUID (8-4-4-4-12 hex digits)");
    e.project_uuid = codec_str_of(v);

    for (int j = E_CORRELATION_ID; j <= E_CAUSATION_ID; j++) {
        v = f[j];
        if (v->type != MSGPACK_OBJECT_NIL && !utf8_str(v))
            return bad(err, id, j, v, "is neither a string nor null");
    }
    e.correlation_id = codec_str_of(f[E_CORRELATION_ID]);
    e.causation_id = codec_str_of(f[E_CAUSATION_ID]);

    v = f[E_SCHEMA_VERSION];
    if (v->type != MSGPACK_OBJECT_STR || v->via.str.size != strlen(DSR_SCHEMA_VERSION) ||
        memcmp(v->via.str.ptr, DSR_SCHEMA_VERSION, v->via.str.size))
        return bad(err, id, E_SCHEMA_VERSION, v, "is not \"" DSR_SCHEMA_VERSION "\"");
    e.schema_version = codec_str_of(v);

    v = f[E_PAYLOAD];
    int rc = dsr_payload_validate(e.type, v, err);
    if (rc) {
        dsr_err_prefix(err, "event %.*s", (int)id->len, id->ptr);
        return rc;   /* the validator's code, also when err is NULL */
    }
    /* The payload is a valid map with a string feature_slug: compare. */
    for (uint32_t i = 0; i < v->via.map.size; i++) {
        const msgpack_object *k = &v->via.map.ptr[i].key;
        const msgpack_object *s = &v->via.map.ptr[i].val;
        if (k->via.str.size == 12 && !memcmp(k->via.str.ptr, "feature_slug", 12) &&
            (s->via.str.size != e.feature_slug.len ||
             memcmp(s->via.str.ptr, e.feature_slug.ptr, e.feature_slug.len))) {
            char val[160];
            codec_render_value(s, val, sizeof val);
            return dsr_err_set(err, DSR_ESCHEMA,
                               "event %.*s: aggregate_id: \"%.*s\" does not match "
                               "payload.feature_slug %s",
                               (int)id->len, id->ptr, (int)e.aggregate_id.len,
                               e.aggregate_id.ptr, val);
        }
    }
    e.payload = v;
    *out = e;
    return 0;
}

/* ---- canonical encoding ------------------------------------------------- */

int codec_pack_canonical(msgpack_packer *pk, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        int neg;
        uint64_t mag;
        if (codec_as_integer(o, &neg, &mag) == 1) {
            if (!neg || mag == 0)
                return msgpack_pack_uint64(pk, mag);
            if (mag <= (uint64_t)INT64_MAX + 1u)
                return msgpack_pack_int64(pk, mag == (uint64_t)INT64_MAX + 1u
                                                  ? INT64_MIN : -(int64_t)mag);
        }
        return msgpack_pack_object(pk, *o);
    }
    case MSGPACK_OBJECT_ARRAY:
        if (msgpack_pack_array(pk, o->via.array.size))
            return -1;
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (codec_pack_canonical(pk, &o->via.array.ptr[i]))
                return -1;
        return 0;
    case MSGPACK_OBJECT_MAP:
        if (msgpack_pack_map(pk, o->via.map.size))
            return -1;
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (codec_pack_canonical(pk, &o->via.map.ptr[i].key) ||
                codec_pack_canonical(pk, &o->via.map.ptr[i].val))
                return -1;
        return 0;
    default:
        return msgpack_pack_object(pk, *o);
    }
}

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_dstr(msgpack_packer *pk, dsr_str s)
{
    return s.ptr ? pack_str(pk, s.ptr, s.len) : msgpack_pack_nil(pk);
}

int dsr_envelope_pack(msgpack_packer *pk, const dsr_envelope *env)
{
    if (!pk || !env || (unsigned)env->type >= DSR_EV_COUNT || !env->payload ||
        !env->event_id.ptr || !env->timestamp.ptr || !env->node_id.ptr ||
        !env->project_uuid.ptr || (!env->aggregate_id.ptr && !env->feature_slug.ptr))
        return DSR_EINVAL;
    const char *type = dsr_event_type_name(env->type);
    int fail = msgpack_pack_map(pk, E_COUNT);
    fail = fail || pack_str(pk, keys[E_EVENT_ID], strlen(keys[E_EVENT_ID])) ||
           pack_dstr(pk, env->event_id);
    fail = fail || pack_str(pk, keys[E_EVENT_TYPE], strlen(keys[E_EVENT_TYPE])) ||
           pack_str(pk, type, strlen(type));
    fail = fail || pack_str(pk, keys[E_AGGREGATE_ID], strlen(keys[E_AGGREGATE_ID]));
    if (env->aggregate_id.ptr) {
        fail = fail || pack_dstr(pk, env->aggregate_id);
    } else {
        fail = fail || msgpack_pack_str(pk, AGG_PREFIX_LEN + env->feature_slug.len) ||
               msgpack_pack_str_body(pk, AGG_PREFIX, AGG_PREFIX_LEN) ||
               msgpack_pack_str_body(pk, env->feature_slug.ptr, env->feature_slug.len);
    }
    fail = fail || pack_str(pk, keys[E_TIMESTAMP], strlen(keys[E_TIMESTAMP])) ||
           pack_dstr(pk, env->timestamp);
    fail = fail || pack_str(pk, keys[E_NODE_ID], strlen(keys[E_NODE_ID])) ||
           pack_dstr(pk, env->node_id);
    fail = fail || pack_str(pk, keys[E_LAMPORT], strlen(keys[E_LAMPORT])) ||
           msgpack_pack_uint64(pk, env->lamport_clock);
    fail = fail || pack_str(pk, keys[E_PROJECT_UUID], strlen(keys[E_PROJECT_UUID])) ||
           pack_dstr(pk, env->project_uuid);
    fail = fail || pack_str(pk, keys[E_CORRELATION_ID], strlen(keys[E_CORRELATION_ID])) ||
           pack_dstr(pk, env->correlation_id);
    fail = fail || pack_str(pk, keys[E_CAUSATION_ID], strlen(keys[E_CAUSATION_ID])) ||
           pack_dstr(pk, env->causation_id);
    fail = fail || pack_str(pk, keys[E_SCHEMA_VERSION], strlen(keys[E_SCHEMA_VERSION]));
    if (env->schema_version.ptr)
        fail = fail || pack_dstr(pk, env->schema_version);
    else
        fail = fail || pack_str(pk, DSR_SCHEMA_VERSION, strlen(DSR_SCHEMA_VERSION));
    fail = fail || pack_str(pk, keys[E_PAYLOAD], strlen(keys[E_PAYLOAD])) ||
           codec_pack_canonical(pk, env->payload);
    return fail ? DSR_ENOMEM : 0;
}

/* 1 when no array or map in the msgpack bytes declares more elements than
 * bytes remain (each element takes at least one), so that decoding can never
 * be asked to allocate more than a small multiple of len.  msgpack-c
 * allocates a container's element array from its declared count before
 * reading any element: without this check a 5-byte record (0xdd ff ff ff ff)
 * asks for 96 GiB.  Iterative; 0 also for truncated input (msgpack-c then
 * reports what exactly is wrong when it matters). */
int codec_mp_sizes_plausible(const unsigned char *p, size_t len)
{
    uint64_t need = 1;   /* objects still to read; never above len - i */
    size_t i = 0;
    while (need) {
        if (i >= len)
            return 0;
        need--;
        unsigned c = p[i++];
        uint64_t n = 0, skip = 0;
        int lenbytes = 0, map = 0, container = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            continue;
        } else if (c <= 0x8f) {
            n = c & 0x0f; map = container = 1;
        } else if (c <= 0x9f) {
            n = c & 0x0f; container = 1;
        } else if (c <= 0xbf) {
            skip = c & 0x1f;
        } else {
            switch (c) {
            case 0xc4: case 0xd9: lenbytes = 1; break;            /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;
            case 0xc6: case 0xdb: lenbytes = 4; break;
            case 0xc7: lenbytes = 1; skip = 1; break;             /* ext8: + type */
            case 0xc8: lenbytes = 2; skip = 1; break;
            case 0xc9: lenbytes = 4; skip = 1; break;
            case 0xca: case 0xce: case 0xd2: skip = 4; break;
            case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: lenbytes = 2; container = 1; break;
            case 0xdd: lenbytes = 4; container = 1; break;
            case 0xde: lenbytes = 2; container = map = 1; break;
            case 0xdf: lenbytes = 4; container = map = 1; break;
            default:   return 1;   /* 0xc1: never valid; msgpack-c says so */
            }
            if (lenbytes) {
                if ((size_t)lenbytes > len - i)
                    return 0;
                uint64_t v = be_getn(p + i, (size_t)lenbytes);
                i += (size_t)lenbytes;
                if (container)
                    n = v;
                else
                    skip += v;
            }
        }
        if (container) {
            uint64_t items = map ? 2 * n : n;
            if (items > len - i)
                return 0;
            need += items;
        } else {
            if (skip > len - i)
                return 0;
            i += (size_t)skip;
        }
    }
    return 1;
}

int codec_unpack_one(const void *buf, size_t len, msgpack_unpacked *u, dsr_err *err)
{
    if (!codec_mp_sizes_plausible(buf, len))
        return dsr_err_set(err, DSR_ECORRUPT, "record: truncated or corrupt msgpack "
                           "(%zu bytes; a value claims more bytes or elements than remain)",
                           len);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(u, buf, len, &off);
    switch (r) {
    case MSGPACK_UNPACK_SUCCESS:
        break;
    case MSGPACK_UNPACK_CONTINUE:
        return dsr_err_set(err, DSR_ECORRUPT, "record: truncated msgpack (%zu bytes)", len);
    case MSGPACK_UNPACK_NOMEM_ERROR:
        /* msgpack-c also reports nesting deeper than 32 levels this way; no
         * valid envelope is nested more than 3 levels deep. */
        return dsr_err_set(err, DSR_ESCHEMA,
                           "record: does not decode (nested deeper than 32 levels, "
                           "or out of memory)");
    default:
        return dsr_err_set(err, DSR_ECORRUPT, "record: not valid msgpack (%zu bytes)", len);
    }
    if (off != len)
        return dsr_err_set(err, DSR_ECORRUPT, "record: %zu trailing bytes after the envelope",
                           len - off);
    assert(off == len);
    return 0;
}

/* The envelope map of a JSON line or a NATS message; stored records (which
 * may be format 2 arrays) go through dsr_record_decode (record_pack.c). */
int dsr_envelope_decode(const void *msgpack, size_t len, msgpack_unpacked *u,
                        dsr_envelope *env, dsr_err *err)
{
    if (!msgpack || !u || !env)
        return dsr_err_set(err, DSR_EINVAL, "record: NULL argument");
    int rc = codec_unpack_one(msgpack, len, u, err);
    return rc ? rc : dsr_envelope_view(&u->data, env, err);
}

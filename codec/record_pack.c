/*
 * record_pack.c - the stored form of an event, the one entry point to the
 * record format: packing (record format 2: the envelope as a fixed-position
 * msgpack array with its redundant text squeezed out), recognising the
 * format, expanding an array back into the canonical envelope map, and
 * decoding a stored record of either format into an envelope view
 * (dsr_record_decode).  It builds on envelope.c (canonical packing, the
 * envelope rules); envelope.c knows nothing of stored formats.
 *
 * Why: a scan appends one record per file, and the WAL bytes of those
 * records were what limited durable appends (this form is about a third of
 * the keyed map's size; docs/bench.md has the figures).  The envelope and
 * payload seen by every reader are unchanged: dsr_record_decode and the
 * replay reader expand a stored array into exactly the map that format 1
 * stored.
 *
 * Format 2 is a msgpack array of 11, in envelope order:
 *    0 event_id        bin 16 (the ULID's 128 bits) | str
 *    1 event_type      uint: dsr_event_type
 *    2 aggregate_id    nil = "feature/" + payload.feature_slug | str
 *    3 timestamp       str
 *    4 node_id         bin 16 (a ULID) | str
 *    5 lamport_clock   uint
 *    6 project_uuid    bin 16 (a lowercase hyphenated UUID) | str
 *    7 correlation_id  nil | bin 16 (a ULID) | str
 *    8 causation_id    nil | bin 16 (a ULID) | str
 *    9 schema_version  nil = "1.0.0" | str
 *   10 payload         array of the type's fields in canonical order
 *                      (event_validate.c's tables), where a 64-hex field is
 *                      bin 32 and an enum field the uint index of its value
 *                      in the enum table (so those tables only ever grow at
 *                      the end); or the payload map as given, when it does
 *                      not hold exactly those fields in that order.
 * A format 1 record is the canonical envelope map (dsr_envelope_pack);
 * readers accept both, the first byte tells them apart.
 *
 * Invariants: dsr_record_pack is deterministic, and expanding then packing
 * again gives the same bytes (`dossier verify` relies on it).  Expansion
 * trusts nothing: a value that is not one of the compact forms above is
 * passed through unchanged, for dsr_envelope_view to judge.
 */
#include "dossier/event.h"
#include "codec.h"
#include "dossier/buf.h"
#include "be.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define AGG_PREFIX "feature/"
#define AGG_PREFIX_LEN 8

enum { R_ID, R_TYPE, R_AGG, R_TS, R_NODE, R_LAMPORT, R_PROJECT, R_CORR, R_CAUSE, R_SCHEMA,
       R_PAYLOAD, R_COUNT };

static const char *const env_keys[R_COUNT] = {
    "event_id", "event_type", "aggregate_id", "timestamp", "node_id", "lamport_clock",
    "project_uuid", "correlation_id", "causation_id", "schema_version", "payload",
};

/* ---- packing ----------------------------------------------------------------- */

static int pack_bin(msgpack_packer *pk, const unsigned char *b, size_t n)
{
    return msgpack_pack_bin(pk, n) || msgpack_pack_bin_body(pk, b, n);
}

/* Lowercase 8-4-4-4-12 -> 16 bytes; -1 otherwise. */
static int uuid_to_bin(dsr_str s, unsigned char b[16])
{
    static const size_t groups[5] = { 8, 4, 4, 4, 12 };
    if (!s.ptr || s.len != 36)
        return -1;
    const char *p = s.ptr;
    unsigned char *o = b;
    for (int g = 0; g < 5; g++) {
        if (g && *p++ != '-')
            return -1;
        if (dsr_unhex(p, groups[g], o))
            return -1;
        p += groups[g];
        o += groups[g] / 2;
    }
    return 0;
}

static void uuid_from_bin(const unsigned char b[16], char out[37])
{
    static const int dash_after[] = { 4, 6, 8, 10 };
    size_t o = 0;
    for (int i = 0, d = 0; i < 16; i++) {
        if (d < 4 && i == dash_after[d]) {
            out[o++] = '-';
            d++;
        }
        dsr_hex(b + i, 1, out + o);   /* its NUL is overwritten by the next char */
        o += 2;
    }
}

static int str_eq(const msgpack_object *o, const char *s, size_t n)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
           && (!n || !memcmp(o->via.str.ptr, s, n));
}

static size_t field_count(dsr_event_type t)
{
    return codec_payload_field_count(t);
}

/* 1 when payload is a map of exactly t's fields in canonical order. */
static int payload_fits(dsr_event_type t, const msgpack_object *p)
{
    if (p->type != MSGPACK_OBJECT_MAP || p->via.map.size != field_count(t))
        return 0;
    for (uint32_t i = 0; i < p->via.map.size; i++) {
        size_t len;
        int hex;
        const char *const *vals;
        const char *name = codec_payload_field(t, i, &len, &hex, &vals);
        if (!str_eq(&p->via.map.ptr[i].key, name, len))
            return 0;
    }
    return 1;
}

/* Index of v in the NULL-terminated vals, or -1. */
static int enum_index(const char *const *vals, const msgpack_object *v)
{
    for (int i = 0; vals[i]; i++)
        if (str_eq(v, vals[i], strlen(vals[i])))
            return i;
    return -1;
}

static int pack_payload(msgpack_packer *pk, dsr_event_type t, const msgpack_object *p)
{
    if (!payload_fits(t, p))
        return codec_pack_canonical(pk, p);
    if (msgpack_pack_array(pk, p->via.map.size))
        return -1;
    for (uint32_t i = 0; i < p->via.map.size; i++) {
        const msgpack_object *v = &p->via.map.ptr[i].val;
        size_t len;
        int hex, idx;
        const char *const *vals;
        (void)codec_payload_field(t, i, &len, &hex, &vals);
        unsigned char b[32];
        int rc;
        if (hex && v->type == MSGPACK_OBJECT_STR && v->via.str.size == 64
            && !dsr_unhex(v->via.str.ptr, 64, b))
            rc = pack_bin(pk, b, 32);
        else if (vals && (idx = enum_index(vals, v)) >= 0)
            rc = msgpack_pack_uint32(pk, (uint32_t)idx);
        else
            rc = codec_pack_canonical(pk, v);
        if (rc)
            return -1;
    }
    return 0;
}

/* payload.feature_slug when payload is a map holding it as a string. */
static int payload_slug(const msgpack_object *p, dsr_str *out)
{
    if (p->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (uint32_t i = 0; i < p->via.map.size; i++)
        if (str_eq(&p->via.map.ptr[i].key, "feature_slug", 12)) {
            const msgpack_object *v = &p->via.map.ptr[i].val;
            if (v->type != MSGPACK_OBJECT_STR)
                return 0;
            out->ptr = v->via.str.ptr;
            out->len = v->via.str.size;
            return 1;
        }
    return 0;
}

/* aggregate_id is written as nil exactly when it is "feature/" + slug. */
static int agg_is_derived(const dsr_envelope *env)
{
    dsr_str slug;
    if (!env->aggregate_id.ptr)
        return 1;
    if (!payload_slug(env->payload, &slug))
        return 0;
    return env->aggregate_id.len == AGG_PREFIX_LEN + slug.len
           && !memcmp(env->aggregate_id.ptr, AGG_PREFIX, AGG_PREFIX_LEN)
           && !memcmp(env->aggregate_id.ptr + AGG_PREFIX_LEN, slug.ptr, slug.len);
}

/* ---- the head, written as bytes ------------------------------------------------
 *
 * Elements 0-9 (everything but the payload) are written straight into
 * memory rather than through msgpack_packer's write callback: the record is
 * built once per event, and per-value calls were a visible share of
 * emitting one (docs/bench.md).  The writers below use msgpack-c's forms:
 * the smallest width for every length and unsigned integer (fixstr, str8,
 * str16, str32; fixint, uint8 ... uint64), bin8-32, fixarray/array16/32;
 * tests/unit/codec/test_emit_direct.c compares the bytes with msgpack-c's. */

static unsigned char *w_be(unsigned char *o, unsigned char tag, uint64_t v, size_t n)
{
    *o++ = tag;
    be_putn(o, v, n);
    return o + n;
}

static unsigned char *w_uint(unsigned char *o, uint64_t v)
{
    if (v < 128) {
        *o++ = (unsigned char)v;
        return o;
    }
    return v < 256 ? w_be(o, 0xcc, v, 1) : v < 65536 ? w_be(o, 0xcd, v, 2)
           : v <= UINT32_MAX ? w_be(o, 0xce, v, 4) : w_be(o, 0xcf, v, 8);
}

static unsigned char *w_str_hdr(unsigned char *o, size_t n)
{
    if (n < 32) {
        *o++ = (unsigned char)(0xa0 | n);
        return o;
    }
    return n < 256 ? w_be(o, 0xd9, n, 1) : n < 65536 ? w_be(o, 0xda, n, 2)
           : w_be(o, 0xdb, n, 4);
}

static unsigned char *w_str(unsigned char *o, const char *s, size_t n)
{
    o = w_str_hdr(o, n);
    if (n)
        memcpy(o, s, n);
    return o + n;
}

/* Only the 16- and 32-byte values of records: bin8. */
static unsigned char *w_bin(unsigned char *o, const unsigned char *b, size_t n)
{
    assert(n < 256);
    *o++ = 0xc4;
    *o++ = (unsigned char)n;
    memcpy(o, b, n);
    return o + n;
}

static unsigned char *w_array_hdr(unsigned char *o, size_t n)
{
    assert(n < 16);   /* the record and its payloads */
    *o++ = (unsigned char)(0x90 | n);
    return o;
}

/* At most what w_str or w_bin writes for a string of n bytes. */
static size_t str_bound(size_t n)
{
    return 5 + (n > 18 ? n : 18);
}

/* The 16-byte form of an id (conv: codec_ulid_to_bin or uuid_to_bin), or
 * NULL when it has none; kept in m (if any) for the next call with the same
 * text. */
static const unsigned char *memo_bin(codec_bin_memo *m, dsr_str s, unsigned char tmp[16],
                                     int (*conv)(dsr_str, unsigned char *))
{
    if (!m || s.len > sizeof m->text)
        return conv(s, tmp) ? NULL : tmp;
    if (!m->len || m->len != s.len || memcmp(m->text, s.ptr, s.len)) {
        m->is_bin = !conv(s, m->bin);
        memcpy(m->text, s.ptr, s.len);
        m->len = s.len;
    }
    assert(m->len == s.len && !memcmp(m->text, s.ptr, s.len));
    return m->is_bin ? m->bin : NULL;
}

static int ulid_conv(dsr_str s, unsigned char *b)
{
    return codec_ulid_to_bin(s.ptr, s.len, b);
}

/* A ULID as bin 16, anything else as its string, NULL as nil. */
static unsigned char *w_ulidish(unsigned char *o, dsr_str s, codec_bin_memo *m)
{
    unsigned char tmp[16];
    if (!s.ptr) {
        *o++ = 0xc0;
        return o;
    }
    const unsigned char *b = memo_bin(m, s, tmp, ulid_conv);
    return b ? w_bin(o, b, 16) : w_str(o, s.ptr, s.len);
}

/* What head_write may write for env. */
static size_t head_bound(const dsr_envelope *env)
{
    return 1 + str_bound(env->event_id.len) + 5
           + str_bound(AGG_PREFIX_LEN + (env->aggregate_id.ptr ? env->aggregate_id.len
                                                               : env->feature_slug.len))
           + str_bound(env->timestamp.len) + str_bound(env->node_id.len) + 9
           + str_bound(env->project_uuid.len) + str_bound(env->correlation_id.len)
           + str_bound(env->causation_id.len) + str_bound(env->schema_version.len);
}

/* Elements 0-9 into o (head_bound(env) bytes free); the end of what was
 * written.  agg_nil: aggregate_id is "feature/" + the payload's slug
 * (agg_is_derived).  id_bin: the event id's 16 bytes, or NULL. */
static unsigned char *head_write(unsigned char *o, const dsr_envelope *env, int agg_nil,
                                 const unsigned char *id_bin, codec_head_memo *memo)
{
    o = w_array_hdr(o, R_COUNT);
    if (id_bin) {
        assert(env->event_id.len == DSR_ULID_LEN);
        o = w_bin(o, id_bin, 16);
    } else {
        o = w_ulidish(o, env->event_id, NULL);
    }
    o = w_uint(o, (uint64_t)env->type);
    if (agg_nil) {
        *o++ = 0xc0;
    } else if (env->aggregate_id.ptr) {
        o = w_str(o, env->aggregate_id.ptr, env->aggregate_id.len);
    } else {
        /* no aggregate_id and a payload without that slug: spell it out */
        o = w_str_hdr(o, AGG_PREFIX_LEN + env->feature_slug.len);
        memcpy(o, AGG_PREFIX, AGG_PREFIX_LEN);
        memcpy(o + AGG_PREFIX_LEN, env->feature_slug.ptr, env->feature_slug.len);
        o += AGG_PREFIX_LEN + env->feature_slug.len;
    }
    o = w_str(o, env->timestamp.ptr, env->timestamp.len);
    o = w_ulidish(o, env->node_id, memo ? &memo->node : NULL);
    o = w_uint(o, env->lamport_clock);
    unsigned char tmp[16];
    const unsigned char *b = memo_bin(memo ? &memo->project : NULL, env->project_uuid, tmp,
                                      uuid_to_bin);
    o = b ? w_bin(o, b, 16) : w_str(o, env->project_uuid.ptr, env->project_uuid.len);
    o = w_ulidish(o, env->correlation_id, memo ? &memo->corr : NULL);
    o = w_ulidish(o, env->causation_id, memo ? &memo->cause : NULL);
    if (!env->schema_version.ptr
        || (env->schema_version.len == sizeof DSR_SCHEMA_VERSION - 1
            && !memcmp(env->schema_version.ptr, DSR_SCHEMA_VERSION, env->schema_version.len)))
        *o++ = 0xc0;
    else
        o = w_str(o, env->schema_version.ptr, env->schema_version.len);
    return o;
}

static int head_args_ok(const dsr_envelope *env)
{
    return (unsigned)env->type < DSR_EV_COUNT && env->event_id.ptr && env->timestamp.ptr
           && env->node_id.ptr && env->project_uuid.ptr
           && (env->aggregate_id.ptr || env->feature_slug.ptr);
}

int dsr_record_pack(msgpack_packer *pk, const dsr_envelope *env)
{
    if (!pk || !env || !env->payload || !head_args_ok(env))
        return DSR_EINVAL;
    unsigned char stack[512], *h = stack;
    size_t bound = head_bound(env);
    if (bound > sizeof stack && !(h = malloc(bound)))
        return DSR_ENOMEM;
    unsigned char *end = head_write(h, env, agg_is_derived(env), NULL, NULL);
    assert((size_t)(end - h) <= bound);
    int fail = pk->callback(pk->data, (const char *)h, (size_t)(end - h))
               || pack_payload(pk, env->type, env->payload);
    if (h != stack)
        free(h);
    return fail ? DSR_ENOMEM : 0;
}

static unsigned char *w_cstr(unsigned char *o, const char *s, size_t n)
{
    if (!s) {
        *o++ = 0xc0;
        return o;
    }
    return w_str(o, s, n);
}

int codec_record_pack_indexed(dsr_buf *out, const dsr_envelope *env, const unsigned char *id_bin,
                              codec_head_memo *memo, const dsr_artifact_indexed *p,
                              const codec_indexed_direct *d)
{
    if (!out || !env || !p || !d || env->type != DSR_EV_ARTIFACT_INDEXED
        || env->aggregate_id.ptr || !head_args_ok(env))
        return DSR_EINVAL;
    /* what codec_indexed_direct_ok(p, d) established */
    assert(p->size_bytes >= 0 && p->feature_slug && p->artifact_key && p->relative_path);
    size_t slug = strlen(p->feature_slug), key = strlen(p->artifact_key),
           path = strlen(p->relative_path), wp = p->wp_id ? strlen(p->wp_id) : 0,
           step = p->step_id ? strlen(p->step_id) : 0;
    size_t bound = head_bound(env) + 1 + str_bound(slug) + str_bound(key) + 5
                   + str_bound(path) + 34 + 9 + str_bound(wp) + str_bound(step) + 5;
    if (dsr_buf_reserve(out, bound))
        return DSR_ENOMEM;
    unsigned char *start = (unsigned char *)out->data + out->len;
    /* pack_payload's compact form of the 9 fields, in f_indexed's order */
    unsigned char *o = head_write(start, env, 1, id_bin, memo);
    o = w_array_hdr(o, 9);
    o = w_str(o, p->feature_slug, slug);
    o = w_str(o, p->artifact_key, key);
    o = w_uint(o, d->cls);
    o = w_str(o, p->relative_path, path);
    o = w_bin(o, d->hash, 32);
    o = w_uint(o, (uint64_t)p->size_bytes);
    o = w_cstr(o, p->wp_id, wp);
    o = w_cstr(o, p->step_id, step);
    o = w_uint(o, d->status);
    assert((size_t)(o - start) <= bound);
    out->len += (size_t)(o - start);
    return 0;
}

int codec_record_is_format2(const void *rec, size_t len)
{
    const unsigned char *p = rec;
    return len && ((p[0] & 0xf0) == 0x90 || p[0] == 0xdc || p[0] == 0xdd);
}

/* ---- expansion --------------------------------------------------------------- */

static void set_str(msgpack_object *o, const char *s, size_t n)
{
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = s;
    o->via.str.size = (uint32_t)n;
}

/* bin 16 -> the ULID text (in z); anything else unchanged. */
static int expand_ulid(msgpack_object *o, msgpack_zone *z)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != 16)
        return 0;
    char *t = msgpack_zone_malloc(z, DSR_ULID_LEN + 1);
    if (!t)
        return DSR_ENOMEM;
    codec_ulid_from_bin((const unsigned char *)o->via.bin.ptr, t);
    set_str(o, t, DSR_ULID_LEN);
    return 0;
}

static int expand_payload(dsr_event_type t, msgpack_object *p, msgpack_zone *z)
{
    size_t n = field_count(t);
    if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != n || !n)
        return 0;   /* a map stored as given, or not a payload at all */
    msgpack_object_kv *kv = msgpack_zone_malloc(z, n * sizeof *kv);
    if (!kv)
        return DSR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        int hex;
        const char *const *vals;
        const char *name = codec_payload_field(t, i, &len, &hex, &vals);
        set_str(&kv[i].key, name, len);
        msgpack_object v = p->via.array.ptr[i];
        if (hex && v.type == MSGPACK_OBJECT_BIN && v.via.bin.size == 32) {
            char *h = msgpack_zone_malloc(z, 65);
            if (!h)
                return DSR_ENOMEM;
            dsr_hex((const unsigned char *)v.via.bin.ptr, 32, h);
            set_str(&v, h, 64);
        } else if (vals && v.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            uint64_t i2 = 0;
            while (vals[i2] && i2 < v.via.u64)
                i2++;
            if (vals[i2])
                set_str(&v, vals[i2], strlen(vals[i2]));
        }
        kv[i].val = v;
    }
    assert(n == field_count(t));   /* the array had exactly t's fields */
    p->type = MSGPACK_OBJECT_MAP;
    p->via.map.size = (uint32_t)n;
    p->via.map.ptr = kv;
    return 0;
}

int codec_record_expand(const msgpack_object *rec, msgpack_zone *z, msgpack_object *out)
{
    if (rec->type != MSGPACK_OBJECT_ARRAY || rec->via.array.size != R_COUNT)
        return DSR_ECORRUPT;
    msgpack_object_kv *kv = msgpack_zone_malloc(z, R_COUNT * sizeof *kv);
    if (!kv)
        return DSR_ENOMEM;
    for (int i = 0; i < R_COUNT; i++) {
        set_str(&kv[i].key, env_keys[i], strlen(env_keys[i]));
        kv[i].val = rec->via.array.ptr[i];
    }
    int rc = 0;
    msgpack_object *type = &kv[R_TYPE].val;
    dsr_event_type t = DSR_EV_COUNT;
    if (type->type == MSGPACK_OBJECT_POSITIVE_INTEGER && type->via.u64 < DSR_EV_COUNT) {
        t = (dsr_event_type)type->via.u64;
        const char *name = dsr_event_type_name(t);
        set_str(type, name, strlen(name));
    }
    rc = rc ? rc : expand_ulid(&kv[R_ID].val, z);
    rc = rc ? rc : expand_ulid(&kv[R_NODE].val, z);
    rc = rc ? rc : expand_ulid(&kv[R_CORR].val, z);
    rc = rc ? rc : expand_ulid(&kv[R_CAUSE].val, z);
    msgpack_object *proj = &kv[R_PROJECT].val;
    if (!rc && proj->type == MSGPACK_OBJECT_BIN && proj->via.bin.size == 16) {
        char *u = msgpack_zone_malloc(z, 37);
        if (!u)
            return DSR_ENOMEM;
        uuid_from_bin((const unsigned char *)proj->via.bin.ptr, u);
        set_str(proj, u, 36);
    }
    if (kv[R_SCHEMA].val.type == MSGPACK_OBJECT_NIL)
        set_str(&kv[R_SCHEMA].val, DSR_SCHEMA_VERSION, sizeof DSR_SCHEMA_VERSION - 1);
    if (!rc && t != DSR_EV_COUNT)
        rc = expand_payload(t, &kv[R_PAYLOAD].val, z);
    dsr_str slug;
    if (!rc && kv[R_AGG].val.type == MSGPACK_OBJECT_NIL
        && payload_slug(&kv[R_PAYLOAD].val, &slug)) {
        char *a = msgpack_zone_malloc(z, AGG_PREFIX_LEN + slug.len + 1);
        if (!a)
            return DSR_ENOMEM;
        memcpy(a, AGG_PREFIX, AGG_PREFIX_LEN);
        memcpy(a + AGG_PREFIX_LEN, slug.ptr, slug.len);
        set_str(&kv[R_AGG].val, a, AGG_PREFIX_LEN + slug.len);
    }
    if (rc)
        return rc;
    out->type = MSGPACK_OBJECT_MAP;
    out->via.map.size = R_COUNT;
    out->via.map.ptr = kv;
    return 0;
}

/* ---- decoding ------------------------------------------------------------------ */

int dsr_record_decode(const void *rec, size_t len, msgpack_unpacked *u,
                      dsr_envelope *env, dsr_err *err)
{
    if (!rec || !u || !env)
        return dsr_err_set(err, DSR_EINVAL, "record: NULL argument");
    int rc = codec_unpack_one(rec, len, u, err);
    if (rc)
        return rc;
    if (u->data.type == MSGPACK_OBJECT_ARRAY) {   /* format 2 */
        msgpack_object map;
        rc = codec_record_expand(&u->data, u->zone, &map);
        if (rc == DSR_ENOMEM)
            return dsr_err_set(err, rc, "record: out of memory expanding it");
        if (rc)
            return dsr_err_set(err, DSR_ESCHEMA, "record: an array of %u is not an envelope "
                               "(format 2 has 11 fields)", u->data.via.array.size);
        assert(map.type == MSGPACK_OBJECT_MAP && map.via.map.size == R_COUNT);
        u->data = map;
    }
    return dsr_envelope_view(&u->data, env, err);
}

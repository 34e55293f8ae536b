/*
 * test_record_pack.c - stored records, format 2 (eventlog/record_pack.c):
 * every valid envelope and payload of the shared table tests/data/
 * payload_cases.json survives pack -> decode with exactly the canonical
 * envelope (the map format 1 stored), re-packs to the same bytes, and is
 * smaller; values without a compact form keep their text; malformed compact
 * values are refused by the validators, not misread; the head, written as
 * bytes, is what msgpack-c's packer writes for it, at every width.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/event.h"
#include "test_data.h"
#include "buf.h"
#include "codec.h"

/* JSON of the decoded record (0), or the decode error code. */
static int decode_json(const void *rec, size_t len, dsr_buf *json, dsr_err *err)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    int rc = dsr_record_decode(rec, len, &u, &env, err);
    dsr_buf_reset(json);
    if (!rc)
        assert_int_equal(dsr_msgpack_to_json(&u.data, json), 0);
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* The round trip every stored record must make: the format 2 record of a
 * valid envelope decodes to exactly what the canonical map (format 1)
 * decodes to, is smaller, and re-packs to the same bytes.  Returns the
 * format 2 size. */
static size_t check_round_trip(const msgpack_object *envelope, const char *name)
{
    dsr_envelope view;
    dsr_err err = { 0 };
    if (dsr_envelope_view(envelope, &view, &err))
        fail_msg("%s: not a valid envelope: %s", name, err.msg);
    msgpack_sbuffer v1, v2, again;
    msgpack_sbuffer_init(&v1);
    msgpack_sbuffer_init(&v2);
    msgpack_sbuffer_init(&again);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &v1, msgpack_sbuffer_write);
    assert_int_equal(dsr_envelope_pack(&pk, &view), 0);
    msgpack_packer_init(&pk, &v2, msgpack_sbuffer_write);
    assert_int_equal(dsr_record_pack(&pk, &view), 0);

    dsr_buf j1 = DSR_BUF_INIT, j2 = DSR_BUF_INIT;
    if (decode_json(v1.data, v1.size, &j1, &err))
        fail_msg("%s: format 1 does not decode: %s", name, err.msg);
    if (decode_json(v2.data, v2.size, &j2, &err))
        fail_msg("%s: format 2 does not decode: %s", name, err.msg);
    assert_int_equal(dsr_buf_putc(&j1, '\0'), 0);
    assert_int_equal(dsr_buf_putc(&j2, '\0'), 0);
    if (strcmp(j1.data, j2.data))
        fail_msg("%s: decoded records differ\nformat 1: %s\nformat 2: %s", name, j1.data,
                 j2.data);
    if (v2.size >= v1.size)
        fail_msg("%s: format 2 is %zu bytes, format 1 %zu", name, v2.size, v1.size);

    /* decode the format 2 record and pack that view again: same bytes */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope back;
    assert_int_equal(dsr_record_decode(v2.data, v2.size, &u, &back, &err), 0);
    msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
    assert_int_equal(dsr_record_pack(&pk, &back), 0);
    assert_int_equal(again.size, v2.size);
    assert_memory_equal(again.data, v2.data, v2.size);
    msgpack_unpacked_destroy(&u);

    size_t size = v2.size;
    dsr_buf_free(&j1);
    dsr_buf_free(&j2);
    msgpack_sbuffer_destroy(&v1);
    msgpack_sbuffer_destroy(&v2);
    msgpack_sbuffer_destroy(&again);
    return size;
}

static void round_trip_case(void *ud, const msgpack_object *envelope, const char *type)
{
    (void)ud;
    check_round_trip(envelope, type);
}

static void test_every_valid_table_case_round_trips(void **state)
{
    (void)state;
    size_t len;
    char *text = td_slurp("tests/data/payload_cases.json", &len);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, len, &sb, &u);
    size_t checked = 0;

    const msgpack_object *envs = td_get(&u.data, "envelope_cases");
    assert_non_null(envs);
    for (uint32_t i = 0; i < envs->via.array.size; i++) {
        const msgpack_object *c = &envs->via.array.ptr[i];
        dsr_envelope v;
        dsr_err err = { 0 };
        if (dsr_envelope_view(td_get(c, "envelope"), &v, &err))
            continue;   /* invalid cases are never stored */
        check_round_trip(td_get(c, "envelope"), "envelope case");
        checked++;
    }

    checked += td_each_valid_payload(round_trip_case, NULL);
    assert_true(checked >= 50);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    free(text);
}

static const char indexed_payload[] =
    "{\"feature_slug\":\"042-dossier\",\"artifact_key\":\"input.spec.main\","
    "\"artifact_class\":\"input\",\"relative_path\":\"spec.md\",\"content_hash_sha256\":"
    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    "\"size_bytes\":1234,\"wp_id\":null,\"step_id\":null,\"required_status\":\"required\"}";

/* Pack the envelope JSON in text as format 2 into out. */
static void pack_text(const char *text, msgpack_sbuffer *out)
{
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, strlen(text), &sb, &u);
    dsr_envelope v;
    dsr_err err = { 0 };
    if (dsr_envelope_view(&u.data, &v, &err))
        fail_msg("not valid: %s", err.msg);
    msgpack_packer pk;
    msgpack_sbuffer_init(out);
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    assert_int_equal(dsr_record_pack(&pk, &v), 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_indexed_event_is_compact(void **state)
{
    (void)state;
    dsr_buf e = DSR_BUF_INIT;
    td_wrap_envelope("mission_dossier_artifact_indexed", "042-dossier", indexed_payload, &e);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(e.data, e.len, &sb, &u);
    size_t n = check_round_trip(&u.data, "indexed");
    /* ids and the hash as bytes, enums as numbers, no field names: the 83
     * bytes of text values that remain plus about 80 of ids and framing */
    assert_true(n < 200);
    msgpack_sbuffer rec;
    pack_text(e.data, &rec);
    /* the first byte says format 2: an array of 11 */
    assert_int_equal((unsigned char)rec.data[0], 0x9b);
    /* the hash is stored as its 32 bytes, not as 64 hex characters */
    assert_null(memmem(rec.data, rec.size, "0123456789abcdef", 16));
    msgpack_sbuffer_destroy(&rec);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    dsr_buf_free(&e);
}

static void test_values_without_a_compact_form_keep_their_text(void **state)
{
    (void)state;
    /* a node_id that is no ULID, an uppercase project_uuid, a payload whose
     * keys are not in canonical order (kept as a map, order preserved) */
    static const char text[] =
        "{\"event_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFGH\",\"event_type\":"
        "\"dossier_artifact_removed\",\"aggregate_id\":\"feature/f\",\"timestamp\":"
        "\"2026-01-31T12:00:00+02:00\",\"node_id\":\"other-node\",\"lamport_clock\":3,"
        "\"project_uuid\":\"550E8400-E29B-41D4-A716-446655440000\",\"correlation_id\":null,"
        "\"causation_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFG0\",\"schema_version\":\"1.0.0\","
        "\"payload\":{\"relative_path\":\"a.md\",\"feature_slug\":\"f\",\"artifact_key\":\"a\"}}";
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, strlen(text), &sb, &u);
    check_round_trip(&u.data, "text forms");
    msgpack_sbuffer rec;
    pack_text(text, &rec);
    assert_non_null(memmem(rec.data, rec.size, "other-node", 10));
    assert_non_null(memmem(rec.data, rec.size, "550E8400-E29B", 13));
    dsr_buf j = DSR_BUF_INIT;
    dsr_err err = { 0 };
    assert_int_equal(decode_json(rec.data, rec.size, &j, &err), 0);
    assert_int_equal(dsr_buf_putc(&j, '\0'), 0);
    assert_non_null(strstr(j.data, "\"payload\":{\"relative_path\":\"a.md\",\"feature_slug\""));
    assert_non_null(strstr(j.data, "\"causation_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFG0\""));
    dsr_buf_free(&j);
    msgpack_sbuffer_destroy(&rec);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* Replace the first occurrence of pat in rec with rep (same length). */
static void patch(msgpack_sbuffer *rec, const void *pat, const void *rep, size_t n)
{
    char *p = memmem(rec->data, rec->size, pat, n);
    assert_non_null(p);
    memcpy(p, rep, n);
}

static void test_malformed_compact_values_are_refused_by_name(void **state)
{
    (void)state;
    dsr_buf e = DSR_BUF_INIT;
    td_wrap_envelope("mission_dossier_artifact_indexed", "042-dossier", indexed_payload, &e);
    dsr_buf j = DSR_BUF_INIT;
    dsr_err err = { 0 };

    /* an enum index past the end of its table: artifact_class 0 -> 9 */
    msgpack_sbuffer rec;
    pack_text(e.data, &rec);
    /* payload array: fixarray 9, "042-dossier", "input.spec.main", class 0 */
    patch(&rec, "input.spec.main\x00", "input.spec.main\x09", 16);
    assert_int_equal(decode_json(rec.data, rec.size, &j, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "artifact_class"));
    /* the same refusal when the caller passes no error struct */
    assert_int_equal(decode_json(rec.data, rec.size, &j, NULL), DSR_ESCHEMA);
    msgpack_sbuffer_destroy(&rec);

    /* an event_type number that is no type */
    pack_text(e.data, &rec);
    assert_int_equal((unsigned char)rec.data[1], 0xc4);   /* bin 8 ... */
    assert_int_equal((unsigned char)rec.data[2], 16);     /* ... of 16: the event_id */
    rec.data[3 + 16] = 0x7f;                              /* then the type */
    assert_int_equal(decode_json(rec.data, rec.size, &j, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "event_type"));
    msgpack_sbuffer_destroy(&rec);

    /* a truncated format 2 record */
    pack_text(e.data, &rec);
    assert_int_equal(decode_json(rec.data, rec.size - 5, &j, &err), DSR_ECORRUPT);
    msgpack_sbuffer_destroy(&rec);
    dsr_buf_free(&j);
    dsr_buf_free(&e);
}

/* An NDJSON line is an envelope only as a JSON object: the positional array
 * that a stored record is (format 2) is refused on the interchange path. */
static void test_json_arrays_are_not_envelopes(void **state)
{
    (void)state;
    static const char line[] =
        "[\"01JD3Q8Z5M6W7X8Y9A0BCDEFGH\",6,null,\"2026-01-31T12:00:00Z\","
        "\"01JCZZZZZZZZZZZZZZZZZZZZZZ\",1,\"550e8400-e29b-41d4-a716-446655440000\",null,null,"
        "null,[\"f\",\"a\",\"a.md\"]]";
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(line, strlen(line), &sb, &u);
    msgpack_unpacked d;
    msgpack_unpacked_init(&d);
    dsr_envelope env;
    dsr_err err = { 0 };
    /* as a stored record the same bytes would be a (text-form) format 2 record */
    assert_int_equal(dsr_record_decode(sb.data, sb.size, &d, &env, &err), 0);
    assert_int_equal(env.type, DSR_EV_ARTIFACT_REMOVED);
    /* as an envelope given in JSON it is not one */
    assert_int_equal(dsr_envelope_decode(sb.data, sb.size, &d, &env, &err), DSR_ESCHEMA);
    msgpack_unpacked_destroy(&d);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- the head against msgpack-c ------------------------------------------- */

static void ref_str(msgpack_packer *pk, const char *p, size_t n)
{
    assert_int_equal(msgpack_pack_str(pk, n), 0);
    assert_int_equal(msgpack_pack_str_body(pk, p, n), 0);
}

static int ref_uuid(dsr_str s, unsigned char b[16])
{
    if (s.len != 36)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s.ptr[i] != '-')
                return -1;
            continue;
        }
        const char *hex = "0123456789abcdef", *h = strchr(hex, s.ptr[i]);
        if (!h || !s.ptr[i])
            return -1;
        b[o / 2] = (unsigned char)(o % 2 ? b[o / 2] | (h - hex) : (h - hex) << 4);
        o++;
    }
    return 0;
}

/* kind: 0 a ULID-or-text id, 1 the project UUID */
static void ref_id(msgpack_packer *pk, dsr_str s, int kind)
{
    unsigned char b[16];
    if (!s.ptr) {
        assert_int_equal(msgpack_pack_nil(pk), 0);
    } else if (kind ? !ref_uuid(s, b) : !codec_ulid_to_bin(s.ptr, s.len, b)) {
        assert_int_equal(msgpack_pack_bin(pk, 16), 0);
        assert_int_equal(msgpack_pack_bin_body(pk, b, 16), 0);
    } else {
        ref_str(pk, s.ptr, s.len);
    }
}

/* Format 2 of an artifact_removed envelope, every call msgpack-c's. */
static void ref_record(msgpack_packer *pk, const dsr_envelope *e, const char *slug,
                       const char *key, const char *path)
{
    char agg[300];
    snprintf(agg, sizeof agg, "feature/%s", slug);
    assert_int_equal(msgpack_pack_array(pk, 11), 0);
    ref_id(pk, e->event_id, 0);
    assert_int_equal(msgpack_pack_uint32(pk, (uint32_t)e->type), 0);
    if (!e->aggregate_id.ptr || (e->aggregate_id.len == strlen(agg)
                                 && !memcmp(e->aggregate_id.ptr, agg, strlen(agg))))
        assert_int_equal(msgpack_pack_nil(pk), 0);
    else
        ref_str(pk, e->aggregate_id.ptr, e->aggregate_id.len);
    ref_str(pk, e->timestamp.ptr, e->timestamp.len);
    ref_id(pk, e->node_id, 0);
    assert_int_equal(msgpack_pack_uint64(pk, e->lamport_clock), 0);
    ref_id(pk, e->project_uuid, 1);
    ref_id(pk, e->correlation_id, 0);
    ref_id(pk, e->causation_id, 0);
    if (!e->schema_version.ptr || (e->schema_version.len == 5
                                   && !memcmp(e->schema_version.ptr, "1.0.0", 5)))
        assert_int_equal(msgpack_pack_nil(pk), 0);
    else
        ref_str(pk, e->schema_version.ptr, e->schema_version.len);
    assert_int_equal(msgpack_pack_array(pk, 3), 0);
    ref_str(pk, slug, strlen(slug));
    ref_str(pk, key, strlen(key));
    ref_str(pk, path, strlen(path));
}

static dsr_str s_of(const char *p)
{
    dsr_str r = { p, p ? strlen(p) : 0 };
    return r;
}

static void test_head_bytes_are_msgpack_c_forms_at_every_width(void **state)
{
    (void)state;
    static char big[70000];
    memset(big, 'n', sizeof big - 1);
    static const size_t lens[] = { 0, 5, 26, 31, 32, 255, 256, 600, 65535, 65536 };
    static const uint64_t clocks[] = { 0, 127, 128, 255, 256, 65535, 65536, 4294967295ull,
                                       4294967296ull, UINT64_MAX };
    static const char *const ids[] = { "01JD3Q8Z5M6W7X8Y9A0BCDEFGH", "not-a-ulid", NULL,
                                       "01jd3q8z5m6w7x8y9a0bcdefgh" };
    static const char *const uuids[] = { "550e8400-e29b-41d4-a716-446655440000",
                                         "550E8400-E29B-41D4-A716-446655440000", "p" };
    static const char *const schemas[] = { NULL, "1.0.0", "2.0.0" };
    static const char *const aggs[] = { NULL, "feature/f", "feature/other" };
    /* the payload map {feature_slug, artifact_key, relative_path} */
    msgpack_sbuffer pl;
    msgpack_sbuffer_init(&pl);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &pl, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_map(&pk, 3), 0);
    ref_str(&pk, "feature_slug", 12);
    ref_str(&pk, "f", 1);
    ref_str(&pk, "artifact_key", 12);
    ref_str(&pk, "a", 1);
    ref_str(&pk, "relative_path", 13);
    ref_str(&pk, "a.md", 4);
    msgpack_zone z;
    assert_true(msgpack_zone_init(&z, 1024));
    msgpack_object payload;
    size_t off = 0;
    assert_int_equal(msgpack_unpack(pl.data, pl.size, &off, &z, &payload),
                     MSGPACK_UNPACK_SUCCESS);
    for (size_t i = 0; i < 200; i++) {
        char node[70000];
        size_t nl = lens[i % 10];
        memcpy(node, big, nl);
        node[nl] = '\0';
        const char *id = ids[(i / 3) % 4];
        dsr_envelope env = {
            .event_id = s_of(id ? id : "01JD3Q8Z5M6W7X8Y9A0BCDEFGH"),
            .aggregate_id = s_of(aggs[(i / 5) % 3]),
            .feature_slug = s_of("f"),
            .timestamp = s_of(i % 2 ? "2026-01-31T12:00:00.123456789+05:30" : "2026-01-31T12:00:00Z"),
            .node_id = i % 7 ? s_of(node) : s_of("01JCZZZZZZZZZZZZZZZZZZZZZZ"),
            .lamport_clock = clocks[(i / 2) % 10],
            .project_uuid = s_of(uuids[(i / 4) % 3]),
            .correlation_id = s_of(ids[i % 4]),
            .causation_id = s_of(ids[(i / 7) % 4]),
            .schema_version = s_of(schemas[(i / 11) % 3]),
            .type = DSR_EV_ARTIFACT_REMOVED,
            .payload = &payload,
        };
        msgpack_sbuffer want, got;
        msgpack_sbuffer_init(&want);
        msgpack_sbuffer_init(&got);
        msgpack_packer_init(&pk, &want, msgpack_sbuffer_write);
        ref_record(&pk, &env, "f", "a", "a.md");
        msgpack_packer_init(&pk, &got, msgpack_sbuffer_write);
        assert_int_equal(dsr_record_pack(&pk, &env), 0);
        if (got.size != want.size || memcmp(got.data, want.data, want.size))
            fail_msg("case %zu (node of %zu bytes, lamport %llu): %zu bytes written, "
                     "msgpack-c writes %zu", i, nl, (unsigned long long)env.lamport_clock,
                     got.size, want.size);
        msgpack_sbuffer_destroy(&want);
        msgpack_sbuffer_destroy(&got);
    }
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_valid_table_case_round_trips),
        cmocka_unit_test(test_indexed_event_is_compact),
        cmocka_unit_test(test_values_without_a_compact_form_keep_their_text),
        cmocka_unit_test(test_malformed_compact_values_are_refused_by_name),
        cmocka_unit_test(test_json_arrays_are_not_envelopes),
        cmocka_unit_test(test_head_bytes_are_msgpack_c_forms_at_every_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_record_pack.c - stored records, format 2 (eventlog/record_pack.c):
 * every valid envelope and payload of the shared table tests/data/
 * payload_cases.json survives pack -> decode with exactly the canonical
 * envelope (the map format 1 stored), re-packs to the same bytes, and is
 * smaller; values without a compact form keep their text; malformed compact
 * values are refused by the validators, not misread.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_valid_table_case_round_trips),
        cmocka_unit_test(test_indexed_event_is_compact),
        cmocka_unit_test(test_values_without_a_compact_form_keep_their_text),
        cmocka_unit_test(test_malformed_compact_values_are_refused_by_name),
        cmocka_unit_test(test_json_arrays_are_not_envelopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

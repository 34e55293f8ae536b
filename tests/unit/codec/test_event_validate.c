/*
 * test_event_validate.c - the payload and envelope validators against the
 * shared verdict table tests/data/payload_cases.json (the same table
 * tests/support/check_schemas.py runs through the JSON Schemas), plus the
 * packers, canonical envelope encoding and record decoding.
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

/* ---- helpers ----------------------------------------------------------- */

static char *cstr(const msgpack_object *o)
{
    static char buf[4][256];
    static int slot;
    char *b = buf[slot++ % 4];
    if (!o || o->type != MSGPACK_OBJECT_STR) {
        snprintf(b, 256, "(none)");
        return b;
    }
    snprintf(b, 256, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    return b;
}

static dsr_event_type type_of(const msgpack_object *case_obj)
{
    const msgpack_object *t = td_get(case_obj, "event_type");
    dsr_event_type et;
    assert_non_null(t);
    assert_int_equal(dsr_event_type_parse(t->via.str.ptr, t->via.str.size, &et), 0);
    return et;
}

/* Wrap a payload in a valid envelope (as check_schemas.py does) and view it. */
static int view_wrapped(dsr_event_type t, const msgpack_object *payload, dsr_err *err)
{
    const msgpack_object *slug = td_get(payload, "feature_slug");
    char agg[300] = "feature/x";
    if (slug && slug->type == MSGPACK_OBJECT_STR && slug->via.str.size)
        snprintf(agg, sizeof agg, "feature/%.*s", (int)slug->via.str.size, slug->via.str.ptr);
    msgpack_object kv_keys[11], kv_vals[11];
    msgpack_object_kv kv[11];
    const char *names[11] = { "event_id", "event_type", "aggregate_id", "timestamp", "node_id",
                              "lamport_clock", "project_uuid", "correlation_id", "causation_id",
                              "schema_version", "payload" };
    const char *svals[10] = { "01JD3Q8Z5M6W7X8Y9A0BCDEFGH", dsr_event_type_name(t), agg,
                              "2026-01-31T12:00:00.000Z", "01JCZZZZZZZZZZZZZZZZZZZZZZ", NULL,
                              "550e8400-e29b-41d4-a716-446655440000", NULL, NULL, "1.0.0" };
    for (int i = 0; i < 11; i++) {
        kv_keys[i].type = MSGPACK_OBJECT_STR;
        kv_keys[i].via.str.ptr = names[i];
        kv_keys[i].via.str.size = (uint32_t)strlen(names[i]);
        if (i == 10) {
            kv_vals[i] = *payload;
        } else if (i == 5) {
            kv_vals[i].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            kv_vals[i].via.u64 = 1;
        } else if (!svals[i]) {
            kv_vals[i].type = MSGPACK_OBJECT_NIL;
        } else {
            kv_vals[i].type = MSGPACK_OBJECT_STR;
            kv_vals[i].via.str.ptr = svals[i];
            kv_vals[i].via.str.size = (uint32_t)strlen(svals[i]);
        }
        kv[i].key = kv_keys[i];
        kv[i].val = kv_vals[i];
    }
    msgpack_object env;
    env.type = MSGPACK_OBJECT_MAP;
    env.via.map.size = 11;
    env.via.map.ptr = kv;
    dsr_envelope view;
    return dsr_envelope_view(&env, &view, err);
}

/* ---- the table --------------------------------------------------------- */

static void test_payload_table_verdicts_match_the_c_validator(void **state)
{
    (void)state;
    size_t len;
    char *text = td_slurp("tests/data/payload_cases.json", &len);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, len, &sb, &u);
    const msgpack_object *cases = td_get(&u.data, "payload_cases");
    assert_non_null(cases);
    assert_true(cases->via.array.size >= 100);
    int per_type[DSR_EV_COUNT] = { 0 };
    for (uint32_t i = 0; i < cases->via.array.size; i++) {
        const msgpack_object *c = &cases->via.array.ptr[i];
        dsr_event_type t = type_of(c);
        per_type[t]++;
        const msgpack_object *valid = td_get(c, "valid");
        const msgpack_object *payload = td_get(c, "payload");
        const msgpack_object *field = td_get(c, "field");
        assert_non_null(valid);
        assert_non_null(payload);
        dsr_err err = { 0 };
        int rc = dsr_payload_validate(t, payload, &err);
        if (valid->via.boolean && rc)
            fail_msg("%s / %s: expected valid, C says: %s", dsr_event_type_name(t),
                     cstr(td_get(c, "name")), err.msg);
        if (!valid->via.boolean) {
            if (rc != DSR_ESCHEMA)
                fail_msg("%s / %s: expected invalid, C accepts it", dsr_event_type_name(t),
                         cstr(td_get(c, "name")));
            /* The message names the event type and the field. */
            if (!strstr(err.msg, dsr_event_type_name(t)) || !strstr(err.msg, cstr(field)))
                fail_msg("%s: message does not name type and field %s: %s",
                         cstr(td_get(c, "name")), cstr(field), err.msg);
        }
        /* The same verdict through a whole envelope. */
        dsr_err err2 = { 0 };
        int rc2 = view_wrapped(t, payload, &err2);
        if ((rc2 == 0) != (rc == 0))
            fail_msg("%s: envelope verdict differs from payload verdict: %s",
                     cstr(td_get(c, "name")), err2.msg);
    }
    for (int t = 0; t < DSR_EV_COUNT; t++)
        if (per_type[t] < 5)
            fail_msg("table has only %d cases for %s", per_type[t],
                     dsr_event_type_name((dsr_event_type)t));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    free(text);
}

static void test_envelope_table_verdicts_match_the_c_validator(void **state)
{
    (void)state;
    size_t len;
    char *text = td_slurp("tests/data/payload_cases.json", &len);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, len, &sb, &u);
    const msgpack_object *cases = td_get(&u.data, "envelope_cases");
    assert_non_null(cases);
    assert_true(cases->via.array.size >= 30);
    for (uint32_t i = 0; i < cases->via.array.size; i++) {
        const msgpack_object *c = &cases->via.array.ptr[i];
        const msgpack_object *valid = td_get(c, "valid");
        const msgpack_object *field = td_get(c, "field");
        dsr_envelope env;
        dsr_err err = { 0 };
        int rc = dsr_envelope_view(td_get(c, "envelope"), &env, &err);
        if (valid->via.boolean && rc)
            fail_msg("%s: expected valid, C says: %s", cstr(td_get(c, "name")), err.msg);
        if (!valid->via.boolean) {
            if (rc != DSR_ESCHEMA)
                fail_msg("%s: expected invalid, C accepts it", cstr(td_get(c, "name")));
            if (!strstr(err.msg, cstr(field)))
                fail_msg("%s: message does not name %s: %s", cstr(td_get(c, "name")), cstr(field),
                         err.msg);
        }
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    free(text);
}

/* ---- packing ----------------------------------------------------------- */

static const char H[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char H2[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/* Pack, unpack, validate; then check the key order equals the schema's
 * "payload" properties order (the type's optional properties, last in the
 * schema, may be left out). */
static void pack_validate_and_check_order(dsr_event_type t, const void *payload)
{
    uint32_t optional = t == DSR_EV_PARITY_DRIFT_DETECTED ? 1 : 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(dsr_payload_pack(&pk, t, payload), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, sb.size);
    dsr_err err = { 0 };
    if (dsr_payload_validate(t, &u.data, &err))
        fail_msg("packed %s does not validate: %s", dsr_event_type_name(t), err.msg);

    char rel[256];
    snprintf(rel, sizeof rel, "schemas/%s.schema.json", dsr_event_type_name(t));
    size_t len;
    char *text = td_slurp(rel, &len);
    msgpack_sbuffer ssb;
    msgpack_unpacked su;
    td_parse_json(text, len, &ssb, &su);
    const msgpack_object *props = td_get(&su.data, "properties");
    assert_non_null(props);
    props = td_get(props, "payload");
    assert_non_null(props);
    props = td_get(props, "properties");
    assert_non_null(props);
    /* optional properties come last in the schema: a payload without them
     * holds the schema's first fields, in order */
    assert_true(u.data.via.map.size <= props->via.map.size);
    assert_true(u.data.via.map.size >= props->via.map.size - optional);
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object *a = &props->via.map.ptr[i].key, *b = &u.data.via.map.ptr[i].key;
        if (a->via.str.size != b->via.str.size || memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size))
            fail_msg("%s: key %u is %s, schema order says %s", dsr_event_type_name(t), i,
                     cstr(b), cstr(a));
    }
    msgpack_unpacked_destroy(&su);
    msgpack_sbuffer_destroy(&ssb);
    free(text);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_packed_payloads_validate_in_schema_field_order(void **state)
{
    (void)state;
    dsr_artifact_indexed ai = { "f1", "input.spec", "input", "spec.md", H, 42, NULL, "s1", "required" };
    pack_validate_and_check_order(DSR_EV_ARTIFACT_INDEXED, &ai);
    dsr_artifact_missing am = { "f1", "output.plan", "output", "plan.md", "not_found", NULL, 1 };
    pack_validate_and_check_order(DSR_EV_ARTIFACT_MISSING, &am);
    dsr_snapshot_computed sc = { "f1", H, { 3, 2, 1, 1, 1, 0 }, "incomplete", "snap-1" };
    pack_validate_and_check_order(DSR_EV_SNAPSHOT_COMPUTED, &sc);
    const char *keys[] = { "a", "b" };
    dsr_parity_drift_detected dd = { "f1", H, H, keys, 2, NULL, 0, "error", NULL, 0 };
    pack_validate_and_check_order(DSR_EV_PARITY_DRIFT_DETECTED, &dd);
    /* with the optional content_changed (issue 20 item 4): every field */
    const dsr_content_change cc[] = { { "output.plan", "plan.md", H, H2 } };
    dsr_parity_drift_detected dc = { "f1", H, H, keys, 2, NULL, 0, "warning", cc, 1 };
    pack_validate_and_check_order(DSR_EV_PARITY_DRIFT_DETECTED, &dc);
    dsr_baseline_accepted ba = { "f1", "snap-1", H, "550e8400-e29b-41d4-a716-446655440000",
                                 "node", "main", NULL, NULL };
    pack_validate_and_check_order(DSR_EV_BASELINE_ACCEPTED, &ba);
    /* every field, the optional profile and remembered settings included */
    const char *const excl[] = { "build/", "!build/keep" };
    dsr_scan_completed scd = { "f1", "software-dev", "1", NULL, "main", "changed", 5, 1, 0, 2,
                               "spec-kitty-3", "/m/expected.yaml", H, excl, 2 };
    pack_validate_and_check_order(DSR_EV_SCAN_COMPLETED, &scd);
    dsr_artifact_removed ar = { "f1", "input.spec", "spec.md" };
    pack_validate_and_check_order(DSR_EV_ARTIFACT_REMOVED, &ar);
}

/* dossier_scan_completed.profile is optional: a wp04 run leaves it out (its
 * events keep the bytes they had before profiles), records of either shape
 * validate, and an unknown profile name is refused. */
static void test_scan_completed_profile_is_optional_and_checked(void **state)
{
    (void)state;
    dsr_scan_completed scd = { "f1", NULL, NULL, NULL, "main", "full", 1, 0, 0, 0, NULL,
                               NULL, NULL, NULL, 0 };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(dsr_payload_pack(&pk, DSR_EV_SCAN_COMPLETED, &scd), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.via.map.size, 10);     /* no "profile" key */
    dsr_err err = { 0 };
    assert_int_equal(dsr_payload_validate(DSR_EV_SCAN_COMPLETED, &u.data, &err), 0);
    assert_int_equal(codec_payload_field_count(DSR_EV_SCAN_COMPLETED), 10);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_clear(&sb);
    scd.profile = "wp05";
    assert_int_equal(dsr_payload_pack(&pk, DSR_EV_SCAN_COMPLETED, &scd), 0);
    msgpack_unpacked_init(&u);
    off = 0;
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.via.map.size, 11);
    assert_int_equal(dsr_payload_validate(DSR_EV_SCAN_COMPLETED, &u.data, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "payload.profile"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_pack_refuses_null_where_the_schema_has_no_null(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    dsr_artifact_indexed ai = { "f1", NULL, "input", "spec.md", H, 42, NULL, NULL, "required" };
    assert_int_equal(dsr_payload_pack(&pk, DSR_EV_ARTIFACT_INDEXED, &ai), DSR_EINVAL);
    const char *keys[] = { "a", NULL };
    dsr_parity_drift_detected dd = { "f1", H, H, keys, 2, NULL, 0, "error", NULL, 0 };
    assert_int_equal(dsr_payload_pack(&pk, DSR_EV_PARITY_DRIFT_DETECTED, &dd), DSR_EINVAL);
    assert_int_equal(dsr_payload_pack(&pk, DSR_EV_COUNT, &dd), DSR_EINVAL);
    msgpack_sbuffer_destroy(&sb);
}

static void test_negative_size_is_refused_naming_type_field_and_value(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    dsr_artifact_indexed ai = { "f1", "k", "input", "spec.md", H, -7, NULL, NULL, "required" };
    assert_int_equal(dsr_payload_pack(&pk, DSR_EV_ARTIFACT_INDEXED, &ai), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    dsr_err err = { 0 };
    assert_int_equal(dsr_payload_validate(DSR_EV_ARTIFACT_INDEXED, &u.data, &err), DSR_ESCHEMA);
    assert_string_equal(err.msg,
                        "mission_dossier_artifact_indexed: payload.size_bytes: -7 is below the minimum 0");
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* Cases JSON cannot express: built as msgpack directly. */
static void test_validator_refuses_invalid_utf8_and_duplicate_keys(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "feature_slug", 12);
    msgpack_pack_str_with_body(&pk, "f\xff", 2);
    msgpack_pack_str_with_body(&pk, "artifact_key", 12);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_str_with_body(&pk, "relative_path", 13);
    msgpack_pack_str_with_body(&pk, "p", 1);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    dsr_err err = { 0 };
    assert_int_equal(dsr_payload_validate(DSR_EV_ARTIFACT_REMOVED, &u.data, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "UTF-8"));

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "feature_slug", 12);
    msgpack_pack_str_with_body(&pk, "f", 1);
    msgpack_pack_str_with_body(&pk, "artifact_key", 12);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_str_with_body(&pk, "artifact_key", 12);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_str_with_body(&pk, "relative_path", 13);
    msgpack_pack_str_with_body(&pk, "p", 1);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(dsr_payload_validate(DSR_EV_ARTIFACT_REMOVED, &u.data, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "\"artifact_key\" appears twice"));

    /* a non-string key */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "f", 1);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(dsr_payload_validate(DSR_EV_ARTIFACT_REMOVED, &u.data, &err), DSR_ESCHEMA);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- envelopes --------------------------------------------------------- */

static const char SHUFFLED[] =
    "{\"payload\":{\"feature_slug\":\"f1\",\"artifact_key\":\"k\",\"relative_path\":\"p\"},"
    "\"schema_version\":\"1.0.0\",\"causation_id\":null,\"lamport_clock\":9.0,"
    "\"correlation_id\":\"run-1\",\"event_type\":\"DossierArtifactRemoved\","
    "\"aggregate_id\":\"feature/f1\",\"timestamp\":\"2026-01-31T12:00:00+01:00\","
    "\"node_id\":\"n\",\"project_uuid\":\"550e8400-e29b-41d4-a716-446655440000\","
    "\"event_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFGH\"}";

static const char CANONICAL[] =
    "{\"event_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFGH\",\"event_type\":\"dossier_artifact_removed\","
    "\"aggregate_id\":\"feature/f1\",\"timestamp\":\"2026-01-31T12:00:00+01:00\","
    "\"node_id\":\"n\",\"lamport_clock\":9,"
    "\"project_uuid\":\"550e8400-e29b-41d4-a716-446655440000\",\"correlation_id\":\"run-1\","
    "\"causation_id\":null,\"schema_version\":\"1.0.0\","
    "\"payload\":{\"feature_slug\":\"f1\",\"artifact_key\":\"k\",\"relative_path\":\"p\"}}";

static void test_envelope_pack_writes_canonical_order_and_snake_case(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(SHUFFLED, strlen(SHUFFLED), &sb, &u);
    dsr_envelope env;
    dsr_err err = { 0 };
    if (dsr_envelope_view(&u.data, &env, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(env.type, DSR_EV_ARTIFACT_REMOVED);
    assert_int_equal(env.lamport_clock, 9);
    assert_int_equal(env.feature_slug.len, 2);
    assert_memory_equal(env.feature_slug.ptr, "f1", 2);
    assert_null(env.causation_id.ptr);
    assert_int_equal(env.correlation_id.len, 5);

    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    assert_int_equal(dsr_envelope_pack(&pk, &env), 0);

    msgpack_unpacked u2;
    msgpack_unpacked_init(&u2);
    dsr_envelope env2;
    if (dsr_record_decode(out.data, out.size, &u2, &env2, &err))
        fail_msg("%s", err.msg);
    dsr_buf json = DSR_BUF_INIT;
    assert_int_equal(dsr_msgpack_to_json(&u2.data, &json), 0);
    assert_string_equal(json.data, CANONICAL);

    /* Packing the canonical form again gives the same bytes. */
    msgpack_sbuffer again;
    msgpack_sbuffer_init(&again);
    msgpack_packer pk2;
    msgpack_packer_init(&pk2, &again, msgpack_sbuffer_write);
    assert_int_equal(dsr_envelope_pack(&pk2, &env2), 0);
    assert_int_equal(again.size, out.size);
    assert_memory_equal(again.data, out.data, out.size);

    dsr_buf_free(&json);
    msgpack_sbuffer_destroy(&again);
    msgpack_unpacked_destroy(&u2);
    msgpack_sbuffer_destroy(&out);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_pack_fills_aggregate_and_schema_version(void **state)
{
    (void)state;
    msgpack_sbuffer psb;
    msgpack_sbuffer_init(&psb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &psb, msgpack_sbuffer_write);
    dsr_artifact_removed ar = { "feat", "k", "p" };
    assert_int_equal(dsr_payload_pack(&pk, DSR_EV_ARTIFACT_REMOVED, &ar), 0);
    msgpack_unpacked pu;
    msgpack_unpacked_init(&pu);
    assert_int_equal(msgpack_unpack_next(&pu, psb.data, psb.size, NULL), MSGPACK_UNPACK_SUCCESS);

    dsr_envelope env;
    memset(&env, 0, sizeof env);
    env.type = DSR_EV_ARTIFACT_REMOVED;
    env.event_id = (dsr_str){ "01JD3Q8Z5M6W7X8Y9A0BCDEFGH", 26 };
    env.feature_slug = (dsr_str){ "feat", 4 };
    env.timestamp = (dsr_str){ "2026-01-31T12:00:00.000Z", 24 };
    env.node_id = (dsr_str){ "n", 1 };
    env.project_uuid = (dsr_str){ "550e8400-e29b-41d4-a716-446655440000", 36 };
    env.lamport_clock = 3;
    env.payload = &pu.data;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(dsr_envelope_pack(&pk, &env), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope v;
    dsr_err err = { 0 };
    if (dsr_record_decode(sb.data, sb.size, &u, &v, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(v.aggregate_id.len, 12);
    assert_memory_equal(v.aggregate_id.ptr, "feature/feat", 12);
    assert_memory_equal(v.schema_version.ptr, "1.0.0", 5);
    assert_null(v.correlation_id.ptr);

    env.node_id.ptr = NULL;   /* required */
    assert_int_equal(dsr_envelope_pack(&pk, &env), DSR_EINVAL);

    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&pu);
    msgpack_sbuffer_destroy(&psb);
}

static void test_record_decode_tells_corrupt_from_invalid(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(CANONICAL, strlen(CANONICAL), &sb, &u);
    msgpack_unpacked_destroy(&u);

    msgpack_unpacked d;
    dsr_envelope env;
    dsr_err err = { 0 };
    msgpack_unpacked_init(&d);
    assert_int_equal(dsr_record_decode(sb.data, sb.size, &d, &env, &err), 0);
    /* truncated */
    assert_int_equal(dsr_record_decode(sb.data, sb.size - 3, &d, &env, &err), DSR_ECORRUPT);
    /* trailing garbage */
    char *more = malloc(sb.size + 1);
    memcpy(more, sb.data, sb.size);
    more[sb.size] = (char)0xc0;
    assert_int_equal(dsr_record_decode(more, sb.size + 1, &d, &env, &err), DSR_ECORRUPT);
    assert_non_null(strstr(err.msg, "trailing"));
    free(more);
    /* decodes, but not an envelope */
    static const char arr[] = "\x93\x01\x02\x03";
    assert_int_equal(dsr_record_decode(arr, 4, &d, &env, &err), DSR_ESCHEMA);
    /* a reserved msgpack byte */
    static const char junk[] = "\xc1";
    assert_int_equal(dsr_record_decode(junk, 1, &d, &env, &err), DSR_ECORRUPT);
    msgpack_unpacked_destroy(&d);
    msgpack_sbuffer_destroy(&sb);
}

static void test_slug_mismatch_names_both_values(void **state)
{
    (void)state;
    static const char text[] =
        "{\"event_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFGH\",\"event_type\":\"dossier_artifact_removed\","
        "\"aggregate_id\":\"feature/other\",\"timestamp\":\"2026-01-31T12:00:00Z\","
        "\"node_id\":\"n\",\"lamport_clock\":1,"
        "\"project_uuid\":\"550e8400-e29b-41d4-a716-446655440000\",\"correlation_id\":null,"
        "\"causation_id\":null,\"schema_version\":\"1.0.0\","
        "\"payload\":{\"feature_slug\":\"f1\",\"artifact_key\":\"k\",\"relative_path\":\"p\"}}";
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, strlen(text), &sb, &u);
    dsr_envelope env;
    dsr_err err = { 0 };
    assert_int_equal(dsr_envelope_view(&u.data, &env, &err), DSR_ESCHEMA);
    assert_string_equal(err.msg, "event 01JD3Q8Z5M6W7X8Y9A0BCDEFGH: aggregate_id: "
                                 "\"feature/other\" does not match payload.feature_slug \"f1\"");
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_event_type_names_and_aliases_parse(void **state)
{
    (void)state;
    for (int t = 0; t < DSR_EV_COUNT; t++) {
        dsr_event_type got = DSR_EV_COUNT;
        const char *n = dsr_event_type_name((dsr_event_type)t);
        const char *a = dsr_event_type_alias((dsr_event_type)t);
        assert_non_null(n);
        assert_non_null(a);
        assert_int_equal(dsr_event_type_parse(n, strlen(n), &got), 0);
        assert_int_equal(got, t);
        got = DSR_EV_COUNT;
        assert_int_equal(dsr_event_type_parse(a, strlen(a), &got), 0);
        assert_int_equal(got, t);
        /* a prefix is not a name */
        assert_int_equal(dsr_event_type_parse(n, strlen(n) - 1, &got), DSR_ENOTFOUND);
    }
    assert_int_equal(dsr_event_type_parse("mission_dossier_artifact_indexed", 32, NULL), 0);
    assert_int_equal(dsr_event_type_parse("missiondossierartifactindexed", 29, NULL), DSR_ENOTFOUND);
    assert_null(dsr_event_type_name(DSR_EV_COUNT));
    assert_string_equal(dsr_event_type_alias(DSR_EV_PARITY_DRIFT_DETECTED),
                        "MissionDossierParityDriftDetected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_table_verdicts_match_the_c_validator),
        cmocka_unit_test(test_envelope_table_verdicts_match_the_c_validator),
        cmocka_unit_test(test_packed_payloads_validate_in_schema_field_order),
        cmocka_unit_test(test_scan_completed_profile_is_optional_and_checked),
        cmocka_unit_test(test_pack_refuses_null_where_the_schema_has_no_null),
        cmocka_unit_test(test_negative_size_is_refused_naming_type_field_and_value),
        cmocka_unit_test(test_validator_refuses_invalid_utf8_and_duplicate_keys),
        cmocka_unit_test(test_envelope_pack_writes_canonical_order_and_snake_case),
        cmocka_unit_test(test_envelope_pack_fills_aggregate_and_schema_version),
        cmocka_unit_test(test_record_decode_tells_corrupt_from_invalid),
        cmocka_unit_test(test_slug_mismatch_names_both_values),
        cmocka_unit_test(test_event_type_names_and_aliases_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

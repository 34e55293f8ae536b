/*
 * test_sk3.c - the spec-kitty-3 profile of codec/: id, UUID and time
 * grammars and their canonical forms (sk3_ids.c), the checker's rules, one
 * problem each with its field path (sk3_check.c), rendering (sk3_render.c)
 * and reading back (sk3_read.c) as inverses, and the completion an imported
 * run gets (sk3_runs.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk3.h"
#include "dossier/buf.h"
#include "dossier/event.h"
#include "dossier/sk3.h"

/* ---- ids, UUIDs, times ----------------------------------------------------- */

static void test_id_grammar_accepts_ulids_either_case_and_uuids(void **state)
{
    (void)state;
    static const struct { const char *id; int ok; } cases[] = {
        { "01KA0ABCDEFGH0000000000001", 1 },
        { "01ka0abcdefgh0000000000001", 1 },
        { "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", 1 },            /* first char not limited */
        { "01KA0ABCDEFGH000000000U021", 0 },            /* U is not Crockford */
        { "01KA0ABCDEFGH00000000000I1", 0 },
        { "0f7d2c9e-4b1a-4e8f-9c3d-2a1b0c9d8e7f", 1 },
        { "0F7D2C9E4B1A4E8F9C3D2A1B0C9D8E7F", 1 },
        { "0f7d2c9e4b1a-4e8f-9c3d-2a1b0c9d8e7f", 0 },
        { "0f7d2c9e-4b1a-4e8f-9c3d-2a1b0c9d8e7g", 0 },
        { "01KA0ABCDEFGH0000000000022\n", 0 },
        { "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (sk3_id_valid(cases[i].id, strlen(cases[i].id)) != cases[i].ok)
            fail_msg("case %zu '%s': expected %d", i, cases[i].id, cases[i].ok);
}

static void test_uuid_id_maps_to_the_ulid_of_its_bytes_in_both_spellings(void **state)
{
    (void)state;
    char a[DSR_ULID_LEN + 1], b[DSR_ULID_LEN + 1];
    sk3_id_to_ulid("0f7d2c9e-4b1a-4e8f-9c3d-2a1b0c9d8e7f", 36, a);
    sk3_id_to_ulid("0F7D2C9E4B1A4E8F9C3D2A1B0C9D8E7F", 32, b);
    assert_string_equal(a, "0FFMP9WJRT9T7SRF9A3C69V3KZ");   /* python: base32 of uuid.int */
    assert_string_equal(a, b);
}

static void test_ulid_ids_are_upper_cased_or_hashed_when_out_of_range(void **state)
{
    (void)state;
    char a[DSR_ULID_LEN + 1], b[DSR_ULID_LEN + 1], c[DSR_ULID_LEN + 1];
    sk3_id_to_ulid("01ka0abcdefgh0000000000004", 26, a);
    assert_string_equal(a, "01KA0ABCDEFGH0000000000004");
    sk3_id_to_ulid("zzzzzzzzzzzzzzzzzzzzzzzzzz", 26, b);
    sk3_id_to_ulid("ZZZZZZZZZZZZZZZZZZZZZZZZZZ", 26, c);
    assert_true(dsr_ulid_valid(b, DSR_ULID_LEN));
    assert_string_equal(b, c);   /* deterministic, case-blind */
}

static void test_uuid_format_and_canonical_form(void **state)
{
    (void)state;
    char out[37];
    static const char *const ok[] = { "5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d",
        "5F0C6D3E9A414C2B8D771E2F3A4B5C6D", "{5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d}",
        "urn:uuid:5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d" };
    for (size_t i = 0; i < 4; i++) {
        assert_true(sk3_uuid_valid(ok[i], strlen(ok[i])));
        sk3_uuid_canonical(ok[i], strlen(ok[i]), out);
        assert_string_equal(out, "5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d");
    }
    assert_false(sk3_uuid_valid("not-a-uuid", 10));
    assert_false(sk3_uuid_valid("{5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d", 37));
}

static void test_time_grammar_and_rfc3339_form(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        { "2026-08-01T10:00:00Z", "2026-08-01T10:00:00Z" },          /* kept verbatim */
        { "2026-08-01T12:00:00+02:00", "2026-08-01T12:00:00+02:00" },
        { "2026-08-01", "2026-08-01T00:00:00Z" },                    /* date alone */
        { "2026-08-01T10:00:02", "2026-08-01T10:00:02Z" },           /* naive: UTC */
        { "2026-08-01 10:00:02.123456789z", "2026-08-01T10:00:02.123456789Z" },
        { "2026-08-01_10:00:00,5+0130", "2026-08-01T10:00:00.5+01:30" },
        { "2026-08-01T10:00,5Z", NULL },                             /* a fraction needs seconds */
        { "2024-02-29T00:00Z", "2024-02-29T00:00:00Z" },
        { "2026-02-30T00:00:00Z", NULL },                            /* no such day */
        { "2026-08-01T24:00:00Z", NULL },
        { "2026-08-01T10:00:60Z", NULL },
        { "1700000000", NULL },                                      /* divergence 7 */
        { "2026-08-01T10:00:00.Z", NULL },
        { "2026-08-01T10", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *in = cases[i].in;
        int ok = sk3_time_valid(in, strlen(in));
        if (ok != (cases[i].out != NULL))
            fail_msg("case %zu '%s': valid %d", i, in, ok);
        if (!ok)
            continue;
        char out[64];
        size_t n = sk3_time_canonical(in, strlen(in), out);
        assert_int_equal(n, strlen(out));
        if (strcmp(out, cases[i].out))
            fail_msg("case %zu '%s': got '%s', want '%s'", i, in, out, cases[i].out);
    }
}

/* ---- the checker ------------------------------------------------------------ */

#define NS "\"namespace\":{\"project_uuid\":\"p\",\"mission_slug\":\"m1\",\"target_branch\":\"main\"," \
           "\"mission_type\":\"software-dev\",\"manifest_version\":\"1\"}"
#define ENV_HEAD "{\"event_id\":\"01KA0ABCDEFGH0000000000001\",\"event_type\":\"MissionDossierArtifactIndexed\"," \
    "\"aggregate_id\":\"m1:spec.md\",\"timestamp\":\"2026-08-01T10:00:00Z\",\"build_id\":\"b\"," \
    "\"node_id\":\"n1\",\"lamport_clock\":1,\"project_uuid\":\"5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d\"," \
    "\"correlation_id\":\"01KA0C0RRE0000000000000000\",\"schema_version\":\"3.0.0\","
#define INDEXED_PAYLOAD "\"payload\":{" NS ",\"artifact_id\":{\"mission_type\":\"software-dev\"," \
    "\"path\":\"spec.md\",\"artifact_class\":\"input\"},\"content_ref\":{\"hash\":" \
    "\"fd208bb7f4a0cb2e1d0f5a7e0e2b7f6f8d0a3c9e5b1d2f4a6c8e0b2d4f6a8c0e\",\"algorithm\":\"sha256\"," \
    "\"size_bytes\":12},\"indexed_at\":\"2026-08-01T10:00:00Z\"}"
#define VALID ENV_HEAD INDEXED_PAYLOAD "}"

typedef struct seen {
    int  n;
    char fields[16][128];
} seen;

static void collect(void *ctx, const char *field, const char *msg)
{
    seen *s = ctx;
    assert_non_null(msg);
    assert_true(msg[0] != '\0');
    if (s->n < 16)
        snprintf(s->fields[s->n], sizeof s->fields[0], "%s", field);
    s->n++;
}

/* text with the first occurrence of from replaced by to */
static char *subst(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    assert_non_null(out);
    size_t pre = (size_t)(at - text);
    memcpy(out, text, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    return out;
}

static void test_each_rule_is_one_problem_naming_its_field(void **state)
{
    (void)state;
    seen s = { 0 };
    assert_int_equal(dsr_sk3_check(VALID, strlen(VALID), collect, &s), 0);
    static const struct { const char *from, *to, *field; } cases[] = {
        { "\"build_id\":\"b\",", "", "build_id" },
        { "\"schema_version\":\"3.0.0\"", "\"schema_version\":\"1.0.0\"", "schema_version" },
        { "\"correlation_id\":\"01KA0C0RRE0000000000000000\"", "\"correlation_id\":null", "correlation_id" },
        { "\"event_id\":\"01KA0ABCDEFGH0000000000001\"", "\"event_id\":\"42\"", "event_id" },
        { "\"event_id\":\"01KA0ABCDEFGH0000000000001\"",
          "\"event_id\":\"0f7d2c9e-4b1a-4e8f-9c3d-2a1b0c9d8e7\"", "event_id" },
        { "MissionDossierArtifactIndexed", "mission_dossier_artifact_indexed", "event_type" },
        { "MissionDossierArtifactIndexed", "dossier_baseline_accepted", "event_type" },
        { "MissionDossierArtifactIndexed", "FeatureClosed", "event_type" },
        { "\"aggregate_id\":\"m1:spec.md\"", "\"aggregate_id\":\"feature_catalog/x\"", "aggregate_id" },
        { "\"node_id\":\"n1\",", "\"node_id\":\"n1\",\"mission_key\":\"x\",", "mission_key" },
        { "\"path\":\"spec.md\"", "\"path\":\"spec.md\",\"x\":[{\"feature_number\":1}]",
          "payload.artifact_id.x[0].feature_number" },   /* legacy key in an array, and x is unknown */
        { "\"lamport_clock\":1", "\"lamport_clock\":1.5", "lamport_clock" },
        { "\"lamport_clock\":1", "\"lamport_clock\":true", "lamport_clock" },
        { "\"timestamp\":\"2026-08-01T10:00:00Z\"", "\"timestamp\":\"2026-13-01\"", "timestamp" },
        { "\"schema_version\":\"3.0.0\"", "\"schema_version\":\"3.0.0\",\"data_tier\":5", "data_tier" },
        { "\"algorithm\":\"sha256\"", "\"algorithm\":\"SHA256\"", "payload.content_ref.algorithm" },
        { "\"size_bytes\":12", "\"size_bytes\":-3", "payload.content_ref.size_bytes" },
        { "\"indexed_at\":\"2026-08-01T10:00:00Z\"", "\"indexed_at\":3", "payload.indexed_at" },
        { "\"mission_slug\":\"m1\",", "", "payload.namespace.mission_slug" },
        { "\"artifact_class\":\"input\"", "\"artifact_class\":\"other\"", "payload.artifact_id.artifact_class" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *line = subst(VALID, cases[i].from, cases[i].to);
        memset(&s, 0, sizeof s);
        int n = dsr_sk3_check(line, strlen(line), collect, &s);
        int want = strstr(cases[i].to, "feature_number") ? 2 : 1;
        if (n != want || s.n != n || strcmp(s.fields[0], cases[i].field))
            fail_msg("case %zu (%s): %d problems, first field '%s', want %d at '%s'", i,
                     cases[i].to, n, s.n ? s.fields[0] : "", want, cases[i].field);
        free(line);
    }
}

static void test_every_problem_of_a_line_is_reported(void **state)
{
    (void)state;
    char *a = subst(VALID, "\"build_id\":\"b\",", "");
    char *b = subst(a, "\"size_bytes\":12", "\"size_bytes\":-1,\"mime\":\"x\"");
    char *c = subst(b, "\"schema_version\":\"3.0.0\"", "\"schema_version\":\"3\"");
    seen s = { 0 };
    assert_int_equal(dsr_sk3_check(c, strlen(c), collect, &s), 4);
    int found = 0;
    for (int i = 0; i < s.n; i++)
        found += !strcmp(s.fields[i], "build_id") + !strcmp(s.fields[i], "schema_version")
               + !strcmp(s.fields[i], "payload.content_ref.size_bytes")
               + !strcmp(s.fields[i], "payload.content_ref.mime");
    assert_int_equal(found, 4);
    free(a);
    free(b);
    free(c);
}

static void test_not_json_and_not_an_object_are_one_problem_of_the_line(void **state)
{
    (void)state;
    static const char *const lines[] = { "{\"a\":1,\"a\":2}", "[1]", "{", "\"x\"", "\xff" };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        seen s = { 0 };
        assert_int_equal(dsr_sk3_check(lines[i], strlen(lines[i]), collect, &s), 1);
        assert_string_equal(s.fields[0], ".");
    }
}

static void test_other_event_types_need_only_the_envelope(void **state)
{
    (void)state;
    char *line = subst(VALID, "MissionDossierArtifactIndexed", "WPStatusChanged");
    assert_int_equal(dsr_sk3_check(line, strlen(line), NULL, NULL), 0);
    free(line);
    char *bare = subst(VALID, INDEXED_PAYLOAD, "\"x\":1");   /* no payload at all */
    assert_int_equal(dsr_sk3_check(bare, strlen(bare), NULL, NULL), 1);   /* payload required */
    free(bare);
}

/* ---- rendering and reading are inverse ---------------------------------- */

static const char *const canonical[] = {
    "{\"event_id\":\"01KA0ABCDEFGH0000000000001\",\"event_type\":\"mission_dossier_artifact_indexed\","
    "\"aggregate_id\":\"feature/m1\",\"timestamp\":\"2026-08-01T10:00:00.123Z\",\"node_id\":\"n1\","
    "\"lamport_clock\":7,\"project_uuid\":\"5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d\","
    "\"correlation_id\":\"01KA0C0RRE0000000000000000\",\"causation_id\":null,\"schema_version\":\"1.0.0\","
    "\"payload\":{\"feature_slug\":\"m1\",\"artifact_key\":\"workflow.tasks.per_wp:tasks/WP01 \\\"x\\\".md\","
    "\"artifact_class\":\"workflow\",\"relative_path\":\"tasks/WP01 \\\"x\\\".md\","
    "\"content_hash_sha256\":\"fd208bb7f4a0cb2e1d0f5a7e0e2b7f6f8d0a3c9e5b1d2f4a6c8e0b2d4f6a8c0e\","
    "\"size_bytes\":812,\"wp_id\":\"WP01\",\"step_id\":\"tasks\",\"required_status\":\"required\"}}",
    "{\"event_id\":\"01KA0ABCDEFGH0000000000002\",\"event_type\":\"mission_dossier_artifact_missing\","
    "\"aggregate_id\":\"feature/m1\",\"timestamp\":\"2026-08-01T10:00:00Z\",\"node_id\":\"n1\","
    "\"lamport_clock\":8,\"project_uuid\":\"5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d\","
    "\"correlation_id\":\"01KA0C0RRE0000000000000000\",\"causation_id\":null,\"schema_version\":\"1.0.0\","
    "\"payload\":{\"feature_slug\":\"m1\",\"artifact_key\":\"input.spec\",\"artifact_class\":\"input\","
    "\"expected_path_pattern\":\"spec.md\",\"reason_code\":\"unreadable\",\"reason_detail\":null,"
    "\"blocking\":false}}",
    "{\"event_id\":\"01KA0ABCDEFGH0000000000003\",\"event_type\":\"mission_dossier_snapshot_computed\","
    "\"aggregate_id\":\"feature/m1\",\"timestamp\":\"2026-08-01T10:00:00Z\",\"node_id\":\"n1\","
    "\"lamport_clock\":9,\"project_uuid\":\"5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d\","
    "\"correlation_id\":\"01KA0C0RRE0000000000000000\",\"causation_id\":\"01KA0ABCDEFGH0000000000002\","
    "\"schema_version\":\"1.0.0\",\"payload\":{\"feature_slug\":\"m1\","
    "\"parity_hash_sha256\":\"eef527af8080e58e5564113ae1a6ef64b7fafaa274cc2529a56520f317b93e98\","
    "\"artifact_counts\":{\"total\":5,\"required\":2,\"required_present\":1,\"required_missing\":1,"
    "\"optional\":3,\"optional_present\":2},\"completeness_status\":\"incomplete\","
    "\"snapshot_id\":\"01KA0ABCDEFGH000000000000S\"}}",
    "{\"event_id\":\"01KA0ABCDEFGH0000000000004\",\"event_type\":\"mission_dossier_parity_drift_detected\","
    "\"aggregate_id\":\"feature/m1\",\"timestamp\":\"2026-08-01T10:00:00Z\",\"node_id\":\"n1\","
    "\"lamport_clock\":10,\"project_uuid\":\"5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d\","
    "\"correlation_id\":\"01KA0C0RRE0000000000000000\",\"causation_id\":\"01KA0ABCDEFGH0000000000003\","
    "\"schema_version\":\"1.0.0\",\"payload\":{\"feature_slug\":\"m1\","
    "\"local_parity_hash\":\"eef527af8080e58e5564113ae1a6ef64b7fafaa274cc2529a56520f317b93e98\","
    "\"baseline_parity_hash\":\"39b919d94b6a9d443bd167e7314bfeb3dfcffad264bc8180b9eb85124b886c7a\","
    "\"missing_in_local\":[],\"missing_in_baseline\":[\"a,b\",\"c\\\"d\"],\"severity\":\"info\"}}",
};

static void decode(const char *json, msgpack_sbuffer *sb, msgpack_unpacked *u, dsr_envelope *env)
{
    dsr_err err = { 0 };
    sb->size = 0;
    if (dsr_json_to_msgpack(json, strlen(json), sb, &err)
        || dsr_envelope_decode(sb->data, sb->size, u, env, &err))
        fail_msg("fixture does not decode: %s", err.msg);
}

static void test_rendered_events_pass_the_check_and_read_back_identical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof canonical / sizeof canonical[0]; i++) {
        msgpack_sbuffer sb, back;
        msgpack_sbuffer_init(&sb);
        msgpack_sbuffer_init(&back);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        decode(canonical[i], &sb, &u, &env);
        dsr_buf out = DSR_BUF_INIT;
        dsr_err err = { 0 };
        assert_int_equal(dsr_sk3_render(&env, NULL, &out, &err), 0);
        seen s = { 0 };
        if (dsr_sk3_check(out.data, out.len, collect, &s) != 0)
            fail_msg("case %zu: rendering fails the check at '%s': %s", i, s.fields[0], out.data);
        assert_null(strstr(out.data, "feature_slug"));
        if (dsr_sk3_to_canonical(out.data, out.len, NULL, &back, &err))
            fail_msg("case %zu: %s", i, err.msg);
        /* the canonical bytes of the original (dsr_envelope_pack's) */
        msgpack_sbuffer want;
        msgpack_sbuffer_init(&want);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &want, msgpack_sbuffer_write);
        assert_int_equal(dsr_envelope_pack(&pk, &env), 0);
        if (want.size != back.size || memcmp(want.data, back.data, want.size))
            fail_msg("case %zu: the round trip changed the event: %s", i, out.data);
        msgpack_sbuffer_destroy(&want);
        dsr_buf_free(&out);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&back);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_internal_types_are_left_out(void **state)
{
    (void)state;
    static const char *const internal =
        "{\"event_id\":\"01KA0ABCDEFGH0000000000005\",\"event_type\":\"dossier_artifact_removed\","
        "\"aggregate_id\":\"feature/m1\",\"timestamp\":\"2026-08-01T10:00:00Z\",\"node_id\":\"n1\","
        "\"lamport_clock\":1,\"project_uuid\":\"5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d\","
        "\"correlation_id\":null,\"causation_id\":null,\"schema_version\":\"1.0.0\","
        "\"payload\":{\"feature_slug\":\"m1\",\"artifact_key\":\"k\",\"relative_path\":\"p\"}}";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    decode(internal, &sb, &u, &env);
    dsr_buf out = DSR_BUF_INIT;
    assert_int_equal(dsr_sk3_render(&env, NULL, &out, NULL), DSR_SK3_LEFT_OUT);
    assert_int_equal(out.len, 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_the_namespace_comes_from_the_runs_scan_completion(void **state)
{
    (void)state;
    static const char *const done =
        "{\"event_id\":\"01KA0ABCDEFGH0000000000006\",\"event_type\":\"dossier_scan_completed\","
        "\"aggregate_id\":\"feature/m1\",\"timestamp\":\"2026-08-01T10:00:00Z\",\"node_id\":\"n1\","
        "\"lamport_clock\":11,\"project_uuid\":\"5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d\","
        "\"correlation_id\":\"01KA0C0RRE0000000000000000\",\"causation_id\":null,\"schema_version\":\"1.0.0\","
        "\"payload\":{\"feature_slug\":\"m1\",\"mission_type\":\"research\",\"manifest_version\":\"2\","
        "\"step_id\":\"gather\",\"target_branch\":\"dev\",\"emit_mode\":\"full\",\"indexed_count\":1,"
        "\"missing_count\":1,\"removed_count\":0,\"optional_absent\":0}}";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    dsr_sk3_runs *runs = NULL;
    assert_int_equal(dsr_sk3_runs_new(&runs), 0);
    decode(done, &sb, &u, &env);
    assert_int_equal(dsr_sk3_runs_note(runs, &env), 0);
    decode(canonical[1], &sb, &u, &env);
    dsr_buf out = DSR_BUF_INIT;
    assert_int_equal(dsr_sk3_render(&env, runs, &out, NULL), 0);
    assert_non_null(strstr(out.data, "\"target_branch\":\"dev\",\"mission_type\":\"research\","
                                     "\"manifest_version\":\"2\",\"step_id\":\"gather\""));
    assert_non_null(strstr(out.data, "\"manifest_step\":\"gather\""));
    dsr_buf_free(&out);
    dsr_sk3_runs_free(runs);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_what_has_no_canonical_form_is_refused_naming_the_field(void **state)
{
    (void)state;
    static const struct { const char *from, *to, *field; } cases[] = {
        { "\"algorithm\":\"sha256\"", "\"algorithm\":\"md5\"", "payload.content_ref.algorithm" },
        { "\"hash\":\"fd208b", "\"hash\":\"zz208b", "payload.content_ref.hash" },
        { ",\"size_bytes\":12", "", "payload.content_ref.size_bytes" },
        { "MissionDossierArtifactIndexed", "WPStatusChanged", "event_type" },
        { "\"timestamp\":\"2026-08-01T10:00:00Z\"", "\"timestamp\":\"1969-12-31T23:59:59Z\"", "timestamp" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *line = subst(VALID, cases[i].from, cases[i].to);
        msgpack_sbuffer out;
        msgpack_sbuffer_init(&out);
        dsr_err err = { 0 };
        assert_int_equal(dsr_sk3_check(line, strlen(line), NULL, NULL), 0);
        int rc = dsr_sk3_to_canonical(line, strlen(line), NULL, &out, &err);
        if (rc != DSR_ESCHEMA || strncmp(err.msg, cases[i].field, strlen(cases[i].field))
            || out.size)
            fail_msg("case %zu: rc %d, '%s', want a refusal naming %s", i, rc, err.msg,
                     cases[i].field);
        msgpack_sbuffer_destroy(&out);
        free(line);
    }
}

static void test_an_imported_run_gets_one_deterministic_completion(void **state)
{
    (void)state;
    char ids[2][DSR_ULID_LEN + 1];
    for (int k = 0; k < 2; k++) {
        dsr_sk3_runs *runs = NULL;
        assert_int_equal(dsr_sk3_runs_new(&runs), 0);
        msgpack_sbuffer out;
        msgpack_sbuffer_init(&out);
        dsr_err err = { 0 };
        char *second = subst(VALID, "0000000001\"", "0000000009\"");
        assert_int_equal(dsr_sk3_to_canonical(VALID, strlen(VALID), runs, &out, &err), 0);
        assert_int_equal(dsr_sk3_to_canonical(second, strlen(second), runs, &out, &err), 0);
        out.size = 0;
        const char *first = NULL;
        assert_int_equal(dsr_sk3_runs_completion(runs, 0, &out, &first, &err), 0);
        assert_string_equal(first, "01KA0ABCDEFGH0000000000001");
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        assert_int_equal(dsr_envelope_decode(out.data, out.size, &u, &env, &err), 0);
        assert_int_equal(env.type, DSR_EV_SCAN_COMPLETED);
        memcpy(ids[k], env.event_id.ptr, DSR_ULID_LEN);
        ids[k][DSR_ULID_LEN] = '\0';
        assert_memory_equal(env.correlation_id.ptr, "01KA0C0RRE0000000000000000", DSR_ULID_LEN);
        const msgpack_object *p = env.payload;
        for (uint32_t i = 0; i < p->via.map.size; i++)
            if (p->via.map.ptr[i].key.via.str.size == 13
                && !memcmp(p->via.map.ptr[i].key.via.str.ptr, "indexed_count", 13))
                assert_int_equal(p->via.map.ptr[i].val.via.u64, 2);
        assert_int_equal(dsr_sk3_runs_completion(runs, 1, &out, &first, &err), DSR_ENOTFOUND);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&out);
        free(second);
        dsr_sk3_runs_free(runs);
    }
    assert_string_equal(ids[0], ids[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_grammar_accepts_ulids_either_case_and_uuids),
        cmocka_unit_test(test_uuid_id_maps_to_the_ulid_of_its_bytes_in_both_spellings),
        cmocka_unit_test(test_ulid_ids_are_upper_cased_or_hashed_when_out_of_range),
        cmocka_unit_test(test_uuid_format_and_canonical_form),
        cmocka_unit_test(test_time_grammar_and_rfc3339_form),
        cmocka_unit_test(test_each_rule_is_one_problem_naming_its_field),
        cmocka_unit_test(test_every_problem_of_a_line_is_reported),
        cmocka_unit_test(test_not_json_and_not_an_object_are_one_problem_of_the_line),
        cmocka_unit_test(test_other_event_types_need_only_the_envelope),
        cmocka_unit_test(test_rendered_events_pass_the_check_and_read_back_identical),
        cmocka_unit_test(test_internal_types_are_left_out),
        cmocka_unit_test(test_the_namespace_comes_from_the_runs_scan_completion),
        cmocka_unit_test(test_what_has_no_canonical_form_is_refused_naming_the_field),
        cmocka_unit_test(test_an_imported_run_gets_one_deterministic_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

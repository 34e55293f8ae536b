/*
 * test_emit_direct.c - the emitter's direct path for artifact_indexed
 * (event_validate.c codec_indexed_direct_ok, record_pack.c
 * codec_record_pack_indexed) against its general path (pack the payload,
 * decode it, dsr_payload_validate, dsr_record_pack):
 *   - whatever the direct check accepts, the validator accepts too, and the
 *     direct record is byte for byte the general one;
 *   - ordinary valid payloads do take the direct path;
 *   - the envelope ids the direct path remembers between records (node,
 *     project, correlation, causation) and the fresh id's 16 bytes handed to
 *     it never change a byte: records made with one memo across changing
 *     envelopes, with none, and with the id's bytes given equal the general
 *     ones;
 * over hand-picked edge cases of every field and thousands of random
 * combinations of valid and invalid field values and envelope ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/event.h"
#include "codec.h"

static const char HASH[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static dsr_artifact_indexed base(void)
{
    dsr_artifact_indexed p = {
        .feature_slug = "042-feature", .artifact_key = "spec.md", .artifact_class = "input",
        .relative_path = "kitty-specs/042/spec.md", .content_hash_sha256 = HASH,
        .size_bytes = 4096, .wp_id = "WP01", .step_id = NULL, .required_status = "required",
    };
    return p;
}

/* The envelope's ids: a fixed set by default, changed by the tests that
 * exercise the memo. */
static const char *env_id = "01JD2ZQ8W4N3X5T7V9B1C3D5F7";
static const char *env_node = "01JD2ZQ8W4N3X5T7V9B1C3D5F8";
static const char *env_corr = "01JD2ZQ8W4N3X5T7V9B1C3D5F9";
static const char *env_cause = NULL;
static const char *env_uuid = "7f1d3c2a-9b8e-4f6a-8c5d-1e2f3a4b5c6d";
static const char *env_ts = "2026-11-25T16:30:00.123Z";

static dsr_str opt_str(const char *s)
{
    dsr_str r = { s, s ? strlen(s) : 0 };
    return r;
}

static dsr_envelope envelope_for(const dsr_artifact_indexed *p, uint64_t lamport)
{
    dsr_envelope env = {
        .event_id = opt_str(env_id),
        .feature_slug = { p->feature_slug, p->feature_slug ? strlen(p->feature_slug) : 0 },
        .timestamp = opt_str(env_ts),
        .node_id = opt_str(env_node),
        .project_uuid = opt_str(env_uuid),
        .correlation_id = opt_str(env_corr),
        .causation_id = opt_str(env_cause),
        .type = DSR_EV_ARTIFACT_INDEXED,
        .lamport_clock = lamport,
    };
    return env;
}

/* The general path: 1 and the record in out when the validator accepts p. */
static int general(const dsr_artifact_indexed *p, uint64_t lamport, msgpack_sbuffer *out)
{
    msgpack_sbuffer pl;
    msgpack_sbuffer_init(&pl);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &pl, msgpack_sbuffer_write);
    int ok = 0;
    if (dsr_payload_pack(&pk, DSR_EV_ARTIFACT_INDEXED, p) == 0) {
        msgpack_zone z;
        assert_true(msgpack_zone_init(&z, 2048));
        msgpack_object obj;
        size_t off = 0;
        assert_int_equal(msgpack_unpack(pl.data, pl.size, &off, &z, &obj),
                         MSGPACK_UNPACK_SUCCESS);
        dsr_err err = { 0 };
        if (dsr_payload_validate(DSR_EV_ARTIFACT_INDEXED, &obj, &err) == 0) {
            dsr_envelope env = envelope_for(p, lamport);
            env.payload = &obj;
            msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
            assert_int_equal(dsr_record_pack(&pk, &env), 0);
            ok = 1;
        }
        msgpack_zone_destroy(&z);
    }
    msgpack_sbuffer_destroy(&pl);
    return ok;
}

static size_t direct_hits, general_refusals;
static codec_head_memo memo;   /* kept across every check, as an emitter keeps it */

/* The direct record of p into out (reset first), with the memo or without,
 * with the event id's bytes given or not. */
static void direct(const dsr_artifact_indexed *p, const codec_indexed_direct *dd,
                   uint64_t lamport, int use_memo, int give_bin, dsr_buf *out)
{
    dsr_envelope env = envelope_for(p, lamport);
    unsigned char bin[16];
    const unsigned char *id_bin = NULL;
    if (give_bin && !codec_ulid_to_bin(env.event_id.ptr, env.event_id.len, bin))
        id_bin = bin;
    dsr_buf_reset(out);
    assert_int_equal(codec_record_pack_indexed(out, &env, id_bin, use_memo ? &memo : NULL, p,
                                               dd), 0);
}

/* The property, for one payload.  Returns whether the direct path took it. */
static int check(const dsr_artifact_indexed *p, uint64_t lamport)
{
    msgpack_sbuffer g;
    msgpack_sbuffer_init(&g);
    int gen_ok = general(p, lamport, &g);
    codec_indexed_direct dd;
    int direct_ok = codec_indexed_direct_ok(p, &dd);
    general_refusals += !gen_ok;
    if (direct_ok) {
        direct_hits++;
        if (!gen_ok)
            fail_msg("direct path accepts what the validator refuses (key '%s', path '%s', "
                     "class '%s', status '%s', size %lld)",
                     p->artifact_key ? p->artifact_key : "(null)",
                     p->relative_path ? p->relative_path : "(null)",
                     p->artifact_class ? p->artifact_class : "(null)",
                     p->required_status ? p->required_status : "(null)",
                     (long long)p->size_bytes);
        dsr_buf d = DSR_BUF_INIT;
        for (int way = 0; way < 4; way++) {
            direct(p, &dd, lamport, way & 1, way & 2, &d);
            if (d.len != g.size || memcmp(d.data, g.data, g.size))
                fail_msg("direct record (memo %d, id bytes %d) differs from the general one "
                         "(%zu vs %zu bytes; node %s, project %s, corr %s, cause %s)",
                         way & 1, !!(way & 2), d.len, g.size, env_node,
                         env_uuid, env_corr ? env_corr : "(null)",
                         env_cause ? env_cause : "(null)");
        }
        dsr_buf_free(&d);
    }
    msgpack_sbuffer_destroy(&g);
    return direct_ok;
}

static void ordinary_payloads_take_the_direct_path(void **state)
{
    (void)state;
    static const char *const classes[] = { "input", "workflow", "output", "evidence",
                                           "policy", "runtime" };
    for (size_t c = 0; c < 6; c++)
        for (int req = 0; req < 2; req++) {
            dsr_artifact_indexed p = base();
            p.artifact_class = classes[c];
            p.required_status = req ? "required" : "optional";
            p.wp_id = req ? NULL : "WP07";
            p.step_id = req ? "implement" : NULL;
            p.size_bytes = (int64_t)c * 1000003;
            assert_true(check(&p, 1 + c));
        }
    /* every msgpack width: sizes, string lengths, lamport clocks */
    static const int64_t sizes[] = { 0, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
                                     4294967296LL, INT64_MAX };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        dsr_artifact_indexed p = base();
        p.size_bytes = sizes[i];
        assert_true(check(&p, (uint64_t)sizes[i]));
    }
    static const size_t lens[] = { 1, 31, 32, 255, 256, 65535, 65536 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *s = malloc(lens[i] + 1);
        assert_non_null(s);
        memset(s, 'k', lens[i]);
        s[lens[i]] = '\0';
        dsr_artifact_indexed p = base();
        p.artifact_key = s;
        p.relative_path = s;
        p.wp_id = s;
        assert_true(check(&p, 7));
        free(s);
    }
    dsr_artifact_indexed p = base();
    p.relative_path = "docs/\xc3\xa9t\xc3\xa9/r\xc3\xa9sum\xc3\xa9.md";   /* UTF-8 */
    assert_true(check(&p, 3));
}

static void edge_cases_never_pass_what_the_validator_refuses(void **state)
{
    (void)state;
    static const char *const bad_names[] = { NULL, "", "\xff", "a\xc3", "\xed\xa0\x80",
                                             "\xc0\xaf" };
    static const char *const bad_hashes[] = {
        NULL, "", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
    };
    static const char *const bad_enums[] = { NULL, "", "Input", "required ", "bogus",
                                             "optional\xff" };
    size_t before = general_refusals;
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        dsr_artifact_indexed p = base();
        p.feature_slug = bad_names[i];
        if (p.feature_slug)      /* a NULL slug cannot even form an envelope */
            assert_false(check(&p, 1));
        p = base();
        p.artifact_key = bad_names[i];
        assert_false(check(&p, 1));
        p = base();
        p.relative_path = bad_names[i];
        assert_false(check(&p, 1));
        if (bad_names[i] && *bad_names[i]) {   /* NULL and "" are fine for these */
            p = base();
            p.wp_id = bad_names[i];
            assert_false(check(&p, 1));
            p = base();
            p.step_id = bad_names[i];
            assert_false(check(&p, 1));
        }
    }
    for (size_t i = 0; i < sizeof bad_hashes / sizeof bad_hashes[0]; i++) {
        dsr_artifact_indexed p = base();
        p.content_hash_sha256 = bad_hashes[i];
        assert_false(check(&p, 1));
    }
    for (size_t i = 0; i < sizeof bad_enums / sizeof bad_enums[0]; i++) {
        dsr_artifact_indexed p = base();
        p.artifact_class = bad_enums[i];
        assert_false(check(&p, 1));
        p = base();
        p.required_status = bad_enums[i];
        assert_false(check(&p, 1));
    }
    dsr_artifact_indexed p = base();
    p.size_bytes = -1;
    assert_false(check(&p, 1));
    p.size_bytes = INT64_MIN;
    assert_false(check(&p, 1));
    p = base();
    p.wp_id = "";                 /* string|null: empty is a valid string */
    p.step_id = "";
    assert_true(check(&p, 1));
    assert_true(general_refusals > before);
}

/* xorshift: a fixed seed, so a failure reproduces. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
#define PICK(a) ((a)[next() % (sizeof(a) / sizeof((a)[0]))])

static void random_payloads_agree(void **state)
{
    (void)state;
    static const char *const names[] = { "a", "spec.md", "x/y/z.txt", "", NULL, "\xff",
                                         "caf\xc3\xa9", "\xe2\x82", "WP01" };
    static const char *const classes[] = { "input", "workflow", "output", "evidence",
                                           "policy", "runtime", "Output", "", NULL, "inputs" };
    static const char *const statuses[] = { "required", "optional", "Required", "", NULL,
                                            "optional\xc3" };
    static const char *const hashes[] = {
        HASH, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "abc", NULL,
    };
    static const char *const nstrs[] = { NULL, "", "WP02", "step-3", "\xff", "\xf0\x9f\x98\x80" };
    static const int64_t sizes[] = { 0, 1, 4096, -1, INT64_MAX, INT64_MIN, 70000 };
    size_t hits0 = direct_hits, ref0 = general_refusals;
    for (int i = 0; i < 20000; i++) {
        dsr_artifact_indexed p = {
            .feature_slug = PICK(names), .artifact_key = PICK(names),
            .artifact_class = PICK(classes), .relative_path = PICK(names),
            .content_hash_sha256 = PICK(hashes), .size_bytes = PICK(sizes),
            .wp_id = PICK(nstrs), .step_id = PICK(nstrs), .required_status = PICK(statuses),
        };
        if (!p.feature_slug)
            p.feature_slug = "f";
        (void)check(&p, next() % 100000);
    }
    /* both outcomes were exercised, many times */
    assert_true(direct_hits - hits0 > 50);
    assert_true(general_refusals - ref0 > 1000);
}

/* Envelope ids of every form: ULIDs, other strings (short, 26 characters
 * that are no ULID, long ones crossing str8/str16), nil where allowed, and
 * project ids that are not lowercase UUIDs.  The memo sees them change from
 * one record to the next, and back. */
static void envelope_ids_change_under_one_memo(void **state)
{
    (void)state;
    static char long_id[300];
    memset(long_id, 'n', sizeof long_id - 1);
    const char *const ids[] = { "01JD2ZQ8W4N3X5T7V9B1C3D5F7", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
                                "01JD2ZQ8W4N3X5T7V9B1C3D5FU", "81JD2ZQ8W4N3X5T7V9B1C3D5F7",
                                "node-a", "", long_id, "01jd2zq8w4n3x5t7v9b1c3d5f7" };
    const char *const uuids[] = { "7f1d3c2a-9b8e-4f6a-8c5d-1e2f3a4b5c6d",
                                  "00000000-0000-0000-0000-000000000000",
                                  "7F1D3C2A-9B8E-4F6A-8C5D-1E2F3A4B5C6D",
                                  "7f1d3c2a-9b8e-4f6a-8c5d-1e2f3a4b5c6", "not a uuid", long_id };
    const char *const stamps[] = { "2026-11-25T16:30:00.123Z", "2026-11-25T16:30:00Z",
                                   "2026-11-25T16:30:00.123456789+05:30" };
    const char *const ev_ids[] = { "01JD2ZQ8W4N3X5T7V9B1C3D5F7", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
                                   "00000000000000000000000000" };
    size_t n_ids = sizeof ids / sizeof ids[0], n_uuids = sizeof uuids / sizeof uuids[0];
    size_t hits0 = direct_hits;
    for (size_t i = 0; i < 600; i++) {
        env_node = ids[i % n_ids];
        env_corr = i % 5 == 0 ? NULL : ids[(i / 3) % n_ids];
        env_cause = i % 2 ? NULL : ids[(i / 7) % n_ids];
        env_uuid = uuids[(i / 11) % n_uuids];
        env_ts = stamps[i % 3];
        env_id = ev_ids[(i / 2) % 3];
        dsr_artifact_indexed p = base();
        assert_true(check(&p, i * 977));
    }
    assert_int_equal(direct_hits - hits0, 600);
    env_id = "01JD2ZQ8W4N3X5T7V9B1C3D5F7";
    env_node = "01JD2ZQ8W4N3X5T7V9B1C3D5F8";
    env_corr = "01JD2ZQ8W4N3X5T7V9B1C3D5F9";
    env_cause = NULL;
    env_uuid = "7f1d3c2a-9b8e-4f6a-8c5d-1e2f3a4b5c6d";
    env_ts = "2026-11-25T16:30:00.123Z";
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ordinary_payloads_take_the_direct_path),
        cmocka_unit_test(edge_cases_never_pass_what_the_validator_refuses),
        cmocka_unit_test(random_payloads_agree),
        cmocka_unit_test(envelope_ids_change_under_one_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_record_read.c - the replay reader's view of stored records
 * (replay/record_view.c, replay_record_read): for every valid artifact event
 * of the shared table tests/data/payload_cases.json, the fast path over a
 * format 2 record gives the same envelope fields and artifact fields as the
 * general path over the format 1 map; other events take the general path;
 * damaged records are refused, not misread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "test_data.h"

typedef struct packed {
    msgpack_sbuffer v1, v2;
} packed;

static void pack_both(const msgpack_object *envelope, packed *p)
{
    dsr_envelope view;
    dsr_err err = { 0 };
    if (dsr_envelope_view(envelope, &view, &err))
        fail_msg("not a valid envelope: %s", err.msg);
    msgpack_sbuffer_init(&p->v1);
    msgpack_sbuffer_init(&p->v2);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &p->v1, msgpack_sbuffer_write);
    assert_int_equal(dsr_envelope_pack(&pk, &view), 0);
    msgpack_packer_init(&pk, &p->v2, msgpack_sbuffer_write);
    assert_int_equal(dsr_record_pack(&pk, &view), 0);
}

static void assert_str_same(dsr_str a, dsr_str b, const char *what)
{
    if (a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len)))
        fail_msg("%s differs: '%.*s' vs '%.*s'", what, (int)a.len, a.ptr ? a.ptr : "",
                 (int)b.len, b.ptr ? b.ptr : "");
}

static size_t fast_hits;   /* format 2 records the fast path read (payload not decoded) */

/* Read both formats of one envelope and compare; returns whether it was an
 * artifact event. */
static int check_same_view(const msgpack_object *envelope)
{
    packed p;
    pack_both(envelope, &p);
    msgpack_zone z1, z2;
    assert_true(msgpack_zone_init(&z1, 4096));
    assert_true(msgpack_zone_init(&z2, 4096));
    msgpack_object pl1, pl2;
    dsr_envelope e1, e2;
    replay_art a1, a2;
    char ids1[2][DSR_ULID_LEN + 1], ids2[2][DSR_ULID_LEN + 1];
    dsr_err err = { 0 };
    if (replay_record_read(p.v1.data, p.v1.size, NULL, NULL, &z1, &pl1, &e1, &a1, ids1, &err))
        fail_msg("format 1: %s", err.msg);
    if (replay_record_read(p.v2.data, p.v2.size, NULL, NULL, &z2, &pl2, &e2, &a2, ids2, &err))
        fail_msg("format 2: %s", err.msg);
    assert_int_equal(e1.type, e2.type);
    assert_str_same(e1.event_id, e2.event_id, "event_id");
    assert_str_same(e1.event_type, e2.event_type, "event_type");
    assert_str_same(e1.feature_slug, e2.feature_slug, "feature_slug");
    assert_str_same(e1.timestamp, e2.timestamp, "timestamp");
    assert_str_same(e1.correlation_id, e2.correlation_id, "correlation_id");
    assert_int_equal(e1.lamport_clock, e2.lamport_clock);
    assert_ptr_equal(e2.payload, &pl2);
    assert_int_equal(a1.ok, a2.ok);
    int artifact = a1.ok;
    if (artifact) {
        if (pl2.via.map.size == 0)
            fast_hits++;
        assert_str_same(a1.key, a2.key, "artifact_key");
        assert_str_same(a1.path, a2.path, "path");
        assert_str_same(a1.cls, a2.cls, "artifact_class");
        assert_str_same(a1.reason, a2.reason, "reason_code");
        assert_int_equal(a1.required, a2.required);
        assert_int_equal(a1.has_hash, a2.has_hash);
        if (a1.has_hash)
            assert_memory_equal(a1.hash, a2.hash, 32);
        assert_non_null(a1.key.ptr);
        assert_non_null(a1.path.ptr);
        /* every strict prefix of the compact record is refused */
        for (size_t cut = 1; cut < p.v2.size; cut += 7) {
            msgpack_zone_clear(&z2);
            assert_int_equal(replay_record_read(p.v2.data, cut, NULL, NULL, &z2, &pl2, &e2,
                                                &a2, ids2, &err),
                             DSR_ECORRUPT);
        }
    } else {
        assert_int_equal(a2.ok, 0);
    }
    msgpack_zone_destroy(&z1);
    msgpack_zone_destroy(&z2);
    msgpack_sbuffer_destroy(&p.v1);
    msgpack_sbuffer_destroy(&p.v2);
    return artifact;
}

typedef struct tally {
    size_t artifacts, others;
} tally;

static void view_case(void *ud, const msgpack_object *envelope, const char *type)
{
    (void)type;
    tally *t = ud;
    if (check_same_view(envelope))
        t->artifacts++;
    else
        t->others++;
}

static void test_fast_path_matches_general_path(void **state)
{
    (void)state;
    tally t = { 0, 0 };
    td_each_valid_payload(view_case, &t);
    assert_true(t.artifacts >= 5);
    assert_true(t.others >= 5);
    assert_true(fast_hits >= 5);
}

/* Trailing bytes after a compact artifact record: refused. */
static void test_trailing_bytes_refused(void **state)
{
    (void)state;
    dsr_buf e = DSR_BUF_INIT;
    td_wrap_envelope("dossier_artifact_removed", "f1",
                     "{\"feature_slug\":\"f1\",\"artifact_key\":\"k\",\"relative_path\":\"a.md\"}",
                     &e);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(e.data, e.len, &sb, &u);
    packed p;
    pack_both(&u.data, &p);
    assert_int_equal(msgpack_sbuffer_write(&p.v2, "\xc0", 1), 0);
    msgpack_zone z;
    assert_true(msgpack_zone_init(&z, 4096));
    msgpack_object pl;
    dsr_envelope env;
    replay_art art;
    char ids[2][DSR_ULID_LEN + 1];
    dsr_err err = { 0 };
    assert_int_equal(replay_record_read(p.v2.data, p.v2.size, NULL, NULL, &z, &pl, &env, &art,
                                        ids, &err),
                     DSR_ECORRUPT);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&p.v1);
    msgpack_sbuffer_destroy(&p.v2);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    dsr_buf_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_path_matches_general_path),
        cmocka_unit_test(test_trailing_bytes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

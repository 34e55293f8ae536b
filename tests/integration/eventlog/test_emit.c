/*
 * test_emit.c - the emitter: invalid payloads are refused with nothing
 * appended, envelopes are canonical, derived ids/timestamps are honoured and
 * idempotent, lamport stamps follow tick and merge, and imports keep the
 * event_id, payload and lamport stamp of the log they came from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dossier/emit.h"
#include "dossier/log.h"
#include "test_tmp.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static dsr_artifact_indexed indexed(const char *key)
{
    dsr_artifact_indexed p = {
        .feature_slug = "042-feature", .artifact_key = key, .artifact_class = "output",
        .relative_path = "spec.md", .content_hash_sha256 = HASH_A, .size_bytes = 1234,
        .wp_id = NULL, .step_id = "plan", .required_status = "required",
    };
    return p;
}

/* A decoded copy of the record at seq; caller destroys *u. */
static void load(dsr_log *log, uint64_t seq, msgpack_unpacked *u, dsr_buf *rec,
                 dsr_envelope *env)
{
    dsr_err err = {0};
    dsr_buf_reset(rec);
    assert_int_equal(dsr_log_get_event(log, seq, rec, &err), 0);
    msgpack_unpacked_init(u);
    if (dsr_record_decode(rec->data, rec->len, u, env, &err))
        fail_msg("decode seq %llu: %s", (unsigned long long)seq, err.msg);
}

static int str_eq(dsr_str s, const char *want)
{
    return s.ptr && s.len == strlen(want) && !memcmp(s.ptr, want, s.len);
}

static void test_invalid_payload_is_eschema_and_nothing_appended(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("emit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_log_batch *b;
    dsr_err err = {0};
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);

    dsr_artifact_indexed p = indexed("spec");
    p.content_hash_sha256 = "ABC";                      /* not 64 lowercase hex */
    dsr_emit_result r;
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, &r, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "mission_dossier_artifact_indexed"));
    assert_non_null(strstr(err.msg, "content_hash_sha256"));
    assert_non_null(strstr(err.msg, "ABC"));

    p = indexed("spec");
    p.artifact_class = "bogus";
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, &r, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "artifact_class"));
    p = indexed("spec");
    p.size_bytes = -1;
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, &r, &err), DSR_ESCHEMA);
    p = indexed("spec");
    p.relative_path = NULL;                              /* required string missing */
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, &r, &err), DSR_ESCHEMA);
    dsr_artifact_missing m = {
        .feature_slug = "042-feature", .artifact_key = "tasks", .artifact_class = "output",
        .expected_path_pattern = "tasks.md", .reason_code = "gone", .reason_detail = NULL,
        .blocking = 1,
    };
    assert_int_equal(dsr_emit_artifact_missing(b, &m, NULL, &r, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "reason_code"));
    /* Bad caller-supplied envelope fields are refused the same way. */
    p = indexed("spec");
    dsr_emit_meta bad_id = { .event_id = "not-a-ulid" };
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, &bad_id, &r, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "event_id"));
    dsr_emit_meta bad_ts = { .timestamp = "yesterday" };
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, &bad_ts, &r, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "timestamp"));

    assert_int_equal(dsr_log_batch_events(b), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 0);
    assert_int_equal(dsr_log_lamport(log), 0);           /* no tick for refused events */

    /* The batch is still usable after a refusal. */
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    p = indexed("spec");
    p.content_hash_sha256 = "bad";
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, &r, &err), DSR_ESCHEMA);
    p = indexed("spec");
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, &r, &err), 0);
    assert_int_equal(r.seq, 1);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 1);
    assert_int_equal(dsr_log_lamport(log), 1);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_envelope_fields_are_canonical(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("emit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_log_batch *b;
    dsr_err err = {0};
    char run[27];
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(log), run), 0);
    dsr_emit_meta meta = { .correlation_id = run };
    dsr_artifact_indexed p = indexed("spec");
    dsr_emit_result r;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, &meta, &r, &err), 0);
    assert_int_equal(r.duplicate, 0);
    assert_int_equal(r.seq, 1);
    assert_true(dsr_ulid_valid(r.event_id, strlen(r.event_id)));
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);

    msgpack_unpacked u;
    dsr_buf rec = DSR_BUF_INIT;
    dsr_envelope env;
    load(log, 1, &u, &rec, &env);
    /* Key order. */
    static const char *const order[] = {
        "event_id", "event_type", "aggregate_id", "timestamp", "node_id", "lamport_clock",
        "project_uuid", "correlation_id", "causation_id", "schema_version", "payload",
    };
    const msgpack_object *o = &u.data;
    assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(o->via.map.size, 11);
    for (int i = 0; i < 11; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        assert_int_equal(k->type, MSGPACK_OBJECT_STR);
        assert_int_equal(k->via.str.size, strlen(order[i]));
        assert_memory_equal(k->via.str.ptr, order[i], k->via.str.size);
    }
    static const char *const porder[] = {
        "feature_slug", "artifact_key", "artifact_class", "relative_path",
        "content_hash_sha256", "size_bytes", "wp_id", "step_id", "required_status",
    };
    assert_int_equal(env.payload->via.map.size, 9);
    for (int i = 0; i < 9; i++) {
        const msgpack_object *k = &env.payload->via.map.ptr[i].key;
        assert_int_equal(k->via.str.size, strlen(porder[i]));
        assert_memory_equal(k->via.str.ptr, porder[i], k->via.str.size);
    }
    /* Values. */
    assert_true(str_eq(env.event_id, r.event_id));
    assert_true(str_eq(env.event_type, "mission_dossier_artifact_indexed"));
    assert_int_equal(env.type, DSR_EV_ARTIFACT_INDEXED);
    assert_true(str_eq(env.aggregate_id, "feature/042-feature"));
    assert_true(str_eq(env.feature_slug, "042-feature"));
    uint64_t ms = 0;
    assert_int_equal(dsr_time_parse_rfc3339(env.timestamp.ptr, env.timestamp.len, &ms), 0);
    assert_true(ms > 1700000000000ull);
    assert_true(str_eq(env.node_id, dsr_log_node_id(log)));
    assert_true(str_eq(env.project_uuid, dsr_log_project_uuid(log)));
    assert_int_equal(env.lamport_clock, 1);
    assert_true(str_eq(env.correlation_id, run));
    assert_null(env.causation_id.ptr);
    assert_true(str_eq(env.schema_version, "1.0.0"));
    /* The JSON form keeps the order too. */
    dsr_buf json = DSR_BUF_INIT;
    assert_int_equal(dsr_msgpack_to_json(&u.data, &json), 0);
    assert_non_null(strstr(json.data, "\"causation_id\":null,\"schema_version\":\"1.0.0\""));
    assert_non_null(strstr(json.data, "\"wp_id\":null,\"step_id\":\"plan\""));
    assert_int_equal(strncmp(json.data, "{\"event_id\":\"", 13), 0);
    dsr_buf_free(&json);
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_lamport_stamp_is_one_tick_per_local_event_and_persists(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("emit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = {0};
    dsr_log_batch *b;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
        for (int i = 0; i < 3; i++) {
            dsr_artifact_indexed p = indexed("k");
            assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, NULL, &err), 0);
        }
        assert_int_equal(dsr_log_batch_commit(b, &err), 0);
        dsr_log_close(log);
        log = tt_log_open(dir, 0);
    }
    assert_int_equal(dsr_log_lamport(log), 6);
    msgpack_unpacked u;
    dsr_buf rec = DSR_BUF_INIT;
    dsr_envelope env;
    for (uint64_t s = 1; s <= 6; s++) {
        load(log, s, &u, &rec, &env);
        assert_int_equal(env.lamport_clock, s);
        msgpack_unpacked_destroy(&u);
    }
    dsr_buf_free(&rec);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_derived_event_id_and_timestamp_are_honoured_and_idempotent(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("emit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = {0};
    char id[27];
    dsr_ulid_derive(1767225600000ull, "snapshot-1", 10, id);
    dsr_emit_meta meta = { .event_id = id, .timestamp = "2026-01-01T00:00:00.000Z",
                           .causation_id = "01J0000000000000000000CA5S" };
    dsr_snapshot_computed s = {
        .feature_slug = "042-feature", .parity_hash_sha256 = HASH_B,
        .artifact_counts = { 3, 2, 1, 1, 1, 1 }, .completeness_status = "incomplete",
        .snapshot_id = "snap-1",
    };
    dsr_log_batch *b;
    dsr_emit_result r;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_emit_snapshot_computed(b, &s, &meta, &r, &err), 0);
    assert_string_equal(r.event_id, id);
    assert_int_equal(r.duplicate, 0);
    /* Again in the same batch: a duplicate, no new sequence, no tick. */
    assert_int_equal(dsr_emit_snapshot_computed(b, &s, &meta, &r, &err), 0);
    assert_int_equal(r.duplicate, 1);
    assert_int_equal(r.seq, 1);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_lamport(log), 1);
    dsr_log_close(log);

    /* Again after a reopen (a replay re-deriving the same event). */
    log = tt_log_open(dir, 0);
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_emit_snapshot_computed(b, &s, &meta, &r, &err), 0);
    assert_int_equal(r.duplicate, 1);
    assert_int_equal(r.seq, 1);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 1);
    assert_int_equal(dsr_log_lamport(log), 1);

    msgpack_unpacked u;
    dsr_buf rec = DSR_BUF_INIT;
    dsr_envelope env;
    load(log, 1, &u, &rec, &env);
    assert_true(str_eq(env.event_id, id));
    assert_true(str_eq(env.timestamp, "2026-01-01T00:00:00.000Z"));
    assert_true(str_eq(env.causation_id, "01J0000000000000000000CA5S"));
    assert_null(env.correlation_id.ptr);
    assert_true(str_eq(env.event_type, "mission_dossier_snapshot_computed"));
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_every_event_type_emits_a_decodable_record(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("emit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = {0};
    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    dsr_artifact_indexed i = indexed("spec");
    dsr_artifact_missing m = {
        .feature_slug = "f", .artifact_key = "tasks", .artifact_class = "output",
        .expected_path_pattern = "tasks.md", .reason_code = "not_found",
        .reason_detail = NULL, .blocking = 1,
    };
    dsr_snapshot_computed s = {
        .feature_slug = "f", .parity_hash_sha256 = HASH_B,
        .artifact_counts = { 1, 1, 1, 0, 0, 0 }, .completeness_status = "complete",
        .snapshot_id = "snap",
    };
    const char *lost[] = { "spec", "plan" };
    dsr_parity_drift_detected d = {
        .feature_slug = "f", .local_parity_hash = HASH_A, .baseline_parity_hash = HASH_B,
        .missing_in_local = lost, .n_missing_in_local = 2,
        .missing_in_baseline = NULL, .n_missing_in_baseline = 0, .severity = "warning",
    };
    dsr_baseline_accepted a = {
        .feature_slug = "f", .snapshot_id = "snap", .parity_hash_sha256 = HASH_B,
        .project_uuid = dsr_log_project_uuid(log), .node_id = dsr_log_node_id(log),
        .target_branch = "main", .mission_key = NULL, .manifest_version = NULL,
    };
    dsr_scan_completed c = {
        .feature_slug = "f", .mission_type = "software-dev", .manifest_version = "1",
        .step_id = NULL, .target_branch = "main", .emit_mode = "full",
        .indexed_count = 1, .missing_count = 1, .removed_count = 0, .optional_absent = 0,
    };
    dsr_artifact_removed rm = { .feature_slug = "f", .artifact_key = "old",
                                .relative_path = "old.md" };
    if (dsr_emit_artifact_indexed(b, &i, NULL, NULL, &err)
        || dsr_emit_artifact_missing(b, &m, NULL, NULL, &err)
        || dsr_emit_snapshot_computed(b, &s, NULL, NULL, &err)
        || dsr_emit_parity_drift_detected(b, &d, NULL, NULL, &err)
        || dsr_emit_baseline_accepted(b, &a, NULL, NULL, &err)
        || dsr_emit_scan_completed(b, &c, NULL, NULL, &err)
        || dsr_emit_artifact_removed(b, &rm, NULL, NULL, &err))
        fail_msg("emit: %s", err.msg);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 7);
    const dsr_event_type want[] = {
        DSR_EV_ARTIFACT_INDEXED, DSR_EV_ARTIFACT_MISSING, DSR_EV_SNAPSHOT_COMPUTED,
        DSR_EV_PARITY_DRIFT_DETECTED, DSR_EV_BASELINE_ACCEPTED, DSR_EV_SCAN_COMPLETED,
        DSR_EV_ARTIFACT_REMOVED,
    };
    msgpack_unpacked u;
    dsr_buf rec = DSR_BUF_INIT;
    dsr_envelope env;
    for (uint64_t q = 1; q <= 7; q++) {
        load(log, q, &u, &rec, &env);
        assert_int_equal(env.type, want[q - 1]);
        assert_true(str_eq(env.event_type, dsr_event_type_name(want[q - 1])));
        msgpack_unpacked_destroy(&u);
    }
    dsr_buf_free(&rec);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

/* Import every record of src into dst in one batch; returns events added. */
static size_t import_all(dsr_log *src, dsr_log *dst, size_t *dups)
{
    dsr_err err = {0};
    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(dst, &b, &err), 0);
    dsr_log_iter *it;
    assert_int_equal(dsr_log_iter_events(src, 0, &it, &err), 0);
    const void *v;
    size_t vl;
    *dups = 0;
    while (dsr_log_iter_next(it, NULL, NULL, &v, &vl, &err) == 1) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        assert_int_equal(dsr_record_decode(v, vl, &u, &env, &err), 0);
        dsr_emit_result r;
        if (dsr_emit_import(b, &env, &r, &err))
            fail_msg("import: %s", err.msg);
        assert_true(str_eq(env.event_id, r.event_id));
        *dups += (size_t)r.duplicate;
        msgpack_unpacked_destroy(&u);
    }
    dsr_log_iter_free(it);
    size_t added = dsr_log_batch_events(b);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    return added;
}

static void test_import_keeps_event_id_payload_and_lamport_stamp(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("emit");
    char da[600], db[600];
    snprintf(da, sizeof da, "%s/a", dir);
    snprintf(db, sizeof db, "%s/b", dir);
    dsr_log *a = tt_log_open(da, 0);
    dsr_log *bl = tt_log_open(db, 0);
    dsr_err err = {0};
    dsr_log_batch *b;
    /* a: three events stamped 1, 2, 3.  b: five local events, clock 5. */
    assert_int_equal(dsr_log_batch_begin(a, &b, &err), 0);
    for (int i = 0; i < 3; i++) {
        dsr_artifact_indexed p = indexed(i == 0 ? "a0" : i == 1 ? "a1" : "a2");
        assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, NULL, &err), 0);
    }
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_batch_begin(bl, &b, &err), 0);
    for (int i = 0; i < 5; i++) {
        dsr_artifact_indexed p = indexed("local");
        assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, NULL, &err), 0);
    }
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_lamport(bl), 5);

    size_t dups;
    assert_int_equal(import_all(a, bl, &dups), 3);
    assert_int_equal(dups, 0);
    /* merge: max(5,1)+1 = 6, max(6,2)+1 = 7, max(7,3)+1 = 8 */
    assert_int_equal(dsr_log_lamport(bl), 8);
    assert_int_equal(dsr_log_head(bl), 8);

    /* The imported records are a's, byte for byte where it matters. */
    msgpack_unpacked ua, ub;
    dsr_buf ra = DSR_BUF_INIT, rb = DSR_BUF_INIT;
    dsr_envelope ea, eb;
    for (uint64_t s = 1; s <= 3; s++) {
        load(a, s, &ua, &ra, &ea);
        load(bl, 5 + s, &ub, &rb, &eb);
        assert_int_equal(ea.event_id.len, eb.event_id.len);
        assert_memory_equal(ea.event_id.ptr, eb.event_id.ptr, ea.event_id.len);
        assert_int_equal(eb.lamport_clock, s);               /* stamp unchanged */
        assert_true(str_eq(eb.node_id, dsr_log_node_id(a)));  /* origin kept */
        assert_true(msgpack_object_equal(*ea.payload, *eb.payload));
        assert_int_equal(ra.len, rb.len);                     /* canonical both ways */
        assert_memory_equal(ra.data, rb.data, ra.len);
        msgpack_unpacked_destroy(&ua);
        msgpack_unpacked_destroy(&ub);
    }

    /* A second import adds nothing and leaves the clock alone. */
    assert_int_equal(import_all(a, bl, &dups), 0);
    assert_int_equal(dups, 3);
    assert_int_equal(dsr_log_lamport(bl), 8);
    assert_int_equal(dsr_log_head(bl), 8);

    /* A remote stamp ahead of the local clock pulls it forward: 100 -> 101,
     * and the next local event is stamped 102. */
    const char *json =
        "{\"event_id\":\"01J0000000000000000000REMT\",\"event_type\":"
        "\"DossierArtifactRemoved\",\"aggregate_id\":\"feature/f\","
        "\"timestamp\":\"2026-01-01T00:00:00Z\",\"node_id\":\"other\",\"lamport_clock\":100,"
        "\"project_uuid\":\"123e4567-e89b-42d3-a456-426614174000\",\"correlation_id\":null,"
        "\"causation_id\":null,\"schema_version\":\"1.0.0\",\"payload\":{\"feature_slug\":"
        "\"f\",\"artifact_key\":\"k\",\"relative_path\":\"k.md\"}}";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (dsr_json_to_msgpack(json, strlen(json), &sb, &err))
        fail_msg("json: %s", err.msg);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    dsr_envelope env;
    if (dsr_envelope_view(&u.data, &env, &err))
        fail_msg("view: %s", err.msg);
    dsr_emit_result r;
    assert_int_equal(dsr_log_batch_begin(bl, &b, &err), 0);
    assert_int_equal(dsr_emit_import(b, &env, &r, &err), 0);
    assert_int_equal(r.duplicate, 0);
    dsr_artifact_indexed p = indexed("after");
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, NULL, &r, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_lamport(bl), 102);
    load(bl, 9, &ua, &ra, &ea);
    assert_int_equal(ea.lamport_clock, 100);
    assert_true(str_eq(ea.event_type, "dossier_artifact_removed"));  /* alias normalised */
    msgpack_unpacked_destroy(&ua);
    load(bl, 10, &ua, &ra, &ea);
    assert_int_equal(ea.lamport_clock, 102);
    msgpack_unpacked_destroy(&ua);
    dsr_log_close(bl);
    bl = tt_log_open(db, 0);
    assert_int_equal(dsr_log_lamport(bl), 102);

    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    dsr_buf_free(&ra);
    dsr_buf_free(&rb);
    dsr_log_close(a);
    dsr_log_close(bl);
    tt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_payload_is_eschema_and_nothing_appended),
        cmocka_unit_test(test_envelope_fields_are_canonical),
        cmocka_unit_test(test_lamport_stamp_is_one_tick_per_local_event_and_persists),
        cmocka_unit_test(test_derived_event_id_and_timestamp_are_honoured_and_idempotent),
        cmocka_unit_test(test_every_event_type_emits_a_decodable_record),
        cmocka_unit_test(test_import_keeps_event_id_payload_and_lamport_stamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

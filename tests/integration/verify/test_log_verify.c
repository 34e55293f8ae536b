/*
 * test_log_verify.c - dsr_verify finds each kind of damage with its sequence,
 * and dsr_repair rebuilds derived data (ids, counters, projections) without
 * ever removing an event.  Damage is made by writing RocksDB directly
 * (log_store.h), the way a bug or a foreign tool would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "dossier/verify.h"
#include "log_store.h"
#include "be.h"
#include "proj_fixture.h"

/* ---- collecting findings -------------------------------------------------- */

#define MAXF 256
typedef struct found {
    size_t n;
    dsr_verify_kind kind[MAXF];
    uint64_t seq[MAXF];
    int note[MAXF];
} found;

static void collect(void *ud, const dsr_verify_problem *p)
{
    found *f = ud;
    if (f->n < MAXF) {
        f->kind[f->n] = p->kind;
        f->seq[f->n] = p->seq;
        f->note[f->n] = p->note;
        f->n++;
    }
    if (getenv("VERIFY_TEST_VERBOSE"))
        fprintf(stderr, "  [%s] seq %llu: %s\n", dsr_verify_kind_name(p->kind),
                (unsigned long long)p->seq, p->message);
}

/* Index of the first finding of kind k (at seq, when seq != 0), or -1. */
static int has(const found *f, dsr_verify_kind k, uint64_t seq)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->kind[i] == k && (!seq || f->seq[i] == seq))
            return (int)i;
    return -1;
}

static dsr_verify_report verify(const char *dir, found *f)
{
    memset(f, 0, sizeof *f);
    dsr_verify_report r = DSR_VERIFY_REPORT_INIT;
    dsr_err err = { 0 };
    int rc = dsr_verify(dir, collect, f, &r, &err);
    if (rc)
        fail_msg("verify %s: %s", dir, err.msg);
    return r;
}

/* ---- building logs ---------------------------------------------------------- */

static const pf_art ARTS[] = {
    { "input.spec.main", "spec.md", "input", "# spec\n", 1 },
    { "output.plan.main", "plan.md", "workflow", "# plan\n", 1 },
    { "path:notes.txt", "notes.txt", "output", "notes\n", 0 },
};

static dsr_log *reopen(dsr_log *log, const char *dir)
{
    dsr_log_close(log);
    dsr_log *l = NULL;
    dsr_err err = { 0 };
    if (dsr_log_open(&l, dir, 0, &err))
        fail_msg("reopen %s: %s", dir, err.msg);
    return l;
}

/* Two completed runs, one crashed run, projections caught up. */
static dsr_log *sample_log(char dir[256])
{
    dsr_log *log = pf_log_new(dir);
    assert_non_null(log);
    pf_run r = { .feature = "f1", .mission_type = "software-dev", .manifest_version = "1",
                 .arts = ARTS, .n_arts = 3 };
    assert_int_equal(pf_scan(log, &r, NULL), 0);
    pf_run r2 = r;
    r2.n_arts = 2;
    assert_int_equal(pf_scan(log, &r2, NULL), 0);
    pf_run crashed = r;
    crashed.incomplete = 1;
    assert_int_equal(pf_scan(log, &crashed, NULL), 0);
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_catch_up(log, NULL, &err), 0);
    return log;
}

static rocksdb_column_family_handle_t *cf(dsr_log *log, const char *name)
{
    return log_cf_find(log, name);
}

static void raw_write(dsr_log *log, rocksdb_writebatch_t *wb)
{
    char *e = NULL;
    rocksdb_write(log_db(log), log_sync_wopts(log), wb, &e);
    if (e)
        fail_msg("raw write: %s", e);
    rocksdb_writebatch_destroy(wb);
}

static void put_meta_u64(dsr_log *log, const char *key, uint64_t v)
{
    unsigned char b[8];
    be_put64(b, v);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(wb, cf(log, LOG_CF_META), key, strlen(key), (const char *)b, 8);
    raw_write(log, wb);
}

/* event_id of the event at seq. */
static void id_at(dsr_log *log, uint64_t seq, char out[27])
{
    dsr_buf rec = DSR_BUF_INIT;
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_get_event(log, seq, &rec, &err), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    assert_int_equal(dsr_record_decode(rec.data, rec.len, &u, &env, &err), 0);
    memcpy(out, env.event_id.ptr, 26);
    out[26] = '\0';
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
}

static uint64_t count_events(const char *dir)
{
    dsr_log *log = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_open(&log, dir, DSR_LOG_RDONLY, &err), 0);
    dsr_log_iter *it = NULL;
    assert_int_equal(dsr_log_iter_events(log, 0, &it, &err), 0);
    uint64_t n = 0;
    while (dsr_log_iter_next(it, NULL, NULL, NULL, NULL, &err) == 1)
        n++;
    dsr_log_iter_free(it);
    dsr_log_close(log);
    return n;
}

static void import_json(dsr_log *log, const char *json)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    dsr_err err = { 0 };
    if (dsr_json_to_msgpack(json, strlen(json), &sb, &err))
        fail_msg("json: %s", err.msg);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    assert_int_equal(dsr_record_decode(sb.data, sb.size, &u, &env, &err), 0);
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    dsr_emit_result res;
    if (dsr_emit_import(b, &env, &res, &err))
        fail_msg("import: %s", err.msg);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void foreign_event(dsr_log *log, const char *id, uint64_t lamport)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"event_id\":\"%s\",\"event_type\":\"dossier_artifact_removed\","
             "\"aggregate_id\":\"feature/far\",\"timestamp\":\"2026-01-31T12:00:00.000Z\","
             "\"node_id\":\"01JCZZZZZZZZZZZZZZZZZZZZZZ\",\"lamport_clock\":%llu,"
             "\"project_uuid\":\"550e8400-e29b-41d4-a716-446655440000\","
             "\"correlation_id\":null,\"causation_id\":null,\"schema_version\":\"1.0.0\","
             "\"payload\":{\"feature_slug\":\"far\",\"artifact_key\":\"k\","
             "\"relative_path\":\"k.md\"}}", id, (unsigned long long)lamport);
    import_json(log, json);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_verify_clean_log_has_no_problem_and_notes_open_runs(void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = sample_log(dir);
    uint64_t head = dsr_log_head(log);
    dsr_log_close(log);
    found f;
    dsr_verify_report r = verify(dir, &f);
    assert_int_equal(r.problems, 0);
    assert_int_equal(r.events, head);
    assert_int_equal(r.head, head);
    assert_int_equal(r.meta_next_seq, head + 1);
    assert_int_equal(r.runs_completed, 2);
    assert_int_equal(r.runs_open, 1);
    assert_true(has(&f, DSR_VERIFY_OPEN_RUN, 0) >= 0);
    assert_true(f.note[has(&f, DSR_VERIFY_OPEN_RUN, 0)]);
    assert_int_equal(r.n_checkpoints, dsr_replay_projection_count());
    for (size_t i = 0; i < r.n_checkpoints; i++)
        assert_int_equal(r.checkpoints[i], head);
    assert_int_equal(r.nodes, 1);
    assert_int_equal(r.local_events, head);
    pf_log_drop(NULL, dir);
}

/* A reader that finds events but no node_id first takes it for a torn view
 * of a writer's flush and reopens for about a second (log_reader_settle);
 * a log that really lost its identity is still reported corrupt after
 * that, naming what is missing. */
static void test_reader_reports_lost_identity_after_retrying(void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = sample_log(dir);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_cf(wb, cf(log, LOG_CF_META), LOG_META_NODE_ID,
                                 strlen(LOG_META_NODE_ID));
    raw_write(log, wb);
    dsr_log_close(log);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dsr_log *ro = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_open(&ro, dir, DSR_LOG_RDONLY, &err), DSR_ECORRUPT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_null(ro);
    if (!strstr(err.msg, "node_id or project_uuid missing"))
        fail_msg("unexpected error: %s", err.msg);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 0.9);   /* it did retry before believing it */
    pf_log_drop(NULL, dir);
}

static void test_verify_finds_ids_damage_both_ways_and_repair_rebuilds_index(void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = sample_log(dir);
    uint64_t head = dsr_log_head(log);
    char id2[27], id4[27];
    id_at(log, 2, id2);
    id_at(log, 4, id4);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_cf(wb, cf(log, LOG_CF_IDS), id2, 26);           /* missing */
    unsigned char k[8];
    be_put64(k, 1);
    rocksdb_writebatch_put_cf(wb, cf(log, LOG_CF_IDS), id4, 26, (const char *)k, 8); /* mismatch */
    be_put64(k, head + 50);
    rocksdb_writebatch_put_cf(wb, cf(log, LOG_CF_IDS), "01HZZZZZZZZZZZZZZZZZZZZZZZ", 26,
                              (const char *)k, 8);                    /* orphan */
    raw_write(log, wb);
    dsr_log_close(log);

    found f;
    dsr_verify_report r = verify(dir, &f);
    assert_int_equal(r.problems, 3);
    assert_true(has(&f, DSR_VERIFY_IDS_MISSING, 2) >= 0);
    assert_true(has(&f, DSR_VERIFY_IDS_MISMATCH, 4) >= 0);
    assert_true(has(&f, DSR_VERIFY_IDS_ORPHAN, head + 50) >= 0);

    dsr_repair_report rep = DSR_REPAIR_REPORT_INIT;
    dsr_err err = { 0 };
    assert_int_equal(dsr_repair(dir, 0, &rep, &err), 0);
    assert_int_equal(rep.ids_added, 1);
    assert_int_equal(rep.ids_fixed, 1);
    assert_int_equal(rep.ids_removed, 1);
    assert_true(rep.projections_rebuilt);
    assert_int_equal(rep.replay.derived_new, 0);
    r = verify(dir, &f);
    assert_int_equal(r.problems, 0);
    assert_int_equal(count_events(dir), head);
    pf_log_drop(NULL, dir);
}

static void test_verify_reports_meta_counters_that_refuse_to_open_and_repair_fixes_them(
    void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = sample_log(dir);
    uint64_t head = dsr_log_head(log);
    uint64_t lam = dsr_log_lamport(log);
    put_meta_u64(log, LOG_META_NEXT_SEQ, head + 7);
    put_meta_u64(log, LOG_META_LAMPORT, 2);
    dsr_log_close(log);
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), DSR_ECORRUPT);

    found f;
    dsr_verify_report r = verify(dir, &f);
    assert_int_equal(r.problems, 2);
    assert_int_equal(r.meta_next_seq, head + 7);
    assert_int_equal(r.meta_lamport, 2);
    assert_int_equal(f.kind[0], DSR_VERIFY_META);
    assert_int_equal(f.kind[1], DSR_VERIFY_META);

    dsr_repair_report rep = DSR_REPAIR_REPORT_INIT;
    assert_int_equal(dsr_repair(dir, 0, &rep, &err), 0);
    assert_true(rep.next_seq_fixed);
    assert_true(rep.lamport_fixed);
    assert_int_equal(rep.next_seq, head + 1);
    assert_int_equal(rep.lamport, lam);
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), 0);
    assert_int_equal(dsr_log_head(log), head);
    assert_int_equal(dsr_log_lamport(log), lam);
    dsr_log_close(log);
    assert_int_equal(verify(dir, &f).problems, 0);
    pf_log_drop(NULL, dir);
}

static void test_verify_reports_undecodable_and_noncanonical_records_repair_keeps_them(
    void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = sample_log(dir);
    uint64_t head = dsr_log_head(log);
    /* seq 3: garbage; seq 5: the same envelope with its keys in another order */
    dsr_buf rec = DSR_BUF_INIT;
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_get_event(log, 5, &rec, &err), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    assert_int_equal(dsr_record_decode(rec.data, rec.len, &u, &env, &err), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const msgpack_object *m = &u.data;
    msgpack_pack_map(&pk, m->via.map.size);
    for (uint32_t i = m->via.map.size; i-- > 0;) {
        msgpack_pack_object(&pk, m->via.map.ptr[i].key);
        msgpack_pack_object(&pk, m->via.map.ptr[i].val);
    }
    unsigned char k[8];
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    be_put64(k, 5);
    rocksdb_writebatch_put_cf(wb, cf(log, LOG_CF_EVENTS), (const char *)k, 8, sb.data, sb.size);
    be_put64(k, 3);
    rocksdb_writebatch_put_cf(wb, cf(log, LOG_CF_EVENTS), (const char *)k, 8,
                              "\xde\xad\xbe\xef", 4);
    raw_write(log, wb);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
    dsr_log_close(log);

    found f;
    dsr_verify_report r = verify(dir, &f);
    assert_true(has(&f, DSR_VERIFY_DECODE, 3) >= 0);
    assert_true(has(&f, DSR_VERIFY_NONCANONICAL, 5) >= 0);
    /* the lost record's id is still indexed, pointing at an unreadable seq,
     * and its scan run (seq 1-4) lost one of its events */
    assert_true(has(&f, DSR_VERIFY_IDS_ORPHAN, 3) >= 0);
    assert_true(has(&f, DSR_VERIFY_SCAN, 4) >= 0);
    assert_int_equal(r.problems, 4);

    dsr_repair_report rep = DSR_REPAIR_REPORT_INIT;
    int rc = dsr_repair(dir, 0, &rep, &err);
    /* the index is repaired; the replay stops at the record it cannot read */
    assert_int_equal(rc, DSR_ECORRUPT);
    assert_non_null(strstr(err.msg, "3"));
    assert_int_equal(rep.undecodable, 1);
    assert_int_equal(rep.ids_removed, 1);
    assert_int_equal(count_events(dir), head);
    r = verify(dir, &f);
    assert_int_equal(r.problems, 3);
    assert_true(has(&f, DSR_VERIFY_DECODE, 3) >= 0);
    assert_true(has(&f, DSR_VERIFY_NONCANONICAL, 5) >= 0);
    assert_true(has(&f, DSR_VERIFY_SCAN, 4) >= 0);
    pf_log_drop(NULL, dir);
}

static void test_verify_reports_completed_scan_that_is_not_whole(void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = pf_log_new(dir);
    assert_non_null(log);
    pf_run r = { .feature = "f1", .arts = ARTS, .n_arts = 3 };
    dsr_log_batch *b = NULL;
    dsr_err err = { 0 };
    char run[27];
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(log), run), 0);
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(pf_emit_indexed(b, run, "f1", &ARTS[0]), 0);
    assert_int_equal(pf_emit_indexed(b, run, "f1", &ARTS[1]), 0);
    /* declares 3 indexed, 0 missing; 2 are in the log */
    assert_int_equal(pf_emit_completed(b, run, &r, 3, 0, 0, NULL), 0);
    assert_int_equal(pf_emit_indexed(b, run, "f1", &ARTS[2]), 0);  /* after the marker */
    assert_int_equal(pf_emit_completed(b, run, &r, 3, 0, 0, NULL), 0);  /* twice */
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    dsr_log_close(log);
    found f;
    dsr_verify_report rep = verify(dir, &f);
    assert_int_equal(rep.runs_completed, 1);
    assert_true(has(&f, DSR_VERIFY_SCAN, 5) >= 0);   /* second marker */
    assert_true(has(&f, DSR_VERIFY_SCAN, 4) >= 0);   /* event after the marker */
    assert_int_equal(rep.problems, 2);               /* counts do add up in the end */
    pf_log_drop(NULL, dir);

    log = pf_log_new(dir);
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(log), run), 0);
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(pf_emit_indexed(b, run, "f1", &ARTS[0]), 0);
    assert_int_equal(pf_emit_completed(b, run, &r, 2, 1, 0, NULL), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    dsr_log_close(log);
    rep = verify(dir, &f);
    assert_int_equal(rep.problems, 1);
    assert_true(has(&f, DSR_VERIFY_SCAN, 2) >= 0);
    pf_log_drop(NULL, dir);
}

static void test_verify_lamport_rules_in_a_merged_log(void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = pf_log_new(dir);
    assert_non_null(log);
    /* imported stamps out of their node's order are fine */
    foreign_event(log, "01JD0000000000000000000002", 900);
    foreign_event(log, "01JD0000000000000000000001", 100);
    pf_run r = { .feature = "f1", .arts = ARTS, .n_arts = 1 };
    assert_int_equal(pf_scan(log, &r, NULL), 0);   /* seq 3, 4: stamped 903, 904 */
    dsr_log_close(log);
    found f;
    dsr_verify_report rep = verify(dir, &f);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(rep.nodes, 2);
    assert_int_equal(rep.max_lamport, 904);

    /* the same node stamping two events alike is not */
    log = reopen(NULL, dir);
    foreign_event(log, "01JD0000000000000000000003", 100);
    /* and a clock set back makes local events order before stored ones */
    put_meta_u64(log, LOG_META_LAMPORT, 10);
    log = reopen(log, dir);
    assert_int_equal(pf_scan(log, &r, NULL), 0);   /* seq 6, 7: stamped 11, 12 */
    dsr_log_close(log);
    rep = verify(dir, &f);
    assert_true(has(&f, DSR_VERIFY_LAMPORT, 5) >= 0);
    assert_true(has(&f, DSR_VERIFY_LAMPORT, 6) >= 0);
    assert_true(has(&f, DSR_VERIFY_LAMPORT, 7) >= 0);
    assert_true(has(&f, DSR_VERIFY_META, 0) >= 0);   /* meta lamport 12 < 904 */
    assert_int_equal(rep.problems, 4);

    /* repair moves the clock back above every stamp; stamps stay as stored */
    dsr_repair_report rp = DSR_REPAIR_REPORT_INIT;
    dsr_err err = { 0 };
    assert_int_equal(dsr_repair(dir, 0, &rp, &err), 0);
    assert_true(rp.lamport_fixed);
    assert_int_equal(rp.lamport, 904);
    rep = verify(dir, &f);
    assert_int_equal(rep.problems, 3);
    assert_int_equal(has(&f, DSR_VERIFY_META, 0), -1);
    pf_log_drop(NULL, dir);
}

static void test_verify_finds_gap_duplicate_id_and_checkpoint_past_head(void **state)
{
    (void)state;
    char dir[256];
    dsr_log *log = sample_log(dir);
    uint64_t head = dsr_log_head(log);
    /* a copy of event 1 stored again at head + 2: a gap and a duplicate */
    dsr_buf rec = DSR_BUF_INIT;
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_get_event(log, 1, &rec, &err), 0);
    unsigned char k[8];
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    be_put64(k, head + 2);
    rocksdb_writebatch_put_cf(wb, cf(log, LOG_CF_EVENTS), (const char *)k, 8, rec.data, rec.len);
    raw_write(log, wb);
    dsr_buf_free(&rec);
    put_meta_u64(log, LOG_META_NEXT_SEQ, head + 3);
    dsr_log_batch *b = NULL;
    be_put64(k, head + 40);
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, "proj_drift", "ckpt", 4, k, 8, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    dsr_log_close(log);

    found f;
    dsr_verify_report r = verify(dir, &f);
    assert_true(has(&f, DSR_VERIFY_SEQ_GAP, head + 1) >= 0);
    assert_true(has(&f, DSR_VERIFY_DUPLICATE_ID, head + 2) >= 0);
    assert_true(has(&f, DSR_VERIFY_LAMPORT, head + 2) >= 0);
    assert_true(has(&f, DSR_VERIFY_CHECKPOINT, head + 40) >= 0);
    assert_int_equal(r.head, head + 2);

    dsr_repair_report rep = DSR_REPAIR_REPORT_INIT;
    assert_int_equal(dsr_repair(dir, 0, &rep, &err), 0);
    r = verify(dir, &f);
    /* the checkpoint is rebuilt; the events themselves are never touched;
     * the gap is recorded as lost: listed by the repair, a note afterwards */
    assert_int_equal(rep.lost_ranges, 1);
    assert_int_equal(rep.lost[0][0], head + 1);
    assert_int_equal(rep.lost[0][1], head + 1);
    assert_int_equal(has(&f, DSR_VERIFY_CHECKPOINT, 0), -1);
    assert_int_equal(has(&f, DSR_VERIFY_SEQ_GAP, head + 1), -1);
    assert_true(has(&f, DSR_VERIFY_LOST, head + 1) >= 0);
    assert_true(has(&f, DSR_VERIFY_DUPLICATE_ID, head + 2) >= 0);
    assert_int_equal(count_events(dir), head + 1);
    pf_log_drop(NULL, dir);
}

static void test_verify_of_a_missing_log_is_enotfound(void **state)
{
    (void)state;
    dsr_err err = { 0 };
    dsr_verify_report r = DSR_VERIFY_REPORT_INIT;
    assert_int_equal(dsr_verify("/nonexistent/dossier-log", NULL, NULL, &r, &err),
                     DSR_ENOTFOUND);
    assert_int_equal(dsr_repair("/nonexistent/dossier-log", 0, NULL, &err), DSR_ENOTFOUND);
    assert_string_equal(dsr_verify_kind_name(DSR_VERIFY_OPEN_RUN), "open_run");
}

/* Reports not made with their _INIT macro (version 0) or from a newer
 * header are refused before anything is opened, with the macro named. */
static void test_reports_without_their_init_are_refused(void **state)
{
    (void)state;
    dsr_err err = { 0 };
    dsr_verify_report r;
    memset(&r, 0, sizeof r);
    assert_int_equal(dsr_verify("/nonexistent/dossier-log", NULL, NULL, &r, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_VERIFY_REPORT_INIT"));
    dsr_repair_report rp = DSR_REPAIR_REPORT_INIT;
    rp.version = DSR_REPAIR_REPORT_VERSION + 1;
    assert_int_equal(dsr_repair("/nonexistent/dossier-log", 0, &rp, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_REPAIR_REPORT_INIT"));
    /* A good version is kept and the rest zeroed. */
    r = (dsr_verify_report)DSR_VERIFY_REPORT_INIT;
    r.events = 99;
    assert_int_equal(dsr_verify("/nonexistent/dossier-log", NULL, NULL, &r, &err), DSR_ENOTFOUND);
    assert_int_equal(r.version, DSR_VERIFY_REPORT_VERSION);
    assert_int_equal(r.events, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_clean_log_has_no_problem_and_notes_open_runs),
        cmocka_unit_test(test_verify_finds_ids_damage_both_ways_and_repair_rebuilds_index),
        cmocka_unit_test(test_reader_reports_lost_identity_after_retrying),
        cmocka_unit_test(
            test_verify_reports_meta_counters_that_refuse_to_open_and_repair_fixes_them),
        cmocka_unit_test(
            test_verify_reports_undecodable_and_noncanonical_records_repair_keeps_them),
        cmocka_unit_test(test_verify_reports_completed_scan_that_is_not_whole),
        cmocka_unit_test(test_verify_lamport_rules_in_a_merged_log),
        cmocka_unit_test(test_verify_finds_gap_duplicate_id_and_checkpoint_past_head),
        cmocka_unit_test(test_verify_of_a_missing_log_is_enotfound),
        cmocka_unit_test(test_reports_without_their_init_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

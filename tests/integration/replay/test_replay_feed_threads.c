/*
 * test_replay_feed_threads.c - the replay reader thread (replay/replay_feed.c):
 * every record of (lo, hi] arrives once, in sequence order, decoded; the
 * upper bound holds while the driver appends above it; stopping early joins
 * the thread; a slow driver fills the ring and loses nothing; a record of a
 * type nothing folds arrives with its type only.  And the driver's chunks,
 * committed by the log's background thread while the next chunk is folded
 * (replay_drive.c), give the state and the derived events of one chunk.
 * A range that fits one slab is read without the thread, with the same
 * records.  Built and run under ThreadSanitizer in CI ("tsan" label).
 *
 * LABELS: tsan (runs in the ThreadSanitizer suite too)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "be.h"
#include "dossier/replay.h"
#include "log_store.h"
#include "proj_fixture.h"
#include "replay.h"
#include "test_threads.h"

/* A log of `runs` scan runs of `arts` artifacts each. */
static void fill_log(dsr_log *log, int runs, int arts)
{
    pf_art *a = calloc((size_t)arts, sizeof *a);
    char (*names)[3][32] = calloc((size_t)arts, sizeof *names);
    assert_non_null(a);
    assert_non_null(names);
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < arts; i++) {
            snprintf(names[i][0], 32, "key%04d", i);
            snprintf(names[i][1], 32, "dir/f%04d.md", i);
            snprintf(names[i][2], 32, "run %d file %d", r, i);
            a[i] = (pf_art){ names[i][0], names[i][1], "input", names[i][2], i % 3 == 0 };
        }
        pf_run run = { .feature = "feed", .arts = a, .n_arts = (size_t)arts };
        assert_int_equal(pf_scan(log, &run, NULL), 0);
    }
    free(a);
    free(names);
}

#define ALL_TYPES 0xffffffffu

/* Read (lo, hi] with `consumes`, sleeping `nap_us` after each slab (a slow
 * driver: the reader fills the ring and waits for half of it). */
static void read_range_as(dsr_log *log, uint64_t lo, uint64_t hi, uint32_t consumes,
                          long nap_us)
{
    feed *f = NULL;
    dsr_err err = { 0 };
    assert_int_equal(feed_start(log, lo, hi, consumes, &f, &err), 0);
    uint64_t want = lo + 1;
    char run[DSR_ULID_LEN + 1] = "";   /* correlation id of the run's artifacts so far */
    for (;;) {
        const feed_rec *recs;
        size_t n;
        assert_int_equal(feed_next(f, &recs, &n, &err), 0);
        if (!n)
            break;
        for (size_t i = 0; i < n; i++) {
            const dsr_envelope *env = &recs[i].env;
            assert_int_equal(recs[i].seq, want);
            assert_int_equal(env->event_id.len, DSR_ULID_LEN);
            assert_ptr_equal(env->payload, &recs[i].payload);
            assert_int_equal(recs[i].payload.type, MSGPACK_OBJECT_MAP);
            assert_true(env->type == DSR_EV_ARTIFACT_INDEXED
                        || env->type == DSR_EV_SCAN_COMPLETED);
            int full = (consumes >> env->type) & 1;
            /* decoded in full: an artifact's fields, a completion's payload;
             * a type nothing folds: the type only */
            assert_int_equal(recs[i].art.ok, full && env->type == DSR_EV_ARTIFACT_INDEXED);
            assert_int_equal(recs[i].payload.via.map.size > 0,
                             full && env->type == DSR_EV_SCAN_COMPLETED);
            assert_int_equal(env->correlation_id.ptr != NULL, full);
            if (full) {
                /* one correlation id per run, the same text for every event
                 * of it (the reader reuses the last id's text) */
                assert_int_equal(env->correlation_id.len, DSR_ULID_LEN);
                if (run[0] && want > lo + 1)
                    assert_memory_equal(env->correlation_id.ptr, run, DSR_ULID_LEN);
                memcpy(run, env->correlation_id.ptr, DSR_ULID_LEN);
            }
            if (env->type == DSR_EV_SCAN_COMPLETED)
                run[0] = '\0';   /* the next run has its own id */
            want++;
        }
        if (nap_us) {
            struct timespec ts = { 0, nap_us * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    /* after the end: still the end */
    const feed_rec *recs;
    size_t n = 1;
    assert_int_equal(feed_next(f, &recs, &n, &err), 0);
    assert_int_equal(n, 0);
    feed_stop(f);
    assert_int_equal(want, hi + 1);
}

static void read_range(dsr_log *log, uint64_t lo, uint64_t hi)
{
    read_range_as(log, lo, hi, ALL_TYPES, 0);
}

static void test_feed_ranges(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 5, 900);   /* 4505 events: several slabs */
    uint64_t head = dsr_log_head(fx->log);
    assert_int_equal(head, 5 * 901);
    read_range(fx->log, 0, head);
    read_range(fx->log, 1000, 3100);
    read_range(fx->log, head - 1, head);
    read_range(fx->log, head, head);   /* empty */
}

/* The readers while (lo, hi] is read, at most, and that every record came. */
static int readers_while_reading(dsr_log *log, uint64_t lo, uint64_t hi)
{
    feed *f = NULL;
    dsr_err err = { 0 };
    assert_int_equal(feed_start(log, lo, hi, ALL_TYPES, &f, &err), 0);
    int most = (int)tt_threads("dossier:read");
    uint64_t want = lo + 1;
    for (;;) {
        const feed_rec *recs;
        size_t n;
        assert_int_equal(feed_next(f, &recs, &n, &err), 0);
        int r = (int)tt_threads("dossier:read");
        most = r > most ? r : most;
        if (!n)
            break;
        for (size_t i = 0; i < n; i++)
            assert_int_equal(recs[i].seq, want++);
    }
    feed_stop(f);
    assert_int_equal(want, hi + 1);
    assert_int_equal((int)tt_threads("dossier:read"), 0);
    return most;
}

/* A small scan's catch-up (a few records) starts no reader thread; a
 * range of more than a slab does.  The whole log is more slabs than the
 * ring holds plus the one the driver has, so the reader cannot drain it
 * and leave before the samples after the first feed_next see it. */
static void test_feed_reads_a_short_range_itself(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 4, 1500);   /* 6004 events: six slabs, the ring three */
    uint64_t head = dsr_log_head(fx->log);
    assert_int_equal((int)tt_threads("dossier:read"), 0);
    assert_int_equal(readers_while_reading(fx->log, head - 15, head), 0);
    assert_int_equal(readers_while_reading(fx->log, head - 1024, head), 0);
    assert_int_equal(readers_while_reading(fx->log, 0, head), 1);
    read_range(fx->log, head - 15, head);   /* decoded as the threaded feed decodes */
}

static void test_feed_bound_while_appending(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 2, 1500);
    uint64_t head = dsr_log_head(fx->log);
    feed *f = NULL;
    dsr_err err = { 0 };
    assert_int_equal(feed_start(fx->log, 0, head, ALL_TYPES, &f, &err), 0);
    const feed_rec *recs;
    size_t n, total = 0;
    assert_int_equal(feed_next(f, &recs, &n, &err), 0);
    total += n;
    fill_log(fx->log, 1, 700);     /* the driver side writes while the reader reads */
    for (;;) {
        assert_int_equal(feed_next(f, &recs, &n, &err), 0);
        if (!n)
            break;
        assert_true(recs[n - 1].seq <= head);
        total += n;
    }
    feed_stop(f);
    assert_int_equal(total, head);
}

static void test_feed_stop_early(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 4, 1000);
    for (int k = 0; k < 20; k++) {
        feed *f = NULL;
        dsr_err err = { 0 };
        assert_int_equal(feed_start(fx->log, 0, dsr_log_head(fx->log), ALL_TYPES, &f, &err),
                         0);
        const feed_rec *recs;
        size_t n;
        if (k % 2)
            assert_int_equal(feed_next(f, &recs, &n, &err), 0);
        feed_stop(f);   /* the reader may be mid-slab or waiting for a free one */
    }
}

static void test_feed_slow_driver_fills_the_ring_and_loses_nothing(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 12, 1500);   /* 18,012 events: more slabs than the ring holds */
    uint64_t head = dsr_log_head(fx->log);
    read_range_as(fx->log, 0, head, ALL_TYPES, 2000);
    read_range_as(fx->log, 777, head, ALL_TYPES, 500);
}

static void test_feed_decodes_only_the_types_folded(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 3, 1200);
    uint64_t head = dsr_log_head(fx->log);
    read_range_as(fx->log, 0, head, 1u << DSR_EV_SCAN_COMPLETED, 0);
    read_range_as(fx->log, 0, head, 1u << DSR_EV_ARTIFACT_INDEXED, 0);
    read_range_as(fx->log, 0, head, 0, 0);
}

/* Overwrite the event at seq with bytes that are no record, straight
 * through RocksDB, as a bug or a foreign tool could. */
static void break_record(dsr_log *log, uint64_t seq)
{
    unsigned char k[8];
    be_put64(k, seq);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(wb, log_cf_find(log, LOG_CF_EVENTS), (const char *)k, 8,
                              "\xde\xad\xbe\xef", 4);
    char *e = NULL;
    rocksdb_write(log_db(log), log_sync_wopts(log), wb, &e);
    rocksdb_writebatch_destroy(wb);
    if (e)
        fail_msg("raw write: %s", e);
}

static void test_feed_ends_at_a_record_that_does_not_decode(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 4, 1000);   /* 4,004 events: four slabs */
    uint64_t head = dsr_log_head(fx->log), bad = 1500;   /* inside the second slab */
    break_record(fx->log, bad);
    for (long nap = 0; nap <= 3000; nap += 3000) {   /* the reader a slab ahead, or the ring full */
        feed *f = NULL;
        dsr_err err = { 0 };
        assert_int_equal(feed_start(fx->log, 0, head, ALL_TYPES, &f, &err), 0);
        uint64_t want = 1;
        int rc;
        for (;;) {
            const feed_rec *recs;
            size_t n;
            rc = feed_next(f, &recs, &n, &err);
            if (rc || !n)
                break;
            for (size_t i = 0; i < n; i++)
                assert_int_equal(recs[i].seq, want++);
            if (nap) {
                struct timespec ts = { 0, nap * 1000 };
                nanosleep(&ts, NULL);
            }
        }
        assert_int_not_equal(rc, 0);
        assert_int_equal(want, bad);           /* every record before it, none after */
        char where[64];
        snprintf(where, sizeof where, "event %llu", (unsigned long long)bad);
        if (!strstr(err.msg, where))
            fail_msg("error does not name %s: %s", where, err.msg);
        feed_stop(f);   /* joins the reader, which had slabs past the bad record */
    }
    /* a replay stops there and commits nothing of the pass: no checkpoint
     * moves and no derived event is appended, run after run */
    for (int k = 0; k < 2; k++) {
        dsr_err err = { 0 };
        assert_int_not_equal(dsr_replay_run(fx->log, "all", NULL, NULL, &err), 0);
        assert_non_null(strstr(err.msg, "event 1500"));
        uint64_t ckpt = 1;
        assert_int_equal(dsr_replay_checkpoint(fx->log, "snapshot", &ckpt, &err), 0);
        assert_int_equal(ckpt, 0);
        assert_int_equal(dsr_log_head(fx->log), head);
    }
}

/* Catch-ups in chunks of 40-160 events (dozens of batches, each handed to
 * the log's committer while the next is folded, with the runs' snapshot and
 * drift events emitted into them) leave the state a single chunk gives, and
 * every derived event once: a rebuild from zero in one chunk finds them all
 * in the log and appends nothing. */
static void test_chunks_committed_in_the_background_equal_one_chunk(void **state)
{
    pf_fx *fx = *state;
    dsr_err err = { 0 };
    const dsr_replay_opts small = { DSR_REPLAY_OPTS_VERSION, 0, 40 };
    fill_log(fx->log, 2, 150);
    dsr_replay_stats st = DSR_REPLAY_STATS_INIT;
    assert_int_equal(dsr_replay_run(fx->log, "all", &small, &st, &err), 0);
    assert_true(st.commits >= 2);
    assert_int_equal(pf_accept_baseline(fx->log, "feed", NULL, NULL), 0);
    for (int k = 0; k < 3; k++) {
        fill_log(fx->log, 3, 120 + 40 * k);   /* other contents: a drift per snapshot */
        dsr_replay_stats s2 = DSR_REPLAY_STATS_INIT;
        assert_int_equal(dsr_replay_run(fx->log, "all", &small, &s2, &err), 0);
        assert_true(s2.commits >= 5);
        assert_true(s2.derived_new >= 3);
    }
    assert_int_equal(pf_count_type(fx->log, DSR_EV_SNAPSHOT_COMPUTED), 11);
    size_t drifts = pf_count_type(fx->log, DSR_EV_PARITY_DRIFT_DETECTED);
    assert_true(drifts >= 9);
    char *chunked = pf_dump(fx->log);
    uint64_t head = dsr_log_head(fx->log);

    const dsr_replay_opts one = { DSR_REPLAY_OPTS_VERSION, DSR_REPLAY_FROM_ZERO, 1000000 };
    dsr_replay_stats s3 = DSR_REPLAY_STATS_INIT;
    assert_int_equal(dsr_replay_run(fx->log, "all", &one, &s3, &err), 0);
    assert_int_equal(s3.commits, 1);
    assert_int_equal(s3.derived_new, 0);
    assert_int_equal(s3.derived_dup, 11 + drifts);
    assert_int_equal(dsr_log_head(fx->log), head);
    char *whole = pf_dump(fx->log);
    assert_string_equal(chunked, whole);
    free(chunked);
    free(whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_feed_ranges, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_reads_a_short_range_itself, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_bound_while_appending, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_stop_early, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_slow_driver_fills_the_ring_and_loses_nothing,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_decodes_only_the_types_folded, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_ends_at_a_record_that_does_not_decode,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_chunks_committed_in_the_background_equal_one_chunk,
                                        pf_setup, pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_replay_feed_threads.c - the replay reader thread (replay/replay_feed.c):
 * every record of (lo, hi] arrives once, in sequence order, decoded; the
 * upper bound holds while the driver appends above it; stopping early joins
 * the thread.  Built and run under ThreadSanitizer in CI ("tsan" label).
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
#include <cmocka.h>

#include "proj_fixture.h"
#include "replay.h"

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

static void read_range(dsr_log *log, uint64_t lo, uint64_t hi)
{
    feed *f = NULL;
    dsr_err err = { 0 };
    assert_int_equal(feed_start(log, lo, hi, &f, &err), 0);
    uint64_t want = lo + 1;
    for (;;) {
        const feed_rec *recs;
        size_t n;
        assert_int_equal(feed_next(f, &recs, &n, &err), 0);
        if (!n)
            break;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(recs[i].seq, want);
            assert_int_equal(recs[i].env.event_id.len, DSR_ULID_LEN);
            assert_ptr_equal(recs[i].env.payload, &recs[i].payload);
            assert_int_equal(recs[i].payload.type, MSGPACK_OBJECT_MAP);
            assert_true(recs[i].env.type == DSR_EV_ARTIFACT_INDEXED
                        || recs[i].env.type == DSR_EV_SCAN_COMPLETED);
            want++;
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

static void test_feed_bound_while_appending(void **state)
{
    pf_fx *fx = *state;
    fill_log(fx->log, 2, 1500);
    uint64_t head = dsr_log_head(fx->log);
    feed *f = NULL;
    dsr_err err = { 0 };
    assert_int_equal(feed_start(fx->log, 0, head, &f, &err), 0);
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
        assert_int_equal(feed_start(fx->log, 0, dsr_log_head(fx->log), &f, &err), 0);
        const feed_rec *recs;
        size_t n;
        if (k % 2)
            assert_int_equal(feed_next(f, &recs, &n, &err), 0);
        feed_stop(f);   /* the reader may be mid-slab or waiting for a free one */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_feed_ranges, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_bound_while_appending, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_feed_stop_early, pf_setup, pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_log_commit_threads.c - background commits (eventlog/log_commit.c): while
 * one batch is written by the committer thread the next one continues its
 * numbers, a duplicate of an event still in flight is recognised, reads see
 * what was handed over, close waits for it, and a commit that fails in the
 * background is reported by the next call, which discards the batch built on
 * top of it -- the log keeps exactly the batches that were committed.  Built
 * and run under ThreadSanitizer in CI ("tsan" label).
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

#include <signal.h>
#include <sys/resource.h>

#include "buf.h"
#include "dossier/emit.h"
#include "dossier/log.h"
#include "test_tmp.h"

static const char HASH[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Emit n indexed events into b; their ids go to ids (n * 27 bytes) if given. */
static void emit_n(dsr_log_batch *b, int from, int n, char (*ids)[DSR_ULID_LEN + 1])
{
    for (int i = 0; i < n; i++) {
        char key[32], path[48];
        snprintf(key, sizeof key, "k%06d", from + i);
        snprintf(path, sizeof path, "dir/f%06d.md", from + i);
        dsr_artifact_indexed p = {
            .feature_slug = "commit", .artifact_key = key, .artifact_class = "output",
            .relative_path = path, .content_hash_sha256 = HASH, .size_bytes = from + i,
            .required_status = "optional",
        };
        dsr_emit_result r;
        dsr_err err = { 0 };
        if (dsr_emit_artifact_indexed(b, &p, NULL, &r, &err))
            fail_msg("emit: %s", err.msg);
        assert_int_equal(r.duplicate, 0);
        if (ids)
            memcpy(ids[i], r.event_id, sizeof ids[i]);
    }
}

static void batches_in_flight_continue_numbering(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("commit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = { 0 };
    enum { BATCHES = 12, PER = 700 };
    static char ids[BATCHES * PER][DSR_ULID_LEN + 1];
    for (int k = 0; k < BATCHES; k++) {
        dsr_log_batch *b;
        assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
        emit_n(b, k * PER, PER, ids + k * PER);
        if (k % 4 == 3) {
            /* a read waits for the batch in flight and sees it */
            uint64_t seq = 0;
            assert_int_equal(dsr_log_find_event(log, ids[(k - 1) * PER + 5], &seq, &err), 0);
            assert_int_equal(seq, (uint64_t)(k - 1) * PER + 6);
        }
        int rc = k == BATCHES - 1 ? dsr_log_batch_commit(b, &err)
                                  : dsr_log_batch_commit_async(b, &err);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(dsr_log_commit_wait(log, &err), 0);
    assert_int_equal(dsr_log_head(log), (uint64_t)BATCHES * PER);
    assert_int_equal(dsr_log_lamport(log), (uint64_t)BATCHES * PER);
    for (int i = 0; i < BATCHES * PER; i += 97) {
        uint64_t seq = 0;
        assert_int_equal(dsr_log_find_event(log, ids[i], &seq, &err), 0);
        assert_int_equal(seq, (uint64_t)i + 1);
    }
    dsr_log_close(log);
    /* the same after a reopen: dense sequences, counters stored */
    log = tt_log_open(dir, 0);
    assert_int_equal(dsr_log_head(log), (uint64_t)BATCHES * PER);
    assert_int_equal(dsr_log_lamport(log), (uint64_t)BATCHES * PER);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void duplicate_of_an_event_in_flight(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("commit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = { 0 };
    dsr_log_batch *b;
    char ids[3][DSR_ULID_LEN + 1];
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    emit_n(b, 0, 3, ids);
    dsr_buf rec = DSR_BUF_INIT;
    assert_int_equal(dsr_log_batch_commit_async(b, &err), 0);
    /* no read in between: the second batch starts while the first may still
     * be in flight, and appending one of its events again is a duplicate */
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    dsr_artifact_indexed p = {
        .feature_slug = "commit", .artifact_key = "again", .artifact_class = "input",
        .relative_path = "again.md", .content_hash_sha256 = HASH, .size_bytes = 1,
        .required_status = "required",
    };
    dsr_emit_meta m = { .event_id = ids[1] };
    dsr_emit_result r;
    assert_int_equal(dsr_emit_artifact_indexed(b, &p, &m, &r, &err), 0);
    assert_int_equal(r.duplicate, 1);
    assert_int_equal(r.seq, 2);
    emit_n(b, 3, 2, NULL);
    assert_int_equal(dsr_log_batch_commit_async(b, &err), 0);
    /* close with that batch in flight: it is committed, not lost */
    dsr_log_close(log);
    log = tt_log_open(dir, 0);
    assert_int_equal(dsr_log_head(log), 5);
    assert_int_equal(dsr_log_get_event(log, 5, &rec, &err), 0);
    dsr_buf_free(&rec);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void background_failure_is_reported_and_stores_nothing_after_it(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("commit");
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = { 0 };
    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    emit_n(b, 0, 10, NULL);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);

    /* From here every file may grow by a few KB at most: the next large
     * batch cannot reach the WAL (EFBIG; SIGXFSZ ignored so the write fails
     * instead of killing the process). */
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = { 256 * 1024, old.rlim_max };
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    emit_n(b, 10, 3000, NULL);                     /* ~700 KB: cannot be written */
    /* handed over: the previous batch is fine, so nothing to report yet */
    assert_int_equal(dsr_log_batch_commit_async(b, &err), 0);
    /* the batch built meanwhile continues the failing one's numbers; its
     * commit reports the failure and discards it */
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    emit_n(b, 3010, 5, NULL);
    assert_int_not_equal(dsr_log_batch_commit(b, &err), 0);
    if (!strstr(err.msg, "cannot commit 3000 events"))
        fail_msg("unexpected error: %s", err.msg);
    /* reported once: the log is back to what was committed before */
    assert_int_equal(dsr_log_commit_wait(log, &err), 0);
    assert_int_equal(dsr_log_head(log), 10);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    dsr_log_close(log);
    log = tt_log_open(dir, 0);
    assert_int_equal(dsr_log_head(log), 10);
    assert_int_equal(dsr_log_lamport(log), 10);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batches_in_flight_continue_numbering),
        cmocka_unit_test(duplicate_of_an_event_in_flight),
        cmocka_unit_test(background_failure_is_reported_and_stores_nothing_after_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

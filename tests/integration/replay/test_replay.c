/*
 * test_replay.c - the projection driver: catch-up idempotence, rebuilds from
 * zero that are byte-identical and add no event, checkpoints, --verify
 * finding corrupted, missing and extra rows, and recovery after a rebuild
 * was cut short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dossier/emit.h"
#include "dossier/replay.h"
#include "proj_fixture.h"

static const dsr_replay_opts FROM_ZERO = { DSR_REPLAY_OPTS_VERSION, DSR_REPLAY_FROM_ZERO, 0 };

/* Ten scans of two features: full and changed mode, a crashed run, an
 * interleaved pair, a baseline and drifts -- every kind of state row. */
static void ten_scans(pf_fx *f)
{
    const pf_art a1[] = { { "spec", "spec.md", "input", "spec v1\n", 1 },
                          { "plan", "plan.md", "workflow", "plan v1\n", 1 },
                          { "notes", "notes.md", "evidence", "notes\n", 0 } };
    const pf_art a2[] = { { "plan", "plan.md", "workflow", "plan v2\n", 1 } };
    const pf_art gone[] = { { "notes", "notes.md", "evidence", "", 0 } };
    const pf_art b1[] = { { "spec", "spec.md", "input", "beta spec\n", 1 } };
    const char *missing[] = { "tasks" };
    pf_run runs[] = {
        { .feature = "alpha", .mission_type = "software-dev", .manifest_version = "1",
          .arts = a1, .n_arts = 3 },
        { .feature = "beta", .arts = b1, .n_arts = 1 },
        { .feature = "alpha", .mission_type = "software-dev", .manifest_version = "1",
          .arts = a1, .n_arts = 2, .incomplete = 1 },                    /* crashed */
        { .feature = "alpha", .mission_type = "software-dev", .manifest_version = "1",
          .emit_mode = "changed", .arts = a2, .n_arts = 1 },
        { .feature = "alpha", .mission_type = "software-dev", .manifest_version = "1",
          .emit_mode = "changed", .removed = gone, .n_removed = 1 },
        { .feature = "beta", .arts = b1, .n_arts = 1, .missing = missing, .n_missing = 1 },
        { .feature = "alpha", .mission_type = "software-dev", .manifest_version = "1",
          .arts = a1, .n_arts = 3 },
        { .feature = "alpha", .mission_type = "software-dev", .manifest_version = "1",
          .arts = a1, .n_arts = 1, .missing = missing, .n_missing = 1 },
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        assert_int_equal(pf_scan(f->log, &runs[i], NULL), 0);
        pf_catch_up(f->log);
        if (i == 1)
            assert_int_equal(pf_accept_baseline(f->log, "alpha", NULL, NULL), 0);
        if (i == 5)
            assert_int_equal(pf_accept_baseline(f->log, "beta", NULL, NULL), 0);
    }
    /* two interleaved runs committed together, with no catch-up in between */
    dsr_err err = { 0 };
    char ra[27], rb[27];
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(f->log), ra), 0);
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(f->log), rb), 0);
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(pf_emit_indexed(b, ra, "alpha", &a1[0]), 0);
    assert_int_equal(pf_emit_indexed(b, rb, "beta", &b1[0]), 0);
    assert_int_equal(pf_emit_indexed(b, ra, "alpha", &a1[1]), 0);
    pf_run ca = runs[0], cb = runs[1];
    assert_int_equal(pf_emit_completed(b, rb, &cb, 1, 0, 0, NULL), 0);
    assert_int_equal(pf_emit_completed(b, ra, &ca, 2, 0, 0, NULL), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    pf_catch_up(f->log);
}

static void test_catch_up_twice_changes_nothing(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    char *before = pf_dump(f->log);
    uint64_t head = dsr_log_head(f->log);
    dsr_replay_stats st = DSR_REPLAY_STATS_INIT;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_catch_up(f->log, &st, &err), 0);
    assert_int_equal(st.events_read, 0);
    assert_int_equal(dsr_log_head(f->log), head);
    char *after = pf_dump(f->log);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_checkpoints_equal_head_after_catch_up(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    dsr_err err = { 0 };
    for (size_t i = 0; i < dsr_replay_projection_count(); i++) {
        uint64_t seq = 0;
        assert_int_equal(dsr_replay_checkpoint(f->log, dsr_replay_projection_name(i), &seq, &err),
                         0);
        assert_int_equal(seq, dsr_log_head(f->log));
    }
    assert_int_equal(pf_count_type(f->log, DSR_EV_SNAPSHOT_COMPUTED), 9);
    assert_true(pf_count_type(f->log, DSR_EV_PARITY_DRIFT_DETECTED) >= 2);
}

static void test_from_zero_after_ten_scans_is_byte_identical_and_adds_no_events(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    char *before = pf_dump(f->log);
    uint64_t head = dsr_log_head(f->log);
    dsr_replay_stats st = DSR_REPLAY_STATS_INIT;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_run(f->log, "all", &FROM_ZERO, &st, &err), 0);
    assert_int_equal(dsr_log_head(f->log), head);
    assert_int_equal(st.derived_new, 0);
    assert_int_equal(st.derived_dup, pf_count_type(f->log, DSR_EV_SNAPSHOT_COMPUTED)
                     + pf_count_type(f->log, DSR_EV_PARITY_DRIFT_DETECTED));
    assert_int_equal(st.events_read, head);
    char *after = pf_dump(f->log);
    assert_string_equal(before, after);
    free(after);

    /* each projection alone, too */
    for (size_t i = 0; i < dsr_replay_projection_count(); i++) {
        assert_int_equal(dsr_replay_run(f->log, dsr_replay_projection_name(i),
                                        &FROM_ZERO, NULL, &err), 0);
        after = pf_dump(f->log);
        assert_string_equal(before, after);
        free(after);
    }
    assert_int_equal(dsr_log_head(f->log), head);
    free(before);
}

static void test_state_does_not_depend_on_chunk_size(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    char *ref = pf_dump(f->log);
    dsr_err err = { 0 };
    /* tiny chunks: runs longer than 4 chunks (the most a chunk stretches to
     * finish an open run, dossier/replay.h) cross chunk boundaries and go
     * through pending rows */
    for (size_t chunk = 1; chunk <= 7; chunk += 3) {
        dsr_replay_opts o = { DSR_REPLAY_OPTS_VERSION, DSR_REPLAY_FROM_ZERO, chunk };
        dsr_replay_stats st = DSR_REPLAY_STATS_INIT;
        assert_int_equal(dsr_replay_run(f->log, "all", &o, &st, &err), 0);
        assert_true(st.commits >= st.events_read / (4 * chunk));
        char *after = pf_dump(f->log);
        assert_string_equal(ref, after);
        free(after);
    }
    free(ref);
}

/* A run whose first events a catch-up folded while it was still open (they
 * went to pending rows), completed later and caught up by a new process:
 * its snapshot holds the events of both halves, as a rebuild from zero
 * that folds the run in one go does. */
static void test_run_completed_after_an_earlier_catch_up_keeps_its_first_half(void **state)
{
    pf_fx *f = *state;
    const pf_art a[] = { { "spec", "spec.md", "input", "spec v1\n", 1 },
                         { "plan", "plan.md", "workflow", "plan v1\n", 1 },
                         { "notes", "notes.md", "evidence", "notes\n", 0 } };
    dsr_err err = { 0 };
    char run[27];
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(f->log), run), 0);
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(pf_emit_indexed(b, run, "alpha", &a[0]), 0);
    assert_int_equal(pf_emit_indexed(b, run, "alpha", &a[1]), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    pf_catch_up(f->log);
    size_t open_runs = 0;
    assert_int_equal(dsr_replay_open_runs(f->log, &open_runs, &err), 0);
    assert_int_equal(open_runs, 1);

    /* the second half, caught up by a handle opened anew (as a later
     * process would): only the family tells it a run is open */
    dsr_log_close(f->log);
    f->log = NULL;
    assert_int_equal(dsr_log_open(&f->log, f->dir, 0, &err), 0);
    b = NULL;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(pf_emit_indexed(b, run, "alpha", &a[2]), 0);
    pf_run r = { .feature = "alpha" };
    assert_int_equal(pf_emit_completed(b, run, &r, 3, 0, 0, NULL), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    pf_catch_up(f->log);
    assert_int_equal(dsr_replay_open_runs(f->log, &open_runs, &err), 0);
    assert_int_equal(open_runs, 0);
    dsr_snapshot_info *snap = NULL;
    assert_int_equal(dsr_replay_snapshot_get(f->log, "alpha", NULL, 1, &snap, &err), 0);
    assert_int_equal(snap->n_artifacts, 3);
    dsr_snapshot_info_free(snap);

    char *live = pf_dump(f->log);
    assert_int_equal(dsr_replay_run(f->log, "all", &FROM_ZERO, NULL, &err), 0);
    char *rebuilt = pf_dump(f->log);
    assert_string_equal(live, rebuilt);
    free(live);
    free(rebuilt);
}

static void test_rebuild_cut_short_then_catch_up_equals_clean_rebuild(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    char *clean = pf_dump(f->log);
    dsr_err err = { 0 };
    /* What a crash right after `replay --from-zero` cleared the families leaves. */
    assert_int_equal(dsr_log_clear_cf(f->log, "proj_snapshot", &err), 0);
    assert_int_equal(dsr_log_clear_cf(f->log, "proj_drift", &err), 0);
    /* drift alone first: it must bring its snapshot dependency back with it */
    assert_int_equal(dsr_replay_run(f->log, "drift", NULL, NULL, &err), 0);
    char *after = pf_dump(f->log);
    assert_string_equal(clean, after);
    free(after);
    free(clean);
}

typedef struct diffs {
    size_t n;
    char   first[1024];
} diffs;

static void on_diff(void *ud, const char *proj, const char *what)
{
    diffs *d = ud;
    if (!d->n++)
        snprintf(d->first, sizeof d->first, "%s: %s", proj, what);
}

static size_t verify(pf_fx *f, const char *proj, diffs *d)
{
    dsr_err err = { 0 };
    size_t n = 0;
    memset(d, 0, sizeof *d);
    int rc = dsr_replay_verify(f->log, proj, on_diff, d, &n, &err);
    if (rc)
        fail_msg("verify: %s", err.msg);
    assert_int_equal(n, d->n);
    return n;
}

static void test_verify_finds_no_difference_and_writes_no_event(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    char *before = pf_dump(f->log);
    uint64_t head = dsr_log_head(f->log);
    diffs d;
    assert_int_equal(verify(f, "all", &d), 0);
    assert_int_equal(verify(f, "drift", &d), 0);
    assert_int_equal(verify(f, "snapshot", &d), 0);
    assert_int_equal(dsr_log_head(f->log), head);
    char *after = pf_dump(f->log);
    assert_string_equal(before, after);   /* live state untouched */
    free(before);
    free(after);
    /* no scratch rows are left behind */
    dsr_err err = { 0 };
    dsr_log_iter *it = NULL;
    assert_int_equal(dsr_log_iter_cf(f->log, "verify_snapshot", NULL, 0, &it, &err), 0);
    assert_int_equal(dsr_log_iter_next(it, NULL, NULL, NULL, NULL, &err), 0);
    dsr_log_iter_free(it);
}

/* Find the first live row of cf whose key starts with tag\0. */
typedef struct find {
    const char *proj, *tag;
    char        key[512];
    size_t      klen;
    char        val[1 << 16];
    size_t      vlen;
} find;

static int find_row(void *ud, const char *proj, const void *k, size_t kl, const void *v,
                    size_t vl)
{
    find *fd = ud;
    size_t tl = strlen(fd->tag) + 1;
    if (strcmp(proj, fd->proj) || kl < tl || memcmp(k, fd->tag, tl) || kl > sizeof fd->key
        || vl > sizeof fd->val)
        return 0;
    memcpy(fd->key, k, kl);
    fd->klen = kl;
    memcpy(fd->val, v, vl);
    fd->vlen = vl;
    return 1;   /* stop */
}

static void put_row(pf_fx *f, const char *cf, const void *k, size_t kl, const void *v, size_t vl)
{
    dsr_err err = { 0 };
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    if (v)
        assert_int_equal(dsr_log_batch_put(b, cf, k, kl, v, vl, &err), 0);
    else
        assert_int_equal(dsr_log_batch_delete(b, cf, k, kl, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
}

static void test_verify_reports_a_corrupted_row(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    find *fd = calloc(1, sizeof *fd);
    fd->proj = "snapshot";
    fd->tag = "snap";
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_dump(f->log, "snapshot", find_row, fd, &err), 1);
    fd->val[fd->vlen - 1] ^= 0x01;   /* flip one bit of the last byte */
    put_row(f, "proj_snapshot", fd->key, fd->klen, fd->val, fd->vlen);
    diffs d;
    assert_int_equal(verify(f, "all", &d), 1);
    assert_non_null(strstr(d.first, "snapshot: row snap/"));
    assert_non_null(strstr(d.first, "differs"));
    /* a rebuild repairs it */
    assert_int_equal(dsr_replay_run(f->log, "snapshot", &FROM_ZERO, NULL, &err), 0);
    assert_int_equal(verify(f, "all", &d), 0);
    free(fd);
}

static void test_verify_reports_missing_and_extra_rows(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    find *fd = calloc(1, sizeof *fd);
    fd->proj = "drift";
    fd->tag = "base";
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_dump(f->log, "drift", find_row, fd, &err), 1);
    put_row(f, "proj_drift", fd->key, fd->klen, NULL, 0);
    put_row(f, "proj_drift", "zzz", 3, "x", 1);
    diffs d;
    assert_int_equal(verify(f, "drift", &d), 2);
    assert_non_null(strstr(d.first, "missing from the live state"));
    free(fd);
}

/* A checkpoint past the head means the log lost events a projection had
 * applied: catching up refuses instead of folding the next events over it. */
static void test_checkpoint_past_the_head_is_refused(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    uint64_t head = dsr_log_head(f->log);
    unsigned char v[8];
    dsr_seq_key(head + 5, v);
    put_row(f, "proj_drift", "ckpt", 4, v, sizeof v);
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_catch_up(f->log, NULL, &err), DSR_ECORRUPT);
    assert_non_null(strstr(err.msg, "drift checkpoint"));
    assert_non_null(strstr(err.msg, "past the log's head"));
    assert_int_equal(dsr_log_head(f->log), head);   /* nothing emitted */
}

/* Option and stats structs not made with their _INIT macro (version 0), or
 * from a newer header, are refused before anything is done. */
static void test_structs_without_a_known_version_are_refused(void **state)
{
    pf_fx *f = *state;
    dsr_err err = { 0 };
    dsr_replay_opts zero = { 0 };
    assert_int_equal(dsr_replay_run(f->log, "all", &zero, NULL, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_REPLAY_OPTS_INIT"));
    dsr_replay_opts newer = DSR_REPLAY_OPTS_INIT;
    newer.version = DSR_REPLAY_OPTS_VERSION + 1;
    assert_int_equal(dsr_replay_run(f->log, "all", &newer, NULL, &err), DSR_EINVAL);
    dsr_replay_stats st = { 0 };
    assert_int_equal(dsr_replay_catch_up(f->log, &st, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_REPLAY_STATS_INIT"));
    dsr_replay_stats ok = DSR_REPLAY_STATS_INIT;
    dsr_replay_opts o = DSR_REPLAY_OPTS_INIT;
    assert_int_equal(dsr_replay_run(f->log, "all", &o, &ok, &err), 0);
}

static void test_unknown_projection_is_a_usage_error(void **state)
{
    pf_fx *f = *state;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_run(f->log, "nope", NULL, NULL, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "nope"));
    size_t n;
    assert_int_equal(dsr_replay_verify(f->log, "nope", NULL, NULL, &n, &err), DSR_EINVAL);
    assert_false(dsr_replay_projection_known("nope"));
    assert_true(dsr_replay_projection_known("drift"));
}

static void test_read_only_handle_reads_state(void **state)
{
    pf_fx *f = *state;
    ten_scans(f);
    dsr_err err = { 0 };
    dsr_log *ro = NULL;
    assert_int_equal(dsr_log_open(&ro, f->dir, DSR_LOG_RDONLY, &err), 0);
    char **feat = NULL;
    size_t n = 0;
    assert_int_equal(dsr_replay_features(ro, &feat, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(feat[0], "alpha");
    assert_string_equal(feat[1], "beta");
    dsr_replay_strv_free(feat, n);
    dsr_drift_info *d = NULL;
    assert_int_equal(dsr_replay_drift_get(ro, "beta", &d, &err), 0);
    dsr_drift_info_free(d);
    dsr_log_close(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_catch_up_twice_changes_nothing, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_equal_head_after_catch_up, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(
            test_from_zero_after_ten_scans_is_byte_identical_and_adds_no_events, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_state_does_not_depend_on_chunk_size, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_run_completed_after_an_earlier_catch_up_keeps_its_first_half,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_cut_short_then_catch_up_equals_clean_rebuild,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_verify_finds_no_difference_and_writes_no_event,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_verify_reports_a_corrupted_row, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_verify_reports_missing_and_extra_rows, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_past_the_head_is_refused, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_structs_without_a_known_version_are_refused, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_projection_is_a_usage_error, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_handle_reads_state, pf_setup, pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

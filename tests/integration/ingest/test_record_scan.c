/*
 * test_record_scan.c - dsr_record_scan: a scan result becomes one run of
 * events (indexed per present artifact, missing per absent required blocking
 * artifact, nothing for absent optional ones, completion marker last), split
 * into batches without changing what is recorded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dossier/log.h"
#include "dossier/record.h"
#include "test_tmp.h"

/* A hand-made scan result: 3 present (1 required), 1 absent required blocking,
 * 1 absent optional. */
static dsr_artifact arts[5];
static dsr_scan_result fake_result(void)
{
    static char k[5][16], p[5][32];
    memset(arts, 0, sizeof arts);
    for (int i = 0; i < 5; i++) {
        snprintf(k[i], sizeof k[i], "key.%d", i);
        snprintf(p[i], sizeof p[i], "dir/file-%d.md", i);
        arts[i].artifact_key = k[i];
        arts[i].artifact_class = "output";
        arts[i].relative_path = p[i];
        arts[i].present = i < 3;
        arts[i].required = (i == 0 || i == 3);
        arts[i].blocking = arts[i].required;
        arts[i].reason = arts[i].present ? DSR_REASON_NONE : DSR_REASON_NOT_FOUND;
        if (arts[i].present) {
            memset(arts[i].sha256, 'a' + i, 64);
            arts[i].sha256[64] = '\0';
            arts[i].size_bytes = (uint64_t)i * 10;
        }
    }
    dsr_scan_result r;
    memset(&r, 0, sizeof r);
    r.feature_slug = "feat";
    r.has_manifest = 1;
    r.artifacts = arts;
    r.n_artifacts = 5;
    r.n_present = 3;
    r.n_required = 2;
    r.n_required_missing = 1;
    r.n_optional_absent = 1;
    return r;
}

/* Count events by type, and check they all carry the run id. */
static void count_events(dsr_log *log, const char *run, int counts[DSR_EV_COUNT], dsr_event_type *last)
{
    dsr_err err;
    dsr_log_iter *it = NULL;
    assert_int_equal(dsr_log_iter_events(log, 1, &it, &err), 0);
    const void *k, *v;
    size_t kl, vl;
    memset(counts, 0, sizeof(int) * DSR_EV_COUNT);
    while (dsr_log_iter_next(it, &k, &kl, &v, &vl, &err) == 1) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        assert_int_equal(dsr_record_decode(v, vl, &u, &env, &err), 0);
        assert_int_equal(env.correlation_id.len, strlen(run));
        assert_memory_equal(env.correlation_id.ptr, run, strlen(run));
        counts[env.type]++;
        *last = env.type;
        msgpack_unpacked_destroy(&u);
    }
    dsr_log_iter_free(it);
}

static void run_with_batch(size_t batch)
{
    char *dir = tt_mkdtemp("rec");
    dsr_log *log = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), 0);
    dsr_scan_result r = fake_result();
    dsr_record_opts o = { .version = DSR_RECORD_OPTS_VERSION, .mission_type = "software-dev", .manifest_version = "1",
                          .batch_events = batch };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    assert_int_equal(dsr_record_scan(log, &r, &o, &st, &err), 0);
    assert_true(st.completed);
    assert_int_equal(st.indexed, 3);
    assert_int_equal(st.missing, 1);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(st.last_seq, 5);
    assert_int_equal(dsr_log_head(log), 5);
    int counts[DSR_EV_COUNT];
    dsr_event_type last = DSR_EV_COUNT;
    count_events(log, st.run_id, counts, &last);
    assert_int_equal(counts[DSR_EV_ARTIFACT_INDEXED], 3);
    assert_int_equal(counts[DSR_EV_ARTIFACT_MISSING], 1);
    assert_int_equal(counts[DSR_EV_SCAN_COMPLETED], 1);
    assert_int_equal(last, DSR_EV_SCAN_COMPLETED);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_record_emits_indexed_missing_and_marker_last(void **state)
{
    (void)state;
    run_with_batch(0);
}

static void test_record_small_batches_record_the_same_run(void **state)
{
    (void)state;
    run_with_batch(1);
    run_with_batch(2);
}

static void test_record_refused_payload_leaves_run_incomplete(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("rec");
    dsr_log *log = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), 0);
    dsr_scan_result r = fake_result();
    arts[1].artifact_class = "bogus";      /* the emitter must refuse this one */
    dsr_record_opts o = { .version = DSR_RECORD_OPTS_VERSION, .mission_type = "software-dev", .manifest_version = "1" };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    assert_int_equal(dsr_record_scan(log, &r, &o, &st, &err), DSR_ESCHEMA);
    assert_non_null(strstr(err.msg, "artifact_class"));
    assert_int_equal(st.refused, 1);
    assert_false(st.completed);
    int counts[DSR_EV_COUNT];
    dsr_event_type last = DSR_EV_COUNT;
    count_events(log, st.run_id, counts, &last);
    assert_int_equal(counts[DSR_EV_ARTIFACT_INDEXED], 2);
    assert_int_equal(counts[DSR_EV_SCAN_COMPLETED], 0);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

/* Options not made with DSR_RECORD_OPTS_INIT (version 0) are refused, and
 * nothing is recorded. */
static void test_record_opts_without_a_version_are_refused(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("rec");
    dsr_log *log = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), 0);
    dsr_scan_result r = fake_result();
    dsr_record_opts zero = { .mission_type = "software-dev" };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    assert_int_equal(dsr_record_scan(log, &r, &zero, &st, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_RECORD_OPTS_INIT"));
    assert_int_equal(dsr_log_head(log), 0);
    dsr_record_opts ok = DSR_RECORD_OPTS_INIT;
    assert_int_equal(dsr_record_scan(log, &r, &ok, &st, &err), 0);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_emits_indexed_missing_and_marker_last),
        cmocka_unit_test(test_record_small_batches_record_the_same_run),
        cmocka_unit_test(test_record_refused_payload_leaves_run_incomplete),
        cmocka_unit_test(test_record_opts_without_a_version_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

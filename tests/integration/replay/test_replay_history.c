/*
 * test_replay_history.c - a feature's snapshot history (dsr_replay_snapshots)
 * and the differences between two snapshots (dsr_replay_diff): newest first,
 * other features left out, the baseline or the previous snapshot as the
 * default "from", added / removed / changed by (key, path), and the errors
 * for unknown snapshots and for nothing to compare with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dossier/replay.h"
#include "proj_fixture.h"

static const pf_art V1[] = { { "spec", "spec.md", "input", "spec v1\n", 1 },
                             { "plan", "plan.md", "workflow", "plan v1\n", 1 },
                             { "notes", "notes.md", "evidence", "notes\n", 0 } };
static const pf_art V2[] = { { "spec", "spec.md", "input", "spec v1\n", 1 },
                             { "plan", "plan.md", "workflow", "plan v2\n", 1 },
                             { "extra", "extra.md", "evidence", "new\n", 0 } };

static void scan(pf_fx *f, const char *feature, const pf_art *a, size_t n)
{
    pf_run r = { .feature = feature, .mission_type = "software-dev", .manifest_version = "1",
                 .arts = a, .n_arts = n };
    assert_int_equal(pf_scan(f->log, &r, NULL), 0);
    pf_catch_up(f->log);
}

static char *latest_id(pf_fx *f, const char *feature)
{
    dsr_err err = { 0 };
    dsr_snapshot_info *s = NULL;
    assert_int_equal(dsr_replay_snapshot_get(f->log, feature, NULL, 0, &s, &err), 0);
    char *id = strdup(s->snapshot_id);
    dsr_snapshot_info_free(s);
    return id;
}

static void test_history_is_newest_first_and_per_feature(void **state)
{
    pf_fx *f = *state;
    scan(f, "alpha", V1, 3);
    char *first = latest_id(f, "alpha");
    scan(f, "beta", V1, 1);
    scan(f, "alpha", V2, 3);
    char *second = latest_id(f, "alpha");
    dsr_err err = { 0 };
    dsr_snapshot_info **v = NULL;
    size_t n = 0;
    assert_int_equal(dsr_replay_snapshots(f->log, "alpha", &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0]->snapshot_id, second);
    assert_string_equal(v[1]->snapshot_id, first);
    assert_true(v[0]->scan_seq > v[1]->scan_seq);
    assert_string_equal(v[0]->feature_slug, "alpha");
    dsr_snapshot_infov_free(v, n);
    assert_int_equal(dsr_replay_snapshots(f->log, "nobody", &v, &n, &err), 0);
    assert_int_equal(n, 0);
    dsr_snapshot_infov_free(v, n);
    free(first);
    free(second);
}

static const dsr_drift_change *find(const dsr_drift_change *v, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].artifact_key, key))
            return &v[i];
    return NULL;
}

static void test_diff_defaults_to_previous_then_to_the_baseline(void **state)
{
    pf_fx *f = *state;
    scan(f, "alpha", V1, 3);
    char *first = latest_id(f, "alpha");
    scan(f, "alpha", V2, 3);
    dsr_err err = { 0 };
    dsr_snapshot_diff *d = NULL;
    /* no baseline: the previous snapshot */
    assert_int_equal(dsr_replay_diff(f->log, "alpha", NULL, NULL, &d, &err), 0);
    assert_int_equal(d->from_kind, DSR_DIFF_FROM_PREVIOUS);
    assert_string_equal(d->from_snapshot_id, first);
    assert_true(d->to_is_latest);
    assert_int_equal(d->n_changed, 1);
    assert_int_equal(d->n_removed, 1);
    assert_int_equal(d->n_added, 1);
    const dsr_drift_change *c = find(d->changed, d->n_changed, "plan");
    assert_non_null(c);
    char h1[65], h2[65];
    pf_sha256_hex("plan v1\n", h1);
    pf_sha256_hex("plan v2\n", h2);
    assert_string_equal(c->old_sha256, h1);
    assert_string_equal(c->new_sha256, h2);
    assert_true(c->required);
    assert_non_null(find(d->removed, d->n_removed, "notes"));
    assert_string_equal(d->removed[0].new_sha256, "");
    assert_non_null(find(d->added, d->n_added, "extra"));
    assert_string_equal(d->added[0].old_sha256, "");
    dsr_snapshot_diff_free(d);

    /* a third scan equal to the first; the first is the baseline */
    assert_int_equal(pf_accept_baseline(f->log, "alpha", first, NULL), 0);
    scan(f, "alpha", V1, 3);
    assert_int_equal(dsr_replay_diff(f->log, "alpha", NULL, NULL, &d, &err), 0);
    assert_int_equal(d->from_kind, DSR_DIFF_FROM_BASELINE);
    assert_string_equal(d->from_snapshot_id, first);
    assert_int_equal(d->n_changed + d->n_removed + d->n_added, 0);
    assert_string_equal(d->from_parity, d->to_parity);
    dsr_snapshot_diff_free(d);
    free(first);
}

static void test_diff_of_named_snapshots_in_either_order(void **state)
{
    pf_fx *f = *state;
    scan(f, "alpha", V1, 3);
    char *a = latest_id(f, "alpha");
    scan(f, "alpha", V2, 3);
    char *b = latest_id(f, "alpha");
    dsr_err err = { 0 };
    dsr_snapshot_diff *d = NULL;
    /* backwards: what was added going forward is removed going back */
    assert_int_equal(dsr_replay_diff(f->log, NULL, b, a, &d, &err), 0);
    assert_int_equal(d->from_kind, DSR_DIFF_FROM_GIVEN);
    assert_false(d->to_is_latest);
    assert_string_equal(d->feature_slug, "alpha");
    assert_non_null(find(d->removed, d->n_removed, "extra"));
    assert_non_null(find(d->added, d->n_added, "notes"));
    dsr_snapshot_diff_free(d);
    free(a);
    free(b);
}

static void test_diff_errors_name_what_is_missing(void **state)
{
    pf_fx *f = *state;
    scan(f, "alpha", V1, 3);
    dsr_err err = { 0 };
    dsr_snapshot_diff *d = NULL;
    /* one snapshot, no baseline: nothing to compare with */
    assert_int_equal(dsr_replay_diff(f->log, "alpha", NULL, NULL, &d, &err), DSR_ENOTFOUND);
    assert_null(d);
    assert_non_null(strstr(err.msg, "no snapshot before"));
    assert_int_equal(dsr_replay_diff(f->log, "alpha", "01AAAAAAAAAAAAAAAAAAAAAAAA", NULL, &d,
                                     &err), DSR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no snapshot 01AAAAAAAAAAAAAAAAAAAAAAAA"));
    /* a snapshot of another feature */
    scan(f, "beta", V1, 1);
    char *beta = latest_id(f, "beta");
    assert_int_equal(dsr_replay_diff(f->log, "alpha", beta, NULL, &d, &err), DSR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "belongs to feature beta"));
    assert_int_equal(dsr_replay_diff(f->log, NULL, NULL, NULL, &d, &err), DSR_EINVAL);
    free(beta);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_history_is_newest_first_and_per_feature, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_diff_defaults_to_previous_then_to_the_baseline,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_diff_of_named_snapshots_in_either_order, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_diff_errors_name_what_is_missing, pf_setup,
                                        pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_proj_drift.c - the drift projection: baselines accepted as events,
 * one drift event per snapshot whose parity differs from the baseline's,
 * severity rules, and baselines with another key not being compared.
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

static const pf_art SPEC = { "spec", "spec.md", "input", "# Spec\n", 1 };
static const pf_art PLAN = { "plan", "plan.md", "workflow", "# Plan\n", 1 };
static const pf_art NOTES = { "notes", "notes.md", "evidence", "notes\n", 0 };
static const pf_art PLAN_EDITED = { "plan", "plan.md", "workflow", "# Plan, edited\n", 1 };
static const pf_art EXTRA = { "extra", "extra.md", "evidence", "new\n", 0 };

static void scan(pf_fx *f, const pf_art *arts, size_t n, const char *const *missing,
                 size_t n_missing, const char *branch)
{
    pf_run r = { .feature = "feat", .mission_type = "software-dev", .manifest_version = "1",
                 .target_branch = branch, .arts = arts, .n_arts = n, .missing = missing,
                 .n_missing = n_missing };
    assert_int_equal(pf_scan(f->log, &r, NULL), 0);
    dsr_err err = { 0 };
    int rc = dsr_replay_catch_up(f->log, NULL, &err);
    if (rc)
        fail_msg("catch-up: %s", err.msg);
}

/* Baseline = a first scan of spec, plan, notes. */
static void baseline(pf_fx *f)
{
    const pf_art v[] = { SPEC, PLAN, NOTES };
    scan(f, v, 3, NULL, 0, NULL);
    assert_int_equal(pf_accept_baseline(f->log, "feat", NULL, NULL), 0);
}

static dsr_drift_info *drift(pf_fx *f)
{
    dsr_err err = { 0 };
    dsr_drift_info *d = NULL;
    int rc = dsr_replay_drift_get(f->log, "feat", &d, &err);
    if (rc)
        fail_msg("drift: %s", err.msg);
    return d;
}

static void test_no_baseline_means_no_comparison(void **state)
{
    pf_fx *f = *state;
    const pf_art v[] = { SPEC };
    scan(f, v, 1, NULL, 0, NULL);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_NO_BASELINE);
    assert_null(d->event_id);
    dsr_drift_info_free(d);
    dsr_baseline_info *b = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_baseline_get(f->log, "feat", &b, &err), DSR_ENOTFOUND);
}

static void test_unchanged_tree_emits_no_drift_event(void **state)
{
    pf_fx *f = *state;
    baseline(f);
    const pf_art v[] = { NOTES, SPEC, PLAN };   /* other order, same content */
    scan(f, v, 3, NULL, 0, NULL);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_NONE);
    assert_null(d->severity);
    assert_int_equal(pf_count_type(f->log, DSR_EV_PARITY_DRIFT_DETECTED), 0);
    assert_int_equal(pf_count_type(f->log, DSR_EV_BASELINE_ACCEPTED), 1);
    dsr_drift_info_free(d);
}

static void test_required_file_deleted_is_error_with_key_in_missing_in_local(void **state)
{
    pf_fx *f = *state;
    baseline(f);
    const pf_art v[] = { SPEC, NOTES };
    const char *missing[] = { "plan" };
    scan(f, v, 2, missing, 1, NULL);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_DETECTED);
    assert_string_equal(d->severity, "error");
    assert_int_equal(d->n_missing_in_local, 1);
    assert_string_equal(d->missing_in_local[0], "plan");
    assert_int_equal(d->n_missing_in_baseline, 0);
    assert_non_null(d->event_id);
    assert_true(d->n_why >= 1);
    int saw_required = 0, saw_complete = 0;
    for (size_t i = 0; i < d->n_why; i++) {
        saw_required |= strstr(d->why[i], "required artifact 'plan'") != NULL;
        saw_complete |= strstr(d->why[i], "complete to incomplete") != NULL;
    }
    assert_true(saw_required);
    assert_true(saw_complete);
    assert_int_equal(pf_count_type(f->log, DSR_EV_PARITY_DRIFT_DETECTED), 1);
    dsr_drift_info_free(d);
}

static void test_new_file_is_info_with_key_in_missing_in_baseline(void **state)
{
    pf_fx *f = *state;
    baseline(f);
    const pf_art v[] = { SPEC, PLAN, NOTES, EXTRA };
    scan(f, v, 4, NULL, 0, NULL);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_DETECTED);
    assert_string_equal(d->severity, "info");
    assert_int_equal(d->n_missing_in_baseline, 1);
    assert_string_equal(d->missing_in_baseline[0], "extra");
    assert_int_equal(d->n_missing_in_local, 0);
    assert_int_equal(d->n_added, 1);
    assert_string_equal(d->added[0].relative_path, "extra.md");
    dsr_drift_info_free(d);
}

static void test_edited_file_is_warning_with_old_and_new_hash(void **state)
{
    pf_fx *f = *state;
    baseline(f);
    const pf_art v[] = { SPEC, PLAN_EDITED, NOTES };
    scan(f, v, 3, NULL, 0, NULL);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_DETECTED);
    assert_string_equal(d->severity, "warning");
    assert_int_equal(d->n_missing_in_local + d->n_missing_in_baseline, 0);
    assert_int_equal(d->n_changed, 1);
    char old_h[65], new_h[65];
    pf_sha256_hex(PLAN.content, old_h);
    pf_sha256_hex(PLAN_EDITED.content, new_h);
    assert_string_equal(d->changed[0].artifact_key, "plan");
    assert_string_equal(d->changed[0].old_sha256, old_h);
    assert_string_equal(d->changed[0].new_sha256, new_h);
    dsr_drift_info_free(d);
}

static void test_optional_file_vanished_is_warning(void **state)
{
    pf_fx *f = *state;
    baseline(f);
    const pf_art v[] = { SPEC, PLAN };
    scan(f, v, 2, NULL, 0, NULL);
    dsr_drift_info *d = drift(f);
    assert_string_equal(d->severity, "warning");
    assert_int_equal(d->n_missing_in_local, 1);
    assert_string_equal(d->missing_in_local[0], "notes");
    assert_int_equal(d->n_vanished, 1);
    dsr_drift_info_free(d);
}

static void test_baseline_with_other_branch_is_not_compared(void **state)
{
    pf_fx *f = *state;
    const pf_art v[] = { SPEC, PLAN, NOTES };
    scan(f, v, 3, NULL, 0, NULL);
    assert_int_equal(pf_accept_baseline(f->log, "feat", NULL, "release"), 0);
    const pf_art v2[] = { SPEC };
    scan(f, v2, 1, NULL, 0, NULL);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_NOT_COMPARED);
    assert_int_equal(d->n_mismatch, 1);
    assert_string_equal(d->mismatch[0].field, "target_branch");
    assert_string_equal(d->mismatch[0].snapshot_value, "main");
    assert_string_equal(d->mismatch[0].baseline_value, "release");
    assert_int_equal(pf_count_type(f->log, DSR_EV_PARITY_DRIFT_DETECTED), 0);
    dsr_drift_info_free(d);
}

static void test_accepting_an_older_baseline_assesses_the_latest_snapshot(void **state)
{
    pf_fx *f = *state;
    const pf_art v1[] = { SPEC, PLAN };
    scan(f, v1, 2, NULL, 0, NULL);
    dsr_snapshot_info *first = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_snapshot_get(f->log, "feat", NULL, 0, &first, &err), 0);
    const pf_art v2[] = { SPEC, PLAN, EXTRA };
    scan(f, v2, 3, NULL, 0, NULL);
    assert_int_equal(pf_count_type(f->log, DSR_EV_PARITY_DRIFT_DETECTED), 0);
    assert_int_equal(pf_accept_baseline(f->log, "feat", first->snapshot_id, NULL), 0);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_DETECTED);
    assert_string_equal(d->severity, "info");
    assert_string_equal(d->baseline_snapshot_id, first->snapshot_id);
    assert_int_equal(pf_count_type(f->log, DSR_EV_PARITY_DRIFT_DETECTED), 1);
    dsr_baseline_info *b = NULL;
    assert_int_equal(dsr_replay_baseline_get(f->log, "feat", &b, &err), 0);
    assert_string_equal(b->snapshot_id, first->snapshot_id);
    assert_string_equal(b->target_branch, "main");
    assert_string_equal(b->mission_key, "software-dev");
    assert_string_equal(b->node_id, dsr_log_node_id(f->log));
    assert_string_equal(d->source_event_id, b->event_id);   /* caused by the acceptance */
    dsr_baseline_info_free(b);
    dsr_drift_info_free(d);
    dsr_snapshot_info_free(first);
}

static void test_baseline_of_unknown_snapshot_is_reported(void **state)
{
    pf_fx *f = *state;
    const pf_art v[] = { SPEC };
    scan(f, v, 1, NULL, 0, NULL);
    dsr_err err = { 0 };
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    dsr_baseline_accepted p = { "feat", "01J00000000000000000000000",
                                "0000000000000000000000000000000000000000000000000000000000000000",
                                dsr_log_project_uuid(f->log), dsr_log_node_id(f->log), "main",
                                "software-dev", "1" };
    assert_int_equal(dsr_emit_baseline_accepted(b, &p, NULL, NULL, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_replay_catch_up(f->log, NULL, &err), 0);
    dsr_drift_info *d = drift(f);
    assert_int_equal(d->status, DSR_DRIFT_BASELINE_UNKNOWN);
    dsr_drift_info_free(d);
}

static void test_drift_event_is_not_duplicated_by_replay(void **state)
{
    pf_fx *f = *state;
    baseline(f);
    const pf_art v[] = { SPEC, PLAN_EDITED, NOTES };
    scan(f, v, 3, NULL, 0, NULL);
    dsr_drift_info *d = drift(f);
    char id[27];
    snprintf(id, sizeof id, "%s", d->event_id);
    dsr_drift_info_free(d);
    uint64_t head = dsr_log_head(f->log);
    dsr_err err = { 0 };
    dsr_replay_stats st = DSR_REPLAY_STATS_INIT;
    assert_int_equal(dsr_replay_run(f->log, "drift", &FROM_ZERO, &st, &err), 0);
    assert_int_equal(dsr_log_head(f->log), head);
    assert_int_equal(st.derived_new, 0);
    assert_true(st.derived_dup >= 1);
    d = drift(f);
    assert_string_equal(d->event_id, id);
    dsr_drift_info_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_baseline_means_no_comparison, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_tree_emits_no_drift_event, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(
            test_required_file_deleted_is_error_with_key_in_missing_in_local, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_new_file_is_info_with_key_in_missing_in_baseline,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_edited_file_is_warning_with_old_and_new_hash, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_optional_file_vanished_is_warning, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_baseline_with_other_branch_is_not_compared, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(
            test_accepting_an_older_baseline_assesses_the_latest_snapshot, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_baseline_of_unknown_snapshot_is_reported, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_drift_event_is_not_duplicated_by_replay, pf_setup,
                                        pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

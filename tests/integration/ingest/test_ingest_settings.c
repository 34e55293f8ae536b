/*
 * test_ingest_settings.c - remembered scan settings through the public API
 * (dossier/scan_settings.h, DSR_INGEST_REMEMBER): a run that gives nothing
 * reuses every setting of the feature's last completed scan; a given
 * setting replaces its remembered value and is reported as changed; a step
 * is dropped with its manifest; a remembered manifest file whose content
 * changed is reported; without DSR_INGEST_REMEMBER nothing is looked up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dossier/dossier.h"
#include "test_tmp.h"

typedef struct fixture {
    char *dir;
    char  root[512], log[512], manifest[512];
} fixture;
/* tt_mission_teardown frees the folder its first member names */
_Static_assert(offsetof(fixture, dir) == 0, "dir is the fixture's first member");

static const char manifest_text[] =
    "schema_version: \"1\"\nmission_type: custom\nmanifest_version: \"1\"\n"
    "required_always:\n  - artifact_key: input.spec\n    artifact_class: input\n"
    "    path_pattern: spec.md\n    blocking: true\n"
    "required_by_step:\n  plan: []\n";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tt_mission("settings", f->root, sizeof f->root);
    snprintf(f->log, sizeof f->log, "%s/log", f->dir);
    snprintf(f->manifest, sizeof f->manifest, "%s/expected.yaml", f->dir);
    tt_put(f->root, "spec.md", "# spec\n");
    tt_put(f->root, "notes.tmp", "scratch\n");
    tt_write(f->manifest, manifest_text);
    *state = f;
    return 0;
}

/* One run on f's mission and log; the report is the caller's to free. */
static void run(const fixture *f, dsr_ingest_opts *o, dsr_ingest_report *rep)
{
    o->root = f->root;
    o->log_dir = f->log;
    o->jobs = 1;
    dsr_err err;
    int rc = dsr_ingest_run(o, rep, &err);
    if (rc)
        fail_msg("dsr_ingest_run: %s", err.msg);
}

static void test_run_without_settings_reuses_every_remembered_one(void **state)
{
    fixture *f = *state;
    const char *excl[] = { "*.tmp" };
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.mission_type = "research";
    o.step_id = "methodology";   /* research has it: checked by the library */
    o.excludes = excl;
    o.n_excludes = 1;
    o.profile = DSR_PROFILE_SPEC_KITTY_3;
    o.flags = DSR_INGEST_REMEMBER;
    o.given = DSR_SETTING_ALL;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    run(f, &o, &rep);
    assert_null(rep.remembered);            /* the feature's first scan */
    assert_int_equal(rep.reused, 0);
    assert_string_equal(rep.settings->mission_type, "research");
    size_t excluded = rep.scan->n_excluded;
    assert_true(excluded > 0);
    dsr_ingest_report_free(&rep);

    dsr_ingest_opts again = DSR_INGEST_OPTS_INIT;
    again.flags = DSR_INGEST_REMEMBER;      /* given: nothing */
    run(f, &again, &rep);
    assert_non_null(rep.remembered);
    assert_int_equal(rep.reused, DSR_SETTING_ALL);
    assert_int_equal(rep.changed, 0);
    assert_string_equal(rep.settings->mission_type, "research");
    assert_string_equal(rep.settings->step_id, "methodology");
    assert_int_equal(rep.settings->profile, DSR_PROFILE_SPEC_KITTY_3);
    assert_int_equal(rep.settings->n_excludes, 1);
    assert_string_equal(rep.settings->excludes[0], "*.tmp");
    assert_int_equal(rep.scan->n_excluded, excluded);
    assert_non_null(rep.snapshot);
    assert_string_equal(rep.snapshot->mission_type, "research");
    assert_int_equal(rep.snapshot->profile, DSR_PROFILE_SPEC_KITTY_3);
    dsr_ingest_report_free(&rep);
}

static void test_given_manifest_replaces_and_drops_the_remembered_step(void **state)
{
    fixture *f = *state;
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.mission_type = "software-dev";
    o.step_id = "plan";
    o.flags = DSR_INGEST_REMEMBER;
    o.given = DSR_SETTING_MANIFEST | DSR_SETTING_STEP;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    run(f, &o, &rep);
    dsr_ingest_report_free(&rep);

    dsr_ingest_opts change = DSR_INGEST_OPTS_INIT;
    change.mission_type = "research";
    change.flags = DSR_INGEST_REMEMBER;
    change.given = DSR_SETTING_MANIFEST;
    run(f, &change, &rep);
    assert_int_equal(rep.changed, DSR_SETTING_MANIFEST | DSR_SETTING_STEP);
    assert_int_equal(rep.reused, DSR_SETTING_PROFILE | DSR_SETTING_EXCLUDES);
    assert_string_equal(rep.remembered->mission_type, "software-dev");
    assert_string_equal(rep.remembered->step_id, "plan");
    assert_null(rep.settings->step_id);
    assert_string_equal(rep.snapshot->mission_type, "research");
    dsr_ingest_report_free(&rep);
}

static void test_remembered_manifest_file_is_reread_and_its_edit_reported(void **state)
{
    fixture *f = *state;
    dsr_manifest *m = NULL;
    dsr_err err;
    assert_int_equal(dsr_manifest_load_file(f->manifest, &m, &err), 0);
    char real[PATH_MAX];
    assert_non_null(realpath(f->manifest, real));
    assert_string_equal(dsr_manifest_file(m), real);
    assert_non_null(dsr_manifest_sha256(m));
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.manifest = m;
    o.flags = DSR_INGEST_REMEMBER;
    o.given = DSR_SETTING_MANIFEST;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    run(f, &o, &rep);
    char sha[65];
    snprintf(sha, sizeof sha, "%s", rep.settings->manifest_sha256);
    dsr_ingest_report_free(&rep);
    dsr_manifest_free(m);

    char edited[sizeof manifest_text + 16];
    snprintf(edited, sizeof edited, "%s# edited\n", manifest_text);
    tt_write(f->manifest, edited);
    dsr_ingest_opts again = DSR_INGEST_OPTS_INIT;
    again.flags = DSR_INGEST_REMEMBER;
    run(f, &again, &rep);
    assert_true(rep.reused & DSR_SETTING_MANIFEST);
    assert_int_equal(rep.changed, 0);
    assert_int_equal(rep.manifest_changed, 1);
    assert_non_null(rep.manifest);          /* loaded by the library */
    assert_string_equal(rep.settings->manifest_path, real);
    assert_string_not_equal(rep.settings->manifest_sha256, sha);
    assert_string_equal(rep.remembered->manifest_sha256, sha);
    assert_string_equal(rep.snapshot->mission_type, "custom");
    dsr_ingest_report_free(&rep);

    /* what the next scan reads back: the new hash */
    dsr_log *log = tt_log_open(f->log, DSR_LOG_RDONLY);
    dsr_scan_settings *s = NULL;
    assert_int_equal(dsr_scan_settings_get(log, "m", &s, &err), 0);
    assert_string_equal(s->manifest_path, real);
    assert_string_not_equal(s->manifest_sha256, sha);
    assert_non_null(s->run_id);
    dsr_scan_settings_free(s);
    assert_int_equal(dsr_scan_settings_get(log, "no-such-feature", &s, &err), DSR_ENOTFOUND);
    dsr_log_close(log);
}

static void test_without_remember_nothing_is_reused(void **state)
{
    fixture *f = *state;
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.mission_type = "software-dev";
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    run(f, &o, &rep);
    dsr_ingest_report_free(&rep);
    dsr_ingest_opts plain = DSR_INGEST_OPTS_INIT;
    run(f, &plain, &rep);
    assert_null(rep.remembered);
    assert_int_equal(rep.reused, 0);
    assert_null(rep.settings->mission_type);
    assert_null(rep.snapshot->mission_type);
    dsr_ingest_report_free(&rep);
}

static void test_step_without_any_manifest_fails_at_settings(void **state)
{
    fixture *f = *state;
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.step_id = "plan";      /* no manifest: refused */
    o.flags = DSR_INGEST_REMEMBER;
    o.given = DSR_SETTING_STEP;
    o.root = f->root;
    o.log_dir = f->log;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    assert_int_equal(dsr_ingest_run(&o, &rep, &err), DSR_EINVAL);
    assert_int_equal(rep.failed_step, DSR_INGEST_STEP_SETTINGS);
    assert_non_null(strstr(err.msg, "needs a manifest"));
    dsr_ingest_report_free(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_without_settings_reuses_every_remembered_one,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_given_manifest_replaces_and_drops_the_remembered_step,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_remembered_manifest_file_is_reread_and_its_edit_reported,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_without_remember_nothing_is_reused, setup,
                                        tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_step_without_any_manifest_fails_at_settings,
                                        setup, tt_mission_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_manifest.c - manifest parsing: a valid manifest yields its specs in
 * file order with kinds, steps and lines; every kind of malformed manifest is
 * refused with DSR_EMANIFEST and a "name:line: what" message pointing at the
 * offending line; built-in manifests all parse and declare their own type.
 * Hostile manifests (issue 17 item 11) are refused or parsed at once: deep
 * nesting gets a clear error, and duplicates among 150,000 entries are
 * found through hash maps (a watchdog guards the old quadratic cost); a
 * FIFO named as the manifest is refused without waiting for a writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/time.h>

#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dossier/buf.h"

static void on_alarm(int sig);

#include "dossier/manifest.h"

static const char GOOD[] =
    "# comment\n"                                         /* 1 */
    "schema_version: \"1.0\"\n"                           /* 2 */
    "mission_type: demo\n"                                /* 3 */
    "manifest_version: 7\n"                               /* 4 */
    "required_always:\n"                                  /* 5 */
    "  - artifact_key: input.spec\n"                      /* 6 */
    "    artifact_class: input\n"                         /* 7 */
    "    path_pattern: spec.md\n"                         /* 8 */
    "    blocking: true\n"                                /* 9 */
    "required_by_step:\n"                                 /* 10 */
    "  discovery: []\n"                                   /* 11 */
    "  plan:\n"                                           /* 12 */
    "    - artifact_key: \"output.plan\"\n"               /* 13 */
    "      artifact_class: \"output\"\n"                  /* 14 */
    "      path_pattern: \"plan.md\"\n"                   /* 15 */
    "optional_always:\n"                                  /* 16 */
    "  - {artifact_key: ev.logs, artifact_class: evidence, path_pattern: \"logs/**\", blocking: false}\n";

static dsr_manifest *parse_ok(const char *text)
{
    dsr_manifest *m = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    int rc = dsr_manifest_parse(text, strlen(text), "t.yaml", &m, &err);
    if (rc)
        print_error("unexpected error: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(m);
    return m;
}

/* Parse text, expect DSR_EMANIFEST with a message starting "t.yaml:<line>:"
 * and containing `what`. */
static void expect_error(const char *text, int line, const char *what)
{
    dsr_manifest *m = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    int rc = dsr_manifest_parse(text, strlen(text), "t.yaml", &m, &err);
    assert_int_equal(rc, DSR_EMANIFEST);
    assert_null(m);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "t.yaml:%d: ", line);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, what))
        print_error("message '%s' does not start with '%s' or lacks '%s'\n", err.msg, prefix, what);
    assert_true(strncmp(err.msg, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(err.msg, what));
}

static void test_valid_manifest_lists_specs_in_file_order(void **state)
{
    (void)state;
    dsr_manifest *m = parse_ok(GOOD);
    assert_string_equal(dsr_manifest_mission_type(m), "demo");
    assert_string_equal(dsr_manifest_version(m), "7");
    assert_string_equal(dsr_manifest_schema_version(m), "1.0");
    assert_int_equal(dsr_manifest_spec_count(m), 3);
    const dsr_manifest_spec *s = dsr_manifest_spec_at(m, 0);
    assert_string_equal(s->artifact_key, "input.spec");
    assert_string_equal(s->artifact_class, "input");
    assert_string_equal(s->path_pattern, "spec.md");
    assert_int_equal(s->blocking, 1);
    assert_int_equal(s->kind, DSR_SPEC_REQUIRED_ALWAYS);
    assert_null(s->step_id);
    assert_int_equal(s->line, 6);
    s = dsr_manifest_spec_at(m, 1);
    assert_string_equal(s->artifact_key, "output.plan");
    assert_int_equal(s->kind, DSR_SPEC_REQUIRED_BY_STEP);
    assert_string_equal(s->step_id, "plan");
    assert_int_equal(s->blocking, 0);                 /* default */
    s = dsr_manifest_spec_at(m, 2);
    assert_int_equal(s->kind, DSR_SPEC_OPTIONAL_ALWAYS);
    assert_string_equal(s->path_pattern, "logs/**");
    assert_null(dsr_manifest_spec_at(m, 3));
    assert_int_equal(dsr_manifest_step_count(m), 2);
    assert_string_equal(dsr_manifest_step_at(m, 0), "discovery");
    assert_true(dsr_manifest_has_step(m, "discovery"));
    assert_true(dsr_manifest_has_step(m, "plan"));
    assert_false(dsr_manifest_has_step(m, "review"));
    dsr_manifest_free(m);
}

static void test_defaults_apply_when_versions_are_absent(void **state)
{
    (void)state;
    dsr_manifest *m = parse_ok("mission_type: x\n");
    assert_string_equal(dsr_manifest_schema_version(m), "1.0");
    assert_string_equal(dsr_manifest_version(m), "1");
    assert_int_equal(dsr_manifest_spec_count(m), 0);
    dsr_manifest_free(m);
}

static void test_yaml_syntax_error_names_file_and_line(void **state)
{
    (void)state;
    expect_error("mission_type: x\nrequired_always:\n  - artifact_key: [a\n", 4, "YAML syntax error");
    expect_error("mission_type: x\n  bad: indent\n", 2, "YAML syntax error");
}

static void test_unknown_keys_are_refused_at_their_line(void **state)
{
    (void)state;
    expect_error("mission_type: x\nrequired_allways: []\n", 2, "unknown key 'required_allways'");
    expect_error("mission_type: x\nrequired_always:\n  - artifact_key: a\n    artifact_class: input\n"
                 "    path_pattern: a.md\n    blockng: true\n", 6, "unknown key 'blockng'");
}

static void test_bad_class_is_refused(void **state)
{
    (void)state;
    expect_error("mission_type: x\noptional_always:\n  - artifact_key: a\n"
                 "    artifact_class: inputs\n    path_pattern: a.md\n", 4,
                 "artifact_class 'inputs' is not one of");
}

static void test_duplicate_artifact_key_names_both_lines(void **state)
{
    (void)state;
    expect_error("mission_type: x\n"
                 "required_always:\n"
                 "  - {artifact_key: k, artifact_class: input, path_pattern: a.md}\n"
                 "required_by_step:\n"
                 "  plan:\n"
                 "    - {artifact_key: k, artifact_class: output, path_pattern: b.md}\n",
                 6, "artifact_key 'k' is listed again with another path_pattern ('b.md', "
                 "line 3: 'a.md')");
    /* twice in one step's list: a plain duplicate */
    expect_error("mission_type: x\n"
                 "required_by_step:\n"
                 "  plan:\n"
                 "    - {artifact_key: k, artifact_class: output, path_pattern: b.md}\n"
                 "    - {artifact_key: k, artifact_class: output, path_pattern: b.md}\n",
                 5, "duplicate artifact_key 'k' (first defined at line 4)");
    /* the same pattern with another class is another artifact too */
    expect_error("mission_type: x\n"
                 "required_by_step:\n"
                 "  a:\n"
                 "    - {artifact_key: k, artifact_class: output, path_pattern: b.md}\n"
                 "  b:\n"
                 "    - {artifact_key: k, artifact_class: input, path_pattern: b.md}\n",
                 6, "listed again with another artifact_class");
}

/* spec-kitty's own manifests list one key under two steps (software-dev's
 * output.tasks.per_wp under tasks_packages and tasks_finalize) and under a
 * step and optional_always (documentation's evidence.audit-report): it means
 * required at each of those steps, not a duplicate. */
static void test_key_repeated_across_steps_is_required_by_each(void **state)
{
    (void)state;
    static const char text[] =
        "mission_type: x\n"
        "required_by_step:\n"
        "  tasks_packages:\n"
        "    - {artifact_key: o.wp, artifact_class: output, path_pattern: tasks/WP*.md}\n"
        "  tasks_finalize:\n"
        "    # a comment between the key and its list\n"
        "    - {artifact_key: o.wp, artifact_class: output, path_pattern: tasks/WP*.md}\n"
        "  publish:\n"
        "    []\n"
        "optional_always:\n"
        "  - {artifact_key: o.wp, artifact_class: output, path_pattern: tasks/WP*.md}\n";
    dsr_manifest *m = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    assert_int_equal(dsr_manifest_parse(text, sizeof text - 1, "t.yaml", &m, &err), 0);
    assert_int_equal(dsr_manifest_spec_count(m), 3);
    assert_int_equal(dsr_manifest_step_count(m), 3);
    assert_string_equal(dsr_manifest_spec_at(m, 0)->step_id, "tasks_packages");
    assert_string_equal(dsr_manifest_spec_at(m, 1)->step_id, "tasks_finalize");
    assert_int_equal(dsr_manifest_spec_at(m, 2)->kind, DSR_SPEC_OPTIONAL_ALWAYS);
    dsr_manifest_free(m);
}

static void test_empty_and_unsafe_patterns_are_refused(void **state)
{
    (void)state;
    expect_error("mission_type: x\nrequired_always:\n"
                 "  - {artifact_key: k, artifact_class: input, path_pattern: \"\"}\n",
                 3, "path_pattern is empty");
    expect_error("mission_type: x\nrequired_always:\n"
                 "  - {artifact_key: k, artifact_class: input, path_pattern: /etc/passwd}\n",
                 3, "must be relative");
    expect_error("mission_type: x\nrequired_always:\n"
                 "  - {artifact_key: k, artifact_class: input, path_pattern: ../x.md}\n",
                 3, "'..'");
    expect_error("mission_type: x\nrequired_always:\n"
                 "  - {artifact_key: k, artifact_class: input, path_pattern: .git/config}\n",
                 3, "hidden entry");
    expect_error("mission_type: x\nrequired_always:\n"
                 "  - {artifact_key: k, artifact_class: input, path_pattern: a//b}\n",
                 3, "empty segment");
}

static void test_wrong_types_are_refused(void **state)
{
    (void)state;
    expect_error("mission_type: x\nrequired_always:\n  - {artifact_key: k, artifact_class: input,"
                 " path_pattern: a.md, blocking: \"yes\"}\n", 3, "blocking: expected true or false");
    expect_error("mission_type: x\nrequired_always: {a: b}\n", 2,
                 "required_always: expected a sequence");
    expect_error("mission_type: x\nrequired_always:\n", 2, "expected a sequence of artifact specs, got null");
    expect_error("mission_type: x\nrequired_by_step: [a]\n", 2, "required_by_step: expected a mapping");
    expect_error("mission_type: x\nrequired_by_step:\n  plan: spec.md\n", 3,
                 "required_by_step.plan: expected a sequence");
    expect_error("mission_type: x\nrequired_always:\n  - spec.md\n", 3,
                 "artifact spec: expected a mapping");
    expect_error("mission_type: x\nrequired_always:\n  - {artifact_key: [a], artifact_class: input,"
                 " path_pattern: a.md}\n", 3, "artifact_key: expected a string, got a sequence");
    expect_error("mission_type: true\n", 1, "mission_type: expected a string, got a boolean");
    expect_error("- a\n- b\n", 1, "top level must be a mapping");
}

static void test_missing_fields_are_refused(void **state)
{
    (void)state;
    expect_error("schema_version: \"1.0\"\n", 1, "mission_type is missing");
    expect_error("mission_type: x\nrequired_always:\n  - {artifact_class: input, path_pattern: a}\n",
                 3, "missing artifact_key");
    expect_error("mission_type: x\nrequired_always:\n  - {artifact_key: k, path_pattern: a}\n",
                 3, "missing artifact_class");
    expect_error("mission_type: x\nrequired_always:\n  - {artifact_key: k, artifact_class: input}\n",
                 3, "missing path_pattern");
    expect_error("", 1, "empty manifest");
}

static void test_duplicate_keys_and_steps_are_refused(void **state)
{
    (void)state;
    expect_error("mission_type: x\nmission_type: y\n", 2, "duplicate key 'mission_type' (first at line 1)");
    expect_error("mission_type: x\nrequired_by_step:\n  plan: []\n  plan: []\n", 4, "duplicate key 'plan'");
}

static void test_keys_with_colons_and_other_versions_are_refused(void **state)
{
    (void)state;
    expect_error("mission_type: x\nrequired_always:\n  - {artifact_key: \"a:b\", artifact_class: input,"
                 " path_pattern: a.md}\n", 3, "artifact_key 'a:b' may only contain");
    expect_error("schema_version: \"2.0\"\nmission_type: x\n", 1, "unsupported schema_version '2.0'");
    expect_error("mission_type: x\n---\nmission_type: y\n", 3, "more than one YAML document");
}

static void test_load_file_reports_path_in_messages(void **state)
{
    (void)state;
    char path[] = "/tmp/dossier-manifest-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "mission_type: x\nrequired_always:\n  - {artifact_key: k, artifact_class: nope, path_pattern: a}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    dsr_manifest *m = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    assert_int_equal(dsr_manifest_load_file(path, &m, &err), DSR_EMANIFEST);
    char want[64];
    snprintf(want, sizeof want, "%s:3: ", path);
    assert_true(strncmp(err.msg, want, strlen(want)) == 0);
    unlink(path);
    assert_int_equal(dsr_manifest_load_file(path, &m, &err), DSR_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
}

/* Issue 17 item 10: a FIFO named as the manifest is refused at once (the
 * open used to wait for a writer for ever); so is a folder. */
static void test_load_file_refuses_a_fifo_without_waiting(void **state)
{
    (void)state;
    char dir[] = "/tmp/dossier-manifest-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[96];
    snprintf(fifo, sizeof fifo, "%s/m.yaml", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    signal(SIGALRM, on_alarm);
    alarm(20);
    dsr_manifest *m = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    int rc = dsr_manifest_load_file(fifo, &m, &err);
    alarm(0);
    signal(SIGALRM, SIG_DFL);
    assert_int_equal(rc, DSR_EIO);
    assert_null(m);
    assert_non_null(strstr(err.msg, fifo));
    assert_non_null(strstr(err.msg, "not a regular file (a FIFO)"));
    dsr_err_clear(&err);
    assert_int_equal(dsr_manifest_load_file(dir, &m, &err), DSR_EIO);
    assert_non_null(strstr(err.msg, "(a folder)"));
    unlink(fifo);
    rmdir(dir);
}

static void test_builtin_manifests_parse_and_declare_their_type(void **state)
{
    (void)state;
    size_t n = 0;
    const char *const *names = dsr_manifest_builtin_names(&n);
    assert_true(n >= 2);
    int seen_sd = 0, seen_research = 0;
    for (size_t i = 0; i < n; i++) {
        dsr_manifest *m = NULL;
        dsr_err err;
        dsr_err_clear(&err);
        int rc = dsr_manifest_load_builtin(names[i], &m, &err);
        if (rc)
            print_error("%s: %s\n", names[i], err.msg);
        assert_int_equal(rc, 0);
        assert_string_equal(dsr_manifest_mission_type(m), names[i]);
        assert_true(dsr_manifest_spec_count(m) > 0);
        seen_sd |= !strcmp(names[i], "software-dev");
        seen_research |= !strcmp(names[i], "research");
        dsr_manifest_free(m);
    }
    assert_true(seen_sd && seen_research);
    dsr_manifest *m = NULL;
    dsr_err err;
    assert_int_equal(dsr_manifest_load_builtin("nope", &m, &err), DSR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "software-dev"));
}

/* Under spec-kitty-3 the built-ins are spec-kitty's current mission types
 * with its current step names; wp04 keeps its own (no documentation type). */
static void test_spec_kitty_3_builtins_have_current_types_and_steps(void **state)
{
    (void)state;
    static const struct { const char *type, *steps; } want[] = {
        { "software-dev", "discovery specify plan tasks_outline tasks_packages tasks_finalize "
                          "implement review done" },
        { "research", "scoping methodology gathering synthesis output done" },
        { "documentation", "discover audit design generate validate publish accept" },
    };
    size_t n = 0;
    (void)dsr_manifest_builtin_names_profile(DSR_PROFILE_SPEC_KITTY_3, &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        dsr_manifest *m = NULL;
        dsr_err err;
        dsr_err_clear(&err);
        int rc = dsr_manifest_load_builtin_profile(DSR_PROFILE_SPEC_KITTY_3, want[i].type, &m, &err);
        if (rc)
            print_error("%s: %s\n", want[i].type, err.msg);
        assert_int_equal(rc, 0);
        assert_string_equal(dsr_manifest_mission_type(m), want[i].type);
        char steps[256] = "";
        for (size_t k = 0; k < dsr_manifest_step_count(m); k++) {
            strcat(steps, k ? " " : "");
            strcat(steps, dsr_manifest_step_at(m, k));
        }
        if (strcmp(steps, want[i].steps))
            print_error("%s: steps '%s'\n", want[i].type, steps);
        assert_string_equal(steps, want[i].steps);
        dsr_manifest_free(m);
    }
    /* software-dev: one key under two steps */
    dsr_manifest *m = NULL;
    dsr_err err;
    assert_int_equal(dsr_manifest_load_builtin_profile(DSR_PROFILE_SPEC_KITTY_3, "software-dev",
                                                       &m, &err), 0);
    int per_wp = 0;
    for (size_t k = 0; k < dsr_manifest_spec_count(m); k++)
        per_wp += !strcmp(dsr_manifest_spec_at(m, k)->artifact_key, "output.tasks.per_wp");
    assert_int_equal(per_wp, 2);
    dsr_manifest_free(m);
    assert_int_equal(dsr_manifest_load_builtin("documentation", &m, &err), DSR_ENOTFOUND);
    assert_int_equal(dsr_manifest_load_builtin_profile(DSR_PROFILE_SPEC_KITTY_3, "nope", &m, &err),
                     DSR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "documentation"));
    assert_non_null(strstr(err.msg, "spec-kitty-3"));
}

/* ---- hostile manifests ----------------------------------------------- */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_manifest: a hostile manifest took more than 20 CPU "
                              "seconds (or a FIFO blocked for 20 s)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

/* The guard counts the process's CPU time, not wall time: on a loaded
 * machine a fast parse can take long on the clock, while the quadratic or
 * exponential cases these tests guard against burn CPU for tens of seconds. */
static void watchdog(unsigned secs)
{
    signal(SIGPROF, secs ? on_alarm : SIG_DFL);
    struct itimerval it = { .it_value = { .tv_sec = secs } };
    setitimer(ITIMER_PROF, &it, NULL);
}

static void test_deep_nesting_is_refused_with_its_line(void **state)
{
    (void)state;
    watchdog(20);
    /* flow style, 100,000 levels on line 2 */
    size_t depth = 100000;
    dsr_buf b = DSR_BUF_INIT;
    assert_int_equal(dsr_buf_puts(&b, "mission_type: x\nrequired_always: "), 0);
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(dsr_buf_putc(&b, '['), 0);
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(dsr_buf_putc(&b, ']'), 0);
    assert_int_equal(dsr_buf_putc(&b, '\n'), 0);
    expect_error(b.data, 2, "nested more than 64 levels deep");
    /* block style: the 65th level opens on line 2 + 64 */
    dsr_buf_reset(&b);
    assert_int_equal(dsr_buf_puts(&b, "mission_type: x\nrequired_always:\n"), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(dsr_buf_printf(&b, "%*s-\n", 2 * i, ""), 0);
    expect_error(b.data, 66, "nested more than 64 levels deep");
    /* within the limit, other rules still speak */
    dsr_buf_reset(&b);
    assert_int_equal(dsr_buf_puts(&b, "mission_type: x\nrequired_always: "), 0);
    for (int i = 0; i < 63; i++)
        assert_int_equal(dsr_buf_putc(&b, '['), 0);
    for (int i = 0; i < 63; i++)
        assert_int_equal(dsr_buf_putc(&b, ']'), 0);
    assert_int_equal(dsr_buf_putc(&b, '\n'), 0);
    expect_error(b.data, 2, "artifact spec: expected a mapping");
    dsr_buf_free(&b);
    watchdog(0);
}

static void test_duplicates_among_many_entries_are_found(void **state)
{
    (void)state;
    watchdog(20);
    enum { N = 150000 };
    dsr_buf b = DSR_BUF_INIT;
    assert_int_equal(dsr_buf_puts(&b, "mission_type: x\nrequired_always:\n"), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(dsr_buf_printf(&b, "  - {artifact_key: k%d, artifact_class: input, "
                                        "path_pattern: f%d.md}\n", i, i), 0);
    /* the last entry repeats the 1,000th key (line 1002) */
    assert_int_equal(dsr_buf_printf(&b, "  - {artifact_key: k999, artifact_class: input, "
                                    "path_pattern: g.md}\n"), 0);
    expect_error(b.data, N + 3, "duplicate artifact_key 'k999' (first defined at line 1002)");
    /* a mapping with many keys: required_by_step with a step twice */
    dsr_buf_reset(&b);
    assert_int_equal(dsr_buf_puts(&b, "mission_type: x\nrequired_by_step:\n"), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(dsr_buf_printf(&b, "  s%d: []\n", i), 0);
    assert_int_equal(dsr_buf_puts(&b, "  s7: []\n"), 0);
    expect_error(b.data, N + 3, "duplicate key 's7' (first at line 10)");
    dsr_buf_free(&b);
    watchdog(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_manifest_lists_specs_in_file_order),
        cmocka_unit_test(test_defaults_apply_when_versions_are_absent),
        cmocka_unit_test(test_yaml_syntax_error_names_file_and_line),
        cmocka_unit_test(test_unknown_keys_are_refused_at_their_line),
        cmocka_unit_test(test_bad_class_is_refused),
        cmocka_unit_test(test_duplicate_artifact_key_names_both_lines),
        cmocka_unit_test(test_key_repeated_across_steps_is_required_by_each),
        cmocka_unit_test(test_empty_and_unsafe_patterns_are_refused),
        cmocka_unit_test(test_wrong_types_are_refused),
        cmocka_unit_test(test_missing_fields_are_refused),
        cmocka_unit_test(test_duplicate_keys_and_steps_are_refused),
        cmocka_unit_test(test_keys_with_colons_and_other_versions_are_refused),
        cmocka_unit_test(test_load_file_reports_path_in_messages),
        cmocka_unit_test(test_builtin_manifests_parse_and_declare_their_type),
        cmocka_unit_test(test_spec_kitty_3_builtins_have_current_types_and_steps),
        cmocka_unit_test(test_load_file_refuses_a_fifo_without_waiting),
        cmocka_unit_test(test_deep_nesting_is_refused_with_its_line),
        cmocka_unit_test(test_duplicates_among_many_entries_are_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

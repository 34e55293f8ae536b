/*
 * test_scan_stream.c - dsr_scan_opts.on_artifacts: the artifacts are handed
 * on while the scan runs, each once, in byte order of their paths -- also
 * where walk order is not byte order (a name between "dir" and "dir/", a
 * symlinked folder, across many batches) -- and the concatenation of what
 * was handed on is the result without the required artifacts no file
 * matched.  A consumer's error stops the scan with its code.
 *
 * LABELS: tsan (runs in the ThreadSanitizer suite too)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dossier/manifest.h"
#include "dossier/scan.h"
#include "test_tmp.h"

static const char MANIFEST[] =
    "mission_type: t\n"
    "required_always:\n"
    "  - {artifact_key: input.spec, artifact_class: input, path_pattern: spec.md, blocking: true}\n"
    "  - {artifact_key: output.plan, artifact_class: output, path_pattern: plan.md, blocking: true}\n"
    "  - {artifact_key: wf.tasks, artifact_class: workflow, path_pattern: tasks.md}\n";

static char root[64];

/* A file of size bytes (below 1 MiB) at rel. */
static void put(const char *rel, size_t size)
{
    static char text[1u << 20];
    assert_true(size < sizeof text);
    for (size_t i = 0; i < size; i++)
        text[i] = (char)('a' + (int)((i * 7 + strlen(rel)) % 26));
    text[size] = '\0';
    tt_put(root, rel, text);
}

/* Walk order puts every "X/..." before "X.md", "X-old/..." and "X0"; byte
 * order the other way round.  Folders of 150 files span several batches. */
static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/dossier-stream-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    char rel[128];
    for (int i = 0; i < 150; i++) {
        snprintf(rel, sizeof rel, "tasks/WP%03d.md", i);
        put(rel, 100 + (size_t)i);
        snprintf(rel, sizeof rel, "a/b/c%03d.txt", i);
        put(rel, 50 + (size_t)i);
        snprintf(rel, sizeof rel, "real/r%03d.txt", i);
        put(rel, 10 + (size_t)i);
    }
    put("tasks.md", 10);
    put("tasks-old/x.md", 11);
    put("tasks0", 12);
    put("a/b.txt", 13);
    put("a/b-c/d.txt", 14);
    put("a.b/e.txt", 15);
    put("link.md", 16);
    put("big.bin", 600000);
    char target[256], link[256];
    snprintf(target, sizeof target, "%s/real", root);
    snprintf(link, sizeof link, "%s/link", root);
    return symlink(target, link);    /* "link/r..." after "link.md" in byte order */
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct seen {
    char  **paths;
    size_t  n, calls;
    int     fail_at;       /* > 0: fail on this call */
    int     slug_ok;
} seen;

static int collect(void *ctx, const dsr_scan_result *r, size_t from, size_t to)
{
    seen *s = ctx;
    s->calls++;
    if (s->fail_at && (int)s->calls == s->fail_at)
        return DSR_EIO;
    assert_int_equal(from, s->n);          /* ranges follow each other */
    assert_true(to > from);
    s->slug_ok += r->feature_slug && !strcmp(r->feature_slug, "stream");
    s->paths = realloc(s->paths, to * sizeof *s->paths);
    assert_non_null(s->paths);
    for (size_t i = from; i < to; i++)
        s->paths[s->n++] = strdup(r->artifacts[i].relative_path);
    return 0;
}

static void seen_free(seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
}

static void check_jobs(unsigned jobs, const dsr_manifest *m)
{
    seen s = { 0 };
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = root, .jobs = jobs,
                        .manifest = m, .feature_slug = "stream",
                        .on_artifacts = collect, .on_artifacts_ctx = &s };
    dsr_scan_result *r = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan(&o, &r, &err), 0);
    assert_true(s.calls > 1);               /* handed on in parts, not at the end */
    assert_int_equal(s.slug_ok, (int)s.calls);
    for (size_t i = 1; i < s.n; i++)
        assert_true(strcmp(s.paths[i - 1], s.paths[i]) < 0);
    /* the result minus the artifacts no file matched, in the same order */
    size_t k = 0, ghosts = 0;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (!a->present && a->reason == DSR_REASON_NOT_FOUND) {
            ghosts++;
            continue;
        }
        assert_true(k < s.n);
        assert_string_equal(s.paths[k], a->relative_path);
        k++;
    }
    assert_int_equal(k, s.n);
    assert_int_equal(r->n_artifacts, 4 * 150 + 8 + (m ? 2 : 0));   /* real/ twice: via link/ */
    assert_int_equal(ghosts, m ? 2 : 0);    /* spec.md and plan.md */
    dsr_scan_result_free(r);
    seen_free(&s);
}

static void test_handed_on_in_byte_order_one_worker(void **state)
{
    (void)state;
    check_jobs(1, NULL);
}

static void test_handed_on_in_byte_order_four_workers(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++)
        check_jobs(4, NULL);
}

static void test_ghosts_are_not_handed_on(void **state)
{
    (void)state;
    dsr_manifest *m = NULL;
    dsr_err err;
    assert_int_equal(dsr_manifest_parse(MANIFEST, strlen(MANIFEST), "m.yaml", &m, &err), 0);
    check_jobs(2, m);
    dsr_manifest_free(m);
}

static void test_consumer_error_stops_the_scan(void **state)
{
    (void)state;
    seen s = { .fail_at = 2 };
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = root, .jobs = 2,
                        .on_artifacts = collect, .on_artifacts_ctx = &s };
    dsr_scan_result *r = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan(&o, &r, &err), DSR_EIO);
    assert_null(r);
    assert_non_null(strstr(err.msg, "consumer of its artifacts"));
    assert_int_equal(s.calls, 2);           /* never called again after it failed */
    seen_free(&s);
}

static void test_version_one_options_are_not_streamed(void **state)
{
    (void)state;
    seen s = { 0 };
    dsr_scan_opts o = { .version = 1, .root = root, .jobs = 2,
                        .on_artifacts = collect, .on_artifacts_ctx = &s };
    dsr_scan_result *r = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan(&o, &r, &err), 0);
    assert_int_equal(s.calls, 0);
    dsr_scan_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handed_on_in_byte_order_one_worker),
        cmocka_unit_test(test_handed_on_in_byte_order_four_workers),
        cmocka_unit_test(test_ghosts_are_not_handed_on),
        cmocka_unit_test(test_consumer_error_stops_the_scan),
        cmocka_unit_test(test_version_one_options_are_not_streamed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

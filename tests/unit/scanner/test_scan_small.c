/*
 * test_scan_small.c - a small tree is hashed by the calling thread alone
 * (scanner/scan.c, small_tree): no worker thread is started for it, and its
 * artifacts are exactly those the worker pool gives for the same files; a
 * tree past the limits (more files than a small tree holds, or more bytes)
 * starts the pool.
 *
 * The threads are counted from the streaming callback (on_artifacts), which
 * the scan calls on the calling thread while its pool, if any, still runs,
 * against the count before the scan (a sanitizer may run threads of its
 * own).
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

#include "dossier/scan.h"
#include "test_threads.h"
#include "test_tmp.h"

typedef struct seen {
    size_t calls, most_threads, handed;
} seen;

static int on_artifacts(void *ctx, const dsr_scan_result *r, size_t from, size_t to)
{
    (void)r;
    seen *s = ctx;
    size_t t = tt_threads(NULL);
    s->calls++;
    s->handed += to - from;
    if (t > s->most_threads)
        s->most_threads = t;
    return 0;
}

static dsr_scan_result *scan(const char *root, unsigned jobs, seen *s)
{
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = root, .jobs = jobs,
                        .on_artifacts = on_artifacts, .on_artifacts_ctx = s };
    dsr_scan_result *r = NULL;
    dsr_err err = { 0 };
    int rc = dsr_scan(&o, &r, &err);
    if (rc)
        fail_msg("scan of %s: %s", root, err.msg);
    return r;
}

/* The sample's files: seven folders (more than a batch's directories, so
 * the walk fills several batches), text and binary, an empty file, a file
 * of invalid UTF-8 and an unreadable one. */
static void put_small(const char *root)
{
    static const char *const names[] = {
        "spec.md", "plan.md", "tasks.md", "tasks/WP01-setup.md", "tasks/WP02-core.md",
        "checklists/requirements.md", "contracts/api.yaml", "evidence/run-1/log.txt",
        "evidence/run-2/out.json", "research/notes.md", "data/model.bin", "empty.md",
    };
    char text[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(text, sizeof text, "# %s\n\nline %zu of a small mission\n", names[i], i);
        tt_put(root, names[i], i == 11 ? "" : text);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/research/latin1.md", root);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("caf\xe9\n", f);      /* not UTF-8 */
    fclose(f);
    tt_put(root, "locked.md", "no one may read this\n");
    snprintf(p, sizeof p, "%s/locked.md", root);
    assert_int_equal(chmod(p, 0), 0);
}

static const dsr_artifact *find(const dsr_scan_result *r, const char *path)
{
    for (size_t i = 0; i < r->n_artifacts; i++)
        if (!strcmp(r->artifacts[i].relative_path, path))
            return &r->artifacts[i];
    return NULL;
}

static void assert_same_artifact(const dsr_artifact *a, const dsr_artifact *b)
{
    assert_non_null(b);
    assert_string_equal(a->relative_path, b->relative_path);
    assert_string_equal(a->artifact_key, b->artifact_key);
    assert_string_equal(a->artifact_class, b->artifact_class);
    assert_int_equal(a->present, b->present);
    assert_int_equal(a->reason, b->reason);
    assert_int_equal(a->size_bytes, b->size_bytes);
    assert_string_equal(a->sha256, b->sha256);
    assert_int_equal(a->xxh3_high, b->xxh3_high);
    assert_int_equal(a->xxh3_low, b->xxh3_low);
    assert_int_equal(a->utf8_invalid, b->utf8_invalid);
    assert_int_equal(a->utf8_bad_at, b->utf8_bad_at);
    assert_int_equal(a->dev, b->dev);
    assert_int_equal(a->ino, b->ino);
    assert_int_equal(a->mtime_ns, b->mtime_ns);
}

/* Scanned alone, the small tree starts no thread; with a hundred more
 * files beside it, the pool runs, and the small tree's artifacts come out
 * the same either way, for one worker or several. */
static void test_small_tree_is_hashed_without_workers(void **state)
{
    (void)state;
    char root[256];
    char *tmp = tt_mission("small", root, sizeof root);
    put_small(root);
    size_t before = tt_threads(NULL);

    seen s1 = { 0 };
    dsr_scan_result *small = scan(root, 2, &s1);
    assert_int_equal(small->n_artifacts, 14);
    assert_true(s1.calls >= 1);
    assert_int_equal(s1.handed, small->n_artifacts);
    assert_int_equal(s1.most_threads, before);      /* the calling thread only */
    const dsr_artifact *bad = find(small, "research/latin1.md");
    assert_non_null(bad);
    assert_false(bad->present);
    assert_int_equal(bad->reason, DSR_REASON_INVALID_FORMAT);
    if (geteuid() != 0) {               /* root reads a file of mode 0 */
        const dsr_artifact *locked = find(small, "locked.md");
        assert_non_null(locked);
        assert_int_equal(locked->reason, DSR_REASON_UNREADABLE);
    }

    char rel[64];
    for (int i = 0; i < 100; i++) {
        snprintf(rel, sizeof rel, "zz-bulk/f%03d.txt", i);
        tt_put(root, rel, "bulk\n");
    }
    for (unsigned jobs = 1; jobs <= 3; jobs += 2) {
        seen s2 = { 0 };
        dsr_scan_result *big = scan(root, jobs, &s2);
        assert_int_equal(big->n_artifacts, 114);
        assert_int_equal(s2.handed, big->n_artifacts);
        assert_true(s2.most_threads >= before + jobs);  /* the pool ran */
        assert_true(tt_threads(NULL) < s2.most_threads);   /* and is gone */
        for (size_t i = 0; i < small->n_artifacts; i++)
            assert_same_artifact(&small->artifacts[i],
                                 find(big, small->artifacts[i].relative_path));
        dsr_scan_result_free(big);
    }
    dsr_scan_result_free(small);
    char p[512];
    snprintf(p, sizeof p, "%s/locked.md", root);
    assert_int_equal(chmod(p, 0644), 0);
    tt_rm_rf(tmp);
}

/* A few files holding more bytes than a small tree may: the pool hashes
 * them, and their digests equal the one-worker scan's. */
static void test_few_large_files_start_the_pool(void **state)
{
    (void)state;
    char root[256];
    char *tmp = tt_mission("smallbig", root, sizeof root);
    tt_put(root, "a.md", "a small one\n");
    char p[512];
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/big%d.bin", root, i);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        for (int k = 0; k < (3 << 20); k++)     /* together past the small-tree byte limit */
            fputc((k * 31 + i) & 0xff, f);
        fclose(f);
    }
    seen s2 = { 0 }, s1 = { 0 };
    size_t before = tt_threads(NULL);
    dsr_scan_result *two = scan(root, 2, &s2);
    dsr_scan_result *one = scan(root, 1, &s1);
    assert_true(s2.most_threads >= before + 2);
    assert_int_equal(two->n_artifacts, 3);
    assert_int_equal(one->n_artifacts, 3);
    for (size_t i = 0; i < two->n_artifacts; i++)
        assert_same_artifact(&two->artifacts[i], &one->artifacts[i]);
    dsr_scan_result_free(two);
    dsr_scan_result_free(one);
    tt_rm_rf(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_tree_is_hashed_without_workers),
        cmocka_unit_test(test_few_large_files_start_the_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

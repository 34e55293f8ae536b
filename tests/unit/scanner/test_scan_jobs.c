/*
 * test_scan_jobs.c - the scanner's threads under ThreadSanitizer: scans with 8 workers over a
 * tree of many small and a few multi-block files, where workers share
 * batches, give exactly the single-worker result every time.
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

#include "dossier/scan.h"

static char root[64];

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/dossier-tsan-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    char p[256];
    for (int d = 0; d < 6; d++) {
        snprintf(p, sizeof p, "%s/d%d", root, d);
        if (mkdir(p, 0755))
            return -1;
        for (int i = 0; i < 90; i++) {
            snprintf(p, sizeof p, "%s/d%d/f%02d.%s", root, d, i, i % 3 ? "bin" : "md");
            FILE *f = fopen(p, "wb");
            if (!f)
                return -1;
            /* a few files span several 256 KiB read blocks */
            size_t n = i % 29 == 0 ? 700000 + (size_t)i : 100 + (size_t)i * 37;
            for (size_t k = 0; k < n; k++)
                fputc('a' + (int)((k * 7 + (size_t)i) % 26), f);
            fclose(f);
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static dsr_scan_result *run(unsigned jobs)
{
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = root, .jobs = jobs };
    dsr_scan_result *r = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan(&o, &r, &err), 0);
    return r;
}

static void test_eight_workers_match_one_worker_every_time(void **state)
{
    (void)state;
    dsr_scan_result *ref = run(1);
    assert_int_equal(ref->n_artifacts, 540);
    for (int round = 0; round < 4; round++) {
        dsr_scan_result *r = run(8);
        assert_int_equal(r->n_artifacts, ref->n_artifacts);
        assert_int_equal(r->bytes_hashed, ref->bytes_hashed);
        for (size_t i = 0; i < r->n_artifacts; i++) {
            assert_string_equal(r->artifacts[i].relative_path, ref->artifacts[i].relative_path);
            assert_string_equal(r->artifacts[i].sha256, ref->artifacts[i].sha256);
            assert_true(r->artifacts[i].xxh3_low == ref->artifacts[i].xxh3_low);
            assert_true(r->artifacts[i].present);
        }
        dsr_scan_result_free(r);
    }
    dsr_scan_result_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_workers_match_one_worker_every_time),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_scan_symlink_race.c - issue 17 item 4: a folder on the path of a
 * followed in-mission symlink is swapped for a link out of the mission
 * between the walk's check and the open.  No scan may ever hash what lies
 * outside: the outside files carry a distinctive content, and every
 * artifact's SHA-256 is compared with theirs.
 *
 * Layout, all inside the test's own temporary folder T:
 *   T/outside/secret.txt, T/outside/inner/secret.txt   distinctive content
 *   T/m/sub/secret.txt, T/m/sub/inner/x.txt             inside content
 *   T/m/zlink -> sub/secret.txt    (a file reached through a link)
 *   T/m/zdir  -> sub/inner         (a folder reached through a link)
 * The swap: m/sub -> m/subold, then a link m/sub -> T/outside; and back.
 *
 * Two tests: a deterministic one (the scanner's on_listed hook swaps right
 * after zlink was checked and listed, before a worker opens it), and a race
 * with a swapper thread flipping m/sub while scans run, bounded in rounds
 * and time, with and without io_uring batches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dossier/scan.h"
#include "test_tmp.h"

#define SECRET "OUTSIDE-SECRET 5f1c0d9e: this content lies outside the mission\n"

typedef struct fixture {
    char  root[64];         /* T: /tmp/dossier-symrace-XXXXXX */
    char  m[128], sub[192], subold[192], outside[128];
    char  secret_sha[65];   /* of SECRET */
} fixture;

static void path_of(char *out, size_t n, const char *a, const char *b)
{
    snprintf(out, n, "%s/%s", a, b);
}

static fixture *make_fixture(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char tmpl[] = "/tmp/dossier-symrace-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    snprintf(f->root, sizeof f->root, "%s", tmpl);
    path_of(f->m, sizeof f->m, f->root, "m");
    path_of(f->outside, sizeof f->outside, f->root, "outside");
    path_of(f->sub, sizeof f->sub, f->m, "sub");
    path_of(f->subold, sizeof f->subold, f->m, "subold");
    char p[512];
    assert_int_equal(mkdir(f->m, 0700), 0);
    assert_int_equal(mkdir(f->outside, 0700), 0);
    path_of(p, sizeof p, f->outside, "inner");
    assert_int_equal(mkdir(p, 0700), 0);
    path_of(p, sizeof p, f->outside, "secret.txt");
    tt_write(p, SECRET);
    path_of(p, sizeof p, f->outside, "inner/secret.txt");
    tt_write(p, SECRET);
    path_of(p, sizeof p, f->outside, "inner/x.txt");
    tt_write(p, SECRET);
    assert_int_equal(mkdir(f->sub, 0700), 0);
    path_of(p, sizeof p, f->sub, "inner");
    assert_int_equal(mkdir(p, 0700), 0);
    path_of(p, sizeof p, f->sub, "secret.txt");
    tt_write(p, "inside secret\n");
    path_of(p, sizeof p, f->sub, "inner/x.txt");
    tt_write(p, "inside x\n");
    path_of(p, sizeof p, f->sub, "inner/secret.txt");
    tt_write(p, "inside inner secret\n");
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d.md", i);
        path_of(p, sizeof p, f->m, name);
        tt_write(p, name);
    }
    path_of(p, sizeof p, f->m, "zlink");
    assert_int_equal(symlink("sub/secret.txt", p), 0);
    path_of(p, sizeof p, f->m, "zdir");
    assert_int_equal(symlink("sub/inner", p), 0);

    /* the SHA-256 the outside content has, as the scanner computes it */
    dsr_scan_opts so = { .version = DSR_SCAN_OPTS_VERSION, .root = f->outside, .jobs = 1 };
    dsr_scan_result *r = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    assert_int_equal(dsr_scan(&so, &r, &err), 0);
    assert_true(r->n_artifacts >= 1);
    assert_string_equal(r->artifacts[0].relative_path, "inner/secret.txt");
    memcpy(f->secret_sha, r->artifacts[0].sha256, 65);
    dsr_scan_result_free(r);
    return f;
}

static void free_fixture(fixture *f)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* m/sub becomes a link to T/outside (the real folder kept as m/subold). */
static void swap_out(const fixture *f)
{
    if (rename(f->sub, f->subold) == 0)
        (void)!symlink(f->outside, f->sub);
}

/* m/sub is the real folder again. */
static void swap_back(const fixture *f)
{
    struct stat st;
    if (lstat(f->subold, &st) != 0)
        return;
    (void)unlink(f->sub);
    (void)rename(f->subold, f->sub);
}

/* Number of artifacts whose content is the outside secret. */
static int outside_hashed(const fixture *f, const dsr_scan_result *r)
{
    int n = 0;
    for (size_t i = 0; i < r->n_artifacts; i++)
        if (!strcmp(r->artifacts[i].sha256, f->secret_sha)) {
            print_error("artifact %s has the outside file's content\n",
                        r->artifacts[i].relative_path);
            n++;
        }
    return n;
}

/* ---- deterministic: swapped right after zlink was listed ---------------- */

typedef struct hook {
    const fixture *f;
    int            fired;
} hook;

static void on_listed(void *ctx, const char *rel)
{
    hook *h = ctx;
    if (!strcmp(rel, "zlink")) {
        swap_out(h->f);
        h->fired = 1;
    }
}

static void test_folder_swapped_for_a_link_after_the_walk_is_not_followed(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    for (int plain = 0; plain <= 1; plain++) {
        hook h = { f, 0 };
        dsr_scan_opts so = { .version = DSR_SCAN_OPTS_VERSION, .root = f->m, .jobs = 2, .on_listed = on_listed,
                             .on_listed_ctx = &h, .plain_io = plain };
        dsr_scan_result *r = NULL;
        dsr_err err;
        dsr_err_clear(&err);
        assert_int_equal(dsr_scan(&so, &r, &err), 0);
        assert_true(h.fired);
        assert_int_equal(outside_hashed(f, r), 0);
        /* zlink is reported, not silently dropped: skipped with a warning */
        int warned = 0;
        for (size_t i = 0; i < r->n_warnings; i++)
            warned |= !strcmp(r->warnings[i].path, "zlink");
        for (size_t i = 0; i < r->n_artifacts; i++)
            assert_string_not_equal(r->artifacts[i].relative_path, "zlink");
        assert_true(warned);
        dsr_scan_result_free(r);
        swap_back(f);
    }
    free_fixture(f);
}

/* ---- race: a swapper thread ------------------------------------------------ */

typedef struct swapper {
    const fixture *f;
    atomic_int     stop;
    long           flips;
} swapper;

static void *swap_loop(void *arg)
{
    swapper *s = arg;
    while (!atomic_load(&s->stop)) {
        swap_out(s->f);
        sched_yield();
        swap_back(s->f);
        s->flips++;
        sched_yield();
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_swapper_thread_never_leads_a_scan_outside(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    swapper s = { .f = f };
    atomic_init(&s.stop, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, swap_loop, &s), 0);
    int leaks = 0, scans = 0, via_link = 0;
    double t0 = now_s();
    /* bounded: 400 scans or 5 seconds, whichever comes first */
    for (; scans < 400 && now_s() - t0 < 5.0; scans++) {
        dsr_scan_opts so = { .version = DSR_SCAN_OPTS_VERSION, .root = f->m, .jobs = 2, .plain_io = scans & 1 };
        dsr_scan_result *r = NULL;
        dsr_err err;
        dsr_err_clear(&err);
        int rc = dsr_scan(&so, &r, &err);
        if (rc) {
            print_error("scan %d: %s\n", scans, err.msg);
            fail();
        }
        leaks += outside_hashed(f, r);
        for (size_t i = 0; i < r->n_artifacts; i++)
            via_link += !strncmp(r->artifacts[i].relative_path, "zdir/", 5) ||
                        !strcmp(r->artifacts[i].relative_path, "zlink");
        dsr_scan_result_free(r);
    }
    atomic_store(&s.stop, 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    swap_back(f);
    print_message("%d scans, %ld flips, %d artifacts through links\n", scans, s.flips, via_link);
    free_fixture(f);
    assert_int_equal(leaks, 0);
    assert_true(scans > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folder_swapped_for_a_link_after_the_walk_is_not_followed),
        cmocka_unit_test(test_swapper_thread_never_leads_a_scan_outside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

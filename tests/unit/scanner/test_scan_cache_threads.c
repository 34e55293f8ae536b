/*
 * test_scan_cache_threads.c - how dsr_scan uses an incremental cache (the
 * cache_lookup hook), independent of where the cache lives.  The test's
 * lookup hands out entries whose SHA-256 is deliberately FAKE: a result that
 * carries the fake hash proves the scanner reused the cache instead of
 * hashing, one that carries the real hash proves it read the file.  Scans
 * run on 4 workers, so the file also runs under ThreadSanitizer.
 *
 * LABELS: tsan (runs in the ThreadSanitizer suite too)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <xxhash.h>

#include "dossier/scan.h"

#define N_FILES 40
#define BIG     (700u * 1024u + 3u)   /* spans several 256 KiB read blocks */

static char root[64];
static const char FAKE_HEX[] =
    "fa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4e";

/* What the test's cache says about a path (index = file number). */
typedef struct fake_cache {
    int          has[N_FILES + 1];
    dsr_scan_cached e[N_FILES + 1];
    int          calls;
    int          out_of_order;
    char         last[256];
} fake_cache;

static void path_of(int i, char *out, size_t n)
{
    if (i == N_FILES)
        snprintf(out, n, "big/blob.bin");
    else
        snprintf(out, n, "d%d/f%02d.%s", i % 3, i, i % 2 ? "md" : "bin");
}

static int index_of(const char *rel)
{
    char p[256];
    for (int i = 0; i <= N_FILES; i++) {
        path_of(i, p, sizeof p);
        if (!strcmp(p, rel))
            return i;
    }
    return -1;
}

/* walk order: components compared in turn */
static int walk_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned ca = *a == '/' ? 0 : (unsigned char)*a, cb = *b == '/' ? 0 : (unsigned char)*b;
        if (!*a || !*b || ca != cb)
            return *a && *b ? (int)ca - (int)cb : (*a ? 1 : *b ? -1 : 0);
    }
}

static int lookup(void *ctx, const char *rel, dsr_scan_cached *out)
{
    fake_cache *fc = ctx;
    fc->calls++;
    if (fc->last[0] && walk_cmp(fc->last, rel) >= 0)
        fc->out_of_order++;
    snprintf(fc->last, sizeof fc->last, "%s", rel);
    int i = index_of(rel);
    if (i < 0 || !fc->has[i])
        return 0;
    *out = fc->e[i];
    return 1;
}

static void write_file(const char *rel, size_t n, char seed)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    for (size_t k = 0; k < n; k++)
        fputc(seed + (int)(k % 23), f);
    assert_int_equal(fclose(f), 0);
    /* an old mtime: not racy */
    struct timespec ts[2] = { { 1500000000, 0 }, { 1500000000, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static size_t size_of(int i)
{
    return i == N_FILES ? BIG : 100 + (size_t)i * 53;
}

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/dossier-cache-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    char p[640];
    for (int d = 0; d < 3; d++) {
        snprintf(p, sizeof p, "%s/d%d", root, d);
        if (mkdir(p, 0755))
            return -1;
    }
    snprintf(p, sizeof p, "%s/big", root);
    if (mkdir(p, 0755))
        return -1;
    for (int i = 0; i <= N_FILES; i++) {
        path_of(i, p, sizeof p);
        write_file(p, size_of(i), 'a');
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

/* The true entry of file i: its stat tuple and real digests. */
static void true_entry(int i, dsr_scan_cached *e)
{
    char rel[256], p[640];
    path_of(i, rel, sizeof rel);
    snprintf(p, sizeof p, "%s/%s", root, rel);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    memset(e, 0, sizeof *e);
    e->dev = (uint64_t)st.st_dev;
    e->ino = (uint64_t)st.st_ino;
    e->size = (uint64_t)st.st_size;
    e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    e->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    XXH128_hash_t x = XXH3_128bits(buf, (size_t)st.st_size);
    e->xxh3_high = x.high64;
    e->xxh3_low = x.low64;
    SHA256(buf, (size_t)st.st_size, e->sha256);
    free(buf);
}

static void real_hex(int i, char out[65])
{
    dsr_scan_cached e;
    true_entry(i, &e);
    for (int k = 0; k < 32; k++)
        snprintf(out + 2 * k, 3, "%02x", e.sha256[k]);
}

static void make_fake(dsr_scan_cached *e)
{
    for (int k = 0; k < 32; k++)
        e->sha256[k] = (unsigned char)(k % 2 ? 0x4e : 0xfa);
}

static dsr_scan_result *scan(fake_cache *fc, int mode)
{
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = root, .jobs = 4, .cache_lookup = lookup, .cache_ctx = fc,
                        .cache_mode = mode };
    dsr_scan_result *r = NULL;
    dsr_err err;
    int rc = dsr_scan(&o, &r, &err);
    if (rc)
        fail_msg("scan failed: %s", err.msg);
    return r;
}

static const dsr_artifact *art(const dsr_scan_result *r, int i)
{
    char rel[256];
    path_of(i, rel, sizeof rel);
    for (size_t k = 0; k < r->n_artifacts; k++)
        if (!strcmp(r->artifacts[k].relative_path, rel))
            return &r->artifacts[k];
    fail_msg("%s not in the result", rel);
    return NULL;
}

/* A cache that knows every file with its true stat tuple and XXH3 but a
 * fake SHA-256 (FAKE_HEX): a result carrying FAKE_HEX was taken from it. */
static void fill_fake(fake_cache *fc)
{
    memset(fc, 0, sizeof *fc);
    for (int i = 0; i <= N_FILES; i++) {
        true_entry(i, &fc->e[i]);
        make_fake(&fc->e[i]);
        fc->has[i] = 1;
    }
}

static void test_lookups_come_once_per_file_in_walk_order(void **state)
{
    (void)state;
    fake_cache fc;
    memset(&fc, 0, sizeof fc);
    dsr_scan_result *r = scan(&fc, DSR_SCAN_CACHE_USE);
    assert_int_equal(fc.calls, N_FILES + 1);
    assert_int_equal(fc.out_of_order, 0);
    for (size_t k = 0; k < r->n_artifacts; k++)
        assert_int_equal(r->artifacts[k].cache_use, DSR_CACHE_MISS);
    dsr_scan_result_free(r);
}

static void test_unchanged_stat_tuple_reuses_digests_without_reading(void **state)
{
    (void)state;
    fake_cache fc;
    fill_fake(&fc);
    dsr_scan_result *r = scan(&fc, DSR_SCAN_CACHE_USE);
    for (int i = 0; i <= N_FILES; i++) {
        const dsr_artifact *a = art(r, i);
        assert_string_equal(a->sha256, FAKE_HEX);   /* never read */
        assert_int_equal(a->cache_use, DSR_CACHE_STAT);
        assert_true(a->present);
        assert_int_equal(a->size_bytes, size_of(i));
    }
    assert_int_equal(r->n_cache_stat, N_FILES + 1);
    dsr_scan_result_free(r);
}

static void test_same_size_mtime_change_reuses_sha_when_xxh3_matches(void **state)
{
    (void)state;
    fake_cache fc;
    fill_fake(&fc);
    for (int i = 0; i <= N_FILES; i++) {
        fc.e[i].mtime_ns -= 5000000000LL;   /* the file was touched since */
    }
    dsr_scan_result *r = scan(&fc, DSR_SCAN_CACHE_USE);
    for (int i = 0; i <= N_FILES; i++) {
        const dsr_artifact *a = art(r, i);
        assert_string_equal(a->sha256, FAKE_HEX);   /* read for XXH3, SHA reused */
        assert_int_equal(a->cache_use, DSR_CACHE_XXH3);
    }
    assert_int_equal(r->n_cache_xxh3, N_FILES + 1);
    dsr_scan_result_free(r);
}

static void test_same_size_change_with_other_content_is_hashed(void **state)
{
    (void)state;
    fake_cache fc;
    fill_fake(&fc);
    for (int i = 0; i <= N_FILES; i++) {
        fc.e[i].mtime_ns -= 5000000000LL;
        fc.e[i].xxh3_low ^= 1;              /* the content is not what was cached */
    }
    dsr_scan_result *r = scan(&fc, DSR_SCAN_CACHE_USE);
    for (int i = 0; i <= N_FILES; i++) {
        char want[65];
        real_hex(i, want);
        const dsr_artifact *a = art(r, i);
        /* the big file takes the second full pass; small ones the buffer */
        assert_string_equal(a->sha256, want);
        assert_int_equal(a->cache_use, DSR_CACHE_MISS);
    }
    dsr_scan_result_free(r);
}

static void test_racy_entry_is_reread_even_with_unchanged_stat(void **state)
{
    (void)state;
    fake_cache fc;
    fill_fake(&fc);
    for (int i = 0; i <= N_FILES; i++) {
        fc.e[i].racy = 1;
        if (i % 2)
            fc.e[i].xxh3_high ^= 1;     /* odd files: changed within the same tick */
    }
    dsr_scan_result *r = scan(&fc, DSR_SCAN_CACHE_USE);
    for (int i = 0; i <= N_FILES; i++) {
        const dsr_artifact *a = art(r, i);
        if (i % 2) {
            char want[65];
            real_hex(i, want);
            assert_string_equal(a->sha256, want);
            assert_int_equal(a->cache_use, DSR_CACHE_MISS);
        } else {
            assert_string_equal(a->sha256, FAKE_HEX);
            assert_int_equal(a->cache_use, DSR_CACHE_XXH3);   /* re-read, not trusted */
        }
    }
    assert_int_equal(r->n_cache_stat, 0);
    dsr_scan_result_free(r);
}

static void test_size_change_is_hashed_in_full(void **state)
{
    (void)state;
    fake_cache fc;
    fill_fake(&fc);
    for (int i = 0; i <= N_FILES; i++) {
        fc.e[i].size += 1;
    }
    dsr_scan_result *r = scan(&fc, DSR_SCAN_CACHE_USE);
    for (int i = 0; i <= N_FILES; i++) {
        char want[65];
        real_hex(i, want);
        assert_string_equal(art(r, i)->sha256, want);
        assert_int_equal(art(r, i)->cache_use, DSR_CACHE_MISS);
    }
    dsr_scan_result_free(r);
}

static void test_rehash_ignores_cache_and_flags_stale_entries(void **state)
{
    (void)state;
    fake_cache fc;
    memset(&fc, 0, sizeof fc);
    for (int i = 0; i <= N_FILES; i++) {
        true_entry(i, &fc.e[i]);
        if (i % 4 == 0)
            make_fake(&fc.e[i]);   /* content changed behind an unchanged stat tuple */
        fc.has[i] = 1;
    }
    fc.e[1].racy = 1;               /* a racy entry proves nothing: never "stale" */
    make_fake(&fc.e[1]);
    fc.e[4].ctime_ns -= 1;          /* mtime restored after an edit: still stale */
    fc.e[2].mtime_ns -= 1;          /* a visible mtime change is no staleness */
    make_fake(&fc.e[2]);
    dsr_scan_result *r = scan(&fc, DSR_SCAN_CACHE_REHASH);
    size_t stale = 0;
    for (int i = 0; i <= N_FILES; i++) {
        char want[65];
        real_hex(i, want);
        const dsr_artifact *a = art(r, i);
        assert_string_equal(a->sha256, want);
        assert_int_equal(a->cache_use, DSR_CACHE_MISS);
        assert_int_equal(a->cache_stale, i % 4 == 0);
        stale += a->cache_stale;
    }
    assert_int_equal(r->n_cache_stale, stale);
    dsr_scan_result_free(r);
}

static void test_cached_and_uncached_results_are_identical(void **state)
{
    (void)state;
    fake_cache none, fc;
    memset(&none, 0, sizeof none);
    memset(&fc, 0, sizeof fc);
    for (int i = 0; i <= N_FILES; i++) {
        true_entry(i, &fc.e[i]);
        fc.has[i] = 1;
    }
    dsr_scan_result *a = scan(&none, DSR_SCAN_CACHE_USE);
    dsr_scan_result *b = scan(&fc, DSR_SCAN_CACHE_USE);
    assert_int_equal(a->n_artifacts, b->n_artifacts);
    for (size_t k = 0; k < a->n_artifacts; k++) {
        const dsr_artifact *x = &a->artifacts[k], *y = &b->artifacts[k];
        assert_string_equal(x->relative_path, y->relative_path);
        assert_string_equal(x->artifact_key, y->artifact_key);
        assert_string_equal(x->sha256, y->sha256);
        assert_int_equal(x->size_bytes, y->size_bytes);
        assert_int_equal(x->xxh3_high, y->xxh3_high);
        assert_int_equal(x->xxh3_low, y->xxh3_low);
        assert_int_equal(x->mtime_ns, y->mtime_ns);
        assert_int_equal(x->ino, y->ino);
        assert_int_equal(x->present, y->present);
        assert_int_equal(y->cache_use, DSR_CACHE_STAT);
    }
    dsr_scan_result_free(a);
    dsr_scan_result_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookups_come_once_per_file_in_walk_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_stat_tuple_reuses_digests_without_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_size_mtime_change_reuses_sha_when_xxh3_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_size_change_with_other_content_is_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racy_entry_is_reread_even_with_unchanged_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_change_is_hashed_in_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehash_ignores_cache_and_flags_stale_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_and_uncached_results_are_identical, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

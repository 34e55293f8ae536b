/*
 * test_scan_cache_log.c - the scan cache stored in the log
 * (dossier/scan_cache.h) and how dsr_record_scan maintains it and emits
 * changed-mode runs: lookups are a merge join in walk order, files gone
 * become stale and are deleted, entries are written only for hashes the log
 * records, racy entries are flagged, and --emit changed emits only what
 * changed plus removals.  Single-threaded (no dsr_scan here).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "dossier/log.h"
#include "dossier/record.h"
#include "dossier/scan_cache.h"

typedef struct fixture {
    char    *dir;
    dsr_log *log;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char tmpl[] = "/tmp/dossier-sclog-XXXXXX";
    if (!f || !mkdtemp(tmpl))
        return -1;
    f->dir = strdup(tmpl);
    dsr_err err;
    if (dsr_log_open(&f->log, f->dir, 0, &err))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dsr_log_close(f->log);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f->dir);
    free(f);
    return rc == 0 ? 0 : -1;
}

static dsr_scan_cached entry(uint64_t ino, unsigned char fill)
{
    dsr_scan_cached e;
    memset(&e, 0, sizeof e);
    e.dev = 7;
    e.ino = ino;
    e.size = 100 + ino;
    e.mtime_ns = 1500000000000000000LL + (int64_t)ino;
    e.ctime_ns = e.mtime_ns + 1;
    e.xxh3_high = ino * 3;
    e.xxh3_low = ino * 5;
    memset(e.sha256, fill, 32);
    return e;
}

static void put_entries(fixture *f, const char *feature, const char *const *paths, size_t n)
{
    dsr_log_batch *b = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    for (size_t i = 0; i < n; i++) {
        dsr_scan_cached e = entry(i + 1, (unsigned char)(i + 1));
        assert_int_equal(dsr_scan_cache_put(b, feature, paths[i], &e, &err), 0);
    }
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
}

static int count_entries_cb(void *ud, const char *feature, const char *rel,
                            const dsr_scan_cached *v)
{
    (void)feature; (void)rel; (void)v;
    (*(size_t *)ud)++;
    return 0;
}

static size_t count_entries(fixture *f, const char *feature)
{
    size_t n = 0;
    dsr_err err;
    assert_int_equal(dsr_scan_cache_each(f->log, feature, count_entries_cb, &n, &err), 0);
    return n;
}

static void test_lookup_merge_join_follows_walk_order(void **state)
{
    fixture *f = *state;
    /* byte order of plain paths would put "a-b" and "a.txt" before "a/b" */
    static const char *const paths[] = { "a/b", "a/c/d", "a-b", "a.txt", "ab/c", "b" };
    put_entries(f, "feat", paths, 6);
    static const char *const other[] = { "a/b" };
    put_entries(f, "feat2", other, 1);   /* another feature's entries stay invisible */
    dsr_scan_cache *c = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan_cache_open(f->log, "feat", &c, &err), 0);
    dsr_scan_cached out;
    /* the scanner's walk order: a/..., a-b, a.txt, ab/..., (b is gone) */
    assert_int_equal(dsr_scan_cache_lookup(c, "a/b", &out), 1);
    assert_int_equal(out.ino, 1);
    assert_int_equal(dsr_scan_cache_lookup(c, "a/bb", &out), 0);
    assert_int_equal(dsr_scan_cache_lookup(c, "a/c/d", &out), 1);
    assert_int_equal(out.ino, 2);
    assert_int_equal(dsr_scan_cache_lookup(c, "a-b", &out), 1);
    assert_int_equal(out.ino, 3);
    assert_int_equal(dsr_scan_cache_lookup(c, "a.txt", &out), 1);
    assert_int_equal(out.ino, 4);
    assert_int_equal(dsr_scan_cache_lookup(c, "ab/c", &out), 1);
    assert_int_equal(out.ino, 5);
    assert_int_equal(out.size, 105);
    assert_int_equal(out.sha256[31], 5);
    assert_int_equal(dsr_scan_cache_finish(c, &err), 0);
    assert_int_equal(dsr_scan_cache_stale_count(c), 1);
    assert_string_equal(dsr_scan_cache_stale_at(c, 0), "b");
    assert_int_equal(dsr_scan_cache_hits(c), 5);
    dsr_scan_cache_free(c);
}

static void test_out_of_order_lookup_falls_back_to_a_point_read(void **state)
{
    fixture *f = *state;
    static const char *const paths[] = { "x/1", "x/2", "y" };
    put_entries(f, "feat", paths, 3);
    dsr_scan_cache *c = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan_cache_open(f->log, "feat", &c, &err), 0);
    dsr_scan_cached out;
    assert_int_equal(dsr_scan_cache_lookup(c, "y", &out), 1);
    assert_int_equal(dsr_scan_cache_lookup(c, "x/2", &out), 1);
    assert_int_equal(out.ino, 2);
    assert_int_equal(dsr_scan_cache_lookup(c, "x/0", &out), 0);
    assert_int_equal(dsr_scan_cache_finish(c, &err), 0);
    dsr_scan_cache_free(c);
}

static void test_entry_is_racy_when_mtime_is_near_the_scan_start(void **state)
{
    (void)state;
    dsr_artifact a;
    memset(&a, 0, sizeof a);
    memset(a.sha256, 'a', 64);
    a.sha256[0] = '0';
    a.sha256[1] = 'f';
    int64_t start = 1700000000000000000LL;
    dsr_scan_cached e;
    a.mtime_ns = start - DSR_SCAN_CACHE_RACY_NS - 1;
    dsr_scan_cache_entry_of(&a, start, &e);
    assert_false(e.racy);
    assert_int_equal(e.sha256[0], 0x0f);
    assert_int_equal(e.sha256[1], 0xaa);
    a.mtime_ns = start - DSR_SCAN_CACHE_RACY_NS;        /* within the granularity */
    dsr_scan_cache_entry_of(&a, start, &e);
    assert_true(e.racy);
    a.mtime_ns = start + 5;                              /* modified during the scan */
    dsr_scan_cache_entry_of(&a, start, &e);
    assert_true(e.racy);
}

/* ---- recording ---------------------------------------------------------------- */

static char keys[8][32], paths_[8][32];

static void art(dsr_artifact *a, int i, char hash_fill, dsr_cache_use use)
{
    memset(a, 0, sizeof *a);
    snprintf(keys[i], sizeof keys[i], "path:f%d.bin", i);
    snprintf(paths_[i], sizeof paths_[i], "f%d.bin", i);
    a->artifact_key = keys[i];
    a->relative_path = paths_[i];
    a->artifact_class = "evidence";
    a->present = 1;
    memset(a->sha256, hash_fill, 64);
    a->size_bytes = 10 + (uint64_t)i;
    a->dev = 1;
    a->ino = 100 + (uint64_t)i;
    a->mtime_ns = 1500000000000000000LL;
    a->ctime_ns = a->mtime_ns;
    a->cache_use = use;
}

static dsr_scan_result result(dsr_artifact *arts, size_t n)
{
    dsr_scan_result r;
    memset(&r, 0, sizeof r);
    r.feature_slug = "feat";
    r.artifacts = arts;
    r.n_artifacts = n;
    r.started_ns = 1700000000000000000LL;
    for (size_t i = 0; i < n; i++)
        r.n_present += arts[i].present != 0;
    return r;
}

static void test_record_writes_entries_only_for_recorded_hashes(void **state)
{
    fixture *f = *state;
    dsr_artifact arts[5];
    art(&arts[0], 0, 'a', DSR_CACHE_MISS);     /* hashed now: written */
    art(&arts[1], 1, 'b', DSR_CACHE_XXH3);     /* new stat tuple: written */
    art(&arts[2], 2, 'c', DSR_CACHE_STAT);     /* unchanged: not rewritten */
    art(&arts[3], 3, 'd', DSR_CACHE_MISS);
    arts[3].artifact_class = "bogus";          /* refused by the emitter: never cached */
    art(&arts[4], 4, 'e', DSR_CACHE_MISS);
    arts[4].present = 0;                       /* became unusable: its entry goes */
    arts[4].reason = DSR_REASON_INVALID_FORMAT;
    static const char *const old[] = { "f4.bin" };
    put_entries(f, "feat", old, 1);
    dsr_scan_cache *c = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan_cache_open(f->log, "feat", &c, &err), 0);
    assert_int_equal(dsr_scan_cache_finish(c, &err), 0);
    assert_int_equal(dsr_scan_cache_stale_count(c), 1);   /* nothing looked up */
    dsr_scan_result r = result(arts, 5);
    dsr_record_opts o = { .version = DSR_RECORD_OPTS_VERSION, .cache = c };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    assert_int_equal(dsr_record_scan(f->log, &r, &o, &st, &err), DSR_ESCHEMA);
    assert_false(st.completed);
    dsr_scan_cache_free(c);
    dsr_scan_cached e;
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "f0.bin", &e, &err), 0);
    assert_int_equal(e.ino, 100);
    assert_int_equal(e.size, 10);
    assert_int_equal(e.sha256[0], 0xaa);
    assert_false(e.racy);
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "f1.bin", &e, &err), 0);
    assert_int_equal(e.sha256[0], 0xbb);
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "f2.bin", &e, &err), DSR_ENOTFOUND);
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "f3.bin", &e, &err), DSR_ENOTFOUND);
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "f4.bin", &e, &err), DSR_ENOTFOUND);
    assert_int_equal(count_entries(f, "feat"), 2);
    assert_int_equal(st.cache_put, 2);
}

static void test_record_deletes_stale_entries_of_files_gone(void **state)
{
    fixture *f = *state;
    static const char *const old[] = { "f0.bin", "gone/one", "gone/two" };
    put_entries(f, "feat", old, 3);
    dsr_scan_cache *c = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan_cache_open(f->log, "feat", &c, &err), 0);
    dsr_scan_cached out;
    assert_int_equal(dsr_scan_cache_lookup(c, "f0.bin", &out), 1);
    assert_int_equal(dsr_scan_cache_finish(c, &err), 0);
    assert_int_equal(dsr_scan_cache_stale_count(c), 2);
    dsr_artifact arts[1];
    art(&arts[0], 0, 'a', DSR_CACHE_STAT);
    dsr_scan_result r = result(arts, 1);
    dsr_record_opts o = { .version = DSR_RECORD_OPTS_VERSION, .cache = c, .batch_events = 1 };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    assert_int_equal(dsr_record_scan(f->log, &r, &o, &st, &err), 0);
    assert_true(st.completed);
    assert_int_equal(st.cache_del, 2);
    dsr_scan_cache_free(c);
    assert_int_equal(count_entries(f, "feat"), 1);
}

static void test_record_refuses_a_cache_of_another_feature(void **state)
{
    fixture *f = *state;
    dsr_scan_cache *c = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan_cache_open(f->log, "other", &c, &err), 0);
    assert_int_equal(dsr_scan_cache_finish(c, &err), 0);
    dsr_artifact arts[1];
    art(&arts[0], 0, 'a', DSR_CACHE_MISS);
    dsr_scan_result r = result(arts, 1);
    dsr_record_opts o = { .version = DSR_RECORD_OPTS_VERSION, .cache = c };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    assert_int_equal(dsr_record_scan(f->log, &r, &o, &st, &err), DSR_EINVAL);
    assert_int_equal(dsr_log_head(f->log), 0);
    dsr_scan_cache_free(c);
}

/* Events of the log by type; the completion payload's emit_mode/removed_count. */
static void tally(fixture *f, int counts[DSR_EV_COUNT], char *mode, size_t mode_n,
                  int64_t *removed_count)
{
    dsr_err err;
    dsr_log_iter *it = NULL;
    assert_int_equal(dsr_log_iter_events(f->log, 1, &it, &err), 0);
    const void *k, *v;
    size_t kl, vl;
    memset(counts, 0, sizeof(int) * DSR_EV_COUNT);
    while (dsr_log_iter_next(it, &k, &kl, &v, &vl, &err) == 1) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        assert_int_equal(dsr_record_decode(v, vl, &u, &env, &err), 0);
        counts[env.type]++;
        if (env.type == DSR_EV_SCAN_COMPLETED) {
            const msgpack_object_map *m = &env.payload->via.map;
            for (uint32_t i = 0; i < m->size; i++) {
                const msgpack_object *key = &m->ptr[i].key, *val = &m->ptr[i].val;
                if (key->via.str.size == 9 && !memcmp(key->via.str.ptr, "emit_mode", 9))
                    snprintf(mode, mode_n, "%.*s", (int)val->via.str.size, val->via.str.ptr);
                if (key->via.str.size == 13 && !memcmp(key->via.str.ptr, "removed_count", 13))
                    *removed_count = val->via.i64;
            }
        }
        msgpack_unpacked_destroy(&u);
    }
    dsr_log_iter_free(it);
}

static void test_changed_mode_emits_new_changed_and_removed_only(void **state)
{
    fixture *f = *state;
    dsr_artifact arts[4];
    art(&arts[0], 0, 'a', DSR_CACHE_STAT);   /* unchanged */
    art(&arts[1], 1, 'b', DSR_CACHE_MISS);   /* content changed */
    art(&arts[2], 2, 'c', DSR_CACHE_MISS);   /* new */
    art(&arts[3], 3, 'd', DSR_CACHE_MISS);   /* class changed (manifest edit) */
    char ha[65], hb_old[65], hd[65];
    memset(ha, 'a', 64); ha[64] = '\0';
    memset(hb_old, '1', 64); hb_old[64] = '\0';
    memset(hd, 'd', 64); hd[64] = '\0';
    dsr_record_prev prev[4] = {
        { "path:f0.bin", "f0.bin", "evidence", ha, 0 },
        { "path:f1.bin", "f1.bin", "evidence", hb_old, 0 },
        { "path:f3.bin", "f3.bin", "output", hd, 0 },
        { "path:old.bin", "old.bin", "evidence", ha, 0 },   /* gone */
    };
    dsr_scan_result r = result(arts, 4);
    dsr_record_opts o = { .version = DSR_RECORD_OPTS_VERSION, .emit_changed = 1, .prev = prev, .n_prev = 4 };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    dsr_err err;
    assert_int_equal(dsr_record_scan(f->log, &r, &o, &st, &err), 0);
    assert_true(st.completed);
    assert_int_equal(st.indexed, 3);
    assert_int_equal(st.unchanged, 1);
    assert_int_equal(st.removed, 1);
    int counts[DSR_EV_COUNT];
    char mode[16] = "";
    int64_t removed = -1;
    tally(f, counts, mode, sizeof mode, &removed);
    assert_int_equal(counts[DSR_EV_ARTIFACT_INDEXED], 3);
    assert_int_equal(counts[DSR_EV_ARTIFACT_REMOVED], 1);
    assert_int_equal(counts[DSR_EV_SCAN_COMPLETED], 1);
    assert_string_equal(mode, "changed");
    assert_int_equal(removed, 1);
}

static void test_changed_mode_removes_artifacts_that_became_unusable(void **state)
{
    fixture *f = *state;
    dsr_artifact arts[2];
    art(&arts[0], 0, 'a', DSR_CACHE_STAT);
    art(&arts[1], 1, 'b', DSR_CACHE_MISS);
    arts[1].present = 0;                     /* optional, now invalid UTF-8 */
    arts[1].reason = DSR_REASON_INVALID_FORMAT;
    char ha[65], hb[65];
    memset(ha, 'a', 64); ha[64] = '\0';
    memset(hb, 'b', 64); hb[64] = '\0';
    dsr_record_prev prev[2] = {
        { "path:f0.bin", "f0.bin", "evidence", ha, 0 },
        { "path:f1.bin", "f1.bin", "evidence", hb, 0 },
    };
    dsr_scan_result r = result(arts, 2);
    dsr_record_opts o = { .version = DSR_RECORD_OPTS_VERSION, .emit_changed = 1, .prev = prev, .n_prev = 2 };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    dsr_err err;
    assert_int_equal(dsr_record_scan(f->log, &r, &o, &st, &err), 0);
    assert_int_equal(st.indexed, 0);
    assert_int_equal(st.removed, 1);
    assert_int_equal(st.missing, 0);
}

/* A version-1 value as the previous format wrote it, byte for byte: 90
 * bytes, little-endian (version, flags, dev, ino, size, mtime, ctime, xxh3
 * high and low, SHA-256). */
static void v1_value(unsigned char v[90], uint64_t ino)
{
    uint64_t f[7] = { 7, ino, 100 + ino, 1500000000000000000ULL + ino,
                      1500000000000000001ULL + ino, ino * 3, ino * 5 };
    v[0] = 1;
    v[1] = 0;
    for (int k = 0; k < 7; k++)
        for (int i = 0; i < 8; i++)
            v[2 + 8 * k + i] = (unsigned char)(f[k] >> (8 * i));
    memset(v + 58, 0x5a, 32);
}

#define KEY(s) s, sizeof s - 1   /* a key literal (with its NUL bytes) and its length */

static void put_raw(fixture *f, const char *key, size_t klen, const void *v, size_t vlen)
{
    dsr_log_batch *b = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, DSR_SCAN_CACHE_CF, key, klen, v, vlen, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
}

/* Entries written by the previous version still hit; an entry of a file of
 * invalid UTF-8 round-trips with its offset; a damaged value (cut short,
 * unknown version or flags, an offset outside the file) is a miss that the
 * scan's finish lists for deletion, never a hit. */
static void test_old_format_entries_hit_and_damaged_ones_are_misses(void **state)
{
    fixture *f = *state;
    unsigned char v[98];
    v1_value(v, 4);
    put_raw(f, KEY("feat\0a\0old"), v, 90);   /* a/old: previous format */
    dsr_scan_cached bad = entry(5, 9);
    bad.utf8_invalid = 1;
    bad.utf8_bad_at = 17;
    dsr_log_batch *b = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(dsr_scan_cache_put(b, "feat", "b/invalid", &bad, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    put_raw(f, KEY("feat\0c\0short"), v, 89);   /* cut short */
    unsigned char w[98];
    memcpy(w, v, 90);
    w[0] = 3;
    put_raw(f, KEY("feat\0d\0version"), w, 90);   /* unknown version */
    memcpy(w, v, 90);
    w[1] = 0x80;
    put_raw(f, KEY("feat\0e\0flags"), w, 90);   /* unknown flag */
    memcpy(w, v, 90);
    w[0] = 2;
    memset(w + 90, 0xff, 8);
    put_raw(f, KEY("feat\0f\0offset"), w, 98);   /* offset past the size */

    dsr_scan_cached out;
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "a/old", &out, &err), 0);
    assert_int_equal(out.ino, 4);
    assert_int_equal(out.size, 104);
    assert_false(out.utf8_invalid);
    assert_int_equal(out.sha256[0], 0x5a);
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "b/invalid", &out, &err), 0);
    assert_true(out.utf8_invalid);
    assert_int_equal(out.utf8_bad_at, 17);
    assert_int_equal(out.sha256[31], 9);
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "c/short", &out, &err), DSR_ECORRUPT);
    assert_int_equal(dsr_scan_cache_get(f->log, "feat", "f/offset", &out, &err), DSR_ECORRUPT);

    dsr_scan_cache *c = NULL;
    assert_int_equal(dsr_scan_cache_open(f->log, "feat", &c, &err), 0);
    static const char *const walk[] = { "a/old", "b/invalid", "c/short", "d/version",
                                        "e/flags", "f/offset" };
    static const int hit[] = { 1, 1, 0, 0, 0, 0 };
    for (size_t i = 0; i < 6; i++)
        if (dsr_scan_cache_lookup(c, walk[i], &out) != hit[i])
            fail_msg("lookup of %s: expected %s", walk[i], hit[i] ? "a hit" : "a miss");
    assert_int_equal(dsr_scan_cache_finish(c, &err), 0);
    assert_int_equal(dsr_scan_cache_stale_count(c), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(dsr_scan_cache_stale_at(c, i), walk[2 + i]);
    dsr_scan_cache_free(c);
}

/* A path of n bytes with folders in it: "a/cde/ghi/...". */
static char *long_path(size_t n)
{
    char *p = malloc(n + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = i % 4 == 1 && i + 1 < n ? '/' : (char)('a' + i % 26);
    p[n] = '\0';
    return p;
}

static int find_path_cb(void *ud, const char *feature, const char *rel, const dsr_scan_cached *v)
{
    (void)feature; (void)v;
    const char **want = ud;
    if (*want && !strcmp(rel, *want))
        *want = NULL;   /* found */
    return 0;
}

/* Keys are built in place up to a size and in heap memory above it: paths
 * on both sides of that size, and far above it, are written, read back
 * under the same path, listed, and deleted alike. */
static void test_long_paths_are_written_read_and_deleted_alike(void **state)
{
    fixture *f = *state;
    static const size_t lens[] = { 1, 505, 506, 507, 508, 509, 510, 511, 512, 513, 4000 };
    size_t n = sizeof lens / sizeof lens[0];
    char *paths[sizeof lens / sizeof lens[0]];
    for (size_t i = 0; i < n; i++)
        paths[i] = long_path(lens[i]);
    put_entries(f, "feat", (const char *const *)paths, n);
    assert_int_equal(count_entries(f, "feat"), n);
    dsr_err err;
    for (size_t i = 0; i < n; i++) {
        dsr_scan_cached out;
        if (dsr_scan_cache_get(f->log, "feat", paths[i], &out, &err) != 0)
            fail_msg("path of %zu bytes: not read back: %s", lens[i], err.msg);
        assert_int_equal(out.ino, i + 1);
        const char *want = paths[i];
        assert_int_equal(dsr_scan_cache_each(f->log, "feat", find_path_cb, &want, &err), 0);
        if (want)
            fail_msg("path of %zu bytes: not listed under its own name", lens[i]);
    }
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(dsr_scan_cache_delete(b, "feat", paths[i], &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(count_entries(f, "feat"), 0);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup_merge_join_follows_walk_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_lookup_falls_back_to_a_point_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_is_racy_when_mtime_is_near_the_scan_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_writes_entries_only_for_recorded_hashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_deletes_stale_entries_of_files_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_refuses_a_cache_of_another_feature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_mode_emits_new_changed_and_removed_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_mode_removes_artifacts_that_became_unusable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_format_entries_hit_and_damaged_ones_are_misses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_paths_are_written_read_and_deleted_alike, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

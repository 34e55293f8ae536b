/*
 * test_warm_rescan.c - a warm rescan (scan cache in use) records what a
 * cold one (every file read: DSR_INGEST_REHASH) records, on real RocksDB
 * logs: for each change to a scanned tree, two logs that scanned the same
 * tree get a rescan each, one warm and one cold, in full and in changed
 * emission; the runs must hold the same events (type and payload, in
 * order), fold to the same snapshot and report the same unusable files.
 * The warm run must also have read exactly the files the change touched
 * (its count of unchanged, not-read files is checked): an unchanged file of
 * invalid UTF-8 is not read again, a changed one is.  Each table runs on the
 * tree as it is, which the scanner hashes on its calling thread (a small
 * tree), and with a folder of BULK more old files beside it, which starts
 * the worker pool and its batched stats and reads (scanner/scan.c).
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
#include <unistd.h>

#include <msgpack.h>

#include "dossier/dossier.h"
#include "test_tmp.h"

#define OLD_S 1577836800   /* 2020-01-01: far outside the racy window */

/* ---- the tree -------------------------------------------------------------- */

static void put(const char *root, const char *rel, const void *data, size_t n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void puts_(const char *root, const char *rel, const char *text)
{
    put(root, rel, text, strlen(text));
}

static void set_mtime(const char *root, const char *rel, time_t s)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    struct timespec ts[2] = { { s, 0 }, { s, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static struct timespec mtime_of(const char *root, const char *rel)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    assert_int_equal(stat(p, &st), 0);
    return st.st_mtim;
}

static const char *const OLD_FILES[] = {
    "a/keep1.md", "a/keep2.bin", "a/edit.md", "b/bad.md", "b/bad2.md", "c/move.bin",
};
#define N_OLD (sizeof OLD_FILES / sizeof OLD_FILES[0])

/* Old files in folder z of the tree when `bulk` is set (run_case): more than
 * a small tree holds. */
#define BULK 100
static int bulk;

/* Six files with an old mtime (two of them .md files of invalid UTF-8:
 * unusable) and b/racy.md written just now, inside the racy window of the
 * scans that follow (its entry is re-read by every rescan of the test);
 * with bulk, BULK old files more in z. */
static void make_tree(const char *root)
{
    static const char *const dirs[] = { "a", "b", "c" };
    char p[1024];
    assert_int_equal(mkdir(root, 0700), 0);
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0700), 0);
    }
    puts_(root, "a/keep1.md", "# kept\n");
    put(root, "a/keep2.bin", "\x00\x01\x02\x03\xfe\xff", 6);
    puts_(root, "a/edit.md", "edit me\n");
    puts_(root, "b/bad.md", "bad \xff\xfe bytes\n");
    puts_(root, "b/bad2.md", "truncated \xc3");
    puts_(root, "c/move.bin", "move me");
    for (size_t i = 0; i < N_OLD; i++)
        set_mtime(root, OLD_FILES[i], OLD_S);
    puts_(root, "b/racy.md", "racy text\n");
    if (!bulk)
        return;
    snprintf(p, sizeof p, "%s/z", root);
    assert_int_equal(mkdir(p, 0700), 0);
    for (int i = 0; i < BULK; i++) {
        char rel[32], text[64];
        snprintf(rel, sizeof rel, "z/f%03d.md", i);
        snprintf(text, sizeof text, "bulk file %d\n", i);
        puts_(root, rel, text);
        set_mtime(root, rel, OLD_S);
    }
}

/* ---- the changes ----------------------------------------------------------- */

static void ch_none(const char *r) { (void)r; }
static void ch_content(const char *r) { puts_(r, "a/edit.md", "edited, and longer now\n"); }
static void ch_added(const char *r) { puts_(r, "a/new.md", "new\n"); }

static void ch_removed(const char *r)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/a/keep1.md", r);
    assert_int_equal(unlink(p), 0);
}

static void ch_touched(const char *r)   /* rewritten with the same bytes */
{
    put(r, "a/keep2.bin", "\x00\x01\x02\x03\xfe\xff", 6);
}

static void ch_mtime_only(const char *r) { set_mtime(r, "a/keep1.md", OLD_S + 86400); }

/* other bytes of the same size in a file cached as racy, its mtime put back */
static void ch_racy_same_size(const char *r)
{
    struct timespec m = mtime_of(r, "b/racy.md");
    puts_(r, "b/racy.md", "RACY TEXT\n");
    char p[1024];
    snprintf(p, sizeof p, "%s/b/racy.md", r);
    struct timespec ts[2] = { m, m };
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void ch_renamed(const char *r)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/c/move.bin", r);
    snprintf(b, sizeof b, "%s/c/moved.bin", r);
    assert_int_equal(rename(a, b), 0);
}

static void ch_unusable_changed(const char *r) { puts_(r, "b/bad.md", "still \xff bad, elsewhere\n"); }
static void ch_unusable_fixed(const char *r) { puts_(r, "b/bad2.md", "truncated no more\n"); }
static void ch_became_unusable(const char *r) { puts_(r, "a/edit.md", "now \xc0\xaf bad\n"); }

/* a cached file replaced by a symlink to another cached file of its folder:
 * the walk follows it, and the stat tuple is the target's */
static void ch_symlinked(const char *r)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/a/keep2.bin", r);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink("keep1.md", p), 0);
}

static void ch_folder_added(const char *r)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/d", r);
    assert_int_equal(mkdir(p, 0700), 0);
    puts_(r, "d/one.md", "in a new folder\n");
    puts_(r, "d/two.bin", "and another");
}

static void ch_folder_removed(const char *r)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/c/move.bin", r);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/c", r);
    assert_int_equal(rmdir(p), 0);
}

typedef struct tcase {
    const char *name;
    void      (*change)(const char *root);
    size_t      not_read;   /* files the warm run must take from the cache unread */
    /* the unusable file the change leaves alone (must be unread), or NULL */
    const char *unusable_unread;
} tcase;

/* Before any change, the six old files are cached unread (b/racy.md is
 * always re-read); a change to one of them costs one. */
static const tcase CASES[] = {
    { "unchanged",                  ch_none,             6, "b/bad.md" },
    { "content changed",            ch_content,          5, "b/bad.md" },
    { "file added",                 ch_added,            6, "b/bad.md" },
    { "file removed",               ch_removed,          5, "b/bad.md" },
    { "touched, same content",      ch_touched,          5, "b/bad.md" },
    { "mtime changed only",         ch_mtime_only,       5, "b/bad.md" },
    { "same-size edit, racy entry", ch_racy_same_size,   6, "b/bad.md" },
    { "renamed",                    ch_renamed,          5, "b/bad.md" },
    { "unusable file changed",      ch_unusable_changed, 5, "b/bad2.md" },
    { "unusable file fixed",        ch_unusable_fixed,   5, "b/bad.md" },
    { "usable file became unusable", ch_became_unusable, 5, "b/bad.md" },
    { "replaced by a symlink",      ch_symlinked,        5, "b/bad.md" },
    { "folder added",               ch_folder_added,     6, "b/bad.md" },
    { "folder removed",             ch_folder_removed,   5, "b/bad.md" },
};

/* ---- one run and what it recorded ------------------------------------------ */

static void ingest(const char *root, const char *log, unsigned flags, dsr_ingest_report *rep,
                   const char *what)
{
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = root;
    o.log_dir = log;
    o.feature_slug = "warm";
    o.target_branch = "main";
    o.flags = flags;
    dsr_err err = { 0 };
    int rc = dsr_ingest_run(&o, rep, &err);
    if (rc)
        fail_msg("%s: %s", what, err.msg);
    assert_true(rep->record.completed);
}

/* The run's events as "type payload-json" lines, in order. */
static char *run_events(const char *logdir, const dsr_record_stats *st)
{
    dsr_log *log = tt_log_open(logdir, DSR_LOG_RDONLY);
    dsr_buf out = DSR_BUF_INIT, rec = DSR_BUF_INIT, json = DSR_BUF_INIT;
    dsr_err err = { 0 };
    for (uint64_t s = st->first_seq; s <= st->last_seq; s++) {
        dsr_buf_reset(&rec);
        assert_int_equal(dsr_log_get_event(log, s, &rec, &err), 0);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        assert_int_equal(dsr_record_decode(rec.data, rec.len, &u, &env, &err), 0);
        dsr_buf_reset(&json);
        assert_int_equal(dsr_msgpack_to_json(env.payload, &json), 0);
        assert_int_equal(dsr_buf_printf(&out, "%.*s %.*s\n", (int)env.event_type.len,
                                        env.event_type.ptr, (int)json.len, json.data), 0);
        msgpack_unpacked_destroy(&u);
    }
    dsr_buf_free(&rec);
    dsr_buf_free(&json);
    dsr_log_close(log);
    return out.data ? out.data : strdup("");
}

/* The unusable artifacts a run reports (kept after recording), one a line. */
static char *unusable_of(const dsr_scan_result *r)
{
    dsr_buf out = DSR_BUF_INIT;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (!a->present)
            assert_int_equal(dsr_buf_printf(&out, "%s %s %s %s\n", a->relative_path,
                                            dsr_reason_name(a->reason),
                                            a->reason_detail ? a->reason_detail : "",
                                            a->sha256), 0);
    }
    return out.data ? out.data : strdup("");
}

static const dsr_artifact *find(const dsr_scan_result *r, const char *rel)
{
    for (size_t i = 0; i < r->n_artifacts; i++)
        if (!strcmp(r->artifacts[i].relative_path, rel))
            return &r->artifacts[i];
    return NULL;
}

static void run_case(const tcase *tc, unsigned mode)
{
    char *dir = tt_mkdtemp("warm");
    char root[512], warm[512], cold[512];
    snprintf(root, sizeof root, "%s/m", dir);
    snprintf(warm, sizeof warm, "%s/warm", dir);
    snprintf(cold, sizeof cold, "%s/cold", dir);
    make_tree(root);
    /* both logs scan the tree as it was, twice (the second run is warm) */
    for (int i = 0; i < 2; i++) {
        dsr_ingest_report a = DSR_INGEST_REPORT_INIT, b = DSR_INGEST_REPORT_INIT;
        ingest(root, warm, mode, &a, "first scans");
        ingest(root, cold, mode, &b, "first scans");
        dsr_ingest_report_free(&a);
        dsr_ingest_report_free(&b);
    }
    tc->change(root);
    dsr_ingest_report w = DSR_INGEST_REPORT_INIT, c = DSR_INGEST_REPORT_INIT;
    ingest(root, warm, mode, &w, "warm rescan");
    ingest(root, cold, mode | DSR_INGEST_REHASH, &c, "cold rescan");
    const char *how = mode & DSR_INGEST_PLAIN_IO ? (bulk ? "changed, plain I/O, workers"
                                                         : "changed, plain I/O")
                    : mode & DSR_INGEST_EMIT_CHANGED ? (bulk ? "changed, workers" : "changed")
                    : bulk ? "full, workers" : "full";

    char *ew = run_events(warm, &w.record), *ec = run_events(cold, &c.record);
    if (strcmp(ew, ec))
        fail_msg("%s (%s): the warm run's events differ from the cold run's:\n"
                 "warm:\n%s\ncold:\n%s", tc->name, how, ew, ec);
    assert_non_null(w.snapshot);
    assert_non_null(c.snapshot);
    if (strcmp(w.snapshot->parity_hash_sha256, c.snapshot->parity_hash_sha256))
        fail_msg("%s (%s): warm snapshot %s, cold %s", tc->name, how,
                 w.snapshot->parity_hash_sha256, c.snapshot->parity_hash_sha256);
    char *uw = unusable_of(w.scan), *uc = unusable_of(c.scan);
    if (strcmp(uw, uc))
        fail_msg("%s (%s): unusable files differ:\nwarm:\n%s\ncold:\n%s", tc->name, how, uw, uc);
    size_t not_read = tc->not_read + (bulk ? BULK : 0);
    if (w.scan->n_cache_stat != not_read)
        fail_msg("%s (%s): %zu files taken from the cache unread, expected %zu", tc->name, how,
                 w.scan->n_cache_stat, not_read);
    assert_int_equal(c.scan->n_cache_stat, 0);
    const dsr_artifact *u = find(w.scan, tc->unusable_unread);
    if (!u || u->cache_use != DSR_CACHE_STAT)
        fail_msg("%s (%s): the unchanged unusable %s was read again", tc->name, how,
                 tc->unusable_unread);
    free(ew);
    free(ec);
    free(uw);
    free(uc);
    dsr_ingest_report_free(&w);
    dsr_ingest_report_free(&c);
    tt_rm_rf(dir);
}

static void test_warm_rescan_records_what_a_cold_one_does_full_emission(void **state)
{
    (void)state;
    for (bulk = 0; bulk < 2; bulk++)
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
            run_case(&CASES[i], 0);
    bulk = 0;
}

static void test_warm_rescan_records_what_a_cold_one_does_changed_emission(void **state)
{
    (void)state;
    for (bulk = 0; bulk < 2; bulk++)
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
            run_case(&CASES[i], DSR_INGEST_EMIT_CHANGED);
    bulk = 0;
}

/* Without io_uring the workers' cache checks stat each file with fstatat
 * instead of in batches on their rings: the same verdicts.  (A small tree
 * is hashed with plain system calls either way.) */
static void test_warm_rescan_records_what_a_cold_one_does_plain_io(void **state)
{
    (void)state;
    bulk = 1;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        run_case(&CASES[i], DSR_INGEST_EMIT_CHANGED | DSR_INGEST_PLAIN_IO);
    bulk = 0;
}

/* A changed unusable file is read (not taken from its entry), and one that
 * changed back to valid text becomes present. */
static void test_changed_unusable_file_is_read_again(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("warm");
    char root[512], log[512];
    snprintf(root, sizeof root, "%s/m", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    make_tree(root);
    dsr_ingest_report r = DSR_INGEST_REPORT_INIT;
    ingest(root, log, 0, &r, "first scan");
    dsr_ingest_report_free(&r);
    ch_unusable_changed(root);
    ingest(root, log, 0, &r, "rescan");
    const dsr_artifact *a = find(r.scan, "b/bad.md");
    assert_non_null(a);
    assert_int_equal(a->cache_use, DSR_CACHE_MISS);
    assert_int_equal(a->reason, DSR_REASON_INVALID_FORMAT);
    assert_string_equal(a->reason_detail, "invalid UTF-8 at byte offset 6");
    a = find(r.scan, "b/bad2.md");
    assert_non_null(a);
    assert_int_equal(a->cache_use, DSR_CACHE_STAT);
    assert_string_equal(a->reason_detail, "invalid UTF-8 at byte offset 10");
    dsr_ingest_report_free(&r);
    ch_unusable_fixed(root);
    ingest(root, log, 0, &r, "rescan after the fix");
    assert_null(find(r.scan, "b/bad2.md"));    /* present now: dropped after recording */
    assert_int_equal(r.scan->n_present, 6);
    dsr_ingest_report_free(&r);
    tt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_rescan_records_what_a_cold_one_does_full_emission),
        cmocka_unit_test(test_warm_rescan_records_what_a_cold_one_does_changed_emission),
        cmocka_unit_test(test_warm_rescan_records_what_a_cold_one_does_plain_io),
        cmocka_unit_test(test_changed_unusable_file_is_read_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_log.c - the RocksDB event log: identity, idempotent appends with dense
 * sequences, the lamport clock, atomic batches, named column families, the
 * writer lock, read-only handles beside a writer, and corrupt folders.
 * Records here are opaque bytes; envelopes are tested in test_emit.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "dossier/log.h"
#include "log_store.h"
#include "test_tmp.h"

/* ---- helpers ------------------------------------------------------------- */

/* A valid ULID whose last 10 characters encode n (Crockford base32). */
static void make_id(unsigned long n, char out[27])
{
    static const char cb[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    memcpy(out, "01HZX3K0ABCD", 12);   /* 12 chars: time part + 2 random */
    for (int i = 25; i >= 12; i--) {
        out[i] = cb[n & 31];
        n >>= 5;
    }
    out[26] = '\0';
}

static dsr_log *open_ok(const char *dir, unsigned flags)
{
    dsr_log *log = NULL;
    dsr_err err = {0};
    int rc = dsr_log_open(&log, dir, flags, &err);
    if (rc)
        fail_msg("open %s: %s", dir, err.msg);
    return log;
}

/* Append n records "rec-<i>" with ids make_id(first + i) in one batch. */
static void append_range(dsr_log *log, unsigned long first, unsigned long n)
{
    dsr_log_batch *b;
    dsr_err err = {0};
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    for (unsigned long i = 0; i < n; i++) {
        char id[27], rec[32];
        make_id(first + i, id);
        int len = snprintf(rec, sizeof rec, "rec-%lu", first + i);
        int dup = -1;
        assert_int_equal(dsr_log_batch_append(b, id, rec, (size_t)len, NULL, &dup, &err), 0);
    }
    if (dsr_log_batch_commit(b, &err))
        fail_msg("commit: %s", err.msg);
}

static void expect_record(dsr_log *log, uint64_t seq, const char *want)
{
    dsr_buf rec = DSR_BUF_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_log_get_event(log, seq, &rec, &err), 0);
    assert_int_equal(rec.len, strlen(want));
    assert_memory_equal(rec.data, want, rec.len);
    dsr_buf_free(&rec);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_first_open_creates_identity_that_survives_reopen(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    char sub[600];
    snprintf(sub, sizeof sub, "%s/nested/.dossier", dir);
    dsr_log *log = open_ok(sub, 0);
    char node[27], proj[37];
    snprintf(node, sizeof node, "%s", dsr_log_node_id(log));
    snprintf(proj, sizeof proj, "%s", dsr_log_project_uuid(log));
    assert_true(dsr_ulid_valid(node, strlen(node)));
    assert_int_equal(strlen(proj), 36);
    assert_int_equal(proj[14], '4');                        /* version 4 */
    assert_non_null(strchr("89ab", proj[19]));              /* RFC 4122 variant */
    assert_int_equal(dsr_log_head(log), 0);
    assert_int_equal(dsr_log_lamport(log), 0);
    assert_string_equal(dsr_log_dir(log), sub);
    dsr_log_close(log);

    log = open_ok(sub, 0);
    assert_string_equal(dsr_log_node_id(log), node);
    assert_string_equal(dsr_log_project_uuid(log), proj);
    dsr_log_close(log);

    /* A different log gets a different identity. */
    char other[600];
    snprintf(other, sizeof other, "%s/other", dir);
    log = open_ok(other, 0);
    assert_string_not_equal(dsr_log_node_id(log), node);
    assert_string_not_equal(dsr_log_project_uuid(log), proj);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_append_and_read_back_by_seq_id_and_iterator(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    append_range(log, 100, 5);
    assert_int_equal(dsr_log_head(log), 5);
    for (uint64_t s = 1; s <= 5; s++) {
        char want[32];
        snprintf(want, sizeof want, "rec-%lu", (unsigned long)(99 + s));
        expect_record(log, s, want);
    }
    dsr_err err = {0};
    char id[27];
    make_id(102, id);
    uint64_t seq = 0;
    assert_int_equal(dsr_log_find_event(log, id, &seq, &err), 0);
    assert_int_equal(seq, 3);
    make_id(999, id);
    assert_int_equal(dsr_log_find_event(log, id, &seq, &err), DSR_ENOTFOUND);
    dsr_buf rec = DSR_BUF_INIT;
    assert_int_equal(dsr_log_get_event(log, 6, &rec, &err), DSR_ENOTFOUND);

    dsr_log_iter *it;
    assert_int_equal(dsr_log_iter_events(log, 3, &it, &err), 0);
    const void *k, *v;
    size_t kl, vl;
    uint64_t expect = 3;
    int rc;
    while ((rc = dsr_log_iter_next(it, &k, &kl, &v, &vl, &err)) == 1) {
        assert_int_equal(kl, 8);
        assert_int_equal(dsr_seq_from_key(k), expect);
        char want[32];
        snprintf(want, sizeof want, "rec-%lu", (unsigned long)(99 + expect));
        assert_int_equal(vl, strlen(want));
        assert_memory_equal(v, want, vl);
        expect++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(expect, 6);
    dsr_log_iter_free(it);
    dsr_buf_free(&rec);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_seq_key_is_big_endian(void **state)
{
    (void)state;
    unsigned char k[8];
    dsr_seq_key(0x0102030405060708ull, k);
    const unsigned char want[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_memory_equal(k, want, 8);
    assert_int_equal(dsr_seq_from_key(k), 0x0102030405060708ull);
}

static void test_append_same_event_id_twice_stores_once(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    append_range(log, 1, 3);

    dsr_log_batch *b;
    dsr_err err = {0};
    char id[27];
    make_id(2, id);
    uint64_t seq = 0;
    int dup = 0;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_append(b, id, "other", 5, &seq, &dup, &err), 0);
    assert_int_equal(dup, 1);
    assert_int_equal(seq, 2);
    assert_int_equal(dsr_log_batch_events(b), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 3);
    expect_record(log, 2, "rec-2");          /* the first copy is kept */
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_duplicate_within_one_batch_stores_once(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    dsr_log_batch *b;
    dsr_err err = {0};
    char a[27], c[27];
    make_id(7, a);
    make_id(8, c);
    uint64_t s1, s2, s3;
    int d1, d2, d3;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_append(b, a, "A", 1, &s1, &d1, &err), 0);
    assert_int_equal(dsr_log_batch_append(b, a, "A2", 2, &s2, &d2, &err), 0);
    assert_int_equal(dsr_log_batch_append(b, c, "C", 1, &s3, &d3, &err), 0);
    assert_int_equal(d1, 0);
    assert_int_equal(d2, 1);
    assert_int_equal(d3, 0);
    assert_int_equal(s1, 1);
    assert_int_equal(s2, 1);
    assert_int_equal(s3, 2);                  /* the duplicate used no sequence */
    assert_int_equal(dsr_log_batch_events(b), 2);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 2);
    expect_record(log, 1, "A");
    expect_record(log, 2, "C");
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_duplicate_detected_across_reopen(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    append_range(log, 40, 10);
    dsr_log_close(log);

    log = open_ok(dir, 0);
    assert_int_equal(dsr_log_head(log), 10);
    dsr_log_batch *b;
    dsr_err err = {0};
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    for (unsigned long i = 35; i < 55; i++) {      /* 40..49 exist, 35..39 and 50..54 new */
        char id[27];
        make_id(i, id);
        int dup = -1;
        uint64_t seq;
        assert_int_equal(dsr_log_batch_append(b, id, "x", 1, &seq, &dup, &err), 0);
        assert_int_equal(dup, i >= 40 && i < 50);
        if (dup)
            assert_int_equal(seq, i - 40 + 1);
    }
    assert_int_equal(dsr_log_batch_events(b), 10);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 20);
    dsr_log_close(log);

    log = open_ok(dir, 0);
    assert_int_equal(dsr_log_head(log), 20);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_sequences_stay_dense_across_batches_aborts_and_reopen(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    append_range(log, 1, 3);
    /* An aborted batch gives its sequence numbers back. */
    dsr_log_batch *b;
    dsr_err err = {0};
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    char id[27];
    make_id(500, id);
    uint64_t seq;
    assert_int_equal(dsr_log_batch_append(b, id, "gone", 4, &seq, NULL, &err), 0);
    assert_int_equal(seq, 4);
    dsr_log_batch_abort(b);
    append_range(log, 10, 2);
    dsr_log_close(log);
    log = open_ok(dir, 0);
    append_range(log, 20, 2);
    assert_int_equal(dsr_log_head(log), 7);
    dsr_log_iter *it;
    assert_int_equal(dsr_log_iter_events(log, 0, &it, &err), 0);
    const void *k;
    uint64_t expect = 1;
    while (dsr_log_iter_next(it, &k, NULL, NULL, NULL, &err) == 1)
        assert_int_equal(dsr_seq_from_key(k), expect++);
    assert_int_equal(expect, 8);
    dsr_log_iter_free(it);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_lamport_tick_and_merge_persisted(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    dsr_log_batch *b;
    dsr_err err = {0};
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_lamport_tick(b), 1);
    assert_int_equal(dsr_log_batch_lamport_tick(b), 2);
    dsr_log_batch_lamport_merge(b, 10);          /* max(2, 10) + 1 */
    assert_int_equal(dsr_log_batch_lamport_tick(b), 12);
    dsr_log_batch_lamport_merge(b, 5);           /* max(12, 5) + 1 */
    char id[27];
    make_id(1, id);
    assert_int_equal(dsr_log_batch_append(b, id, "r", 1, NULL, NULL, &err), 0);
    assert_int_equal(dsr_log_lamport(log), 0);   /* not visible before commit */
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_lamport(log), 13);
    dsr_log_close(log);

    log = open_ok(dir, 0);
    assert_int_equal(dsr_log_lamport(log), 13);
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_lamport_tick(b), 14);
    dsr_log_batch_abort(b);                      /* an aborted tick is not kept */
    assert_int_equal(dsr_log_lamport(log), 13);
    dsr_log_close(log);
    log = open_ok(dir, DSR_LOG_RDONLY);
    assert_int_equal(dsr_log_lamport(log), 13);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_abort_stores_nothing(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    dsr_log_batch *b;
    dsr_err err = {0};
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    char id[27];
    make_id(77, id);
    assert_int_equal(dsr_log_batch_append(b, id, "r", 1, NULL, NULL, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, "scratch", "k", 1, "v", 1, &err), 0);
    dsr_log_batch_lamport_tick(b);
    dsr_log_batch_abort(b);
    assert_int_equal(dsr_log_head(log), 0);
    assert_int_equal(dsr_log_lamport(log), 0);
    uint64_t seq;
    assert_int_equal(dsr_log_find_event(log, id, &seq, &err), DSR_ENOTFOUND);
    dsr_buf v = DSR_BUF_INIT;
    assert_int_equal(dsr_log_get(log, "scratch", "k", 1, &v, &err), DSR_ENOTFOUND);
    dsr_log_close(log);
    log = open_ok(dir, 0);
    assert_int_equal(dsr_log_head(log), 0);
    assert_int_equal(dsr_log_find_event(log, id, &seq, &err), DSR_ENOTFOUND);
    /* The id is still free: appending it now works. */
    append_range(log, 77, 1);
    assert_int_equal(dsr_log_head(log), 1);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_one_batch_at_a_time_and_readonly_cannot_write(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    dsr_log_batch *b, *b2;
    dsr_err err = {0};
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_begin(log, &b2, &err), DSR_EINVAL);
    assert_int_equal(dsr_log_batch_append(b, "not-a-ulid", "r", 1, NULL, NULL, &err),
                     DSR_EINVAL);
    assert_int_equal(dsr_log_batch_put(b, "events", "k", 1, "v", 1, &err), DSR_EINVAL);
    assert_int_equal(dsr_log_batch_put(b, "ids", "k", 1, "v", 1, &err), DSR_EINVAL);
    assert_int_equal(dsr_log_batch_put(b, "meta", "k", 1, "v", 1, &err), DSR_EINVAL);
    assert_int_equal(dsr_log_clear_cf(log, "events", &err), DSR_EINVAL);
    dsr_log_batch_abort(b);
    dsr_log_close(log);

    log = open_ok(dir, DSR_LOG_RDONLY);
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), DSR_EINVAL);
    assert_int_equal(dsr_log_clear_cf(log, "proj", &err), DSR_EINVAL);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_named_cf_put_get_iterate_clear(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    dsr_err err = {0};
    dsr_log_iter *it;
    /* A family that does not exist yet reads as empty. */
    assert_int_equal(dsr_log_iter_cf(log, "proj", NULL, 0, &it, &err), 0);
    assert_int_equal(dsr_log_iter_next(it, NULL, NULL, NULL, NULL, &err), 0);
    dsr_log_iter_free(it);

    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    const char *keys[] = { "a/1", "a/2", "b/1", "a/3", "c" };
    for (int i = 0; i < 5; i++)
        assert_int_equal(dsr_log_batch_put(b, "proj", keys[i], strlen(keys[i]), keys[i],
                                           strlen(keys[i]), &err), 0);
    assert_int_equal(dsr_log_batch_delete(b, "proj", "a/2", 3, &err), 0);
    assert_int_equal(dsr_log_batch_delete(b, "never-made", "x", 1, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_log_head(log), 0);      /* generic writes are not events */

    dsr_buf v = DSR_BUF_INIT;
    assert_int_equal(dsr_log_get(log, "proj", "b/1", 3, &v, &err), 0);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.data, "b/1", 3);
    assert_int_equal(dsr_log_get(log, "proj", "a/2", 3, &v, &err), DSR_ENOTFOUND);

    assert_int_equal(dsr_log_iter_cf(log, "proj", "a/", 2, &it, &err), 0);
    const void *k;
    size_t kl;
    const char *want[] = { "a/1", "a/3" };
    int n = 0;
    while (dsr_log_iter_next(it, &k, &kl, NULL, NULL, &err) == 1) {
        assert_true(n < 2);
        assert_int_equal(kl, 3);
        assert_memory_equal(k, want[n], 3);
        n++;
    }
    assert_int_equal(n, 2);
    dsr_log_iter_free(it);
    dsr_log_close(log);

    /* Persisted, then cleared; clearing survives a reopen too. */
    log = open_ok(dir, 0);
    dsr_buf_reset(&v);
    assert_int_equal(dsr_log_get(log, "proj", "c", 1, &v, &err), 0);
    assert_int_equal(dsr_log_clear_cf(log, "proj", &err), 0);
    assert_int_equal(dsr_log_get(log, "proj", "c", 1, &v, &err), DSR_ENOTFOUND);
    assert_int_equal(dsr_log_iter_cf(log, "proj", NULL, 0, &it, &err), 0);
    assert_int_equal(dsr_log_iter_next(it, NULL, NULL, NULL, NULL, &err), 0);
    dsr_log_iter_free(it);
    /* Writes after a clear are kept. */
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, "proj", "a/1", 3, "new", 3, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    dsr_log_close(log);
    log = open_ok(dir, 0);
    dsr_buf_reset(&v);
    assert_int_equal(dsr_log_get(log, "proj", "a/1", 3, &v, &err), 0);
    assert_memory_equal(v.data, "new", 3);
    assert_int_equal(dsr_log_get(log, "proj", "b/1", 3, &v, &err), DSR_ENOTFOUND);
    dsr_log_close(log);
    dsr_buf_free(&v);
    tt_rm_rf(dir);
}

/* Fork a child before this process touches RocksDB; it waits for a byte on a
 * pipe, then runs fn(dir) and exits with its result. */
typedef int (*child_fn)(const char *dir);
static int child_in_fd = -1;   /* in the child: the read end of the go pipe */
static pid_t spawn_child(const char *dir, child_fn fn, int *go_fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) != 1)
            _exit(100);
        child_in_fd = p[0];
        _exit(fn(dir));
    }
    close(p[0]);
    *go_fd = p[1];
    return pid;
}

static int child_exit(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int child_try_open(const char *dir)
{
    dsr_log *log = NULL;
    dsr_err err = {0};
    int rc = dsr_log_open(&log, dir, 0, &err);
    dsr_log_close(log);
    if (rc == DSR_ELOCKED && strstr(err.msg, dir))
        return 0;
    return rc == 0 ? 10 : 11;
}

static void test_second_writer_gets_elocked(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    int go;
    pid_t pid = spawn_child(dir, child_try_open, &go);
    dsr_log *log = open_ok(dir, 0);
    /* Another process. */
    assert_int_equal(write(go, "g", 1), 1);
    close(go);
    assert_int_equal(child_exit(pid), 0);
    /* This process, a second handle. */
    dsr_log *again = NULL;
    dsr_err err = {0};
    assert_int_equal(dsr_log_open(&again, dir, 0, &err), DSR_ELOCKED);
    assert_null(again);
    assert_non_null(strstr(err.msg, dir));
    dsr_log_close(log);
    /* Released on close. */
    log = open_ok(dir, 0);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

/* Open as writer, announce it with the marker file <dir>.held, wait for the
 * parent's second byte, then append one event and close. */
static int child_hold_then_append(const char *dir)
{
    dsr_log *log = NULL;
    dsr_err err = {0};
    if (dsr_log_open(&log, dir, DSR_LOG_WAIT, &err))
        return 20;
    char marker[600];
    snprintf(marker, sizeof marker, "%s.held", dir);
    FILE *f = fopen(marker, "w");
    if (!f)
        return 22;
    fclose(f);
    char c;
    if (read(child_in_fd, &c, 1) != 1)
        return 23;
    usleep(100 * 1000);   /* let the parent start waiting */
    dsr_log_batch *b;
    char id[27];
    make_id(4242, id);
    if (dsr_log_batch_begin(log, &b, &err)
        || dsr_log_batch_append(b, id, "held", 4, NULL, NULL, &err)
        || dsr_log_batch_commit(b, &err))
        return 21;
    dsr_log_close(log);
    return 0;
}

static void test_wait_flag_waits_for_the_writer_to_finish(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    { dsr_log *l = open_ok(dir, 0); dsr_log_close(l); }
    int go;
    pid_t pid = spawn_child(dir, child_hold_then_append, &go);
    assert_int_equal(write(go, "g", 1), 1);
    /* Wait until the child holds the lock (it creates <dir>.held). */
    char marker[600];
    snprintf(marker, sizeof marker, "%s.held", dir);
    struct stat st;
    for (int i = 0; i < 6000 && stat(marker, &st) != 0; i++)
        usleep(10 * 1000);
    assert_int_equal(stat(marker, &st), 0);
    unlink(marker);
    dsr_log *log = NULL;
    dsr_err err = {0};
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), DSR_ELOCKED);
    assert_null(log);
    /* Release the child and wait for the lock. */
    assert_int_equal(write(go, "c", 1), 1);
    close(go);
    int rc = dsr_log_open(&log, dir, DSR_LOG_WAIT, &err);
    if (rc)
        fail_msg("wait open: %s", err.msg);
    /* We only got in after the child committed and closed. */
    char id[27];
    make_id(4242, id);
    uint64_t seq = 0;
    assert_int_equal(dsr_log_find_event(log, id, &seq, &err), 0);
    assert_int_equal(seq, 1);
    dsr_log_close(log);
    assert_int_equal(child_exit(pid), 0);
    tt_rm_rf(dir);
}

static void test_readonly_open_while_writer_holds_it(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *w = open_ok(dir, 0);
    append_range(w, 1, 2);
    dsr_log *r = open_ok(dir, DSR_LOG_RDONLY);
    assert_int_equal(dsr_log_head(r), 2);
    assert_string_equal(dsr_log_node_id(r), dsr_log_node_id(w));
    assert_string_equal(dsr_log_project_uuid(r), dsr_log_project_uuid(w));
    expect_record(r, 2, "rec-2");

    append_range(w, 3, 3);
    assert_int_equal(dsr_log_head(r), 2);        /* not before a refresh */
    dsr_err err = {0};
    assert_int_equal(dsr_log_refresh(r, &err), 0);
    assert_int_equal(dsr_log_head(r), 5);
    expect_record(r, 5, "rec-5");

    /* A family the writer creates later becomes readable after refresh. */
    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(w, &b, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, "later", "k", 1, "v", 1, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    append_range(w, 6, 1);
    if (dsr_log_refresh(r, &err))
        fail_msg("refresh: %s", err.msg);
    dsr_buf v = DSR_BUF_INIT;
    assert_int_equal(dsr_log_get(r, "later", "k", 1, &v, &err), 0);
    assert_int_equal(dsr_log_head(r), 6);
    dsr_buf_free(&v);
    dsr_log_close(r);
    dsr_log_close(w);
    tt_rm_rf(dir);
}

static void test_missing_log_is_enotfound_for_readers_and_nocreate(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    char sub[600];
    snprintf(sub, sizeof sub, "%s/none", dir);
    dsr_log *log = NULL;
    dsr_err err = {0};
    assert_int_equal(dsr_log_open(&log, sub, DSR_LOG_RDONLY, &err), DSR_ENOTFOUND);
    assert_non_null(strstr(err.msg, sub));
    assert_int_equal(dsr_log_open(&log, sub, DSR_LOG_NOCREATE, &err), DSR_ENOTFOUND);
    assert_null(log);
    struct stat st;
    assert_int_equal(stat(sub, &st), -1);         /* nothing was created */
    tt_rm_rf(dir);
}

/* Table files (*.sst) in dir: how many memtable flushes have landed. */
static int count_tables(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.sst$'", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int n = 0;
    if (fscanf(f, "%d", &n) != 1)
        n = 0;
    pclose(f);
    return n;
}

/* ~40 MB of 4 KB records in batches of 1000. */
static void append_40mb(dsr_log *log)
{
    static char rec[4096];
    memset(rec, 'r', sizeof rec);
    dsr_err err = {0};
    for (unsigned long k = 0; k < 10; k++) {
        dsr_log_batch *b;
        assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
        for (unsigned long i = 0; i < 1000; i++) {
            char id[27];
            make_id(k * 1000 + i, id);
            memcpy(rec, id, 26);   /* not all alike */
            assert_int_equal(dsr_log_batch_append(b, id, rec, sizeof rec, NULL, NULL, &err), 0);
        }
        assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    }
}

static void test_limit_memtables_flushes_small_buffers(void **state)
{
    (void)state;
    char *plain = tt_mkdtemp("log");
    char *small = tt_mkdtemp("log");
    dsr_log *a = open_ok(plain, 0), *b = open_ok(small, 0);
    dsr_err err = {0};
    assert_int_equal(dsr_log_limit_memtables(b, &err), 0);
    append_40mb(a);
    append_40mb(b);
    /* 40 MB fits the default 64 MB write buffer: nothing is flushed ... */
    assert_int_equal(count_tables(plain), 0);
    /* ... but not 16 MB ones: flushes land (in the background) */
    for (int i = 0; i < 100 && count_tables(small) < 2; i++)
        usleep(50000);
    assert_true(count_tables(small) >= 2);
    dsr_log_close(a);
    dsr_log_close(b);
    /* the data is all there either way */
    b = open_ok(small, DSR_LOG_RDONLY);
    assert_int_equal(dsr_log_head(b), 10000);
    dsr_log_close(b);
    tt_rm_rf(plain);
    tt_rm_rf(small);
}

/* A value larger than a table block (a snapshot's set row can be
 * megabytes) reads back whole from the memtable and, flushed and reopened,
 * from a table file; a get appends to what the buffer holds. */
static void test_large_value_from_memtable_and_from_a_table(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    dsr_err err = {0};
    size_t n = 3u << 20;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 131u + (i >> 12));
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, "proj", "big", 3, big, n, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    dsr_buf v = DSR_BUF_INIT;
    for (int pass = 0; pass < 2; pass++) {
        dsr_buf_reset(&v);
        assert_int_equal(dsr_buf_append(&v, "pre", 3), 0);
        assert_int_equal(dsr_log_get(log, "proj", "big", 3, &v, &err), 0);
        assert_int_equal(v.len, 3 + n);
        assert_memory_equal(v.data, "pre", 3);
        assert_memory_equal(v.data + 3, big, n);
        assert_int_equal(v.data[v.len], '\0');
        if (pass == 0) {
            assert_int_equal(count_tables(dir), 0);      /* read from the memtable */
            assert_int_equal(log_flush_wait(log, &err), 0);
            dsr_log_close(log);
            assert_true(count_tables(dir) >= 1);
            log = open_ok(dir, 0);                        /* nothing left to replay */
        }
    }
    assert_int_equal(dsr_log_get(log, "proj", "bi", 2, &v, &err), DSR_ENOTFOUND);
    dsr_log_close(log);
    dsr_buf_free(&v);
    free(big);
    tt_rm_rf(dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_garbage_current_file_is_ecorrupt(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    append_range(log, 1, 3);
    dsr_log_close(log);
    char path[600];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    write_file(path, "garbage");
    dsr_err err = {0};
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), DSR_ECORRUPT);
    assert_non_null(strstr(err.msg, dir));
    assert_int_equal(dsr_log_open(&log, dir, DSR_LOG_RDONLY, &err), DSR_ECORRUPT);
    tt_rm_rf(dir);
}

/* Flip bytes in the middle of every table file: reads must fail with
 * DSR_ECORRUPT (block checksums), at open or while reading, never crash. */
static void test_corrupt_table_file_is_ecorrupt(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("log");
    dsr_log *log = open_ok(dir, 0);
    append_range(log, 1, 2000);
    dsr_log_close(log);
    /* A writer's open keeps what it replays in memory; the close of the
     * session that finds the WAL spread over 8 files flushes it into table
     * files (log_flush.c). */
    for (int i = 0; i < 8; i++) {
        log = open_ok(dir, 0);
        dsr_log_close(log);
    }

    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls '%s'/*.sst > '%s.list'", dir, dir);
    assert_int_equal(system(cmd), 0);
    char list[600];
    snprintf(list, sizeof list, "%s.list", dir);
    FILE *f = fopen(list, "r");
    assert_non_null(f);
    char path[600];
    int nsst = 0;
    while (fgets(path, sizeof path, f)) {
        path[strcspn(path, "\n")] = '\0';
        int fd = open(path, O_RDWR);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        char junk[64];
        memset(junk, 0x5a, sizeof junk);
        for (off_t off = 64; off + 64 < st.st_size / 2; off += 512)
            assert_int_equal(pwrite(fd, junk, sizeof junk, off), (ssize_t)sizeof junk);
        close(fd);
        nsst++;
    }
    fclose(f);
    unlink(list);
    assert_true(nsst > 0);

    dsr_err err = {0};
    int rc = dsr_log_open(&log, dir, DSR_LOG_RDONLY, &err);
    if (rc == 0) {
        dsr_log_iter *it;
        rc = dsr_log_iter_events(log, 0, &it, &err);
        while (rc == 0 && (rc = dsr_log_iter_next(it, NULL, NULL, NULL, NULL, &err)) == 1)
            rc = 0;
        dsr_log_iter_free(it);
        dsr_log_close(log);
    }
    assert_int_equal(rc, DSR_ECORRUPT);
    tt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_open_creates_identity_that_survives_reopen),
        cmocka_unit_test(test_append_and_read_back_by_seq_id_and_iterator),
        cmocka_unit_test(test_seq_key_is_big_endian),
        cmocka_unit_test(test_append_same_event_id_twice_stores_once),
        cmocka_unit_test(test_duplicate_within_one_batch_stores_once),
        cmocka_unit_test(test_duplicate_detected_across_reopen),
        cmocka_unit_test(test_sequences_stay_dense_across_batches_aborts_and_reopen),
        cmocka_unit_test(test_lamport_tick_and_merge_persisted),
        cmocka_unit_test(test_abort_stores_nothing),
        cmocka_unit_test(test_one_batch_at_a_time_and_readonly_cannot_write),
        cmocka_unit_test(test_named_cf_put_get_iterate_clear),
        cmocka_unit_test(test_second_writer_gets_elocked),
        cmocka_unit_test(test_wait_flag_waits_for_the_writer_to_finish),
        cmocka_unit_test(test_readonly_open_while_writer_holds_it),
        cmocka_unit_test(test_missing_log_is_enotfound_for_readers_and_nocreate),
        cmocka_unit_test(test_garbage_current_file_is_ecorrupt),
        cmocka_unit_test(test_corrupt_table_file_is_ecorrupt),
        cmocka_unit_test(test_limit_memtables_flushes_small_buffers),
        cmocka_unit_test(test_large_value_from_memtable_and_from_a_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_log_lazy_tables.c - a writer opens a log's table files as it reads
 * them (eventlog/log_options.c), not all at its open: one session writes
 * to FAMILIES families of their own, enough bytes that its close flushes
 * each into a table file of its own.  A writer's open then holds fewer of
 * those files open than there are (RocksDB opens at most 16 at DB::Open),
 * every value is still read back, and the files it read are open after.
 * A DSR_LOG_INTACT reader opens every one.  A table file that is missing,
 * or shorter than the MANIFEST says, still stops a writer's open; the
 * error names a missing one, and a cut one when the open did not load it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dossier/buf.h"
#include "dossier/log.h"
#include "test_tmp.h"

enum {
    FAMILIES = 24,          /* more tables than RocksDB loads at an open */
    PER_FAMILY = 48,        /* values per family */
    VALUE_BYTES = 4096,     /* 24 * 48 * 4 KiB = 4.5 MiB: past the WAL size */
};                          /* at which a close flushes (log_flush.c) */

static void family_name(int f, char *out, size_t cap) { snprintf(out, cap, "lazy_%02d", f); }

/* The value of key k of family f: bytes that do not compress, so that the
 * WAL passes the flush threshold whatever RocksDB does with them. */
static void value_of(int f, int k, unsigned char *v)
{
    uint32_t x = (uint32_t)(f * 7919 + k * 104729 + 1);
    for (size_t i = 0; i < VALUE_BYTES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[i] = (unsigned char)x;
    }
}

/* How many table files of dir this process holds open. */
static size_t open_tables(const char *dir)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    size_t dlen = strlen(dir), n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char link[300], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 4)
            continue;
        target[len] = '\0';
        if (!strncmp(target, dir, dlen) && target[dlen] == '/' &&
            !strcmp(target + len - 4, ".sst"))
            n++;
    }
    closedir(d);
    return n;
}

static void fill(const char *dir)
{
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = { 0 };
    unsigned char *v = malloc(VALUE_BYTES);
    assert_non_null(v);
    for (int k = 0; k < PER_FAMILY; k++) {
        dsr_log_batch *b;
        assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
        for (int f = 0; f < FAMILIES; f++) {
            char cf[16], key[16];
            family_name(f, cf, sizeof cf);
            snprintf(key, sizeof key, "k%03d", k);
            value_of(f, k, v);
            if (dsr_log_batch_put(b, cf, key, strlen(key), v, VALUE_BYTES, &err))
                fail_msg("put %s/%s: %s", cf, key, err.msg);
        }
        if (dsr_log_batch_commit(b, &err))
            fail_msg("commit %d: %s", k, err.msg);
    }
    free(v);
    dsr_log_close(log);
}

/* Every value of every family, as written. */
static void read_all(dsr_log *log)
{
    dsr_err err = { 0 };
    unsigned char *want = malloc(VALUE_BYTES);
    assert_non_null(want);
    for (int f = 0; f < FAMILIES; f++)
        for (int k = 0; k < PER_FAMILY; k += PER_FAMILY - 1) {   /* first and last */
            char cf[16], key[16];
            family_name(f, cf, sizeof cf);
            snprintf(key, sizeof key, "k%03d", k);
            dsr_buf got = { 0 };
            if (dsr_log_get(log, cf, key, strlen(key), &got, &err))
                fail_msg("get %s/%s: %s", cf, key, err.msg);
            value_of(f, k, want);
            assert_int_equal(got.len, VALUE_BYTES);
            assert_memory_equal(got.data, want, VALUE_BYTES);
            dsr_buf_free(&got);
        }
    free(want);
}

typedef struct fixture {
    char    *dir;
    tt_table tables[FAMILIES * 2];
    size_t   n_tables;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = tt_mkdtemp("lazy_tables");
    fill(fx->dir);
    fx->n_tables = tt_tables(fx->dir, fx->tables, FAMILIES * 2);
    /* one table per family at least: the close flushed them all */
    if (fx->n_tables < FAMILIES || fx->n_tables > FAMILIES * 2)
        fail_msg("%zu table files after the session, expected %d to %d", fx->n_tables,
                 FAMILIES, FAMILIES * 2);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tt_rm_rf(fx->dir);
    free(fx);
    return 0;
}

static void writer_opens_tables_as_it_reads(void **state)
{
    fixture *fx = *state;
    dsr_log *log = tt_log_open(fx->dir, 0);
    size_t at_open = open_tables(fx->dir);
    if (at_open >= fx->n_tables)
        fail_msg("the writer's open holds %zu of %zu table files open", at_open,
                 fx->n_tables);
    read_all(log);
    /* each family's table was read, so each is open now */
    size_t after = open_tables(fx->dir);
    if (after < FAMILIES)
        fail_msg("%zu table files open after reading %d families", after, FAMILIES);
    dsr_log_close(log);
    assert_int_equal(open_tables(fx->dir), 0);
}

static void intact_reader_opens_every_table(void **state)
{
    fixture *fx = *state;
    dsr_log *log = tt_log_open(fx->dir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE | DSR_LOG_INTACT);
    assert_int_equal(open_tables(fx->dir), fx->n_tables);
    read_all(log);
    dsr_log_close(log);
}

/* A writer's open of a copy of the log with table t changed by how:
 * 'm' removed, 'c' cut short by one byte; it must fail and name t. */
static void writer_refuses(fixture *fx, const char *t, char how)
{
    char *copy = tt_mkdtemp("lazy_tables_copy");
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp -a '%s'/. '%s'/", fx->dir, copy);
    assert_int_equal(system(cmd), 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", copy, t);
    if (how == 'm') {
        assert_int_equal(unlink(path), 0);
    } else {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(truncate(path, st.st_size - 1), 0);
    }
    dsr_log *log = NULL;
    dsr_err err = { 0 };
    int rc = dsr_log_open(&log, copy, 0, &err);
    if (rc == 0) {
        dsr_log_close(log);
        fail_msg("a writer opened the log with %s %s", t, how == 'm' ? "missing" : "cut");
    }
    /* A cut table among those the open loads fails on its footer, whose
     * message RocksDB 7.8 gives the MANIFEST's name; any other is found by
     * the size check, which names it.  Either way: a corrupt log. */
    if (rc != DSR_ECORRUPT && !(how == 'm' && rc == DSR_EIO))
        fail_msg("%s %s: open failed with %d: %s", t, how == 'm' ? "missing" : "cut", rc,
                 err.msg);
    char stem[32];
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(t) - 4), t);
    if (how == 'm' && !strstr(err.msg, stem))
        fail_msg("the error does not name %s: %s", t, err.msg);
    print_message("%s %s: %s\n", t, how == 'm' ? "missing" : "cut", err.msg);
    tt_rm_rf(copy);
}

static void writer_refuses_missing_or_cut_table(void **state)
{
    fixture *fx = *state;
    /* the first and the last table by name, which an open loads or not */
    const char *first = fx->tables[0].name, *last = fx->tables[0].name;
    for (size_t i = 1; i < fx->n_tables; i++) {
        if (strcmp(fx->tables[i].name, first) < 0)
            first = fx->tables[i].name;
        if (strcmp(fx->tables[i].name, last) > 0)
            last = fx->tables[i].name;
    }
    writer_refuses(fx, first, 'm');
    writer_refuses(fx, last, 'm');
    writer_refuses(fx, first, 'c');
    writer_refuses(fx, last, 'c');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_opens_tables_as_it_reads),
        cmocka_unit_test(intact_reader_opens_every_table),
        cmocka_unit_test(writer_refuses_missing_or_cut_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_pstate.c - the projections' chunk row cache (replay/pstate.c): reads
 * see the chunk's own writes before anything reaches the family; a row put
 * several times and rows deleted reach the family in their final state only
 * when flushed and committed; an aborted chunk leaves the family as it was;
 * the chunk's byte count follows the rows' current sizes, not every write;
 * a chunk handed to the background committer keeps its rows readable by the
 * next chunk, whatever the committer has done yet, until the next hand-over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "replay.h"
#include "test_tmp.h"

#define CF "proj_pstate_test"

typedef struct fx {
    char    *dir;
    dsr_log *log;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tt_mkdtemp("pstate");
    f->log = tt_log_open(f->dir, 0);
    /* committed rows a=1 and b=1 */
    dsr_err err = { 0 };
    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, CF, "a", 1, "1", 1, &err), 0);
    assert_int_equal(dsr_log_batch_put(b, CF, "b", 1, "1", 1, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    dsr_log_close(f->log);
    tt_rm_rf(f->dir);
    free(f);
    return 0;
}

/* The committed value of key as a C string, or NULL when absent. */
static char *family_get(dsr_log *log, const char *key)
{
    dsr_err err = { 0 };
    dsr_buf v = DSR_BUF_INIT;
    int rc = dsr_log_get(log, CF, key, strlen(key), &v, &err);
    if (rc == DSR_ENOTFOUND) {
        dsr_buf_free(&v);
        return NULL;
    }
    assert_int_equal(rc, 0);
    char *s = strndup(v.data ? v.data : "", v.len);
    assert_non_null(s);
    dsr_buf_free(&v);
    return s;
}

static void assert_family(dsr_log *log, const char *key, const char *want)
{
    char *got = family_get(log, key);
    if (!want)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
    free(got);
}

/* ps_get as a string: the value, or NULL when the cache says absent. */
static char *cached(pstate *ps, const char *key)
{
    dsr_err err = { 0 };
    const void *v;
    size_t vl;
    int rc = ps_get(ps, key, strlen(key), &v, &vl, &err);
    assert_true(rc == 0 || rc == 1);
    if (!rc)
        return NULL;
    char *s = strndup(v, vl);
    assert_non_null(s);
    return s;
}

static void put(pstate *ps, const char *key, const char *val)
{
    dsr_err err = { 0 };
    assert_int_equal(ps_put(ps, key, strlen(key), val, strlen(val), &err), 0);
}

/* A chunk over f's log: the cache and its batch. */
static void chunk_begin(fx *f, pstate *ps)
{
    dsr_err err = { 0 };
    ps_init(ps, f->log, CF);
    assert_int_equal(dsr_log_batch_begin(f->log, &ps->b, &err), 0);
}

/* Flush, commit and forget the chunk, as the replay driver does. */
static void chunk_commit(pstate *ps)
{
    dsr_err err = { 0 };
    assert_int_equal(ps_flush(ps, &err), 0);
    assert_int_equal(dsr_log_batch_commit(ps->b, &err), 0);
    ps->b = NULL;
    ps_chunk_end(ps);
}

static void test_rows_reach_the_family_in_their_final_state_at_flush(void **state)
{
    fx *f = *state;
    dsr_err err = { 0 };
    pstate ps;
    chunk_begin(f, &ps);

    char *v = cached(&ps, "a");
    assert_string_equal(v, "1");
    free(v);
    put(&ps, "a", "2");
    put(&ps, "a", "333");
    assert_int_equal(ps_del(&ps, "b", 1, &err), 0);
    put(&ps, "c", "x");
    assert_int_equal(ps_del(&ps, "c", 1, &err), 0);
    put(&ps, "d", "dd");

    /* the chunk sees its own writes; the family has none of them yet */
    v = cached(&ps, "a");
    assert_string_equal(v, "333");
    free(v);
    assert_null(cached(&ps, "b"));
    assert_null(cached(&ps, "c"));
    assert_family(f->log, "a", "1");
    assert_family(f->log, "b", "1");
    assert_family(f->log, "d", NULL);

    /* rows a (3 bytes) and d (2 bytes) with their 1-byte keys, b and c
     * empty: what is cached now, not the sum of every write */
    assert_int_equal(ps.bytes, (3 + 1) + 1 + 1 + (2 + 1));

    chunk_commit(&ps);
    assert_int_equal(ps.bytes, 0);

    assert_family(f->log, "a", "333");
    assert_family(f->log, "b", NULL);
    assert_family(f->log, "c", NULL);
    assert_family(f->log, "d", "dd");
    ps_free(&ps);
}

static void test_rows_only_read_are_not_written(void **state)
{
    fx *f = *state;
    dsr_err err = { 0 };
    pstate ps;
    chunk_begin(f, &ps);
    char *v = cached(&ps, "a");
    free(v);
    assert_null(cached(&ps, "zz"));
    assert_int_equal(ps_flush(&ps, &err), 0);
    /* meanwhile another writer of this test changes a: the flush above
     * must not have queued the stale value read earlier */
    dsr_log_batch *other;
    assert_int_equal(dsr_log_batch_commit(ps.b, &err), 0);
    assert_int_equal(dsr_log_batch_begin(f->log, &other, &err), 0);
    assert_int_equal(dsr_log_batch_put(other, CF, "a", 1, "new", 3, &err), 0);
    assert_int_equal(dsr_log_batch_commit(other, &err), 0);
    ps_chunk_end(&ps);
    assert_family(f->log, "a", "new");
    assert_family(f->log, "zz", NULL);
    ps_free(&ps);
}

static void test_an_aborted_chunk_leaves_the_family_as_it_was(void **state)
{
    fx *f = *state;
    dsr_err err = { 0 };
    pstate ps;
    chunk_begin(f, &ps);
    put(&ps, "a", "9");
    assert_int_equal(ps_del(&ps, "b", 1, &err), 0);
    assert_int_equal(ps_flush(&ps, &err), 0);
    dsr_log_batch_abort(ps.b);
    ps.b = NULL;
    ps_chunk_end(&ps);
    assert_family(f->log, "a", "1");
    assert_family(f->log, "b", "1");

    /* the next chunk reads the family again, not the abandoned writes */
    assert_int_equal(dsr_log_batch_begin(f->log, &ps.b, &err), 0);
    char *v = cached(&ps, "a");
    assert_string_equal(v, "1");
    free(v);
    dsr_log_batch_abort(ps.b);
    ps_free(&ps);
}

static void test_a_flushed_row_written_again_is_flushed_again(void **state)
{
    fx *f = *state;
    dsr_err err = { 0 };
    pstate ps;
    chunk_begin(f, &ps);
    put(&ps, "a", "first");
    assert_int_equal(ps_flush(&ps, &err), 0);
    put(&ps, "a", "second");
    chunk_commit(&ps);
    assert_family(f->log, "a", "second");
    ps_free(&ps);
}

/* Chunk 1 is handed to the background committer; chunk 2 reads what it
 * wrote (from the cache: the batch may not have landed) and a row it did not
 * write (from the family); chunk 2's hand-over waits for chunk 1, after
 * which chunk 3 reads chunk 1's rows from the family. */
static void test_a_chunk_in_flight_is_read_by_the_next_chunk(void **state)
{
    fx *f = *state;
    dsr_err err = { 0 };
    pstate ps;
    chunk_begin(f, &ps);
    put(&ps, "a", "2");
    put(&ps, "e", "5");
    assert_int_equal(ps_del(&ps, "b", 1, &err), 0);
    assert_int_equal(ps_flush(&ps, &err), 0);
    assert_int_equal(dsr_log_batch_commit_async(ps.b, &err), 0);
    ps_chunk_handed(&ps);
    assert_int_equal(ps.bytes, 0);

    assert_int_equal(dsr_log_batch_begin(f->log, &ps.b, &err), 0);
    char *v = cached(&ps, "a");
    assert_string_equal(v, "2");
    free(v);
    assert_null(cached(&ps, "b"));
    assert_null(cached(&ps, "zz"));
    assert_int_equal(ps.bytes, 2);   /* only zz (absent, 2-byte key) was read from the family */
    put(&ps, "a", "3");
    assert_int_equal(ps_flush(&ps, &err), 0);
    assert_int_equal(dsr_log_batch_commit_async(ps.b, &err), 0);
    ps_chunk_handed(&ps);

    assert_int_equal(dsr_log_batch_begin(f->log, &ps.b, &err), 0);
    v = cached(&ps, "e");            /* chunk 1 landed: e comes from the family */
    assert_string_equal(v, "5");
    free(v);
    v = cached(&ps, "a");
    assert_string_equal(v, "3");
    free(v);
    put(&ps, "d", "4");
    chunk_commit(&ps);
    assert_int_equal(dsr_log_commit_wait(f->log, &err), 0);
    assert_family(f->log, "a", "3");
    assert_family(f->log, "b", NULL);
    assert_family(f->log, "d", "4");
    assert_family(f->log, "e", "5");
    ps_free(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_reach_the_family_in_their_final_state_at_flush,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_only_read_are_not_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_aborted_chunk_leaves_the_family_as_it_was,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_flushed_row_written_again_is_flushed_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_chunk_in_flight_is_read_by_the_next_chunk,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

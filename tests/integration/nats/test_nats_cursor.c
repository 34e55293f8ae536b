/*
 * test_nats_cursor.c - the publisher's cursor store (replay/nats_cursor.c):
 * absent cursors read as zero, a put survives closing and reopening, keys are
 * independent, and a second opener of the same log's store is refused as
 * locked (one publisher per log).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifdef DOSSIER_WITH_NATS
#include "nats_cursor.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/test_nats_cursor.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_absent_cursor_reads_zero(void **state)
{
    (void)state;
    dsr_err err;
    nats_cursor *c = NULL;
    assert_int_equal(nats_cursor_open(&c, dir, &err), 0);
    nats_cursor_val v = { 7, 7 };
    assert_int_equal(nats_cursor_get(c, "node nats://x:1 DOSSIER", &v, &err), 0);
    assert_int_equal(v.seq, 0);
    assert_int_equal(v.stream_ns, 0);
    nats_cursor_close(c);
}

static void test_put_survives_reopen_and_keys_are_independent(void **state)
{
    (void)state;
    dsr_err err;
    nats_cursor *c = NULL;
    assert_int_equal(nats_cursor_open(&c, dir, &err), 0);
    nats_cursor_val a = { 12345, 1700000000123456789LL };
    nats_cursor_val b = { 9, 42 };
    assert_int_equal(nats_cursor_put(c, "n url-a S", &a, &err), 0);
    assert_int_equal(nats_cursor_put(c, "n url-b S", &b, &err), 0);
    a.seq = 12346;
    assert_int_equal(nats_cursor_put(c, "n url-a S", &a, &err), 0);
    nats_cursor_close(c);

    assert_int_equal(nats_cursor_open(&c, dir, &err), 0);
    nats_cursor_val v;
    assert_int_equal(nats_cursor_get(c, "n url-a S", &v, &err), 0);
    assert_int_equal(v.seq, 12346);
    assert_int_equal(v.stream_ns, 1700000000123456789LL);
    assert_int_equal(nats_cursor_get(c, "n url-b S", &v, &err), 0);
    assert_int_equal(v.seq, 9);
    assert_int_equal(v.stream_ns, 42);
    nats_cursor_close(c);
}

static void test_second_opener_is_refused_as_locked(void **state)
{
    (void)state;
    dsr_err err;
    nats_cursor *c1 = NULL, *c2 = NULL;
    assert_int_equal(nats_cursor_open(&c1, dir, &err), 0);
    assert_int_equal(nats_cursor_open(&c2, dir, &err), DSR_ELOCKED);
    assert_null(c2);
    assert_non_null(strstr(err.msg, "another `dossier publish`"));
    nats_cursor_close(c1);
    assert_int_equal(nats_cursor_open(&c2, dir, &err), 0);
    nats_cursor_close(c2);
}

static void test_unwritable_folder_is_an_io_error(void **state)
{
    (void)state;
    dsr_err err;
    nats_cursor *c = NULL;
    assert_int_equal(nats_cursor_open(&c, "/proc/self/no-such-dir", &err), DSR_EIO);
    assert_null(c);
    assert_non_null(strstr(err.msg, "/proc/self/no-such-dir/publish"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_absent_cursor_reads_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_survives_reopen_and_keys_are_independent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_opener_is_refused_as_locked, setup, teardown),
        cmocka_unit_test(test_unwritable_folder_is_an_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

static void test_built_without_nats(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_built_without_nats) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif

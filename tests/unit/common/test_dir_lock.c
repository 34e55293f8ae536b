/*
 * test_dir_lock.c - common/dir_lock.c: a folder is locked once at a time
 * (a second lock, even from this process, is DSR_ELOCKED and leaves the
 * caller's err alone), closing the descriptor unlocks it, and a folder that
 * cannot be opened is DSR_EIO naming it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dir_lock.h"

static void test_second_lock_is_refused_until_the_first_is_closed(void **state)
{
    (void)state;
    char dir[] = "/tmp/dossier-dirlock-XXXXXX";
    assert_non_null(mkdtemp(dir));
    dsr_err err;
    dsr_err_clear(&err);
    int a = -1, b = -1;
    assert_int_equal(dir_lock(dir, &a, &err), 0);
    assert_true(a >= 0);
    assert_int_equal(dir_lock(dir, &b, &err), DSR_ELOCKED);
    assert_int_equal(b, -1);
    assert_int_equal(err.code, 0);            /* the caller words "locked" */
    close(a);
    assert_int_equal(dir_lock(dir, &b, &err), 0);
    close(b);
    assert_int_equal(rmdir(dir), 0);
}

static void test_a_missing_folder_is_an_io_error_naming_it(void **state)
{
    (void)state;
    dsr_err err;
    dsr_err_clear(&err);
    int fd = 7;
    const char *dir = "/tmp/dossier-dirlock-no-such-folder/x";
    assert_int_equal(dir_lock(dir, &fd, &err), DSR_EIO);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err.msg, dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_lock_is_refused_until_the_first_is_closed),
        cmocka_unit_test(test_a_missing_folder_is_an_io_error_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

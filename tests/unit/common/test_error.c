/*
 * test_error.c - dsr_err_set / dsr_err_errno / dsr_err_prefix
 * (dossier/error.h): each returns a failure code whether or not the caller
 * passed an error struct, so `return dsr_err_prefix(err, ...)` on a failure
 * path never turns into success; the prefix keeps the old message after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "dossier/error.h"

static void test_set_and_errno_return_their_code_without_a_struct(void **state)
{
    (void)state;
    static const int codes[] = { DSR_EINVAL, DSR_EIO, DSR_ENOTFOUND, DSR_EPARSE };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_int_equal(dsr_err_set(NULL, codes[i], "x %d", 1), codes[i]);
        assert_int_equal(dsr_err_errno(NULL, codes[i], ENOENT, "x"), codes[i]);
    }
}

static void test_prefix_returns_the_code_the_failure_set(void **state)
{
    (void)state;
    static const int codes[] = { DSR_EINVAL, DSR_ENOMEM, DSR_EIO, DSR_EMANIFEST,
                                 DSR_ESCHEMA, DSR_ELOCKED, DSR_ECORRUPT, DSR_ENOTFOUND,
                                 DSR_ENET, DSR_EPARSE };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        dsr_err err = { 0 };
        dsr_err_set(&err, codes[i], "artifact %s", "spec.md");
        int rc = dsr_err_prefix(&err, "feature %s", "042-x");
        if (rc != codes[i] || err.code != codes[i])
            fail_msg("code %s: prefix returned %d, left %d", dsr_err_name(codes[i]), rc,
                     err.code);
        assert_string_equal(err.msg, "feature 042-x: artifact spec.md");
    }
}

static void test_prefix_without_a_struct_is_still_a_failure(void **state)
{
    (void)state;
    int rc = dsr_err_prefix(NULL, "feature %s", "042-x");
    assert_true(rc < 0);
    assert_int_equal(rc, DSR_EIO);
}

/* A failing call that left no code: the prefix does not report success. */
static void test_prefix_of_a_struct_without_a_code_is_still_a_failure(void **state)
{
    (void)state;
    dsr_err err = { 0 };
    int rc = dsr_err_prefix(&err, "run %s", "r1");
    assert_int_equal(rc, DSR_EIO);
    assert_int_equal(err.code, DSR_EIO);
    assert_string_equal(err.msg, "run r1: ");
}

static void test_prefix_truncates_within_the_message_buffer(void **state)
{
    (void)state;
    dsr_err err = { 0 };
    char long_ctx[DSR_ERR_MSG_MAX + 16];
    memset(long_ctx, 'a', sizeof long_ctx - 1);
    long_ctx[sizeof long_ctx - 1] = '\0';
    dsr_err_set(&err, DSR_ECORRUPT, "old");
    assert_int_equal(dsr_err_prefix(&err, "%s", long_ctx), DSR_ECORRUPT);
    assert_int_equal(strlen(err.msg), DSR_ERR_MSG_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_errno_return_their_code_without_a_struct),
        cmocka_unit_test(test_prefix_returns_the_code_the_failure_set),
        cmocka_unit_test(test_prefix_without_a_struct_is_still_a_failure),
        cmocka_unit_test(test_prefix_of_a_struct_without_a_code_is_still_a_failure),
        cmocka_unit_test(test_prefix_truncates_within_the_message_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_version.c - dsr_version() and dsr_version_number() report the
 * version the headers were built with, in agreeing forms, and the build
 * system took its version from the same header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dossier/dossier.h"

static void test_runtime_version_equals_the_header(void **state)
{
    (void)state;
    assert_string_equal(dsr_version(), DSR_VERSION_STRING);
    assert_int_equal(dsr_version_number(), DSR_VERSION_NUMBER);
}

static void test_version_string_and_number_agree(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%u.%u.%u", dsr_version_number() / 10000,
             dsr_version_number() / 100 % 100, dsr_version_number() % 100);
    assert_string_equal(dsr_version(), want);
    assert_int_equal(DOSSIER_VERSION_MAJOR, DSR_VERSION_MAJOR);
}

static void test_build_system_version_is_the_header_version(void **state)
{
    (void)state;
    assert_string_equal(DSR_VERSION_STRING, DOSSIER_TEST_PROJECT_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_version_equals_the_header),
        cmocka_unit_test(test_version_string_and_number_agree),
        cmocka_unit_test(test_build_system_version_is_the_header_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

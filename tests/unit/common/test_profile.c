/*
 * test_profile.c - profile names parse back to the profile they name, and
 * unknown or differently spelled names are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "dossier/profile.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    dsr_profile all[] = { DSR_PROFILE_WP04, DSR_PROFILE_SPEC_KITTY_3 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        dsr_profile p = (dsr_profile)-1;
        assert_non_null(dsr_profile_name(all[i]));
        assert_int_equal(dsr_profile_parse(dsr_profile_name(all[i]), &p), 0);
        assert_int_equal(p, all[i]);
        assert_non_null(strstr(DSR_PROFILE_NAMES, dsr_profile_name(all[i])));
    }
    assert_string_equal(dsr_profile_name(DSR_PROFILE_WP04), "wp04");
    assert_string_equal(dsr_profile_name(DSR_PROFILE_SPEC_KITTY_3), "spec-kitty-3");
}

static void test_unknown_names_are_refused(void **state)
{
    (void)state;
    const char *bad[] = { "", "WP04", "spec-kitty", "spec_kitty_3", "spec-kitty-3 ", NULL };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsr_profile p = DSR_PROFILE_SPEC_KITTY_3;
        assert_int_equal(dsr_profile_parse(bad[i], &p), -1);
        assert_int_equal(p, DSR_PROFILE_SPEC_KITTY_3);   /* untouched */
    }
    assert_null(dsr_profile_name((dsr_profile)7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_unknown_names_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

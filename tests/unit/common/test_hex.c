/*
 * test_hex.c - dsr_hex / dsr_unhex (dossier/buf.h): the hex codec shared by
 * the scan cache and stored records.  Round trips, and what is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dossier/buf.h"

static void test_round_trip_of_every_byte_value(void **state)
{
    (void)state;
    unsigned char in[256], back[256];
    char hex[513];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i;
    dsr_hex(in, sizeof in, hex);
    assert_int_equal(strlen(hex), 512);
    assert_int_equal(dsr_unhex(hex, 512, back), 0);
    assert_memory_equal(in, back, sizeof in);
}

static void test_refuses_what_is_not_lowercase_hex(void **state)
{
    (void)state;
    unsigned char out[4];
    assert_int_equal(dsr_unhex("00ff7a", 6, out), 0);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(dsr_unhex("00FF7a", 6, out), -1);   /* uppercase */
    assert_int_equal(dsr_unhex("00fg7a", 6, out), -1);   /* not a digit */
    assert_int_equal(dsr_unhex("0 ff7a", 6, out), -1);
    assert_int_equal(dsr_unhex("00ff7", 5, out), -1);    /* odd length */
    assert_int_equal(dsr_unhex("", 0, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_of_every_byte_value),
        cmocka_unit_test(test_refuses_what_is_not_lowercase_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

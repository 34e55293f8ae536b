/*
 * test_nats_names.c - the names dossier uses on NATS (replay/nats_subject.c):
 * subject tokens never carry wildcards or separators, default durable names
 * are per log (and per feature), invalid stream names and prefixes are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#ifdef DOSSIER_WITH_NATS
#include "mirror.h"

static void test_token_replaces_reserved_characters(void **state)
{
    (void)state;
    char out[64];
    const char *in = "a.b*c>d e\tf/g";
    size_t n = dsr_nats_token(in, strlen(in), out, sizeof out);
    assert_string_equal(out, "a_b_c_d_e_f_g");
    assert_int_equal(n, strlen(in));
}

static void test_token_keeps_slug_characters(void **state)
{
    (void)state;
    char out[64];
    dsr_nats_token("042-Checkout_flow", 17, out, sizeof out);
    assert_string_equal(out, "042-Checkout_flow");
}

static void test_token_of_empty_slug_is_underscore(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(dsr_nats_token("", 0, out, sizeof out), 1);
    assert_string_equal(out, "_");
}

static void test_token_maps_non_ascii_bytes(void **state)
{
    (void)state;
    char out[16];
    dsr_nats_token("caf\xc3\xa9", 5, out, sizeof out);
    assert_string_equal(out, "caf__");
}

static void test_token_truncates_to_buffer(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(dsr_nats_token("abcdef", 6, out, sizeof out), 3);
    assert_string_equal(out, "abc");
}

static void test_default_durable_is_per_node_and_feature(void **state)
{
    (void)state;
    char out[DSR_NATS_NAME_MAX];
    assert_int_equal(dsr_nats_default_durable("01HZX5", NULL, out, sizeof out), 0);
    assert_string_equal(out, "dossier-01HZX5");
    assert_int_equal(dsr_nats_default_durable("01HZX5", "042.x", out, sizeof out), 0);
    assert_string_equal(out, "dossier-01HZX5-042_x");
    assert_true(nats_name_valid(out));
}

static void test_default_durable_too_long_is_refused(void **state)
{
    (void)state;
    char out[DSR_NATS_NAME_MAX], feat[300];
    memset(feat, 'f', sizeof feat - 1);
    feat[sizeof feat - 1] = '\0';
    assert_int_equal(dsr_nats_default_durable("01HZX5", feat, out, sizeof out), DSR_EINVAL);
    char small[12];
    assert_int_equal(dsr_nats_default_durable("01HZX5", NULL, small, sizeof small), DSR_EINVAL);
}

static void test_stream_names(void **state)
{
    (void)state;
    assert_true(nats_name_valid("DOSSIER"));
    assert_true(nats_name_valid("team_a-1"));
    assert_false(nats_name_valid(""));
    assert_false(nats_name_valid("a.b"));
    assert_false(nats_name_valid("a*"));
    assert_false(nats_name_valid("a>"));
    assert_false(nats_name_valid("a b"));
    assert_false(nats_name_valid("a/b"));
}

static void test_subject_prefixes(void **state)
{
    (void)state;
    assert_true(nats_prefix_valid("dossier"));
    assert_true(nats_prefix_valid("org.team-1.dossier"));
    assert_false(nats_prefix_valid(""));
    assert_false(nats_prefix_valid("a..b"));
    assert_false(nats_prefix_valid(".a"));
    assert_false(nats_prefix_valid("a."));
    assert_false(nats_prefix_valid("a.*"));
    assert_false(nats_prefix_valid("a.>"));
    assert_false(nats_prefix_valid("a b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_replaces_reserved_characters),
        cmocka_unit_test(test_token_keeps_slug_characters),
        cmocka_unit_test(test_token_of_empty_slug_is_underscore),
        cmocka_unit_test(test_token_maps_non_ascii_bytes),
        cmocka_unit_test(test_token_truncates_to_buffer),
        cmocka_unit_test(test_default_durable_is_per_node_and_feature),
        cmocka_unit_test(test_default_durable_too_long_is_refused),
        cmocka_unit_test(test_stream_names),
        cmocka_unit_test(test_subject_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* built without libnats: nothing to test, say so */

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

/*
 * test_json.c - the strict JSON -> msgpack parser and the msgpack -> JSON
 * writer: round trips, escapes, limits, and the inputs they must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/event.h"
#include "buf.h"

/* Parse text; on success unpack into *u and return 0, else the code. */
static int parse(const char *text, size_t len, msgpack_sbuffer *sb, msgpack_unpacked *u,
                 dsr_err *err)
{
    msgpack_sbuffer_init(sb);
    msgpack_unpacked_init(u);
    int rc = dsr_json_to_msgpack(text, len, sb, err);
    if (!rc) {
        size_t off = 0;
        assert_int_equal(msgpack_unpack_next(u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, sb->size);
    }
    return rc;
}

static void done(msgpack_sbuffer *sb, msgpack_unpacked *u)
{
    msgpack_unpacked_destroy(u);
    msgpack_sbuffer_destroy(sb);
}

/* text -> msgpack -> JSON must give back `want` exactly. */
static void round_trip(const char *text, size_t len, const char *want)
{
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    dsr_err err = { 0 };
    if (parse(text, len, &sb, &u, &err))
        fail_msg("does not parse: %s (%s)", text, err.msg);
    dsr_buf out = DSR_BUF_INIT;
    assert_int_equal(dsr_msgpack_to_json(&u.data, &out), 0);
    if (strlen(want) != out.len || memcmp(want, out.data, out.len))
        fail_msg("round trip of %s gave %s, want %s", text, out.data, want);
    dsr_buf_free(&out);
    done(&sb, &u);
}

#define RT(s) round_trip(s, strlen(s), s)
#define RT2(s, want) round_trip(s, sizeof(s) - 1, want)

/* Expect a parse error whose message contains `what`. */
static void refuse(const char *text, size_t len, const char *what)
{
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    dsr_err err = { 0 };
    int rc = parse(text, len, &sb, &u, &err);
    if (rc != DSR_EPARSE)
        fail_msg("accepted (rc %d): %.*s", rc, (int)(len > 80 ? 80 : len), text);
    if (what && !strstr(err.msg, what))
        fail_msg("message for %.*s is '%s', wanted '%s'", (int)(len > 80 ? 80 : len), text,
                 err.msg, what);
    assert_int_equal(sb.size, 0);   /* nothing written on error */
    done(&sb, &u);
}

#define REFUSE(s, what) refuse(s, sizeof(s) - 1, what)

static void test_compact_json_round_trips_with_key_order_kept(void **state)
{
    (void)state;
    RT("{\"z\":1,\"a\":-2,\"m\":[true,false,null,[],{}],\"s\":\"x\"}");
    RT("[0,18446744073709551615,-9223372036854775808,1.5,-0.25,1e+300,2.0]");
    RT("\"plain\"");
    RT("42");
    RT("{\"nested\":{\"deeper\":{\"k\":[1,[2,[3]]]}}}");
    RT("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    /* whitespace is dropped */
    RT2(" { \"a\" :\t[ 1 ,\r\n2 ] } \n", "{\"a\":[1,2]}");
}

static void test_escapes_decode_and_are_written_back(void **state)
{
    (void)state;
    RT2("\"\\u00e9\\ud83d\\ude00\\/\"", "\"\xc3\xa9\xf0\x9f\x98\x80/\"");
    RT("\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f c\\u0001 d\\u001f\"");
    /* NUL inside a string survives */
    RT2("\"a\\u0000b\"", "\"a\\u0000b\"");
    /* a key that needs escaping */
    RT("{\"a\\\"b\":1}");
}

static void test_nesting_deeper_than_64_is_refused(void **state)
{
    (void)state;
    char ok[64 * 2 + 1], deep[65 * 2 + 1];
    memset(ok, '[', 64);
    memset(ok + 64, ']', 64);
    ok[128] = '\0';
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    dsr_err err = { 0 };
    /* 64 levels parse (msgpack-c itself decodes only 32, so check the bytes) */
    assert_int_equal(dsr_json_to_msgpack(ok, 128, &sb, &err), 0);
    assert_int_equal(sb.size, 64);
    for (size_t i = 0; i < 63; i++)
        assert_int_equal((unsigned char)sb.data[i], 0x91);   /* fixarray of 1 */
    assert_int_equal((unsigned char)sb.data[63], 0x90);
    msgpack_sbuffer_destroy(&sb);
    refuse(deep, 130, "column 65: nesting deeper than 64 levels");
    /* objects count too */
    char obj[65 * 6 + 1];
    size_t n = 0;
    for (int i = 0; i < 65; i++)
        n += (size_t)sprintf(obj + n, "{\"a\":");
    refuse(obj, n, "nesting deeper than 64");
}

static void test_duplicate_keys_are_refused_even_when_spelled_differently(void **state)
{
    (void)state;
    REFUSE("{\"a\":1,\"a\":2}", "column 8: duplicate key \"a\"");
    REFUSE("{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\"");
    REFUSE("{\"x\":{\"k\":1,\"k\":1}}", "duplicate key \"k\"");
    RT("{\"a\":{\"a\":1},\"b\":{\"a\":2}}");   /* same key in different objects is fine */
    /* a big object: unique keys pass, one repeat is found and named */
    dsr_buf b = DSR_BUF_INIT;
    dsr_buf_putc(&b, '{');
    for (int i = 0; i < 5000; i++)
        dsr_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    dsr_buf_putc(&b, '}');
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    dsr_err err = { 0 };
    assert_int_equal(parse(b.data, b.len, &sb, &u, &err), 0);
    assert_int_equal(u.data.via.map.size, 5000);
    done(&sb, &u);
    b.len--;   /* drop '}' */
    dsr_buf_puts(&b, ",\"k4321\":0,\"k17\":0}");
    refuse(b.data, b.len, "duplicate key \"k4321\"");
    dsr_buf_free(&b);
}

static void test_truncated_input_is_refused_with_a_column(void **state)
{
    (void)state;
    REFUSE("", "empty input");
    REFUSE("   ", "empty input");
    REFUSE("{\"a\":", "column 6: unexpected end of input");
    REFUSE("[1,2", "column 5: unexpected end of input");
    REFUSE("\"abc", "column 1: unterminated string");
    REFUSE("\"abc\\", "unterminated string");
    REFUSE("tru", "unexpected");
    REFUSE("-", "unexpected end");
    REFUSE("1.", "digit expected after the decimal point");
    REFUSE("1e", "digit expected in the exponent");
    REFUSE("{\"a\"", "unexpected end");
    REFUSE("{\"a\":1,", "unexpected end");
    REFUSE("\"\\u12", "unterminated string");
    REFUSE("\"\\u12\"", "invalid \\u escape");
}

static void test_malformed_json_is_refused(void **state)
{
    (void)state;
    REFUSE("{\"a\":tru}", "column 6: unexpected");
    REFUSE("{a:1}", "column 2: expected a string key");
    REFUSE("{\"a\" 1}", "expected ':'");
    REFUSE("[1 2]", "expected ',' or ']'");
    REFUSE("[1,]", "column 4: unexpected character ']'");
    REFUSE("{\"a\":1,}", "expected a string key");
    REFUSE("{\"a\":1 \"b\":2}", "expected ',' or '}'");
    REFUSE("01", "leading zeros");
    REFUSE("-01", "leading zeros");
    REFUSE(".5", "unexpected character '.'");
    REFUSE("+1", "unexpected character '+'");
    REFUSE("1 2", "column 3: unexpected text after the JSON value");
    REFUSE("{} x", "unexpected text");
    REFUSE("NaN", "unexpected");
    REFUSE("Infinity", "unexpected");
    REFUSE("'a'", "unexpected");
    REFUSE("\"\\x41\"", "invalid escape");
    REFUSE("\"\\ud800\"", "not followed by a low surrogate");
    REFUSE("\"\\ud800\\u0041\"", "not followed by a low surrogate");
    REFUSE("\"\\udc00\"", "lone low surrogate");
    REFUSE("\"tab\there\"", "control character U+0009");
    REFUSE("\"nl\nhere\"", "control character U+000A");
    REFUSE("\xef\xbb\xbf{}", "byte order mark");
    REFUSE("[1,\n2,\n  x]", "line 3, column 3");
    REFUSE("[1]\0", "unexpected text");
}

static void test_invalid_utf8_is_refused(void **state)
{
    (void)state;
    REFUSE("\"\xff\"", "column 2: invalid UTF-8");
    REFUSE("\"\xc0\xaf\"", "invalid UTF-8");           /* overlong '/' */
    REFUSE("\"\xe0\x80\xaf\"", "invalid UTF-8");       /* overlong */
    REFUSE("\"\xed\xa0\x80\"", "invalid UTF-8");       /* surrogate D800 */
    REFUSE("\"\xf4\x90\x80\x80\"", "invalid UTF-8");   /* above U+10FFFF */
    REFUSE("\"\xe2\x82\"", "invalid UTF-8");           /* truncated sequence */
    REFUSE("\"\x80\"", "invalid UTF-8");               /* lone continuation */
    REFUSE("[\xc3\xa9]", "unexpected byte 0xc3");      /* non-ASCII outside strings */
    RT("\"\xf4\x8f\xbf\xbf\"");                          /* U+10FFFF is fine */
}

static void test_huge_numbers_are_handled_without_overflow(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    dsr_err err = { 0 };
    /* just above uint64 / below int64: doubles, not wrapped integers */
    assert_int_equal(parse("18446744073709551616", 20, &sb, &u, &err), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_FLOAT64);
    assert_true(u.data.via.f64 == 18446744073709551616.0);
    done(&sb, &u);
    assert_int_equal(parse("-9223372036854775809", 20, &sb, &u, &err), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_FLOAT64);
    done(&sb, &u);
    assert_int_equal(parse("-9223372036854775808", 20, &sb, &u, &err), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true(u.data.via.i64 == INT64_MIN);
    done(&sb, &u);
    assert_int_equal(parse("-0", 2, &sb, &u, &err), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(u.data.via.u64, 0);
    done(&sb, &u);
    /* underflow is a (tiny or zero) double, not an error */
    assert_int_equal(parse("1e-400", 6, &sb, &u, &err), 0);
    assert_true(u.data.via.f64 >= 0.0 && u.data.via.f64 < 1e-300);
    done(&sb, &u);
    /* too large for a double: refused, never infinity */
    REFUSE("1e400", "number out of range");
    REFUSE("-1e400", "number out of range");
    char big[5001];
    big[0] = '9';
    memset(big + 1, '9', 4999);
    big[5000] = '\0';
    refuse(big, 5000, "number out of range");
    /* 300 digits still fit a double */
    assert_int_equal(parse(big, 300, &sb, &u, &err), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_FLOAT64);
    done(&sb, &u);
    /* a long fraction is fine */
    char frac[2003] = "0.";
    memset(frac + 2, '3', 2000);
    frac[2002] = '\0';
    assert_int_equal(parse(frac, 2002, &sb, &u, &err), 0);
    assert_true(u.data.via.f64 > 0.333 && u.data.via.f64 < 0.334);
    done(&sb, &u);
}

static void test_numbers_ignore_the_process_locale(void **state)
{
    (void)state;
    /* A locale with a decimal comma, when the system has one. */
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc)
        loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    RT("[1.5,0.1,-2.75e-10]");
    setlocale(LC_NUMERIC, "C");
    if (!loc)
        print_message("no decimal-comma locale installed; checked the C locale only\n");
}

static void test_writer_escapes_and_replaces_what_json_cannot_hold(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "bad", 3);
    msgpack_pack_str_with_body(&pk, "a\xff" "b\xc3", 4);          /* invalid UTF-8 */
    msgpack_pack_int(&pk, 7);                                     /* non-string key */
    msgpack_pack_double(&pk, 0.1);
    msgpack_pack_str_with_body(&pk, "nan", 3);
    msgpack_pack_double(&pk, 0.0 / 0.0);
    msgpack_pack_str_with_body(&pk, "bin", 3);
    msgpack_pack_bin_with_body(&pk, "\x01z", 2);
    msgpack_pack_str_with_body(&pk, "ext", 3);
    msgpack_pack_ext_with_body(&pk, "xy", 2, 5);
    msgpack_pack_str_with_body(&pk, "f32", 3);
    msgpack_pack_float(&pk, 0.5f);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    dsr_buf out = DSR_BUF_INIT;
    dsr_buf_puts(&out, "prefix:");
    assert_int_equal(dsr_msgpack_to_json(&u.data, &out), 0);
    assert_string_equal(out.data,
        "prefix:{\"bad\":\"a\\ufffdb\\ufffd\",\"7\":0.1,\"nan\":null,\"bin\":\"\\u0001z\","
        "\"ext\":null,\"f32\":0.5}");
    dsr_buf_free(&out);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_integers_past_int64_in_a_document_keep_their_place(void **state)
{
    (void)state;
    /* An integer past int64 among others: every other number (and the
     * digits and '-' inside strings) keeps its type and value. */
    RT("[1,18446744073709551615,{\"k\":-9223372036854775808,\"s\":\"-1 2e5 \\\" 3\"},"
       "3.5,9223372036854775807,-0.5,[1e+300]]");
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    dsr_err err = { 0 };
    assert_int_equal(parse("[-0,18446744073709551616,7,\"9\",-12]", 35, &sb, &u, &err), 0);
    msgpack_object_array *a = &u.data.via.array;
    assert_int_equal(a->size, 5);
    assert_int_equal(a->ptr[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(a->ptr[1].type, MSGPACK_OBJECT_FLOAT64);
    assert_int_equal(a->ptr[2].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(a->ptr[2].via.u64, 7);
    assert_int_equal(a->ptr[3].type, MSGPACK_OBJECT_STR);
    assert_int_equal(a->ptr[4].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true(a->ptr[4].via.i64 == -12);
    done(&sb, &u);
    /* still refused there: a double out of range, a syntax error after it */
    REFUSE("[18446744073709551616,1e400]", "column 23: number out of range (1e400)");
    REFUSE("[18446744073709551616,tru]", "column 23: unexpected character 't'");
}

static void test_many_keys_keep_input_order(void **state)
{
    (void)state;
    /* more keys than a small hash table holds: order is the input's, not
     * the table's */
    dsr_buf b = DSR_BUF_INIT;
    dsr_buf_putc(&b, '{');
    for (int i = 0; i < 300; i++)
        dsr_buf_printf(&b, "%s\"%c%d\":%d", i ? "," : "", 'z' - i % 26, 300 - i, i);
    dsr_buf_putc(&b, '}');
    round_trip(b.data, b.len, b.data);
    dsr_buf_free(&b);
}

static void test_errors_name_the_token_and_the_first_rule_broken(void **state)
{
    (void)state;
    REFUSE("{\"a\":tru}", "column 6: unexpected character 't'");
    REFUSE("[NaN]", "column 2: unexpected character 'N'");
    REFUSE("-x", "column 2: unexpected character 'x'");
    REFUSE("\"\\ud800\"", "column 2: high surrogate");
    REFUSE("{\"long key, longer than twenty bytes\":1,\"long key, longer than twenty bytes\":2}",
           "column 41: duplicate key \"long key, longer than twenty bytes\"");
    /* nesting past the limit comes before a later syntax error, however
     * deep the text goes */
    char deep[3001];
    memset(deep, '[', 3000);
    deep[3000] = '\0';
    refuse(deep, 3000, "column 65: nesting deeper than 64 levels");
    refuse(deep, 100, "column 65: nesting deeper than 64 levels");
}

static void test_error_leaves_earlier_output_in_place(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    dsr_err err = { 0 };
    assert_int_equal(dsr_json_to_msgpack("[1]", 3, &sb, &err), 0);
    size_t size = sb.size;
    assert_int_equal(dsr_json_to_msgpack("[1,", 3, &sb, &err), DSR_EPARSE);
    assert_int_equal(sb.size, size);
    /* appends */
    assert_int_equal(dsr_json_to_msgpack("2", 1, &sb, &err), 0);
    assert_int_equal(sb.size, size + 1);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_json_round_trips_with_key_order_kept),
        cmocka_unit_test(test_escapes_decode_and_are_written_back),
        cmocka_unit_test(test_nesting_deeper_than_64_is_refused),
        cmocka_unit_test(test_duplicate_keys_are_refused_even_when_spelled_differently),
        cmocka_unit_test(test_truncated_input_is_refused_with_a_column),
        cmocka_unit_test(test_malformed_json_is_refused),
        cmocka_unit_test(test_invalid_utf8_is_refused),
        cmocka_unit_test(test_huge_numbers_are_handled_without_overflow),
        cmocka_unit_test(test_numbers_ignore_the_process_locale),
        cmocka_unit_test(test_writer_escapes_and_replaces_what_json_cannot_hold),
        cmocka_unit_test(test_integers_past_int64_in_a_document_keep_their_place),
        cmocka_unit_test(test_many_keys_keep_input_order),
        cmocka_unit_test(test_errors_name_the_token_and_the_first_rule_broken),
        cmocka_unit_test(test_error_leaves_earlier_output_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

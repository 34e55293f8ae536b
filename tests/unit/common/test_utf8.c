/*
 * test_utf8.c - the incremental UTF-8 validator accepts exactly RFC 3629
 * UTF-8 (no overlongs, surrogates, code points above U+10FFFF or truncated
 * tails), gives the same answer however the input is split into chunks, and
 * reports the offset where the first invalid sequence starts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

typedef struct row {
    const char *bytes;
    size_t      len;
    int         valid;
    unsigned    bad_at;    /* checked when invalid and not truncated */
} row;

#define R(s, v, at) { s, sizeof(s) - 1, v, at }

static const row TABLE[] = {
    R("", 1, 0),
    R("plain ascii text, long enough to use the word loop", 1, 0),
    R("caf\xc3\xa9", 1, 0),                       /* U+00E9 */
    R("\xe2\x82\xac", 1, 0),                      /* U+20AC */
    R("\xf0\x9f\x98\x80", 1, 0),                  /* U+1F600 */
    R("\xf4\x8f\xbf\xbf", 1, 0),                  /* U+10FFFF, the maximum */
    R("\xef\xbb\xbf" "BOM", 1, 0),
    R("a\x80", 0, 1),                             /* stray continuation */
    R("ab\xc0\xaf", 0, 2),                        /* overlong '/' */
    R("\xc1\xbf", 0, 0),                          /* overlong */
    R("\xe0\x80\xaf", 0, 0),                      /* overlong 3-byte */
    R("\xed\xa0\x80", 0, 0),                      /* surrogate U+D800 */
    R("\xf0\x8f\xbf\xbf", 0, 0),                  /* overlong 4-byte */
    R("\xf4\x90\x80\x80", 0, 0),                  /* above U+10FFFF */
    R("\xf5\x80\x80\x80", 0, 0),
    R("\xff", 0, 0),
    R("ok\xc3(", 0, 2),                           /* lead without continuation */
    R("12345678\xe2\x82", 0, 0),                  /* truncated at the end */
};

static int check(const char *p, size_t n, size_t chunk, utf8_state *u)
{
    utf8_init(u);
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t off = 0; off < n; off += chunk)
        utf8_feed(u, (const unsigned char *)p + off, n - off < chunk ? n - off : chunk);
    return utf8_valid(u);
}

static void test_table_is_judged_the_same_for_every_chunking(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        for (size_t chunk = 0; chunk <= 9; chunk++) {
            utf8_state u;
            int got = check(TABLE[i].bytes, TABLE[i].len, chunk, &u);
            if (got != TABLE[i].valid)
                print_error("row %zu chunk %zu: got %d\n", i, chunk, got);
            assert_int_equal(got, TABLE[i].valid);
            if (!got && u.bad)
                assert_int_equal(u.bad_at, TABLE[i].bad_at);
            assert_int_equal(u.offset, TABLE[i].len);
        }
}

static void test_truncated_sequence_is_not_bad_until_the_end(void **state)
{
    (void)state;
    utf8_state u;
    utf8_init(&u);
    utf8_feed(&u, (const unsigned char *)"\xe2\x82", 2);
    assert_false(utf8_valid(&u));        /* incomplete so far */
    assert_int_equal(u.bad, 0);
    utf8_feed(&u, (const unsigned char *)"\xac", 1);
    assert_true(utf8_valid(&u));         /* completed by the next chunk */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_judged_the_same_for_every_chunking),
        cmocka_unit_test(test_truncated_sequence_is_not_bad_until_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

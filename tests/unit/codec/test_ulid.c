/*
 * test_ulid.c - ULID generation (format, monotonic order within a
 * millisecond, clock steps and overflow), derivation, validation, and the
 * binary form stored records use (16 bytes <-> 26 chars).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dossier/event.h"
#include "codec.h"

static const char ALPHA[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Decode the 48-bit time part (first 10 chars). */
static uint64_t ulid_ms(const char *id)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++)
        v = v * 32 + (uint64_t)(strchr(ALPHA, id[i]) - ALPHA);
    return v;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_new_ulid_is_26_crockford_chars_stamped_now(void **state)
{
    (void)state;
    dsr_ulid_gen g = { 0 };
    char id[DSR_ULID_LEN + 1];
    uint64_t before = now_ms();
    assert_int_equal(dsr_ulid_new(&g, id), 0);
    uint64_t after = now_ms();
    assert_int_equal(strlen(id), 26);
    assert_true(dsr_ulid_valid(id, strlen(id)));
    assert_true(ulid_ms(id) >= before && ulid_ms(id) <= after);
}

/* Random part (last 16 chars = 80 bits) as two halves for comparison. */
static void rand_part(const char *id, uint64_t *hi, uint64_t *lo)
{
    /* chars 10..25: 80 bits; first 8 chars = 40 bits, last 8 chars = 40 bits */
    *hi = *lo = 0;
    for (int i = 10; i < 18; i++)
        *hi = *hi * 32 + (uint64_t)(strchr(ALPHA, id[i]) - ALPHA);
    for (int i = 18; i < 26; i++)
        *lo = *lo * 32 + (uint64_t)(strchr(ALPHA, id[i]) - ALPHA);
}

static void test_ids_increase_and_step_by_one_within_a_millisecond(void **state)
{
    (void)state;
    enum { N = 20000 };
    dsr_ulid_gen g = { 0 };
    char prev[DSR_ULID_LEN + 1], id[DSR_ULID_LEN + 1];
    assert_int_equal(dsr_ulid_new(&g, prev), 0);
    int same_ms = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(dsr_ulid_new(&g, id), 0);
        assert_true(dsr_ulid_valid(id, 26));
        if (strcmp(prev, id) >= 0)
            fail_msg("not increasing: %s then %s", prev, id);
        if (!memcmp(prev, id, 10)) {
            same_ms++;
            uint64_t ph, pl, h, l;
            rand_part(prev, &ph, &pl);
            rand_part(id, &h, &l);
            const uint64_t lo_max = (1ull << 40) - 1;
            int plus_one = (h == ph && l == pl + 1) || (pl == lo_max && l == 0 && h == ph + 1);
            if (!plus_one)
                fail_msg("same millisecond but not +1: %s then %s", prev, id);
        }
        memcpy(prev, id, sizeof id);
    }
    /* 20000 ids take far less than 20000 ms: many shared a millisecond. */
    assert_true(same_ms > 0);
}

static void test_clock_stepping_back_keeps_ids_increasing(void **state)
{
    (void)state;
    dsr_ulid_gen g = { 0 };
    char a[DSR_ULID_LEN + 1], b[DSR_ULID_LEN + 1];
    assert_int_equal(dsr_ulid_new(&g, a), 0);
    g.last_ms += 3600 * 1000;          /* as if the clock had been an hour ahead */
    assert_int_equal(dsr_ulid_new(&g, a), 0);
    assert_int_equal(dsr_ulid_new(&g, b), 0);
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(ulid_ms(a), g.last_ms);
    assert_int_equal(ulid_ms(b), g.last_ms);
}

static void test_random_part_overflow_moves_to_next_millisecond(void **state)
{
    (void)state;
    dsr_ulid_gen g = { 0 };
    g.last_ms = now_ms() + 1000000;
    memset(g.last_rand, 0xff, sizeof g.last_rand);
    uint64_t ms = g.last_ms;
    char id[DSR_ULID_LEN + 1];
    assert_int_equal(dsr_ulid_new(&g, id), 0);
    assert_int_equal(ulid_ms(id), ms + 1);
    assert_int_equal(g.last_ms, ms + 1);
}

/* The emitter's form: the caller's clock reading, the id's bytes beside its
 * text, the same monotonic rules. */
static void test_next_with_a_given_clock_gives_text_and_bytes_of_one_id(void **state)
{
    (void)state;
    dsr_ulid_gen g = { 0 };
    static const uint64_t clock[] = { 1764950400123ull, 1764950400123ull, 1764950400124ull,
                                      1764950400001ull /* stepped back */, 0xFFFFFFFFFFFFull };
    char prev[DSR_ULID_LEN + 1] = "";
    for (size_t i = 0; i < sizeof clock / sizeof clock[0]; i++) {
        char id[DSR_ULID_LEN + 1];
        unsigned char bin[16], back[16];
        assert_int_equal(codec_ulid_next(&g, clock[i], id, bin), 0);
        assert_int_equal(codec_ulid_to_bin(id, DSR_ULID_LEN, back), 0);
        assert_memory_equal(bin, back, 16);
        assert_true(strcmp(prev, id) < 0);
        /* the time part is the clock's, or the last one's when it stepped back */
        assert_int_equal(ulid_ms(id), i == 3 ? clock[2] : clock[i]);
        memcpy(prev, id, sizeof id);
    }
}

static void test_derive_is_deterministic_and_uses_sha256_of_the_seed(void **state)
{
    (void)state;
    char a[DSR_ULID_LEN + 1], b[DSR_ULID_LEN + 1], c[DSR_ULID_LEN + 1];
    dsr_ulid_derive(1769860800123ull, "abc", 3, a);
    dsr_ulid_derive(1769860800123ull, "abc", 3, b);
    dsr_ulid_derive(1769860800123ull, "abd", 3, c);
    /* time 1769860800123 ms + first 80 bits of SHA-256("abc")
     * (ba7816bf8f01cfea4141...), computed independently. */
    assert_string_equal(a, "01KG9YS7KVQ9W1DFWF077YMGA1");
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_memory_equal(a, c, 10);      /* same time part */
    assert_true(dsr_ulid_valid(a, 26));
    /* the time part is masked to 48 bits */
    dsr_ulid_derive(UINT64_MAX, "", 0, a);
    assert_memory_equal(a, "7ZZZZZZZZZ", 10);
}

static void test_validation_rejects_non_crockford_and_wrong_lengths(void **state)
{
    (void)state;
    assert_true(dsr_ulid_valid("00000000000000000000000000", 26));
    assert_true(dsr_ulid_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
    assert_false(dsr_ulid_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));   /* > 48-bit time */
    assert_false(dsr_ulid_valid("01KG9YS7KVQ9W1DFWF077YMGA", 25));
    assert_false(dsr_ulid_valid("01KG9YS7KVQ9W1DFWF077YMGA11", 27));
    assert_false(dsr_ulid_valid("01kg9ys7kvq9w1dfwf077ymga1", 26));   /* lowercase */
    assert_false(dsr_ulid_valid("01KG9YS7KVQ9W1DFWF077YMGAI", 26));   /* I */
    assert_false(dsr_ulid_valid("01KG9YS7KVQ9W1DFWF077YMGAL", 26));   /* L */
    assert_false(dsr_ulid_valid("01KG9YS7KVQ9W1DFWF077YMGAO", 26));   /* O */
    assert_false(dsr_ulid_valid("01KG9YS7KVQ9W1DFWF077YMGAU", 26));   /* U */
    assert_false(dsr_ulid_valid("01KG9YS7KVQ9W1DF\0F077YMGA1", 26));  /* NUL */
    assert_false(dsr_ulid_valid(NULL, 26));
}

/* The 26 chars of 16 bytes, one bit at a time: the 130-bit string of two
 * zero pad bits and the 128 bits, most significant first, cut into 5-bit
 * groups. */
static void text_of_bits(const unsigned char b[16], char out[27])
{
    for (int c = 0; c < 26; c++) {
        unsigned v = 0;
        for (int j = 5 * c; j < 5 * c + 5; j++) {
            unsigned bit = j < 2 ? 0 : (b[(j - 2) / 8] >> (7 - (j - 2) % 8)) & 1u;
            v = v << 1 | bit;
        }
        out[c] = ALPHA[v];
    }
    out[26] = '\0';
}

static void test_binary_form_converts_to_the_text_bit_for_bit_and_back(void **state)
{
    (void)state;
    unsigned char cases[][16] = {
        { 0 },
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0, 0, 0, 0, 0, 0, 0, 1 },               /* bit 64: the char that straddles */
        { 0, 0, 0, 0, 0, 0, 0, 0, 0xf0 },         /* bits 63..60 */
        { 0x80 },                                 /* bit 127 */
        { [15] = 1 },                             /* bit 0 */
    };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0] + 1000; k++) {
        unsigned char b[16];
        if (k < sizeof cases / sizeof cases[0]) {
            memcpy(b, cases[k], 16);
        } else {
            for (int i = 0; i < 16; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                b[i] = (unsigned char)x;
            }
        }
        char want[27], got[27];
        text_of_bits(b, want);
        memset(got, 'x', sizeof got);
        codec_ulid_from_bin(b, got);
        if (strcmp(got, want))
            fail_msg("case %zu: %s, expected %s", k, got, want);
        unsigned char back[16];
        assert_int_equal(codec_ulid_to_bin(got, 26, back), 0);
        assert_memory_equal(back, b, 16);
    }
}

/* A character outside the alphabet at any of the 26 places (both halves of
 * the conversion and the char they share), or a first char above 7, is
 * refused. */
static void test_binary_form_refuses_a_bad_char_at_every_place(void **state)
{
    (void)state;
    static const char bad[] = { 'U', 'I', 'L', 'O', 'a', '-', ' ', '\x80' };
    const char *good = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    unsigned char b[16];
    assert_int_equal(codec_ulid_to_bin(good, 26, b), 0);
    for (int pos = 0; pos < 26; pos++)
        for (size_t k = 0; k < sizeof bad; k++) {
            char s[27];
            memcpy(s, good, 27);
            s[pos] = bad[k];
            if (codec_ulid_to_bin(s, 26, b) != -1)
                fail_msg("char 0x%02x at place %d accepted", (unsigned char)bad[k], pos);
        }
    assert_int_equal(codec_ulid_to_bin("81ARZ3NDEKTSV4RRFFQ69G5FAV", 26, b), -1);
    assert_int_equal(codec_ulid_to_bin("71ARZ3NDEKTSV4RRFFQ69G5FAV", 26, b), 0);
    assert_int_equal(codec_ulid_to_bin(good, 25, b), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_ulid_is_26_crockford_chars_stamped_now),
        cmocka_unit_test(test_ids_increase_and_step_by_one_within_a_millisecond),
        cmocka_unit_test(test_clock_stepping_back_keeps_ids_increasing),
        cmocka_unit_test(test_random_part_overflow_moves_to_next_millisecond),
        cmocka_unit_test(test_next_with_a_given_clock_gives_text_and_bytes_of_one_id),
        cmocka_unit_test(test_derive_is_deterministic_and_uses_sha256_of_the_seed),
        cmocka_unit_test(test_validation_rejects_non_crockford_and_wrong_lengths),
        cmocka_unit_test(test_binary_form_converts_to_the_text_bit_for_bit_and_back),
        cmocka_unit_test(test_binary_form_refuses_a_bad_char_at_every_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

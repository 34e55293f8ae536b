/*
 * test_time_rfc3339.c - RFC 3339 parsing (offsets, fractions, calendar
 * rules) and formatting of "now".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dossier/event.h"
#include "codec.h"

static int parse(const char *s, uint64_t *ms)
{
    return dsr_time_parse_rfc3339(s, strlen(s), ms);
}

static void test_parse_gives_unix_milliseconds_for_z_and_offsets(void **state)
{
    (void)state;
    uint64_t ms = 1;
    assert_int_equal(parse("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    /* 2026-01-31T12:00:00Z = 1769860800 s (date -u -d ... +%s) */
    assert_int_equal(parse("2026-01-31T12:00:00.123Z", &ms), 0);
    assert_int_equal(ms, 1769860800123ull);
    assert_int_equal(parse("2026-01-31T14:00:00.123+02:00", &ms), 0);
    assert_int_equal(ms, 1769860800123ull);
    assert_int_equal(parse("2026-01-31T06:30:00.1-05:30", &ms), 0);
    assert_int_equal(ms, 1769860800100ull);
    /* fraction digits beyond milliseconds are truncated */
    assert_int_equal(parse("2026-01-31T12:00:00.999999999Z", &ms), 0);
    assert_int_equal(ms, 1769860800999ull);
    /* leap day */
    assert_int_equal(parse("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 1709164800000ull);
}

static void test_parse_refuses_what_rfc3339_refuses(void **state)
{
    (void)state;
    static const char *bad[] = {
        "2026-01-31T12:00:00",          /* no offset */
        "2026-01-31 12:00:00Z",         /* space */
        "2026-01-31t12:00:00z",         /* lowercase */
        "2026-13-01T00:00:00Z",         /* month */
        "2026-02-29T00:00:00Z",         /* not a leap year */
        "2100-02-29T00:00:00Z",         /* century, not a leap year */
        "2026-04-31T00:00:00Z",
        "2026-01-31T24:00:00Z",
        "2026-01-31T12:60:00Z",
        "2026-01-31T12:00:61Z",
        "2026-01-31T12:00:00.Z",        /* empty fraction */
        "2026-01-31T12:00:00.1234567890Z",
        "2026-01-31T12:00:00+0200",
        "2026-01-31T12:00:00+24:00",
        "2026-01-31T12:00:00Z ",
        "26-01-31T12:00:00Z",
        "1969-12-31T23:59:59Z",         /* before the epoch: no uint64 ms */
        "1970-01-01T00:30:00+01:00",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms;
        if (parse(bad[i], &ms) != DSR_EINVAL)
            fail_msg("accepted %s", bad[i]);
    }
    /* length is honoured: a valid prefix is not enough, a longer buffer is cut */
    uint64_t ms;
    assert_int_equal(dsr_time_parse_rfc3339("2026-01-31T12:00:00Zjunk", 20, &ms), 0);
    assert_int_equal(dsr_time_parse_rfc3339("2026-01-31T12:00:00Z", 19, &ms), DSR_EINVAL);
}

static void test_now_is_formatted_in_utc_with_milliseconds_and_parses_back(void **state)
{
    (void)state;
    char ts[32];
    uint64_t ms = 0, back = 0;
    dsr_time_now_rfc3339(ts, &ms);
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    assert_int_equal(ts[19], '.');
    assert_int_equal(parse(ts, &back), 0);
    assert_int_equal(back, ms);
    dsr_time_now_rfc3339(ts, NULL);   /* ms_out is optional */
    assert_int_equal(strlen(ts), 24);
}

/* The emitter formats a clock reading it already has (one reading per
 * event): the same text as the "now" form for the same millisecond. */
static void test_a_given_millisecond_formats_as_now_would(void **state)
{
    (void)state;
    static const struct { uint64_t ms; const char *text; } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1764950400123ull, "2025-12-05T16:00:00.123Z" },
        { 951782400999ull, "2000-02-29T00:00:00.999Z" },
        { 253402300799999ull, "9999-12-31T23:59:59.999Z" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char ts[32];
        uint64_t back = 1;
        codec_rfc3339_of_ms(cases[i].ms, ts);
        assert_string_equal(ts, cases[i].text);
        assert_int_equal(parse(ts, &back), 0);
        assert_int_equal(back, cases[i].ms);
    }
    char now[32], again[32];
    uint64_t ms;
    dsr_time_now_rfc3339(now, &ms);
    codec_rfc3339_of_ms(ms, again);
    assert_string_equal(now, again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_gives_unix_milliseconds_for_z_and_offsets),
        cmocka_unit_test(test_parse_refuses_what_rfc3339_refuses),
        cmocka_unit_test(test_now_is_formatted_in_utc_with_milliseconds_and_parses_back),
        cmocka_unit_test(test_a_given_millisecond_formats_as_now_would),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_deliver_retry.c - the delivery retry policy as a table: which
 * responses are delivered / retried / dead / gone, the full-jitter backoff
 * bounds, Retry-After in its three HTTP date forms and as seconds, and the
 * give-up rules (max attempts, max age).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "dossier/deliver.h"

static void test_classify_table(void **state)
{
    (void)state;
    static const struct { int has; long status; dsr_outcome want; } t[] = {
        { 0, 0,   DSR_OUTCOME_RETRY },      /* network error / timeout */
        { 1, 200, DSR_OUTCOME_DELIVERED }, { 1, 201, DSR_OUTCOME_DELIVERED },
        { 1, 202, DSR_OUTCOME_DELIVERED }, { 1, 204, DSR_OUTCOME_DELIVERED },
        { 1, 299, DSR_OUTCOME_DELIVERED },
        { 1, 500, DSR_OUTCOME_RETRY }, { 1, 502, DSR_OUTCOME_RETRY },
        { 1, 503, DSR_OUTCOME_RETRY }, { 1, 504, DSR_OUTCOME_RETRY },
        { 1, 599, DSR_OUTCOME_RETRY },
        { 1, 408, DSR_OUTCOME_RETRY }, { 1, 409, DSR_OUTCOME_RETRY },
        { 1, 425, DSR_OUTCOME_RETRY }, { 1, 429, DSR_OUTCOME_RETRY },
        { 1, 410, DSR_OUTCOME_GONE },
        { 1, 400, DSR_OUTCOME_DEAD }, { 1, 401, DSR_OUTCOME_DEAD },
        { 1, 403, DSR_OUTCOME_DEAD }, { 1, 404, DSR_OUTCOME_DEAD },
        { 1, 405, DSR_OUTCOME_DEAD }, { 1, 413, DSR_OUTCOME_DEAD },
        { 1, 422, DSR_OUTCOME_DEAD }, { 1, 499, DSR_OUTCOME_DEAD },
        { 1, 301, DSR_OUTCOME_DEAD }, { 1, 302, DSR_OUTCOME_DEAD },
        { 1, 307, DSR_OUTCOME_DEAD }, { 1, 308, DSR_OUTCOME_DEAD },
        { 1, 100, DSR_OUTCOME_DEAD }, { 1, 600, DSR_OUTCOME_DEAD },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (dsr_retry_classify(t[i].has, t[i].status) != t[i].want)
            fail_msg("status %ld (has_status %d): got %d, want %d", t[i].status, t[i].has,
                     dsr_retry_classify(t[i].has, t[i].status), t[i].want);
    }
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void test_backoff_stays_within_full_jitter_bounds(void **state)
{
    (void)state;
    dsr_retry_policy p = { 8, 3600000, 500, 60000 };
    uint64_t seed = 88172645463325252ULL;
    for (unsigned f = 1; f <= 20; f++) {
        uint64_t ceiling = 500;
        for (unsigned i = 1; i < f && ceiling < 60000; i++)
            ceiling *= 2;
        if (ceiling > 60000)
            ceiling = 60000;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int k = 0; k < 2000; k++) {
            uint64_t d = dsr_backoff_ms(&p, f, xorshift(&seed));
            assert_true(d <= ceiling);
            if (d < lo) lo = d;
            if (d > hi) hi = d;
        }
        /* Full jitter spreads over the whole range, not just near the top. */
        assert_true(lo < ceiling / 10 + 1);
        assert_true(hi > ceiling - ceiling / 10);
        /* The extremes are reachable. */
        assert_int_equal(dsr_backoff_ms(&p, f, 0), 0);
        assert_int_equal(dsr_backoff_ms(&p, f, ceiling), ceiling);
    }
    assert_int_equal(dsr_backoff_ms(&p, 0, 12345), 0);
    /* Huge failure counts neither overflow nor exceed the cap. */
    assert_true(dsr_backoff_ms(&p, 100000, UINT64_MAX) <= 60000);
    dsr_retry_policy big = { 8, UINT64_MAX, UINT64_MAX / 3, UINT64_MAX };
    assert_true(dsr_backoff_ms(&big, 70, UINT64_MAX - 1) <= UINT64_MAX);
}

static void ra_ok(const char *v, uint64_t now_ms, uint64_t want)
{
    uint64_t d = 1;
    if (dsr_retry_after_parse(v, strlen(v), now_ms, &d) != 0)
        fail_msg("'%s' did not parse", v);
    if (d != want)
        fail_msg("'%s': got %llu ms, want %llu", v, (unsigned long long)d,
                 (unsigned long long)want);
}

static void ra_bad(const char *v)
{
    uint64_t d;
    if (dsr_retry_after_parse(v, strlen(v), 0, &d) != DSR_EPARSE)
        fail_msg("'%s' parsed but should not", v);
}

/* 1994-11-06T08:49:37Z */
#define T94 784111777ULL

static void test_retry_after_seconds(void **state)
{
    (void)state;
    ra_ok("120", 0, 120000);
    ra_ok("0", 5, 0);
    ra_ok(" 7 ", 0, 7000);
    ra_ok("3\r\n", 0, 3000);
    ra_bad("");
    ra_bad("-5");
    ra_bad("1.5");
    ra_bad("5s");
    ra_bad("abc");
    /* Absurdly large values are clamped, not wrapped. */
    uint64_t d;
    const char *huge = "99999999999999999999999999999";
    assert_int_equal(dsr_retry_after_parse(huge, strlen(huge), 0, &d), 0);
    assert_true(d >= 1000ULL * (1ULL << 40));
}

static void test_retry_after_http_dates_all_three_forms(void **state)
{
    (void)state;
    uint64_t now = (T94 - 30) * 1000;
    ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", now, 30000);    /* IMF-fixdate */
    ra_ok("Sunday, 06-Nov-94 08:49:37 GMT", now, 30000);   /* RFC 850 */
    ra_ok("Sun Nov  6 08:49:37 1994", now, 30000);         /* asctime */
    /* A date in the past means "now". */
    ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", (T94 + 100) * 1000, 0);
    /* Leap day and year boundaries. */
    ra_ok("Tue, 29 Feb 2000 00:00:00 GMT", 951782400ULL * 1000 - 1000, 1000);
    ra_ok("Thu, 01 Jan 1970 00:00:10 GMT", 0, 10000);
    ra_bad("Sun, 31 Feb 1994 08:49:37 GMT");
    ra_bad("Sun, 29 Feb 1900 08:49:37 GMT");
    ra_bad("Sun, 06 Nov 1994 25:49:37 GMT");
    ra_bad("Sun, 06 Foo 1994 08:49:37 GMT");
    ra_bad("Sun, 06 Nov 1994 08:49:37 UTC");
    ra_bad("Sun, 06 Nov 1994 08:49 GMT");
    ra_bad("1994-11-06T08:49:37Z");
}

/* What curl_getdate() brings: any year a 64-bit time_t holds, every
 * calendar rule; the shape check keeps out the forms HTTP does not allow. */
static void test_retry_after_http_dates_far_years_and_day_forms(void **state)
{
    (void)state;
    ra_ok("Fri, 01 Jan 2100 00:00:00 GMT", 4102444800ULL * 1000 - 5000, 5000);
    ra_ok("Tue, 29 Feb 2400 00:00:00 GMT", 13574563200ULL * 1000 - 1000, 1000);
    ra_bad("Mon, 29 Feb 2100 00:00:00 GMT");          /* 2100 is no leap year */
    ra_bad("Tue, 31 Apr 2001 00:00:00 GMT");
    uint64_t now = (T94 - 30) * 1000;
    ra_ok("Sun Nov 6 08:49:37 1994", now, 30000);      /* asctime, one space */
    ra_ok("Sun Nov 06 08:49:37 1994", now, 30000);     /* asctime, two digits */
    ra_ok("Sun, 06 Nov 1994 08:49:60 GMT", now, 53000); /* a leap second */
    ra_bad("Sun, 06 Nov 1994 08:49:37 gmt");
    ra_bad("Sun, 06 Nov 1994 08:49:37 +0000");
    ra_bad("Sun, 06 Nov 94 08:49:37 GMT");
    ra_bad("Sun, 6 Nov 1994 08:49:37 GMT");
    ra_bad("Sunday, 06 Nov 1994 08:49:37 GMT");
}

static void test_decide_delivered_dead_and_gone_are_immediate(void **state)
{
    (void)state;
    dsr_retry_policy p = DSR_RETRY_POLICY_DEFAULT;
    dsr_retry_decision d = dsr_retry_decide(&p, 1, 204, 1, 0, 1000, UINT64_MAX, 7);
    assert_int_equal(d.outcome, DSR_OUTCOME_DELIVERED);
    d = dsr_retry_decide(&p, 1, 404, 1, 0, 1000, UINT64_MAX, 7);
    assert_int_equal(d.outcome, DSR_OUTCOME_DEAD);
    assert_non_null(strstr(d.reason, "4xx"));
    d = dsr_retry_decide(&p, 1, 302, 1, 0, 1000, UINT64_MAX, 7);
    assert_int_equal(d.outcome, DSR_OUTCOME_DEAD);
    d = dsr_retry_decide(&p, 1, 410, 1, 0, 1000, UINT64_MAX, 7);
    assert_int_equal(d.outcome, DSR_OUTCOME_GONE);
}

static void test_decide_retry_honours_retry_after_when_later_than_backoff(void **state)
{
    (void)state;
    dsr_retry_policy p = { 8, 3600000, 100, 1000 };
    uint64_t now = 1000000;
    /* Backoff ceiling after 1 failure is 100 ms; Retry-After 5 s wins. */
    dsr_retry_decision d = dsr_retry_decide(&p, 1, 429, 1, now, now, 5000, UINT64_MAX);
    assert_int_equal(d.outcome, DSR_OUTCOME_RETRY);
    assert_int_equal(d.next_ms, now + 5000);
    /* A Retry-After shorter than the drawn backoff does not shorten it. */
    d = dsr_retry_decide(&p, 1, 503, 3, now, now, 0, 400);
    assert_int_equal(d.outcome, DSR_OUTCOME_RETRY);
    assert_int_equal(d.next_ms, now + 400);
    /* Without Retry-After: now + jitter within the ceiling. */
    d = dsr_retry_decide(&p, 0, 0, 2, now, now, UINT64_MAX, 123456789);
    assert_int_equal(d.outcome, DSR_OUTCOME_RETRY);
    assert_true(d.next_ms >= now && d.next_ms <= now + 200);
}

static void test_decide_gives_up_after_max_attempts(void **state)
{
    (void)state;
    dsr_retry_policy p = { 3, 3600000, 10, 100 };
    assert_int_equal(dsr_retry_decide(&p, 1, 500, 1, 1, 1, UINT64_MAX, 1).outcome,
                     DSR_OUTCOME_RETRY);
    assert_int_equal(dsr_retry_decide(&p, 1, 500, 2, 1, 1, UINT64_MAX, 1).outcome,
                     DSR_OUTCOME_RETRY);
    dsr_retry_decision d = dsr_retry_decide(&p, 1, 500, 3, 1, 1, UINT64_MAX, 1);
    assert_int_equal(d.outcome, DSR_OUTCOME_DEAD);
    assert_non_null(strstr(d.reason, "max attempts"));
    /* A single allowed attempt: the first retryable failure is final. */
    dsr_retry_policy one = { 1, 3600000, 10, 100 };
    assert_int_equal(dsr_retry_decide(&one, 0, 0, 1, 1, 1, UINT64_MAX, 1).outcome,
                     DSR_OUTCOME_DEAD);
}

static void test_decide_gives_up_when_next_try_passes_max_age(void **state)
{
    (void)state;
    dsr_retry_policy p = { 100, 60000, 10, 100 };
    uint64_t first = 1000000;
    /* 59 s after the first attempt, a 30 s Retry-After would pass 60 s. */
    dsr_retry_decision d = dsr_retry_decide(&p, 1, 503, 5, first, first + 59000, 30000, 0);
    assert_int_equal(d.outcome, DSR_OUTCOME_DEAD);
    assert_non_null(strstr(d.reason, "max age"));
    /* The same with a 1 s Retry-After still fits. */
    d = dsr_retry_decide(&p, 1, 503, 5, first, first + 59000, 1000, 0);
    assert_int_equal(d.outcome, DSR_OUTCOME_RETRY);
    assert_int_equal(d.next_ms, first + 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_backoff_stays_within_full_jitter_bounds),
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_http_dates_all_three_forms),
        cmocka_unit_test(test_retry_after_http_dates_far_years_and_day_forms),
        cmocka_unit_test(test_decide_delivered_dead_and_gone_are_immediate),
        cmocka_unit_test(test_decide_retry_honours_retry_after_when_later_than_backoff),
        cmocka_unit_test(test_decide_gives_up_after_max_attempts),
        cmocka_unit_test(test_decide_gives_up_when_next_try_passes_max_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

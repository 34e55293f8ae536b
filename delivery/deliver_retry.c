/*
 * deliver_retry.c - the retry policy: which responses are success, which are
 * retried and when, which are dead letters, and Retry-After parsing.
 *
 * Owns only pure functions (no clock, no randomness of its own: callers pass
 * now and a random draw), so the whole policy is a table the unit tests can
 * check.  Rules:
 *   2xx                                  -> delivered
 *   no status (network error, timeout), 5xx, 408, 409, 425, 429
 *                                        -> retry with full-jitter backoff,
 *                                           or later when Retry-After says so
 *   410                                  -> endpoint gone (disabled)
 *   anything else (other 4xx, 3xx since redirects are not followed, 1xx,
 *   out-of-range codes)                  -> dead letter at once
 *   a retry past max_attempts or beyond first attempt + max_age -> dead letter
 */
#include "dossier/deliver.h"

#include <string.h>

dsr_outcome dsr_retry_classify(int has_status, long status)
{
    if (!has_status)
        return DSR_OUTCOME_RETRY;
    if (status >= 200 && status <= 299)
        return DSR_OUTCOME_DELIVERED;
    if (status == 410)
        return DSR_OUTCOME_GONE;
    if (status >= 500 && status <= 599)
        return DSR_OUTCOME_RETRY;
    if (status == 408 || status == 409 || status == 425 || status == 429)
        return DSR_OUTCOME_RETRY;
    return DSR_OUTCOME_DEAD;
}

uint64_t dsr_backoff_ms(const dsr_retry_policy *p, unsigned failures, uint64_t rnd)
{
    if (failures == 0)
        return 0;
    uint64_t ceiling = p->base_ms;
    /* Doubling stops as soon as the cap is reached, so no shift overflows. */
    for (unsigned i = 1; i < failures && ceiling < p->cap_ms; i++)
        ceiling = ceiling > UINT64_MAX / 2 ? UINT64_MAX : ceiling * 2;
    if (ceiling > p->cap_ms)
        ceiling = p->cap_ms;
    /* Full jitter: uniform in [0, ceiling].  The modulo bias is below
     * ceiling / 2^64, far under a millisecond. */
    return ceiling == UINT64_MAX ? rnd : rnd % (ceiling + 1);
}

static const char *retry_reason(int has_status, long status)
{
    if (!has_status)
        return "network error or timeout";
    switch (status) {
    case 408: return "408 Request Timeout";
    case 409: return "409 Conflict";
    case 425: return "425 Too Early";
    case 429: return "429 Too Many Requests";
    default:  return "server error (5xx)";
    }
}

dsr_retry_decision dsr_retry_decide(const dsr_retry_policy *p, int has_status, long status,
                                    unsigned attempts, uint64_t first_ms, uint64_t now_ms,
                                    uint64_t retry_after_ms, uint64_t rnd)
{
    dsr_retry_decision d = { dsr_retry_classify(has_status, status), 0, NULL };
    switch (d.outcome) {
    case DSR_OUTCOME_DELIVERED:
        d.reason = "delivered";
        return d;
    case DSR_OUTCOME_GONE:
        d.reason = "410 Gone: endpoint disabled";
        return d;
    case DSR_OUTCOME_DEAD:
        if (status >= 400 && status <= 499)
            d.reason = "client error (4xx), not retried";
        else if (status >= 300 && status <= 399)
            d.reason = "redirect (3xx), not followed";
        else
            d.reason = "unexpected HTTP status, not retried";
        return d;
    case DSR_OUTCOME_RETRY:
        break;
    }
    if (attempts >= p->max_attempts) {
        d.outcome = DSR_OUTCOME_DEAD;
        d.reason = "gave up: max attempts reached";
        return d;
    }
    uint64_t delay = dsr_backoff_ms(p, attempts, rnd);
    if (retry_after_ms != UINT64_MAX && retry_after_ms > delay)
        delay = retry_after_ms;
    uint64_t next = now_ms > UINT64_MAX - delay ? UINT64_MAX : now_ms + delay;
    uint64_t first = first_ms ? first_ms : now_ms;
    uint64_t limit = first > UINT64_MAX - p->max_age_ms ? UINT64_MAX : first + p->max_age_ms;
    if (next > limit) {
        d.outcome = DSR_OUTCOME_DEAD;
        d.reason = "gave up: max age reached";
        return d;
    }
    d.next_ms = next;
    d.reason = retry_reason(has_status, status);
    return d;
}

/* ---- Retry-After ---------------------------------------------------------- */

static int parse_uint(const char *s, size_t n, int digits_min, int digits_max, int *out)
{
    if ((int)n < digits_min || (int)n > digits_max)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_month(const char *s, size_t n)
{
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    if (n != 3)
        return -1;
    for (int i = 0; i < 12; i++)
        if (!memcmp(s, months[i], 3))
            return i;
    return -1;
}

static int parse_hms(const char *s, size_t n, int *h, int *m, int *sec)
{
    if (n != 8 || s[2] != ':' || s[5] != ':')
        return -1;
    if (parse_uint(s, 2, 2, 2, h) || parse_uint(s + 3, 2, 2, 2, m) ||
        parse_uint(s + 6, 2, 2, 2, sec))
        return -1;
    return *h <= 23 && *m <= 59 && *sec <= 60 ? 0 : -1;
}

/* Split s on single spaces (asctime pads the day with a second space, which
 * yields an empty token that the caller tolerates). */
static size_t split(const char *s, size_t n, const char *tok[8], size_t len[8])
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n && k < 8; i++) {
        if (i == n || s[i] == ' ') {
            if (i > start) {
                tok[k] = s + start;
                len[k] = i - start;
                k++;
            }
            start = i + 1;
        }
    }
    return k;
}

static int days_in_month(int year, int mon)
{
    static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return d[mon] + (mon == 1 && leap);
}

/* Seconds since the epoch of a proleptic Gregorian UTC date (no timegm: it
 * would depend on the process's TZ handling). */
static int64_t utc_seconds(int year, int mon, int day, int h, int m, int s)
{
    int y = year - (mon < 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int mp = (mon + 10) % 12;   /* months counted from March */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + m * 60 + s;
}

/* RFC 9110 section 5.6.7: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
 * RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994". */
static int parse_http_date(const char *s, size_t n, int64_t *out)
{
    const char *t[8];
    size_t l[8];
    size_t k = split(s, n, t, l);
    int year, mon, day, h, m, sec;
    if (k == 6 && l[0] == 4 && t[0][3] == ',' && l[5] == 3 && !memcmp(t[5], "GMT", 3)) {
        if (parse_uint(t[1], l[1], 2, 2, &day) || (mon = parse_month(t[2], l[2])) < 0 ||
            parse_uint(t[3], l[3], 4, 4, &year) || parse_hms(t[4], l[4], &h, &m, &sec))
            return -1;
    } else if (k == 4 && l[0] >= 7 && t[0][l[0] - 1] == ',' && l[1] == 9 &&
               t[1][2] == '-' && t[1][6] == '-' && l[3] == 3 && !memcmp(t[3], "GMT", 3)) {
        int yy;
        if (parse_uint(t[1], 2, 2, 2, &day) || (mon = parse_month(t[1] + 3, 3)) < 0 ||
            parse_uint(t[1] + 7, 2, 2, 2, &yy) || parse_hms(t[2], l[2], &h, &m, &sec))
            return -1;
        /* Two-digit years: RFC 9110 says a year more than 50 years in the
         * future is in the past century; 70..99 -> 19xx is the usual reading. */
        year = yy >= 70 ? 1900 + yy : 2000 + yy;
    } else if (k == 5 && l[0] == 3) {
        if ((mon = parse_month(t[1], l[1])) < 0 || parse_uint(t[2], l[2], 1, 2, &day) ||
            parse_hms(t[3], l[3], &h, &m, &sec) || parse_uint(t[4], l[4], 4, 4, &year))
            return -1;
    } else {
        return -1;
    }
    if (day < 1 || day > days_in_month(year, mon))
        return -1;
    *out = utc_seconds(year, mon, day, h, m, sec);
    return 0;
}

int dsr_retry_after_parse(const char *value, size_t len, uint64_t now_ms, uint64_t *delay_ms)
{
    while (len > 0 && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
                       value[len - 1] == '\r' || value[len - 1] == '\n'))
        len--;
    if (len == 0)
        return DSR_EPARSE;
    if (value[0] >= '0' && value[0] <= '9') {
        uint64_t secs = 0;
        for (size_t i = 0; i < len; i++) {
            if (value[i] < '0' || value[i] > '9')
                return DSR_EPARSE;
            /* Clamp absurd values instead of overflowing: a day-long wait
             * already exceeds any max age anyone sets. */
            if (secs < UINT64_C(1) << 40)
                secs = secs * 10 + (uint64_t)(value[i] - '0');
        }
        *delay_ms = secs * 1000;
        return 0;
    }
    int64_t at;
    if (parse_http_date(value, len, &at) < 0)
        return DSR_EPARSE;
    int64_t at_ms = at * 1000;
    *delay_ms = at_ms > (int64_t)now_ms ? (uint64_t)(at_ms - (int64_t)now_ms) : 0;
    return 0;
}

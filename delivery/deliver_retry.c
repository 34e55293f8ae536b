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
#include "http_lib.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The three HTTP-date forms of RFC 9110 section 5.6.7, by shape only:
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94
 * 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994" (its day also as
 * "06" or "6").  curl_getdate() reads many more forms (other zones, no
 * seconds, ISO dates); a header in none of these shapes is ignored, as the
 * RFC asks.  day_at is where the day of the month starts. */
static const struct {
    const char *shape;
    size_t      day_at;    /* SIZE_MAX: after the first ", " */
} http_date_forms[] = {
    { "[A-Z][a-z][a-z], [0-3][0-9] [A-Z][a-z][a-z] [0-9][0-9][0-9][0-9] "
      "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT", 5 },
    { "[A-Z][a-z]*day, [0-3][0-9]-[A-Z][a-z][a-z]-[0-9][0-9] "
      "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT", SIZE_MAX },
    { "[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-3][0-9] "
      "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9][0-9][0-9][0-9]", 8 },
    { "[A-Z][a-z][a-z] [A-Z][a-z][a-z] [1-9] "
      "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9][0-9][0-9][0-9]", 8 },
};

/* Seconds since the epoch of an HTTP-date, or -1.  curl_getdate() does the
 * calendar; it rolls an impossible day over into the next month (31 Feb ->
 * 3 Mar), so the day it lands on must be the day written. */
static int parse_http_date(const char *s, size_t n, int64_t *out)
{
    char text[64];
    /* Without libcurl no date is read: the header is ignored, as an
     * unreadable one is (its absence is reported by the delivery that
     * needed libcurl in the first place). */
    if (n >= sizeof text || http_lib_load(NULL) < 0)
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    for (size_t i = 0; i < sizeof http_date_forms / sizeof http_date_forms[0]; i++) {
        if (fnmatch(http_date_forms[i].shape, text, 0) != 0)
            continue;
        const char *day = http_date_forms[i].day_at == SIZE_MAX
                        ? strstr(text, ", ") + 2 : text + http_date_forms[i].day_at;
        long mday = strtol(day, NULL, 10);
        time_t t = http_lib.curl_getdate(text, NULL);
        struct tm tm;
        if (t == (time_t)-1 || !gmtime_r(&t, &tm) || tm.tm_mday != mday)
            return -1;
        *out = (int64_t)t;
        return 0;
    }
    return -1;
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

/*
 * time_rfc3339.c - RFC 3339 timestamps: the one format events carry.
 *
 * Accepted: YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm), uppercase T and
 * Z, a real calendar date (leap years), seconds 00-60 (leap second), offset
 * hours 00-23.  This is exactly the timestamp pattern of
 * schemas/envelope.schema.json.  Calendar arithmetic is done by hand
 * (days_from_civil) so nothing depends on the process time zone or locale.
 */
#include "dossier/event.h"
#include "codec.h"

#include <stdio.h>
#include <time.h>

typedef struct parts {
    int      year, mon, day, hour, min, sec;
    unsigned frac_ms;     /* first three fraction digits */
    int      off_min;     /* offset east of UTC in minutes */
} parts;

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int y, int m)
{
    static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

static int parse(const char *s, size_t len, parts *p)
{
    if (!s || len < 20)
        return 0;
    if (!digits(s, 4, &p->year) || s[4] != '-' || !digits(s + 5, 2, &p->mon) || s[7] != '-' ||
        !digits(s + 8, 2, &p->day) || s[10] != 'T' || !digits(s + 11, 2, &p->hour) ||
        s[13] != ':' || !digits(s + 14, 2, &p->min) || s[16] != ':' || !digits(s + 17, 2, &p->sec))
        return 0;
    if (p->mon < 1 || p->mon > 12 || p->day < 1 || p->day > mdays(p->year, p->mon) ||
        p->hour > 23 || p->min > 59 || p->sec > 60)
        return 0;
    size_t i = 19;
    p->frac_ms = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 3)
                p->frac_ms = p->frac_ms * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        size_t nd = i - start;
        if (nd < 1 || nd > 9)
            return 0;
        for (size_t k = nd; k < 3; k++)
            p->frac_ms *= 10;
    }
    if (i >= len)
        return 0;
    if (s[i] == 'Z') {
        p->off_min = 0;
        return i + 1 == len;
    }
    if ((s[i] != '+' && s[i] != '-') || len - i != 6)
        return 0;
    int oh, om;
    if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om) ||
        oh > 23 || om > 59)
        return 0;
    p->off_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
    return 1;
}

int codec_rfc3339_valid(const char *s, size_t len)
{
    parts p;
    return parse(s, len, &p);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int dsr_time_parse_rfc3339(const char *s, size_t len, uint64_t *ms_out)
{
    parts p;
    if (!parse(s, len, &p))
        return DSR_EINVAL;
    int64_t secs = days_from_civil(p.year, p.mon, p.day) * 86400 +
                   p.hour * 3600 + p.min * 60 + p.sec - (int64_t)p.off_min * 60;
    if (secs < 0)            /* before the Unix epoch: not representable */
        return DSR_EINVAL;
    if (ms_out)
        *ms_out = (uint64_t)secs * 1000u + p.frac_ms;
    return 0;
}

void dsr_time_now_rfc3339(char out[32], uint64_t *ms_out)
{
    struct timespec ts;
    /* CLOCK_REALTIME cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000);
    codec_rfc3339_of_ms(ms, out);
    if (ms_out)
        *ms_out = ms;
}

void codec_rfc3339_of_ms(uint64_t ms, char out[32])
{
    time_t sec = (time_t)(ms / 1000u);
    struct tm tm;
    gmtime_r(&sec, &tm);
    /* The modulos only tell the compiler the widths; gmtime_r's ranges are
     * already within them for any year up to 9999. */
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
             (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
             (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
             (unsigned)(ms % 1000u));
}

/*
 * sk3_ids.c - the id, UUID and time grammars of spec-kitty-events 3.0.0 and
 * their canonical forms.
 *
 * Ids (upstream's event id pattern):
 *   [0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}   a ULID in either case
 *   [0-9a-fA-F]{32}                       a UUID without hyphens
 *   8-4-4-4-12 hex                        a UUID
 * Mapping to a canonical ULID (dossier/sk3.h, convention 4):
 *   ULID, first character 0-7   upper-cased (the same 128 bits)
 *   ULID, first character 8-Z   more than 128 bits: SHA-256 of the upper-
 *                               cased text, first 16 bytes, top 2 bits 0
 *   UUID, either form           its 16 bytes as a ULID (Crockford base32
 *                               of 128 bits always starts with 0-7)
 * The time part of a ULID made from a UUID is the UUID's first 48 bits: a
 * UUIDv7's own millisecond time, a UUIDv4's random bits.
 *
 * Times (upstream's pydantic reading of text, schemas/spec-kitty-3/):
 *   YYYY-MM-DD [ (T|t|' '|'_') hh:mm [ :ss [ (.|,) digits ] ] [ Z|z|(+|-)hh[:]mm ] ]
 */
#include "sk3.h"
#include "codec.h"

#include <assert.h>
#include <string.h>

#include <openssl/evp.h>

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Crockford base32 digit of c (either case; I L O U excluded), or -1. */
static int b32val(char c)
{
    static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    const char *p = c ? strchr(alpha, c) : NULL;
    return p ? (int)(p - alpha) : -1;
}

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hexval(s[i]) < 0)
            return 0;
    return 1;
}

static int uuid_hyphenated(const char *s, size_t n)
{
    if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        return 0;
    return all_hex(s, 8) && all_hex(s + 9, 4) && all_hex(s + 14, 4) && all_hex(s + 19, 4)
        && all_hex(s + 24, 12);
}

/* 16 bytes of a UUID in either form (its validity checked). */
static void uuid_bytes(const char *s, size_t n, unsigned char b[16])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 32; i++)
        if (s[i] != '-') {
            int v = hexval(s[i]);
            assert(v >= 0);
            if (k % 2 == 0)
                b[k / 2] = (unsigned char)(v << 4);
            else
                b[k / 2] |= (unsigned char)v;
            k++;
        }
    assert(k == 32);
}

int sk3_id_valid(const char *s, size_t n)
{
    if (n == 26) {
        for (size_t i = 0; i < n; i++)
            if (b32val(s[i]) < 0)
                return 0;
        return 1;
    }
    if (n == 32)
        return all_hex(s, n);
    return uuid_hyphenated(s, n);
}

void sk3_id_to_ulid(const char *s, size_t n, char out[DSR_ULID_LEN + 1])
{
    assert(sk3_id_valid(s, n));
    unsigned char bin[16];
    if (n == 26) {
        char up[DSR_ULID_LEN];
        for (size_t i = 0; i < n; i++)
            up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
        if (codec_ulid_to_bin(up, n, bin) == 0) {
            codec_ulid_from_bin(bin, out);
            return;
        }
        /* out of the ULID range: hash it (deterministic, as everything here) */
        unsigned char md[32];
        unsigned int mdlen = 0;
        EVP_Digest(up, n, md, &mdlen, EVP_sha256(), NULL);
        memcpy(bin, md, 16);
    } else {
        uuid_bytes(s, n, bin);
    }
    codec_ulid_from_bin(bin, out);
    assert(dsr_ulid_valid(out, DSR_ULID_LEN));
}

/* The bare UUID inside {} or after urn:uuid:, as pydantic strips them. */
static void uuid_strip(const char **s, size_t *n)
{
    if (*n >= 9 && !strncasecmp(*s, "urn:uuid:", 9)) {
        *s += 9;
        *n -= 9;
    }
    if (*n >= 2 && (*s)[0] == '{' && (*s)[*n - 1] == '}') {
        (*s)++;
        *n -= 2;
    }
}

int sk3_uuid_valid(const char *s, size_t n)
{
    uuid_strip(&s, &n);
    return (n == 32 && all_hex(s, n)) || uuid_hyphenated(s, n);
}

void sk3_uuid_canonical(const char *s, size_t n, char out[37])
{
    assert(sk3_uuid_valid(s, n));
    uuid_strip(&s, &n);
    unsigned char b[16];
    uuid_bytes(s, n, b);
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
    assert(k == 36);
}

/* ---- times ---------------------------------------------------------------- */

typedef struct tparts {
    int    year, mon, day, hour, min, sec;
    int    has_time, has_sec, has_off, zulu;
    int    off_sign, off_h, off_m;
    size_t frac_at, frac_len;   /* digits of the fraction in the text */
} tparts;

static int digits(const char *s, size_t n, size_t at, size_t k, int *v)
{
    if (at + k > n)
        return 0;
    int x = 0;
    for (size_t i = 0; i < k; i++) {
        if (s[at + i] < '0' || s[at + i] > '9')
            return 0;
        x = x * 10 + (s[at + i] - '0');
    }
    *v = x;
    return 1;
}

static int days_in(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : d[m - 1];
}

static int tparse(const char *s, size_t n, tparts *p)
{
    memset(p, 0, sizeof *p);
    size_t i = 0;
    if (!digits(s, n, 0, 4, &p->year) || n < 10 || s[4] != '-' || !digits(s, n, 5, 2, &p->mon)
        || s[7] != '-' || !digits(s, n, 8, 2, &p->day))
        return 0;
    if (p->year < 1 || p->mon < 1 || p->mon > 12 || p->day < 1
        || p->day > days_in(p->year, p->mon))
        return 0;
    i = 10;
    if (i == n)
        return 1;
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ' && s[i] != '_')
        return 0;
    i++;
    if (!digits(s, n, i, 2, &p->hour) || i + 2 >= n || s[i + 2] != ':'
        || !digits(s, n, i + 3, 2, &p->min))
        return 0;
    p->has_time = 1;
    i += 5;
    if (i < n && s[i] == ':') {
        if (!digits(s, n, i + 1, 2, &p->sec))
            return 0;
        p->has_sec = 1;
        i += 3;
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            size_t j = i + 1;
            while (j < n && s[j] >= '0' && s[j] <= '9')
                j++;
            if (j == i + 1)
                return 0;
            p->frac_at = i + 1;
            p->frac_len = j - i - 1;
            i = j;
        }
    }
    if (p->hour > 23 || p->min > 59 || p->sec > 59)
        return 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        p->has_off = p->zulu = 1;
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        p->has_off = 1;
        p->off_sign = s[i] == '-' ? -1 : 1;
        if (!digits(s, n, i + 1, 2, &p->off_h))
            return 0;
        i += 3;
        if (i < n && s[i] == ':')
            i++;
        if (!digits(s, n, i, 2, &p->off_m))
            return 0;
        i += 2;
        if (p->off_h > 23 || p->off_m > 59)
            return 0;
    }
    return i == n;
}

int sk3_time_valid(const char *s, size_t n)
{
    tparts p;
    return tparse(s, n, &p);
}

size_t sk3_time_canonical(const char *s, size_t n, char *out)
{
    if (codec_rfc3339_valid(s, n)) {
        memcpy(out, s, n);
        out[n] = '\0';
        return n;
    }
    tparts p;
    int ok = tparse(s, n, &p);
    assert(ok);
    (void)ok;
    char *o = out;
    memcpy(o, s, 10);
    o += 10;
    *o++ = 'T';
    o[0] = (char)('0' + p.hour / 10);
    o[1] = (char)('0' + p.hour % 10);
    o[2] = ':';
    o[3] = (char)('0' + p.min / 10);
    o[4] = (char)('0' + p.min % 10);
    o[5] = ':';
    o[6] = (char)('0' + p.sec / 10);
    o[7] = (char)('0' + p.sec % 10);
    o += 8;
    if (p.frac_len) {
        *o++ = '.';
        memcpy(o, s + p.frac_at, p.frac_len);
        o += p.frac_len;
    }
    if (!p.has_off || p.zulu) {
        *o++ = 'Z';
    } else {
        *o++ = p.off_sign < 0 ? '-' : '+';
        o[0] = (char)('0' + p.off_h / 10);
        o[1] = (char)('0' + p.off_h % 10);
        o[2] = ':';
        o[3] = (char)('0' + p.off_m / 10);
        o[4] = (char)('0' + p.off_m % 10);
        o += 5;
    }
    *o = '\0';
    assert((size_t)(o - out) <= n + 16);
    return (size_t)(o - out);
}

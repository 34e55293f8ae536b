/*
 * utf8.c - the one UTF-8 well-formedness check used by the JSON codecs and
 * the validators (RFC 3629: shortest form only, no surrogates, <= U+10FFFF).
 */
#include "event_priv.h"

/* Length of the well-formed sequence at s (at most n bytes), 0 if invalid. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)      /* overlong */
            return 0;
        if (c == 0xED && s[1] >= 0xA0)     /* UTF-16 surrogates */
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)      /* overlong */
            return 0;
        if (c == 0xF4 && s[1] >= 0x90)     /* above U+10FFFF */
            return 0;
        return 4;
    }
    return 0;
}

int dsr__utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t k = seq_len(p + i, len - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

size_t dsr__utf8_seq(const char *s, size_t n)
{
    return n ? seq_len((const unsigned char *)s, n) : 0;
}

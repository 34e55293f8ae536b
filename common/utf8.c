/*
 * utf8.c - incremental UTF-8 validator (see utf8.h).
 *
 * ASCII runs are skipped 8 bytes at a time (text artifacts are mostly ASCII);
 * multi-byte sequences go through an explicit state machine that encodes the
 * RFC 3629 table of well-formed byte sequences, so overlong forms, UTF-16
 * surrogates and code points above U+10FFFF are rejected.  The state survives
 * chunk boundaries.
 */
#include "utf8.h"

#include <string.h>

/* States: how many continuation bytes are still expected, and the allowed
 * range of the *next* one (only the first continuation byte is restricted). */
enum {
    S_ACCEPT = 0,
    S_CONT1,        /* one more 80..BF */
    S_CONT2,        /* two more 80..BF */
    S_CONT3,        /* three more 80..BF */
    S_E0,           /* after E0: A0..BF then 1 more */
    S_ED,           /* after ED: 80..9F then 1 more */
    S_F0,           /* after F0: 90..BF then 2 more */
    S_F4            /* after F4: 80..8F then 2 more */
};

void utf8_init(utf8_state *u)
{
    memset(u, 0, sizeof *u);
}

static int lead_state(unsigned char c, uint32_t *st)
{
    if (c >= 0xC2 && c <= 0xDF) *st = S_CONT1;
    else if (c == 0xE0)         *st = S_E0;
    else if (c == 0xED)         *st = S_ED;
    else if (c >= 0xE1 && c <= 0xEF) *st = S_CONT2;
    else if (c == 0xF0)         *st = S_F0;
    else if (c >= 0xF1 && c <= 0xF3) *st = S_CONT3;
    else if (c == 0xF4)         *st = S_F4;
    else return 0;              /* 80..C1, F5..FF */
    return 1;
}

static int cont_step(uint32_t st, unsigned char c, uint32_t *next)
{
    unsigned lo = 0x80, hi = 0xBF;
    switch (st) {
    case S_CONT1: *next = S_ACCEPT; break;
    case S_CONT2: *next = S_CONT1; break;
    case S_CONT3: *next = S_CONT2; break;
    case S_E0:    lo = 0xA0; *next = S_CONT1; break;
    case S_ED:    hi = 0x9F; *next = S_CONT1; break;
    case S_F0:    lo = 0x90; *next = S_CONT2; break;
    case S_F4:    hi = 0x8F; *next = S_CONT2; break;
    default:      return 0;
    }
    return c >= lo && c <= hi;
}

void utf8_feed(utf8_state *u, const unsigned char *p, size_t n)
{
    if (u->bad) {
        u->offset += n;
        return;
    }
    size_t i = 0;
    uint32_t st = u->state;
    while (i < n) {
        if (st == S_ACCEPT) {
            /* fast path: whole words of ASCII */
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ULL)
                    break;
                i += 8;
            }
            if (i >= n)
                break;
            unsigned char c = p[i];
            if (c < 0x80) {
                i++;
                continue;
            }
            if (!lead_state(c, &st))
                goto invalid;
            u->seq_start = u->offset + i;
            i++;
            continue;
        }
        uint32_t next;
        if (!cont_step(st, p[i], &next))
            goto invalid;
        st = next;
        i++;
    }
    u->state = st;
    u->offset += n;
    return;
invalid:
    u->bad = 1;
    /* report where the broken sequence started, not the byte that broke it */
    u->bad_at = st == S_ACCEPT ? u->offset + i : u->seq_start;
    u->offset += n;
}

int utf8_valid(const utf8_state *u)
{
    return !u->bad && u->state == S_ACCEPT;
}

int utf8_check(const char *s, size_t len)
{
    utf8_state u;
    utf8_init(&u);
    utf8_feed(&u, (const unsigned char *)s, len);
    return utf8_valid(&u);
}

size_t utf8_seq_len(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t st;
    if (!n)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (!lead_state(p[0], &st))
        return 0;
    for (size_t i = 1; i < n; i++) {
        uint32_t next;
        if (!cont_step(st, p[i], &next))
            return 0;
        if (next == S_ACCEPT)
            return i + 1;
        st = next;
    }
    return 0; /* truncated */
}

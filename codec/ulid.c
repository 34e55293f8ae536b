/*
 * ulid.c - ULIDs: 48-bit Unix milliseconds + 80 random bits, written as 26
 * Crockford base32 characters (uppercase, no I L O U).
 *
 * Monotonicity: within one generator, an id made in the same millisecond as
 * the previous one (or when the clock stepped backwards) is the previous id
 * plus one in its random part, so ids sort in creation order.  When those 80
 * bits would overflow, the time part advances by one millisecond instead of
 * failing: ids stay unique and increasing.  Randomness comes from getrandom(2).
 */
#include "dossier/event.h"
#include "codec.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <openssl/sha.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* 16 bytes -> 26 chars: char 0 holds the top 3 bits (two zero pad bits on
 * top of bit 127), every later char the next 5 bits.  Each char's bits are
 * taken out of hi:lo on their own rather than by shifting the pair 5 bits
 * at a time, so the 26 lookups do not wait on one another (replay converts
 * two binary ids per event). */
static void encode_bytes(const unsigned char b[16], char out[DSR_ULID_LEN + 1])
{
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | b[i];
        lo = lo << 8 | b[i + 8];
    }
    /* bits 127..0 = hi:lo; char c holds bits 5(25-c)+4 .. 5(25-c) */
    out[0] = alphabet[hi >> 61];
    for (int c = 1; c < 13; c++)              /* bits 124..65: all in hi */
        out[c] = alphabet[(hi >> (5 * (25 - c) - 64)) & 31u];
    out[13] = alphabet[(hi << 4 | lo >> 60) & 31u];   /* bits 64..60 straddle */
    for (int c = 14; c < DSR_ULID_LEN; c++)   /* bits 59..0: all in lo */
        out[c] = alphabet[(lo >> (5 * (25 - c))) & 31u];
    out[DSR_ULID_LEN] = '\0';
}

/* 128 bits (6 time bytes + 10 random bytes) -> the 16 bytes and 26 chars. */
static void encode(uint64_t ms, const unsigned char rnd[10], char out[DSR_ULID_LEN + 1],
                   unsigned char b[16])
{
    assert(ms <= 0xFFFFFFFFFFFFull);   /* 48 bits: the top char stays 0-7 */
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    memcpy(b + 6, rnd, 10);
    encode_bytes(b, out);
}

void codec_ulid_from_bin(const unsigned char bin[16], char out[DSR_ULID_LEN + 1])
{
    encode_bytes(bin, out);
}

/* Crockford value + 1 of each alphabet char; 0 for every other byte. */
static const unsigned char value_plus1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    ['G'] = 17, ['H'] = 18, ['J'] = 19, ['K'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24,
    ['R'] = 25, ['S'] = 26, ['T'] = 27, ['V'] = 28, ['W'] = 29, ['X'] = 30, ['Y'] = 31, ['Z'] = 32,
};

/* 0..31, or 0xff for a byte outside the (uppercase) alphabet. */
static unsigned char char_value(unsigned char ch)
{
    return (unsigned char)(value_plus1[ch] - 1u);
}

int codec_ulid_to_bin(const char *s, size_t len, unsigned char bin[16])
{
    if (!s || len != DSR_ULID_LEN || s[0] < '0' || s[0] > '7')
        return -1;
    /* Bits 127..65 come from chars 0-12, bits 59..0 from chars 14-25, char
     * 13 holds bits 64..60: two independent chains (the emitter converts
     * three ids per event), and one validity test for all 26 chars. */
    const unsigned char *u = (const unsigned char *)s;
    uint64_t top = 0, low = 0;
    unsigned any = 0;
    for (int c = 0; c < 13; c++) {
        unsigned a = char_value(u[c]), b = char_value(u[c + 13]);
        any |= a | b;
        top = top << 5 | a;
        low = c ? low << 5 | b : 0;   /* char 13 goes to both halves below */
    }
    if (any > 31)
        return -1;
    unsigned mid = char_value(u[13]);
    /* 26 chars hold 130 bits: the first char's value is at most 7, so
     * the two bits above bit 127 are zero and nothing is lost */
    assert(char_value(u[0]) <= 7 && top < (1ull << 63));
    uint64_t hi = top << 1 | mid >> 4;
    uint64_t lo = (uint64_t)(mid & 15u) << 60 | low;
    for (int i = 0; i < 8; i++) {
        bin[i] = (unsigned char)(hi >> (56 - 8 * i));
        bin[i + 8] = (unsigned char)(lo >> (56 - 8 * i));
    }
    return 0;
}

static int fill_random(unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return DSR_EIO;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* rnd += 1 as an 80-bit big-endian number; 1 when it wrapped to zero. */
static int increment(unsigned char rnd[10])
{
    for (int i = 9; i >= 0; i--)
        if (++rnd[i] != 0)
            return 0;
    return 1;
}

int dsr_ulid_new(dsr_ulid_gen *g, char out[DSR_ULID_LEN + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned char bin[16];
    return codec_ulid_next(g, (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000),
                           out, bin);
}

int codec_ulid_next(dsr_ulid_gen *g, uint64_t now_ms, char out[DSR_ULID_LEN + 1],
                    unsigned char bin[16])
{
    uint64_t now = now_ms & 0xFFFFFFFFFFFFull;
    if (g->last_ms && now <= g->last_ms) {
        unsigned char next[10];
        memcpy(next, g->last_rand, 10);
        if (!increment(next)) {
            /* same millisecond: strictly after the previous id */
            assert(memcmp(next, g->last_rand, 10) > 0);
            memcpy(g->last_rand, next, 10);
            encode(g->last_ms, g->last_rand, out, bin);
            return 0;
        }
        now = g->last_ms + 1;   /* 2^80 ids in one ms: move time forward */
    }
    unsigned char rnd[10];
    if (fill_random(rnd, sizeof rnd))
        return DSR_EIO;
    /* Clear the top bit so the next ~2^79 increments in this ms cannot wrap. */
    rnd[0] &= 0x7F;
    /* a new millisecond, later than every id this generator made */
    assert(!g->last_ms || now > g->last_ms);
    g->last_ms = now;
    memcpy(g->last_rand, rnd, 10);
    encode(now, rnd, out, bin);
    return 0;
}

void dsr_ulid_derive(uint64_t ms, const void *seed, size_t seed_len, char out[DSR_ULID_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(seed, seed_len, md);
    unsigned char bin[16];
    encode(ms & 0xFFFFFFFFFFFFull, md, out, bin);
}

int dsr_ulid_valid(const char *s, size_t len)
{
    if (!s || len != DSR_ULID_LEN || s[0] < '0' || s[0] > '7')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (char_value((unsigned char)s[i]) > 31)
            return 0;
    return 1;
}

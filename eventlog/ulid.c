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

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <openssl/sha.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* 128 bits (6 time bytes + 10 random bytes) -> 26 chars (2 pad bits on top). */
static void encode(uint64_t ms, const unsigned char rnd[10], char out[DSR_ULID_LEN + 1])
{
    unsigned char b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    memcpy(b + 6, rnd, 10);
    /* Char 0 holds the top 3 bits (two zero pad bits + bit 127 .. ), then
     * every char takes the next 5 bits. */
    for (int c = 0; c < DSR_ULID_LEN; c++) {
        int bit = c == 0 ? 0 : 3 + 5 * (c - 1);   /* first bit of this char */
        int width = c == 0 ? 3 : 5;
        unsigned v = 0;
        for (int k = 0; k < width; k++) {
            int pos = bit + k;
            v = (v << 1) | ((b[pos / 8] >> (7 - pos % 8)) & 1u);
        }
        out[c] = alphabet[v];
    }
    out[DSR_ULID_LEN] = '\0';
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
    uint64_t now = ((uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000)) &
                   0xFFFFFFFFFFFFull;
    if (g->last_ms && now <= g->last_ms) {
        unsigned char next[10];
        memcpy(next, g->last_rand, 10);
        if (!increment(next)) {
            memcpy(g->last_rand, next, 10);
            encode(g->last_ms, g->last_rand, out);
            return 0;
        }
        now = g->last_ms + 1;   /* 2^80 ids in one ms: move time forward */
    }
    unsigned char rnd[10];
    if (fill_random(rnd, sizeof rnd))
        return DSR_EIO;
    /* Clear the top bit so the next ~2^79 increments in this ms cannot wrap. */
    rnd[0] &= 0x7F;
    g->last_ms = now;
    memcpy(g->last_rand, rnd, 10);
    encode(now, rnd, out);
    return 0;
}

void dsr_ulid_derive(uint64_t ms, const void *seed, size_t seed_len, char out[DSR_ULID_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(seed, seed_len, md);
    encode(ms & 0xFFFFFFFFFFFFull, md, out);
}

int dsr_ulid_valid(const char *s, size_t len)
{
    if (!s || len != DSR_ULID_LEN || s[0] < '0' || s[0] > '7')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!s[i] || !memchr(alphabet, s[i], sizeof alphabet - 1))
            return 0;
    return 1;
}

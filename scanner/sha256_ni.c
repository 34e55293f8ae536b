/*
 * sha256_ni.c - SHA-256 (FIPS 180-4) on the x86 SHA extensions, one or two
 * streams per call (see sha256_ni.h).
 *
 * The compression keeps each stream's state as the two registers
 * SHA256RNDS2 works on, ABEF and CDGH; a 64-byte block is 16 groups of four
 * rounds, the message schedule computed four words at a time with
 * SHA256MSG1 / SHA256MSG2.  compress() is written once for n streams and
 * inlined with n = 1 and n = 2, so the two-stream version issues the rounds
 * of both streams group by group, each stream's chain independent of the
 * other's.  Padding and length encoding are the standard's: 0x80, zeros to
 * 56 mod 64, the bit length big-endian.
 */
#include "sha256_ni.h"

#include <assert.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHANI 1
#else
#define HAVE_SHANI 0
#endif

static const uint32_t IV[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

#if HAVE_SHANI
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define SHANI __attribute__((target("sha,sse4.1,ssse3")))
#define MAX_LANES 2

/* state words a..h <-> the ABEF / CDGH pair */
SHANI static void load_state(const uint32_t *s, __m128i *abef, __m128i *cdgh)
{
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)s), 0xB1);
    __m128i u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(s + 4)), 0x1B);
    *abef = _mm_alignr_epi8(t, u, 8);
    *cdgh = _mm_blend_epi16(u, t, 0xF0);
}

SHANI static void store_state(uint32_t *s, __m128i abef, __m128i cdgh)
{
    __m128i t = _mm_shuffle_epi32(abef, 0x1B);
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)s, _mm_blend_epi16(t, cdgh, 0xF0));
    _mm_storeu_si128((__m128i *)(s + 4), _mm_alignr_epi8(cdgh, t, 8));
}

/* `blocks` 64-byte blocks of each of n streams; n is a constant once inlined. */
SHANI static inline __attribute__((always_inline)) void
compress(int n, uint32_t *const st[], const unsigned char *const d[], size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i abef[MAX_LANES], cdgh[MAX_LANES], abef0[MAX_LANES], cdgh0[MAX_LANES];
    __m128i w[MAX_LANES][4];
    assert(n >= 1 && n <= MAX_LANES);
    for (int l = 0; l < n; l++)
        load_state(st[l], &abef[l], &cdgh[l]);
    for (size_t b = 0; b < blocks; b++) {
        for (int l = 0; l < n; l++) {
            abef0[l] = abef[l];
            cdgh0[l] = cdgh[l];
        }
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            __m128i k = _mm_loadu_si128((const __m128i *)&K[4 * g]);
            for (int l = 0; l < n; l++) {
                __m128i m;
                if (g < 4) {
                    m = _mm_loadu_si128((const __m128i *)(d[l] + 64 * b + 16 * (size_t)g));
                    m = w[l][g] = _mm_shuffle_epi8(m, bswap);
                } else {
                    /* W[g] from W[g-4..g-1], four words at a time */
                    __m128i t = _mm_alignr_epi8(w[l][(g + 3) & 3], w[l][(g + 2) & 3], 4);
                    m = _mm_add_epi32(_mm_sha256msg1_epu32(w[l][g & 3], w[l][(g + 1) & 3]), t);
                    m = w[l][g & 3] = _mm_sha256msg2_epu32(m, w[l][(g + 3) & 3]);
                }
                m = _mm_add_epi32(m, k);
                cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], m);
                abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(m, 0x0E));
            }
        }
        for (int l = 0; l < n; l++) {
            abef[l] = _mm_add_epi32(abef[l], abef0[l]);
            cdgh[l] = _mm_add_epi32(cdgh[l], cdgh0[l]);
        }
    }
    for (int l = 0; l < n; l++)
        store_state(st[l], abef[l], cdgh[l]);
}

SHANI static void compress1(uint32_t *s, const unsigned char *d, size_t blocks)
{
    uint32_t *const st[1] = { s };
    const unsigned char *const dd[1] = { d };
    compress(1, st, dd, blocks);
}

SHANI static void compress2(uint32_t *s, const unsigned char *d, uint32_t *s2,
                            const unsigned char *d2, size_t blocks)
{
    uint32_t *const st[2] = { s, s2 };
    const unsigned char *const dd[2] = { d, d2 };
    compress(2, st, dd, blocks);
}

/* CPUID itself rather than __builtin_cpu_supports: clang 14 (the fuzz
 * build's compiler) does not know the "sha" feature name.  Leaf 7 EBX bit 29
 * is SHA; leaf 1 ECX bits 19 and 9 are SSE4.1 and SSSE3. */
int sha256_ni_available(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b >> 29) & 1u;
}
#else
static void compress1(uint32_t *s, const unsigned char *d, size_t blocks)
{
    (void)s;
    (void)d;
    (void)blocks;
    assert(!"sha256_ni used without SHA-NI");
}

static void compress2(uint32_t *s, const unsigned char *d, uint32_t *s2,
                      const unsigned char *d2, size_t blocks)
{
    compress1(s, d, blocks);
    compress1(s2, d2, blocks);
}

int sha256_ni_available(void)
{
    return 0;
}
#endif

void sha256_ni_init(sha256_ni *c)
{
    memcpy(c->s, IV, sizeof c->s);
    c->len = 0;
}

void sha256_ni_update(sha256_ni *c, const void *p, size_t n)
{
    const unsigned char *q = p;
    size_t have = (size_t)(c->len % 64);
    c->len += n;
    if (have) {                         /* complete the partial block first */
        size_t take = 64 - have < n ? 64 - have : n;
        memcpy(c->blk + have, q, take);
        q += take;
        n -= take;
        if (have + take < 64)
            return;
        compress1(c->s, c->blk, 1);
    }
    if (n >= 64)
        compress1(c->s, q, n / 64);
    memcpy(c->blk, q + n / 64 * 64, n % 64);
}

void sha256_ni_update2(sha256_ni *x, const void *a, sha256_ni *y, const void *b, size_t n)
{
    if (x->len % 64 || y->len % 64 || n < 64) {
        /* a partial block in either: their blocks do not line up */
        sha256_ni_update(x, a, n);
        sha256_ni_update(y, b, n);
        return;
    }
    size_t whole = n / 64 * 64;
    compress2(x->s, a, y->s, b, n / 64);
    x->len += whole;
    y->len += whole;
    sha256_ni_update(x, (const unsigned char *)a + whole, n - whole);
    sha256_ni_update(y, (const unsigned char *)b + whole, n - whole);
}

void sha256_ni_final(sha256_ni *c, unsigned char md[32])
{
    unsigned char pad[128] = { 0x80 };
    uint64_t bits = c->len * 8;
    size_t have = (size_t)(c->len % 64);
    size_t padn = (have < 56 ? 56 : 120) - have;     /* 0x80 and zeros to 56 mod 64 */
    for (int i = 0; i < 8; i++)
        pad[padn + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_ni_update(c, pad, padn + 8);
    assert(c->len % 64 == 0);
    for (int i = 0; i < 8; i++) {
        md[4 * i] = (unsigned char)(c->s[i] >> 24);
        md[4 * i + 1] = (unsigned char)(c->s[i] >> 16);
        md[4 * i + 2] = (unsigned char)(c->s[i] >> 8);
        md[4 * i + 3] = (unsigned char)c->s[i];
    }
}

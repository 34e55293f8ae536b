/*
 * sha256_2way.c - is one core faster hashing two SHA-256 streams at once?
 *
 * SHA-256 is sequential within a stream: each 64-byte block needs the state
 * the previous one left, and with SHA-NI a block is a chain of dependent
 * SHA256RNDS2 instructions, so one stream waits on their latency.  Two
 * independent streams interleaved instruction by instruction fill those
 * waits.  This program measures, on one thread, 512 MiB hashed as
 *   1-way   one stream through SHA-NI (the same instructions OpenSSL uses),
 *   2-way   two streams of 256 MiB each, their rounds interleaved,
 *   openssl one stream through EVP (the `openssl speed` limit),
 * after checking that both kernels give OpenSSL's digests.  The buffers
 * stay in L2 (256 KiB), as the scanner's read block does.
 *
 * Build and run (x86-64 with SHA-NI):
 *   cc -O3 -o /tmp/sha256_2way bench/sha256_2way.c -lcrypto && /tmp/sha256_2way
 * Prints one line per round: CPU seconds of each and the ratio openssl/2-way.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

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
static const uint32_t IV[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

#define SHANI __attribute__((target("sha,sse4.1,ssse3")))
#define LANES 2

/* state words a..h <-> the ABEF / CDGH register pair SHA256RNDS2 works on */
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

/* `blocks` 64-byte blocks of each of n streams (n <= LANES, a constant once
 * inlined), round group by round group, stream after stream. */
SHANI static inline __attribute__((always_inline)) void
compress(int n, uint32_t *st[], const uint8_t *d[], size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abef[LANES], cdgh[LANES], abef0[LANES], cdgh0[LANES], w[LANES][4];
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
                    m = _mm_loadu_si128((const __m128i *)(d[l] + 64 * b + 16 * g));
                    m = w[l][g] = _mm_shuffle_epi8(m, bswap);
                } else {
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

SHANI static void one_way(uint32_t *s, const uint8_t *d, size_t blocks)
{
    uint32_t *st[1] = { s };
    const uint8_t *dd[1] = { d };
    compress(1, st, dd, blocks);
}

SHANI static void two_way(uint32_t *s, uint32_t *s2, const uint8_t *d, const uint8_t *d2,
                          size_t blocks)
{
    uint32_t *st[2] = { s, s2 };
    const uint8_t *dd[2] = { d, d2 };
    compress(2, st, dd, blocks);
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 1 when state s is the SHA-256 digest md */
static int same(const uint32_t *s, const unsigned char *md)
{
    for (int i = 0; i < 8; i++)
        if (s[i] != ((uint32_t)md[4 * i] << 24 | (uint32_t)md[4 * i + 1] << 16 |
                     (uint32_t)md[4 * i + 2] << 8 | md[4 * i + 3]))
            return 0;
    return 1;
}

int main(void)
{
    const size_t n = 256 * 1024;
    if (!__builtin_cpu_supports("sha")) {
        fprintf(stderr, "sha256_2way: this CPU has no SHA-NI\n");
        return 2;
    }
    uint8_t *a = aligned_alloc(64, n + 64), *b = aligned_alloc(64, n + 64);
    if (!a || !b)
        return 1;
    for (size_t i = 0; i < n; i++) {
        a[i] = (uint8_t)(i * 13 + 7);
        b[i] = (uint8_t)(i * 31 + 1);
    }
    /* the padding block of an n-byte message, after each buffer */
    memset(a + n, 0, 64);
    a[n] = 0x80;
    for (int i = 0; i < 8; i++)
        a[n + 63 - i] = (uint8_t)(((uint64_t)n * 8) >> (8 * i));
    memcpy(b + n, a + n, 64);
    unsigned char ma[32], mb[32];
    unsigned int len;
    EVP_Digest(a, n, ma, &len, EVP_sha256(), NULL);
    EVP_Digest(b, n, mb, &len, EVP_sha256(), NULL);
    uint32_t s1[8], s2[8], s3[8];
    memcpy(s1, IV, 32);
    memcpy(s2, IV, 32);
    memcpy(s3, IV, 32);
    two_way(s1, s2, a, b, n / 64 + 1);
    one_way(s3, a, n / 64 + 1);
    if (!same(s1, ma) || !same(s2, mb) || !same(s3, ma)) {
        fprintf(stderr, "sha256_2way: digests differ from OpenSSL's\n");
        return 1;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    printf("round,one_way_s,two_way_s,openssl_s,openssl_over_two_way\n");
    for (int r = 1; r <= 5; r++) {
        double t = cpu_s();
        for (int i = 0; i < 2048; i++)
            one_way(s1, a, n / 64);
        double t1 = cpu_s() - t;
        t = cpu_s();
        for (int i = 0; i < 1024; i++)
            two_way(s1, s2, a, b, n / 64);
        double t2 = cpu_s() - t;
        t = cpu_s();
        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        for (int i = 0; i < 2048; i++)
            EVP_DigestUpdate(c, a, n);
        EVP_DigestFinal_ex(c, ma, &len);
        double t3 = cpu_s() - t;
        printf("%d,%.3f,%.3f,%.3f,%.2f\n", r, t1, t2, t3, t3 / t2);
    }
    EVP_MD_CTX_free(c);
    free(a);
    free(b);
    return 0;
}

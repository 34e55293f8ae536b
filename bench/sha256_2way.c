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
 * The kernels are the scanner's own (scanner/sha256_ni.c), so what this
 * measures is what the hasher runs.
 *
 * Build and run (x86-64 with SHA-NI), from the top of the tree:
 *   cc -O3 -Iscanner -o /tmp/sha256_2way bench/sha256_2way.c scanner/sha256_ni.c -lcrypto \
 *     && /tmp/sha256_2way
 * Prints one line per round: CPU seconds of each and the ratio openssl/2-way.
 */
#include "sha256_ni.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    const size_t n = 256 * 1024;
    if (!sha256_ni_available()) {
        fprintf(stderr, "sha256_2way: this CPU has no SHA-NI\n");
        return 2;
    }
    uint8_t *a = aligned_alloc(64, n), *b = aligned_alloc(64, n);
    if (!a || !b)
        return 1;
    for (size_t i = 0; i < n; i++) {
        a[i] = (uint8_t)(i * 13 + 7);
        b[i] = (uint8_t)(i * 31 + 1);
    }
    unsigned char ma[32], mb[32], m1[32], m2[32], m3[32];
    unsigned int len;
    EVP_Digest(a, n, ma, &len, EVP_sha256(), NULL);
    EVP_Digest(b, n, mb, &len, EVP_sha256(), NULL);
    sha256_ni s1, s2, s3;
    sha256_ni_init(&s1);
    sha256_ni_init(&s2);
    sha256_ni_init(&s3);
    sha256_ni_update2(&s1, a, &s2, b, n);
    sha256_ni_update(&s3, a, n);
    sha256_ni_final(&s1, m1);
    sha256_ni_final(&s2, m2);
    sha256_ni_final(&s3, m3);
    if (memcmp(m1, ma, 32) || memcmp(m2, mb, 32) || memcmp(m3, ma, 32)) {
        fprintf(stderr, "sha256_2way: digests differ from OpenSSL's\n");
        return 1;
    }
    /* the timed rounds feed whole blocks only, straight to the kernels */
    sha256_ni_init(&s1);
    sha256_ni_init(&s2);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    printf("round,one_way_s,two_way_s,openssl_s,openssl_over_two_way\n");
    for (int r = 1; r <= 5; r++) {
        double t = cpu_s();
        for (int i = 0; i < 2048; i++)
            sha256_ni_update(&s1, a, n);
        double t1 = cpu_s() - t;
        t = cpu_s();
        for (int i = 0; i < 1024; i++)
            sha256_ni_update2(&s1, a, &s2, b, n);
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

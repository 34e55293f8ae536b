/*
 * test_sha256_ni.c - SHA-256 on the SHA extensions, and two files hashed at
 * once (hash_file_pair).  Every length from 0 to 300 bytes and the block
 * boundaries around 256 KiB give OpenSSL's digest, fed whole, byte by byte,
 * or two streams together (update2, also with a partial block pending);
 * a pair of files gives exactly the one-file path's result (digests, XXH3,
 * size, stat tuple, UTF-8 verdict, invalid offsets past a block boundary)
 * for equal and unequal sizes, and files it must not hash this way (small,
 * sparse, missing, a FIFO) are left undone.  Skipped on CPUs without SHA-NI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hash_file.h"
#include "hash_fixture.h"
#include "sha256_ni.h"

#define K256 (256u * 1024u)

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
    return p;
}

static void openssl_sha(const unsigned char *p, size_t n, unsigned char md[32])
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
}

static void test_every_length_matches_openssl(void **state)
{
    (void)state;
    if (!sha256_ni_available())
        skip();
    static const size_t big[] = { 64 * 1024 - 1, K256 - 1, K256, K256 + 1, 2 * K256 + 63,
                                  3 * K256 + 17 };
    unsigned char *p = pattern(3 * K256 + 64, 7);
    for (size_t n = 0; n < 300 + sizeof big / sizeof big[0]; n++) {
        size_t len = n < 300 ? n : big[n - 300];
        unsigned char want[32], got[32], bytes[32];
        openssl_sha(p, len, want);
        sha256_ni c;
        sha256_ni_init(&c);
        sha256_ni_update(&c, p, len);
        sha256_ni_final(&c, got);
        if (memcmp(want, got, 32) != 0)
            fail_msg("length %zu: whole update differs from OpenSSL", len);
        if (len < 300) {
            sha256_ni_init(&c);
            for (size_t i = 0; i < len; i++)
                sha256_ni_update(&c, p + i, 1);
            sha256_ni_final(&c, bytes);
            if (memcmp(want, bytes, 32) != 0)
                fail_msg("length %zu: byte-by-byte update differs from OpenSSL", len);
        }
    }
    free(p);
}

static void test_two_streams_together_match_each_alone(void **state)
{
    (void)state;
    if (!sha256_ni_available())
        skip();
    unsigned char *a = pattern(3 * K256, 1), *b = pattern(3 * K256, 2);
    /* (bytes fed to x alone first, bytes fed together, chunks) */
    static const struct { size_t lead, n, chunks; } cases[] = {
        { 0, K256, 3 }, { 0, 64, 5 }, { 0, 100, 4 }, { 0, 0, 2 }, { 5, K256, 2 }, { 64, 1000, 3 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sha256_ni x, y;
        sha256_ni_init(&x);
        sha256_ni_init(&y);
        sha256_ni_update(&x, a, cases[k].lead);
        size_t off = cases[k].lead;
        for (size_t i = 0; i < cases[k].chunks; i++) {
            sha256_ni_update2(&x, a + off, &y, b + i * cases[k].n, cases[k].n);
            off += cases[k].n;
        }
        unsigned char gx[32], gy[32], wx[32], wy[32];
        sha256_ni_final(&x, gx);
        sha256_ni_final(&y, gy);
        openssl_sha(a, off, wx);
        openssl_sha(b, cases[k].chunks * cases[k].n, wy);
        if (memcmp(gx, wx, 32) != 0 || memcmp(gy, wy, 32) != 0)
            fail_msg("case %zu (lead %zu, %zu x %zu): a stream differs from OpenSSL", k,
                     cases[k].lead, cases[k].chunks, cases[k].n);
    }
    free(a);
    free(b);
}

/* ---- hash_file_pair -------------------------------------------------------- */

typedef hash_fixture fixture;

static int setup(void **state)
{
    return hf_setup(state, "pair");
}

static int teardown(void **state)
{
    return hf_teardown(state);
}

static void assert_same_out(const char *what, const hash_out *a, const hash_out *b)
{
    if (a->status != b->status || memcmp(a->sha256, b->sha256, 32) != 0 ||
        a->xxh3_high != b->xxh3_high || a->xxh3_low != b->xxh3_low || a->size != b->size ||
        a->dev != b->dev || a->ino != b->ino || a->mtime_ns != b->mtime_ns ||
        a->ctime_ns != b->ctime_ns || a->utf8_checked != b->utf8_checked ||
        a->utf8_valid != b->utf8_valid || a->utf8_bad_at != b->utf8_bad_at)
        fail_msg("%s: the pair's result differs from the one-file path's", what);
}

static void test_a_pair_gives_the_one_file_results(void **state)
{
    fixture *f = *state;
    if (!hasher_can_pair(f->h))
        skip();
    static const struct { size_t na, nb; int utf8; size_t bad_at; } cases[] = {
        { K256, K256, 0, 0 },                 /* one block each */
        { 3 * K256 + 17, K256 + 1, 0, 0 },    /* b ends first, a goes on alone */
        { K256 + 5, 4 * K256, 1, 0 },         /* text, a ends first */
        { 2 * K256, 2 * K256, 1, K256 + 1 },  /* invalid UTF-8 past a block boundary */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int xxh = 0; xxh <= 1; xxh++) {
            hasher_set_xxh3(f->h, xxh);
            unsigned char *a = pattern(cases[k].na, (unsigned)k), *b = pattern(cases[k].nb,
                                                                                 (unsigned)k + 9);
            if (cases[k].utf8) {
                for (size_t i = 0; i < cases[k].na; i++)
                    a[i] = (unsigned char)('a' + a[i] % 26);
                for (size_t i = 0; i < cases[k].nb; i++)
                    b[i] = (unsigned char)('a' + b[i] % 26);
                if (cases[k].bad_at)
                    b[cases[k].bad_at] = 0xff;
            }
            hf_write_file(f, "a", a, cases[k].na);
            hf_write_file(f, "b", b, cases[k].nb);
            hash_out pa, pb, sa, sb;
            hash_job ja = { f->dfd, "a", cases[k].utf8, &pa, 0 };
            hash_job jb = { f->dfd, "b", cases[k].utf8, &pb, 0 };
            assert_int_equal(hash_file_pair(f->h, &ja, &jb), 0);
            if (!ja.done || !jb.done)
                fail_msg("case %zu: a pair of regular files was left undone", k);
            dsr_err err;
            assert_int_equal(hash_file_at(f->h, f->dfd, "a", cases[k].utf8, &sa, &err), 0);
            assert_int_equal(hash_file_at(f->h, f->dfd, "b", cases[k].utf8, &sb, &err), 0);
            char what[64];
            snprintf(what, sizeof what, "case %zu, xxh3 %d, a", k, xxh);
            assert_same_out(what, &pa, &sa);
            what[strlen(what) - 1] = 'b';
            assert_same_out(what, &pb, &sb);
            if (cases[k].bad_at)
                assert_int_equal(pb.utf8_bad_at, cases[k].bad_at);
            free(a);
            free(b);
        }
    }
    hasher_set_xxh3(f->h, 1);
}

static void test_files_a_pair_must_not_take_are_left_undone(void **state)
{
    fixture *f = *state;
    if (!hasher_can_pair(f->h))
        skip();
    unsigned char *p = pattern(2 * K256, 3);
    hf_write_file(f, "big", p, 2 * K256);
    hf_write_file(f, "small", p, K256 - 1);
    /* a hole of 4 MiB before one data block: sparse */
    int fd = openat(f->dfd, "sparse", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, p, 4096, 4 << 20), 4096);
    close(fd);
    assert_int_equal(mkfifoat(f->dfd, "fifo", 0644), 0);
    static const char *const other[] = { "small", "sparse", "missing", "fifo" };
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
        hash_out oa, ob;
        hash_job ja = { f->dfd, "big", 0, &oa, 1 };
        hash_job jb = { f->dfd, other[k], 0, &ob, 1 };
        assert_int_equal(hash_file_pair(f->h, &ja, &jb), 0);
        if (ja.done || jb.done)
            fail_msg("big + %s: hashed as a pair", other[k]);
        /* either order */
        assert_int_equal(hash_file_pair(f->h, &jb, &ja), 0);
        if (ja.done || jb.done)
            fail_msg("%s + big: hashed as a pair", other[k]);
    }
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_length_matches_openssl),
        cmocka_unit_test(test_two_streams_together_match_each_alone),
        cmocka_unit_test_setup_teardown(test_a_pair_gives_the_one_file_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_a_pair_must_not_take_are_left_undone, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

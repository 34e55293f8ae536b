/*
 * test_hash_file.c - one-pass hashing: SHA-256 matches known vectors and an
 * independent one-shot digest at every buffer boundary (empty, 1 byte, block
 * size -1/0/+1, 1 MiB + 1), XXH3-128 matches the one-shot libxxhash result,
 * UTF-8 is judged across block boundaries, the stat tuple is the file's, and
 * special names (missing, symlink, FIFO, directory) give the right status
 * without hanging.  Batches (hash_files, io_uring): every file they
 * finish is exactly what the one-file path gives, and everything they cannot
 * finish (64 KiB and up, special names, missing files) is left undone; a
 * hasher switched off, or a ring the kernel refuses, finishes nothing; a
 * file changed since the batch's fence is left undone (one fstat() stands
 * for two only on local file systems, tmpfs yes, /proc no).
 * Stat batches (hash_stat_files) give what fstatat gives, name by name.
 * Bounded reads (issue 17 item 12): a file with holes hashes like the same
 * bytes written out, without reading the holes (the process's read count in
 * /proc/self/io); a file over the hasher's size cap is not read at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "buf.h"
#include "hash_file.h"
#include "hash_fixture.h"
#include "uring.h"

typedef hash_fixture fixture;

static int setup(void **state)
{
    return hf_setup(state, "hash");
}

static int teardown(void **state)
{
    return hf_teardown(state);
}

static void hash_ok(fixture *f, const char *name, int utf8, hash_out *out)
{
    dsr_err err;
    dsr_err_clear(&err);
    assert_int_equal(hash_file_at(f->h, f->dfd, name, utf8, out, &err), 0);
    assert_int_equal(out->status, HASH_OK);
}

static void hex_of(const unsigned char *d, char *out)
{
    dsr_hex(d, 32, out);
}

static void test_known_vectors(void **state)
{
    fixture *f = *state;
    hash_out o;
    char hex[65];
    hf_write_file(f, "empty", "", 0);
    hash_ok(f, "empty", 0, &o);
    hex_of(o.sha256, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(o.size, 0);
    XXH128_hash_t x = XXH3_128bits("", 0);
    assert_true(o.xxh3_high == x.high64 && o.xxh3_low == x.low64);

    hf_write_file(f, "abc", "abc", 3);
    hash_ok(f, "abc", 0, &o);
    hex_of(o.sha256, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(o.size, 3);
}

/* Sizes around the hasher's block size (256 KiB) and the 1 MiB + 1 case. */
static void test_every_size_matches_one_shot_digests(void **state)
{
    fixture *f = *state;
    static const size_t sizes[] = { 1, 4095, 4096, 262143, 262144, 262145, 524288,
                                    (1u << 20) + 1, 3u * 262144 + 17 };
    size_t max = 3u * 262144 + 17 > (1u << 20) + 1 ? 3u * 262144 + 17 : (1u << 20) + 1;
    unsigned char *data = malloc(max);
    assert_non_null(data);
    uint32_t seed = 12345;
    for (size_t i = 0; i < max; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (unsigned char)(seed >> 16);
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        hf_write_file(f, "blob", data, n);
        hash_out o;
        hash_ok(f, "blob", 0, &o);
        assert_int_equal(o.size, n);
        unsigned char want[32];
        unsigned int len = 0;
        assert_int_equal(EVP_Digest(data, n, want, &len, EVP_sha256(), NULL), 1);
        if (memcmp(want, o.sha256, 32) != 0)
            print_error("sha256 differs for size %zu\n", n);
        assert_memory_equal(want, o.sha256, 32);
        XXH128_hash_t x = XXH3_128bits(data, n);
        assert_true(o.xxh3_high == x.high64);
        assert_true(o.xxh3_low == x.low64);
        assert_int_equal(o.utf8_checked, 0);
    }
    free(data);
}

static void test_utf8_is_judged_across_block_boundaries(void **state)
{
    fixture *f = *state;
    size_t n = 262144 + 2;
    unsigned char *d = malloc(n + 1);
    assert_non_null(d);
    memset(d, 'a', n);
    /* a 3-byte euro sign straddling the 256 KiB block boundary */
    d[262143] = 0xe2;
    d[262144] = 0x82;
    d[262145] = 0xac;
    hf_write_file(f, "ok.md", d, n);
    hash_out o;
    hash_ok(f, "ok.md", 1, &o);
    assert_int_equal(o.utf8_checked, 1);
    assert_int_equal(o.utf8_valid, 1);

    d[262145] = 'x';                          /* now broken: the sequence starts at 262143 */
    hf_write_file(f, "bad.md", d, n);
    hash_ok(f, "bad.md", 1, &o);
    assert_int_equal(o.utf8_valid, 0);
    assert_int_equal(o.utf8_bad_at, 262143);
    assert_int_equal(o.size, n);              /* still hashed in full */

    hf_write_file(f, "tail.md", "abc\xe2\x82", 5);   /* truncated at end of file */
    hash_ok(f, "tail.md", 1, &o);
    assert_int_equal(o.utf8_valid, 0);
    free(d);
}

static void test_stat_tuple_is_the_files(void **state)
{
    fixture *f = *state;
    hf_write_file(f, "s", "12345", 5);
    struct stat st;
    assert_int_equal(fstatat(f->dfd, "s", &st, 0), 0);
    hash_out o;
    hash_ok(f, "s", 0, &o);
    assert_true(o.dev == (uint64_t)st.st_dev);
    assert_true(o.ino == (uint64_t)st.st_ino);
    assert_true(o.mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    assert_true(o.ctime_ns == (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
}

static void test_special_names_get_a_status_not_a_hang(void **state)
{
    fixture *f = *state;
    dsr_err err;
    hash_out o;
    assert_int_equal(hash_file_at(f->h, f->dfd, "missing", 0, &o, &err), 0);
    assert_int_equal(o.status, HASH_OPEN_FAILED);
    assert_int_equal(o.errnum, ENOENT);

    hf_write_file(f, "target", "x", 1);
    assert_int_equal(symlinkat("target", f->dfd, "link"), 0);
    assert_int_equal(hash_file_at(f->h, f->dfd, "link", 0, &o, &err), 0);
    assert_int_equal(o.status, HASH_NOT_REGULAR);     /* final symlink never followed */

    assert_int_equal(mkfifoat(f->dfd, "fifo", 0644), 0);
    assert_int_equal(hash_file_at(f->h, f->dfd, "fifo", 0, &o, &err), 0);
    assert_int_equal(o.status, HASH_NOT_REGULAR);     /* O_NONBLOCK: no writer, no hang */

    assert_int_equal(mkdirat(f->dfd, "sub", 0755), 0);
    assert_int_equal(hash_file_at(f->h, f->dfd, "sub", 0, &o, &err), 0);
    assert_int_equal(o.status, HASH_NOT_REGULAR);
}

/* The one-file path and a finished batch job agree on every field. */
static void assert_same_out(const hash_out *a, const hash_out *b, const char *name)
{
    if (a->status != b->status || memcmp(a->sha256, b->sha256, 32) || a->xxh3_high != b->xxh3_high
        || a->xxh3_low != b->xxh3_low || a->size != b->size || a->dev != b->dev
        || a->ino != b->ino || a->mtime_ns != b->mtime_ns || a->ctime_ns != b->ctime_ns
        || a->utf8_checked != b->utf8_checked || a->utf8_valid != b->utf8_valid
        || (a->utf8_checked && !a->utf8_valid && a->utf8_bad_at != b->utf8_bad_at)
        || a->sha_reused != b->sha_reused)
        fail_msg("%s: the batch result differs from the one-file path", name);
}

/* Whether this kernel gives the test process a ring at all (a seccomp
 * filter or kernel.io_uring_disabled may not). */
static int ring_available(void)
{
    uring *r = uring_create(4);
    uring_free(r);
    return r != NULL;
}

static void test_batch_finishes_small_files_like_the_one_file_path(void **state)
{
    fixture *f = *state;
    /* the files are written just now: a fence margin of an hour the other
     * way makes the batch treat them as long unchanged */
    hasher_set_fence_margin(f->h, -3600LL * 1000000000);
    static unsigned char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 131 + 7);
    const char *valid = "# notes \xc3\xa9t\xc3\xa9\n";
    const char *invalid = "ok then \xff\xfe broken\n";
    hf_write_file(f, "empty.md", "", 0);
    hf_write_file(f, "valid.md", valid, strlen(valid));
    hf_write_file(f, "invalid.md", invalid, strlen(invalid));
    hf_write_file(f, "one.bin", "x", 1);
    hf_write_file(f, "below-slot.bin", big, 65535);
    hf_write_file(f, "slot.bin", big, 65536);         /* not below 64 KiB: left undone */
    hf_write_file(f, "large.bin", big, sizeof big);
    hf_write_file(f, "target", "t", 1);
    assert_int_equal(symlinkat("target", f->dfd, "link"), 0);
    assert_int_equal(mkfifoat(f->dfd, "fifo", 0644), 0);
    assert_int_equal(mkdirat(f->dfd, "sub", 0755), 0);
    static const struct { const char *name; int utf8, small; } files[] = {
        { "empty.md", 1, 1 }, { "valid.md", 1, 1 }, { "invalid.md", 1, 1 },
        { "one.bin", 0, 1 }, { "below-slot.bin", 0, 1 }, { "slot.bin", 0, 0 },
        { "large.bin", 0, 0 }, { "link", 0, 0 }, { "fifo", 0, 0 }, { "sub", 0, 0 },
        { "missing", 0, 0 }, { "valid.md", 0, 1 },
    };
    enum { N = sizeof files / sizeof files[0] };
    _Static_assert(N <= HASH_BATCH, "one batch");
    hash_out out[N];
    hash_job jobs[N];
    for (size_t i = 0; i < N; i++)
        jobs[i] = (hash_job){ f->dfd, files[i].name, files[i].utf8, &out[i], -1 };
    dsr_err err;
    dsr_err_clear(&err);
    assert_int_equal(hash_files(f->h, jobs, N, &err), 0);
    int ring = ring_available();
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(jobs[i].done, ring && files[i].small);
        if (!jobs[i].done)
            continue;
        hash_out one;
        hash_ok(f, files[i].name, files[i].utf8, &one);
        assert_same_out(&one, &out[i], files[i].name);
    }
    if (!ring)
        skip();     /* nothing more to check without a ring */
    assert_int_equal(out[2].utf8_valid, 0);
    assert_int_equal(out[1].utf8_valid, 1);
    assert_int_equal(out[4].size, 65535);
    /* the undone ones still hash (or fail) the one-file way afterwards */
    hash_out o;
    hash_ok(f, "large.bin", 0, &o);
    assert_int_equal(o.size, sizeof big);
    /* and the batch opened nothing it did not close */
    int probe = open("/dev/null", O_RDONLY);
    assert_true(probe >= 0);
    close(probe);
    assert_int_equal(hash_files(f->h, jobs, N, &err), 0);
    int probe2 = open("/dev/null", O_RDONLY);
    assert_int_equal(probe2, probe);
    close(probe2);
}

/* The fence: a batch trusts its one fstat() only for a file whose ctime
 * lies more than the margin before the batch's start.  Files written just
 * now are left to the one-file path under the default margin (two
 * seconds); the next batch stats before reading and finishes them; a
 * margin of ten years leaves them undone again, and with the margin an
 * hour the other way the batch finishes them after one fstat().  Whatever
 * a batch finishes is exactly what the one-file path gives.  A file too
 * large for a slot backs the hasher off like a fresh one. */
static void test_batch_leaves_files_changed_since_the_fence_undone(void **state)
{
    fixture *f = *state;
    const char *names[] = { "a.md", "b.md", "c.bin" };
    enum { N = sizeof names / sizeof names[0] };
    hf_write_file(f, "a.md", "alpha\n", 6);
    hf_write_file(f, "b.md", "beta\n", 5);
    hf_write_file(f, "c.bin", "\x00\x01\x02", 3);
    if (!ring_available() || !hash_fs_local(f->dfd))
        skip();     /* no batches here, or no fence on this file system */
    static const struct { int set; int64_t margin; int done; } round[] = {
        { 0, 0, 0 },                                    /* default margin */
        { 0, 0, 1 },                                    /* stat before the read */
        { 1, 10LL * 366 * 86400 * 1000000000, 0 },
        { 1, -3600LL * 1000000000, 1 },
    };
    for (size_t r = 0; r < sizeof round / sizeof round[0]; r++) {
        if (round[r].set)
            hasher_set_fence_margin(f->h, round[r].margin);
        hash_out out[N];
        hash_job jobs[N];
        for (size_t i = 0; i < N; i++)
            jobs[i] = (hash_job){ f->dfd, names[i], 1, &out[i], -1 };
        dsr_err err;
        dsr_err_clear(&err);
        assert_int_equal(hash_files(f->h, jobs, N, &err), 0);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(jobs[i].done, round[r].done);
            hash_out one;
            hash_ok(f, names[i], 1, &one);
            if (jobs[i].done)
                assert_same_out(&one, &out[i], names[i]);
        }
    }
    /* A file of a slot or more, read in part by a fenced batch for nothing,
     * backs the hasher off too: with nothing old (a margin of ten years),
     * the batch after it stats first and finishes the fresh files. */
    static unsigned char big[70000];
    hf_write_file(f, "big.bin", big, sizeof big);
    hasher_set_fence_margin(f->h, 10LL * 366 * 86400 * 1000000000);
    hash_out bo;
    hash_job bj[2] = { { f->dfd, "big.bin", 0, &bo, -1 }, { f->dfd, "big.bin", 0, &bo, -1 } };
    dsr_err err;
    dsr_err_clear(&err);
    assert_int_equal(hash_files(f->h, bj, 2, &err), 0);
    assert_false(bj[0].done || bj[1].done);
    hash_out out[N];
    hash_job jobs[N];
    for (size_t i = 0; i < N; i++)
        jobs[i] = (hash_job){ f->dfd, names[i], 1, &out[i], -1 };
    assert_int_equal(hash_files(f->h, jobs, N, &err), 0);
    for (size_t i = 0; i < N; i++)
        assert_true(jobs[i].done);
}

/* Only file systems stamping ctime from this machine's clock count as
 * local for the fence: tmpfs does, /proc does not. */
static void test_fence_knows_local_file_systems(void **state)
{
    (void)state;
    int shm = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct statfs fs;
    if (shm >= 0 && fstatfs(shm, &fs) == 0 && fs.f_type == TMPFS_MAGIC)
        assert_int_equal(hash_fs_local(shm), 1);
    if (shm >= 0)
        close(shm);
    int proc = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    assert_true(proc >= 0);
    assert_int_equal(hash_fs_local(proc), 0);
    close(proc);
    assert_int_equal(hash_fs_local(-1), 0);
}

static void test_batch_switched_off_or_too_big_finishes_nothing(void **state)
{
    fixture *f = *state;
    hf_write_file(f, "a.md", "a\n", 2);
    hf_write_file(f, "b.md", "b\n", 2);
    hash_out out[HASH_BATCH + 1];
    hash_job jobs[HASH_BATCH + 1];
    for (size_t i = 0; i <= HASH_BATCH; i++)
        jobs[i] = (hash_job){ f->dfd, i % 2 ? "a.md" : "b.md", 1, &out[i], -1 };
    dsr_err err;
    dsr_err_clear(&err);
    assert_int_equal(hash_files(f->h, jobs, HASH_BATCH + 1, &err), DSR_EINVAL);
    hasher_batch_off(f->h);
    assert_int_equal(hash_files(f->h, jobs, 2, &err), 0);
    assert_int_equal(jobs[0].done, 0);
    assert_int_equal(jobs[1].done, 0);
}

/* ---- stat batches --------------------------------------------------------- */

/* hash_stat_files gives what fstatat(AT_SYMLINK_NOFOLLOW) gives, file by
 * file: the same stat tuple and type for files, a folder and a symlink (the
 * link itself), and the same errno for a missing name; with the batch path
 * off it runs nothing. */
static void test_stat_batch_gives_what_fstatat_gives(void **state)
{
    fixture *f = *state;
    hf_write_file(f, "one.md", "one\n", 4);
    hf_write_file(f, "two.bin", "", 0);
    assert_int_equal(mkdirat(f->dfd, "sub", 0700), 0);
    assert_int_equal(symlinkat("one.md", f->dfd, "link.md"), 0);
    const char *names[] = { "one.md", "two.bin", "sub", "link.md", "missing" };
    enum { N = sizeof names / sizeof names[0] };
    int dfd[N], res[N];
    struct stat got[N];
    for (size_t i = 0; i < N; i++)
        dfd[i] = f->dfd;
    if (hash_stat_files(f->h, dfd, names, N, got, res) != 0)
        skip();                             /* no io_uring here */
    for (size_t i = 0; i < N; i++) {
        struct stat want;
        int wrc = fstatat(f->dfd, names[i], &want, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
        if (res[i] != wrc)
            fail_msg("%s: %d from the batch, %d from fstatat", names[i], res[i], wrc);
        if (wrc)
            continue;
        assert_true(got[i].st_dev == want.st_dev);
        assert_true(got[i].st_ino == want.st_ino);
        assert_int_equal(got[i].st_mode, want.st_mode);
        assert_int_equal(got[i].st_size, want.st_size);
        assert_int_equal(got[i].st_mtim.tv_sec, want.st_mtim.tv_sec);
        assert_int_equal(got[i].st_mtim.tv_nsec, want.st_mtim.tv_nsec);
        assert_int_equal(got[i].st_ctim.tv_sec, want.st_ctim.tv_sec);
        assert_int_equal(got[i].st_ctim.tv_nsec, want.st_ctim.tv_nsec);
    }
    assert_true(S_ISLNK(got[3].st_mode));
    assert_int_equal(res[4], -ENOENT);
}

static void test_stat_batch_switched_off_runs_nothing(void **state)
{
    fixture *f = *state;
    hf_write_file(f, "a.md", "a\n", 2);
    const char *names[] = { "a.md", "a.md" };
    int dfd[] = { f->dfd, f->dfd }, res[2];
    struct stat st[2];
    hasher_batch_off(f->h);
    assert_int_equal(hash_stat_files(f->h, dfd, names, 2, st, res), -1);
}

/* ---- bounded reads ------------------------------------------------------ */

/* Bytes this process has read through read()-like calls (rchar). */
static unsigned long long bytes_read_so_far(void)
{
    FILE *fp = fopen("/proc/self/io", "r");
    assert_non_null(fp);
    char line[128];
    unsigned long long v = 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "rchar: %llu", &v) == 1)
            break;
    fclose(fp);
    return v;
}

static void test_holes_are_hashed_as_zeros_without_reading_them(void **state)
{
    fixture *f = *state;
    enum { SIZE = 64 << 20 };
    static const char head[] = "head of a sparse file\n", tail[] = "its tail\n";
    /* sparse: data at 0 and at the end, a 64 MiB hole between */
    int fd = openat(f->dfd, "sparse.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, head, sizeof head - 1, 0), (ssize_t)sizeof head - 1);
    assert_int_equal(pwrite(fd, tail, sizeof tail - 1, SIZE - (off_t)(sizeof tail - 1)),
                     (ssize_t)sizeof tail - 1);
    close(fd);
    struct stat st;
    assert_int_equal(fstatat(f->dfd, "sparse.bin", &st, 0), 0);
    if ((uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size)
        skip();     /* this filesystem keeps no holes */
    /* the same bytes, written out */
    unsigned char *dense = calloc(1, SIZE);
    assert_non_null(dense);
    memcpy(dense, head, sizeof head - 1);
    memcpy(dense + SIZE - (sizeof tail - 1), tail, sizeof tail - 1);
    hf_write_file(f, "dense.bin", dense, SIZE);
    free(dense);

    hash_out a, b;
    unsigned long long before = bytes_read_so_far();
    hash_ok(f, "sparse.bin", 1, &a);
    unsigned long long sparse_read = bytes_read_so_far() - before;
    hash_ok(f, "dense.bin", 1, &b);
    assert_memory_equal(a.sha256, b.sha256, 32);
    assert_true(a.xxh3_high == b.xxh3_high && a.xxh3_low == b.xxh3_low);
    assert_true(a.size == SIZE && b.size == SIZE);
    assert_true(a.utf8_checked && a.utf8_valid == b.utf8_valid);
    /* the hole was not read: far less than its 64 MiB went through read() */
    if (sparse_read >= (1u << 20))
        print_error("hashing the sparse file read %llu bytes\n", sparse_read);
    assert_true(sparse_read < (1u << 20));
}

static void test_files_over_the_size_cap_are_not_read(void **state)
{
    fixture *f = *state;
    static const char text[] = "0123456789abcdef";           /* 16 bytes */
    hf_write_file(f, "small.txt", text, 16);
    hasher_set_max_size(f->h, 15);
    dsr_err err;
    dsr_err_clear(&err);
    hash_out out;
    assert_int_equal(hash_file_at(f->h, f->dfd, "small.txt", 1, &out, &err), 0);
    assert_int_equal(out.status, HASH_TOO_LARGE);
    assert_true(out.size == 16);
    static const unsigned char none[32];
    assert_memory_equal(out.sha256, none, 32);               /* no digest */
    /* the batch leaves it to the one-file path, which reports it */
    hash_out bo;
    hash_job job = { f->dfd, "small.txt", 0, &bo, 0 };
    hash_job jobs[2] = { job, job };
    assert_int_equal(hash_files(f->h, jobs, 2, &err), 0);
    assert_false(jobs[0].done || jobs[1].done);
    /* at the cap: hashed */
    hasher_set_max_size(f->h, 16);
    assert_int_equal(hash_file_at(f->h, f->dfd, "small.txt", 1, &out, &err), 0);
    assert_int_equal(out.status, HASH_OK);
    /* A cap below a gigabyte keeps the batch from reading any file before
     * its stat (the fence reads first): a file written just now is then
     * finished at once, with its stat before and after the read, where a
     * fenced batch would leave it to the one-file path. */
    if (!ring_available() || !hash_fs_local(f->dfd))
        return;     /* no batches here, or no fence on this file system */
    hasher_set_max_size(f->h, 1u << 20);
    hash_job fresh[2] = { job, job };
    assert_int_equal(hash_files(f->h, fresh, 2, &err), 0);
    assert_true(fresh[0].done && fresh[1].done);
    hasher_set_max_size(f->h, UINT64_MAX);
    hasher_set_fence_margin(f->h, 10LL * 366 * 86400 * 1000000000);   /* nothing is old */
    hash_job fenced[2] = { job, job };
    assert_int_equal(hash_files(f->h, fenced, 2, &err), 0);
    assert_false(fenced[0].done || fenced[1].done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat_batch_gives_what_fstatat_gives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat_batch_switched_off_runs_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_size_matches_one_shot_digests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_is_judged_across_block_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat_tuple_is_the_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_names_get_a_status_not_a_hang, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_finishes_small_files_like_the_one_file_path,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_holes_are_hashed_as_zeros_without_reading_them,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_over_the_size_cap_are_not_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_leaves_files_changed_since_the_fence_undone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fence_knows_local_file_systems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_switched_off_or_too_big_finishes_nothing,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

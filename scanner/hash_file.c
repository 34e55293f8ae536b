/*
 * hash_file.c - one-pass hashing of a file: SHA-256 via OpenSSL EVP, XXH3-128
 * via libxxhash, and an optional UTF-8 check, all over the same buffer.
 *
 * Each worker owns one hasher: the read buffer, the EVP_MD_CTX and the
 * XXH3 state are allocated once and reused for every file, and the SHA-256
 * EVP_MD is fetched once (OpenSSL 3's implicit fetch in EVP_sha256() +
 * EVP_DigestInit_ex costs more than hashing a small file).
 *
 * Files are read with plain read() into a BUF_SIZE buffer.  A file that fits
 * in one buffer (the common case for mission artifacts) is digested in one
 * shot; larger files stream through in BUF_SIZE blocks after
 * posix_fadvise(SEQUENTIAL) so the kernel reads ahead aggressively.
 *
 * read() rather than mmap(): the hash, not the copy, is the bottleneck, and
 * on a virtual machine a mapped file's page faults cost more than the copy
 * (docs/bench.md); besides, a file truncated while
 * mapped would kill the process with SIGBUS, while read() just returns
 * fewer bytes.  256 KiB keeps the block in L2 between the copy and the two
 * hash passes.
 *
 * XXH3 exists for the scan cache's same-size re-reads; a hasher whose
 * caller keeps no cache (`dossier index`) skips it (hasher_set_xxh3), so
 * each byte costs the copy out of the page cache and one SHA-256 pass.
 *
 * Incremental rescans (hash_file_expect): when a cache expects the
 * content, the first pass computes XXH3-128 only (far cheaper than
 * SHA-256); on a match the cached SHA-256 is reused.  On a mismatch the
 * SHA-256 of a one-block file is computed from the buffer still in hand; a
 * larger file gets a second full pass over the same fd, so both digests and
 * the UTF-8 verdict always describe the same bytes.
 *
 * A short read() of a regular file means end of file; the extra read() that
 * would confirm it (one more syscall per small file) is skipped once the
 * bytes read reach the size fstat() reported.
 *
 * Invariant: a digest is only reported for bytes read while the file's size,
 * mtime and ctime stayed put (fstat() before and after the read, one re-read
 * allowed); otherwise the status is HASH_CHANGED.  The cost on the small
 * file path is one extra fstat().
 *
 * Pairs of large files (hash_file_pair): where the CPU has SHA-NI, a
 * worker hashes two large files at once, a block of each in turn, their
 * SHA-256 rounds interleaved (sha256_ni.c) -- one stream waits on the
 * latency of its own rounds, two fill each other's waits (docs/bench.md,
 * "Large files at the SHA-256 limit").  Each file keeps its own XXH3 and
 * UTF-8 state and its own before/after fstat(); a file the pair cannot
 * finish cleanly is left to hash_file_expect, as in a batch.
 *
 * Batches of small files (hash_files): the opens, reads and closes of up
 * to HASH_BATCH files go through the worker's io_uring (uring.c), three
 * io_uring_enter calls for the lot instead of three system calls per file;
 * the fstat() after the read stays a plain call (a queued STATX is slower).
 * Each file gets its own SLOT_SIZE buffer.  A file the batch cannot finish
 * cleanly -- open or read failing, not regular, SLOT_SIZE or larger, changed
 * during the read, or changed too recently to tell (below) -- is left to
 * hash_file_expect, which opens it again and reports or retries exactly as
 * for a file hashed alone.  Why: a system call costs more than the work of
 * opening or reading a small cached file (docs/bench.md, "Figures behind
 * the code").
 *
 * One fstat() per batched file, not two (the fence).  The batch reads the
 * coarse real-time clock before its first open: any change to a file after
 * that instant sets the file's ctime to that clock's reading or later,
 * truncated to the file system's granularity (less than FENCE_MARGIN_NS on
 * the file systems hash_fs_local accepts), and no one can set a ctime by
 * hand.  So a file whose ctime after the read is more than the margin older
 * than the fence did not change during the read, and that one fstat() gives
 * its state as the invariant above asks.  A file changed more recently is
 * left to the one-file path, and the hasher's next FENCE_BACKOFF batches
 * stat before reading, as without the fence (files changed together are
 * walked together: of a freshly written tree, one batch in FENCE_BACKOFF + 1
 * is read twice, not every one).  A file of SLOT_SIZE or more, whose first
 * SLOT_SIZE bytes the batch read for nothing, backs off the same way.  This holds only where ctime comes from
 * this machine's clock (hash_fs_local: the first file on another kind of
 * file system turns the fence off for the hasher) and while that clock does
 * not step back (read again after the batch: a batch that saw it step back
 * trusts no file).  A hasher with a size cap below FENCE_CAP_MIN stats
 * before every read, so no byte of a file over its cap is read.
 */
#include "hash_file.h"
#include "beneath.h"
#include "sha256_ni.h"
#include "uring.h"
#include "utf8.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* XXH3 through libxxhash's run-time dispatch: the AVX2 / AVX-512 kernels
 * where the CPU has them, instead of the SSE2 one the library's plain entry
 * points are built for (the same digests either way) */
#include <xxh_x86dispatch.h>
#endif

#define BUF_SIZE (256u * 1024u)
/* Per-file buffer of the batch path: files below it (most mission
 * artifacts) are read in one queued read. */
#define SLOT_SIZE (64u * 1024u)
/* How every file is opened (O_NOATIME added while the kernel allows it):
 * see open_nofollow. */
#define OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
/* Files at least this big get posix_fadvise(SEQUENTIAL), and are checked
 * for holes (fewer blocks allocated than their size). */
#define FADVISE_MIN (1u << 20)
/* How much older than a batch's fence a file's ctime must be for one
 * fstat() to stand for two: the coarsest timestamp granularity of the file
 * systems hash_fs_local accepts (ext4 with 128-byte inodes keeps whole
 * seconds), with room for the coarse clock's tick. */
#define FENCE_MARGIN_NS (2 * 1000000000LL)
/* The fence reads a file before it knows its size, so only hashers whose
 * size cap is at least this use it: a file over a smaller cap is never
 * read at all, and reading the first SLOT_SIZE bytes of one of a gigabyte
 * or more is not the unbounded read a cap exists to prevent. */
#define FENCE_CAP_MIN ((uint64_t)1 << 30)
/* File systems whose st_dev a hasher remembers as local. */
#define LOCAL_DEVS 4
/* Batches run with a stat before the read after one found a file changed
 * since its fence. */
#define FENCE_BACKOFF 8

struct hasher {
    unsigned char *buf;
    EVP_MD        *md;
    EVP_MD_CTX    *sha;
    XXH3_state_t  *xxh;
    /* the batch path, set up on first use by the worker that owns this
     * hasher (so the ring is that thread's); ring_state 0: not tried yet,
     * 1: ready, -1: off (not wanted, or io_uring unavailable) */
    int            ring_state;
    int            ring_noatime;   /* 0 once an O_NOATIME open was refused (EPERM) */
    uring     *ring;
    unsigned char *slots;          /* HASH_BATCH x SLOT_SIZE */
    uint64_t       max_size;       /* larger files: HASH_TOO_LARGE */
    int            xxh3;           /* 0: no XXH3 pass (hasher_set_xxh3) */
    unsigned char *zeros;          /* BUF_SIZE zero bytes for holes; on first use */
    /* pairs (hash_file_pair): a second read buffer and XXH3 state, made on
     * first use; pair_state 0: not tried, 1: ready, -1: off (no SHA-NI) */
    int            pair_state;
    unsigned char *buf2;
    XXH3_state_t  *xxh2;
    /* the fence (hash_files): its margin, the devices seen to be local file
     * systems, 1 once a file was found on another kind (then every batch
     * stats before reading, as the one-file path does), and the batches
     * still to run that way after one found a file changed since its fence */
    int64_t        fence_margin;
    dev_t          local_dev[LOCAL_DEVS];
    int            n_local, fence_off, backoff;
};

hasher *hasher_create(dsr_err *err)
{
    hasher *h = calloc(1, sizeof *h);
    if (!h) {
        dsr_err_set(err, DSR_ENOMEM, "hasher: out of memory");
        return NULL;
    }
    /* page-aligned so the kernel's copy_to_user works on whole pages */
    if (posix_memalign((void **)&h->buf, 4096, BUF_SIZE) != 0) {
        h->buf = NULL;
        hasher_free(h);
        dsr_err_set(err, DSR_ENOMEM, "hasher: out of memory");
        return NULL;
    }
    h->max_size = UINT64_MAX;
    h->xxh3 = 1;
    h->fence_margin = FENCE_MARGIN_NS;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->sha = EVP_MD_CTX_new();
    h->xxh = XXH3_createState();
    if (!h->md || !h->sha || !h->xxh) {
        int nomem = h->md != NULL;
        hasher_free(h);
        dsr_err_set(err, nomem ? DSR_ENOMEM : DSR_EIO,
                    "hasher: %s", nomem ? "out of memory" : "OpenSSL has no SHA256 digest");
        return NULL;
    }
    return h;
}

void hasher_free(hasher *h)
{
    if (!h)
        return;
    uring_free(h->ring);
    free(h->buf2);
    XXH3_freeState(h->xxh2);
    if (h->slots)
        munmap(h->slots, (size_t)HASH_BATCH * SLOT_SIZE);
    free(h->zeros);
    XXH3_freeState(h->xxh);
    EVP_MD_CTX_free(h->sha);
    EVP_MD_free(h->md);
    free(h->buf);
    free(h);
}

static int open_nofollow(int dirfd, const char *path)
{
    /* O_NONBLOCK: if the name was swapped for a FIFO since listing, open must
     * not hang (fstat then reports it as not regular).  It has no effect on
     * regular files.  O_NOATIME avoids dirtying inodes while indexing; it is
     * only allowed for the file's owner (or root), so fall back without it.
     * beneath_open: a path of several components (a file reached through a
     * followed symlink) may not pass through any link, so a folder swapped
     * for a link since the walk cannot lead out of the mission. */
    int fd = beneath_open(dirfd, path, OPEN_FLAGS | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = beneath_open(dirfd, path, OPEN_FLAGS);
    return fd;
}

/* Fill p with up to n bytes.  Stops early at end of file: when read()
 * returns 0, or when a short read brings the total to at least `expect`
 * (the fstat size) - for a regular file that is the end, so no extra read()
 * is spent confirming it.  *pos counts bytes read from the file so far. */
static ssize_t read_block(int fd, unsigned char *p, size_t n, uint64_t *pos, uint64_t expect)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        *pos += (uint64_t)r;
        if (got < n && *pos >= expect)
            break;
    }
    return (ssize_t)got;
}

static int digest_fail(dsr_err *err, const char *path)
{
    return dsr_err_set(err, DSR_EIO, "%s: SHA-256 digest failed in OpenSSL", path);
}

/* Feed n bytes of p to the streaming digests and the UTF-8 check. */
static int feed(hasher *h, const unsigned char *p, size_t n, int do_sha, utf8_state *u,
                const char *path, dsr_err *err)
{
    if (h->xxh3)
        (void)XXH3_128bits_update(h->xxh, p, n);  /* cannot fail on valid input */
    if (do_sha && EVP_DigestUpdate(h->sha, p, n) != 1)
        return digest_fail(err, path);
    if (u)
        utf8_feed(u, p, n);
    return 0;
}

/* The streamed XXH3 into out (left 0 when the hasher computes none). */
static void xxh3_final(hasher *h, hash_out *out)
{
    if (!h->xxh3)
        return;
    XXH128_hash_t x = XXH3_128bits_digest(h->xxh);
    out->xxh3_high = x.high64;
    out->xxh3_low = x.low64;
}

/* The pass of hash_pass for a file with holes: the data extents
 * (SEEK_DATA / SEEK_HOLE) are read with pread(), the holes between them fed
 * as zeros without reading them -- the same bytes read() would return, so
 * the same digests.  Stops at expect_size: bytes appended since the fstat
 * are not read, and the caller's second fstat() sees the change. */
static int sparse_pass(hasher *h, int fd, uint64_t expect_size, int do_sha, utf8_state *u,
                       hash_out *out, uint64_t *total, const char *path, dsr_err *err)
{
    if (!h->zeros && !(h->zeros = calloc(1, BUF_SIZE)))
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
    if (h->xxh3 && XXH3_128bits_reset(h->xxh) != XXH_OK)
        return dsr_err_set(err, DSR_EIO, "%s: XXH3 reset failed", path);
    uint64_t pos = 0;
    int rc;
    while (pos < expect_size) {
        off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
        if (data < 0) {
            if (errno != ENXIO) {           /* ENXIO: only a hole is left */
                out->errnum = errno;
                return 1;
            }
            data = (off_t)expect_size;
        }
        uint64_t d = (uint64_t)data < expect_size ? (uint64_t)data : expect_size;
        for (; pos < d; ) {                 /* the hole: zeros, nothing read */
            size_t n = d - pos < BUF_SIZE ? (size_t)(d - pos) : BUF_SIZE;
            if ((rc = feed(h, h->zeros, n, do_sha, u, path, err)))
                return rc;
            pos += n;
        }
        if (pos >= expect_size)
            break;
        off_t hole = lseek(fd, (off_t)pos, SEEK_HOLE);
        uint64_t e = hole < 0 || (uint64_t)hole > expect_size ? expect_size : (uint64_t)hole;
        while (pos < e) {                   /* the data extent */
            size_t want = e - pos < BUF_SIZE ? (size_t)(e - pos) : BUF_SIZE;
            ssize_t r = pread(fd, h->buf, want, (off_t)pos);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                out->errnum = errno;
                return 1;
            }
            if (r == 0)
                goto done;                  /* truncated meanwhile */
            if ((rc = feed(h, h->buf, (size_t)r, do_sha, u, path, err)))
                return rc;
            pos += (uint64_t)r;
        }
    }
done:
    xxh3_final(h, out);
    *total = pos;
    return 0;
}

/* One pass over fd from its current offset (0): XXH3-128, SHA-256 when
 * do_sha, UTF-8 when u is not NULL; sparse: see sparse_pass.  *single is set when the whole file fit
 * in h->buf (its bytes are still there, *total long).  Returns 0, or
 * HASH_READ_FAILED-style failure as 1 with out->errnum set, or a negative
 * code when a digest fails. */
static int hash_pass(hasher *h, int fd, uint64_t expect_size, int sparse, int do_sha,
                     utf8_state *u, hash_out *out, uint64_t *total, int *single,
                     const char *path, dsr_err *err)
{
    int streaming = 0;
    uint64_t pos = 0;
    *total = 0;
    *single = 0;
    if (do_sha && EVP_DigestInit_ex2(h->sha, h->md, NULL) != 1)
        return digest_fail(err, path);
    if (sparse)
        return sparse_pass(h, fd, expect_size, do_sha, u, out, total, path, err);
    for (;;) {
        ssize_t n = read_block(fd, h->buf, BUF_SIZE, &pos, expect_size);
        if (n < 0) {
            out->errnum = errno;
            return 1;
        }
        if (n == 0 && streaming)
            break;
        if (!streaming && (size_t)n < BUF_SIZE) {
            /* whole file in one buffer: one-shot XXH3 is cheaper than the
             * streaming state for small inputs */
            if (h->xxh3) {
                XXH128_hash_t x = XXH3_128bits(h->buf, (size_t)n);
                out->xxh3_high = x.high64;
                out->xxh3_low = x.low64;
            }
            if (do_sha && EVP_DigestUpdate(h->sha, h->buf, (size_t)n) != 1)
                return digest_fail(err, path);
            if (u)
                utf8_feed(u, h->buf, (size_t)n);
            *total = (uint64_t)n;
            *single = 1;
            return 0;
        }
        if (!streaming) {
            streaming = 1;
            if (h->xxh3 && XXH3_128bits_reset(h->xxh) != XXH_OK)
                return dsr_err_set(err, DSR_EIO, "%s: XXH3 reset failed", path);
        }
        int rc = feed(h, h->buf, (size_t)n, do_sha, u, path, err);
        if (rc)
            return rc;
        *total += (uint64_t)n;
        if ((size_t)n < BUF_SIZE)
            break;
    }
    xxh3_final(h, out);
    return 0;
}

static int sha_final(hasher *h, hash_out *out, const char *path, dsr_err *err)
{
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(h->sha, out->sha256, &len) != 1 || len != 32)
        return digest_fail(err, path);
    return 0;
}

static void set_stat(hash_out *out, const struct stat *st)
{
    out->dev = (uint64_t)st->st_dev;
    out->ino = (uint64_t)st->st_ino;
    out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    out->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* The digests of fd's content from offset 0, as described for
 * hash_file_expect.  Returns 0, 1 (read failure, out->errnum set) or a
 * negative code. */
static int hash_content(hasher *h, int fd, uint64_t size, int sparse, utf8_state *u,
                        const hash_expect *expect, hash_out *out, uint64_t *total,
                        const char *path, dsr_err *err)
{
    int single = 0;
    /* an expectation is an XXH3 to compare: the hasher must compute it */
    assert(!expect || h->xxh3);
    int rc = hash_pass(h, fd, size, sparse, expect == NULL, u, out, total, &single, path,
                       err);
    if (rc)
        return rc;
    if (!expect)
        return sha_final(h, out, path, err);
    if (out->xxh3_high == expect->xxh3_high && out->xxh3_low == expect->xxh3_low) {
        memcpy(out->sha256, expect->sha256, 32);
        out->sha_reused = 1;
        return 0;
    }
    if (single) {
        /* the bytes are still in the buffer: no second read */
        if (EVP_DigestInit_ex2(h->sha, h->md, NULL) != 1 ||
            EVP_DigestUpdate(h->sha, h->buf, (size_t)*total) != 1)
            return digest_fail(err, path);
        return sha_final(h, out, path, err);
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        out->errnum = errno;
        return 1;
    }
    /* the content changed: a full pass, so both digests (and the UTF-8
     * verdict) describe the same bytes; the caller's fstat() afterwards
     * catches a change during this pass too */
    if (u)
        utf8_init(u);
    rc = hash_pass(h, fd, size, sparse, 1, u, out, total, &single, path, err);
    return rc ? rc : sha_final(h, out, path, err);
}

/* The UTF-8 verdict of a file whose bytes were all fed to u. */
static void set_utf8(hash_out *out, const utf8_state *u)
{
    out->utf8_checked = 1;
    out->utf8_valid = utf8_valid(u);
    out->utf8_bad_at = u->bad ? u->bad_at : u->state ? u->seq_start : u->offset;
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int hash_file_expect(hasher *h, int dirfd, const char *path, int check_utf8,
                         const hash_expect *expect, hash_out *out, dsr_err *err)
{
    memset(out, 0, sizeof *out);
    int fd = open_nofollow(dirfd, path);
    if (fd < 0) {
        out->errnum = errno;
        /* ELOOP: the final component, or a folder on a followed link's
         * path, became a symlink since it was listed */
        out->status = errno == ELOOP ? HASH_NOT_REGULAR : HASH_OPEN_FAILED;
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        out->errnum = errno;
        out->status = HASH_READ_FAILED;
        close(fd);
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        out->status = HASH_NOT_REGULAR;
        close(fd);
        return 0;
    }
    if ((uint64_t)st.st_size > h->max_size) {
        set_stat(out, &st);
        out->size = (uint64_t)st.st_size;
        out->status = HASH_TOO_LARGE;
        close(fd);
        return 0;
    }
    /* fewer blocks than bytes: holes (or a compressing filesystem), read
     * by extents; the check is per attempt, as the file may change */
    int sparse = 0;
    if ((uint64_t)st.st_size >= FADVISE_MIN) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* advisory only */
        sparse = (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size;
    }

    /* Read, then fstat() again: a file written in place during the read
     * would otherwise be hashed as a mix of old and new bytes.  If size,
     * mtime or ctime moved (or the bytes read are not the size), read once
     * more from the start; a second change is reported, never hashed. */
    utf8_state u;
    uint64_t total = 0;
    int rc = 0, changed = 0;
    for (int attempt = 0;; attempt++) {
        set_stat(out, &st);
        out->sha_reused = 0;
        utf8_init(&u);
        rc = hash_content(h, fd, (uint64_t)st.st_size, sparse, check_utf8 ? &u : NULL, expect,
                          out, &total, path, err);
        if (rc)
            break;
        struct stat after;
        if (fstat(fd, &after) != 0) {
            out->errnum = errno;
            rc = 1;
            break;
        }
        if (same_file_state(&st, &after) && total == (uint64_t)after.st_size)
            break;
        if (attempt == 1) {
            changed = 1;
            set_stat(out, &after);
            break;
        }
        st = after;
        if (lseek(fd, 0, SEEK_SET) != 0) {
            out->errnum = errno;
            rc = 1;
            break;
        }
    }
    close(fd);
    if (rc == 1) {
        out->status = HASH_READ_FAILED;
        return 0;
    }
    if (rc)
        return rc;
    if (changed) {
        memset(out->sha256, 0, sizeof out->sha256);
        out->xxh3_high = out->xxh3_low = 0;
        out->sha_reused = 0;
        out->size = total;
        out->status = HASH_CHANGED;
        return 0;
    }
    out->size = total;
    out->status = HASH_OK;
    if (check_utf8)
        set_utf8(out, &u);
    return 0;
}

int hash_file_at(hasher *h, int dirfd, const char *path, int check_utf8,
                     hash_out *out, dsr_err *err)
{
    return hash_file_expect(h, dirfd, path, check_utf8, NULL, out, err);
}

/* ---- batches of small files through io_uring ----------------------------------- */

/* ThreadSanitizer follows descriptors through the open() and close() calls
 * it intercepts; it sees neither the ring's opens nor its closes, and took a
 * number the ring had closed and another worker's open() had reused for a
 * race between the two workers.  Under TSan the batch closes with close(),
 * which it sees, so each descriptor's life ends where TSan can tell. */
#if defined(__SANITIZE_THREAD__)
#define CLOSE_IN_RING 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CLOSE_IN_RING 0
#endif
#endif
#ifndef CLOSE_IN_RING
#define CLOSE_IN_RING 1
#endif

void hasher_set_max_size(hasher *h, uint64_t max_size)
{
    h->max_size = max_size;
}

void hasher_set_xxh3(hasher *h, int on)
{
    h->xxh3 = on != 0;
}

void hasher_batch_off(hasher *h)
{
    if (h->ring_state == 0)
        h->ring_state = -1;
}

void hasher_set_fence_margin(hasher *h, int64_t ns)
{
    h->fence_margin = ns;
    h->backoff = 0;
}

int hash_fs_local(int fd)
{
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0)
        return 0;
    /* file systems that stamp ctime from this machine's clock, to the
     * second or finer; network and FUSE file systems take the server's */
    switch ((unsigned long)fs.f_type) {
    case EXT4_SUPER_MAGIC:      /* also ext2 and ext3 */
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case F2FS_SUPER_MAGIC:
    case OVERLAYFS_SUPER_MAGIC:
        return 1;
    default:
        return 0;
    }
}

static int64_t coarse_now_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_REALTIME_COARSE, &t) != 0)
        return INT64_MIN;   /* trusts nothing: no ctime is older */
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* 1 when st, the state of open file fd after its read in a batch whose
 * fence is at fence_ns, shows it unchanged since before the fence (see the
 * head of this file). */
static int fence_holds(hasher *h, int fd, const struct stat *st, int64_t fence_ns)
{
    int64_t ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    if (fence_ns == INT64_MIN || ctime_ns >= fence_ns - h->fence_margin) {
        h->backoff = FENCE_BACKOFF;
        return 0;
    }
    for (int i = 0; i < h->n_local; i++)
        if (h->local_dev[i] == st->st_dev)
            return 1;
    if (!hash_fs_local(fd)) {
        h->fence_off = 1;
        return 0;
    }
    if (h->n_local < LOCAL_DEVS)
        h->local_dev[h->n_local++] = st->st_dev;
    return 1;
}

static int ring_ready(hasher *h)
{
    if (h->ring_state)
        return h->ring_state > 0;
    h->ring_state = -1;
    /* two operations per file may be queued at once (a close and an open
     * never are: each phase runs before the next is queued) */
    if (!(h->ring = uring_create(HASH_BATCH)))
        return 0;
    /* Anonymous pages: page-aligned, and zero as the kernel hands them out,
     * so they never read as uninitialised to valgrind (which cannot see the
     * kernel fill them through the ring) without being touched here -- a
     * run over a few small files faults in only the slots it uses. */
    void *slots = mmap(NULL, (size_t)HASH_BATCH * SLOT_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        uring_free(h->ring);
        h->ring = NULL;
        return 0;
    }
    h->slots = slots;
    h->ring_noatime = 1;
    h->ring_state = 1;
    return 1;
}

typedef struct batch_state {
    int         fd[HASH_BATCH];
    int         res[HASH_BATCH];
} batch_state;

static void on_done(void *ctx, uint64_t tag, int res)
{
    batch_state *b = ctx;
    if (tag < HASH_BATCH)
        b->res[tag] = res;
}

/* Run the queued phase; on a ring failure, switch the batch path off for
 * good (the files then go the one-file way). */
static int run_phase(hasher *h, batch_state *b)
{
    if (uring_run(h->ring, on_done, b) == 0)
        return 0;
    h->ring_state = -1;
    return -1;
}

/* The fields of a statx(2) that an fstatat(2) of the same file would give,
 * 0; or -1 when the kernel left out one a cache check needs. */
static int stat_of_statx(const struct statx *x, struct stat *st)
{
    const unsigned need = STATX_TYPE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME;
    if ((x->stx_mask & need) != need)
        return -1;
    memset(st, 0, sizeof *st);
    /* st_dev is the kernel's new_encode_dev of the same (major, minor) */
    st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
    st->st_ino = (ino_t)x->stx_ino;
    st->st_mode = x->stx_mode;
    st->st_nlink = x->stx_nlink;
    st->st_size = (off_t)x->stx_size;
    st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
    st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
    st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
    st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
    return 0;
}

int hash_stat_files(hasher *h, const int *dirfd, const char *const *name, size_t n,
                    struct stat *st, int *res)
{
    assert(n <= HASH_BATCH);
    if (!ring_ready(h))
        return -1;
    /* zeroed: valgrind cannot see the kernel fill them through the ring */
    struct statx sx[HASH_BATCH];
    memset(sx, 0, n * sizeof sx[0]);
    batch_state b;
    for (size_t i = 0; i < n; i++) {
        b.res[i] = -EIO;                 /* an operation not reported failed */
        (void)uring_statx(h->ring, dirfd[i], name[i], AT_SYMLINK_NOFOLLOW,
                          STATX_TYPE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME,
                          &sx[i], i);
    }
    if (run_phase(h, &b) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        res[i] = b.res[i] < 0 ? b.res[i] : stat_of_statx(&sx[i], &st[i]) ? -EIO : 0;
    return 0;
}

/* Digests of a whole file held in buf (n bytes) whose stat before and after
 * the read was *st: the fields hash_file_expect fills for it. */
static int digest_slot(hasher *h, const unsigned char *buf, size_t n, int check_utf8,
                       const struct stat *st, hash_out *out, const char *path,
                       dsr_err *err)
{
    memset(out, 0, sizeof *out);
    if (h->xxh3) {
        XXH128_hash_t x = XXH3_128bits(buf, n);
        out->xxh3_high = x.high64;
        out->xxh3_low = x.low64;
    }
    if (EVP_DigestInit_ex2(h->sha, h->md, NULL) != 1 || EVP_DigestUpdate(h->sha, buf, n) != 1)
        return digest_fail(err, path);
    int rc = sha_final(h, out, path, err);
    if (rc)
        return rc;
    set_stat(out, st);
    out->size = n;
    out->status = HASH_OK;
    if (check_utf8) {
        utf8_state u;
        utf8_init(&u);
        utf8_feed(&u, buf, n);
        set_utf8(out, &u);
    }
    return 0;
}

int hash_files(hasher *h, hash_job *jobs, size_t n, dsr_err *err)
{
    if (n > HASH_BATCH)
        return dsr_err_set(err, DSR_EINVAL, "hash batch: %zu files, at most %d", n,
                           HASH_BATCH);
    for (size_t i = 0; i < n; i++)
        jobs[i].done = 0;
    if (!n || !ring_ready(h))
        return 0;
    batch_state b;
    struct stat pre[HASH_BATCH], post[HASH_BATCH];
    struct open_how how[HASH_BATCH];      /* read by the kernel during the run */
    int ok[HASH_BATCH];
    /* as open_nofollow: O_NOATIME until the kernel refuses it (files of
     * another user), then without */
    const int flags = OPEN_FLAGS | (h->ring_noatime ? O_NOATIME : 0);
    /* the fence: before the first open (head of this file) */
    assert(h->backoff <= FENCE_BACKOFF);
    const int fenced = !h->fence_off && !h->backoff && h->max_size >= FENCE_CAP_MIN;
    const int64_t fence = fenced ? coarse_now_ns() : 0;
    if (h->backoff)
        h->backoff--;

    /* 1. open them all.  Any failure (EPERM for O_NOATIME on another user's
     * file, ENOENT, ELOOP, ...) is left to the one-file path, which knows
     * how to retry or report it. */
    for (size_t i = 0; i < n; i++) {
        b.res[i] = -ECANCELED;
        /* as beneath_open: a name of one component below its walked
         * folder needs only O_NOFOLLOW; a longer path goes through
         * openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, and without
         * openat2 it is left to the one-file path's component walk */
        if (!strchr(jobs[i].name, '/')) {
            (void)uring_openat(h->ring, jobs[i].dirfd, jobs[i].name, flags, i);
        } else if (beneath_have_openat2()) {
            beneath_how(&how[i], flags);
            (void)uring_openat2(h->ring, jobs[i].dirfd, jobs[i].name, &how[i], i);
        }
    }
    if (run_phase(h, &b))
        return 0;
    int queued = 0;
    for (size_t i = 0; i < n; i++) {
        b.fd[i] = b.res[i] >= 0 ? b.res[i] : -1;
        if (b.res[i] == -EPERM)
            h->ring_noatime = 0;
        ok[i] = 0;
        if (b.fd[i] < 0)
            continue;
        /* 2. without the fence, the state before the read: a regular file
         * that fits a slot.  With it, the read tells: O_NONBLOCK keeps a
         * FIFO from waiting, and a file that is no longer regular is
         * rejected below before any byte of it counts. */
        if (!fenced && (fstat(b.fd[i], &pre[i]) != 0 || !S_ISREG(pre[i].st_mode)
                        || (uint64_t)pre[i].st_size >= SLOT_SIZE
                        || (uint64_t)pre[i].st_size > h->max_size))
            continue;
        ok[i] = 1;
        b.res[i] = -ECANCELED;
        (void)uring_read(h->ring, b.fd[i], h->slots + i * SLOT_SIZE, SLOT_SIZE, i);
        queued = 1;
    }
    /* 3. read them all (one read: each is shorter than its slot) */
    int failed = queued && run_phase(h, &b);
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        /* 4. the state after: the bytes read are the file as it stood --
         * unchanged since the fence, or since the fstat() before the read */
        ok[i] = !failed && b.res[i] >= 0 && fstat(b.fd[i], &post[i]) == 0
                && S_ISREG(post[i].st_mode) && b.res[i] == post[i].st_size
                && (uint64_t)post[i].st_size < SLOT_SIZE
                && (uint64_t)post[i].st_size <= h->max_size
                && (fenced ? fence_holds(h, b.fd[i], &post[i], fence)
                           : same_file_state(&pre[i], &post[i]));
        /* a full slot: a file of SLOT_SIZE or more, read in part for
         * nothing (the one-file path reads it again); large files come in
         * runs too, so the next batches stat first and skip them unread */
        if (fenced && b.res[i] == (int)SLOT_SIZE)
            h->backoff = FENCE_BACKOFF;
    }
    /* a clock that stepped back during the batch voids the fence */
    if (fenced && coarse_now_ns() < fence)
        memset(ok, 0, sizeof ok);
    /* 5. close them all */
    int closing = 0;
    for (size_t i = 0; i < n; i++)
        if (b.fd[i] >= 0) {
            if (CLOSE_IN_RING && h->ring_state > 0
                && uring_close(h->ring, b.fd[i], HASH_BATCH) == 0)
                closing = 1;
            else
                close(b.fd[i]);
        }
    /* If the ring fails here, the closes it did not run leak their
     * descriptors: closing them again could close a number another thread
     * has been given since.  The ring is not used again. */
    if (closing && uring_run(h->ring, on_done, &b) != 0)
        h->ring_state = -1;
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        int rc = digest_slot(h, h->slots + i * SLOT_SIZE, (size_t)b.res[i], jobs[i].check_utf8,
                             &post[i], jobs[i].out, jobs[i].name, err);
        if (rc)
            return rc;
        jobs[i].done = 1;
    }
    return 0;
}

/* ---- two large files at once (SHA-NI) ------------------------------------ */

int hasher_can_pair(hasher *h)
{
    if (h->pair_state)
        return h->pair_state > 0;
    h->pair_state = -1;
    if (!sha256_ni_available())
        return 0;
    if (posix_memalign((void **)&h->buf2, 4096, BUF_SIZE) != 0) {
        h->buf2 = NULL;
        return 0;
    }
    if (!(h->xxh2 = XXH3_createState()))
        return 0;
    h->pair_state = 1;
    return 1;
}

/* One file of a pair: its descriptor, state before the read and streams. */
typedef struct pair_file {
    hash_job      *job;
    int            fd;
    struct stat    st;
    unsigned char *buf;
    XXH3_state_t  *xxh;
    sha256_ni      sha;
    utf8_state     u;
    uint64_t       pos;         /* bytes read */
    int            eof, failed;
} pair_file;

/* Open and check one file of a pair: 1 when it can be hashed this way (a
 * regular, non-sparse file of at least BUF_SIZE bytes within the cap). */
static int pair_open(hasher *h, pair_file *f)
{
    f->fd = open_nofollow(f->job->dirfd, f->job->name);
    if (f->fd < 0)
        return 0;
    if (fstat(f->fd, &f->st) != 0 || !S_ISREG(f->st.st_mode)
        || (uint64_t)f->st.st_size < BUF_SIZE || (uint64_t)f->st.st_size > h->max_size
        || (uint64_t)f->st.st_blocks * 512 < (uint64_t)f->st.st_size)
        return 0;
    (void)posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);   /* advisory only */
    sha256_ni_init(&f->sha);
    utf8_init(&f->u);
    if (h->xxh3 && XXH3_128bits_reset(f->xxh) != XXH_OK)
        return 0;
    return 1;
}

/* Feed one block of f (n bytes in f->buf) to its XXH3 and UTF-8 check. */
static void pair_side(hasher *h, pair_file *f, size_t n)
{
    if (h->xxh3)
        (void)XXH3_128bits_update(f->xxh, f->buf, n);  /* cannot fail on valid input */
    if (f->job->check_utf8)
        utf8_feed(&f->u, f->buf, n);
}

/* The result of a fully read file of a pair, or undone when it changed. */
static void pair_finish(hasher *h, pair_file *f)
{
    struct stat after;
    if (f->failed || fstat(f->fd, &after) != 0 || !same_file_state(&f->st, &after)
        || f->pos != (uint64_t)after.st_size)
        return;                         /* the one-file path reads it again */
    hash_out *out = f->job->out;
    memset(out, 0, sizeof *out);
    sha256_ni_final(&f->sha, out->sha256);
    if (h->xxh3) {
        XXH128_hash_t x = XXH3_128bits_digest(f->xxh);
        out->xxh3_high = x.high64;
        out->xxh3_low = x.low64;
    }
    set_stat(out, &f->st);
    out->size = f->pos;
    out->status = HASH_OK;
    if (f->job->check_utf8)
        set_utf8(out, &f->u);
    f->job->done = 1;
}

int hash_file_pair(hasher *h, hash_job *a, hash_job *b)
{
    a->done = b->done = 0;
    if (!hasher_can_pair(h))
        return 0;
    pair_file f[2] = { { .job = a, .fd = -1, .buf = h->buf, .xxh = h->xxh },
                       { .job = b, .fd = -1, .buf = h->buf2, .xxh = h->xxh2 } };
    if (pair_open(h, &f[0]) && pair_open(h, &f[1])) {
        /* Both streams advance a block at a time; while both read whole
         * blocks their SHA-256 rounds run interleaved, then the longer
         * file finishes alone. */
        while (!f[0].eof || !f[1].eof) {
            size_t n[2] = { 0, 0 };
            for (int i = 0; i < 2; i++) {
                if (f[i].eof)
                    continue;
                ssize_t r = read_block(f[i].fd, f[i].buf, BUF_SIZE, &f[i].pos,
                                       (uint64_t)f[i].st.st_size);
                if (r < 0) {
                    f[i].failed = f[i].eof = 1;
                    continue;
                }
                n[i] = (size_t)r;
                f[i].eof = n[i] < BUF_SIZE;
            }
            if (n[0] == BUF_SIZE && n[1] == BUF_SIZE) {
                sha256_ni_update2(&f[0].sha, f[0].buf, &f[1].sha, f[1].buf, BUF_SIZE);
            } else {
                for (int i = 0; i < 2; i++)
                    if (n[i])
                        sha256_ni_update(&f[i].sha, f[i].buf, n[i]);
            }
            for (int i = 0; i < 2; i++)
                if (n[i])
                    pair_side(h, &f[i], n[i]);
        }
        pair_finish(h, &f[0]);
        pair_finish(h, &f[1]);
    }
    for (int i = 0; i < 2; i++)
        if (f[i].fd >= 0)
            close(f[i].fd);
    return 0;
}

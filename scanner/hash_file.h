/*
 * hash_file.h - hash one file in one pass: SHA-256 (OpenSSL EVP), XXH3-128
 * and, for text artifacts, UTF-8 validation (private to the scanner).
 *
 * XXH3 can be switched off (hasher_set_xxh3) where nothing compares it.
 * Small files can be hashed in batches (hash_files, io_uring), large ones
 * two at a time (hash_file_pair, SHA-NI).
 * A hasher holds the reusable state of one worker thread (read buffer,
 * digest contexts).  It is not thread-safe: each worker owns its own.
 */
#ifndef DOSSIER_HASH_FILE_H
#define DOSSIER_HASH_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "dossier/error.h"

typedef struct hasher hasher;

/* Outcome of hashing one file (not an error of the scan itself). */
typedef enum hash_status {
    HASH_OK = 0,         /* digests, size and stat tuple are filled */
    HASH_OPEN_FAILED,    /* open() failed; errnum says why (ENOENT: vanished) */
    HASH_NOT_REGULAR,    /* the name no longer refers to a regular file */
    HASH_READ_FAILED,    /* fstat() or read() failed; errnum says why */
    HASH_CHANGED,        /* size, mtime or ctime moved during the read, and
                                again during the one re-read: no digest */
    HASH_TOO_LARGE       /* larger than the hasher's size cap: not read; size
                            and stat tuple are filled */
} hash_status;

typedef struct hash_out {
    hash_status status;
    int             errnum;          /* for OPEN_FAILED / READ_FAILED */
    unsigned char   sha256[32];
    uint64_t        xxh3_high, xxh3_low;
    uint64_t        size;            /* bytes hashed (may differ from st_size if the file changed) */
    uint64_t        dev, ino;        /* stat tuple of the opened file */
    int64_t         mtime_ns, ctime_ns;
    int             utf8_checked;    /* 1 when the UTF-8 check ran */
    int             utf8_valid;      /* result of the check */
    uint64_t        utf8_bad_at;     /* offset where the first invalid (or truncated) sequence starts */
    int             sha_reused;      /* 1: XXH3 matched the expectation, SHA-256 copied from it */
} hash_out;

/* What an incremental cache expects the content to be (same size). */
typedef struct hash_expect {
    uint64_t      xxh3_high, xxh3_low;
    unsigned char sha256[32];
} hash_expect;

/* Create a per-worker hasher.  DSR_ENOMEM / DSR_EIO (digest unavailable). */
hasher *hasher_create(dsr_err *err);
void        hasher_free(hasher *h);      /* NULL is fine */

/* Open path relative to dirfd (never following a final symlink, never
 * blocking on a FIFO), hash its content in one streaming pass and fill out.
 * A file with holes is read by extents (SEEK_DATA), its holes hashed as
 * the zeros they read as.  The file is fstat()ed before and after the read; if its size, mtime or
 * ctime moved (or the bytes read differ from the size), it is read once more,
 * and a second change gives HASH_CHANGED instead of a mixed digest.
 * check_utf8: also validate the bytes as UTF-8.
 * Returns 0 (look at out->status) or a negative DSR_E* code when the digest
 * machinery itself fails (then err says why). */
int hash_file_at(hasher *h, int dirfd, const char *path, int check_utf8,
                     hash_out *out, dsr_err *err);

/* As hash_file_at, but when expect is not NULL the first pass computes
 * XXH3-128 (and the UTF-8 check) only; if the XXH3 equals expect's, the
 * SHA-256 is copied from expect (out->sha_reused = 1).  Otherwise SHA-256 is
 * computed after all: from the buffer for a file that fit in one block, else
 * by a second full pass over the same open file.  expect NULL: one pass with
 * both digests. */
int hash_file_expect(hasher *h, int dirfd, const char *path, int check_utf8,
                         const hash_expect *expect, hash_out *out, dsr_err *err);

/* ---- batches of small files -------------------------------------------- */

/* Most files hash_files takes at once. */
#define HASH_BATCH 16

typedef struct hash_job {
    int           dirfd;        /* in: as for hash_file_at */
    const char   *name;
    int           check_utf8;
    hash_out *out;          /* out: filled when done */
    int           done;         /* out: 1 = out is final; 0 = not attempted or not
                                   finished: hash it with hash_file_expect */
} hash_job;

/* Hash up to HASH_BATCH small files together, their opens, reads and
 * closes queued on the hasher's io_uring (created on first use, by the
 * calling thread, which must be the only one using h).  A job done here is
 * exactly what hash_file_at would have given for a file that did not
 * change (same digests, stat tuple, UTF-8 verdict).  Jobs left undone --
 * every one when io_uring is unavailable or switched off -- must go through
 * hash_file_expect: failures to open or read, files that are not
 * regular, 64 KiB or larger, changed during the read or too recently for
 * one fstat() to tell (hasher_set_fence_margin) are reported or retried
 * there.  Returns 0, or a negative code when the digest machinery
 * fails (err says why). */
int hash_files(hasher *h, hash_job *jobs, size_t n, dsr_err *err);

/* ---- the stat tuples of many files ------------------------------------- */

/* fstatat(dirfd[i], name[i], &st[i], AT_SYMLINK_NOFOLLOW) for up to
 * HASH_BATCH files, queued on the hasher's io_uring (as hash_files: by its
 * only thread) and run with one system call; res[i] is 0 or -errno.
 * Returns 0, or -1 when no ring is available (none was run: the caller
 * stats the files itself). */
int hash_stat_files(hasher *h, const int *dirfd, const char *const *name, size_t n,
                    struct stat *st, int *res);

/* ---- two large files at once ------------------------------------------- */

/* 1 when this hasher can hash two files at once (the CPU has SHA-NI); the
 * first call sets up a second buffer.  Call from the hasher's thread. */
int hasher_can_pair(hasher *h);

/* Hash the files of jobs a and b together, their SHA-256 rounds interleaved
 * on this core (sha256_ni.h).  A job done here is exactly what
 * hash_file_expect(..., NULL, ...) gives for a file that did not change;
 * jobs left undone -- both, when the hasher cannot pair, when either is not
 * a regular, non-sparse file of at least 256 KiB within the size cap, or
 * fails to open -- and a file that fails to read or changed during the
 * read, must go through hash_file_expect.  Returns 0. */
int hash_file_pair(hasher *h, hash_job *a, hash_job *b);

/* Files larger than max_size bytes get HASH_TOO_LARGE (default: no cap). */
void hasher_set_max_size(hasher *h, uint64_t max_size);

/* on = 0: compute no XXH3-128 (out->xxh3_high/low stay 0), only SHA-256 --
 * for callers that keep no cache, whose XXH3 would never be compared.
 * hash_file_expect then needs expect == NULL.  Default: on. */
void hasher_set_xxh3(hasher *h, int on);

/* Never use io_uring in this hasher: hash_files leaves every job undone.
 * Call before the first hash_files. */
void hasher_batch_off(hasher *h);

/* hash_files trusts one fstat() after the read of a file whose ctime is
 * more than ns nanoseconds older than the batch's start (hash_file.c: the
 * fence; default two seconds), and stats before reading for a few batches
 * after one that found a newer file; setting the margin ends those.  Tests
 * move it to make fresh files old or old files fresh. */
void hasher_set_fence_margin(hasher *h, int64_t ns);

/* 1 when fd's file system stamps ctime from this machine's clock to the
 * second or finer (ext2/3/4, XFS, Btrfs, tmpfs, ramfs, F2FS, overlayfs). */
int hash_fs_local(int fd);

#endif

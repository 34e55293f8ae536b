/*
 * uring.c - the scanner's small io_uring (see uring.h), on liburing.
 *
 * Why a ring at all: a system call's entry and exit cost several times the
 * work inside an open(), read() or close() of a small cached file, so the
 * hasher queues those operations for a batch of files and runs them with
 * one io_uring_enter (docs/bench.md, "io_uring batches").  The cache
 * checks of a rescan queue their stats the same way: IORING_OP_STATX always
 * runs on the kernel's io-wq threads, which spares the system call's entry
 * and exit per file but adds a hand-off per batch, so it pays only for a
 * batch of files, not for one (docs/bench.md, "io_uring stat batches").
 *
 * liburing owns the ring's memory mapping and its memory ordering; this
 * file only counts what was queued, so that uring_run knows how many
 * completions to wait for.
 */
#include "uring.h"

#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

struct uring {
    struct io_uring ring;
    unsigned        entries;   /* SQ size the kernel granted */
    unsigned        queued;    /* operations of the current run; <= entries */
};

uring *uring_create(unsigned entries)
{
    uring *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    struct io_uring_params p = { 0 };
    /* Completions are only ever reaped by the thread that submits, so the
     * kernel need not interrupt it to run task work (5.19+); older kernels
     * refuse the flag, and the ring is made without it. */
    p.flags = IORING_SETUP_COOP_TASKRUN;
    int rc = io_uring_queue_init_params(entries, &r->ring, &p);
    if (rc == -EINVAL) {
        struct io_uring_params plain = { 0 };
        rc = io_uring_queue_init_params(entries, &r->ring, &plain);
    }
    if (rc < 0) {
        free(r);
        errno = -rc;
        return NULL;
    }
    r->entries = r->ring.sq.ring_entries;
    assert(r->entries >= entries);
    return r;
}

void uring_free(uring *r)
{
    if (!r)
        return;
    io_uring_queue_exit(&r->ring);
    free(r);
}

/* The next free SQE, or NULL when `entries` are queued. */
static struct io_uring_sqe *next_sqe(uring *r)
{
    if (r->queued == r->entries)
        return NULL;
    struct io_uring_sqe *s = io_uring_get_sqe(&r->ring);
    /* every queued SQE is submitted by uring_run before the next run
     * queues: the SQ has room exactly when queued < entries */
    assert(s != NULL);
    if (s)
        r->queued++;
    return s;
}

int uring_openat(uring *r, int dirfd, const char *name, int flags, uint64_t tag)
{
    struct io_uring_sqe *s = next_sqe(r);
    if (!s)
        return -1;
    io_uring_prep_openat(s, dirfd, name, flags, 0);
    io_uring_sqe_set_data64(s, tag);
    return 0;
}

int uring_openat2(uring *r, int dirfd, const char *name, struct open_how *how, uint64_t tag)
{
    struct io_uring_sqe *s = next_sqe(r);
    if (!s)
        return -1;
    io_uring_prep_openat2(s, dirfd, name, how);
    io_uring_sqe_set_data64(s, tag);
    return 0;
}

int uring_read(uring *r, int fd, void *buf, unsigned len, uint64_t tag)
{
    struct io_uring_sqe *s = next_sqe(r);
    if (!s)
        return -1;
    io_uring_prep_read(s, fd, buf, len, 0);    /* pread at offset 0 */
    io_uring_sqe_set_data64(s, tag);
    return 0;
}

int uring_close(uring *r, int fd, uint64_t tag)
{
    struct io_uring_sqe *s = next_sqe(r);
    if (!s)
        return -1;
    io_uring_prep_close(s, fd);
    io_uring_sqe_set_data64(s, tag);
    return 0;
}

int uring_statx(uring *r, int dirfd, const char *name, int flags, unsigned mask,
                struct statx *buf, uint64_t tag)
{
    struct io_uring_sqe *s = next_sqe(r);
    if (!s)
        return -1;
    io_uring_prep_statx(s, dirfd, name, flags, mask, buf);
    io_uring_sqe_set_data64(s, tag);
    return 0;
}

/* Report every completion the kernel has posted; returns how many. */
static unsigned reap(uring *r, void (*done)(void *, uint64_t, int), void *ctx)
{
    struct io_uring_cqe *c;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&r->ring, head, c) {
        done(ctx, io_uring_cqe_get_data64(c), c->res);
        n++;
    }
    io_uring_cq_advance(&r->ring, n);
    return n;
}

int uring_run(uring *r, void (*done)(void *ctx, uint64_t tag, int res), void *ctx)
{
    unsigned completed = 0, queued = r->queued;
    int rc = 0;
    assert(queued <= r->entries);
    while (completed < queued) {
        /* submits whatever is still queued (liburing keeps count across a
         * retry) and waits for the rest in the same io_uring_enter */
        int n = io_uring_submit_and_wait(&r->ring, queued - completed);
        if (n < 0 && n != -EINTR && n != -EAGAIN && n != -EBUSY) {
            rc = n;
            break;
        }
        completed += reap(r, done, ctx);
        /* the CQ is larger than the SQ: no completion is ever dropped */
        assert(completed <= queued);
    }
    r->queued = 0;
    return rc;
}

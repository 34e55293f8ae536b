/*
 * uring.h - the smallest io_uring the scanner needs: open, read, close and
 * statx queued in batches and run with one system call (private to the scanner;
 * a thin layer over liburing).
 *
 * A uring belongs to one thread: the one that created it queues, runs
 * and frees it.  Completions are reported by tag in the order the kernel
 * finishes them, which need not be the order of queueing.
 */
#ifndef DOSSIER_URING_H
#define DOSSIER_URING_H

#include <stdint.h>

struct open_how;               /* <linux/openat2.h> */
struct statx;                  /* <sys/stat.h> */
typedef struct uring uring;

/* A ring with room for `entries` queued operations, or NULL when the kernel
 * offers none (ENOSYS before Linux 5.6, EPERM under a seccomp filter or
 * kernel.io_uring_disabled, out of memory): callers then use plain system
 * calls.  errno is left as the kernel set it. */
uring *uring_create(unsigned entries);
void       uring_free(uring *r);              /* NULL is fine */

/* Queue one operation; 0, or -1 when `entries` are already queued.  The
 * name and buffer must stay valid until uring_run returns. */
int uring_openat(uring *r, int dirfd, const char *name, int flags, uint64_t tag);
/* openat2(2) (Linux 5.6+): `how` must stay valid until uring_run returns. */
int uring_openat2(uring *r, int dirfd, const char *name, struct open_how *how, uint64_t tag);
int uring_read(uring *r, int fd, void *buf, unsigned len, uint64_t tag);
int uring_close(uring *r, int fd, uint64_t tag);
/* statx(2) of (dirfd, name): `buf` must stay valid until uring_run returns. */
int uring_statx(uring *r, int dirfd, const char *name, int flags, unsigned mask,
                struct statx *buf, uint64_t tag);

/* Submit everything queued and wait until all of it has completed, calling
 * done(ctx, tag, res) once per operation, res being what the system call
 * would have returned, or -errno.  0, or -errno when io_uring_enter itself
 * failed: then operations may have run without being reported (an opened
 * file's descriptor is unknown) -- the ring should not be used again. */
int uring_run(uring *r, void (*done)(void *ctx, uint64_t tag, int res), void *ctx);

#endif

/*
 * scan_pool.h - a fixed-size pthreads worker pool with a bounded job queue
 * (private to the library; modelled on zstd's lib/common/pool.h).
 *
 * Jobs receive the index of the worker running them, so a caller can keep
 * one context per worker (hash buffers, digest contexts) that is touched by
 * exactly one thread and needs no locking.
 */
#ifndef DOSSIER_SCAN_POOL_H
#define DOSSIER_SCAN_POOL_H

#include <stddef.h>
#include "dossier/error.h"

typedef struct dsr_pool dsr_pool;   /* opaque */

/* A job: arg is the caller's, worker is in [0, threads). */
typedef void (*dsr_job_fn)(void *arg, size_t worker);

/* Start `threads` workers (>= 1) and a queue holding up to `queue` pending
 * jobs (>= 1).  Returns NULL and fills err (DSR_EINVAL, DSR_ENOMEM, DSR_EIO
 * when a thread cannot be started). */
dsr_pool *dsr_pool_create(size_t threads, size_t queue, dsr_err *err);

/* Queue a job; blocks while the queue is full.  Call from one producer
 * thread at a time or several - the queue is locked.  Returns 0, or DSR_EINVAL
 * after dsr_pool_free started. */
int  dsr_pool_add(dsr_pool *p, dsr_job_fn fn, void *arg);

/* Wait until every job added so far has finished.  Everything the jobs wrote
 * is visible to the caller afterwards (the wait synchronises on the pool's
 * mutex).  The pool stays usable. */
void dsr_pool_join(dsr_pool *p);

size_t dsr_pool_threads(const dsr_pool *p);

/* Finish queued jobs, stop and join the workers, free everything.  NULL is fine. */
void dsr_pool_free(dsr_pool *p);

#endif

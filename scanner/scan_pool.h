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

typedef struct scan_pool scan_pool;   /* opaque */

/* A job: arg is the caller's, worker is in [0, threads). */
typedef void (*scan_pool_job_fn)(void *arg, size_t worker);

/* Start `threads` workers (>= 1) and a queue holding up to `queue` pending
 * jobs (>= 1).  Returns NULL and fills err (DSR_EINVAL, DSR_ENOMEM, DSR_EIO
 * when a thread cannot be started). */
scan_pool *scan_pool_create(size_t threads, size_t queue, dsr_err *err);

/* Queue a job; blocks while the queue is full.  Call from one producer
 * thread at a time or several - the queue is locked.  Returns 0, or DSR_EINVAL
 * after scan_pool_free started. */
int  scan_pool_add(scan_pool *p, scan_pool_job_fn fn, void *arg);

/* Wait until every job added so far has finished.  Everything the jobs wrote
 * is visible to the caller afterwards (the wait synchronises on the pool's
 * mutex).  The pool stays usable. */
void scan_pool_join(scan_pool *p);

/* How many jobs have returned so far (a count that only grows). */
size_t scan_pool_finished(scan_pool *p);

/* Wait until a job returns after scan_pool_finished() gave `seen`, or
 * return at once when it already has.  What the job wrote before it
 * returned is visible to the caller afterwards.  For a caller that takes the
 * results of jobs as they come, in its own order: read `seen`, look at the
 * result wanted, and wait only if it is not there yet.  Returns 0, or 1
 * when nothing is queued or running and no job returned since `seen` (the
 * result waited for will not come). */
int  scan_pool_wait_finished(scan_pool *p, size_t seen);

size_t scan_pool_threads(const scan_pool *p);

/* Finish queued jobs, stop and join the workers, free everything.  NULL is fine. */
void scan_pool_free(scan_pool *p);

#endif

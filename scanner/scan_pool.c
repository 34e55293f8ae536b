/*
 * scan_pool.c - worker pool with a bounded ring-buffer queue (see scan_pool.h).
 *
 * Invariants (all under p->mu; checked by POOL_INVARIANTS):
 *   - the ring holds `count` jobs starting at `head`; count <= cap
 *   - `active` is the number of jobs taken from the ring and still running;
 *     active <= threads, and each job runs with a worker index < threads
 *   - join returns when count == 0 && active == 0
 *   - `finished` counts the jobs that have returned; it only grows
 * Producers wait on `not_full`, workers on `not_empty`, joiners on `idle`,
 * callers of scan_pool_wait_finished on `progress`.
 * Shutdown sets `stopping`; workers drain the ring before they exit, so no
 * queued job is ever dropped.
 */
#include "scan_pool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    scan_pool_job_fn fn;
    void      *arg;
} job;

typedef struct worker {
    struct scan_pool *pool;
    size_t           index;
    pthread_t        tid;
} worker;

/* The ring's invariants; p->mu held. */
#define POOL_INVARIANTS(p)                                                   \
    do {                                                                     \
        assert((p)->count <= (p)->cap);                                      \
        assert((p)->head < (p)->cap);                                        \
        assert((p)->active <= (p)->size);                                    \
    } while (0)

struct scan_pool {
    pthread_mutex_t mu;
    pthread_cond_t  not_empty, not_full, idle, progress;
    job            *ring;
    size_t          cap, head, count, active;
    size_t          finished;
    int             stopping;
    worker         *workers;
    size_t          n_workers;      /* threads actually started */
    size_t          size;           /* threads asked for; set before any starts */
};

static void *worker_main(void *opaque)
{
    worker *w = opaque;
    scan_pool *p = w->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->not_empty, &p->mu);
        POOL_INVARIANTS(p);
        if (p->count == 0)          /* stopping and drained */
            break;
        job j = p->ring[p->head];
        assert(j.fn != NULL);
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->active++;
        pthread_cond_signal(&p->not_full);
        pthread_mutex_unlock(&p->mu);

        assert(w->index < p->size);       /* the job's worker index is in [0, threads) */
        j.fn(j.arg, w->index);

        pthread_mutex_lock(&p->mu);
        assert(p->active > 0);
        p->active--;
        p->finished++;
        pthread_cond_broadcast(&p->progress);
        POOL_INVARIANTS(p);
        if (p->count == 0 && p->active == 0)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void stop_workers(scan_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->not_empty);
    pthread_cond_broadcast(&p->not_full);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_workers; i++)
        pthread_join(p->workers[i].tid, NULL);
    p->n_workers = 0;
}

scan_pool *scan_pool_create(size_t threads, size_t queue, dsr_err *err)
{
    if (threads == 0 || queue == 0) {
        dsr_err_set(err, DSR_EINVAL, "worker pool: threads and queue size must be >= 1");
        return NULL;
    }
    scan_pool *p = calloc(1, sizeof *p);
    if (!p) {
        dsr_err_set(err, DSR_ENOMEM, "worker pool: out of memory");
        return NULL;
    }
    p->ring = calloc(queue, sizeof *p->ring);
    p->workers = calloc(threads, sizeof *p->workers);
    if (!p->ring || !p->workers) {
        free(p->ring);
        free(p->workers);
        free(p);
        dsr_err_set(err, DSR_ENOMEM, "worker pool: out of memory");
        return NULL;
    }
    p->cap = queue;
    p->size = threads;
    int rc = pthread_mutex_init(&p->mu, NULL);
    if (rc == 0 && (rc = pthread_cond_init(&p->not_empty, NULL)) != 0)
        pthread_mutex_destroy(&p->mu);
    if (rc == 0 && (rc = pthread_cond_init(&p->not_full, NULL)) != 0) {
        pthread_cond_destroy(&p->not_empty);
        pthread_mutex_destroy(&p->mu);
    }
    if (rc == 0 && (rc = pthread_cond_init(&p->idle, NULL)) != 0) {
        pthread_cond_destroy(&p->not_full);
        pthread_cond_destroy(&p->not_empty);
        pthread_mutex_destroy(&p->mu);
    }
    if (rc == 0 && (rc = pthread_cond_init(&p->progress, NULL)) != 0) {
        pthread_cond_destroy(&p->idle);
        pthread_cond_destroy(&p->not_full);
        pthread_cond_destroy(&p->not_empty);
        pthread_mutex_destroy(&p->mu);
    }
    if (rc != 0) {
        free(p->ring);
        free(p->workers);
        free(p);
        dsr_err_errno(err, DSR_EIO, rc, "worker pool: cannot initialise locks");
        return NULL;
    }
    for (size_t i = 0; i < threads; i++) {
        p->workers[i].pool = p;
        p->workers[i].index = i;
        rc = pthread_create(&p->workers[i].tid, NULL, worker_main, &p->workers[i]);
        if (rc != 0) {
            dsr_err_errno(err, DSR_EIO, rc, "worker pool: cannot start thread %zu of %zu",
                          i + 1, threads);
            scan_pool_free(p);
            return NULL;
        }
        p->n_workers++;
    }
    return p;
}

int scan_pool_add(scan_pool *p, scan_pool_job_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    while (p->count == p->cap && !p->stopping)
        pthread_cond_wait(&p->not_full, &p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return DSR_EINVAL;
    }
    assert(fn != NULL);
    POOL_INVARIANTS(p);
    assert(p->count < p->cap);
    p->ring[(p->head + p->count) % p->cap] = (job){ fn, arg };
    p->count++;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void scan_pool_join(scan_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->count != 0 || p->active != 0)
        pthread_cond_wait(&p->idle, &p->mu);
    /* join's promise: nothing queued, nothing running */
    assert(p->count == 0 && p->active == 0);
    pthread_mutex_unlock(&p->mu);
}

size_t scan_pool_finished(scan_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->finished;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int scan_pool_wait_finished(scan_pool *p, size_t seen)
{
    pthread_mutex_lock(&p->mu);
    /* a job returns after its last write: the mutex orders that write
     * before the caller's next look */
    while (p->finished == seen && (p->count != 0 || p->active != 0))
        pthread_cond_wait(&p->progress, &p->mu);
    int idle = p->finished == seen;
    pthread_mutex_unlock(&p->mu);
    return idle;
}

size_t scan_pool_threads(const scan_pool *p)
{
    return p->n_workers;
}

void scan_pool_free(scan_pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    pthread_cond_destroy(&p->progress);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->mu);
    free(p->ring);
    free(p->workers);
    free(p);
}

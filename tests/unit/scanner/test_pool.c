/*
 * test_pool.c - the worker pool: every job runs exactly once even when the
 * bounded queue forces producers to block, join waits for running jobs and
 * the pool is reusable after it, worker indexes are private to one thread
 * (ThreadSanitizer runs this file and would flag a shared index), and free
 * drains jobs still queued.  Several producers may add concurrently.
 *
 * LABELS: tsan (runs in the ThreadSanitizer suite too)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scan_pool.h"

#define N_JOBS 20000
#define THREADS 8

typedef struct shared {
    atomic_int  runs[N_JOBS];
    size_t      per_worker[THREADS];   /* written without locks: worker i only */
    atomic_int  bad_worker;
} shared;

typedef struct job_arg {
    shared *s;
    size_t  i;
} job_arg;

static void count_job(void *arg, size_t worker)
{
    job_arg *a = arg;
    if (worker >= THREADS) {
        atomic_store(&a->s->bad_worker, 1);
        return;
    }
    atomic_fetch_add(&a->s->runs[a->i], 1);
    a->s->per_worker[worker]++;
}

static void test_every_job_runs_exactly_once_with_a_tiny_queue(void **state)
{
    (void)state;
    shared *s = calloc(1, sizeof *s);
    job_arg *args = calloc(N_JOBS, sizeof *args);
    assert_non_null(s);
    assert_non_null(args);
    dsr_err err;
    scan_pool *p = scan_pool_create(THREADS, 2, &err);   /* producers block often */
    assert_non_null(p);
    assert_int_equal(scan_pool_threads(p), THREADS);
    for (size_t i = 0; i < N_JOBS; i++) {
        args[i] = (job_arg){ s, i };
        assert_int_equal(scan_pool_add(p, count_job, &args[i]), 0);
    }
    scan_pool_join(p);
    size_t total = 0;
    for (size_t i = 0; i < N_JOBS; i++)
        assert_int_equal(atomic_load(&s->runs[i]), 1);
    for (size_t w = 0; w < THREADS; w++)
        total += s->per_worker[w];                        /* read after join: visible */
    assert_int_equal(total, N_JOBS);
    assert_int_equal(atomic_load(&s->bad_worker), 0);
    scan_pool_free(p);
    free(args);
    free(s);
}

typedef struct slow {
    atomic_int done;
} slow;

static void slow_job(void *arg, size_t worker)
{
    (void)worker;
    struct timespec ts = { 0, 2000000 };   /* 2 ms */
    nanosleep(&ts, NULL);
    atomic_fetch_add(&((slow *)arg)->done, 1);
}

static void test_join_waits_for_running_jobs_and_pool_is_reusable(void **state)
{
    (void)state;
    slow s = { 0 };
    scan_pool *p = scan_pool_create(3, 64, NULL);
    assert_non_null(p);
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < 20; i++)
            assert_int_equal(scan_pool_add(p, slow_job, &s), 0);
        scan_pool_join(p);
        assert_int_equal(atomic_load(&s.done), 20 * round);
    }
    scan_pool_join(p);                       /* nothing queued: returns at once */
    scan_pool_free(p);
}

static void test_free_drains_jobs_still_queued(void **state)
{
    (void)state;
    slow s = { 0 };
    scan_pool *p = scan_pool_create(1, 16, NULL);
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        assert_int_equal(scan_pool_add(p, slow_job, &s), 0);
    scan_pool_free(p);                       /* no join: free must still run all 10 */
    assert_int_equal(atomic_load(&s.done), 10);
}

typedef struct producer {
    scan_pool *p;
    shared   *s;
    job_arg  *args;
    size_t    from, to;
} producer;

static void *produce(void *opaque)
{
    producer *pr = opaque;
    for (size_t i = pr->from; i < pr->to; i++) {
        pr->args[i] = (job_arg){ pr->s, i };
        if (scan_pool_add(pr->p, count_job, &pr->args[i]) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent_producers_lose_no_job(void **state)
{
    (void)state;
    shared *s = calloc(1, sizeof *s);
    job_arg *args = calloc(N_JOBS, sizeof *args);
    assert_non_null(s);
    assert_non_null(args);
    scan_pool *p = scan_pool_create(4, 8, NULL);
    assert_non_null(p);
    pthread_t t[4];
    producer pr[4];
    for (int i = 0; i < 4; i++) {
        pr[i] = (producer){ p, s, args, (size_t)i * N_JOBS / 4, (size_t)(i + 1) * N_JOBS / 4 };
        assert_int_equal(pthread_create(&t[i], NULL, produce, &pr[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    scan_pool_join(p);
    for (size_t i = 0; i < N_JOBS; i++)
        assert_int_equal(atomic_load(&s->runs[i]), 1);
    scan_pool_free(p);
    free(args);
    free(s);
}

static void test_invalid_sizes_are_refused(void **state)
{
    (void)state;
    dsr_err err;
    dsr_err_clear(&err);
    assert_null(scan_pool_create(0, 4, &err));
    assert_int_equal(err.code, DSR_EINVAL);
    dsr_err_clear(&err);
    assert_null(scan_pool_create(2, 0, &err));
    assert_int_equal(err.code, DSR_EINVAL);
    scan_pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_job_runs_exactly_once_with_a_tiny_queue),
        cmocka_unit_test(test_join_waits_for_running_jobs_and_pool_is_reusable),
        cmocka_unit_test(test_free_drains_jobs_still_queued),
        cmocka_unit_test(test_concurrent_producers_lose_no_job),
        cmocka_unit_test(test_invalid_sizes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * scan_progress.c - the stderr progress line of index/scan (see
 * scan_progress.h).  The drawing thread owns the terminal line; the scan's
 * threads only bump relaxed atomic counters, so progress costs the hot path
 * three atomic adds per file and nothing else.  The line is erased before
 * the command prints anything else (cli_progress_stop joins the thread).
 */
#include "scan_progress.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_MS 250

struct cli_progress {
    dsr_scan_progress *p;
    pthread_t          th;
    pthread_mutex_t    mu;
    pthread_cond_t     cv;     /* signalled by stop */
    int                stop;
    struct timespec    t0;     /* CLOCK_MONOTONIC at start */
};

static double since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void human_bytes(double b, char *out, size_t n)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static void draw(cli_progress *pr)
{
    uint64_t listed = __atomic_load_n(&pr->p->files_listed, __ATOMIC_RELAXED);
    uint64_t done = __atomic_load_n(&pr->p->files_done, __ATOMIC_RELAXED);
    uint64_t bytes = __atomic_load_n(&pr->p->bytes_done, __ATOMIC_RELAXED);
    int all_listed = __atomic_load_n(&pr->p->listing_done, __ATOMIC_RELAXED);
    double t = since(&pr->t0);
    char b[32], rate[32], eta[32] = "listing...";
    human_bytes((double)bytes, b, sizeof b);
    human_bytes(t > 0 ? (double)bytes / t : 0, rate, sizeof rate);
    if (all_listed && done > 0 && t > 0) {
        /* files are what is left to do: the walk does not stat, so the
         * byte total is unknown until every file is hashed */
        double left = (double)(listed - done) / ((double)done / t);
        unsigned s = (unsigned)(left + 0.5);
        snprintf(eta, sizeof eta, "ETA %u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    }
    fprintf(stderr, "\r\033[K%llu/%llu%s files  %s  %s/s  %.0f files/s  %s",
            (unsigned long long)done, (unsigned long long)listed, all_listed ? "" : "+", b,
            rate, t > 0 ? (double)done / t : 0.0, eta);
    fflush(stderr);
}

static void *run(void *arg)
{
    cli_progress *pr = arg;
    pthread_mutex_lock(&pr->mu);
    while (!pr->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REDRAW_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&pr->cv, &pr->mu, &until);
        if (rc == ETIMEDOUT && !pr->stop)
            draw(pr);
    }
    pthread_mutex_unlock(&pr->mu);
    return NULL;
}

cli_progress *cli_progress_start(dsr_scan_progress *p, int enabled)
{
    if (!enabled || !isatty(STDERR_FILENO))
        return NULL;
    cli_progress *pr = calloc(1, sizeof *pr);
    if (!pr)
        return NULL;
    pr->p = p;
    clock_gettime(CLOCK_MONOTONIC, &pr->t0);
    if (pthread_mutex_init(&pr->mu, NULL) != 0) {
        free(pr);
        return NULL;
    }
    if (pthread_cond_init(&pr->cv, NULL) != 0) {
        pthread_mutex_destroy(&pr->mu);
        free(pr);
        return NULL;
    }
    if (pthread_create(&pr->th, NULL, run, pr) != 0) {
        pthread_cond_destroy(&pr->cv);
        pthread_mutex_destroy(&pr->mu);
        free(pr);
        return NULL;
    }
    return pr;
}

void cli_progress_stop(cli_progress *pr)
{
    if (!pr)
        return;
    pthread_mutex_lock(&pr->mu);
    pr->stop = 1;
    pthread_cond_signal(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    pthread_join(pr->th, NULL);
    fputs("\r\033[K", stderr);
    fflush(stderr);
    pthread_cond_destroy(&pr->cv);
    pthread_mutex_destroy(&pr->mu);
    free(pr);
}

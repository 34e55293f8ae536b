/*
 * log_commit.c - committing write batches: the synchronous commit, and the
 * background commit that lets a writer build its next batch while the
 * previous one is written and fsynced.
 *
 * Durability is the same either way: every batch is one rocksdb_write with
 * sync = true (one checksummed WAL record, fsynced before the write returns),
 * so after a crash a batch is there whole or not at all.  What a crash leaves:
 *   - before the write call: nothing of the batch (it only lived in memory);
 *   - during the WAL append/fsync: a torn or missing last record, which
 *     recovery (point-in-time mode) drops whole -- none of the batch;
 *   - after the fsync: the whole batch, replayed from the WAL on next open.
 *
 * Background commits (dsr_log_batch_commit_async): at most one batch is in
 * flight.  Handing over a batch first waits for the previous one, so batches
 * still reach the WAL one after the other, in the order they were built, and
 * a batch that follows another is never durable without it.  The batch built
 * meanwhile takes its numbers (sequence, lamport, largest id) from the one in
 * flight; if that one fails, the failure is kept and returned by the next
 * batch call, which discards the batch built on top of it.
 *
 * Thread ownership: the committer thread touches only its own struct (under
 * its mutex), the RocksDB handle and the WriteBatch it was handed, which the
 * owner leaves alone until it has collected the result (log_commit_drain).
 * Everything else in the log stays with the owning thread: the counters are
 * folded in by the owner when it collects.
 */
#include "log.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct log_committer {
    pthread_t             thread;
    pthread_mutex_t       mu;
    pthread_cond_t        cv;
    rocksdb_t            *db;
    const rocksdb_writeoptions_t *wopts;
    rocksdb_writebatch_t *job;      /* handed over, not yet written */
    int                   busy;     /* a job is handed over and not finished */
    char                 *rdb_err;  /* RocksDB's message for the finished job */
    int                   stop;
};

/* ---- the committer thread ---------------------------------------------------- */

static void *committer_main(void *arg)
{
    log_committer *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->job && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (!k->job)
            break;
        rocksdb_writebatch_t *wb = k->job;
        pthread_mutex_unlock(&k->mu);
        char *e = NULL;
        rocksdb_write(k->db, k->wopts, wb, &e);
        pthread_mutex_lock(&k->mu);
        k->rdb_err = e;
        k->job = NULL;
        k->busy = 0;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

static log_committer *committer_start(dsr_log *log)
{
    log_committer *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->db = log->db;
    k->wopts = log->wopts;
    if (pthread_mutex_init(&k->mu, NULL) != 0) {
        free(k);
        return NULL;
    }
    if (pthread_cond_init(&k->cv, NULL) != 0) {
        pthread_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
    if (pthread_create(&k->thread, NULL, committer_main, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
#ifdef __GLIBC__
    (void)pthread_setname_np(k->thread, "dossier:commit");
#endif
    return k;
}

static void committer_submit(log_committer *k, rocksdb_writebatch_t *wb)
{
    pthread_mutex_lock(&k->mu);
    k->job = wb;
    k->busy = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

/* Wait for the job handed over; RocksDB's error message (or NULL). */
static char *committer_wait(log_committer *k)
{
    pthread_mutex_lock(&k->mu);
    while (k->busy)
        pthread_cond_wait(&k->cv, &k->mu);
    char *e = k->rdb_err;
    k->rdb_err = NULL;
    pthread_mutex_unlock(&k->mu);
    return e;
}

void log_commit_stop(dsr_log *log)
{
    log_committer *k = log->committer;
    if (!k)
        return;
    log_commit_drain(log);
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
    log->committer = NULL;
}

/* ---- the owner's side ---------------------------------------------------------- */

/* Put the counters into the batch they count.  0 when there is nothing to
 * write at all (the batch is ended), else 1. */
static int seal(dsr_log_batch *b)
{
    dsr_log *log = b->log;
    int changed = b->lamport != log->lamport || b->next_seq != log->next_seq;
    if (!changed && rocksdb_writebatch_count(b->wb) == 0) {
        log_batch_end(b);
        return 0;
    }
    if (changed) {
        unsigned char v[8];
        be_put64(v, b->lamport);
        rocksdb_writebatch_put_cf(b->wb, log->cf_meta, LOG_META_LAMPORT,
                                  strlen(LOG_META_LAMPORT), (const char *)v, 8);
        be_put64(v, b->next_seq);
        rocksdb_writebatch_put_cf(b->wb, log->cf_meta, LOG_META_NEXT_SEQ,
                                  strlen(LOG_META_NEXT_SEQ), (const char *)v, 8);
    }
    return 1;
}

/* The write of b finished (e: RocksDB's error or NULL): fold it into the log
 * and end b.  RocksDB applies a batch whole or not at all, so on failure the
 * counters stay where they were and the numbers of the batch are reused. */
static int settle(dsr_log_batch *b, char *e, dsr_err *err)
{
    dsr_log *log = b->log;
    /* The batch continues the log where the last settled one left it, and
     * its sequences are dense; meta now holds b's counters (seal). */
    assert(b->first_seq == log->next_seq);
    assert(b->next_seq == b->first_seq + b->n_events);
    int rc = 0;
    if (e) {
        rc = log_rdb_fail(err, e, "%s: cannot commit %zu events", log->dir, b->n_events);
    } else {
        log->next_seq = b->next_seq;
        log->lamport = b->lamport;
        if (b->n_events)
            log_hwm_commit(log, b->first_seq - 1, b->next_seq - 1);
        memcpy(log->max_id, b->max_id, DSR_ULID_LEN);
        log->has_max_id = b->has_max_id;
    }
    log_batch_end(b);
    return rc;
}

void log_commit_drain(dsr_log *log)
{
    dsr_log_batch *b = log->inflight;
    if (!b)
        return;
    log->inflight = NULL;
    char *e = committer_wait(log->committer);
    dsr_err fail;
    dsr_err_clear(&fail);
    if (settle(b, e, &fail) && !log->commit_err.code)
        log->commit_err = fail;
}

int log_commit_result(dsr_log *log, dsr_err *err)
{
    log_commit_drain(log);
    int rc = log->commit_err.code;
    if (!rc)
        return 0;
    if (err)
        *err = log->commit_err;
    dsr_err_clear(&log->commit_err);
    return rc;
}

int dsr_log_commit_wait(dsr_log *log, dsr_err *err)
{
    if (!log)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_commit_wait: NULL log");
    return log_commit_result(log, err);
}

int dsr_log_batch_commit(dsr_log_batch *b, dsr_err *err)
{
    if (!b || !b->active)
        return dsr_err_set(err, DSR_EINVAL, "commit: no open batch");
    dsr_log *log = b->log;
    int rc = log_commit_result(log, err);
    if (rc) {
        log_batch_end(b);   /* it was built on the batch that failed */
        return rc;
    }
    if (!seal(b))
        return 0;
    /* The one durable point: WAL append + fsync (wopts has sync = true). */
    char *e = NULL;
    rocksdb_write(log->db, log->wopts, b->wb, &e);
    return settle(b, e, err);
}

int dsr_log_batch_commit_async(dsr_log_batch *b, dsr_err *err)
{
    if (!b || !b->active)
        return dsr_err_set(err, DSR_EINVAL, "commit: no open batch");
    dsr_log *log = b->log;
    int rc = log_commit_result(log, err);
    if (rc) {
        log_batch_end(b);
        return rc;
    }
    if (!log->committer && !(log->committer = committer_start(log)))
        return dsr_log_batch_commit(b, err);   /* no thread: commit here */
    if (!seal(b))
        return 0;
    assert(!log->inflight);   /* log_commit_result drained it */
    b->active = 0;
    log->inflight = b;
    committer_submit(log->committer, b->wb);
    return 0;
}

/*
 * replay_feed.c - the reader thread that feeds the replay driver: it walks
 * the events family over (lo, hi], copies each record into a slab and
 * decodes it (record_view.c: envelope, payload, and the fields of artifact
 * events) while the driver folds the slab before.
 *
 * Why a thread: reading and decoding records is about a third of a replay
 * and needs nothing from the projections, so on a machine with two cores it
 * runs beside the folding instead of before it (bench/replay.sh).
 *
 * Ownership and synchronisation:
 *   - FEED_SLABS slabs form a ring.  A slab belongs to the reader while it is
 *     free or being filled, and to the driver from the moment it is handed
 *     over (feed_next) until the driver asks for the next one; `mu` guards
 *     only the ring counters and flags, never slab contents.
 *   - The reader's decoding state (the record types to decode, its memo)
 *     is the reader's alone, like its iterator.
 *   - The reader owns its RocksDB iterator; the dsr_log is shared, which
 *     RocksDB allows (the driver commits batches meanwhile; the iterator
 *     reads the log as of feed_start, and records above hi are never read).
 *   - Errors of the reader travel in the slab (rc, err) and end the feed.
 * When no thread can be started the driver fills each slab itself: slower,
 * same results.
 */
#include "replay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FEED_SLABS      3   /* a deeper ring costs CPU: its slabs go cold in the caches */
#define FEED_SLAB_RECS  1024u                /* records per slab ... */
#define FEED_SLAB_BYTES (1024u * 1024u)      /* ... or record bytes, whichever first */

typedef struct slab {
    feed_rec    *recs;     /* FEED_SLAB_RECS of them */
    size_t      *off;      /* each record's offset in bytes */
    size_t      *len;
    size_t       n;
    dsr_buf      bytes;    /* the records, copied out of the iterator */
    msgpack_zone zone;     /* their decoded payloads */
    int          last;     /* nothing follows this slab */
    int          rc;       /* with last: the reader failed (err says why) */
    dsr_err      err;
} slab;

struct feed {
    dsr_log        *log;
    dsr_log_iter   *it;
    uint64_t        hi;
    uint32_t        consumes;   /* record types decoded in full */
    rv_memo         memo;
    slab            s[FEED_SLABS];
    int             zones;      /* zones initialised */
    pthread_t       thr;
    int             threaded;
    pthread_mutex_t mu;
    pthread_cond_t  can_fill, can_take;
    size_t          filled;     /* slabs handed over and not yet taken back (mu) */
    size_t          prod, cons; /* ring positions of the reader and the driver */
    int             held;       /* the driver holds s[cons] */
    int             stop;       /* the driver wants the reader gone (mu) */
    int             ended;      /* the driver has seen the last slab */
    slab           *failed;     /* its records were handed over; its error is next */
};

/* Fill sl with the next records (reader side, or the driver when unthreaded). */
static void fill(feed *f, slab *sl)
{
    dsr_err *err = &sl->err;
    sl->n = 0;
    sl->last = 0;
    sl->rc = 0;
    dsr_buf_reset(&sl->bytes);
    msgpack_zone_clear(&sl->zone);
    int rc = 0;
    while (sl->n < FEED_SLAB_RECS && sl->bytes.len < FEED_SLAB_BYTES) {
        const void *k, *v;
        size_t kl, vl;
        rc = dsr_log_iter_next(f->it, &k, &kl, &v, &vl, err);
        if (rc <= 0) {
            sl->last = 1;
            break;
        }
        rc = 0;
        uint64_t seq = dsr_seq_from_key(k);
        if (seq > f->hi) {
            sl->last = 1;
            break;
        }
        sl->recs[sl->n].seq = seq;
        sl->off[sl->n] = sl->bytes.len;
        sl->len[sl->n] = vl;
        if (dsr_buf_append(&sl->bytes, v, vl)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory reading event %llu",
                             (unsigned long long)seq);
            break;
        }
        sl->n++;
    }
    /* decode once the bytes no longer move */
    for (size_t i = 0; i < sl->n && !rc; i++) {
        feed_rec *r = &sl->recs[i];
        rc = replay_record_read(sl->bytes.data + sl->off[i], sl->len[i], &f->consumes,
                                &f->memo, &sl->zone, &r->payload, &r->env, &r->art, r->ids,
                                err);
        if (rc) {
            dsr_err_prefix(err, "%s: event %llu", dsr_log_dir(f->log),
                           (unsigned long long)r->seq);
            sl->n = i;
        } else {
            r->env.payload = &r->payload;
        }
    }
    if (rc) {
        sl->rc = rc;
        sl->last = 1;
    }
}

static void *reader_main(void *arg)
{
    feed *f = arg;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (!f->stop && f->filled == FEED_SLABS)
            pthread_cond_wait(&f->can_fill, &f->mu);
        if (f->stop) {
            pthread_mutex_unlock(&f->mu);
            return NULL;
        }
        slab *sl = &f->s[f->prod];
        pthread_mutex_unlock(&f->mu);

        fill(f, sl);

        pthread_mutex_lock(&f->mu);
        f->prod = (f->prod + 1) % FEED_SLABS;
        f->filled++;
        pthread_cond_signal(&f->can_take);
        pthread_mutex_unlock(&f->mu);
        if (sl->last)
            return NULL;
    }
}

static void feed_free(feed *f)
{
    for (int i = 0; i < FEED_SLABS; i++) {
        free(f->s[i].recs);
        free(f->s[i].off);
        free(f->s[i].len);
        dsr_buf_free(&f->s[i].bytes);
        if (i < f->zones)
            msgpack_zone_destroy(&f->s[i].zone);
    }
    dsr_log_iter_free(f->it);
    free(f);
}

int feed_start(dsr_log *log, uint64_t lo, uint64_t hi, uint32_t consumes, feed **out,
               dsr_err *err)
{
    *out = NULL;
    feed *f = calloc(1, sizeof *f);
    if (!f)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory for the replay reader");
    f->log = log;
    f->hi = hi;
    f->consumes = consumes;
    for (int i = 0; i < FEED_SLABS; i++) {
        slab *sl = &f->s[i];
        sl->recs = malloc(FEED_SLAB_RECS * sizeof *sl->recs);
        sl->off = malloc(FEED_SLAB_RECS * sizeof *sl->off);
        sl->len = malloc(FEED_SLAB_RECS * sizeof *sl->len);
        if (!sl->recs || !sl->off || !sl->len || !msgpack_zone_init(&sl->zone, 65536)) {
            feed_free(f);
            return dsr_err_set(err, DSR_ENOMEM, "out of memory for the replay reader");
        }
        f->zones++;
    }
    int rc = dsr_log_iter_events(log, lo + 1, &f->it, err);
    if (rc) {
        feed_free(f);
        return rc;
    }
    if (pthread_mutex_init(&f->mu, NULL)) {
        feed_free(f);
        return dsr_err_set(err, DSR_ENOMEM, "cannot create the replay reader's lock");
    }
    if (pthread_cond_init(&f->can_fill, NULL) || pthread_cond_init(&f->can_take, NULL)) {
        pthread_mutex_destroy(&f->mu);
        feed_free(f);
        return dsr_err_set(err, DSR_ENOMEM, "cannot create the replay reader's conditions");
    }
    /* a failed pthread_create leaves the feed unthreaded: feed_next fills */
    f->threaded = pthread_create(&f->thr, NULL, reader_main, f) == 0;
    if (f->threaded)
        pthread_setname_np(f->thr, "dossier:read");   /* for top and perf; may fail */
    *out = f;
    return 0;
}

int feed_next(feed *f, const feed_rec **recs, size_t *n, dsr_err *err)
{
    *recs = NULL;
    *n = 0;
    if (f->failed) {
        /* the records read before the failure went first, now the failure */
        if (err)
            *err = f->failed->err;
        int rc = f->failed->rc;
        f->failed = NULL;
        return rc;
    }
    if (f->ended)
        return 0;
    slab *sl;
    if (!f->threaded) {
        sl = &f->s[0];
        fill(f, sl);
    } else {
        pthread_mutex_lock(&f->mu);
        if (f->held) {
            f->cons = (f->cons + 1) % FEED_SLABS;
            f->filled--;
            f->held = 0;
            pthread_cond_signal(&f->can_fill);
        }
        while (f->filled == 0)
            pthread_cond_wait(&f->can_take, &f->mu);
        sl = &f->s[f->cons];
        f->held = 1;
        pthread_mutex_unlock(&f->mu);
    }
    if (sl->last)
        f->ended = 1;
    if (sl->rc) {
        if (sl->n)
            f->failed = sl;
        else {
            if (err)
                *err = sl->err;
            return sl->rc;
        }
    }
    *recs = sl->recs;
    *n = sl->n;
    return 0;
}

void feed_stop(feed *f)
{
    if (!f)
        return;
    if (f->threaded) {
        pthread_mutex_lock(&f->mu);
        f->stop = 1;
        pthread_cond_broadcast(&f->can_fill);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thr, NULL);
    }
    pthread_cond_destroy(&f->can_fill);
    pthread_cond_destroy(&f->can_take);
    pthread_mutex_destroy(&f->mu);
    feed_free(f);
}

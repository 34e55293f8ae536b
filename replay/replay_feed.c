/*
 * replay_feed.c - the reader thread that feeds the replay driver: it walks
 * the events family over (lo, hi] and copies each record into a slab while
 * the driver folds the slab before; the driver decodes the records
 * (record_view.c: envelope, payload, and the fields of artifact events) a
 * window at a time as it takes them.
 *
 * Why a thread: iterating the log (RocksDB's merging iterator, block reads,
 * LZ4) needs nothing from the projections, so on a machine with two cores
 * it runs beside the folding instead of before it (bench/replay.sh).
 * Why the decoding is the driver's: a decoded record is larger than its
 * bytes (an envelope, the artifact fields, the ids' text) and every field
 * is read by the driver, so decoding on the reader moved each record's
 * cache lines from one core to the other twice (written there, read here,
 * written there again a ring later); decoded into a small window on the
 * driver, they stay in its cache, and only the record bytes travel, in
 * order (docs/bench.md, "Replay: decoding on the driver").
 *
 * Ownership and synchronisation:
 *   - FEED_SLABS slabs form a ring.  A slab belongs to the reader while it is
 *     free or being filled, and to the driver from the moment it is handed
 *     over (feed_next) until the driver has taken its last record and asks
 *     for more; `mu` guards only the ring counters and flags, never slab
 *     contents.
 *   - The decoding state (the record types to decode, the memo, the window
 *     and the slabs' zones) is the driver's alone, like the reader's
 *     iterator is the reader's.
 *   - The reader owns its RocksDB iterator; the dsr_log is shared, which
 *     RocksDB allows (the driver commits batches meanwhile; the iterator
 *     reads the log as of feed_start, and records above hi are never read).
 *   - Errors of the reader travel in the slab (rc, err) and end the feed.
 * A range that fits one slab (the few events of a small scan's catch-up) is
 * read by the driver itself: a thread started and joined for one slab costs
 * more than the read it would overlap.  The same when no thread can be
 * started.  Unthreaded, the driver fills slab 0 each time: same results.
 */
#include "replay.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FEED_SLABS      3   /* a deeper ring costs CPU: its slabs go cold in the caches */
#define FEED_SLAB_RECS  1024u                /* records per slab ... */
#define FEED_SLAB_BYTES (1024u * 1024u)      /* ... or record bytes, whichever first */
/* Records decoded per feed_next: few enough that the window stays in the
 * first-level cache while the driver folds it. */
#define FEED_WINDOW     32u

/* Where the reader put one record: its sequence and its place in bytes. */
typedef struct slab_raw {
    uint64_t seq;
    size_t   off, len;
} slab_raw;

typedef struct slab {
    slab_raw    *raw;      /* FEED_SLAB_RECS of them */
    size_t       n;
    dsr_buf      bytes;    /* the records, copied out of the iterator */
    msgpack_zone zone;     /* their decoded payloads (the driver's) */
    int          last;     /* nothing follows this slab */
    int          rc;       /* with last: the reader failed after n records (err says why) */
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
    /* the driver's side */
    slab           *cur;        /* the slab it takes records from, or NULL */
    size_t          pos;        /* cur's records before pos are taken */
    int             ended;      /* nothing more: the end, or an error returned */
    feed_rec        win[FEED_WINDOW];   /* the records handed out last */
};

/* Fill sl with the next records' bytes (reader side, or the driver when
 * unthreaded). */
static void fill(feed *f, slab *sl)
{
    dsr_err *err = &sl->err;
    sl->n = 0;
    sl->last = 0;
    sl->rc = 0;
    dsr_buf_reset(&sl->bytes);
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
        sl->raw[sl->n] = (slab_raw){ seq, sl->bytes.len, vl };
        if (dsr_buf_append(&sl->bytes, v, vl)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory reading event %llu",
                             (unsigned long long)seq);
            break;
        }
        sl->n++;
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
        int last = sl->last;   /* the slab is the driver's once handed over */

        pthread_mutex_lock(&f->mu);
        f->prod = (f->prod + 1) % FEED_SLABS;
        f->filled++;
        pthread_cond_signal(&f->can_take);
        pthread_mutex_unlock(&f->mu);
        if (last)
            return NULL;
    }
}

static void feed_free(feed *f)
{
    for (int i = 0; i < FEED_SLABS; i++) {
        free(f->s[i].raw);
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
    assert(lo <= hi);
    int want_thread = hi - lo > FEED_SLAB_RECS;
    for (int i = 0; i < (want_thread ? FEED_SLABS : 1); i++) {
        slab *sl = &f->s[i];
        sl->raw = malloc(FEED_SLAB_RECS * sizeof *sl->raw);
        if (!sl->raw || !msgpack_zone_init(&sl->zone, 65536)) {
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
    f->threaded = want_thread && pthread_create(&f->thr, NULL, reader_main, f) == 0;
    if (f->threaded)
        pthread_setname_np(f->thr, "dossier:read");   /* for top and perf; may fail */
    *out = f;
    return 0;
}

/* The next slab, the one held before going back to the reader. */
static slab *take_slab(feed *f)
{
    if (!f->threaded) {
        fill(f, &f->s[0]);
        return &f->s[0];
    }
    pthread_mutex_lock(&f->mu);
    if (f->held) {
        f->cons = (f->cons + 1) % FEED_SLABS;
        f->filled--;
        f->held = 0;
        pthread_cond_signal(&f->can_fill);
    }
    while (f->filled == 0)
        pthread_cond_wait(&f->can_take, &f->mu);
    slab *sl = &f->s[f->cons];
    f->held = 1;
    pthread_mutex_unlock(&f->mu);
    return sl;
}

int feed_next(feed *f, const feed_rec **recs, size_t *n, dsr_err *err)
{
    *recs = f->win;
    *n = 0;
    while (!f->ended) {
        slab *sl = f->cur;
        assert(!sl || f->pos <= sl->n);   /* a slab's records are taken once each, in order */
        if (sl && f->pos < sl->n) {
            /* Decode the next window.  A record that does not decode ends
             * the slab there: the records before it are handed out, then
             * its error, which comes before any error of the reader's. */
            size_t k = 0;
            for (; k < FEED_WINDOW && f->pos < sl->n; k++, f->pos++) {
                feed_rec *r = &f->win[k];
                const slab_raw *w = &sl->raw[f->pos];
                r->seq = w->seq;
                int rc = replay_record_read(sl->bytes.data + w->off, w->len, &f->consumes,
                                            &f->memo, &sl->zone, &r->payload, &r->env, &r->art,
                                            r->ids, &sl->err);
                if (rc) {
                    dsr_err_prefix(&sl->err, "%s: event %llu", dsr_log_dir(f->log),
                                   (unsigned long long)w->seq);
                    sl->rc = rc;
                    sl->last = 1;
                    sl->n = f->pos;
                    break;
                }
                r->env.payload = &r->payload;
            }
            if (k) {
                *n = k;
                return 0;
            }
            continue;
        }
        if (sl && sl->last) {
            /* every record of the last slab is taken: the end, or the error after them */
            f->ended = 1;
            if (sl->rc && err)
                *err = sl->err;
            return sl->rc;
        }
        f->cur = take_slab(f);
        f->pos = 0;
        msgpack_zone_clear(&f->cur->zone);   /* the records of its last round are gone */
    }
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

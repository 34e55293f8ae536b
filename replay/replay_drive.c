/*
 * replay_drive.c - the driver that feeds log events to projections, in
 * sequence order, from their checkpoints.
 *
 * Invariants:
 *   - a projection's state rows, its checkpoint ("ckpt" in its family) and
 *     the derived events it emits for a chunk of events are written in ONE
 *     WriteBatch (dsr_log_batch_commit: atomic, fsynced).  A crash therefore
 *     leaves either the whole chunk applied (checkpoint moved) or none of it
 *     (checkpoint unchanged, events not emitted): never an event applied
 *     twice or skipped.
 *   - chunks within a pass are committed in the background
 *     (dsr_log_batch_commit_async) while the next one is folded; batches
 *     land in order, each fsynced, so a crash leaves a prefix of the chunks,
 *     each whole.  At most one is in flight, and the projections read what
 *     it writes from their caches until it has landed (pstate.c).  A pass's
 *     last chunk, and any error, waits for the log: a pass returns with
 *     nothing in flight.
 *   - between chunks a projection keeps nothing in memory that is not also
 *     committed (flush() persists open work), so a chunk boundary is a valid
 *     restart point;
 *   - each record is decoded once, by the pass's reader thread
 *     (replay_feed.c, record_view.c: the log validated it at append, so
 *     replay does not re-validate; a type no projection of the pass folds
 *     is read only as far as its type), and offered to every projection whose
 *     checkpoint is behind it, in registry order (snapshot before drift, so
 *     drift can read what snapshot wrote for an earlier event of the pass);
 *   - the driver loops until no projection is behind the head: derived events
 *     appended by a pass are passed over by the next, so all checkpoints end
 *     equal to the final head whatever the chunking.
 */
#include "replay.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Events per committed chunk: large enough that the fsync per commit is
 * amortised over tens of thousands of events, small enough that a chunk's
 * working state (run entries, cached sets) stays in the tens of megabytes. */
#define REPLAY_CHUNK_EVENTS 65536u   /* default; dsr_replay_opts.chunk_events */
/* ...and a chunk also ends once the rows it wrote or read (artifact sets
 * mostly) pass this size, which bounds memory whatever the scans look like. */
#define REPLAY_CHUNK_BYTES (48u * 1024u * 1024u)
/* ...but a chunk may run on to this many times chunk_events while a scan run
 * is still open in it (chunk_may_end). */
#define REPLAY_CHUNK_STRETCH 4u

/* ---- the driver ------------------------------------------------------------ */

static uint64_t target_of(const proj_ctx *c, uint64_t head)
{
    return c->has_stop && c->stop < head ? c->stop : head;
}

/* Commit the chunk in b.  With async, b goes to the log's background
 * committer (after the batch before it, which the hand-over waits for) and
 * the caller folds the next chunk meanwhile; the projections keep the rows
 * b writes readable until it has landed (pstate.c).  A failure of b is then
 * returned by the next commit or by dsr_log_commit_wait. */
static int commit_chunk(dsr_log_batch *b, proj_ctx *const *ctxs, size_t n, int async,
                        dsr_replay_stats *stats, dsr_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        proj_ctx *c = ctxs[i];
        rc = ps_flush(&c->st, err);     /* the rows this chunk wrote, final state */
        if (rc || !c->dirty)
            continue;
        rc = c->ops->flush(c, err);
        c->dirty = 0;
        if (!rc) {
            unsigned char v[8];
            dsr_seq_key(c->ckpt, v);
            rc = dsr_log_batch_put(b, c->cf, PK_CKPT, strlen(PK_CKPT), v, 8, err);
        }
    }
    if (rc)
        dsr_log_batch_abort(b);
    else if (async)
        rc = dsr_log_batch_commit_async(b, err);   /* frees b either way */
    else
        rc = dsr_log_batch_commit(b, err);         /* frees b either way */
    for (size_t i = 0; i < n; i++) {
        if (!rc && async)
            ps_chunk_handed(&ctxs[i]->st);
        else
            ps_chunk_end(&ctxs[i]->st);
    }
    if (!rc && stats)
        stats->commits++;
    return rc;
}

static dsr_log_batch *begin_chunk(dsr_log *log, proj_ctx *const *ctxs, size_t n, dsr_err *err)
{
    dsr_log_batch *b = NULL;
    if (dsr_log_batch_begin(log, &b, err))
        return NULL;
    for (size_t i = 0; i < n; i++)
        ctxs[i]->st.b = b;
    return b;
}

/* Whether a chunk that reached chunk_events ends here.  A chunk is cut
 * where no projection holds an open scan run, so a run is folded in one go
 * and its entries are never written out as pending rows only to be read back
 * (a 100,000-event scan caught up in one chunk replays about twice as fast
 * as one cut at 65,536).  A run longer than REPLAY_CHUNK_STRETCH chunks, or
 * a chunk past REPLAY_CHUNK_BYTES, is cut anyway: memory stays bounded. */
static int chunk_may_end(proj_ctx *const *ctxs, size_t n, size_t in_chunk, size_t chunk_events,
                         size_t cached)
{
    if (in_chunk >= chunk_events * REPLAY_CHUNK_STRETCH || cached >= REPLAY_CHUNK_BYTES)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (ctxs[i]->ops->held && ctxs[i]->ops->held(ctxs[i]))
            return 0;
    return 1;
}

/* One pass over (lo, pass_head]: records come decoded from the reader
 * thread (replay_feed.c), a slab at a time.  Returns 0 or an error (the open
 * chunk is aborted; committed chunks stay). */
static int drive_pass(dsr_log *log, proj_ctx *const *ctxs, size_t n, uint64_t lo,
                      uint64_t pass_head, size_t chunk_events, dsr_replay_stats *stats,
                      dsr_err *err)
{
    uint32_t consumes = 0;   /* the reader decodes other records' envelope only */
    for (size_t i = 0; i < n; i++)
        consumes |= ctxs[i]->ops->consumes;
    feed *f = NULL;
    int rc = feed_start(log, lo, pass_head, consumes, &f, err);
    if (rc)
        return rc;
    dsr_log_batch *b = begin_chunk(log, ctxs, n, err);
    if (!b) {
        feed_stop(f);
        return err ? err->code : DSR_EIO;
    }
    size_t in_chunk = 0;
    uint64_t prev = lo;   /* the feed hands out (lo, pass_head] in order, once each */
    for (;;) {
        const feed_rec *recs;
        size_t nrec;
        if ((rc = feed_next(f, &recs, &nrec, err)) || !nrec)
            break;
        for (size_t r = 0; r < nrec && !rc; r++) {
            uint64_t seq = recs[r].seq;
            const dsr_envelope *env = &recs[r].env;
            assert(seq > prev && seq <= pass_head);
            prev = seq;
            (void)prev;
            if (stats)
                stats->events_read++;
            for (size_t i = 0; i < n && !rc; i++) {
                proj_ctx *c = ctxs[i];
                if (c->ckpt >= seq || seq > target_of(c, pass_head))
                    continue;
                if (c->ops->consumes & (1u << env->type))
                    rc = c->ops->apply(c, seq, env, &recs[r].art, err);
                c->ckpt = seq;   /* checkpoints only move forward, never past the pass */
                assert(c->ckpt <= target_of(c, pass_head));
                c->dirty = 1;
                if (stats)
                    stats->events_applied++;
            }
            if (rc)
                break;
            size_t cached = 0;
            for (size_t i = 0; i < n; i++)
                cached += ctxs[i]->st.bytes;
            if ((++in_chunk >= chunk_events || cached >= REPLAY_CHUNK_BYTES)
                && chunk_may_end(ctxs, n, in_chunk, chunk_events, cached)) {
                rc = commit_chunk(b, ctxs, n, 1, stats, err);
                b = NULL;
                if (rc)
                    break;
                if (!(b = begin_chunk(log, ctxs, n, err))) {
                    rc = err ? err->code : DSR_EIO;
                    break;
                }
                in_chunk = 0;
            }
        }
        if (rc)
            break;
    }
    feed_stop(f);
    if (rc) {
        if (b)
            dsr_log_batch_abort(b);
        dsr_log_commit_wait(log, NULL);   /* no batch of the pass left in flight */
        for (size_t i = 0; i < n; i++)
            ps_chunk_end(&ctxs[i]->st);
        return rc;
    }
    /* The pass's last chunk is committed before it returns: the next pass
     * starts from the head it leaves, derived events included. */
    return commit_chunk(b, ctxs, n, 0, stats, err);
}

int replay_drive(dsr_log *log, proj_ctx *const *ctxs, size_t n, size_t chunk_events,
                 dsr_replay_stats *stats, dsr_err *err)
{
    if (!chunk_events)
        chunk_events = REPLAY_CHUNK_EVENTS;
    /* Each pass can only append derived events that no projection emits
     * anything for, so this ends after at most 1 + n passes; the bound
     * turns a projection bug into an error instead of a livelock. */
    for (unsigned pass = 0;; pass++) {
        uint64_t head = dsr_log_head(log);
        uint64_t lo = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (ctxs[i]->ckpt < target_of(ctxs[i], head) && ctxs[i]->ckpt < lo)
                lo = ctxs[i]->ckpt;
        if (lo == UINT64_MAX)
            break;
        if (pass > n + 1)
            return dsr_err_set(err, DSR_ECORRUPT, "%s: projections keep emitting events "
                               "(pass %u, head %llu)", dsr_log_dir(log), pass,
                               (unsigned long long)head);
        int rc = drive_pass(log, ctxs, n, lo, head, chunk_events, stats, err);
        if (rc)
            return rc;
    }
#ifndef NDEBUG
    for (size_t i = 0; i < n; i++)   /* nobody left behind, nobody past the head */
        assert(ctxs[i]->ckpt == target_of(ctxs[i], dsr_log_head(log)));
#endif
    if (stats)
        stats->head = dsr_log_head(log);
    return 0;
}

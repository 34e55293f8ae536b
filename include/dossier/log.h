/*
 * dossier/log.h - the append-only event log (RocksDB), the canonical record.
 *
 * Layout (column families):
 *   events : 8-byte big-endian sequence (1, 2, ...) -> msgpack envelope
 *   ids    : event_id (26 bytes)                    -> 8-byte BE sequence
 *   meta   : "node_id", "project_uuid", "lamport", "next_seq" -> values
 *   others : named by their owners (projections, delivery cursors, the scan
 *            cache), created on first use, written through batches.
 *
 * Invariants: an event and its ids entry and the meta counters are written in
 * the same WriteBatch, committed with sync=true, so after a crash either all
 * of a batch is there or none of it.  Appending an event whose event_id is
 * already stored (or already in the same batch) stores nothing and reports a
 * duplicate.  Sequences are dense.
 *
 * Thread-safety: a dsr_log may be used by one thread at a time (its own
 * background committer aside).  One open batch at a time per log, plus at
 * most one committing in the background.  A second process opening the same log for writing gets
 * DSR_ELOCKED (or waits with DSR_LOG_WAIT); read-only opens always work.
 */
#ifndef DOSSIER_LOG_H
#define DOSSIER_LOG_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/event.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsr_log dsr_log;
typedef struct dsr_log_batch dsr_log_batch;
typedef struct dsr_log_iter dsr_log_iter;

enum {
    DSR_LOG_RDONLY   = 1 << 0,  /* read-only; never takes the lock */
    DSR_LOG_WAIT     = 1 << 1,  /* writer: wait for the lock instead of DSR_ELOCKED */
    DSR_LOG_NOCREATE = 1 << 2,  /* fail with DSR_ENOTFOUND when dir holds no log */
    /* Added for readers that need the whole log: with DSR_LOG_RDONLY, fail
     * with DSR_ECORRUPT where a writer's open would refuse the log -- its
     * write-ahead log damaged before a torn tail, sequences it committed
     * missing (the high-water mark above the head), a table file missing or
     * cut -- and also on a table file whose footer or index is damaged
     * (every table file is opened; a writer opens them as it reads them).
     * Without it a read-only handle shows what precedes such damage.  The
     * handle does not follow a writer (dsr_log_refresh), and a writer
     * deleting table files meanwhile can make the open fail (open again).
     * Writers always check. */
    DSR_LOG_INTACT   = 1 << 3
};

/* Open (creating unless DSR_LOG_NOCREATE) the log in dir.  On first creation
 * a node_id and project_uuid are generated and stored.  Returns 0,
 * DSR_ELOCKED, DSR_ENOTFOUND, DSR_ECORRUPT or DSR_EIO. */
DSR_API int  dsr_log_open(dsr_log **out, const char *dir, unsigned flags, dsr_err *err);
DSR_API void dsr_log_close(dsr_log *log);                  /* NULL is fine */

DSR_API const char *dsr_log_dir(const dsr_log *log);
DSR_API const char *dsr_log_node_id(const dsr_log *log);      /* 26-char ULID */
DSR_API const char *dsr_log_project_uuid(const dsr_log *log); /* RFC 4122 v4 text */
DSR_API uint64_t    dsr_log_head(const dsr_log *log);         /* last sequence, 0 when empty */
DSR_API uint64_t    dsr_log_lamport(const dsr_log *log);      /* current lamport clock */
DSR_API dsr_ulid_gen *dsr_log_ulid_gen(dsr_log *log);         /* the log's monotonic id source */

/* Read-only handles: see events committed by a writer since open.  Free
 * the handle's iterators first (a refresh may reopen it when the writer
 * created new column families).  A no-op returning 0 on writer handles. */
DSR_API int  dsr_log_refresh(dsr_log *log, dsr_err *err);

/* ---- writing --------------------------------------------------------- */
DSR_API int  dsr_log_batch_begin(dsr_log *log, dsr_log_batch **out, dsr_err *err);

/* Append one encoded envelope.  *seq_out gets its sequence (or the existing
 * one for a duplicate); *dup is 1 when event_id was already stored or already
 * appended to this batch (nothing is added).  Either out pointer may be NULL. */
DSR_API int  dsr_log_batch_append(dsr_log_batch *b, const char *event_id,
                          const void *rec, size_t len,
                          uint64_t *seq_out, int *dup, dsr_err *err);

/* Lamport rules: a local event takes tick() (clock + 1); importing an event
 * stamped `remote` sets the clock to max(clock, remote) + 1. */
DSR_API uint64_t dsr_log_batch_lamport_tick(dsr_log_batch *b);
DSR_API void     dsr_log_batch_lamport_merge(dsr_log_batch *b, uint64_t remote);

/* Generic writes to a named column family (created on first use). */
DSR_API int  dsr_log_batch_put(dsr_log_batch *b, const char *cf, const void *key, size_t klen,
                       const void *val, size_t vlen, dsr_err *err);
DSR_API int  dsr_log_batch_delete(dsr_log_batch *b, const char *cf, const void *key, size_t klen,
                          dsr_err *err);
DSR_API size_t dsr_log_batch_events(const dsr_log_batch *b);  /* events appended so far */
DSR_API dsr_log *dsr_log_batch_log(dsr_log_batch *b);

/* Commit atomically with fsync and free b (also on error).  After an error
 * nothing of the batch is stored.  Waits first for a batch committing in the
 * background, and fails with its error if it failed. */
DSR_API int  dsr_log_batch_commit(dsr_log_batch *b, dsr_err *err);

/* The same commit, done by a background thread while the caller goes on to
 * build the next batch (which continues its numbers).  At most one batch is
 * in flight: this first waits for the previous one.  Batches reach the log
 * in the order they were committed.  A failure is returned by the next batch
 * call (begin, commit, commit_async) or dsr_log_commit_wait, and the batch
 * built on top of the failed one is discarded with it.  Reads through the
 * same handle wait for the batch in flight, so they see it. */
DSR_API int  dsr_log_batch_commit_async(dsr_log_batch *b, dsr_err *err);
/* Wait for the batch in flight; 0, or the error of a background commit not
 * yet returned.  Call it before relying on a run being durable. */
DSR_API int  dsr_log_commit_wait(dsr_log *log, dsr_err *err);
DSR_API void dsr_log_batch_abort(dsr_log_batch *b);        /* discard and free; NULL is fine */

/* From now on keep every open family's write buffers small (two memtables
 * of 16 MB at most, instead of four of 64 MB), trading more frequent
 * flushes for a lower memory peak while a very large run is written.
 * A no-op on read-only handles. */
DSR_API int  dsr_log_limit_memtables(dsr_log *log, dsr_err *err);

/* ---- reading --------------------------------------------------------- */
/* Value stored under key in cf, appended to val (a dsr_buf).  DSR_ENOTFOUND
 * when absent. */
struct dsr_buf;
DSR_API int  dsr_log_get(dsr_log *log, const char *cf, const void *key, size_t klen,
                 struct dsr_buf *val, dsr_err *err);
DSR_API int  dsr_log_get_event(dsr_log *log, uint64_t seq, struct dsr_buf *rec, dsr_err *err);
DSR_API int  dsr_log_find_event(dsr_log *log, const char *event_id, uint64_t *seq, dsr_err *err);

/* Iterate events with sequence >= from_seq in order. */
DSR_API int  dsr_log_iter_events(dsr_log *log, uint64_t from_seq, dsr_log_iter **out, dsr_err *err);
/* Iterate keys of cf that start with prefix (plen 0: all), in key order. */
DSR_API int  dsr_log_iter_cf(dsr_log *log, const char *cf, const void *prefix, size_t plen,
                     dsr_log_iter **out, dsr_err *err);
/* 1 and the current entry (valid until the next call), 0 at the end, or a
 * negative code.  For event iterators *key is the 8-byte sequence. */
DSR_API int  dsr_log_iter_next(dsr_log_iter *it, const void **key, size_t *klen,
                       const void **val, size_t *vlen, dsr_err *err);
DSR_API void dsr_log_iter_free(dsr_log_iter *it);

/* Drop every key of cf (projection rebuilds).  Writer only. */
DSR_API int  dsr_log_clear_cf(dsr_log *log, const char *cf, dsr_err *err);

/* Encode / decode the 8-byte big-endian sequence keys. */
DSR_API void     dsr_seq_key(uint64_t seq, unsigned char out[8]);
DSR_API uint64_t dsr_seq_from_key(const void *key);

#ifdef __cplusplus
}
#endif
#endif

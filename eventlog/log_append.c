/*
 * log_append.c - write batches: idempotent event appends with dense
 * sequences, the lamport clock and generic writes to named families.
 *
 * Invariants:
 *   - every event goes in as two puts in the same WriteBatch: events[seq] =
 *     record and ids[event_id] = seq; the commit adds meta lamport/next_seq to
 *     that batch, so records, index and counters can never disagree;
 *   - an event_id already in the ids family, or already appended to the open
 *     batch or the one in flight (their in-memory id sets, log_idset.c), is
 *     not stored again: the caller gets dup = 1 and the existing sequence;
 *     nothing about the log changes;
 *   - sequences are assigned from log->next_seq without gaps: a duplicate
 *     does not consume one, an aborted or failed batch gives its numbers back;
 *   - at most one batch is open, at most one other is in flight; the two
 *     batch structs live inside the log and are reused (log_batch.c,
 *     log_commit.c), so their WriteBatches and id sets keep their memory
 *     from one batch to the next.
 *
 * Committing, and what a crash leaves, is log_commit.c.
 */
#include "log.h"

#include <assert.h>
#include <string.h>

/* ---- batches --------------------------------------------------------------- */

int dsr_log_batch_begin(dsr_log *log, dsr_log_batch **out, dsr_err *err)
{
    if (!log || !out)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_batch_begin: NULL argument");
    *out = NULL;
    if (log->flags & DSR_LOG_RDONLY)
        return dsr_err_set(err, DSR_EINVAL, "%s: cannot write: log is open read-only",
                           log->dir);
    if (log->batch[0].active || log->batch[1].active)
        return dsr_err_set(err, DSR_EINVAL, "%s: a batch is already open on this log",
                           log->dir);
    /* A commit that failed in the background is reported here first. */
    if (log->commit_err.code)
        return log_commit_result(log, err);
    /* The struct not in flight; its numbers continue the one in flight. */
    const dsr_log_batch *base = log->inflight;
    dsr_log_batch *b = &log->batch[base == &log->batch[0]];
    assert(!base || !base->active);   /* the one in flight is closed */
    if (!b->wb && !(b->wb = rocksdb_writebatch_create()))
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory for a batch", log->dir);
    rocksdb_writebatch_clear(b->wb);
    b->log = log;
    if (base) {
        b->next_seq = base->next_seq;
        b->lamport = base->lamport;
        memcpy(b->max_id, base->max_id, DSR_ULID_LEN);
        b->has_max_id = base->has_max_id;
    } else {
        b->next_seq = log->next_seq;
        b->lamport = log->lamport;
        memcpy(b->max_id, log->max_id, DSR_ULID_LEN);
        b->has_max_id = log->has_max_id;
    }
    b->first_seq = b->next_seq;
    b->n_events = 0;
    log_idset_clear(&b->idset);
    b->active = 1;
    *out = b;
    return 0;
}

static int check_id(dsr_log_batch *b, const char *event_id, dsr_err *err)
{
    if (!b || !b->active)
        return dsr_err_set(err, DSR_EINVAL, "append: no open batch");
    if (!event_id || strnlen(event_id, DSR_ULID_LEN + 1) != DSR_ULID_LEN
        || !dsr_ulid_valid(event_id, DSR_ULID_LEN))
        return dsr_err_set(err, DSR_EINVAL, "%s: event_id '%.40s' is not a ULID",
                           b ? b->log->dir : "log", event_id ? event_id : "(null)");
    return 0;
}

int log_batch_lookup(dsr_log_batch *b, const char *event_id, uint64_t *seq, dsr_err *err)
{
    /* Above every id stored or appended so far: cannot be a duplicate.  This
     * is the path of every freshly generated (monotonic) ULID, and it keeps
     * RocksDB point lookups off the hot append path. */
    if (!b->has_max_id || memcmp(event_id, b->max_id, DSR_ULID_LEN) > 0)
        return 0;
    if (log_idset_find(&b->idset, event_id, seq))
        return 1;
    dsr_log *log = b->log;
    /* Not yet readable from RocksDB: the batch still being committed. */
    if (log->inflight && log_idset_find(&log->inflight->idset, event_id, seq))
        return 1;
    char *e = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf_ids, event_id, DSR_ULID_LEN,
                             &vlen, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot look up event %.26s", log->dir, event_id);
    if (!v)
        return 0;
    int rc = 1;
    if (vlen != 8)
        rc = dsr_err_set(err, DSR_ECORRUPT, "%s: ids entry of event %.26s is %zu bytes",
                         log->dir, event_id, vlen);
    else
        *seq = be_get64(v);
    rocksdb_free(v);
    return rc;
}

int log_batch_append_new(dsr_log_batch *b, const char *event_id, const void *rec,
                         size_t len, uint64_t *seq_out, dsr_err *err)
{
    /* Sequences are dense: this batch's next one is the first it was given
     * plus what it appended. */
    assert(b->active && b->next_seq == b->first_seq + b->n_events);
    uint64_t seq = b->next_seq;
    if (log_idset_add(&b->idset, event_id, seq))
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory appending event %.26s",
                           b->log->dir, event_id);
    unsigned char key[8];
    be_put64(key, seq);
    rocksdb_writebatch_put_cf(b->wb, b->log->cf_events, (const char *)key, 8, rec, len);
    rocksdb_writebatch_put_cf(b->wb, b->log->cf_ids, event_id, DSR_ULID_LEN,
                              (const char *)key, 8);
    if (!b->has_max_id || memcmp(event_id, b->max_id, DSR_ULID_LEN) > 0) {
        memcpy(b->max_id, event_id, DSR_ULID_LEN);
        b->has_max_id = 1;
    }
    b->next_seq = seq + 1;
    b->n_events++;
    if (seq_out)
        *seq_out = seq;
    return 0;
}

int dsr_log_batch_append(dsr_log_batch *b, const char *event_id, const void *rec, size_t len,
                         uint64_t *seq_out, int *dup, dsr_err *err)
{
    int rc = check_id(b, event_id, err);
    if (rc)
        return rc;
    if (!rec || !len)
        return dsr_err_set(err, DSR_EINVAL, "%s: empty record for event %s", b->log->dir,
                           event_id);
    uint64_t seq = 0;
    rc = log_batch_lookup(b, event_id, &seq, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        if (dup)
            *dup = 1;
        if (seq_out)
            *seq_out = seq;
        return 0;
    }
    if (dup)
        *dup = 0;
    return log_batch_append_new(b, event_id, rec, len, seq_out, err);
}

uint64_t dsr_log_batch_lamport_tick(dsr_log_batch *b)
{
    return ++b->lamport;
}

void dsr_log_batch_lamport_merge(dsr_log_batch *b, uint64_t remote)
{
    b->lamport = (remote > b->lamport ? remote : b->lamport) + 1;
}

int dsr_log_batch_put(dsr_log_batch *b, const char *cf, const void *key, size_t klen,
                      const void *val, size_t vlen, dsr_err *err)
{
    if (!b || !b->active || !cf || (!key && klen) || (!val && vlen))
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_batch_put: bad argument");
    if (log_cf_is_core(cf))
        return dsr_err_set(err, DSR_EINVAL, "%s: column family %s is written only by the "
                           "event log itself", b->log->dir, cf);
    rocksdb_column_family_handle_t *h;
    int rc = log_cf_get_or_create(b->log, cf, &h, err);
    if (rc)
        return rc;
    rocksdb_writebatch_put_cf(b->wb, h, key, klen, val, vlen);
    return 0;
}

int dsr_log_batch_delete(dsr_log_batch *b, const char *cf, const void *key, size_t klen,
                         dsr_err *err)
{
    if (!b || !b->active || !cf || (!key && klen))
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_batch_delete: bad argument");
    if (log_cf_is_core(cf))
        return dsr_err_set(err, DSR_EINVAL, "%s: column family %s is written only by the "
                           "event log itself", b->log->dir, cf);
    rocksdb_column_family_handle_t *h = log_cf_find(b->log, cf);
    if (!h)
        return 0;   /* the family was never created: the key is not there */
    rocksdb_writebatch_delete_cf(b->wb, h, key, klen);
    return 0;
}

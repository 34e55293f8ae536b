/*
 * log_append.c - write batches: idempotent event appends with dense
 * sequences, the lamport clock and generic writes to named families.
 *
 * Invariants:
 *   - every event goes in as two puts in the same WriteBatch: events[seq] =
 *     record and ids[event_id] = seq; the commit adds meta lamport/next_seq to
 *     that batch, so records, index and counters can never disagree;
 *   - an event_id already in the ids family, or already appended to the open
 *     batch or the one in flight (their in-memory id sets below), is not
 *     stored again: the caller gets
 *     dup = 1 and the existing sequence; nothing about the log changes;
 *   - sequences are assigned from log->next_seq without gaps: a duplicate
 *     does not consume one, an aborted or failed batch gives its numbers back;
 *   - two batch structs live inside the log and are reused (one open, one
 *     possibly in flight: see log_commit.c), so their WriteBatches and id
 *     sets keep their memory from one batch to the next.
 *
 * Committing, and what a crash leaves, is log_commit.c.
 */
#include "log_store.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- in-batch id set ----------------------------------------------------- */

static size_t idset_slot(const log_idset *s, const char *id)
{
    return (size_t)XXH3_64bits(id, DSR_ULID_LEN) & (s->nslots - 1);
}

/* 1 and *seq when present. */
static int idset_find(const log_idset *s, const char *id, uint64_t *seq)
{
    if (!s->n)
        return 0;
    for (size_t i = idset_slot(s, id);; i = (i + 1) & (s->nslots - 1)) {
        uint32_t v = s->slots[i];
        if (!v)
            return 0;
        if (!memcmp(s->ids + (size_t)(v - 1) * DSR_ULID_LEN, id, DSR_ULID_LEN)) {
            *seq = s->seqs[v - 1];
            return 1;
        }
    }
}

static int idset_grow(log_idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    if (cap > UINT32_MAX / 4)
        return DSR_ENOMEM;
    char *ids = realloc(s->ids, cap * DSR_ULID_LEN);
    if (!ids)
        return DSR_ENOMEM;
    s->ids = ids;
    uint64_t *seqs = realloc(s->seqs, cap * sizeof *seqs);
    if (!seqs)
        return DSR_ENOMEM;
    s->seqs = seqs;
    size_t nslots = cap * 4;      /* load factor <= 1/4: short probe runs */
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return DSR_ENOMEM;
    free(s->slots);
    s->slots = slots;
    s->nslots = nslots;
    s->cap = cap;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = idset_slot(s, s->ids + k * DSR_ULID_LEN);
        while (s->slots[i])
            i = (i + 1) & (nslots - 1);
        s->slots[i] = (uint32_t)(k + 1);
    }
    return 0;
}

static int idset_add(log_idset *s, const char *id, uint64_t seq)
{
    if (s->n == s->cap && idset_grow(s))
        return DSR_ENOMEM;
    size_t i = idset_slot(s, id);
    while (s->slots[i])
        i = (i + 1) & (s->nslots - 1);
    memcpy(s->ids + s->n * DSR_ULID_LEN, id, DSR_ULID_LEN);
    s->seqs[s->n] = seq;
    s->n++;
    s->slots[i] = (uint32_t)s->n;
    return 0;
}

static void idset_clear(log_idset *s)
{
    if (s->n)
        memset(s->slots, 0, s->nslots * sizeof *s->slots);
    s->n = 0;
}

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
    b->n_events = 0;
    idset_clear(&b->idset);
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
    if (idset_find(&b->idset, event_id, seq))
        return 1;
    dsr_log *log = b->log;
    /* Not yet readable from RocksDB: the batch still being committed. */
    if (log->inflight && idset_find(&log->inflight->idset, event_id, seq))
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
        *seq = log_be_u64(v);
    rocksdb_free(v);
    return rc;
}

int log_batch_append_new(dsr_log_batch *b, const char *event_id, const void *rec,
                         size_t len, uint64_t *seq_out, dsr_err *err)
{
    uint64_t seq = b->next_seq;
    if (idset_add(&b->idset, event_id, seq))
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory appending event %.26s",
                           b->log->dir, event_id);
    unsigned char key[8];
    dsr_seq_key(seq, key);
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

size_t dsr_log_batch_events(const dsr_log_batch *b) { return b->n_events; }
dsr_log *dsr_log_batch_log(dsr_log_batch *b) { return b->log; }

void log_batch_end(dsr_log_batch *b)
{
    rocksdb_writebatch_clear(b->wb);
    idset_clear(&b->idset);
    b->n_events = 0;
    b->active = 0;
}

void dsr_log_batch_abort(dsr_log_batch *b)
{
    if (b && b->active)
        log_batch_end(b);
}

void log_batch_release(dsr_log_batch *b)
{
    if (b->wb)
        rocksdb_writebatch_destroy(b->wb);
    b->wb = NULL;
    free(b->idset.ids);
    free(b->idset.seqs);
    free(b->idset.slots);
    memset(&b->idset, 0, sizeof b->idset);
    if (b->scratch.ready) {
        msgpack_sbuffer_destroy(&b->scratch.rec);
        msgpack_sbuffer_destroy(&b->scratch.aux);
        msgpack_zone_destroy(&b->scratch.zone);
        msgpack_unpacked_destroy(&b->scratch.up);
        b->scratch.ready = 0;
    }
    b->active = 0;
}

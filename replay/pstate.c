/*
 * pstate.c - the row cache a projection reads and writes its mutable state
 * through during one chunk, and the state key layout helpers.
 *
 * Why: a chunk's writes sit in an uncommitted WriteBatch that reads cannot
 * see, so every mutable row read or written in the chunk is kept here; the
 * first read of a row goes to the committed family.  Writes go to the cache
 * only, marking the row dirty; ps_flush() writes each dirty row's final
 * state (put or delete) into the chunk's batch just before it is committed.
 * A row rewritten by every snapshot of a chunk -- a feature's drift
 * assessment, its latest-snapshot pointer -- thus reaches the batch, the WAL
 * and the memtable once per chunk instead of once per snapshot: drift
 * assessments against a long-lived baseline list hundreds of changed
 * artifacts each, and copying them per snapshot dominated a replay's batch
 * bytes (docs/bench.md, "Figures behind the code").  The batch is committed whole
 * or not at all, so which of a row's versions it holds changes nothing but
 * its size.
 *
 * After a commit that has returned (or an abort) the cache is dropped: the
 * family is the truth again (ps_chunk_end).  A batch handed to the
 * background committer instead (ps_chunk_handed) is not the truth yet, so
 * the chunk's rows move to `held` for the next chunk:
 *   - invariant: every row the batch in flight writes is in `held` (ps_flush
 *     wrote it from `rows`, and all of `rows` moved);
 *   - a read looks in `rows`, then in `held`; a row in neither is not in
 *     the batch in flight, so its first read takes the committed family
 *     without waiting for that batch (log_get_committed): the next chunk
 *     folds while the previous one is written and fsynced;
 *   - the next hand-over or commit first waits for the batch in flight
 *     (dsr_log_batch_commit_async, dsr_log_batch_commit), so `held` may go
 *     then: what it holds is committed, and newer writes are in `rows`.
 * A chunk's byte count (ps->bytes) covers `rows` only; `held` adds at most
 * one chunk's rows more.
 */
#include "replay.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "log_store.h"

typedef struct ps_row {
    dsr_buf val;
    int     present;
    int     dirty;      /* written this chunk: ps_flush() writes it out */
} ps_row;

int pk_make(dsr_buf *k, const char *tag, const char *a, size_t alen)
{
    dsr_buf_reset(k);
    if (dsr_buf_append(k, tag, strlen(tag) + 1) || dsr_buf_append(k, a, alen))
        return DSR_ENOMEM;
    return 0;
}

int pk_make2(dsr_buf *k, const char *tag, const char *a, size_t alen,
             const void *b, size_t blen)
{
    if (pk_make(k, tag, a, alen) || dsr_buf_putc(k, '\0') || dsr_buf_append(k, b, blen))
        return DSR_ENOMEM;
    return 0;
}

void ps_init(pstate *ps, dsr_log *log, const char *cf)
{
    memset(ps, 0, sizeof *ps);
    ps->log = log;
    ps->cf = cf;
}

static ps_row *row_for(pstate *ps, const void *key, size_t klen, int *created, dsr_err *err)
{
    void **slot = strmap_upsert(&ps->rows, key, klen, created);
    if (!slot) {
        dsr_err_set(err, DSR_ENOMEM, "%s: out of memory caching a row", ps->cf);
        return NULL;
    }
    if (*created) {
        ps_row *r = calloc(1, sizeof *r);
        if (!r) {
            dsr_err_set(err, DSR_ENOMEM, "%s: out of memory caching a row", ps->cf);
            return NULL;
        }
        *slot = r;
    }
    return *slot;
}

int ps_get(pstate *ps, const void *key, size_t klen, const void **val, size_t *vlen,
           dsr_err *err)
{
    const ps_row *r = NULL;
    void **slot = strmap_find(&ps->rows, key, klen);
    if (slot)
        r = *slot;
    else if (ps->inflight && (slot = strmap_find(&ps->held, key, klen)))
        r = *slot;   /* as the batch in flight leaves it */
    if (!r) {
        int created;
        ps_row *nr = row_for(ps, key, klen, &created, err);
        if (!nr)
            return DSR_ENOMEM;
        /* in neither map, so not in a batch of ours in flight (see above) */
        int rc = ps->inflight ? log_get_committed(ps->log, ps->cf, key, klen, &nr->val, err)
                              : dsr_log_get(ps->log, ps->cf, key, klen, &nr->val, err);
        if (rc && rc != DSR_ENOTFOUND)
            return rc;   /* the row stays cached as absent; the chunk is abandoned */
        nr->present = rc == 0;
        ps->bytes += nr->val.len + klen;
        r = nr;
    }
    if (!r->present)
        return 0;
    *val = r->val.data;
    *vlen = r->val.len;
    return 1;
}

/* The cache row of key, now holding a value of vlen bytes (dirty, present);
 * its old value's bytes leave the chunk's count. */
static ps_row *put_row(pstate *ps, const void *key, size_t klen, size_t vlen, int *rc,
                       dsr_err *err)
{
    int created;
    ps_row *r = row_for(ps, key, klen, &created, err);
    if (!r) {
        *rc = DSR_ENOMEM;
        return NULL;
    }
    ps->bytes -= created ? 0 : r->val.len;
    ps->bytes += vlen + (created ? klen : 0);
    r->present = 1;
    r->dirty = 1;
    return r;
}

int ps_put(pstate *ps, const void *key, size_t klen, const void *val, size_t vlen,
           dsr_err *err)
{
    int rc;
    ps_row *r = put_row(ps, key, klen, vlen, &rc, err);
    if (!r)
        return rc;
    dsr_buf_reset(&r->val);
    if (dsr_buf_append(&r->val, val, vlen))
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory caching a row", ps->cf);
    return 0;
}

int ps_put_take(pstate *ps, const void *key, size_t klen, dsr_buf *val, dsr_err *err)
{
    int rc;
    ps_row *r = put_row(ps, key, klen, val->len, &rc, err);
    if (!r)
        return rc;
    dsr_buf_free(&r->val);
    r->val = *val;
    memset(val, 0, sizeof *val);
    return 0;
}

int ps_del(pstate *ps, const void *key, size_t klen, dsr_err *err)
{
    int created;
    ps_row *r = row_for(ps, key, klen, &created, err);
    if (!r)
        return DSR_ENOMEM;
    if (created)
        ps->bytes += klen;
    else
        ps->bytes -= r->val.len;
    dsr_buf_reset(&r->val);
    r->present = 0;
    r->dirty = 1;
    return 0;
}

int ps_flush(pstate *ps, dsr_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < ps->rows.cap && !rc; i++) {
        const strmap_slot *sl = &ps->rows.slots[i];
        ps_row *r = sl->key ? sl->val : NULL;
        if (!r || !r->dirty)
            continue;
        rc = r->present ? dsr_log_batch_put(ps->b, ps->cf, sl->key, sl->klen, r->val.data,
                                            r->val.len, err)
                        : dsr_log_batch_delete(ps->b, ps->cf, sl->key, sl->klen, err);
        r->dirty = 0;
    }
    return rc;
}

static void free_rows(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        ps_row *r = m->slots[i].val;
        if (r) {
            dsr_buf_free(&r->val);
            free(r);
        }
    }
    strmap_clear(m);
}

void ps_chunk_end(pstate *ps)
{
    free_rows(&ps->rows);
    free_rows(&ps->held);
    ps->inflight = 0;
    ps->bytes = 0;
}

void ps_chunk_handed(pstate *ps)
{
#ifndef NDEBUG
    for (size_t i = 0; i < ps->rows.cap; i++) {   /* ps_flush put every row in the batch */
        const ps_row *r = ps->rows.slots[i].key ? ps->rows.slots[i].val : NULL;
        assert(!r || !r->dirty);
    }
#endif
    free_rows(&ps->held);   /* committed: the batch they were in has landed */
    strmap t = ps->held;
    ps->held = ps->rows;
    ps->rows = t;
    ps->inflight = 1;
    ps->bytes = 0;
}

void ps_free(pstate *ps)
{
    ps_chunk_end(ps);
    strmap_free(&ps->rows);
    strmap_free(&ps->held);
}

/*
 * log_read.c - reading a log: point gets, event lookups by sequence and by
 * event_id, and iterators over events and named families (refreshing a
 * read-only handle is log_secondary.c).
 *
 * Iterators read an implicit snapshot taken when they are created, so an
 * iteration never sees half of a batch committed meanwhile.  On a read-only
 * (secondary) handle the visible state only moves at dsr_log_refresh().
 * Every read verifies block checksums; a checksum or decode failure is
 * DSR_ECORRUPT naming the log and the key.
 *
 * dsr_log_iter_events hands out exactly the sequences from its start to the
 * head the handle saw when it was created, each once, in order: sequences
 * are dense, so a key that skips ahead, or an end before the head, means
 * the reader cannot see part of the committed log (a table file it could not
 * read, say).  That is DSR_ECORRUPT naming the missing range, returned before
 * any event after the hole, so no caller's cursor moves past an event it did
 * not read.  The exception is a range `verify --repair` recorded as lost
 * (meta "lost"): no event will ever have those numbers.
 *
 * Point reads wait for the handle's batch in flight (log_commit.c), so they
 * see it; log_get_committed and log_find_event_committed do not, for an
 * owner that knows the keys it asks for are not in that batch.
 */
#include "log.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dsr_seq_key(uint64_t seq, unsigned char out[8]) { be_put64(out, seq); }

uint64_t dsr_seq_from_key(const void *key) { return be_get64(key); }

struct dsr_log_iter {
    dsr_log            *log;
    rocksdb_iterator_t *it;
    char               *prefix;
    size_t              plen;
    int                 started;
    int                 events;    /* events iterator: keys must be 8 bytes */
    int                 dense;     /* dsr_log_iter_events: expect..head, no hole */
    uint64_t            expect;    /* dense: the next sequence to hand out */
    uint64_t            head;      /* dense: the head when the iterator was made */
};

/* A point get of key in family cf; wait first for the batch in flight when
 * drain is set (the public reads), or read what is committed without it. */
static int get_cf(dsr_log *log, const char *cf, const void *key, size_t klen,
                  struct dsr_buf *val, int drain, dsr_err *err)
{
    if (!log || !cf || (!key && klen) || !val)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_get: NULL argument");
    rocksdb_column_family_handle_t *h = log_cf_find(log, cf);
    if (!h)
        return dsr_err_set(err, DSR_ENOTFOUND, "%s: no column family %s", log->dir, cf);
    if (drain)
        log_commit_drain(log);
    /* Pinned: the value is read where RocksDB holds it (a table block, or
     * one copy out of the memtable) and copied once, into val.  A plain get
     * copies it twice before that (into a std::string, then into a malloc'd
     * block), and some values are megabytes (a snapshot's set row). */
    char *e = NULL;
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(log->db, log->ropts, h, key, klen, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot read %s", log->dir, cf);
    if (!ps)
        return dsr_err_set(err, DSR_ENOTFOUND, "%s: key not found in %s", log->dir, cf);
    size_t vlen = 0;
    const char *v = rocksdb_pinnableslice_value(ps, &vlen);
    int rc = dsr_buf_append(val, v, vlen);
    rocksdb_pinnableslice_destroy(ps);
    if (rc)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory reading %s", log->dir, cf);
    return 0;
}

int dsr_log_get(dsr_log *log, const char *cf, const void *key, size_t klen,
                struct dsr_buf *val, dsr_err *err)
{
    return get_cf(log, cf, key, klen, val, 1, err);
}

int log_get_committed(dsr_log *log, const char *cf, const void *key, size_t klen,
                      struct dsr_buf *val, dsr_err *err)
{
    return get_cf(log, cf, key, klen, val, 0, err);
}

int dsr_log_get_event(dsr_log *log, uint64_t seq, struct dsr_buf *rec, dsr_err *err)
{
    if (!log || !rec)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_get_event: NULL argument");
    if (!log->cf_events)
        return dsr_err_set(err, DSR_ENOTFOUND, "%s: no event %llu", log->dir,
                           (unsigned long long)seq);
    unsigned char k[8];
    dsr_seq_key(seq, k);
    int rc = dsr_log_get(log, LOG_CF_EVENTS, k, 8, rec, err);
    if (rc == DSR_ENOTFOUND)
        dsr_err_set(err, rc, "%s: no event %llu", log->dir, (unsigned long long)seq);
    return rc;
}

static int find_event(dsr_log *log, const char *event_id, uint64_t *seq, int drain,
                      dsr_err *err)
{
    if (!log || !event_id || !seq)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_find_event: NULL argument");
    if (strnlen(event_id, DSR_ULID_LEN + 1) != DSR_ULID_LEN)
        return dsr_err_set(err, DSR_ENOTFOUND, "%s: no event %.40s", log->dir, event_id);
    if (!log->cf_ids)
        return dsr_err_set(err, DSR_ENOTFOUND, "%s: no event %s", log->dir, event_id);
    if (drain)
        log_commit_drain(log);
    char *e = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf_ids, event_id, DSR_ULID_LEN,
                             &vlen, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot look up event %s", log->dir, event_id);
    if (!v)
        return dsr_err_set(err, DSR_ENOTFOUND, "%s: no event %s", log->dir, event_id);
    int rc = 0;
    if (vlen != 8)
        rc = dsr_err_set(err, DSR_ECORRUPT, "%s: ids entry of event %s is %zu bytes",
                         log->dir, event_id, vlen);
    else
        *seq = be_get64(v);
    rocksdb_free(v);
    return rc;
}

int dsr_log_find_event(dsr_log *log, const char *event_id, uint64_t *seq, dsr_err *err)
{
    return find_event(log, event_id, seq, 1, err);
}

int log_find_event_committed(dsr_log *log, const char *event_id, uint64_t *seq, dsr_err *err)
{
    return find_event(log, event_id, seq, 0, err);
}

static int iter_new(dsr_log *log, rocksdb_column_family_handle_t *h, const void *seek,
                    size_t seeklen, const void *prefix, size_t plen, int events,
                    int sequential, dsr_log_iter **out, dsr_err *err)
{
    log_commit_drain(log);
    dsr_log_iter *it = calloc(1, sizeof *it);
    if (!it)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory for an iterator", log->dir);
    it->log = log;
    it->events = events;
    if (plen) {
        if (!(it->prefix = malloc(plen))) {
            free(it);
            return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory for an iterator", log->dir);
        }
        memcpy(it->prefix, prefix, plen);
        it->plen = plen;
    }
    if (h) {
        if (!(it->it = rocksdb_create_iterator_cf(log->db, sequential ? log->scan_ropts
                                                                      : log->ropts, h))) {
            free(it->prefix);
            free(it);
            return dsr_err_set(err, DSR_ENOMEM, "%s: cannot create an iterator", log->dir);
        }
        if (seeklen)
            rocksdb_iter_seek(it->it, seek, seeklen);
        else
            rocksdb_iter_seek_to_first(it->it);
    }
    /* h == NULL: the family does not exist (yet); the iterator is empty. */
    *out = it;
    return 0;
}

int dsr_log_iter_events(dsr_log *log, uint64_t from_seq, dsr_log_iter **out, dsr_err *err)
{
    if (!log || !out)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_iter_events: NULL argument");
    unsigned char k[8];
    be_put64(k, from_seq);
    int rc = iter_new(log, log->cf_events, k, 8, NULL, 0, 1, 1, out, err);
    if (rc)
        return rc;
    /* iter_new drained the batch in flight: next_seq is what the snapshot
     * holds (a reader's view moves only at refresh). */
    (*out)->dense = !(log->flags & LOG_OPEN_LENIENT);
    (*out)->expect = from_seq ? from_seq : 1;
    (*out)->head = log->next_seq - 1;
    return 0;
}

int dsr_log_iter_cf(dsr_log *log, const char *cf, const void *prefix, size_t plen,
                    dsr_log_iter **out, dsr_err *err)
{
    if (!log || !cf || !out || (!prefix && plen))
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_iter_cf: bad argument");
    int events = !strcmp(cf, LOG_CF_EVENTS);
    return iter_new(log, log_cf_find(log, cf), prefix, plen, prefix, plen, events, events,
                    out, err);
}

int log_iter_cf_sequential(dsr_log *log, const char *cf, const void *prefix, size_t plen,
                           dsr_log_iter **out, dsr_err *err)
{
    if (!log || !cf || !out || (!prefix && plen))
        return dsr_err_set(err, DSR_EINVAL, "log_iter_cf_sequential: bad argument");
    return iter_new(log, log_cf_find(log, cf), prefix, plen, prefix, plen,
                    !strcmp(cf, LOG_CF_EVENTS), 1, out, err);
}

/* Sequences it->expect .. next - 1 are committed (the head is past them) but
 * the iterator did not find them. */
static int missing(dsr_log_iter *it, uint64_t next, dsr_err *err)
{
    unsigned long long a = it->expect, b = next - 1;
    char range[64], why[512];
    if (a == b)
        snprintf(range, sizeof range, "event %llu is", a);
    else
        snprintf(range, sizeof range, "events %llu..%llu are", a, b);
    log_db_why_unreadable(it->log, why, sizeof why);
    return dsr_err_set(err, DSR_ECORRUPT, "%s: %s missing from the log (its head is %llu)%s%s; "
                       "the log cannot be read whole: restore what is missing, or run "
                       "`dossier verify` to see what is damaged", it->log->dir, range,
                       (unsigned long long)it->head, why[0] ? ": " : "", why);
}

int dsr_log_iter_next(dsr_log_iter *it, const void **key, size_t *klen,
                      const void **val, size_t *vlen, dsr_err *err)
{
    if (!it)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_iter_next: NULL iterator");
    if (!it->it)
        return 0;
    if (it->started)
        rocksdb_iter_next(it->it);
    it->started = 1;
    if (!rocksdb_iter_valid(it->it)) {
        char *e = NULL;
        rocksdb_iter_get_error(it->it, &e);
        if (e)
            return log_rdb_fail(err, e, "%s: cannot read the log", it->log->dir);
        if (it->dense && it->expect <= it->head
            && !log_lost_covers(it->log, it->expect, it->head))
            return missing(it, it->head + 1, err);
        return 0;
    }
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it->it, &kl);
    if (it->plen && (kl < it->plen || memcmp(k, it->prefix, it->plen)))
        return 0;
    if (it->events && kl != 8)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: events key of %zu bytes (expected 8)",
                           it->log->dir, kl);
    if (it->dense) {
        uint64_t seq = be_get64(k);
        if (seq > it->head)
            return 0;   /* committed after the iterator's view: not in it */
        if (seq != it->expect && !log_lost_covers(it->log, it->expect, seq - 1))
            return missing(it, seq, err);
        it->expect = seq + 1;
    }
    const char *v = rocksdb_iter_value(it->it, &vl);
    if (key)
        *key = k;
    if (klen)
        *klen = kl;
    if (val)
        *val = v;
    if (vlen)
        *vlen = vl;
    return 1;
}

void dsr_log_iter_free(dsr_log_iter *it)
{
    if (!it)
        return;
    if (it->it)
        rocksdb_iter_destroy(it->it);
    free(it->prefix);
    free(it);
}

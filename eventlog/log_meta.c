/*
 * log_meta.c - what a handle loads from the store when it opens (and a
 * reader again when it refreshes): node_id, project_uuid and the counters
 * lamport and next_seq from the meta family, checked against the events;
 * for writers also the largest stored event_id.
 *
 * The check: next_seq == last event sequence + 1 (or the sequences between
 * are recorded as lost), and a log with events has an identity.  The counters are written in the same batch as the events
 * they count (log_commit.c), so a mismatch means something other than
 * dossier wrote here: DSR_ECORRUPT, never "repaired" silently.
 * LOG_OPEN_LENIENT (verify, repair) takes malformed values as absent instead.
 */
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Get meta[key] into buf (cap bytes); *len = -1 when absent. */
static int meta_get(dsr_log *log, const char *key, char *buf, size_t cap, long *len,
                    dsr_err *err)
{
    char *e = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf_meta, key, strlen(key), &vlen, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot read meta %s", log->dir, key);
    if (!v) {
        *len = -1;
        return 0;
    }
    if (vlen > cap) {
        rocksdb_free(v);
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta %s is %zu bytes, expected at most %zu",
                           log->dir, key, vlen, cap);
    }
    memcpy(buf, v, vlen);
    *len = (long)vlen;
    rocksdb_free(v);
    return 0;
}

/* Last key of the events family, 0 when it is empty. */
static int last_event_seq(dsr_log *log, uint64_t *out, dsr_err *err)
{
    *out = 0;
    if (!log->cf_events)
        return 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf_events);
    if (!it)
        return dsr_err_set(err, DSR_ENOMEM, "%s: cannot iterate events", log->dir);
    rocksdb_iter_seek_to_last(it);
    int rc = 0;
    /* Lenient opens pass over keys of the wrong size (verify reports them). */
    while ((log->flags & LOG_OPEN_LENIENT) && rocksdb_iter_valid(it)) {
        size_t klen;
        rocksdb_iter_key(it, &klen);
        if (klen == 8)
            break;
        rocksdb_iter_prev(it);
    }
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != 8)
            rc = dsr_err_set(err, DSR_ECORRUPT, "%s: events key of %zu bytes (expected 8)",
                             log->dir, klen);
        else
            *out = be_get64(k);
    } else {
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot read events", log->dir);
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* meta "lost" (log_store.h) into log->lost.  A malformed value is
 * DSR_ECORRUPT (lenient opens: taken as absent). */
static int load_lost(dsr_log *log, dsr_err *err)
{
    free(log->lost);
    log->lost = NULL;
    log->n_lost = 0;
    if (!log->cf_meta)
        return 0;
    char *e = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf_meta, LOG_META_LOST,
                             strlen(LOG_META_LOST), &vlen, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot read meta %s", log->dir, LOG_META_LOST);
    if (!v)
        return 0;
    int rc = 0;
    size_t n = vlen / 16;
    int ok = vlen % 16 == 0;
    uint64_t *r = ok && n ? malloc(n * 2 * sizeof *r) : NULL;
    if (ok && n && !r) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    } else {
        for (size_t i = 0; ok && i < 2 * n; i++) {
            r[i] = be_get64(v + 8 * i);
            /* first <= last within a range; ranges ascending, apart */
            ok = i % 2 ? r[i] >= r[i - 1] : (i == 0 ? r[i] >= 1 : r[i] > r[i - 1] + 1);
        }
        if (!ok && !(log->flags & LOG_OPEN_LENIENT))
            rc = dsr_err_set(err, DSR_ECORRUPT, "%s: meta %s is not a list of sequence "
                             "ranges (%zu bytes)", log->dir, LOG_META_LOST, vlen);
    }
    rocksdb_free(v);
    if (rc || !ok) {
        free(r);
        return rc;
    }
    log->lost = r;
    log->n_lost = n;
    return 0;
}

const uint64_t *log_lost_ranges(const dsr_log *log, size_t *n)
{
    *n = log->n_lost;
    return log->lost;
}

int log_lost_covers(const dsr_log *log, uint64_t first, uint64_t last)
{
    /* Ranges are disjoint and never adjacent, so one range covers it all. */
    for (size_t i = 0; i < log->n_lost; i++)
        if (log->lost[2 * i] <= first && last <= log->lost[2 * i + 1])
            return 1;
    return 0;
}

/* LOG_OPEN_LENIENT: a malformed meta value counts as absent, and next_seq
 * follows the events; verify and repair read meta themselves. */
static int load_meta_lenient(dsr_log *log, uint64_t last, dsr_err *err)
{
    char v[64];
    long n;
    int rc;
    log->node_id[0] = log->project_uuid[0] = '\0';
    log->lamport = 0;
    log->next_seq = last + 1;
    if (!log->cf_meta)
        return 0;
    if ((rc = meta_get(log, LOG_META_NODE_ID, v, sizeof v, &n, err)) && rc != DSR_ECORRUPT)
        return rc;
    if (!rc && n == DSR_ULID_LEN && dsr_ulid_valid(v, (size_t)n)) {
        memcpy(log->node_id, v, DSR_ULID_LEN);
        log->node_id[DSR_ULID_LEN] = '\0';
    }
    if ((rc = meta_get(log, LOG_META_PROJECT_UUID, v, sizeof v, &n, err)) && rc != DSR_ECORRUPT)
        return rc;
    if (!rc && n >= 0 && log_uuid_text_valid(v, (size_t)n)) {
        memcpy(log->project_uuid, v, 36);
        log->project_uuid[36] = '\0';
    }
    if ((rc = meta_get(log, LOG_META_LAMPORT, v, sizeof v, &n, err)) && rc != DSR_ECORRUPT)
        return rc;
    if (!rc && n == 8)
        log->lamport = be_get64(v);
    dsr_err_clear(err);
    return 0;
}

int log_load_meta(dsr_log *log, dsr_err *err)
{
    uint64_t last = 0;
    int rc = last_event_seq(log, &last, err);
    if (!rc)
        rc = load_lost(log, err);
    if (rc)
        return rc;
    if (log->flags & LOG_OPEN_LENIENT)
        return load_meta_lenient(log, last, err);
    if (!log->cf_meta) {
        /* Read-only view of a log whose families were never created: empty. */
        if (last)
            return dsr_err_set(err, DSR_ECORRUPT, "%s: events without a meta family", log->dir);
        log->node_id[0] = log->project_uuid[0] = '\0';
        log->lamport = 0;
        log->next_seq = 1;
        return 0;
    }
    char v[64];
    long n;
    if ((rc = meta_get(log, LOG_META_NODE_ID, v, sizeof v, &n, err)))
        return rc;
    if (n < 0) {
        log->node_id[0] = '\0';
    } else if (n != DSR_ULID_LEN || !dsr_ulid_valid(v, (size_t)n)) {
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta node_id is not a ULID", log->dir);
    } else {
        memcpy(log->node_id, v, DSR_ULID_LEN);
        log->node_id[DSR_ULID_LEN] = '\0';
    }
    if ((rc = meta_get(log, LOG_META_PROJECT_UUID, v, sizeof v, &n, err)))
        return rc;
    if (n < 0) {
        log->project_uuid[0] = '\0';
    } else if (!log_uuid_text_valid(v, (size_t)n)) {
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta project_uuid is not a UUID", log->dir);
    } else {
        memcpy(log->project_uuid, v, 36);
        log->project_uuid[36] = '\0';
    }
    if ((rc = meta_get(log, LOG_META_LAMPORT, v, sizeof v, &n, err)))
        return rc;
    if (n >= 0 && n != 8)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta lamport is %ld bytes", log->dir, n);
    log->lamport = n < 0 ? 0 : be_get64(v);
    if ((rc = meta_get(log, LOG_META_NEXT_SEQ, v, sizeof v, &n, err)))
        return rc;
    if (n >= 0 && n != 8)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta next_seq is %ld bytes", log->dir, n);
    log->next_seq = n < 0 ? 1 : be_get64(v);

    /* The counters and the events are written in the same batch, so they
     * always agree -- but for sequences recorded as lost after the last
     * stored event (log_hwm.c, repair); if they do not, something other than
     * dossier wrote here. */
    if (log->next_seq != last + 1
        && !(log->next_seq > last + 1 && log_lost_covers(log, last + 1, log->next_seq - 1)))
        return dsr_err_set(err, DSR_ECORRUPT,
                           "%s: meta next_seq is %llu but the last stored event is %llu",
                           log->dir, (unsigned long long)log->next_seq,
                           (unsigned long long)last);
    if (last && (!log->node_id[0] || !log->project_uuid[0]))
        return dsr_err_set(err, DSR_ECORRUPT, "%s: events stored but node_id or project_uuid "
                           "missing", log->dir);
    return 0;
}

/* Writers: the largest stored event_id (the last key of ids). */
int log_load_max_id(dsr_log *log, dsr_err *err)
{
    log->has_max_id = 0;
    if (!log->cf_ids)
        return 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf_ids);
    if (!it)
        return dsr_err_set(err, DSR_ENOMEM, "%s: cannot iterate ids", log->dir);
    rocksdb_iter_seek_to_last(it);
    int rc = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != DSR_ULID_LEN) {
            if (!(log->flags & LOG_OPEN_LENIENT))
                rc = dsr_err_set(err, DSR_ECORRUPT, "%s: ids key of %zu bytes (expected %d)",
                                 log->dir, klen, DSR_ULID_LEN);
        } else {
            memcpy(log->max_id, k, DSR_ULID_LEN);
            log->has_max_id = 1;
        }
    } else {
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot read ids", log->dir);
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* For assert(): 1 when meta's counters equal the handle's (or meta cannot be
 * read, which the caller's own reads report).  A writer's handle and meta
 * move together: every commit puts the counters in the batch it settles. */
int log_meta_agrees(dsr_log *log)
{
    if (!log->db || !log->cf_meta || (log->flags & (DSR_LOG_RDONLY | LOG_OPEN_LENIENT)))
        return 1;
    char v[64];
    long n;
    dsr_err e = { 0 };
    if (meta_get(log, LOG_META_NEXT_SEQ, v, sizeof v, &n, &e) || n != 8)
        return 1;
    if (be_get64(v) != log->next_seq)
        return 0;
    if (meta_get(log, LOG_META_LAMPORT, v, sizeof v, &n, &e) || n != 8)
        return 1;
    return be_get64(v) == log->lamport;
}

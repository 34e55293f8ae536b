/*
 * log_cf.c - the column families of a log handle: the name -> handle table,
 * families created on first use, and clearing a family.
 *
 * Invariants: every handle in the table belongs to log->db and is destroyed
 * exactly once (log_cf_destroy_all, before the db is closed).  The core
 * families (events, ids, meta) are written only by log_append.c,
 * log_commit.c and log_identity.c (and by verify/repair.c through
 * log_store.h); generic writers (projections, cursors, caches) use their own
 * names.
 */
#include "log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

rocksdb_t *log_db(dsr_log *log) { return log->db; }
const rocksdb_writeoptions_t *log_sync_wopts(dsr_log *log)
{
    log->raw_writes = 1;
    return log->wopts;
}
size_t log_cf_count(const dsr_log *log) { return log->n_cfs; }

rocksdb_column_family_handle_t *log_cf_at(const dsr_log *log, size_t i, const char **name)
{
    assert(i < log->n_cfs);
    if (name)
        *name = log->cfs[i].name;
    return log->cfs[i].h;
}

int log_cf_is_core(const char *name)
{
    return !strcmp(name, LOG_CF_EVENTS) || !strcmp(name, LOG_CF_IDS)
        || !strcmp(name, LOG_CF_META) || !strcmp(name, "default");
}

rocksdb_column_family_handle_t *log_cf_find(const dsr_log *log, const char *name)
{
    for (size_t i = 0; i < log->n_cfs; i++)
        if (!strcmp(log->cfs[i].name, name))
            return log->cfs[i].h;
    return NULL;
}

int log_cf_add(dsr_log *log, const char *name, rocksdb_column_family_handle_t *h,
               dsr_err *err)
{
    if (log->n_cfs == log->cap_cfs) {
        size_t cap = log->cap_cfs ? log->cap_cfs * 2 : 8;
        log_cf *p = realloc(log->cfs, cap * sizeof *p);
        if (!p) {
            rocksdb_column_family_handle_destroy(h);
            return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory for column family %s",
                               log->dir, name);
        }
        log->cfs = p;
        log->cap_cfs = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        rocksdb_column_family_handle_destroy(h);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory for column family %s",
                           log->dir, name);
    }
    log->cfs[log->n_cfs].name = copy;
    log->cfs[log->n_cfs].h = h;
    log->n_cfs++;
    return 0;
}

int log_cf_get_or_create(dsr_log *log, const char *name,
                         rocksdb_column_family_handle_t **out, dsr_err *err)
{
    if (!name || !*name)
        return dsr_err_set(err, DSR_EINVAL, "%s: empty column family name", log->dir);
    rocksdb_column_family_handle_t *h = log_cf_find(log, name);
    if (h) {
        *out = h;
        return 0;
    }
    if (log->flags & DSR_LOG_RDONLY)
        return dsr_err_set(err, DSR_EINVAL,
                           "%s: column family %s does not exist and the log is open read-only",
                           log->dir, name);
    /* Creating a family is its own MANIFEST write, outside any batch.  A crash
     * right after it leaves an empty family, which is what "created on first
     * use" means anyway; the batch that was going to fill it is simply lost. */
    char *e = NULL;
    h = rocksdb_create_column_family(log->db, log_cf_options(log, name), name, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot create column family %s", log->dir, name);
    int rc = log_cf_add(log, name, h, err);
    if (rc)
        return rc;
    *out = h;
    return 0;
}

void log_cf_destroy_all(dsr_log *log)
{
    for (size_t i = 0; i < log->n_cfs; i++) {
        rocksdb_column_family_handle_destroy(log->cfs[i].h);
        free(log->cfs[i].name);
    }
    free(log->cfs);
    log->cfs = NULL;
    log->n_cfs = log->cap_cfs = 0;
    log->cf_events = log->cf_ids = log->cf_meta = NULL;
}

int dsr_log_clear_cf(dsr_log *log, const char *cf, dsr_err *err)
{
    if (!log || !cf)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_clear_cf: NULL argument");
    if (log->flags & DSR_LOG_RDONLY)
        return dsr_err_set(err, DSR_EINVAL, "%s: cannot clear %s: log is open read-only",
                           log->dir, cf);
    if (log_cf_is_core(cf))
        return dsr_err_set(err, DSR_EINVAL, "%s: column family %s belongs to the event log "
                           "and cannot be cleared", log->dir, cf);
    rocksdb_column_family_handle_t *h = log_cf_find(log, cf);
    if (!h)
        return 0;   /* never created: already empty */
    log_commit_drain(log);   /* after any batch still committing */

    /* One range tombstone ["", last) plus a point delete of the last key,
     * committed with sync in one WriteBatch: readers see the family either
     * whole or empty, and a crash leaves one or the other.  (Dropping and
     * re-creating the family would invalidate open read-only handles.) */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, h);
    if (!it)
        return dsr_err_set(err, DSR_ENOMEM, "%s: cannot iterate %s", log->dir, cf);
    rocksdb_iter_seek_to_last(it);
    int rc = 0;
    char *e = NULL;
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *last = rocksdb_iter_key(it, &klen);
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        rocksdb_writebatch_delete_range_cf(wb, h, "", 0, last, klen);
        rocksdb_writebatch_delete_cf(wb, h, last, klen);
        rocksdb_write(log->db, log->wopts, wb, &e);
        rocksdb_writebatch_destroy(wb);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot clear column family %s", log->dir, cf);
    } else {
        rocksdb_iter_get_error(it, &e);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot read column family %s", log->dir, cf);
    }
    rocksdb_iter_destroy(it);
    return rc;
}

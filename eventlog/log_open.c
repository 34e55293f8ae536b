/*
 * log_open.c - the lifetime of a log handle: dsr_log_open, dsr_log_close and
 * the accessors of what an open handle knows.
 *
 * Opening, in order:
 *   1. the handle's options (log_options.c); readers also make their scratch
 *      folder (log_secondary.c);
 *   2. the RocksDB instance with every family, a writer creating the log and
 *      locking its folder (log_db.c);
 *   3. identity and counters from meta, checked against the events
 *      (log_meta.c); a reader reopens a view torn by a writer's flush
 *      (log_reader_settle);
 *   4. writers: the head compared with the high-water mark, so a log that
 *      lost committed events is refused and none is numbered twice
 *      (log_hwm.c);
 *   5. writers: the identity generated if missing (log_identity.c) and the
 *      largest stored event_id (log_meta.c).
 * Closing: stop the committer (after the batch in flight), drop the batches,
 * flush a large WAL (log_flush.c), close the instance, release the lock.
 *
 * Invariants established here: a writer handle always has the events, ids and
 * meta families, a node_id and a project_uuid (committed with sync before the
 * open returns), next_seq == last event sequence + 1 (or past a lost range
 * that follows it), and a high-water mark no higher than next_seq - 1.
 */
#include "log.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dsr_log_open(dsr_log **out, const char *dir, unsigned flags, dsr_err *err)
{
    if (!out || !dir || !*dir)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_open: no log folder given");
    *out = NULL;
    dsr_log *log = calloc(1, sizeof *log);
    if (!log)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
    log->flags = flags;
    log->next_seq = 1;
    log->folder_lock = -1;
    log->hwm_fd = -1;
    int writer = !(flags & DSR_LOG_RDONLY);
    int rc = 0;
    if (!(log->dir = strdup(dir))) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
        goto fail;
    }
    if (log_options_make(log, writer)) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
        goto fail;
    }
    /* a secondary keeps its info log in a folder of its own; the plain
     * read-only instance of DSR_LOG_INTACT writes none */
    if (!writer && !(flags & DSR_LOG_INTACT) && (rc = log_secondary_dir_make(log, err)))
        goto fail;
    /* DSR_LOG_INTACT: the mark is read before the open, so that it counts
     * only commits the open replays (a writer committing meanwhile raises
     * the head, never the mark past it). */
    uint64_t mark = 0, prev;
    int has_mark = 0, malformed;
    if (!writer && (flags & DSR_LOG_INTACT) &&
        (has_mark = log_hwm_read(dir, &mark, &prev, &malformed, err)) < 0) {
        rc = has_mark;
        goto fail;
    }
    if ((rc = log_db_open(log, writer, err)))
        goto fail;
    rc = log_load_meta(log, err);
    if (!writer)
        rc = log_reader_settle(log, rc, err);
    if (rc)
        goto fail;
    if (has_mark && mark > log->next_seq - 1) {
        char then[PATH_MAX + 48];
        snprintf(then, sizeof then, "; run `dossier verify --log %s`", dir);
        rc = log_hwm_gap(dir, log->next_seq - 1, mark, then, err);
        goto fail;
    }
    if (writer && (rc = log_hwm_open(log, err)))
        goto fail;
    if (writer && !(flags & LOG_OPEN_LENIENT) && (rc = log_hwm_reconcile(log, err)))
        goto fail;
    if (writer && ((rc = log_identity_init(log, err)) || (rc = log_load_max_id(log, err))))
        goto fail;
    assert(!writer || (log->node_id[0] && log->project_uuid[0] && log->next_seq >= 1));
    log->opened = 1;
    *out = log;
    return 0;
fail:
    dsr_log_close(log);
    return rc;
}

void dsr_log_close(dsr_log *log)
{
    if (!log)
        return;
    log_commit_stop(log);
    for (int i = 0; i < 2; i++) {
        dsr_log_batch_abort(&log->batch[i]);
        log_batch_release(&log->batch[i]);
    }
    /* Every settled commit wrote the counters the handle holds (unless the
     * store was written directly, log_sync_wopts). */
    assert(!log->opened || log->raw_writes || log_meta_agrees(log));
    log_flush_on_close(log);
    log_db_close(log);
    log_hwm_close(log);
    log_options_destroy(log);
    log_secondary_dir_remove(log);
    free(log->lost);
    free(log->dir);
    free(log);
}

const char *dsr_log_dir(const dsr_log *log) { return log->dir; }
const char *dsr_log_node_id(const dsr_log *log) { return log->node_id; }
const char *dsr_log_project_uuid(const dsr_log *log) { return log->project_uuid; }
/* The last sequence that holds an event: sequences recorded as lost after it
 * (a repair moved next_seq past them) hold none, and a projection or cursor
 * that waited for them would wait forever. */
uint64_t dsr_log_head(const dsr_log *log)
{
    uint64_t h = log->next_seq - 1;
    if (log->n_lost && log->lost[2 * log->n_lost - 1] == h)
        h = log->lost[2 * log->n_lost - 2] - 1;
    assert(h < log->next_seq);
    return h;
}
uint64_t    dsr_log_lamport(const dsr_log *log) { return log->lamport; }
dsr_ulid_gen *dsr_log_ulid_gen(dsr_log *log) { return &log->ulid; }

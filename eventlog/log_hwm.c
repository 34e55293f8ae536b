/*
 * log_hwm.c - the sequence high-water mark: the highest sequence a writer
 * ever committed, kept in a small file beside RocksDB's (LOG_HWM_FILE), so
 * that losing part of the write-ahead log cannot also lose the knowledge
 * that those sequences were handed out.
 *
 * Format (32 bytes, rewritten in place with one pwrite):
 *     "DSRHWM1\n" | head (8, BE) | prev (8, BE) | XXH3-64 of the first 24 (8, BE)
 * head: the last sequence of the last commit that appended events; prev: the
 * head before that commit, or head itself when that is not known (the mark
 * written at an open).  Example: a commit of sequences 17..20 writes
 * head 20, prev 16.
 *
 * Invariants:
 *   1. the mark never runs ahead of the durable log: it is written after the
 *      commit's synced write returned (log_commit.c settle);
 *   2. so after a crash head >= mark always (a torn last record was never
 *      acknowledged, so never marked), and head < mark means the WAL lost
 *      committed records: deleted, truncated or damaged.  One case is taken
 *      for a crash all the same: only the last commit missing and the WAL
 *      ending in a torn record (a copy taken mid-write, a tail cut short);
 *      a WAL that ends cleanly short of the mark was deleted or cut;
 *   3. the next sequence a writer assigns is above the mark once the open
 *      returns (log_hwm_reconcile), so no sequence is handed out twice.
 * The file is not fsync'd: the mark may lag after an operating-system crash
 * (a loss below it is then not noticed by this check), never lead; every
 * commit stays one synced WAL write.  A missing or malformed file is taken
 * as no mark (logs of older versions) and rewritten at the next writer open.
 */
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#define HWM_MAGIC "DSRHWM1\n"
#define HWM_SIZE  32

static void encode(unsigned char out[HWM_SIZE], uint64_t head, uint64_t prev)
{
    memcpy(out, HWM_MAGIC, 8);
    be_put64(out + 8, head);
    be_put64(out + 16, prev);
    be_put64(out + 24, XXH3_64bits(out, 24));
}

int log_hwm_read(const char *dir, uint64_t *head, uint64_t *prev, int *malformed,
                 dsr_err *err)
{
    *head = *prev = 0;
    *malformed = 0;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, LOG_HWM_FILE) >= (int)sizeof path)
        return dsr_err_set(err, DSR_EINVAL, "%s: path too long", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open", path);
    }
    unsigned char b[HWM_SIZE + 1];
    ssize_t n;
    do
        n = pread(fd, b, sizeof b, 0);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot read", path);
    if (n != HWM_SIZE || memcmp(b, HWM_MAGIC, 8) || be_get64(b + 24) != XXH3_64bits(b, 24)
        || be_get64(b + 16) > be_get64(b + 8)) {
        *malformed = n != 0;    /* an empty file: created, never written */
        return 0;
    }
    *head = be_get64(b + 8);
    *prev = be_get64(b + 16);
    return 1;
}

int log_hwm_open(dsr_log *log, dsr_err *err)
{
    assert(log->hwm_fd < 0 && !(log->flags & DSR_LOG_RDONLY));
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", log->dir, LOG_HWM_FILE) >= (int)sizeof path)
        return dsr_err_set(err, DSR_EINVAL, "%s: path too long", log->dir);
    log->hwm_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (log->hwm_fd < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open", path);
    return 0;
}

void log_hwm_close(dsr_log *log)
{
    if (log->hwm_fd >= 0)
        close(log->hwm_fd);
    log->hwm_fd = -1;
}

static int hwm_put(dsr_log *log, uint64_t head, uint64_t prev)
{
    unsigned char b[HWM_SIZE];
    encode(b, head, prev);
    ssize_t n;
    do
        n = pwrite(log->hwm_fd, b, sizeof b, 0);
    while (n < 0 && errno == EINTR);
    return n == HWM_SIZE ? 0 : -1;
}

int log_hwm_write(dsr_log *log, uint64_t head, uint64_t prev, dsr_err *err)
{
    if (log->hwm_fd < 0)
        return 0;
    if (hwm_put(log, head, prev))
        return dsr_err_errno(err, DSR_EIO, errno, "%s/%s: cannot write", log->dir,
                             LOG_HWM_FILE);
    return 0;
}

void log_hwm_commit(dsr_log *log, uint64_t prev, uint64_t head)
{
    assert(prev < head);
    assert(head == log->next_seq - 1);
    /* A failed write leaves the mark behind, which invariant 1 allows. */
    if (log->hwm_fd >= 0)
        (void)hwm_put(log, head, prev);
}

/* Record [first, last] as lost (merged with a recorded range ending just
 * before it) and move next_seq past it, in one synced batch. */
static int move_past(dsr_log *log, uint64_t first, uint64_t last, dsr_err *err)
{
    size_t n = log->n_lost;
    int merge = n && log->lost[2 * n - 1] + 1 == first;
    size_t m = merge ? n : n + 1;
    unsigned char *v = malloc(m * 16);
    if (!v)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    for (size_t i = 0; i < 2 * n; i++)
        be_put64(v + 8 * i, log->lost[i]);
    if (!merge)
        be_put64(v + 16 * n, first);
    be_put64(v + 16 * m - 8, last);
    unsigned char next[8];
    be_put64(next, last + 1);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (!wb) {
        free(v);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    }
    rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_LOST, strlen(LOG_META_LOST),
                              (const char *)v, m * 16);
    rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_NEXT_SEQ, strlen(LOG_META_NEXT_SEQ),
                              (const char *)next, 8);
    char *e = NULL;
    rocksdb_write(log->db, log->wopts, wb, &e);
    rocksdb_writebatch_destroy(wb);
    free(v);
    /* the handle follows what was written (log_meta.c reads the same) */
    if (e)
        return log_rdb_fail(err, e, "%s: cannot record sequences %llu..%llu as lost", log->dir,
                            (unsigned long long)first, (unsigned long long)last);
    if (!merge) {
        uint64_t *r = realloc(log->lost, m * 2 * sizeof *r);
        if (!r)
            return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
        log->lost = r;
        r[2 * n] = first;
    }
    log->lost[2 * m - 1] = last;
    log->n_lost = m;
    log->next_seq = last + 1;
    return 0;
}

int log_hwm_gap(const char *dir, uint64_t head, uint64_t mark, const char *then,
                dsr_err *err)
{
    assert(mark > head);
    return dsr_err_set(err, DSR_ECORRUPT,
                       "%s: sequences %llu..%llu were committed but are not in the log (its "
                       "head is %llu; %s says %llu): the write-ahead log was deleted, "
                       "truncated or damaged%s", dir, (unsigned long long)head + 1,
                       (unsigned long long)mark, (unsigned long long)head, LOG_HWM_FILE,
                       (unsigned long long)mark, then);
}

int log_hwm_reconcile(dsr_log *log, dsr_err *err)
{
    assert(log->hwm_fd >= 0 && !(log->flags & LOG_OPEN_LENIENT));
    uint64_t mark, prev;
    int malformed;
    int rc = log_hwm_read(log->dir, &mark, &prev, &malformed, err);
    if (rc < 0)
        return rc;
    uint64_t head = log->next_seq - 1;
    if (rc && mark > head) {
        if (prev > head || log->wal.damaged || !log->wal.torn)
            return log_hwm_gap(log->dir, head, mark,
                               ".  The log is not opened for writing, so that no sequence "
                               "is handed out twice; run `dossier verify --repair` to record "
                               "them as lost", err);
        /* Only the last commit is missing and the WAL ends in a torn
         * record: a tail torn by a crash. */
        if ((rc = move_past(log, head + 1, mark, err)))
            return rc;
        head = mark;
    }
    /* Invariant 3: the mark is at most the head from here on. */
    if (head && (!rc || mark < head))
        return log_hwm_write(log, head, head, err);
    return 0;
}

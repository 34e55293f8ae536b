/*
 * log_flush.c - when a writer flushes its memtables to table files.
 *
 * A writer flushes its memtables when it closes, once its WAL holds more than
 * FLUSH_ON_CLOSE_BYTES or is spread over FLUSH_ON_CLOSE_FILES files or more.
 * Nothing here is needed for durability (every batch was already fsync'd to
 * the WAL); it spares the next open -- every reader and the next scan -- from
 * replaying a large WAL, which costs far more than the flush (docs/bench.md).
 * Small sessions keep their WAL: replaying it is cheaper than writing table
 * files.  A writer's open does not flush what it replays either
 * (log_options.c), so every small session leaves one more WAL file, and each
 * open reads them all (log_wal.c, then RocksDB): the file count bounds that.
 * Errors are ignored: the WAL still holds it all.  A scan starts these flushes as soon as its run is committed
 * (log_flush_start), so they overlap the projections' fold on the other core
 * and the wait at close shrinks.
 */
#include "log.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#define FLUSH_ON_CLOSE_BYTES (4u << 20)
#define FLUSH_ON_CLOSE_FILES 8

/* 1 when the write-ahead log files ("*.log") in the log folder, what the
 * next open would replay, are past either limit. */
static int wal_large(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t total = 0;
    unsigned files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        struct stat st;
        if (n > 4 && !strcmp(de->d_name + n - 4, ".log") &&
            fstatat(dirfd(d), de->d_name, &st, 0) == 0) {
            total += (uint64_t)st.st_size;
            files++;
        }
    }
    closedir(d);
    return total >= FLUSH_ON_CLOSE_BYTES || files >= FLUSH_ON_CLOSE_FILES;
}

/* Ask RocksDB to flush every family's memtable (wait = 0: in the background,
 * wait = 1: and wait for every flush still running). */
static void flush_all(dsr_log *log, int wait)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    if (!fo)
        return;
    rocksdb_flushoptions_set_wait(fo, (unsigned char)wait);
    for (size_t i = 0; i < log->n_cfs; i++) {
        char *e = NULL;
        rocksdb_flush_cf(log->db, fo, log->cfs[i].h, &e);
        free(e);
    }
    rocksdb_flushoptions_destroy(fo);
}

void log_flush_start(dsr_log *log)
{
    if (!log->db || (log->flags & DSR_LOG_RDONLY) || !wal_large(log->dir))
        return;
    flush_all(log, 0);
}

int log_flush_wait(dsr_log *log, dsr_err *err)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    if (!fo)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    rocksdb_flushoptions_set_wait(fo, 1);
    int rc = 0;
    for (size_t i = 0; i < log->n_cfs && !rc; i++) {
        char *e = NULL;
        rocksdb_flush_cf(log->db, fo, log->cfs[i].h, &e);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot flush %s", log->dir, log->cfs[i].name);
    }
    rocksdb_flushoptions_destroy(fo);
    return rc;
}

void log_flush_on_close(dsr_log *log)
{
    if (!log->db || (log->flags & DSR_LOG_RDONLY) || !wal_large(log->dir))
        return;
    flush_all(log, 1);
}

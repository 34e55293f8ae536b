/*
 * log_flush.c - when a writer flushes its memtables to table files, and
 * when its close compacts a small family.
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
 *
 * Each such flush adds a level-0 table to every family it wrote, and
 * RocksDB's own compaction of level 0 (scheduled at COMPACT_FILES tables)
 * is cancelled by the close of a short session before it runs: a log used
 * only by small scans gathered a few tiny tables per family every few scans,
 * and every read of a family merges its level-0 tables, every reader's open
 * loads every table (docs/bench.md).  So a closing writer
 * that flushed compacts the families where that is due, at most
 * COMPACT_MAX_BYTES of rewriting (compact_small): a close never rewrites a
 * large family.  A family is rewritten whole only while its tables are small
 * (at most COMPACT_TABLE_BYTES on average), which is what short sessions
 * leave; otherwise only its level 0 is merged.  A large run flushes
 * megabytes per family, and rewriting such a young family whole at every few
 * closes copied its older tables again each time, the close waiting on it;
 * merging level 0 copies each new table once (docs/bench.md, "The close of
 * a large run").  A compaction is crash-safe (new tables are synced before
 * the MANIFEST names them) and changes no key or value.
 */
#include "log.h"
#include "fs_room.h"

#include <assert.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#define FLUSH_ON_CLOSE_BYTES (4u << 20)
#define FLUSH_ON_CLOSE_FILES 8
/* RocksDB's level0_file_num_compaction_trigger (left at its default). */
#define COMPACT_FILES 4
#define COMPACT_MAX_BYTES (8u << 20)
/* Between the tables of short sessions (kilobytes) and a large run's
 * (megabytes). */
#define COMPACT_TABLE_BYTES (256u << 10)

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
    log->flushed = 1;
    flush_all(log, 0);
}

int log_flush_wait(dsr_log *log, dsr_err *err)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    if (!fo)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    rocksdb_flushoptions_set_wait(fo, 1);
    log->flushed = 1;
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

/* Bytewise order of two keys (the families use RocksDB's default
 * comparator). */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* A family's tables as the close sees them: all of them, and its level 0
 * with its key range [lo, hi] (pointing into lf) and the bytes a compaction
 * of that range rewrites (level 0 plus the lower tables overlapping it). */
typedef struct cf_tables {
    int         files, l0;
    uint64_t    bytes, l0_bytes;
    const char *lo, *hi;
    size_t      lolen, hilen;
} cf_tables;

static int in_cf(const rocksdb_livefiles_t *lf, int i, const char *cf)
{
    return !strcmp(rocksdb_livefiles_column_family_name(lf, i), cf);
}

static cf_tables cf_tables_of(const rocksdb_livefiles_t *lf, int n, const char *cf)
{
    cf_tables t = { 0 };
    for (int i = 0; i < n; i++) {
        if (!in_cf(lf, i, cf))
            continue;
        t.files++;
        t.bytes += rocksdb_livefiles_size(lf, i);
        if (rocksdb_livefiles_level(lf, i) != 0)
            continue;
        size_t sl, ll;
        const char *sk = rocksdb_livefiles_smallestkey(lf, i, &sl);
        const char *lk = rocksdb_livefiles_largestkey(lf, i, &ll);
        if (!t.l0 || key_cmp(sk, sl, t.lo, t.lolen) < 0) {
            t.lo = sk;
            t.lolen = sl;
        }
        if (!t.l0 || key_cmp(lk, ll, t.hi, t.hilen) > 0) {
            t.hi = lk;
            t.hilen = ll;
        }
        t.l0++;
        t.l0_bytes += rocksdb_livefiles_size(lf, i);
    }
    if (!t.l0)
        return t;
    for (int i = 0; i < n; i++) {
        if (rocksdb_livefiles_level(lf, i) == 0 || !in_cf(lf, i, cf))
            continue;
        size_t sl, ll;
        const char *sk = rocksdb_livefiles_smallestkey(lf, i, &sl);
        const char *lk = rocksdb_livefiles_largestkey(lf, i, &ll);
        if (key_cmp(lk, ll, t.lo, t.lolen) >= 0 && key_cmp(sk, sl, t.hi, t.hilen) <= 0)
            t.l0_bytes += rocksdb_livefiles_size(lf, i);
    }
    return t;
}

log_close_compaction log_close_compaction_of(int files, uint64_t bytes, int l0,
                                             uint64_t l0_bytes)
{
    assert(l0 <= files && l0_bytes <= bytes);
    if (files >= COMPACT_FILES && bytes <= COMPACT_MAX_BYTES &&
        bytes <= (uint64_t)files * COMPACT_TABLE_BYTES)
        return LOG_COMPACT_WHOLE;
    if (l0 >= COMPACT_FILES && l0_bytes <= COMPACT_MAX_BYTES)
        return LOG_COMPACT_LEVEL0;
    return LOG_COMPACT_NONE;
}

/* Compact where it is due and small, family by family
 * (log_close_compaction_of):
 *   - a small family (at most COMPACT_MAX_BYTES in all) of small tables
 *     (COMPACT_TABLE_BYTES on average), COMPACT_FILES of them or more: all
 *     of it, into one table;
 *   - else one with COMPACT_FILES tables in level 0: that key range, when
 *     level 0 and what it overlaps are at most COMPACT_MAX_BYTES.
 * The last level is rewritten too (kForceOptimized): tables that RocksDB
 * would move down whole (keys that overlap nothing below, as the events and
 * ids of a new run) are merged instead of piling up one per flush.  Errors
 * are ignored: the tables stay as they were. */
static void compact_small(dsr_log *log)
{
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(log->db);
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    if (!lf || !co) {
        if (lf)
            rocksdb_livefiles_destroy(lf);
        if (co)
            rocksdb_compactoptions_destroy(co);
        return;
    }
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 3 /* kForceOptimized */);
    int n = rocksdb_livefiles_count(lf);
    for (size_t i = 0; i < log->n_cfs; i++) {
        cf_tables t = cf_tables_of(lf, n, log->cfs[i].name);
        log_close_compaction kind =
            log_close_compaction_of(t.files, t.bytes, t.l0, t.l0_bytes);
        if (kind == LOG_COMPACT_NONE)
            continue;
        int whole = kind == LOG_COMPACT_WHOLE;
        assert(whole || key_cmp(t.lo, t.lolen, t.hi, t.hilen) <= 0);
        uint64_t out = whole ? t.bytes : t.l0_bytes;
        /* the new tables are written before the old ones go; on a full disk
         * skip it (common/fs_room.h says why a failed write must not be
         * followed by another) */
        dsr_err room;
        if (fs_room_check(log->dir, out + FS_ROOM_OPEN_BYTES, 2 * out + FS_ROOM_OPEN_BYTES,
                          "event log", &room))
            break;
        if (whole)
            rocksdb_compact_range_cf_opt(log->db, log->cfs[i].h, co, NULL, 0, NULL, 0);
        else
            rocksdb_compact_range_cf_opt(log->db, log->cfs[i].h, co, t.lo, t.lolen, t.hi,
                                         t.hilen);
    }
    rocksdb_compactoptions_destroy(co);
    rocksdb_livefiles_destroy(lf);
}

void log_flush_on_close(dsr_log *log)
{
    if (!log->db || (log->flags & DSR_LOG_RDONLY))
        return;
    if (wal_large(log->dir))
        log->flushed = 1;
    if (!log->flushed)
        return;
    /* also waits for a flush log_flush_start began */
    flush_all(log, 1);
    compact_small(log);
}

/*
 * log_db.c - the RocksDB instance under a handle: the log folder (created
 * for a new log), the writers' folder lock, opening the instance with every
 * column family it has, and closing it.
 *
 * Writers open the RocksDB database in dir, which takes RocksDB's LOCK file:
 * a second writer gets "lock held", reported as DSR_ELOCKED naming the folder
 * (DSR_LOG_WAIT retries with backoff instead).  Before that, a writer locks
 * the folder itself (common/dir_lock.h), so a second writer is turned away
 * before RocksDB touches any file.  Read-only handles are RocksDB
 * *secondary* instances (log_secondary.c): they never take the lock, replay
 * the writer's WAL (so they see every committed batch, even one a crashed
 * writer left in the WAL) and catch up on dsr_log_refresh().  verify opens a
 * plain read-only instance instead (LOG_OPEN_LENIENT), which checks every
 * table file up front.
 *
 * Before RocksDB opens, writers and verify check the WAL files themselves
 * (log_wal.c, check_wal below).
 *
 * Invariant: a writer handle has the events, ids and meta families (created
 * with the log); the folder lock is held exactly while log->db is a writer's
 * instance.
 */
#include "log.h"
#include "dir_lock.h"
#include "fs_room.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int mkdir_p(const char *dir, dsr_err *err)
{
    char *p = strdup(dir);
    if (!p)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1; ; s++) {
        char c = *s;
        if (c == '/' || c == '\0') {
            *s = '\0';
            /* The log folder itself is private (it names files, URLs and
             * secret files of the mission); its parents are the user's. */
            if (mkdir(p, c == '\0' ? 0700 : 0777) != 0 && errno != EEXIST) {
                int e = errno;
                dsr_err_errno(err, DSR_EIO, e, "%s: cannot create log folder %s", dir, p);
                free(p);
                return DSR_EIO;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot stat log folder", dir);
    if (!S_ISDIR(st.st_mode))
        return dsr_err_set(err, DSR_EIO, "%s: exists and is not a folder", dir);
    return 0;
}

/* 1 when dir holds a RocksDB database (its CURRENT file), 0 when not, or a
 * negative code when dir cannot be examined. */
static int has_db(const char *dir, dsr_err *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/CURRENT", dir) >= (int)sizeof path)
        return dsr_err_set(err, DSR_EINVAL, "%s: path too long", dir);
    struct stat st;
    if (stat(path, &st) == 0)
        return 1;
    if (errno == ENOENT || errno == ENOTDIR)
        return 0;
    return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot read log folder", dir);
}

/* Names of the families to open: what the database lists, plus (writers) the
 * core ones.  *names is a malloc'd array of malloc'd strings. */
static int family_names(dsr_log *log, int exists, int writer, char ***names, size_t *n,
                        dsr_err *err)
{
    static const char *const core[] = { "default", LOG_CF_EVENTS, LOG_CF_IDS, LOG_CF_META };
    char **listed = NULL;
    size_t nlisted = 0;
    if (exists) {
        char *e = NULL;
        listed = rocksdb_list_column_families(log->opts, log->dir, &nlisted, &e);
        if (e) {
            /* The C API returns a (possibly empty) array even on error. */
            if (listed)
                rocksdb_list_column_families_destroy(listed, nlisted);
            return log_rdb_fail(err, e, "%s: cannot read the event log", log->dir);
        }
    }
    size_t cap = nlisted + 4;
    char **out = calloc(cap, sizeof *out);
    if (!out) {
        if (listed)
            rocksdb_list_column_families_destroy(listed, nlisted);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    }
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < nlisted && !rc; i++)
        if (!(out[k++] = strdup(listed[i])))
            rc = DSR_ENOMEM;
    for (size_t c = 0; c < 4 && !rc && writer; c++) {
        int seen = 0;
        for (size_t i = 0; i < k; i++)
            seen |= !strcmp(out[i], core[c]);
        if (!seen && !(out[k++] = strdup(core[c])))
            rc = DSR_ENOMEM;
    }
    if (listed)
        rocksdb_list_column_families_destroy(listed, nlisted);
    if (rc) {
        for (size_t i = 0; i < k; i++)
            free(out[i]);
        free(out);
        return dsr_err_set(err, rc, "%s: out of memory", log->dir);
    }
    *names = out;
    *n = k;
    return 0;
}

static int locked_error(const dsr_log *log, dsr_err *err)
{
    return dsr_err_set(err, DSR_ELOCKED,
                       "%s: the event log is locked by another writer (a scan, watch, import, "
                       "pull or verify --repair is running); retry when it ends or wait for "
                       "it (--wait)", log->dir);
}

/* Writers lock the log folder before RocksDB is opened and unlock it after
 * it is closed (common/dir_lock.h says why). */
static int lock_folder(dsr_log *log, dsr_err *err)
{
    int rc = dir_lock(log->dir, &log->folder_lock, err);
    return rc == DSR_ELOCKED ? locked_error(log, err) : rc;
}

/* Before RocksDB replays the WAL (and, for a writer, deletes it once its
 * records are in tables): a writer refuses a WAL damaged anywhere but its
 * torn tail, since the replay would end at the damage and the committed
 * events after it would be gone for good; a reader with DSR_LOG_INTACT, which
 * would not see them, refuses it too.  verify and repair (lenient) go on
 * and have RocksDB skip the damaged records instead, keeping those after
 * them; they report the damage (log_wal) and the sequences it took. */
static int check_wal(dsr_log *log, int writer, dsr_err *err)
{
    int rc = log_wal_check(log->dir, &log->wal, err);
    if (rc || !log->wal.damaged)
        return rc;
    if (!(log->flags & LOG_OPEN_LENIENT))
        return dsr_err_set(err, DSR_ECORRUPT,
                           "%s/%s: the write-ahead log is damaged at offset %llu (%s); "
                           "the events committed in and after that record would be %s, so the log is "
                           "not opened%s (nothing was changed): run `dossier verify "
                           "--repair --log %s` to keep what can be read and record which "
                           "sequences were lost", log->dir, log->wal.file,
                           (unsigned long long)log->wal.offset, log->wal.what,
                           writer ? "lost" : "missing", writer ? " for writing" : "", log->dir);
    rocksdb_options_set_wal_recovery_mode(log->opts, 3 /* kSkipAnyCorruptedRecords */);
    return 0;
}

static int open_once(dsr_log *log, int writer, dsr_err *err)
{
    int exists = has_db(log->dir, err);
    if (exists < 0)
        return exists;
    if (!exists && (!writer || (log->flags & DSR_LOG_NOCREATE)))
        return dsr_err_set(err, DSR_ENOTFOUND, "%s: no event log here", log->dir);
    if (!exists) {
        int rc = mkdir_p(log->dir, err);
        if (rc)
            return rc;
    }
    if (writer && log->folder_lock < 0) {
        int rc = lock_folder(log, err);
        if (rc)
            return rc;
    }
    if (exists && (writer || (log->flags & (LOG_OPEN_LENIENT | DSR_LOG_INTACT)))) {
        int rc = check_wal(log, writer, err);
        if (rc)
            return rc;
    }
    /* A writer's open writes the info LOG header, OPTIONS, a MANIFEST, a
     * new WAL and a table of the replayed WAL (about the WAL's size); on a
     * full disk one of those writes failed and the next aborted the process
     * (common/fs_room.h), so a writer checks for that room first. */
    if (writer) {
        int rc = fs_room_check(log->dir, FS_ROOM_OPEN_BYTES,
                               FS_ROOM_OPEN_BYTES + log->wal.bytes, "event log", err);
        if (rc)
            return rc;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = family_names(log, exists, writer, &names, &n, err);
    if (rc)
        return rc;
    const rocksdb_options_t **cfo = calloc(n, sizeof *cfo);
    rocksdb_column_family_handle_t **hs = calloc(n, sizeof *hs);
    if (!cfo || !hs) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        cfo[i] = log_cf_options(log, names[i]);
    char *e = NULL;
    if (writer)
        log->db = rocksdb_open_column_families(log->opts, log->dir, (int)n,
                                               (const char *const *)names, cfo, hs, &e);
    else if (log->flags & (LOG_OPEN_LENIENT | DSR_LOG_INTACT))
        /* verify and DSR_LOG_INTACT: a plain read-only instance.  It takes
         * no lock either, but unlike a secondary (which silently passes over
         * table files it cannot open, since its primary may have deleted
         * them) it opens every table file up front and fails on a missing
         * or damaged one. */
        log->db = rocksdb_open_for_read_only_column_families(
            log->opts, log->dir, (int)n, (const char *const *)names, cfo, hs, 0, &e);
    else
        log->db = rocksdb_open_as_secondary_column_families(
            log->opts, log->dir, log->secondary_dir, (int)n, (const char *const *)names,
            cfo, hs, &e);
    if (e) {
        log->db = NULL;
        rc = log_rdb_fail(err, e, "%s: cannot open the event log", log->dir);
        if (rc == DSR_ELOCKED)
            locked_error(log, err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rocksdb_column_family_handle_t *h = hs[i];
        hs[i] = NULL;
        if ((rc = log_cf_add(log, names[i], h, err)))
            goto out;
    }
    log->cf_events = log_cf_find(log, LOG_CF_EVENTS);
    log->cf_ids = log_cf_find(log, LOG_CF_IDS);
    log->cf_meta = log_cf_find(log, LOG_CF_META);
    assert(!writer || (log->cf_events && log->cf_ids && log->cf_meta && log->folder_lock >= 0));
out:
    for (size_t i = 0; i < n; i++) {
        if (hs && hs[i])
            rocksdb_column_family_handle_destroy(hs[i]);
        free(names[i]);
    }
    free(names);
    free(cfo);
    free(hs);
    return rc;
}

void log_db_close(dsr_log *log)
{
    log_cf_destroy_all(log);
    if (log->db)
        rocksdb_close(log->db);
    log->db = NULL;
    if (log->folder_lock >= 0) {
        close(log->folder_lock);            /* releases the flock */
        log->folder_lock = -1;
    }
}

void log_sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int log_db_open(dsr_log *log, int writer, dsr_err *err)
{
    assert(!log->db);
    unsigned backoff = 10;
    for (;;) {
        int rc = open_once(log, writer, err);
        if (rc != DSR_ELOCKED || !writer || !(log->flags & DSR_LOG_WAIT))
            return rc;
        /* Another writer holds the LOCK: poll with exponential backoff capped
         * at one second; the holder releases it when its process ends. */
        log_db_close(log);
        log_sleep_ms(backoff);
        if (backoff < 1000)
            backoff *= 2;
    }
}

/* A secondary passes over table files it cannot open, so when a reader
 * finds part of the log missing, ask a plain read-only instance, which opens
 * every table file and fails naming the one it cannot: RocksDB's message,
 * or "" when that instance opens fine. */
void log_db_why_unreadable(dsr_log *log, char *out, size_t cap)
{
    out[0] = '\0';
    char **names = NULL;
    size_t n = 0;
    dsr_err e = { 0 };
    if (family_names(log, 1, 0, &names, &n, &e)) {
        snprintf(out, cap, "%s", e.msg);
        return;
    }
    const rocksdb_options_t **cfo = calloc(n, sizeof *cfo);
    rocksdb_column_family_handle_t **hs = calloc(n, sizeof *hs);
    if (cfo && hs) {
        for (size_t i = 0; i < n; i++)
            cfo[i] = log_cf_options(log, names[i]);
        char *msg = NULL;
        rocksdb_t *db = rocksdb_open_for_read_only_column_families(
            log->opts, log->dir, (int)n, (const char *const *)names, cfo, hs, 0, &msg);
        if (msg) {
            snprintf(out, cap, "%s", msg);
            rocksdb_free(msg);
        } else if (db) {
            for (size_t i = 0; i < n; i++)
                rocksdb_column_family_handle_destroy(hs[i]);
            rocksdb_close(db);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(cfo);
    free(hs);
}

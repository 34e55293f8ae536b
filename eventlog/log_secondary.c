/*
 * log_secondary.c - read-only handles: RocksDB secondary instances that
 * follow a writer without taking its lock.
 *
 * A secondary needs a private folder for its own info log; we make one under
 * $TMPDIR and remove it on close (and sweep those of readers that died).  A
 * secondary's view can be torn while the writer flushes (log_reader_settle),
 * and it catches up with the writer on dsr_log_refresh(), reopening when the
 * writer created column families since.
 */
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the scratch folder ---------------------------------------------------- */

static void remove_tree_flat(const char *dir)
{
    /* The secondary folder only ever holds RocksDB info-log files. */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char path[4096];
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Readers killed before dsr_log_close leave their folder behind.  Folder
 * names carry the owner's pid; remove those whose owner no longer exists.
 * Best effort: failures only leave a few KB of RocksDB info log in $TMPDIR. */
static void sweep_stale_readers(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d)
        return;
    struct dirent *de;
    static const char prefix[] = "dossier-reader-";
    char path[4096];
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, sizeof prefix - 1))
            continue;
        char *end;
        long pid = strtol(de->d_name + sizeof prefix - 1, &end, 10);
        if (pid <= 0 || *end != '-')
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", tmp, de->d_name) < (int)sizeof path)
            remove_tree_flat(path);
    }
    closedir(d);
}

int log_secondary_dir_make(dsr_log *log, dsr_err *err)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    sweep_stale_readers(tmp);
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/dossier-reader-%ld-XXXXXX", tmp, (long)getpid());
    if (!mkdtemp(tmpl))
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot create a reader folder %s",
                             log->dir, tmpl);
    if (!(log->secondary_dir = strdup(tmpl))) {
        rmdir(tmpl);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    }
    return 0;
}

void log_secondary_dir_remove(dsr_log *log)
{
    if (!log->secondary_dir)
        return;
    remove_tree_flat(log->secondary_dir);
    free(log->secondary_dir);
    log->secondary_dir = NULL;
}

/* ---- a consistent view ------------------------------------------------------- */

/* A secondary's view can be torn while the writer flushes.  It reads the
 * MANIFEST and the WAL files at different moments, so a flush that lands in
 * between -- a new table file for one family, the old WAL dropped -- can leave
 * a view with the events of that table but without what only the dropped WAL
 * held: no identity at all (an empty-looking log), or events without the
 * node_id written when the log was created.  Every log with events has both,
 * so a reader that sees either reopens, for up to a second, before it believes
 * the log is empty or reports it corrupt.  rc is the result of the first
 * load. */
int log_reader_settle(dsr_log *log, int rc, dsr_err *err)
{
    for (int tries = 0; tries < 40 && (rc == DSR_ECORRUPT || (!rc && !log->node_id[0]));
         tries++) {
        log_db_close(log);
        log_sleep_ms(25);
        dsr_err_clear(err);
        if (!(rc = log_db_open(log, 0, err)))
            rc = log_load_meta(log, err);
    }
    return rc;
}

static int reopen(dsr_log *log, dsr_err *err)
{
    log_db_close(log);
    int rc = log_db_open(log, 0, err);
    if (!rc)
        rc = log_load_meta(log, err);
    return log_reader_settle(log, rc, err);
}

/* Do the families the database lists differ from the ones this handle has? */
static int families_changed(dsr_log *log, int *changed, dsr_err *err)
{
    char *e = NULL;
    size_t n = 0;
    char **names = rocksdb_list_column_families(log->opts, log->dir, &n, &e);
    if (e) {
        /* The C API returns a (possibly empty) array even on error. */
        if (names)
            rocksdb_list_column_families_destroy(names, n);
        return log_rdb_fail(err, e, "%s: cannot read the event log", log->dir);
    }
    *changed = n != log->n_cfs;
    for (size_t i = 0; i < n && !*changed; i++)
        *changed = !log_cf_find(log, names[i]);
    rocksdb_list_column_families_destroy(names, n);
    return 0;
}

int dsr_log_refresh(dsr_log *log, dsr_err *err)
{
    if (!log)
        return dsr_err_set(err, DSR_EINVAL, "dsr_log_refresh: NULL log");
    if (!(log->flags & DSR_LOG_RDONLY))
        return 0;   /* a writer always sees its own commits */
    /* Column families created by the writer after we opened cannot be
     * attached to a secondary; reopen to get handles for them. */
    int changed = 0;
    int rc = families_changed(log, &changed, err);
    if (rc)
        return rc;
    if (changed)
        return reopen(log, err);
    char *e = NULL;
    rocksdb_try_catch_up_with_primary(log->db, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot catch up with the writer", log->dir);
    return log_reader_settle(log, log_load_meta(log, err), err);
}

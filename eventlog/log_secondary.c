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
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the scratch folder ---------------------------------------------------- */

/* The scratch folder only ever holds RocksDB info-log files.  Empty the
 * folder `name` of the directory parent_fd and remove it, without following
 * any link: the folder is opened O_NOFOLLOW, must be the one that was
 * examined (same device and inode as *st), and its entries are unlinked
 * relative to its own descriptor (a link among them is removed itself, never
 * what it points at). */
static void remove_scratch_at(int parent_fd, const char *name, const struct stat *st)
{
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat now;
    if (fstat(fd, &now) != 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
        close(fd);
        return;
    }
    int lfd = dup(fd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        if (lfd >= 0)
            close(lfd);
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        unlinkat(fd, de->d_name, 0);   /* a folder inside is left: not ours */
    }
    closedir(d);
    close(fd);
    unlinkat(parent_fd, name, AT_REMOVEDIR);
}

static const char scratch_prefix[] = "dossier-reader-";

/* 1 when name is exactly what log_secondary_dir_make creates:
 * "dossier-reader-<pid>-XXXXXX" with a positive decimal pid and mkdtemp's six
 * characters; *pid set. */
static int scratch_name(const char *name, long *pid)
{
    if (strncmp(name, scratch_prefix, sizeof scratch_prefix - 1))
        return 0;
    const char *p = name + sizeof scratch_prefix - 1;
    if (*p < '1' || *p > '9')
        return 0;
    char *end;
    errno = 0;
    *pid = strtol(p, &end, 10);
    if (errno || *pid <= 0 || *end != '-' || strlen(end + 1) != 6)
        return 0;
    for (const char *c = end + 1; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return 0;
    return 1;
}

/* Readers killed before dsr_log_close leave their folder behind.  Folder
 * names carry the owner's pid; remove those whose owner no longer exists.
 * $TMPDIR is shared, so only folders this user can prove it made are
 * touched: the exact name form, a real folder (not a link: fstatat with
 * AT_SYMLINK_NOFOLLOW), owned by this effective uid; removal never follows a
 * link (remove_scratch_at).  Best effort: failures only leave a few KB of
 * RocksDB info log in $TMPDIR. */
static void sweep_stale_readers(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d)
        return;
    int dfd = dirfd(d);
    uid_t me = geteuid();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid;
        if (!scratch_name(de->d_name, &pid))
            continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)
            || st.st_uid != me)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        remove_scratch_at(dfd, de->d_name, &st);
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
    /* Our own folder, made by mkdtemp (mode 0700): still examined like a
     * stale one, so nothing swapped in meanwhile is followed. */
    struct stat st;
    if (fstatat(AT_FDCWD, log->secondary_dir, &st, AT_SYMLINK_NOFOLLOW) == 0
        && S_ISDIR(st.st_mode))
        remove_scratch_at(AT_FDCWD, log->secondary_dir, &st);
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
    if (log->flags & DSR_LOG_INTACT)
        return dsr_err_set(err, DSR_EINVAL, "%s: a handle opened with DSR_LOG_INTACT does not "
                           "follow a writer; open the log again", log->dir);
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

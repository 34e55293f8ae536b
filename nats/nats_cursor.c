/*
 * nats_cursor.c - the publisher's cursor store, a RocksDB instance in
 * <logdir>/publish/ (see nats_cursor.h for why it is not the log itself).
 *
 * Durability: every put is a single-key write with sync=true (RocksDB
 * writes it atomically to its WAL and fsyncs), so once nats_cursor_put
 * returns the cursor survives a crash; a crash
 * before it leaves the previous value, and the publisher then re-sends events
 * the stream already holds, which JetStream's duplicate window drops.
 * Values are 16 bytes: big-endian seq, big-endian stream creation time.
 */
#include "nats_cursor.h"
#include "be.h"
#include "dir_lock.h"
#include "fs_room.h"
#include "log_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

struct nats_cursor {
    rocksdb_t              *db;
    rocksdb_options_t      *opts;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t  *ro;
    char                   *path;
    int                     lock_fd;   /* the folder lock (dir_lock.h); -1 */
};

/* RocksDB reports errors as malloc'd strings; a held LOCK file means another
 * publisher of this log is running. */
static int cursor_locked(dsr_err *err, const char *path)
{
    return dsr_err_set(err, DSR_ELOCKED, "%s: another `dossier publish` of this log is running "
                       "(its cursor store is locked)", path);
}

static int rdb_fail(dsr_err *err, char *msg, const char *what, const char *path)
{
    int code = DSR_EIO;
    if (msg && strstr(msg, "/LOCK") &&
        (strstr(msg, "lock") || strstr(msg, "unavailable") || strstr(msg, "No locks")))
        code = DSR_ELOCKED;
    if (code == DSR_ELOCKED)
        cursor_locked(err, path);
    else
        dsr_err_set(err, code, "%s: %s: %s", path, what, msg ? msg : "unknown RocksDB error");
    rocksdb_free(msg);
    return code;
}

int nats_cursor_open(nats_cursor **out, const char *logdir, dsr_err *err)
{
    *out = NULL;
    nats_cursor *c = calloc(1, sizeof *c);
    if (!c)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    c->lock_fd = -1;
    size_t n = strlen(logdir) + sizeof "/publish";
    if (!(c->path = malloc(n))) {
        free(c);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    snprintf(c->path, n, "%s/publish", logdir);
    if (mkdir(c->path, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        dsr_err_errno(err, DSR_EIO, e, "%s: cannot create the publish cursor folder", c->path);
        nats_cursor_close(c);
        return DSR_EIO;
    }
    /* Lock the folder before RocksDB opens it (common/dir_lock.h says why). */
    int lrc = dir_lock(c->path, &c->lock_fd, err);
    if (lrc == DSR_ELOCKED)
        cursor_locked(err, c->path);
    /* A damaged WAL record would roll the cursors back (log_store.h). */
    log_wal_state wal = { 0 };
    if (lrc == 0)
        lrc = log_side_wal_check(c->path, "publish cursor store", logdir, &wal, err);
    if (lrc == 0)
        lrc = fs_room_check(c->path, FS_ROOM_OPEN_BYTES, FS_ROOM_OPEN_BYTES + wal.bytes,
                            "publish cursor store", err);
    if (lrc) {
        nats_cursor_close(c);
        return lrc;
    }
    c->opts = rocksdb_options_create();
    c->wo = rocksdb_writeoptions_create();
    c->ro = rocksdb_readoptions_create();
    if (!c->opts || !c->wo || !c->ro) {
        nats_cursor_close(c);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    rocksdb_options_set_create_if_missing(c->opts, 1);
    /* A handful of keys: keep the footprint tiny. */
    rocksdb_options_set_write_buffer_size(c->opts, 256 << 10);
    rocksdb_options_set_keep_log_file_num(c->opts, 2);
    /* Fatal messages only: on a full disk a failed info-log write makes the
     * next one abort (see eventlog/log_options.c). */
    rocksdb_options_set_info_log_level(c->opts, 4 /* FATAL */);
    rocksdb_options_set_max_open_files(c->opts, 16);
    rocksdb_writeoptions_set_sync(c->wo, 1);
    char *e = NULL;
    c->db = rocksdb_open(c->opts, c->path, &e);
    if (e) {
        c->db = NULL;
        int rc = rdb_fail(err, e, "cannot open the publish cursor store", c->path);
        nats_cursor_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

int nats_cursor_get(nats_cursor *c, const char *key, nats_cursor_val *v,
                        dsr_err *err)
{
    v->seq = 0;
    v->stream_ns = 0;
    char *e = NULL;
    size_t vlen = 0;
    char *val = rocksdb_get(c->db, c->ro, key, strlen(key), &vlen, &e);
    if (e)
        return rdb_fail(err, e, "cannot read a publish cursor", c->path);
    if (!val)
        return 0;
    int rc = 0;
    if (vlen != 16) {
        rc = dsr_err_set(err, DSR_ECORRUPT, "%s: publish cursor '%s' has %zu bytes, not 16",
                         c->path, key, vlen);
    } else {
        v->seq = be_get64(val);
        v->stream_ns = (int64_t)be_get64(val + 8);
    }
    rocksdb_free(val);
    return rc;
}

int nats_cursor_put(nats_cursor *c, const char *key, const nats_cursor_val *v,
                        dsr_err *err)
{
    unsigned char val[16];
    be_put64(val, v->seq);
    be_put64(val + 8, (uint64_t)v->stream_ns);
    char *e = NULL;
    rocksdb_put(c->db, c->wo, key, strlen(key), (const char *)val, sizeof val, &e);
    if (e)
        return rdb_fail(err, e, "cannot write a publish cursor", c->path);
    return 0;
}

void nats_cursor_close(nats_cursor *c)
{
    if (!c)
        return;
    if (c->db)
        rocksdb_close(c->db);
    if (c->lock_fd >= 0)
        close(c->lock_fd);                  /* after the database: unlocks */
    if (c->ro)
        rocksdb_readoptions_destroy(c->ro);
    if (c->wo)
        rocksdb_writeoptions_destroy(c->wo);
    if (c->opts)
        rocksdb_options_destroy(c->opts);
    free(c->path);
    free(c);
}

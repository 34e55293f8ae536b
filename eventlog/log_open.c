/*
 * log_open.c - opening, creating and closing an event log, and its identity
 * (node_id, project_uuid) and counters (lamport, next_seq) in the meta family.
 *
 * Writers open the RocksDB database in dir, which takes RocksDB's LOCK file:
 * a second writer gets "lock held", reported as DSR_ELOCKED naming the folder
 * (DSR_LOG_WAIT retries with backoff instead).  Before that, a writer locks
 * the folder itself (common/dir_lock.h), so a second writer is turned away
 * before RocksDB touches any file.  Read-only handles are RocksDB
 * *secondary* instances: they never take the lock, replay the writer's WAL
 * (so they see every committed batch, even one a crashed writer left in the
 * WAL) and catch up on dsr_log_refresh().  A secondary needs a private folder
 * for its own info log; we make one under $TMPDIR and remove it on close.
 *
 * Invariants established here: a writer handle always has the events, ids and
 * meta families, a node_id and a project_uuid (generated once, on the first
 * writer open, and committed with sync before the open returns), and
 * next_seq == last event sequence + 1 (checked on every open: a mismatch is
 * DSR_ECORRUPT, never "repaired" silently).
 */
#include "log_store.h"
#include "dir_lock.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void log_u64_be(uint64_t v, unsigned char out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

uint64_t log_be_u64(const void *p)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

/* ---- filesystem helpers -------------------------------------------------- */

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
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
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

/* ---- identity ------------------------------------------------------------ */

static int new_uuid_v4(char out[37], dsr_err *err)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return dsr_err_errno(err, DSR_EIO, errno, "getrandom");
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

static int uuid_text_valid(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* ---- options ------------------------------------------------------------- */

static int make_options(dsr_log *log, int writer)
{
    log->opts = rocksdb_options_create();
    log->table = rocksdb_block_based_options_create();
    log->events_table = rocksdb_block_based_options_create();
    log->ropts = rocksdb_readoptions_create();
    log->scan_ropts = rocksdb_readoptions_create();
    log->wopts = rocksdb_writeoptions_create();
    if (!log->opts || !log->table || !log->events_table || !log->ropts || !log->scan_ropts
        || !log->wopts)
        return DSR_ENOMEM;
    rocksdb_options_set_create_if_missing(log->opts, writer);
    rocksdb_options_set_create_missing_column_families(log->opts, writer);
    /* Refuse to open on any inconsistency instead of skipping data. */
    rocksdb_options_set_paranoid_checks(log->opts, 1);
    rocksdb_options_set_compression(log->opts, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(log->opts, 64u << 20);
    rocksdb_options_set_max_write_buffer_number(log->opts, 4);
    /* ...but all families' memtables together stay under 128 MB: a scan of
     * 1,000,000 files fills events, ids, scan_cache and the projections at
     * once, and without this cap they held ~200 MB more at the peak. */
    rocksdb_options_set_db_write_buffer_size(log->opts, 128u << 20);
    rocksdb_options_set_max_background_jobs(log->opts, 2);
    /* RocksDB's own diagnostics go to LOG files in the folder; keep few.
     * Only fatal messages (and the header written at open): librocksdb 7.8
     * as packaged by Debian keeps its assertions, and once one write to its
     * info log has failed (disk full) the next one aborts the process
     * (WritableFileWriter::AssertFalseAndGetStatusForPrevError).  The
     * disk-full error path logs at ERROR level, so with the default level a
     * full disk killed `dossier scan` with SIGABRT instead of a clean
     * "No space left on device" (tests/e2e/disk_full.sh). */
    rocksdb_options_set_keep_log_file_num(log->opts, 2);
    rocksdb_options_set_max_log_file_size(log->opts, 1u << 20);
    rocksdb_options_set_info_log_level(log->opts, 4 /* FATAL_LEVEL */);
    if (!writer)
        rocksdb_options_set_max_open_files(log->opts, -1);  /* required by secondaries */
    /* verify (lenient read-only): a damaged WAL record is an error, not the
     * silent end of the log that point-in-time recovery would make of it;
     * only a torn last record (a crash mid-write) is tolerated. */
    if (!writer && (log->flags & LOG_OPEN_LENIENT))
        rocksdb_options_set_wal_recovery_mode(log->opts, 0 /* kTolerateCorruptedTailRecords */);

    /* events: written in key order, read by sequence ranges; point lookups
     * are rare, so no filters -- less work per flush. */
    rocksdb_block_based_options_set_block_size(log->events_table, 16u << 10);
    if (!(log->events_opts = rocksdb_options_create_copy(log->opts)))
        return DSR_ENOMEM;
    rocksdb_options_set_block_based_table_factory(log->events_opts, log->events_table);

    /* ids and the named families: point lookups.  Bloom filters answer the
     * common question "is this event_id stored?" (no) without reading data
     * blocks; the memtable bloom does the same before a flush. */
    rocksdb_filterpolicy_t *filter = rocksdb_filterpolicy_create_bloom_full(10);
    if (!filter)
        return DSR_ENOMEM;
    rocksdb_block_based_options_set_filter_policy(log->table, filter);  /* table owns it */
    rocksdb_options_set_block_based_table_factory(log->opts, log->table);
    if (!(log->ids_opts = rocksdb_options_create_copy(log->opts)))
        return DSR_ENOMEM;
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(log->ids_opts, 0.05);
    rocksdb_options_set_memtable_whole_key_filtering(log->ids_opts, 1);

    /* Projection state (proj_*, verify_*): rebuilt from the log at will and
     * rewritten by every replay, so it is stored uncompressed.  LZ4 on its
     * flushes and compactions was ~15% of the CPU of a 1M-event replay
     * (bench/replay.sh: 2.7 -> 2.3 s wall on 2 cores). */
    if (!(log->proj_opts = rocksdb_options_create_copy(log->opts)))
        return DSR_ENOMEM;
    rocksdb_options_set_compression(log->proj_opts, rocksdb_no_compression);

    /* Every commit is durable: the WAL is fsynced before Write() returns. */
    rocksdb_writeoptions_set_sync(log->wopts, 1);
    rocksdb_readoptions_set_verify_checksums(log->ropts, 1);
    /* Walking the events in order (replay, export, delivery) reads each
     * block once: keeping them out of the block cache and reading ahead in
     * 2 MB steps made replay's reader ~15% cheaper (bench/replay.sh). */
    rocksdb_readoptions_set_verify_checksums(log->scan_ropts, 1);
    rocksdb_readoptions_set_fill_cache(log->scan_ropts, 0);
    rocksdb_readoptions_set_readahead_size(log->scan_ropts, 2u << 20);
    return 0;
}

rocksdb_options_t *log_cf_options(dsr_log *log, const char *name)
{
    if (!strcmp(name, LOG_CF_EVENTS))
        return log->events_opts;
    if (!strcmp(name, LOG_CF_IDS))
        return log->ids_opts;
    if (!strncmp(name, "proj_", 5) || !strncmp(name, "verify_", 7))
        return log->proj_opts;
    return log->opts;
}

/* Writers: the largest stored event_id (the last key of ids). */
static int load_max_id(dsr_log *log, dsr_err *err)
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

/* ---- meta ---------------------------------------------------------------- */

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
            *out = log_be_u64(k);
    } else {
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot read events", log->dir);
    }
    rocksdb_iter_destroy(it);
    return rc;
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
    if (!rc && n >= 0 && uuid_text_valid(v, (size_t)n)) {
        memcpy(log->project_uuid, v, 36);
        log->project_uuid[36] = '\0';
    }
    if ((rc = meta_get(log, LOG_META_LAMPORT, v, sizeof v, &n, err)) && rc != DSR_ECORRUPT)
        return rc;
    if (!rc && n == 8)
        log->lamport = log_be_u64(v);
    dsr_err_clear(err);
    return 0;
}

int log_load_meta(dsr_log *log, dsr_err *err)
{
    uint64_t last = 0;
    int rc = last_event_seq(log, &last, err);
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
    } else if (!uuid_text_valid(v, (size_t)n)) {
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta project_uuid is not a UUID", log->dir);
    } else {
        memcpy(log->project_uuid, v, 36);
        log->project_uuid[36] = '\0';
    }
    if ((rc = meta_get(log, LOG_META_LAMPORT, v, sizeof v, &n, err)))
        return rc;
    if (n >= 0 && n != 8)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta lamport is %ld bytes", log->dir, n);
    log->lamport = n < 0 ? 0 : log_be_u64(v);
    if ((rc = meta_get(log, LOG_META_NEXT_SEQ, v, sizeof v, &n, err)))
        return rc;
    if (n >= 0 && n != 8)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: meta next_seq is %ld bytes", log->dir, n);
    log->next_seq = n < 0 ? 1 : log_be_u64(v);

    /* The counters and the events are written in the same batch, so they
     * always agree; if they do not, something other than dossier wrote here. */
    if (log->next_seq != last + 1)
        return dsr_err_set(err, DSR_ECORRUPT,
                           "%s: meta next_seq is %llu but the last stored event is %llu",
                           log->dir, (unsigned long long)log->next_seq,
                           (unsigned long long)last);
    if (last && (!log->node_id[0] || !log->project_uuid[0]))
        return dsr_err_set(err, DSR_ECORRUPT, "%s: events stored but node_id or project_uuid "
                           "missing", log->dir);
    return 0;
}

/* First writer open: generate and store whatever identity is missing.  A
 * crash before this sync commit leaves a log without identity, which the next
 * writer open completes; nothing else has been written yet. */
static int init_meta(dsr_log *log, dsr_err *err)
{
    if (log->node_id[0] && log->project_uuid[0])
        return 0;
    log->identity_created = 1;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (!wb)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    int rc = 0;
    if (!log->node_id[0]) {
        if ((rc = dsr_ulid_new(&log->ulid, log->node_id))) {
            dsr_err_set(err, rc, "%s: cannot generate node_id", log->dir);
            goto out;
        }
        rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_NODE_ID,
                                  strlen(LOG_META_NODE_ID), log->node_id, DSR_ULID_LEN);
    }
    if (!log->project_uuid[0]) {
        if ((rc = new_uuid_v4(log->project_uuid, err))) {
            dsr_err_prefix(err, "%s: cannot generate project_uuid", log->dir);
            goto out;
        }
        rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_PROJECT_UUID,
                                  strlen(LOG_META_PROJECT_UUID), log->project_uuid, 36);
    }
    unsigned char k[8];
    log_u64_be(log->lamport, k);
    rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_LAMPORT, strlen(LOG_META_LAMPORT),
                              (const char *)k, 8);
    log_u64_be(log->next_seq, k);
    rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_NEXT_SEQ, strlen(LOG_META_NEXT_SEQ),
                              (const char *)k, 8);
    char *e = NULL;
    rocksdb_write(log->db, log->wopts, wb, &e);
    if (e)
        rc = log_rdb_fail(err, e, "%s: cannot store log identity", log->dir);
out:
    rocksdb_writebatch_destroy(wb);
    if (rc)
        log->node_id[0] = log->project_uuid[0] = '\0';
    return rc;
}

/* ---- open ---------------------------------------------------------------- */

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
                       "%s: the event log is locked by another writer (a scan or import is "
                       "running); retry when it ends or wait for it (--wait)", log->dir);
}

/* Writers lock the log folder before RocksDB is opened and unlock it after
 * it is closed (common/dir_lock.h says why). */
static int lock_folder(dsr_log *log, dsr_err *err)
{
    int rc = dir_lock(log->dir, &log->folder_lock, err);
    return rc == DSR_ELOCKED ? locked_error(log, err) : rc;
}

static int open_db(dsr_log *log, int writer, dsr_err *err)
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
    else if (log->flags & LOG_OPEN_LENIENT)
        /* verify: a plain read-only instance.  It takes no lock either, but
         * unlike a secondary (which silently passes over table files it
         * cannot open, since its primary may have deleted them) it opens
         * every table file up front and fails on a missing or damaged one. */
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

/* A writer flushes its memtables when it closes, once its WAL holds more than
 * FLUSH_ON_CLOSE_BYTES.  Nothing here is needed for durability (every batch
 * was already fsync'd to the WAL); it spares the next open -- every reader and
 * the next scan -- from replaying a large WAL.  Measured on a 100k-artifact
 * log (2 cores): `dossier status` after a scan 0.91 s -> 0.12 s; warm rescans
 * 2.1 s -> 1.5-1.7 s.  Small sessions keep their WAL: replaying it is cheaper
 * than writing table files.  Errors are ignored: the WAL still holds it all.
 * A scan starts these flushes as soon as its run is committed
 * (log_flush_start), so they overlap the projections' fold on the other core:
 * the wait at close of a 100k-file scan went from 0.20 s to 0.06 s. */
#define FLUSH_ON_CLOSE_BYTES (4u << 20)

/* Bytes of write-ahead log files ("*.log") in the log folder: what the next
 * open would replay. */
static uint64_t wal_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        struct stat st;
        if (n > 4 && !strcmp(de->d_name + n - 4, ".log") &&
            fstatat(dirfd(d), de->d_name, &st, 0) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
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
    if (!log->db || (log->flags & DSR_LOG_RDONLY) || wal_bytes(log->dir) < FLUSH_ON_CLOSE_BYTES)
        return;
    flush_all(log, 0);
}

int dsr_log_limit_memtables(dsr_log *log, dsr_err *err)
{
    if (!log || !log->db || (log->flags & DSR_LOG_RDONLY))
        return 0;
    /* Both are mutable column family options; families created later keep
     * the defaults of make_options. */
    static const char *const keys[] = { "write_buffer_size", "max_write_buffer_number" };
    static const char *const vals[] = { "16777216", "2" };
    log_commit_drain(log);
    for (size_t i = 0; i < log->n_cfs; i++) {
        char *e = NULL;
        rocksdb_set_options_cf(log->db, log->cfs[i].h, 2, keys, vals, &e);
        if (e)
            return log_rdb_fail(err, e, "%s: cannot limit the memtables of %s", log->dir,
                                log->cfs[i].name);
    }
    return 0;
}

static void flush_on_close(dsr_log *log)
{
    if (!log->db || (log->flags & DSR_LOG_RDONLY) || wal_bytes(log->dir) < FLUSH_ON_CLOSE_BYTES)
        return;
    flush_all(log, 1);
}

static void close_db(dsr_log *log)
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

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

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
        close_db(log);
        sleep_ms(25);
        dsr_err_clear(err);
        if (!(rc = open_db(log, 0, err)))
            rc = log_load_meta(log, err);
    }
    return rc;
}

int log_reopen_readonly(dsr_log *log, dsr_err *err)
{
    close_db(log);
    int rc = open_db(log, 0, err);
    if (!rc)
        rc = log_load_meta(log, err);
    return log_reader_settle(log, rc, err);
}

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
    int writer = !(flags & DSR_LOG_RDONLY);
    int rc = 0;
    if (!(log->dir = strdup(dir))) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
        goto fail;
    }
    if (make_options(log, writer)) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
        goto fail;
    }
    if (!writer) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
            tmp = "/tmp";
        sweep_stale_readers(tmp);
        char tmpl[4096];
        snprintf(tmpl, sizeof tmpl, "%s/dossier-reader-%ld-XXXXXX", tmp, (long)getpid());
        if (!mkdtemp(tmpl)) {
            rc = dsr_err_errno(err, DSR_EIO, errno, "%s: cannot create a reader folder %s",
                               dir, tmpl);
            goto fail;
        }
        if (!(log->secondary_dir = strdup(tmpl))) {
            rmdir(tmpl);
            rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
            goto fail;
        }
    }

    unsigned backoff = 10;
    for (;;) {
        rc = open_db(log, writer, err);
        if (rc != DSR_ELOCKED || !(flags & DSR_LOG_WAIT))
            break;
        /* Another writer holds the LOCK: poll with exponential backoff capped
         * at one second; the holder releases it when its process ends. */
        close_db(log);
        sleep_ms(backoff);
        if (backoff < 1000)
            backoff *= 2;
    }
    if (rc)
        goto fail;
    rc = log_load_meta(log, err);
    if (!writer)
        rc = log_reader_settle(log, rc, err);
    if (rc)
        goto fail;
    if (writer && ((rc = init_meta(log, err)) || (rc = load_max_id(log, err))))
        goto fail;
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
    flush_on_close(log);
    close_db(log);
    if (log->opts)
        rocksdb_options_destroy(log->opts);
    if (log->events_opts)
        rocksdb_options_destroy(log->events_opts);
    if (log->ids_opts)
        rocksdb_options_destroy(log->ids_opts);
    if (log->proj_opts)
        rocksdb_options_destroy(log->proj_opts);
    /* The options hold their own copies of the table settings (and share the
     * filter policy), so the originals can go now. */
    if (log->table)
        rocksdb_block_based_options_destroy(log->table);
    if (log->events_table)
        rocksdb_block_based_options_destroy(log->events_table);
    if (log->ropts)
        rocksdb_readoptions_destroy(log->ropts);
    if (log->scan_ropts)
        rocksdb_readoptions_destroy(log->scan_ropts);
    if (log->wopts)
        rocksdb_writeoptions_destroy(log->wopts);
    if (log->secondary_dir) {
        remove_tree_flat(log->secondary_dir);
        free(log->secondary_dir);
    }
    free(log->dir);
    free(log);
}

const char *dsr_log_dir(const dsr_log *log) { return log->dir; }
const char *dsr_log_node_id(const dsr_log *log) { return log->node_id; }
const char *dsr_log_project_uuid(const dsr_log *log) { return log->project_uuid; }
uint64_t    dsr_log_head(const dsr_log *log) { return log->next_seq - 1; }
uint64_t    dsr_log_lamport(const dsr_log *log) { return log->lamport; }
dsr_ulid_gen *dsr_log_ulid_gen(dsr_log *log) { return &log->ulid; }

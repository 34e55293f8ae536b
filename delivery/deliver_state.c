/*
 * deliver_state.c - the delivery state store: a RocksDB instance of its own
 * in <logdir>/delivery, separate from the event log.
 *
 * Why separate: the event log has one writer process (`dossier scan`) and
 * delivery must never take that lock, so delivery reads the log read-only
 * and writes only here.  RocksDB ignores a subdirectory whose name is not
 * one of its own file names, so the log folder can hold this directory
 * (tests/unit/test_deliver_state.c checks that the log still opens).
 *
 * Owns: the key layout and the msgpack encoding of endpoint records,
 * cursors and pending / done / dead entries (see deliver_state.h), and the
 * lock: a writer open holds RocksDB's LOCK file, so a second writer gets
 * DSR_ELOCKED; read-only opens take no lock and see every synced batch.
 * Durability: every batch is written with sync=true (WAL fsync) so an entry
 * that was committed survives a crash or power loss.
 */
#include "deliver_state.h"
#include "be.h"
#include "clock.h"
#include "dir_lock.h"
#include "fs_room.h"
#include "log_store.h"
#include "array.h"

#include <errno.h>
#include <limits.h>
#include <msgpack.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DSTATE_FORMAT 1

struct dstate {
    rocksdb_t              *db;
    rocksdb_options_t      *opts;
    rocksdb_readoptions_t  *ropts;
    rocksdb_writeoptions_t *wopts;
    int                     rdonly;
    int                     lock_fd;   /* writers: the folder lock (dir_lock.h); -1 */
    char                    path[PATH_MAX];
};

struct dbatch {
    dstate          *st;
    rocksdb_writebatch_t *wb;
    size_t               n;
    int                  failed;    /* an encode ran out of memory */
};

/* ---- names --------------------------------------------------------- */

int endpoint_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > DSR_ENDPOINT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* ---- open / close ----------------------------------------------------------- */

static int state_locked(dsr_err *err, const char *path)
{
    return dsr_err_set(err, DSR_ELOCKED, "delivery state %s is locked by another process "
                       "(a running `dossier deliver`?)", path);
}

static int is_lock_error(const char *msg)
{
    /* RocksDB reports "IO error: While lock file: <dir>/LOCK: Resource
     * temporarily unavailable" (another process) or "... lock hold by
     * current process" (same process). */
    return strstr(msg, "Resource temporarily unavailable") ||
           strstr(msg, "lock hold by current process") || strstr(msg, "No locks available");
}

static void dstate_free(dstate *st)
{
    if (!st)
        return;
    if (st->db)
        rocksdb_close(st->db);
    if (st->opts)
        rocksdb_options_destroy(st->opts);
    if (st->ropts)
        rocksdb_readoptions_destroy(st->ropts);
    if (st->wopts)
        rocksdb_writeoptions_destroy(st->wopts);
    if (st->lock_fd >= 0)
        close(st->lock_fd);                 /* after the database: unlocks */
    free(st);
}

int dstate_open(dstate **out, const char *logdir, unsigned flags, dsr_err *err)
{
    *out = NULL;
    dstate *st = calloc(1, sizeof *st);
    if (!st)
        return dsr_err_set(err, DSR_ENOMEM, "delivery state: out of memory");
    st->lock_fd = -1;
    int n = snprintf(st->path, sizeof st->path, "%s/delivery", logdir);
    if (n < 0 || (size_t)n >= sizeof st->path) {
        free(st);
        return dsr_err_set(err, DSR_EINVAL, "%s: path too long", logdir);
    }
    st->rdonly = !!(flags & DSTATE_RDONLY);
    char current[PATH_MAX + 16];
    snprintf(current, sizeof current, "%s/CURRENT", st->path);
    struct stat sb;
    if (stat(current, &sb) != 0) {
        if (errno != ENOENT) {
            int e = errno;
            free(st);
            return dsr_err_errno(err, DSR_EIO, e, "delivery state %s", current);
        }
        if (flags & (DSTATE_RDONLY | DSTATE_NOCREATE)) {
            free(st);
            return dsr_err_set(err, DSR_ENOTFOUND, "%s: no delivery state (no endpoint "
                               "saved and nothing delivered yet)", logdir);
        }
        /* The log folder itself may not exist yet (endpoints can be saved
         * before the first scan); RocksDB creates only the last component. */
        if (mkdir(logdir, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            free(st);
            return dsr_err_errno(err, DSR_EIO, e, "%s: cannot create the log folder", logdir);
        }
    }
    st->opts = rocksdb_options_create();
    st->ropts = rocksdb_readoptions_create();
    st->wopts = rocksdb_writeoptions_create();
    if (!st->opts || !st->ropts || !st->wopts) {
        dstate_free(st);
        return dsr_err_set(err, DSR_ENOMEM, "delivery state: out of memory");
    }
    rocksdb_options_set_create_if_missing(st->opts, !(flags & DSTATE_NOCREATE));
    /* Small state: keep RocksDB's own info log short and its memory modest.
     * Fatal messages only, as the event log does (eventlog/log_options.c):
     * Debian's librocksdb keeps its assertions, and after one failed write
     * to the info log (a full disk) the next one aborts the process; the
     * disk-full path logs at ERROR, so a lower level turned "No space left
     * on device" into SIGABRT. */
    rocksdb_options_set_info_log_level(st->opts, 4 /* FATAL */);
    rocksdb_options_set_keep_log_file_num(st->opts, 2);
    rocksdb_options_set_max_log_file_size(st->opts, 1 << 20);
    rocksdb_options_set_write_buffer_size(st->opts, 4 << 20);
    rocksdb_writeoptions_set_sync(st->wopts, 1);

    /* Before RocksDB replays the WAL: a damaged record in it would roll the
     * cursors back silently (eventlog/log_wal.c, side stores).  Writers
     * check under their folder lock, so no writer appends meanwhile. */
    log_wal_state wal = { 0 };
    char *rerr = NULL;
    if (st->rdonly) {
        int rc = log_side_wal_check(st->path, "delivery state", logdir, &wal, err);
        if (rc) {
            dstate_free(st);
            return rc;
        }
        /* A read-only open replays the live writer's WAL; if the writer
         * switches or deletes a file during that, the open fails once and
         * succeeds on the next try. */
        for (int tries = 0;; tries++) {
            st->db = rocksdb_open_for_read_only(st->opts, st->path, 0, &rerr);
            if (!rerr || tries == 4)
                break;
            rocksdb_free(rerr);
            rerr = NULL;
            clock_sleep_ms(20);
        }
    } else {
        /* Lock the folder first (common/dir_lock.h says why). */
        int rc = 0;
        if (mkdir(st->path, 0700) != 0 && errno != EEXIST)   /* private: URLs */
            rc = dsr_err_errno(err, DSR_EIO, errno, "delivery state %s", st->path);
        else if ((rc = dir_lock(st->path, &st->lock_fd, err)) == DSR_ELOCKED)
            state_locked(err, st->path);
        if (rc == 0)
            rc = log_side_wal_check(st->path, "delivery state", logdir, &wal, err);
        if (rc == 0)
            rc = fs_room_check(st->path, FS_ROOM_OPEN_BYTES, FS_ROOM_OPEN_BYTES + wal.bytes,
                               "delivery state", err);
        if (rc) {
            dstate_free(st);
            return rc;
        }
        st->db = rocksdb_open(st->opts, st->path, &rerr);
    }
    if (rerr) {
        int code = !st->rdonly && is_lock_error(rerr) ? DSR_ELOCKED : DSR_EIO;
        if (code == DSR_ELOCKED)
            state_locked(err, st->path);
        else
            dsr_err_set(err, code, "delivery state %s: %s", st->path, rerr);
        rocksdb_free(rerr);
        st->db = NULL;
        dstate_free(st);
        return code;
    }
    if (!st->rdonly) {
        /* Stamp the format once so a future layout change can detect us. */
        size_t vlen = 0;
        char *v = rocksdb_get(st->db, st->ropts, "V", 1, &vlen, &rerr);
        if (rerr) {
            dsr_err_set(err, DSR_EIO, "delivery state %s: %s", st->path, rerr);
            rocksdb_free(rerr);
            dstate_free(st);
            return DSR_EIO;
        }
        if (!v) {
            unsigned char fmt = DSTATE_FORMAT;
            rocksdb_put(st->db, st->wopts, "V", 1, (const char *)&fmt, 1, &rerr);
            if (rerr) {
                dsr_err_set(err, DSR_EIO, "delivery state %s: %s", st->path, rerr);
                rocksdb_free(rerr);
                dstate_free(st);
                return DSR_EIO;
            }
        } else {
            int bad = vlen != 1 || (unsigned char)v[0] != DSTATE_FORMAT;
            rocksdb_free(v);
            if (bad) {
                dstate_free(st);
                return dsr_err_set(err, DSR_ECORRUPT, "delivery state %s: unknown format "
                                   "version", st->path);
            }
        }
    }
    *out = st;
    return 0;
}

void dstate_close(dstate *st)
{
    dstate_free(st);
}

const char *dstate_path(const dstate *st)
{
    return st->path;
}

/* ---- keys ------------------------------------------------------------------- */

/* kind name [NUL seq8]: at most 1 + 64 + 1 + 8 bytes. */
#define KEY_MAX (2 + DSR_ENDPOINT_NAME_MAX + 8)

static size_t key_name(char *k, int kind, const char *name)
{
    size_t n = strlen(name);
    k[0] = (char)kind;
    memcpy(k + 1, name, n);
    return 1 + n;
}

static size_t key_entry(char *k, int kind, const char *name, uint64_t seq)
{
    size_t n = key_name(k, kind, name);
    k[n++] = '\0';
    be_put64(k + n, seq);
    return n + 8;
}

/* ---- msgpack helpers ---------------------------------------------------------- */

static int pk_str(msgpack_packer *pk, const char *s)
{
    if (!s)
        return msgpack_pack_nil(pk);
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pk_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    return pk_str(pk, k) || pk_str(pk, v);
}

static int pk_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    return pk_str(pk, k) || msgpack_pack_uint64(pk, v);
}

static int pk_kv_i64(msgpack_packer *pk, const char *k, int64_t v)
{
    return pk_str(pk, k) || msgpack_pack_int64(pk, v);
}

static int pk_kv_list(msgpack_packer *pk, const char *k, char *const *v, size_t n)
{
    if (pk_str(pk, k) || msgpack_pack_array(pk, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (pk_str(pk, v[i]))
            return -1;
    return 0;
}

static int key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           !memcmp(k->via.str.ptr, name, n);
}

static char *obj_strdup(const msgpack_object *o, int *oom)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return NULL;
    char *s = strndup(o->via.str.ptr, o->via.str.size);
    if (!s)
        *oom = 1;
    return s;
}

static uint64_t obj_u64(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return o->via.u64;
    return 0;
}

static int64_t obj_i64(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return o->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)o->via.u64;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    return 0;
}

static char **obj_strlist(const msgpack_object *o, size_t *n, int *oom)
{
    *n = 0;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
        return NULL;
    char **v = calloc(o->via.array.size, sizeof *v);
    if (!v) {
        *oom = 1;
        return NULL;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        char *s = obj_strdup(&o->via.array.ptr[i], oom);
        if (s)
            v[(*n)++] = s;
    }
    return v;
}

/* ---- endpoint records ------------------------------------------------------- */

void endpoint_info_clear(dsr_endpoint_info *e)
{
    if (!e)
        return;
    free(e->url);
    free(e->secret_file);
    free(e->disabled_reason);
    for (size_t i = 0; i < e->n_features; i++)
        free(e->features[i]);
    free(e->features);
    for (size_t i = 0; i < e->n_types; i++)
        free(e->types[i]);
    free(e->types);
    memset(e, 0, sizeof *e);
}

static int decode_endpoint(const char *name, const char *val, size_t vlen,
                           dsr_endpoint_info *e, dsr_err *err)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, val, vlen, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&u);
        return dsr_err_set(err, DSR_ECORRUPT, "delivery state: endpoint %s: record does "
                           "not decode", name);
    }
    int oom = 0;
    const msgpack_object_map *m = &u.data.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        if (key_is(k, "url"))                  e->url = obj_strdup(v, &oom);
        else if (key_is(k, "secret_file"))     e->secret_file = obj_strdup(v, &oom);
        else if (key_is(k, "auto"))            e->auto_deliver = obj_i64(v) != 0;
        else if (key_is(k, "adhoc"))           e->adhoc = obj_i64(v) != 0;
        else if (key_is(k, "disabled"))        e->disabled = obj_i64(v) != 0;
        else if (key_is(k, "disabled_reason")) e->disabled_reason = obj_strdup(v, &oom);
        else if (key_is(k, "disabled_ms"))     e->disabled_ms = obj_u64(v);
        else if (key_is(k, "features"))        e->features = obj_strlist(v, &e->n_features, &oom);
        else if (key_is(k, "types"))           e->types = obj_strlist(v, &e->n_types, &oom);
        else if (key_is(k, "profile")) {
            char *pn = obj_strdup(v, &oom);
            if (pn && dsr_profile_parse(pn, &e->profile)) {
                free(pn);
                msgpack_unpacked_destroy(&u);
                endpoint_info_clear(e);
                return dsr_err_set(err, DSR_ECORRUPT, "delivery state: endpoint %s: unknown "
                                   "profile", name);
            }
            free(pn);
        }
    }
    msgpack_unpacked_destroy(&u);
    if (oom) {
        endpoint_info_clear(e);
        return dsr_err_set(err, DSR_ENOMEM, "delivery state: out of memory");
    }
    if (!e->url) {
        endpoint_info_clear(e);
        return dsr_err_set(err, DSR_ECORRUPT, "delivery state: endpoint %s has no url", name);
    }
    return 0;
}

int dstate_get_endpoint(dstate *st, const char *name, dsr_endpoint_info *out,
                            dsr_err *err)
{
    memset(out, 0, sizeof *out);
    if (!endpoint_name_valid(name))
        return dsr_err_set(err, DSR_EINVAL, "'%s' is not a valid endpoint name "
                           "(letters, digits, '.', '_', '-'; at most %d)", name,
                           DSR_ENDPOINT_NAME_MAX);
    char k[KEY_MAX];
    size_t kl = key_name(k, 'E', name);
    char *rerr = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get(st->db, st->ropts, k, kl, &vlen, &rerr);
    if (rerr) {
        dsr_err_set(err, DSR_EIO, "delivery state %s: %s", st->path, rerr);
        rocksdb_free(rerr);
        return DSR_EIO;
    }
    if (!v)
        return dsr_err_set(err, DSR_ENOTFOUND, "no endpoint named '%s'", name);
    int rc = decode_endpoint(name, v, vlen, out, err);
    rocksdb_free(v);
    return rc;
}

/* Iterate the keys starting with prefix; fn gets key and value. */
typedef int (*kv_fn)(void *ctx, const char *k, size_t kl, const char *v, size_t vl,
                     dsr_err *err);

static int scan_prefix(dstate *st, const char *prefix, size_t plen,
                       const char *start, size_t slen, kv_fn fn, void *ctx, dsr_err *err)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator(st->db, st->ropts);
    if (!it)
        return dsr_err_set(err, DSR_ENOMEM, "delivery state: out of memory");
    int rc = 0;
    for (rocksdb_iter_seek(it, start, slen); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < plen || memcmp(k, prefix, plen))
            break;
        const char *v = rocksdb_iter_value(it, &vl);
        if ((rc = fn(ctx, k, kl, v, vl, err)) != 0)
            break;
    }
    if (rc == 0) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) {
            rc = dsr_err_set(err, DSR_EIO, "delivery state %s: %s", st->path, rerr);
            rocksdb_free(rerr);
        }
    }
    rocksdb_iter_destroy(it);
    return rc;
}

typedef struct list_ctx {
    dsr_endpoint_info *v;
    size_t             n, cap;
} list_ctx;

static int list_one(void *ctx, const char *k, size_t kl, const char *v, size_t vl,
                    dsr_err *err)
{
    list_ctx *lc = ctx;
    char name[DSR_ENDPOINT_NAME_MAX + 1];
    if (kl - 1 > DSR_ENDPOINT_NAME_MAX)
        return dsr_err_set(err, DSR_ECORRUPT, "delivery state: endpoint key too long");
    memcpy(name, k + 1, kl - 1);
    name[kl - 1] = '\0';
    if (ARRAY_RESERVE1(lc->v, lc->n, lc->cap, 8))
        return dsr_err_set(err, DSR_ENOMEM, "delivery state: out of memory");
    int rc = decode_endpoint(name, v, vl, &lc->v[lc->n], err);
    if (rc == 0)
        lc->n++;
    return rc;
}

int dstate_list_endpoints(dstate *st, dsr_endpoint_info **out, size_t *n,
                              dsr_err *err)
{
    list_ctx lc = { NULL, 0, 0 };
    int rc = scan_prefix(st, "E", 1, "E", 1, list_one, &lc, err);
    if (rc < 0) {
        for (size_t i = 0; i < lc.n; i++)
            endpoint_info_clear(&lc.v[i]);
        free(lc.v);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = lc.v;
    *n = lc.n;
    return 0;
}

/* ---- cursors ------------------------------------------------------------------ */

int dstate_get_cursor(dstate *st, const char *name, dcursor *out, dsr_err *err)
{
    memset(out, 0, sizeof *out);
    char k[KEY_MAX];
    size_t kl = key_name(k, 'C', name);
    char *rerr = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get(st->db, st->ropts, k, kl, &vlen, &rerr);
    if (rerr) {
        dsr_err_set(err, DSR_EIO, "delivery state %s: %s", st->path, rerr);
        rocksdb_free(rerr);
        return DSR_EIO;
    }
    if (!v)
        return 0;
    if (vlen != 16) {
        rocksdb_free(v);
        return dsr_err_set(err, DSR_ECORRUPT, "delivery state: cursor of %s is damaged", name);
    }
    out->high = be_get64(v);
    out->delivered = be_get64(v + 8);
    rocksdb_free(v);
    return 0;
}

/* ---- entries ------------------------------------------------------------------ */

typedef struct entry_scan {
    int           kind;
    dentry_fn fn;
    void         *ctx;
} entry_scan;

static int decode_entry(int kind, const char *k, size_t kl, const char *v, size_t vl,
                        dentry *e, msgpack_unpacked *u, dsr_err *err)
{
    memset(e, 0, sizeof *e);
    e->seq = be_get64(k + kl - 8);
    e->feature = "";
    e->reason = "";
    if (kind == DK_DONE)
        return 0;
    if (msgpack_unpack_next(u, v, vl, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u->data.type != MSGPACK_OBJECT_MAP)
        return dsr_err_set(err, DSR_ECORRUPT, "delivery state: entry %c/%llu does not "
                           "decode", kind, (unsigned long long)e->seq);
    /* Strings point into u's zone; the entry is valid while u lives.  The
     * feature and reason are stored NUL-terminated (see put_entry) so they
     * can be handed out as C strings without copying. */
    const msgpack_object_map *m = &u->data.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *key = &m->ptr[i].key, *val = &m->ptr[i].val;
        if (key_is(key, "id") && val->type == MSGPACK_OBJECT_STR &&
            val->via.str.size == DSR_ULID_LEN) {
            memcpy(e->event_id, val->via.str.ptr, DSR_ULID_LEN);
            e->event_id[DSR_ULID_LEN] = '\0';
        } else if (key_is(key, "feature") && val->type == MSGPACK_OBJECT_BIN &&
                   val->via.bin.size > 0 && val->via.bin.ptr[val->via.bin.size - 1] == '\0') {
            e->feature = val->via.bin.ptr;
        } else if (key_is(key, "reason") && val->type == MSGPACK_OBJECT_BIN &&
                   val->via.bin.size > 0 && val->via.bin.ptr[val->via.bin.size - 1] == '\0') {
            e->reason = val->via.bin.ptr;
        } else if (key_is(key, "attempts")) {
            uint64_t a = obj_u64(val);
            e->attempts = a > UINT_MAX ? UINT_MAX : (unsigned)a;
        } else if (key_is(key, "first_ms")) {
            e->first_ms = obj_u64(val);
        } else if (key_is(key, "next_ms")) {
            e->next_ms = obj_u64(val);
        } else if (key_is(key, "dead_ms")) {
            e->dead_ms = obj_u64(val);
        } else if (key_is(key, "status")) {
            e->last_status = (long)obj_i64(val);
        }
    }
    return 0;
}

static int entry_one(void *ctx, const char *k, size_t kl, const char *v, size_t vl,
                     dsr_err *err)
{
    entry_scan *es = ctx;
    dentry e;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = decode_entry(es->kind, k, kl, v, vl, &e, &u, err);
    if (rc == 0)
        rc = es->fn(es->ctx, &e, err);
    msgpack_unpacked_destroy(&u);
    return rc;
}

int dstate_scan(dstate *st, int kind, const char *name, uint64_t from_seq,
                    dentry_fn fn, void *ctx, dsr_err *err)
{
    char prefix[KEY_MAX], start[KEY_MAX];
    size_t plen = key_name(prefix, kind, name);
    prefix[plen++] = '\0';
    size_t slen = key_entry(start, kind, name, from_seq);
    entry_scan es = { kind, fn, ctx };
    return scan_prefix(st, prefix, plen, start, slen, entry_one, &es, err);
}

/* ---- batches ------------------------------------------------------------------ */

dbatch *dbatch_new(dstate *st)
{
    dbatch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->st = st;
    b->wb = rocksdb_writebatch_create();
    if (!b->wb) {
        free(b);
        return NULL;
    }
    return b;
}

void dbatch_free(dbatch *b)
{
    if (!b)
        return;
    rocksdb_writebatch_destroy(b->wb);
    free(b);
}

size_t dbatch_count(const dbatch *b)
{
    return b->n;
}

static int put_packed(dbatch *b, const char *k, size_t kl, msgpack_sbuffer *sb, int bad)
{
    if (bad) {
        b->failed = 1;
        msgpack_sbuffer_destroy(sb);
        return DSR_ENOMEM;
    }
    rocksdb_writebatch_put(b->wb, k, kl, sb->data, sb->size);
    msgpack_sbuffer_destroy(sb);
    b->n++;
    return 0;
}

int dbatch_put_endpoint(dbatch *b, const dsr_endpoint_info *e)
{
    char k[KEY_MAX];
    size_t kl = key_name(k, 'E', e->name);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* "profile" only when not wp04: a wp04 record keeps its earlier bytes */
    int sk3 = e->profile != DSR_PROFILE_WP04;
    int bad = msgpack_pack_map(&pk, 9 + (uint32_t)sk3) ||
              pk_kv_str(&pk, "url", e->url) ||
              pk_kv_str(&pk, "secret_file", e->secret_file) ||
              pk_kv_i64(&pk, "auto", e->auto_deliver) ||
              pk_kv_i64(&pk, "adhoc", e->adhoc) ||
              pk_kv_i64(&pk, "disabled", e->disabled) ||
              pk_kv_str(&pk, "disabled_reason", e->disabled_reason) ||
              pk_kv_u64(&pk, "disabled_ms", e->disabled_ms) ||
              pk_kv_list(&pk, "features", e->features, e->n_features) ||
              pk_kv_list(&pk, "types", e->types, e->n_types) ||
              (sk3 && pk_kv_str(&pk, "profile", dsr_profile_name(e->profile)));
    return put_packed(b, k, kl, &sb, bad);
}

int dbatch_drop_endpoint(dbatch *b, const char *name)
{
    char k[KEY_MAX];
    size_t kl = key_name(k, 'E', name);
    rocksdb_writebatch_delete(b->wb, k, kl);
    kl = key_name(k, 'C', name);
    rocksdb_writebatch_delete(b->wb, k, kl);
    b->n += 2;
    static const int kinds[] = { DK_PENDING, DK_DONE, DK_DEAD };
    for (size_t i = 0; i < 3; i++) {
        int rc = dbatch_del_range(b, kinds[i], name, 0, UINT64_MAX);
        if (rc < 0)
            return rc;
        /* del_range's end is exclusive: remove the last possible key too. */
        rc = dbatch_del_entry(b, kinds[i], name, UINT64_MAX);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int dbatch_put_cursor(dbatch *b, const char *name, const dcursor *c)
{
    char k[KEY_MAX];
    size_t kl = key_name(k, 'C', name);
    char v[16];
    for (int i = 0; i < 8; i++) {
        v[i] = (char)(c->high >> (56 - 8 * i));
        v[8 + i] = (char)(c->delivered >> (56 - 8 * i));
    }
    rocksdb_writebatch_put(b->wb, k, kl, v, sizeof v);
    b->n++;
    return 0;
}

static int pk_kv_cstr_bin(msgpack_packer *pk, const char *k, const char *v)
{
    /* Stored as bin including the NUL so decoding can lend it as a C string. */
    size_t n = strlen(v ? v : "") + 1;
    return pk_str(pk, k) || msgpack_pack_bin(pk, n) ||
           msgpack_pack_bin_body(pk, v ? v : "", n);
}

int dbatch_put_entry(dbatch *b, int kind, const char *name, const dentry *e)
{
    char k[KEY_MAX];
    size_t kl = key_entry(k, kind, name, e->seq);
    if (kind == DK_DONE) {
        rocksdb_writebatch_put(b->wb, k, kl, "", 0);
        b->n++;
        return 0;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int bad = msgpack_pack_map(&pk, 8) ||
              pk_str(&pk, "id") || msgpack_pack_str(&pk, strlen(e->event_id)) ||
              msgpack_pack_str_body(&pk, e->event_id, strlen(e->event_id)) ||
              pk_kv_cstr_bin(&pk, "feature", e->feature) ||
              pk_kv_u64(&pk, "attempts", e->attempts) ||
              pk_kv_u64(&pk, "first_ms", e->first_ms) ||
              pk_kv_u64(&pk, "next_ms", e->next_ms) ||
              pk_kv_u64(&pk, "dead_ms", e->dead_ms) ||
              pk_kv_i64(&pk, "status", e->last_status) ||
              pk_kv_cstr_bin(&pk, "reason", e->reason);
    return put_packed(b, k, kl, &sb, bad);
}

int dbatch_del_entry(dbatch *b, int kind, const char *name, uint64_t seq)
{
    char k[KEY_MAX];
    size_t kl = key_entry(k, kind, name, seq);
    rocksdb_writebatch_delete(b->wb, k, kl);
    b->n++;
    return 0;
}

int dbatch_del_range(dbatch *b, int kind, const char *name, uint64_t from, uint64_t to)
{
    if (from >= to)
        return 0;
    char k1[KEY_MAX], k2[KEY_MAX];
    size_t l1 = key_entry(k1, kind, name, from), l2 = key_entry(k2, kind, name, to);
    rocksdb_writebatch_delete_range(b->wb, k1, l1, k2, l2);
    b->n++;
    return 0;
}

int dbatch_commit(dbatch *b, dsr_err *err)
{
    if (b->failed) {
        dbatch_free(b);
        return dsr_err_set(err, DSR_ENOMEM, "delivery state: out of memory encoding a batch");
    }
    if (b->st->rdonly) {
        dstate *st = b->st;
        dbatch_free(b);
        return dsr_err_set(err, DSR_EINVAL, "delivery state %s is open read-only", st->path);
    }
    char *rerr = NULL;
    rocksdb_write(b->st->db, b->st->wopts, b->wb, &rerr);
    int rc = 0;
    if (rerr) {
        rc = dsr_err_set(err, DSR_EIO, "delivery state %s: write failed: %s",
                         b->st->path, rerr);
        rocksdb_free(rerr);
    }
    dbatch_free(b);
    return rc;
}

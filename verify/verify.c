/*
 * verify.c - `dossier verify`: read a whole log and report everything
 * that breaks its invariants (see dossier/verify.h for the list and for what
 * "lamport monotonic per node" means in a merged log).
 *
 * How: one read-only (secondary) handle, opened with LOG_OPEN_LENIENT so a
 * log whose meta disagrees with its events still opens and the disagreement
 * is reported rather than refused.  Every read verifies block checksums and
 * bypasses the block cache (each block is read once anyway).  Passes:
 *   1. events family, in key order: keys, density, decode + validate,
 *      canonical form, lamport rules, and a compact list of (event_id, seq)
 *      and of scan-run members;
 *   2. ids family, in key order, merged with the (event_id, seq) list
 *      sorted by id: both directions at once, O(n log n), one sequential
 *      read of each family;
 *   3. meta, scan runs (grouped by correlation_id), projection checkpoints;
 *   4. every other column family read once, so any block that fails its
 *      checksum anywhere in the database is found.
 * A read error stops the pass it hit (a RocksDB iterator cannot step over a
 * corrupt block) and the checks that depend on the unread part are skipped
 * instead of reporting a cascade of false problems.
 * This file reads RocksDB directly because it must see malformed keys that
 * the public iterators refuse; it never writes.  It calls into replay/ only
 * for the projection names and checkpoints.
 */
#include "log_store.h"
#include "be.h"
#include "opts_version.h"
#include "dossier/verify.h"
#include "buf.h"
#include "codec.h"
#include "array.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const kind_names[DSR_VERIFY_KIND_COUNT] = {
    "open", "read", "decode", "noncanonical", "sequence_gap", "meta", "ids_missing",
    "ids_mismatch", "ids_orphan", "duplicate_event_id", "lamport", "scan", "checkpoint",
    "open_run", "wal", "lost",
};

const char *dsr_verify_kind_name(dsr_verify_kind k)
{
    return (unsigned)k < DSR_VERIFY_KIND_COUNT ? kind_names[k] : "unknown";
}

/* An event's id and where it is stored. */
typedef struct ev_id {
    char     id[DSR_ULID_LEN];
    uint64_t seq;
} ev_id;

enum { RK_INDEXED, RK_MISSING, RK_REMOVED, RK_MARKER };

/* One member of a scan run: the run id is at arena[off, off + len). */
typedef struct run_ev {
    uint64_t seq;
    size_t   off;
    uint32_t len;
    uint32_t kind;      /* RK_* */
    uint32_t marker;    /* RK_MARKER: index into the markers array */
} run_ev;

typedef struct marker {
    int64_t indexed, missing, removed;
    size_t  feature_off;
    uint32_t feature_len;
} marker;

/* An imported event's stamp: node index, lamport, where. */
typedef struct stamp {
    uint32_t node;
    uint64_t lamport;
    uint64_t seq;
} stamp;

typedef struct vctx {
    dsr_log           *log;
    rocksdb_readoptions_t *ro;
    dsr_verify_fn      fn;
    void              *ud;
    dsr_verify_report *rep;
    dsr_err           *err;
    int                oom;
    /* pass 1 */
    ev_id  *ids;    size_t n_ids, cap_ids;
    run_ev *runs;   size_t n_runs, cap_runs;
    marker *marks;  size_t n_marks, cap_marks;
    stamp  *stamps; size_t n_stamps, cap_stamps;
    char  **nodes;  size_t n_nodes, cap_nodes;
    size_t  last_node;                 /* last node index hit (cache) */
    dsr_buf arena;                     /* run ids and features */
    uint64_t last_seq_read;            /* last events key read (whole or not) */
    uint64_t head_eff;                 /* head, or the end of a lost range after it */
    int      events_complete;          /* 0: pass 1 stopped at a read error */
    int      ids_complete;
    char     last_id_read[DSR_ULID_LEN];
    int      have_last_id;
} vctx;

static void problem(vctx *v, dsr_verify_kind k, uint64_t seq, const char *event_id,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void problem(vctx *v, dsr_verify_kind k, uint64_t seq, const char *event_id,
                    const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dsr_verify_problem p = { k, k == DSR_VERIFY_OPEN_RUN || k == DSR_VERIFY_LOST, seq,
                             event_id, msg };
    if (!p.note)
        v->rep->problems++;
    if (v->fn)
        v->fn(v->ud, &p);
}

/* Grow *arr (element size sz) to hold one more; 0 or -1 (v->oom set). */
static int grow(vctx *v, void **arr, size_t *cap, size_t n, size_t sz)
{
    if (array_reserve1(arr, n, cap, sz, 1024)) {
        v->oom = 1;
        return -1;
    }
    return 0;
}

static uint32_t node_index(vctx *v, const char *s, size_t len)
{
    if (v->last_node < v->n_nodes && strlen(v->nodes[v->last_node]) == len
        && !memcmp(v->nodes[v->last_node], s, len))
        return (uint32_t)v->last_node;
    for (size_t i = 0; i < v->n_nodes; i++)
        if (strlen(v->nodes[i]) == len && !memcmp(v->nodes[i], s, len))
            return (uint32_t)(v->last_node = i);
    if (grow(v, (void **)&v->nodes, &v->cap_nodes, v->n_nodes, sizeof *v->nodes))
        return UINT32_MAX;
    char *c = strndup(s, len);
    if (!c) {
        v->oom = 1;
        return UINT32_MAX;
    }
    v->nodes[v->n_nodes] = c;
    v->last_node = v->n_nodes;
    return (uint32_t)v->n_nodes++;
}

static int64_t map_int(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = codec_map_get(map, key);
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t)o->via.u64;
    return -1;
}

/* Remember a scan-run member (or marker) of a decoded event. */
static void note_run(vctx *v, const dsr_envelope *env, uint64_t seq)
{
    uint32_t kind;
    switch (env->type) {
    case DSR_EV_ARTIFACT_INDEXED: kind = RK_INDEXED; break;
    case DSR_EV_ARTIFACT_MISSING: kind = RK_MISSING; break;
    case DSR_EV_ARTIFACT_REMOVED: kind = RK_REMOVED; break;
    case DSR_EV_SCAN_COMPLETED:   kind = RK_MARKER; break;
    default: return;
    }
    if (!env->correlation_id.ptr)
        return;   /* not part of any run: nothing to be whole */
    if (grow(v, (void **)&v->runs, &v->cap_runs, v->n_runs, sizeof *v->runs))
        return;
    run_ev *r = &v->runs[v->n_runs];
    r->seq = seq;
    r->off = v->arena.len;
    r->len = (uint32_t)(env->correlation_id.len > UINT32_MAX ? UINT32_MAX
                                                             : env->correlation_id.len);
    r->kind = kind;
    r->marker = 0;
    if (dsr_buf_append(&v->arena, env->correlation_id.ptr, r->len)) {
        v->oom = 1;
        return;
    }
    if (kind == RK_MARKER) {
        if (grow(v, (void **)&v->marks, &v->cap_marks, v->n_marks, sizeof *v->marks))
            return;
        marker *m = &v->marks[v->n_marks];
        m->indexed = map_int(env->payload, "indexed_count");
        m->missing = map_int(env->payload, "missing_count");
        m->removed = map_int(env->payload, "removed_count");
        m->feature_off = v->arena.len;
        m->feature_len = (uint32_t)env->feature_slug.len;
        if (dsr_buf_append(&v->arena, env->feature_slug.ptr, env->feature_slug.len)) {
            v->oom = 1;
            return;
        }
        r->marker = (uint32_t)v->n_marks++;
    }
    v->n_runs++;
}

/* ---- the write-ahead log ---------------------------------------------------- */

/* Damage the open's WAL check found (eventlog/log_wal.c): RocksDB replayed
 * past it for this read-only view, so the events after it are checked too;
 * a writer refuses the log until a repair. */
static void wal_check(vctx *v)
{
    const log_wal_state *w = log_wal(v->log);
    if (w->damaged)
        problem(v, DSR_VERIFY_WAL, 0, NULL, "%s/%s: the write-ahead log is damaged at offset "
                "%llu (%s): the events committed in and after that record are lost to a "
                "writer, which refuses the log; `dossier verify --repair` keeps the records "
                "after it and records which sequences were lost", dsr_log_dir(v->log), w->file,
                (unsigned long long)w->offset, w->what);
}

/* The delivery state and the publish cursor store (log_store.h, side
 * stores): a damaged WAL record there rolls cursors back, so their writers
 * refuse it, and verify reports it beside the log's own. */
static void side_wal_check(vctx *v)
{
    static const char *const stores[][2] = LOG_SIDE_STORES;
    for (size_t i = 0; i < sizeof stores / sizeof stores[0]; i++) {
        char dir[4096];
        int n = snprintf(dir, sizeof dir, "%s/%s", dsr_log_dir(v->log), stores[i][0]);
        struct stat sb;
        if (n < 0 || (size_t)n >= sizeof dir || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        log_wal_state w;
        dsr_err e = { 0 };
        if (log_wal_check(dir, &w, &e) < 0)
            problem(v, DSR_VERIFY_READ, 0, NULL, "%s", e.msg);
        else if (w.damaged)
            problem(v, DSR_VERIFY_WAL, 0, NULL, "%s/%s: the write-ahead log of the %s is "
                    "damaged at offset %llu (%s): what was committed in and after that record "
                    "would be rolled back, so its commands refuse it; `dossier verify --repair` "
                    "keeps the records after it", dir, w.file, stores[i][1],
                    (unsigned long long)w.offset, w.what);
    }
}

/* After the events pass: the head against the recorded lost ranges and the
 * high-water mark of every committed sequence (eventlog/log_hwm.c). */
static void tail_check(vctx *v)
{
    dsr_verify_report *r = v->rep;
    v->head_eff = r->head;
    size_t n = 0;
    const uint64_t *lost = log_lost_ranges(v->log, &n);
    if (n && lost[2 * n - 2] == r->head + 1) {
        v->head_eff = lost[2 * n - 1];
        problem(v, DSR_VERIFY_LOST, r->head + 1, NULL, "sequences %llu..%llu were lost (a "
                "repair recorded them; the next event is numbered %llu)",
                (unsigned long long)r->head + 1, (unsigned long long)v->head_eff,
                (unsigned long long)v->head_eff + 1);
    }
    if (!v->events_complete)
        return;
    uint64_t mark, prev;
    int malformed;
    dsr_err e = { 0 };
    int rc = log_hwm_read(dsr_log_dir(v->log), &mark, &prev, &malformed, &e);
    if (rc < 0) {
        problem(v, DSR_VERIFY_READ, 0, NULL, "%s", e.msg);
        return;
    }
    if (malformed)
        problem(v, DSR_VERIFY_WAL, 0, NULL, "%s/%s is not a high-water mark: lost sequences "
                "cannot be told until a writer rewrites it", dsr_log_dir(v->log), LOG_HWM_FILE);
    if (rc != 1 || mark <= v->head_eff)
        return;
    if (prev <= v->head_eff && log_wal(v->log)->torn)
        /* Only the last commit is missing, and the WAL ends in a torn
         * record: what a crash mid-write leaves.
         * The next writer numbers past it (eventlog/log_hwm.c). */
        problem(v, DSR_VERIFY_LOST, v->head_eff + 1, NULL, "sequences %llu..%llu, the last "
                "commit, are not in the log (a torn write-ahead log tail); the next writer "
                "records them as lost", (unsigned long long)v->head_eff + 1,
                (unsigned long long)mark);
    else
        problem(v, DSR_VERIFY_WAL, v->head_eff + 1, NULL, "sequences %llu..%llu were committed "
                "but are not in the log (its head is %llu, %s says %llu): the write-ahead log "
                "was deleted, truncated or damaged; `dossier verify --repair` records them as "
                "lost and moves the log past them", (unsigned long long)v->head_eff + 1,
                (unsigned long long)mark, (unsigned long long)v->head_eff, LOG_HWM_FILE,
                (unsigned long long)mark);
}

/* ---- pass 1: the events family ------------------------------------------- */

static void events_pass(vctx *v)
{
    dsr_log *log = v->log;
    v->events_complete = 1;
    rocksdb_column_family_handle_t *events = log_cf_find(log, LOG_CF_EVENTS);
    if (!events)
        return;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log_db(log), v->ro, events);
    if (!it) {
        v->oom = 1;
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_sbuffer canon;
    msgpack_sbuffer_init(&canon);
    uint64_t expect = 1, max_stamp = 0, max_stamp_seq = 0;
    int have_stamp = 0;
    const char *local = dsr_log_node_id(log)[0] ? dsr_log_node_id(log) : NULL;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !v->oom;
         rocksdb_iter_next(it)) {
        size_t klen, len;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *rec = rocksdb_iter_value(it, &len);
        if (klen != 8) {
            problem(v, DSR_VERIFY_SEQ_GAP, 0, NULL,
                    "events key of %zu bytes after seq %llu (keys are 8-byte sequences)",
                    klen, (unsigned long long)(expect - 1));
            continue;
        }
        uint64_t seq = be_get64(k);
        v->last_seq_read = seq;
        v->rep->events++;
        v->rep->head = seq;
        if (seq > expect && log_lost_covers(log, expect, seq - 1)) {
            problem(v, DSR_VERIFY_LOST, expect, NULL, "sequences %llu..%llu were lost (a repair "
                    "recorded them; no event will have them)", (unsigned long long)expect,
                    (unsigned long long)(seq - 1));
        } else if (seq != expect) {
            if (seq == expect + 1)
                problem(v, DSR_VERIFY_SEQ_GAP, expect, NULL,
                        "sequence %llu missing (next stored is %llu)",
                        (unsigned long long)expect, (unsigned long long)seq);
            else if (seq > expect)
                problem(v, DSR_VERIFY_SEQ_GAP, expect, NULL,
                        "sequences %llu..%llu missing (next stored is %llu)",
                        (unsigned long long)expect, (unsigned long long)(seq - 1),
                        (unsigned long long)seq);
            else
                problem(v, DSR_VERIFY_SEQ_GAP, seq, NULL, "sequence 0 is stored "
                        "(sequences start at 1)");
        }
        expect = seq + 1;

        dsr_envelope env;
        dsr_err derr = { 0 };
        int rc = dsr_record_decode(rec, len, &u, &env, &derr);
        if (rc == DSR_ENOMEM) {
            v->oom = 1;
            break;
        }
        if (rc) {
            problem(v, DSR_VERIFY_DECODE, seq, NULL, "record of %zu bytes: %s", len, derr.msg);
            continue;
        }
        char id[DSR_ULID_LEN + 1];
        memcpy(id, env.event_id.ptr, DSR_ULID_LEN);
        id[DSR_ULID_LEN] = '\0';

        /* Canonical form: what the emitter or the import would have stored
         * (format 2), or for a record of format 1 (a map) what they stored
         * then. */
        msgpack_sbuffer_clear(&canon);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &canon, msgpack_sbuffer_write);
        if (codec_record_is_format2(rec, len) ? dsr_record_pack(&pk, &env)
                                             : dsr_envelope_pack(&pk, &env)) {
            v->oom = 1;
            break;
        }
        if (canon.size != len || memcmp(canon.data, rec, len))
            problem(v, DSR_VERIFY_NONCANONICAL, seq, id, "event %s is valid but not stored "
                    "in canonical form (%zu bytes, canonical %zu)", id, len, canon.size);

        if (grow(v, (void **)&v->ids, &v->cap_ids, v->n_ids, sizeof *v->ids))
            break;
        memcpy(v->ids[v->n_ids].id, env.event_id.ptr, DSR_ULID_LEN);
        v->ids[v->n_ids++].seq = seq;

        /* Lamport rules (dossier/verify.h). */
        uint64_t lam = env.lamport_clock;
        int is_local = local && env.node_id.len == DSR_ULID_LEN
                       && !memcmp(env.node_id.ptr, local, DSR_ULID_LEN);
        if (is_local) {
            v->rep->local_events++;
            if (have_stamp && lam <= max_stamp)
                problem(v, DSR_VERIFY_LAMPORT, seq, id, "event %s of this log's node is "
                        "stamped %llu, not above %llu already stored at seq %llu", id,
                        (unsigned long long)lam, (unsigned long long)max_stamp,
                        (unsigned long long)max_stamp_seq);
        } else {
            uint32_t n = node_index(v, env.node_id.ptr, env.node_id.len);
            if (n == UINT32_MAX
                || grow(v, (void **)&v->stamps, &v->cap_stamps, v->n_stamps, sizeof *v->stamps))
                break;
            v->stamps[v->n_stamps++] = (stamp){ n, lam, seq };
        }
        if (!have_stamp || lam > max_stamp) {
            max_stamp = lam;
            max_stamp_seq = seq;
            have_stamp = 1;
        }
        note_run(v, &env, seq);
    }
    if (!v->oom && !rocksdb_iter_valid(it)) {
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e) {
            v->events_complete = 0;
            problem(v, DSR_VERIFY_READ, v->last_seq_read + 1, NULL,
                    "events: cannot read past seq %llu: %s",
                    (unsigned long long)v->last_seq_read, e);
            rocksdb_free(e);
        }
    }
    v->rep->max_lamport = max_stamp;
    if (local)
        v->rep->nodes = v->n_nodes + (v->rep->local_events ? 1 : 0);
    else
        v->rep->nodes = v->n_nodes;
    msgpack_sbuffer_destroy(&canon);
    msgpack_unpacked_destroy(&u);
    rocksdb_iter_destroy(it);
}

/* ---- pass 2: ids against events -------------------------------------------- */

static int cmp_ev_id(const void *a, const void *b)
{
    const ev_id *x = a, *y = b;
    int c = memcmp(x->id, y->id, DSR_ULID_LEN);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Report ids missing for the group of equal ids starting at i; returns the
 * index after it. */
static size_t group_end(const vctx *v, size_t i)
{
    size_t j = i + 1;
    while (j < v->n_ids && !memcmp(v->ids[j].id, v->ids[i].id, DSR_ULID_LEN))
        j++;
    return j;
}

static void missing_group(vctx *v, size_t i)
{
    char id[DSR_ULID_LEN + 1];
    memcpy(id, v->ids[i].id, DSR_ULID_LEN);
    id[DSR_ULID_LEN] = '\0';
    problem(v, DSR_VERIFY_IDS_MISSING, v->ids[i].seq, id,
            "event %s (seq %llu) has no ids entry: a lookup by event_id would not find it",
            id, (unsigned long long)v->ids[i].seq);
}

static void ids_pass(vctx *v)
{
    dsr_log *log = v->log;
    if (v->n_ids > 1)   /* (qsort's base must not be NULL, even for 0 elements) */
        qsort(v->ids, v->n_ids, sizeof *v->ids, cmp_ev_id);
    /* Duplicates in the events family. */
    for (size_t i = 0; i < v->n_ids;) {
        size_t j = group_end(v, i);
        for (size_t d = i + 1; d < j; d++) {
            char id[DSR_ULID_LEN + 1];
            memcpy(id, v->ids[i].id, DSR_ULID_LEN);
            id[DSR_ULID_LEN] = '\0';
            problem(v, DSR_VERIFY_DUPLICATE_ID, v->ids[d].seq, id,
                    "event %s is stored twice: at seq %llu and seq %llu", id,
                    (unsigned long long)v->ids[i].seq, (unsigned long long)v->ids[d].seq);
        }
        i = j;
    }
    v->ids_complete = 1;
    size_t i = 0;
    rocksdb_column_family_handle_t *ids_cf = log_cf_find(log, LOG_CF_IDS);
    if (ids_cf) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log_db(log), v->ro, ids_cf);
        if (!it) {
            v->oom = 1;
            return;
        }
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t klen, vlen;
            const char *k = rocksdb_iter_key(it, &klen);
            const char *val = rocksdb_iter_value(it, &vlen);
            if (klen != DSR_ULID_LEN || vlen != 8) {
                problem(v, DSR_VERIFY_IDS_ORPHAN, 0, NULL, "ids entry with a %zu-byte key and "
                        "a %zu-byte value (expected %d and 8): \"%.*s\"", klen, vlen,
                        DSR_ULID_LEN, (int)(klen > 40 ? 40 : klen), k);
                continue;
            }
            memcpy(v->last_id_read, k, DSR_ULID_LEN);
            v->have_last_id = 1;
            char id[DSR_ULID_LEN + 1];
            memcpy(id, k, DSR_ULID_LEN);
            id[DSR_ULID_LEN] = '\0';
            uint64_t seq = be_get64(val);
            while (i < v->n_ids && memcmp(v->ids[i].id, k, DSR_ULID_LEN) < 0) {
                missing_group(v, i);
                i = group_end(v, i);
            }
            if (i < v->n_ids && !memcmp(v->ids[i].id, k, DSR_ULID_LEN)) {
                size_t j = group_end(v, i);
                int found = 0;
                for (size_t g = i; g < j; g++)
                    found |= v->ids[g].seq == seq;
                if (!found)
                    problem(v, DSR_VERIFY_IDS_MISMATCH, v->ids[i].seq, id,
                            "ids maps event %s to seq %llu, but it is stored at seq %llu", id,
                            (unsigned long long)seq, (unsigned long long)v->ids[i].seq);
                i = j;
            } else if (v->events_complete || seq <= v->last_seq_read) {
                problem(v, DSR_VERIFY_IDS_ORPHAN, seq, id,
                        "ids maps event %s to seq %llu, but no stored event has that id%s", id,
                        (unsigned long long)seq,
                        seq > v->rep->head ? " (the seq is past the head)" : "");
            }
        }
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e) {
            v->ids_complete = 0;
            problem(v, DSR_VERIFY_READ, 0, NULL, "ids: cannot read past event_id %.26s: %s",
                    v->have_last_id ? v->last_id_read : "(start)", e);
            rocksdb_free(e);
        }
        rocksdb_iter_destroy(it);
    } else if (v->n_ids) {
        problem(v, DSR_VERIFY_META, 0, NULL, "the ids family does not exist but %zu events do",
                v->n_ids);
        return;
    }
    if (!v->ids_complete)
        return;   /* the rest of the index is unknown, not missing */
    while (i < v->n_ids) {
        missing_group(v, i);
        i = group_end(v, i);
    }
}

/* ---- pass 3: meta, runs, checkpoints ---------------------------------------- */

/* meta[key] -> buf (cap bytes); returns length, -1 absent, -2 read error
 * (reported). */
static long meta_raw(vctx *v, const char *key, char *buf, size_t cap)
{
    char *e = NULL;
    size_t len = 0;
    char *val = rocksdb_get_cf(log_db(v->log), v->ro, log_cf_find(v->log, LOG_CF_META), key,
                               strlen(key), &len, &e);
    if (e) {
        problem(v, DSR_VERIFY_READ, 0, NULL, "meta %s: %s", key, e);
        rocksdb_free(e);
        return -2;
    }
    if (!val)
        return -1;
    size_t n = len < cap ? len : cap;
    memcpy(buf, val, n);
    rocksdb_free(val);
    return (long)len;
}

static void meta_check(vctx *v)
{
    dsr_verify_report *r = v->rep;
    int any = r->events > 0;
    if (!log_cf_find(v->log, LOG_CF_META)) {
        if (any)
            problem(v, DSR_VERIFY_META, 0, NULL, "events are stored but the meta family "
                    "(identity and counters) does not exist");
        return;
    }
    char b[64];
    long n = meta_raw(v, LOG_META_NODE_ID, b, sizeof b);
    if (n == DSR_ULID_LEN && dsr_ulid_valid(b, DSR_ULID_LEN)) {
        memcpy(r->node_id, b, DSR_ULID_LEN);
        r->node_id[DSR_ULID_LEN] = '\0';
    } else if (n >= 0 || (n == -1 && any)) {
        problem(v, DSR_VERIFY_META, 0, NULL, "meta node_id is %s",
                n < 0 ? "missing" : "not a ULID");
    }
    n = meta_raw(v, LOG_META_PROJECT_UUID, b, sizeof b);
    if (n >= 0 && !(n == 36 && codec_uuid_valid(b, 36)))
        problem(v, DSR_VERIFY_META, 0, NULL, "meta project_uuid is not a UUID");
    else if (n == -1 && any)
        problem(v, DSR_VERIFY_META, 0, NULL, "meta project_uuid is missing");

    n = meta_raw(v, LOG_META_NEXT_SEQ, b, sizeof b);
    if (n == 8) {
        r->meta_next_seq = be_get64(b);
        if (v->events_complete && r->meta_next_seq != v->head_eff + 1)
            problem(v, DSR_VERIFY_META, 0, NULL, "meta next_seq is %llu but the last stored "
                    "event is seq %llu (expected %llu)", (unsigned long long)r->meta_next_seq,
                    (unsigned long long)r->head, (unsigned long long)v->head_eff + 1);
    } else if (n >= 0 || (n == -1 && any)) {
        problem(v, DSR_VERIFY_META, 0, NULL, "meta next_seq is %s",
                n < 0 ? "missing" : "not an 8-byte counter");
    }
    n = meta_raw(v, LOG_META_LAMPORT, b, sizeof b);
    if (n == 8) {
        r->meta_lamport = be_get64(b);
        if (r->meta_lamport < r->max_lamport)
            problem(v, DSR_VERIFY_META, 0, NULL, "meta lamport is %llu, below the stamp %llu "
                    "stored in the log: the next local event would not order after it",
                    (unsigned long long)r->meta_lamport, (unsigned long long)r->max_lamport);
    } else if (n >= 0 || (n == -1 && any)) {
        problem(v, DSR_VERIFY_META, 0, NULL, "meta lamport is %s",
                n < 0 ? "missing" : "not an 8-byte counter");
    }
}

static int cmp_stamp(const void *a, const void *b)
{
    const stamp *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    if (x->lamport != y->lamport)
        return x->lamport < y->lamport ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void stamps_check(vctx *v)
{
    if (v->n_stamps > 1)
        qsort(v->stamps, v->n_stamps, sizeof *v->stamps, cmp_stamp);
    for (size_t i = 1; i < v->n_stamps; i++) {
        const stamp *a = &v->stamps[i - 1], *b = &v->stamps[i];
        if (a->node == b->node && a->lamport == b->lamport)
            problem(v, DSR_VERIFY_LAMPORT, b->seq, NULL, "node %s stamped two events with "
                    "lamport %llu (seq %llu and seq %llu): two logs share that node_id",
                    v->nodes[a->node], (unsigned long long)a->lamport,
                    (unsigned long long)a->seq, (unsigned long long)b->seq);
    }
}

static int cmp_run_ev(const void *a, const void *b, void *arena)
{
    const run_ev *x = a, *y = b;
    const char *base = arena;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(base + x->off, base + y->off, n);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Feature of the event at seq, for messages ("?" when it cannot be read). */
static void feature_at(vctx *v, uint64_t seq, char *out, size_t n)
{
    snprintf(out, n, "?");
    dsr_buf rec = DSR_BUF_INIT;
    dsr_err e = { 0 };
    if (!dsr_log_get_event(v->log, seq, &rec, &e)) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        if (!dsr_record_decode(rec.data, rec.len, &u, &env, &e))
            snprintf(out, n, "%.*s", (int)env.feature_slug.len, env.feature_slug.ptr);
        msgpack_unpacked_destroy(&u);
    }
    dsr_buf_free(&rec);
}

static void runs_check(vctx *v)
{
    if (v->n_runs > 1)
        qsort_r(v->runs, v->n_runs, sizeof *v->runs, cmp_run_ev, v->arena.data);
    const char *base = v->arena.data;
    for (size_t i = 0; i < v->n_runs;) {
        size_t j = i + 1;
        while (j < v->n_runs && v->runs[j].len == v->runs[i].len
               && !memcmp(base + v->runs[j].off, base + v->runs[i].off, v->runs[i].len))
            j++;
        int64_t got[3] = { 0, 0, 0 };
        size_t n_mark = 0, first_mark = 0;
        for (size_t g = i; g < j; g++) {
            if (v->runs[g].kind == RK_MARKER) {
                if (n_mark++ == 0)
                    first_mark = g;
            } else {
                got[v->runs[g].kind]++;
            }
        }
        int rl = (int)(v->runs[i].len > 80 ? 80 : v->runs[i].len);
        const char *rid = base + v->runs[i].off;
        if (!n_mark) {
            v->rep->runs_open++;
            char feat[128];
            feature_at(v, v->runs[i].seq, feat, sizeof feat);
            problem(v, DSR_VERIFY_OPEN_RUN, v->runs[i].seq, NULL,
                    "scan run %.*s (feature %s): %zu events from seq %llu to %llu and no "
                    "completion marker (interrupted, or still being written)", rl, rid, feat,
                    j - i, (unsigned long long)v->runs[i].seq,
                    (unsigned long long)v->runs[j - 1].seq);
            i = j;
            continue;
        }
        v->rep->runs_completed++;
        const run_ev *mr = &v->runs[first_mark];
        const marker *m = &v->marks[mr->marker];
        int fl = (int)(m->feature_len > 80 ? 80 : m->feature_len);
        const char *feat = base + m->feature_off;
        if (n_mark > 1) {
            for (size_t g = first_mark + 1; g < j; g++)
                if (v->runs[g].kind == RK_MARKER)
                    problem(v, DSR_VERIFY_SCAN, v->runs[g].seq, NULL,
                            "scan run %.*s (feature %.*s) is completed twice: at seq %llu "
                            "and seq %llu", rl, rid, fl, feat, (unsigned long long)mr->seq,
                            (unsigned long long)v->runs[g].seq);
        }
        if (got[RK_INDEXED] != m->indexed || got[RK_MISSING] != m->missing
            || got[RK_REMOVED] != m->removed)
            problem(v, DSR_VERIFY_SCAN, mr->seq, NULL,
                    "scan run %.*s (feature %.*s), completed at seq %llu, declares %lld "
                    "indexed, %lld missing, %lld removed events; the log holds %lld, %lld, %lld",
                    rl, rid, fl, feat, (unsigned long long)mr->seq, (long long)m->indexed,
                    (long long)m->missing, (long long)m->removed, (long long)got[RK_INDEXED],
                    (long long)got[RK_MISSING], (long long)got[RK_REMOVED]);
        size_t late = 0;
        uint64_t first_late = 0;
        for (size_t g = first_mark + 1; g < j; g++)
            if (v->runs[g].kind != RK_MARKER && late++ == 0)
                first_late = v->runs[g].seq;
        if (late)
            problem(v, DSR_VERIFY_SCAN, first_late, NULL,
                    "scan run %.*s (feature %.*s): %zu events stored after its completion at "
                    "seq %llu (first at seq %llu)", rl, rid, fl, feat, late,
                    (unsigned long long)mr->seq, (unsigned long long)first_late);
        i = j;
    }
}

static void checkpoints_check(vctx *v)
{
    size_t n = dsr_replay_projection_count();
    for (size_t i = 0; i < n && i < 4; i++) {
        const char *name = dsr_replay_projection_name(i);
        uint64_t c = 0;
        dsr_err e = { 0 };
        if (dsr_replay_checkpoint(v->log, name, &c, &e)) {
            problem(v, DSR_VERIFY_READ, 0, NULL, "projection %s: cannot read its checkpoint: "
                    "%s", name, e.msg);
            continue;
        }
        v->rep->checkpoints[i] = c;
        v->rep->n_checkpoints = i + 1;
        if (v->events_complete && c > v->head_eff)
            problem(v, DSR_VERIFY_CHECKPOINT, c, NULL, "projection %s has applied up to seq "
                    "%llu, past the log head %llu", name, (unsigned long long)c,
                    (unsigned long long)v->rep->head);
    }
}

/* ---- pass 4: every other family, for checksums ------------------------------ */

static void families_check(vctx *v)
{
    dsr_log *log = v->log;
    for (size_t i = 0; i < log_cf_count(log); i++) {
        const char *name;
        rocksdb_column_family_handle_t *h = log_cf_at(log, i, &name);
        if (!strcmp(name, LOG_CF_EVENTS) || !strcmp(name, LOG_CF_IDS))
            continue;
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log_db(log), v->ro, h);
        if (!it) {
            v->oom = 1;
            return;
        }
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t kl, vl;
            rocksdb_iter_key(it, &kl);
            rocksdb_iter_value(it, &vl);
        }
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e) {
            problem(v, DSR_VERIFY_READ, 0, NULL, "column family %s: %s", name, e);
            rocksdb_free(e);
        }
        rocksdb_iter_destroy(it);
    }
}

/* ---- pass 5: every table file through a point lookup -------------------------
 * Iteration reads data and index blocks, never the bloom filter of a table
 * (only point lookups consult it).  A lookup of each live table's smallest
 * and largest key reads its filter, index and data blocks with their
 * checksums verified.  (A key still in a memtable is answered from memory,
 * so this covers tables whose keys were not rewritten since they were
 * flushed -- the events and ids tables always.) */
static void tables_check(vctx *v)
{
    dsr_log *log = v->log;
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(log_db(log));
    if (!lf)
        return;
    int n = rocksdb_livefiles_count(lf);
    for (int i = 0; i < n; i++) {
        const char *cfname = rocksdb_livefiles_column_family_name(lf, i);
        rocksdb_column_family_handle_t *h = cfname ? log_cf_find(log, cfname) : NULL;
        if (!h)
            continue;
        for (int end = 0; end < 2; end++) {
            size_t klen = 0;
            const char *k = end ? rocksdb_livefiles_largestkey(lf, i, &klen)
                                : rocksdb_livefiles_smallestkey(lf, i, &klen);
            if (!k)
                continue;
            char *e = NULL;
            size_t vlen = 0;
            char *val = rocksdb_get_cf(log_db(log), v->ro, h, k, klen, &vlen, &e);
            rocksdb_free(val);
            if (e) {
                problem(v, DSR_VERIFY_READ, 0, NULL, "table %s (column family %s): %s",
                        rocksdb_livefiles_name(lf, i), cfname, e);
                rocksdb_free(e);
                break;
            }
        }
    }
    rocksdb_livefiles_destroy(lf);
}

int dsr_verify(const char *dir, dsr_verify_fn fn, void *ud, dsr_verify_report *report,
               dsr_err *err)
{
    dsr_verify_report local_rep = DSR_VERIFY_REPORT_INIT;
    if (!report)
        report = &local_rep;
    if (report_version_reset(report, sizeof *report, DSR_VERIFY_REPORT_VERSION,
                             "dsr_verify_report", "DSR_VERIFY_REPORT_INIT", err))
        return DSR_EINVAL;
    if (!dir || !*dir)
        return dsr_err_set(err, DSR_EINVAL, "verify: no log folder given");
    vctx v;
    memset(&v, 0, sizeof v);
    v.fn = fn;
    v.ud = ud;
    v.rep = report;
    v.err = err;
    dsr_err oerr = { 0 };
    int rc = dsr_log_open(&v.log, dir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE | LOG_OPEN_LENIENT,
                          &oerr);
    if (rc == DSR_ECORRUPT) {
        /* Damage RocksDB itself refuses (a table or MANIFEST failing its
         * checksum): a finding, not a failure to check. */
        problem(&v, DSR_VERIFY_OPEN, 0, NULL, "%s", oerr.msg);
        return 0;
    }
    if (rc) {
        if (err)
            *err = oerr;
        return rc;
    }
    report->opened = 1;
    /* the arena is never NULL: empty run ids are compared as arena + 0 */
    if (dsr_buf_reserve(&v.arena, 256) || !(v.ro = rocksdb_readoptions_create())) {
        dsr_buf_free(&v.arena);
        dsr_log_close(v.log);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
    }
    rocksdb_readoptions_set_verify_checksums(v.ro, 1);
    rocksdb_readoptions_set_fill_cache(v.ro, 0);

    wal_check(&v);
    side_wal_check(&v);
    events_pass(&v);
    tail_check(&v);
    if (!v.oom)
        ids_pass(&v);
    if (!v.oom) {
        meta_check(&v);
        stamps_check(&v);
        runs_check(&v);
        checkpoints_check(&v);
        families_check(&v);
        tables_check(&v);
    }
    rc = 0;
    if (v.oom)
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory verifying the log "
                         "(%llu events read)", dir, (unsigned long long)report->events);
    for (size_t i = 0; i < v.n_nodes; i++)
        free(v.nodes[i]);
    free(v.nodes);
    free(v.ids);
    free(v.runs);
    free(v.marks);
    free(v.stamps);
    dsr_buf_free(&v.arena);
    rocksdb_readoptions_destroy(v.ro);
    dsr_log_close(v.log);
    return rc;
}

/*
 * repair.c - `dossier verify --repair`: rebuild a log's derived data from
 * its events family.
 *
 * What is derived, and so rebuilt: the ids family (event_id -> sequence),
 * the meta counters (next_seq, lamport), the record of lost sequences (meta
 * "lost": the gaps below the head, which readers then step over, and the
 * sequences after the last stored event up to the high-water mark, which
 * next_seq then passes: see lost_tail), the high-water mark itself, a
 * missing identity, and every projection (replayed from zero).  A damaged
 * write-ahead log is replayed past the damage (eventlog/log_db.c
 * check_wal): the events after it are kept, those it held become a gap.  What is never touched: the events family.
 * An event is never deleted, rewritten or renumbered -- a record that does
 * not decode stays where it is (its id is unknown, so it gets no ids entry),
 * and a gap in the sequences stays a gap (renumbering would break every
 * cursor that names sequences: `events --since`, deliveries, NATS).
 *
 * Rules for the index: each decodable event gets ids[event_id] = its
 * sequence; when one event_id is stored twice, the entry keeps naming either
 * copy if it already does, else the first.  Entries of no stored event, and
 * malformed ones, are deleted (so an event whose record was damaged can be
 * imported again from another copy of the log).
 *
 * Durability: fixes are committed in synced WriteBatches of at most
 * REPAIR_BATCH_OPS operations, the counters last, then the log is closed and
 * reopened with the normal consistency checks before the projections are
 * rebuilt.  A crash anywhere leaves a log that the next repair finishes; the
 * events are the same throughout.
 */
#include "log_store.h"
#include "be.h"
#include "opts_version.h"
#include "dossier/verify.h"
#include "array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPAIR_BATCH_OPS 65536

typedef struct rep_id {
    char     id[DSR_ULID_LEN];
    uint64_t seq;
} rep_id;

static int cmp_rep_id(const void *a, const void *b)
{
    const rep_id *x = a, *y = b;
    int c = memcmp(x->id, y->id, DSR_ULID_LEN);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct fixer {
    dsr_log              *log;
    rocksdb_column_family_handle_t *ids;
    rocksdb_writebatch_t *wb;
    size_t                ops;
    dsr_err              *err;
} fixer;

static int fixer_flush(fixer *f)
{
    if (!f->ops)
        return 0;
    char *e = NULL;
    rocksdb_write(log_db(f->log), log_sync_wopts(f->log), f->wb, &e);   /* sync = true */
    rocksdb_writebatch_clear(f->wb);
    f->ops = 0;
    if (e)
        return log_rdb_fail(f->err, e, "%s: cannot write the repaired index",
                            dsr_log_dir(f->log));
    return 0;
}

static int fix_put(fixer *f, const char *id, uint64_t seq)
{
    unsigned char k[8];
    be_put64(k, seq);
    rocksdb_writebatch_put_cf(f->wb, f->ids, id, DSR_ULID_LEN, (const char *)k, 8);
    return ++f->ops >= REPAIR_BATCH_OPS ? fixer_flush(f) : 0;
}

static int fix_delete(fixer *f, const char *key, size_t klen)
{
    rocksdb_writebatch_delete_cf(f->wb, f->ids, key, klen);
    return ++f->ops >= REPAIR_BATCH_OPS ? fixer_flush(f) : 0;
}

/* Gaps in the sequences of the events family: first, last pairs. */
typedef struct gaps {
    uint64_t *r;
    size_t    n, cap;   /* ranges */
} gaps;

static int gaps_add(gaps *g, uint64_t first, uint64_t last)
{
    /* an element is a range: two uint64_t */
    if (array_reserve1((void **)&g->r, g->n, &g->cap, 2 * sizeof *g->r, 16))
        return DSR_ENOMEM;
    g->r[2 * g->n] = first;
    g->r[2 * g->n + 1] = last;
    g->n++;
    return 0;
}

/* Read every event: the (id, seq) list sorted by id, the head, the largest
 * stamp, the gaps, and how many records do not decode. */
static int collect(dsr_log *log, rocksdb_readoptions_t *ro, rep_id **out, size_t *n_out,
                   uint64_t *head, uint64_t *max_stamp, gaps *g, dsr_repair_report *rep,
                   dsr_err *err)
{
    rep_id *ids = NULL;
    size_t n = 0, cap = 0;
    *head = *max_stamp = 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log_db(log), ro,
                                                        log_cf_find(log, LOG_CF_EVENTS));
    if (!it)
        return dsr_err_set(err, DSR_ENOMEM, "%s: cannot iterate events", dsr_log_dir(log));
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, len;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *rec = rocksdb_iter_value(it, &len);
        if (klen != 8)
            continue;   /* not a sequence: nothing can point at it */
        uint64_t seq = be_get64(k);
        if (seq > *head + 1 && gaps_add(g, *head + 1, seq - 1)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dsr_log_dir(log));
            break;
        }
        *head = seq;
        dsr_envelope env;
        dsr_err derr = { 0 };
        int drc = dsr_record_decode(rec, len, &u, &env, &derr);
        if (drc == DSR_ENOMEM) {
            rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory reading seq %llu",
                             dsr_log_dir(log), (unsigned long long)seq);
            break;
        }
        if (drc) {
            rep->undecodable++;
            continue;
        }
        if (ARRAY_RESERVE1(ids, n, cap, 4096)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory indexing events",
                             dsr_log_dir(log));
            break;
        }
        memcpy(ids[n].id, env.event_id.ptr, DSR_ULID_LEN);
        ids[n++].seq = seq;
        if (env.lamport_clock > *max_stamp)
            *max_stamp = env.lamport_clock;
    }
    if (!rc) {
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot read the events past seq %llu, so the index "
                              "cannot be rebuilt (nothing was changed)", dsr_log_dir(log),
                              (unsigned long long)*head);
    }
    msgpack_unpacked_destroy(&u);
    rocksdb_iter_destroy(it);
    if (rc) {
        free(ids);
        return rc;
    }
    if (n > 1)   /* (qsort's base must not be NULL, even for 0 elements) */
        qsort(ids, n, sizeof *ids, cmp_rep_id);
    *out = ids;
    *n_out = n;
    return 0;
}

static size_t group_end(const rep_id *ids, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && !memcmp(ids[j].id, ids[i].id, DSR_ULID_LEN))
        j++;
    return j;
}

/* Merge the sorted list with the ids family and write the differences. */
static int fix_index(dsr_log *log, rocksdb_readoptions_t *ro, const rep_id *ids, size_t n,
                     dsr_repair_report *rep, dsr_err *err)
{
    fixer f = { log, log_cf_find(log, LOG_CF_IDS), rocksdb_writebatch_create(), 0, err };
    if (!f.wb)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dsr_log_dir(log));
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log_db(log), ro, f.ids);
    if (!it) {
        rocksdb_writebatch_destroy(f.wb);
        return dsr_err_set(err, DSR_ENOMEM, "%s: cannot iterate ids", dsr_log_dir(log));
    }
    size_t i = 0;
    int rc = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !rc; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *val = rocksdb_iter_value(it, &vlen);
        if (klen != DSR_ULID_LEN || vlen != 8) {
            rep->ids_removed++;
            rc = fix_delete(&f, k, klen);
            continue;
        }
        while (!rc && i < n && memcmp(ids[i].id, k, DSR_ULID_LEN) < 0) {
            rep->ids_added++;
            rc = fix_put(&f, ids[i].id, ids[i].seq);
            i = group_end(ids, n, i);
        }
        if (rc)
            break;
        if (i < n && !memcmp(ids[i].id, k, DSR_ULID_LEN)) {
            size_t j = group_end(ids, n, i);
            uint64_t seq = be_get64(val);
            int ok = 0;
            for (size_t g = i; g < j; g++)
                ok |= ids[g].seq == seq;
            if (!ok) {
                rep->ids_fixed++;
                rc = fix_put(&f, ids[i].id, ids[i].seq);
            }
            i = j;
        } else {
            rep->ids_removed++;
            rc = fix_delete(&f, k, klen);
        }
    }
    if (!rc) {
        char *e = NULL;
        rocksdb_iter_get_error(it, &e);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot read the ids family", dsr_log_dir(log));
    }
    while (!rc && i < n) {
        rep->ids_added++;
        rc = fix_put(&f, ids[i].id, ids[i].seq);
        i = group_end(ids, n, i);
    }
    if (!rc)
        rc = fixer_flush(&f);
    rocksdb_iter_destroy(it);
    rocksdb_writebatch_destroy(f.wb);
    return rc;
}

/* meta[key] as an 8-byte counter: 1 and *out, 0 when absent or malformed. */
static int meta_u64(dsr_log *log, rocksdb_readoptions_t *ro, const char *key, uint64_t *out,
                    dsr_err *err)
{
    char *e = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(log_db(log), ro, log_cf_find(log, LOG_CF_META), key, strlen(key),
                             &len, &e);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot read meta %s", dsr_log_dir(log), key);
    int ok = v && len == 8;
    if (ok)
        *out = be_get64(v);
    rocksdb_free(v);
    return ok;
}

/* The sequences gone after the last stored event: up to the high-water mark
 * (every sequence ever committed, log_hwm.c) or the end of a lost range
 * recorded before.  Appended to g as one range; *tail_end = its last (head
 * when none). */
static int lost_tail(dsr_log *log, uint64_t head, gaps *g, uint64_t *tail_end, dsr_err *err)
{
    uint64_t mark = 0, prev = 0;
    int malformed = 0;
    int rc = log_hwm_read(dsr_log_dir(log), &mark, &prev, &malformed, err);
    if (rc < 0)
        return rc;
    uint64_t end = rc ? mark : 0;
    size_t n = 0;
    const uint64_t *old = log_lost_ranges(log, &n);
    if (n && old[2 * n - 1] > end)
        end = old[2 * n - 1];
    *tail_end = end > head ? end : head;
    if (end > head && gaps_add(g, head + 1, end))
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dsr_log_dir(log));
    return 0;
}

/* List in the report the ranges of g that no range recorded before covers. */
static void report_new_lost(dsr_log *log, const gaps *g, dsr_repair_report *rep)
{
    size_t n = 0;
    const uint64_t *old = log_lost_ranges(log, &n);
    for (size_t i = 0; i < g->n; i++) {
        uint64_t first = g->r[2 * i], last = g->r[2 * i + 1];
        int known = 0;
        for (size_t j = 0; j < n && !known; j++)
            known = old[2 * j] <= first && last <= old[2 * j + 1];
        if (known)
            continue;
        if (rep->lost_ranges < DSR_REPAIR_LOST_LISTED) {
            rep->lost[rep->lost_ranges][0] = first;
            rep->lost[rep->lost_ranges][1] = last;
        }
        rep->lost_ranges++;
        rep->lost_seqs += last - first + 1;
    }
}

static int fix_meta(dsr_log *log, rocksdb_readoptions_t *ro, uint64_t head, uint64_t max_stamp,
                    const gaps *g, dsr_repair_report *rep, dsr_err *err)
{
    uint64_t next = 0, lam = 0;
    int has_next = meta_u64(log, ro, LOG_META_NEXT_SEQ, &next, err);
    if (has_next < 0)
        return has_next;
    int has_lam = meta_u64(log, ro, LOG_META_LAMPORT, &lam, err);
    if (has_lam < 0)
        return has_lam;
    /* head: the last stored event, or the end of the lost range after it */
    uint64_t want_next = head + 1;
    uint64_t want_lam = has_lam && lam > max_stamp ? lam : max_stamp;
    rep->next_seq = want_next;
    rep->lamport = want_lam;
    rep->next_seq_fixed = !has_next || next != want_next;
    rep->lamport_fixed = !has_lam || lam != want_lam;
    /* meta "lost" names exactly the gaps: sequences no event will ever
     * have, which readers then step over (log_store.h). */
    rocksdb_column_family_handle_t *meta = log_cf_find(log, LOG_CF_META);
    size_t lost_len = g->n * 16;
    unsigned char *lost = lost_len ? malloc(lost_len) : NULL;
    if (lost_len && !lost)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dsr_log_dir(log));
    for (size_t i = 0; i < 2 * g->n; i++)
        be_put64(lost + 8 * i, g->r[i]);
    char *e = NULL;
    size_t cur_len = 0;
    char *cur = rocksdb_get_cf(log_db(log), ro, meta, LOG_META_LOST, strlen(LOG_META_LOST),
                               &cur_len, &e);
    if (e) {
        free(lost);
        return log_rdb_fail(err, e, "%s: cannot read meta %s", dsr_log_dir(log),
                            LOG_META_LOST);
    }
    int lost_fixed = cur ? cur_len != lost_len || (lost_len && memcmp(cur, lost, lost_len))
                         : lost_len != 0;
    rocksdb_free(cur);
    if (!rep->next_seq_fixed && !rep->lamport_fixed && !lost_fixed) {
        free(lost);
        return head ? log_hwm_write(log, head, head, err) : 0;
    }
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (!wb) {
        free(lost);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dsr_log_dir(log));
    }
    if (lost_len)
        rocksdb_writebatch_put_cf(wb, meta, LOG_META_LOST, strlen(LOG_META_LOST),
                                  (const char *)lost, lost_len);
    else
        rocksdb_writebatch_delete_cf(wb, meta, LOG_META_LOST, strlen(LOG_META_LOST));
    free(lost);
    unsigned char v[8];
    be_put64(v, want_next);
    rocksdb_writebatch_put_cf(wb, meta, LOG_META_NEXT_SEQ, strlen(LOG_META_NEXT_SEQ),
                              (const char *)v, 8);
    be_put64(v, want_lam);
    rocksdb_writebatch_put_cf(wb, meta, LOG_META_LAMPORT, strlen(LOG_META_LAMPORT),
                              (const char *)v, 8);
    rocksdb_write(log_db(log), log_sync_wopts(log), wb, &e);
    rocksdb_writebatch_destroy(wb);
    if (e)
        return log_rdb_fail(err, e, "%s: cannot write the repaired counters", dsr_log_dir(log));
    /* The mark follows the counters: the next writer open finds it at the
     * head, and numbers above both. */
    return head ? log_hwm_write(log, head, head, err) : 0;
}

/* The side stores' WALs (log_store.h): repaired under their own folder
 * locks while the caller holds the log's writer lock. */
static int repair_side_stores(const char *dir, dsr_repair_report *report, dsr_err *err)
{
    static const char *const stores[][2] = LOG_SIDE_STORES;
    for (size_t i = 0; i < sizeof stores / sizeof stores[0]; i++) {
        char sdir[4096];
        int n = snprintf(sdir, sizeof sdir, "%s/%s", dir, stores[i][0]);
        struct stat sb;
        if (n < 0 || (size_t)n >= sizeof sdir || stat(sdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        log_wal_state w;
        uint64_t kept = 0;
        int rc = log_side_repair(sdir, stores[i][1], &w, &kept, err);
        if (rc)
            return rc;
        if (w.damaged && report->side_repaired++ == 0) {
            snprintf(report->side_file, sizeof report->side_file, "%s/%s", stores[i][0], w.file);
            report->side_offset = w.offset;
            report->side_kept = kept;
            snprintf(report->side_what, sizeof report->side_what, "%s", w.what);
        }
    }
    return 0;
}

int dsr_repair(const char *dir, unsigned flags, dsr_repair_report *report, dsr_err *err)
{
    dsr_repair_report local_rep = DSR_REPAIR_REPORT_INIT;
    if (!report)
        report = &local_rep;
    if (report_version_reset(report, sizeof *report, DSR_REPAIR_REPORT_VERSION,
                             "dsr_repair_report", "DSR_REPAIR_REPORT_INIT", err))
        return DSR_EINVAL;
    report->replay.version = DSR_REPLAY_STATS_VERSION;
    if (!dir || !*dir)
        return dsr_err_set(err, DSR_EINVAL, "repair: no log folder given");
    unsigned base = (flags & DSR_LOG_WAIT) | DSR_LOG_NOCREATE;
    dsr_log *log = NULL;
    int rc = dsr_log_open(&log, dir, base | LOG_OPEN_LENIENT, err);
    if (rc)
        return rc;
    if ((rc = repair_side_stores(dir, report, err))) {
        dsr_log_close(log);
        return rc;
    }
    report->identity_created = log_identity_created(log) && dsr_log_head(log) > 0;
    const log_wal_state *wal = log_wal(log);
    if (wal->damaged) {
        report->wal_damaged = 1;
        snprintf(report->wal_file, sizeof report->wal_file, "%s", wal->file);
        report->wal_offset = wal->offset;
        snprintf(report->wal_what, sizeof report->wal_what, "%s", wal->what);
    }
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (!ro) {
        dsr_log_close(log);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
    }
    rocksdb_readoptions_set_verify_checksums(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rep_id *ids = NULL;
    size_t n = 0;
    uint64_t head = 0, max_stamp = 0;
    gaps g = { 0 };
    uint64_t tail_end = 0;
    rc = collect(log, ro, &ids, &n, &head, &max_stamp, &g, report, err);
    if (!rc)
        rc = lost_tail(log, head, &g, &tail_end, err);
    if (!rc)
        report_new_lost(log, &g, report);
    if (!rc)
        rc = fix_index(log, ro, ids, n, report, err);
    if (!rc)
        rc = fix_meta(log, ro, tail_end, max_stamp, &g, report, err);
    /* A damaged WAL must not outlive the repair: once everything replayed
     * from it is in tables, RocksDB no longer needs it and deletes it. */
    if (!rc && report->wal_damaged)
        rc = log_flush_wait(log, err);
    free(g.r);
    free(ids);
    rocksdb_readoptions_destroy(ro);
    dsr_log_close(log);
    if (rc)
        return rc;

    /* A normal open checks what was just repaired; then rebuild projections. */
    if ((rc = dsr_log_open(&log, dir, base, err)))
        return dsr_err_prefix(err, "after repairing the index");
    dsr_replay_opts o = { DSR_REPLAY_OPTS_VERSION, DSR_REPLAY_FROM_ZERO, 0 };
    report->replay = (dsr_replay_stats)DSR_REPLAY_STATS_INIT;
    rc = dsr_replay_run(log, NULL, &o, &report->replay, err);
    if (!rc)
        report->projections_rebuilt = 1;
    else
        dsr_err_prefix(err, "rebuilding projections");
    dsr_log_close(log);
    return rc;
}

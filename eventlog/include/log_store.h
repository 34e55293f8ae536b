/*
 * log_store.h - what the modules above eventlog/ (verify/, ingest/) need of
 * the store beyond the public dossier/log.h: the names of the core column
 * families and meta keys, the lenient open verify and repair use, and read
 * access to the RocksDB instance for verify's raw passes.  The shape of a
 * dsr_log and its batch is private to eventlog/ (eventlog/log.h).  Never
 * installed, never seen by the CLI.
 *
 * Invariants of the store (kept by eventlog/, checked by `dossier verify`):
 *   - the events family maps 8-byte big-endian sequences (common/be.h) to
 *     records; the sequences are dense from 1; the next one a writer assigns
 *     is meta "next_seq" = the last stored sequence + 1;
 *   - the ids family maps each stored event_id to its sequence;
 *   - meta "lamport" is at least every stamp stored in the log;
 *   - node_id and project_uuid exist once any event does.
 */
#ifndef DOSSIER_LOG_STORE_H
#define DOSSIER_LOG_STORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "dossier/error.h"
#include "dossier/log.h"

#define LOG_CF_EVENTS "events"
#define LOG_CF_IDS    "ids"
#define LOG_CF_META   "meta"

#define LOG_META_NODE_ID      "node_id"
#define LOG_META_PROJECT_UUID "project_uuid"
#define LOG_META_LAMPORT      "lamport"
#define LOG_META_NEXT_SEQ     "next_seq"
/* Sequences below the head that hold no event and never will: gaps that
 * `verify --repair` found and recorded (it never renumbers).  The value is
 * a sorted list of disjoint, non-adjacent ranges, each two 8-byte
 * big-endian sequences first, last (16 bytes a range); absent when none.
 * Readers hand out the events around them instead of refusing the log. */
#define LOG_META_LOST         "lost"

/* Private dsr_log_open flag for `dossier verify` and `--repair`
 * (verify/verify.c, verify/repair.c): open even when meta disagrees with the
 * events (next_seq not last + 1, identity missing or malformed, counters of
 * the wrong size, an ids key of the wrong length).  Such meta values are
 * taken as absent and the handle's next sequence is set from the events, so
 * the caller can report the problem, or repair it, instead of being refused.
 * With DSR_LOG_RDONLY it opens a plain RocksDB read-only instance instead of
 * a secondary (see log_db.c: a secondary skips table files it cannot
 * open). */
#define LOG_OPEN_LENIENT (1u << 16)

/* ---- log_status.c: RocksDB error strings -> dsr_err ------------------- */
/* Map a RocksDB error string (freed here) to a DSR_E* code and set err to
 * "<formatted context>: <rocksdb message>".  Returns the code. */
int log_rdb_fail(dsr_err *err, char *rdb_msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- log_read.c: one pass over a family -------------------------------- */
/* As dsr_log_iter_cf, for a caller that reads the prefix's entries once,
 * front to back (the scan cache of a feature): the reads go ahead in large
 * blocks and bypass the block cache, as in-order event scans do, so a pass
 * neither fills the cache with blocks read once nor pays for a read per
 * small block. */
int log_iter_cf_sequential(dsr_log *log, const char *cf, const void *prefix, size_t plen,
                           dsr_log_iter **out, dsr_err *err);

/* As dsr_log_get and dsr_log_find_event, without waiting for the handle's
 * batch in flight (dsr_log_batch_commit_async): they read what is committed,
 * so a key that batch writes may be read before or after it lands.  For an
 * owner that knows the batch in flight does not write the keys it asks for
 * (the replay driver: replay/pstate.c, replay/proj_ctx.c). */
int log_get_committed(dsr_log *log, const char *cf, const void *key, size_t klen,
                      struct dsr_buf *val, dsr_err *err);
int log_find_event_committed(dsr_log *log, const char *event_id, uint64_t *seq, dsr_err *err);

/* ---- raw access for verify/repair (log_cf.c) -------------------------- */
/* The RocksDB instance of an open handle (owned by the handle). */
rocksdb_t *log_db(dsr_log *log);
/* The write options every commit uses (sync = true), for writing the store
 * directly (repair); the handle then no longer vouches that meta's counters
 * equal its own. */
const rocksdb_writeoptions_t *log_sync_wopts(dsr_log *log);
/* The handle of family name, or NULL when this handle did not open it. */
rocksdb_column_family_handle_t *log_cf_find(const dsr_log *log, const char *name);
/* The families this handle opened: i < log_cf_count(); *name is owned by
 * the handle. */
size_t log_cf_count(const dsr_log *log);
rocksdb_column_family_handle_t *log_cf_at(const dsr_log *log, size_t i, const char **name);
/* 1 when this open generated node_id or project_uuid (log_identity.c). */
int log_identity_created(const dsr_log *log);

/* ---- log_wal.c: the write-ahead log checked before a writer opens ------- */
/* What a check of the WAL files found.  damaged: a record other than the
 * torn tail fails its check, at file/offset (the first such, oldest file
 * first); committed records may follow it.  torn: the log ends in a record a
 * crash cut short (tolerated: that write was never acknowledged). */
typedef struct log_wal_state {
    int      damaged;
    char     file[64];          /* WAL file name within the log folder */
    uint64_t offset;            /* where the damaged record starts */
    char     what[64];          /* what is wrong with it */
    int      torn;
    char     torn_file[64];
    uint64_t torn_offset;
    unsigned files;             /* WAL files read */
    uint64_t bytes;             /* their size */
    uint64_t records;           /* whole logical records read before any damage */
} log_wal_state;

/* Read every WAL file of the log folder dir (names "<digits>.log") and check
 * every record.  0 with st filled in, or DSR_EIO/DSR_ENOMEM when a file
 * cannot be read.  Nothing is written. */
int log_wal_check(const char *dir, log_wal_state *st, dsr_err *err);
/* What the check at this handle's open found (writers and lenient opens;
 * all zero for secondaries, which do not check). */
const log_wal_state *log_wal(const dsr_log *log);

/* Side stores (the delivery state in <log>/delivery, the publish cursor
 * store in <log>/publish): RocksDB databases of their own, checked the same
 * way before every open.  log_side_wal_check: 0 (st filled in) when no WAL
 * record but a torn tail is damaged; DSR_ECORRUPT naming dir/file, the
 * offset and `dossier verify --repair --log LOGDIR` when one is ("what" names the store
 * in the message: "delivery state"); DSR_EIO when a file cannot be read.
 * LOG_SIDE_STORES lists them as { folder in the log, name }. */
#define LOG_SIDE_STORES { { "delivery", "delivery state" }, { "publish", "publish cursor store" } }
int log_side_wal_check(const char *dir, const char *what, const char *logdir, log_wal_state *st,
                       dsr_err *err);
/* When the WAL of the store in dir is damaged (st says where), under the
 * store's folder lock: keep every write batch committed after the damaged
 * record (resynchronising on the next record whose checksum holds), open
 * the store replaying what RocksDB can read, apply the kept batches again in
 * order, flush (RocksDB then drops the damaged WAL) and check again.
 * *kept: batches applied again.  What the damaged record held is lost.
 * 0 (st->damaged tells whether anything was repaired), DSR_ELOCKED when the
 * store's writer runs, DSR_ECORRUPT when the WAL is still damaged, DSR_EIO,
 * DSR_ENOMEM. */
int log_side_repair(const char *dir, const char *what, log_wal_state *st, uint64_t *kept,
                    dsr_err *err);

/* ---- log_hwm.c: the sequence high-water mark --------------------------- */
/* The file, in the log folder, that remembers the highest sequence ever
 * committed, out of RocksDB's reach: a WAL deleted, truncated or damaged
 * cannot take it along, so a head that fell below it shows committed events
 * were lost.  Written after a commit's fsync returned (so it never runs
 * ahead of what was durable), without an fsync of its own: it can lag
 * (an operating-system crash), never lead. */
#define LOG_HWM_FILE "SEQUENCE_HWM"
/* The mark in dir: 1 with *head (the highest committed sequence) and *prev
 * (the head before the commit that set it), 0 when there is none (a log of
 * an older version) or it is malformed (*malformed = 1), or a negative code
 * when it cannot be read. */
int log_hwm_read(const char *dir, uint64_t *head, uint64_t *prev, int *malformed,
                 dsr_err *err);
/* Set the mark of a writer handle (repair, after moving the log forward). */
int log_hwm_write(dsr_log *log, uint64_t head, uint64_t prev, dsr_err *err);

/* ---- log_meta.c: recorded losses --------------------------------------- */
/* meta "lost" as loaded at open: n ranges, first/last pairs (NULL when
 * none).  Owned by the handle. */
const uint64_t *log_lost_ranges(const dsr_log *log, size_t *n);
/* 1 when every sequence of [first, last] is in a recorded lost range. */
int log_lost_covers(const dsr_log *log, uint64_t first, uint64_t last);

/* ---- log_flush.c ------------------------------------------------------- */
/* When the WAL is large (the same threshold as the flush at close), start
 * flushing every memtable in the background and return at once.
 * ingest/record_scan.c calls it after a run's last commit: the tables are
 * then written while the projections fold the run, instead of at close. */
void log_flush_start(dsr_log *log);
/* Flush every family and wait (repair: what was replayed from a damaged
 * WAL is then in table files, and RocksDB drops that WAL). */
int log_flush_wait(dsr_log *log, dsr_err *err);

#endif

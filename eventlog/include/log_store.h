/*
 * log_store.h - eventlog/'s interface to the modules above it (verify/,
 * ingest/): the shape of a dsr_log and its batch, shared by the
 * eventlog/log_*.c files and emit.c.  Never installed, never seen by the
 * CLI.
 *
 * Invariants kept by the code that owns each field:
 *   - log->next_seq is one more than the largest key of the events CF and
 *     equals meta "next_seq" (log_open.c checks it, log_append.c keeps it);
 *   - log->lamport equals meta "lamport";
 *   - at most one batch is open per log (log->batch.active);
 *   - the column-family table maps every family the handle opened or created
 *     to its handle; events/ids/meta also have direct pointers (NULL on a
 *     read-only handle of a log whose families were never created).
 * Thread ownership: a dsr_log and everything in it belong to one thread,
 * except the batch in flight, whose WriteBatch the committer thread writes
 * (log_commit.c says what it may touch).
 */
#ifndef DOSSIER_LOG_STORE_H
#define DOSSIER_LOG_STORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <rocksdb/c.h>

#include "dossier/error.h"
#include "dossier/event.h"
#include "dossier/log.h"

#define LOG_CF_EVENTS "events"
#define LOG_CF_IDS    "ids"
#define LOG_CF_META   "meta"

#define LOG_META_NODE_ID      "node_id"
#define LOG_META_PROJECT_UUID "project_uuid"
#define LOG_META_LAMPORT      "lamport"
#define LOG_META_NEXT_SEQ     "next_seq"

/* Private dsr_log_open flag for `dossier verify` and `--repair`
 * (log_verify.c, log_repair.c): open even when meta disagrees with the
 * events (next_seq not last + 1, identity missing or malformed, counters of
 * the wrong size, an ids key of the wrong length).  Such meta values are
 * taken as absent and log->next_seq is set from the events, so the caller
 * can report the problem, or repair it, instead of being refused.  With
 * DSR_LOG_RDONLY it opens a plain RocksDB read-only instance instead of a
 * secondary (see log_open.c: a secondary skips table files it cannot open). */
#define LOG_OPEN_LENIENT (1u << 16)

typedef struct log_cf {
    char *name;
    rocksdb_column_family_handle_t *h;
} log_cf;

/* Set of event_ids appended to the open batch: open addressing over a slot
 * array of 1-based indexes into a flat array of 26-byte ids.  Memory is kept
 * between batches so a steady stream of batches allocates nothing. */
typedef struct log_idset {
    char     *ids;       /* n * DSR_ULID_LEN bytes */
    uint64_t *seqs;      /* sequence assigned to ids[i] */
    size_t    n, cap;
    uint32_t *slots;     /* 0 empty, else index + 1 */
    size_t    nslots;    /* power of two, > 2 * cap */
} log_idset;

/* Scratch the emitter reuses for every event of a batch, so encoding an
 * event does not allocate once the buffers have grown (emit.c owns use). */
typedef struct log_emit_scratch {
    msgpack_sbuffer  rec;     /* the envelope being built */
    msgpack_sbuffer  aux;     /* import: re-encoded copy */
    msgpack_zone     zone;    /* decoded payloads; cleared, not freed, per event */
    msgpack_unpacked up;      /* import: the re-encoded record's view */
    uint64_t         ts_ms;   /* the millisecond ts[] was formatted for */
    char             ts[32];  /* RFC 3339 "now", reused within that millisecond */
    int              ready;
} log_emit_scratch;

typedef struct log_committer log_committer;

struct dsr_log_batch {
    dsr_log              *log;
    rocksdb_writebatch_t *wb;
    uint64_t              next_seq;  /* next sequence this batch assigns */
    uint64_t              lamport;   /* clock as of this batch */
    char                  max_id[DSR_ULID_LEN];  /* log->max_id plus this batch's ids */
    int                   has_max_id;
    size_t                n_events;
    log_idset             idset;
    log_emit_scratch      scratch;
    int                   active;
};

struct dsr_log {
    char                   *dir;
    unsigned                flags;
    rocksdb_t              *db;
    rocksdb_options_t      *opts;          /* DB-wide; default and named families */
    rocksdb_options_t      *events_opts;   /* events family (see make_options) */
    rocksdb_options_t      *ids_opts;      /* ids family */
    rocksdb_options_t      *proj_opts;     /* projection state families */
    rocksdb_block_based_table_options_t *table, *events_table;
    rocksdb_readoptions_t  *ropts;
    rocksdb_readoptions_t  *scan_ropts;    /* iterating the events family in order */
    rocksdb_writeoptions_t *wopts;     /* sync = true */
    log_cf                 *cfs;
    size_t                  n_cfs, cap_cfs;
    rocksdb_column_family_handle_t *cf_events, *cf_ids, *cf_meta;
    char                    node_id[DSR_ULID_LEN + 1];
    char                    project_uuid[37];
    uint64_t                lamport;
    uint64_t                next_seq;
    /* Largest event_id in the ids family (writers).  ids keys sort like the
     * ULIDs' time order, so an id above it cannot be stored: the append path
     * skips the RocksDB lookup for every freshly generated id. */
    char                    max_id[DSR_ULID_LEN];
    int                     has_max_id;
    dsr_ulid_gen            ulid;
    int                     identity_created; /* this open generated node_id/project_uuid */
    char                   *secondary_dir; /* read-only handles: private info-log dir */
    int                     folder_lock;   /* writers: fd of the folder, flock()ed; -1 */
    /* Two batch structs, reused: the open one and, alternately, the one the
     * committer thread is writing (log_commit.c). */
    struct dsr_log_batch    batch[2];
    struct dsr_log_batch   *inflight;      /* handed to the committer, not settled */
    log_committer          *committer;     /* started by the first async commit */
    dsr_err                 commit_err;    /* a background commit's failure not yet
                                            * returned to the caller (code 0: none) */
};

/* ---- log_status.c: RocksDB error strings -> dsr_err ------------------- */
/* Map a RocksDB error string (freed here) to a DSR_E* code and set err to
 * "<formatted context>: <rocksdb message>".  Returns the code. */
int log_rdb_fail(dsr_err *err, char *rdb_msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The DSR_E* code for a RocksDB message (no side effects). */
int log_rdb_code(const char *rdb_msg);

/* ---- log_cf.c: the column-family table -------------------------------- */
rocksdb_column_family_handle_t *log_cf_find(const dsr_log *log, const char *name);
/* Add an opened handle to the table (takes ownership of h even on error). */
int  log_cf_add(dsr_log *log, const char *name, rocksdb_column_family_handle_t *h,
                dsr_err *err);
/* Find, or create (writers only) the family.  Core families are refused for
 * generic writes by the callers, not here. */
int  log_cf_get_or_create(dsr_log *log, const char *name,
                          rocksdb_column_family_handle_t **out, dsr_err *err);
void log_cf_destroy_all(dsr_log *log);
int  log_cf_is_core(const char *name);

/* ---- log_append.c / log_commit.c ------------------------------------------ */
/* Clear a batch for reuse and mark it closed. */
void log_batch_end(dsr_log_batch *b);
/* Wait for the batch in flight (if any) and fold its outcome into the log:
 * counters on success, else the failure is kept for log_commit_result.
 * Every read of a writer handle drains first, so it sees what was handed
 * over. */
void log_commit_drain(dsr_log *log);
/* Drain, then return (and forget) a failure kept from the background. */
int  log_commit_result(dsr_log *log, dsr_err *err);
/* Drain and stop the committer thread (close). */
void log_commit_stop(dsr_log *log);

/* ---- log_open.c ---------------------------------------------------------- */
/* (Re)load node_id, project_uuid, lamport and next_seq from meta. */
int  log_load_meta(dsr_log *log, dsr_err *err);
/* Options a family is opened or created with. */
rocksdb_options_t *log_cf_options(dsr_log *log, const char *name);
/* Close and reopen a read-only handle (new column families appeared). */
int  log_reopen_readonly(dsr_log *log, dsr_err *err);
/* Reader: reopen a torn view (events without identity, or none) for up to a
 * second; rc is the first load's result. */
int  log_reader_settle(dsr_log *log, int rc, dsr_err *err);
/* 8-byte big-endian value helpers for meta counters. */
void     log_u64_be(uint64_t v, unsigned char out[8]);
uint64_t log_be_u64(const void *p);

/* ---- log_append.c (used by emit.c) -------------------------------------- */
/* Is event_id stored already, or appended to this batch?  1 (and *seq) yes,
 * 0 no, or a negative code when the ids family cannot be read. */
int  log_batch_lookup(dsr_log_batch *b, const char *event_id, uint64_t *seq, dsr_err *err);
/* Append a record whose event_id the caller just looked up and found absent:
 * skips the second lookup. */
int  log_batch_append_new(dsr_log_batch *b, const char *event_id, const void *rec,
                          size_t len, uint64_t *seq_out, dsr_err *err);
void log_batch_release(dsr_log_batch *b);  /* free memory kept between batches */

/* log_open.c: when the WAL is large (the same threshold as the flush at
 * close), start flushing every memtable in the background and return at
 * once.  record_scan.c calls it after a run's last commit: the tables are
 * then written while the projections fold the run, instead of at close. */
void log_flush_start(dsr_log *log);

#endif

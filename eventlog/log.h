/*
 * log.h - private to eventlog/: the shape of a dsr_log and its batch, and
 * the functions the log_*.c files and emit.c share.  Modules above see only
 * include/log_store.h.
 *
 * The files, bottom up (each uses only those above it in this list):
 *   log_status.c    RocksDB error strings -> dsr_err
 *   log_idset.c     the in-memory set of event_ids appended to a batch
 *   log_hwm.c       the sequence high-water mark kept beside RocksDB
 *   log_batch.c     a batch's memory: end, abort, release
 *   log_commit.c    committing a batch, synchronously or in the background
 *   log_options.c   RocksDB tuning: DB, table and per-family options
 *   log_cf.c        the column-family table, families created on first use
 *   log_append.c    opening a batch and filling it (events, counters, puts)
 *   log_read.c      point gets and iterators
 *   log_identity.c  node_id and project_uuid: generated once, stored in meta
 *   log_meta.c      loading identity and counters into the handle at open
 *   log_wal.c       the WAL files checked before a writer replays them
 *   log_db.c        the RocksDB instance: folder, lock, open and close
 *   log_flush.c     when a writer flushes its memtables and compacts tables
 *   log_secondary.c read-only handles: scratch folder, settle, refresh
 *   log_open.c      dsr_log_open / dsr_log_close and the accessors
 *   emit.c          the one way events enter a batch (dossier/emit.h)
 *
 * Invariants kept by the code that owns each field (asserted where they
 * change):
 *   - log->next_seq is one more than the largest key of the events family,
 *     or than the end of a recorded lost range that follows it, and equals
 *     meta "next_seq" (log_meta.c checks it at open, log_commit.c keeps it);
 *   - writers: the high-water mark (log_hwm.c) is at most log->next_seq - 1
 *     once the open returns, and equals it after every settled commit that
 *     appended events;
 *   - log->lamport equals meta "lamport";
 *   - at most one batch is open per log (log->batch[i].active), and at most
 *     one other is in flight (log->inflight);
 *   - a batch's next_seq is log->next_seq (or that of the batch in flight)
 *     plus the number of events it appended;
 *   - the column-family table maps every family the handle opened or created
 *     to its handle; events/ids/meta also have direct pointers (NULL on a
 *     read-only handle of a log whose families were never created).
 * Thread ownership: a dsr_log and everything in it belong to one thread,
 * except the batch in flight, whose WriteBatch the committer thread writes
 * (log_commit.c says what it may touch).
 */
#ifndef DOSSIER_EVENTLOG_LOG_H
#define DOSSIER_EVENTLOG_LOG_H

#include <msgpack.h>

#include "log_store.h"
#include "be.h"
#include "strmap.h"
#include "dossier/event.h"
#include "codec.h"

typedef struct log_cf {
    char *name;
    rocksdb_column_family_handle_t *h;
} log_cf;

/* Set of event_ids appended to the open batch (log_idset.c): the first
 * n_sorted ids, added in increasing order, as sorted rows; the rest in the
 * common hash map from each id to a 1-based index into seqs (the map's
 * values are pointers, and an index fits one on every platform where a
 * sequence may not). */
typedef struct log_idset {
    strmap    map;
    uint64_t *seqs;      /* sequence assigned to the i-th id added */
    size_t    n, cap;
    char     *ids;       /* n_sorted rows of DSR_ULID_LEN bytes, increasing */
    size_t    n_sorted, ids_cap;
} log_idset;

/* Scratch the emitter reuses for every event of a batch, so encoding an
 * event does not allocate once the buffers have grown (emit.c owns use). */
typedef struct log_emit_scratch {
    msgpack_sbuffer  rec;     /* the envelope being built (general path) */
    dsr_buf          direct;  /* the record of a direct-path indexed event */
    codec_head_memo  memo;    /* that path's ids that stay the same from event to event */
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
    uint64_t              first_seq; /* next_seq when the batch was begun */
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
    rocksdb_options_t      *events_opts;   /* events family (log_options.c) */
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
    uint64_t               *lost;          /* meta "lost": first, last pairs */
    size_t                  n_lost;        /* ranges in lost */
    /* Largest event_id in the ids family (writers).  ids keys sort like the
     * ULIDs' time order, so an id above it cannot be stored: the append path
     * skips the RocksDB lookup for every freshly generated id. */
    char                    max_id[DSR_ULID_LEN];
    int                     has_max_id;
    dsr_ulid_gen            ulid;
    int                     identity_created; /* this open generated node_id/project_uuid */
    int                     opened;        /* dsr_log_open succeeded */
    int                     flushed;       /* writers: this session flushed (or
                                            * began to): its close looks at
                                            * the tables (log_flush.c) */
    int                     raw_writes;    /* log_sync_wopts handed out: someone
                                            * may write behind the counters */
    char                   *secondary_dir; /* read-only handles: private info-log dir */
    log_wal_state           wal;           /* the WAL check at open (log_wal.c) */
    int                     hwm_fd;        /* writers: the high-water mark file; -1 */
    int                     folder_lock;   /* writers: fd of the folder, flock()ed; -1 */
    /* Two batch structs, reused: the open one and, alternately, the one the
     * committer thread is writing (log_commit.c). */
    struct dsr_log_batch    batch[2];
    struct dsr_log_batch   *inflight;      /* handed to the committer, not settled */
    log_committer          *committer;     /* started by the first async commit */
    dsr_err                 commit_err;    /* a background commit's failure not yet
                                            * returned to the caller (code 0: none) */
};

/* ---- log_status.c ------------------------------------------------------ */
/* The DSR_E* code for a RocksDB message (no side effects). */
int log_rdb_code(const char *rdb_msg);

/* ---- log_idset.c ------------------------------------------------------- */
/* 1 and *seq when id is in the set, else 0. */
int  log_idset_find(const log_idset *s, const char *id, uint64_t *seq);
int  log_idset_add(log_idset *s, const char *id, uint64_t seq);  /* 0 or DSR_ENOMEM */
void log_idset_clear(log_idset *s);    /* empty, memory kept */
void log_idset_free(log_idset *s);

/* ---- log_batch.c --------------------------------------------------------- */
/* Clear a batch for reuse and mark it closed. */
void log_batch_end(dsr_log_batch *b);
void log_batch_release(dsr_log_batch *b);  /* free memory kept between batches */

/* ---- log_commit.c -------------------------------------------------------- */
/* Wait for the batch in flight (if any) and fold its outcome into the log:
 * counters on success, else the failure is kept for log_commit_result.
 * Every read of a writer handle drains first, so it sees what was handed
 * over. */
void log_commit_drain(dsr_log *log);
/* Drain, then return (and forget) a failure kept from the background. */
int  log_commit_result(dsr_log *log, dsr_err *err);
/* Drain and stop the committer thread (close). */
void log_commit_stop(dsr_log *log);

/* ---- log_options.c ----------------------------------------------------- */
/* Create every option object of the handle (DSR_ENOMEM when one cannot be
 * made; what was made is freed by log_options_destroy). */
int  log_options_make(dsr_log *log, int writer);
void log_options_destroy(dsr_log *log);
/* Options a family is opened or created with. */
rocksdb_options_t *log_cf_options(dsr_log *log, const char *name);

/* ---- log_cf.c -------------------------------------------------------------- */
/* Add an opened handle to the table (takes ownership of h even on error). */
int  log_cf_add(dsr_log *log, const char *name, rocksdb_column_family_handle_t *h,
                dsr_err *err);
/* Find, or create (writers only) the family.  Core families are refused for
 * generic writes by the callers, not here. */
int  log_cf_get_or_create(dsr_log *log, const char *name,
                          rocksdb_column_family_handle_t **out, dsr_err *err);
void log_cf_destroy_all(dsr_log *log);
int  log_cf_is_core(const char *name);

/* ---- log_append.c (used by emit.c) -------------------------------------- */
/* Is event_id stored already, or appended to this batch?  1 (and *seq) yes,
 * 0 no, or a negative code when the ids family cannot be read. */
int  log_batch_lookup(dsr_log_batch *b, const char *event_id, uint64_t *seq, dsr_err *err);
/* Append a record whose event_id the caller just looked up and found absent:
 * skips the second lookup. */
int  log_batch_append_new(dsr_log_batch *b, const char *event_id, const void *rec,
                          size_t len, uint64_t *seq_out, dsr_err *err);

/* ---- log_identity.c ------------------------------------------------------ */
/* 1 when s[0..n) is a lowercase RFC 4122 UUID text (36 characters). */
int  log_uuid_text_valid(const char *s, size_t n);
/* First writer open: generate and store whatever identity is missing. */
int  log_identity_init(dsr_log *log, dsr_err *err);

/* ---- log_meta.c -------------------------------------------------------------- */
/* (Re)load node_id, project_uuid, lamport and next_seq from meta. */
int  log_load_meta(dsr_log *log, dsr_err *err);
/* Writers: the largest stored event_id (the last key of ids). */
int  log_load_max_id(dsr_log *log, dsr_err *err);
/* For assert(): 1 unless a writer's meta counters differ from its handle's. */
int  log_meta_agrees(dsr_log *log);

/* ---- log_hwm.c ----------------------------------------------------------------- */
/* Writers: open (creating) the mark file; then, with meta loaded, compare
 * the head with the mark: a head below it means committed events are gone.
 * Only the last commit missing (a torn tail) is taken as a crash: the log
 * moves past the mark, recording the sequences as lost, so none is handed
 * out twice.  Anything more is DSR_ECORRUPT, pointing at verify --repair. */
int  log_hwm_open(dsr_log *log, dsr_err *err);
int  log_hwm_reconcile(dsr_log *log, dsr_err *err);
/* DSR_ECORRUPT for a log whose head is below its mark: "sequences
 * head+1..mark were committed but are not in the log (...): the write-ahead
 * log was deleted, truncated or damaged" and then, after it, what to do. */
int  log_hwm_gap(const char *dir, uint64_t head, uint64_t mark, const char *then,
                 dsr_err *err);
/* After a commit that appended events settled: prev = the head before it. */
void log_hwm_commit(dsr_log *log, uint64_t prev, uint64_t head);
void log_hwm_close(dsr_log *log);

/* ---- log_db.c ---------------------------------------------------------------- */
/* Open the RocksDB instance in log->dir with its families: a writer (creating
 * the log unless DSR_LOG_NOCREATE), a plain read-only instance
 * (LOG_OPEN_LENIENT, DSR_LOG_INTACT) or a secondary.  DSR_LOG_WAIT: a writer
 * waits for the lock instead of failing with DSR_ELOCKED. */
int  log_db_open(dsr_log *log, int writer, dsr_err *err);
/* Close the instance and its families, then release the folder lock. */
void log_db_close(dsr_log *log);
void log_sleep_ms(unsigned ms);
/* Why the log cannot be read whole: the message of a plain read-only open
 * (which opens every table file), or "" when it opens. */
void log_db_why_unreadable(dsr_log *log, char *out, size_t cap);

/* ---- log_flush.c ------------------------------------------------------------- */
/* Writers: flush and wait when the WAL is large or a flush was begun, then
 * compact the small families where it is due (close). */
void log_flush_on_close(dsr_log *log);

/* What a closing writer compacts in one family (log_flush.c says why). */
typedef enum log_close_compaction {
    LOG_COMPACT_NONE = 0,
    LOG_COMPACT_WHOLE,    /* every table of the family, into one */
    LOG_COMPACT_LEVEL0    /* level 0's key range, with the tables it overlaps */
} log_close_compaction;
/* The family holds `files` tables of `bytes` in all; `l0` of them are in
 * level 0, and compacting level 0's key range reads `l0_bytes` (level 0 and
 * the lower tables it overlaps). */
log_close_compaction log_close_compaction_of(int files, uint64_t bytes, int l0,
                                             uint64_t l0_bytes);

/* ---- log_secondary.c --------------------------------------------------------- */
/* Make the private folder a secondary keeps its info log in (after sweeping
 * those of readers that died), and remove it. */
int  log_secondary_dir_make(dsr_log *log, dsr_err *err);
void log_secondary_dir_remove(dsr_log *log);
/* Reader: reopen a torn view (events without identity, or none) for up to a
 * second; rc is the first load's result. */
int  log_reader_settle(dsr_log *log, int rc, dsr_err *err);

#endif

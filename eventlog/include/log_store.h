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

/* ---- log_flush.c ------------------------------------------------------- */
/* When the WAL is large (the same threshold as the flush at close), start
 * flushing every memtable in the background and return at once.
 * ingest/record_scan.c calls it after a run's last commit: the tables are
 * then written while the projections fold the run, instead of at close. */
void log_flush_start(dsr_log *log);

#endif

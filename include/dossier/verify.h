/*
 * dossier/verify.h - check an event log end to end, and rebuild its derived
 * data (`dossier verify [--repair]`).
 *
 * dsr_verify reads the whole log through a read-only handle (it takes no
 * lock, so it runs beside a scan or import and sees the log as of its open),
 * with RocksDB block checksums verified on every read, and reports:
 *   - records that do not decode, or are not valid envelopes with a valid
 *     payload, or are not in canonical form;
 *   - gaps in the sequences (they must be 1, 2, ... head);
 *   - disagreement between the events and ids families, both ways: an event
 *     without an ids entry, an ids entry naming another sequence or no event,
 *     an event_id stored at two sequences;
 *   - meta counters that disagree with the events (next_seq != head + 1, a
 *     lamport clock below a stored stamp) and a missing or malformed
 *     identity;
 *   - lamport stamps that break the clock rules (see below);
 *   - completed scans that are not whole (their dossier_scan_completed
 *     counts differ from the run's events, a run completed twice, events of
 *     a run stored after its completion);
 *   - projection checkpoints past the head;
 *   - any block of any column family that fails its checksum;
 *   - a write-ahead log damaged anywhere but its torn tail (the file and
 *     offset), and committed sequences that are gone: the head below the
 *     high-water mark a writer keeps beside the WAL (a WAL deleted or
 *     truncated).
 * Sequences a repair recorded as lost are notes, not problems.
 * Scan runs without a completion marker (a scan killed half way) are not
 * errors: they are reported as notes ("open runs").
 *
 * Lamport clocks in a merged log.  A log stamps its own events from its
 * clock (clock + 1) and merges imported ones (clock = max(clock, stamp) +
 * 1), and the clock is committed with the events.  So, in log order:
 *   - an event of the local node (the log's node_id) has a stamp above every
 *     stamp stored before it -- local stamps increase strictly and order
 *     after everything the log had seen;
 *   - imported events keep the stamp their node gave them.  Their order in
 *     this log is the order they were imported in, which need not be their
 *     node's order, so they are not required to increase here; but a node
 *     never gives two events the same stamp, so two events of one node with
 *     the same lamport_clock are a problem (for example two logs copied from
 *     one folder, sharing a node_id);
 *   - meta lamport is at least every stored stamp.
 *
 * Memory: about 60 bytes per event (event ids and run ids are kept to match
 * them against the ids family and the completion markers).
 * Thread-safety: every call opens its own handle; callers need nothing.
 */
#ifndef DOSSIER_VERIFY_H
#define DOSSIER_VERIFY_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsr_verify_kind {
    DSR_VERIFY_OPEN = 0,        /* RocksDB refuses to open the log (corruption) */
    DSR_VERIFY_READ,            /* a read failed (checksum mismatch, I/O) */
    DSR_VERIFY_DECODE,          /* a record is not a valid envelope */
    DSR_VERIFY_NONCANONICAL,    /* valid, but not stored in canonical form */
    DSR_VERIFY_SEQ_GAP,         /* sequences missing (or a key of the wrong size) */
    DSR_VERIFY_META,            /* identity or counters wrong */
    DSR_VERIFY_IDS_MISSING,     /* an event without its ids entry */
    DSR_VERIFY_IDS_MISMATCH,    /* an ids entry naming another sequence */
    DSR_VERIFY_IDS_ORPHAN,      /* an ids entry for no stored event */
    DSR_VERIFY_DUPLICATE_ID,    /* one event_id stored at two sequences */
    DSR_VERIFY_LAMPORT,         /* a stamp breaking the clock rules */
    DSR_VERIFY_SCAN,            /* a completed scan that is not whole */
    DSR_VERIFY_CHECKPOINT,      /* a projection checkpoint past the head */
    DSR_VERIFY_OPEN_RUN,        /* note, not a problem: a scan run without completion */
    DSR_VERIFY_WAL,             /* the write-ahead log is damaged, or committed
                                 * sequences are gone (WAL deleted or truncated) */
    DSR_VERIFY_LOST,            /* note: sequences a repair recorded as lost */
    DSR_VERIFY_KIND_COUNT
} dsr_verify_kind;

/* Short stable name of a kind ("decode", "sequence_gap", "open_run", ...). */
DSR_API const char *dsr_verify_kind_name(dsr_verify_kind k);

typedef struct dsr_verify_problem {
    dsr_verify_kind kind;
    int         note;        /* 1: informational (DSR_VERIFY_OPEN_RUN, DSR_VERIFY_LOST),
                              * not a problem */
    uint64_t    seq;         /* the sequence concerned, 0 when none */
    const char *event_id;    /* or NULL */
    const char *message;     /* one line, names sequences, ids and values */
} dsr_verify_problem;

/* Called once per problem or note, in the order found; the strings are
 * valid during the call only. */
typedef void (*dsr_verify_fn)(void *ud, const dsr_verify_problem *p);

#define DSR_VERIFY_REPORT_VERSION 1

/* A report the call fills: initialise with DSR_VERIFY_REPORT_INIT (the call checks the
 * version, then zeroes the rest). */
typedef struct dsr_verify_report {
    unsigned version;          /* DSR_VERIFY_REPORT_VERSION */
    uint64_t events;           /* records read */
    uint64_t head;             /* last stored sequence (0: empty) */
    uint64_t meta_next_seq;    /* as stored (0 when absent or malformed) */
    uint64_t meta_lamport;     /* as stored */
    uint64_t max_lamport;      /* largest stamp stored */
    uint64_t nodes;            /* distinct node_ids among the events */
    uint64_t local_events;     /* events of this log's node */
    uint64_t runs_completed;   /* scan runs with a completion marker */
    uint64_t runs_open;        /* scan runs without one (notes) */
    uint64_t checkpoints[4];   /* per registered projection, in registry order */
    size_t   n_checkpoints;
    uint64_t problems;         /* problems reported (notes not counted) */
    int      opened;           /* 0: RocksDB refused to open the log (DSR_VERIFY_OPEN) */
    char     node_id[27];      /* "" when missing */
} dsr_verify_report;

#ifdef __cplusplus
#define DSR_VERIFY_REPORT_INIT { DSR_VERIFY_REPORT_VERSION }
#else
#define DSR_VERIFY_REPORT_INIT { .version = DSR_VERIFY_REPORT_VERSION }
#endif

/* Verify the log in dir.  fn may be NULL; report may be NULL.  Returns 0
 * when the check ran -- its findings are in report->problems, including a
 * log RocksDB refuses to open as corrupt (DSR_VERIFY_OPEN) -- or
 * DSR_ENOTFOUND (no log in dir), DSR_ENOMEM, or DSR_EIO when the log cannot
 * be opened for another reason (permissions, a missing folder). */
DSR_API int dsr_verify(const char *dir, dsr_verify_fn fn, void *ud, dsr_verify_report *report,
               dsr_err *err);

#define DSR_REPAIR_REPORT_VERSION 1

/* A report the call fills: initialise with DSR_REPAIR_REPORT_INIT (the call checks the
 * version, then zeroes the rest). */
typedef struct dsr_repair_report {
    unsigned version;          /* DSR_REPAIR_REPORT_VERSION */
    uint64_t ids_added;        /* events that had no ids entry */
    uint64_t ids_fixed;        /* ids entries that named another sequence */
    uint64_t ids_removed;      /* ids entries for no event (or malformed) */
    uint64_t undecodable;      /* records left as they are (never deleted) */
    int      next_seq_fixed, lamport_fixed;
    uint64_t next_seq, lamport;       /* meta after the repair */
    int      identity_created; /* node_id/project_uuid were missing: new ones made */
    int      projections_rebuilt;     /* 1 when the replay from zero completed */
    dsr_replay_stats replay;
    /* Sequences this repair found lost and recorded (meta "lost"; readers
     * step over them, and no event will ever be numbered with them): the
     * first DSR_REPAIR_LOST_LISTED ranges as first, last pairs, and how many
     * ranges and sequences in all.  Ranges recorded by an earlier repair are
     * not counted again. */
    uint64_t lost_ranges, lost_seqs;
#define DSR_REPAIR_LOST_LISTED 16
    uint64_t lost[DSR_REPAIR_LOST_LISTED][2];
    /* The write-ahead log was damaged: the file (within the log folder), the
     * offset of the first damaged record and what is wrong with it.  The
     * records after it were kept; those it held are among the lost. */
    int      wal_damaged;
    char     wal_file[64];
    uint64_t wal_offset;
    char     wal_what[64];
    /* The write-ahead log of the delivery state or the publish cursor store
     * was damaged (their commands refused it) and was replayed past its
     * damaged records: how many stores, and the first one's file (within the
     * log folder, "delivery/000009.log"), offset and what was wrong.  What
     * the damaged records held is gone: at most one commit each (a delivery
     * round: the results of up to --concurrency events, which are sent
     * again; or an endpoint change). */
    unsigned side_repaired;
    uint64_t side_kept;        /* the first one's commits after the damage, kept */
    char     side_file[96];
    uint64_t side_offset;
    char     side_what[64];
} dsr_repair_report;

#ifdef __cplusplus
#define DSR_REPAIR_REPORT_INIT { DSR_REPAIR_REPORT_VERSION }
#else
#define DSR_REPAIR_REPORT_INIT { .version = DSR_REPAIR_REPORT_VERSION }
#endif

/* Rebuild the derived data of the log in dir from its events family: the ids
 * index, the meta counters (next_seq = head + 1, lamport = max(lamport, every
 * stamp)), a missing identity, and every projection (replayed from zero).
 * A damaged write-ahead log is replayed past its damaged records (the events
 * after them are kept).  Sequences that are gone -- gaps, and those between
 * the last stored event and the high-water mark of every sequence ever
 * committed -- are recorded as lost and listed in the report; next_seq is
 * set above all of them, so no sequence is ever numbered twice, and every
 * projection checkpoint is rebuilt.
 * A damaged write-ahead log of the delivery state or the publish cursor
 * store (<dir>/delivery, <dir>/publish) is replayed past its damaged
 * records the same way (DSR_ELOCKED while a deliver or publish runs).
 * Never deletes, rewrites or renumbers an event: undecodable records and
 * sequence gaps stay and are counted.  Takes the writer lock (flags:
 * DSR_LOG_WAIT to wait for it).  Index and counter fixes are committed in
 * synced batches before the replay starts; a crash part way is completed by
 * running the repair again.  Returns 0, DSR_ENOTFOUND, DSR_ELOCKED,
 * DSR_ECORRUPT (RocksDB cannot open the log, or the replay stopped at a
 * record that does not decode: err names its sequence; the index and
 * counters are repaired by then), DSR_EIO or DSR_ENOMEM.  report may be NULL. */
DSR_API int dsr_repair(const char *dir, unsigned flags, dsr_repair_report *report, dsr_err *err);

#ifdef __cplusplus
}
#endif
#endif

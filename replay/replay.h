/*
 * replay.h - private to replay/: the projection interface the driver calls,
 * the chunk row cache over a projection's column family, the state key
 * layout, derived ids, the reader thread and record views.  The public
 * projection API is dossier/replay.h; artifact sets are replay/sets/.
 *
 * Ownership: a proj_ctx and everything hanging off it belong to the thread
 * running the driver (one dsr_log, one thread).
 */
#ifndef DOSSIER_REPLAY_PRIV_H
#define DOSSIER_REPLAY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "arena.h"
#include "buf.h"
#include "mp.h"
#include "sets.h"
#include "strmap.h"
#include "dossier/emit.h"
#include "dossier/error.h"
#include "dossier/event.h"
#include "dossier/log.h"
#include "dossier/replay.h"


/* ---- state keys ------------------------------------------------------------
 * Every projection family holds "ckpt" (8-byte BE last applied sequence) and
 * rows under tags separated by NUL bytes, so any slug or id text is safe:
 *   snapshot: pend\0<run>\0<seq8>   one pending event of an open run
 *             snap\0<feature>       latest snapshot record of a feature
 *             sid\0<snapshot_id>    snapshot record (immutable)
 *             set\0<digest32>       artifact set (immutable, content-addressed)
 *   drift:    base\0<feature>       accepted baseline
 *             last\0<feature>       latest snapshot the drift projection saw
 *             drift\0<feature>      drift assessment of that snapshot        */
#define PK_CKPT "ckpt"
int pk_make(dsr_buf *k, const char *tag, const char *a, size_t alen);
int pk_make2(dsr_buf *k, const char *tag, const char *a, size_t alen,
             const void *b, size_t blen);

/* ---- pstate.c: chunk row cache over a projection family ---------------------
 * Reads see this chunk's own writes; writes go to the cache, and ps_flush()
 * puts each written row's final state into the chunk's batch right before
 * the commit.  ps_chunk_end() forgets the cache after the commit (or abort);
 * ps_chunk_handed() keeps the chunk's rows readable while its batch is
 * committed in the background.  Immutable rows may be put into the batch
 * directly (never also through here: a key is written one way only), and
 * are read only through iterators, which wait for a batch in flight. */
typedef struct pstate {
    dsr_log       *log;
    const char    *cf;
    dsr_log_batch *b;       /* set by the driver for each chunk */
    strmap         rows;    /* key -> ps_row*: this chunk's */
    strmap         held;    /* with inflight: the rows of the batch in flight (pstate.c) */
    int            inflight;
    size_t         bytes;   /* bytes of the rows cached this chunk: the driver cuts chunks on it */
} pstate;

void ps_init(pstate *ps, dsr_log *log, const char *cf);
/* 1 and the value (valid until the next ps_* call for that key), 0 when
 * absent, or a negative code. */
int  ps_get(pstate *ps, const void *key, size_t klen, const void **val, size_t *vlen,
            dsr_err *err);
int  ps_put(pstate *ps, const void *key, size_t klen, const void *val, size_t vlen,
            dsr_err *err);
/* ps_put, taking val's buffer for the cached row instead of copying it (val
 * is left empty): a million-artifact set is then held once, not twice. */
int  ps_put_take(pstate *ps, const void *key, size_t klen, dsr_buf *val, dsr_err *err);
int  ps_del(pstate *ps, const void *key, size_t klen, dsr_err *err);
/* Write every row put or deleted since the last flush into ps->b. */
int  ps_flush(pstate *ps, dsr_err *err);
/* After the chunk's batch committed (returned) or was aborted. */
void ps_chunk_end(pstate *ps);
/* After the chunk's batch, flushed, was handed to dsr_log_batch_commit_async. */
void ps_chunk_handed(pstate *ps);
void ps_free(pstate *ps);

/* ---- derive_id.c ------------------------------------------------------------ */
typedef struct derived_meta {
    char event_id[DSR_ULID_LEN + 1];
    char causation_id[DSR_ULID_LEN + 1];
    char timestamp[64];
    dsr_emit_meta meta;        /* points into this struct */
} derived_meta;

/* Meta for an event projection `proj` derives from source event src:
 * event_id = ULID(time of src, SHA-256(proj NUL src.event_id)), causation =
 * src.event_id, timestamp = src.timestamp, correlation_id as given (borrowed). */
int derive_meta(const char *proj, const dsr_envelope *src, const char *correlation_id,
                derived_meta *out, dsr_err *err);
/* Deterministic id for a derived object (snapshot ids): ULID with time part
 * ms and random part from SHA-256 of the parts (each NUL-terminated). */
int  derive_ulid(uint64_t ms, const char *const *parts, size_t n,
                 char out[DSR_ULID_LEN + 1], dsr_err *err);

/* ---- artifact fields, read on the reader thread ------------------------------
 * The fields the snapshot fold needs from an artifact event
 * (artifact_indexed, artifact_missing, artifact_removed), taken out of the
 * record by the reader thread (record_view.c) so the driver thread never
 * looks them up in the payload map.  Strings point into the record (or its
 * decode zone) and known enum values to static names. */
typedef struct replay_art {
    int           ok;           /* 1 for an artifact event: the fields are set */
    dsr_str       key, path;    /* path: relative_path, or expected_path_pattern */
    dsr_str       cls, reason;
    unsigned char hash[32];     /* artifact_indexed: content_hash_sha256 */
    int           has_hash;     /* 0: absent or not 64 lowercase hex digits */
    int           required;     /* required_status is "required" */
} replay_art;

/* ---- the projection interface (replay.c drives it) ------------------------- */
typedef struct proj_ctx proj_ctx;

typedef struct proj_ops {
    const char *name;
    uint32_t    consumes;   /* bit (1u << type) for each event type it folds */
    int  (*init)(proj_ctx *c, dsr_err *err);
    /* art: the artifact fields of env (art->ok 0 for other events) */
    int  (*apply)(proj_ctx *c, uint64_t seq, const dsr_envelope *env, const replay_art *art,
                  dsr_err *err);
    /* End of a chunk: write what is still only in memory (the driver then
     * writes the checkpoint and commits the batch). */
    int  (*flush)(proj_ctx *c, dsr_err *err);
    /* Optional: how many applied events it holds only in memory (entries of
     * scan runs not completed yet), i.e. what flush() would have to write
     * out.  The driver prefers to cut chunks where this is 0. */
    size_t (*held)(const proj_ctx *c);
    void (*fini)(proj_ctx *c);
} proj_ops;

struct proj_ctx {
    const proj_ops *ops;
    dsr_log        *log;
    char            cf[48];       /* its state family: proj_<name> or verify_<name> */
    char            snap_cf[48];  /* the snapshot family it may read (drift) */
    int             verify;       /* 1: emit nothing, check derived events instead */
    pstate          st;
    uint64_t        ckpt;         /* last applied sequence */
    uint64_t        stop;         /* with has_stop: apply nothing after this sequence */
    int             has_stop;     /* verify: rebuild only as far as the live state */
    int             dirty;        /* applied events since the last commit */
    proj_ctx       *snap;         /* drift: the snapshot context running alongside, or NULL */
    dsr_replay_stats *stats;
    dsr_replay_diff_fn diff_fn;
    void           *diff_ud;
    size_t          n_diff;
    dsr_buf         scratch;      /* verify: packed payloads */
    void           *impl;         /* the projection's working state */
};

extern const proj_ops proj_snapshot_ops;
extern const proj_ops proj_drift_ops;

/* The set cache of a snapshot projection context (drift reads through it). */
setcache *snap_sets(proj_ctx *snap);

/* Emit (live) or check (verify) one derived event of type t caused by src. */
int  proj_emit(proj_ctx *c, dsr_event_type t, const void *payload, const dsr_envelope *src,
               const char *correlation_id, char event_id_out[DSR_ULID_LEN + 1],
               dsr_err *err);
/* Report a verify difference. */
void proj_diff(proj_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Family names. */
void proj_cf_name(const char *proj, int verify, char out[48]);

/* replay.c: run a set of projection contexts over the log (driver core). */
int  replay_drive(dsr_log *log, proj_ctx *const *ctxs, size_t n, size_t chunk_events,
                  dsr_replay_stats *stats, dsr_err *err);
const proj_ops *replay_find_ops(const char *name);
int  replay_read_ckpt(dsr_log *log, const char *cf, uint64_t *seq, dsr_err *err);

/* ---- record_view.c: the driver's record reader ------------------------------
 * Envelope fields of a stored record plus its payload unpacked into zone
 * (*payload holds the object; env->payload points to it).  Trusts the
 * validation done at append; checks only the shape projections rely on.
 * 0 or DSR_ECORRUPT. */
int  replay_record_view(const void *rec, size_t len, msgpack_zone *zone,
                        msgpack_object *payload, dsr_envelope *env, dsr_err *err);
/* What a reader of many records remembers between them: the last binary
 * correlation id it turned into text (a scan run's events all carry the same
 * one), and the value names of each enum field it met.  Zeroed by its owner;
 * one thread at a time. */
#define RV_ENUM_FIELDS 16
typedef struct rv_memo {
    unsigned char bin[16];
    char          text[DSR_ULID_LEN + 1];
    int           ok;
    const char *const *enums[DSR_EV_COUNT][RV_ENUM_FIELDS];   /* NULL: not looked up yet */
} rv_memo;

/* The reader's view of one record: the fast path for a format 2 artifact
 * event (envelope fields and art straight from the bytes, no payload map:
 * *payload is an empty map), replay_record_view for anything else, with art
 * then filled from the payload map.  consumes (NULL: every type): bit
 * (1u << type) for each type some projection folds; a format 2 record of
 * another type gets only event_id, event_type and type, an empty payload
 * map and art->ok 0, since nothing will look at the rest.  memo may be NULL.
 * ids: room for the event and correlation ids' text.  0 or DSR_ECORRUPT. */
int  replay_record_read(const void *rec, size_t len, const uint32_t *consumes, rv_memo *memo,
                        msgpack_zone *zone, msgpack_object *payload, dsr_envelope *env,
                        replay_art *art, char ids[2][DSR_ULID_LEN + 1], dsr_err *err);

/* ---- replay_feed.c: the reader thread of a pass -------------------------------
 * Records of (lo, hi] in sequence order, read by the thread and decoded by
 * replay_record_read (only the types in `consumes` in full) on the caller's
 * thread, a few at a time.  The records handed out stay valid until the next
 * feed_next or feed_stop.  feed_next: 0 with *n records (0 at the end), or
 * an error (after the records read before it).  feed_stop ends the thread
 * and frees the feed. */
typedef struct feed_rec {
    uint64_t       seq;
    dsr_envelope   env;       /* env.payload points to payload */
    msgpack_object payload;
    replay_art     art;
    char           ids[2][DSR_ULID_LEN + 1];   /* text of ids the fast path decoded */
} feed_rec;

typedef struct feed feed;
int  feed_start(dsr_log *log, uint64_t lo, uint64_t hi, uint32_t consumes, feed **out,
                dsr_err *err);
int  feed_next(feed *f, const feed_rec **recs, size_t *n, dsr_err *err);
void feed_stop(feed *f);

/* ---- records (rec.c): snapshot / baseline / drift rows <-> info structs --- */
int  rec_decode_snapshot(const void *buf, size_t len, dsr_snapshot_info **out, dsr_err *err);
int  rec_decode_baseline(const void *buf, size_t len, dsr_baseline_info **out, dsr_err *err);
int  rec_decode_drift(const void *buf, size_t len, dsr_drift_info **out, dsr_err *err);
/* Free n changes and their strings. */
void rec_changes_free(dsr_drift_change *v, size_t n);


/* ---- replay_read.c: rows of the live state ---------------------------------- */
/* Row tag\0id of projection proj's live family into val: 0, DSR_ENOTFOUND
 * or an error. */
int  replay_get_row(dsr_log *log, const char *proj, const char *tag, const char *id,
                    dsr_buf *val, dsr_err *err);
/* The artifact set a stored snapshot record names, decoded (set_load's
 * ownership rules: *out may point into own/own_ar, which the caller frees). */
int  replay_snapshot_set(dsr_log *log, const void *rec, size_t len, const char *snapshot_id,
                         const aset **out, aset *own, arena *own_ar, dsr_err *err);

#endif

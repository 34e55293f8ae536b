/*
 * replay_internal.h - private pieces of the projection machinery (replay/):
 * the projection interface the driver calls, the chunk row cache over a
 * projection's column family, state key layout, artifact sets, derived ids,
 * and small memory/msgpack helpers.  Never installed.
 *
 * Ownership: a proj_ctx and everything hanging off it belong to the thread
 * running the driver (one dsr_log, one thread).
 */
#ifndef DOSSIER_REPLAY_INTERNAL_H
#define DOSSIER_REPLAY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "arena.h"
#include "buf.h"
#include "dossier/emit.h"
#include "dossier/error.h"
#include "dossier/event.h"
#include "dossier/log.h"
#include "dossier/replay.h"


/* ---- strmap.c: byte-string keyed hash map (keys copied into its arena) ---- */
typedef struct strmap_slot {
    const char *key;      /* NULL: empty */
    size_t      klen;
    uint64_t    hash;
    void       *val;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t       n, cap;  /* cap: power of two (or 0) */
    arena        keys;
} strmap;

/* Pointer to the value slot of key, or NULL when absent. */
void **strmap_find(const strmap *m, const void *key, size_t klen);
/* Pointer to the value slot of key, inserting a NULL value when absent
 * (*created = 1).  NULL on ENOMEM. */
void **strmap_upsert(strmap *m, const void *key, size_t klen, int *created);
/* Drop every entry (values are the caller's to free first). */
void   strmap_clear(strmap *m);
void   strmap_free(strmap *m);

/* ---- mp.c: msgpack helpers ---------------------------------------------- */
/* A packer that appends to a dsr_buf. */
void mp_packer_init(msgpack_packer *pk, dsr_buf *out);
int  mp_pack_str(msgpack_packer *pk, const char *s);           /* NULL -> nil */
int  mp_pack_strn(msgpack_packer *pk, const char *s, size_t n); /* s NULL -> nil */
int  mp_pack_kv_str(msgpack_packer *pk, const char *k, const char *v);
int  mp_pack_kv_i64(msgpack_packer *pk, const char *k, int64_t v);
/* String value of key k: 1 and *s when a string, 0 when nil or absent, -1 when
 * another type. */
int  mp_get_str(const msgpack_object *obj, const char *k, dsr_str *s);
/* Several string fields in one pass over map obj: out[j] is the value of
 * keys[j] (ptr NULL when absent, nil or not a string; the first of
 * duplicate keys counts, as with dsr__map_get). */
typedef struct mp_key {
    const char *s;
    uint32_t    n;
} mp_key;
#define MP_KEY(lit) { lit, sizeof lit - 1 }
void mp_pick_str(const msgpack_object *obj, const mp_key *keys, size_t n, dsr_str *out);
/* Integer of key k (0 when absent or not an integer: callers validated). */
int64_t mp_get_i64(const msgpack_object *obj, const char *k);
int  mp_get_bool(const msgpack_object *obj, const char *k);
/* malloc'd NUL-terminated copy of a string object (NULL for nil); *rc gets
 * DSR_ENOMEM on allocation failure. */
char *mp_strdup(const msgpack_object *o, int *rc);
/* Copy of dsr_str into the arena (NULL for a NULL string). */
char *ar_str(arena *a, dsr_str s, int *rc);

/* ---- mp_cursor.c: msgpack read straight from bytes ------------------------- */
typedef struct mpc {
    const unsigned char *p, *end;
} mpc;

int mpc_need(mpc *c, size_t n);                  /* 1 when n bytes are left */
int mpc_len(mpc *c, int bytes, uint64_t *n);     /* big-endian length: 0 or -1 */
int mpc_map(mpc *c, uint64_t *n);                /* map header: 0 or -1 */
int mpc_array(mpc *c, uint64_t *n);              /* array header: 0 or -1 */
int mpc_str(mpc *c, dsr_str *s);                 /* 1 str, 0 nil, -1 other */
int mpc_str_bin(mpc *c, dsr_str *s);             /* 1 str, 2 bin, 0 nil, -1 other */
int mpc_uint(mpc *c, uint64_t *v);               /* 0 or -1 */
int mpc_skip(mpc *c, int depth);                 /* any object, depth-bounded */

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
 * the commit.  ps_chunk_end() forgets the cache after the commit (or abort).
 * Immutable rows may be put into the batch directly (never also through
 * here: a key is written one way only). */
typedef struct pstate {
    dsr_log       *log;
    const char    *cf;
    dsr_log_batch *b;       /* set by the driver for each chunk */
    strmap         rows;    /* key -> ps_row* */
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
void ps_chunk_end(pstate *ps);
void ps_free(pstate *ps);

/* ---- aset.c: artifact sets ------------------------------------------------ */
typedef struct aset_entry {
    const char   *key, *path, *cls;  /* NUL-terminated, owned elsewhere (arena) */
    unsigned char hash[32];          /* SHA-256 (text: 64 lowercase hex digits) */
    int           required;
} aset_entry;

typedef struct aset {
    aset_entry *v;
    size_t      n, cap;
} aset;

int  aset_push(aset *s, const aset_entry *e);
int  aset_reserve(aset *s, size_t n);   /* room for n entries in all */
/* *out = *e with its strings copied into ar. */
int  aset_entry_copy(const aset_entry *e, aset_entry *out, arena *ar);
/* The static name of a known artifact class (n bytes at p), or NULL. */
const char *aset_class_static(const char *p, size_t n);
/* Whether key is the scanner's key for an unnamed file: "path:" + path. */
int  aset_path_key(const char *key, size_t klen, const char *path, size_t plen);
/* "path:" + path in one arena string; *path_out points to its path part
 * (both NUL-terminated: a path-keyed entry stores its text once). */
const char *aset_path_key_dup(arena *ar, const char *path, size_t plen, const char **path_out);
void aset_free(aset *s);
/* Sort by (key, path); later entries win over earlier ones with the same
 * (key, path) (stable), duplicates dropped. */
int  aset_sort_unique(aset *s);
/* spec-kitty parity: SHA-256 over the sorted hex hashes concatenated. */
int  aset_parity(const aset *s, char out[65], dsr_err *err);
/* msgpack array of [key, path, hash, required, class] (s sorted). */
int  aset_encode(const aset *s, dsr_buf *out);
/* Decode into s; strings are copied into ar. */
int  aset_decode(const void *buf, size_t len, aset *s, arena *ar, dsr_err *err);
/* Delta rows (aset.c): s stored against the full set base (row name
 * base_digest).  1 and the row appended to out; 0 when a quarter of s or
 * more differs (store it whole); DSR_ENOMEM. */
int  aset_encode_delta(const aset *base, const char *base_digest, const aset *s, dsr_buf *out);
/* 1 and the base's row name when the row is a delta, 0 when it is a full
 * set, DSR_ECORRUPT. */
int  aset_row_base(const void *buf, size_t len, char base[33]);
/* s = base with the delta row applied; strings copied into ar. */
int  aset_decode_delta(const void *buf, size_t len, const aset *base, aset *s, arena *ar,
                       dsr_err *err);
/* First 128 bits of SHA-256(bytes), 32 hex chars: the set's row name. */
int  aset_digest(const void *bytes, size_t len, char out[33], dsr_err *err);
/* SHA-256 of bytes as 64 hex chars. */
int  sha256_hex(const void *bytes, size_t len, char out[65], dsr_err *err);

/* ---- sort_prefix.c: radix sort on 8-byte prefixes ------------------------- */
typedef struct pre_ord {
    uint64_t pre;   /* the first 8 significant bytes, big-endian, 0-padded */
    size_t   i;     /* what it stands for (an index) */
} pre_ord;

/* The prefix of s (avail bytes readable; shorter strings pad with 0, which
 * sorts them first, as strcmp does). */
uint64_t pre_of(const char *s, size_t avail);
/* Stable sort of v[0..n) by pre; tmp: n pairs of scratch. */
void pre_sort(pre_ord *v, pre_ord *tmp, size_t n);

/* ---- setcache.c: decoded artifact sets by digest ---------------------------
 * Sets are content-addressed and immutable, so a decoded set stays right for
 * as long as it is kept, across chunks and passes.  The snapshot projection
 * leaves each set it computes here and the drift projection reads it back
 * (and keeps baselines, which it compares again and again) instead of
 * decoding the stored row.  Bounded by SC_MAX_SETS sets and SC_MAX_BYTES;
 * least recently used sets go first, never the one used last (the caller
 * may still hold it: drift compares two sets). */
typedef struct sc_entry {
    char     digest[33];
    aset     set;
    arena    ar;
    size_t   bytes;
    uint64_t used;
} sc_entry;

typedef struct setcache {
    sc_entry **v;         /* entries stay put: returned sets outlive other puts */
    size_t    n, cap;
    size_t    bytes;
    uint64_t  tick;
    uint64_t  held_after;  /* sc_hold: entries used after this tick stay */
    int       holds;       /* sc_hold calls not released */
} setcache;

/* The cached set with this digest (and marks it used), or NULL. */
const aset *sc_get(setcache *c, const char *digest);
/* Offer a set whose strings live in ar: on 1 the cache took both (set and
 * ar are left empty; what ar held stays valid until a later sc_put_take may
 * evict it) and *out points to the cached set; on 0 it did not (already
 * cached, too big, or out of memory) and the caller still owns them. */
int  sc_put_take(setcache *c, const char *digest, aset *set, arena *ar, const aset **out);
void sc_free(setcache *c);
/* Keep every set used from now on until sc_release(c, the value returned):
 * for a caller holding several sets at once. */
uint64_t sc_hold(setcache *c);
void     sc_release(setcache *c, uint64_t prev);

/* ---- set_load.c: a set by its row name, full or delta ------------------------ */
/* Row of the set named digest appended to row: 1, 0 when absent, or an error. */
typedef int (*set_row_fn)(void *ud, const char *digest, dsr_buf *row, dsr_err *err);
/* The decoded set named digest: from sc (may be NULL), else read with get,
 * its base too when it is a delta, and offered to sc.  *out is valid until
 * the next sc_put_take on sc; a set sc does not take is decoded into
 * own/own_ar, which the caller frees. */
int set_load(setcache *sc, set_row_fn get, void *ud, const char *digest, const aset **out,
             aset *own, arena *own_ar, dsr_err *err);

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
/* The reader's view of one record: the fast path for a format 2 artifact
 * event (envelope fields and art straight from the bytes, no payload map:
 * *payload is an empty map), replay_record_view for anything else, with art
 * then filled from the payload map.  ids: room for the event and
 * correlation ids' text.  0 or DSR_ECORRUPT. */
int  replay_record_read(const void *rec, size_t len, msgpack_zone *zone,
                        msgpack_object *payload, dsr_envelope *env, replay_art *art,
                        char ids[2][DSR_ULID_LEN + 1], dsr_err *err);

/* ---- replay_feed.c: the reader thread of a pass -------------------------------
 * Records of (lo, hi] in sequence order, decoded by replay_record_view, a
 * slab at a time.  A slab stays valid until the next feed_next or feed_stop.
 * feed_next: 0 with *n records (0 at the end), or an error (after the records
 * read before it).  feed_stop ends the thread and frees the feed. */
typedef struct feed_rec {
    uint64_t       seq;
    dsr_envelope   env;       /* env.payload points to payload */
    msgpack_object payload;
    replay_art     art;
    char           ids[2][DSR_ULID_LEN + 1];   /* text of ids the fast path decoded */
} feed_rec;

typedef struct feed feed;
int  feed_start(dsr_log *log, uint64_t lo, uint64_t hi, feed **out, dsr_err *err);
int  feed_next(feed *f, const feed_rec **recs, size_t *n, dsr_err *err);
void feed_stop(feed *f);

/* ---- records (rec.c): snapshot / baseline / drift rows <-> info structs --- */
int  rec_decode_snapshot(const void *buf, size_t len, dsr_snapshot_info **out, dsr_err *err);
int  rec_decode_baseline(const void *buf, size_t len, dsr_baseline_info **out, dsr_err *err);
int  rec_decode_drift(const void *buf, size_t len, dsr_drift_info **out, dsr_err *err);

#endif

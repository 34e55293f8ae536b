/*
 * sets.h - artifact-set storage for the projections: sets in memory (aset.c),
 * their encodings (full and delta rows), a radix sort on key prefixes
 * (sort_prefix.c), a cache of decoded sets (setcache.c) and loading a set by
 * its row name (set_load.c).  Sets are content-addressed and immutable.
 */
#ifndef DOSSIER_REPLAY_SETS_H
#define DOSSIER_REPLAY_SETS_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "dossier/error.h"

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
/* The wp04 (feature-042) parity: SHA-256 over the sorted hex hashes concatenated. */
int  aset_parity(const aset *s, char out[65], dsr_err *err);
/* The spec-kitty-3 parity hash of s (docs/interop.md section 4), as 64
 * lowercase hex without its "sha256:" prefix: SHA-256 of the lines
 * relative_path "\t" hex hash, sorted by path (byte order = code point
 * order), joined by "\n" with no trailing newline.  0, DSR_ENOMEM or DSR_EIO. */
int  aset_parity_sk3(const aset *s, char out[65], dsr_err *err);
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
/* The same, but the entries s keeps from base point to base's strings (only
 * the row's own go to ar): s is valid only while base is. */
int  aset_decode_delta_on(const void *buf, size_t len, const aset *base, aset *s, arena *ar,
                          dsr_err *err);
/* First 128 bits of SHA-256(bytes), 32 hex chars: the set's row name. */
int  aset_digest(const void *bytes, size_t len, char out[33], dsr_err *err);
/* SHA-256 of bytes as 64 hex chars. */
int  sha256_hex(const void *bytes, size_t len, char out[65], dsr_err *err);

/* ---- aset_diff.c: what two sets disagree on -------------------------------- */
typedef enum aset_change {
    ASET_CHANGED,   /* same (key, path), other content: both entries given */
    ASET_REMOVED,   /* only in `from`: to is NULL */
    ASET_ADDED      /* only in `to`: from is NULL */
} aset_change;
/* Called once per differing entry, in (key, path) order; a non-zero return
 * stops the walk and is returned. */
typedef int (*aset_diff_fn)(void *ud, aset_change kind, const aset_entry *from,
                            const aset_entry *to);
/* Walk two sets sorted by (key, path) (aset_sort_unique) together and report
 * every entry they disagree on.  0, or what fn returned. */
int aset_diff(const aset *from, const aset *to, aset_diff_fn fn, void *ud);
/* Called once per key with entries on one side only, in key order: kind
 * ASET_REMOVED (only in `from`) or ASET_ADDED (only in `to`), and whether
 * any of that side's entries of the key is required.  key points into the
 * set.  A non-zero return stops the walk and is returned. */
typedef int (*aset_key_fn)(void *ud, aset_change kind, const char *key, int required);
/* aset_diff, and in the same walk key_fn (may be NULL) for each key one side
 * lacks, after that key's entries went to fn. */
int aset_diff_keys(const aset *from, const aset *to, aset_diff_fn fn, aset_key_fn key_fn,
                   void *ud);

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
/* set_load for a set wanted once (drift's side of a comparison): a set sc
 * does not hold is decoded into own/own_ar and not offered to sc, so it
 * evicts nothing; own's entries array is reused (own->n is reset, its room
 * kept: the caller passes the same own each time).  A delta row whose base
 * sc holds borrows the base's strings: *out is then valid only while that
 * base stays cached, i.e. under an sc_hold taken before this call. */
int set_load_once(setcache *sc, set_row_fn get, void *ud, const char *digest,
                  const aset **out, aset *own, arena *own_ar, dsr_err *err);

#endif

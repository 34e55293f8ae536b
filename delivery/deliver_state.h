/*
 * deliver_state.h - private to delivery/: the delivery state store
 * (deliver_state.c).
 *
 * RocksDB in <logdir>/delivery, default column family, keys:
 *   "V"                      -> format version
 *   "E" name                 -> endpoint record (msgpack map)
 *   "C" name                 -> cursor {high, delivered, dead}
 *   "Q" name NUL seq(8 BE)   -> pending entry (failed at least once, or re-queued)
 *   "K" name NUL seq(8 BE)   -> delivered above the cursor (empty value)
 *   "D" name NUL seq(8 BE)   -> dead letter
 * Invariants (kept by deliver_engine.c): every event with sequence <= high is
 * delivered, dead (D), pending (Q) or not selected by the endpoint's filter;
 * K entries only exist above high.
 */
#ifndef DOSSIER_DELIVERY_STATE_H
#define DOSSIER_DELIVERY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/deliver.h"

typedef struct dstate dstate;
typedef struct dbatch dbatch;

enum {
    DSTATE_RDONLY   = 1 << 0,  /* no lock taken; DSR_ENOTFOUND when absent */
    DSTATE_NOCREATE = 1 << 1   /* writer, but DSR_ENOTFOUND when absent */
};

/* DSR_ELOCKED ("delivery state ... is locked by another process") when a
 * writer already has it. */
int  dstate_open(dstate **out, const char *logdir, unsigned flags, dsr_err *err);
void dstate_close(dstate *st);                 /* NULL is fine */
const char *dstate_path(const dstate *st);

/* Endpoint records: decoded into dsr_endpoint_info (url NOT redacted; counts
 * zero).  endpoint_info_clear frees the strings. */
int  dstate_get_endpoint(dstate *st, const char *name, dsr_endpoint_info *out,
                             dsr_err *err);
int  dstate_list_endpoints(dstate *st, dsr_endpoint_info **out, size_t *n,
                               dsr_err *err);
void endpoint_info_clear(dsr_endpoint_info *e);

typedef struct dcursor {
    uint64_t high;             /* every event <= high is handled (see above) */
    uint64_t delivered;        /* events delivered, all time */
} dcursor;
/* Zeros when the endpoint has no cursor yet. */
int  dstate_get_cursor(dstate *st, const char *name, dcursor *out, dsr_err *err);

enum { DK_PENDING = 'Q', DK_DONE = 'K', DK_DEAD = 'D' };

/* A pending (Q), done (K: seq only) or dead (D) entry.  Strings are
 * borrowed: valid during the scan callback, or owned by the caller on put. */
typedef struct dentry {
    uint64_t    seq;
    char        event_id[DSR_ULID_LEN + 1];
    const char *feature;
    unsigned    attempts;
    uint64_t    first_ms;      /* first attempt, 0 before any */
    uint64_t    next_ms;       /* Q: earliest next try */
    uint64_t    dead_ms;       /* D: when it died */
    long        last_status;
    const char *reason;        /* last error / why dead; "" allowed */
} dentry;

typedef int (*dentry_fn)(void *ctx, const dentry *e, dsr_err *err);
/* Call fn for every entry of kind for endpoint name with seq >= from_seq, in
 * sequence order; a non-zero return from fn stops and is returned. */
int  dstate_scan(dstate *st, int kind, const char *name, uint64_t from_seq,
                     dentry_fn fn, void *ctx, dsr_err *err);

dbatch *dbatch_new(dstate *st);            /* NULL when out of memory */
int  dbatch_put_endpoint(dbatch *b, const dsr_endpoint_info *e);
/* Removes the endpoint record, its cursor and every Q/K/D entry. */
int  dbatch_drop_endpoint(dbatch *b, const char *name);
int  dbatch_put_cursor(dbatch *b, const char *name, const dcursor *c);
int  dbatch_put_entry(dbatch *b, int kind, const char *name, const dentry *e);
int  dbatch_del_entry(dbatch *b, int kind, const char *name, uint64_t seq);
/* Delete entries of kind with from <= seq < to. */
int  dbatch_del_range(dbatch *b, int kind, const char *name, uint64_t from, uint64_t to);
size_t dbatch_count(const dbatch *b);
/* Write atomically with sync=true and free b (also on error). */
int  dbatch_commit(dbatch *b, dsr_err *err);
void dbatch_free(dbatch *b);                   /* discard; NULL is fine */

/* 1 when name is a valid endpoint name ([A-Za-z0-9._-]{1,64}). */
int  endpoint_name_valid(const char *name);

#endif

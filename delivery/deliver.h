/*
 * deliver.h - private to delivery/: the pieces of webhook delivery shared by
 * the delivery/deliver_*.c files: base64, the libcurl client, and the delivery
 * state store.  Nothing here is part of the public API.
 */
#ifndef DOSSIER_DELIVERY_PRIV_H
#define DOSSIER_DELIVERY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/deliver.h"
#include "buf.h"

/* ---- base64 (deliver_sign.c) ------------------------------------------- */
/* Standard alphabet with padding; out needs 4*ceil(n/3)+1 bytes.  Returns
 * the length written (NUL not counted). */
size_t b64_encode(const unsigned char *in, size_t n, char *out);
/* Standard or URL-safe alphabet, padding optional; out needs n*3/4+3 bytes.
 * 0 or DSR_EPARSE. */
int    b64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len);

/* ---- time and randomness (deliver.c) ------------------------------------ */
uint64_t clock_now_ms(void);            /* CLOCK_REALTIME, Unix ms */
uint64_t clock_mono_ms(void);           /* CLOCK_MONOTONIC ms */

/* ---- HTTP client (deliver_http.c) ---------------------------------------
 * One curl multi handle driving up to `parallel` POSTs to one URL over
 * keep-alive connections.  Single-threaded: the owner calls every function. */
typedef struct http_client http_client;

typedef struct http_opts {
    const char *url;
    const char *cacert;        /* or NULL: the system CA store */
    uint64_t    timeout_ms;    /* whole request; connect is min(this, 10 s) */
    unsigned    parallel;      /* >= 1 */
} http_opts;

typedef struct http_result {
    void *user;                /* as given to http_client_post */
    int   has_status;          /* an HTTP status line arrived */
    long  status;
    int   curl_code;           /* CURLcode; 0 when the transfer completed */
    int   retry_after_set;
    char  retry_after[64];     /* the Retry-After header value, trimmed */
    char  detail[200];         /* curl's error text, or the start of the body */
} http_result;

/* Checks the URL scheme (http/https only).  0, DSR_EINVAL, DSR_ENOMEM, DSR_EIO. */
int      http_client_create(http_client **out, const http_opts *o, dsr_err *err);
void     http_client_free(http_client *h);       /* abandons transfers; NULL is fine */
unsigned http_client_idle_slots(const http_client *h);
unsigned http_client_inflight(const http_client *h);
/* Start a POST.  The body's memory moves into the request (body is left
 * empty).  signature may be NULL (unsigned delivery).  Needs an idle slot. */
int      http_client_post(http_client *h, void *user, const char *event_id, int64_t timestamp,
                       const char *signature, dsr_buf *body, dsr_err *err);
/* Run transfers, waiting at most wait_ms for network activity, and return
 * finished requests (at most max) in res; *n gets how many. */
int      http_client_poll(http_client *h, int wait_ms, http_result *res, size_t max,
                       size_t *n, dsr_err *err);
/* Drop every transfer in flight (the requests may or may not have reached
 * the receiver); their user pointers go to users (up to max).  Returns the
 * number dropped. */
size_t   http_client_abandon(http_client *h, void **users, size_t max);

/* ---- delivery state store (deliver_state.c) -----------------------------
 * RocksDB in <logdir>/delivery, default column family, keys:
 *   "V"                      -> format version
 *   "E" name                 -> endpoint record (msgpack map)
 *   "C" name                 -> cursor {high, delivered, dead}
 *   "Q" name NUL seq(8 BE)   -> pending entry (failed at least once, or re-queued)
 *   "K" name NUL seq(8 BE)   -> delivered above the cursor (empty value)
 *   "D" name NUL seq(8 BE)   -> dead letter
 * Invariants (kept by deliver.c): every event with sequence <= high is
 * delivered, dead (D), pending (Q) or not selected by the endpoint's filter;
 * K entries only exist above high. */
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
/* Copy of url with any userinfo replaced by "***" (for output); NULL on ENOMEM. */
char *url_redact(const char *url);

/* ---- the delivery run (deliver.c) and counts (deliver_endpoints.c) ------- */
/* One run against an open log (any mode) and an open writable state. */
int  deliver_run_open(dsr_log *log, dstate *st, const dsr_deliver_opts *o,
                          dsr_deliver_report *rep, dsr_err *err);
/* Bit (1 << type) for every type the endpoint selects; 0 selects all. */
int  deliver_type_mask(const dsr_endpoint_info *ep, uint64_t *mask, dsr_err *err);
/* 1 when the endpoint's filters select env. */
int  deliver_selects(const dsr_endpoint_info *ep, uint64_t type_mask,
                         const dsr_envelope *env);
/* Events still pending for ep (retrying: those with a failed attempt). */
int  deliver_count_pending(dsr_log *log, dstate *st, const dsr_endpoint_info *ep,
                               uint64_t *pending, uint64_t *retrying, dsr_err *err);

#endif

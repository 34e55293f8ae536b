/*
 * dossier/deliver.h - webhook delivery: a projection of the event log that
 * POSTs each envelope to an HTTP endpoint (Standard Webhooks signing), with
 * retries, dead letters and a durable per-endpoint cursor.
 *
 * Where state lives.  The event log has one writer at a time (`dossier scan`)
 * and delivery must never block or fail a scan, so delivery never writes the
 * event log: it opens it read-only and keeps everything of its own (saved
 * endpoints, cursors, pending retries, dead letters, the disabled flag) in a
 * separate RocksDB instance, <logdir>/delivery/.  That instance has its own
 * lock: a second process that wants to write delivery state gets DSR_ELOCKED
 * ("delivery state is locked by another process"); read-only views (stats,
 * lists) always work.  Every state change is one WriteBatch committed with
 * sync=true.
 *
 * Delivery contract (at-least-once).  An event is recorded as delivered only
 * after its 2xx response, in a synced batch.  A crash between the POST and
 * that batch resends the event with the same webhook-id; at most as many
 * events as were in flight (the concurrency level) can be resent that way.
 * Receivers deduplicate by webhook-id.  Per endpoint, the events of one
 * feature are delivered in log order: an event is sent only once every
 * earlier event of its feature is delivered or dead-lettered, so a failing
 * event holds back its own feature and no other.
 *
 * Thread-safety: every function here may be called from any thread, but
 * objects (secrets, lists, a run) belong to the calling thread.
 */
#ifndef DOSSIER_DELIVER_H
#define DOSSIER_DELIVER_H

#include "dossier/export.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/log.h"
#include "dossier/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- secrets and signatures (Standard Webhooks) ------------------------ */

/* A signing key.  `whsec_<base64>` text is decoded; any other text is used
 * as raw bytes.  Never printed: error messages name the source, not the
 * value. */
typedef struct dsr_webhook_secret {
    unsigned char *key;
    size_t         len;
} dsr_webhook_secret;

#define DSR_WEBHOOK_SECRET_INIT {NULL, 0}
/* "v1," + base64 of 32 bytes (44 chars) + NUL. */
#define DSR_WEBHOOK_SIG_MAX 48
/* Longest secret accepted (raw bytes or decoded whsec_). */
#define DSR_WEBHOOK_SECRET_MAX 1024

/* Parse secret text (len bytes; surrounding whitespace ignored).  Returns 0,
 * DSR_EINVAL (empty, too long, or whsec_ value that is not base64: the
 * message names `what`, never the value) or DSR_ENOMEM.  `what` names the
 * source in messages ("secret file F", "DOSSIER_WEBHOOK_SECRET"). */
DSR_API int  dsr_webhook_secret_parse(const char *text, size_t len, const char *what,
                              dsr_webhook_secret *out, dsr_err *err);
/* Read and parse a secret file (trailing newline ignored). */
DSR_API int  dsr_webhook_secret_load(const char *path, dsr_webhook_secret *out, dsr_err *err);
/* Wipe and free the key; the struct is reset.  NULL is fine. */
DSR_API void dsr_webhook_secret_clear(dsr_webhook_secret *s);

/* out = "v1," + base64(HMAC-SHA256(key, msg_id "." timestamp "." body)).
 * Returns 0, or DSR_EIO when OpenSSL fails. */
DSR_API int  dsr_webhook_sign(const dsr_webhook_secret *s, const char *msg_id, size_t id_len,
                      int64_t timestamp, const void *body, size_t body_len,
                      char out[DSR_WEBHOOK_SIG_MAX], dsr_err *err);

/* ---- retry policy ------------------------------------------------------- */

typedef enum dsr_outcome {
    DSR_OUTCOME_DELIVERED = 0, /* any 2xx */
    DSR_OUTCOME_RETRY,         /* network error, timeout, 5xx, 408/409/425/429 */
    DSR_OUTCOME_DEAD,          /* other statuses: dead letter at once, or gave up */
    DSR_OUTCOME_GONE           /* 410: the endpoint is disabled */
} dsr_outcome;

typedef struct dsr_retry_policy {
    unsigned max_attempts;     /* give up after this many attempts (>= 1) */
    uint64_t max_age_ms;       /* give up when the next try would be later than
                                  first attempt + max_age_ms */
    uint64_t base_ms;          /* backoff ceiling for the first retry */
    uint64_t cap_ms;           /* backoff ceiling never exceeds this */
} dsr_retry_policy;

#define DSR_RETRY_MAX_ATTEMPTS 8
#define DSR_RETRY_MAX_AGE_MS   (24ULL * 3600 * 1000)
#define DSR_RETRY_BASE_MS      500ULL
#define DSR_RETRY_CAP_MS       60000ULL
#define DSR_RETRY_POLICY_DEFAULT \
    { DSR_RETRY_MAX_ATTEMPTS, DSR_RETRY_MAX_AGE_MS, DSR_RETRY_BASE_MS, DSR_RETRY_CAP_MS }

/* Outcome of one attempt: has_status is 0 when no HTTP status line arrived
 * (connect error, timeout, connection closed before the status). */
DSR_API dsr_outcome dsr_retry_classify(int has_status, long status);

/* Parse a Retry-After value: delta-seconds or an HTTP date (IMF-fixdate,
 * RFC 850 or asctime form).  *delay_ms gets the wait from now_ms (0 for a
 * date in the past).  Returns 0 or DSR_EPARSE. */
DSR_API int dsr_retry_after_parse(const char *value, size_t len, uint64_t now_ms,
                          uint64_t *delay_ms);

/* Full-jitter backoff after `failures` failed attempts (>= 1): a uniform
 * value in [0, min(cap, base * 2^(failures-1))], drawn from rnd. */
DSR_API uint64_t dsr_backoff_ms(const dsr_retry_policy *p, unsigned failures, uint64_t rnd);

typedef struct dsr_retry_decision {
    dsr_outcome outcome;       /* DELIVERED, RETRY, DEAD or GONE */
    uint64_t    next_ms;       /* RETRY: when to try again (Unix ms) */
    const char *reason;        /* static text for DEAD/RETRY ("5xx", "gave up after ...") */
} dsr_retry_decision;

/* Decide what happens after an attempt.  attempts counts this one;
 * first_ms is the time of the first attempt; retry_after_ms is the parsed
 * Retry-After delay or UINT64_MAX when absent; rnd is a random draw.
 * A retryable failure becomes DEAD when attempts >= max_attempts or when the
 * next try (backoff, or Retry-After when later) would pass the max age. */
DSR_API dsr_retry_decision dsr_retry_decide(const dsr_retry_policy *p, int has_status, long status,
                                    unsigned attempts, uint64_t first_ms, uint64_t now_ms,
                                    uint64_t retry_after_ms, uint64_t rnd);

/* ---- endpoints (saved in <logdir>/delivery) ----------------------------- */

#define DSR_ENDPOINT_NAME_MAX 64

/* What `dossier endpoint add` saves.  Strings are borrowed.  The secret is
 * not stored, only the absolute path of its file (rotation = edit the file). */
#define DSR_ENDPOINT_CONFIG_VERSION 2

typedef struct dsr_endpoint_config {
    unsigned    version;       /* DSR_ENDPOINT_CONFIG_VERSION */
    const char *name;          /* [A-Za-z0-9._-]{1,64}, not starting with "url-" */
    const char *url;           /* http:// or https:// */
    const char *secret_file;   /* or NULL */
    int         auto_deliver;  /* deliver after every `dossier scan` */
    const char *const *features; size_t n_features;  /* empty: every feature */
    const char *const *types;    size_t n_types;     /* empty: every event type */
    /* version 2: */
    dsr_profile profile;       /* how events are rendered (0: wp04, the
                                  canonical envelope; spec-kitty-3: see
                                  dossier/sk3.h, internal types not sent) */
} dsr_endpoint_config;

#ifdef __cplusplus
#define DSR_ENDPOINT_CONFIG_INIT { DSR_ENDPOINT_CONFIG_VERSION }
#else
#define DSR_ENDPOINT_CONFIG_INIT { .version = DSR_ENDPOINT_CONFIG_VERSION }
#endif

/* A saved endpoint with its delivery counts (owned by the list). */
typedef struct dsr_endpoint_info {
    char      name[DSR_ENDPOINT_NAME_MAX + 1];
    char     *url;             /* userinfo (user:pass@) replaced by "***@" */
    char     *secret_file;     /* or NULL */
    int       auto_deliver;
    int       adhoc;           /* made by `deliver --url` without --endpoint */
    int       disabled;        /* 410 Gone received */
    char     *disabled_reason; /* or NULL */
    uint64_t  disabled_ms;
    char    **features; size_t n_features;
    char    **types;    size_t n_types;
    dsr_profile profile;       /* how its events are rendered */
    /* counts (filled by dsr_deliver_stats; zero from dsr_endpoint_list) */
    uint64_t  pending;         /* not yet delivered nor dead (includes retrying) */
    uint64_t  retrying;        /* pending events with at least one failed attempt */
    uint64_t  delivered;
    uint64_t  dead;
    uint64_t  cursor;          /* every event up to this sequence is handled */
} dsr_endpoint_info;

/* Save a new endpoint.  DSR_EINVAL for a bad name/url, or when the name
 * exists; DSR_ELOCKED while another process writes delivery state. */
DSR_API int  dsr_endpoint_add(const char *logdir, const dsr_endpoint_config *cfg, dsr_err *err);
/* Remove an endpoint and all its delivery state.  DSR_ENOTFOUND, DSR_ELOCKED. */
DSR_API int  dsr_endpoint_remove(const char *logdir, const char *name, dsr_err *err);
/* Clear the disabled flag set by a 410.  DSR_ENOTFOUND, DSR_ELOCKED. */
DSR_API int  dsr_endpoint_enable(const char *logdir, const char *name, dsr_err *err);
/* Every endpoint (saved and ad-hoc) in name order, read-only (works while a
 * deliver runs).  *n = 0 when no delivery state exists yet. */
DSR_API int  dsr_endpoint_list(const char *logdir, dsr_endpoint_info **out, size_t *n, dsr_err *err);
DSR_API void dsr_endpoint_list_free(dsr_endpoint_info *list, size_t n);

/* Name of the ad-hoc endpoint `deliver --url` uses: "url-" + 12 hex of
 * SHA-256(url, features, types), so each URL + filter keeps its own cursor. */
DSR_API void dsr_endpoint_adhoc_name(const char *url, const char *const *features, size_t nf,
                             const char *const *types, size_t nt,
                             char out[DSR_ENDPOINT_NAME_MAX + 1]);

/* ---- stats, dead letters ------------------------------------------------ */

/* Every endpoint with pending / retrying / delivered / dead counts, computed
 * from the delivery state and the log (read-only; works while a deliver
 * runs).  log may be opened in any mode.  *n = 0 when no state exists. */
DSR_API int  dsr_deliver_stats(dsr_log *log, dsr_endpoint_info **out, size_t *n, dsr_err *err);

typedef struct dsr_dead_letter {
    char     endpoint[DSR_ENDPOINT_NAME_MAX + 1];
    uint64_t seq;
    char     event_id[DSR_ULID_LEN + 1];
    char    *feature;
    unsigned attempts;
    long     last_status;      /* 0 when no HTTP status arrived */
    char    *reason;           /* why it was dead-lettered */
    uint64_t first_ms, dead_ms;
} dsr_dead_letter;

/* Dead letters of one endpoint (or all when endpoint is NULL), by endpoint
 * then sequence.  Read-only. */
DSR_API int  dsr_dead_list(const char *logdir, const char *endpoint,
                   dsr_dead_letter **out, size_t *n, dsr_err *err);
DSR_API void dsr_dead_list_free(dsr_dead_letter *list, size_t n);
/* Move dead letters (of endpoint, or all) back to pending with their attempt
 * count reset; the next deliver sends them first in their feature.
 * *requeued may be NULL.  DSR_ELOCKED while a deliver runs. */
DSR_API int  dsr_dead_retry(const char *logdir, const char *endpoint, size_t *requeued, dsr_err *err);

/* ---- running delivery --------------------------------------------------- */

/* One attempt's result, reported to the optional observer (CLI output). */
typedef struct dsr_deliver_note {
    const char *endpoint;
    uint64_t    seq;
    const char *event_id;
    unsigned    attempts;      /* including this one */
    dsr_outcome outcome;
    long        status;        /* 0 when no HTTP status arrived */
    const char *detail;        /* error text or reason, never a secret */
    uint64_t    next_ms;       /* RETRY: next try (Unix ms) */
} dsr_deliver_note;

typedef void (*dsr_deliver_observer)(void *ctx, const dsr_deliver_note *note);

#define DSR_DELIVER_OPTS_VERSION 2

typedef struct dsr_deliver_opts {
    unsigned    version;       /* DSR_DELIVER_OPTS_VERSION */
    const char *endpoint;      /* saved endpoint name; or NULL and url set */
    const char *url;           /* ad-hoc endpoint (see dsr_endpoint_adhoc_name) */
    const char *const *features; size_t n_features;  /* ad-hoc filters */
    const char *const *types;    size_t n_types;
    const dsr_webhook_secret *secret; /* NULL: the saved endpoint's secret
                                         file, else unsigned */
    dsr_retry_policy policy;
    unsigned    concurrency;   /* parallel requests (>= 1) */
    uint64_t    timeout_ms;    /* per request, connect included */
    const char *cacert;        /* CA bundle for private CAs, or NULL */
    int         follow;        /* keep running and deliver new events */
    uint64_t    poll_ms;       /* follow: how often to look for new events */
    uint64_t    budget_ms;     /* 0: none.  Else one bounded window: no waiting
                                  for backoff, in-flight requests abandoned
                                  (left pending) when it ends */
    const volatile sig_atomic_t *stop; /* set non-zero to stop (signal handler); or NULL */
    dsr_deliver_observer observer; void *observer_ctx;   /* or NULL */
    const char *secret_file;   /* the file *secret was read from, or NULL.  With
                                  url: saved (absolute) on the ad-hoc endpoint,
                                  which is then listed as signed and signs
                                  later runs given no secret */
    /* version 2: */
    int         has_profile;   /* 0: the saved endpoint's profile (wp04 for a
                                  new ad-hoc one); 1: profile below, which a
                                  saved endpoint must have been saved with */
    dsr_profile profile;       /* an ad-hoc endpoint per URL, filters and profile */
} dsr_deliver_opts;

/* Defaults: concurrency 4, timeout 10 s, poll 250 ms, default policy.
 * DSR_DELIVER_OPTS_INIT and dsr_deliver_opts_init give the same struct. */
#ifdef __cplusplus
#define DSR_DELIVER_OPTS_INIT \
    { DSR_DELIVER_OPTS_VERSION, NULL, NULL, NULL, 0, NULL, 0, NULL, \
      DSR_RETRY_POLICY_DEFAULT, 4, 10000, NULL, 0, 250 }
#else
#define DSR_DELIVER_OPTS_INIT \
    { .version = DSR_DELIVER_OPTS_VERSION, .policy = DSR_RETRY_POLICY_DEFAULT, \
      .concurrency = 4, .timeout_ms = 10000, .poll_ms = 250 }
#endif
DSR_API void dsr_deliver_opts_init(dsr_deliver_opts *o);

#define DSR_DELIVER_REPORT_VERSION 1

/* A report the call fills: initialise with DSR_DELIVER_REPORT_INIT (the call checks the
 * version, then zeroes the rest). */
typedef struct dsr_deliver_report {
    unsigned version;          /* DSR_DELIVER_REPORT_VERSION */
    char     endpoint[DSR_ENDPOINT_NAME_MAX + 1];
    uint64_t attempts;         /* requests sent (completed) */
    uint64_t delivered;        /* events delivered in this run */
    uint64_t failed;           /* failed attempts that will be retried */
    uint64_t dead;             /* events dead-lettered in this run */
    uint64_t pending;          /* events still pending when the run ended */
    uint64_t abandoned;        /* in flight when a window ended (still pending) */
    int      disabled;         /* the endpoint answered 410 (or was disabled) */
    double   seconds;          /* wall time of the run */
} dsr_deliver_report;

#ifdef __cplusplus
#define DSR_DELIVER_REPORT_INIT { DSR_DELIVER_REPORT_VERSION }
#else
#define DSR_DELIVER_REPORT_INIT { .version = DSR_DELIVER_REPORT_VERSION }
#endif

/* Deliver the log in logdir to one endpoint.  Without follow/budget it runs
 * until every selected event is delivered or dead-lettered (waiting out
 * backoff), or the endpoint is disabled.  With follow it keeps going until
 * *stop is set.  Returns 0 (see rep for outcomes), DSR_ELOCKED (another
 * process holds the delivery state), DSR_ENOTFOUND (no log / no endpoint),
 * DSR_EINVAL (endpoint disabled, bad options), or a log/state error. */
DSR_API int  dsr_deliver_run(const char *logdir, const dsr_deliver_opts *o,
                     dsr_deliver_report *rep, dsr_err *err);

/* ---- after a scan ---------------------------------------------------------- */

/* 2: adds endpoint; a version-1 struct is read without it. */
#define DSR_DELIVER_AFTER_SCAN_OPTS_VERSION 2

typedef struct dsr_deliver_after_scan_opts {
    unsigned    version;           /* DSR_DELIVER_AFTER_SCAN_OPTS_VERSION (see DSR_DELIVER_AFTER_SCAN_OPTS_INIT) */
    int         all_endpoints; /* 1 (`scan --deliver`): every enabled saved
                                  endpoint; 0: only those saved with --auto */
    uint64_t    budget_ms;     /* the whole window, all endpoints (0: 3000) */
    uint64_t    timeout_ms;    /* per request (0: min(budget, 2000)) */
    const char *cacert;        /* or NULL */
    /* Version 2: only this saved endpoint (auto or not; all_endpoints is
     * then ignored); NULL: as all_endpoints says. */
    const char *endpoint;
} dsr_deliver_after_scan_opts;

#define DSR_DELIVER_AFTER_SCAN_OPTS_INIT { .version = DSR_DELIVER_AFTER_SCAN_OPTS_VERSION }

#define DSR_DELIVER_AFTER_SCAN_REPORT_VERSION 1

/* A report the call fills: initialise with DSR_DELIVER_AFTER_SCAN_REPORT_INIT (the call checks the
 * version, then zeroes the rest). */
typedef struct dsr_deliver_after_scan_report {
    unsigned version;          /* DSR_DELIVER_AFTER_SCAN_REPORT_VERSION */
    size_t   endpoints;        /* endpoints tried */
    uint64_t delivered, failed, dead, pending;
    int      skipped_locked;   /* a running `deliver` holds the state: nothing tried */
    char     note[512];        /* one line for the user, "" when nothing happened */
} dsr_deliver_after_scan_report;

#ifdef __cplusplus
#define DSR_DELIVER_AFTER_SCAN_REPORT_INIT { DSR_DELIVER_AFTER_SCAN_REPORT_VERSION }
#else
#define DSR_DELIVER_AFTER_SCAN_REPORT_INIT { .version = DSR_DELIVER_AFTER_SCAN_REPORT_VERSION }
#endif

/* Called by `dossier scan` after its last commit: deliver pending events to
 * the auto (or, with all_endpoints, every enabled) saved endpoint within one
 * bounded window, one endpoint after another, never waiting for backoff.
 * Never fails a scan: problems (state locked by a running `deliver --follow`,
 * unreachable endpoint, unreadable secret) only go into rep->note and leave
 * events pending for a later `dossier deliver`.  Returns 0 when nothing went
 * wrong, else the first error code (the caller still exits as the scan says).
 * No delivery state yet and !all_endpoints: returns at once, creates nothing. */
DSR_API int  dsr_deliver_after_scan(dsr_log *log, const dsr_deliver_after_scan_opts *o,
                            dsr_deliver_after_scan_report *rep);

#ifdef __cplusplus
}
#endif
#endif

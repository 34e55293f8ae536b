/*
 * dossier/nats.h - mirror the event log to NATS JetStream and merge the logs
 * of many nodes through it.
 *
 * Only available when libdossier was built with libnats (DOSSIER_WITH_NATS
 * is then defined for every user of the library); without it this header
 * declares nothing.
 *
 * Model:
 *   - every envelope is published, as its canonical JSON, to the subject
 *     `<prefix>.<feature token>.<event_type>` of one stream (default
 *     "DOSSIER", capturing `<prefix>.>`), with the header Nats-Msg-Id set to
 *     its event_id: JetStream's duplicate window drops a re-send of the same
 *     event, so a publisher that crashed between a publish ack and its cursor
 *     commit re-sends only duplicates the stream ignores;
 *   - the publisher reads the log read-only and keeps its own durable cursor
 *     (per URL + stream) in a RocksDB instance at `<logdir>/publish/`; the
 *     cursor advances only over events JetStream has acknowledged;
 *   - a puller is a durable JetStream pull consumer; it imports envelopes
 *     through dsr_emit_import() (idempotent by event_id, lamport merge rule)
 *     and acks a message only after the batch holding it is committed, so a
 *     crash re-delivers, and re-delivered events are recognised as already
 *     stored.  Logs that both publish and pull converge to the same set of
 *     event_ids.
 *
 * Thread-safety: a dsr_nats and the publisher/puller built on it belong to
 * one thread; libnats runs its own I/O threads internally (the publisher's
 * ack bookkeeping is synchronised, see replay/nats_publish.c).
 */
#ifndef DOSSIER_NATS_H
#define DOSSIER_NATS_H

#include "dossier/export.h"

#ifdef DOSSIER_WITH_NATS

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/log.h"
#include "dossier/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSR_NATS_DEFAULT_STREAM        "DOSSIER"
#define DSR_NATS_DEFAULT_PREFIX        "dossier"
#define DSR_NATS_DEFAULT_DUP_WINDOW_MS (2 * 60 * 1000)   /* JetStream's own default */
#define DSR_NATS_NAME_MAX              128               /* stream, durable names */

/* ---- connection --------------------------------------------------------- */
#define DSR_NATS_OPTS_VERSION 1

typedef struct dsr_nats_opts {
    unsigned    version;           /* DSR_NATS_OPTS_VERSION (see DSR_NATS_OPTS_INIT) */
    const char *url;              /* "nats://host:port"; a comma-separated list
                                   * names several members of one cluster */
    const char *creds_file;       /* NATS credentials (.creds) file, or NULL */
    const char *stream;           /* NULL -> DSR_NATS_DEFAULT_STREAM */
    const char *subject_prefix;   /* NULL -> DSR_NATS_DEFAULT_PREFIX */
    int64_t     timeout_ms;       /* connect and JetStream API calls; 0 -> 5000 */
    int         reconnect_forever;/* 1: never give up reconnecting (--follow) */
    const char *client_name;      /* shown in the server's monitoring; may be NULL */
} dsr_nats_opts;

#define DSR_NATS_OPTS_INIT { .version = DSR_NATS_OPTS_VERSION }

typedef struct dsr_nats dsr_nats;

/* Connect and create a JetStream context.  The stream name and prefix are
 * validated (stream: [A-Za-z0-9_-]+; prefix: dot-separated tokens of
 * [A-Za-z0-9_-]).  Returns 0, DSR_EINVAL (bad option) or DSR_ENET (the
 * message names the URL and what libnats reported). */
DSR_API int  dsr_nats_connect(dsr_nats **out, const dsr_nats_opts *o, dsr_err *err);
DSR_API void dsr_nats_close(dsr_nats *n);                 /* NULL is fine */
DSR_API const char *dsr_nats_stream_name(const dsr_nats *n);
DSR_API const char *dsr_nats_subject_prefix(const dsr_nats *n);
DSR_API const char *dsr_nats_url(const dsr_nats *n);

/* Release libnats's process-wide resources (its threads), waiting up to
 * timeout_ms.  Call once, at process exit, after every dsr_nats is closed. */
DSR_API void dsr_nats_shutdown(int64_t timeout_ms);

/* ---- the stream -------------------------------------------------------- */
#define DSR_NATS_STREAM_CFG_VERSION 1

typedef struct dsr_nats_stream_cfg {
    unsigned version;        /* DSR_NATS_STREAM_CFG_VERSION */
    int64_t replicas;        /* 0: 1 on creation, an existing stream is left as is */
    int64_t dup_window_ms;   /* 0: DSR_NATS_DEFAULT_DUP_WINDOW_MS on creation, else kept */
} dsr_nats_stream_cfg;

#ifdef __cplusplus
#define DSR_NATS_STREAM_CFG_INIT { DSR_NATS_STREAM_CFG_VERSION }
#else
#define DSR_NATS_STREAM_CFG_INIT { .version = DSR_NATS_STREAM_CFG_VERSION }
#endif

typedef struct dsr_nats_stream_info {
    int      created;        /* 1: this call created the stream */
    int      updated;        /* 1: this call changed replicas / duplicate window */
    int64_t  created_ns;     /* the stream's creation time (identifies this incarnation) */
    int64_t  replicas;
    int64_t  dup_window_ms;
    uint64_t msgs, first_seq, last_seq;
} dsr_nats_stream_info;

/* Make sure the stream exists and captures `<prefix>.>`: create it when
 * missing (file storage, limits retention), apply replicas / duplicate window
 * when given and different.  cfg may be NULL.  Returns 0; DSR_ENET with
 * "JetStream is not enabled ..." when the server has JetStream off; DSR_EINVAL
 * when an existing stream of that name does not capture the prefix or the
 * subjects overlap another stream. */
DSR_API int dsr_nats_ensure_stream(dsr_nats *n, const dsr_nats_stream_cfg *cfg,
                           dsr_nats_stream_info *info, dsr_err *err);

/* Current state of the stream; DSR_ENOTFOUND when it does not exist. */
DSR_API int dsr_nats_stream_info_get(dsr_nats *n, dsr_nats_stream_info *info, dsr_err *err);

/* ---- names ------------------------------------------------------------- */
/* A subject token for s (len bytes): bytes outside [A-Za-z0-9_-] become '_'
 * (NATS reserves '.', '*', '>' and whitespace); empty input gives "_".
 * Writes at most outsz - 1 bytes and a NUL; returns the token length. */
DSR_API size_t dsr_nats_token(const char *s, size_t len, char *out, size_t outsz);

/* The default durable consumer name of a log: "dossier-<node_id>", plus
 * "-<feature token>" when feature_slug is not NULL.  0 or DSR_EINVAL when it
 * does not fit in n bytes. */
DSR_API int dsr_nats_default_durable(const char *node_id, const char *feature_slug,
                             char *out, size_t n);

/* ---- publishing --------------------------------------------------------- */
#define DSR_NATS_PUB_OPTS_VERSION 2

typedef struct dsr_nats_pub_opts {
    unsigned    version;           /* DSR_NATS_PUB_OPTS_VERSION (see DSR_NATS_PUB_OPTS_INIT) */
    int      window;         /* publishes awaiting an ack at most; 0 -> 4096 */
    int64_t  ack_wait_ms;    /* a publish not acked in this time fails; 0 -> 10000 */
    uint64_t commit_every;   /* persist the cursor at least every N acked events;
                              * 0 -> 8192 (also at least every 250 ms and at the end) */
    const volatile sig_atomic_t *stop;  /* optional: stop early when *stop != 0 */
    /* version 2: */
    dsr_profile profile;     /* body rendering: wp04 (0, the canonical JSON) or
                              * spec-kitty-3 (dossier/sk3.h: the internal types
                              * are not sent, the subject ends in the PascalCase
                              * type, and the cursor is the profile's own) */
} dsr_nats_pub_opts;

#define DSR_NATS_PUB_OPTS_INIT { .version = DSR_NATS_PUB_OPTS_VERSION }

#define DSR_NATS_PUB_STATS_VERSION 1

/* A report the call fills: initialise with DSR_NATS_PUB_STATS_INIT (the call checks the
 * version, then zeroes the rest). */
typedef struct dsr_nats_pub_stats {
    unsigned version;          /* DSR_NATS_PUB_STATS_VERSION */
    uint64_t published;      /* acked by JetStream as new messages */
    uint64_t duplicates;     /* acked as duplicates (already in the stream) */
    uint64_t skipped;        /* not sent: pulled from this very stream before */
    uint64_t cursor;         /* last log sequence known to be in the stream */
    uint64_t head;           /* log head this round published up to */
} dsr_nats_pub_stats;

#ifdef __cplusplus
#define DSR_NATS_PUB_STATS_INIT { DSR_NATS_PUB_STATS_VERSION }
#else
#define DSR_NATS_PUB_STATS_INIT { .version = DSR_NATS_PUB_STATS_VERSION }
#endif

typedef struct dsr_nats_publisher dsr_nats_publisher;

/* A publisher of log (opened read-only is enough) to the stream of n, which
 * must exist (dsr_nats_ensure_stream).  Opens the cursor store
 * `<logdir>/publish/` (DSR_ELOCKED when another publisher of this log runs).
 * The cursor restarts from 0 when the stream was re-created since it was
 * written.  n and log must outlive the publisher. */
DSR_API int dsr_nats_publisher_open(dsr_nats_publisher **out, dsr_nats *n, dsr_log *log,
                            const dsr_nats_pub_opts *o, dsr_err *err);

/* Publish every event after the cursor up to the log's current head (call
 * dsr_log_refresh first to see new events), wait for the acks and persist the
 * cursor.  st (may be NULL) is filled for this round.  On a publish failure
 * (server gone, ack timeout, stream full) the cursor is still advanced over
 * every event acked before the first failure and DSR_ENET is returned; the
 * next call re-sends from there.  DSR_ECORRUPT when a record does not decode. */
DSR_API int dsr_nats_publish_pending(dsr_nats_publisher *p, dsr_nats_pub_stats *st, dsr_err *err);

DSR_API uint64_t dsr_nats_publisher_cursor(const dsr_nats_publisher *p);
DSR_API void     dsr_nats_publisher_free(dsr_nats_publisher *p);   /* NULL is fine */

/* ---- pulling ----------------------------------------------------------- */
/* Called for each message that is not a valid envelope (it is terminated on
 * the server so it is never redelivered, and not imported). */
typedef void (*dsr_nats_invalid_fn)(void *ctx, uint64_t stream_seq, const char *subject,
                                    const dsr_err *why);

#define DSR_NATS_PULL_OPTS_VERSION 2

typedef struct dsr_nats_pull_opts {
    unsigned    version;           /* DSR_NATS_PULL_OPTS_VERSION (see DSR_NATS_PULL_OPTS_INIT) */
    const char *feature_slug;   /* only this feature; NULL: all */
    const char *durable;        /* NULL -> dsr_nats_default_durable(log node, feature) */
    int         batch;          /* messages per fetch and per log batch; 0 -> 1024 */
    int64_t     fetch_wait_ms;  /* longest wait of one fetch; 0 -> 1000 */
    int64_t     ack_wait_ms;    /* when the consumer is created: re-delivery delay of
                                 * an unacked message (a crashed pull's); 0 -> 30000 */
    const volatile sig_atomic_t *stop;   /* optional: stop after the current batch */
    dsr_nats_invalid_fn on_invalid;      /* optional; also told of refused messages */
    void       *on_invalid_ctx;
    unsigned    import_flags;   /* dossier/import.h: DSR_IMPORT_TRUST_INTERNAL accepts
                                 * what the trust rule refuses */
    /* version 2: */
    dsr_profile profile;        /* message bodies: wp04 (0, canonical JSON envelopes)
                                 * or spec-kitty-3 (dossier/sk3.h: each body is
                                 * checked with dsr_sk3_check, then converted with
                                 * dsr_sk3_to_canonical; a body with problems is
                                 * invalid, the first problem named by its field) */
} dsr_nats_pull_opts;

#define DSR_NATS_PULL_OPTS_INIT { .version = DSR_NATS_PULL_OPTS_VERSION }

#define DSR_NATS_PULL_STATS_VERSION 1

/* A report the call fills: initialise with DSR_NATS_PULL_STATS_INIT (the call checks the
 * version, then zeroes the rest). */
typedef struct dsr_nats_pull_stats {
    unsigned version;          /* DSR_NATS_PULL_STATS_VERSION */
    uint64_t received;          /* messages fetched */
    uint64_t imported;          /* new events appended to the log */
    uint64_t duplicates;        /* already in the log (own events, re-deliveries) */
    uint64_t invalid;           /* not valid envelopes (terminated, not imported) */
    uint64_t refused;           /* valid, refused by the trust rule of dossier/import.h
                                 * (terminated for this consumer, not imported) */
    uint64_t other_feature;     /* --feature: token matched, slug did not (acked, skipped) */
    uint64_t first_seq, last_seq;           /* log sequences appended (0 when none) */
    char     durable[DSR_NATS_NAME_MAX];    /* the consumer used */
} dsr_nats_pull_stats;

#ifdef __cplusplus
#define DSR_NATS_PULL_STATS_INIT { DSR_NATS_PULL_STATS_VERSION }
#else
#define DSR_NATS_PULL_STATS_INIT { .version = DSR_NATS_PULL_STATS_VERSION }
#endif

/* Import every message the durable consumer has not acked yet into log (a
 * writer handle), in batches: one atomic log batch per fetch, acked after its
 * commit.  Each envelope passes the trust rule of `import` first
 * (dsr_import_check with o->import_flags): a refused one is reported through
 * on_invalid, counted in refused and terminated like an invalid one.  Creates the durable consumer when missing (deliver all, explicit
 * ack).  Returns when the consumer has nothing pending.  Records, for each
 * envelope it saw, that the event is in this stream (column family
 * "nats_seen"), so a publisher of this log does not echo it back.
 * With o->profile spec-kitty-3, every scan run (correlation_id) with
 * artifact events gets the dossier_scan_completed that `import` makes
 * (dsr_sk3_runs_completion), written in the log batch of the fetch after
 * which nothing is pending (or the last one before o->stop), and counted in
 * imported; not for a run this log wrote, nor for another feature's.
 * Returns 0, DSR_ENOTFOUND (no such stream), DSR_EINVAL (durable exists with
 * another filter), DSR_ENET, or a log error. */
DSR_API int dsr_nats_pull(dsr_nats *n, dsr_log *log, const dsr_nats_pull_opts *o,
                  dsr_nats_pull_stats *st, dsr_err *err);

#ifdef __cplusplus
}
#endif

#endif /* DOSSIER_WITH_NATS */
#endif /* DOSSIER_NATS_H */

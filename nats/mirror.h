/*
 * mirror.h - private to nats/: the shape of a dsr_nats connection and the
 * helpers shared by the nats/nats_*.c files (never installed).
 *
 * A dsr_nats owns one natsConnection and one JetStream context used for
 * stream/consumer management and pulling; a publisher creates its own
 * JetStream context on the same connection because its async-ack handler is
 * a per-context option.
 */
#ifndef DOSSIER_NATS_MIRROR_H
#define DOSSIER_NATS_MIRROR_H

#include "nats_lib.h"
#include "dossier/error.h"
#include "dossier/nats.h"

/* Column family of the log where the puller records "this event_id is in
 * stream S" (key: stream name, NUL, event_id; empty value). */
#define NATS_SEEN_CF "nats_seen"

struct dsr_nats {
    natsConnection *nc;
    jsCtx          *js;
    char           *url;       /* redacted (common/url.h): safe to print */
    char           *stream;
    char           *prefix;
    int64_t         timeout_ms;
};

/* Fill err from a libnats failure: "<context>: <status text>[ (JetStream
 * error N)][: <libnats detail>]".  A JetStream API call that found no
 * responder or reported JetStream disabled gets the "JetStream is not
 * enabled" explanation.  Returns code. */
int nats_err_set(dsr_err *err, int code, natsStatus s, jsErrCode jerr, const dsr_nats *n,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* 1 when s (len bytes) is a valid stream / consumer name: [A-Za-z0-9_-]+. */
int nats_name_valid(const char *s);
/* 1 when p is a valid subject prefix: tokens of [A-Za-z0-9_-] joined by '.'. */
int nats_prefix_valid(const char *p);

#endif

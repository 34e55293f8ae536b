/*
 * nats_cursor.h - the publisher's durable cursors (private to replay/).
 *
 * A small RocksDB instance at <logdir>/publish/, separate from the event log
 * because `dossier publish` opens the log read-only (one writer per log, the
 * scanner) yet must persist how far it got.  One cursor per key (the NATS
 * URL and stream name); the value is the last log sequence JetStream has
 * acknowledged plus the creation time of the stream it was acknowledged by.
 * Thread ownership: one thread.
 */
#ifndef DOSSIER_NATS_CURSOR_H
#define DOSSIER_NATS_CURSOR_H

#include <stdint.h>

#include "dossier/error.h"

typedef struct nats_cursor nats_cursor;

typedef struct nats_cursor_val {
    uint64_t seq;          /* last log sequence known to be in the stream */
    int64_t  stream_ns;    /* creation time of that stream incarnation */
} nats_cursor_val;

/* Open (creating) <logdir>/publish.  DSR_ELOCKED when another publisher of the
 * same log holds it, DSR_EIO otherwise. */
int  nats_cursor_open(nats_cursor **out, const char *logdir, dsr_err *err);
/* The value under key; {0, 0} when absent.  0 or DSR_EIO / DSR_ECORRUPT. */
int  nats_cursor_get(nats_cursor *c, const char *key, nats_cursor_val *v,
                         dsr_err *err);
/* Store v under key with a synced write (survives a crash once it returns). */
int  nats_cursor_put(nats_cursor *c, const char *key, const nats_cursor_val *v,
                         dsr_err *err);
void nats_cursor_close(nats_cursor *c);   /* NULL is fine */

#endif

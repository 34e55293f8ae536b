/*
 * dossier/emit.h - the one way events enter a log.
 *
 * The emitter validates a payload (fail fast: nothing is appended and err
 * names event type, field and value), wraps it in the canonical envelope
 * (event_id, event_type, aggregate_id "feature/<slug>", timestamp, node_id,
 * lamport_clock, project_uuid, correlation_id, causation_id, schema_version)
 * and appends it to a batch.  No other code appends records to the log
 * except dsr_emit_import(), which takes envelopes made by another log.
 *
 * Thread-safety: as the batch (one thread).
 */
#ifndef DOSSIER_EMIT_H
#define DOSSIER_EMIT_H

#include "dossier/export.h"

#include "dossier/error.h"
#include "dossier/event.h"
#include "dossier/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsr_emit_meta {
    const char *correlation_id;  /* the scan's run id; NULL -> JSON null */
    const char *causation_id;    /* the event that caused this one; NULL -> null */
    const char *event_id;        /* NULL -> a fresh monotonic ULID; derived events set it */
    const char *timestamp;       /* NULL -> now (RFC 3339 UTC); derived events set it */
} dsr_emit_meta;

typedef struct dsr_emit_result {
    char     event_id[DSR_ULID_LEN + 1];
    uint64_t seq;                /* sequence in the log */
    int      duplicate;          /* 1: event_id was already stored; nothing added */
} dsr_emit_result;

/* Validate, envelope and append one event of type t; payload points to the
 * struct matching t (see event.h).  res may be NULL.  Returns 0, DSR_ESCHEMA
 * (invalid payload: nothing appended), DSR_ENOMEM or a log error. */
DSR_API int dsr_emit(dsr_log_batch *b, dsr_event_type t, const void *payload,
             const dsr_emit_meta *meta, dsr_emit_result *res, dsr_err *err);

/* Typed front doors (same contract as dsr_emit). */
DSR_API int dsr_emit_artifact_indexed(dsr_log_batch *b, const dsr_artifact_indexed *p,
                              const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err);
DSR_API int dsr_emit_artifact_missing(dsr_log_batch *b, const dsr_artifact_missing *p,
                              const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err);
DSR_API int dsr_emit_snapshot_computed(dsr_log_batch *b, const dsr_snapshot_computed *p,
                               const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err);
DSR_API int dsr_emit_parity_drift_detected(dsr_log_batch *b, const dsr_parity_drift_detected *p,
                                   const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err);
DSR_API int dsr_emit_baseline_accepted(dsr_log_batch *b, const dsr_baseline_accepted *p,
                               const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err);
DSR_API int dsr_emit_scan_completed(dsr_log_batch *b, const dsr_scan_completed *p,
                            const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err);
DSR_API int dsr_emit_artifact_removed(dsr_log_batch *b, const dsr_artifact_removed *p,
                              const dsr_emit_meta *m, dsr_emit_result *r, dsr_err *err);

/* Append an envelope produced by another log (import, NATS pull): validates
 * it, re-encodes it canonically (event_id, payload, lamport stamp unchanged),
 * applies the lamport merge rule, and appends it idempotently. */
DSR_API int dsr_emit_import(dsr_log_batch *b, const dsr_envelope *env,
                    dsr_emit_result *res, dsr_err *err);

#ifdef __cplusplus
}
#endif
#endif

/*
 * dossier/record.h - turn a scan result into events in the log.
 *
 * One scan run = one run id (a ULID, the correlation_id of all its events).
 * The run's events are appended in atomic, fsync'd batches of at most
 * batch_events events: one mission_dossier_artifact_indexed per present
 * artifact, one mission_dossier_artifact_missing per absent or unusable
 * required blocking artifact (optional ones emit nothing), and last, in the
 * final batch, dossier_scan_completed.  A run that crashes before its final
 * batch has no dossier_scan_completed and is never taken as a complete scan.
 *
 * Thread-safety: as the log (one thread).
 */
#ifndef DOSSIER_RECORD_H
#define DOSSIER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "dossier/log.h"
#include "dossier/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsr_record_opts {
    const char *mission_type;      /* NULL when the scan had no manifest */
    const char *manifest_version;  /* NULL when no manifest */
    const char *step_id;           /* or NULL */
    const char *target_branch;     /* NULL -> "main" */
    size_t      batch_events;      /* 0 -> default (16384) */
} dsr_record_opts;

typedef struct dsr_record_stats {
    char     run_id[DSR_ULID_LEN + 1];
    uint64_t indexed, missing, duplicates;
    uint64_t refused;              /* payloads the emitter refused (run left incomplete) */
    uint64_t first_seq, last_seq;  /* sequences appended by this run (0 when none) */
    int      completed;            /* 1 when dossier_scan_completed was committed */
} dsr_record_stats;

/* Append the events of scan result r to log.  A refused payload is reported
 * in err_refused (the first one) and counted; the run then goes on emitting the
 * rest, but is not completed, and the call returns DSR_ESCHEMA.  A log failure
 * stops the run and returns its code; batches committed before it stay, without
 * a completion marker. */
int dsr_record_scan(dsr_log *log, const dsr_scan_result *r, const dsr_record_opts *o,
                    dsr_record_stats *st, dsr_err *err);

#ifdef __cplusplus
}
#endif
#endif

/*
 * dossier/import.h - which events from outside a log may enter it: the trust
 * rule of `dossier import` and `dossier pull`.
 *
 * A log's own events are written only by its own emitter, with its node_id.
 * Events from another log (an NDJSON export, a NATS stream) are facts about
 * that node's scans and are imported as such.  Two kinds are decisions or
 * claims only this log may make, and are refused unless the caller trusts
 * the source (DSR_IMPORT_TRUST_INTERNAL, `import --trust-internal`):
 *   1. dossier_baseline_accepted, from any node: a baseline is the decision
 *      the drift gate compares against, made with `dossier baseline accept`;
 *      an imported one would move the gate (a forged one turned drift's exit
 *      4 into 0).
 *   2. any event carrying this log's own node_id (in the envelope or as the
 *      payload's node_id) that the log does not hold: it claims to be ours
 *      but was not written here.
 * An event already stored passes (importing it adds nothing), so re-importing
 * a log's own export stays a no-op.  Other event types from other nodes
 * (scans, snapshots, drift reports) pass: the projections key snapshots by
 * node and ignore snapshot events they did not compute.
 *
 * Provenance: dsr_event_origin tells where a stored event was written (this
 * log's node or another), which `status` and `drift` show for the baseline.
 *
 * Thread-safety: as the log (one thread).
 */
#ifndef DOSSIER_IMPORT_H
#define DOSSIER_IMPORT_H

#include "dossier/export.h"

#include "dossier/error.h"
#include "dossier/event.h"
#include "dossier/log.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    DSR_IMPORT_TRUST_INTERNAL = 1 << 0   /* accept kinds 1 and 2 above */
};

/* May env (a validated envelope from outside) be appended to log?  Returns
 * 0 (yes: already stored, trusted, or an ordinary foreign event),
 * DSR_ESCHEMA with err naming the event, its type and node and the way to
 * accept it (refused: nothing to append), or a log read error. */
DSR_API int dsr_import_check(dsr_log *log, const dsr_envelope *env, unsigned flags,
                             dsr_err *err);

/* Where the stored event event_id (26-char ULID text) was written: its
 * envelope's node_id into node_id (NUL-terminated), and *local = 1 when that
 * is log's own node.  Returns 0, DSR_ENOTFOUND, DSR_ECORRUPT or a log
 * error. */
DSR_API int dsr_event_origin(dsr_log *log, const char *event_id,
                             char node_id[DSR_ULID_LEN + 1], int *local, dsr_err *err);

#ifdef __cplusplus
}
#endif
#endif

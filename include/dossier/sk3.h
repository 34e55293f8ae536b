/*
 * dossier/sk3.h - the spec-kitty-3 profile at the edges of the log: canonical
 * events rendered as spec-kitty-events 3.0.0 envelopes (events, deliver,
 * publish), and such envelopes checked (validate) and turned back into
 * canonical events (import).  The log itself only ever stores the canonical
 * form (dossier/event.h); docs/interop.md section 6 has the field-by-field
 * table of both profiles.
 *
 * Conventions:
 *   1. A rendering needs the namespace of the scan run an event belongs to
 *      (mission type, manifest version, step, target branch), which only the
 *      run's dossier_scan_completed carries, written after the run's
 *      artifact events.  A dsr_sk3_runs remembers it per run id
 *      (correlation_id): feed it every completion first (a pass over the
 *      log), then render.
 *   2. dossier_scan_completed, dossier_baseline_accepted and
 *      dossier_artifact_removed have no spec-kitty-3 type: dsr_sk3_render
 *      returns DSR_SK3_LEFT_OUT for them and writes nothing.
 *   3. Reading is two steps: dsr_sk3_check reports every problem of a line
 *      (field path and message), the verdict spec-kitty-events' validator
 *      gives; dsr_sk3_to_canonical converts a line that passed.
 *   4. Ids: a 26-character ULID in upper case is kept; one in lower or mixed
 *      case is upper-cased; a UUID (8-4-4-4-12 or 32 hex, any case) becomes
 *      the ULID whose 128 bits are the UUID's 16 bytes; a ULID-shaped id
 *      outside the ULID range (first character 8-Z) becomes the ULID of the
 *      first 16 bytes of SHA-256 of its upper-cased text, its top 2 bits
 *      cleared.  The same id always maps to the same ULID (so importing a
 *      file again adds nothing), and event_id, correlation_id and
 *      causation_id are mapped alike (so links between events survive).
 *
 * Thread-safety: a dsr_sk3_runs belongs to one thread; the other functions
 * work only on their arguments.
 */
#ifndef DOSSIER_SK3_H
#define DOSSIER_SK3_H

#include "dossier/export.h"

#include <stddef.h>
#include <msgpack.h>

#include "dossier/buf.h"
#include "dossier/error.h"
#include "dossier/event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSR_SK3_SCHEMA_VERSION "3.0.0"
/* dsr_sk3_render's result for an event type with no spec-kitty-3 type. */
#define DSR_SK3_LEFT_OUT 1

/* What a rendering and an import remember per scan run (convention 1). */
typedef struct dsr_sk3_runs dsr_sk3_runs;

/* New empty set of runs.  0 or DSR_ENOMEM. */
DSR_API int  dsr_sk3_runs_new(dsr_sk3_runs **out);
DSR_API void dsr_sk3_runs_free(dsr_sk3_runs *runs);   /* NULL is fine */

/* Remember the namespace of env's run when env is a dossier_scan_completed
 * with a correlation_id; any other event is ignored.  0 or DSR_ENOMEM. */
DSR_API int dsr_sk3_runs_note(dsr_sk3_runs *runs, const dsr_envelope *env);

/* Append env (a validated canonical envelope) to out as one compact
 * spec-kitty-3 JSON object, no newline.  runs may be NULL; an event whose
 * run is not known gets "unknown" for the namespace's mission_type,
 * manifest_version and target_branch.  Returns 0, DSR_SK3_LEFT_OUT
 * (nothing written), DSR_ENOMEM, or DSR_ESCHEMA for a payload that does not
 * hold its type's fields (err names the event). */
DSR_API int dsr_sk3_render(const dsr_envelope *env, const dsr_sk3_runs *runs, dsr_buf *out,
                           dsr_err *err);

/* Called once per problem: field is "." for the line as a whole, else a
 * dotted path with [i] for array elements ("payload.content_ref.hash"). */
typedef void (*dsr_sk3_problem_fn)(void *ctx, const char *field, const char *msg);

/* Check one NDJSON line (len bytes, no newline) against spec-kitty-events
 * 3.0.0 with the dossier payloads (docs/interop.md section 6) and report
 * every problem through fn (may be NULL).  Returns the number of problems
 * (0: valid) or DSR_ENOMEM. */
DSR_API int dsr_sk3_check(const char *line, size_t len, dsr_sk3_problem_fn fn, void *ctx);

/* Convert a line that dsr_sk3_check accepts into a canonical envelope,
 * appended to out as msgpack (dsr_envelope_decode accepts it); the run's
 * namespace is noted in runs (may be NULL) for dsr_sk3_runs_completion.
 * Returns 0, DSR_ENOMEM, or DSR_ESCHEMA with err naming the field when the
 * event has no canonical form: a type other than the four dossier types, a
 * content hash that is not SHA-256, a time that is not a date, fields
 * missing that the canonical payload needs. */
DSR_API int dsr_sk3_to_canonical(const char *line, size_t len, dsr_sk3_runs *runs,
                                 msgpack_sbuffer *out, dsr_err *err);

/* The canonical events of an imported run stay pending in the snapshot
 * projection until a dossier_scan_completed closes the run; spec-kitty-3
 * has none.  After every line is converted, call this with i = 0, 1, ...:
 * it appends to out (msgpack) the completion of the i-th run that had
 * artifact events converted but no completion of its own, and returns 0;
 * DSR_ENOTFOUND past the last run; DSR_ENOMEM.  *run_event_id receives the
 * event_id of one of the run's events (static storage in runs), so the
 * caller can tell a run this log wrote itself.  The completion is
 * deterministic (its id derives from the run id), so importing the same
 * file twice adds it once. */
DSR_API int dsr_sk3_runs_completion(dsr_sk3_runs *runs, size_t i, msgpack_sbuffer *out,
                                    const char **run_event_id, dsr_err *err);

#ifdef __cplusplus
}
#endif
#endif

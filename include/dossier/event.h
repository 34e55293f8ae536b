/*
 * dossier/event.h - the event contract: event types, payload structs, the
 * canonical envelope, validation, and the JSON <-> msgpack codecs.
 *
 * An envelope's keys are always in this canonical order (JSON output and
 * the msgpack map of dsr_envelope_pack keep it; stored records, format 2,
 * keep it as positions):
 *   event_id, event_type, aggregate_id, timestamp, node_id, lamport_clock,
 *   project_uuid, correlation_id, causation_id, schema_version, payload
 * Payload keys are written in the order the payload structs list them.
 * The JSON Schemas in schemas/ describe exactly the same shapes; the C
 * validators and the schemas are tested to agree (tests/data/).
 *
 * Thread-safety: every function here is pure or works only on its arguments.
 */
#ifndef DOSSIER_EVENT_H
#define DOSSIER_EVENT_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "dossier/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSR_SCHEMA_VERSION "1.0.0"
#define DSR_ULID_LEN 26

typedef enum dsr_event_type {
    DSR_EV_ARTIFACT_INDEXED = 0,   /* mission_dossier_artifact_indexed */
    DSR_EV_ARTIFACT_MISSING,       /* mission_dossier_artifact_missing */
    DSR_EV_SNAPSHOT_COMPUTED,      /* mission_dossier_snapshot_computed */
    DSR_EV_PARITY_DRIFT_DETECTED,  /* mission_dossier_parity_drift_detected */
    DSR_EV_BASELINE_ACCEPTED,      /* dossier_baseline_accepted (internal) */
    DSR_EV_SCAN_COMPLETED,         /* dossier_scan_completed (internal: closes a scan run) */
    DSR_EV_ARTIFACT_REMOVED,       /* dossier_artifact_removed (internal: --emit changed) */
    DSR_EV_COUNT
} dsr_event_type;

/* snake_case name, e.g. "mission_dossier_artifact_indexed". */
DSR_API const char *dsr_event_type_name(dsr_event_type t);
/* PascalCase alias, e.g. "MissionDossierArtifactIndexed". */
DSR_API const char *dsr_event_type_alias(dsr_event_type t);
/* Accepts the snake_case name or the PascalCase alias (len bytes, not NUL-terminated
 * necessarily).  Returns 0, or DSR_ENOTFOUND. */
DSR_API int dsr_event_type_parse(const char *name, size_t len, dsr_event_type *out);

/* ---- payloads (what the emitter takes) ---------------------------------
 * Optional strings are NULL for JSON null.  Strings are borrowed. */
typedef struct dsr_artifact_indexed {
    const char *feature_slug;
    const char *artifact_key;
    const char *artifact_class;      /* input|workflow|output|evidence|policy|runtime */
    const char *relative_path;
    const char *content_hash_sha256; /* 64 lowercase hex */
    int64_t     size_bytes;          /* >= 0 */
    const char *wp_id;               /* or NULL */
    const char *step_id;             /* or NULL */
    const char *required_status;     /* required|optional */
} dsr_artifact_indexed;

typedef struct dsr_artifact_missing {
    const char *feature_slug;
    const char *artifact_key;
    const char *artifact_class;
    const char *expected_path_pattern;
    const char *reason_code;         /* not_found|unreadable|invalid_format|deleted_after_scan */
    const char *reason_detail;       /* or NULL */
    int         blocking;            /* bool */
} dsr_artifact_missing;

typedef struct dsr_artifact_counts {
    int64_t total, required, required_present, required_missing, optional, optional_present;
} dsr_artifact_counts;

typedef struct dsr_snapshot_computed {
    const char *feature_slug;
    const char *parity_hash_sha256;  /* 64 lowercase hex */
    dsr_artifact_counts artifact_counts;
    const char *completeness_status; /* complete|incomplete|unknown */
    const char *snapshot_id;
} dsr_snapshot_computed;

/* One artifact whose content differs between baseline and snapshot: the
 * same key at the same path, another SHA-256 (64 lowercase hex each). */
typedef struct dsr_content_change {
    const char *artifact_key;
    const char *relative_path;
    const char *old_sha256;          /* the baseline's */
    const char *new_sha256;          /* the snapshot's */
} dsr_content_change;

typedef struct dsr_parity_drift_detected {
    const char *feature_slug;
    const char *local_parity_hash;
    const char *baseline_parity_hash;
    const char *const *missing_in_local;    size_t n_missing_in_local;
    const char *const *missing_in_baseline; size_t n_missing_in_baseline;
    const char *severity;            /* info|warning|error */
    /* Added (issue 20 item 4), optional in the payload: the artifacts whose
     * content changed, sorted by (artifact_key, relative_path).  The payload
     * field "content_changed" is written only when n_content_changed > 0, so
     * a drift without content changes keeps the payload it always had. */
    const dsr_content_change *content_changed; size_t n_content_changed;
} dsr_parity_drift_detected;

/* The accepted-baseline record.  Its key (project_uuid, node_id, feature_slug,
 * target_branch, mission_key, manifest_version) decides which snapshots it is
 * compared with. */
typedef struct dsr_baseline_accepted {
    const char *feature_slug;
    const char *snapshot_id;
    const char *parity_hash_sha256;
    const char *project_uuid;
    const char *node_id;
    const char *target_branch;
    const char *mission_key;         /* mission type, or NULL when no manifest */
    const char *manifest_version;    /* or NULL */
} dsr_baseline_accepted;

/* Closes a scan run (the envelope's correlation_id is the run id).  Written in
 * the scan's last atomic batch: a run without it never looks complete. */
typedef struct dsr_scan_completed {
    const char *feature_slug;
    const char *mission_type;        /* or NULL when the scan had no manifest */
    const char *manifest_version;    /* or NULL */
    const char *step_id;             /* or NULL */
    const char *target_branch;
    const char *emit_mode;           /* full|changed */
    int64_t     indexed_count;       /* artifact_indexed events of this run */
    int64_t     missing_count;       /* artifact_missing events of this run */
    int64_t     removed_count;       /* artifact_removed events of this run */
    int64_t     optional_absent;     /* optional manifest entries not found */
    /* Added for the profiles: NULL for wp04 (the field is then left out, so
     * wp04 events stay byte-identical), else the profile's name
     * ("spec-kitty-3"): which rules the run's hashes follow. */
    const char *profile;
    /* Added for remembered settings (dossier/scan_settings.h); each is left
     * out when unset, so events without them keep their bytes.  The
     * manifest file the run used (an absolute path; NULL for a built-in
     * manifest or none) and the SHA-256 of its content as read (64
     * lowercase hex, with manifest_path); the run's exclusion patterns
     * (--exclude, in order; n_excludes 0: none). */
    const char *manifest_path;
    const char *manifest_sha256;
    const char *const *excludes;
    size_t      n_excludes;
} dsr_scan_completed;

typedef struct dsr_artifact_removed {
    const char *feature_slug;
    const char *artifact_key;
    const char *relative_path;
} dsr_artifact_removed;

/* Pack a payload struct of type t (pointer to the struct above matching t) as
 * a msgpack map.  Returns 0 or DSR_ENOMEM / DSR_EINVAL (NULL where a string is
 * required). Does not validate values: dsr_payload_validate does. */
DSR_API int dsr_payload_pack(msgpack_packer *pk, dsr_event_type t, const void *payload);

/* Validate a payload map for type t: exactly the schema's fields (no unknown
 * keys, none missing), types, enums, patterns, minimums.  On failure returns
 * DSR_ESCHEMA with a message naming event type, field and value. */
DSR_API int dsr_payload_validate(dsr_event_type t, const msgpack_object *payload, dsr_err *err);

/* ---- envelope ---------------------------------------------------------- */
typedef struct dsr_str {
    const char *ptr;   /* NULL for JSON null */
    size_t      len;
} dsr_str;

/* A decoded, validated view of an envelope; strings point into the msgpack
 * object (valid while its zone lives). */
typedef struct dsr_envelope {
    dsr_str        event_id, event_type, aggregate_id, feature_slug, timestamp,
                   node_id, project_uuid, correlation_id, causation_id, schema_version;
    dsr_event_type type;          /* parsed from event_type (aliases accepted) */
    uint64_t       lamport_clock;
    const msgpack_object *payload;
} dsr_envelope;

/* Validate an envelope object (fields, formats, then the payload for its
 * type) and fill a view.  feature_slug is aggregate_id without "feature/".
 * Returns 0 or DSR_ESCHEMA with a message naming the field. */
DSR_API int dsr_envelope_view(const msgpack_object *obj, dsr_envelope *out, dsr_err *err);

/* Write env in canonical form (canonical key order, snake_case event_type).
 * The payload object is copied as-is, except that a float holding an
 * integral value (JSON "12.0", an integer to JSON Schema) is written as that
 * integer.  aggregate_id.ptr NULL -> "feature/" + feature_slug;
 * schema_version.ptr NULL -> DSR_SCHEMA_VERSION; correlation_id/causation_id
 * ptr NULL -> nil.  Returns 0, DSR_EINVAL (a required field missing) or
 * DSR_ENOMEM.  Does not validate: dsr_envelope_view does. */
DSR_API int dsr_envelope_pack(msgpack_packer *pk, const dsr_envelope *env);

/* Write env as a stored record: format 2, the compact array described in
 * eventlog/record_pack.c (ids and hashes as bytes, enums as numbers, field
 * names implied by position).  Same arguments and results as
 * dsr_envelope_pack; dsr_record_decode turns it back into the canonical map.
 * Deterministic: re-packing a decoded record gives the same bytes. */
DSR_API int dsr_record_pack(msgpack_packer *pk, const dsr_envelope *env);

/* Decode a stored record (format 2, or the canonical map of format 1): unpack into *u (caller calls msgpack_unpacked_init
 * first and msgpack_unpacked_destroy after) and view it.
 * Returns 0, DSR_ECORRUPT (does not decode, or bytes after the envelope) or
 * DSR_ESCHEMA (decodes but is not a valid envelope; also for msgpack nested
 * deeper than the 32 levels msgpack-c can decode, which no envelope is). */
DSR_API int dsr_record_decode(const void *rec, size_t len, msgpack_unpacked *u,
                      dsr_envelope *env, dsr_err *err);

/* The same for an envelope in its interchange form (the msgpack of a JSON
 * object, e.g. one NDJSON line after dsr_json_to_msgpack): only the map is
 * accepted, never the stored array of format 2. */
DSR_API int dsr_envelope_decode(const void *msgpack, size_t len, msgpack_unpacked *u,
                        dsr_envelope *env, dsr_err *err);

/* ---- JSON <-> msgpack ----------------------------------------------------
 * Strict JSON (RFC 8259): UTF-8 checked, nesting depth <= 64, duplicate keys
 * refused, integers that fit int64/uint64 become msgpack ints, other numbers
 * doubles.  Returns 0 or DSR_EPARSE with "column N: what" in err. */
DSR_API int dsr_json_to_msgpack(const char *text, size_t len, msgpack_sbuffer *out, dsr_err *err);

struct dsr_buf;
/* Compact JSON of obj (map keys in stored order), appended to out.  Strings
 * are escaped; non-UTF-8 bytes are written as \ufffd.  0 or DSR_ENOMEM. */
DSR_API int dsr_msgpack_to_json(const msgpack_object *obj, struct dsr_buf *out);

/* Append n bytes of s to out as a quoted JSON string: control characters,
 * quote and backslash escaped, bytes that are not valid UTF-8 written as
 * \ufffd.  0 or DSR_ENOMEM. */
DSR_API int dsr_json_put_string(struct dsr_buf *out, const char *s, size_t n);

/* ---- ids and time ------------------------------------------------------ */
/* Monotonic ULID generator: within one millisecond successive ids increase.
 * One per context (the log owns one); not thread-safe. */
typedef struct dsr_ulid_gen {
    uint64_t      last_ms;
    unsigned char last_rand[10];
} dsr_ulid_gen;

/* New ULID (26 Crockford base32 chars + NUL) for time now.  0 or DSR_EIO. */
DSR_API int  dsr_ulid_new(dsr_ulid_gen *g, char out[DSR_ULID_LEN + 1]);
/* Deterministic ULID: time part = ms, random part = first 80 bits of
 * SHA-256(seed).  Used for derived events so replays re-derive the same id. */
DSR_API void dsr_ulid_derive(uint64_t ms, const void *seed, size_t seed_len, char out[DSR_ULID_LEN + 1]);
/* 1 when s is 26 valid Crockford base32 chars (first char 0-7). */
DSR_API int  dsr_ulid_valid(const char *s, size_t len);

/* Current time as RFC 3339 UTC with milliseconds, "2026-11-25T08:10:17.123Z". */
DSR_API void dsr_time_now_rfc3339(char out[32], uint64_t *ms_out);
/* Parse RFC 3339 (Z or +hh:mm offset) into Unix ms.  0 or DSR_EINVAL. */
DSR_API int  dsr_time_parse_rfc3339(const char *s, size_t len, uint64_t *ms_out);

#ifdef __cplusplus
}
#endif
#endif

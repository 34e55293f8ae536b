/*
 * sk3.h - what the spec-kitty-3 files of codec/ share (sk3_ids.c,
 * sk3_runs.c, sk3_render.c, sk3_check.c, sk3_read.c): the id and time
 * grammars of spec-kitty-events 3.0.0, the mapping of its ids to ULIDs, and
 * the per-run record behind dsr_sk3_runs.  Private to codec/.
 */
#ifndef DOSSIER_CODEC_SK3_H
#define DOSSIER_CODEC_SK3_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "strmap.h"
#include "dossier/sk3.h"

/* The four dossier types in spec-kitty-3 spelling, indexed by dsr_event_type
 * (NULL for the internal types, which have none). */
extern const char *const sk3_type_names[DSR_EV_COUNT];

/* The type whose spec-kitty-3 name is s[0..n), or -1. */
int sk3_type_parse(const char *s, size_t n);

/* 1 when s[0..n) is an id upstream accepts: 26 Crockford base32 characters
 * in either case (no I L O U), 32 hex digits, or 8-4-4-4-12 hex. */
int sk3_id_valid(const char *s, size_t n);

/* The canonical ULID of a valid upstream id (dossier/sk3.h, convention 4). */
void sk3_id_to_ulid(const char *s, size_t n, char out[DSR_ULID_LEN + 1]);

/* 1 when s[0..n) is a UUID as upstream's pydantic reads one: 8-4-4-4-12 or
 * 32 hex digits, either case, optionally in {} or after urn:uuid:. */
int sk3_uuid_valid(const char *s, size_t n);

/* The hyphenated lower-case form of a valid UUID (37 bytes with the NUL). */
void sk3_uuid_canonical(const char *s, size_t n, char out[37]);

/* 1 when s[0..n) is a date-time as upstream's pydantic parser reads text
 * (schemas/spec-kitty-3/envelope.schema.json, "timestamp"), digits-only
 * Unix times excepted (docs/interop.md, divergence 7). */
int sk3_time_valid(const char *s, size_t n);

/* The RFC 3339 form of a valid time: a date alone becomes midnight, a time
 * without offset is taken as UTC ("Z"), 'z' and a space or '_' separator are
 * spelled 'Z' and 'T', ',' becomes '.', +hhmm becomes +hh:mm.  Text that is
 * RFC 3339 already is copied unchanged.  out holds at least n + 16 bytes;
 * returns the length written (NUL-terminated). */
size_t sk3_time_canonical(const char *s, size_t n, char *out);

/* One scan run, keyed by its id (the envelopes' correlation_id). */
typedef struct sk3_run {
    const char *run_id;
    /* the namespace: from the run's dossier_scan_completed when rendering,
     * from the imported events' namespace when reading */
    const char *mission_type, *manifest_version, *step_id, *target_branch;
    int         has_scope;
    int         manifest_none;   /* the scan had no manifest (both NULL) */
    /* reading only: what its synthesized completion needs */
    const char *feature, *node_id, *project_uuid, *timestamp, *first_event_id;
    uint64_t    ts_ms, lamport_max;
    int64_t     indexed, missing, optional_absent;
    int         has_artifacts;
} sk3_run;

struct dsr_sk3_runs {
    strmap    map;      /* run id -> sk3_run* */
    arena     ar;       /* the runs and their strings */
    sk3_run **order;    /* in order of first appearance */
    size_t    n, cap;
};

/* The run with id s[0..n), created when absent (*created = 1).  NULL on
 * ENOMEM. */
sk3_run *sk3_run_get(dsr_sk3_runs *r, const char *s, size_t n, int *created);
/* The run with id s[0..n), or NULL. */
const sk3_run *sk3_run_find(const dsr_sk3_runs *r, const char *s, size_t n);

#endif

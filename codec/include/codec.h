/*
 * codec.h - codec/'s interface to the modules above it: the helpers the
 * event-contract files share (validation, canonical packing, record
 * formats, ULID and RFC 3339 checks) and that the store, the projections
 * and verify also use.  Never installed: include/dossier/event.h is the
 * public contract.
 */
#ifndef DOSSIER_CODEC_H
#define DOSSIER_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "dossier/event.h"
#include "dossier/buf.h"

/* 1 when s[0..len) is an RFC 3339 date-time with a Z or +hh:mm offset and a
 * real calendar date (leap years honoured); the same language as the
 * timestamp pattern in schemas/envelope.schema.json. */
int codec_rfc3339_valid(const char *s, size_t len);
/* ms since the epoch as dsr_time_now_rfc3339 writes it ("...T12:00:00.123Z"). */
void codec_rfc3339_of_ms(uint64_t ms, char out[32]);

/* 1 when s is a lowercase or uppercase hyphenated UUID (8-4-4-4-12 hex). */
int codec_uuid_valid(const char *s, size_t len);

/* UTF-8 checks (utf8_check, utf8_seq_len) live in common/utf8.h. */
#include "utf8.h"

/* JSON Schema's notion of an integer (draft-07): a msgpack int, or a float
 * with no fractional part.  On success *neg tells the sign and *mag holds
 * the magnitude (for negatives, the absolute value, saturated).  Returns 1
 * when obj is such an integer and its magnitude fits in 64 bits, 0 when it
 * is not an integer, -1 when it is an integer outside the 64-bit range. */
int codec_as_integer(const msgpack_object *obj, int *neg, uint64_t *mag);

/* Render obj as compact JSON into out (size n), cut with "..." when longer;
 * for error messages. */
void codec_render_value(const msgpack_object *obj, char *out, size_t n);

/* Pack obj like msgpack_pack_object, except that floats holding an integral
 * value in the 64-bit range are written as integers (the canonical form of
 * JSON Schema integers such as 1.0).  Returns 0 or non-zero on failure. */
int codec_pack_canonical(msgpack_packer *pk, const msgpack_object *obj);

/* 1 when no msgpack array or map in p[0..len) declares more elements than
 * bytes remain: unpacking it cannot be made to allocate more than a small
 * multiple of len (envelope.c). */
int codec_mp_sizes_plausible(const unsigned char *p, size_t len);

/* Unpack exactly one msgpack value from buf[0..len) into u, after
 * codec_mp_sizes_plausible: 0, or DSR_ECORRUPT (truncated, not msgpack,
 * trailing bytes) / DSR_ESCHEMA (nested past msgpack-c's 32 levels) with a
 * "record: ..." message (envelope.c; the first step of dsr_envelope_decode
 * and dsr_record_decode). */
int codec_unpack_one(const void *buf, size_t len, msgpack_unpacked *u, dsr_err *err);

/* The value of key in map (the first, when a key repeats), or NULL when it
 * is absent or map is not a map. */
const msgpack_object *codec_map_get(const msgpack_object *map, const char *key);

/* A str object as a dsr_str ("" kept distinct from null: a zero-length str
 * may carry a NULL ptr); {NULL, 0} for anything that is not a str. */
dsr_str codec_str_of(const msgpack_object *v);

/* ---- stored records (record_pack.c, the one entry point to the record
 * format: dsr_record_pack / dsr_record_decode and these) ---------------- */

/* A valid ULID (dsr_ulid_valid) <-> its 16 bytes (48-bit ms, 80 random bits,
 * big-endian).  to_bin returns 0, or -1 when s is not a valid ULID; every
 * valid ULID round-trips exactly (the alphabet is uppercase-only). */
int  codec_ulid_to_bin(const char *s, size_t len, unsigned char bin[16]);
void codec_ulid_from_bin(const unsigned char bin[16], char out[27]);
/* dsr_ulid_new for a clock the caller has read (now_ms, Unix ms), giving the
 * new id's 16 bytes in bin as well as its text. */
int  codec_ulid_next(dsr_ulid_gen *g, uint64_t now_ms, char out[27], unsigned char bin[16]);

/* 1 when the stored bytes are a format 2 record (a msgpack array), 0 for
 * format 1 (a map) or anything else. */
int codec_record_is_format2(const void *rec, size_t len);

/* Expand a format 2 record (an array of 11) into the canonical envelope map,
 * allocating from z; values that are not compact forms pass through for
 * dsr_envelope_view to judge.  0, DSR_ECORRUPT (not an array of 11) or
 * DSR_ENOMEM. */
int codec_record_expand(const msgpack_object *rec, msgpack_zone *z, msgpack_object *out);

/* The required payload fields of type t in canonical order (event_validate.c's
 * table): name (and *len), and how compact records may store the value:
 * *hex64 = 1 for a ^[a-f0-9]{64}$ field, *values = the enum's NULL-terminated
 * values for an enum field (else NULL).  NULL past the last one. */
const char *codec_payload_field(dsr_event_type t, size_t i, size_t *len, int *hex64,
                               const char *const **values);
/* How many required payload fields type t has (0 for an unknown type).
 * Optional fields (added later, e.g. dossier_scan_completed's profile) follow
 * them in the table and are not counted: a payload holding exactly the
 * required fields keeps its compact record form, one with an optional field
 * is stored as its map (record_pack.c), and records written before the field
 * existed still expand. */
size_t codec_payload_field_count(dsr_event_type t);

/* The indexes of an indexed payload's enum values and its content hash as
 * bytes, found by the direct check below. */
typedef struct codec_indexed_direct {
    unsigned      cls, status;
    unsigned char hash[32];
} codec_indexed_direct;
/* The emitter's direct path for its most frequent event (emit.c): 1 when
 * dsr_payload_validate would accept the payload p packs to, with *d filled;
 * 0 when it might not (the caller then takes the general path, whose
 * refusal names the field).  Never 1 for a payload the validator refuses
 * (tests/unit/test_emit_direct.c). */
int codec_indexed_direct_ok(const dsr_artifact_indexed *p, codec_indexed_direct *d);
/* The binary form of one envelope id (node_id, project_uuid,
 * correlation_id, causation_id) as last computed, with the text it was
 * computed from: the same text again costs a compare, not a conversion. */
typedef struct codec_bin_memo {
    char          text[36];
    size_t        len;       /* 0: nothing kept */
    int           is_bin;    /* text has a 16-byte form, in bin */
    unsigned char bin[16];
} codec_bin_memo;
/* What an emitter keeps from one record to the next: the ids that stay the
 * same for a whole log or run.  Zeroed = empty. */
typedef struct codec_head_memo {
    codec_bin_memo node, project, corr, cause;
} codec_head_memo;
/* The stored record (format 2) of an indexed event straight from its
 * struct, appended to out: byte for byte what dsr_record_pack writes for env
 * with the payload map p packs to, given codec_indexed_direct_ok(p, d)
 * (env->payload is not read; env->aggregate_id must be NULL, i.e.
 * "feature/" + slug).  id_bin: env->event_id's 16 bytes when the caller has
 * them (a fresh id, codec_ulid_next), else NULL; memo: NULL, or kept by the
 * caller between calls (its content never changes the bytes).  0,
 * DSR_EINVAL, or DSR_ENOMEM (out unchanged). */
int codec_record_pack_indexed(dsr_buf *out, const dsr_envelope *env, const unsigned char *id_bin,
                              codec_head_memo *memo, const dsr_artifact_indexed *p,
                              const codec_indexed_direct *d);

#endif

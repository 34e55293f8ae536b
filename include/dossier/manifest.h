/*
 * dossier/manifest.h - expected-artifact manifests (spec-kitty's
 * expected-artifacts.yaml format) and glob matching of their path patterns.
 *
 * A manifest lists required_always, required_by_step {step: [...]} and
 * optional_always specs; each spec has artifact_key, artifact_class,
 * path_pattern (glob relative to the mission root: *, ?, [...], and ** for any
 * depth) and blocking.  Parsing refuses anything malformed with "file:line:
 * what is wrong".  A parsed manifest is immutable and may be shared by threads.
 */
#ifndef DOSSIER_MANIFEST_H
#define DOSSIER_MANIFEST_H

#include "dossier/export.h"

#include <stddef.h>
#include "dossier/error.h"
#include "dossier/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsr_manifest dsr_manifest;

typedef enum dsr_spec_kind {
    DSR_SPEC_REQUIRED_ALWAYS,
    DSR_SPEC_REQUIRED_BY_STEP,
    DSR_SPEC_OPTIONAL_ALWAYS
} dsr_spec_kind;

typedef struct dsr_manifest_spec {
    const char   *artifact_key;
    const char   *artifact_class;   /* input|workflow|output|evidence|policy|runtime */
    const char   *path_pattern;
    int           blocking;
    dsr_spec_kind kind;
    const char   *step_id;          /* for DSR_SPEC_REQUIRED_BY_STEP, else NULL */
    int           line;             /* line in the source, for messages */
} dsr_manifest_spec;

/* Parse manifest text; name is used in messages ("name:line: ...").
 * Returns 0 or DSR_EMANIFEST / DSR_ENOMEM. */
DSR_API int  dsr_manifest_parse(const char *text, size_t len, const char *name,
                        dsr_manifest **out, dsr_err *err);
/* Read and parse a file.  DSR_EIO when unreadable, DSR_EMANIFEST when malformed. */
DSR_API int  dsr_manifest_load_file(const char *path, dsr_manifest **out, dsr_err *err);
/* A built-in manifest by mission type ("software-dev", "research", ...).
 * DSR_ENOTFOUND names the known types in the message. */
DSR_API int  dsr_manifest_load_builtin(const char *mission_type, dsr_manifest **out, dsr_err *err);
/* Names of the built-in manifests (static storage). */
DSR_API const char *const *dsr_manifest_builtin_names(size_t *n);
/* Added for the profiles: the built-ins of a profile.  wp04: the ones above
 * (software-dev, research).  spec-kitty-3: spec-kitty's current mission types
 * software-dev, research and documentation with its current step names
 * (docs/interop.md section 1).  DSR_ENOTFOUND names the profile's types;
 * DSR_EINVAL for an unknown profile. */
DSR_API int  dsr_manifest_load_builtin_profile(dsr_profile p, const char *mission_type,
                                               dsr_manifest **out, dsr_err *err);
DSR_API const char *const *dsr_manifest_builtin_names_profile(dsr_profile p, size_t *n);
DSR_API void dsr_manifest_free(dsr_manifest *m);

DSR_API const char *dsr_manifest_mission_type(const dsr_manifest *m);
DSR_API const char *dsr_manifest_version(const dsr_manifest *m);      /* manifest_version as text */
DSR_API size_t      dsr_manifest_spec_count(const dsr_manifest *m);
DSR_API const dsr_manifest_spec *dsr_manifest_spec_at(const dsr_manifest *m, size_t i);
/* 1 when step_id is a key of required_by_step. */
DSR_API int         dsr_manifest_has_step(const dsr_manifest *m, const char *step_id);
/* Added by the scanner: schema_version as text ("1.0" when absent), the
 * source name used in messages (file path or "builtin:<file>"), and the
 * required_by_step keys in file order. */
DSR_API const char *dsr_manifest_schema_version(const dsr_manifest *m);
DSR_API const char *dsr_manifest_name(const dsr_manifest *m);
DSR_API size_t      dsr_manifest_step_count(const dsr_manifest *m);
DSR_API const char *dsr_manifest_step_at(const dsr_manifest *m, size_t i);  /* NULL when out of range */
/* Added for remembered settings: for a manifest read by
 * dsr_manifest_load_file, the file's absolute path (as resolved when it was
 * read) and the SHA-256 of the bytes parsed (64 lowercase hex); NULL for a
 * built-in or parsed manifest. */
DSR_API const char *dsr_manifest_file(const dsr_manifest *m);
DSR_API const char *dsr_manifest_sha256(const dsr_manifest *m);

/* Glob match of a relative path ('/'-separated) against a pattern:
 * '*' and '?' never cross '/', '[...]' classes (with '!' or '^' negation and
 * ranges), '**' as a whole segment matches zero or more segments.
 * Returns 1 on match, 0 otherwise. */
DSR_API int dsr_glob_match(const char *pattern, const char *path);

#ifdef __cplusplus
}
#endif
#endif

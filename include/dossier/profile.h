/*
 * dossier/profile.h - the compatibility profiles: which contract a scan's
 * hashes and an event stream follow.
 *
 *   wp04          the original work package's contract (the default): raw-byte
 *                 hashes, the feature-042 parity hash, snake_case event types
 *                 in the canonical envelope.
 *   spec-kitty-3  current spec-kitty and spec-kitty-events 3.0.0: WP files
 *                 hashed by their frontmatter projection, the path<TAB>hash
 *                 parity hash, PascalCase envelopes (see docs/interop.md).
 *
 * The log always stores the canonical (wp04-shaped) events; a profile is how
 * a scan computes hashes and how events are rendered and read at the edges.
 */
#ifndef DOSSIER_PROFILE_H
#define DOSSIER_PROFILE_H

#include "dossier/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsr_profile {
    DSR_PROFILE_WP04 = 0,
    DSR_PROFILE_SPEC_KITTY_3 = 1
} dsr_profile;

/* "wp04" or "spec-kitty-3" (static storage); NULL for an unknown value. */
DSR_API const char *dsr_profile_name(dsr_profile p);

/* Parse a profile name as dsr_profile_name writes it.  Returns 0 and sets
 * *out, or -1 for an unknown name (*out untouched).  The list of accepted
 * names, for messages: DSR_PROFILE_NAMES. */
DSR_API int dsr_profile_parse(const char *name, dsr_profile *out);

#define DSR_PROFILE_NAMES "wp04, spec-kitty-3"

#ifdef __cplusplus
}
#endif
#endif

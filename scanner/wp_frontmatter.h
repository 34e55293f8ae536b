/*
 * wp_frontmatter.h - the spec-kitty-3 hash of a work-package file (private to
 * the scanner): the canonical JSON of the static projection of its YAML
 * frontmatter (docs/interop.md section 3).
 *
 * Only WP files pay for this: wp_is_wp_file() picks them by name, and the
 * scanner calls wp_fm_project() on their bytes after the ordinary hashing
 * pass.  The functions are pure and thread-safe (no shared state).
 */
#ifndef DOSSIER_WP_FRONTMATTER_H
#define DOSSIER_WP_FRONTMATTER_H

#include <stddef.h>

#include "buf.h"

/* 1 when relative_path names a WP file under spec-kitty-3: the last
 * component's suffix, lower-cased, is ".md" and its stem starts with "WP"
 * (any case) followed by at least two ASCII digits; in any folder. */
int wp_is_wp_file(const char *relative_path);

typedef enum wp_fm_status {
    WP_FM_RAW = 0,     /* no usable frontmatter: hash the raw bytes, present */
    WP_FM_PROJECTED,   /* json holds the canonical projection: hash it */
    WP_FM_INVALID      /* frontmatter fails the WP schema: not present */
} wp_fm_status;

/* Upper bound on the projection text: a frontmatter whose projection would
 * be longer (an alias bomb) is WP_FM_INVALID rather than a memory hog. */
#define WP_FM_MAX_JSON ((size_t)16 << 20)

/* Read the frontmatter of the len bytes at text (a whole WP file, already
 * known to be valid UTF-8) and decide.  WP_FM_PROJECTED: json (reset first)
 * holds the projection text whose SHA-256 is the file's hash.
 * WP_FM_INVALID: why (size why_n) names the field and the problem.
 * Returns the status (>= 0), or DSR_ENOMEM. */
int wp_fm_project(const char *text, size_t len, dsr_buf *json, char *why, size_t why_n);

#endif

/*
 * classify.h - naming rules for artifacts (private to the scanner): the key
 * and class of files no manifest entry matches, the key of files matched by a
 * wildcard entry, the wp_id of work-package files, and which files are text.
 * All functions are pure; see docs/scanning.md for the user-facing rules.
 */
#ifndef DOSSIER_CLASSIFY_H
#define DOSSIER_CLASSIFY_H

#include <stddef.h>

#include "arena.h"

/* Class for a file that matches no manifest entry (static string). */
const char *classify_path(const char *relative_path);

/* Key for a file that matches no manifest entry: "path:" + relative_path.
 * Allocated from ar; NULL on allocation failure. */
char *classify_derive_key(arena *ar, const char *relative_path);

/* Key for a file matched by a manifest entry: the entry's key when its
 * pattern is a literal path, else "<key>:<relative_path>".  From ar, or
 * NULL. */
char *classify_spec_key(arena *ar, const char *spec_key, const char *pattern,
                   const char *relative_path);

/* 1 when the pattern contains glob metacharacters (* ? [ or a \ escape). */
int glob_is_pattern(const char *pattern);

/* "WP04" for tasks/WP04-name.md (any parent folder named "tasks"): writes
 * the id into out (size n) and returns 1, else 0. */
int classify_wp_id(const char *relative_path, char *out, size_t n);

/* 1 for text artifacts that must be valid UTF-8: .md .txt .yaml .yml .json
 * (extension compared case-insensitively). */
int classify_is_text(const char *relative_path);

/* 1 when s is a valid class name; returns the static spelling in *canon. */
int classify_class_valid(const char *s, const char **canon);

#endif

/*
 * ignore.h - exclusion rules of a scan: `.dossierignore` files and
 * --exclude patterns, in gitignore syntax (private to the scanner).
 *
 * A rule set holds two lists.  The command line's (dsr_scan_opts.excludes)
 * is consulted first and wins whenever one of its rules matches; then the
 * rules of the ignore files on the current path, root first, deeper files
 * later.  Within a list the last matching rule decides: excluded, or
 * included again by a '!' rule.  The walker pushes a folder's
 * `.dossierignore` when it enters the folder and pops it when it leaves, so
 * the file list only ever holds rules of the folders on the current path.
 *
 * Syntax (one pattern per line; user-facing text in docs/scanning.md):
 *   - blank lines and lines starting with '#' are nothing; "\#" and "\!"
 *     start a pattern with a literal '#' or '!'; trailing spaces are cut
 *     unless escaped ("\ "); one trailing CR is cut (CRLF files);
 *   - "!" negates: a path the rule matches is included again;
 *   - a trailing "/" matches folders only;
 *   - a pattern with a "/" at its start or middle is anchored: matched
 *     against the path relative to the ignore file's folder (a leading "/"
 *     is dropped); any other pattern matches an entry's name at any depth;
 *   - "*", "?", "[...]", "**" and "\" escapes as in manifest globs
 *     (dsr_glob_match): "*" never crosses "/", "**" spans whole segments.
 * Matching is dsr_glob_match per rule: O(pattern x path) at worst, no
 * recursion, no allocation.
 */
#ifndef DOSSIER_SCANNER_IGNORE_H
#define DOSSIER_SCANNER_IGNORE_H

#include "arena.h"
#include "dossier/error.h"

#include <stddef.h>

/* The ignore file a folder may hold. */
#define IGNORE_FILE_NAME ".dossierignore"
/* Largest ignore file read: rules are for people to write, and a bigger
 * file is more likely a mistake than a rule set (refused, named). */
#define IGNORE_FILE_MAX (1u << 20)

enum {
    IGN_NEGATE   = 1 << 0,   /* "!pattern": include again */
    IGN_DIR_ONLY = 1 << 1,   /* "pattern/": folders only */
    IGN_ANCHORED = 1 << 2    /* a '/' before the end: whole relative path */
};

typedef struct ignore_rule {
    const char *pat;         /* without '!', leading and trailing '/' (arena) */
    const char *src;         /* "FILE:LINE" or "--exclude", for messages (arena) */
    size_t      base_len;    /* length of the folder the rule lives in ("" root) */
    unsigned    flags;       /* IGN_* */
} ignore_rule;

typedef struct ignore_list {
    ignore_rule *rules;
    size_t       n, cap;
} ignore_list;

typedef struct ignore_set {
    ignore_list cli;         /* --exclude patterns: consulted first */
    ignore_list files;       /* .dossierignore rules on the current path */
    arena       ar;          /* every pattern and source string */
} ignore_set;

/* What a rule set says about a path. */
typedef enum ignore_verdict {
    IGNORE_NONE = 0,         /* no rule matches: walked as usual */
    IGNORE_EXCLUDED,
    IGNORE_INCLUDED          /* a '!' rule matched last */
} ignore_verdict;

void ignore_init(ignore_set *s);
void ignore_free(ignore_set *s);

/* Add one --exclude pattern (the syntax of one ignore-file line; a comment
 * or blank is refused, as nothing).  Returns 0, DSR_EINVAL naming the
 * pattern, or DSR_ENOMEM. */
int ignore_add_cli(ignore_set *s, const char *pattern, dsr_err *err);

/* Parse an ignore file's text (len bytes, no NUL needed) whose folder is
 * base (relative to the root, "" for the root) and append its rules to the
 * file list.  name is the file's path as messages show it.  Returns 0,
 * DSR_EINVAL naming "name:line" (NUL byte, invalid UTF-8, a pattern that is
 * empty once '!' and slashes are taken off) or DSR_ENOMEM; on error the
 * list is as before. */
int ignore_parse(ignore_set *s, const char *base, const char *name, const char *text,
                 size_t len, dsr_err *err);

/* Read base's ignore file from the open folder dirfd (not following a
 * symlink; a regular file of at most IGNORE_FILE_MAX bytes) and parse it.
 * Returns 0, DSR_EIO or DSR_EINVAL naming the file, or DSR_ENOMEM. */
int ignore_load(ignore_set *s, int dirfd, const char *base, const char *shown, dsr_err *err);

/* Number of file rules, to pop back to when the folder is left. */
static inline size_t ignore_mark(const ignore_set *s) { return s->files.n; }
static inline void   ignore_pop(ignore_set *s, size_t mark)
{
    if (mark < s->files.n)
        s->files.n = mark;
}
static inline int    ignore_empty(const ignore_set *s) { return !s->cli.n && !s->files.n; }

/* The verdict on rel (relative to the root; every file rule's folder is a
 * prefix of it, which the walker's push/pop keeps true), a folder when
 * is_dir.  *rule, when not NULL, gets the deciding rule (or NULL). */
ignore_verdict ignore_match(const ignore_set *s, const char *rel, int is_dir,
                            const ignore_rule **rule);

#endif

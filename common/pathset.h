/*
 * pathset.h - a set of relative paths of a tree, each standing for itself
 * and everything below it (the changed paths of a `dossier watch` run), and
 * the two questions a path-limited walk asks about an entry: is it in the
 * set (at or below a member), or does a member lie below it (a folder on
 * the way)?
 *
 * Invariants after pathset_make: v is sorted by strcmp, holds no duplicate
 * and no member below another member ("a" and "a/b" keep only "a"); the
 * empty path "" is the root, i.e. the whole tree.  Paths are relative, '/'
 * separated, without a leading or trailing '/'.  Read-only after make: any
 * number of threads may query it.
 */
#ifndef DOSSIER_COMMON_PATHSET_H
#define DOSSIER_COMMON_PATHSET_H

#include <stddef.h>

typedef struct pathset {
    char  **v;
    size_t  n;
    size_t  min_len, max_len;   /* of the members: prefixes outside need no search */
} pathset;

enum {
    PATHSET_OUT = 0,    /* neither in the set nor above a member */
    PATHSET_IN,         /* a member, or below one */
    PATHSET_ABOVE       /* not in the set, but a member lies below it */
};

/* Fill s with copies of the n paths (any order, duplicates and nesting
 * allowed).  Returns 0 or DSR_ENOMEM (s left empty). */
int  pathset_make(pathset *s, const char *const *paths, size_t n);
/* PATHSET_IN, PATHSET_ABOVE or PATHSET_OUT for rel. */
int  pathset_where(const pathset *s, const char *rel);
/* 1 when pathset_where(s, rel) is PATHSET_IN, cheaper: for the files of a
 * whole tree, which are mostly neither in the set nor above a member. */
int  pathset_has(const pathset *s, const char *rel);
void pathset_free(pathset *s);   /* back to empty; an empty set is fine */

#endif

/*
 * pathset.c - changed-path sets for path-limited walks (see pathset.h).
 *
 * Both questions are binary searches in the sorted members:
 *   in:    rel itself, or one of its ancestors (rel cut at each '/'), is a
 *          member - at most depth(rel) + 1 searches;
 *   above: the first member not below rel + "/" in strcmp order starts
 *          with rel + "/" (all such members are contiguous in that order).
 */
#include "pathset.h"
#include "dossier/error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first member not below rel[0..len) followed by the byte next (none
 * when next is 0), in strcmp order. */
static size_t lower_bound(const pathset *s, const char *rel, size_t len, unsigned char next)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = s->v[mid];
        int c = strncmp(m, rel, len);
        if (c == 0)
            c = (int)(unsigned char)m[len] - (int)next;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Does a member start with rel[0..len) and then the byte next? */
static int member_at(const pathset *s, const char *rel, size_t len, unsigned char next)
{
    size_t i = lower_bound(s, rel, len, next);
    return i < s->n && !strncmp(s->v[i], rel, len) && (unsigned char)s->v[i][len] == next;
}

/* Is the prefix rel[0..len) a member? */
static int has_prefix_member(const pathset *s, const char *rel, size_t len)
{
    return member_at(s, rel, len, '\0');
}

static int in_set(const pathset *s, const char *rel)
{
    if (!s->n)
        return 0;
    if (s->min_len == 0)
        return 1;               /* the root is a member: "" sorts first */
    if (strnlen(rel, s->min_len) < s->min_len)
        return 0;               /* shorter than every member */
    for (const char *p = rel + s->min_len;; p++) {
        if (*p == '\0' || *p == '/') {
            size_t len = (size_t)(p - rel);
            if (len > s->max_len)
                return 0;
            if (len >= s->min_len && has_prefix_member(s, rel, len))
                return 1;
            if (!*p)
                return 0;
        }
    }
}

/* Does a member start with rel + "/" (any member, for the root "")? */
static int above_member(const pathset *s, const char *rel)
{
    size_t len = strlen(rel);
    return len ? member_at(s, rel, len, '/') : s->n > 0;
}

int pathset_has(const pathset *s, const char *rel)
{
    return in_set(s, rel);
}

int pathset_where(const pathset *s, const char *rel)
{
    if (!s->n)
        return PATHSET_OUT;
    if (in_set(s, rel))
        return PATHSET_IN;
    return above_member(s, rel) ? PATHSET_ABOVE : PATHSET_OUT;
}

int pathset_make(pathset *s, const char *const *paths, size_t n)
{
    s->v = NULL;
    s->n = s->min_len = s->max_len = 0;
    if (!n)
        return 0;
    char **v = calloc(n, sizeof *v);
    if (!v)
        return DSR_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(paths[i]))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return DSR_ENOMEM;
        }
    qsort(v, n, sizeof *v, cmp_str);
    /* keep a path only when no kept one is it or above it; the kept ones
     * so far are sorted, so the set built so far answers in_set */
    s->v = v;
    for (size_t i = 0; i < n; i++) {
        char *p = v[i];
        if (in_set(s, p)) {
            free(p);
            continue;
        }
        /* every kept member sorts before p: the order holds */
        v[s->n++] = p;
        size_t len = strlen(p);
        if (s->n == 1 || len < s->min_len)
            s->min_len = len;
        if (len > s->max_len)
            s->max_len = len;
    }
    assert(s->n >= 1);
    return 0;
}

void pathset_free(pathset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->min_len = s->max_len = 0;
}

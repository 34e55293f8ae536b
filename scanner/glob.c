/*
 * glob.c - dsr_glob_match(): the path-pattern language of manifests.
 *
 * Patterns and paths are '/'-separated and relative to the mission root.
 * Matching works segment by segment so that '*', '?' and '[...]' can never
 * cross a '/', and a segment that is exactly "**" matches zero or more whole
 * segments.  A '\' escapes the next character.  Leading dots are not special:
 * hidden entries never reach the matcher because the walker skips them.
 *
 * The matcher is pure (no allocation, no state, no recursion), so it is safe
 * from any thread, and its time is bounded by pattern length x path length
 * for any pattern a manifest may hold (see match_from).
 */
#include "dossier/manifest.h"

#include <stddef.h>
#include <string.h>

/* Match a bracket expression starting at p (just after '['), against c.
 * Returns a pointer just past the closing ']' and sets *hit, or NULL when the
 * bracket is not terminated within the segment (then '[' is a literal). */
static const char *match_bracket(const char *p, const char *pend, unsigned char c, int *hit)
{
    int negate = 0, found = 0;
    if (p < pend && (*p == '!' || *p == '^')) {
        negate = 1;
        p++;
    }
    const char *start = p;
    while (p < pend) {
        if (*p == ']' && p != start)
            break;
        unsigned char lo = (unsigned char)*p;
        if (lo == '\\' && p + 1 < pend)
            lo = (unsigned char)*++p;
        p++;
        unsigned char hi = lo;
        if (p + 1 < pend && *p == '-' && p[1] != ']') {
            hi = (unsigned char)p[1];
            if (hi == '\\' && p + 2 < pend) {
                hi = (unsigned char)p[2];
                p++;
            }
            p += 2;
        }
        if (lo <= c && c <= hi)
            found = 1;
    }
    if (p >= pend)
        return NULL;
    *hit = found != negate;
    return p + 1;
}

/* One segment: pattern [p, pend) against name [s, send).  Classic wildcard
 * matching with single-star backtracking (linear for one '*', quadratic
 * worst case; segments are short). */
static int match_segment(const char *p, const char *pend, const char *s, const char *send)
{
    const char *star_p = NULL, *star_s = NULL;
    while (s < send) {
        if (p < pend) {
            if (*p == '*') {
                while (p < pend && *p == '*')
                    p++;
                star_p = p;
                star_s = s;
                continue;
            }
            if (*p == '?') {
                p++;
                s++;
                continue;
            }
            if (*p == '[') {
                int hit = 0;
                const char *after = match_bracket(p + 1, pend, (unsigned char)*s, &hit);
                if (after) {
                    if (hit) {
                        p = after;
                        s++;
                        continue;
                    }
                    goto backtrack;
                }
                /* unterminated: '[' is literal */
            }
            const char *lit = p;
            if (*lit == '\\' && lit + 1 < pend)
                lit++;
            if (*lit == *s) {
                p = lit + 1;
                s++;
                continue;
            }
        }
    backtrack:
        if (!star_p)
            return 0;
        p = star_p;
        s = ++star_s;
    }
    while (p < pend && *p == '*')
        p++;
    return p == pend;
}

static const char *seg_end(const char *s)
{
    const char *e = strchr(s, '/');
    return e ? e : s + strlen(s);
}

static int is_double_star(const char *p, const char *pe)
{
    return pe - p == 2 && p[0] == '*' && p[1] == '*';
}

/* The whole path against the whole pattern, one segment at a time.  Each
 * pattern segment other than "**" matches exactly one path segment, so the
 * classic two-pointer wildcard algorithm applies at segment level: on a
 * mismatch only the most recent "**" takes one more segment, never an
 * earlier one (whatever an earlier "**" could absorb, the latest can too).
 * That is O(pattern segments x path segments) segment comparisons, where
 * trying every split for every "**" was exponential in their number.
 *
 * The rules kept from the recursive matcher this replaced: a "**" followed
 * by more pattern matches zero or more segments; a trailing "**" matches one
 * or more (below "docs", a trailing "**" matches docs/a but not docs).
 * p and s: the pattern / path still to match, NULL when used up. */
static int match_from(const char *p, const char *s)
{
    const char *star_p = NULL;   /* pattern after the latest "**" */
    const char *star_s = NULL;   /* path segment that "**" stopped before */
    while (s) {
        if (p) {
            const char *pe = seg_end(p);
            if (is_double_star(p, pe)) {
                if (!*pe)
                    return 1;           /* trailing "**": at least one segment is left */
                star_p = pe + 1;
                star_s = s;
                p = pe + 1;
                continue;
            }
            const char *se = seg_end(s);
            if (match_segment(p, pe, s, se)) {
                p = *pe ? pe + 1 : NULL;
                s = *se ? se + 1 : NULL;
                continue;
            }
        }
        /* mismatch, or pattern used up with path left: the latest "**"
         * takes one more segment, if one would still be left after it */
        if (!star_p)
            return 0;
        const char *te = seg_end(star_s);
        if (!*te)
            return 0;
        star_s = te + 1;
        s = star_s;
        p = star_p;
    }
    /* path used up: what is left of the pattern must be "**"s that may
     * match nothing, i.e. none of them the trailing one */
    while (p) {
        const char *pe = seg_end(p);
        if (!is_double_star(p, pe) || !*pe)
            return 0;
        p = pe + 1;
    }
    return 1;
}

int dsr_glob_match(const char *pattern, const char *path)
{
    if (!pattern || !path || !*pattern)
        return 0;
    return match_from(pattern, path);
}

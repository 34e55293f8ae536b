/*
 * glob.c - dsr_glob_match(): the path-pattern language of manifests.
 *
 * Patterns and paths are '/'-separated and relative to the mission root.
 * Matching works segment by segment so that '*', '?' and '[...]' can never
 * cross a '/', and a segment that is exactly "**" matches zero or more whole
 * segments.  A '\' escapes the next character.  Leading dots are not special:
 * hidden entries never reach the matcher because the walker skips them.
 *
 * The matcher is pure (no allocation, no state), so it is safe from any
 * thread.  Recursion depth is bounded by the number of "**" segments in the
 * pattern, which manifests keep small.
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

static int match_from(const char *p, const char *s)
{
    for (;;) {
        const char *pe = seg_end(p);
        if (pe - p == 2 && p[0] == '*' && p[1] == '*') {
            /* "**": skip any number of path segments (zero included). */
            const char *rest = *pe ? pe + 1 : pe;
            if (!*rest)
                return 1;               /* trailing "**" takes everything left */
            for (const char *t = s;;) {
                if (match_from(rest, t))
                    return 1;
                const char *te = seg_end(t);
                if (!*te)
                    return 0;
                t = te + 1;
            }
        }
        const char *se = seg_end(s);
        if (!match_segment(p, pe, s, se))
            return 0;
        if (!*pe || !*se)
            return !*pe && !*se;
        p = pe + 1;
        s = se + 1;
    }
}

int dsr_glob_match(const char *pattern, const char *path)
{
    if (!pattern || !path || !*pattern)
        return 0;
    return match_from(pattern, path);
}

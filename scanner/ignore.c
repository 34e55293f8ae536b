/*
 * ignore.c - parse and match exclusion rules (syntax and precedence in
 * ignore.h).
 *
 * A line becomes a rule in four steps:
 *   1. cut one trailing CR, then trailing spaces not escaped by '\';
 *   2. blank, or '#' first: no rule;
 *   3. '!' first: IGN_NEGATE, and it is taken off; trailing '/'s: IGN_DIR_ONLY,
 *      taken off; a leading '/' is taken off and makes the rule anchored, as
 *      does any '/' left in the middle;
 *   4. what is left is the glob (escapes stay: dsr_glob_match reads them).
 * Example: "!/build/" is an anchored, folder-only, negated rule for "build".
 */
#include "ignore.h"
#include "utf8.h"
#include "dossier/manifest.h"
#include "array.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ignore_init(ignore_set *s)
{
    memset(s, 0, sizeof *s);
}

void ignore_free(ignore_set *s)
{
    free(s->cli.rules);
    free(s->files.rules);
    ar_free(&s->ar);
    memset(s, 0, sizeof *s);
}

static int push_rule(ignore_list *l, const ignore_rule *r)
{
    if (ARRAY_RESERVE1(l->rules, l->n, l->cap, 16))
        return DSR_ENOMEM;
    l->rules[l->n++] = *r;
    return 0;
}

/* Steps 1-3 on [p, p + len): *out_len and the flags of the pattern that
 * starts at *out.  Returns 0 (no rule), 1 (a rule) or -1 (empty pattern). */
static int split_line(const char *p, size_t len, const char **out, size_t *out_len,
                      unsigned *flags)
{
    *flags = 0;
    if (len && p[len - 1] == '\r')
        len--;
    /* a trailing space stays when an odd number of '\' precede it */
    while (len && p[len - 1] == ' ') {
        size_t bs = 0;
        while (bs < len - 1 && p[len - 2 - bs] == '\\')
            bs++;
        if (bs % 2)
            break;
        len--;
    }
    if (!len || p[0] == '#')
        return 0;
    if (p[0] == '!') {
        *flags |= IGN_NEGATE;
        p++;
        len--;
    }
    while (len && p[len - 1] == '/') {
        /* an escaped '/' is still a separator for the glob: no special case */
        *flags |= IGN_DIR_ONLY;
        len--;
    }
    if (len && p[0] == '/') {
        *flags |= IGN_ANCHORED;
        while (len && p[0] == '/') {
            p++;
            len--;
        }
    }
    if (!len)
        return -1;
    if (memchr(p, '/', len))
        *flags |= IGN_ANCHORED;
    *out = p;
    *out_len = len;
    return 1;
}

int ignore_add_cli(ignore_set *s, const char *pattern, dsr_err *err)
{
    const char *p;
    size_t n;
    unsigned flags;
    size_t len = strlen(pattern);
    if (!utf8_check(pattern, len))
        return dsr_err_set(err, DSR_EINVAL, "exclude pattern is not valid UTF-8");
    int k = split_line(pattern, len, &p, &n, &flags);
    if (k == 0)
        return dsr_err_set(err, DSR_EINVAL, "exclude pattern '%s': blank or a comment, "
                           "not a pattern", pattern);
    if (k < 0)
        return dsr_err_set(err, DSR_EINVAL, "exclude pattern '%s': empty once '!' and "
                           "slashes are taken off", pattern);
    ignore_rule r = { ar_strndup(&s->ar, p, n), ar_strdup(&s->ar, "--exclude"), 0, flags };
    if (!r.pat || !r.src || push_rule(&s->cli, &r))
        return dsr_err_set(err, DSR_ENOMEM, "exclude pattern: out of memory");
    return 0;
}

int ignore_parse(ignore_set *s, const char *base, const char *name, const char *text,
                 size_t len, dsr_err *err)
{
    size_t mark = s->files.n, base_len = strlen(base);
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        size_t line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        return dsr_err_set(err, DSR_EINVAL, "%s:%zu: NUL byte in an ignore file", name, line);
    }
    size_t line = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        const char *pat;
        size_t pn;
        unsigned flags;
        int k = 0;
        if (!utf8_check(p, n)) {
            s->files.n = mark;
            return dsr_err_set(err, DSR_EINVAL, "%s:%zu: not valid UTF-8 (names that are "
                               "not UTF-8 are never scanned)", name, line);
        }
        k = split_line(p, n, &pat, &pn, &flags);
        if (k < 0) {
            s->files.n = mark;
            return dsr_err_set(err, DSR_EINVAL, "%s:%zu: empty pattern once '!' and slashes "
                               "are taken off", name, line);
        }
        if (k > 0) {
            char src[64];
            /* the source names the file by its folder: short, and unique */
            int w = snprintf(src, sizeof src, ":%zu", line);
            assert(w > 0 && (size_t)w < sizeof src);
            char *full = ar_stralloc(&s->ar, strlen(name) + (size_t)w + 1);
            ignore_rule r = { ar_strndup(&s->ar, pat, pn), full, base_len, flags };
            if (!r.pat || !full) {
                s->files.n = mark;
                return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", name);
            }
            memcpy(full, name, strlen(name));
            memcpy(full + strlen(name), src, (size_t)w + 1);
            if (push_rule(&s->files, &r)) {
                s->files.n = mark;
                return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", name);
            }
        }
        p += n + (nl != NULL);
    }
    return 0;
}

int ignore_load(ignore_set *s, int dirfd, const char *base, const char *shown, dsr_err *err)
{
    /* O_NONBLOCK: a FIFO planted under the name must not block the open */
    int fd = openat(dirfd, IGNORE_FILE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;           /* gone since the folder was listed: no rules */
        return dsr_err_errno(err, errno == ELOOP ? DSR_EINVAL : DSR_EIO, errno,
                             "%s: cannot open ignore file%s", shown,
                             errno == ELOOP ? " (a symlink: not followed)" : "");
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot stat ignore file", shown);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return dsr_err_set(err, DSR_EINVAL, "%s: ignore file is not a regular file", shown);
    }
    if ((uint64_t)st.st_size > IGNORE_FILE_MAX) {
        close(fd);
        return dsr_err_set(err, DSR_EINVAL, "%s: ignore file of %lld bytes, more than the "
                           "%u allowed", shown, (long long)st.st_size, IGNORE_FILE_MAX);
    }
    /* read up to the cap + 1: a file that grew since fstat is caught too */
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *text = malloc(cap);
    if (!text) {
        close(fd);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", shown);
    }
    for (;;) {
        if (len == cap) {
            if (cap > IGNORE_FILE_MAX) {
                free(text);
                close(fd);
                return dsr_err_set(err, DSR_EINVAL, "%s: ignore file of more than the %u "
                                   "bytes allowed", shown, IGNORE_FILE_MAX);
            }
            size_t nc = cap * 2 > IGNORE_FILE_MAX + 1 ? IGNORE_FILE_MAX + 1 : cap * 2;
            char *p = realloc(text, nc);
            if (!p) {
                free(text);
                close(fd);
                return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", shown);
            }
            text = p;
            cap = nc;
        }
        ssize_t n = read(fd, text + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(text);
            close(fd);
            return dsr_err_errno(err, DSR_EIO, e, "%s: cannot read ignore file", shown);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int rc = ignore_parse(s, base, shown, text, len, err);
    free(text);
    return rc;
}

/* The verdict of list l on rel, a folder when is_dir: the last matching
 * rule's, IGNORE_NONE when none matches. */
static ignore_verdict match_list(const ignore_list *l, const char *rel, int is_dir,
                                 const ignore_rule **rule)
{
    for (size_t i = l->n; i-- > 0;) {
        const ignore_rule *r = &l->rules[i];
        if ((r->flags & IGN_DIR_ONLY) && !is_dir)
            continue;
        /* the walker only keeps rules of folders on rel's path */
        const char *sub = rel;
        if (r->base_len) {
            assert(!memchr(rel, '\0', r->base_len) && rel[r->base_len] == '/');
            sub = rel + r->base_len + 1;
        }
        if (!(r->flags & IGN_ANCHORED)) {
            const char *slash = strrchr(sub, '/');
            if (slash)
                sub = slash + 1;
        }
        if (dsr_glob_match(r->pat, sub)) {
            if (rule)
                *rule = r;
            return r->flags & IGN_NEGATE ? IGNORE_INCLUDED : IGNORE_EXCLUDED;
        }
    }
    return IGNORE_NONE;
}

ignore_verdict ignore_match(const ignore_set *s, const char *rel, int is_dir,
                            const ignore_rule **rule)
{
    if (rule)
        *rule = NULL;
    ignore_verdict v = match_list(&s->cli, rel, is_dir, rule);
    if (v != IGNORE_NONE)
        return v;
    return match_list(&s->files, rel, is_dir, rule);
}

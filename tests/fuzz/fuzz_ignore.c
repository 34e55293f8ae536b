/*
 * fuzz_ignore.c - libFuzzer harness for the ignore-file parser and matcher
 * (scanner/ignore.c: gitignore syntax for .dossierignore and --exclude).
 *
 * Properties checked beyond "no crash, no sanitizer report": a parse
 * either succeeds with rules whose patterns are non-empty, free of the
 * '!' / slash decorations the parser takes off, and whose folder is the
 * one given, or fails with DSR_EINVAL / DSR_ENOMEM, a message naming the
 * file, and no rule kept.  Matching any path is deterministic, and a
 * verdict of "included" always comes from a '!' rule.  The input's last
 * line doubles as a path to match, so paths vary with the rules.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ignore.h"

static const char *const paths[] = {
    "build", "a/b/c.txt", "docs/x.log", "deep/er/still/deeper/file.md", "#lit", "!bang",
    "trail ", "a/b",
};

static void check_verdict(const ignore_set *s, const char *path, int is_dir)
{
    const ignore_rule *r1, *r2;
    ignore_verdict v1 = ignore_match(s, path, is_dir, &r1);
    ignore_verdict v2 = ignore_match(s, path, is_dir, &r2);
    if (v1 != v2 || r1 != r2)
        abort();
    if (v1 == IGNORE_NONE && r1)
        abort();
    if (v1 != IGNORE_NONE && !r1)
        abort();
    if (v1 == IGNORE_INCLUDED && !(r1->flags & IGN_NEGATE))
        abort();
    if (v1 == IGNORE_EXCLUDED && (r1->flags & IGN_NEGATE))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ignore_set s;
    ignore_init(&s);
    dsr_err err;
    dsr_err_clear(&err);
    int rc = ignore_parse(&s, "", "f/.dossierignore", (const char *)data, size, &err);
    if (rc) {
        if ((rc != DSR_EINVAL && rc != DSR_ENOMEM) || s.files.n != 0
            || strncmp(err.msg, "f/.dossierignore", 16) != 0)
            abort();
        ignore_free(&s);
        return 0;
    }
    for (size_t i = 0; i < s.files.n; i++) {
        const ignore_rule *r = &s.files.rules[i];
        size_t n = strlen(r->pat);
        if (!n || r->pat[0] == '/' || r->base_len != 0 || r->flags & ~7u)
            abort();
        /* a trailing '/' was taken off: the pattern ends otherwise */
        if (r->pat[n - 1] == '/')
            abort();
    }
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        check_verdict(&s, paths[i], 0);
        check_verdict(&s, paths[i], 1);
    }
    /* the input's last line as a path (the walker never hands out an empty
     * path, a leading or trailing '/' or a NUL) */
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    const uint8_t *last = data;
    while (nl) {
        last = nl + 1;
        nl = memchr(last, '\n', size - (size_t)(last - data));
    }
    size_t ln = size - (size_t)(last - data);
    if (ln && ln < 4096 && !memchr(last, '\0', ln) && last[0] != '/' && last[ln - 1] != '/') {
        char *p = malloc(ln + 1);
        if (p) {
            memcpy(p, last, ln);
            p[ln] = '\0';
            check_verdict(&s, p, 0);
            check_verdict(&s, p, 1);
            free(p);
        }
    }
    ignore_free(&s);
    return 0;
}

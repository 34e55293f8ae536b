/*
 * classify.c - naming rules for artifacts that the manifest does not name
 * (see classify.h and docs/scanning.md "Artifact keys and classes").
 *
 * Keys must be unique within one scan and stable across scans: they depend
 * only on the file's relative path (and the manifest entry that matched), never
 * on what else is in the folder, so adding a file never renames another one.
 * Manifest keys may not contain ':' (manifest_yaml.c refuses it), which keeps
 * derived keys ("path:...", "<key>:...") disjoint from manifest keys.
 *
 * Class rules are evaluated in order on the lowercased basename and the
 * top-level folder; the first rule that fires wins and "output" is the
 * fallback, so every file gets exactly one class.
 */
#include "classify.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const CLASSES[] = {
    "input", "workflow", "output", "evidence", "policy", "runtime"
};

int classify_class_valid(const char *s, const char **canon)
{
    for (size_t i = 0; i < sizeof CLASSES / sizeof CLASSES[0]; i++)
        if (!strcmp(s, CLASSES[i])) {
            if (canon)
                *canon = CLASSES[i];
            return 1;
        }
    return 0;
}

static const char *basename_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static const char *ext_of(const char *name)
{
    const char *d = strrchr(name, '.');
    return d && d != name ? d : "";
}

/* first path segment equals dir (case-insensitively) and is a folder */
static int top_dir_is(const char *rel, const char *dir)
{
    size_t n = strlen(dir);
    return strncasecmp(rel, dir, n) == 0 && rel[n] == '/';
}

/* any folder on the path (not the file itself) equals dir, case-insensitively */
static int has_dir(const char *rel, const char *dir)
{
    size_t n = strlen(dir);
    const char *s = rel;
    for (;;) {
        const char *e = strchr(s, '/');
        if (!e)
            return 0;
        if ((size_t)(e - s) == n && strncasecmp(s, dir, n) == 0)
            return 1;
        s = e + 1;
    }
}

static int name_is(const char *lname, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(lname, *names))
            return 1;
    return 0;
}

/* 1 when one of the words of lname (split at every non-alphanumeric byte,
 * extension included) is in words.  Word matching, not substring matching,
 * so "latest.txt" is not a test and "catalog.md" is not a log. */
static int has_word(const char *lname, const char *const *words)
{
    const char *s = lname;
    while (*s) {
        while (*s && !isalnum((unsigned char)*s))
            s++;
        const char *e = s;
        while (*e && isalnum((unsigned char)*e))
            e++;
        if (e > s)
            for (const char *const *w = words; *w; w++)
                /* the first byte first: it rules out nearly every word */
                if (**w == *s && strlen(*w) == (size_t)(e - s) && !memcmp(s, *w, (size_t)(e - s)))
                    return 1;
        s = e;
    }
    return 0;
}

const char *classify_path(const char *rel)
{
    char lname[256];
    const char *base = basename_of(rel);
    size_t i = 0;
    for (; base[i] && i < sizeof lname - 1; i++)
        lname[i] = (char)tolower((unsigned char)base[i]);
    lname[i] = '\0';
    char wp[16];

    /* 1. specifications and inputs */
    static const char *const inputs[] = { "spec.md", "specification.md", "requirements.md",
                                          "brief.md", "meta.json", NULL };
    if (name_is(lname, inputs) || top_dir_is(rel, "inputs") || top_dir_is(rel, "input"))
        return "input";
    /* 2. planning and work tracking */
    static const char *const workflow[] = { "plan.md", "tasks.md", "checklist.md",
                                            "roadmap.md", NULL };
    if (name_is(lname, workflow) || classify_wp_id(rel, wp, sizeof wp) ||
        top_dir_is(rel, "tasks") || top_dir_is(rel, "checklists"))
        return "workflow";
    /* 3. governance */
    static const char *const policy[] = { "policy", "policies", "constraint", "constraints",
                                          "compliance", "adr", "license", "governance", NULL };
    if (has_word(lname, policy) || top_dir_is(rel, "policy") || top_dir_is(rel, "decisions") ||
        top_dir_is(rel, "adr"))
        return "policy";
    /* 4. machine-produced, transient data */
    static const char *const runtime[] = { "cache", "generated", "tmp", "lock", "pid", NULL };
    if (has_word(lname, runtime) || top_dir_is(rel, "runtime") || top_dir_is(rel, "tmp") ||
        has_dir(rel, "cache"))
        return "runtime";
    /* 5. supporting evidence: logs, test results, research notes */
    static const char *const evidence[] = { "research.md", "analysis-report.md",
                                            "gap-analysis.md", "data-model.md",
                                            "quickstart.md", NULL };
    static const char *const ev_words[] = { "log", "logs", "test", "tests", "results",
                                            "coverage", "benchmark", "junit", "evidence", NULL };
    if (name_is(lname, evidence) || has_word(lname, ev_words) ||
        top_dir_is(rel, "evidence") || top_dir_is(rel, "research"))
        return "evidence";
    /* 6. everything else is something the mission produced */
    return "output";
}

char *classify_derive_key(arena *ar, const char *rel)
{
    size_t n = strlen(rel);
    char *k = ar_stralloc(ar, n + 6);
    if (!k)
        return NULL;
    memcpy(k, "path:", 5);
    memcpy(k + 5, rel, n + 1);
    return k;
}

int glob_is_pattern(const char *pattern)
{
    return strpbrk(pattern, "*?[\\") != NULL;
}

char *classify_spec_key(arena *ar, const char *spec_key, const char *pattern, const char *rel)
{
    size_t a = strlen(spec_key);
    if (!glob_is_pattern(pattern))
        return ar_strndup(ar, spec_key, a);
    size_t b = strlen(rel);
    char *k = ar_stralloc(ar, a + b + 2);
    if (!k)
        return NULL;
    memcpy(k, spec_key, a);
    k[a] = ':';
    memcpy(k + a + 1, rel, b + 1);
    return k;
}

int classify_wp_id(const char *rel, char *out, size_t n)
{
    const char *base = basename_of(rel);
    /* parent folder must be named "tasks" */
    if (base == rel)
        return 0;
    const char *pend = base - 1;             /* the '/' before base */
    const char *pstart = pend;
    while (pstart > rel && pstart[-1] != '/')
        pstart--;
    if (pend - pstart != 5 || strncasecmp(pstart, "tasks", 5) != 0)
        return 0;
    if (strcasecmp(ext_of(base), ".md") != 0)
        return 0;
    if (toupper((unsigned char)base[0]) != 'W' || toupper((unsigned char)base[1]) != 'P')
        return 0;
    size_t d = 2;
    while (isdigit((unsigned char)base[d]))
        d++;
    if (d < 4)                                /* at least two digits */
        return 0;
    if (base[d] != '-' && base[d] != '.')     /* "WP04-name.md" or "WP04.md" */
        return 0;
    if (base[d] == '.' && strcasecmp(base + d, ".md") != 0)
        return 0;
    if (d + 1 > n)
        return 0;
    out[0] = 'W';
    out[1] = 'P';
    memcpy(out + 2, base + 2, d - 2);
    out[d] = '\0';
    return 1;
}

int classify_is_text(const char *rel)
{
    const char *ext = ext_of(basename_of(rel));
    static const char *const text[] = { ".md", ".txt", ".yaml", ".yml", ".json" };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (!strcasecmp(ext, text[i]))
            return 1;
    return 0;
}

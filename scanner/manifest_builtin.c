/*
 * manifest_builtin.c - the manifests compiled into the library, looked up by
 * profile and mission type: manifests/<type>.yaml for wp04 (generated header
 * builtin_manifests.h) and manifests/spec-kitty-3/<type>.yaml for
 * spec-kitty-3 (builtin_manifests_sk3.h: spec-kitty's current mission types
 * and step names, in our own text).  A built-in file "<type>.yaml" must
 * declare mission_type "<type>" (tests/unit/scanner/test_manifest.c checks
 * every one parses and agrees).
 *
 * The lists of names are derived once from the embedded file names under
 * pthread_once and never change afterwards, so readers need no lock.
 */
#include "dossier/manifest.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "builtin_manifests.h"
#include "builtin_manifests_sk3.h"

#define NAME_MAX_LEN 64

typedef struct table {
    const char *(*name)(size_t i);
    const char *(*text)(size_t i);
    size_t       n;
    char         buf[8][NAME_MAX_LEN];
    const char  *list[9];
    size_t       n_names;
} table;

static const char *wp04_name(size_t i) { return embedded_files[i].name; }
static const char *wp04_text(size_t i) { return embedded_files[i].text; }
static const char *sk3_name(size_t i)  { return embedded_sk3[i].name; }
static const char *sk3_text(size_t i)  { return embedded_sk3[i].text; }

_Static_assert(EMBEDDED_FILES_COUNT <= 8 && EMBEDDED_SK3_COUNT <= 8, "room for the names");

static table tables[2] = {
    [DSR_PROFILE_WP04] = { wp04_name, wp04_text, EMBEDDED_FILES_COUNT, { { 0 } }, { 0 }, 0 },
    [DSR_PROFILE_SPEC_KITTY_3] = { sk3_name, sk3_text, EMBEDDED_SK3_COUNT, { { 0 } }, { 0 }, 0 },
};
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

/* "software-dev.yaml" -> "software-dev" */
static void strip_ext(const char *file, char *out, size_t n)
{
    snprintf(out, n, "%s", file);
    char *dot = strrchr(out, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
        *dot = '\0';
}

static void init_names(void)
{
    for (size_t t = 0; t < 2; t++) {
        table *tb = &tables[t];
        for (size_t i = 0; i < tb->n; i++) {
            strip_ext(tb->name(i), tb->buf[i], NAME_MAX_LEN);
            tb->list[tb->n_names++] = tb->buf[i];
        }
        tb->list[tb->n_names] = NULL;
    }
}

static const table *table_of(dsr_profile p)
{
    pthread_once(&names_once, init_names);
    return p == DSR_PROFILE_SPEC_KITTY_3 ? &tables[DSR_PROFILE_SPEC_KITTY_3]
                                         : &tables[DSR_PROFILE_WP04];
}

const char *const *dsr_manifest_builtin_names_profile(dsr_profile p, size_t *n)
{
    const table *tb = table_of(p);
    if (n)
        *n = tb->n_names;
    return tb->list;
}

const char *const *dsr_manifest_builtin_names(size_t *n)
{
    return dsr_manifest_builtin_names_profile(DSR_PROFILE_WP04, n);
}

int dsr_manifest_load_builtin_profile(dsr_profile p, const char *mission_type,
                                      dsr_manifest **out, dsr_err *err)
{
    *out = NULL;
    if (p != DSR_PROFILE_WP04 && p != DSR_PROFILE_SPEC_KITTY_3)
        return dsr_err_set(err, DSR_EINVAL, "unknown profile %d (known: %s)", (int)p,
                           DSR_PROFILE_NAMES);
    const table *tb = table_of(p);
    for (size_t i = 0; i < tb->n_names; i++) {
        if (strcmp(tb->list[i], mission_type) != 0)
            continue;
        char label[NAME_MAX_LEN + 32];
        snprintf(label, sizeof label, p == DSR_PROFILE_WP04 ? "builtin:%s"
                                                            : "builtin:spec-kitty-3/%s",
                 tb->name(i));
        return dsr_manifest_parse(tb->text(i), strlen(tb->text(i)), label, out, err);
    }
    char known[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < tb->n_names && used < sizeof known; i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", tb->list[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return dsr_err_set(err, DSR_ENOTFOUND, "unknown mission type '%s' (built-in for profile "
                       "%s: %s)", mission_type, dsr_profile_name(p), tb->n_names ? known : "none");
}

int dsr_manifest_load_builtin(const char *mission_type, dsr_manifest **out, dsr_err *err)
{
    *out = NULL;
    const table *tb = table_of(DSR_PROFILE_WP04);
    for (size_t i = 0; i < tb->n_names; i++)
        if (!strcmp(tb->list[i], mission_type))
            return dsr_manifest_load_builtin_profile(DSR_PROFILE_WP04, mission_type, out, err);
    /* the message wp04 callers have always seen */
    char known[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < tb->n_names && used < sizeof known; i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", tb->list[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return dsr_err_set(err, DSR_ENOTFOUND, "unknown mission type '%s' (built-in: %s)",
                       mission_type, tb->n_names ? known : "none");
}

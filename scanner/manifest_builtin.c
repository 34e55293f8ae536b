/*
 * manifest_builtin.c - the manifests compiled into the library from
 * manifests/<type>.yaml (generated header builtin_manifests.h), looked up by
 * mission type.  A built-in file "<type>.yaml" must declare mission_type
 * "<type>" (tests/unit/test_manifest.c checks every one parses and agrees).
 *
 * The list of names is derived once from the embedded file names under
 * pthread_once and never changes afterwards, so readers need no lock.
 */
#include "dossier/manifest.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "builtin_manifests.h"

#define NAME_MAX_LEN 64

static pthread_once_t names_once = PTHREAD_ONCE_INIT;
static char names_buf[EMBEDDED_FILES_COUNT][NAME_MAX_LEN];
static const char *names_list[EMBEDDED_FILES_COUNT + 1];
static size_t names_n;

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
    for (size_t i = 0; i < EMBEDDED_FILES_COUNT; i++) {
        strip_ext(embedded_files[i].name, names_buf[i], NAME_MAX_LEN);
        names_list[names_n++] = names_buf[i];
    }
    names_list[names_n] = NULL;
}

const char *const *dsr_manifest_builtin_names(size_t *n)
{
    pthread_once(&names_once, init_names);
    if (n)
        *n = names_n;
    return names_list;
}

int dsr_manifest_load_builtin(const char *mission_type, dsr_manifest **out, dsr_err *err)
{
    *out = NULL;
    size_t n;
    const char *const *names = dsr_manifest_builtin_names(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], mission_type) != 0)
            continue;
        char label[NAME_MAX_LEN + 16];
        snprintf(label, sizeof label, "builtin:%s", embedded_files[i].name);
        return dsr_manifest_parse(embedded_files[i].text, strlen(embedded_files[i].text),
                                  label, out, err);
    }
    char known[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof known; i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return dsr_err_set(err, DSR_ENOTFOUND, "unknown mission type '%s' (built-in: %s)",
                       mission_type, n ? known : "none");
}

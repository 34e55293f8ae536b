/*
 * fuzz_manifest.c - libFuzzer harness for the manifest parser
 * (dsr_manifest_parse: YAML through libyaml, then the manifest rules).
 *
 * Properties checked beyond "no crash, no sanitizer report": a parse either
 * succeeds with a manifest whose every entry has a key, a known class and a
 * safe pattern, or fails with DSR_EMANIFEST / DSR_ENOMEM and a message.
 * The hostile_* seeds are issue 17 item 11's cases, scaled down: deep
 * nesting, many "**" in a pattern, duplicates among many entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/manifest.h"

static const char *const classes[] = { "input", "workflow", "output", "evidence", "policy",
                                       "runtime" };

/* "a/a/.../a/b", 100 segments. */
static const char *deep_path(void)
{
    static char p[201];
    if (!p[0]) {
        for (int i = 0; i < 99; i++)
            memcpy(p + 2 * i, "a/", 2);
        p[198] = 'b';
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsr_manifest *m = NULL;
    dsr_err err = { 0 };
    int rc = dsr_manifest_parse((const char *)data, size, "fuzz", &m, &err);
    if (rc) {
        if ((rc != DSR_EMANIFEST && rc != DSR_ENOMEM) || !err.msg[0] || m)
            abort();
        return 0;
    }
    if (!m || !dsr_manifest_mission_type(m) || !dsr_manifest_version(m))
        abort();
    for (size_t i = 0; i < dsr_manifest_spec_count(m); i++) {
        const dsr_manifest_spec *s = dsr_manifest_spec_at(m, i);
        if (!s || !s->artifact_key || !*s->artifact_key || !s->path_pattern
            || !*s->path_pattern || s->path_pattern[0] == '/' || strchr(s->artifact_key, ':'))
            abort();
        int known = 0;
        for (size_t c = 0; c < sizeof classes / sizeof *classes; c++)
            known |= s->artifact_class && !strcmp(s->artifact_class, classes[c]);
        if (!known)
            abort();
        /* the glob matcher must cope with whatever pattern was accepted,
         * also against a deep path (many "**" once backtracked for ever) */
        (void)dsr_glob_match(s->path_pattern, "a/b/c.md");
        (void)dsr_glob_match(s->path_pattern, deep_path());
    }
    for (size_t i = 0; i < dsr_manifest_step_count(m); i++)
        if (!dsr_manifest_has_step(m, dsr_manifest_step_at(m, i)))
            abort();
    dsr_manifest_free(m);
    return 0;
}

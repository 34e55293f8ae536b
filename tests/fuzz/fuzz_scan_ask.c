/*
 * fuzz_scan_ask.c - libFuzzer harness for the request a scan sends to the
 * watcher that holds its log (cli/scan_ask.c), which the watcher parses.
 *
 * Properties checked beyond "no crash, no sanitizer report": a parse either
 * fails, or succeeds with every string it returns lying inside the request
 * (NUL-ended there), the mission and display path set, at most
 * CLI_ASK_EXCLUDES_MAX excludes, a full emission asked exactly when the
 * version field is CLI_ASK_VERSION_FULL (or CLI_ASK_VERSION_MORE with
 * "emit=full"), a delivery (--deliver or one endpoint, never both) or
 * every file read (--rehash or --verify-cache) only when it is
 * CLI_ASK_VERSION_MORE, which asks for one of them at least; parsing twice
 * gives the same; and the
 * comparison with a fixed watcher's settings is deterministic, naming an
 * option of the scan's command line when the request differs.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scan_ask.h"

/* What cli_common.c provides the CLI: the request's parser needs neither,
 * its builder (not fuzzed) reads both. */
cli_settings cli_cfg;
int cli_use_color(FILE *f)
{
    (void)f;
    return 0;
}

static int inside(const char *p, const char *buf, size_t n)
{
    return !p || (p >= buf && p < buf + n && memchr(p, '\0', (size_t)(buf + n - p)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    cli_scan_ask a, b;
    int rc = cli_scan_ask_parse(buf, size, &a);
    if (rc != cli_scan_ask_parse(buf, size, &b))
        abort();
    if (rc) {
        free(buf);
        return 0;
    }
    if (memcmp(&a, &b, sizeof a) || !a.mission || !a.arg
        || a.n_excludes > CLI_ASK_EXCLUDES_MAX)
        abort();
    /* the version (the first string, NUL-ended: parsed) decides the
     * emission and what more is asked: version 3 names its emission and at
     * least one of a delivery (every endpoint or one, not both) and a way
     * of reading the files; the others ask for neither */
    static const char full[] = "dossier-scan=" CLI_ASK_VERSION_FULL;
    static const char more[] = "dossier-scan=" CLI_ASK_VERSION_MORE;
    if (!strcmp(buf, more)) {
        int emit_full = 0;
        for (const char *p = buf; p < buf + size; p += strlen(p) + 1)
            emit_full |= !strcmp(p, "emit=full");
        if (a.emit_full != emit_full || (a.deliver && a.endpoint)
            || (a.endpoint && !*a.endpoint)
            || (a.rehash != 0 && a.rehash != CLI_ASK_REHASH && a.rehash != CLI_ASK_VERIFY_CACHE)
            || (!a.deliver && !a.endpoint && !a.rehash))
            abort();
    } else if (a.emit_full != !strcmp(buf, full) || a.deliver || a.endpoint || a.rehash) {
        abort();
    }
    const char *strs[] = { a.mission, a.arg, a.manifest, a.mission_type, a.step, a.feature,
                           a.branch, a.profile, a.endpoint };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!inside(strs[i], buf, size))
            abort();
    for (size_t i = 0; i < a.n_excludes; i++)
        if (!inside(a.excludes[i], buf, size))
            abort();
    static const char *const ex[] = { "*.tmp", "build/" };
    cli_scan_opts w;
    memset(&w, 0, sizeof w);
    w.mission_type = "software-dev";
    w.step = "plan";
    w.excludes = (const char **)ex;
    w.n_excludes = 2;
    w.given = DSR_SETTING_EXCLUDES;
    const char *m1 = cli_scan_ask_mismatch(&a, &w, "/m");
    const char *m2 = cli_scan_ask_mismatch(&a, &w, "/m");
    if (m1 != m2 || (m1 && strcmp(m1, "MISSION_DIR") && strncmp(m1, "--", 2)))
        abort();
    free(buf);
    return 0;
}

/*
 * scan_opts.c - manifest selection shared by `dossier index` and `dossier scan`:
 * --manifest FILE wins over --mission-type T; neither means no manifest
 * (completeness "unknown", nothing required).
 */
#include "scan_opts.h"
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_parse_jobs(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > 1024)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cli_parse_profile(const char *cmd, const char *s, dsr_profile *out)
{
    if (dsr_profile_parse(s, out) != 0)
        return cli_usage(cmd, "--profile: unknown profile '%s' (known: %s)", s, DSR_PROFILE_NAMES);
    return DSR_EXIT_OK;
}

int cli_parse_size(const char *s, uint64_t *out)
{
    static const struct { const char *unit; unsigned shift; } units[] = {
        { "", 0 }, { "k", 10 }, { "kib", 10 }, { "m", 20 }, { "mib", 20 },
        { "g", 30 }, { "gib", 30 }, { "t", 40 }, { "tib", 40 },
    };
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v == 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) != 0)
            continue;
        if (v > (UINT64_MAX >> units[i].shift))
            return -1;
        *out = (uint64_t)v << units[i].shift;
        return 0;
    }
    return -1;
}

int cli_scan_load_manifest(cli_scan_opts *o, const char *cmd)
{
    dsr_err err;
    dsr_err_clear(&err);
    int rc = 0;
    if (o->manifest_path && o->mission_type)
        return cli_usage(cmd, "--manifest and --mission-type are mutually exclusive");
    if (o->manifest_path)
        rc = dsr_manifest_load_file(o->manifest_path, &o->manifest, &err);
    else if (o->mission_type)
        rc = o->profile == DSR_PROFILE_WP04
             ? dsr_manifest_load_builtin(o->mission_type, &o->manifest, &err)
             : dsr_manifest_load_builtin_profile(o->profile, o->mission_type, &o->manifest, &err);
    if (rc) {
        cli_error(NULL, "%s", err.msg);
        /* an unreadable manifest file is an I/O problem; anything else is usage */
        return rc == DSR_EIO ? DSR_EXIT_IO : DSR_EXIT_USAGE;
    }
    if (o->step && !o->manifest)
        return cli_usage(cmd, "--step needs a manifest (--manifest or --mission-type)");
    if (o->step && !dsr_manifest_has_step(o->manifest, o->step)) {
        cli_error(NULL, "manifest %s has no step '%s' in required_by_step",
                  dsr_manifest_mission_type(o->manifest), o->step);
        return DSR_EXIT_USAGE;
    }
    return DSR_EXIT_OK;
}

int cli_scan_add_exclude(cli_scan_opts *o, const char *pattern, const char *cmd)
{
    if (!*pattern)
        return cli_usage(cmd, "--exclude: the pattern may not be empty");
    const char **p = realloc(o->excludes, (o->n_excludes + 1) * sizeof *p);
    if (!p) {
        cli_error(cmd, "out of memory");
        return DSR_EXIT_IO;
    }
    o->excludes = p;
    o->excludes[o->n_excludes++] = pattern;
    return DSR_EXIT_OK;
}

void cli_scan_opts_free(cli_scan_opts *o)
{
    free(o->excludes);
    o->excludes = NULL;
    o->n_excludes = 0;
    dsr_manifest_free(o->manifest);
    o->manifest = NULL;
}

void cli_report_skipped(const char *cmd, const dsr_scan_result *r, int list_all)
{
    size_t shown = list_all ? r->n_warnings
                 : r->n_warnings < CLI_SKIPPED_SAMPLE ? r->n_warnings : CLI_SKIPPED_SAMPLE;
    for (size_t i = 0; i < shown; i++)
        cli_warn(cmd, "warning: %s: %s", cli_safe(r->warnings[i].path), r->warnings[i].message);
    if (shown < r->n_warnings)
        cli_warn(cmd, "... and %zu more skipped entr%s (--list-skipped lists them all)",
                 r->n_warnings - shown, r->n_warnings - shown == 1 ? "y" : "ies");
}

void cli_apply_verbosity(int quiet, int verbose)
{
    if (quiet)
        cli_cfg.level = CLI_LEVEL_ERROR;
    while (verbose-- > 0 && cli_cfg.level < CLI_LEVEL_DEBUG)
        cli_cfg.level++;
}

int cli_plain_io(void)
{
    const char *v = getenv("DOSSIER_IO_URING");
    return v && (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no"));
}

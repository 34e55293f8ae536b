/*
 * scan_opts.c - the options index, scan and watch share (scan_opts.h): one
 * table, one handler, and for scan and watch the remembered settings.
 * --manifest FILE and --mission-type T exclude each other; neither (and none
 * remembered) means no manifest (completeness "unknown", nothing required).
 */
#include "scan_opts.h"
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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

/* ---- the shared option table ------------------------------------------ */

int cli_scan_opt(cli_scan_opts *o, const char *cmd, int ch, const char *arg, int *rc)
{
    *rc = DSR_EXIT_OK;
    switch (ch) {
    case CLI_SO_MANIFEST:
        o->manifest_path = arg;
        o->given |= DSR_SETTING_MANIFEST;
        break;
    case CLI_SO_MISSION_TYPE:
        o->mission_type = arg;
        o->given |= DSR_SETTING_MANIFEST;
        break;
    case CLI_SO_STEP:
        o->step = arg;
        o->given |= DSR_SETTING_STEP;
        break;
    case CLI_SO_FEATURE:
        o->feature = arg;
        break;
    case CLI_SO_JOBS:
        if (cli_parse_jobs(arg, &o->jobs))
            *rc = cli_usage(cmd, "--jobs takes a number from 1 to 1024, not '%s'", arg);
        break;
    case CLI_SO_MAX_SIZE:
        if (cli_parse_size(arg, &o->max_file_size))
            *rc = cli_usage(cmd, "--max-file-size: '%s' is not a size (bytes, or a number "
                            "with K, M, G or T)", arg);
        break;
    case CLI_SO_EXCLUDE:
        *rc = cli_scan_add_exclude(o, arg, cmd);
        o->given |= DSR_SETTING_EXCLUDES;
        break;
    case CLI_SO_PROFILE:
        *rc = cli_parse_profile(cmd, arg, &o->profile);
        o->given |= DSR_SETTING_PROFILE;
        break;
    case CLI_SO_LIST_SKIPPED: o->list_skipped = 1; break;
    case CLI_SO_LOG:          o->log_opt = arg; break;
    case CLI_SO_BRANCH:       o->branch = arg; break;
    case CLI_SO_WAIT:         o->wait = 1; break;
    case CLI_SO_DELIVER:      o->deliver = 1; break;
    case CLI_SO_ENDPOINT:
        if (!*arg)
            *rc = cli_usage(cmd, "--endpoint: the name may not be empty");
        o->endpoint = arg;
        break;
    case CLI_SO_RESET:        o->reset_settings = 1; break;
    default:
        return 0;
    }
    return 1;
}

int cli_scan_operand(cli_scan_opts *o, const char *cmd, int argc, char **argv)
{
    if (optind != argc - 1)
        return cli_usage(cmd, optind >= argc ? "missing MISSION_DIR"
                                             : "exactly one MISSION_DIR is expected");
    o->mission_dir = argv[optind];
    if (o->feature && !*o->feature)
        return cli_usage(cmd, "--feature: the slug may not be empty");
    if (o->deliver && o->endpoint)
        return cli_usage(cmd, "--deliver (every saved endpoint) and --endpoint NAME (one) "
                         "are mutually exclusive");
    return DSR_EXIT_OK;
}

/* ---- scan and watch: remembered settings -------------------------------- */

/* 1 when name is a built-in mission type of some profile. */
static int builtin_known(const char *name)
{
    const dsr_profile all[] = { DSR_PROFILE_WP04, DSR_PROFILE_SPEC_KITTY_3 };
    for (size_t p = 0; p < sizeof all / sizeof all[0]; p++) {
        size_t n;
        const char *const *names = dsr_manifest_builtin_names_profile(all[p], &n);
        for (size_t i = 0; names && i < n; i++)
            if (!strcmp(names[i], name))
                return 1;
    }
    return 0;
}

/* --step given without a manifest applies to the remembered one.  None can
 * be remembered with --reset-settings, nor before the log folder exists (the
 * feature's first scan): refused here, before the library creates that
 * folder, so the mistake leaves nothing behind. */
static int check_step_has_manifest(const cli_scan_opts *o, const char *cmd)
{
    if (!o->step || o->manifest_path || o->mission_type)
        return DSR_EXIT_OK;
    if (o->reset_settings)
        return cli_usage(cmd, "--step needs a manifest (--manifest or --mission-type): "
                         "--reset-settings leaves the remembered one out");
    char dir[4200];
    struct stat st;
    if (stat(cli_log_dir(o->log_opt, o->mission_dir, dir, sizeof dir), &st) != 0
        && errno == ENOENT)
        return cli_usage(cmd, "--step needs a manifest (--manifest or --mission-type): "
                         "none is remembered, there is no log at %s yet", cli_safe(dir));
    return DSR_EXIT_OK;
}

int cli_scan_check_given(cli_scan_opts *o, const char *cmd)
{
    if (o->manifest_path && o->mission_type)
        return cli_usage(cmd, "--manifest and --mission-type are mutually exclusive");
    int rc = check_step_has_manifest(o, cmd);
    if (rc != DSR_EXIT_OK)
        return rc;
    if (o->mission_type && !builtin_known(o->mission_type)) {
        /* the library's message names the types of the profile */
        dsr_manifest *m = NULL;
        dsr_err err;
        dsr_err_clear(&err);
        if (dsr_manifest_load_builtin_profile(o->profile, o->mission_type, &m, &err) == 0) {
            dsr_manifest_free(m);
            return DSR_EXIT_OK;
        }
        cli_error(NULL, "%s", err.msg);
        return DSR_EXIT_USAGE;
    }
    if (!o->manifest_path)
        return DSR_EXIT_OK;
    dsr_err err;
    dsr_err_clear(&err);
    rc = dsr_manifest_load_file(o->manifest_path, &o->manifest, &err);
    if (rc) {
        cli_error(NULL, "%s", err.msg);
        return rc == DSR_EIO ? DSR_EXIT_IO : DSR_EXIT_USAGE;
    }
    if (o->step && !dsr_manifest_has_step(o->manifest, o->step)) {
        cli_error(NULL, "manifest %s has no step '%s' in required_by_step",
                  dsr_manifest_mission_type(o->manifest), o->step);
        return DSR_EXIT_USAGE;
    }
    return DSR_EXIT_OK;
}

void cli_scan_ingest_opts(const cli_scan_opts *o, dsr_ingest_opts *io)
{
    io->root = o->mission_dir;
    io->manifest = o->manifest;
    io->mission_type = o->manifest ? NULL : o->mission_type;
    io->step_id = o->step;
    io->feature_slug = o->feature;
    io->jobs = o->jobs;
    io->max_file_size = o->max_file_size;
    io->excludes = o->excludes;
    io->n_excludes = o->n_excludes;
    io->profile = o->profile;
    io->target_branch = o->branch;
    io->given = o->reset_settings ? DSR_SETTING_ALL : o->given;
    io->deliver_endpoint = o->endpoint;
    /* --log, then a global --log before the command, then $DOSSIER_LOG: all
     * explicit.  Else the library's default, MISSION_DIR/.dossier, which it
     * refuses to follow when a symlink. */
    const char *log = o->log_opt && *o->log_opt ? o->log_opt : cli_cfg.log_opt;
    const char *env_log = getenv("DOSSIER_LOG");
    io->log_dir = log && *log ? log : env_log && *env_log ? env_log : NULL;
    io->flags |= DSR_INGEST_REMEMBER | (o->wait ? DSR_INGEST_WAIT : 0)
               | (cli_plain_io() ? DSR_INGEST_PLAIN_IO : 0)
               | (o->deliver ? DSR_INGEST_DELIVER_ALL : 0);
}

const char *cli_settings_manifest(const dsr_scan_settings *s)
{
    static char buf[4200];
    if (!s->mission_type)
        return "none";
    if (!s->manifest_path)
        return s->mission_type;
    snprintf(buf, sizeof buf, "%s (mission type %s)", cli_safe(s->manifest_path),
             cli_safe(s->mission_type));
    return buf;
}

/* The value of one setting of s as shown ("plan", "'a' 'b'", "none"),
 * appended to f. */
static void put_value(FILE *f, const dsr_scan_settings *s, dsr_setting which)
{
    switch (which) {
    case DSR_SETTING_MANIFEST:
        fputs(cli_settings_manifest(s), f);
        break;
    case DSR_SETTING_STEP:
        fputs(s->step_id ? cli_safe(s->step_id) : "none", f);
        break;
    case DSR_SETTING_PROFILE:
        fputs(dsr_profile_name(s->profile), f);
        break;
    case DSR_SETTING_EXCLUDES:
        for (size_t i = 0; i < s->n_excludes; i++)
            fprintf(f, "%s'%s'", i ? " " : "", cli_safe(s->excludes[i]));
        if (!s->n_excludes)
            fputs("none", f);
        break;
    }
}

/* 1 when the setting of s is not the default (none, wp04). */
static int not_default(const dsr_scan_settings *s, dsr_setting which)
{
    switch (which) {
    case DSR_SETTING_MANIFEST: return s->mission_type != NULL;
    case DSR_SETTING_STEP:     return s->step_id != NULL;
    case DSR_SETTING_PROFILE:  return s->profile != DSR_PROFILE_WP04;
    case DSR_SETTING_EXCLUDES: return s->n_excludes > 0;
    }
    return 0;
}

static const dsr_setting setting_order[] = {
    DSR_SETTING_MANIFEST, DSR_SETTING_STEP, DSR_SETTING_PROFILE, DSR_SETTING_EXCLUDES
};

void cli_scan_settings_notes(const char *cmd, const dsr_ingest_report *rep)
{
    const dsr_scan_settings *mem = rep->remembered, *now = rep->settings;
    if (!mem || !now)
        return;
    char *text = NULL;
    size_t len = 0;
    FILE *m;
    if (rep->changed && (m = open_memstream(&text, &len))) {
        int first = 1;
        for (size_t i = 0; i < sizeof setting_order / sizeof setting_order[0]; i++) {
            dsr_setting b = setting_order[i];
            if (!(rep->changed & b))
                continue;
            fprintf(m, "%s%s ", first ? "" : "; ", dsr_setting_name(b));
            first = 0;
            put_value(m, mem, b);
            fputs(" -> ", m);
            put_value(m, now, b);
        }
        if (fclose(m) == 0 && text)
            cli_warn(cmd, "note: settings changed from the feature's last scan (%s): %s; "
                     "later scans reuse the new ones", mem->run_id ? mem->run_id : "-", text);
        free(text);
        text = NULL;
    }
    if (rep->manifest_changed)
        cli_warn(cmd, "note: manifest %s changed since the feature's last scan (content "
                 "sha256 %.12s... -> %.12s...)", cli_safe(now->manifest_path),
                 mem->manifest_sha256 ? mem->manifest_sha256 : "-",
                 now->manifest_sha256 ? now->manifest_sha256 : "-");
    if (rep->reused && (m = open_memstream(&text, &len))) {
        int first = 1;
        for (size_t i = 0; i < sizeof setting_order / sizeof setting_order[0]; i++) {
            dsr_setting b = setting_order[i];
            if (!(rep->reused & b) || !not_default(now, b))
                continue;
            fprintf(m, "%s%s ", first ? "" : ", ", dsr_setting_name(b));
            first = 0;
            put_value(m, now, b);
        }
        if (fclose(m) == 0 && text && *text)
            cli_info(cmd, "reusing the settings of the feature's last scan (%s): %s",
                     mem->run_id ? mem->run_id : "-", text);
        free(text);
    }
}

int cli_scan_settings_fail(const char *cmd, const dsr_err *err)
{
    cli_error(NULL, "%s ('dossier %s --reset-settings' scans with only the settings given; "
              "'dossier status' shows the remembered ones)", err->msg, cmd);
    return err->code == DSR_EIO ? DSR_EXIT_IO
         : err->code == DSR_ENOMEM || err->code == DSR_ECORRUPT ? DSR_EXIT_IO : DSR_EXIT_USAGE;
}

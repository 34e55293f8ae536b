/*
 * cli_proj.c - shared by the projection commands: opening the log with the
 * projections caught up, choosing a feature, JSON strings.  See cli_proj.h.
 *
 * Why read commands catch up: a log filled by `dossier import` of an older
 * version, or a scan killed between its last commit and its catch-up, has
 * events the projections have not folded yet; catching up first makes the
 * report describe the whole log.  When a writer (a running scan) holds the
 * lock, the report is made from the committed state instead and says so.
 *
 * Most of the time there is nothing to catch up (every scan folds its own
 * run), so a read command first opens the log read-only, which spares a
 * writer's open (its OPTIONS file, MANIFEST and syncs): that handle is used
 * when every projection has folded the whole log and the log is whole
 * (DSR_LOG_INTACT: a damaged or cut write-ahead log is then reported by the
 * writer's open, as before).  Otherwise the command goes on as above.
 */
#include "cli_proj.h"
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/replay.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when every projection has folded every event of log. */
static int folded(dsr_log *log)
{
    for (size_t i = 0; i < dsr_replay_projection_count(); i++) {
        uint64_t ck = 0;
        dsr_err cerr = { 0 };
        if (dsr_replay_checkpoint(log, dsr_replay_projection_name(i), &ck, &cerr) ||
            ck < dsr_log_head(log))
            return 0;
    }
    return 1;
}

int cli_proj_open(const char *cmd, const char *log_opt, const char *mission_dir,
                  int want_writer, dsr_log **out, int *stale)
{
    char dir[4096];
    cli_log_dir(log_opt, mission_dir, dir, sizeof dir);
    dsr_err err = { 0 };
    dsr_log *log = NULL;
    *out = NULL;
    if (stale)
        *stale = 0;
    /* Read-first: any failure here (no log, a damaged one, ...) is left to
     * the open below to report. */
    if (!want_writer &&
        !dsr_log_open(&log, dir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE | DSR_LOG_INTACT, &err)) {
        if (folded(log)) {
            *out = log;
            return DSR_EXIT_OK;
        }
        dsr_log_close(log);
        log = NULL;
    }
    err = (dsr_err){ 0 };
    unsigned flags = DSR_LOG_NOCREATE | (want_writer ? DSR_LOG_WAIT : 0);
    int rc = dsr_log_open(&log, dir, flags, &err);
    /* Locked by a writer, or not writable by us: read what is committed. */
    if (rc && rc != DSR_ENOTFOUND && rc != DSR_ECORRUPT && !want_writer) {
        rc = dsr_log_open(&log, dir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE, &err);
        /* Stale only when the projections have not folded every committed
         * event: another reader catching up holds the lock just as a
         * writer does, and then the state shown is current. */
        if (!rc && stale && !folded(log))
            *stale = 1;
        if (!rc) {
            *out = log;
            return DSR_EXIT_OK;
        }
    }
    if (rc == DSR_ENOTFOUND) {
        if (*cli_log_searched())
            cli_error(cmd, "no event log found: no .dossier folder in %s (" CLI_NO_LOG_HINT
                      ", or name the mission folder)", cli_log_searched());
        else
            cli_error(cmd, "%s: no event log here (" CLI_NO_LOG_HINT ")", dir);
        return DSR_EXIT_IO;
    }
    if (rc)
        return cli_fail(&err, cmd);
    if ((rc = dsr_replay_catch_up(log, NULL, &err))) {
        dsr_log_close(log);
        return cli_fail(&err, cmd);
    }
    *out = log;
    return DSR_EXIT_OK;
}

void cli_json_changes(const char *name, const dsr_drift_change *v, size_t n)
{
    printf(",\"%s\":[", name);
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"artifact_key\":", i ? "," : "");
        cli_json_fputs(stdout, v[i].artifact_key);
        printf(",\"relative_path\":");
        cli_json_fputs(stdout, v[i].relative_path);
        printf(",\"old_sha256\":");
        cli_json_fputs(stdout, v[i].old_sha256[0] ? v[i].old_sha256 : NULL);
        printf(",\"new_sha256\":");
        cli_json_fputs(stdout, v[i].new_sha256[0] ? v[i].new_sha256 : NULL);
        printf(",\"required_status\":\"%s\"}", v[i].required ? "required" : "optional");
    }
    putchar(']');
}

int cli_proj_open_feature(const char *cmd, const char *log_opt, const char *mission_dir,
                          const char *feature_opt, int no_feature, dsr_log **log,
                          char **feature, int *stale)
{
    *feature = NULL;
    int code = cli_proj_open(cmd, log_opt, mission_dir, 0, log, stale);
    if (!code && !no_feature)
        code = cli_proj_feature(cmd, *log, feature_opt, 0, feature);
    if (code && *log) {
        dsr_log_close(*log);
        *log = NULL;
    }
    return code;
}

int cli_proj_flush(const char *cmd)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    cli_error(cmd, "cannot write the output");
    return DSR_EXIT_IO;
}

void cli_proj_stale_note(const char *cmd)
{
    cli_warn(cmd, "note: another process is writing the log; showing the state as last "
             "committed");
}

int cli_proj_feature(const char *cmd, dsr_log *log, const char *opt, int allow_all,
                     char **feature)
{
    dsr_err err = { 0 };
    char **v = NULL;
    size_t n = 0;
    *feature = NULL;
    if (dsr_replay_features(log, &v, &n, &err))
        return cli_fail(&err, cmd);
    int code = DSR_EXIT_OK;
    if (opt) {
        size_t i = 0;
        while (i < n && strcmp(v[i], opt))
            i++;
        if (i == n) {
            cli_error(cmd, "feature '%s' has no snapshot in %s", opt, dsr_log_dir(log));
            code = DSR_EXIT_INCOMPLETE;
        } else if (!(*feature = strdup(opt))) {
            cli_error(cmd, "out of memory");
            code = DSR_EXIT_IO;
        }
    } else if (n == 0) {
        cli_error(cmd, "the log %s holds no completed scan yet (run 'dossier scan')",
                  dsr_log_dir(log));
        code = DSR_EXIT_INCOMPLETE;
    } else if (n == 1) {
        if (!(*feature = strdup(v[0]))) {
            cli_error(cmd, "out of memory");
            code = DSR_EXIT_IO;
        }
    } else if (!allow_all) {
        /* one line, the features named in it */
        dsr_buf names = DSR_BUF_INIT;
        for (size_t i = 0; i < n; i++)
            dsr_buf_printf(&names, "%s%s", i ? ", " : "", v[i]);
        code = cli_usage(cmd, "the log holds %zu features (%s): choose one with --feature", n,
                         names.data ? names.data : "");
        dsr_buf_free(&names);
    }
    dsr_replay_strv_free(v, n);
    return code;
}

void cli_json_fputs(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

int cli_proj_parse_report(int argc, char **argv, const char *cmd, const char *usage_text,
                          cli_report_opts *o)
{
    enum { OPT_LOG = 256, OPT_FEATURE, OPT_JSON, OPT_PROFILE };
    static const struct option longopts[] = {
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "json", no_argument, NULL, OPT_JSON },
        { "log", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    memset(o, 0, sizeof *o);
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "h", longopts)) != -1) {
        switch (ch) {
        case OPT_FEATURE: o->feature_opt = optarg; break;
        case OPT_JSON:    o->json = 1; break;
        case OPT_LOG:     o->log_opt = optarg; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &o->profile) != 0)
                return cli_usage(cmd, "--profile: unknown profile '%s' (known: %s)", optarg,
                                 DSR_PROFILE_NAMES);
            o->has_profile = 1;
            break;
        case 'h':         fputs(usage_text, stdout); return -1;
        default:
            return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        o->mission_dir = argv[optind++];
    if (optind != argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

int cli_proj_check_profile(const char *cmd, const char *feature, dsr_profile got,
                           int has_profile, dsr_profile want)
{
    if (!has_profile || got == want)
        return 0;
    cli_error(cmd, "the latest snapshot of '%s' was scanned with profile %s, not %s: its hashes "
              "follow other rules (rescan with 'dossier scan --profile %s')", cli_safe(feature),
              dsr_profile_name(got), dsr_profile_name(want), dsr_profile_name(want));
    return 1;
}

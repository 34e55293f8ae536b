/*
 * cmd_log.c - `dossier log`: the history of a feature's snapshots, newest
 * first, with the accepted baseline marked, like `git log` for the mission.
 */
#include "cli.h"
#include "cli_proj.h"
#include "cli_report.h"
#include "dossier/replay.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier log [--feature SLUG] [-n N] [--json] [--log DIR] [MISSION_DIR]\n"
"\n"
"List the snapshots of a feature, newest first: when the scan completed, its\n"
"run id and emission mode, completeness, how many artifacts were present and\n"
"how many required ones were missing, the parity hash, and which snapshot is\n"
"the accepted baseline.  Compare two of them with 'dossier diff FROM TO'.\n"
"\n"
"Options:\n"
"  --feature SLUG   the feature; may be left out when the log holds one feature\n"
"  -n N             show the N newest snapshots only\n"
"  --json           print one JSON object instead of text (schema:\n"
"                   schemas/reports/log.schema.json; names: docs/reports.md)\n"
"  --log DIR        event log folder (default: $DOSSIER_LOG, else the nearest\n"
"                   .dossier folder here or above, as git finds .git)\n"
"  -h, --help       show this help\n"
"\n"
"Exit status:\n"
"  0  the history was shown\n"
"  1  the feature has no snapshot yet\n"
"  2  usage error (also: several features and no --feature)\n"
"  3  the log cannot be opened or read\n"
"\n"
"Examples:\n"
"  dossier log -n 5\n"
"  dossier log --json | jq -r '.snapshots[] | select(.is_baseline) | .snapshot_id'\n";

enum { OPT_LOG = 256, OPT_FEATURE, OPT_JSON };

static void print_json(const char *feature, dsr_snapshot_info **v, size_t n,
                       const char *baseline)
{
    printf("{\"feature_slug\":");
    cli_json_fputs(stdout, feature);
    printf(",\"snapshots\":[");
    for (size_t i = 0; i < n; i++) {
        const dsr_snapshot_info *s = v[i];
        printf("%s{\"snapshot_id\":", i ? "," : "");
        cli_json_fputs(stdout, s->snapshot_id);
        printf(",\"timestamp\":");
        cli_json_fputs(stdout, s->timestamp);
        printf(",\"run_id\":");
        cli_json_fputs(stdout, s->run_id);
        printf(",\"emit_mode\":");
        cli_json_fputs(stdout, s->emit_mode);
        printf(",\"scan_seq\":%llu,\"completeness_status\":", (unsigned long long)s->scan_seq);
        cli_json_fputs(stdout, s->completeness_status);
        cli_counts c = cli_counts_of_snapshot(s);
        putchar(',');
        cli_counts_json(&c);
        printf(",\"parity_hash_sha256\":\"%s\",\"is_baseline\":%s}", s->parity_hash_sha256,
               baseline && !strcmp(baseline, s->snapshot_id) ? "true" : "false");
    }
    printf("]}\n");
}

static void print_text(dsr_snapshot_info **v, size_t n, const char *baseline)
{
    int wts = 9, wrun = 3;   /* "COMPLETED", "RUN" */
    for (size_t i = 0; i < n; i++) {
        int t = v[i]->timestamp ? (int)strlen(v[i]->timestamp) : 1;
        int r = v[i]->run_id ? (int)strlen(v[i]->run_id) : 1;
        wts = t > wts ? t : wts;
        wrun = r > wrun ? r : wrun;
    }
    printf("%-26s  %-*s  %-*s  %-7s  %-12s  %7s  %7s  %s\n", "SNAPSHOT", wts, "COMPLETED",
           wrun, "RUN", "MODE", "COMPLETENESS", "PRESENT", "MISSING", "PARITY");
    for (size_t i = 0; i < n; i++) {
        const dsr_snapshot_info *s = v[i];
        cli_counts c = cli_counts_of_snapshot(s);
        printf("%-26s  %-*s  %-*s  %-7s  %-12s  %7lld  %7lld  %.12s%s\n", s->snapshot_id, wts,
               s->timestamp ? s->timestamp : "-", wrun, s->run_id ? s->run_id : "-",
               s->emit_mode ? s->emit_mode : "-", s->completeness_status, (long long)c.present,
               (long long)c.required_missing, s->parity_hash_sha256,
               baseline && !strcmp(baseline, s->snapshot_id) ? "  baseline" : "");
    }
}

int cmd_log(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "json", no_argument, NULL, OPT_JSON },
        { "log", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_opt = NULL, *feature_opt = NULL;
    int json = 0, ch;
    size_t limit = 0;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "hn:", longopts)) != -1) {
        switch (ch) {
        case OPT_FEATURE: feature_opt = optarg; break;
        case OPT_JSON:    json = 1; break;
        case OPT_LOG:     log_opt = optarg; break;
        case 'n': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1)
                return cli_usage("log", "-n needs a count of 1 or more, not '%s'", optarg);
            limit = (size_t)v;
            break;
        }
        case 'h':         fputs(usage_text, stdout); return DSR_EXIT_OK;
        default:
            if (optopt == 'n')
                return cli_usage("log", "option -n needs a value");
            return cli_usage("log", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    const char *mission = optind < argc ? argv[optind++] : NULL;
    if (optind != argc)
        return cli_usage("log", "unexpected argument '%s'", argv[optind]);

    dsr_log *log = NULL;
    char *feature = NULL;
    int stale = 0;
    int code = cli_proj_open_feature("log", log_opt, mission, feature_opt, 0, &log, &feature,
                                     &stale);
    dsr_snapshot_info **v = NULL;
    size_t n = 0;
    dsr_baseline_info *b = NULL;
    dsr_err err = { 0 };
    if (!code) {
        int rc = dsr_replay_snapshots(log, feature, &v, &n, &err);
        if (!rc && (rc = dsr_replay_baseline_get(log, feature, &b, &err)) == DSR_ENOTFOUND)
            rc = 0;
        if (rc)
            code = cli_fail(&err, "log");
        else if (!n) {
            cli_error("log", "feature %s has no snapshot yet", feature);
            code = DSR_EXIT_INCOMPLETE;
        }
    }
    if (!code) {
        if (stale)
            cli_proj_stale_note("log");
        size_t shown = limit && limit < n ? limit : n;
        if (json)
            print_json(feature, v, shown, b ? b->snapshot_id : NULL);
        else
            print_text(v, shown, b ? b->snapshot_id : NULL);
        code = cli_proj_flush("log");
    }
    dsr_baseline_info_free(b);
    dsr_snapshot_infov_free(v, n);
    free(feature);
    dsr_log_close(log);
    return code;
}

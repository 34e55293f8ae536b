/*
 * cmd_status.c - `dossier status`: a one-screen report per feature, read from
 * the projections: completeness and counts of the latest snapshot, the
 * accepted baseline, the drift assessment, and the log itself (head,
 * projection checkpoints, scan runs left open), then webhook deliveries.
 */
#include "cli.h"
#include "cli_proj.h"
#include "cli_report.h"
#include "dossier/deliver.h"
#include "dossier/replay.h"
#include "dossier/scan_settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier status [--feature SLUG] [--json] [--log DIR] [--profile P] [MISSION_DIR]\n"
"\n"
"A one-screen report per feature of the log: completeness and artifact\n"
"counts of the latest snapshot, missing required artifacts, the parity hash,\n"
"the accepted baseline and the drift assessment, and the settings a scan\n"
"that leaves them out reuses ('dossier scan --help'); then the log (head,\n"
"projection checkpoints, scan runs that never completed) and webhook\n"
"deliveries still pending per endpoint.  Without --feature every feature is\n"
"shown.  Counts: total = present + missing required + absent optional, the\n"
"same words and numbers as scan, index and snapshot (docs/reports.md).\n"
"The projections are caught up first when no other process is\n"
"writing the log; otherwise the state as last committed is shown.\n"
"\n"
"Options:\n"
"  --feature SLUG   report on this feature only\n"
"  --json           print one JSON object instead of text (schema:\n"
"                   schemas/reports/status.schema.json; names: docs/reports.md)\n"
"  --log DIR        event log folder (default: $DOSSIER_LOG, else\n"
"                   MISSION_DIR/.dossier, else the nearest .dossier folder here\n"
"                   or above, as git finds .git)\n"
CLI_PROJ_PROFILE_HELP
"  -h, --help       show this help\n"
"\n"
"Exit status:\n"
"  0  report printed (see 'dossier snapshot' and 'dossier drift' for exit codes\n"
"     that reflect completeness and drift)\n"
"  1  --feature names a feature without a snapshot, or the log holds none\n"
"  2  usage error\n"
"  3  the log cannot be opened or read\n"
"\n"
"Examples:\n"
"  dossier status --log mission/.dossier\n"
"  dossier status --json | jq '.features[] | {feature_slug, completeness_status}'\n";


typedef struct feature_report {
    char              *feature;
    dsr_snapshot_info *snap;
    dsr_baseline_info *base;      /* NULL: none */
    dsr_drift_info    *drift;     /* NULL: not assessed */
    cli_origin         origin;    /* where the baseline event was written */
    dsr_scan_settings *settings;  /* remembered; NULL when unreadable */
} feature_report;

static void report_free(feature_report *r)
{
    dsr_snapshot_info_free(r->snap);
    dsr_baseline_info_free(r->base);
    dsr_drift_info_free(r->drift);
    dsr_scan_settings_free(r->settings);
}

static int load_report(dsr_log *log, const char *feature, feature_report *r)
{
    dsr_err err = { 0 };
    memset(r, 0, sizeof *r);
    int rc = dsr_replay_snapshot_get(log, feature, NULL, 0, &r->snap, &err);
    if (!rc) {
        rc = dsr_replay_baseline_get(log, feature, &r->base, &err);
        if (rc == DSR_ENOTFOUND)
            rc = 0;
        if (!rc)
            r->origin = cli_baseline_origin(log, r->base);
    }
    if (!rc) {
        rc = dsr_replay_drift_get(log, feature, &r->drift, &err);
        if (rc == DSR_ENOTFOUND)
            rc = 0;
    }
    if (!rc) {
        /* the scan of the snapshot just read: found unless the log is damaged */
        rc = dsr_scan_settings_get(log, feature, &r->settings, &err);
        if (rc == DSR_ENOTFOUND)
            rc = 0;
    }
    if (rc)
        return cli_fail(&err, "status");
    return 0;
}

/* ---- pending deliveries --------------------------------------------------
 * Webhook delivery keeps its own state next to the log (dossier/deliver.h);
 * its per-endpoint counts are computed against the log by
 * dsr_deliver_stats.  Delivery problems never make `status` fail: the
 * section then says why it is unavailable. */
typedef struct deliveries {
    dsr_endpoint_info *eps;
    size_t             n;
    char               error[DSR_ERR_MSG_MAX];
} deliveries;

static void status_pending_deliveries(dsr_log *log, deliveries *d)
{
    dsr_err err = { 0 };
    memset(d, 0, sizeof *d);
    if (dsr_deliver_stats(log, &d->eps, &d->n, &err)) {
        snprintf(d->error, sizeof d->error, "%s", err.msg);
        d->eps = NULL;
        d->n = 0;
    }
}

static void deliveries_text(const deliveries *d)
{
    if (d->error[0]) {
        printf("Deliveries: unavailable (%s)\n", d->error);
        return;
    }
    if (!d->n) {
        printf("Deliveries: no webhook endpoint configured\n");
        return;
    }
    printf("Deliveries:\n");
    for (size_t i = 0; i < d->n; i++) {
        const dsr_endpoint_info *e = &d->eps[i];
        printf("  %-20s %llu pending (%llu retrying), %llu delivered, %llu dead%s\n", e->name,
               (unsigned long long)e->pending, (unsigned long long)e->retrying,
               (unsigned long long)e->delivered, (unsigned long long)e->dead,
               e->disabled ? ", DISABLED (410 Gone)" : "");
    }
}

static void deliveries_json(const deliveries *d)
{
    printf(",\"deliveries\":");
    if (d->error[0]) {
        printf("{\"error\":");
        cli_json_fputs(stdout, d->error);
        printf("}");
        return;
    }
    printf("[");
    for (size_t i = 0; i < d->n; i++) {
        const dsr_endpoint_info *e = &d->eps[i];
        printf("%s{\"endpoint\":", i ? "," : "");
        cli_json_fputs(stdout, e->name);
        printf(",\"pending\":%llu,\"retrying\":%llu,\"delivered\":%llu,\"dead\":%llu,"
               "\"disabled\":%s}", (unsigned long long)e->pending,
               (unsigned long long)e->retrying, (unsigned long long)e->delivered,
               (unsigned long long)e->dead, e->disabled ? "true" : "false");
    }
    printf("]");
}

/* ---- per feature --------------------------------------------------------- */

static void settings_text(const dsr_scan_settings *st)
{
    if (!st)
        return;
    printf("  settings   manifest ");
    if (!st->mission_type)
        printf("none");
    else if (st->manifest_path)
        printf("%s (mission type %s, content sha256 %.12s...)", cli_safe(st->manifest_path),
               cli_safe(st->mission_type), st->manifest_sha256 ? st->manifest_sha256 : "-");
    else
        printf("%s", cli_safe(st->mission_type));
    printf(", step %s, profile %s, excludes", st->step_id ? cli_safe(st->step_id) : "none",
           dsr_profile_name(st->profile));
    for (size_t i = 0; i < st->n_excludes; i++)
        printf(" '%s'", cli_safe(st->excludes[i]));
    printf("%s\n", st->n_excludes ? "" : " none");
}

static void settings_json(const dsr_scan_settings *st)
{
    printf(",\"settings\":");
    if (!st) {
        printf("null");
        return;
    }
    printf("{\"mission_type\":");
    cli_json_fputs(stdout, st->mission_type);
    printf(",\"manifest_version\":");
    cli_json_fputs(stdout, st->manifest_version);
    printf(",\"manifest_path\":");
    cli_json_fputs(stdout, st->manifest_path);
    printf(",\"manifest_sha256\":");
    cli_json_fputs(stdout, st->manifest_sha256);
    printf(",\"step_id\":");
    cli_json_fputs(stdout, st->step_id);
    printf(",\"profile\":\"%s\",\"excludes\":[", dsr_profile_name(st->profile));
    for (size_t i = 0; i < st->n_excludes; i++) {
        if (i)
            putchar(',');
        cli_json_fputs(stdout, st->excludes[i]);
    }
    printf("],\"run_id\":");
    cli_json_fputs(stdout, st->run_id);
    printf("}");
}

static void feature_text(const feature_report *r)
{
    const dsr_snapshot_info *s = r->snap;
    cli_counts c = cli_counts_of_snapshot(s);
    printf("%s: ", cli_safe(s->feature_slug));
    cli_put_status(stdout, s->completeness_status);
    putchar('\n');
    printf("  artifacts  ");
    cli_counts_text(stdout, &c);
    putchar('\n');
    if (s->n_missing) {
        printf("  missing   ");
        for (size_t i = 0; i < s->n_missing && i < 8; i++)
            printf(" %s%s", s->missing[i].artifact_key, i + 1 < s->n_missing ? "," : "");
        if (s->n_missing > 8)
            printf(" ... (%zu in all: 'dossier snapshot')", s->n_missing);
        printf("\n");
    }
    printf("  snapshot   %s at %s, parity %s%.16s...%s, branch %s, mission %s\n", s->snapshot_id,
           s->timestamp ? s->timestamp : "-",
           s->profile == DSR_PROFILE_SPEC_KITTY_3 ? "sha256:" : "", s->parity_hash_sha256,
           s->profile == DSR_PROFILE_SPEC_KITTY_3 ? " (profile spec-kitty-3)" : "",
           s->target_branch ? s->target_branch : "-", s->mission_type ? s->mission_type : "none");
    if (r->base)
        printf("  baseline   %s accepted %s, branch %s, %s%s\n", r->base->snapshot_id,
               r->base->timestamp ? r->base->timestamp : "-",
               r->base->target_branch ? r->base->target_branch : "-",
               !r->origin.known ? "origin unknown"
               : r->origin.local ? "by this log" : "imported from node ",
               r->origin.known && !r->origin.local ? r->origin.node : "");
    else
        printf("  baseline   none\n");
    const dsr_drift_info *d = r->drift;
    if (!d || d->status == DSR_DRIFT_NO_BASELINE)
        printf("  drift      not assessed (no baseline)\n");
    else if (d->status == DSR_DRIFT_NONE)
        printf("  drift      none (same parity as the baseline)\n");
    else if (d->status == DSR_DRIFT_NOT_COMPARED)
        printf("  drift      not compared: baseline key differs (%s%s)\n",
               d->n_mismatch ? d->mismatch[0].field : "-", d->n_mismatch > 1 ? ", ..." : "");
    else if (d->status == DSR_DRIFT_BASELINE_UNKNOWN)
        printf("  drift      not compared: baseline snapshot unknown to this log\n");
    else {
        fputs("  drift      ", stdout);
        cli_put_status(stdout, "DRIFT");
        fputs(" (", stdout);
        cli_put_status(stdout, d->severity ? d->severity : "-");
        printf("): %zu missing locally, %zu new, %zu changed -- 'dossier drift --feature %s'\n",
               d->n_missing_in_local, d->n_missing_in_baseline, d->n_changed,
               cli_safe(s->feature_slug));
    }
    settings_text(r->settings);
}

static void feature_json(const feature_report *r)
{
    const dsr_snapshot_info *s = r->snap;
    cli_counts c = cli_counts_of_snapshot(s);
    printf("{\"feature_slug\":");
    cli_json_fputs(stdout, s->feature_slug);
    printf(",\"completeness_status\":");
    cli_json_fputs(stdout, s->completeness_status);
    putchar(',');
    cli_counts_json(&c);
    putchar(',');
    cli_missing_json_snapshot(s);
    printf(",\"snapshot\":{\"snapshot_id\":");
    cli_json_fputs(stdout, s->snapshot_id);
    printf(",\"timestamp\":");
    cli_json_fputs(stdout, s->timestamp);
    if (s->profile != DSR_PROFILE_WP04)   /* wp04 output keeps its fields */
        printf(",\"profile\":\"%s\",\"snapshot_hash\":\"sha256:%s\"",
               dsr_profile_name(s->profile), s->parity_hash_sha256);
    printf(",\"parity_hash_sha256\":\"%s\",\"target_branch\":", s->parity_hash_sha256);
    cli_json_fputs(stdout, s->target_branch);
    printf(",\"mission_type\":");
    cli_json_fputs(stdout, s->mission_type);
    printf(",\"manifest_version\":");
    cli_json_fputs(stdout, s->manifest_version);
    printf("},\"baseline\":");
    cli_baseline_json(r->base, &r->origin, 1);
    printf(",\"drift\":");
    cli_drift_json(r->drift, 1);
    settings_json(r->settings);
    printf("}");
}

int cmd_status(int argc, char **argv)
{
    cli_report_opts ro;
    int prc = cli_proj_parse_report(argc, argv, "status", usage_text, &ro);
    if (prc)
        return prc < 0 ? DSR_EXIT_OK : prc;
    const char *log_opt = ro.log_opt, *feature_opt = ro.feature_opt;
    int json = ro.json;

    dsr_log *log = NULL;
    int stale = 0;
    int code = cli_proj_open("status", log_opt, ro.mission_dir, 0, &log, &stale);
    if (code)
        return code;
    dsr_err err = { 0 };
    char **feats = NULL;
    size_t nf = 0;
    char *one = NULL;
    if (feature_opt) {
        if (!(code = cli_proj_feature("status", log, feature_opt, 1, &one))) {
            feats = &one;
            nf = 1;
        }
    } else if (dsr_replay_features(log, &feats, &nf, &err)) {
        code = cli_fail(&err, "status");
    }
    feature_report *reps = NULL;
    if (!code && nf && !(reps = calloc(nf, sizeof *reps))) {
        cli_error("status", "out of memory");
        code = DSR_EXIT_IO;
    }
    for (size_t i = 0; i < nf && !code; i++) {
        code = load_report(log, feats[i], &reps[i]);
        if (!code && reps[i].snap &&
            cli_proj_check_profile("status", feats[i], reps[i].snap->profile, ro.has_profile,
                                   ro.profile))
            code = DSR_EXIT_INCOMPLETE;
    }

    uint64_t ck[2] = { 0, 0 };
    size_t open_runs = 0;
    for (size_t i = 0; i < 2 && !code; i++)
        if (dsr_replay_checkpoint(log, dsr_replay_projection_name(i), &ck[i], &err))
            code = cli_fail(&err, "status");
    if (!code && dsr_replay_open_runs(log, &open_runs, &err))
        code = cli_fail(&err, "status");

    if (!code) {
        deliveries dl;
        status_pending_deliveries(log, &dl);
        uint64_t head = dsr_log_head(log);
        if (json) {
            printf("{\"log\":");
            cli_json_fputs(stdout, dsr_log_dir(log));
            printf(",\"head\":%llu,\"checkpoints\":{\"%s\":%llu,\"%s\":%llu},\"open_runs\":%zu,"
                   "\"stale\":%s,\"features\":[", (unsigned long long)head,
                   dsr_replay_projection_name(0), (unsigned long long)ck[0],
                   dsr_replay_projection_name(1), (unsigned long long)ck[1], open_runs,
                   stale ? "true" : "false");
            for (size_t i = 0; i < nf; i++) {
                if (i)
                    putchar(',');
                feature_json(&reps[i]);
            }
            printf("]");
            deliveries_json(&dl);
            printf("}\n");
        } else {
            if (!nf)
                printf("No completed scan in the log yet (run 'dossier scan').\n");
            for (size_t i = 0; i < nf; i++) {
                feature_text(&reps[i]);
                putchar('\n');
            }
            printf("Log:        %s, head %llu; projections at %s %llu, %s %llu%s\n",
                   dsr_log_dir(log), (unsigned long long)head, dsr_replay_projection_name(0),
                   (unsigned long long)ck[0], dsr_replay_projection_name(1),
                   (unsigned long long)ck[1],
                   stale ? " (another process is writing: state as last committed)" : "");
            if (open_runs)
                printf("Open runs:  %zu scan run%s never completed (crashed or being "
                       "imported): no snapshot from %s\n", open_runs, open_runs == 1 ? "" : "s",
                       open_runs == 1 ? "it" : "them");
            deliveries_text(&dl);
        }
        dsr_endpoint_list_free(dl.eps, dl.n);
        if (fflush(stdout)) {
            cli_error("status", "cannot write the output");
            code = DSR_EXIT_IO;
        }
    }
    for (size_t i = 0; reps && i < nf; i++)
        report_free(&reps[i]);
    free(reps);
    if (feats != &one)
        dsr_replay_strv_free(feats, nf);
    free(one);
    dsr_log_close(log);
    return code;
}

/*
 * cmd_drift.c - `dossier drift`: explain the drift assessment of a feature's
 * latest snapshot against its accepted baseline, from the drift projection:
 * which artifact keys are missing on either side, which contents changed
 * (old -> new hash), the severity and why.
 */
#include "cli.h"
#include "cli_proj.h"
#include "cli_report.h"
#include "dossier/replay.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier drift [--feature SLUG] [--json] [--log DIR] [--profile P] [MISSION_DIR]\n"
"\n"
"Explain how the latest snapshot of a feature differs from its accepted\n"
"baseline ('dossier baseline accept').  For every snapshot whose parity hash\n"
"differs from the baseline's, the drift projection emitted one\n"
"mission_dossier_parity_drift_detected event; this command shows the latest\n"
"assessment:\n"
"  missing locally      artifact keys in the baseline but not present now\n"
"  new locally          artifact keys present now but not in the baseline\n"
"  changed              same key and path, other content (old -> new hash)\n"
"  severity             error   a required artifact is missing locally, or\n"
"                               completeness fell from complete\n"
"                       warning an existing artifact changed, or one vanished\n"
"                       info    only new artifacts appeared\n"
"A baseline whose key (project, node, feature, target branch, mission type,\n"
"manifest version) differs from the snapshot's is not compared; the command\n"
"says which fields differ.\n"
"\n"
"Options:\n"
"  --feature SLUG   the feature; may be left out when the log holds one feature\n"
"  --json           print one JSON object instead of text (schema:\n"
"                   schemas/reports/drift.schema.json; names: docs/reports.md)\n"
"  --log DIR        event log folder (default: $DOSSIER_LOG, else\n"
"                   MISSION_DIR/.dossier, else the nearest .dossier folder here\n"
"                   or above, as git finds .git)\n"
CLI_PROJ_PROFILE_HELP
"  -h, --help       show this help\n"
"\n"
"Exit status:\n"
"  0  no drift: same parity as the baseline, or no baseline accepted yet\n"
"  1  the feature has no snapshot\n"
"  2  usage error (also: several features and no --feature)\n"
"  3  the log cannot be opened or read\n"
"  4  drift: the latest snapshot differs from the accepted baseline\n"
"  5  not comparable: the baseline's key (branch, mission type, manifest\n"
"     version, ...) differs from the snapshot's, or its snapshot is unknown to\n"
"     this log; a drift gate must not pass on this\n"
"\n"
"Examples:\n"
"  dossier drift --log mission/.dossier\n"
"  dossier drift --feature 042-x --json | jq '.missing_in_local'\n";


/* The drift summary (cli_drift_json), then what only this report adds:
 * the parity hashes, the baseline, the changes by kind and the reasons. */
static void print_json(const dsr_drift_info *d, const dsr_baseline_info *b, const cli_origin *o)
{
    cli_drift_json(d, 0);
    printf(",\"feature_slug\":");
    cli_json_fputs(stdout, d->feature_slug);
    printf(",\"drift_detected\":%s,\"parity_hash_sha256\":", d->status == DSR_DRIFT_DETECTED ? "true" : "false");
    cli_json_fputs(stdout, d->local_parity);
    printf(",\"source_event_id\":");
    cli_json_fputs(stdout, d->source_event_id);
    printf(",\"baseline\":");
    cli_baseline_json(b, o, 1);
    cli_json_changes("vanished", d->vanished, d->n_vanished);
    cli_json_changes("added", d->added, d->n_added);
    printf(",\"why\":[");
    for (size_t i = 0; i < d->n_why; i++) {
        if (i)
            putchar(',');
        cli_json_fputs(stdout, d->why[i]);
    }
    printf("],\"key_mismatch\":[");
    for (size_t i = 0; i < d->n_mismatch; i++) {
        printf("%s{\"field\":", i ? "," : "");
        cli_json_fputs(stdout, d->mismatch[i].field);
        printf(",\"snapshot\":");
        cli_json_fputs(stdout, d->mismatch[i].snapshot_value);
        printf(",\"baseline\":");
        cli_json_fputs(stdout, d->mismatch[i].baseline_value);
        putchar('}');
    }
    printf("]}\n");
}

static void text_list(const char *title, char *const *v, size_t n)
{
    if (!n)
        return;
    printf("%s\n", title);
    for (size_t i = 0; i < n; i++)
        printf("  %s\n", cli_safe(v[i]));
}

static void print_text(const dsr_drift_info *d, const cli_origin *o)
{
    printf("Feature:    %s\n", cli_safe(d->feature_slug));
    printf("Snapshot:   %s  parity %s\n", d->snapshot_id, d->local_parity ? d->local_parity : "-");
    if (d->baseline_snapshot_id) {
        printf("Baseline:   %s  parity %s\n", d->baseline_snapshot_id,
               d->baseline_parity ? d->baseline_parity : "-");
        if (!o->known)
            printf("Accepted:   origin unknown\n");
        else if (o->local)
            printf("Accepted:   here (this log's node %s)\n", o->node);
        else
            printf("Accepted:   imported from node %s\n", o->node);
    }
    switch (d->status) {
    case DSR_DRIFT_NONE:
        printf("Status:     no drift (same parity hash as the accepted baseline)\n");
        return;
    case DSR_DRIFT_NO_BASELINE:
        printf("Status:     no baseline accepted (use 'dossier baseline accept')\n");
        return;
    case DSR_DRIFT_BASELINE_UNKNOWN:
        printf("Status:     not compared: the baseline's snapshot was never computed by this log\n");
        return;
    case DSR_DRIFT_NOT_COMPARED:
        printf("Status:     not compared: the baseline's key differs from the snapshot's\n");
        for (size_t i = 0; i < d->n_mismatch; i++)
            printf("  %-17s baseline %s, snapshot %s\n", d->mismatch[i].field,
                   d->mismatch[i].baseline_value ? d->mismatch[i].baseline_value : "null",
                   d->mismatch[i].snapshot_value ? d->mismatch[i].snapshot_value : "null");
        printf("  (accept a baseline for this key with 'dossier baseline accept')\n");
        return;
    case DSR_DRIFT_DETECTED:
        break;
    }
    fputs("Status:     ", stdout);
    cli_put_status(stdout, "DRIFT");
    fputs(", severity ", stdout);
    cli_put_status(stdout, d->severity ? d->severity : "-");
    printf(" (event %s)\n", d->event_id ? d->event_id : "-");
    text_list("Missing locally (in the baseline, not present now):", d->missing_in_local,
              d->n_missing_in_local);
    text_list("New locally (present now, not in the baseline):", d->missing_in_baseline,
              d->n_missing_in_baseline);
    if (d->n_changed) {
        int wk = 1;   /* as wide as the longest key: long keys stay aligned */
        for (size_t i = 0; i < d->n_changed; i++) {
            int n = (int)strlen(d->changed[i].artifact_key);
            wk = n > wk ? n : wk;
        }
        printf("Changed content (old -> new SHA-256):\n");
        for (size_t i = 0; i < d->n_changed; i++)
            printf("  %-*s  %s\n    %s -> %s\n", wk, d->changed[i].artifact_key,
                   cli_safe(d->changed[i].relative_path), d->changed[i].old_sha256,
                   d->changed[i].new_sha256);
    }
    text_list("Why:", d->why, d->n_why);
}

int cmd_drift(int argc, char **argv)
{
    cli_report_opts ro;
    int prc = cli_proj_parse_report(argc, argv, "drift", usage_text, &ro);
    if (prc)
        return prc < 0 ? DSR_EXIT_OK : prc;
    const char *log_opt = ro.log_opt, *feature_opt = ro.feature_opt;
    int json = ro.json;

    dsr_log *log = NULL;
    int stale = 0;
    int code = cli_proj_open("drift", log_opt, ro.mission_dir, 0, &log, &stale);
    if (code)
        return code;
    char *feature = NULL;
    code = cli_proj_feature("drift", log, feature_opt, 0, &feature);
    dsr_drift_info *d = NULL;
    dsr_err err = { 0 };
    if (!code) {
        int rc = dsr_replay_drift_get(log, feature, &d, &err);
        if (rc == DSR_ENOTFOUND) {
            cli_error("drift", "%s", err.msg);
            code = DSR_EXIT_INCOMPLETE;
        } else if (rc) {
            code = cli_fail(&err, "drift");
        }
    }
    if (!code && ro.has_profile && d->snapshot_id) {
        /* the snapshot assessed: of the profile asked for, or not comparable */
        dsr_snapshot_info *s = NULL;
        int rc = dsr_replay_snapshot_get(log, feature, d->snapshot_id, 0, &s, &err);
        if (rc)
            code = cli_fail(&err, "drift");
        else if (cli_proj_check_profile("drift", feature, s->profile, 1, ro.profile))
            code = DSR_EXIT_NOT_COMPARABLE;
        dsr_snapshot_info_free(s);
    }
    if (!code) {
        if (stale)
            cli_proj_stale_note("drift");
        /* the baseline may be unreadable or gone: the assessment still stands */
        dsr_baseline_info *b = NULL;
        dsr_err ignore;
        if (dsr_replay_baseline_get(log, feature, &b, &ignore))
            b = NULL;
        cli_origin o = cli_baseline_origin(log, b);
        if (json)
            print_json(d, b, &o);
        else
            print_text(d, &o);
        dsr_baseline_info_free(b);
        if (fflush(stdout)) {
            cli_error("drift", "cannot write the output");
            code = DSR_EXIT_IO;
        } else if (d->status == DSR_DRIFT_DETECTED) {
            code = DSR_EXIT_DRIFT;
        } else if (d->status == DSR_DRIFT_NOT_COMPARED ||
                   d->status == DSR_DRIFT_BASELINE_UNKNOWN) {
            code = DSR_EXIT_NOT_COMPARABLE;
        }
    }
    dsr_drift_info_free(d);
    free(feature);
    dsr_log_close(log);
    return code;
}

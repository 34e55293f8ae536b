/*
 * cmd_snapshot.c - `dossier snapshot`: show a feature's latest snapshot (or
 * one by id) from the snapshot projection: completeness, counts, parity hash
 * and the required artifacts that are missing.
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
"Usage: dossier snapshot [--feature SLUG] [--id SNAPSHOT_ID] [--artifacts] [--json]\n"
"                        [--log DIR] [--profile P] [MISSION_DIR]\n"
"\n"
"Show the latest snapshot of a feature, as computed from the event log by the\n"
"snapshot projection (one snapshot per completed 'dossier scan'): completeness,\n"
"artifact counts, the parity hash and the list of missing required artifacts.\n"
"\n"
"The parity hash follows the profile the scan used ('dossier scan --profile').\n"
"wp04 (the default): SHA-256 over the concatenation of the sorted lowercase hex\n"
"SHA-256 content hashes of the present artifacts (the work package's feature-042\n"
"formula).  spec-kitty-3: \"sha256:\" + SHA-256 of the present artifacts'\n"
"\"path<TAB>hash\" lines sorted by path and joined by newlines, WP files hashed\n"
"by their static frontmatter, as current spec-kitty computes it\n"
"(docs/interop.md).  Either way two trees with the same contents have the same\n"
"parity hash.  Completeness is\n"
"'unknown' when the scan had no manifest, 'complete' when no required artifact\n"
"is missing, else 'incomplete'.\n"
"\n"
"Options:\n"
"  --feature SLUG   the feature to show; may be left out when the log holds one\n"
"                   feature (with several, the command lists them)\n"
"  --id ID          show snapshot ID instead of the latest one\n"
"  --artifacts      also list the present artifacts (key, path, class, hash)\n"
"  --json           print one JSON object instead of text (schema:\n"
"                   schemas/reports/snapshot.schema.json; names: docs/reports.md)\n"
"  --log DIR        event log folder (default: $DOSSIER_LOG, else the nearest\n"
"                   .dossier folder here or above, as git finds .git)\n"
CLI_PROJ_PROFILE_HELP
"  -h, --help       show this help\n"
"\n"
"Exit status:\n"
"  0  the snapshot is complete (or completeness is unknown: no manifest)\n"
"  1  the snapshot is incomplete, or the feature has no snapshot\n"
"  2  usage error (also: several features and no --feature)\n"
"  3  the log cannot be opened or read\n"
"\n"
"Examples:\n"
"  dossier snapshot --log mission/.dossier\n"
"  dossier snapshot --feature 042-dossier --json | jq .parity_hash_sha256\n";

enum { OPT_LOG = 256, OPT_FEATURE, OPT_ID, OPT_ARTIFACTS, OPT_JSON, OPT_PROFILE };

static void print_json(const dsr_snapshot_info *s, int with_artifacts)
{
    cli_counts c = cli_counts_of_snapshot(s);
    printf("{\"feature_slug\":");
    cli_json_fputs(stdout, s->feature_slug);
    printf(",\"snapshot_id\":");
    cli_json_fputs(stdout, s->snapshot_id);
    printf(",\"event_id\":");
    cli_json_fputs(stdout, s->event_id);
    printf(",\"run_id\":");
    cli_json_fputs(stdout, s->run_id);
    printf(",\"timestamp\":");
    cli_json_fputs(stdout, s->timestamp);
    if (s->profile != DSR_PROFILE_WP04)   /* wp04 output keeps its fields */
        printf(",\"profile\":\"%s\",\"snapshot_hash\":\"sha256:%s\"",
               dsr_profile_name(s->profile), s->parity_hash_sha256);
    printf(",\"parity_hash_sha256\":\"%s\",\"completeness_status\":", s->parity_hash_sha256);
    cli_json_fputs(stdout, s->completeness_status);
    putchar(',');
    cli_counts_json(&c);
    const char *k[] = { "mission_type", "manifest_version", "step_id", "target_branch",
                        "emit_mode" };
    const char *v[] = { s->mission_type, s->manifest_version, s->step_id, s->target_branch,
                        s->emit_mode };
    for (size_t i = 0; i < 5; i++) {
        printf(",\"%s\":", k[i]);
        cli_json_fputs(stdout, v[i]);
    }
    printf(",\"counts_consistent\":%s,", s->counts_consistent ? "true" : "false");
    cli_missing_json_snapshot(s);
    if (with_artifacts) {
        printf(",\"artifacts\":[");
        for (size_t i = 0; i < s->n_artifacts; i++) {
            const dsr_artifact_ref *a = &s->artifacts[i];
            printf("%s{\"artifact_key\":", i ? "," : "");
            cli_json_fputs(stdout, a->artifact_key);
            printf(",\"relative_path\":");
            cli_json_fputs(stdout, a->relative_path);
            printf(",\"artifact_class\":");
            cli_json_fputs(stdout, a->artifact_class);
            printf(",\"content_hash_sha256\":\"%s\",\"required_status\":\"%s\"}", a->sha256,
                   a->required ? "required" : "optional");
        }
        printf("]");
    }
    printf("}\n");
}

static int width(int w, const char *s)
{
    int n = s ? (int)strlen(s) : 1;
    return n > w ? n : w;
}

static void print_text(const dsr_snapshot_info *s, int with_artifacts)
{
    cli_counts c = cli_counts_of_snapshot(s);
    printf("Feature:        %s\n", cli_safe(s->feature_slug));
    printf("Snapshot:       %s (scan run %s, %s)\n", s->snapshot_id, s->run_id ? s->run_id : "-",
           s->timestamp ? s->timestamp : "-");
    fputs("Completeness:   ", stdout);
    cli_put_status(stdout, s->completeness_status);
    if (s->mission_type)
        printf(" (mission %s, manifest %s", s->mission_type,
               s->manifest_version ? s->manifest_version : "-");
    else
        printf(" (no manifest");
    printf(", branch %s%s%s)\n", s->target_branch ? s->target_branch : "-",
           s->step_id ? ", step " : "", s->step_id ? s->step_id : "");
    if (s->profile == DSR_PROFILE_SPEC_KITTY_3)
        printf("Parity hash:    sha256:%s (profile spec-kitty-3: path<TAB>hash lines)\n",
               s->parity_hash_sha256);
    else
        printf("Parity hash:    %s\n", s->parity_hash_sha256);
    printf("Artifacts:      ");
    cli_counts_text(stdout, &c);
    putchar('\n');
    if (!s->counts_consistent)
        printf("Warning:        the scan's events do not match the counts it declared\n");
    /* columns as wide as their longest value, so long keys stay aligned */
    int wk = 1, wc = 1, wp = 1;
    for (size_t i = 0; i < s->n_missing; i++) {
        wk = width(wk, s->missing[i].artifact_key);
        wc = width(wc, s->missing[i].artifact_class);
        wp = width(wp, s->missing[i].expected_path_pattern);
    }
    if (s->n_missing) {
        printf("Missing required artifacts:\n");
        for (size_t i = 0; i < s->n_missing; i++)
            printf("  %-*s  %-*s  %-*s  %s\n", wk, s->missing[i].artifact_key, wc,
                   s->missing[i].artifact_class ? s->missing[i].artifact_class : "-", wp,
                   s->missing[i].expected_path_pattern ? s->missing[i].expected_path_pattern : "-",
                   s->missing[i].reason_code ? s->missing[i].reason_code : "-");
    }
    if (with_artifacts) {
        wk = wc = 1;
        for (size_t i = 0; i < s->n_artifacts; i++) {
            wk = width(wk, s->artifacts[i].artifact_key);
            wc = width(wc, s->artifacts[i].artifact_class);
        }
        printf("Present artifacts:\n");
        for (size_t i = 0; i < s->n_artifacts; i++) {
            const dsr_artifact_ref *a = &s->artifacts[i];
            printf("  %-*s  %-*s  %-8s  %.16s  %s\n", wk, a->artifact_key, wc, a->artifact_class,
                   a->required ? "required" : "optional", a->sha256, cli_safe(a->relative_path));
        }
    }
}

int cmd_snapshot(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "id", required_argument, NULL, OPT_ID },
        { "artifacts", no_argument, NULL, OPT_ARTIFACTS },
        { "json", no_argument, NULL, OPT_JSON },
        { "log", required_argument, NULL, OPT_LOG },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_opt = NULL, *feature_opt = NULL, *id = NULL;
    int json = 0, with_artifacts = 0, ch, has_profile = 0;
    dsr_profile want = DSR_PROFILE_WP04;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "h", longopts)) != -1) {
        switch (ch) {
        case OPT_FEATURE:   feature_opt = optarg; break;
        case OPT_ID:        id = optarg; break;
        case OPT_ARTIFACTS: with_artifacts = 1; break;
        case OPT_JSON:      json = 1; break;
        case OPT_LOG:       log_opt = optarg; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &want) != 0)
                return cli_usage("snapshot", "--profile: unknown profile '%s' (known: %s)",
                                 optarg, DSR_PROFILE_NAMES);
            has_profile = 1;
            break;
        case 'h':           fputs(usage_text, stdout); return DSR_EXIT_OK;
        default:
            return cli_usage("snapshot", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    const char *mission = optind < argc ? argv[optind++] : NULL;
    if (optind != argc)
        return cli_usage("snapshot", "unexpected argument '%s'", argv[optind]);

    dsr_log *log = NULL;
    char *feature = NULL;
    int stale = 0;
    int code = cli_proj_open_feature("snapshot", log_opt, mission, feature_opt,
                                     id && !feature_opt, &log, &feature, &stale);
    dsr_snapshot_info *s = NULL;
    dsr_err err = { 0 };
    if (!code) {
        int rc = dsr_replay_snapshot_get(log, feature, id, with_artifacts, &s, &err);
        if (rc == DSR_ENOTFOUND) {
            cli_error("snapshot", "%s", err.msg);
            code = DSR_EXIT_INCOMPLETE;
        } else if (rc) {
            code = cli_fail(&err, "snapshot");
        } else if (cli_proj_check_profile("snapshot", feature, s->profile, has_profile, want)) {
            code = DSR_EXIT_INCOMPLETE;
        }
    }
    if (!code) {
        if (stale)
            cli_proj_stale_note("snapshot");
        if (json)
            print_json(s, with_artifacts);
        else
            print_text(s, with_artifacts);
        code = cli_proj_flush("snapshot");
        if (!code && !strcmp(s->completeness_status, "incomplete"))
            code = DSR_EXIT_INCOMPLETE;
    }
    dsr_snapshot_info_free(s);
    free(feature);
    dsr_log_close(log);
    return code;
}

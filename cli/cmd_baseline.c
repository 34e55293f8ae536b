/*
 * cmd_baseline.c - `dossier baseline accept|show`: record that a snapshot is
 * the accepted baseline of its feature (a dossier_baseline_accepted event in
 * the log, so the decision is replayable like everything else), or show the
 * current one.
 *
 * The baseline key says which snapshots it is compared with: project_uuid and
 * node_id of the accepted snapshot (this log's own for a scan made here; the
 * producer's for an imported one, so that a log fed only by imports can
 * gate its drift), the feature, the target branch, the mission key (mission
 * type) and the manifest version.  A snapshot whose key differs is not
 * compared (`dossier drift` says so).
 */
#include "cli.h"
#include "cli_proj.h"
#include "cli_report.h"
#include "dossier/emit.h"
#include "dossier/replay.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier baseline accept [--feature SLUG] [--snapshot ID] [--branch B] [--log DIR]\n"
"                               [MISSION_DIR]\n"
"       dossier baseline show [--feature SLUG] [--json] [--log DIR] [MISSION_DIR]\n"
"\n"
"accept records, as a dossier_baseline_accepted event in the log, that a\n"
"snapshot is the accepted baseline of its feature; later snapshots are compared\n"
"with it by the drift projection ('dossier drift').  Accepting again replaces\n"
"the baseline.  The snapshot's current drift assessment is updated at once.\n"
"\n"
"The baseline is keyed by project_uuid and node_id (those of the accepted\n"
"snapshot: this log's for its own scans, the producer's for imported ones),\n"
"feature, target branch, mission key (mission type) and manifest version.  A\n"
"snapshot with another key (say, a scan of another branch) is not compared\n"
"with it.\n"
"\n"
"show prints the feature's accepted baseline.\n"
"\n"
"Options:\n"
"  --feature SLUG   the feature; may be left out when the log holds one feature\n"
"  --snapshot ID    accept snapshot ID (default: the feature's latest snapshot)\n"
"  --branch B       target branch of the baseline (default: the branch the\n"
"                   snapshot's scan recorded -- the git branch of the mission\n"
"                   folder, else 'main')\n"
"  --json           show: print one JSON object (schema:\n"
"                   schemas/reports/baseline.schema.json)\n"
"  --log DIR        event log folder (default: $DOSSIER_LOG, else the nearest\n"
"                   .dossier folder here or above, as git finds .git)\n"
"  -h, --help       show this help\n"
"\n"
"Exit status:\n"
"  0  baseline accepted / shown\n"
"  1  no such snapshot, or no baseline to show\n"
"  2  usage error (also: several features and no --feature)\n"
"  3  the log cannot be opened or written\n"
"\n"
"Examples:\n"
"  dossier scan mission && dossier baseline accept --log mission/.dossier\n"
"  dossier baseline accept --feature 042-x --snapshot 01JD2W8K3Q9V6M4T0B5N7R1XYZ\n"
"  dossier baseline show --json\n";

enum { OPT_LOG = 256, OPT_FEATURE, OPT_SNAPSHOT, OPT_BRANCH, OPT_JSON };

/* The baseline object every report shares (cli_baseline_json), with the
 * rest of the baseline's key. */
static void show_json(dsr_log *log, const dsr_baseline_info *b)
{
    cli_origin o = cli_baseline_origin(log, b);
    cli_baseline_json(b, &o, 0);
    const char *k[] = { "feature_slug", "project_uuid", "node_id" };
    const char *v[] = { b->feature_slug, b->project_uuid, b->node_id };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        printf(",\"%s\":", k[i]);
        cli_json_fputs(stdout, v[i]);
    }
    printf("}\n");
}

static void show_text(const dsr_baseline_info *b)
{
    printf("Feature:          %s\n", cli_safe(b->feature_slug));
    printf("Baseline:         snapshot %s\n", b->snapshot_id);
    printf("Parity hash:      %s\n", b->parity_hash_sha256);
    printf("Accepted:         %s (event %s)\n", b->timestamp ? b->timestamp : "-",
           b->event_id ? b->event_id : "-");
    printf("Key:              branch %s, mission %s, manifest %s\n",
           b->target_branch ? b->target_branch : "-", b->mission_key ? b->mission_key : "none",
           b->manifest_version ? b->manifest_version : "none");
    printf("                  project %s, node %s\n", b->project_uuid ? b->project_uuid : "-",
           b->node_id ? b->node_id : "-");
}

static int do_show(dsr_log *log, const char *feature, int json)
{
    dsr_err err = { 0 };
    dsr_baseline_info *b = NULL;
    int rc = dsr_replay_baseline_get(log, feature, &b, &err);
    if (rc == DSR_ENOTFOUND) {
        cli_error("baseline", "%s (accept one with 'dossier baseline accept')", err.msg);
        return DSR_EXIT_INCOMPLETE;
    }
    if (rc)
        return cli_fail(&err, "baseline");
    if (json)
        show_json(log, b);
    else
        show_text(b);
    dsr_baseline_info_free(b);
    return fflush(stdout) ? DSR_EXIT_IO : DSR_EXIT_OK;
}

static int do_accept(dsr_log *log, const char *feature, const char *snapshot_id,
                     const char *branch)
{
    dsr_err err = { 0 };
    dsr_snapshot_info *s = NULL;
    int rc = dsr_replay_snapshot_get(log, feature, snapshot_id, 0, &s, &err);
    if (rc == DSR_ENOTFOUND) {
        cli_error("baseline", "%s", err.msg);
        return DSR_EXIT_INCOMPLETE;
    }
    if (rc)
        return cli_fail(&err, "baseline");
    const char *target = branch ? branch : s->target_branch ? s->target_branch : "main";
    /* the snapshot's own project and node: identical to the log's for a scan
     * made here; for an imported scan, the only key its successors match */
    const char *project = s->project_uuid ? s->project_uuid : dsr_log_project_uuid(log);
    const char *node = s->node_id ? s->node_id : dsr_log_node_id(log);
    dsr_baseline_accepted p = { s->feature_slug, s->snapshot_id, s->parity_hash_sha256,
                                project, node, target, s->mission_type, s->manifest_version };
    /* correlation: the scan run the snapshot came from; causation: the snapshot event */
    dsr_emit_meta m = { s->run_id, s->event_id, NULL, NULL };
    dsr_emit_result res;
    dsr_log_batch *b = NULL;
    rc = dsr_log_batch_begin(log, &b, &err);
    if (!rc) {
        rc = dsr_emit_baseline_accepted(b, &p, &m, &res, &err);
        if (rc)
            dsr_log_batch_abort(b);
        else
            rc = dsr_log_batch_commit(b, &err);
    }
    /* the drift projection assesses the latest snapshot against it now */
    if (!rc)
        rc = dsr_replay_catch_up(log, NULL, &err);
    if (rc) {
        dsr_snapshot_info_free(s);
        return cli_fail(&err, "baseline");
    }
    printf("Accepted snapshot %s of %s as baseline (branch %s, parity %.16s...).\n",
           s->snapshot_id, cli_safe(s->feature_slug), cli_safe(target), s->parity_hash_sha256);
    printf("Event: %s\n", res.event_id);
    dsr_drift_info *d = NULL;
    if (!dsr_replay_drift_get(log, s->feature_slug, &d, &err)) {
        if (d->status == DSR_DRIFT_DETECTED)
            printf("The latest snapshot %s differs from it (%s): see 'dossier drift'.\n",
                   d->snapshot_id, d->severity);
        else if (d->status == DSR_DRIFT_NOT_COMPARED)
            printf("The latest snapshot %s has another key and is not compared with it: "
                   "see 'dossier drift'.\n", d->snapshot_id);
        dsr_drift_info_free(d);
    }
    dsr_snapshot_info_free(s);
    return fflush(stdout) ? DSR_EXIT_IO : DSR_EXIT_OK;
}

int cmd_baseline(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
        { "branch", required_argument, NULL, OPT_BRANCH },
        { "json", no_argument, NULL, OPT_JSON },
        { "log", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_opt = NULL, *feature_opt = NULL, *snapshot = NULL, *branch = NULL;
    int json = 0, ch;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "h", longopts)) != -1) {
        switch (ch) {
        case OPT_FEATURE:  feature_opt = optarg; break;
        case OPT_SNAPSHOT: snapshot = optarg; break;
        case OPT_BRANCH:
            if (!*optarg)
                return cli_usage("baseline", "--branch needs a non-empty name");
            branch = optarg;
            break;
        case OPT_JSON:     json = 1; break;
        case OPT_LOG:      log_opt = optarg; break;
        case 'h':          fputs(usage_text, stdout); return DSR_EXIT_OK;
        default:
            return cli_usage("baseline", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage("baseline", "missing action: accept or show");
    const char *action = argv[optind];
    int accept = !strcmp(action, "accept");
    if (!accept && strcmp(action, "show"))
        return cli_usage("baseline", "unknown action '%s' (accept or show)", action);
    const char *mission = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (optind + 2 < argc)
        return cli_usage("baseline", "unexpected argument '%s'", argv[optind + 2]);
    if (accept && json)
        return cli_usage("baseline", "--json applies to 'show' only");
    if (!accept && (snapshot || branch))
        return cli_usage("baseline", "--snapshot and --branch apply to 'accept' only");

    dsr_log *log = NULL;
    int code = cli_proj_open("baseline", log_opt, mission, accept, &log, NULL);
    if (code)
        return code;
    char *feature = NULL;
    if (!snapshot || feature_opt)
        code = cli_proj_feature("baseline", log, feature_opt, 0, &feature);
    if (!code)
        code = accept ? do_accept(log, feature, snapshot, branch) : do_show(log, feature, json);
    free(feature);
    dsr_log_close(log);
    return code;
}

/*
 * cmd_diff.c - `dossier diff [A] [B]`: which artifacts differ between two
 * snapshots of a feature (added, removed, changed content), like `restic
 * diff` and `aide --check`.  The comparison is the library's
 * (dsr_replay_diff): the same walk the drift projection uses.
 */
#include "cli.h"
#include "cli_proj.h"
#include "dossier/replay.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
"Usage: dossier diff [--feature SLUG] [--json] [--log DIR] [MISSION_DIR] [FROM [TO]]\n"
"\n"
"Show which artifacts differ between two snapshots of a feature: added (+),\n"
"removed (-) and changed content (M, old -> new SHA-256).  Entries are\n"
"matched by artifact key and path, so a file moved to another path is one\n"
"removal and one addition.\n"
"\n"
"With no snapshot named, the latest snapshot is compared with the accepted\n"
"baseline, or with the snapshot before it when no baseline is accepted.\n"
"FROM alone is compared with the latest snapshot.  Snapshot ids are listed\n"
"by 'dossier log'.\n"
"\n"
"Options:\n"
"  --feature SLUG   the feature; may be left out when the log holds one feature\n"
"                   or when both FROM and TO are given\n"
"  --json           print one JSON object instead of text (schema:\n"
"                   schemas/reports/diff.schema.json; names: docs/reports.md)\n"
"  --log DIR        event log folder (default: $DOSSIER_LOG, else the nearest\n"
"                   .dossier folder here or above, as git finds .git)\n"
"  -h, --help       show this help\n"
"\n"
"Exit status:\n"
"  0  the two snapshots hold the same artifacts with the same content\n"
"  1  they differ\n"
"  2  usage error: an unknown snapshot, one of another feature, or nothing to\n"
"     compare with (a single snapshot and no baseline)\n"
"  3  the log cannot be opened or read\n"
"\n"
"Examples:\n"
"  dossier diff                         # baseline (or previous) -> latest\n"
"  dossier diff 01J5Z7Q8 --json | jq '.changed[].relative_path'\n";

enum { OPT_LOG = 256, OPT_FEATURE, OPT_JSON };

/* One printed line: the three lists merged in (key, path) order. */
typedef struct row {
    char                    mark;   /* '+', '-', 'M' */
    const dsr_drift_change *c;
} row;

static int row_cmp(const void *a, const void *b)
{
    const dsr_drift_change *x = ((const row *)a)->c, *y = ((const row *)b)->c;
    int k = strcmp(x->artifact_key, y->artifact_key);
    return k ? k : strcmp(x->relative_path, y->relative_path);
}

static const char *from_label(const dsr_snapshot_diff *d)
{
    switch (d->from_kind) {
    case DSR_DIFF_FROM_BASELINE: return "baseline";
    case DSR_DIFF_FROM_PREVIOUS: return "previous";
    default:                     return "given";
    }
}


static void print_json(const dsr_snapshot_diff *d)
{
    printf("{\"feature_slug\":");
    cli_json_fputs(stdout, d->feature_slug);
    printf(",\"from\":{\"snapshot_id\":");
    cli_json_fputs(stdout, d->from_snapshot_id);
    printf(",\"parity_hash_sha256\":\"%s\",\"role\":\"%s\"}", d->from_parity, from_label(d));
    printf(",\"to\":{\"snapshot_id\":");
    cli_json_fputs(stdout, d->to_snapshot_id);
    printf(",\"parity_hash_sha256\":\"%s\",\"latest\":%s}", d->to_parity,
           d->to_is_latest ? "true" : "false");
    printf(",\"equal\":%s", d->n_changed + d->n_removed + d->n_added ? "false" : "true");
    cli_json_changes("added", d->added, d->n_added);
    cli_json_changes("removed", d->removed, d->n_removed);
    cli_json_changes("changed", d->changed, d->n_changed);
    printf("}\n");
}

static int print_text(const dsr_snapshot_diff *d)
{
    printf("%s: %s (%s) -> %s%s\n", cli_safe(d->feature_slug), d->from_snapshot_id, from_label(d),
           d->to_snapshot_id, d->to_is_latest ? " (latest)" : "");
    size_t n = d->n_added + d->n_removed + d->n_changed;
    row *rows = n ? malloc(n * sizeof *rows) : NULL;
    if (n && !rows)
        return -1;
    size_t k = 0, wkey = 0;
    for (size_t i = 0; i < d->n_removed; i++)
        rows[k++] = (row){ '-', &d->removed[i] };
    for (size_t i = 0; i < d->n_changed; i++)
        rows[k++] = (row){ 'M', &d->changed[i] };
    for (size_t i = 0; i < d->n_added; i++)
        rows[k++] = (row){ '+', &d->added[i] };
    if (n > 1)   /* rows is NULL when nothing differs */
        qsort(rows, n, sizeof *rows, row_cmp);
    for (size_t i = 0; i < n; i++) {
        size_t w = strlen(rows[i].c->artifact_key);
        if (w > wkey)
            wkey = w;
    }
    for (size_t i = 0; i < n; i++) {
        const dsr_drift_change *c = rows[i].c;
        printf("%c  %-*s  %s", rows[i].mark, (int)wkey, cli_safe(c->artifact_key), cli_safe(c->relative_path));
        if (rows[i].mark == 'M')
            printf("  %.12s -> %.12s", c->old_sha256, c->new_sha256);
        printf("\n");
    }
    free(rows);
    if (n)
        printf("%zu added, %zu removed, %zu changed\n", d->n_added, d->n_removed, d->n_changed);
    else
        printf("no difference (parity %s)\n", d->to_parity);
    return 0;
}

int cmd_diff(int argc, char **argv)
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
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "h", longopts)) != -1) {
        switch (ch) {
        case OPT_FEATURE: feature_opt = optarg; break;
        case OPT_JSON:    json = 1; break;
        case OPT_LOG:     log_opt = optarg; break;
        case 'h':         fputs(usage_text, stdout); return DSR_EXIT_OK;
        default:
            return cli_usage("diff", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    /* a first argument that is a folder names the mission, not a snapshot */
    struct stat st;
    const char *mission = NULL;
    if (optind < argc && stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode))
        mission = argv[optind++];
    if (argc - optind > 2)
        return cli_usage("diff", "unexpected argument '%s'", argv[optind + 2]);
    const char *from = optind < argc ? argv[optind] : NULL;
    const char *to = optind + 1 < argc ? argv[optind + 1] : NULL;

    dsr_log *log = NULL;
    char *feature = NULL;
    int stale = 0;
    int code = cli_proj_open_feature("diff", log_opt, mission, feature_opt,
                                     from && to && !feature_opt, &log, &feature, &stale);
    dsr_snapshot_diff *d = NULL;
    dsr_err err = { 0 };
    if (!code) {
        int rc = dsr_replay_diff(log, feature, from, to, &d, &err);
        if (rc == DSR_ENOTFOUND) {
            cli_error("diff", "%s", err.msg);
            code = DSR_EXIT_USAGE;
        } else if (rc) {
            code = cli_fail(&err, "diff");
        }
    }
    if (!code) {
        if (stale)
            cli_proj_stale_note("diff");
        if (json)
            print_json(d);
        else if (print_text(d))
            cli_error("diff", "out of memory");
        code = cli_proj_flush("diff");
        if (!code && d->n_added + d->n_removed + d->n_changed)
            code = DSR_EXIT_INCOMPLETE;
    }
    dsr_snapshot_diff_free(d);
    free(feature);
    dsr_log_close(log);
    return code;
}

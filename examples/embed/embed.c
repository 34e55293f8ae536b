/*
 * embed.c - the smallest useful program on libdossier: scan a mission folder
 * against a built-in manifest, record the run in a log, bring the projections
 * up to date and print the snapshot.
 *
 *   cc embed.c $(pkg-config --cflags --libs dossier) -o embed
 *   ./embed MISSION_DIR LOG_DIR [MISSION_TYPE]
 */
#include <dossier/dossier.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MISSION_DIR LOG_DIR [MISSION_TYPE]\n", argv[0]);
        return 2;
    }
    dsr_err err;
    dsr_manifest *manifest = NULL;
    dsr_log *log = NULL;
    dsr_scan_result *result = NULL;
    dsr_snapshot_info *snap = NULL;
    int status = 3;

    if (argc > 3 && dsr_manifest_load_builtin(argv[3], &manifest, &err))
        goto fail;
    if (dsr_log_open(&log, argv[2], 0, &err))
        goto fail;
    dsr_scan_opts opts = { .version = DSR_SCAN_OPTS_VERSION, .root = argv[1], .manifest = manifest };
    if (dsr_scan(&opts, &result, &err))
        goto fail;
    dsr_record_opts ropts = { .version = DSR_RECORD_OPTS_VERSION,
        .mission_type = manifest ? dsr_manifest_mission_type(manifest) : NULL,
        .manifest_version = manifest ? dsr_manifest_version(manifest) : NULL,
    };
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    if (dsr_record_scan(log, result, &ropts, &st, &err))
        goto fail;
    if (dsr_replay_catch_up(log, NULL, &err))
        goto fail;
    if (dsr_replay_snapshot_get(log, result->feature_slug, NULL, 0, &snap, &err))
        goto fail;
    printf("feature %s: %zu artifacts present, %s, parity %s\n", result->feature_slug,
           result->n_present, snap->completeness_status, snap->parity_hash_sha256);
    status = 0;
    goto out;
fail:
    fprintf(stderr, "embed: %s\n", err.msg);
out:
    dsr_snapshot_info_free(snap);
    dsr_scan_result_free(result);
    dsr_log_close(log);
    dsr_manifest_free(manifest);
    return status;
}

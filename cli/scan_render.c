/*
 * scan_render.c - what `dossier scan` shows of a recorded run: the skipped
 * entries on stderr, the summary (or one JSON object) on stdout, and the
 * exit status.  Shared by `scan` and by `watch`, which renders the same for
 * a scan that asked it for the run (cmd_watch.c).
 */
#include "cli.h"
#include "cli_proj.h"
#include "cli_report.h"
#include "scan_opts.h"
#include "scan_render.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* The run's counts: its snapshot's when the projection has it (the numbers
 * status and snapshot show), else the scan's, by the same definitions. */
static cli_counts run_counts(const dsr_ingest_report *rep)
{
    const dsr_snapshot_info *snap = rep->snapshot;
    if (snap && snap->run_id && !strcmp(snap->run_id, rep->record.run_id))
        return cli_counts_of_snapshot(snap);
    return cli_counts_of_scan(rep->scan);
}

/* Events the run recorded: its artifact events and the completion marker. */
static unsigned long long run_events(const dsr_record_stats *st)
{
    return st->first_seq ? (unsigned long long)(st->last_seq - st->first_seq + 1) : 0;
}

static void print_human(const cli_scan_view *c, const dsr_ingest_report *rep)
{
    const dsr_scan_result *r = rep->scan;
    const dsr_record_stats *st = &rep->record;
    const dsr_snapshot_info *snap = rep->snapshot;
    const dsr_drift_info *drift = rep->drift;
    cli_counts n = run_counts(rep);
    size_t unusable = cli_optional_unusable(r);
    printf("dossier scan: %s (feature %s)\n", cli_safe(c->mission_dir),
           cli_safe(r->feature_slug));
    const dsr_scan_settings *set = rep->settings;
    printf("  manifest      %s%s\n", set && set->mission_type ? cli_settings_manifest(set)
                                    : "none (completeness unknown)",
           rep->reused & DSR_SETTING_MANIFEST && set && set->mission_type
           ? " (remembered from the last scan)" : "");
    printf("  artifacts     ");
    cli_counts_text(stdout, &n);
    putchar('\n');
    if (unusable)
        printf("  unusable      %zu optional file%s not counted (not recorded; see 'dossier "
               "index')\n", unusable, unusable == 1 ? "" : "s");
    if (r->n_excluded)
        printf("  excluded      %zu entr%s (.dossierignore, --exclude)\n", r->n_excluded,
               r->n_excluded == 1 ? "y" : "ies");
    if (r->n_warnings)
        printf("  skipped       %zu entr%s (listed on stderr; --list-skipped for all)\n",
               r->n_warnings, r->n_warnings == 1 ? "y" : "ies");
    fputs("  completeness  ", stdout);
    cli_put_status(stdout, !r->has_manifest ? "unknown"
                           : r->n_required_missing ? "incomplete" : "complete");
    putchar('\n');
    printf("  events        %llu recorded (%llu indexed, %llu missing, %llu removed, 1 scan "
           "completed), sequences %llu..%llu, run %s\n", run_events(st),
           (unsigned long long)st->indexed, (unsigned long long)st->missing,
           (unsigned long long)st->removed, (unsigned long long)st->first_seq,
           (unsigned long long)st->last_seq, st->run_id);
    if (c->emit_changed)
        printf("  emit changed  %llu unchanged (not re-emitted), %llu removed\n",
               (unsigned long long)st->unchanged, (unsigned long long)st->removed);
    if (c->watcher_pid && c->watched->paths_only)
        printf("  watcher       answered by 'dossier watch' (pid %ld): %llu changed path%s "
               "scanned, the rest kept from its last run\n", c->watcher_pid,
               (unsigned long long)c->watched->n_paths, c->watched->n_paths == 1 ? "" : "s");
    else if (c->watcher_pid)
        printf("  watcher       answered by 'dossier watch' (pid %ld): the whole tree "
               "scanned\n", c->watcher_pid);
    /* the cache counts also cover unusable files of invalid UTF-8, which
     * the result still holds after its present artifacts were dropped */
    size_t unusable_cached = 0;
    for (size_t i = 0; i < r->n_artifacts; i++)
        unusable_cached += !r->artifacts[i].present && r->artifacts[i].cache_use != DSR_CACHE_MISS;
    printf("  cache         %zu unchanged (not read), %zu re-read (XXH3 matched), "
           "%zu hashed%s\n", r->n_cache_stat, r->n_cache_xxh3,
           r->n_present + unusable_cached - r->n_cache_stat - r->n_cache_xxh3,
           c->rehash || c->verify_cache ? " (--rehash)" : "");
    if (c->verify_cache)
        printf("  verify-cache  %zu stale entr%s\n", r->n_cache_stale,
               r->n_cache_stale == 1 ? "y" : "ies");
    printf("  log           %s, head %llu (%llu derived event%s after the run)\n", rep->log_dir,
           (unsigned long long)rep->head, (unsigned long long)(rep->head - st->last_seq),
           rep->head - st->last_seq == 1 ? "" : "s");
    if (snap)
        printf("  snapshot      %s, parity %s%s%s\n", snap->snapshot_id,
               snap->profile == DSR_PROFILE_SPEC_KITTY_3 ? "sha256:" : "",
               snap->parity_hash_sha256, snap->profile == DSR_PROFILE_SPEC_KITTY_3
               ? " (profile spec-kitty-3)" : "");
    if (drift && drift->status == DSR_DRIFT_DETECTED)
        printf("  drift         %s against baseline %s (see 'dossier drift')\n",
               drift->severity, drift->baseline_snapshot_id);
    else if (drift)
        printf("  drift         %s\n", drift->status == DSR_DRIFT_NO_BASELINE
                                   ? "no baseline accepted yet (dossier baseline accept)"
                                   : dsr_drift_status_name(drift->status));
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (!a->present && a->required)
            printf("  missing       %s (%s: %s)\n", a->artifact_key, cli_safe(a->relative_path),
                   dsr_reason_name(a->reason));
    }
}

/* One object (schemas/reports/scan.schema.json; names in docs/reports.md). */
static void print_json(const cli_scan_view *c, const dsr_ingest_report *rep)
{
    const dsr_scan_result *r = rep->scan;
    const dsr_record_stats *st = &rep->record;
    const dsr_snapshot_info *snap = rep->snapshot;
    cli_counts n = run_counts(rep);
    printf("{\"feature_slug\":");
    cli_json_fputs(stdout, r->feature_slug);
    printf(",\"run_id\":\"%s\",\"completed\":%s,\"completeness_status\":\"%s\",",
           st->run_id, st->completed ? "true" : "false", dsr_scan_completeness(r));
    cli_counts_json(&n);
    putchar(',');
    cli_missing_json_scan(r);
    printf(",\"optional_unusable\":%zu,\"skipped\":%zu,\"excluded\":%zu,\"emit_mode\":\"%s\","
           "\"events\":%llu,\"indexed\":%llu,\"missing\":%llu,\"removed\":%llu,"
           "\"unchanged\":%llu,\"first_seq\":%llu,\"last_seq\":%llu,\"head\":%llu,"
           "\"log\":", cli_optional_unusable(r), r->n_warnings, r->n_excluded,
           c->emit_changed ? "changed" : "full", run_events(st), (unsigned long long)st->indexed,
           (unsigned long long)st->missing, (unsigned long long)st->removed,
           (unsigned long long)st->unchanged, (unsigned long long)st->first_seq,
           (unsigned long long)st->last_seq, (unsigned long long)rep->head);
    cli_json_fputs(stdout, rep->log_dir);
    char stale[32] = "null";   /* only known when every file was re-read */
    if (c->rehash || c->verify_cache)
        snprintf(stale, sizeof stale, "%zu", r->n_cache_stale);
    printf(",\"cache\":{\"unchanged\":%zu,\"xxh3_reused\":%zu,\"stale\":%s,"
           "\"written\":%llu,\"deleted\":%llu}", r->n_cache_stat, r->n_cache_xxh3, stale,
           (unsigned long long)st->cache_put, (unsigned long long)st->cache_del);
    printf(",\"snapshot_id\":");
    cli_json_fputs(stdout, snap ? snap->snapshot_id : NULL);
    printf(",\"parity_hash_sha256\":");
    cli_json_fputs(stdout, snap ? snap->parity_hash_sha256 : NULL);
    if (snap && snap->profile != DSR_PROFILE_WP04)
        /* only for other profiles: the wp04 report keeps its fields */
        printf(",\"profile\":\"%s\",\"snapshot_hash\":\"sha256:%s\"",
               dsr_profile_name(snap->profile), snap->parity_hash_sha256);
    if (c->watcher_pid)
        printf(",\"watcher\":{\"pid\":%ld,\"paths_only\":%s,\"paths\":%llu}", c->watcher_pid,
               c->watched->paths_only ? "true" : "false",
               (unsigned long long)c->watched->n_paths);
    printf(",\"drift\":");
    cli_drift_json(rep->drift, 1);
    printf("}\n");
}

void cli_scan_report_stale(const dsr_ingest_report *rep)
{
    for (size_t i = 0; i < rep->n_cache_stale; i++)
        cli_error("verify-cache", "%s: content changed but size and mtime did not "
                  "(edited behind an unchanged stat, or mtime restored); cache entry "
                  "corrected", rep->cache_stale[i]);
}

void cli_scan_show(const cli_scan_view *v, const dsr_ingest_report *rep)
{
    assert(!v->watcher_pid || v->watched);
    cli_report_skipped("scan", rep->scan, v->list_skipped);
    if (v->json)
        print_json(v, rep);
    else if (!v->quiet)
        print_human(v, rep);
}

int cli_scan_exit(const cli_scan_view *v, const dsr_ingest_report *rep)
{
    const dsr_scan_result *r = rep->scan;
    if (v->verify_cache && r->n_cache_stale)
        return DSR_EXIT_INCOMPLETE;
    return r->has_manifest && r->n_required_missing ? DSR_EXIT_INCOMPLETE : DSR_EXIT_OK;
}

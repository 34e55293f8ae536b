/*
 * scan_render.h - what `dossier scan` shows of a recorded run (see
 * scan_render.c).
 */
#ifndef DOSSIER_CLI_SCAN_RENDER_H
#define DOSSIER_CLI_SCAN_RENDER_H

#include "dossier/ingest.h"
#include "dossier/watch.h"

/* The choices of the scan command that shape what it shows. */
typedef struct cli_scan_view {
    const char *mission_dir;    /* as the user gave it */
    int         json, quiet, list_skipped;
    int         emit_changed, rehash, verify_cache;
    /* A run a watcher recorded for the scan: its process id and how the
     * run came about; 0 and NULL for a scan's own run. */
    long                      watcher_pid;
    const dsr_watch_run_info *watched;
} cli_scan_view;

/* With --verify-cache: one error line on stderr per stale cache entry the
 * run found (rep->cache_stale), before the summary. */
void cli_scan_report_stale(const dsr_ingest_report *rep);
/* The skipped entries (stderr, by the verbosity), then the summary or the
 * JSON object (stdout).  rep is a recorded run's report. */
void cli_scan_show(const cli_scan_view *v, const dsr_ingest_report *rep);
/* The exit status of a recorded run: 1 when a required artifact is missing
 * or unusable (with a manifest) or --verify-cache found a stale entry, else 0. */
int  cli_scan_exit(const cli_scan_view *v, const dsr_ingest_report *rep);

#endif

/*
 * scan_progress.h - the progress line `dossier index` and `dossier scan`
 * draw on stderr while hashing: files, bytes, rate and ETA, redrawn four
 * times a second by a helper thread that only reads the scan's
 * dsr_scan_progress counters.  Drawn only when stderr is a terminal (never
 * into pipes or files) and not with --quiet.
 */
#ifndef DOSSIER_CLI_SCAN_PROGRESS_H
#define DOSSIER_CLI_SCAN_PROGRESS_H

#include "dossier/scan.h"

typedef struct cli_progress cli_progress;

/* Start drawing p's counters on stderr when enabled and stderr is a TTY;
 * returns NULL (nothing drawn) otherwise or when the thread cannot start. */
cli_progress *cli_progress_start(dsr_scan_progress *p, int enabled);
/* Stop the thread and erase the line.  NULL is fine. */
void cli_progress_stop(cli_progress *pr);

#endif

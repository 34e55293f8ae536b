/*
 * cli_proj.h - what the projection commands (status, snapshot, drift,
 * baseline, replay) share: opening the log with projections caught up,
 * choosing the feature, and JSON text output.
 */
#ifndef DOSSIER_CLI_PROJ_H
#define DOSSIER_CLI_PROJ_H

#include <stdio.h>

#include "dossier/profile.h"

#include "dossier/error.h"
#include "dossier/log.h"

/* Open the log named by --log / $DOSSIER_LOG / MISSION_DIR/.dossier (when
 * mission_dir is not NULL) / the nearest .dossier of the current folder or
 * its parents (cli_log_dir), never creating one.  With want_writer: a writer handle (waiting for the lock), caught up;
 * otherwise a writer if the lock is free, caught up, else a read-only handle
 * showing the state as last committed (*stale = 1).  Returns an exit code
 * (0 ok) after printing any error as `dossier <cmd>: ...`. */
int cli_proj_open(const char *cmd, const char *log_opt, const char *mission_dir,
                  int want_writer, dsr_log **out, int *stale);

/* cli_proj_open, then cli_proj_feature (allow_all 0) unless no_feature: the
 * common start of a report.  Returns an exit code (0 ok); on failure *log is
 * closed again and NULL; *feature is malloc'd or NULL. */
int cli_proj_open_feature(const char *cmd, const char *log_opt, const char *mission_dir,
                          const char *feature_opt, int no_feature, dsr_log **log,
                          char **feature, int *stale);

/* Flush a report from stdout: 0, or DSR_EXIT_IO after saying it could not
 * be written. */
int cli_proj_flush(const char *cmd);

/* The note a report prints on stderr when cli_proj_open gave it a stale
 * read-only view (`dossier <cmd>: note: ...`). */
void cli_proj_stale_note(const char *cmd);

/* Choose the feature: opt when given (must have a snapshot), else the only
 * feature of the log; with several, a usage error listing them (when
 * allow_all is 0) or *feature = NULL meaning "all" (allow_all 1).  Returns an
 * exit code (0 ok); *feature is malloc'd or NULL. */
int cli_proj_feature(const char *cmd, dsr_log *log, const char *opt, int allow_all,
                     char **feature);

/* `,"name":[...]` on stdout: each change as {artifact_key, relative_path,
 * old_sha256, new_sha256 (null on the side that lacks the entry),
 * required_status}, the shape drift and diff share. */
struct dsr_drift_change;
void cli_json_changes(const char *name, const struct dsr_drift_change *v, size_t n);

/* JSON string (with quotes) or null. */
void cli_json_fputs(FILE *f, const char *s);

/* Options of the read-only report commands (status, drift): --feature SLUG,
 * --json, --log DIR, -h, and an optional MISSION_DIR argument.  Returns 0,
 * -1 after printing usage_text for --help, or DSR_EXIT_USAGE after a usage
 * error. */
typedef struct cli_report_opts {
    const char *log_opt, *feature_opt, *mission_dir;
    int         json;
    int         has_profile;   /* --profile P given */
    dsr_profile profile;
} cli_report_opts;

/* --profile P of snapshot, status and drift: the snapshot shown must have
 * been scanned with P.  0 when it was (or no --profile), else prints an
 * error naming both profiles and how to rescan and returns 1. */
int cli_proj_check_profile(const char *cmd, const char *feature, dsr_profile got,
                           int has_profile, dsr_profile want);
/* The help lines of that option. */
#define CLI_PROJ_PROFILE_HELP \
"  --profile P      the snapshot must come from a scan with profile P (wp04 or\n" \
"                   spec-kitty-3, see 'dossier scan --profile'); else an error\n"
int cli_proj_parse_report(int argc, char **argv, const char *cmd, const char *usage_text,
                          cli_report_opts *o);

#endif

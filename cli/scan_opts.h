/*
 * scan_opts.h - the options `dossier index`, `dossier scan` and `dossier
 * watch` share, in one getopt table and one handler: what is scanned and how
 * (CLI_SCAN_LONGOPTS: manifest or mission type, step, feature, jobs, size
 * cap, excludes, profile), and for the two that record into a log
 * (CLI_SCAN_LOG_LONGOPTS: log, branch, wait, delivery, --reset-settings).
 * The remembered settings (dossier/scan_settings.h) are asked for and
 * reported here, once for scan and watch.
 */
#ifndef DOSSIER_CLI_SCAN_OPTS_H
#define DOSSIER_CLI_SCAN_OPTS_H

#include <getopt.h>

#include "dossier/ingest.h"
#include "dossier/manifest.h"
#include "dossier/scan.h"

typedef struct cli_scan_opts {
    const char   *mission_dir;
    const char   *manifest_path;   /* --manifest */
    const char   *mission_type;    /* --mission-type */
    const char   *step;            /* --step */
    const char   *feature;         /* --feature */
    unsigned      jobs;            /* --jobs, 0 = cores */
    int           list_skipped;    /* --list-skipped: every skipped entry, not a sample */
    uint64_t      max_file_size;   /* --max-file-size, 0 = the library's default */
    const char  **excludes;        /* --exclude, in order (malloc'd array) */
    size_t        n_excludes;
    dsr_profile   profile;         /* --profile, default wp04 */
    dsr_manifest *manifest;        /* loaded by cli_scan_load_manifest */
    unsigned      given;           /* DSR_SETTING_* bits of the settings given */
    /* CLI_SCAN_LOG_LONGOPTS */
    const char   *log_opt;         /* --log */
    const char   *branch;          /* --branch */
    int           wait;            /* --wait */
    int           deliver;         /* --deliver */
    const char   *endpoint;        /* --endpoint NAME */
    int           reset_settings;  /* --reset-settings */
} cli_scan_opts;

/* getopt_long values of the shared options (above the commands' own). */
enum {
    CLI_SO_MANIFEST = 0x2000, CLI_SO_MISSION_TYPE, CLI_SO_STEP, CLI_SO_FEATURE, CLI_SO_JOBS,
    CLI_SO_MAX_SIZE, CLI_SO_EXCLUDE, CLI_SO_PROFILE, CLI_SO_LIST_SKIPPED,
    CLI_SO_LOG, CLI_SO_BRANCH, CLI_SO_WAIT, CLI_SO_DELIVER, CLI_SO_ENDPOINT, CLI_SO_RESET
};
/* What to scan and how: index, scan, watch. */
#define CLI_SCAN_LONGOPTS \
    { "manifest", required_argument, NULL, CLI_SO_MANIFEST }, \
    { "mission-type", required_argument, NULL, CLI_SO_MISSION_TYPE }, \
    { "step", required_argument, NULL, CLI_SO_STEP }, \
    { "feature", required_argument, NULL, CLI_SO_FEATURE }, \
    { "jobs", required_argument, NULL, CLI_SO_JOBS }, \
    { "max-file-size", required_argument, NULL, CLI_SO_MAX_SIZE }, \
    { "exclude", required_argument, NULL, CLI_SO_EXCLUDE }, \
    { "profile", required_argument, NULL, CLI_SO_PROFILE }
#define CLI_SCAN_LIST_SKIPPED_LONGOPT \
    { "list-skipped", no_argument, NULL, CLI_SO_LIST_SKIPPED }
/* Recording into a log: scan, watch. */
#define CLI_SCAN_LOG_LONGOPTS \
    { "log", required_argument, NULL, CLI_SO_LOG }, \
    { "branch", required_argument, NULL, CLI_SO_BRANCH }, \
    { "wait", no_argument, NULL, CLI_SO_WAIT }, \
    { "deliver", no_argument, NULL, CLI_SO_DELIVER }, \
    { "endpoint", required_argument, NULL, CLI_SO_ENDPOINT }, \
    { "reset-settings", no_argument, NULL, CLI_SO_RESET }

/* Apply option ch (with its argument arg) of the tables above for command
 * cmd.  Returns 0 when ch is none of them; else 1, with *rc DSR_EXIT_OK or
 * the exit code of a usage error it printed. */
int  cli_scan_opt(cli_scan_opts *o, const char *cmd, int ch, const char *arg, int *rc);
/* After the options: exactly one MISSION_DIR at argv[optind], a non-empty
 * --feature, --deliver and --endpoint not both.  Prints; returns an exit code. */
int  cli_scan_operand(cli_scan_opts *o, const char *cmd, int argc, char **argv);

/* scan and watch: what can be checked before the log is opened - a
 * --manifest file is loaded, a --mission-type must name a built-in manifest
 * (of some profile: the run's profile may be the remembered one), a --step
 * given with its manifest must be one of its steps, and a --step given
 * without one needs a remembered manifest to be possible (not with
 * --reset-settings, nor before the log folder exists).  Prints the error;
 * returns an exit code.  The rest is decided with the remembered settings,
 * by the library (step SETTINGS of dossier/ingest.h). */
int  cli_scan_check_given(cli_scan_opts *o, const char *cmd);
/* The ingest options of scan and watch: root, settings (with
 * DSR_INGEST_REMEMBER and the given bits; all given with --reset-settings),
 * feature, jobs, size cap, branch, log (--log, a global --log, then
 * $DOSSIER_LOG; else the library's default), wait, delivery, plain I/O. */
void cli_scan_ingest_opts(const cli_scan_opts *o, dsr_ingest_opts *io);
/* After step SETTINGS of a run: a note on stderr (warning level) for each
 * setting that differs from the remembered one and for a manifest file
 * whose content changed since; with -v, which settings were reused. */
void cli_scan_settings_notes(const char *cmd, const dsr_ingest_report *rep);
/* The run's manifest as shown: "software-dev", "/abs/m.yaml (mission type
 * x)" or "none"; valid until the next call. */
const char *cli_settings_manifest(const dsr_scan_settings *s);
/* A failed step SETTINGS: prints err with a hint; returns the exit code. */
int  cli_scan_settings_fail(const char *cmd, const dsr_err *err);

/* Loads the manifest chosen by --manifest / --mission-type (none: NULL) and
 * checks --step against it.  Prints the error; returns an exit code. */
int  cli_scan_load_manifest(cli_scan_opts *o, const char *cmd);
/* Parses a --profile value (dsr_profile_parse); on an unknown name prints a
 * usage error naming the accepted ones and returns its exit code, else
 * DSR_EXIT_OK.  Shared by index, scan, snapshot, status and drift. */
int  cli_parse_profile(const char *cmd, const char *s, dsr_profile *out);
/* The --profile lines of those commands' --help. */
#define CLI_PROFILE_HELP \
"  --profile P          wp04 (default: raw-byte hashes, the feature-042 parity\n" \
"                       hash) or spec-kitty-3 (WP files hashed by their static\n" \
"                       frontmatter, every file checked for UTF-8, the\n" \
"                       path<TAB>hash parity hash; docs/interop.md)\n"
/* Parses a --jobs value (1..1024); returns 0 or -1. */
int  cli_parse_jobs(const char *s, unsigned *out);
/* Parses a --max-file-size value: a whole number of bytes, optionally with
 * a binary unit K, M, G or T (also KiB, MiB, GiB, TiB; any case), at least
 * 1 byte.  Returns 0, or -1 for anything else (or an overflow). */
int  cli_parse_size(const char *s, uint64_t *out);
/* The --max-file-size line of `index --help` and `scan --help`. */
#define CLI_MAX_FILE_SIZE_HELP \
"  --max-file-size SIZE\n" \
"                       files larger than SIZE bytes (units K, M, G, T: powers\n" \
"                       of 1024) are not read: reported unreadable, with the\n" \
"                       cap named (default 64G)\n"

/* Append one --exclude PATTERN (checked by the library when the scan
 * starts).  Returns an exit code (usage error for an empty pattern). */
int  cli_scan_add_exclude(cli_scan_opts *o, const char *pattern, const char *cmd);
/* The --reset-settings lines of `scan --help` and `watch --help`. */
#define CLI_RESET_SETTINGS_HELP \
"  --reset-settings     use exactly the settings given here (defaults for the\n" \
"                       rest) instead of reusing the feature's remembered ones\n" \
"                       (manifest or mission type, step, profile, excludes)\n"
/* The paragraph on remembered settings of `scan --help` and `watch --help`. */
#define CLI_REMEMBERED_HELP \
"Remembered settings: every completed scan records its manifest (built-in\n" \
"mission type, or file path and content hash), step, profile and --exclude\n" \
"patterns in the log.  A later scan or watch of the feature that leaves one\n" \
"out reuses the remembered one (-v lists them), so its snapshot stays\n" \
"comparable with the accepted baseline.  A setting given with another value\n" \
"replaces it, with a note on stderr (a step is remembered with its\n" \
"manifest); a manifest file edited since is noted too.  'dossier status'\n" \
"shows them.\n"
/* The --exclude line of `index --help` and `scan --help`. */
#define CLI_EXCLUDE_HELP \
"  --exclude PATTERN    leave out what PATTERN matches (gitignore syntax, as a\n" \
"                       line of .dossierignore; '!' re-includes); repeatable;\n" \
"                       decides before the .dossierignore files do\n"

void cli_scan_opts_free(cli_scan_opts *o);

/* How many skipped entries are shown before the rest is only counted. */
#define CLI_SKIPPED_SAMPLE 5

/* Report the entries the scan skipped (symlink loops, FIFOs, unreadable
 * names...) as warnings on stderr: all of them with list_all, else the first
 * CLI_SKIPPED_SAMPLE and a count of the rest.  Honours -q / DOSSIER_LOG_LEVEL. */
void cli_report_skipped(const char *cmd, const dsr_scan_result *r, int list_all);

/* 1 when DOSSIER_IO_URING=0 asks for plain system calls only (no batched
 * reads through io_uring), for dsr_scan_opts.plain_io. */
int  cli_plain_io(void);

/* Apply -q / -v given to a command to the process-wide verbosity. */
void cli_apply_verbosity(int quiet, int verbose);

#endif

/*
 * scan_opts.h - the options `dossier index` and `dossier scan` share
 * (mission dir, manifest choice, step, feature, jobs), parsed the same way.
 */
#ifndef DOSSIER_CLI_SCAN_OPTS_H
#define DOSSIER_CLI_SCAN_OPTS_H

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
} cli_scan_opts;

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

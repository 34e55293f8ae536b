/*
 * cli.h - shared conventions of the `dossier` command line (private).
 *
 * Every command lives in cli/cmd_<name>.c as `int cmd_<name>(int argc, char **argv)`
 * (argv[0] is the command name), parses its options with getopt_long, prints
 * `--help` text to stdout and returns one of the exit codes below.  Errors go
 * to stderr as `dossier: <context>: <what is wrong>`.
 */
#ifndef DOSSIER_CLI_H
#define DOSSIER_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "dossier/error.h"

/* Exit codes, the same for every command (documented in README and man page). */
enum {
    DSR_EXIT_OK         = 0,  /* success; scan complete; no drift */
    DSR_EXIT_INCOMPLETE = 1,  /* a required artifact missing/unusable; invalid input found */
    DSR_EXIT_USAGE      = 2,  /* bad usage or a broken manifest */
    DSR_EXIT_IO         = 3,  /* I/O failure, log cannot be opened or written */
    DSR_EXIT_DRIFT      = 4,  /* drift from the accepted baseline */
    DSR_EXIT_NOT_COMPARABLE = 5  /* a baseline is accepted but cannot be compared */
};

/* Verbosity of diagnostics on stderr.  Errors are always printed. */
typedef enum cli_level {
    CLI_LEVEL_ERROR = 0,   /* -q: errors only */
    CLI_LEVEL_WARN,        /* default: warnings (skipped files, ...) too */
    CLI_LEVEL_INFO,        /* -v: progress notes */
    CLI_LEVEL_DEBUG        /* -vv */
} cli_level;

/* Process-wide CLI settings: the only mutable state of the CLI, set once by
 * main() from DOSSIER_LOG_LEVEL and global -v/-q, and by commands' own
 * -v/-q.  Single-threaded (the CLI's main thread). */
typedef struct cli_settings {
    cli_level level;
} cli_settings;
extern cli_settings cli_cfg;

/* Parse "error", "warn", "info", "debug"; -1 when unknown. */
int  cli_level_parse(const char *s);
/* Diagnostics at a level: `dossier: <ctx>: <message>` when level <= cli_cfg.level. */
void cli_warn(const char *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_info(const char *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 when only errors are wanted (global -q or DOSSIER_LOG_LEVEL=error): the
 * default of a command's own -q, which also drops its summary. */
int  cli_quiet(void);

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;   /* one line for `dossier --help` */
} cli_command;

/* `dossier: <ctx>: <message>` on stderr (ctx may be NULL). */
void cli_error(const char *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print err as above and return the exit code for its code. */
int  cli_fail(const dsr_err *err, const char *ctx);
/* Usage error: message plus "Try 'dossier <cmd> --help'."; returns DSR_EXIT_USAGE. */
int  cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Map a DSR_E* code to an exit code (manifest/usage -> 2, schema/parse -> 1,
 * everything else that fails -> 3). */
int  cli_exit_code(int dsr_code);

/* The log folder, by precedence: --log DIR, then $DOSSIER_LOG, then
 * <mission_dir>/.dossier when a mission dir is given, else the first
 * .dossier folder (not a symlink) in the current folder or one of its
 * parents, as git finds .git; ./.dossier when there is none.  Writes into
 * buf (size n) and returns buf. */
const char *cli_log_dir(const char *opt_log, const char *mission_dir, char *buf, size_t n);
/* After a cli_log_dir that searched and found nothing: the folders it looked
 * in ("/a/b, /a, /"); "" otherwise. */
const char *cli_log_searched(void);

/* $DOSSIER_BATCH_EVENTS, events per atomic batch: *out = 0 when unset (the
 * default), else its value (1 to 10,000,000).  A value that is not such a
 * number is a usage error naming the variable and the value: prints it and
 * returns DSR_EXIT_USAGE (else 0). */
int cli_env_batch_events(const char *cmd, size_t *out);

struct dsr_buf;
/* Append s as a quoted, escaped JSON string (NULL -> null). */
void cli_json_str(struct dsr_buf *b, const char *s);

/* The whole of a NATS command in a build without libnats: --help works, anything
 * else is a clear "built without NATS support" error (exit 2). */
int cli_without_nats(const char *cmd, const char *usage_text, int argc, char **argv);

/* A duration option: a number (fractions allowed: 1.5, 0.25s) and a unit,
 * ms, s, m or h; a bare number is seconds.  0 and *ms rounded to whole
 * milliseconds, or -1 when s is not a duration or is above max_ms.  Callers
 * that need a positive value check *ms > 0. */
int cli_parse_duration(const char *s, uint64_t max_ms, uint64_t *ms);
/* The bound for durations handed to libnats, which turns them into
 * nanoseconds in an int64_t. */
#define CLI_DURATION_NS_SAFE_MS ((uint64_t)INT64_MAX / 1000000)

/* 1 when colour may be used on f (a TTY and NO_COLOR unset). */
int cli_use_color(FILE *f);

/* Write a status word (complete, incomplete, unknown, error, warning, info,
 * DRIFT, ...) to f, coloured by meaning when cli_use_color(f). */
void cli_put_status(FILE *f, const char *word);

#endif

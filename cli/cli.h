/*
 * cli.h - shared conventions of the `dossier` command line (private).
 *
 * Every command lives in cli/cmd_<name>.c as `int cmd_<name>(int argc, char **argv)`
 * (argv[0] is the command name), parses its options with getopt_long, prints
 * `--help` text to stdout and returns one of the exit codes below.  Errors go
 * to stderr as one line, `dossier <cmd>: <what>: <why>` (cli_error).
 *
 * Options are parsed with cli_getopt, getopt_long plus the global options
 * every command accepts anywhere on its command line (-q, -v, --log DIR,
 * --color[=WHEN], --help); main() takes the same options before the command.
 */
#ifndef DOSSIER_CLI_H
#define DOSSIER_CLI_H

#include <getopt.h>
#include <setjmp.h>
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

/* --color=WHEN: auto (a TTY and NO_COLOR unset), always, never. */
typedef enum cli_color {
    CLI_COLOR_AUTO = 0,
    CLI_COLOR_ALWAYS,
    CLI_COLOR_NEVER
} cli_color;

/* What cli_getopt found when main() asked a command for its options instead
 * of running it (shell completion, cli_complete.c). */
typedef struct cli_optspec {
    const char          *shortopts;
    const struct option *longopts;
} cli_optspec;

/* Process-wide CLI settings: the only mutable state of the CLI, set by main()
 * from DOSSIER_LOG_LEVEL and the global options before the command, and by
 * cli_getopt from the global options after it (and commands' own -v/-q).
 * Single-threaded (the CLI's main thread). */
typedef struct cli_settings {
    cli_level   level;
    cli_color   color;
    const char *cmd;        /* the command being run ("scan"); NULL before main() chose one */
    const char *log_opt;    /* global --log DIR; a command's own --log wins */
    /* Set by main() to learn a command's options: cli_getopt stores them in
     * *spec and longjmps here instead of parsing (nothing has been opened or
     * allocated by a command before its first cli_getopt call). */
    jmp_buf    *introspect;
    cli_optspec *spec;
} cli_settings;
extern cli_settings cli_cfg;

/* Start OpenSSL without what dossier does not use (crypto_policy.c); called
 * by main() before a command runs, before any other use of OpenSSL. */
void cli_crypto_policy(void);

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

/* cli_safe.c: a name from a mission or an import (a path, a feature slug)
 * with terminal controls and invalid UTF-8 written as \xNN and a backslash
 * as \\; valid for the next three calls (four rotating buffers).  NULL
 * gives "(null)".  cli_escape writes the same into out (cap bytes, NUL
 * ended, truncated) and returns the full length; keep_newlines leaves '\n',
 * '\t' and backslashes as they are (whole diagnostics). */
const char *cli_safe(const char *s);

/* cli_secret.c: a secret-bearing value (a URL with a password) read from
 * path: the first line without surrounding blanks, into *out (malloc'd).
 * The file is opened non-blocking and must be a regular file; a warning
 * when group or others may read it.  Prints the error; returns an exit
 * code.  what names the file in messages ("NATS URL file"). */
int  cli_secret_read_line(const char *cmd, const char *what, const char *path, char **out);
/* A warning on stderr when the regular file path is readable or writable
 * by group or others (a --secret-file, --creds). */
void cli_secret_perms(const char *cmd, const char *what, const char *path);
/* The NATS URL of publish and pull: *url (--nats), else the first line of
 * url_file (--nats-file; *owned is then the caller's to free), else
 * $DOSSIER_NATS_URL; a usage error when none or both options are given. */
int  cli_nats_url(const char *cmd, const char **url, const char *url_file, char **owned);
size_t cli_escape(char *out, size_t cap, const char *in, int keep_newlines);

/* One line on stderr: `dossier <cmd>: <ctx>: <message>`, where <cmd> is
 * cli_cfg.cmd (`dossier: ` before a command is chosen) and ctx is left out
 * when NULL, empty or the command's own name. */
void cli_error(const char *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What to do when there is no event log, appended to that error. */
#define CLI_NO_LOG_HINT "create one with 'dossier scan MISSION_DIR', or name one with --log DIR"

/* Print err as above and return the exit code for its code.  A message that
 * already starts with ctx (the library names the object) does not repeat it. */
int  cli_fail(const dsr_err *err, const char *ctx);
/* Usage error, one line: `dossier <cmd>: <message> (see 'dossier <cmd>
 * --help')`; returns DSR_EXIT_USAGE. */
int  cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long for a command, with the global options added:
 *   -q, --quiet          errors only (cli_cfg.level)
 *   -v, --verbose        one level more
 *   --log DIR            cli_cfg.log_opt (cli_log_dir uses it)
 *   --color[=WHEN]       cli_cfg.color; bare --color is always
 *   -h, --help           returned as 'h' (every command prints its help)
 * A command that defines one of these (by short letter or long name) gets
 * it back like any of its own options; the others are handled here and
 * never returned.  A usage error in the options (unknown, ambiguous, a
 * missing value or a value given to a flag) is printed as one line naming
 * the option and ends the process with DSR_EXIT_USAGE: commands parse their
 * options before they open or allocate anything.  When cli_cfg.introspect
 * is set, stores the tables in *cli_cfg.spec and longjmps there instead. */
int  cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* A global option main() found before the command (arg, and next, the word
 * after it or NULL): applies -q, -v (also clustered: -vv, -qv), --color[=WHEN],
 * --log DIR / --log=DIR.  Returns how many words it used (0: arg is not one
 * of these), or -1 after printing a usage error (a bad or missing value). */
int  cli_global_option(const char *arg, const char *next);
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

/* 1 when colour may be used on f: --color=always, or --color=auto (the
 * default) and f is a TTY and NO_COLOR is unset or empty. */
int cli_use_color(FILE *f);

/* Write a status word (complete, incomplete, unknown, error, warning, info,
 * DRIFT, ...) to f, coloured by meaning when cli_use_color(f). */
void cli_put_status(FILE *f, const char *word);

#endif

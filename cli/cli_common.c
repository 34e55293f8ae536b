/*
 * cli_common.c - error printing, exit-code mapping and option defaults shared
 * by every command (see cli.h).
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/event.h"

#include <errno.h>
#include <math.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cli_settings cli_cfg = { CLI_LEVEL_WARN };

static void vdiag(const char *ctx, const char *fmt, va_list ap)
{
    fputs("dossier: ", stderr);
    if (ctx && *ctx)
        fprintf(stderr, "%s: ", ctx);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdiag(ctx, fmt, ap);
    va_end(ap);
}

void cli_warn(const char *ctx, const char *fmt, ...)
{
    if (cli_cfg.level < CLI_LEVEL_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vdiag(ctx, fmt, ap);
    va_end(ap);
}

int cli_quiet(void)
{
    return cli_cfg.level == CLI_LEVEL_ERROR;
}

void cli_info(const char *ctx, const char *fmt, ...)
{
    if (cli_cfg.level < CLI_LEVEL_INFO)
        return;
    va_list ap;
    va_start(ap, fmt);
    vdiag(ctx, fmt, ap);
    va_end(ap);
}

int cli_level_parse(const char *s)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]))
            return i;
    if (!strcmp(s, "warning"))
        return CLI_LEVEL_WARN;
    return -1;
}

int cli_exit_code(int code)
{
    switch (code) {
    case DSR_OK:        return DSR_EXIT_OK;
    case DSR_EINVAL:
    case DSR_EMANIFEST: return DSR_EXIT_USAGE;
    case DSR_ESCHEMA:
    case DSR_EPARSE:    return DSR_EXIT_INCOMPLETE;
    default:            return DSR_EXIT_IO;
    }
}

int cli_fail(const dsr_err *err, const char *ctx)
{
    cli_error(ctx, "%s", err->msg[0] ? err->msg : dsr_err_name(err->code));
    return cli_exit_code(err->code);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dossier: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'dossier %s --help'.\n", cmd);
    return DSR_EXIT_USAGE;
}

/* The folders the last discovery looked in, for the "no event log" error. */
static char searched[4096];

const char *cli_log_searched(void)
{
    return searched;
}

/* Like git looking for .git: the first of ./.dossier, ../.dossier, ... up to
 * the root that is a real folder (a symlink named .dossier is not followed:
 * a planted one must not redirect the log).  1 and buf when found. */
static int discover(char *buf, size_t n)
{
    char dir[4096];
    searched[0] = '\0';
    if (!getcwd(dir, sizeof dir))
        return 0;
    for (;;) {
        char cand[4200];
        struct stat st;
        snprintf(cand, sizeof cand, "%s%s.dossier", dir, strcmp(dir, "/") ? "/" : "");
        if (lstat(cand, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(buf, n, "%s", cand);
            return 1;
        }
        size_t used = strlen(searched), dl = strlen(dir);
        if (used + dl + 3 < sizeof searched) {   /* else the list is cut short */
            if (used)
                memcpy(searched + used, ", ", 2), used += 2;
            memcpy(searched + used, dir, dl + 1);
        }
        char *slash = strrchr(dir, '/');
        if (!slash || !strcmp(dir, "/"))
            return 0;
        if (slash == dir)
            dir[1] = '\0';   /* "/x" -> "/" */
        else
            *slash = '\0';
    }
}

const char *cli_log_dir(const char *opt_log, const char *mission_dir, char *buf, size_t n)
{
    const char *env = getenv("DOSSIER_LOG");
    searched[0] = '\0';
    if (opt_log && *opt_log)
        snprintf(buf, n, "%s", opt_log);
    else if (env && *env)
        snprintf(buf, n, "%s", env);
    else if (mission_dir && *mission_dir)
        snprintf(buf, n, "%s/.dossier", mission_dir);
    else if (!discover(buf, n))
        snprintf(buf, n, ".dossier");
    return buf;
}

int cli_parse_duration(const char *s, uint64_t max_ms, uint64_t *ms)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0) || !isfinite(v))
        return -1;
    double mul;
    if (!*end || !strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60000;
    else if (!strcmp(end, "h"))
        mul = 3600000;
    else
        return -1;
    double r = v * mul;
    if (r > (double)max_ms)
        return -1;
    *ms = (uint64_t)llround(r);
    return 0;
}

int cli_env_batch_events(const char *cmd, size_t *out)
{
    const char *s = getenv("DOSSIER_BATCH_EVENTS");
    *out = 0;
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-' || v < 1 || v > 10000000ull) {
        cli_error(cmd, "DOSSIER_BATCH_EVENTS='%s': not a number of events from 1 to 10000000",
                  s);
        return DSR_EXIT_USAGE;
    }
    *out = (size_t)v;
    return 0;
}

int cli_use_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    return isatty(fileno(f)) && !(nc && *nc);
}

void cli_json_str(dsr_buf *b, const char *s)
{
    if (!s)
        dsr_buf_puts(b, "null");
    else
        dsr_json_put_string(b, s, strlen(s));
}

void cli_put_status(FILE *f, const char *word)
{
    static const struct { const char *word, *sgr; } colours[] = {
        { "complete", "32" }, { "ok", "32" }, { "none", "32" },
        { "incomplete", "31" }, { "error", "31" }, { "DRIFT", "31;1" },
        { "warning", "33" }, { "info", "36" },
    };
    const char *sgr = NULL;
    for (size_t i = 0; i < sizeof colours / sizeof colours[0]; i++)
        if (!strcmp(word, colours[i].word))
            sgr = colours[i].sgr;
    if (sgr && cli_use_color(f))
        fprintf(f, "\033[%sm%s\033[0m", sgr, word);
    else
        fputs(word, f);
}

int cli_without_nats(const char *cmd, const char *usage_text, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return DSR_EXIT_OK;
        }
    cli_error(cmd, "this dossier was built without NATS support (install libnats-dev "
              "and rebuild with -DDOSSIER_WITH_NATS=ON)");
    return DSR_EXIT_USAGE;
}

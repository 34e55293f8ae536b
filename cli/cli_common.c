/*
 * cli_common.c - error printing, exit-code mapping and option defaults shared
 * by every command (see cli.h).
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/event.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cli_settings cli_cfg = { .level = CLI_LEVEL_WARN, .color = CLI_COLOR_AUTO };

/* The line is put together first and written with one fputs on unbuffered
 * stderr (one write(2)), so lines of processes sharing a terminal or a
 * pipe do not cut into each other. */
static void vdiag(const char *ctx, const char *fmt, va_list ap)
{
    /* Messages name files and slugs from missions and imports: escaped
     * (cli_safe.c), so none reaches the terminal as an escape sequence. */
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);          /* cut short if longer */
    char line[16384];
    int n;
    if (cli_cfg.cmd)
        n = snprintf(line, sizeof line, "dossier %s: ", cli_cfg.cmd);
    else
        n = snprintf(line, sizeof line, "dossier: ");
    assert(n > 0 && (size_t)n < sizeof line);
    if (ctx && *ctx && !(cli_cfg.cmd && !strcmp(ctx, cli_cfg.cmd)))
        n += snprintf(line + n, sizeof line - (size_t)n, "%s: ", cli_safe(ctx));
    size_t len = (size_t)n;
    if (len < sizeof line)
        len += cli_escape(line + len, sizeof line - len, msg, 1);
    if (len >= sizeof line - 1)   /* cut short: the line still ends */
        len = sizeof line - 2;
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
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
    const char *msg = err->msg[0] ? err->msg : dsr_err_name(err->code);
    size_t cl = ctx ? strlen(ctx) : 0;
    /* the library names the object itself ("/x: cannot resolve ..."): say it once */
    if (cl && !strncmp(msg, ctx, cl) && msg[cl] == ':')
        ctx = NULL;
    /* DSR_LOG_NOCREATE's refusal ("DIR: no event log here", log.h) says how
     * to get a log */
    static const char nolog[] = "no event log here";
    size_t ml = strlen(msg);
    if (err->code == DSR_ENOTFOUND && ml >= sizeof nolog - 1 &&
        !strcmp(msg + ml - (sizeof nolog - 1), nolog))
        cli_error(ctx, "%s (" CLI_NO_LOG_HINT ")", msg);
    else
        cli_error(ctx, "%s", msg);
    return cli_exit_code(err->code);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error(cmd, "%s (see 'dossier %s --help')", msg, cmd);
    return DSR_EXIT_USAGE;
}

/* ---- global options --------------------------------------------------------
 * -q, -v, --log, --color and --help mean the same to every command and are
 * accepted anywhere: before the command (main() and cli_global_option) and
 * among the command's own options (cli_getopt adds the ones a command does
 * not define to its getopt tables). */

enum { G_LOG = 0x10000, G_COLOR, G_HELP, G_QUIET, G_VERBOSE };

static const struct option global_longopts[] = {
    { "quiet",   no_argument,       NULL, G_QUIET },
    { "verbose", no_argument,       NULL, G_VERBOSE },
    { "log",     required_argument, NULL, G_LOG },
    { "color",   optional_argument, NULL, G_COLOR },
    { "help",    no_argument,       NULL, G_HELP },
};
#define N_GLOBAL (sizeof global_longopts / sizeof global_longopts[0])

static void more_verbose(void)
{
    if (cli_cfg.level < CLI_LEVEL_DEBUG)
        cli_cfg.level++;
}

/* --color's value: NULL (bare --color) is always.  0, or -1 after the error. */
static int set_color(const char *when)
{
    if (!when || !strcmp(when, "always"))
        cli_cfg.color = CLI_COLOR_ALWAYS;
    else if (!strcmp(when, "never"))
        cli_cfg.color = CLI_COLOR_NEVER;
    else if (!strcmp(when, "auto"))
        cli_cfg.color = CLI_COLOR_AUTO;
    else {
        cli_error("--color", "'%s' is not auto, always or never", when);
        return -1;
    }
    return 0;
}

int cli_global_option(const char *arg, const char *next)
{
    if (!strcmp(arg, "--quiet"))
        cli_cfg.level = CLI_LEVEL_ERROR;
    else if (!strcmp(arg, "--verbose"))
        more_verbose();
    else if (arg[0] == '-' && arg[1] && strspn(arg + 1, "qv") == strlen(arg + 1)) {
        for (const char *p = arg + 1; *p; p++) {
            if (*p == 'q')
                cli_cfg.level = CLI_LEVEL_ERROR;
            else
                more_verbose();
        }
    } else if (!strcmp(arg, "--color"))
        return set_color(NULL) ? -1 : 1;
    else if (!strncmp(arg, "--color=", 8))
        return set_color(arg + 8) ? -1 : 1;
    else if (!strncmp(arg, "--log=", 6))
        cli_cfg.log_opt = arg + 6;
    else if (!strcmp(arg, "--log")) {
        if (!next) {
            cli_error("--log", "needs a value (see 'dossier --help')");
            return -1;
        }
        cli_cfg.log_opt = next;
        return 2;
    } else
        return 0;
    return 1;
}

static int has_long(const struct option *lo, const char *name)
{
    for (; lo && lo->name; lo++)
        if (!strcmp(lo->name, name))
            return 1;
    return 0;
}

/* The short letter of a global long option ('q' for quiet), or 0. */
static int global_short(int val)
{
    return val == G_QUIET ? 'q' : val == G_VERBOSE ? 'v' : val == G_HELP ? 'h' : 0;
}

/* One line naming the option getopt_long refused; ends the process. */
static void bad_option(int argc, char **argv, int ch, const struct option *lo)
{
    const char *cmd = cli_cfg.cmd ? cli_cfg.cmd : argv[0];
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    char what[256];
    /* A long option's error leaves optind just past it; a short one in the
     * middle of a cluster ("-xq") leaves optind on the cluster. */
    int short_mid = optopt > 0 && optopt < 256 && optind < argc && argv[optind][0] == '-' &&
                    argv[optind][1] != '-' && strchr(argv[optind], optopt);
    if (short_mid || strncmp(arg, "--", 2) != 0) {
        /* a short option: getopt names it in optopt */
        snprintf(what, sizeof what, "-%c", optopt ? optopt : '?');
        cli_usage(cmd, "%s: %s", what, ch == ':' ? "needs a value" : "unknown option");
    } else {
        size_t len = strcspn(arg + 2, "=");
        snprintf(what, sizeof what, "--%.*s", (int)len, arg + 2);
        if (ch == ':') {
            cli_usage(cmd, "%s: needs a value", what);
        } else if (optopt) {
            cli_usage(cmd, "%s: takes no value", what);
        } else {
            /* unknown, or an abbreviation of several: name them */
            char cands[512] = "";
            size_t used = 0, hits = 0;
            for (const struct option *o = lo; o->name; o++) {
                if (strncmp(o->name, arg + 2, len) != 0)
                    continue;
                int w = snprintf(cands + used, sizeof cands - used, "%s--%s",
                                 hits ? ", " : "", o->name);
                if (w > 0 && (size_t)w < sizeof cands - used)
                    used += (size_t)w;
                hits++;
            }
            if (hits > 1)
                cli_usage(cmd, "%s: ambiguous option (%s)", what, cands);
            else
                cli_usage(cmd, "%s: unknown option", what);
        }
    }
    exit(DSR_EXIT_USAGE);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    /* Invariant: the merged tables hold the command's options first, then
     * the global ones it lacks; a command has far fewer than CLI_MAX_OPTS. */
    enum { CLI_MAX_OPTS = 64 };
    static struct option lo[CLI_MAX_OPTS + N_GLOBAL + 1];
    static char so[2 * CLI_MAX_OPTS];
    size_t n = 0;
    for (const struct option *o = longopts; o && o->name; o++) {
        assert(n < CLI_MAX_OPTS);
        lo[n++] = *o;
    }
    for (size_t i = 0; i < N_GLOBAL; i++) {
        int letter = global_short(global_longopts[i].val);
        if (!has_long(longopts, global_longopts[i].name) &&
            !(letter && strchr(shortopts, letter)))
            lo[n++] = global_longopts[i];
    }
    memset(&lo[n], 0, sizeof lo[n]);
    /* ':' first (after a leading '+'), so a missing value is told apart
     * from an unknown option */
    size_t k = 0;
    const char *s = shortopts;
    if (*s == '+')
        so[k++] = *s++;
    so[k++] = ':';
    assert(strlen(s) + 4 + k < sizeof so);
    strcpy(so + k, s);
    for (const char *g = "qvh"; *g; g++)
        if (!strchr(shortopts, *g)) {
            size_t l = strlen(so);
            so[l] = *g;
            so[l + 1] = '\0';
        }

    if (cli_cfg.introspect) {
        cli_cfg.spec->shortopts = so;
        cli_cfg.spec->longopts = lo;
        longjmp(*cli_cfg.introspect, 1);
    }
    opterr = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, so, lo, NULL);
        /* a -q or -v the command did not define is the global one */
        int own = (ch == 'q' || ch == 'v') && !strchr(shortopts, ch);
        switch (ch) {
        case ':':
        case '?':
            bad_option(argc, argv, ch, lo);
            break;
        case G_QUIET:
            cli_cfg.level = CLI_LEVEL_ERROR;
            continue;
        case G_VERBOSE:
            more_verbose();
            continue;
        case G_LOG:
            cli_cfg.log_opt = optarg;
            continue;
        case G_COLOR:
            if (set_color(optarg))
                exit(DSR_EXIT_USAGE);
            continue;
        case G_HELP:
            return 'h';
        case 'q':
            if (own) {
                cli_cfg.level = CLI_LEVEL_ERROR;
                continue;
            }
            return ch;
        case 'v':
            if (own) {
                more_verbose();
                continue;
            }
            return ch;
        default:
            return ch;
        }
    }
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
    if (!(opt_log && *opt_log))
        opt_log = cli_cfg.log_opt;
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
    if (cli_cfg.color != CLI_COLOR_AUTO)
        return cli_cfg.color == CLI_COLOR_ALWAYS;
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

/*
 * cli_complete.c - `dossier __complete` (see cli_complete.h): what a shell
 * offers on Tab, computed from what the binary really accepts.
 *
 * Commands come from main()'s command table.  A command's options come from
 * its own getopt tables: the command is started with cli_cfg.introspect set,
 * and its first cli_getopt call hands the tables (global options merged in)
 * back with a longjmp before anything is parsed.  So completion cannot offer
 * an option the command rejects, nor miss one it takes.  Values are known
 * for the options below by name; operands by the small table of each
 * command's arguments.
 */
#include "cli_complete.h"
#include "dossier/deliver.h"
#include "dossier/event.h"
#include "dossier/log.h"
#include "dossier/manifest.h"
#include "dossier/profile.h"
#include "dossier/replay.h"

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum arg_kind {
    ARG_NONE = 0,     /* nothing to offer */
    ARG_FILE,
    ARG_DIR,
    ARG_MISSION_TYPE, /* the built-in manifests */
    ARG_PROFILE,      /* dsr_profile_name */
    ARG_EVENT_TYPE,
    ARG_PROJECTION,   /* the projections, and all */
    ARG_ENDPOINT,     /* saved endpoints of the log */
    ARG_FEATURE,      /* features of the log */
    ARG_COLOR,
    ARG_WORDS         /* a fixed list (operand_kinds) */
} arg_kind;

/* The value of an option, by its long name (the same meaning in every
 * command).  Options not listed take free text: nothing is offered. */
static const struct { const char *name; arg_kind kind; } value_kinds[] = {
    { "log", ARG_DIR },            { "manifest", ARG_FILE },
    { "secret-file", ARG_FILE },   { "cacert", ARG_FILE },
    { "creds", ARG_FILE },         { "file", ARG_FILE },
    { "mission-type", ARG_MISSION_TYPE },
    { "profile", ARG_PROFILE },    { "type", ARG_EVENT_TYPE },
    { "projection", ARG_PROJECTION },
    { "endpoint", ARG_ENDPOINT },  { "feature", ARG_FEATURE },
    { "color", ARG_COLOR },
};

/* A command's operands: the first ones as listed, the rest like the last.
 * Commands not listed take no operands. */
static const struct {
    const char *cmd;
    arg_kind    first, rest;
    const char *words;        /* ARG_WORDS: space-separated */
} operand_kinds[] = {
    { "index", ARG_DIR, ARG_NONE, NULL },      { "scan", ARG_DIR, ARG_NONE, NULL },
    { "status", ARG_DIR, ARG_NONE, NULL },     { "snapshot", ARG_DIR, ARG_NONE, NULL },
    { "drift", ARG_DIR, ARG_NONE, NULL },      { "diff", ARG_DIR, ARG_NONE, NULL },
    { "log", ARG_DIR, ARG_NONE, NULL },        { "import", ARG_FILE, ARG_NONE, NULL },
    { "validate", ARG_FILE, ARG_NONE, NULL },
    { "baseline", ARG_WORDS, ARG_DIR, "accept show" },
    { "endpoint", ARG_WORDS, ARG_ENDPOINT, "add list remove enable" },
};

/* ---- output ---------------------------------------------------------------- */

static void put(const char *prefix, const char *cand, const char *cur, const char *desc)
{
    char whole[1024];
    snprintf(whole, sizeof whole, "%s%s", prefix, cand);
    if (strncmp(whole, cur, strlen(cur)) != 0)
        return;
    if (desc)
        printf("%s\t%s\n", whole, desc);
    else
        printf("%s\n", whole);
}

static void put_words(const char *prefix, const char *list, const char *cur)
{
    char w[128];
    while (*list) {
        size_t l = strcspn(list, " ");
        snprintf(w, sizeof w, "%.*s", (int)l, list);
        put(prefix, w, cur, NULL);
        list += l;
        list += strspn(list, " ");
    }
}

/* The log the command line names (--log, else $DOSSIER_LOG, else the
 * mission folder's or the nearest .dossier), opened read-only; NULL when
 * there is none. */
static dsr_log *open_log(const char *log_opt, const char *mission_dir)
{
    char dir[4096];
    cli_log_dir(log_opt, mission_dir, dir, sizeof dir);
    dsr_log *log = NULL;
    dsr_err err = { 0 };
    if (dsr_log_open(&log, dir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE, &err))
        return NULL;
    return log;
}

/* Print the "words"/"files"/"dirs" line and the candidates of kind. */
static void offer(arg_kind kind, const char *words, const char *prefix, const char *cur,
                  const char *log_opt, const char *mission_dir, dsr_profile profile)
{
    if (kind == ARG_FILE || kind == ARG_DIR) {
        puts(kind == ARG_FILE ? "files" : "dirs");
        return;
    }
    puts("words");
    switch (kind) {
    case ARG_MISSION_TYPE: {
        size_t n;
        /* the built-ins of the --profile given before (documentation is a
         * spec-kitty-3 one) */
        const char *const *names = dsr_manifest_builtin_names_profile(profile, &n);
        for (size_t i = 0; i < n; i++)
            put(prefix, names[i], cur, NULL);
        break;
    }
    case ARG_PROFILE:
        for (int p = 0; dsr_profile_name((dsr_profile)p); p++)
            put(prefix, dsr_profile_name((dsr_profile)p), cur, NULL);
        break;
    case ARG_EVENT_TYPE:
        for (int t = 0; t < DSR_EV_COUNT; t++)
            put(prefix, dsr_event_type_name((dsr_event_type)t), cur, NULL);
        break;
    case ARG_PROJECTION:
        for (size_t i = 0; i < dsr_replay_projection_count(); i++)
            put(prefix, dsr_replay_projection_name(i), cur, NULL);
        put(prefix, "all", cur, NULL);
        break;
    case ARG_COLOR:
        put_words(prefix, "auto always never", cur);
        break;
    case ARG_WORDS:
        put_words(prefix, words, cur);
        break;
    case ARG_ENDPOINT: {
        char dir[4096];
        dsr_endpoint_info *eps = NULL;
        size_t n = 0;
        dsr_err err = { 0 };
        cli_log_dir(log_opt, mission_dir, dir, sizeof dir);
        if (!dsr_endpoint_list(dir, &eps, &n, &err)) {
            for (size_t i = 0; i < n; i++)
                if (!eps[i].adhoc)
                    put(prefix, eps[i].name, cur, eps[i].url);
            dsr_endpoint_list_free(eps, n);
        }
        break;
    }
    case ARG_FEATURE: {
        dsr_log *log = open_log(log_opt, mission_dir);
        char **v = NULL;
        size_t n = 0;
        dsr_err err = { 0 };
        if (log && !dsr_replay_features(log, &v, &n, &err)) {
            for (size_t i = 0; i < n; i++)
                put(prefix, v[i], cur, NULL);
            dsr_replay_strv_free(v, n);
        }
        dsr_log_close(log);
        break;
    }
    default:
        break;
    }
}

/* ---- a command's options ------------------------------------------------------ */

static arg_kind value_kind(const char *name)
{
    for (size_t i = 0; i < sizeof value_kinds / sizeof value_kinds[0]; i++)
        if (!strcmp(value_kinds[i].name, name))
            return value_kinds[i].kind;
    return ARG_NONE;
}

/* The option --name (len bytes of it) as getopt_long would take it: the
 * exact name, else the one option it abbreviates; NULL otherwise. */
static const struct option *find_long(const struct option *lo, const char *name, size_t len)
{
    const struct option *hit = NULL;
    for (const struct option *o = lo; o->name; o++) {
        if (strncmp(o->name, name, len))
            continue;
        if (strlen(o->name) == len)
            return o;
        if (hit)
            return NULL;
        hit = o;
    }
    return hit;
}

/* 1 when -c takes a value (a ':' follows it in shortopts, '::' excluded). */
static int short_takes_value(const char *so, int c)
{
    const char *p = c != ':' && c != '+' ? strchr(so, c) : NULL;
    return p && p[1] == ':' && p[2] != ':';
}

/* The command's tables: started with cli_cfg.introspect set, its first
 * cli_getopt longjmps back with them.  Its output is discarded meanwhile (a
 * command without options, such as publish built without NATS, may print). */
static int command_spec(const cli_command *c, cli_optspec *spec)
{
    static jmp_buf jb;
    char name[64];
    snprintf(name, sizeof name, "%s", c->name);
    char *av[] = { name, NULL };
    fflush(stdout);
    int saved_out = dup(1), saved_err = dup(2), null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }
    int got = 0;
    spec->shortopts = NULL;
    spec->longopts = NULL;
    cli_cfg.introspect = &jb;
    cli_cfg.spec = spec;
    cli_cfg.cmd = c->name;
    if (setjmp(jb) == 0)
        c->run(1, av);
    else
        got = 1;
    cli_cfg.introspect = NULL;
    fflush(stdout);
    if (saved_out >= 0) {
        dup2(saved_out, 1);
        close(saved_out);
    }
    if (saved_err >= 0) {
        dup2(saved_err, 2);
        close(saved_err);
    }
    return got;
}

/* The global options alone: what cli_getopt merges into an empty table. */
static void global_spec(cli_optspec *spec)
{
    static jmp_buf jb;
    static const struct option none[] = { { NULL, 0, NULL, 0 } };
    cli_cfg.introspect = &jb;
    cli_cfg.spec = spec;
    if (setjmp(jb) == 0)
        cli_getopt(0, NULL, "", none);
    cli_cfg.introspect = NULL;
}

static void offer_options(const cli_optspec *spec, const char *cur, int top)
{
    puts("words");
    for (const struct option *o = spec->longopts; o->name; o++) {
        char opt[128];
        snprintf(opt, sizeof opt, "--%s%s", o->name,
                 o->has_arg == optional_argument ? "=" : "");
        put("", opt, cur, NULL);
        if (o->has_arg == optional_argument) {   /* bare --color, too */
            snprintf(opt, sizeof opt, "--%s", o->name);
            put("", opt, cur, NULL);
        }
    }
    if (top)
        put("", "--version", cur, NULL);
}

int cli_complete(const cli_command *cmds, size_t n, int argc, char **argv)
{
    const char *cur = argc > 0 ? argv[argc - 1] : "";
    int ndone = argc > 0 ? argc - 1 : 0;
    cli_optspec gspec, cspec;
    global_spec(&gspec);
    /* copy: the tables live in cli_getopt's static storage, which
     * command_spec overwrites */
    static struct option glo[16];
    static char gso[16];
    size_t ng = 0;
    for (const struct option *o = gspec.longopts; o->name; o++) {
        assert(ng + 1 < sizeof glo / sizeof glo[0]);
        glo[ng++] = *o;
    }
    assert(strlen(gspec.shortopts) < sizeof gso);
    snprintf(gso, sizeof gso, "%s", gspec.shortopts);
    gspec.longopts = glo;
    gspec.shortopts = gso;

    const cli_command *cmd = NULL;
    const cli_optspec *spec = &gspec;
    const char *log_opt = NULL, *mission_dir = NULL;
    dsr_profile profile = DSR_PROFILE_WP04;   /* --profile given before, if valid */
    const struct option *pending = NULL;   /* the word being completed is its value */
    int help = 0, nops = 0, only_operands = 0;
    const char *ops[2] = { NULL, NULL };   /* the first operands */
    for (int k = 0; k < ndone; k++) {
        const char *w = argv[k];
        if (pending) {
            if (!strcmp(pending->name, "log"))
                log_opt = w;
            else if (!strcmp(pending->name, "profile"))
                (void)dsr_profile_parse(w, &profile);
            pending = NULL;
            continue;
        }
        if (!only_operands && w[0] == '-' && w[1]) {
            if (!strcmp(w, "--")) {
                only_operands = 1;
                continue;
            }
            if (w[1] == '-') {
                size_t len = strcspn(w + 2, "=");
                const struct option *o = find_long(spec->longopts, w + 2, len);
                if (o && o->has_arg == required_argument && !w[2 + len])
                    pending = o;
                else if (o && !strcmp(o->name, "log") && w[2 + len])
                    log_opt = w + 3 + len;
                else if (o && !strcmp(o->name, "profile") && w[2 + len])
                    (void)dsr_profile_parse(w + 3 + len, &profile);
            } else {
                for (const char *p = w + 1; *p; p++)
                    if (short_takes_value(spec->shortopts, *p)) {
                        static const struct option value = { "", required_argument, NULL, 0 };
                        if (!p[1])
                            pending = &value;
                        break;
                    }
            }
            continue;
        }
        if (!cmd && !help) {
            if (!strcmp(w, "help")) {
                help = 1;
                continue;
            }
            for (size_t i = 0; i < n && !cmd; i++)
                if (!strcmp(cmds[i].name, w))
                    cmd = &cmds[i];
            if (!cmd) {      /* an unknown command: nothing to offer */
                puts("words");
                return DSR_EXIT_OK;
            }
            if (command_spec(cmd, &cspec))
                spec = &cspec;
            continue;
        }
        if (help) {          /* help takes one command */
            puts("words");
            return DSR_EXIT_OK;
        }
        if (nops < 2)
            ops[nops] = w;
        nops++;
    }
    /* the operand naming the mission folder, for finding its log */
    arg_kind first = ARG_NONE, rest = ARG_NONE;
    const char *words = NULL;
    for (size_t i = 0; cmd && i < sizeof operand_kinds / sizeof operand_kinds[0]; i++)
        if (!strcmp(operand_kinds[i].cmd, cmd->name)) {
            first = operand_kinds[i].first;
            rest = operand_kinds[i].rest;
            words = operand_kinds[i].words;
        }
    mission_dir = first == ARG_DIR ? ops[0] : rest == ARG_DIR ? ops[1] : NULL;

    if (pending) {
        offer(value_kind(pending->name), NULL, "", cur, log_opt, mission_dir, profile);
        return DSR_EXIT_OK;
    }
    if (!only_operands && cur[0] == '-') {
        const char *eq = strchr(cur, '=');
        if (cur[1] == '-' && eq) {
            const struct option *o = find_long(spec->longopts, cur + 2, (size_t)(eq - cur - 2));
            char prefix[256];
            snprintf(prefix, sizeof prefix, "%.*s", (int)(eq - cur + 1), cur);
            if (o && o->has_arg != no_argument)
                offer(value_kind(o->name), NULL, prefix, cur, log_opt, mission_dir, profile);
            else
                puts("words");
            return DSR_EXIT_OK;
        }
        offer_options(spec, cur, !cmd && !help);
        return DSR_EXIT_OK;
    }
    if (!cmd) {
        puts("words");
        for (size_t i = 0; i < n; i++)
            put("", cmds[i].name, cur, help ? NULL : cmds[i].summary);
        if (!help)
            put("", "help", cur, "show the help of a command");
        return DSR_EXIT_OK;
    }
    /* an operand of cmd: the first as listed, the second like rest, no more */
    arg_kind k = nops == 0 ? first : nops == 1 ? rest : ARG_NONE;
    /* endpoint NAME: only remove and enable name a saved one */
    if (k == ARG_ENDPOINT && !(ops[0] && (!strcmp(ops[0], "remove") || !strcmp(ops[0], "enable"))))
        k = ARG_NONE;
    offer(k, words, "", cur, log_opt, mission_dir, profile);
    return DSR_EXIT_OK;
}

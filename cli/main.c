/*
 * main.c - `dossier` entry point: global options and the command table.
 * Each command is a thin layer over libdossier in cli/cmd_<name>.c.
 */
#include "cli.h"
#include "cli_complete.h"
#include "dossier/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Keep sorted in the order `dossier --help` lists them. */
#define DOSSIER_COMMANDS(X) \
    X(index,    "index a mission folder and print one JSON object per artifact") \
    X(scan,     "index a mission folder and record the result as events in the log") \
    X(watch,    "follow a mission folder and record its changes as they happen") \
    X(events,   "print the log's events as NDJSON, in log order (--follow to tail)") \
    X(import,   "append NDJSON envelopes from another log, skipping ones already present") \
    X(validate, "check NDJSON event envelopes against the event contract") \
    X(status,   "one-screen report per feature: completeness, snapshot, baseline, drift") \
    X(snapshot, "show a feature's latest snapshot: counts, completeness, parity hash") \
    X(baseline, "accept a snapshot as the feature's baseline, or show the baseline") \
    X(drift,    "explain drift of the latest snapshot from the accepted baseline") \
    X(diff,     "show the artifacts added, removed or changed between two snapshots") \
    X(log,      "list a feature's snapshots, newest first, with the baseline marked") \
    X(replay,   "catch up, rebuild (--from-zero) or --verify the projections") \
    X(verify,   "check a log end to end (records, index, sequences, clocks, scans); --repair") \
    X(deliver,  "POST the log's events to a webhook endpoint (signed, retried)") \
    X(endpoint, "save, list, remove or re-enable webhook endpoints") \
    X(deliveries, "show pending / delivered / dead webhook deliveries per endpoint") \
    X(publish,  "mirror the event log to a NATS JetStream stream") \
    X(pull,     "import events from a NATS JetStream stream into the log")

#define DECLARE(name, summary) int cmd_##name(int argc, char **argv);
DOSSIER_COMMANDS(DECLARE)
#undef DECLARE

static const cli_command commands[] = {
#define ENTRY(name, summary) { #name, cmd_##name, summary },
    DOSSIER_COMMANDS(ENTRY)
#undef ENTRY
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *f)
{
    fprintf(f,
        "Usage: dossier [-q | -v] [--log DIR] [--color[=WHEN]] <command> [options] [args]\n"
        "       dossier help <command> | --help | --version\n"
        "\n"
        "Index the artifacts of a mission folder and record what it finds as\n"
        "events in an append-only, crash-safe log.\n"
        "\n"
        "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
        "\n"
        "Run 'dossier help <command>' or 'dossier <command> --help' for a command's\n"
        "options.\n"
        "\n"
        "Global options (before or after the command, for every command):\n"
        "  -q, --quiet     errors only: no summaries, warnings or progress\n"
        "  -v, --verbose   more diagnostics on stderr (repeat for debug)\n"
        "  --log DIR       event log folder (a command's own --log wins)\n"
        "  --color[=WHEN]  colour the output: auto (default: on a terminal, unless\n"
        "                  NO_COLOR is set), always or never\n"
        "  -h, --help      help (of the command, when one is given)\n"
        "  -V, --version   the version\n"
        "\n"
        "Environment: DOSSIER_LOG (log folder), DOSSIER_LOG_LEVEL (error, warn,\n"
        "info, debug), DOSSIER_WEBHOOK_SECRET, NO_COLOR.  See dossier(1).\n"
        "\n"
        "Exit status: 0 ok, 1 incomplete or invalid, 2 usage or manifest error,\n"
        "3 I/O or log failure, 4 drift from the accepted baseline, 5 not comparable.\n");
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

/* Run cmd's --help: `dossier help CMD`, `dossier --help CMD`. */
static int command_help(const cli_command *c)
{
    char name[64], help[] = "--help";
    snprintf(name, sizeof name, "%s", c->name);
    char *av[] = { name, help, NULL };
    cli_cfg.cmd = c->name;
    return c->run(2, av);
}

int main(int argc, char **argv)
{
    /* What dossier writes -- the log, the delivery state and publish
     * cursors (webhook URLs, paths of secret files), the scan cache -- is
     * for this user only: files 0600 and folders 0700, or stricter when the
     * umask is.  RocksDB creates its files with 0644 & ~umask, so the umask
     * is the one place to say it. */
    umask(umask(077) | 077);
    const char *env = getenv("DOSSIER_LOG_LEVEL");
    if (env && *env) {
        int lv = cli_level_parse(env);
        if (lv < 0)
            cli_error("DOSSIER_LOG_LEVEL", "unknown level '%s' (error, warn, info, debug); "
                      "using warn", env);
        else
            cli_cfg.level = (cli_level)lv;
    }
    /* Global options before the command; the same ones after it are taken
     * by the command's cli_getopt. */
    int i = 1, want_help = 0;
    while (i < argc) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            want_help = 1;
            i++;
            continue;
        }
        if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
            printf("dossier %s\n", dsr_version());
            return DSR_EXIT_OK;
        }
        int used = cli_global_option(a, i + 1 < argc ? argv[i + 1] : NULL);
        if (used < 0)
            return DSR_EXIT_USAGE;
        if (!used)
            break;
        i += used;
    }
    if (i == argc) {
        print_help(want_help ? stdout : stderr);
        return want_help ? DSR_EXIT_OK : DSR_EXIT_USAGE;
    }
    const char *name = argv[i];
    if (!strcmp(name, "__complete"))
        return cli_complete(commands, N_COMMANDS, argc - i - 1, argv + i + 1);
    if (!strcmp(name, "help")) {
        if (i + 1 == argc) {
            print_help(stdout);
            return DSR_EXIT_OK;
        }
        const cli_command *c = find_command(argv[i + 1]);
        if (!c) {
            cli_error(argv[i + 1], "unknown command (see 'dossier --help')");
            return DSR_EXIT_USAGE;
        }
        return command_help(c);
    }
    const cli_command *c = find_command(name);
    if (!c) {
        cli_error(name, "unknown %s (see 'dossier --help')", name[0] == '-' ? "option" : "command");
        return DSR_EXIT_USAGE;
    }
    if (want_help)
        return command_help(c);
    cli_cfg.cmd = c->name;
    cli_crypto_policy();
    return c->run(argc - i, argv + i);
}

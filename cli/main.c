/*
 * main.c - `dossier` entry point: global options and the command table.
 * Each command is a thin layer over libdossier in cli/cmd_<name>.c.
 */
#include "cli.h"
#include "dossier/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keep sorted in the order `dossier --help` lists them. */
#define DOSSIER_COMMANDS(X) \
    X(index,    "index a mission folder and print one JSON object per artifact") \
    X(scan,     "index a mission folder and record the result as events in the log") \
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
        "Usage: dossier [-v | -q] [--help] [--version] <command> [options] [args]\n"
        "\n"
        "Index the artifacts of a mission folder and record what it finds as\n"
        "events in an append-only, crash-safe log.\n"
        "\n"
        "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
        "\n"
        "Run 'dossier <command> --help' for a command's options.\n"
        "\n"
        "Global options (before the command):\n"
        "  -v, --verbose   more diagnostics on stderr (repeat for debug)\n"
        "  -q, --quiet     errors only: no summaries, warnings or progress\n"
        "  -h, --help      this help;  -V, --version  the version\n"
        "\n"
        "Environment: DOSSIER_LOG (log folder), DOSSIER_LOG_LEVEL (error, warn,\n"
        "info, debug), DOSSIER_WEBHOOK_SECRET, NO_COLOR.  See dossier(1).\n"
        "\n"
        "Exit status: 0 ok, 1 incomplete or invalid, 2 usage or manifest error,\n"
        "3 I/O or log failure, 4 drift from the accepted baseline.\n");
}

/* DOSSIER_LOG_LEVEL, then global -v / -q before the command. */
static int global_options(int *argc, char ***argv)
{
    const char *env = getenv("DOSSIER_LOG_LEVEL");
    if (env && *env) {
        int lv = cli_level_parse(env);
        if (lv < 0)
            fprintf(stderr, "dossier: DOSSIER_LOG_LEVEL: unknown level '%s' "
                    "(error, warn, info, debug); using warn\n", env);
        else
            cli_cfg.level = (cli_level)lv;
    }
    while (*argc > 1) {
        const char *a = (*argv)[1];
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            cli_cfg.level = CLI_LEVEL_ERROR;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            cli_cfg.level = cli_cfg.level < CLI_LEVEL_DEBUG ? cli_cfg.level + 1 : CLI_LEVEL_DEBUG;
        else
            break;
        (*argv)[1] = (*argv)[0];
        (*argv)++;
        (*argc)--;
    }
    return 0;
}

int main(int argc, char **argv)
{
    global_options(&argc, &argv);
    if (argc < 2) {
        print_help(stderr);
        return DSR_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help(stdout);
        return DSR_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("dossier %s\n", dsr_version());
        return DSR_EXIT_OK;
    }
    if (!strcmp(cmd, "help") && argc >= 3) {
        char help[] = "--help";
        char *av[] = { argv[2], help, NULL };
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (!strcmp(commands[i].name, argv[2]))
                return commands[i].run(2, av);
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, cmd))
            return commands[i].run(argc - 1, argv + 1);
    if (cmd[0] == '-')
        fprintf(stderr, "dossier: unknown option '%s'\n", cmd);
    else
        fprintf(stderr, "dossier: unknown command '%s'\n", cmd);
    fprintf(stderr, "Try 'dossier --help'.\n");
    return DSR_EXIT_USAGE;
}

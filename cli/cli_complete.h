/*
 * cli_complete.h - `dossier __complete`: shell completion answered by the
 * binary itself, from the command table and each command's getopt tables.
 */
#ifndef DOSSIER_CLI_COMPLETE_H
#define DOSSIER_CLI_COMPLETE_H

#include <stddef.h>

#include "cli.h"

/* `dossier __complete WORD1 ... WORDn`: WORD1..WORDn are the words of the
 * command line after the program name, WORDn the one being completed (may
 * be empty).  Prints on stdout one line saying what to offer, then the
 * candidates, one a line:
 *   words   the lines that follow: "candidate" or "candidate<TAB>summary",
 *           each starting with WORDn (an option's value given as
 *           --opt=VALUE comes back whole: "--color=always")
 *   files   file names (the shell lists them)
 *   dirs    folder names
 * Returns DSR_EXIT_OK; a log that cannot be read just gives no names. */
int cli_complete(const cli_command *cmds, size_t n, int argc, char **argv);

#endif

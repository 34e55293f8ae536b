/*
 * scan_ask.h - the request `dossier scan` sends to the watcher that holds
 * its log (dsr_watch_ask), and how the watcher reads it: which mission, the
 * events wanted, the settings given on the scan's command line, and how its
 * answer is to be shown.
 *
 * Format: "key=value" strings, each ended by a NUL (no value holds a NUL:
 * paths, names and numbers), the first one "dossier-scan=<version>":
 * CLI_ASK_VERSION for the events of `scan --emit changed`,
 * CLI_ASK_VERSION_FULL for those of a full scan, CLI_ASK_VERSION_MORE for
 * either ("emit=changed" or "emit=full") with more asked of the run: a
 * delivery window after it ("deliver=1" for --deliver, or "endpoint=NAME"),
 * every file read ("rehash=1", or "verify_cache=1" for --verify-cache), or
 * both.  Each later kind has a version of its own so that a watcher of an
 * older dossier refuses it (older ones read only 1, or 1 and 2) instead of
 * answering with the changed-mode events, or without what was asked.  A
 * setting the scan was not given is absent: the watcher's applies.
 */
#ifndef DOSSIER_CLI_SCAN_ASK_H
#define DOSSIER_CLI_SCAN_ASK_H

#include <stddef.h>

#include "dossier/buf.h"
#include "scan_opts.h"

#define CLI_ASK_VERSION "1"
#define CLI_ASK_VERSION_FULL "2"
#define CLI_ASK_VERSION_MORE "3"
/* what a request asks of the files (cli_scan_ask.rehash) */
#define CLI_ASK_REHASH 1
#define CLI_ASK_VERIFY_CACHE 2
#define CLI_ASK_EXCLUDES_MAX 256

typedef struct cli_scan_ask {
    const char *mission;        /* the mission folder's real path */
    const char *arg;            /* ... as the scan was given it (for display) */
    int         emit_full;      /* 1: the events of a full scan */
    /* CLI_ASK_VERSION_MORE only.  At most one of deliver and endpoint: a
     * delivery window after the run to every saved endpoint (--deliver), or
     * to this one; rehash: 0, CLI_ASK_REHASH or CLI_ASK_VERIFY_CACHE; at
     * least one of the three asked. */
    int         deliver;
    const char *endpoint;
    int         rehash;
    int         json, quiet, level, color, list_skipped;
    /* the settings given (NULL / 0: not given) */
    const char *manifest;       /* real path */
    const char *mission_type, *step, *feature, *branch, *profile;
    unsigned long long max_file_size;
    const char *excludes[CLI_ASK_EXCLUDES_MAX];
    size_t      n_excludes;
    int         has_excludes, reset;
} cli_scan_ask;

/* The request for a scan with options o (emit_full: without --emit
 * changed; rehash: 0, CLI_ASK_REHASH or CLI_ASK_VERIFY_CACHE).  0, or -1
 * when the mission or the manifest has no real path (the scan's own run
 * then says why). */
int cli_scan_ask_build(const cli_scan_opts *o, int emit_full, int rehash, int json,
                       int quiet, dsr_buf *req);

/* Read a request (strings point into req, which must end with a NUL).  0,
 * or -1 when it is not one this version of dossier sends. */
int cli_scan_ask_parse(const char *req, size_t len, cli_scan_ask *a);

/* NULL when a run with the watcher's settings w (over the mission at the
 * real path root) is the run the scan asked for, else the option that
 * differs, as the scan's command line names it. */
const char *cli_scan_ask_mismatch(const cli_scan_ask *a, const cli_scan_opts *w,
                                  const char *root);

#endif

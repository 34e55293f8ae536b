/*
 * cmd_scan.c - `dossier scan`: the command line of dsr_ingest_run
 * (dossier/ingest.h), which scans the mission folder, records the run in the
 * log, brings the projections up to date and tries delivery once.  This file
 * parses options, draws the progress line while the library hashes, prints
 * what the report says and chooses the exit code.
 */
#include "cli.h"
#include "cli_proj.h"
#include "cli_report.h"
#include "scan_opts.h"
#include "scan_ask.h"
#include "scan_render.h"
#include "dossier/ingest.h"
#include "dossier/watch.h"
#include "scan_progress.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const char usage_text[] =
"Usage: dossier scan MISSION_DIR [options]\n"
"\n"
"Index MISSION_DIR like 'dossier index' and record the result as events in\n"
"the log: one mission_dossier_artifact_indexed per present artifact, one\n"
"mission_dossier_artifact_missing per absent or unusable required artifact,\n"
"and a dossier_scan_completed marker committed in the run's last atomic,\n"
"fsync'd batch.  Projections (snapshot, drift) are then brought up to date.\n"
"\n"
"Options:\n"
"  --manifest FILE      expected-artifacts manifest (YAML); default: the\n"
"                       feature's remembered manifest (see below)\n"
"  --mission-type TYPE  use a built-in manifest (software-dev, research, ...)\n"
"  --step STEP          also require the manifest's required_by_step STEP\n"
"  --feature SLUG       feature slug (default: the folder's name)\n"
"  --jobs N             hashing threads (default: number of cores)\n"
"                       (a tree of at most 80 files and 4 MiB: none, the\n"
"                       main thread hashes it)\n"
CLI_MAX_FILE_SIZE_HELP
CLI_EXCLUDE_HELP
CLI_RESET_SETTINGS_HELP
"  --log DIR            event log folder (default: $DOSSIER_LOG, else\n"
"                       MISSION_DIR/.dossier)\n"
"  --branch NAME        target branch recorded with the run (default: the\n"
"                       folder's git branch, else 'main')\n"
"  --wait               wait for another writer to release the log\n"
"  --emit MODE          'full' (default): one artifact_indexed per present\n"
"                       artifact.  'changed': only new or changed artifacts\n"
"                       get artifact_indexed, artifacts gone since the\n"
"                       feature's latest snapshot (or now unusable) get\n"
"                       dossier_artifact_removed; the snapshot folds to the\n"
"                       same set and parity hash as a full scan.  While\n"
"                       'dossier watch' holds the log, either is answered\n"
"                       by the watcher (see below)\n"
"  --rehash             read and hash every file, ignoring the scan cache\n"
"                       (the cache is still rewritten)\n"
"  --verify-cache       like --rehash, and report every cache entry whose\n"
"                       file changed content while its size and mtime did not\n"
"                       (stat unchanged, or mtime restored by touch -d / cp -p);\n"
"                       exit 1 when there is one\n"
"  --json               print one JSON object on stdout (schema:\n"
"                       schemas/reports/scan.schema.json; names: docs/reports.md)\n"
CLI_PROFILE_HELP
"                       (recorded with the run: snapshots of different\n"
"                       profiles are never compared for drift)\n"
"  --deliver            after recording, try once to deliver pending events to\n"
"                       every saved webhook endpoint (bounded to a few seconds;\n"
"                       never changes the exit status). Endpoints saved with\n"
"                       'dossier endpoint add --auto' are tried without it.\n"
"  --endpoint NAME      after recording, try once to deliver to the saved\n"
"                       endpoint NAME only (as --deliver; not with it)\n"
"  -q, --quiet          print nothing but errors (and no progress line)\n"
"  -v, --verbose        more diagnostics on stderr, and the wall and CPU\n"
"                       seconds of each phase (open, walk+hash, record,\n"
"                       projections; a full scan records its artifacts\n"
"                       during walk+hash, record is what is left at the end)\n"
"  --list-skipped       warn about every skipped entry (default: the first 5\n"
"                       and a count of the rest)\n"
"  -h, --help           show this help\n"
"\n"
"Incremental rescans: the log keeps a scan cache per feature and path (stat\n"
"tuple, XXH3-128, SHA-256).  A file whose (dev, inode, size, mtime, ctime)\n"
"is unchanged is not read again; one whose size is unchanged but whose\n"
"timestamps changed is re-read for XXH3 only, and its SHA-256 is reused when\n"
"XXH3 matches.  Files modified within 2 s before a scan started are re-read\n"
"by the next one (racy timestamps).  The events are the same with or\n"
"without the cache.  While hashing, a progress line (files, bytes, rate,\n"
"ETA) is drawn on stderr when stderr is a terminal.\n"
"\n"
CLI_REMEMBERED_HELP
"\n"
"Asking a watcher: while 'dossier watch' holds the log (locked to other\n"
"writers), 'scan' asks it to record a run instead: the watcher takes every\n"
"change saved before the asking, rescans the changed paths, takes the rest\n"
"of the tree from its last run, records the run with the events this scan\n"
"would record (with '--emit changed' the changes, without it every\n"
"artifact), even when nothing changed, and answers with this command's\n"
"report and exit status, plus a 'watcher' line (a 'watcher' object with\n"
"--json).  The tree is then neither walked nor stat'ed here: what inotify\n"
"cannot see (a file changed through a shared mmap, or from another\n"
"machine) the answer cannot either.  With --rehash or --verify-cache the\n"
"watcher's run covers the whole tree and reads every file, as this scan's\n"
"would (so '--verify-cache' compares every file's content while a watcher\n"
"runs).  With --deliver or --endpoint it then runs this scan's delivery\n"
"window, and the answer reports it.  Answered only with the watcher's\n"
"mission folder and settings (those given must equal the watcher's);\n"
"otherwise exit 3, naming why (docs/watch.md).\n"
"\n"
"Environment:\n"
"  DOSSIER_LOG            default log folder\n"
"  DOSSIER_BATCH_EVENTS   events per atomic batch (default 16384)\n"
"  DOSSIER_IO_URING       0: read files with plain system calls only (default:\n"
"                         small files are read in batches through io_uring)\n"
"\n"
"Exit status:\n"
"  0  scan recorded; every required artifact present (or no manifest)\n"
"  1  scan recorded; a required artifact is missing or unusable, or\n"
"     --verify-cache found a stale cache entry (the run is recorded with the\n"
"     content read now, and the entry corrected)\n"
"  2  usage error, broken manifest or .dossierignore, or a remembered setting\n"
"     that no longer applies (nothing scanned)\n"
"  3  I/O failure: the folder or the log cannot be read or written, or an\n"
"     event was refused (the run is then left incomplete); the log is\n"
"     locked by another writer, or its watcher cannot answer this scan\n"
"\n"
"Examples:\n"
"  dossier scan examples/sample-mission --mission-type software-dev\n"
"  dossier scan kitty-specs/042-x --manifest expected.yaml --json\n"
"  dossier scan big-mission --emit changed      # rescan, emit only changes\n"
"  dossier scan big-mission --verify-cache -q   # audit the cache\n";

enum { OPT_JSON = 256, OPT_EMIT, OPT_REHASH, OPT_VERIFY_CACHE };

typedef struct scan_cmd {
    cli_scan_opts scan;
    int           json, quiet;
    int           emit_changed, rehash, verify_cache;   /* incremental rescans */
} scan_cmd;

static int parse_args(int argc, char **argv, scan_cmd *c)
{
    static const struct option longopts[] = {
        CLI_SCAN_LONGOPTS,
        CLI_SCAN_LIST_SKIPPED_LONGOPT,
        CLI_SCAN_LOG_LONGOPTS,
        { "json", no_argument, NULL, OPT_JSON },
        { "emit", required_argument, NULL, OPT_EMIT },
        { "rehash", no_argument, NULL, OPT_REHASH },
        { "verify-cache", no_argument, NULL, OPT_VERIFY_CACHE },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch, rc;
    opterr = 0;
    optind = 1;
    int verbose = 0;
    while ((ch = cli_getopt(argc, argv, "qvh", longopts)) != -1) {
        if (cli_scan_opt(&c->scan, "scan", ch, optarg, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        switch (ch) {
        case OPT_JSON:   c->json = 1; break;
        case OPT_EMIT:
            if (!strcmp(optarg, "changed"))
                c->emit_changed = 1;
            else if (!strcmp(optarg, "full"))
                c->emit_changed = 0;
            else
                return cli_usage("scan", "--emit takes 'full' or 'changed', not '%s'", optarg);
            break;
        case OPT_REHASH:       c->rehash = 1; break;
        case OPT_VERIFY_CACHE: c->verify_cache = 1; break;
        case 'q':        c->quiet = 1; break;
        case 'v':        verbose++; break;
        case 'h':        fputs(usage_text, stdout); return -1;
        default:
            return cli_usage("scan", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if ((rc = cli_scan_operand(&c->scan, "scan", argc, argv)))
        return rc;
    cli_apply_verbosity(c->quiet, verbose);
    return 0;
}

/* What the phase callback needs: the command's choices and the progress
 * line it draws while the library hashes. */
typedef struct scan_ui {
    const scan_cmd    *c;
    cli_scan_view      view;
    dsr_scan_progress  progress;
    cli_progress      *pr;
    double             pre_wall, pre_cpu;   /* option and manifest parsing */
} scan_ui;

static double clock_s(clockid_t id)
{
    struct timespec t;
    if (clock_gettime(id, &t))
        return 0;
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_phase(void *ctx, dsr_ingest_phase phase, int done, const dsr_ingest_report *rep)
{
    scan_ui *ui = ctx;
    const scan_cmd *c = ui->c;
    if (phase == DSR_INGEST_PHASE_SCAN && !done) {
        ui->pr = cli_progress_start(&ui->progress, !c->quiet);
        return;
    }
    if (!done)
        return;
    switch (phase) {
    case DSR_INGEST_PHASE_OPEN:
        cli_scan_settings_notes("scan", rep);
        break;
    case DSR_INGEST_PHASE_SCAN:
        cli_progress_stop(ui->pr);
        ui->pr = NULL;
#ifdef __GLIBC__
        /* A very large mission: from here on, blocks of 256 KiB and more are
         * mmapped and go back to the system when freed; glibc's default
         * threshold rises after each large free, after which the big
         * short-lived buffers of recording and folding come from the heap,
         * whose holes stay mapped.  Not for smaller trees: mmapping each
         * write batch afresh slows recording (docs/bench.md). */
        if (rep->scan->n_artifacts >= DSR_INGEST_LARGE_RUN)
            mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
        break;
    case DSR_INGEST_PHASE_RECORD:
        if (c->verify_cache)
            cli_scan_report_stale(rep);
#ifdef __GLIBC__
        /* The present artifacts are gone from the report: their pages go
         * back to the system before the fold peaks (the scan's many small
         * blocks otherwise stay mapped). */
        malloc_trim(0);
#endif
        break;
    case DSR_INGEST_PHASE_PROJECT: {
        const dsr_ingest_timing *t = rep->timing;
        cli_info("scan", "timings (wall s / CPU s): open %.3f/%.3f, walk+hash %.3f/%.3f, "
                 "record %.3f/%.3f, projections %.3f/%.3f",
                 ui->pre_wall + t[DSR_INGEST_PHASE_OPEN].wall_s,
                 ui->pre_cpu + t[DSR_INGEST_PHASE_OPEN].cpu_s,
                 t[DSR_INGEST_PHASE_SCAN].wall_s, t[DSR_INGEST_PHASE_SCAN].cpu_s,
                 t[DSR_INGEST_PHASE_RECORD].wall_s, t[DSR_INGEST_PHASE_RECORD].cpu_s,
                 t[DSR_INGEST_PHASE_PROJECT].wall_s, t[DSR_INGEST_PHASE_PROJECT].cpu_s);
        /* The summary comes before the delivery window, which may take a
         * few seconds. */
        cli_scan_show(&ui->view, rep);
        fflush(stdout);
        break;
    }
    default:
        break;
    }
}

/* The exit code and message of a failed run: the message names the object,
 * the context says which part of the run it was. */
static int fail_exit(const scan_cmd *c, const dsr_ingest_report *rep, const dsr_err *err)
{
    switch (rep->failed_step) {
    case DSR_INGEST_STEP_LOG:
        return cli_fail(err, rep->log_dir ? rep->log_dir : c->scan.mission_dir);
    case DSR_INGEST_STEP_BASE:
        return cli_fail(err, "--emit changed: the feature's current set");
    case DSR_INGEST_STEP_RECORD: {
        /* an event refused or the log failed mid-run: the run is incomplete */
        int code = cli_fail(err, rep->log_dir);
        return code == DSR_EXIT_USAGE ? code : DSR_EXIT_IO;
    }
    case DSR_INGEST_STEP_PROJECT:
        return cli_fail(err, "projections");
    case DSR_INGEST_STEP_SETTINGS:
        return cli_scan_settings_fail("scan", err);
    default:
        return cli_fail(err, c->scan.mission_dir);
    }
}

/* ---- a scan answered by the watcher that holds the log ----------------- */

/* 1 when a watcher's socket is in log_dir (one may answer there). */
static int watcher_socket(const char *log_dir)
{
    char p[4096];
    struct stat st;
    return snprintf(p, sizeof p, "%s/%s", log_dir, DSR_WATCH_SOCKET) < (int)sizeof p
           && lstat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* When a watcher holds the log, ask it for the run (the scan's emission
 * mode, --rehash or --verify-cache, delivery) and show its answer.
 * Returns 1 when answered (*exit set), 0 when the scan is to run itself
 * (nobody answers, or the watcher stopped before it answered: the lock
 * then decides). */
static int ask_watcher(const scan_cmd *c, const char *log_dir, int *exit)
{
    const cli_scan_opts *o = &c->scan;
    dsr_buf req = DSR_BUF_INIT;
    int rehash = c->verify_cache ? CLI_ASK_VERIFY_CACHE : c->rehash ? CLI_ASK_REHASH : 0;
    if (cli_scan_ask_build(o, !c->emit_changed, rehash, c->json, c->quiet, &req)) {
        dsr_buf_free(&req);
        return 0;   /* the scan's own run reports what is wrong */
    }
    dsr_watch_reply reply = DSR_WATCH_REPLY_INIT;
    dsr_err err;
    int rc = dsr_watch_ask(log_dir, req.data, req.len, &reply, &err);
    dsr_buf_free(&req);
    if (rc == DSR_ENOTFOUND || rc == DSR_EIO) {
        /* nobody listens, or the watcher stopped before it answered (its
         * lock is gone with it): the scan runs itself */
        if (rc == DSR_EIO)
            cli_info("scan", "%s", err.msg);
        dsr_watch_reply_free(&reply);
        return 0;
    }
    if (rc) {
        *exit = cli_fail(&err, log_dir);
    } else {
        if (reply.out.len)
            fwrite(reply.out.data, 1, reply.out.len, stdout);
        fflush(stdout);
        if (reply.err.len)
            fwrite(reply.err.data, 1, reply.err.len, stderr);
        *exit = reply.exit_code;
    }
    dsr_watch_reply_free(&reply);
    return 1;
}

int cmd_scan(int argc, char **argv)
{
    double t0_wall = clock_s(CLOCK_MONOTONIC), t0_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    scan_cmd c;
    memset(&c, 0, sizeof c);
    c.quiet = cli_quiet();
    int rc = parse_args(argc, argv, &c);
    if (rc)
        return rc < 0 ? DSR_EXIT_OK : rc;
    size_t batch_events = 0;   /* 0: the library's default */
    if ((rc = cli_env_batch_events("scan", &batch_events)))
        return rc;
    if ((rc = cli_scan_check_given(&c.scan, "scan")) != DSR_EXIT_OK) {
        cli_scan_opts_free(&c.scan);
        return rc;
    }

    scan_ui ui;
    memset(&ui, 0, sizeof ui);
    ui.c = &c;
    ui.view = (cli_scan_view){ .mission_dir = c.scan.mission_dir, .json = c.json,
                               .quiet = c.quiet, .list_skipped = c.scan.list_skipped,
                               .emit_changed = c.emit_changed, .rehash = c.rehash,
                               .verify_cache = c.verify_cache };
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.flags = (c.emit_changed ? DSR_INGEST_EMIT_CHANGED : 0)
            | (c.rehash || c.verify_cache ? DSR_INGEST_REHASH : 0);
    cli_scan_ingest_opts(&c.scan, &o);
    o.batch_events = batch_events;
    o.progress = &ui.progress;
    o.on_phase = on_phase;
    o.on_phase_ctx = &ui;
    ui.pre_wall = clock_s(CLOCK_MONOTONIC) - t0_wall;
    ui.pre_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - t0_cpu;

    /* A watcher holding the log answers before anything is opened here
     * (the lock below would send the scan to it anyway); a default log
     * folder that is a symlink is the run's to refuse. */
    char log_buf[4096];
    const char *log_dir = cli_log_dir(c.scan.log_opt, c.scan.mission_dir, log_buf,
                                      sizeof log_buf);
    struct stat lst;
    int exit_code;
    if (watcher_socket(log_dir) && lstat(log_dir, &lst) == 0 && S_ISDIR(lst.st_mode)
        && ask_watcher(&c, log_dir, &exit_code)) {
        cli_scan_opts_free(&c.scan);
        return exit_code;
    }

    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    rc = dsr_ingest_run(&o, &rep, &err);
    cli_progress_stop(ui.pr);   /* still drawn when the scan itself failed */
    if (rc && rep.failed_step == DSR_INGEST_STEP_LOG && err.code == DSR_ELOCKED && rep.log_dir
        && ask_watcher(&c, rep.log_dir, &exit_code)) {
        /* answered by the watcher that holds the log */
    } else if (rc) {
        exit_code = fail_exit(&c, &rep, &err);
    } else {
        /* Delivery never fails or stalls a scan: one bounded window, then
         * the events simply stay pending for `dossier deliver`. */
        if (rep.deliver.note[0] && !c.quiet)
            cli_error("scan", "%s", rep.deliver.note);
        exit_code = cli_scan_exit(&ui.view, &rep);
    }
    dsr_ingest_report_free(&rep);
    cli_scan_opts_free(&c.scan);
    return exit_code;
}

/*
 * cmd_watch.c - `dossier watch`: the command line of dsr_watch_* (see
 * dossier/watch.h).  Parses the scan's options, turns SIGINT/SIGTERM into
 * dsr_watch_stop, and shows each run: a status line redrawn on a terminal,
 * or one JSON line per recorded run with --json.
 */
#include "cli.h"
#include "scan_ask.h"
#include "scan_opts.h"
#include "scan_render.h"
#include "dossier/buf.h"
#include "dossier/watch.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
"Usage: dossier watch MISSION_DIR [options]\n"
"\n"
"Follow MISSION_DIR and record its changes as they happen.  Starts with a\n"
"warm scan (catching up with everything changed while nothing watched),\n"
"then follows the tree with inotify; after a quiet period it records one\n"
"scan run with the events 'dossier scan --emit changed' records\n"
"(artifact_indexed for new or changed artifacts, artifact_missing,\n"
"dossier_artifact_removed), then brings the snapshot and drift up to date\n"
"and tries delivery, as after a scan.  A burst of events that changes no\n"
"content (chmod, touch, an editor's temp file come and gone) records\n"
"nothing.  Runs in the foreground until SIGINT or SIGTERM (exit 0), and is\n"
"the log's only writer meanwhile: 'scan' asks the watcher, which records a\n"
"run at once (over the changes saved until then, with the events the scan\n"
"asked for: '--emit changed' or full; the whole tree, every file read,\n"
"for --rehash or --verify-cache; then the scan's delivery window when it\n"
"has --deliver or --endpoint) and answers with the scan's report, when the\n"
"scan's mission folder and the settings it gives are the watcher's.\n"
"'import' gets a 'locked' error (or waits, with --wait).  See 'dossier scan\n"
"--help', \"Asking a watcher\".\n"
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
CLI_PROFILE_HELP
"                       (recorded with every run, as by scan)\n"
CLI_RESET_SETTINGS_HELP
"  --log DIR            event log folder (default: $DOSSIER_LOG, else\n"
"                       MISSION_DIR/.dossier)\n"
"  --branch NAME        target branch recorded with each run (default: the\n"
"                       folder's git branch, else 'main')\n"
"  --wait               wait for another writer to release the log\n"
"  --debounce MS        quiet period before a run is recorded, in\n"
"                       milliseconds (or with a unit: 0.5s); default 200.\n"
"                       Changes that never pause are recorded at least every\n"
"                       10 x MS (at least every 2 s)\n"
"  --deliver            after each run, try delivery to every saved webhook\n"
"                       endpoint (endpoints saved with --auto are tried\n"
"                       without it)\n"
"  --endpoint NAME      after each run, try delivery to the saved endpoint NAME\n"
"                       only (as --deliver; not with it)\n"
"  --json               print one JSON object per recorded run on stdout\n"
"  -q, --quiet          print nothing but errors (no status line)\n"
"  -v, --verbose        one line per run on stderr, recorded or not\n"
"  -h, --help           show this help\n"
"\n"
"When inotify cannot follow everything - its event queue overflowed\n"
"(fs.inotify.max_queued_events), the watch limit is reached\n"
"(fs.inotify.max_user_watches) or a folder cannot be watched - watch says so\n"
"once on stderr, rescans (the whole tree, or every 2 s while part of it is\n"
"unwatched) and keeps going.  Hidden files and folders are not scanned and\n"
"not watched; symbolic links are not followed by the watching.\n"
"\n"
CLI_REMEMBERED_HELP
"\n"
"Exit status:\n"
"  0  stopped by SIGINT or SIGTERM\n"
"  2  usage error, broken manifest, or a remembered setting that no longer\n"
"     applies\n"
"  3  I/O failure: the folder or the log cannot be read or written, the log\n"
"     is locked by another writer, or an event was refused\n"
"\n"
"Examples:\n"
"  dossier watch kitty-specs/042-x --mission-type software-dev\n"
"  dossier watch big-mission --json --debounce 500 | jq .events\n";

enum { OPT_JSON = 256, OPT_DEBOUNCE };

typedef struct watch_cmd {
    cli_scan_opts scan;
    int           json, quiet, verbose;
    unsigned      debounce_ms;
    int           status_line;   /* a status line is drawn on stderr */
    char         *root;          /* the mission folder's real path */
    cli_scan_ask  ask;           /* the request being answered */
    dsr_watch    *w;
} watch_cmd;

/* --debounce: a bare number is milliseconds (the option's unit), anything
 * else a duration with its unit. */
static int parse_debounce(const char *s, unsigned *out)
{
    uint64_t ms;
    size_t n = strspn(s, "0123456789");
    if (n && !s[n] && n <= 7)
        ms = strtoull(s, NULL, 10);
    else if (cli_parse_duration(s, 3600 * 1000, &ms))
        return -1;
    if (ms == 0 || ms > 3600 * 1000)
        return -1;
    *out = (unsigned)ms;
    return 0;
}

static int parse_args(int argc, char **argv, watch_cmd *c)
{
    static const struct option longopts[] = {
        CLI_SCAN_LONGOPTS,
        CLI_SCAN_LOG_LONGOPTS,
        { "json", no_argument, NULL, OPT_JSON },
        { "debounce", required_argument, NULL, OPT_DEBOUNCE },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch, rc;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "qvh", longopts)) != -1) {
        if (cli_scan_opt(&c->scan, "watch", ch, optarg, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        switch (ch) {
        case OPT_JSON:    c->json = 1; break;
        case OPT_DEBOUNCE:
            if (parse_debounce(optarg, &c->debounce_ms))
                return cli_usage("watch", "--debounce takes milliseconds from 1 to 3600000 "
                                 "(or a duration such as 0.5s), not '%s'", optarg);
            break;
        case 'q': c->quiet = 1; break;
        case 'v': c->verbose++; break;
        case 'h': fputs(usage_text, stdout); return -1;
        default:
            return cli_usage("watch", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if ((rc = cli_scan_operand(&c->scan, "watch", argc, argv)))
        return rc;
    cli_apply_verbosity(c->quiet, c->verbose);
    return 0;
}

/* ---- what each run shows ---------------------------------------------- */

static const char *drift_word(const dsr_drift_info *d)
{
    if (!d)
        return "unknown";
    return d->status == DSR_DRIFT_DETECTED ? d->severity : dsr_drift_status_name(d->status);
}

static void print_json(const dsr_ingest_report *rep, const dsr_watch_run_info *info)
{
    const dsr_record_stats *st = &rep->record;
    dsr_buf b = DSR_BUF_INIT;
    dsr_buf_printf(&b, "{\"run\":%llu,\"starting\":%s,\"fallback\":%s,\"fs_events\":%llu,"
                   "\"paths_only\":%s,\"paths\":%llu,"
                   "\"latency_ms\":%.0f,\"run_id\":\"%s\",\"feature_slug\":",
                   (unsigned long long)info->runs, info->starting ? "true" : "false",
                   info->fallback ? "true" : "false", (unsigned long long)info->fs_events,
                   info->paths_only ? "true" : "false", (unsigned long long)info->n_paths,
                   info->latency_s * 1e3, st->run_id);
    cli_json_str(&b, rep->feature_slug);
    dsr_buf_printf(&b, ",\"events\":{\"indexed\":%llu,\"missing\":%llu,\"removed\":%llu,"
                   "\"first_seq\":%llu,\"last_seq\":%llu},\"snapshot_id\":",
                   (unsigned long long)st->indexed, (unsigned long long)st->missing,
                   (unsigned long long)st->removed, (unsigned long long)st->first_seq,
                   (unsigned long long)st->last_seq);
    cli_json_str(&b, rep->snapshot ? rep->snapshot->snapshot_id : NULL);
    dsr_buf_puts(&b, ",\"parity_hash_sha256\":");
    cli_json_str(&b, rep->snapshot ? rep->snapshot->parity_hash_sha256 : NULL);
    dsr_buf_puts(&b, ",\"completeness_status\":");
    cli_json_str(&b, rep->scan ? dsr_scan_completeness(rep->scan) : NULL);
    dsr_buf_puts(&b, ",\"drift\":");
    cli_json_str(&b, rep->drift ? dsr_drift_status_name(rep->drift->status) : NULL);
    dsr_buf_putc(&b, '}');
    if (b.data) {
        puts(b.data);
        fflush(stdout);     /* a reader of the pipe sees each run at once */
    }
    dsr_buf_free(&b);
}

static void on_run(void *ctx, const dsr_ingest_report *rep, const dsr_watch_run_info *info)
{
    watch_cmd *c = ctx;
    char when[16];
    time_t t = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%H:%M:%S", localtime_r(&t, &tm));
    if (info->starting) {   /* later runs reuse what the starting one had */
        if (c->status_line)
            fputs("\r\033[K", stderr);
        cli_scan_settings_notes("watch", rep);
    }
    if (rep->deliver_rc < 0 && rep->deliver.note[0]) {
        if (c->status_line)
            fputs("\r\033[K", stderr);
        cli_warn("watch", "%s", rep->deliver.note);
    }
    if (rep->unchanged) {
        cli_info("watch", "%s: run %llu: nothing changed (%llu file-system events; %s)", when,
                 (unsigned long long)info->runs, (unsigned long long)info->fs_events,
                 info->paths_only ? "changed paths scanned" : "whole tree scanned");
        return;
    }
    const dsr_record_stats *st = &rep->record;
    if (c->json)
        print_json(rep, info);
    if (c->status_line)
        fprintf(stderr, "\r\033[Kdossier watch: %s last change recorded: %llu indexed, "
                "%llu missing, %llu removed; %s, drift %s", when,
                (unsigned long long)st->indexed, (unsigned long long)st->missing,
                (unsigned long long)st->removed,
                rep->scan ? dsr_scan_completeness(rep->scan) : "unknown", drift_word(rep->drift));
    else
        cli_info("watch", "%s: run %llu recorded: %llu indexed, %llu missing, %llu removed "
                 "(%.0f ms after the first change; %s)", when, (unsigned long long)info->runs,
                 (unsigned long long)st->indexed, (unsigned long long)st->missing,
                 (unsigned long long)st->removed, info->latency_s * 1e3,
                 info->paths_only ? "changed paths scanned" : "whole tree scanned");
}

static void on_note(void *ctx, dsr_watch_note_kind kind, const char *msg)
{
    watch_cmd *c = ctx;
    (void)kind;
    if (c->status_line)
        fputs("\r\033[K", stderr);
    cli_warn("watch", "%s", msg);
}

/* ---- scans that ask the watcher for a run --------------------------------- */

/* Render what `dossier scan` would show of the run into the reply: the
 * scan's own code, writing to streams in memory.  The GNU C library lets
 * stdout and stderr be assigned (they are plain variables there); this
 * thread is the only one that writes them (the library prints nothing), and
 * they are put back before anything else runs.  The asker's verbosity and
 * colour choice stand in for the watcher's meanwhile. */
static void render_scan(watch_cmd *c, const dsr_ingest_report *rep,
                        const dsr_watch_run_info *info, dsr_watch_reply *reply)
{
    const cli_scan_ask *a = &c->ask;
    char *out = NULL, *err = NULL;
    size_t nout = 0, nerr = 0;
    FILE *fo = open_memstream(&out, &nout), *fe = open_memstream(&err, &nerr);
    if (!fo || !fe) {
        if (fo)
            fclose(fo);
        if (fe)
            fclose(fe);
        reply->exit_code = DSR_EXIT_IO;
        (void)dsr_buf_puts(&reply->err, "dossier: scan: the watcher ran out of memory "
                           "rendering its answer (the run is recorded)\n");
        return;
    }
    fflush(stdout);
    fflush(stderr);
    FILE *so = stdout, *se = stderr;
    cli_settings saved = cli_cfg;
    stdout = fo;
    stderr = fe;
    cli_cfg.level = a->level < CLI_LEVEL_ERROR ? CLI_LEVEL_ERROR
                  : a->level > CLI_LEVEL_DEBUG ? CLI_LEVEL_DEBUG : (cli_level)a->level;
    cli_cfg.color = a->color ? CLI_COLOR_ALWAYS : CLI_COLOR_NEVER;
    cli_cfg.cmd = "scan";
    cli_scan_view v = { .mission_dir = a->arg, .json = a->json, .quiet = a->quiet,
                        .list_skipped = a->list_skipped, .emit_changed = !a->emit_full,
                        .rehash = a->rehash == CLI_ASK_REHASH,
                        .verify_cache = a->rehash == CLI_ASK_VERIFY_CACHE,
                        .watcher_pid = (long)getpid(), .watched = info };
    if (v.verify_cache)
        cli_scan_report_stale(rep);
    cli_scan_show(&v, rep);
    if (rep->deliver.note[0] && !a->quiet)   /* as the scan prints it */
        cli_error("scan", "%s", rep->deliver.note);
    reply->exit_code = cli_scan_exit(&v, rep);
    stdout = so;
    stderr = se;
    cli_cfg = saved;
    fclose(fo);
    fclose(fe);
    (void)dsr_buf_append(&reply->out, out, nout);
    (void)dsr_buf_append(&reply->err, err, nerr);
    free(out);
    free(err);
}

static int on_request(void *ctx, const void *req, size_t len, const dsr_ingest_report *rep,
                      const dsr_watch_run_info *info, dsr_watch_reply *reply)
{
    watch_cmd *c = ctx;
    /* the watcher's own window after every run: the same as the scan's
     * when both name every endpoint, or the same one */
    int same_window = c->ask.deliver ? c->scan.deliver
                    : c->ask.endpoint && c->scan.endpoint
                      && !strcmp(c->ask.endpoint, c->scan.endpoint);
    if (rep && (c->ask.deliver || c->ask.endpoint) && !same_window) {
        /* the scan's --deliver or --endpoint: its own window after the run
         * (the run had the watcher's), which the answer reports */
        dsr_ingest_report r = *rep;
        dsr_deliver_after_scan_opts d = DSR_DELIVER_AFTER_SCAN_OPTS_INIT;
        d.all_endpoints = c->ask.deliver;
        d.endpoint = c->ask.endpoint;
        r.deliver = (dsr_deliver_after_scan_report)DSR_DELIVER_AFTER_SCAN_REPORT_INIT;
        r.deliver_rc = dsr_deliver_after_scan(dsr_watch_log(c->w), &d, &r.deliver);
        render_scan(c, &r, info, reply);
        return 0;
    }
    if (rep) {
        render_scan(c, rep, info, reply);
        return 0;
    }
    const char *why = NULL;
    if (cli_scan_ask_parse(req, len, &c->ask))
        why = "a request this version of dossier does not read (is 'dossier scan' the same "
              "version as the watcher?)";
    else if ((why = cli_scan_ask_mismatch(&c->ask, &c->scan, c->root)))
        why = !strcmp(why, "MISSION_DIR") ? "it follows another mission folder"
              : why;
    if (!why)
        return (c->ask.emit_full ? DSR_WATCH_RUN_FULL : DSR_WATCH_RUN_CHANGED)
               | (c->ask.rehash ? DSR_WATCH_RUN_REHASH : 0);
    reply->exit_code = DSR_EXIT_IO;
    (void)dsr_buf_printf(&reply->err, "dossier: scan: the log is held by 'dossier watch' "
                         "(pid %ld), which cannot answer this scan: %s%s; stop the watcher, "
                         "or scan with the settings it was started with\n", (long)getpid(),
                         why, why[0] == '-' ? " differs from the watcher's" : "");
    cli_info("watch", "a scan's request was not answered: %s%s", why,
             why[0] == '-' ? " differs" : "");
    return DSR_WATCH_ANSWER_NOW;
}

/* ---- signals ------------------------------------------------------------ */

static dsr_watch *volatile g_watch;
static volatile sig_atomic_t g_stop;   /* a signal came before g_watch was set */

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    dsr_watch *w = g_watch;
    if (w)
        dsr_watch_stop(w);
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cmd_watch(int argc, char **argv)
{
    watch_cmd c;
    memset(&c, 0, sizeof c);
    c.quiet = cli_quiet();
    int rc = parse_args(argc, argv, &c);
    if (rc)
        return rc < 0 ? DSR_EXIT_OK : rc;
    size_t batch_events = 0;
    if ((rc = cli_env_batch_events("watch", &batch_events)))
        return rc;
    if ((rc = cli_scan_check_given(&c.scan, "watch")) != DSR_EXIT_OK) {
        cli_scan_opts_free(&c.scan);
        return rc;
    }
    c.status_line = !c.quiet && !cli_quiet() && isatty(STDERR_FILENO);

    dsr_ingest_opts io = DSR_INGEST_OPTS_INIT;
    cli_scan_ingest_opts(&c.scan, &io);
    io.batch_events = batch_events;

    dsr_watch_opts wo = DSR_WATCH_OPTS_INIT;
    wo.ingest = &io;
    wo.debounce_ms = c.debounce_ms;
    wo.on_run = on_run;
    wo.on_run_ctx = &c;
    wo.on_note = on_note;
    wo.on_note_ctx = &c;
    wo.on_request = on_request;
    wo.on_request_ctx = &c;

    dsr_err err;
    dsr_watch *w = NULL;
    catch_signals();
    if ((rc = dsr_watch_open(&wo, &w, &err))) {
        int code = cli_fail(&err, c.scan.mission_dir);
        cli_scan_opts_free(&c.scan);
        return code == DSR_EXIT_USAGE ? code : DSR_EXIT_IO;
    }
    /* the folder exists (dsr_watch_open checked); its real path is what a
     * scan that asks names */
    if (!(c.root = realpath(c.scan.mission_dir, NULL))) {
        cli_error("watch", "%s: %s", cli_safe(c.scan.mission_dir), strerror(errno));
        dsr_watch_free(w);
        cli_scan_opts_free(&c.scan);
        return DSR_EXIT_IO;
    }
    c.w = w;
    g_watch = w;
    if (g_stop)
        dsr_watch_stop(w);
    rc = dsr_watch_run(w, &err);
    g_watch = NULL;
    if (c.status_line)
        fputc('\n', stderr);
    int exit_code = DSR_EXIT_OK;
    if (rc) {
        int code = cli_fail(&err, c.scan.mission_dir);
        exit_code = code == DSR_EXIT_USAGE ? code : DSR_EXIT_IO;
    }
    dsr_watch_free(w);
    cli_scan_opts_free(&c.scan);
    free(c.root);
    return exit_code;
}

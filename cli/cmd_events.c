/*
 * cmd_events.c - `dossier events`: print the log's envelopes as NDJSON, one
 * per line, in log (sequence) order, optionally filtered, optionally
 * following the log as a writer appends to it.
 *
 * The log is opened read-only (a RocksDB secondary), so this runs beside a
 * scan or import that holds the writer lock.  --follow waits for the log's
 * files to change: an inotify watch on the log folder wakes it when a writer
 * appends to its WAL (or rolls the manifest), so a committed event prints
 * without waiting out a poll period; the handle is also refreshed every
 * POLL_MS, the fallback where inotify is unavailable or misses a change (a
 * network file system).  After each wake it prints what was committed
 * meanwhile; SIGINT/SIGTERM end it cleanly (exit 0).
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/event.h"
#include "dossier/log.h"
#include "dossier/profile.h"
#include "dossier/sk3.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 200

static const char usage_text[] =
"Usage: dossier events [options]\n"
"\n"
"Print the events of the log as NDJSON: one canonical envelope per line\n"
"(event_id, event_type, aggregate_id, timestamp, node_id, lamport_clock,\n"
"project_uuid, correlation_id, causation_id, schema_version, payload), in\n"
"log order.  The output can be fed to 'dossier import' or 'dossier validate'.\n"
"The log is opened read-only, so this works while a scan or import runs.\n"
"\n"
"Options:\n"
"  --log DIR        event log folder (default: $DOSSIER_LOG, else the nearest\n"
"                   .dossier folder here or above, as git finds .git)\n"
"  --feature SLUG   only events of feature SLUG (aggregate_id feature/SLUG)\n"
"  --type T         only events of type T; snake_case names\n"
"                   (mission_dossier_artifact_indexed) and PascalCase aliases\n"
"                   (MissionDossierArtifactIndexed) are both accepted\n"
"  --since SEQ      only events after log sequence SEQ (the first event is\n"
"                   sequence 1; --since 0 prints everything)\n"
"  --limit N        stop after printing N events\n"
"  -f, --follow     keep running and print new events as they are committed\n"
"                   (woken by changes to the log's files, else every\n"
"                   200 ms; stop with Ctrl-C or SIGTERM)\n"
"  --profile P      wp04 (the default: the canonical envelopes as stored) or\n"
"                   spec-kitty-3: each event as a spec-kitty-events 3.0.0\n"
"                   envelope (PascalCase type, build_id, schema_version\n"
"                   \"3.0.0\", the namespace of its scan run; see\n"
"                   docs/interop.md section 6).  dossier_scan_completed,\n"
"                   dossier_baseline_accepted and dossier_artifact_removed\n"
"                   have no spec-kitty-3 type and are left out.  The output\n"
"                   can be fed to 'dossier import --profile spec-kitty-3'.\n"
"  -h, --help       show this help\n"
"\n"
"Event types:\n"
"  mission_dossier_artifact_indexed, mission_dossier_artifact_missing,\n"
"  mission_dossier_snapshot_computed, mission_dossier_parity_drift_detected,\n"
"  dossier_baseline_accepted, dossier_scan_completed, dossier_artifact_removed\n"
"\n"
"Exit status:\n"
"  0  events printed (possibly none), or --follow stopped by a signal\n"
"  2  usage error\n"
"  3  the log cannot be opened or read (missing, corrupt), or output failed\n"
"\n"
"Examples:\n"
"  dossier events --log mission/.dossier > all.ndjson\n"
"  dossier events --feature 042-x --type MissionDossierArtifactMissing\n"
"  dossier events --since 1200 --follow | jq -c .payload\n"
"  dossier events --profile spec-kitty-3 > for-spec-kitty.ndjson\n";

enum { OPT_LOG = 256, OPT_FEATURE, OPT_TYPE, OPT_SINCE, OPT_LIMIT, OPT_PROFILE };

typedef struct events_cmd {
    const char    *log_opt;
    const char    *feature;
    int            has_type;
    dsr_event_type type;
    uint64_t       since;
    uint64_t       limit;        /* UINT64_MAX: no limit */
    int            follow;
    dsr_profile    profile;
    dsr_sk3_runs  *runs;         /* spec-kitty-3: the namespace of each scan run */
} events_cmd;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, events_cmd *c)
{
    static const struct option longopts[] = {
        { "log", required_argument, NULL, OPT_LOG },
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "type", required_argument, NULL, OPT_TYPE },
        { "since", required_argument, NULL, OPT_SINCE },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "follow", no_argument, NULL, 'f' },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "fh", longopts)) != -1) {
        switch (ch) {
        case OPT_LOG:     c->log_opt = optarg; break;
        case OPT_FEATURE:
            if (!*optarg)
                return cli_usage("events", "--feature needs a non-empty slug");
            c->feature = optarg;
            break;
        case OPT_TYPE:
            if (dsr_event_type_parse(optarg, strlen(optarg), &c->type))
                return cli_usage("events", "unknown event type '%s' (see the list in "
                                 "'dossier events --help')", optarg);
            c->has_type = 1;
            break;
        case OPT_SINCE:
            if (parse_u64(optarg, &c->since))
                return cli_usage("events", "--since takes a sequence number, not '%s'", optarg);
            break;
        case OPT_LIMIT:
            if (parse_u64(optarg, &c->limit))
                return cli_usage("events", "--limit takes a count, not '%s'", optarg);
            break;
        case 'f': c->follow = 1; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &c->profile))
                return cli_usage("events", "unknown profile '%s' (one of %s)", optarg,
                                 DSR_PROFILE_NAMES);
            break;
        case 'h': fputs(usage_text, stdout); return -1;
        default:
            return cli_usage("events", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage("events", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* spec-kitty-3: a run's namespace is in its dossier_scan_completed, written
 * after the run's artifact events, so the completions from sequence `from`
 * on are noted before the events of that range are rendered (the whole log
 * first; with --follow, what each refresh made visible). */
static int note_runs(dsr_log *log, events_cmd *c, uint64_t from)
{
    dsr_err err = {0};
    dsr_log_iter *it = NULL;
    if (dsr_log_iter_events(log, from, &it, &err))
        return cli_fail(&err, "events");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 0, r;
    const void *k, *v;
    size_t vl;
    while ((r = dsr_log_iter_next(it, &k, NULL, &v, &vl, &err)) == 1) {
        dsr_envelope env;
        if (dsr_record_decode(v, vl, &u, &env, &err))
            continue;   /* print_from names the damage when it gets there */
        if (dsr_sk3_runs_note(c->runs, &env)) {
            cli_error("events", "out of memory");
            rc = DSR_EXIT_IO;
            break;
        }
    }
    if (!rc && r < 0)
        rc = cli_fail(&err, "events");
    msgpack_unpacked_destroy(&u);
    dsr_log_iter_free(it);
    return rc;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);   /* a signal cuts it short: that is what we want */
}

/* An inotify descriptor watching the log folder for writes, or -1 when
 * inotify is unavailable (then only the POLL_MS refresh notices events).
 * The writer appends each commit to a WAL file in that folder and writes a
 * new MANIFEST/CURRENT when it flushes or rolls, which is what a secondary
 * handle's refresh reads. */
static int log_watch_open(const char *dir)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return -1;
    if (inotify_add_watch(fd, dir, IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sleep until the log folder changes (fd >= 0), POLL_MS passes, or a signal
 * arrives; then drop the queued notifications, as one refresh reads them all. */
static void wait_for_change(int fd)
{
    if (fd < 0) {
        sleep_ms(POLL_MS);
        return;
    }
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    if (poll(&p, 1, POLL_MS) <= 0)
        return;   /* timeout, or a signal: the caller checks stop_requested */
    _Alignas(struct inotify_event) char buf[4096];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

static int wants(const events_cmd *c, const dsr_envelope *env)
{
    if (c->has_type && env->type != c->type)
        return 0;
    if (c->feature && (env->feature_slug.len != strlen(c->feature)
                       || memcmp(env->feature_slug.ptr, c->feature, env->feature_slug.len)))
        return 0;
    return 1;
}

/* Print events after *last (updating it) until the end of what the handle
 * sees or the limit.  Returns 0 or an exit code. */
static int print_from(dsr_log *log, const events_cmd *c, uint64_t *last, uint64_t *printed,
                      dsr_buf *line)
{
    dsr_err err = {0};
    dsr_log_iter *it = NULL;
    if (dsr_log_iter_events(log, *last + 1, &it, &err))
        return cli_fail(&err, "events");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 0, r = 0;
    const void *k, *v;
    size_t vl;
    while (*printed < c->limit && !stop_requested
           && (r = dsr_log_iter_next(it, &k, NULL, &v, &vl, &err)) == 1) {
        uint64_t seq = dsr_seq_from_key(k);
        dsr_envelope env;
        if (dsr_record_decode(v, vl, &u, &env, &err)) {
            cli_error("events", "%s: event %llu: %s", dsr_log_dir(log),
                      (unsigned long long)seq, err.msg);
            rc = DSR_EXIT_IO;   /* a stored record that does not decode is damage */
            break;
        }
        *last = seq;
        if (c->runs && dsr_sk3_runs_note(c->runs, &env)) {
            cli_error("events", "out of memory");
            rc = DSR_EXIT_IO;
            break;
        }
        if (!wants(c, &env))
            continue;
        dsr_buf_reset(line);
        if (c->profile == DSR_PROFILE_SPEC_KITTY_3) {
            int rr = dsr_sk3_render(&env, c->runs, line, &err);
            if (rr == DSR_SK3_LEFT_OUT)
                continue;
            if (rr || dsr_buf_putc(line, '\n')) {
                rc = cli_fail(&err, "events");
                break;
            }
        } else if (dsr_msgpack_to_json(&u.data, line) || dsr_buf_putc(line, '\n')) {
            cli_error("events", "out of memory");
            rc = DSR_EXIT_IO;
            break;
        }
        if (fwrite(line->data, 1, line->len, stdout) != line->len) {
            cli_error("events", "cannot write output: %s", strerror(errno));
            rc = DSR_EXIT_IO;
            break;
        }
        (*printed)++;
    }
    if (!rc && r < 0)
        rc = cli_fail(&err, "events");
    msgpack_unpacked_destroy(&u);
    dsr_log_iter_free(it);
    return rc;
}

int cmd_events(int argc, char **argv)
{
    events_cmd c;
    memset(&c, 0, sizeof c);
    c.limit = UINT64_MAX;
    int prc = parse_args(argc, argv, &c);
    if (prc)
        return prc < 0 ? DSR_EXIT_OK : prc;

    char dirbuf[PATH_MAX];
    const char *dir = cli_log_dir(c.log_opt, NULL, dirbuf, sizeof dirbuf);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (c.follow) {
        /* No SA_RESTART: a signal interrupts the poll sleep at once. */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }

    dsr_err err = {0};
    dsr_log *log = NULL;
    int rc;
    for (;;) {
        rc = dsr_log_open(&log, dir, DSR_LOG_RDONLY, &err);
        /* Following a log that does not exist yet: wait for its first writer. */
        if (rc != DSR_ENOTFOUND || !c.follow || stop_requested)
            break;
        sleep_ms(POLL_MS);
    }
    if (rc) {
        if (rc == DSR_ENOTFOUND && stop_requested)
            return DSR_EXIT_OK;
        return cli_fail(&err, "events");
    }

    uint64_t last = c.since, printed = 0;
    dsr_buf line = DSR_BUF_INIT;
    /* Watch before the first read: a commit after that read then wakes us. */
    int wfd = c.follow ? log_watch_open(dsr_log_dir(log)) : -1;
    int code = DSR_EXIT_OK;
    if (c.profile == DSR_PROFILE_SPEC_KITTY_3) {
        if (dsr_sk3_runs_new(&c.runs)) {
            cli_error("events", "out of memory");
            code = DSR_EXIT_IO;
        } else {
            code = note_runs(log, &c, 1);
        }
    }
    for (; code == DSR_EXIT_OK;) {
        if ((code = print_from(log, &c, &last, &printed, &line)))
            break;
        if (!c.follow || printed >= c.limit || stop_requested)
            break;
        if (fflush(stdout) != 0) {
            cli_error("events", "cannot write output: %s", strerror(errno));
            code = DSR_EXIT_IO;
            break;
        }
        wait_for_change(wfd);
        if (stop_requested)
            break;
        if (dsr_log_refresh(log, &err)) {
            code = cli_fail(&err, "events");
            break;
        }
        if (c.runs && (code = note_runs(log, &c, last + 1)))
            break;
    }
    if (wfd >= 0)
        close(wfd);
    dsr_buf_free(&line);
    dsr_sk3_runs_free(c.runs);
    dsr_log_close(log);
    if (fflush(stdout) != 0 && code == DSR_EXIT_OK) {
        cli_error("events", "cannot write output: %s", strerror(errno));
        code = DSR_EXIT_IO;
    }
    return code;
}

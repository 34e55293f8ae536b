/*
 * cmd_publish.c - `dossier publish`: mirror the event log to a NATS JetStream
 * stream (library: replay/nats_publish.c).  This file parses options, runs
 * the --follow loop (refresh the read-only log, publish, sleep; retry after
 * network failures) and presents results.
 *
 * The log is opened read-only: the scanner stays the log's only writer, and
 * the publish cursor lives in its own store, <logdir>/publish/.
 * Always compiled; without libnats the command explains it is unavailable.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier publish --nats URL [options]\n"
"\n"
"Publish every event of the log that this log has not published yet to a\n"
"NATS JetStream stream, then exit (or, with --follow, keep publishing new\n"
"events as they are committed).\n"
"\n"
"Each envelope is sent as its JSON (the same text 'dossier events' prints) to\n"
"the subject PREFIX.FEATURE.EVENT_TYPE (FEATURE is the feature slug with any\n"
"character other than letters, digits, '_' and '-' replaced by '_'), with the\n"
"header Nats-Msg-Id set to the event_id, so the stream's duplicate window\n"
"drops a re-send of the same event.  Publishes are asynchronous with a bounded\n"
"number awaiting an ack; the cursor (one per NATS URL and stream, kept in\n"
"LOGDIR/publish/) advances only over events JetStream acknowledged, and is\n"
"written with fsync.  After a crash, events acknowledged after the last\n"
"cursor write are sent again and dropped by the duplicate window.  Events\n"
"this log pulled from the same stream ('dossier pull') are not sent back.\n"
"\n"
"The stream is created when missing: file storage, subjects 'PREFIX.>', the\n"
"given replicas and duplicate window.  The log is opened read-only, so\n"
"publishing never blocks 'dossier scan'.\n"
"\n"
"Options:\n"
"  --nats URL            NATS server, e.g. nats://127.0.0.1:4222; a comma-\n"
"                        separated list names members of one cluster (required)\n"
"  --stream NAME         JetStream stream (default DOSSIER)\n"
"  --subject-prefix P    subject prefix (default dossier)\n"
"  --nats-file FILE      read the NATS URL from the first line of FILE, so a\n"
"                        password in it is not on the command line (ps);\n"
"                        without --nats and --nats-file: $DOSSIER_NATS_URL\n"
"  --creds FILE          NATS user credentials file\n"
"  --follow              keep running: publish new events as they are\n"
"                        committed, ride out server restarts; stop with\n"
"                        SIGINT or SIGTERM (acks are awaited, cursor saved)\n"
"  --poll DURATION       --follow: how often to look for new events\n"
"                        (default 500ms)\n"
"  --replicas N          stream replicas, 1-5 (default 1 on creation; given\n"
"                        explicitly, an existing stream is updated)\n"
"  --dup-window DURATION stream duplicate window (default 2m on creation;\n"
"                        given explicitly, an existing stream is updated)\n"
"  --window N            publishes awaiting an ack at most (default 4096)\n"
"  --ack-wait DURATION   a publish not acknowledged within this fails\n"
"                        (default 10s)\n"
"  --profile P           message bodies: wp04 (default, the canonical JSON) or\n"
"                        spec-kitty-3 (spec-kitty-events 3.0.0 envelopes,\n"
"                        subject <prefix>.<feature>.<PascalCaseType>; the\n"
"                        internal types are not published; a cursor of its\n"
"                        own).  Publish the two to different streams\n"
"  --log DIR             event log folder (default: $DOSSIER_LOG, else\n"
"                        ./.dossier)\n"
"  -q, --quiet           print nothing but errors\n"
"  --json                one JSON object per publishing round instead of text:\n"
"                        {published, duplicates, skipped, cursor, seconds}\n"
"  -h, --help            show this help\n"
"\n"
"DURATION is a number with a unit: ms, s, m or h (e.g. 500ms, 90s, 2m).\n"
"\n"
"Guarantees: nothing is lost across crashes of the publisher or the server\n"
"(the cursor only covers acknowledged events); an event reaches the stream\n"
"again only if a publisher crashed between its ack and the next cursor write\n"
"and restarted after the duplicate window had passed; every copy carries the\n"
"same event_id, and 'dossier pull' stores each event_id once.\n"
"\n"
"Exit status:\n"
"  0  every event up to the log's head is in the stream (--follow: stopped\n"
"     by SIGINT or SIGTERM after saving the cursor)\n"
"  1  interrupted by SIGINT or SIGTERM before reaching the head (no --follow)\n"
"  2  usage error, or dossier was built without NATS support\n"
"  3  the log cannot be read, NATS cannot be reached, JetStream is off, or a\n"
"     publish failed (the cursor keeps every event acknowledged before it)\n"
"\n"
"Examples:\n"
"  dossier publish --nats nats://127.0.0.1:4222\n"
"  dossier publish --nats nats://a:4222,nats://b:4222,nats://c:4222 \\\n"
"      --replicas 3 --follow --log /srv/missions/.dossier\n";

#ifndef DOSSIER_WITH_NATS

int cmd_publish(int argc, char **argv)
{
    return cli_without_nats("publish", usage_text, argc, argv);
}

#else /* DOSSIER_WITH_NATS */

#include "dossier/log.h"
#include "dossier/nats.h"
#include "dossier/profile.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

enum { OPT_NATS_FILE = 200, OPT_NATS = 256, OPT_STREAM, OPT_PREFIX, OPT_CREDS, OPT_FOLLOW, OPT_POLL,
       OPT_REPLICAS, OPT_DUP_WINDOW, OPT_WINDOW, OPT_ACK_WAIT, OPT_LOG, OPT_PROFILE };

typedef struct publish_cmd {
    const char *url, *stream, *prefix, *creds, *log_opt, *url_file;
    char       *url_owned;         /* read from --nats-file */
    int         follow, quiet, json;
    int64_t     poll_ms, replicas, dup_window_ms, ack_wait_ms;
    int         window;
    dsr_profile profile;
} publish_cmd;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, publish_cmd *c)
{
    uint64_t ms = 0;
    static const struct option longopts[] = {
        { "nats", required_argument, NULL, OPT_NATS },
        { "nats-file", required_argument, NULL, OPT_NATS_FILE },
        { "stream", required_argument, NULL, OPT_STREAM },
        { "subject-prefix", required_argument, NULL, OPT_PREFIX },
        { "creds", required_argument, NULL, OPT_CREDS },
        { "follow", no_argument, NULL, OPT_FOLLOW },
        { "poll", required_argument, NULL, OPT_POLL },
        { "replicas", required_argument, NULL, OPT_REPLICAS },
        { "dup-window", required_argument, NULL, OPT_DUP_WINDOW },
        { "window", required_argument, NULL, OPT_WINDOW },
        { "ack-wait", required_argument, NULL, OPT_ACK_WAIT },
        { "log", required_argument, NULL, OPT_LOG },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "quiet", no_argument, NULL, 'q' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long v;
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "+qh", longopts)) != -1) {
        switch (ch) {
        case OPT_NATS_FILE: c->url_file = optarg; break;
        case OPT_NATS:   c->url = optarg; break;
        case OPT_STREAM: c->stream = optarg; break;
        case OPT_PREFIX: c->prefix = optarg; break;
        case OPT_CREDS:  c->creds = optarg; break;
        case OPT_FOLLOW: c->follow = 1; break;
        case OPT_LOG:    c->log_opt = optarg; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &c->profile))
                return cli_usage("publish", "unknown profile '%s' (one of %s)", optarg,
                                 DSR_PROFILE_NAMES);
            break;
        case OPT_POLL:
            if (cli_parse_duration(optarg, CLI_DURATION_NS_SAFE_MS, &ms) || ms == 0)
                return cli_usage("publish", "--poll takes a duration such as 500ms or 2s, "
                                 "not '%s'", optarg);
            c->poll_ms = (int64_t)ms;
            break;
        case OPT_REPLICAS:
            if (parse_int(optarg, 1, 5, &v))
                return cli_usage("publish", "--replicas takes a number from 1 to 5, not '%s'",
                                 optarg);
            c->replicas = v;
            break;
        case OPT_DUP_WINDOW:
            if (cli_parse_duration(optarg, CLI_DURATION_NS_SAFE_MS, &ms) || ms == 0)
                return cli_usage("publish", "--dup-window takes a duration such as 2m or "
                                 "90s, not '%s'", optarg);
            c->dup_window_ms = (int64_t)ms;
            break;
        case OPT_WINDOW:
            if (parse_int(optarg, 1, 1 << 20, &v))
                return cli_usage("publish", "--window takes a number from 1 to 1048576, "
                                 "not '%s'", optarg);
            c->window = (int)v;
            break;
        case OPT_ACK_WAIT:
            if (cli_parse_duration(optarg, CLI_DURATION_NS_SAFE_MS, &ms) || ms == 0)
                return cli_usage("publish", "--ack-wait takes a duration such as 10s, "
                                 "not '%s'", optarg);
            c->ack_wait_ms = (int64_t)ms;
            break;
        case 'q': c->quiet = 1; break;
        case 'j': c->json = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        default:
            return cli_usage("publish", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage("publish", "unexpected argument '%s'", argv[optind]);
    int urc = cli_nats_url("publish", &c->url, c->url_file, &c->url_owned);
    if (urc)
        return urc;
    if (c->creds)
        cli_secret_perms("publish", "NATS credentials file", c->creds);
    if (!c->poll_ms)
        c->poll_ms = 500;
    return 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);    /* a signal cuts it short, which is what we want */
}

static void print_stream(const publish_cmd *c, dsr_nats *n, const dsr_nats_stream_info *si)
{
    if (c->quiet || c->json)
        return;
    printf("dossier publish: stream %s at %s%s: subjects %s.>, %lld replica%s, "
           "duplicate window %lld ms, %llu messages\n",
           dsr_nats_stream_name(n), dsr_nats_url(n),
           si->created ? " (created)" : si->updated ? " (updated)" : "",
           dsr_nats_subject_prefix(n), (long long)si->replicas, si->replicas == 1 ? "" : "s",
           (long long)si->dup_window_ms, (unsigned long long)si->msgs);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* secs: wall time of the round (publishing and waiting for the acks). */
static void print_round(const publish_cmd *c, const dsr_nats_pub_stats *st, double secs)
{
    if (c->quiet)
        return;
    uint64_t sent = st->published + st->duplicates;
    if (c->json) {
        printf("{\"published\":%llu,\"duplicates\":%llu,\"skipped\":%llu,\"cursor\":%llu,"
               "\"seconds\":%.3f}\n", (unsigned long long)st->published,
               (unsigned long long)st->duplicates, (unsigned long long)st->skipped,
               (unsigned long long)st->cursor, secs);
        fflush(stdout);
        return;
    }
    printf("dossier publish: %llu published, %llu already in the stream, %llu pulled from it "
           "(not sent back); cursor at log seq %llu",
           (unsigned long long)st->published, (unsigned long long)st->duplicates,
           (unsigned long long)st->skipped, (unsigned long long)st->cursor);
    if (sent)
        printf("; %.3f s", secs);
    if (sent >= 1000 && secs > 0)      /* a rate of a handful of events means nothing */
        printf(", %.0f events/s", (double)sent / secs);
    printf("\n");
    fflush(stdout);
}

/* Connect and make sure the stream exists; in --follow mode keep trying
 * while the server is unreachable (a daemon should outlive a restart). */
static int connect_all(const publish_cmd *c, dsr_nats **n, dsr_nats_stream_info *si,
                       dsr_err *err)
{
    dsr_nats_opts no = { .version = DSR_NATS_OPTS_VERSION, .url = c->url, .creds_file = c->creds, .stream = c->stream,
                         .subject_prefix = c->prefix, .reconnect_forever = c->follow,
                         .client_name = "dossier publish" };
    dsr_nats_stream_cfg cfg = { .version = DSR_NATS_STREAM_CFG_VERSION, .replicas = c->replicas, .dup_window_ms = c->dup_window_ms };
    int warned = 0;
    for (;;) {
        int rc = dsr_nats_connect(n, &no, err);
        if (rc == 0) {
            rc = dsr_nats_ensure_stream(*n, &cfg, si, err);
            if (rc == 0)
                return 0;
            dsr_nats_close(*n);
            *n = NULL;
        }
        if (!c->follow || rc != DSR_ENET || stop_flag ||
            strstr(err->msg, "JetStream is not enabled"))
            return rc;
        if (!warned)
            cli_error("publish", "%s; retrying every 2s", err->msg);
        warned = 1;
        sleep_ms(2000);
        if (stop_flag)
            return rc;
    }
}

int cmd_publish(int argc, char **argv)
{
    publish_cmd c;
    memset(&c, 0, sizeof c);
    c.quiet = cli_quiet();
    int rc = parse_args(argc, argv, &c);
    if (rc) {
        free(c.url_owned);
        return rc < 0 ? DSR_EXIT_OK : rc;
    }

    char logdir[PATH_MAX];
    cli_log_dir(c.log_opt, NULL, logdir, sizeof logdir);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    dsr_err err;
    dsr_err_clear(&err);
    dsr_log *log = NULL;
    dsr_nats *n = NULL;
    dsr_nats_publisher *p = NULL;
    int exit_code = DSR_EXIT_OK;
    dsr_nats_stream_info si;

    if ((rc = dsr_log_open(&log, logdir, DSR_LOG_RDONLY, &err))) {
        exit_code = cli_fail(&err, "publish");
        goto out;
    }
    if ((rc = connect_all(&c, &n, &si, &err))) {
        exit_code = cli_fail(&err, "publish");
        goto out;
    }
    print_stream(&c, n, &si);
    dsr_nats_pub_opts po = { .version = DSR_NATS_PUB_OPTS_VERSION, .window = c.window, .ack_wait_ms = c.ack_wait_ms,
                             .stop = &stop_flag, .profile = c.profile };
    if ((rc = dsr_nats_publisher_open(&p, n, log, &po, &err))) {
        exit_code = cli_fail(&err, "publish");
        goto out;
    }

    int failing = 0;
    for (;;) {
        dsr_nats_pub_stats st = DSR_NATS_PUB_STATS_INIT;
        double t0 = now_s();
        rc = dsr_nats_publish_pending(p, &st, &err);
        double secs = now_s() - t0;
        if (rc == 0) {
            if (failing && !c.quiet)
                printf("dossier publish: recovered\n");
            failing = 0;
            if (!c.follow || st.published || st.duplicates || st.skipped)
                print_round(&c, &st, secs);
        } else if (c.follow && rc == DSR_ENET) {
            /* The server went away or stopped acking: the cursor kept every
             * acked event; try again after a pause (libnats reconnects). */
            if (!failing)
                cli_error("publish", "%s; retrying", err.msg);
            failing = 1;
            if (st.published || st.duplicates)
                print_round(&c, &st, secs);
            sleep_ms(1000);
        } else {
            if (st.published || st.duplicates || st.skipped)
                print_round(&c, &st, secs);
            exit_code = cli_fail(&err, "publish");
            goto out;
        }
        if (!c.follow && stop_flag && dsr_nats_publisher_cursor(p) < dsr_log_head(log)) {
            cli_error("publish", "interrupted before reaching the log's head; the cursor "
                      "keeps what was acknowledged");
            exit_code = DSR_EXIT_INCOMPLETE;
            break;
        }
        if (!c.follow || stop_flag)
            break;
        sleep_ms(c.poll_ms);
        if (stop_flag)
            break;
        if ((rc = dsr_log_refresh(log, &err))) {
            exit_code = cli_fail(&err, "publish");
            goto out;
        }
    }

out:
    free(c.url_owned);
    dsr_nats_publisher_free(p);
    dsr_nats_close(n);
    dsr_log_close(log);
    dsr_nats_shutdown(2000);
    return exit_code;
}

#endif /* DOSSIER_WITH_NATS */

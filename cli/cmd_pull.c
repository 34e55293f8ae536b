/*
 * cmd_pull.c - `dossier pull`: import the events other nodes published to a
 * NATS JetStream stream into the local log (library: replay/nats_pull.c),
 * then bring the projections up to date.  This file parses options and
 * presents results.
 *
 * pull writes the log, so it is a writer like `dossier scan`: one at a time
 * (--wait queues behind the running one).  Projections are caught up after
 * the import, as after a scan.  Always compiled; without libnats
 * the command explains it is unavailable.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier pull --nats URL [options]\n"
"\n"
"Import into the local log every event of a NATS JetStream stream that this\n"
"log's durable consumer has not acknowledged yet, then exit.\n"
"\n"
"Each message must be an envelope as 'dossier publish' sends it.  Envelopes\n"
"go through the same idempotent path as 'dossier import': an event whose\n"
"event_id the log already holds (this node's own events, re-deliveries) is\n"
"not stored again, and the log's lamport clock becomes max(local, remote)+1.\n"
"Messages are fetched in batches; each batch is committed to the log with\n"
"fsync before its messages are acknowledged, so a crash never loses an event\n"
"and a re-delivered one is recognised.  A message that is not a valid\n"
"envelope is reported, terminated on the server (never re-delivered) and\n"
"not imported.\n"
"\n"
"With --profile spec-kitty-3 each message is a spec-kitty-events 3.0.0\n"
"envelope of the four MissionDossier* types (as 'dossier publish --profile\n"
"spec-kitty-3' sends it).  It is checked as 'dossier validate --profile\n"
"spec-kitty-3' does (a message with a problem is invalid: reported with the\n"
"field, terminated, not imported) and converted to the canonical envelope as\n"
"'dossier import --profile spec-kitty-3' does, so pulling again adds nothing.\n"
"Every scan run with artifact events also gets a dossier_scan_completed made\n"
"from what was pulled (counted as imported), so snapshot, status and drift\n"
"see it; not for a run this log wrote.\n"
"\n"
"The durable consumer (deliver all, explicit acks) is created on first use;\n"
"its default name is derived from the log's node_id (and the --feature), so\n"
"every log has its own position in the stream.  Logs that both publish and\n"
"pull converge: each ends with the same set of event_ids.  After the import\n"
"the projections (snapshots, drift) are brought up to date, as after a scan.\n"
"\n"
"Options:\n"
"  --nats URL            NATS server, e.g. nats://127.0.0.1:4222; a comma-\n"
"                        separated list names members of one cluster (required)\n"
"  --stream NAME         JetStream stream (default DOSSIER)\n"
"  --subject-prefix P    subject prefix the publishers used (default dossier)\n"
"  --feature SLUG        import only this feature's events\n"
"  --profile P           message bodies: wp04 (the default: dossier's canonical\n"
"                        envelopes) or spec-kitty-3\n"
"  --durable NAME        consumer name (default dossier-<node_id>[-<feature>])\n"
"  --nats-file FILE      read the NATS URL from the first line of FILE, so a\n"
"                        password in it is not on the command line (ps);\n"
"                        without --nats and --nats-file: $DOSSIER_NATS_URL\n"
"  --creds FILE          NATS user credentials file\n"
"  --batch N             messages per fetch and per log commit (default 1024)\n"
"  --ack-wait DURATION   when the consumer is created: how long the server\n"
"                        waits for an ack before it re-delivers a message, e.g.\n"
"                        the batch of a pull that crashed (default 30s; units\n"
"                        ms, s, m, h)\n"
"  --log DIR             event log folder (default: $DOSSIER_LOG, else\n"
"                        ./.dossier); created when missing\n"
"  --wait                wait for another writer (a scan, import or pull) to\n"
"                        release the log instead of failing\n"
"  --trust-internal      accept what the trust rule of 'dossier import' refuses:\n"
"                        a dossier_baseline_accepted from any node, and an event\n"
"                        carrying this log's own node_id that the log does not\n"
"                        hold (refused by default: reported, terminated for this\n"
"                        consumer, not imported). For a trusted replica's stream.\n"
"  -q, --quiet           print nothing but errors\n"
"  --json                print the report as one JSON object: {received,\n"
"                        imported, duplicates, invalid, refused, other_feature,\n"
"                        derived}\n"
"  -h, --help            show this help\n"
"\n"
"Exit status:\n"
"  0  caught up: every message of the consumer is in the log\n"
"  1  some messages were not valid envelopes or were refused by the trust\n"
"     rule (reported), or SIGINT/SIGTERM\n"
"     stopped the pull before it caught up (what it committed stays)\n"
"  2  usage error, or dossier was built without NATS support\n"
"  3  the log is locked or cannot be written, NATS cannot be reached,\n"
"     JetStream is off, or the stream does not exist\n"
"\n"
"Examples:\n"
"  dossier pull --nats nats://127.0.0.1:4222\n"
"  dossier pull --nats nats://hub:4222 --feature 042-checkout --log ./.dossier --wait\n"
"  dossier pull --nats nats://hub:4222 --profile spec-kitty-3 --stream SK3\n";

#ifndef DOSSIER_WITH_NATS

int cmd_pull(int argc, char **argv)
{
    return cli_without_nats("pull", usage_text, argc, argv);
}

#else /* DOSSIER_WITH_NATS */

#include "dossier/import.h"
#include "dossier/log.h"
#include "dossier/nats.h"
#include "dossier/profile.h"
#include "dossier/replay.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>

enum { OPT_NATS_FILE = 200, OPT_NATS = 256, OPT_STREAM, OPT_PREFIX, OPT_FEATURE, OPT_DURABLE, OPT_CREDS,
       OPT_BATCH, OPT_ACK_WAIT, OPT_LOG, OPT_WAIT, OPT_TRUST_INTERNAL, OPT_PROFILE };

typedef struct pull_cmd {
    const char *url, *stream, *prefix, *feature, *durable, *creds, *log_opt, *url_file;
    char       *url_owned;         /* read from --nats-file */
    int         batch, wait, quiet, json, trust_internal;
    int64_t     ack_wait_ms;
    dsr_profile profile;
} pull_cmd;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int parse_args(int argc, char **argv, pull_cmd *c)
{
    uint64_t ms = 0;
    static const struct option longopts[] = {
        { "nats", required_argument, NULL, OPT_NATS },
        { "nats-file", required_argument, NULL, OPT_NATS_FILE },
        { "stream", required_argument, NULL, OPT_STREAM },
        { "subject-prefix", required_argument, NULL, OPT_PREFIX },
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "durable", required_argument, NULL, OPT_DURABLE },
        { "creds", required_argument, NULL, OPT_CREDS },
        { "batch", required_argument, NULL, OPT_BATCH },
        { "ack-wait", required_argument, NULL, OPT_ACK_WAIT },
        { "log", required_argument, NULL, OPT_LOG },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "trust-internal", no_argument, NULL, OPT_TRUST_INTERNAL },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "quiet", no_argument, NULL, 'q' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "+qh", longopts)) != -1) {
        switch (ch) {
        case OPT_NATS_FILE: c->url_file = optarg; break;
        case OPT_NATS:    c->url = optarg; break;
        case OPT_STREAM:  c->stream = optarg; break;
        case OPT_PREFIX:  c->prefix = optarg; break;
        case OPT_FEATURE: c->feature = optarg; break;
        case OPT_DURABLE: c->durable = optarg; break;
        case OPT_CREDS:   c->creds = optarg; break;
        case OPT_LOG:     c->log_opt = optarg; break;
        case OPT_WAIT:    c->wait = 1; break;
        case OPT_TRUST_INTERNAL: c->trust_internal = 1; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &c->profile))
                return cli_usage("pull", "unknown profile '%s' (one of %s)", optarg,
                                 DSR_PROFILE_NAMES);
            break;
        case OPT_BATCH: {
            char *end = NULL;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 65536)
                return cli_usage("pull", "--batch takes a number from 1 to 65536, not '%s'",
                                 optarg);
            c->batch = (int)v;
            break;
        }
        case OPT_ACK_WAIT:
            if (cli_parse_duration(optarg, CLI_DURATION_NS_SAFE_MS, &ms) || ms == 0)
                return cli_usage("pull", "--ack-wait takes a duration such as 30s, not '%s'",
                                 optarg);
            c->ack_wait_ms = (int64_t)ms;
            break;
        case 'q': c->quiet = 1; break;
        case 'j': c->json = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        default:
            return cli_usage("pull", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage("pull", "unexpected argument '%s'", argv[optind]);
    int urc = cli_nats_url("pull", &c->url, c->url_file, &c->url_owned);
    if (urc)
        return urc;
    if (c->creds)
        cli_secret_perms("pull", "NATS credentials file", c->creds);
    if (c->feature && !*c->feature)
        return cli_usage("pull", "--feature needs a feature slug");
    return 0;
}

static void on_invalid(void *ctx, uint64_t stream_seq, const char *subject, const dsr_err *why)
{
    (void)ctx;
    /* A message refused by the trust rule fails with DSR_ESCHEMA naming the
     * rule; anything else did not decode as an envelope. */
    cli_error("pull", "stream message %llu (%s) %s, not imported: %s",
              (unsigned long long)stream_seq, cli_safe(subject ? subject : "?"),
              strstr(why->msg, "--trust-internal") ? "is refused by the trust rule"
                                                   : "is not a valid envelope", why->msg);
}

int cmd_pull(int argc, char **argv)
{
    pull_cmd c;
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
    int exit_code = DSR_EXIT_OK;

    /* Take the log first: a locked log fails before touching the server. */
    if ((rc = dsr_log_open(&log, logdir, c.wait ? DSR_LOG_WAIT : 0, &err))) {
        exit_code = cli_fail(&err, "pull");
        goto out;
    }
    dsr_nats_opts no = { .version = DSR_NATS_OPTS_VERSION, .url = c.url, .creds_file = c.creds, .stream = c.stream,
                         .subject_prefix = c.prefix, .client_name = "dossier pull" };
    if ((rc = dsr_nats_connect(&n, &no, &err))) {
        exit_code = cli_fail(&err, "pull");
        goto out;
    }
    dsr_nats_pull_opts po = { .version = DSR_NATS_PULL_OPTS_VERSION, .feature_slug = c.feature, .durable = c.durable,
                              .batch = c.batch, .ack_wait_ms = c.ack_wait_ms,
                              .stop = &stop_flag,
                              .on_invalid = on_invalid,
                              .import_flags = c.trust_internal ? DSR_IMPORT_TRUST_INTERNAL : 0,
                              .profile = c.profile };
    dsr_nats_pull_stats st = DSR_NATS_PULL_STATS_INIT;
    rc = dsr_nats_pull(n, log, &po, &st, &err);
    if (!c.quiet && !c.json && (rc == 0 || st.received)) {
        printf("dossier pull: %llu received from stream %s (consumer %s): %llu imported, "
               "%llu already in the log",
               (unsigned long long)st.received, dsr_nats_stream_name(n), st.durable,
               (unsigned long long)st.imported, (unsigned long long)st.duplicates);
        if (st.invalid)
            printf(", %llu invalid", (unsigned long long)st.invalid);
        if (st.refused)
            printf(", %llu refused by the trust rule (--trust-internal accepts them)",
                   (unsigned long long)st.refused);
        if (st.other_feature)
            printf(", %llu of other features", (unsigned long long)st.other_feature);
        if (st.imported)
            printf("; log sequences %llu..%llu", (unsigned long long)st.first_seq,
                   (unsigned long long)st.last_seq);
        printf("\n");
    }
    if (rc) {
        exit_code = cli_fail(&err, "pull");
        goto out;
    }
    if (stop_flag) {
        /* What was committed stays; the durable consumer remembers the rest. */
        cli_error("pull", "interrupted before catching up; the next pull resumes there");
        exit_code = DSR_EXIT_INCOMPLETE;
    }
    /* Imported scan runs become snapshots (and drift assessments) here, as
     * after a local scan.  Also run when nothing was imported: it completes
     * the work of a pull that crashed between its commit and this point. */
    dsr_replay_stats rs = DSR_REPLAY_STATS_INIT;
    if ((rc = dsr_replay_catch_up(log, &rs, &err))) {
        exit_code = cli_fail(&err, "pull: projections");
        goto out;
    }
    if (c.json && !c.quiet)
        printf("{\"received\":%llu,\"imported\":%llu,\"duplicates\":%llu,\"invalid\":%llu,"
               "\"refused\":%llu,\"other_feature\":%llu,\"derived\":%llu}\n",
               (unsigned long long)st.received,
               (unsigned long long)st.imported, (unsigned long long)st.duplicates,
               (unsigned long long)st.invalid, (unsigned long long)st.refused,
               (unsigned long long)st.other_feature,
               (unsigned long long)rs.derived_new);
    else if (!c.quiet && rs.derived_new)
        printf("dossier pull: projections derived %llu new event%s\n",
               (unsigned long long)rs.derived_new, rs.derived_new == 1 ? "" : "s");
    if (st.invalid || st.refused || stop_flag)
        exit_code = DSR_EXIT_INCOMPLETE;

out:
    free(c.url_owned);
    dsr_nats_close(n);
    dsr_log_close(log);
    dsr_nats_shutdown(2000);
    return exit_code;
}

#endif /* DOSSIER_WITH_NATS */

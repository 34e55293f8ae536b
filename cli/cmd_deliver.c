/*
 * cmd_deliver.c - `dossier deliver`: POST the log's events to a webhook
 * endpoint (library: replay/deliver*.c).  This file parses options, loads
 * the secret, prints one line per failed attempt (every attempt with
 * --verbose) and a summary, and maps the outcome to an exit code.
 *
 * The event log is opened read-only; delivery state lives in
 * LOGDIR/delivery/, so a running `dossier scan` is never blocked.  Secrets
 * are never printed: messages name the secret's file, not its contents.
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/deliver.h"
#include "dossier/profile.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* s as a JSON string on stdout (cli_json_str escapes; NULL -> null). */
static void put_json_str(const char *s)
{
    dsr_buf b = DSR_BUF_INIT;
    cli_json_str(&b, s);
    if (b.data)
        fwrite(b.data, 1, b.len, stdout);
    dsr_buf_free(&b);
}

static const char usage_text[] =
"Usage: dossier deliver --url URL [options]\n"
"       dossier deliver --endpoint NAME [options]\n"
"\n"
"POST every event of the log that the endpoint has not received yet to a\n"
"webhook, then exit (or, with --follow, keep delivering new events as they\n"
"are committed).\n"
"\n"
"Each event is one POST whose body is the event's envelope as JSON (the same\n"
"text 'dossier events' prints), with the headers\n"
"  Content-Type: application/json\n"
"  User-Agent: dossier/VERSION\n"
"  webhook-id: EVENT_ID            (the receiver's idempotency key)\n"
"  webhook-timestamp: UNIX_SECONDS (time of this attempt)\n"
"  webhook-signature: v1,BASE64    (HMAC-SHA256 of \"ID.TIMESTAMP.BODY\")\n"
"following the Standard Webhooks convention.  Without a secret the\n"
"signature header is left out.\n"
"\n"
"Any 2xx is success.  Network errors, timeouts, 5xx, 408, 409, 425 and 429\n"
"are retried with exponential backoff and full jitter, waiting at least as\n"
"long as a Retry-After header asks; after --max-attempts attempts, or when\n"
"the next try would fall after --max-age from the first, the event becomes a\n"
"dead letter ('dossier deliveries --dead', re-queued with 'dossier\n"
"deliveries --retry').  Other 4xx answers (and 3xx: redirects are never\n"
"followed) dead-letter the event at once.  410 Gone disables the endpoint\n"
"until 'dossier endpoint enable NAME'.\n"
"\n"
"Events of one feature are delivered in log order: an event is sent only\n"
"after every earlier event of its feature was delivered or dead-lettered,\n"
"so a failing event holds back its own feature, never the others.\n"
"\n"
"Each endpoint keeps its own cursor in LOGDIR/delivery/.  With --url, the\n"
"endpoint is named url-HASH after the URL and the --feature/--type filters\n"
"(see 'dossier deliveries').  Delivery is at-least-once: an event is marked\n"
"delivered only after its 2xx, in a synced write made before any new\n"
"request starts, so a crash can resend at most --concurrency events, with\n"
"the same webhook-id.\n"
"\n"
"Options:\n"
"  --url URL             endpoint URL (http:// or https://)\n"
"  --url-file FILE       read the URL from the first line of FILE, so a token\n"
"                        in it is not on the command line (ps)\n"
"  --endpoint NAME       deliver to a saved endpoint ('dossier endpoint add')\n"
"                        with its URL, secret file and filters\n"
"  --secret-file F       signing secret: whsec_BASE64 (decoded) or any other\n"
"                        text (used as bytes); surrounding whitespace ignored.\n"
"                        Default: the saved endpoint's secret file, else\n"
"                        $DOSSIER_WEBHOOK_SECRET, else unsigned\n"
"  --feature SLUG        only events of this feature (repeatable; --url only)\n"
"  --type T              only events of this type, snake_case or PascalCase\n"
"                        (repeatable; --url only)\n"
"  --profile P           how events are rendered: wp04 (default, the canonical\n"
"                        envelope) or spec-kitty-3 (spec-kitty-events 3.0.0\n"
"                        envelopes; internal types are not sent; the signature\n"
"                        signs the rendered body).  With --url: its own ad-hoc\n"
"                        endpoint per profile; with --endpoint: must be the\n"
"                        profile it was saved with (the default)\n"
"  --follow              keep running and deliver new events as they are\n"
"                        committed; stop with SIGINT or SIGTERM (requests in\n"
"                        flight finish and their results are saved)\n"
"  --poll DURATION       --follow: how often to look for new events (250ms)\n"
"  --max-attempts N      attempts per event before it is dead-lettered (8)\n"
"  --max-age DURATION    give up on an event this long after its first\n"
"                        attempt (24h)\n"
"  --timeout DURATION    per request, connecting included (10s)\n"
"  --concurrency N       requests in flight at once, over keep-alive\n"
"                        connections (4; 1-256)\n"
"  --backoff-base DURATION  backoff ceiling of the first retry (500ms); it\n"
"                        doubles per attempt\n"
"  --backoff-max DURATION   backoff ceiling never exceeds this (60s)\n"
"  --cacert F            CA bundle (PEM) to verify the endpoint's TLS\n"
"                        certificate; verification is always on\n"
"  --log DIR             event log folder (default: $DOSSIER_LOG, else\n"
"                        ./.dossier)\n"
"  --json                print the summary as one JSON object on stdout\n"
"  -v, --verbose         print every attempt, not only failures\n"
"  -q, --quiet           print only errors, dead letters and disabled endpoints\n"
"  -h, --help            show this help\n"
"\n"
"DURATION is a number of seconds (may have a fraction) or a number with a\n"
"unit: ms, s, m or h (e.g. 500ms, 1.5, 90s, 2m).\n"
"\n"
"Exit status:\n"
"  0  every selected event is delivered (or --follow was stopped)\n"
"  1  some events were dead-lettered in this run\n"
"  2  usage error (bad option, unreadable or malformed secret file)\n"
"  3  the log or delivery state cannot be used (missing, locked by another\n"
"     'dossier deliver'), or the endpoint is disabled (410 Gone)\n"
"\n"
"Examples:\n"
"  dossier deliver --url https://hooks.example.com/dossier --secret-file hook.key\n"
"  DOSSIER_WEBHOOK_SECRET=whsec_... dossier deliver --url http://127.0.0.1:8080/ \\\n"
"      --type mission_dossier_parity_drift_detected --follow\n"
"  dossier endpoint add ci --url https://ci.example.com/hook --secret-file ci.key\n"
"  dossier deliver --endpoint ci --concurrency 8\n";

enum { OPT_URL_FILE = 200, OPT_URL = 256, OPT_ENDPOINT, OPT_SECRET, OPT_FEATURE, OPT_TYPE, OPT_FOLLOW, OPT_POLL,
       OPT_MAX_ATTEMPTS, OPT_MAX_AGE, OPT_TIMEOUT, OPT_CONCURRENCY, OPT_BASE, OPT_MAXB,
       OPT_CACERT, OPT_LOG, OPT_JSON, OPT_PROFILE };

#define MAX_FILTERS 64

typedef struct deliver_cmd {
    const char *url, *endpoint, *secret_file, *cacert, *log_opt, *url_file;
    const char *features[MAX_FILTERS];
    size_t      n_features;
    const char *types[MAX_FILTERS];
    size_t      n_types;
    int         json, verbose, quiet;
} deliver_cmd;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
    /* A second signal ends the process the default way. */
    signal(sig, SIG_DFL);
}

/* Seconds (fraction allowed) or a number with ms/s/m/h -> milliseconds. */
/* Longest duration option: beyond any retry age or poll anyone means. */
#define DURATION_MAX_MS UINT64_C(1000000000000000)

static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void fmt_status(char *buf, size_t n, long status)
{
    if (status)
        snprintf(buf, n, "HTTP %ld", status);
    else
        snprintf(buf, n, "no response");
}

static void observe(void *ctx, const dsr_deliver_note *nt)
{
    const deliver_cmd *c = ctx;
    /* -q keeps what loses an event or stops delivery (dead letters, 410);
     * it hides progress (deliveries, retries). */
    if (c->quiet && (nt->outcome == DSR_OUTCOME_DELIVERED || nt->outcome == DSR_OUTCOME_RETRY))
        return;
    char st[32];
    fmt_status(st, sizeof st, nt->status);
    switch (nt->outcome) {
    case DSR_OUTCOME_DELIVERED:
        if (c->verbose)
            fprintf(stderr, "dossier deliver: %s: event %s (seq %" PRIu64 ") delivered, "
                    "%s, attempt %u\n", nt->endpoint, nt->event_id, nt->seq, st, nt->attempts);
        break;
    case DSR_OUTCOME_RETRY: {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        double in = nt->next_ms > (uint64_t)now_ms ? (double)(nt->next_ms - (uint64_t)now_ms) / 1000.0
                                                   : 0.0;
        fprintf(stderr, "dossier deliver: %s: event %s (seq %" PRIu64 ") attempt %u failed "
                "(%s); retry in %.1fs\n", nt->endpoint, nt->event_id, nt->seq, nt->attempts,
                nt->detail ? nt->detail : st, in);
        break;
    }
    case DSR_OUTCOME_DEAD:
        fprintf(stderr, "dossier deliver: %s: event %s (seq %" PRIu64 ") dead-lettered after "
                "%u attempt(s): %s\n", nt->endpoint, nt->event_id, nt->seq, nt->attempts,
                nt->detail ? nt->detail : st);
        break;
    case DSR_OUTCOME_GONE:
        fprintf(stderr, "dossier deliver: %s: endpoint answered 410 Gone; it is disabled "
                "('dossier endpoint enable %s' to resume); event %s stays pending\n",
                nt->endpoint, nt->endpoint, nt->event_id);
        break;
    }
}

/* The URL read from --url-file (freed by cmd_deliver). */
static char *url_file_buf;

static int parse_args(int argc, char **argv, deliver_cmd *c, dsr_deliver_opts *o)
{
    static const struct option longopts[] = {
        { "url", required_argument, NULL, OPT_URL },
        { "url-file", required_argument, NULL, OPT_URL_FILE },
        { "endpoint", required_argument, NULL, OPT_ENDPOINT },
        { "secret-file", required_argument, NULL, OPT_SECRET },
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "type", required_argument, NULL, OPT_TYPE },
        { "follow", no_argument, NULL, OPT_FOLLOW },
        { "poll", required_argument, NULL, OPT_POLL },
        { "max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS },
        { "max-age", required_argument, NULL, OPT_MAX_AGE },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "concurrency", required_argument, NULL, OPT_CONCURRENCY },
        { "backoff-base", required_argument, NULL, OPT_BASE },
        { "backoff-max", required_argument, NULL, OPT_MAXB },
        { "cacert", required_argument, NULL, OPT_CACERT },
        { "log", required_argument, NULL, OPT_LOG },
        { "json", no_argument, NULL, OPT_JSON },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    unsigned long v;
    uint64_t ms;
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "+vqh", longopts)) != -1) {
        switch (ch) {
        case OPT_URL:      c->url = optarg; break;
        case OPT_URL_FILE: c->url_file = optarg; break;
        case OPT_ENDPOINT: c->endpoint = optarg; break;
        case OPT_SECRET:   c->secret_file = optarg; break;
        case OPT_CACERT:   c->cacert = optarg; break;
        case OPT_LOG:      c->log_opt = optarg; break;
        case OPT_FOLLOW:   o->follow = 1; break;
        case OPT_JSON:     c->json = 1; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &o->profile))
                return cli_usage("deliver", "unknown profile '%s' (one of %s)", optarg,
                                 DSR_PROFILE_NAMES);
            o->has_profile = 1;
            break;
        case 'v':          c->verbose = 1; break;
        case 'q':          c->quiet = 1; break;
        case OPT_FEATURE:
            if (c->n_features == MAX_FILTERS)
                return cli_usage("deliver", "at most %d --feature options", MAX_FILTERS);
            c->features[c->n_features++] = optarg;
            break;
        case OPT_TYPE:
            if (c->n_types == MAX_FILTERS)
                return cli_usage("deliver", "at most %d --type options", MAX_FILTERS);
            c->types[c->n_types++] = optarg;
            break;
        case OPT_MAX_ATTEMPTS:
            if (parse_uint(optarg, 1, 1000, &v))
                return cli_usage("deliver", "--max-attempts takes a number from 1 to 1000, "
                                 "not '%s'", optarg);
            o->policy.max_attempts = (unsigned)v;
            break;
        case OPT_CONCURRENCY:
            if (parse_uint(optarg, 1, 256, &v))
                return cli_usage("deliver", "--concurrency takes a number from 1 to 256, "
                                 "not '%s'", optarg);
            o->concurrency = (unsigned)v;
            break;
        case OPT_POLL: case OPT_MAX_AGE: case OPT_TIMEOUT: case OPT_BASE: case OPT_MAXB:
            if (cli_parse_duration(optarg, DURATION_MAX_MS, &ms) || (ch != OPT_BASE && ms == 0))
                return cli_usage("deliver", "%s takes a duration such as 1.5, 500ms, 10s or "
                                 "2m, not '%s'", argv[optind - 1], optarg);
            if (ch == OPT_POLL)         o->poll_ms = ms;
            else if (ch == OPT_MAX_AGE) o->policy.max_age_ms = ms;
            else if (ch == OPT_TIMEOUT) o->timeout_ms = ms;
            else if (ch == OPT_BASE)    o->policy.base_ms = ms;
            else                        o->policy.cap_ms = ms;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        default:
            return cli_usage("deliver", "unknown or incomplete option '%s'",
                             argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage("deliver", "unexpected argument '%s'", argv[optind]);
    if (c->url_file) {
        if (c->url)
            return cli_usage("deliver", "--url and --url-file are mutually exclusive");
        int rc = cli_secret_read_line("deliver", "URL file", c->url_file, &url_file_buf);
        if (rc)
            return rc;
        c->url = url_file_buf;
    }
    if (!c->url == !c->endpoint)
        return cli_usage("deliver", "give exactly one of --url URL or --endpoint NAME");
    if (c->secret_file)
        cli_secret_perms("deliver", "secret file", c->secret_file);
    if (c->endpoint && (c->n_features || c->n_types))
        return cli_usage("deliver", "--feature and --type apply to --url; a saved endpoint "
                         "keeps its own filters ('dossier endpoint add')");
    if (c->url && strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8))
        return cli_usage("deliver", "--url must start with http:// or https://");
    if (c->json && c->verbose)
        c->verbose = 0;
    return 0;
}

static void print_summary(const deliver_cmd *c, const dsr_deliver_report *r)
{
    double rate = r->seconds > 0 ? (double)r->delivered / r->seconds : 0.0;
    if (c->json) {
        printf("{\"endpoint\":");
        put_json_str(r->endpoint);
        printf(",\"delivered\":%" PRIu64 ",\"failed_attempts\":%" PRIu64 ",\"dead\":%" PRIu64
               ",\"pending\":%" PRIu64 ",\"attempts\":%" PRIu64 ",\"disabled\":%s"
               ",\"seconds\":%.3f,\"events_per_second\":%.1f}\n",
               r->delivered, r->failed, r->dead, r->pending, r->attempts,
               r->disabled ? "true" : "false", r->seconds, rate);
        return;
    }
    if (c->quiet)
        return;
    printf("%s: %" PRIu64 " delivered, %" PRIu64 " dead-lettered, %" PRIu64 " pending, "
           "%" PRIu64 " failed attempt(s) in %.2fs (%.0f events/s)%s\n",
           r->endpoint, r->delivered, r->dead, r->pending, r->failed, r->seconds, rate,
           r->disabled ? "; endpoint disabled (410 Gone)" : "");
}

static int deliver_main(int argc, char **argv)
{
    deliver_cmd c;
    memset(&c, 0, sizeof c);
    c.quiet = cli_quiet();
    dsr_deliver_opts o;
    dsr_deliver_opts_init(&o);
    int rc = parse_args(argc, argv, &c, &o);
    if (rc != 0)
        return rc < 0 ? DSR_EXIT_OK : rc;
    if (o.policy.cap_ms < o.policy.base_ms)
        o.policy.cap_ms = o.policy.base_ms;

    dsr_err err = {0};
    dsr_webhook_secret secret = DSR_WEBHOOK_SECRET_INIT;
    if (c.secret_file && dsr_webhook_secret_load(c.secret_file, &secret, &err) < 0) {
        cli_error("deliver", "%s", err.msg);
        return DSR_EXIT_USAGE;
    }
    const char *env = getenv("DOSSIER_WEBHOOK_SECRET");
    if (!secret.key && env && *env) {
        /* Parse here too so a malformed variable is a usage error naming it. */
        if (dsr_webhook_secret_parse(env, strlen(env), "DOSSIER_WEBHOOK_SECRET", &secret,
                                     &err) < 0) {
            cli_error("deliver", "%s", err.msg);
            return DSR_EXIT_USAGE;
        }
        /* A saved endpoint's own secret file wins over the environment. */
        if (c.endpoint) {
            dsr_webhook_secret_clear(&secret);
        }
    }
    if (c.url && !secret.key && !c.quiet)
        cli_error("deliver", "warning: no secret (--secret-file or DOSSIER_WEBHOOK_SECRET); "
                  "deliveries are not signed");

    char logbuf[4096];
    const char *logdir = cli_log_dir(c.log_opt, NULL, logbuf, sizeof logbuf);
    o.url = c.url;
    o.endpoint = c.endpoint;
    o.features = c.features;
    o.n_features = c.n_features;
    o.types = c.types;
    o.n_types = c.n_types;
    o.secret = secret.key ? &secret : NULL;
    o.secret_file = c.secret_file;
    o.cacert = c.cacert;
    o.stop = &stop_flag;
    o.observer = observe;
    o.observer_ctx = &c;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    dsr_deliver_report rep = DSR_DELIVER_REPORT_INIT;
    rc = dsr_deliver_run(logdir, &o, &rep, &err);
    dsr_webhook_secret_clear(&secret);
    if (rc < 0) {
        if (rep.disabled) {
            cli_error("deliver", "%s", err.msg);
            return DSR_EXIT_IO;
        }
        return cli_fail(&err, "deliver");
    }
    print_summary(&c, &rep);
    if (rep.disabled)
        return DSR_EXIT_IO;
    if (rep.dead > 0)
        return DSR_EXIT_INCOMPLETE;
    return DSR_EXIT_OK;
}

int cmd_deliver(int argc, char **argv)
{
    int rc = deliver_main(argc, argv);
    free(url_file_buf);
    url_file_buf = NULL;
    return rc;
}

/*
 * cmd_deliveries.c - `dossier deliveries`: pending / delivered / dead counts
 * per webhook endpoint, the dead-letter list, and re-queueing dead letters
 * (library: replay/deliver_endpoints.c).  Counts and lists open the delivery
 * state read-only, so they work while a `dossier deliver --follow` runs;
 * --retry writes and needs that process to be stopped.
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/deliver.h"
#include "dossier/log.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
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
"Usage: dossier deliveries [--dead | --retry] [--endpoint NAME] [--json] [--log DIR]\n"
"\n"
"Show, for every webhook endpoint of the log, how many events are pending\n"
"(not yet delivered; 'retrying' of them have failed at least once),\n"
"delivered and dead-lettered, whether the endpoint is disabled (410 Gone),\n"
"and its cursor (every event up to that log sequence is handled).\n"
"\n"
"Options:\n"
"  --dead            list the dead letters instead: endpoint, sequence,\n"
"                    event_id, feature, attempts, last HTTP status, reason\n"
"  --retry           move the dead letters back to pending (attempts reset);\n"
"                    the next 'dossier deliver' sends them first in their\n"
"                    feature.  Fails while a 'dossier deliver' is running\n"
"  --endpoint NAME   only this endpoint\n"
"  --json            machine output: one JSON array (counts or dead letters),\n"
"                    or {\"requeued\": N} with --retry\n"
"  --log DIR         event log folder (default: $DOSSIER_LOG, else ./.dossier)\n"
"  -h, --help        show this help\n"
"\n"
"Exit status:\n"
"  0  done (also when there are pending events or dead letters)\n"
"  2  usage error\n"
"  3  the log or the delivery state cannot be read, no such endpoint, or\n"
"     --retry while a 'dossier deliver' holds the delivery state\n"
"\n"
"Examples:\n"
"  dossier deliveries\n"
"  dossier deliveries --dead --endpoint ci\n"
"  dossier deliveries --retry && dossier deliver --endpoint ci\n";

enum { OPT_DEAD = 256, OPT_RETRY, OPT_ENDPOINT, OPT_JSON, OPT_LOG };

static void fmt_time(uint64_t ms, char *buf, size_t n)
{
    if (!ms) {
        snprintf(buf, n, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int show_counts(dsr_log *log, const char *only, int json)
{
    dsr_err err = {0};
    dsr_endpoint_info *v = NULL;
    size_t n = 0;
    if (dsr_deliver_stats(log, &v, &n, &err) < 0)
        return cli_fail(&err, "deliveries");
    size_t shown = 0;
    if (json)
        putchar('[');
    for (size_t i = 0; i < n; i++) {
        const dsr_endpoint_info *e = &v[i];
        if (only && strcmp(only, e->name))
            continue;
        if (json) {
            printf("%s{\"endpoint\":", shown ? "," : "");
            put_json_str(e->name);
            printf(",\"url\":");
            put_json_str(e->url);
            printf(",\"pending\":%" PRIu64 ",\"retrying\":%" PRIu64 ",\"delivered\":%" PRIu64
                   ",\"dead\":%" PRIu64 ",\"cursor\":%" PRIu64 ",\"disabled\":%s,\"auto\":%s}",
                   e->pending, e->retrying, e->delivered, e->dead, e->cursor,
                   e->disabled ? "true" : "false", e->auto_deliver ? "true" : "false");
        } else {
            if (shown == 0)
                printf("%-24s %9s %9s %9s %9s  %s\n", "ENDPOINT", "PENDING", "RETRYING",
                       "DELIVERED", "DEAD", "URL");
            printf("%-24s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "  %s%s\n",
                   e->name, e->pending, e->retrying, e->delivered, e->dead, e->url,
                   e->disabled ? "  [DISABLED: 410 Gone]" : "");
        }
        shown++;
    }
    if (json)
        printf("]\n");
    else if (shown == 0 && !only)
        printf("no webhook endpoints (see 'dossier endpoint add' and 'dossier deliver')\n");
    dsr_endpoint_list_free(v, n);
    if (only && shown == 0) {
        cli_error("deliveries", "no endpoint named '%s'", only);
        return DSR_EXIT_IO;
    }
    return DSR_EXIT_OK;
}

static int show_dead(const char *logdir, const char *only, int json)
{
    dsr_err err = {0};
    dsr_dead_letter *v = NULL;
    size_t n = 0;
    if (dsr_dead_list(logdir, only, &v, &n, &err) < 0)
        return cli_fail(&err, "deliveries");
    if (json)
        putchar('[');
    for (size_t i = 0; i < n; i++) {
        const dsr_dead_letter *d = &v[i];
        char first[32], dead[32];
        fmt_time(d->first_ms, first, sizeof first);
        fmt_time(d->dead_ms, dead, sizeof dead);
        if (json) {
            printf("%s{\"endpoint\":", i ? "," : "");
            put_json_str(d->endpoint);
            printf(",\"seq\":%" PRIu64 ",\"event_id\":", d->seq);
            put_json_str(d->event_id);
            printf(",\"feature_slug\":");
            put_json_str(d->feature);
            printf(",\"attempts\":%u,\"last_status\":%ld,\"reason\":", d->attempts,
                   d->last_status);
            put_json_str(d->reason);
            printf(",\"first_attempt\":");
            put_json_str(d->first_ms ? first : NULL);
            printf(",\"dead_at\":");
            put_json_str(d->dead_ms ? dead : NULL);
            putchar('}');
        } else {
            printf("%s seq %" PRIu64 " %s feature %s: %u attempt(s), last %s%ld, dead at %s: %s\n",
                   d->endpoint, d->seq, d->event_id, d->feature[0] ? d->feature : "-",
                   d->attempts, d->last_status ? "HTTP " : "status ", d->last_status, dead,
                   d->reason);
        }
    }
    if (json)
        printf("]\n");
    else if (n == 0)
        printf("no dead letters\n");
    dsr_dead_list_free(v, n);
    return DSR_EXIT_OK;
}

int cmd_deliveries(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "dead", no_argument, NULL, OPT_DEAD },
        { "retry", no_argument, NULL, OPT_RETRY },
        { "endpoint", required_argument, NULL, OPT_ENDPOINT },
        { "json", no_argument, NULL, OPT_JSON },
        { "log", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int dead = 0, retry = 0, json = 0, ch;
    const char *only = NULL, *log_opt = NULL;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "+h", longopts)) != -1) {
        switch (ch) {
        case OPT_DEAD:     dead = 1; break;
        case OPT_RETRY:    retry = 1; break;
        case OPT_ENDPOINT: only = optarg; break;
        case OPT_JSON:     json = 1; break;
        case OPT_LOG:      log_opt = optarg; break;
        case 'h':
            fputs(usage_text, stdout);
            return DSR_EXIT_OK;
        default:
            return cli_usage("deliveries", "unknown or incomplete option '%s'",
                             argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage("deliveries", "unexpected argument '%s'", argv[optind]);
    if (dead && retry)
        return cli_usage("deliveries", "--dead and --retry cannot be combined");
    char logbuf[4096];
    const char *logdir = cli_log_dir(log_opt, NULL, logbuf, sizeof logbuf);
    dsr_err err = {0};
    if (retry) {
        size_t n = 0;
        if (dsr_dead_retry(logdir, only, &n, &err) < 0)
            return cli_fail(&err, "deliveries --retry");
        if (json)
            printf("{\"requeued\":%zu}\n", n);
        else
            printf("%zu dead letter(s) moved back to pending; run 'dossier deliver' to send "
                   "them\n", n);
        return DSR_EXIT_OK;
    }
    if (dead)
        return show_dead(logdir, only, json);
    dsr_log *log = NULL;
    if (dsr_log_open(&log, logdir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE, &err) < 0)
        return cli_fail(&err, logdir);
    int rc = show_counts(log, only, json);
    dsr_log_close(log);
    return rc;
}

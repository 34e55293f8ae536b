/*
 * cmd_replay.c - `dossier replay`: run projections over the log (catch up, or
 * rebuild from zero), verify live projection state against a scratch
 * rebuild, or dump projection state.
 */
#include "cli.h"
#include "dossier/buf.h"
#include "cli_proj.h"
#include "dossier/replay.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
"Usage: dossier replay [--projection NAME|all] [--from-zero | --verify | --dump]\n"
"                      [--log DIR]\n"
"\n"
"Projections fold the event log into state: 'snapshot' (one snapshot per\n"
"completed scan) and 'drift' (each snapshot against the accepted baseline).\n"
"Each keeps its state and its checkpoint (last applied log sequence) in its\n"
"own column family, written in the same atomic batch as the events it\n"
"derives, so an interrupted replay never applies an event twice or skips one.\n"
"Derived events have deterministic ids: replaying never adds an event.\n"
"\n"
"Without a mode, the projections are caught up from their checkpoints\n"
"('dossier scan' and 'dossier import' do this themselves).\n"
"\n"
"Options:\n"
"  --projection NAME  snapshot, drift or all (default: all); drift brings its\n"
"                     input, the snapshot projection, up to date as well\n"
"  --from-zero        drop the projection's state and rebuild it from the whole\n"
"                     log (an interrupted rebuild is completed by the next replay)\n"
"  --verify           rebuild into scratch state, without writing any event, and\n"
"                     compare it row by row with the live state; also checks that\n"
"                     every derived event is in the log with the same payload;\n"
"                     prints each difference\n"
"  --dump             print every state row: projection, key (\\xHH escapes),\n"
"                     value as hex -- for debugging and comparing rebuilds\n"
"  --log DIR          event log folder (default: $DOSSIER_LOG, else ./.dossier)\n"
"  --json             print the report as JSON (with --verify: one object per\n"
"                     difference, then the totals)\n"
"  -h, --help         show this help\n"
"\n"
"Environment:\n"
"  DOSSIER_REPLAY_CHUNK_EVENTS  events per committed chunk (default 65536; a chunk\n"
"                     runs on, up to 4 times that, to end after an open scan run)\n"
"\n"
"Exit status:\n"
"  0  done (--verify: no difference)\n"
"  1  --verify found differences (repair with --from-zero)\n"
"  2  usage error\n"
"  3  the log cannot be opened, read or written, or an event does not decode\n"
"\n"
"Examples:\n"
"  dossier replay --log mission/.dossier\n"
"  dossier replay --projection snapshot --from-zero\n"
"  dossier replay --verify || dossier replay --from-zero\n";

enum { OPT_LOG = 256, OPT_PROJECTION, OPT_FROM_ZERO, OPT_VERIFY, OPT_DUMP };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ud: non-NULL with --json (one object per difference). */
static void on_diff(void *ud, const char *proj, const char *what)
{
    if (!ud) {
        printf("%s: %s\n", proj, what);
        return;
    }
    dsr_buf b = DSR_BUF_INIT;
    dsr_buf_puts(&b, "{\"projection\":");
    cli_json_str(&b, proj);
    dsr_buf_puts(&b, ",\"difference\":");
    cli_json_str(&b, what);
    dsr_buf_putc(&b, '}');
    if (b.data)
        puts(b.data);
    dsr_buf_free(&b);
}

static int dump_row(void *ud, const char *proj, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    (void)ud;
    const unsigned char *k = key, *v = val;
    printf("%s\t", proj);
    for (size_t i = 0; i < klen; i++) {
        if (k[i] == '\\')
            fputs("\\\\", stdout);
        else if (k[i] >= 0x20 && k[i] < 0x7f)
            putchar(k[i]);
        else
            printf("\\x%02x", k[i]);
    }
    putchar('\t');
    for (size_t i = 0; i < vlen; i++)
        printf("%02x", v[i]);
    putchar('\n');
    return ferror(stdout) ? DSR_EIO : 0;
}

int cmd_replay(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "projection", required_argument, NULL, OPT_PROJECTION },
        { "from-zero", no_argument, NULL, OPT_FROM_ZERO },
        { "verify", no_argument, NULL, OPT_VERIFY },
        { "dump", no_argument, NULL, OPT_DUMP },
        { "log", required_argument, NULL, OPT_LOG },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_opt = NULL, *proj = "all";
    int from_zero = 0, verify = 0, dump = 0, json = 0, ch;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "+h", longopts)) != -1) {
        switch (ch) {
        case OPT_PROJECTION: proj = optarg; break;
        case OPT_FROM_ZERO:  from_zero = 1; break;
        case OPT_VERIFY:     verify = 1; break;
        case OPT_DUMP:       dump = 1; break;
        case OPT_LOG:        log_opt = optarg; break;
        case 'j':            json = 1; break;
        case 'h':            fputs(usage_text, stdout); return DSR_EXIT_OK;
        default:
            return cli_usage("replay", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage("replay", "unexpected argument '%s'", argv[optind]);
    if (from_zero + verify + dump > 1)
        return cli_usage("replay", "--from-zero, --verify and --dump exclude each other");
    if (strcmp(proj, "all") && !dsr_replay_projection_known(proj))
        return cli_usage("replay", "unknown projection '%s' (snapshot, drift or all)", proj);

    char dir[4096];
    cli_log_dir(log_opt, NULL, dir, sizeof dir);
    dsr_err err = { 0 };
    dsr_log *log = NULL;
    unsigned flags = DSR_LOG_NOCREATE | (dump ? DSR_LOG_RDONLY : DSR_LOG_WAIT);
    int rc = dsr_log_open(&log, dir, flags, &err);
    if (rc == DSR_ENOTFOUND) {
        cli_error("replay", "no event log in %s (pass --log DIR)", dir);
        return DSR_EXIT_IO;
    }
    if (rc)
        return cli_fail(&err, "replay");

    int code = DSR_EXIT_OK;
    if (dump) {
        rc = dsr_replay_dump(log, proj, dump_row, NULL, &err);
        if (rc)
            code = cli_fail(&err, "replay");
        else if (fflush(stdout))
            code = DSR_EXIT_IO;
    } else if (verify) {
        size_t n = 0;
        double t0 = now_s();
        rc = dsr_replay_verify(log, proj, on_diff, json ? &json : NULL, &n, &err);
        if (rc) {
            code = cli_fail(&err, "replay");
        } else {
            if (json)
                printf("{\"projection\":\"%s\",\"differences\":%zu,\"seconds\":%.3f}\n", proj, n,
                       now_s() - t0);
            else
                printf("verify %s: %zu difference%s (rebuilt in %.3f s)\n", proj, n,
                       n == 1 ? "" : "s", now_s() - t0);
            if (n)
                code = DSR_EXIT_INCOMPLETE;
        }
    } else {
        dsr_replay_stats st = DSR_REPLAY_STATS_INIT;
        double t0 = now_s();
        dsr_replay_opts o = DSR_REPLAY_OPTS_INIT;
        o.flags = from_zero ? DSR_REPLAY_FROM_ZERO : 0;
        const char *ce = getenv("DOSSIER_REPLAY_CHUNK_EVENTS");
        if (ce && *ce) {
            char *end;
            unsigned long long v = strtoull(ce, &end, 10);
            if (*end || !v) {
                dsr_log_close(log);
                return cli_usage("replay", "DOSSIER_REPLAY_CHUNK_EVENTS must be a positive "
                                 "count, not '%s'", ce);
            }
            o.chunk_events = (size_t)v;
        }
        rc = dsr_replay_run(log, proj, &o, &st, &err);
        double dt = now_s() - t0;
        if (rc) {
            code = cli_fail(&err, "replay");
        } else if (json) {
            printf("{\"projection\":\"%s\",\"from_zero\":%s,\"events_read\":%llu,"
                   "\"derived_new\":%llu,\"derived_duplicates\":%llu,\"commits\":%llu,"
                   "\"head\":%llu,\"seconds\":%.3f}\n", proj, from_zero ? "true" : "false",
                   (unsigned long long)st.events_read, (unsigned long long)st.derived_new,
                   (unsigned long long)st.derived_dup, (unsigned long long)st.commits,
                   (unsigned long long)st.head, dt);
        } else {
            printf("replay %s%s: %llu events read, %llu derived events appended, "
                   "%llu already in the log, %llu commits, head %llu\n",
                   proj, from_zero ? " from zero" : "", (unsigned long long)st.events_read,
                   (unsigned long long)st.derived_new, (unsigned long long)st.derived_dup,
                   (unsigned long long)st.commits, (unsigned long long)st.head);
            printf("time %.3f s, %.0f events/s\n", dt,
                   dt > 0 ? (double)st.events_read / dt : 0.0);
        }
    }
    dsr_log_close(log);
    return code;
}

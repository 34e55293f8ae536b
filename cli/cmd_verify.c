/*
 * cmd_verify.c - `dossier verify [--repair]`: check a log end to end and
 * print every problem with its sequence number; with --repair, first rebuild
 * the derived data (ids index, counters, projections) from the events.
 * The checks live in the library (dossier/verify.h); this file only prints.
 */
#include "cli.h"
#include "dossier/verify.h"
#include "dossier/buf.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier verify [--log DIR] [--repair [--wait]] [--json] [-q]\n"
"\n"
"Check an event log end to end and print every problem found, with the\n"
"sequence number it concerns:\n"
"  - every record decodes and is a valid envelope with a valid payload, stored\n"
"    in canonical form;\n"
"  - sequences are dense (1, 2, ... head) and meta next_seq is head + 1;\n"
"  - the event_id index (ids) and the events agree both ways, and no\n"
"    event_id is stored twice;\n"
"  - lamport clocks: each event of this log's node is stamped above every\n"
"    stamp stored before it; no node stamped two events alike; meta lamport\n"
"    is at least every stamp (imported events keep their node's stamps, in\n"
"    the order they were imported);\n"
"  - every completed scan is whole: its dossier_scan_completed counts equal\n"
"    its events (runs without that marker -- interrupted scans -- are listed\n"
"    as notes, not problems);\n"
"  - every projection checkpoint is at most the head;\n"
"  - every block of every column family passes its checksum;\n"
"  - the write-ahead log is whole (a torn last record, which a crash leaves,\n"
"    is tolerated), and no committed sequence is gone (a deleted WAL).\n"
"The log is read through a read-only handle: verify runs beside a scan or\n"
"import and checks the log as it was when verify started.\n"
"\n"
"With --repair, derived data is rebuilt from the events first: the ids\n"
"index, the meta counters, a missing identity, and every projection\n"
"(replayed from zero).  No event is ever deleted, rewritten or renumbered:\n"
"records that do not decode and sequence gaps are reported again afterwards.\n"
"A write-ahead log damaged in the middle (a writer refuses such a log) is\n"
"read past the damage; the sequences that are gone are listed, recorded as\n"
"lost, and never given to another event: the log continues above every\n"
"sequence ever committed.\n"
"--repair takes the writer lock (fails at once when a scan or import holds\n"
"it, unless --wait).  The log is verified again after the repair.\n"
"\n"
"Options:\n"
"  --log DIR     event log folder (default: $DOSSIER_LOG, else ./.dossier)\n"
"  --repair      rebuild the derived data, then verify\n"
"  --wait        with --repair: wait for another writer to finish\n"
"  --json        print one JSON object (problems, notes, counts) on stdout\n"
"  -q, --quiet   print problems and nothing else (no notes, no summary)\n"
"  -h, --help    show this help\n"
"\n"
"Exit status:\n"
"  0  the log is sound (open scan runs may be listed)\n"
"  1  problems found (including a log so damaged RocksDB refuses to open it)\n"
"  2  usage error\n"
"  3  the log cannot be checked: missing, unreadable, or locked (--repair)\n"
"\n"
"Examples:\n"
"  dossier verify --log mission/.dossier\n"
"  dossier verify --json | jq '.problems[] | select(.kind == \"decode\")'\n"
"  dossier verify --repair --wait\n";

enum { OPT_LOG = 256, OPT_REPAIR, OPT_WAIT, OPT_JSON };

#define TEXT_PER_KIND 200    /* problems printed per kind in text mode */
#define JSON_MAX 1000        /* problems and notes listed in --json */

typedef struct vout {
    int      json, quiet;
    size_t   per_kind[DSR_VERIFY_KIND_COUNT];
    size_t   listed;         /* --json entries written */
    size_t   dropped;        /* --json entries left out */
} vout;

/* A JSON string (cli_json_str: invalid UTF-8 becomes U+FFFD). */
static void json_str(FILE *f, const char *s)
{
    dsr_buf b = DSR_BUF_INIT;
    cli_json_str(&b, s);
    fwrite(b.data, 1, b.len, f);
    dsr_buf_free(&b);
}

static void on_problem(void *ud, const dsr_verify_problem *p)
{
    vout *o = ud;
    size_t k = (size_t)p->kind < DSR_VERIFY_KIND_COUNT ? (size_t)p->kind : 0;
    if (o->json) {
        if (o->listed >= JSON_MAX) {
            o->dropped++;
            return;
        }
        fputs(o->listed++ ? ",\n  " : "\n  ", stdout);
        fputs("{\"kind\":", stdout);
        json_str(stdout, dsr_verify_kind_name(p->kind));
        printf(",\"note\":%s,\"seq\":", p->note ? "true" : "false");
        if (p->seq)
            printf("%llu", (unsigned long long)p->seq);
        else
            fputs("null", stdout);
        fputs(",\"event_id\":", stdout);
        json_str(stdout, p->event_id);
        fputs(",\"message\":", stdout);
        json_str(stdout, p->message);
        fputc('}', stdout);
        return;
    }
    if (p->note && o->quiet)
        return;
    if (++o->per_kind[k] > TEXT_PER_KIND)
        return;
    printf("%s", p->note ? "note: " : "");
    if (p->seq)
        printf("seq %llu: ", (unsigned long long)p->seq);
    printf("%s: %s\n", dsr_verify_kind_name(p->kind), p->message);
}

static void print_repair(const dsr_repair_report *r)
{
    printf("repair: ids index: %llu added, %llu corrected, %llu removed; meta next_seq %llu%s, "
           "lamport %llu%s%s\n",
           (unsigned long long)r->ids_added, (unsigned long long)r->ids_fixed,
           (unsigned long long)r->ids_removed, (unsigned long long)r->next_seq,
           r->next_seq_fixed ? " (fixed)" : "", (unsigned long long)r->lamport,
           r->lamport_fixed ? " (fixed)" : "",
           r->identity_created ? "; identity was missing: new node_id and project_uuid" : "");
    if (r->undecodable)
        printf("repair: %llu records do not decode; they were left in place\n",
               (unsigned long long)r->undecodable);
    if (r->wal_damaged)
        printf("repair: the write-ahead log %s was damaged at offset %llu (%s); the records "
               "after it were kept\n", r->wal_file, (unsigned long long)r->wal_offset,
               r->wal_what);
    if (r->side_repaired)
        printf("repair: the write-ahead log %s was damaged at offset %llu (%s)%s; the %llu "
               "commit%s after it were kept, what the damaged record held (one delivery round "
               "or publish cursor at most) is gone\n", r->side_file,
               (unsigned long long)r->side_offset, r->side_what,
               r->side_repaired > 1 ? ", and that of the other store too" : "",
               (unsigned long long)r->side_kept, r->side_kept == 1 ? "" : "s");
    if (r->lost_ranges) {
        printf("repair: %llu sequence%s lost:", (unsigned long long)r->lost_seqs,
               r->lost_seqs == 1 ? " was" : "s were");
        for (uint64_t i = 0; i < r->lost_ranges && i < DSR_REPAIR_LOST_LISTED; i++) {
            if (r->lost[i][0] == r->lost[i][1])
                printf("%s %llu", i ? "," : "", (unsigned long long)r->lost[i][0]);
            else
                printf("%s %llu..%llu", i ? "," : "", (unsigned long long)r->lost[i][0],
                       (unsigned long long)r->lost[i][1]);
        }
        if (r->lost_ranges > DSR_REPAIR_LOST_LISTED)
            printf(" and %llu more ranges",
                   (unsigned long long)(r->lost_ranges - DSR_REPAIR_LOST_LISTED));
        printf("; they are recorded as lost and no event will be numbered with them (the "
               "next is %llu)\n", (unsigned long long)r->next_seq);
    }
    if (r->projections_rebuilt)
        printf("repair: projections rebuilt from zero: %llu events read, %llu derived events "
               "appended\n", (unsigned long long)r->replay.events_read,
               (unsigned long long)r->replay.derived_new);
}

static void print_summary_json(const char *dir, const dsr_verify_report *r, const vout *o,
                               const dsr_repair_report *rep, int repaired)
{
    printf("\n ],\n \"listed_truncated\":%zu,\n \"log\":", o->dropped);
    json_str(stdout, dir);
    printf(",\n \"opened\":%s,\"ok\":%s,", r->opened ? "true" : "false",
           r->problems ? "false" : "true");
    printf("\"problems_count\":%llu,\"events\":%llu,\"head\":%llu,"
           "\"meta_next_seq\":%llu,\"meta_lamport\":%llu,\"max_lamport\":%llu,"
           "\"node_id\":", (unsigned long long)r->problems,
           (unsigned long long)r->events, (unsigned long long)r->head,
           (unsigned long long)r->meta_next_seq, (unsigned long long)r->meta_lamport,
           (unsigned long long)r->max_lamport);
    json_str(stdout, r->node_id[0] ? r->node_id : NULL);
    printf(",\"nodes\":%llu,\"local_events\":%llu,\"runs_completed\":%llu,\"runs_open\":%llu,"
           "\n \"checkpoints\":{", (unsigned long long)r->nodes,
           (unsigned long long)r->local_events, (unsigned long long)r->runs_completed,
           (unsigned long long)r->runs_open);
    for (size_t i = 0; i < r->n_checkpoints; i++)
        printf("%s\"%s\":%llu", i ? "," : "", dsr_replay_projection_name(i),
               (unsigned long long)r->checkpoints[i]);
    fputc('}', stdout);
    if (repaired)
        printf(",\n \"repair\":{\"ids_added\":%llu,\"ids_fixed\":%llu,\"ids_removed\":%llu,"
               "\"undecodable\":%llu,\"next_seq_fixed\":%s,\"lamport_fixed\":%s,"
               "\"identity_created\":%s,\"projections_rebuilt\":%s,\"lost_seqs\":%llu,"
               "\"lost\":[",
               (unsigned long long)rep->ids_added, (unsigned long long)rep->ids_fixed,
               (unsigned long long)rep->ids_removed, (unsigned long long)rep->undecodable,
               rep->next_seq_fixed ? "true" : "false", rep->lamport_fixed ? "true" : "false",
               rep->identity_created ? "true" : "false",
               rep->projections_rebuilt ? "true" : "false",
               (unsigned long long)rep->lost_seqs);
    for (uint64_t i = 0; repaired && i < rep->lost_ranges && i < DSR_REPAIR_LOST_LISTED; i++)
        printf("%s[%llu,%llu]", i ? "," : "", (unsigned long long)rep->lost[i][0],
               (unsigned long long)rep->lost[i][1]);
    if (repaired) {
        printf("],\"wal_damage\":");
        if (rep->wal_damaged) {
            printf("{\"file\":");
            json_str(stdout, rep->wal_file);
            printf(",\"offset\":%llu,\"what\":", (unsigned long long)rep->wal_offset);
            json_str(stdout, rep->wal_what);
            fputc('}', stdout);
        } else {
            fputs("null", stdout);
        }
        printf(",\"side_wal_damage\":");
        if (rep->side_repaired) {
            printf("{\"file\":");
            json_str(stdout, rep->side_file);
            printf(",\"offset\":%llu,\"what\":", (unsigned long long)rep->side_offset);
            json_str(stdout, rep->side_what);
            printf(",\"kept\":%llu,\"stores\":%u}", (unsigned long long)rep->side_kept,
                   rep->side_repaired);
        } else {
            fputs("null", stdout);
        }
        fputc('}', stdout);
    }
    printf("\n}\n");
}

static void print_summary_text(const char *dir, const dsr_verify_report *r, const vout *o)
{
    for (size_t k = 0; k < DSR_VERIFY_KIND_COUNT; k++)
        if (o->per_kind[k] > TEXT_PER_KIND)
            printf("... and %zu more %s %s\n", o->per_kind[k] - TEXT_PER_KIND,
                   dsr_verify_kind_name((dsr_verify_kind)k),
                   k == DSR_VERIFY_OPEN_RUN || k == DSR_VERIFY_LOST ? "notes" : "problems");
    if (o->quiet)
        return;
    if (!r->opened) {
        printf("verify %s: the log does not open; %llu problem%s\n", dir,
               (unsigned long long)r->problems, r->problems == 1 ? "" : "s");
        return;
    }
    printf("verify %s: %llu events (head %llu), %llu node%s, %llu scan%s completed, "
           "%llu open run%s; checkpoints", dir, (unsigned long long)r->events,
           (unsigned long long)r->head, (unsigned long long)r->nodes, r->nodes == 1 ? "" : "s",
           (unsigned long long)r->runs_completed, r->runs_completed == 1 ? "" : "s",
           (unsigned long long)r->runs_open, r->runs_open == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_checkpoints; i++)
        printf("%s %s %llu", i ? "," : "", dsr_replay_projection_name(i),
               (unsigned long long)r->checkpoints[i]);
    printf("; %llu problem%s\n", (unsigned long long)r->problems, r->problems == 1 ? "" : "s");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "log", required_argument, NULL, OPT_LOG },
        { "repair", no_argument, NULL, OPT_REPAIR },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "json", no_argument, NULL, OPT_JSON },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_opt = NULL;
    int repair = 0, wait = 0, ch;
    vout o;
    memset(&o, 0, sizeof o);
    o.quiet = cli_quiet();
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "+qh", longopts)) != -1) {
        switch (ch) {
        case OPT_LOG:    log_opt = optarg; break;
        case OPT_REPAIR: repair = 1; break;
        case OPT_WAIT:   wait = 1; break;
        case OPT_JSON:   o.json = 1; break;
        case 'q':        o.quiet = 1; break;
        case 'h':        fputs(usage_text, stdout); return DSR_EXIT_OK;
        default:
            return cli_usage("verify", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage("verify", "unexpected argument '%s'", argv[optind]);
    if (wait && !repair)
        return cli_usage("verify", "--wait only applies to --repair");

    char dir[PATH_MAX];
    cli_log_dir(log_opt, NULL, dir, sizeof dir);
    dsr_err err = { 0 };
    dsr_repair_report rep = DSR_REPAIR_REPORT_INIT;
    int repair_failed = 0;
    if (repair) {
        int rc = dsr_repair(dir, wait ? DSR_LOG_WAIT : 0, &rep, &err);
        if (rc == DSR_ENOTFOUND) {
            cli_error("verify", "no event log in %s (pass --log DIR)", dir);
            return DSR_EXIT_IO;
        }
        if (rc && rc != DSR_ECORRUPT)
            return cli_fail(&err, "verify --repair");
        if (rc) {
            /* The log or a record is damaged beyond what derived data can
             * fix; the verify below lists what is wrong. */
            cli_error("verify --repair", "%s", err.msg);
            repair_failed = 1;
        }
        if (!o.json && !o.quiet)
            print_repair(&rep);
    }

    if (o.json)
        fputs("{\"problems\":[", stdout);
    dsr_verify_report r = DSR_VERIFY_REPORT_INIT;
    int rc = dsr_verify(dir, on_problem, &o, &r, &err);
    if (rc) {
        if (o.json)
            fputs("]}\n", stdout);
        if (rc == DSR_ENOTFOUND) {
            cli_error("verify", "no event log in %s (pass --log DIR)", dir);
            return DSR_EXIT_IO;
        }
        return cli_fail(&err, "verify");
    }
    if (o.json)
        print_summary_json(dir, &r, &o, &rep, repair);
    else
        print_summary_text(dir, &r, &o);
    if (fflush(stdout) != 0) {
        cli_error("verify", "cannot write output");
        return DSR_EXIT_IO;
    }
    return r.problems || repair_failed ? DSR_EXIT_INCOMPLETE : DSR_EXIT_OK;
}

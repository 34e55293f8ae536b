/*
 * cmd_validate.c - `dossier validate FILE|-`: check NDJSON envelopes, one
 * per line, against the event contract (dsr_json_to_msgpack for the JSON
 * rules, dsr_envelope_decode for the envelope and payload rules) and report
 * `FILE:LINE: what is wrong` for each line that breaks it.  Nothing is
 * written anywhere; no log is opened.
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/event.h"
#include "dossier/profile.h"
#include "dossier/sk3.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"Usage: dossier validate [options] FILE|-\n"
"\n"
"Check NDJSON event envelopes (one JSON object per line, as printed by\n"
"'dossier events' and read by 'dossier import') against the event\n"
"contract, without touching any log.  '-' reads standard input.\n"
"\n"
"Each non-blank line must be strict JSON (UTF-8, no duplicate keys, nesting\n"
"at most 64 deep) holding exactly the envelope fields event_id (ULID),\n"
"event_type (snake_case name or PascalCase alias), aggregate_id\n"
"(\"feature/<payload.feature_slug>\"), timestamp (RFC 3339 with offset),\n"
"node_id, lamport_clock (integer >= 0), project_uuid, correlation_id and\n"
"causation_id (string or null), schema_version (\"1.0.0\") and a payload\n"
"with exactly the fields of its event type.  These are the rules of\n"
"schemas/*.schema.json plus one JSON Schema cannot state: aggregate_id must\n"
"name the payload's feature_slug.\n"
"\n"
"For every invalid line one diagnostic is printed on stdout:\n"
"  FILE:LINE: what is wrong (naming the event, field and value)\n"
"and a summary goes to stderr.  Blank lines are ignored.\n"
"\n"
"With --profile spec-kitty-3 the lines are checked as spec-kitty-events\n"
"3.0.0 envelopes instead (docs/interop.md section 6): PascalCase dossier\n"
"types, build_id, correlation_id never null, schema_version \"3.0.0\", no\n"
"legacy keys (feature_slug, feature_number, mission_key,\n"
"legacy_aggregate_id) at any depth, ULID or UUID ids, the payloads of the\n"
"four MissionDossier* types; other event types need only the envelope.\n"
"Every problem of a line is reported, one per output line:\n"
"  FILE:LINE: FIELD: what is wrong\n"
"(FIELD is a dotted path such as payload.content_ref.hash, '.' for the\n"
"line as a whole); --json gives {file, line, field, error} per problem.\n"
"\n"
"Options:\n"
"  --profile P   wp04 (the default: dossier's canonical envelope) or\n"
"                spec-kitty-3\n"
"  -q, --quiet   print nothing; only the exit status tells\n"
"  --json        print one JSON object per invalid line ({file, line, error})\n"
"                and a last one with the totals ({file, events, invalid})\n"
"  -h, --help    show this help\n"
"\n"
"Exit status:\n"
"  0  every line is a valid envelope (an empty file is valid)\n"
"  1  at least one line is invalid\n"
"  2  usage error\n"
"  3  FILE cannot be opened or read\n"
"\n"
"Examples:\n"
"  dossier validate exported.ndjson\n"
"  dossier events --feature 042-x | dossier validate -\n"
"  dossier validate -q incoming.ndjson && dossier import incoming.ndjson\n"
"  dossier validate --profile spec-kitty-3 upstream.ndjson\n"
"\n"
"See docs/events.md for the event types and their fields.\n";

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* Check one line; 0 valid, DSR_EPARSE/DSR_ESCHEMA/DSR_ECORRUPT invalid,
 * DSR_ENOMEM when we could not tell. */
static int check_line(const char *line, size_t len, msgpack_sbuffer *sb, msgpack_unpacked *u,
                      dsr_err *err)
{
    sb->size = 0;
    int rc = dsr_json_to_msgpack(line, len, sb, err);
    if (rc)
        return rc;
    dsr_envelope env;
    return dsr_envelope_decode(sb->data, sb->size, u, &env, err);
}

/* --json: one object per problem, on stdout (field only for spec-kitty-3). */
static void json_problem(const char *file, size_t line, const char *field, const char *msg)
{
    dsr_buf b = DSR_BUF_INIT;
    dsr_buf_puts(&b, "{\"file\":");
    cli_json_str(&b, file);
    dsr_buf_printf(&b, ",\"line\":%zu,", line);
    if (field) {
        dsr_buf_puts(&b, "\"field\":");
        cli_json_str(&b, field);
        dsr_buf_putc(&b, ',');
    }
    dsr_buf_puts(&b, "\"error\":");
    cli_json_str(&b, msg);
    dsr_buf_putc(&b, '}');
    if (b.data)
        puts(b.data);
    dsr_buf_free(&b);
}

/* How one spec-kitty-3 problem is reported. */
typedef struct sk3_report {
    const char *file;
    size_t      line;
    int         quiet, json;
} sk3_report;

static void sk3_problem(void *ctx, const char *field, const char *msg)
{
    const sk3_report *r = ctx;
    if (r->json)
        json_problem(r->file, r->line, field, msg);
    else if (!r->quiet)
        printf("%s:%zu: %s: %s\n", r->file, r->line, field, msg);
}

enum { OPT_PROFILE = 256 };

int cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "quiet", no_argument, NULL, 'q' },
        { "json", no_argument, NULL, 'j' },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int quiet = cli_quiet(), json = 0, c;
    dsr_profile profile = DSR_PROFILE_WP04;
    optind = 1;
    opterr = 0;
    while ((c = cli_getopt(argc, argv, "qh", opts)) != -1) {
        switch (c) {
        case 'q':
            quiet = 1;
            break;
        case 'j':
            json = 1;
            break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &profile))
                return cli_usage("validate", "unknown profile '%s' (one of %s)", optarg,
                                 DSR_PROFILE_NAMES);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return DSR_EXIT_OK;
        default:
            return cli_usage("validate", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind == argc)
        return cli_usage("validate", "missing FILE (use '-' for standard input)");
    if (argc - optind > 1)
        return cli_usage("validate", "one FILE at a time (got %d)", argc - optind);
    const char *path = argv[optind];
    const char *name = strcmp(path, "-") ? path : "<stdin>";
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        cli_error("validate", "%s: %s", path, strerror(errno));
        return DSR_EXIT_IO;
    }

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    char *line = NULL;
    size_t cap = 0, lineno = 0, total = 0, bad = 0;
    int code = DSR_EXIT_OK;
    ssize_t n;
    errno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (blank(line, len))
            continue;
        total++;
        if (profile == DSR_PROFILE_SPEC_KITTY_3) {
            sk3_report rep = { name, lineno, quiet, json };
            int np = dsr_sk3_check(line, len, sk3_problem, &rep);
            if (np < 0) {
                cli_error("validate", "%s:%zu: out of memory", name, lineno);
                code = DSR_EXIT_IO;
                break;
            }
            bad += np > 0;
            errno = 0;
            continue;
        }
        dsr_err err = { 0 };
        int rc = check_line(line, len, &sb, &u, &err);
        if (rc == DSR_ENOMEM) {
            cli_error("validate", "%s:%zu: %s", name, lineno, err.msg);
            code = DSR_EXIT_IO;
            break;
        }
        if (rc) {
            bad++;
            if (json)
                json_problem(name, lineno, NULL, err.msg);
            else if (!quiet)
                printf("%s:%zu: %s\n", name, lineno, err.msg);
        }
        errno = 0;
    }
    if (code == DSR_EXIT_OK && ferror(f)) {
        cli_error("validate", "%s: read error after line %zu: %s", name, lineno,
                  strerror(errno ? errno : EIO));
        code = DSR_EXIT_IO;
    }
    free(line);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    if (f != stdin)
        fclose(f);
    if (fflush(stdout) == EOF && code == DSR_EXIT_OK) {
        cli_error("validate", "writing the report: %s", strerror(errno));
        code = DSR_EXIT_IO;
    }
    if (code != DSR_EXIT_OK)
        return code;
    if (json) {
        dsr_buf b = DSR_BUF_INIT;
        dsr_buf_puts(&b, "{\"file\":");
        cli_json_str(&b, name);
        dsr_buf_printf(&b, ",\"events\":%zu,\"invalid\":%zu}", total, bad);
        if (b.data)
            puts(b.data);
        dsr_buf_free(&b);
    } else if (!quiet)
        fprintf(stderr, "%s: %zu event%s, %zu invalid\n", name, total, total == 1 ? "" : "s",
                bad);
    return bad ? DSR_EXIT_INCOMPLETE : DSR_EXIT_OK;
}

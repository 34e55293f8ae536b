/*
 * cmd_import.c - `dossier import FILE|-`: append NDJSON envelopes produced by
 * another log (or by `dossier events`) to this log, idempotently.
 *
 * All or nothing on validation: every line is parsed (strict JSON) and
 * validated as an envelope before the log is even opened; one bad line and
 * nothing from the file is appended.  The parsed records are staged in memory
 * as msgpack, so stdin works the same as a file and nothing is parsed twice.
 *
 * Appending goes through dsr_emit_import in large atomic, fsync'd batches
 * (DOSSIER_BATCH_EVENTS, default 16384).  A crash or kill in the middle
 * leaves whole batches only; because appends are idempotent by event_id,
 * running the same import again completes it and adds exactly the rest.
 * The log's lamport clock follows the merge rule: max(local, stamp) + 1 for
 * every envelope actually added; stored envelopes keep their own stamp.
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/replay.h"
#include "dossier/emit.h"
#include "dossier/event.h"
#include "dossier/import.h"
#include "dossier/log.h"
#include "dossier/profile.h"
#include "dossier/sk3.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH_EVENTS 16384
#define MAX_REPORTED 50

static const char usage_text[] =
"Usage: dossier import FILE|- [options]\n"
"\n"
"Append the event envelopes in FILE (NDJSON: one JSON envelope per line, as\n"
"printed by 'dossier events'; '-' reads standard input) to the log.\n"
"\n"
"Every line is validated first (strict JSON, the envelope fields, and the\n"
"payload of its event type; PascalCase event types such as\n"
"MissionDossierArtifactIndexed are accepted and stored in snake_case).  If\n"
"any line is invalid, each problem is reported as FILE:LINE: problem and\n"
"nothing from the file is appended.  Blank lines are ignored.\n"
"\n"
"Envelopes keep their event_id, payload and lamport_clock stamp.  An\n"
"envelope whose event_id is already in the log is skipped (a duplicate), so\n"
"importing the same file twice adds nothing, and re-running an import that\n"
"was interrupted adds exactly what is missing.  For every envelope added the\n"
"log's lamport clock becomes max(clock, envelope's lamport_clock) + 1.\n"
"\n"
"With --profile spec-kitty-3 the lines are spec-kitty-events 3.0.0\n"
"envelopes of the four MissionDossier* types (as 'dossier events --profile\n"
"spec-kitty-3' prints them, or as spec-kitty writes them).  Each is checked\n"
"as 'dossier validate --profile spec-kitty-3' does (every problem of a line\n"
"is reported, FILE:LINE: FIELD: problem) and converted to the canonical\n"
"envelope the log stores (docs/interop.md section 6): ULIDs are kept (upper\n"
"case), a UUID id becomes the ULID of its 16 bytes, so importing the same\n"
"file again adds nothing.  Every scan run (correlation_id) with artifact\n"
"events also gets a dossier_scan_completed made from what was imported, so\n"
"that snapshot, status and drift see it; not for a run this log wrote.\n"
"\n"
"Options:\n"
"  --profile P   wp04 (the default: dossier's canonical envelopes) or\n"
"                spec-kitty-3\n"
"  --log DIR     event log folder (default: $DOSSIER_LOG, else ./.dossier);\n"
"                created when it does not exist\n"
"  --wait        wait for another writer (a scan or import) to release the\n"
"                log instead of failing\n"
"  --trust-internal\n"
"                accept events only this log may make: a\n"
"                dossier_baseline_accepted, or an event carrying this log's own\n"
"                node_id that the log does not hold.  Refused by default\n"
"                (exit 1, nothing appended): a baseline decides the drift gate\n"
"                and is accepted where it gates ('dossier baseline accept').\n"
"                For restoring a log from a trusted replica.\n"
"  -q, --quiet   print nothing but errors\n"
"  --json        print the summary as JSON: {file, events, added, duplicates}\n"
"  -h, --help    show this help\n"
"\n"
"Environment:\n"
"  DOSSIER_LOG            default log folder\n"
"  DOSSIER_BATCH_EVENTS   envelopes per atomic, fsync'd batch (default 16384)\n"
"\n"
"Output: one line, 'FILE: N envelopes, A added, D duplicates'.\n"
"\n"
"Exit status:\n"
"  0  imported (A may be 0)\n"
"  1  a line is not a valid envelope, or an envelope is refused by the trust\n"
"     rule (see --trust-internal): nothing was appended\n"
"  2  usage error\n"
"  3  FILE cannot be read, or the log cannot be opened or written (locked by\n"
"     another writer without --wait, corrupt, disk full); batches committed\n"
"     before the failure stay, and re-running the import completes it\n"
"\n"
"Examples:\n"
"  dossier events --log a/.dossier > a.ndjson && dossier import a.ndjson --log b/.dossier\n"
"  ssh host dossier events | dossier import - --wait\n"
"  dossier import --profile spec-kitty-3 upstream.ndjson\n";

enum { OPT_LOG = 256, OPT_WAIT, OPT_TRUST_INTERNAL, OPT_PROFILE };

typedef struct import_cmd {
    const char *file;
    const char *log_opt;
    int         wait, quiet, json;
    int         trust_internal;   /* --trust-internal */
    dsr_profile profile;
    dsr_sk3_runs *runs;           /* spec-kitty-3: the imported scan runs */
} import_cmd;

typedef struct staged {
    size_t off, len;   /* in the stage buffer */
    size_t line;       /* 0: a run completion made by the import */
    const char *run_event_id;   /* completion: an event of its run (in runs) */
    int    skip;       /* completion of a run this log wrote: not appended */
} staged;

typedef struct stage {
    msgpack_sbuffer buf;
    staged         *recs;
    size_t          n, cap;
} stage;

static int parse_args(int argc, char **argv, import_cmd *c)
{
    static const struct option longopts[] = {
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
    while ((ch = cli_getopt(argc, argv, "qh", longopts)) != -1) {
        switch (ch) {
        case OPT_LOG:  c->log_opt = optarg; break;
        case OPT_WAIT: c->wait = 1; break;
        case OPT_TRUST_INTERNAL: c->trust_internal = 1; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &c->profile))
                return cli_usage("import", "unknown profile '%s' (one of %s)", optarg,
                                 DSR_PROFILE_NAMES);
            break;
        case 'q':      c->quiet = 1; break;
        case 'j':      c->json = 1; break;
        case 'h':      fputs(usage_text, stdout); return -1;
        default:
            return cli_usage("import", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage("import", optind >= argc ? "missing FILE (use - for standard input)"
                                                  : "exactly one FILE is expected");
    c->file = argv[optind];
    return 0;
}


static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Phase 1: parse and validate every line into st.  Returns 0 when all lines
 * are valid, DSR_EXIT_INCOMPLETE when some are not (each reported), or an
 * exit code for I/O trouble. */
/* One spec-kitty-3 problem as FILE:LINE: FIELD: problem (the first
 * MAX_REPORTED of the file). */
typedef struct sk3_report {
    const char *file;
    size_t      line, *reported;
} sk3_report;

static void sk3_problem(void *ctx, const char *field, const char *msg)
{
    sk3_report *r = ctx;
    if ((*r->reported)++ < MAX_REPORTED)
        cli_error(NULL, "%s:%zu: %s: %s", r->file, r->line, field, msg);
}

static int stage_push(stage *st, size_t off, size_t line, const char *run_event_id)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 1024;
        staged *p = realloc(st->recs, cap * sizeof *p);
        if (!p)
            return -1;
        st->recs = p;
        st->cap = cap;
    }
    st->recs[st->n] = (staged){ off, st->buf.size - off, line, run_event_id, 0 };
    st->n++;
    return 0;
}

/* spec-kitty-3: check and convert one line into st's buffer.  0 staged,
 * 1 invalid (reported), DSR_ENOMEM. */
static int sk3_line(const import_cmd *c, const char *name, size_t lineno, const char *ln,
                    size_t len, stage *st, size_t *reported)
{
    sk3_report rep = { name, lineno, reported };
    int np = dsr_sk3_check(ln, len, sk3_problem, &rep);
    if (np < 0)
        return DSR_ENOMEM;
    if (np > 0)
        return 1;
    dsr_err err = {0};
    int rc = dsr_sk3_to_canonical(ln, len, c->runs, &st->buf, &err);
    if (rc == DSR_ENOMEM)
        return rc;
    if (rc) {
        if ((*reported)++ < MAX_REPORTED)
            cli_error(NULL, "%s:%zu: %s", name, lineno, err.msg);
        return 1;
    }
    return 0;
}

static int stage_file(const import_cmd *c, const char *name, stage *st)
{
    FILE *f = strcmp(c->file, "-") ? fopen(c->file, "r") : stdin;
    if (!f) {
        cli_error("import", "%s: %s", c->file, strerror(errno));
        return DSR_EXIT_IO;
    }
    char *ln = NULL;
    size_t lncap = 0, lineno = 0, bad = 0, reported = 0;
    ssize_t n;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int code = 0;
    while ((n = getline(&ln, &lncap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (ln[len - 1] == '\n' || ln[len - 1] == '\r'))
            len--;
        if (blank(ln, len))
            continue;
        dsr_err err = {0};
        size_t mark = st->buf.size;
        int bad_line = 0;
        if (c->profile == DSR_PROFILE_SPEC_KITTY_3) {
            int r = sk3_line(c, name, lineno, ln, len, st, &reported);
            if (r == DSR_ENOMEM) {
                cli_error("import", "%s:%zu: out of memory", name, lineno);
                code = DSR_EXIT_IO;
                break;
            }
            if (r) {
                bad++;
                st->buf.size = mark;
                continue;
            }
        } else if (dsr_json_to_msgpack(ln, len, &st->buf, &err)) {
            bad_line = 1;
        } else {
            /* dsr_envelope_decode, not a bare unpack: msgpack-c decodes only
             * 32 levels of nesting while the JSON parser accepts 64, and a
             * line nested deeper is an invalid envelope, not out of memory. */
            dsr_envelope env;
            int drc = dsr_envelope_decode(st->buf.data + mark, st->buf.size - mark, &u, &env,
                                          &err);
            if (drc)
                bad_line = 1;
        }
        if (bad_line) {
            if (err.code == DSR_ENOMEM) {
                cli_error("import", "%s:%zu: %s", name, lineno, err.msg);
                code = DSR_EXIT_IO;
                break;
            }
            if (reported++ < MAX_REPORTED)
                cli_error(NULL, "%s:%zu: %s", name, lineno, err.msg);
            bad++;
            st->buf.size = mark;   /* drop the line's bytes; keep validating */
            continue;
        }
        if (bad)
            st->buf.size = mark;   /* nothing will be appended: stop staging */
        else if (stage_push(st, mark, lineno, NULL)) {
            cli_error("import", "out of memory staging %s", name);
            code = DSR_EXIT_IO;
            break;
        }
    }
    if (!code && ferror(f)) {
        cli_error("import", "%s: read error: %s", name, strerror(errno));
        code = DSR_EXIT_IO;
    }
    free(ln);
    msgpack_unpacked_destroy(&u);
    if (f != stdin)
        fclose(f);
    /* spec-kitty-3: each imported run's completion, after its events */
    for (size_t i = 0; !code && !bad && c->runs; i++) {
        dsr_err err = {0};
        const char *run_event = NULL;
        size_t mark = st->buf.size;
        int rc = dsr_sk3_runs_completion(c->runs, i, &st->buf, &run_event, &err);
        if (rc == DSR_ENOTFOUND)
            break;
        if (rc || stage_push(st, mark, 0, run_event)) {
            cli_error("import", "%s: %s", name, rc ? err.msg : "out of memory");
            code = DSR_EXIT_IO;
        }
    }
    if (!code && bad) {
        if (reported > MAX_REPORTED)
            cli_error(NULL, "%s: ... and %zu more problems", name, reported - MAX_REPORTED);
        cli_error("import", "%s: %zu invalid line%s; nothing was imported", name, bad,
                  bad == 1 ? "" : "s");
        code = DSR_EXIT_INCOMPLETE;
    }
    return code;
}

/* Phase 1b, with the log open: the trust rule (dossier/import.h).  Every
 * staged envelope is checked before anything is appended, so a refused one
 * leaves the log as it was, like an invalid line.  Returns 0,
 * DSR_EXIT_INCOMPLETE (each refusal reported as FILE:LINE) or an exit code
 * for a log error. */
static int check_trust(dsr_log *log, const import_cmd *c, const char *name, stage *st)
{
    /* A run whose events this log wrote itself has its own completion: the
     * one made by the import is dropped (it would carry this log's node_id
     * without being written here). */
    const char *own = dsr_log_node_id(log);
    msgpack_unpacked cu;
    msgpack_unpacked_init(&cu);
    for (size_t i = 0; i < st->n; i++) {
        staged *r = &st->recs[i];
        dsr_envelope env;
        dsr_err err = {0};
        uint64_t seq = 0;
        if (!r->run_event_id)
            continue;
        if (dsr_envelope_decode(st->buf.data + r->off, r->len, &cu, &env, &err)) {
            msgpack_unpacked_destroy(&cu);
            return cli_fail(&err, "import");
        }
        if (env.node_id.len != strlen(own) || memcmp(env.node_id.ptr, own, env.node_id.len))
            continue;
        int rc = dsr_log_find_event(log, r->run_event_id, &seq, &err);
        if (rc && rc != DSR_ENOTFOUND) {
            msgpack_unpacked_destroy(&cu);
            return cli_fail(&err, "import");
        }
        r->skip = !rc;
    }
    msgpack_unpacked_destroy(&cu);
    if (c->trust_internal)
        return 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t refused = 0;
    int code = 0;
    for (size_t i = 0; i < st->n && !code; i++) {
        const staged *r = &st->recs[i];
        size_t off = 0;
        dsr_envelope env;
        dsr_err err = {0};
        if (r->skip)
            continue;
        if (msgpack_unpack_next(&u, st->buf.data + r->off, r->len, &off)
            != MSGPACK_UNPACK_SUCCESS) {
            cli_error("import", "%s:%zu: out of memory", name, r->line);
            code = DSR_EXIT_IO;
            break;
        }
        int rc = dsr_envelope_view(&u.data, &env, &err);
        if (!rc)
            rc = dsr_import_check(log, &env, 0, &err);
        if (rc == DSR_ESCHEMA) {
            if (refused < MAX_REPORTED && r->line)
                cli_error(NULL, "%s:%zu: %s", name, r->line, err.msg);
            else if (refused < MAX_REPORTED)
                cli_error(NULL, "%s: the scan completion made for a run: %s", name, err.msg);
            refused++;
        } else if (rc) {
            code = cli_fail(&err, "import");
        }
    }
    msgpack_unpacked_destroy(&u);
    if (!code && refused) {
        if (refused > MAX_REPORTED)
            cli_error(NULL, "%s: ... and %zu more refused envelopes", name,
                      refused - MAX_REPORTED);
        cli_error("import", "%s: %zu envelope%s refused by the trust rule; nothing was "
                  "imported", name, refused, refused == 1 ? "" : "s");
        code = DSR_EXIT_INCOMPLETE;
    }
    return code;
}

/* Phase 2: append the staged envelopes in batches, each full one committed in
 * the background while the next is built.  *added counts envelopes in
 * committed batches only: a batch's count is added once a later call has
 * confirmed its commit. */
static int append_all(dsr_log *log, const char *name, const stage *st, size_t max,
                      size_t *added, size_t *dups)
{
    size_t pending = 0, in_flight = 0;
    dsr_err err = {0};
    dsr_log_batch *b = NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int code = 0;
    for (size_t i = 0; i < st->n && !code; i++) {
        if (!b && dsr_log_batch_begin(log, &b, &err)) {
            code = cli_fail(&err, "import");
            break;
        }
        const staged *r = &st->recs[i];
        size_t off = 0;
        dsr_envelope env;
        dsr_emit_result res;
        if (r->skip) {
            (*dups)++;   /* the log holds the run's own completion */
            continue;
        }
        if (msgpack_unpack_next(&u, st->buf.data + r->off, r->len, &off)
            != MSGPACK_UNPACK_SUCCESS) {
            cli_error("import", "%s:%zu: out of memory", name, r->line);
            code = DSR_EXIT_IO;
        } else if (dsr_envelope_view(&u.data, &env, &err)
                   || dsr_emit_import(b, &env, &res, &err)) {
            cli_error("import", "%s:%zu: %s", name, r->line, err.msg);
            code = cli_exit_code(err.code) == DSR_EXIT_OK ? DSR_EXIT_IO
                                                           : cli_exit_code(err.code);
        } else if (res.duplicate) {
            (*dups)++;
        } else {
            pending++;
        }
        if (code)
            break;
        if (dsr_log_batch_events(b) >= max) {
            /* waits for the batch in flight first: 0 confirms it */
            int rc = dsr_log_batch_commit_async(b, &err);
            b = NULL;
            if (rc) {
                code = cli_fail(&err, "import");   /* the batch in flight failed */
                in_flight = 0;
            } else {
                *added += in_flight;
                in_flight = pending;
            }
            pending = 0;
        }
    }
    /* After a failure nothing of the open batch is stored; earlier batches
     * are, the one in flight included unless its own commit failed. */
    if (code)
        dsr_log_batch_abort(b);
    if (dsr_log_commit_wait(log, &err)) {
        if (!code)
            code = cli_fail(&err, "import");
        dsr_log_batch_abort(b);
    } else {
        *added += in_flight;
    }
    if (b && !code) {
        if (dsr_log_batch_commit(b, &err))
            code = cli_fail(&err, "import");
        else
            *added += pending;
    }
    msgpack_unpacked_destroy(&u);
    return code;
}

int cmd_import(int argc, char **argv)
{
    import_cmd c;
    memset(&c, 0, sizeof c);
    c.quiet = cli_quiet();
    int prc = parse_args(argc, argv, &c);
    if (prc)
        return prc < 0 ? DSR_EXIT_OK : prc;
    size_t batch = 0;
    if ((prc = cli_env_batch_events("import", &batch)))
        return prc;
    if (!batch)
        batch = DEFAULT_BATCH_EVENTS;
    const char *name = strcmp(c.file, "-") ? c.file : "<stdin>";
    if (c.profile == DSR_PROFILE_SPEC_KITTY_3 && dsr_sk3_runs_new(&c.runs)) {
        cli_error("import", "out of memory");
        return DSR_EXIT_IO;
    }

    stage st;
    memset(&st, 0, sizeof st);
    msgpack_sbuffer_init(&st.buf);
    int code = stage_file(&c, name, &st);
    size_t added = 0, dups = 0;
    if (!code && st.n) {
        char dirbuf[PATH_MAX];
        const char *dir = cli_log_dir(c.log_opt, NULL, dirbuf, sizeof dirbuf);
        dsr_err err = {0};
        dsr_log *log = NULL;
        if (dsr_log_open(&log, dir, c.wait ? DSR_LOG_WAIT : 0, &err))
            code = cli_fail(&err, "import");
        else if (!(code = check_trust(log, &c, name, &st)))
            code = append_all(log, name, &st, batch, &added, &dups);
        /* imported scans get their snapshots and drift like local ones --
         * also when this run added nothing: an import killed during its
         * catch-up is completed by running it again (a no-op when the
         * projections are at the head already) */
        if (!code && dsr_replay_catch_up(log, NULL, &err))
            code = cli_fail(&err, "import: projections");
        dsr_log_close(log);
    }
    if (code == DSR_EXIT_IO && added)
        cli_error("import", "%s: %zu envelopes were added before the failure; run the "
                  "same import again to add the rest", name, added);
    if (!code && c.json) {
        dsr_buf b = DSR_BUF_INIT;
        dsr_buf_puts(&b, "{\"file\":");
        cli_json_str(&b, name);
        dsr_buf_printf(&b, ",\"events\":%zu,\"added\":%zu,\"duplicates\":%zu}",
                       st.n, added, dups);
        if (b.data)
            puts(b.data);
        dsr_buf_free(&b);
    } else if (!code && !c.quiet)
        printf("%s: %zu envelope%s, %zu added, %zu duplicate%s\n", name, st.n,
               st.n == 1 ? "" : "s", added, dups, dups == 1 ? "" : "s");
    free(st.recs);
    msgpack_sbuffer_destroy(&st.buf);
    dsr_sk3_runs_free(c.runs);
    if (fflush(stdout) != 0 && !code) {
        cli_error("import", "cannot write output: %s", strerror(errno));
        code = DSR_EXIT_IO;
    }
    return code;
}

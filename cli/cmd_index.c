/*
 * cmd_index.c - `dossier index`: scan a mission folder (dsr_scan) and print
 * one JSON object per artifact on stdout (NDJSON, sorted by relative_path),
 * then warnings and a summary on stderr.  Nothing is written to the log.
 * The library does all the work; this file parses options and formats.
 */
#include "cli.h"
#include "cli_report.h"
#include "scan_opts.h"
#include "scan_progress.h"
#include "dossier/buf.h"
#include "dossier/scan.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
"Usage: dossier index MISSION_DIR [options]\n"
"\n"
"Walk MISSION_DIR, hash every artifact (SHA-256 and XXH3-128 in one pass,\n"
"on --jobs threads), check text artifacts for valid UTF-8, match the files\n"
"against an expected-artifacts manifest and print one JSON object per\n"
"artifact on stdout (NDJSON, sorted by relative_path byte order; identical\n"
"for any --jobs).  Required artifacts that are absent are printed too, with\n"
"\"present\": false, \"reason_code\": \"not_found\" and the manifest pattern as\n"
"relative_path.  Warnings and a summary go to stderr.  Nothing is recorded:\n"
"use 'dossier scan' for that.\n"
"\n"
"Entries whose name starts with '.' (including the .dossier log folder) are\n"
"skipped.  Symlinks are followed only inside MISSION_DIR; symlink loops,\n"
"FIFOs, sockets and devices are skipped with a warning.  A MISSION_DIR on a\n"
"pseudo-filesystem (/proc, /sys, ...) is refused, and such mounts below it\n"
"are skipped.  Files with holes are hashed without reading the holes.\n"
"Files and folders that a .dossierignore (in MISSION_DIR or a folder below)\n"
"or an --exclude excludes are neither read nor printed; a required artifact\n"
"that is excluded is printed with \"reason_code\": \"excluded\".\n"
"\n"
"Each object has: feature_slug, artifact_key, artifact_class,\n"
"relative_path, content_hash_sha256 (null when the content could not be\n"
"read), size_bytes, wp_id, step_id, required_status (required|optional),\n"
"present, reason_code (null, not_found, unreadable, invalid_format,\n"
"deleted_after_scan or excluded) and reason_detail.\n"
"\n"
"Options:\n"
"  --manifest FILE      expected-artifacts manifest (YAML, spec-kitty format)\n"
"  --mission-type TYPE  use a built-in manifest: %s\n"
"  --step STEP          also require the manifest's required_by_step STEP\n"
"                       (required_always entries always apply)\n"
"  --feature SLUG       feature_slug to print (default: the folder's name)\n"
"  --jobs N             hashing threads, 1..1024 (default: number of cores)\n"
"                       (a tree of at most 80 files and 4 MiB: none, the\n"
"                       main thread hashes it)\n"
CLI_MAX_FILE_SIZE_HELP
CLI_EXCLUDE_HELP
CLI_PROFILE_HELP
"  -q, --quiet          no warnings, no summary and no progress line on stderr\n"
"                       (errors only); the progress line (files, bytes, rate,\n"
"                       ETA) is only drawn when stderr is a terminal\n"
"  -v, --verbose        more diagnostics on stderr\n"
"  --list-skipped       warn about every skipped entry (default: the first 5\n"
"                       and a count of the rest)\n"
"  -h, --help           show this help\n"
"\n"
"Without --manifest or --mission-type nothing is required and completeness\n"
"is 'unknown'.\n"
"\n"
"Environment:\n"
"  DOSSIER_IO_URING     0: read files with plain system calls only (default:\n"
"                       small files are read in batches through io_uring)\n"
"\n"
"Exit status:\n"
"  0  complete: every required artifact is present and usable (or no manifest)\n"
"  1  a required artifact is missing, unreadable, invalid or vanished\n"
"  2  usage error, broken manifest or .dossierignore (reported as file:line;\n"
"     nothing scanned)\n"
"  3  I/O failure of the scan itself (MISSION_DIR unreadable, output error)\n"
"\n"
"Examples:\n"
"  dossier index examples/sample-mission --mission-type software-dev\n"
"  dossier index kitty-specs/042-x --mission-type software-dev --step plan\n"
"  dossier index . --manifest expected-artifacts.yaml --jobs 4 | jq .\n"
"\n"
"See docs/scanning.md for the manifest format, glob rules and how keys and\n"
"classes of unlisted files are derived.\n";

static void print_help(void)
{
    size_t n;
    const char *const *names = dsr_manifest_builtin_names(&n);
    dsr_buf list = DSR_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if (dsr_buf_printf(&list, "%s%s", i ? ", " : "", names[i]))
            break;
    printf(usage_text, list.data ? list.data : "none");
    dsr_buf_free(&list);
}

static int parse_args(int argc, char **argv, cli_scan_opts *o, int *quiet, int *help)
{
    static const struct option longopts[] = {
        CLI_SCAN_LONGOPTS,
        CLI_SCAN_LIST_SKIPPED_LONGOPT,
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int verbose = 0;
    int ch, rc;
    opterr = 0;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "qvh", longopts)) != -1) {
        if (cli_scan_opt(o, "index", ch, optarg, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        switch (ch) {
        case 'q': *quiet = 1; break;
        case 'v': verbose++; break;
        case 'h': *help = 1; return DSR_EXIT_OK;
        default:
            return cli_usage("index", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    cli_apply_verbosity(*quiet, verbose);
    return cli_scan_operand(o, "index", argc, argv);
}

/* JSON string (RFC 8259): paths were checked to be UTF-8 by the walker, so
 * only quotes, backslashes and control characters need escaping. */
static int put_json_str(dsr_buf *b, const char *s)
{
    if (!s)
        return dsr_buf_append(b, "null", 4);
    if (dsr_buf_putc(b, '"'))
        return DSR_ENOMEM;
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        /* copy the run of bytes that need no escaping in one append */
        const unsigned char *run = p;
        while (*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run && dsr_buf_append(b, run, (size_t)(p - run)))
            return DSR_ENOMEM;
        if (!*p)
            break;
        int rc;
        switch (*p) {
        case '"':  rc = dsr_buf_append(b, "\\\"", 2); break;
        case '\\': rc = dsr_buf_append(b, "\\\\", 2); break;
        case '\n': rc = dsr_buf_append(b, "\\n", 2); break;
        case '\r': rc = dsr_buf_append(b, "\\r", 2); break;
        case '\t': rc = dsr_buf_append(b, "\\t", 2); break;
        default:   rc = dsr_buf_printf(b, "\\u%04x", *p); break;
        }
        if (rc)
            return rc;
        p++;
    }
    return dsr_buf_putc(b, '"');
}

static int put_lit(dsr_buf *b, const char *lit)
{
    return dsr_buf_append(b, lit, strlen(lit));
}

static int put_u64(dsr_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return dsr_buf_append(b, tmp + i, sizeof tmp - i);
}

static int put_artifact(dsr_buf *b, const char *slug, const dsr_artifact *a)
{
    int rc = 0;
    rc |= put_lit(b, "{\"feature_slug\":");
    rc |= put_json_str(b, slug);
    rc |= put_lit(b, ",\"artifact_key\":");
    rc |= put_json_str(b, a->artifact_key);
    rc |= put_lit(b, ",\"artifact_class\":");
    rc |= put_json_str(b, a->artifact_class);
    rc |= put_lit(b, ",\"relative_path\":");
    rc |= put_json_str(b, a->relative_path);
    rc |= put_lit(b, ",\"content_hash_sha256\":");
    rc |= put_json_str(b, a->sha256[0] ? a->sha256 : NULL);
    rc |= put_lit(b, ",\"size_bytes\":");
    rc |= put_u64(b, a->size_bytes);
    rc |= put_lit(b, ",\"wp_id\":");
    rc |= put_json_str(b, a->wp_id);
    rc |= put_lit(b, ",\"step_id\":");
    rc |= put_json_str(b, a->step_id);
    rc |= put_lit(b, a->required ? ",\"required_status\":\"required\"" : ",\"required_status\":\"optional\"");
    rc |= put_lit(b, a->present ? ",\"present\":true" : ",\"present\":false");
    rc |= put_lit(b, ",\"reason_code\":");
    rc |= put_json_str(b, dsr_reason_name(a->reason));
    rc |= put_lit(b, ",\"reason_detail\":");
    rc |= put_json_str(b, a->reason_detail);
    rc |= put_lit(b, "}\n");
    return rc ? DSR_ENOMEM : 0;
}

/* What print_ndjson returns when the reader of stdout went away (`| head`):
 * not an error to report; the process ends as killed by SIGPIPE. */
#define INDEX_PIPE_CLOSED (-1)

/* The rows, then a flush: when it returns, every row has been handed to
 * the kernel (or the reader is gone), so the summary cannot land among them. */
static int print_ndjson(const dsr_scan_result *r)
{
    dsr_buf b = DSR_BUF_INIT;
    int failed = 0;
    for (size_t i = 0; i < r->n_artifacts && !failed; i++) {
        if (put_artifact(&b, r->feature_slug, &r->artifacts[i])) {
            dsr_buf_free(&b);
            cli_error("index", "out of memory");
            return DSR_EXIT_IO;
        }
        if (b.len >= (1u << 16) || i + 1 == r->n_artifacts) {
            if (fwrite(b.data, 1, b.len, stdout) != b.len)
                failed = 1;
            dsr_buf_reset(&b);
        }
    }
    dsr_buf_free(&b);
    if (!failed && fflush(stdout) == 0 && !ferror(stdout))
        return DSR_EXIT_OK;
    if (errno == EPIPE)
        return INDEX_PIPE_CLOSED;
    cli_error("index", "cannot write to standard output: %s", strerror(errno));
    return DSR_EXIT_IO;
}

static void human_bytes(uint64_t n, char *out, size_t sz)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1024;
        u++;
    }
    snprintf(out, sz, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* The absent artifacts and the summary line, put together in memory and
 * written to stderr with one write(2) after the rows: with `2>&1 | head` it
 * is never cut into pieces or interleaved with rows.  A memory stream, so
 * the counts are worded by the same cli_counts_text as everywhere. */
static void print_summary(const cli_scan_opts *o, const dsr_scan_result *r, double secs)
{
    cli_report_skipped("index", r, o->list_skipped);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) {
        cli_error("index", "out of memory");
        return;
    }
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (a->present)
            continue;
        fprintf(m, "dossier index: %s %s: %s (%s)%s%s\n",
                a->required ? "required" : "optional", cli_safe(a->relative_path),
                dsr_reason_name(a->reason), a->artifact_key,
                a->reason_detail ? ": " : "", a->reason_detail ? a->reason_detail : "");
    }
    char bytes[32];
    human_bytes(r->bytes_hashed, bytes, sizeof bytes);
    /* the counts status and snapshot show for this tree once scanned
     * (cli_report.h); the rows are present, missing required and unusable
     * optional artifacts, so their number is not the total */
    cli_counts c = cli_counts_of_scan(r);
    size_t unusable = cli_optional_unusable(r);
    fprintf(m, "dossier index: %s: artifacts ", cli_safe(r->feature_slug));
    cli_counts_text(m, &c);
    if (unusable)
        fprintf(m, "; %zu unusable optional file%s not counted", unusable,
                unusable == 1 ? "" : "s");
    if (r->n_excluded)
        fprintf(m, "; %zu excluded", r->n_excluded);
    fprintf(m, "; %zu warning%s; %s hashed in %.2f s; completeness: %s",
            r->n_warnings, r->n_warnings == 1 ? "" : "s", bytes, secs, dsr_scan_completeness(r));
    if (r->profile != DSR_PROFILE_WP04)
        fprintf(m, "; profile %s (%zu WP file%s hashed by frontmatter)",
                dsr_profile_name(r->profile), r->n_wp_projected, r->n_wp_projected == 1 ? "" : "s");
    if (o->manifest)
        fprintf(m, " (manifest %s v%s%s%s)", dsr_manifest_mission_type(o->manifest),
                dsr_manifest_version(o->manifest), o->step ? ", step " : "",
                o->step ? o->step : "");
    fputc('\n', m);
    if (fclose(m) != 0 || !text) {
        cli_error("index", "out of memory");
    } else {
        /* one write; a stderr that is gone too (EPIPE) is left alone */
        ssize_t w = write(STDERR_FILENO, text, len);
        (void)w;
    }
    free(text);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_index(int argc, char **argv)
{
    cli_scan_opts o = { 0 };
    int quiet = cli_quiet(), help = 0;
    int rc = parse_args(argc, argv, &o, &quiet, &help);
    if (rc != DSR_EXIT_OK)
        return rc;
    if (help) {
        print_help();
        return DSR_EXIT_OK;
    }
    /* the manifest is loaded and checked before anything is scanned */
    if ((rc = cli_scan_load_manifest(&o, "index")) != DSR_EXIT_OK) {
        cli_scan_opts_free(&o);
        return rc;
    }
    dsr_err err;
    dsr_err_clear(&err);
    dsr_scan_progress progress = { 0 };
    dsr_scan_opts so = { .version = DSR_SCAN_OPTS_VERSION, .root = o.mission_dir, .manifest = o.manifest, .step_id = o.step,
                         .feature_slug = o.feature, .jobs = o.jobs, .progress = &progress,
                         .plain_io = cli_plain_io(), .max_file_size = o.max_file_size,
                         .excludes = o.excludes, .n_excludes = o.n_excludes,
                         .profile = o.profile,
                         /* index keeps no cache: its XXH3 would be wasted */
                         .no_xxh3 = 1 };
    dsr_scan_result *r = NULL;
    double t0 = now_s();
    cli_progress *pr = cli_progress_start(&progress, !quiet);
    int src = dsr_scan(&so, &r, &err);
    cli_progress_stop(pr);
    if (src != 0) {
        rc = cli_fail(&err, NULL);
        cli_scan_opts_free(&o);
        return rc;
    }
    double secs = now_s() - t0;
    /* A reader that stops early (`| head`) is seen as EPIPE, not a signal,
     * so the summary is still written before the process ends. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    rc = print_ndjson(r);
    if (rc == DSR_EXIT_OK || rc == INDEX_PIPE_CLOSED) {
        if (!quiet)
            print_summary(&o, r, secs);
    }
    sigaction(SIGPIPE, &old_pipe, NULL);
    if (rc == DSR_EXIT_OK)
        rc = r->has_manifest && r->n_required_missing ? DSR_EXIT_INCOMPLETE : DSR_EXIT_OK;
    dsr_scan_result_free(r);
    cli_scan_opts_free(&o);
    if (rc == INDEX_PIPE_CLOSED) {
        /* quietly, with the status of a writer killed by SIGPIPE, as the
         * shell and `set -o pipefail` expect from `cmd | head` */
        fflush(stderr);
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
        _exit(128 + SIGPIPE);   /* SIGPIPE blocked by the caller: the same status */
    }
    return rc;
}

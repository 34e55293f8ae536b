/*
 * cmd_scan.c - `dossier scan`: index a mission folder, record the run as
 * events in the log (dsr_record_scan), bring the projections up to date and
 * print a summary.  All the work is in the library; this file parses options,
 * wires the scan cache (dossier/scan_cache.h) and, for --emit changed, the
 * feature's current artifact set (the latest snapshot's) into the run, and
 * presents results.
 */
#include "cli.h"
#include "scan_opts.h"
#include "dossier/buf.h"
#include "dossier/log.h"
#include "dossier/record.h"
#include "dossier/replay.h"
#include "dossier/scan_cache.h"
#include "scan_progress.h"
#include "dossier/deliver.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Files from which a scan trades a little speed for a lower memory peak. */
#define SCAN_LOW_MEMORY_FILES 250000

static const char usage_text[] =
"Usage: dossier scan MISSION_DIR [options]\n"
"\n"
"Index MISSION_DIR like 'dossier index' and record the result as events in\n"
"the log: one mission_dossier_artifact_indexed per present artifact, one\n"
"mission_dossier_artifact_missing per absent or unusable required artifact,\n"
"and a dossier_scan_completed marker committed in the run's last atomic,\n"
"fsync'd batch.  Projections (snapshot, drift) are then brought up to date.\n"
"\n"
"Options:\n"
"  --manifest FILE      expected-artifacts manifest (YAML)\n"
"  --mission-type TYPE  use a built-in manifest (software-dev, research, ...)\n"
"  --step STEP          also require the manifest's required_by_step STEP\n"
"  --feature SLUG       feature slug (default: the folder's name)\n"
"  --jobs N             hashing threads (default: number of cores)\n"
"  --log DIR            event log folder (default: $DOSSIER_LOG, else\n"
"                       MISSION_DIR/.dossier)\n"
"  --branch NAME        target branch recorded with the run (default: the\n"
"                       folder's git branch, else 'main')\n"
"  --wait               wait for another writer to release the log\n"
"  --emit MODE          'full' (default): one artifact_indexed per present\n"
"                       artifact.  'changed': only new or changed artifacts\n"
"                       get artifact_indexed, artifacts gone since the\n"
"                       feature's latest snapshot (or now unusable) get\n"
"                       dossier_artifact_removed; the snapshot folds to the\n"
"                       same set and parity hash as a full scan\n"
"  --rehash             read and hash every file, ignoring the scan cache\n"
"                       (the cache is still rewritten)\n"
"  --verify-cache       like --rehash, and report every cache entry whose\n"
"                       file changed content while its size and mtime did not\n"
"                       (stat unchanged, or mtime restored by touch -d / cp -p);\n"
"                       exit 1 when there is one\n"
"  --json               print a machine-readable summary on stdout\n"
"  --deliver            after recording, try once to deliver pending events to\n"
"                       every saved webhook endpoint (bounded to a few seconds;\n"
"                       never changes the exit status). Endpoints saved with\n"
"                       'dossier endpoint add --auto' are tried without it.\n"
"  -q, --quiet          print nothing but errors (and no progress line)\n"
"  -v, --verbose        more diagnostics on stderr, and the wall and CPU\n"
"                       seconds of each phase (open, walk+hash, record,\n"
"                       projections)\n"
"  --list-skipped       warn about every skipped entry (default: the first 5\n"
"                       and a count of the rest)\n"
"  -h, --help           show this help\n"
"\n"
"Incremental rescans: the log keeps a scan cache per feature and path (stat\n"
"tuple, XXH3-128, SHA-256).  A file whose (dev, inode, size, mtime, ctime)\n"
"is unchanged is not read again; one whose size is unchanged but whose\n"
"timestamps changed is re-read for XXH3 only, and its SHA-256 is reused when\n"
"XXH3 matches.  Files modified within 2 s before a scan started are re-read\n"
"by the next one (racy timestamps).  The events are the same with or\n"
"without the cache.  While hashing, a progress line (files, bytes, rate,\n"
"ETA) is drawn on stderr when stderr is a terminal.\n"
"\n"
"Environment:\n"
"  DOSSIER_LOG            default log folder\n"
"  DOSSIER_BATCH_EVENTS   events per atomic batch (default 16384)\n"
"  DOSSIER_IO_URING       0: read files with plain system calls only (default:\n"
"                         small files are read in batches through io_uring)\n"
"\n"
"Exit status:\n"
"  0  scan recorded; every required artifact present (or no manifest)\n"
"  1  scan recorded; a required artifact is missing or unusable\n"
"  2  usage error or broken manifest (nothing scanned)\n"
"  1  also: --verify-cache found a stale cache entry (the run is recorded\n"
"     with the content read now, and the entry corrected)\n"
"  3  I/O failure: the folder or the log cannot be read or written, or an\n"
"     event was refused (the run is then left incomplete)\n"
"\n"
"Examples:\n"
"  dossier scan examples/sample-mission --mission-type software-dev\n"
"  dossier scan kitty-specs/042-x --manifest expected.yaml --json\n"
"  dossier scan big-mission --emit changed      # rescan, emit only changes\n"
"  dossier scan big-mission --verify-cache -q   # audit the cache\n";

enum { OPT_MANIFEST = 256, OPT_MISSION_TYPE, OPT_STEP, OPT_FEATURE, OPT_JOBS,
       OPT_LOG, OPT_BRANCH, OPT_WAIT, OPT_JSON, OPT_DELIVER,
       OPT_EMIT, OPT_REHASH, OPT_VERIFY_CACHE };

typedef struct scan_cmd {
    cli_scan_opts scan;
    const char   *log_opt;
    const char   *branch;
    int           wait, json, quiet, deliver;
    int           emit_changed, rehash, verify_cache;   /* incremental rescans */
} scan_cmd;

static int parse_args(int argc, char **argv, scan_cmd *c)
{
    static const struct option longopts[] = {
        { "manifest", required_argument, NULL, OPT_MANIFEST },
        { "mission-type", required_argument, NULL, OPT_MISSION_TYPE },
        { "step", required_argument, NULL, OPT_STEP },
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "jobs", required_argument, NULL, OPT_JOBS },
        { "log", required_argument, NULL, OPT_LOG },
        { "branch", required_argument, NULL, OPT_BRANCH },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "json", no_argument, NULL, OPT_JSON },
        { "emit", required_argument, NULL, OPT_EMIT },
        { "rehash", no_argument, NULL, OPT_REHASH },
        { "verify-cache", no_argument, NULL, OPT_VERIFY_CACHE },
        { "deliver", no_argument, NULL, OPT_DELIVER },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "list-skipped", no_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    optind = 1;
    int verbose = 0;
    while ((ch = getopt_long(argc, argv, "qvh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_MANIFEST:     c->scan.manifest_path = optarg; break;
        case OPT_MISSION_TYPE: c->scan.mission_type = optarg; break;
        case OPT_STEP:         c->scan.step = optarg; break;
        case OPT_FEATURE:      c->scan.feature = optarg; break;
        case OPT_JOBS:
            if (cli_parse_jobs(optarg, &c->scan.jobs))
                return cli_usage("scan", "--jobs takes a number from 1 to 1024, not '%s'", optarg);
            break;
        case OPT_LOG:    c->log_opt = optarg; break;
        case OPT_BRANCH: c->branch = optarg; break;
        case OPT_WAIT:   c->wait = 1; break;
        case OPT_JSON:   c->json = 1; break;
        case OPT_EMIT:
            if (!strcmp(optarg, "changed"))
                c->emit_changed = 1;
            else if (!strcmp(optarg, "full"))
                c->emit_changed = 0;
            else
                return cli_usage("scan", "--emit takes 'full' or 'changed', not '%s'", optarg);
            break;
        case OPT_REHASH:       c->rehash = 1; break;
        case OPT_VERIFY_CACHE: c->verify_cache = 1; break;
        case OPT_DELIVER: c->deliver = 1; break;
        case 'q':        c->quiet = 1; break;
        case 'v':        verbose++; break;
        case 'L':        c->scan.list_skipped = 1; break;
        case 'h':        fputs(usage_text, stdout); return -1;
        default:
            return cli_usage("scan", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage("scan", optind >= argc ? "missing MISSION_DIR"
                                                : "exactly one MISSION_DIR is expected");
    c->scan.mission_dir = argv[optind];
    cli_apply_verbosity(c->quiet, verbose);
    return 0;
}

static void print_human(const scan_cmd *c, const dsr_scan_result *r, const dsr_record_stats *st,
                        const dsr_snapshot_info *snap, const dsr_drift_info *drift,
                        const char *logdir)
{
    printf("dossier scan: %s (feature %s)\n", c->scan.mission_dir, r->feature_slug);
    printf("  manifest      %s\n", c->scan.manifest ? dsr_manifest_mission_type(c->scan.manifest)
                                                    : "none (completeness unknown)");
    printf("  artifacts     %zu present, %zu required (%zu missing), %zu optional present\n",
           r->n_present, r->n_required, r->n_required_missing, r->n_optional_present);
    if (r->n_warnings)
        printf("  skipped       %zu entr%s (listed on stderr; --list-skipped for all)\n",
               r->n_warnings, r->n_warnings == 1 ? "y" : "ies");
    printf("  completeness  %s\n", !r->has_manifest ? "unknown"
                                   : r->n_required_missing ? "incomplete" : "complete");
    printf("  events        %llu indexed, %llu missing, run %s\n",
           (unsigned long long)st->indexed, (unsigned long long)st->missing, st->run_id);
    if (c->emit_changed)
        printf("  emit changed  %llu unchanged (not re-emitted), %llu removed\n",
               (unsigned long long)st->unchanged, (unsigned long long)st->removed);
    printf("  cache         %zu unchanged (not read), %zu re-read (XXH3 matched), "
           "%zu hashed%s\n", r->n_cache_stat, r->n_cache_xxh3,
           r->n_present - r->n_cache_stat - r->n_cache_xxh3,
           c->rehash || c->verify_cache ? " (--rehash)" : "");
    if (c->verify_cache)
        printf("  verify-cache  %zu stale entr%s\n", r->n_cache_stale,
               r->n_cache_stale == 1 ? "y" : "ies");
    printf("  log           %s (sequences %llu..%llu)\n", logdir,
           (unsigned long long)st->first_seq, (unsigned long long)st->last_seq);
    if (snap)
        printf("  snapshot      %s, parity %s\n", snap->snapshot_id, snap->parity_hash_sha256);
    if (drift && drift->status == DSR_DRIFT_DETECTED)
        printf("  drift         %s against baseline %s (see 'dossier drift')\n",
               drift->severity, drift->baseline_snapshot_id);
    else if (drift)
        printf("  drift         %s\n", drift->status == DSR_DRIFT_NO_BASELINE
                                   ? "no baseline accepted yet (dossier baseline accept)"
                                   : dsr_drift_status_name(drift->status));
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (!a->present && a->required)
            printf("  missing       %s (%s: %s)\n", a->artifact_key, a->relative_path,
                   dsr_reason_name(a->reason));
    }
}

static void print_json(const scan_cmd *c, const dsr_scan_result *r, const dsr_record_stats *st,
                       const dsr_snapshot_info *snap, const dsr_drift_info *drift,
                       const char *logdir)
{
    dsr_buf b = DSR_BUF_INIT;
    dsr_buf_puts(&b, "{\"feature_slug\":");
    cli_json_str(&b, r->feature_slug);
    dsr_buf_printf(&b, ",\"run_id\":\"%s\",\"completed\":%s,\"completeness_status\":\"%s\","
                   "\"present\":%zu,\"required\":%zu,\"required_missing\":%zu,"
                   "\"optional_present\":%zu,\"skipped\":%zu,"
                   "\"events\":{\"indexed\":%llu,\"missing\":%llu,\"first_seq\":%llu,"
                   "\"last_seq\":%llu},\"log\":",
                   st->run_id, st->completed ? "true" : "false",
                   !r->has_manifest ? "unknown" : r->n_required_missing ? "incomplete" : "complete",
                   r->n_present, r->n_required, r->n_required_missing, r->n_optional_present,
                   r->n_warnings, (unsigned long long)st->indexed, (unsigned long long)st->missing,
                   (unsigned long long)st->first_seq, (unsigned long long)st->last_seq);
    cli_json_str(&b, logdir);
    char stale[32] = "null";   /* only known when every file was re-read */
    if (c->rehash || c->verify_cache)
        snprintf(stale, sizeof stale, "%zu", r->n_cache_stale);
    dsr_buf_printf(&b, ",\"emit_mode\":\"%s\",\"removed\":%llu,\"unchanged\":%llu,"
                   "\"cache\":{\"unchanged\":%zu,\"xxh3_reused\":%zu,\"stale\":%s,"
                   "\"written\":%llu,\"deleted\":%llu}",
                   c->emit_changed ? "changed" : "full", (unsigned long long)st->removed,
                   (unsigned long long)st->unchanged, r->n_cache_stat, r->n_cache_xxh3,
                   stale, (unsigned long long)st->cache_put, (unsigned long long)st->cache_del);
    dsr_buf_puts(&b, ",\"snapshot_id\":");
    cli_json_str(&b, snap ? snap->snapshot_id : NULL);
    dsr_buf_puts(&b, ",\"parity_hash_sha256\":");
    cli_json_str(&b, snap ? snap->parity_hash_sha256 : NULL);
    dsr_buf_puts(&b, ",\"drift\":");
    cli_json_str(&b, drift ? dsr_drift_status_name(drift->status) : NULL);
    dsr_buf_puts(&b, ",\"drift_severity\":");
    cli_json_str(&b, drift ? drift->severity : NULL);
    dsr_buf_putc(&b, '}');
    if (b.data)
        puts(b.data);
    dsr_buf_free(&b);
}

/* --emit changed: the feature's current set = its latest snapshot's
 * artifacts, after bringing the projections up to the log head.  No snapshot
 * yet: an empty set.  The strings stay owned by *snap. */
/* The feature's current set for --emit changed, as entries whose strings
 * (hash text included) all live in one block *text; the snapshot they come
 * from is freed at once.  For a million-artifact feature this holds ~150 MB
 * instead of ~180 MB while the tree is walked and hashed. */
static int load_prev(dsr_log *log, const char *slug, char **text, dsr_record_prev **prev,
                     size_t *n, dsr_err *err)
{
    *text = NULL;
    *prev = NULL;
    *n = 0;
    int rc = dsr_replay_catch_up(log, NULL, err);
    if (rc)
        return rc;
    dsr_snapshot_info *s = NULL;
    rc = dsr_replay_snapshot_get(log, slug, NULL, 1, &s, err);
    if (rc == DSR_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    size_t total = 0;
    for (size_t i = 0; i < s->n_artifacts; i++) {
        const dsr_artifact_ref *a = &s->artifacts[i];
        total += strlen(a->artifact_key) + strlen(a->relative_path) + strlen(a->artifact_class)
               + 3 + sizeof a->sha256;
    }
    if (s->n_artifacts && (!(*text = malloc(total))
                           || !(*prev = calloc(s->n_artifacts, sizeof **prev)))) {
        dsr_snapshot_info_free(s);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    char *w = *text;
    for (size_t i = 0; i < s->n_artifacts; i++) {
        const dsr_artifact_ref *a = &s->artifacts[i];
        const char *src[4] = { a->artifact_key, a->relative_path, a->artifact_class, a->sha256 };
        const char *dst[4];
        for (int k = 0; k < 4; k++) {
            size_t len = strlen(src[k]) + 1;
            memcpy(w, src[k], len);
            dst[k] = w;
            w += len;
        }
        (*prev)[i] = (dsr_record_prev){ dst[0], dst[1], dst[2], dst[3], a->required };
    }
    *n = s->n_artifacts;
    dsr_snapshot_info_free(s);
    return 0;
}

/* A moment of the run for the phase timings shown with -v: seconds on the
 * monotonic clock, and CPU seconds of the whole process (every thread:
 * hashing workers, the committer, RocksDB's flushes). */
typedef struct phase_mark {
    double wall, cpu;
} phase_mark;

static double clock_s(clockid_t id)
{
    struct timespec t;
    if (clock_gettime(id, &t))
        return 0;
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static phase_mark mark_now(void)
{
    phase_mark m = { clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID) };
    return m;
}

static void report_stale(const dsr_scan_result *r)
{
    for (size_t i = 0; i < r->n_artifacts; i++)
        if (r->artifacts[i].cache_stale)
            cli_error("verify-cache", "%s: content changed but size and mtime did not "
                      "(edited behind an unchanged stat, or mtime restored); cache entry "
                      "corrected", r->artifacts[i].relative_path);
}

int cmd_scan(int argc, char **argv)
{
    phase_mark t_start = mark_now(), t_open = t_start, t_scan = t_start, t_record = t_start;
    scan_cmd c;
    memset(&c, 0, sizeof c);
    c.quiet = cli_quiet();
    int rc = parse_args(argc, argv, &c);
    if (rc)
        return rc < 0 ? DSR_EXIT_OK : rc;
    if ((rc = cli_scan_load_manifest(&c.scan, "scan")) != DSR_EXIT_OK)
        return rc;

    char logdir[PATH_MAX], branch[256];
    cli_log_dir(c.log_opt, c.scan.mission_dir, logdir, sizeof logdir);
    if (!c.branch)
        c.branch = dsr_git_branch(c.scan.mission_dir, branch, sizeof branch) ? "main" : branch;

    dsr_err err;
    dsr_err_clear(&err);
    dsr_log *log = NULL;
    dsr_scan_result *r = NULL;
    dsr_scan_cache *cache = NULL;
    char *prev_text = NULL;
    dsr_record_prev *prev = NULL;
    size_t n_prev = 0;
    char *slug = NULL;
    int exit_code = DSR_EXIT_OK;
    dsr_scan_progress progress = { 0 };
    dsr_scan_opts so = { .root = c.scan.mission_dir, .manifest = c.scan.manifest,
                         .step_id = c.scan.step, .feature_slug = c.scan.feature,
                         .jobs = c.scan.jobs, .progress = &progress,
                         .plain_io = cli_plain_io() };
    if ((rc = dsr_scan_feature_slug(&so, &slug, &err))) {
        exit_code = cli_fail(&err, c.scan.mission_dir);
        goto out;
    }
    /* Open the log first: a locked or broken log fails before any hashing. */
    if ((rc = dsr_log_open(&log, logdir, c.wait ? DSR_LOG_WAIT : 0, &err))) {
        exit_code = cli_fail(&err, logdir);
        goto out;
    }
    if (c.emit_changed && (rc = load_prev(log, slug, &prev_text, &prev, &n_prev, &err))) {
        exit_code = cli_fail(&err, "--emit changed: the feature's current set");
        goto out;
    }
    if ((rc = dsr_scan_cache_open(log, slug, &cache, &err))) {
        exit_code = cli_fail(&err, logdir);
        goto out;
    }
    t_open = mark_now();
    so.cache_lookup = dsr_scan_cache_lookup;
    so.cache_ctx = cache;
    so.cache_mode = c.rehash || c.verify_cache ? DSR_SCAN_CACHE_REHASH : DSR_SCAN_CACHE_USE;
    cli_progress *pr = cli_progress_start(&progress, !c.quiet);
    rc = dsr_scan(&so, &r, &err);
    cli_progress_stop(pr);
    if (rc) {
        exit_code = cli_fail(&err, c.scan.mission_dir);
        goto out;
    }
    t_scan = mark_now();
    if ((rc = dsr_scan_cache_finish(cache, &err))) {
        exit_code = cli_fail(&err, logdir);
        goto out;
    }
#ifdef __GLIBC__
    /* A very large mission: from here on, blocks of 256 KiB and more are
     * mmapped and go back to the system when freed.  glibc's default
     * threshold rises after each large free (up to 32 MiB), after which the
     * big short-lived buffers of recording and folding (write batches, a
     * million-entry artifact set, its sort order, its encoded row) come from
     * the heap, whose holes stay mapped: with the threshold fixed, the peak
     * RSS of scanning 1,000,000 files fell from ~550 to ~460 MB.  Not for
     * smaller trees: mmapping each multi-megabyte write batch afresh made
     * recording 100,000 files ~0.2 s slower. */
    if (r->n_artifacts >= SCAN_LOW_MEMORY_FILES)
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    /* Recording a very large run writes faster than RocksDB flushes, so the
     * memtables waiting for their flush piled up on top of the scan result:
     * the peak RSS of a warm full scan of 1,000,000 files was 460-545 MB,
     * varying with how far the flushes had got.  Small write buffers bound
     * that pile. */
    if (r->n_artifacts >= SCAN_LOW_MEMORY_FILES && (rc = dsr_log_limit_memtables(log, &err))) {
        exit_code = cli_fail(&err, logdir);
        goto out;
    }
    dsr_record_opts ro = {
        .mission_type = c.scan.manifest ? dsr_manifest_mission_type(c.scan.manifest) : NULL,
        .manifest_version = c.scan.manifest ? dsr_manifest_version(c.scan.manifest) : NULL,
        .step_id = c.scan.step, .target_branch = c.branch,
        .emit_changed = c.emit_changed, .prev = prev, .n_prev = n_prev, .cache = cache,
    };
    const char *be = getenv("DOSSIER_BATCH_EVENTS");
    if (be && *be)
        ro.batch_events = (size_t)strtoull(be, NULL, 10);
    dsr_record_stats st;
    if ((rc = dsr_record_scan(log, r, &ro, &st, &err))) {
        exit_code = cli_fail(&err, logdir);
        if (exit_code != DSR_EXIT_USAGE)
            exit_code = DSR_EXIT_IO;
        goto out;
    }
    t_record = mark_now();
    /* Only the summary is needed from here on: the present artifacts and
     * the changed-mode base go before the projections fold the run, so their
     * memory does not add up with the fold's. */
    if (c.verify_cache)
        report_stale(r);
    dsr_scan_result_drop_present(r);
    free(prev);
    prev = NULL;
    free(prev_text);
    prev_text = NULL;
#ifdef __GLIBC__
    /* ...and their pages go back to the system before the fold peaks (the
     * scan's many small blocks otherwise stay mapped: ~75 MB at 1M files). */
    malloc_trim(0);
#endif
    /* The run is durable now; bring snapshot and drift up to date.  A failure
     * here loses nothing (projections catch up on the next command). */
    if ((rc = dsr_replay_catch_up(log, NULL, &err))) {
        exit_code = cli_fail(&err, "projections");
        goto out;
    }
    phase_mark t_proj = mark_now();
    cli_info("scan", "timings (wall s / CPU s): open %.3f/%.3f, walk+hash %.3f/%.3f, "
             "record %.3f/%.3f, projections %.3f/%.3f",
             t_open.wall - t_start.wall, t_open.cpu - t_start.cpu,
             t_scan.wall - t_open.wall, t_scan.cpu - t_open.cpu,
             t_record.wall - t_scan.wall, t_record.cpu - t_scan.cpu,
             t_proj.wall - t_record.wall, t_proj.cpu - t_record.cpu);
    dsr_snapshot_info *snap = NULL;
    dsr_drift_info *drift = NULL;
    dsr_err ignore;
    (void)dsr_replay_snapshot_get(log, r->feature_slug, NULL, 0, &snap, &ignore);
    (void)dsr_replay_drift_get(log, r->feature_slug, &drift, &ignore);
    cli_report_skipped("scan", r, c.scan.list_skipped);
    if (c.json)
        print_json(&c, r, &st, snap, drift, logdir);
    else if (!c.quiet)
        print_human(&c, r, &st, snap, drift, logdir);
    dsr_snapshot_info_free(snap);
    dsr_drift_info_free(drift);
    /* Delivery never fails or stalls a scan: one bounded window, then the
     * events simply stay pending for `dossier deliver`. */
    dsr_deliver_after_scan_opts dopts = { .all_endpoints = c.deliver };
    dsr_deliver_after_scan_report drep;
    memset(&drep, 0, sizeof drep);
    (void)dsr_deliver_after_scan(log, &dopts, &drep);
    if (drep.note[0] && !c.quiet)
        fprintf(stderr, "dossier: scan: %s\n", drep.note);
    exit_code = (r->has_manifest && r->n_required_missing) ? DSR_EXIT_INCOMPLETE : DSR_EXIT_OK;
    if (c.verify_cache && r->n_cache_stale)
        exit_code = DSR_EXIT_INCOMPLETE;
out:
    dsr_scan_result_free(r);
    dsr_scan_cache_free(cache);
    free(prev);
    free(prev_text);
    free(slug);
    dsr_log_close(log);
    cli_scan_opts_free(&c.scan);
    return exit_code;
}

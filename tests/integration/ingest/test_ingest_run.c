/*
 * test_ingest_run.c - dsr_ingest_run through the public API only
 * (dossier/dossier.h), as an embedding program or a watcher would call it:
 * one call records a run and reports what `dossier scan` prints; phases are
 * announced in order with their report fields filled; changed mode, stale
 * cache entries, a locked log, a root that is not a folder and a planted
 * `.dossier` symlink behave as dossier/ingest.h says; nothing is created on
 * a refused root.  A changed-mode run loads its base on a thread of its own
 * while the tree is walked (ingest/ingest.c), so this file runs in the
 * ThreadSanitizer suite too, with a tree large enough for the worker pool.
 * LABELS: tsan
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dossier/dossier.h"
#include "test_tmp.h"

#define N_FILES 5

typedef struct fixture {
    char *dir;           /* temp folder: mission in dir/m */
    char  root[512];     /* short: the paths built from it fit their buffers */
} fixture;
/* tt_mission_teardown frees the folder its first member names */
_Static_assert(offsetof(fixture, dir) == 0, "dir is the fixture's first member");

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tt_mission("ingest", f->root, sizeof f->root);
    for (int i = 0; i < N_FILES; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "doc-%d.md", i);
        snprintf(text, sizeof text, "# document %d\n", i);
        tt_put(f->root, name, text);
    }
    *state = f;
    return 0;
}

/* The phase calls seen, as (phase, done) pairs, and what the report held at
 * each done call. */
typedef struct seen {
    int    n;
    int    phase[2 * DSR_INGEST_PHASE_COUNT], done[2 * DSR_INGEST_PHASE_COUNT];
    int    scan_at_scan_done;       /* rep->scan set at SCAN's done */
    size_t present_at_record_done;  /* artifacts left after recording */
    int    snapshot_at_project_done;
} seen;

static void on_phase(void *ctx, dsr_ingest_phase phase, int done, const dsr_ingest_report *rep)
{
    seen *s = ctx;
    assert_true(s->n < 2 * DSR_INGEST_PHASE_COUNT);
    s->phase[s->n] = (int)phase;
    s->done[s->n] = done;
    s->n++;
    if (!done)
        return;
    if (phase == DSR_INGEST_PHASE_SCAN)
        s->scan_at_scan_done = rep->scan != NULL;
    if (phase == DSR_INGEST_PHASE_RECORD)
        s->present_at_record_done = rep->scan->n_artifacts;
    if (phase == DSR_INGEST_PHASE_PROJECT)
        s->snapshot_at_project_done = rep->snapshot != NULL;
}

static void test_ingest_run_records_a_run_and_reports_every_phase(void **state)
{
    fixture *f = *state;
    seen s = { 0 };
    dsr_scan_progress progress = { 0 };
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    o.target_branch = "main";
    o.progress = &progress;
    o.on_phase = on_phase;
    o.on_phase_ctx = &s;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    int rc = dsr_ingest_run(&o, &rep, &err);
    if (rc)
        fail_msg("dsr_ingest_run: %s", err.msg);
    assert_int_equal(rep.failed_step, DSR_INGEST_STEP_NONE);

    /* every phase begins and ends, in order */
    assert_int_equal(s.n, 2 * DSR_INGEST_PHASE_COUNT);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(s.phase[i], i / 2);
        assert_int_equal(s.done[i], i % 2);
    }
    assert_true(s.scan_at_scan_done);
    assert_int_equal(s.present_at_record_done, 0);   /* present artifacts dropped */
    assert_true(s.snapshot_at_project_done);

    char want_log[1024];
    snprintf(want_log, sizeof want_log, "%s/.dossier", f->root);
    assert_string_equal(rep.log_dir, want_log);
    assert_string_equal(rep.feature_slug, "m");
    assert_string_equal(rep.target_branch, "main");
    assert_int_equal(progress.files_done, N_FILES);
    assert_int_equal(rep.scan->n_present, N_FILES);
    assert_int_equal(rep.record.indexed, N_FILES);
    assert_int_equal(rep.record.missing, 0);
    assert_true(rep.record.completed);
    assert_int_equal(rep.record.first_seq, 1);
    assert_int_equal(rep.record.last_seq, N_FILES + 1);   /* + dossier_scan_completed */
    assert_non_null(rep.snapshot);
    assert_string_equal(rep.snapshot->run_id, rep.record.run_id);
    assert_non_null(rep.drift);
    assert_int_equal(rep.drift->status, DSR_DRIFT_NO_BASELINE);
    /* no delivery state and no DELIVER_ALL: nothing tried, nothing created */
    assert_int_equal(rep.deliver_rc, 0);
    assert_int_equal(rep.deliver.endpoints, 0);
    for (int p = 0; p < DSR_INGEST_PHASE_COUNT; p++)
        assert_true(rep.timing[p].wall_s >= 0);

    /* the log holds the run: reopen it read-only and find the last event */
    dsr_log *log = tt_log_open(want_log, DSR_LOG_RDONLY);
    assert_true(dsr_log_head(log) >= rep.record.last_seq);
    /* the head after the projections: the run, then the derived snapshot */
    assert_int_equal(rep.head, dsr_log_head(log));
    assert_int_equal(rep.head, rep.record.last_seq + 1);
    dsr_log_close(log);

    dsr_ingest_report_free(&rep);
    assert_null(rep.scan);
    assert_int_equal(rep.version, DSR_INGEST_REPORT_VERSION);
    dsr_ingest_report_free(NULL);
}

/* A report made with version 1 (before head) gets no head: the library
 * writes nothing past the struct such a caller has. */
static void test_ingest_run_version_1_report_gets_no_head(void **state)
{
    fixture *f = *state;
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    o.target_branch = "main";
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    rep.version = 1;
    rep.head = 12345;   /* stands for memory past a version-1 struct */
    dsr_err err;
    if (dsr_ingest_run(&o, &rep, &err))
        fail_msg("dsr_ingest_run: %s", err.msg);
    assert_true(rep.record.completed);
    assert_int_equal(rep.head, 12345);
    dsr_ingest_report_free(&rep);
    assert_int_equal(rep.head, 12345);
    assert_int_equal(rep.version, 1);
    assert_null(rep.scan);
}

static dsr_ingest_report run_ok(const char *root, unsigned flags)
{
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = root;
    o.target_branch = "main";
    o.flags = flags;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    if (dsr_ingest_run(&o, &rep, &err))
        fail_msg("dsr_ingest_run(%s): %s", root, err.msg);
    return rep;
}

static void test_ingest_run_changed_mode_emits_only_changes(void **state)
{
    fixture *f = *state;
    dsr_ingest_report rep = run_ok(f->root, 0);
    dsr_ingest_report_free(&rep);
    tt_put(f->root, "doc-1.md", "# document 1, edited\n");
    tt_remove(f->root, "doc-2.md");

    rep = run_ok(f->root, DSR_INGEST_EMIT_CHANGED);
    assert_int_equal(rep.record.indexed, 1);
    assert_int_equal(rep.record.removed, 1);
    assert_int_equal(rep.record.unchanged, N_FILES - 2);
    assert_non_null(rep.snapshot);
    assert_int_equal(rep.snapshot->counts.total, N_FILES - 1);
    dsr_ingest_report_free(&rep);
}

/* The same on a tree that starts the scanner's worker pool (more files
 * than it hashes on the calling thread), so the base is loaded while the
 * workers stat and the walk reads the scan cache; the changed run folds to
 * the snapshot a full scan of the same tree folds to on a fresh log. */
enum { POOL_FILES = 240 };

static void test_ingest_run_changed_mode_with_the_worker_pool(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < POOL_FILES; i++) {
        char name[48], text[64];
        snprintf(name, sizeof name, "bulk/d%02d/f%03d.md", i % 12, i);
        snprintf(text, sizeof text, "# bulk %d\n", i);
        tt_put(f->root, name, text);
    }
    dsr_ingest_report rep = run_ok(f->root, 0);
    assert_int_equal(rep.record.indexed, N_FILES + POOL_FILES);
    dsr_ingest_report_free(&rep);
    tt_put(f->root, "bulk/d01/f001.md", "# bulk 1, edited\n");
    tt_put(f->root, "bulk/d02/f014.md", "# bulk 14, edited\n");
    tt_put(f->root, "bulk/d05/new.md", "# new\n");
    tt_remove(f->root, "bulk/d07/f007.md");

    rep = run_ok(f->root, DSR_INGEST_EMIT_CHANGED);
    assert_int_equal(rep.record.indexed, 3);
    assert_int_equal(rep.record.removed, 1);
    assert_int_equal(rep.record.unchanged, N_FILES + POOL_FILES - 3);
    assert_non_null(rep.snapshot);
    assert_int_equal(rep.snapshot->counts.total, N_FILES + POOL_FILES);

    /* a full scan of the same tree into a fresh log */
    char fresh[1024];
    snprintf(fresh, sizeof fresh, "%s/fresh-log", f->dir);
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    o.log_dir = fresh;
    o.target_branch = "main";
    dsr_ingest_report full = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    if (dsr_ingest_run(&o, &full, &err))
        fail_msg("full scan into %s: %s", fresh, err.msg);
    assert_non_null(full.snapshot);
    assert_int_equal(full.snapshot->counts.total, rep.snapshot->counts.total);
    assert_string_equal(full.snapshot->parity_hash_sha256, rep.snapshot->parity_hash_sha256);
    dsr_ingest_report_free(&full);
    dsr_ingest_report_free(&rep);
}

/* A cached file whose content changes while its size and mtime do not is
 * listed in the report under DSR_INGEST_REHASH. */
static void test_ingest_run_rehash_lists_stale_cache_entries(void **state)
{
    fixture *f = *state;
    char p[1024];
    snprintf(p, sizeof p, "%s/doc-3.md", f->root);
    /* an old mtime, so the cache entry is not racy */
    struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
    dsr_ingest_report rep = run_ok(f->root, 0);
    assert_int_equal(rep.n_cache_stale, 0);
    dsr_ingest_report_free(&rep);

    tt_put(f->root, "doc-3.md", "# document X\n");   /* same size */
    assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
    rep = run_ok(f->root, DSR_INGEST_REHASH);
    assert_int_equal(rep.scan->n_cache_stale, 1);
    assert_int_equal(rep.n_cache_stale, 1);
    assert_string_equal(rep.cache_stale[0], "doc-3.md");
    dsr_ingest_report_free(&rep);
}

/* DSR_INGEST_SKIP_UNCHANGED: a rescan after a touch and a chmod (no
 * content change) records nothing and leaves the log as it was; a real edit
 * records a run as --emit changed does; without EMIT_CHANGED it is refused. */
static void test_ingest_run_skip_unchanged_records_nothing_without_change(void **state)
{
    fixture *f = *state;
    const unsigned skip = DSR_INGEST_EMIT_CHANGED | DSR_INGEST_SKIP_UNCHANGED;
    dsr_ingest_report rep = run_ok(f->root, skip);   /* no snapshot yet: recorded */
    assert_false(rep.unchanged);
    assert_int_equal(rep.record.indexed, N_FILES);
    uint64_t head = rep.record.last_seq;
    dsr_ingest_report_free(&rep);

    char p[1024];
    snprintf(p, sizeof p, "%s/doc-0.md", f->root);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(utimensat(AT_FDCWD, p, NULL, 0), 0);
    tt_put(f->root, "doc-1.md", "# document 1\n");   /* same content */
    rep = run_ok(f->root, skip);
    assert_true(rep.unchanged);
    assert_int_equal(rep.record.indexed, 0);
    assert_int_equal(rep.record.run_id[0], 0);
    assert_null(rep.snapshot);
    dsr_ingest_report_free(&rep);
    char logdir[1024];
    snprintf(logdir, sizeof logdir, "%s/.dossier", f->root);
    dsr_log *log = tt_log_open(logdir, DSR_LOG_RDONLY);
    assert_int_equal(dsr_log_head(log), head + 1);   /* + the derived snapshot event */
    dsr_log_close(log);

    tt_put(f->root, "doc-1.md", "# document 1, edited\n");
    rep = run_ok(f->root, skip);
    assert_false(rep.unchanged);
    assert_int_equal(rep.record.indexed, 1);
    assert_true(rep.record.completed);
    dsr_ingest_report_free(&rep);

    /* another target branch than the snapshot's: not the same snapshot */
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    o.target_branch = "other";
    o.flags = skip;
    dsr_err err;
    rep = (dsr_ingest_report)DSR_INGEST_REPORT_INIT;
    assert_int_equal(dsr_ingest_run(&o, &rep, &err), 0);
    assert_false(rep.unchanged);
    dsr_ingest_report_free(&rep);

    o.flags = DSR_INGEST_SKIP_UNCHANGED;
    assert_int_equal(dsr_ingest_run(&o, &rep, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_INGEST_EMIT_CHANGED"));
    dsr_ingest_report_free(&rep);
}

/* dsr_ingest_run_log records on the caller's log and leaves it open (and
 * locked: a second writer is refused meanwhile). */
static void test_ingest_run_log_uses_and_keeps_the_callers_log(void **state)
{
    fixture *f = *state;
    char logdir[1024];
    snprintf(logdir, sizeof logdir, "%s/elsewhere", f->dir);
    dsr_log *log = tt_log_open(logdir, 0);
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    o.target_branch = "main";
    for (int i = 0; i < 2; i++) {
        dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
        dsr_err err;
        if (dsr_ingest_run_log(log, &o, &rep, &err))
            fail_msg("dsr_ingest_run_log, run %d: %s", i, err.msg);
        assert_string_equal(rep.log_dir, logdir);
        assert_true(rep.record.completed);
        dsr_ingest_report_free(&rep);
    }
    assert_true(dsr_log_head(log) > 2 * N_FILES);   /* the handle still works */
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    o.log_dir = logdir;
    dsr_err err;
    assert_int_equal(dsr_ingest_run(&o, &rep, &err), DSR_ELOCKED);
    dsr_ingest_report_free(&rep);
    dsr_log_close(log);
    assert_int_equal(dsr_ingest_run_log(NULL, &o, &rep, &err), DSR_EINVAL);
    dsr_ingest_report_free(&rep);
}

static void test_ingest_run_locked_log_fails_at_the_log(void **state)
{
    fixture *f = *state;
    char logdir[1024];
    snprintf(logdir, sizeof logdir, "%s/.dossier", f->root);
    dsr_log *holder = tt_log_open(logdir, 0);
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    assert_int_equal(dsr_ingest_run(&o, &rep, &err), DSR_ELOCKED);
    assert_int_equal(rep.failed_step, DSR_INGEST_STEP_LOG);
    assert_null(rep.scan);   /* nothing hashed */
    dsr_ingest_report_free(&rep);
    dsr_log_close(holder);
}

/* A regular file as root: refused before the (explicit) log is created. */
static void test_ingest_run_file_root_creates_nothing(void **state)
{
    fixture *f = *state;
    char file[1024], logdir[1024];
    snprintf(file, sizeof file, "%s/doc-0.md", f->root);
    snprintf(logdir, sizeof logdir, "%s/L", f->dir);
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = file;
    o.log_dir = logdir;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    assert_int_equal(dsr_ingest_run(&o, &rep, &err), DSR_EIO);
    assert_int_equal(rep.failed_step, DSR_INGEST_STEP_ROOT);
    assert_non_null(strstr(err.msg, "not a folder"));
    assert_non_null(strstr(err.msg, file));
    struct stat st;
    assert_int_equal(lstat(logdir, &st), -1);
    dsr_ingest_report_free(&rep);
}

/* <root>/.dossier planted as a symlink: refused by default, nothing written
 * where it points; named explicitly, it is the caller's choice. */
static void test_ingest_run_refuses_default_log_symlink(void **state)
{
    fixture *f = *state;
    char target[1024], link[1024];
    snprintf(target, sizeof target, "%s/elsewhere", f->dir);
    snprintf(link, sizeof link, "%s/.dossier", f->root);
    assert_int_equal(mkdir(target, 0700), 0);
    assert_int_equal(symlink(target, link), 0);

    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    assert_int_equal(dsr_ingest_run(&o, &rep, &err), DSR_EIO);
    assert_int_equal(rep.failed_step, DSR_INGEST_STEP_LOG);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_non_null(strstr(err.msg, link));
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/CURRENT", target);
    assert_int_equal(access(probe, F_OK), -1);
    dsr_ingest_report_free(&rep);

    o.log_dir = link;
    rep = (dsr_ingest_report)DSR_INGEST_REPORT_INIT;
    if (dsr_ingest_run(&o, &rep, &err))
        fail_msg("explicit symlinked log: %s", err.msg);
    assert_int_equal(access(probe, F_OK), 0);
    dsr_ingest_report_free(&rep);
}

static void test_ingest_run_checks_struct_versions(void **state)
{
    fixture *f = *state;
    static const struct { unsigned opts, rep; } cases[] = {
        { 0, DSR_INGEST_REPORT_VERSION },
        { DSR_INGEST_OPTS_VERSION + 1, DSR_INGEST_REPORT_VERSION },
        { DSR_INGEST_OPTS_VERSION, 0 },
        { DSR_INGEST_OPTS_VERSION, DSR_INGEST_REPORT_VERSION + 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
        o.version = cases[i].opts;
        o.root = f->root;
        dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
        rep.version = cases[i].rep;
        dsr_err err;
        int rc = dsr_ingest_run(&o, &rep, &err);
        if (rc != DSR_EINVAL)
            fail_msg("case %zu (opts %u, report %u): rc %d, want DSR_EINVAL", i,
                     cases[i].opts, cases[i].rep, rc);
        assert_non_null(strstr(err.msg, "version"));
    }
    struct stat st;
    char logdir[1024];
    snprintf(logdir, sizeof logdir, "%s/.dossier", f->root);
    assert_int_equal(lstat(logdir, &st), -1);   /* nothing created */
}

static void test_ingest_phase_names(void **state)
{
    (void)state;
    assert_string_equal(dsr_ingest_phase_name(DSR_INGEST_PHASE_SCAN), "walk+hash");
    assert_string_equal(dsr_ingest_phase_name(DSR_INGEST_PHASE_PROJECT), "projections");
    assert_null(dsr_ingest_phase_name(DSR_INGEST_PHASE_COUNT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ingest_run_records_a_run_and_reports_every_phase,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_version_1_report_gets_no_head,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_changed_mode_emits_only_changes,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_changed_mode_with_the_worker_pool,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_rehash_lists_stale_cache_entries,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_skip_unchanged_records_nothing_without_change,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_log_uses_and_keeps_the_callers_log,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_locked_log_fails_at_the_log,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_file_root_creates_nothing,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_refuses_default_log_symlink,
                                        setup, tt_mission_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_run_checks_struct_versions,
                                        setup, tt_mission_teardown),
        cmocka_unit_test(test_ingest_phase_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

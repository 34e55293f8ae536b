/*
 * test_record_stream.c - a full scan recorded while it runs
 * (ingest/record_stream.h) records the events dsr_record_scan records for
 * the same result, in the same order -- the artifacts in byte order of
 * their paths (also where the walk visits "tasks/..." before "tasks.md"),
 * then the missing events of the required artifacts no file matched, then
 * the completion marker -- in batches committed during the walk; a rescan
 * of the same log records an equal run; and a full emission over changed
 * paths only (dsr_ingest_run_paths, a watcher's run asked for by a full
 * scan) records the run a whole-tree full scan records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dossier/ingest.h"
#include "dossier/log.h"
#include "dossier/manifest.h"
#include "dossier/record.h"
#include "dossier/scan.h"
#include "test_tmp.h"

#define N_WP 300

typedef struct fixture {
    char *dir, *root, *log_a, *log_b;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tt_mkdtemp("stream");
    if (!f || !f->dir)
        return -1;
    char p[1024];
    snprintf(p, sizeof p, "%s/mission", f->dir);
    f->root = strdup(p);
    if (mkdir(f->root, 0755))
        return -1;
    snprintf(p, sizeof p, "%s/log-a", f->dir);
    f->log_a = strdup(p);
    snprintf(p, sizeof p, "%s/log-b", f->dir);
    f->log_b = strdup(p);
    char rel[64], text[64];
    for (int i = 0; i < N_WP; i++) {
        snprintf(rel, sizeof rel, "tasks/WP%03d.md", i);
        snprintf(text, sizeof text, "# work package %d\n", i);
        tt_put(f->root, rel, text);
    }
    /* walk order: tasks/... first; byte order: these first */
    tt_put(f->root, "tasks.md", "# tasks\n");
    tt_put(f->root, "tasks-old/WP000.md", "# old\n");
    tt_put(f->root, "plan.md", "# plan\n");
    tt_put(f->root, "research/notes.md", "# notes\n");
    /* spec.md, required by software-dev, is absent: a missing event */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tt_rm_rf(f->dir);      /* frees it */
    free(f->root);
    free(f->log_a);
    free(f->log_b);
    free(f);
    return 0;
}

/* The string under key in a payload map, or "". */
static void pstr(const msgpack_object *m, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key)
            && !memcmp(k->via.str.ptr, key, k->via.str.size) && v->type == MSGPACK_OBJECT_STR) {
            snprintf(out, cap, "%.*s", (int)v->via.str.size, v->via.str.ptr);
            return;
        }
    }
}

/* One line per event of the log from seq `from`: type, path, key, hash. */
static char **lines_of(const char *dir, uint64_t from, size_t *n)
{
    dsr_log *log = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_open(&log, dir, DSR_LOG_RDONLY, &err), 0);
    dsr_log_iter *it = NULL;
    assert_int_equal(dsr_log_iter_events(log, from, &it, &err), 0);
    const void *k, *v;
    size_t kl, vl, cap = 0;
    char **out = NULL;
    *n = 0;
    while (dsr_log_iter_next(it, &k, &kl, &v, &vl, &err) == 1) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        assert_int_equal(dsr_record_decode(v, vl, &u, &env, &err), 0);
        char path[256], pat[256], key[128], hash[80], line[1024];
        pstr(env.payload, "relative_path", path, sizeof path);
        pstr(env.payload, "expected_path_pattern", pat, sizeof pat);
        pstr(env.payload, "artifact_key", key, sizeof key);
        pstr(env.payload, "content_hash_sha256", hash, sizeof hash);
        snprintf(line, sizeof line, "%.*s %s%s %s %s", (int)env.event_type.len,
                 env.event_type.ptr, path, pat, key, hash);
        msgpack_unpacked_destroy(&u);
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            out = realloc(out, cap * sizeof *out);
            assert_non_null(out);
        }
        out[(*n)++] = strdup(line);
    }
    dsr_log_iter_free(it);
    dsr_log_close(log);
    return out;
}

static void lines_free(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* log A: dsr_ingest_run, recorded while scanning, 64 events a batch */
static dsr_ingest_report ingest_a(const fixture *f)
{
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    o.log_dir = f->log_a;
    o.mission_type = "software-dev";
    o.target_branch = "main";
    o.batch_events = 64;
    o.jobs = 2;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    if (dsr_ingest_run(&o, &rep, &err))
        fail_msg("dsr_ingest_run: %s", err.msg);
    return rep;
}

static void test_streamed_run_records_what_record_scan_records(void **state)
{
    fixture *f = *state;
    dsr_ingest_report rep = ingest_a(f);
    assert_true(rep.record.completed);
    assert_int_equal(rep.record.indexed, N_WP + 4);
    assert_int_equal(rep.record.missing, 1);
    dsr_ingest_report_free(&rep);

    /* log B: the same tree scanned, then recorded by dsr_record_scan */
    dsr_err err;
    dsr_manifest *m = NULL;
    assert_int_equal(dsr_manifest_load_builtin("software-dev", &m, &err), 0);
    dsr_scan_opts so = { .version = DSR_SCAN_OPTS_VERSION, .root = f->root, .manifest = m };
    dsr_scan_result *r = NULL;
    assert_int_equal(dsr_scan(&so, &r, &err), 0);
    dsr_log *log = NULL;
    assert_int_equal(dsr_log_open(&log, f->log_b, 0, &err), 0);
    dsr_record_opts ro = DSR_RECORD_OPTS_INIT;
    ro.mission_type = dsr_manifest_mission_type(m);
    ro.manifest_version = dsr_manifest_version(m);
    ro.target_branch = "main";
    ro.batch_events = 64;
    dsr_record_stats st = DSR_RECORD_STATS_INIT;
    assert_int_equal(dsr_record_scan(log, r, &ro, &st, &err), 0);
    dsr_log_close(log);
    dsr_scan_result_free(r);
    dsr_manifest_free(m);

    size_t na, nb;
    char **a = lines_of(f->log_a, 1, &na), **b = lines_of(f->log_b, 1, &nb);
    /* A also holds the derived snapshot_computed after its run */
    assert_true(na >= nb);
    for (size_t i = 0; i < nb; i++)
        assert_string_equal(a[i], b[i]);
    /* indexed events by path in byte order, then the missing one, then the marker */
    size_t last_indexed = 0, first_missing = 0;
    for (size_t i = 0; i < nb; i++) {
        if (!strncmp(b[i], "mission_dossier_artifact_indexed ", 33)) {
            if (last_indexed)
                assert_true(strcmp(b[last_indexed], b[i]) < 0);
            last_indexed = i;
        } else if (!strncmp(b[i], "mission_dossier_artifact_missing ", 33) && !first_missing) {
            first_missing = i;
        }
    }
    assert_true(first_missing > last_indexed);
    assert_non_null(strstr(b[first_missing], " spec.md "));
    assert_int_equal(strncmp(b[nb - 1], "dossier_scan_completed", 22), 0);
    /* tasks.md before the files of tasks/ although the walk sees it after */
    size_t tasks_md = 0, wp0 = 0;
    for (size_t i = 0; i < nb; i++) {
        if (strstr(b[i], " tasks.md "))
            tasks_md = i;
        if (strstr(b[i], " tasks/WP000.md "))
            wp0 = i;
    }
    assert_true(tasks_md && wp0 && tasks_md < wp0);
    lines_free(a, na);
    lines_free(b, nb);
}

/* A warm rescan (scan cache, nothing read) records the same run again. */
static void test_streamed_rescan_records_the_same_run(void **state)
{
    fixture *f = *state;
    dsr_log *log = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_open(&log, f->log_a, DSR_LOG_RDONLY, &err), 0);
    uint64_t head = dsr_log_head(log);
    dsr_log_close(log);
    dsr_ingest_report rep = ingest_a(f);
    assert_true(rep.record.completed);
    /* racy entries (files written just now) are re-read for XXH3 only */
    assert_int_equal(rep.scan->n_cache_stat + rep.scan->n_cache_xxh3, N_WP + 4);
    dsr_ingest_report_free(&rep);
    size_t n1, n2;
    char **l1 = lines_of(f->log_a, 1, &n1), **l2 = lines_of(f->log_a, head + 1, &n2);
    /* l1: both runs (each with its snapshot event), l2: the second */
    assert_int_equal(n1, 2 * n2);
    assert_int_equal(n2, head);
    for (size_t i = 0; i < n2; i++)
        assert_string_equal(l1[i], l2[i]);
    lines_free(l1, n1);
    lines_free(l2, n2);
}

/* The events of the run recorded after seq `from`, up to its marker. */
static char **run_lines(const char *dir, uint64_t from, size_t *n)
{
    char **l = lines_of(dir, from, n);
    for (size_t i = 0; i < *n; i++) {
        if (!strncmp(l[i], "dossier_scan_completed", 22)) {
            for (size_t j = i + 1; j < *n; j++)
                free(l[j]);
            *n = i + 1;
            return l;
        }
    }
    fail_msg("%s: no run after seq %llu", dir, (unsigned long long)from);
    return NULL;
}

static void test_full_emission_over_changed_paths_records_the_whole_run(void **state)
{
    fixture *f = *state;
    char log_w[1024], log_c[1024];
    snprintf(log_w, sizeof log_w, "%s/log-w", f->dir);
    snprintf(log_c, sizeof log_c, "%s/log-c", f->dir);
    dsr_ingest_opts o = DSR_INGEST_OPTS_INIT;
    o.root = f->root;
    o.mission_type = "software-dev";
    o.target_branch = "main";
    o.batch_events = 64;
    o.jobs = 2;
    dsr_log *log = NULL;
    dsr_err err;
    assert_int_equal(dsr_log_open(&log, log_w, 0, &err), 0);
    /* the watcher's starting run keeps the whole result */
    dsr_scan_result *kept = NULL;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    if (dsr_ingest_run_paths(log, &o, NULL, 0, &kept, &rep, &err))
        fail_msg("dsr_ingest_run_paths: %s", err.msg);
    dsr_ingest_report_free(&rep);
    assert_non_null(kept);
    /* an edit, a new file, a file removed; then a run over those paths */
    tt_put(f->root, "plan.md", "# plan, edited\n");
    tt_put(f->root, "tasks/WP900.md", "# work package 900\n");
    tt_remove(f->root, "research/notes.md");
    const char *paths[] = { "plan.md", "tasks/WP900.md", "research/notes.md" };
    uint64_t head = dsr_log_head(log);
    rep = (dsr_ingest_report)DSR_INGEST_REPORT_INIT;
    if (dsr_ingest_run_paths(log, &o, paths, 3, &kept, &rep, &err))
        fail_msg("dsr_ingest_run_paths: %s", err.msg);
    assert_true(rep.record.completed);
    assert_int_equal(rep.record.indexed, N_WP + 4);   /* one more, one fewer */
    assert_int_equal(rep.record.missing, 1);
    assert_int_equal(rep.record.removed, 0);
    /* the rest of the tree came from the kept result, unread */
    assert_true(kept->n_cache_stat >= N_WP + 2);
    dsr_ingest_report_free(&rep);
    dsr_scan_result_free(kept);
    dsr_log_close(log);

    /* the same tree, scanned whole into a new log */
    o.log_dir = log_c;
    rep = (dsr_ingest_report)DSR_INGEST_REPORT_INIT;
    if (dsr_ingest_run(&o, &rep, &err))
        fail_msg("dsr_ingest_run: %s", err.msg);
    dsr_ingest_report_free(&rep);
    size_t nw, nc;
    char **w = run_lines(log_w, head + 1, &nw), **c = run_lines(log_c, 1, &nc);
    assert_int_equal(nw, nc);
    for (size_t i = 0; i < nc; i++)
        assert_string_equal(w[i], c[i]);
    lines_free(w, nw);
    lines_free(c, nc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamed_run_records_what_record_scan_records),
        cmocka_unit_test(test_streamed_rescan_records_the_same_run),
        cmocka_unit_test(test_full_emission_over_changed_paths_records_the_whole_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

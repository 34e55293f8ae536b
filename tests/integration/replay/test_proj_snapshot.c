/*
 * test_proj_snapshot.c - the snapshot projection, on real logs built through
 * the emitter: parity hash, counts, completeness, deterministic ids, crashed
 * and interleaved runs, changed-mode equivalence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "dossier/emit.h"
#include "dossier/replay.h"
#include "proj_fixture.h"
#include "test_data.h"

static const dsr_replay_opts FROM_ZERO = { DSR_REPLAY_OPTS_VERSION, DSR_REPLAY_FROM_ZERO, 0 };

/* Rebuilding every projection from zero leaves the very same rows. */
static void assert_rebuild_keeps_rows(dsr_log *log)
{
    dsr_err err = { 0 };
    char *before = pf_dump(log);
    assert_int_equal(dsr_replay_run(log, "all", &FROM_ZERO, NULL, &err), 0);
    char *after = pf_dump(log);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static dsr_snapshot_info *latest(dsr_log *log, const char *feature, int with_artifacts)
{
    dsr_err err = { 0 };
    dsr_snapshot_info *s = NULL;
    int rc = dsr_replay_snapshot_get(log, feature, NULL, with_artifacts, &s, &err);
    if (rc)
        fail_msg("snapshot of %s: %s", feature, err.msg);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The reference algorithm written out independently of replay/aset.c. */
static void expected_parity(const char *const *contents, size_t n, char out[65])
{
    char **h = calloc(n ? n : 1, sizeof *h);
    for (size_t i = 0; i < n; i++) {
        h[i] = malloc(65);
        pf_sha256_hex(contents[i], h[i]);
    }
    qsort(h, n, sizeof *h, cmp_str);
    char *cat = calloc(n * 64 + 1, 1);
    for (size_t i = 0; i < n; i++) {
        strcat(cat, h[i]);
        free(h[i]);
    }
    pf_sha256_hex(cat, out);
    free(cat);
    free(h);
}

static const pf_art ARTS[] = {
    { "spec", "spec.md", "input", "# Spec\nthe spec\n", 1 },
    { "plan", "plan.md", "workflow", "# Plan\n", 1 },
    { "notes", "notes.md", "evidence", "same bytes\n", 0 },
    { "notes-copy", "notes-copy.md", "evidence", "same bytes\n", 0 },  /* duplicate hash */
};
#define N_ARTS (sizeof ARTS / sizeof ARTS[0])

static void test_parity_hash_is_sha256_of_sorted_concatenated_hashes(void **state)
{
    pf_fx *f = *state;
    pf_run r = { .feature = "042-feat", .mission_type = "software-dev", .manifest_version = "1",
                 .arts = ARTS, .n_arts = N_ARTS };
    assert_int_equal(pf_scan(f->log, &r, NULL), 0);
    pf_catch_up(f->log);
    const char *contents[N_ARTS];
    for (size_t i = 0; i < N_ARTS; i++)
        contents[i] = ARTS[i].content;
    char want[65];
    expected_parity(contents, N_ARTS, want);
    dsr_snapshot_info *s = latest(f->log, "042-feat", 1);
    assert_string_equal(s->parity_hash_sha256, want);
    assert_int_equal(s->n_artifacts, N_ARTS);   /* duplicate content kept */
    dsr_snapshot_info_free(s);
}

static void test_parity_of_empty_set_is_sha256_of_empty_string(void **state)
{
    pf_fx *f = *state;
    pf_run r = { .feature = "empty", .mission_type = NULL };
    assert_int_equal(pf_scan(f->log, &r, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *s = latest(f->log, "empty", 0);
    assert_string_equal(s->parity_hash_sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(s->completeness_status, "unknown");
    dsr_snapshot_info_free(s);
}

static void test_counts_and_incomplete_when_required_missing(void **state)
{
    pf_fx *f = *state;
    const char *missing[] = { "tasks", "research" };
    pf_run r = { .feature = "f", .mission_type = "software-dev", .manifest_version = "1",
                 .arts = ARTS, .n_arts = N_ARTS, .missing = missing, .n_missing = 2,
                 .optional_absent = 3 };
    assert_int_equal(pf_scan(f->log, &r, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *s = latest(f->log, "f", 0);
    assert_int_equal(s->counts.required_present, 2);
    assert_int_equal(s->counts.required_missing, 2);
    assert_int_equal(s->counts.required, 4);
    assert_int_equal(s->counts.optional_present, 2);
    assert_int_equal(s->counts.optional, 5);
    assert_int_equal(s->counts.total, 9);
    assert_string_equal(s->completeness_status, "incomplete");
    assert_int_equal(s->n_missing, 2);
    assert_string_equal(s->missing[0].artifact_key, "research");   /* sorted */
    assert_string_equal(s->missing[1].artifact_key, "tasks");
    assert_string_equal(s->missing[1].reason_code, "not_found");
    assert_true(s->counts_consistent);
    dsr_snapshot_info_free(s);
}

static void test_complete_when_no_required_missing_and_unknown_without_manifest(void **state)
{
    pf_fx *f = *state;
    pf_run a = { .feature = "with", .mission_type = "research", .manifest_version = "2",
                 .arts = ARTS, .n_arts = 2 };
    pf_run b = { .feature = "without", .arts = ARTS, .n_arts = 2 };
    assert_int_equal(pf_scan(f->log, &a, NULL), 0);
    assert_int_equal(pf_scan(f->log, &b, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *s = latest(f->log, "with", 0);
    assert_string_equal(s->completeness_status, "complete");
    assert_string_equal(s->mission_type, "research");
    assert_string_equal(s->manifest_version, "2");
    dsr_snapshot_info_free(s);
    s = latest(f->log, "without", 0);
    assert_string_equal(s->completeness_status, "unknown");
    assert_null(s->mission_type);
    dsr_snapshot_info_free(s);
}

static void test_one_snapshot_event_per_completed_scan(void **state)
{
    pf_fx *f = *state;
    pf_run r = { .feature = "f", .mission_type = "software-dev", .arts = ARTS, .n_arts = N_ARTS };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pf_scan(f->log, &r, NULL), 0);
        pf_catch_up(f->log);
    }
    pf_catch_up(f->log);
    assert_int_equal(pf_count_type(f->log, DSR_EV_SNAPSHOT_COMPUTED), 3);
}

static void test_crashed_run_without_scan_completed_yields_no_snapshot(void **state)
{
    pf_fx *f = *state;
    pf_run crashed = { .feature = "f", .mission_type = "software-dev", .arts = ARTS,
                       .n_arts = N_ARTS, .incomplete = 1 };
    assert_int_equal(pf_scan(f->log, &crashed, NULL), 0);
    pf_catch_up(f->log);
    dsr_err err = { 0 };
    char **feat = NULL;
    size_t n = 99, open = 0;
    assert_int_equal(dsr_replay_features(f->log, &feat, &n, &err), 0);
    assert_int_equal(n, 0);
    dsr_replay_strv_free(feat, n);
    assert_int_equal(dsr_replay_open_runs(f->log, &open, &err), 0);
    assert_int_equal(open, 1);
    assert_int_equal(pf_count_type(f->log, DSR_EV_SNAPSHOT_COMPUTED), 0);

    /* a later, complete run of one artifact does not inherit the crashed run's */
    pf_run ok = { .feature = "f", .mission_type = "software-dev", .arts = ARTS, .n_arts = 1 };
    assert_int_equal(pf_scan(f->log, &ok, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *s = latest(f->log, "f", 1);
    assert_int_equal(s->n_artifacts, 1);
    assert_string_equal(s->artifacts[0].artifact_key, "spec");
    dsr_snapshot_info_free(s);
    assert_int_equal(dsr_replay_open_runs(f->log, &open, &err), 0);
    assert_int_equal(open, 1);
}

static void test_interleaved_runs_fold_per_correlation_id(void **state)
{
    pf_fx *f = *state;
    dsr_err err = { 0 };
    char run_a[27], run_b[27];
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(f->log), run_a), 0);
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(f->log), run_b), 0);
    pf_run ra = { .feature = "alpha", .mission_type = "software-dev" };
    pf_run rb = { .feature = "beta", .mission_type = "software-dev" };
    /* batch 1: a0 b0 a1; catch up (both pending); batch 2: b1 done(a) a? none; done(b) */
    dsr_log_batch *b = NULL;
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(pf_emit_indexed(b, run_a, "alpha", &ARTS[0]), 0);
    assert_int_equal(pf_emit_indexed(b, run_b, "beta", &ARTS[1]), 0);
    assert_int_equal(pf_emit_indexed(b, run_a, "alpha", &ARTS[2]), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    pf_catch_up(f->log);
    assert_int_equal(pf_count_type(f->log, DSR_EV_SNAPSHOT_COMPUTED), 0);
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(pf_emit_indexed(b, run_b, "beta", &ARTS[3]), 0);
    assert_int_equal(pf_emit_missing(b, run_b, "beta", "tasks"), 0);
    assert_int_equal(pf_emit_completed(b, run_a, &ra, 2, 0, 0, NULL), 0);
    assert_int_equal(pf_emit_completed(b, run_b, &rb, 2, 1, 0, NULL), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    pf_catch_up(f->log);

    dsr_snapshot_info *s = latest(f->log, "alpha", 1);
    assert_int_equal(s->n_artifacts, 2);
    assert_string_equal(s->artifacts[0].artifact_key, "notes");
    assert_string_equal(s->artifacts[1].artifact_key, "spec");
    assert_string_equal(s->run_id, run_a);
    assert_string_equal(s->completeness_status, "complete");
    const char *ca[] = { ARTS[0].content, ARTS[2].content };
    char want[65];
    expected_parity(ca, 2, want);
    assert_string_equal(s->parity_hash_sha256, want);
    dsr_snapshot_info_free(s);

    s = latest(f->log, "beta", 1);
    assert_int_equal(s->n_artifacts, 2);
    assert_string_equal(s->completeness_status, "incomplete");
    assert_int_equal(s->counts.required_missing, 1);
    assert_true(s->counts_consistent);
    dsr_snapshot_info_free(s);
    size_t open = 9;
    assert_int_equal(dsr_replay_open_runs(f->log, &open, &err), 0);
    assert_int_equal(open, 0);
}

static void test_changed_mode_gives_same_set_and_parity_as_full_mode(void **state)
{
    pf_fx *f = *state;
    /* scan 1 (full) in both features; scan 2: full in "full", changed in "chg" */
    const pf_art v1[] = { ARTS[0], ARTS[1], ARTS[2] };
    const pf_art edited = { "plan", "plan.md", "workflow", "# Plan v2\n", 1 };
    const pf_art added = { "extra", "extra/data.csv", "evidence", "1,2,3\n", 0 };
    const pf_art v2_full[] = { ARTS[0], edited, added };          /* notes.md deleted */
    const pf_art v2_changed[] = { edited, added };
    const pf_art removed[] = { ARTS[2] };
    pf_run full1 = { .feature = "full", .mission_type = "software-dev", .arts = v1, .n_arts = 3 };
    pf_run chg1 = full1;
    chg1.feature = "chg";
    pf_run full2 = { .feature = "full", .mission_type = "software-dev", .arts = v2_full,
                     .n_arts = 3 };
    pf_run chg2 = { .feature = "chg", .mission_type = "software-dev", .emit_mode = "changed",
                    .arts = v2_changed, .n_arts = 2, .removed = removed, .n_removed = 1 };
    assert_int_equal(pf_scan(f->log, &full1, NULL), 0);
    assert_int_equal(pf_scan(f->log, &chg1, NULL), 0);
    pf_catch_up(f->log);
    assert_int_equal(pf_scan(f->log, &full2, NULL), 0);
    assert_int_equal(pf_scan(f->log, &chg2, NULL), 0);
    pf_catch_up(f->log);

    dsr_snapshot_info *a = latest(f->log, "full", 1), *b = latest(f->log, "chg", 1);
    assert_string_equal(a->parity_hash_sha256, b->parity_hash_sha256);
    assert_int_equal(a->n_artifacts, 3);
    assert_int_equal(b->n_artifacts, 3);
    for (size_t i = 0; i < a->n_artifacts; i++) {
        assert_string_equal(a->artifacts[i].artifact_key, b->artifacts[i].artifact_key);
        assert_string_equal(a->artifacts[i].relative_path, b->artifacts[i].relative_path);
        assert_string_equal(a->artifacts[i].sha256, b->artifacts[i].sha256);
    }
    assert_int_equal(a->counts.total, b->counts.total);
    assert_int_equal(a->counts.required_present, b->counts.required_present);
    assert_string_equal(b->emit_mode, "changed");
    dsr_snapshot_info_free(a);
    dsr_snapshot_info_free(b);
}

static void test_changed_mode_run_reported_missing_drops_the_key(void **state)
{
    pf_fx *f = *state;
    const pf_art v1[] = { ARTS[0], ARTS[1] };
    const char *missing[] = { "plan" };
    pf_run r1 = { .feature = "f", .mission_type = "software-dev", .arts = v1, .n_arts = 2 };
    pf_run r2 = { .feature = "f", .mission_type = "software-dev", .emit_mode = "changed",
                  .missing = missing, .n_missing = 1 };
    assert_int_equal(pf_scan(f->log, &r1, NULL), 0);
    assert_int_equal(pf_scan(f->log, &r2, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *s = latest(f->log, "f", 1);
    assert_int_equal(s->n_artifacts, 1);
    assert_string_equal(s->artifacts[0].artifact_key, "spec");
    assert_int_equal(s->counts.required_missing, 1);
    assert_string_equal(s->completeness_status, "incomplete");
    dsr_snapshot_info_free(s);
}

static void test_snapshot_ids_and_derived_event_are_deterministic(void **state)
{
    pf_fx *f = *state;
    pf_run r = { .feature = "f", .mission_type = "software-dev", .arts = ARTS, .n_arts = 2 };
    char run[27];
    assert_int_equal(pf_scan(f->log, &r, run), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *s = latest(f->log, "f", 0);
    assert_string_equal(s->run_id, run);
    assert_true(dsr_ulid_valid(s->snapshot_id, strlen(s->snapshot_id)));

    /* the derived event: id = ULID(scan time, SHA-256("snapshot\0" + scan event id)) */
    dsr_err err = { 0 };
    uint64_t ms = 0;
    assert_int_equal(dsr_time_parse_rfc3339(s->timestamp, strlen(s->timestamp), &ms), 0);
    char seed[64], want[27];
    memcpy(seed, "snapshot", 9);
    memcpy(seed + 9, s->scan_event_id, 26);
    dsr_ulid_derive(ms, seed, 35, want);
    assert_string_equal(s->event_id, want);

    uint64_t seq = 0;
    assert_int_equal(dsr_log_find_event(f->log, s->event_id, &seq, &err), 0);
    dsr_log_iter *it = NULL;
    assert_int_equal(dsr_log_iter_events(f->log, seq, &it, &err), 0);
    const void *k, *v;
    size_t kl, vl;
    assert_int_equal(dsr_log_iter_next(it, &k, &kl, &v, &vl, &err), 1);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    assert_int_equal(dsr_record_decode(v, vl, &u, &env, &err), 0);
    assert_int_equal(env.type, DSR_EV_SNAPSHOT_COMPUTED);
    assert_int_equal(env.causation_id.len, 26);
    assert_memory_equal(env.causation_id.ptr, s->scan_event_id, 26);
    assert_memory_equal(env.correlation_id.ptr, run, 26);
    assert_int_equal(env.timestamp.len, strlen(s->timestamp));
    assert_memory_equal(env.timestamp.ptr, s->timestamp, env.timestamp.len);
    msgpack_unpacked_destroy(&u);
    dsr_log_iter_free(it);

    /* rebuilding re-derives the same snapshot id and event id */
    char again[27];
    snprintf(again, sizeof again, "%s", s->snapshot_id);
    dsr_err e2 = { 0 };
    assert_int_equal(dsr_replay_run(f->log, "snapshot", &FROM_ZERO, NULL, &e2), 0);
    dsr_snapshot_info *s2 = latest(f->log, "f", 0);
    assert_string_equal(s2->snapshot_id, again);
    assert_string_equal(s2->event_id, s->event_id);
    dsr_snapshot_info_free(s2);
    dsr_snapshot_info_free(s);
}

static void test_run_split_across_catch_ups_keeps_pending_entries(void **state)
{
    pf_fx *f = *state;
    dsr_err err = { 0 };
    char run[27];
    assert_int_equal(dsr_ulid_new(dsr_log_ulid_gen(f->log), run), 0);
    pf_run r = { .feature = "f", .mission_type = "software-dev" };
    for (size_t i = 0; i < N_ARTS; i++) {
        dsr_log_batch *b = NULL;
        assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
        assert_int_equal(pf_emit_indexed(b, run, "f", &ARTS[i]), 0);
        if (i + 1 == N_ARTS)
            assert_int_equal(pf_emit_completed(b, run, &r, (int64_t)N_ARTS, 0, 0, NULL), 0);
        assert_int_equal(dsr_log_batch_commit(b, &err), 0);
        pf_catch_up(f->log);   /* each time: the run's earlier entries are pending rows */
    }
    dsr_snapshot_info *s = latest(f->log, "f", 1);
    assert_int_equal(s->n_artifacts, N_ARTS);
    assert_true(s->counts_consistent);
    dsr_snapshot_info_free(s);
    size_t open = 9;
    assert_int_equal(dsr_replay_open_runs(f->log, &open, &err), 0);
    assert_int_equal(open, 0);
}

static void test_snapshot_lookup_by_id_checks_feature(void **state)
{
    pf_fx *f = *state;
    pf_run r = { .feature = "f", .mission_type = "software-dev", .arts = ARTS, .n_arts = 1 };
    assert_int_equal(pf_scan(f->log, &r, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *s = latest(f->log, "f", 0), *t = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_snapshot_get(f->log, NULL, s->snapshot_id, 0, &t, &err), 0);
    assert_string_equal(t->feature_slug, "f");
    dsr_snapshot_info_free(t);
    assert_int_equal(dsr_replay_snapshot_get(f->log, "other", s->snapshot_id, 0, &t, &err),
                     DSR_ENOTFOUND);
    assert_int_equal(dsr_replay_snapshot_get(f->log, "other", NULL, 0, &t, &err), DSR_ENOTFOUND);
    dsr_snapshot_info_free(s);
}

/* ---- large sets: stored as deltas, read back whole ------------------------------ */

enum { BIG = 120 };

typedef struct big_tree {
    char     key[BIG][32], path[BIG][32], content[BIG][48];
    int      present[BIG];
    unsigned version[BIG];
    pf_art   arts[BIG];
} big_tree;

/* A tree whose first BIG - 10 files are present (the last ten are added by
 * the tests), each at version 0. */
static big_tree *big_tree_new(void)
{
    big_tree *t = calloc(1, sizeof *t);
    assert_non_null(t);
    for (int i = 0; i < BIG - 10; i++)
        t->present[i] = 1;
    return t;
}

static size_t big_arts(big_tree *t)
{
    size_t n = 0;
    for (int i = 0; i < BIG; i++) {
        if (!t->present[i])
            continue;
        snprintf(t->path[i], 32, "d/f%03d.md", i);
        if (i % 2)   /* half named by the manifest, half keyed by path */
            snprintf(t->key[i], 32, "key%03d", i);
        else
            snprintf(t->key[i], 32, "path:%s", t->path[i]);
        snprintf(t->content[i], 48, "file %d version %u\n", i, t->version[i]);
        t->arts[n++] = (pf_art){ t->key[i], t->path[i], i % 5 ? "input" : "evidence",
                                 t->content[i], i % 3 == 0 };
    }
    return n;
}

static int cmp_art(const void *a, const void *b)
{
    const pf_art *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->path, y->path);
}

/* The latest snapshot of feature lists exactly the tree's artifacts. */
static void assert_lists_tree_of(dsr_log *log, big_tree *t, const char *feature)
{
    size_t n = big_arts(t);
    pf_art *want = malloc(n * sizeof *want);
    assert_non_null(want);
    memcpy(want, t->arts, n * sizeof *want);
    qsort(want, n, sizeof *want, cmp_art);
    dsr_snapshot_info *s = latest(log, feature, 1);
    assert_int_equal(s->n_artifacts, n);
    for (size_t i = 0; i < n; i++) {
        char h[65];
        pf_sha256_hex(want[i].content, h);
        assert_string_equal(s->artifacts[i].artifact_key, want[i].key);
        assert_string_equal(s->artifacts[i].relative_path, want[i].path);
        assert_string_equal(s->artifacts[i].sha256, h);
        assert_string_equal(s->artifacts[i].artifact_class, want[i].cls);
        assert_int_equal(s->artifacts[i].required, want[i].required);
    }
    dsr_snapshot_info_free(s);
    free(want);
}

static void assert_lists_tree(dsr_log *log, big_tree *t)
{
    assert_lists_tree_of(log, t, "big");
}

/* Set rows in the dump (key "set\0..."), and how many are deltas. */
static void count_set_rows(dsr_log *log, size_t *rows, size_t *deltas)
{
    char *d = pf_dump(log);
    assert_non_null(d);
    *rows = *deltas = 0;
    for (char *line = strtok(d, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "snapshot|73657400", 17))
            continue;
        (*rows)++;
        const char *val = strrchr(line, '|');
        if (val && !strncmp(val + 1, "94c0", 4))
            (*deltas)++;
    }
    free(d);
}

static void test_large_sets_stored_as_deltas_read_back_whole(void **state)
{
    pf_fx *f = *state;
    big_tree *t = big_tree_new();
    pf_run run = { .feature = "big", .mission_type = "software-dev", .arts = t->arts };
    for (int scan = 0; scan < 8; scan++) {
        if (scan) {   /* a few edits, one file gone, one new */
            for (int k = 0; k < 3; k++)
                t->version[(scan * 7 + k * 13) % BIG]++;
            t->present[(scan * 11) % (BIG - 10)] = 0;
            t->present[BIG - 10 + scan] = 1;
        }
        run.n_arts = big_arts(t);
        assert_int_equal(pf_scan(f->log, &run, NULL), 0);
        pf_catch_up(f->log);
        assert_lists_tree(f->log, t);
        if (scan == 0)
            assert_int_equal(pf_accept_baseline(f->log, "big", NULL, NULL), 0);
    }
    size_t rows, deltas;
    count_set_rows(f->log, &rows, &deltas);
    assert_int_equal(rows, 8);
    assert_true(deltas >= 6);   /* every rescan after the first */

    /* drift against the first scan is computed from a full set and a delta */
    dsr_drift_info *dr = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_drift_get(f->log, "big", &dr, &err), 0);
    assert_non_null(dr->event_id);
    assert_true(dr->n_changed > 0);
    assert_int_equal(dr->n_added, 7);      /* files BIG-9 .. BIG-3 */
    dsr_drift_info_free(dr);

    /* a changed-mode rescan folds onto a delta-stored set */
    t->version[1]++;
    t->present[3] = 0;
    pf_art edited[1], gone[1];
    big_arts(t);
    edited[0] = (pf_art){ t->key[1], t->path[1], "input", t->content[1], 0 };
    snprintf(t->path[3], 32, "d/f%03d.md", 3);
    gone[0] = (pf_art){ "key003", t->path[3], "input", "", 0 };
    pf_run chg = { .feature = "big", .mission_type = "software-dev", .emit_mode = "changed",
                   .arts = edited, .n_arts = 1, .removed = gone, .n_removed = 1 };
    assert_int_equal(pf_scan(f->log, &chg, NULL), 0);
    pf_catch_up(f->log);
    assert_lists_tree(f->log, t);

    /* rebuilt from zero: the very same rows */
    assert_rebuild_keeps_rows(f->log);
    free(t);
}

/* A full rescan whose set is exactly the full row its feature's latest
 * snapshot is based on is stored as the empty delta of that row: the row is
 * 94 c0, the base's name, and two empty arrays.  Tried for an unchanged tree
 * (put_set makes it without reading the base: the set has the latest
 * snapshot's parity), and for a tree edited and then put back, when the
 * latest row is a non-empty delta of the same base (the delta is made
 * against the base read back); both give the very same row. */
static void test_rescan_equal_to_the_base_stores_its_empty_delta(void **state)
{
    pf_fx *f = *state;
    big_tree *t = big_tree_new();
    pf_run run = { .feature = "same", .mission_type = "software-dev", .arts = t->arts };
    for (int scan = 0; scan < 4; scan++) {
        t->version[5] = scan == 2;   /* edited in scan 2, put back in scan 3 */
        run.n_arts = big_arts(t);
        assert_int_equal(pf_scan(f->log, &run, NULL), 0);
        pf_catch_up(f->log);
        assert_lists_tree_of(f->log, t, "same");
    }
    /* rows: the full one, its empty delta, the delta of scan 2 */
    char *d = pf_dump(f->log);
    assert_non_null(d);
    char full_key[80] = "", want[120] = "";
    size_t rows = 0, empty = 0;
    for (char *line = strtok(d, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "snapshot|73657400", 17))
            continue;
        rows++;
        const char *val = strrchr(line, '|') + 1;
        if (strncmp(val, "94c0", 4)) {
            assert_int_equal(strlen(full_key), 0);   /* one full row */
            assert_true(val - line - 1 - 17 == 64);  /* its name: 32 chars, in hex */
            memcpy(full_key, line + 17, 64);
            full_key[64] = '\0';
        }
    }
    assert_int_equal(rows, 3);
    free(d);
    snprintf(want, sizeof want, "94c0d920%s9090", full_key);
    d = pf_dump(f->log);
    for (char *line = strtok(d, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "snapshot|73657400", 17) && !strcmp(strrchr(line, '|') + 1, want))
            empty++;
    assert_int_equal(empty, 1);
    free(d);
    assert_rebuild_keeps_rows(f->log);
    free(t);
}

/* A changed-mode run that changed nothing (no event but its completion)
 * takes its snapshot from the latest record without loading the set; it
 * must equal what folding the set gives.  Feature "same" gets such runs,
 * feature "re" the same tree with one unchanged artifact indexed again, which
 * makes the projection load, fold, hash and store the set: every field of the
 * two snapshots agrees, the sets are the same rows (content-addressed: a
 * differing row would be a third one), and rebuilding from zero changes
 * nothing. */
static void test_changed_run_that_changed_nothing_equals_the_folded_snapshot(void **state)
{
    pf_fx *f = *state;
    big_tree *t = big_tree_new();
    size_t n = big_arts(t);
    const char *features[2] = { "same", "re" };
    for (int i = 0; i < 2; i++) {
        pf_run full = { .feature = features[i], .mission_type = "software-dev", .arts = t->arts,
                        .n_arts = n, .optional_absent = 1 };
        assert_int_equal(pf_scan(f->log, &full, NULL), 0);
    }
    pf_catch_up(f->log);
    assert_int_equal(pf_accept_baseline(f->log, "same", NULL, NULL), 0);
    for (int round = 0; round < 3; round++) {
        /* round 0 follows a full row, the others a delta row */
        pf_run same = { .feature = "same", .mission_type = "software-dev",
                        .emit_mode = "changed", .optional_absent = round };
        pf_run re = same;
        re.feature = "re";
        re.arts = &t->arts[round];
        re.n_arts = 1;
        assert_int_equal(pf_scan(f->log, &same, NULL), 0);
        assert_int_equal(pf_scan(f->log, &re, NULL), 0);
        pf_catch_up(f->log);
        dsr_snapshot_info *a = latest(f->log, "same", 1), *b = latest(f->log, "re", 1);
        assert_string_equal(a->parity_hash_sha256, b->parity_hash_sha256);
        assert_int_equal(a->counts.total, b->counts.total);
        assert_int_equal(a->counts.required, b->counts.required);
        assert_int_equal(a->counts.required_present, b->counts.required_present);
        assert_int_equal(a->counts.required_missing, b->counts.required_missing);
        assert_int_equal(a->counts.optional, b->counts.optional);
        assert_int_equal(a->counts.optional_present, b->counts.optional_present);
        assert_int_equal(a->counts.optional, a->counts.optional_present + round);
        assert_int_equal(a->counts.required_present + a->counts.optional_present, n);
        assert_string_equal(a->completeness_status, b->completeness_status);
        assert_string_equal(a->completeness_status, "complete");
        assert_int_equal(a->counts_consistent, 1);
        assert_int_equal(b->counts_consistent, 1);
        assert_int_equal(a->n_artifacts, b->n_artifacts);
        for (size_t i = 0; i < a->n_artifacts; i++) {
            assert_string_equal(a->artifacts[i].artifact_key, b->artifacts[i].artifact_key);
            assert_string_equal(a->artifacts[i].relative_path, b->artifacts[i].relative_path);
            assert_string_equal(a->artifacts[i].sha256, b->artifacts[i].sha256);
        }
        dsr_snapshot_info_free(a);
        dsr_snapshot_info_free(b);
        size_t rows, deltas;
        count_set_rows(f->log, &rows, &deltas);
        assert_int_equal(rows, 2);     /* the full set, and the empty delta of it */
        assert_int_equal(deltas, 1);
    }
    dsr_drift_info *dr = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_drift_get(f->log, "same", &dr, &err), 0);
    assert_null(dr->event_id);          /* the same parity: no drift */
    dsr_drift_info_free(dr);

    /* an edit after no-change runs folds onto their set */
    t->version[5]++;
    big_arts(t);
    pf_run chg = { .feature = "same", .mission_type = "software-dev", .emit_mode = "changed",
                   .arts = &t->arts[5], .n_arts = 1 };
    assert_int_equal(pf_scan(f->log, &chg, NULL), 0);
    pf_run none = { .feature = "same", .mission_type = "software-dev", .emit_mode = "changed" };
    assert_int_equal(pf_scan(f->log, &none, NULL), 0);
    pf_catch_up(f->log);
    /* assert_lists_tree reads feature "big": the edited file by hand */
    dsr_snapshot_info *s = latest(f->log, "same", 1);
    assert_int_equal(s->n_artifacts, n);
    char h[65];
    pf_sha256_hex(t->content[5], h);
    int seen = 0;
    for (size_t i = 0; i < s->n_artifacts; i++)
        if (!strcmp(s->artifacts[i].relative_path, t->path[5])) {
            assert_string_equal(s->artifacts[i].sha256, h);
            seen = 1;
        }
    assert_true(seen);
    dsr_snapshot_info_free(s);

    assert_rebuild_keeps_rows(f->log);
    free(t);
}

/* Below the size put_set stores as deltas, a changed run that changed
 * nothing is folded as any other: the same parity and counts. */
static void test_small_changed_run_that_changed_nothing_keeps_the_snapshot(void **state)
{
    pf_fx *f = *state;
    const pf_art v1[] = { ARTS[0], ARTS[1], ARTS[2] };
    pf_run full = { .feature = "f", .arts = v1, .n_arts = 3 };
    pf_run none = { .feature = "f", .emit_mode = "changed" };
    assert_int_equal(pf_scan(f->log, &full, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *a = latest(f->log, "f", 1);
    assert_int_equal(pf_scan(f->log, &none, NULL), 0);
    pf_catch_up(f->log);
    dsr_snapshot_info *b = latest(f->log, "f", 1);
    assert_string_not_equal(a->snapshot_id, b->snapshot_id);
    assert_string_equal(a->parity_hash_sha256, b->parity_hash_sha256);
    assert_int_equal(a->counts.total, b->counts.total);
    assert_int_equal(b->n_artifacts, 3);
    assert_string_equal(b->completeness_status, "unknown");
    dsr_snapshot_info_free(a);
    dsr_snapshot_info_free(b);
}

/* Sets too big for the set cache (more than a quarter of its 64 MB): the
 * changed-mode fold takes the decoded base as its own, drift compares sets
 * it decoded itself, a delta is read through an uncached base. */
enum { HUGE_N = 110000 };

static void test_sets_too_big_for_the_cache(void **state)
{
    pf_fx *f = *state;
    char (*paths)[112] = malloc(HUGE_N * sizeof *paths);
    char (*keys)[120] = malloc(HUGE_N * sizeof *keys);
    char (*texts)[24] = malloc(HUGE_N * sizeof *texts);
    pf_art *arts = malloc(HUGE_N * sizeof *arts);
    assert_true(paths && keys && texts && arts);
    for (int i = 0; i < HUGE_N; i++) {
        snprintf(paths[i], sizeof paths[i], "dir/%090d/f%06d.md", 0, i);
        snprintf(keys[i], sizeof keys[i], "path:%s", paths[i]);
        snprintf(texts[i], sizeof texts[i], "content %d\n", i);
        arts[i] = (pf_art){ keys[i], paths[i], "input", texts[i], 0 };
    }
    pf_run full = { .feature = "huge", .mission_type = "software-dev", .arts = arts,
                    .n_arts = HUGE_N };
    assert_int_equal(pf_scan(f->log, &full, NULL), 0);
    pf_catch_up(f->log);
    assert_int_equal(pf_accept_baseline(f->log, "huge", NULL, NULL), 0);

    const pf_art edited = { keys[5], paths[5], "input", "edited\n", 0 };
    const pf_art gone = { keys[7], paths[7], "input", "", 0 };
    pf_run chg = { .feature = "huge", .mission_type = "software-dev", .emit_mode = "changed",
                   .arts = &edited, .n_arts = 1, .removed = &gone, .n_removed = 1 };
    assert_int_equal(pf_scan(f->log, &chg, NULL), 0);
    pf_catch_up(f->log);

    dsr_snapshot_info *snap = latest(f->log, "huge", 1);
    assert_int_equal(snap->n_artifacts, HUGE_N - 1);
    char h[65];
    pf_sha256_hex("edited\n", h);
    assert_string_equal(snap->artifacts[5].relative_path, paths[5]);
    assert_string_equal(snap->artifacts[5].sha256, h);
    assert_string_equal(snap->artifacts[7].relative_path, paths[8]);   /* 7 is gone */
    dsr_snapshot_info_free(snap);

    dsr_drift_info *dr = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_replay_drift_get(f->log, "huge", &dr, &err), 0);
    assert_int_equal(dr->n_changed, 1);
    assert_string_equal(dr->changed[0].relative_path, paths[5]);
    assert_int_equal(dr->n_vanished, 1);
    assert_string_equal(dr->vanished[0].relative_path, paths[7]);
    assert_int_equal(dr->n_added, 0);
    dsr_drift_info_free(dr);
    free(paths);
    free(keys);
    free(texts);
    free(arts);
}

/* A stored artifact event whose content hash is not 64 hex digits (the
 * emitter never writes one; a damaged or foreign log might hold it) stops
 * the fold with an error naming the event, and nothing is applied. */
static void test_stored_event_with_a_bad_hash_is_refused(void **state)
{
    pf_fx *f = *state;
    static const char text[] =
        "{\"event_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFGH\","
        "\"event_type\":\"mission_dossier_artifact_indexed\",\"aggregate_id\":\"feature/f\","
        "\"timestamp\":\"2026-01-31T12:00:00Z\",\"node_id\":\"01JCZZZZZZZZZZZZZZZZZZZZZZ\","
        "\"lamport_clock\":1,\"project_uuid\":\"550e8400-e29b-41d4-a716-446655440000\","
        "\"correlation_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFG0\",\"causation_id\":null,"
        "\"schema_version\":\"1.0.0\",\"payload\":{\"feature_slug\":\"f\",\"artifact_key\":\"a\","
        "\"artifact_class\":\"input\",\"relative_path\":\"a.md\",\"content_hash_sha256\":"
        "\"not-a-hash\",\"size_bytes\":1,\"wp_id\":null,\"step_id\":null,"
        "\"required_status\":\"optional\"}}";
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, strlen(text), &sb, &u);
    dsr_log_batch *b = NULL;
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_batch_begin(f->log, &b, &err), 0);
    assert_int_equal(dsr_log_batch_append(b, "01JD3Q8Z5M6W7X8Y9A0BCDEFGH", sb.data, sb.size,
                                          NULL, NULL, &err), 0);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    assert_int_equal(dsr_replay_catch_up(f->log, NULL, &err), DSR_ECORRUPT);
    assert_non_null(strstr(err.msg, "01JD3Q8Z5M6W7X8Y9A0BCDEFGH"));
    assert_non_null(strstr(err.msg, "content_hash_sha256"));
    uint64_t ckpt = 1;
    assert_int_equal(dsr_replay_checkpoint(f->log, "snapshot", &ckpt, &err), 0);
    assert_int_equal(ckpt, 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parity_hash_is_sha256_of_sorted_concatenated_hashes,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_parity_of_empty_set_is_sha256_of_empty_string,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_counts_and_incomplete_when_required_missing,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(
            test_complete_when_no_required_missing_and_unknown_without_manifest, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_one_snapshot_event_per_completed_scan, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_crashed_run_without_scan_completed_yields_no_snapshot,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_interleaved_runs_fold_per_correlation_id, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_changed_mode_gives_same_set_and_parity_as_full_mode,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_changed_mode_run_reported_missing_drops_the_key,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_ids_and_derived_event_are_deterministic,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_run_split_across_catch_ups_keeps_pending_entries,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_rescan_equal_to_the_base_stores_its_empty_delta,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_large_sets_stored_as_deltas_read_back_whole,
                                        pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_sets_too_big_for_the_cache, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(
            test_changed_run_that_changed_nothing_equals_the_folded_snapshot, pf_setup,
            pf_teardown),
        cmocka_unit_test_setup_teardown(
            test_small_changed_run_that_changed_nothing_keeps_the_snapshot, pf_setup,
            pf_teardown),
        cmocka_unit_test_setup_teardown(test_stored_event_with_a_bad_hash_is_refused, pf_setup,
                                        pf_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_lookup_by_id_checks_feature, pf_setup,
                                        pf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_scan.c - dsr_scan end to end on generated trees: manifest matching
 * (keys, classes, step ids, wp ids, absent required artifacts), sorted and
 * --jobs-independent output, skip rules (hidden entries, the .dossier log,
 * FIFOs, sockets, symlinks out of the root, symlink loops, dangling links),
 * symlinks inside the root, invalid UTF-8, files that vanish between listing
 * and reading (through the on_listed hook), and option errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dossier/scan.h"
#include "test_tmp.h"

static const char MANIFEST[] =
    "mission_type: t\n"
    "required_always:\n"
    "  - {artifact_key: input.spec, artifact_class: input, path_pattern: spec.md, blocking: true}\n"
    "  - {artifact_key: policy.charter, artifact_class: policy, path_pattern: charter.md}\n"
    "required_by_step:\n"
    "  plan:\n"
    "    - {artifact_key: output.plan, artifact_class: output, path_pattern: plan.md, blocking: true}\n"
    "  implement:\n"
    "    - {artifact_key: wf.wp, artifact_class: workflow, path_pattern: \"tasks/WP*.md\"}\n"
    "optional_always:\n"
    "  - {artifact_key: ev.research, artifact_class: evidence, path_pattern: research.md}\n"
    "  - {artifact_key: ev.quick, artifact_class: evidence, path_pattern: quickstart.md}\n";

typedef struct fixture {
    char          root[64];
    char          outside[64];
    dsr_manifest *m;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->root, "/tmp/dossier-scan-XXXXXX");
    strcpy(f->outside, "/tmp/dossier-out-XXXXXX");
    if (!mkdtemp(f->root) || !mkdtemp(f->outside))
        return -1;
    dsr_err err;
    if (dsr_manifest_parse(MANIFEST, strlen(MANIFEST), "m.yaml", &f->m, &err))
        return -1;
    tt_put(f->root, "spec.md", "# spec\n");
    tt_put(f->root, "plan.md", "# plan\n");
    tt_put(f->root, "research.md", "notes\n");
    tt_put(f->root, "tasks/WP01-walk.md", "wp1\n");
    tt_put(f->root, "tasks/WP02-hash.md", "wp2\n");
    tt_put(f->root, "evidence/run-1/out.log", "log\n");
    tt_put(f->root, "a-b.txt", "sorts before a/\n");
    tt_put(f->root, "a/z.txt", "z\n");
    tt_put(f->root, ".hidden.md", "never\n");
    tt_put(f->root, ".dossier/LOG", "never\n");
    tt_put(f->root, "sub/.git/config", "never\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", f->root, f->outside);
    int rc = system(cmd);
    dsr_manifest_free(f->m);
    free(f);
    return rc == 0 ? 0 : -1;
}

static dsr_scan_result *scan_ok(const char *root, const dsr_manifest *m, const char *step,
                                unsigned jobs)
{
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = root, .manifest = m, .step_id = step, .jobs = jobs };
    dsr_scan_result *r = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    int rc = dsr_scan(&o, &r, &err);
    if (rc)
        print_error("scan failed: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(r);
    return r;
}

static const dsr_artifact *find(const dsr_scan_result *r, const char *rel)
{
    for (size_t i = 0; i < r->n_artifacts; i++)
        if (!strcmp(r->artifacts[i].relative_path, rel))
            return &r->artifacts[i];
    return NULL;
}

static int has_warning(const dsr_scan_result *r, const char *rel, const char *what)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (!strcmp(r->warnings[i].path, rel) && strstr(r->warnings[i].message, what))
            return 1;
    return 0;
}

static void test_manifest_matching_keys_classes_and_absent_required(void **state)
{
    fixture *f = *state;
    dsr_scan_result *r = scan_ok(f->root, f->m, NULL, 2);
    assert_true(r->has_manifest);
    const char *base = strrchr(f->root, '/') + 1;
    assert_string_equal(r->feature_slug, base);

    const dsr_artifact *a = find(r, "spec.md");
    assert_non_null(a);
    assert_string_equal(a->artifact_key, "input.spec");
    assert_string_equal(a->artifact_class, "input");
    assert_true(a->required && a->present && a->blocking);
    assert_null(a->step_id);
    assert_int_equal(a->size_bytes, 7);
    assert_int_equal(strlen(a->sha256), 64);
    assert_true(a->xxh3_high || a->xxh3_low);
    assert_true(a->ino != 0 && a->mtime_ns > 0);

    a = find(r, "plan.md");                       /* step entry, step not selected */
    assert_string_equal(a->artifact_key, "output.plan");
    assert_string_equal(a->step_id, "plan");
    assert_false(a->required);

    a = find(r, "tasks/WP02-hash.md");             /* wildcard entry: key + path */
    assert_string_equal(a->artifact_key, "wf.wp:tasks/WP02-hash.md");
    assert_string_equal(a->wp_id, "WP02");
    assert_string_equal(a->artifact_class, "workflow");

    a = find(r, "evidence/run-1/out.log");         /* no entry: derived key + class */
    assert_string_equal(a->artifact_key, "path:evidence/run-1/out.log");
    assert_string_equal(a->artifact_class, "evidence");
    assert_null(a->path_pattern);
    assert_null(a->wp_id);
    assert_false(a->required);

    a = find(r, "charter.md");                     /* required and absent */
    assert_non_null(a);
    assert_string_equal(a->artifact_key, "policy.charter");
    assert_false(a->present);
    assert_true(a->required);
    assert_int_equal(a->reason, DSR_REASON_NOT_FOUND);
    assert_string_equal(dsr_reason_name(a->reason), "not_found");
    assert_string_equal(a->sha256, "");

    assert_null(find(r, ".hidden.md"));
    assert_null(find(r, ".dossier/LOG"));
    assert_null(find(r, "sub/.git/config"));

    /* 9 files + 1 absent required */
    assert_int_equal(r->n_artifacts, 9);
    assert_int_equal(r->n_required, 2);
    assert_int_equal(r->n_required_present, 1);
    assert_int_equal(r->n_required_missing, 1);
    assert_int_equal(r->n_optional_absent, 1);       /* quickstart.md */
    assert_int_equal(r->n_present, 8);
    assert_string_equal(dsr_scan_completeness(r), "incomplete");
    for (size_t i = 1; i < r->n_artifacts; i++)
        assert_true(strcmp(r->artifacts[i - 1].relative_path, r->artifacts[i].relative_path) < 0);
    assert_string_equal(r->artifacts[0].relative_path, "a-b.txt");   /* byte order: '-' < '/' */
    dsr_scan_result_free(r);
}

static void test_step_selects_its_entries(void **state)
{
    fixture *f = *state;
    tt_put(f->root, "charter.md", "c\n");
    dsr_scan_result *r = scan_ok(f->root, f->m, "implement", 1);
    const dsr_artifact *a = find(r, "tasks/WP01-walk.md");
    assert_true(a->required);
    assert_string_equal(a->step_id, "implement");
    assert_false(find(r, "plan.md")->required);
    assert_int_equal(r->n_required, 4);
    assert_int_equal(r->n_required_missing, 0);
    assert_string_equal(dsr_scan_completeness(r), "complete");
    dsr_scan_result_free(r);

    unlink(strcat(strcpy((char[128]){0}, f->root), "/plan.md"));
    r = scan_ok(f->root, f->m, "plan", 1);
    a = find(r, "plan.md");                        /* ghost with the pattern as path */
    assert_false(a->present);
    assert_string_equal(a->step_id, "plan");
    assert_int_equal(r->n_required_missing, 1);
    dsr_scan_result_free(r);
}

static void test_no_manifest_means_unknown_and_nothing_required(void **state)
{
    fixture *f = *state;
    dsr_scan_result *r = scan_ok(f->root, NULL, NULL, 3);
    assert_false(r->has_manifest);
    assert_string_equal(dsr_scan_completeness(r), "unknown");
    assert_int_equal(r->n_required, 0);
    assert_int_equal(r->n_artifacts, 8);
    assert_string_equal(find(r, "spec.md")->artifact_key, "path:spec.md");
    assert_string_equal(find(r, "tasks/WP01-walk.md")->wp_id, "WP01");
    dsr_scan_result_free(r);
}

static void assert_same_result(const dsr_scan_result *a, const dsr_scan_result *b)
{
    assert_int_equal(a->n_artifacts, b->n_artifacts);
    assert_int_equal(a->n_warnings, b->n_warnings);
    assert_int_equal(a->bytes_hashed, b->bytes_hashed);
    for (size_t i = 0; i < a->n_artifacts; i++) {
        const dsr_artifact *x = &a->artifacts[i], *y = &b->artifacts[i];
        assert_string_equal(x->relative_path, y->relative_path);
        assert_string_equal(x->artifact_key, y->artifact_key);
        assert_string_equal(x->artifact_class, y->artifact_class);
        assert_string_equal(x->sha256, y->sha256);
        assert_true(x->xxh3_high == y->xxh3_high && x->xxh3_low == y->xxh3_low);
        assert_int_equal(x->present, y->present);
        assert_int_equal(x->reason, y->reason);
    }
    for (size_t i = 0; i < a->n_warnings; i++) {
        assert_string_equal(a->warnings[i].path, b->warnings[i].path);
        assert_string_equal(a->warnings[i].message, b->warnings[i].message);
    }
}

static void test_result_does_not_depend_on_jobs(void **state)
{
    fixture *f = *state;
    char rel[64];
    for (int i = 0; i < 300; i++) {            /* several batches */
        snprintf(rel, sizeof rel, "bulk/d%02d/f%03d.txt", i % 17, i);
        tt_put(f->root, rel, rel);
    }
    assert_int_equal(mkfifo(strcat(strcpy((char[128]){0}, f->root), "/bulk/pipe"), 0644), 0);
    dsr_scan_result *one = scan_ok(f->root, f->m, NULL, 1);
    dsr_scan_result *eight = scan_ok(f->root, f->m, NULL, 8);
    assert_same_result(one, eight);
    assert_int_equal(one->n_warnings, 1);
    dsr_scan_result_free(one);
    dsr_scan_result_free(eight);
}

static void test_special_files_and_links_out_of_root_are_skipped_with_warnings(void **state)
{
    fixture *f = *state;
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/pipe", f->root);
    assert_int_equal(mkfifo(p, 0644), 0);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", f->root);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    close(s);
    tt_put(f->outside, "secret.md", "outside\n");
    snprintf(p, sizeof p, "%s/secret.md", f->outside);
    snprintf(q, sizeof q, "%s/escape.md", f->root);
    assert_int_equal(symlink(p, q), 0);
    snprintf(q, sizeof q, "%s/escape-rel", f->root);
    assert_int_equal(symlink("../", q), 0);
    snprintf(q, sizeof q, "%s/loop-a", f->root);
    assert_int_equal(symlink("loop-b", q), 0);
    snprintf(q, sizeof q, "%s/loop-b", f->root);
    assert_int_equal(symlink("loop-a", q), 0);
    snprintf(q, sizeof q, "%s/a/up", f->root);
    assert_int_equal(symlink("..", q), 0);      /* directory loop back to the root */
    snprintf(q, sizeof q, "%s/dangling", f->root);
    assert_int_equal(symlink("nowhere", q), 0);
    snprintf(q, sizeof q, "%s/to-hidden", f->root);
    assert_int_equal(symlink(".dossier/LOG", q), 0);

    dsr_scan_result *r = scan_ok(f->root, NULL, NULL, 2);
    assert_true(has_warning(r, "pipe", "FIFO"));
    assert_true(has_warning(r, "sock", "socket"));
    assert_true(has_warning(r, "escape.md", "outside the mission root"));
    assert_true(has_warning(r, "escape-rel", "outside the mission root"));
    assert_true(has_warning(r, "loop-a", "symlink loop"));
    assert_true(has_warning(r, "loop-b", "symlink loop"));
    assert_true(has_warning(r, "a/up", "symlink loop"));
    assert_true(has_warning(r, "dangling", "dangling"));
    assert_true(has_warning(r, "to-hidden", "hidden"));
    assert_int_equal(r->n_warnings, 9);
    for (size_t i = 1; i < r->n_warnings; i++)
        assert_true(strcmp(r->warnings[i - 1].path, r->warnings[i].path) <= 0);
    assert_null(find(r, "escape.md"));
    assert_int_equal(r->n_artifacts, 8);
    dsr_scan_result_free(r);
}

static void test_symlinks_inside_the_root_are_followed(void **state)
{
    fixture *f = *state;
    char q[256];
    snprintf(q, sizeof q, "%s/spec-link.md", f->root);
    assert_int_equal(symlink("spec.md", q), 0);
    snprintf(q, sizeof q, "%s/latest", f->root);
    assert_int_equal(symlink("evidence/run-1", q), 0);
    dsr_scan_result *r = scan_ok(f->root, NULL, NULL, 2);
    const dsr_artifact *l = find(r, "spec-link.md"), *s = find(r, "spec.md");
    assert_non_null(l);
    assert_true(l->present);
    assert_string_equal(l->sha256, s->sha256);
    assert_true(l->ino == s->ino);
    const dsr_artifact *d = find(r, "latest/out.log");
    assert_non_null(d);
    assert_string_equal(d->sha256, find(r, "evidence/run-1/out.log")->sha256);
    assert_int_equal(r->n_warnings, 0);
    dsr_scan_result_free(r);
}

static void test_invalid_utf8_text_is_invalid_format_but_hashed(void **state)
{
    fixture *f = *state;
    tt_put(f->root, "bad.md", "ok \xff\xfe not utf-8\n");
    tt_put(f->root, "bin.dat", "\xff\xfe binary is fine\n");
    tt_put(f->root, "charter.md", "\xc0\xaf");     /* required and overlong */
    dsr_scan_result *r = scan_ok(f->root, f->m, NULL, 2);
    const dsr_artifact *a = find(r, "bad.md");
    assert_false(a->present);
    assert_int_equal(a->reason, DSR_REASON_INVALID_FORMAT);
    assert_string_equal(dsr_reason_name(a->reason), "invalid_format");
    assert_non_null(strstr(a->reason_detail, "offset 3"));
    assert_int_equal(strlen(a->sha256), 64);
    assert_true(find(r, "bin.dat")->present);
    a = find(r, "charter.md");
    assert_true(a->required);
    assert_false(a->present);
    assert_int_equal(r->n_required_missing, 1);    /* unusable counts as missing */
    assert_string_equal(dsr_scan_completeness(r), "incomplete");
    dsr_scan_result_free(r);
}

/* dsr_scan_result_drop_present keeps exactly the absent and unusable
 * artifacts, in order, with all their strings (they are copied out of the
 * arena that goes), and every count. */
static void test_drop_present_keeps_the_rest_whole(void **state)
{
    fixture *f = *state;
    tt_put(f->root, "bad.md", "ok \xff\xfe not utf-8\n");
    tt_put(f->root, "charter.md", "\xc0\xaf");            /* required and unusable */
    char spec[128];
    snprintf(spec, sizeof spec, "%s/spec.md", f->root);
    assert_int_equal(unlink(spec), 0);                  /* required and absent */
    dsr_scan_result *r = scan_ok(f->root, f->m, "implement", 2);
    dsr_scan_result before = *r;
    char want[16][5][128];
    size_t n_want = 0;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (a->present)
            continue;
        assert_true(n_want < 16);
        const char *v[5] = { a->artifact_key, a->relative_path, a->reason_detail,
                             a->path_pattern, a->step_id };
        for (int k = 0; k < 5; k++)
            snprintf(want[n_want][k], 128, "%s", v[k] ? v[k] : "(null)");
        n_want++;
    }
    assert_int_equal(n_want, 3);   /* bad.md, charter.md, spec.md */
    assert_true(r->n_present > 0);
    dsr_scan_result_drop_present(r);
    assert_int_equal(r->n_artifacts, n_want);
    for (size_t i = 0; i < n_want; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        const char *v[5] = { a->artifact_key, a->relative_path, a->reason_detail,
                             a->path_pattern, a->step_id };
        assert_false(a->present);
        for (int k = 0; k < 5; k++)
            assert_string_equal(v[k] ? v[k] : "(null)", want[i][k]);
    }
    assert_int_equal(r->n_present, before.n_present);
    assert_int_equal(r->n_required_missing, before.n_required_missing);
    assert_int_equal(r->bytes_hashed, before.bytes_hashed);
    dsr_scan_result_free(r);
}

typedef struct vanish {
    const char *root;
    const char *victim;
    int         seen;
} vanish;

static void unlink_on_listed(void *ctx, const char *rel)
{
    vanish *v = ctx;
    if (strcmp(rel, v->victim) != 0)
        return;
    char p[256];
    snprintf(p, sizeof p, "%s/%s", v->root, rel);
    v->seen = unlink(p) == 0;
}

static void test_file_removed_after_listing_is_deleted_after_scan(void **state)
{
    fixture *f = *state;
    vanish v = { f->root, "spec.md", 0 };
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = f->root, .manifest = f->m, .jobs = 2,
                        .on_listed = unlink_on_listed, .on_listed_ctx = &v };
    dsr_scan_result *r = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan(&o, &r, &err), 0);
    assert_true(v.seen);
    const dsr_artifact *a = find(r, "spec.md");
    assert_non_null(a);
    assert_false(a->present);
    assert_int_equal(a->reason, DSR_REASON_DELETED_AFTER_SCAN);
    assert_string_equal(dsr_reason_name(a->reason), "deleted_after_scan");
    assert_true(a->required);
    assert_string_equal(a->sha256, "");
    assert_int_equal(r->n_required_missing, 2);      /* spec.md gone, charter.md absent */
    dsr_scan_result_free(r);
}

static void test_bad_options_are_refused(void **state)
{
    fixture *f = *state;
    dsr_scan_result *r = NULL;
    dsr_err err;
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = f->root, .manifest = f->m, .step_id = "nope" };
    assert_int_equal(dsr_scan(&o, &r, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "unknown step 'nope'"));
    assert_non_null(strstr(err.msg, "plan, implement"));
    o = (dsr_scan_opts){ .version = DSR_SCAN_OPTS_VERSION, .root = f->root, .step_id = "plan" };
    assert_int_equal(dsr_scan(&o, &r, &err), DSR_EINVAL);
    o = (dsr_scan_opts){ .version = DSR_SCAN_OPTS_VERSION, .root = "/nonexistent/dossier/root" };
    assert_int_equal(dsr_scan(&o, &r, &err), DSR_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dossier/root"));
    assert_null(r);
    o = (dsr_scan_opts){ .version = DSR_SCAN_OPTS_VERSION, .root = f->root, .feature_slug = "custom-slug" };
    assert_int_equal(dsr_scan(&o, &r, &err), 0);
    assert_string_equal(r->feature_slug, "custom-slug");
    dsr_scan_result_free(r);
    /* Options not made with DSR_SCAN_OPTS_INIT, or from a newer header. */
    o = (dsr_scan_opts){ .root = f->root };
    assert_int_equal(dsr_scan(&o, &r, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_SCAN_OPTS_INIT"));
    assert_null(r);
    o = (dsr_scan_opts)DSR_SCAN_OPTS_INIT;
    o.version = DSR_SCAN_OPTS_VERSION + 1;
    o.root = f->root;
    char *slug = NULL;
    assert_int_equal(dsr_scan_feature_slug(&o, &slug, &err), DSR_EINVAL);
    assert_null(slug);
}

/* A file of n bytes of printable ASCII from seed (valid UTF-8 as text). */
static void put_sized(const char *root, const char *rel, size_t n, unsigned seed)
{
    char *text = malloc(n + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        text[i] = (char)('a' + (seed >> 16) % 26);
    }
    text[n] = '\0';
    tt_put(root, rel, text);
    free(text);
}

static dsr_scan_result *scan_opts_ok(const dsr_scan_opts *o)
{
    dsr_scan_result *r = NULL;
    dsr_err err;
    dsr_err_clear(&err);
    int rc = dsr_scan(o, &r, &err);
    if (rc)
        print_error("scan failed: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return r;
}

/* Large files are shared between workers (a worker out of claims takes the
 * ones another has not reached): every file is still hashed exactly once,
 * as with one worker, for 7, 9 and 8 large files among small ones. */
static void test_large_files_shared_between_workers_hash_as_with_one(void **state)
{
    fixture *f = *state;
    char rel[64];
    for (int i = 0; i < 9; i++) {
        snprintf(rel, sizeof rel, "big/b%d.txt", i);
        put_sized(f->root, rel, (size_t)300000 + (size_t)i * 70000, (unsigned)i);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(rel, sizeof rel, "big/s%02d.txt", i);
        put_sized(f->root, rel, 100 + (size_t)i, 100u + (unsigned)i);
    }
    dsr_scan_result *one = scan_ok(f->root, NULL, NULL, 1);
    for (unsigned jobs = 2; jobs <= 3; jobs++) {
        dsr_scan_result *r = scan_ok(f->root, NULL, NULL, jobs);
        assert_same_result(one, r);
        dsr_scan_result_free(r);
    }
    for (int i = 0; i < 9; i++) {
        snprintf(rel, sizeof rel, "big/b%d.txt", i);
        const dsr_artifact *a = find(one, rel);
        assert_non_null(a);
        assert_true(a->present);
        assert_int_equal(a->size_bytes, 300000 + i * 70000);
    }
    dsr_scan_result_free(one);
}

/* no_xxh3: the same SHA-256, UTF-8 verdicts and sizes, no fingerprint; and
 * it is refused with a cache, which compares fingerprints. */
static int no_cache(void *ctx, const char *rel, dsr_scan_cached *out)
{
    (void)ctx;
    (void)rel;
    (void)out;
    return 0;
}

static void test_no_xxh3_keeps_every_sha256_and_drops_the_fingerprint(void **state)
{
    fixture *f = *state;
    put_sized(f->root, "big/one-block.txt", 1000, 1);
    put_sized(f->root, "big/alone.txt", 100000, 2);
    put_sized(f->root, "big/streamed.txt", 3 * 262144 + 17, 3);
    tt_put(f->root, "big/bad.md", "\xff\xfe not UTF-8\n");
    dsr_scan_opts o = { .version = DSR_SCAN_OPTS_VERSION, .root = f->root, .manifest = f->m,
                        .jobs = 2 };
    dsr_scan_result *with = scan_opts_ok(&o);
    o.no_xxh3 = 1;
    dsr_scan_result *without = scan_opts_ok(&o);
    assert_int_equal(with->n_artifacts, without->n_artifacts);
    size_t fingerprints = 0;
    for (size_t i = 0; i < with->n_artifacts; i++) {
        const dsr_artifact *x = &with->artifacts[i], *y = &without->artifacts[i];
        assert_string_equal(x->relative_path, y->relative_path);
        assert_string_equal(x->sha256, y->sha256);
        assert_int_equal(x->size_bytes, y->size_bytes);
        assert_int_equal(x->present, y->present);
        assert_int_equal(x->reason, y->reason);
        assert_true(y->xxh3_high == 0 && y->xxh3_low == 0);
        fingerprints += x->sha256[0] && (x->xxh3_high || x->xxh3_low);
    }
    assert_true(fingerprints >= 4);
    assert_int_equal(find(without, "big/bad.md")->reason, DSR_REASON_INVALID_FORMAT);
    dsr_scan_result_free(with);
    dsr_scan_result_free(without);
    o.cache_lookup = no_cache;
    dsr_scan_result *r = NULL;
    dsr_err err;
    assert_int_equal(dsr_scan(&o, &r, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "no_xxh3"));
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_manifest_matching_keys_classes_and_absent_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_selects_its_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_manifest_means_unknown_and_nothing_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_does_not_depend_on_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_files_and_links_out_of_root_are_skipped_with_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_inside_the_root_are_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_text_is_invalid_format_but_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_removed_after_listing_is_deleted_after_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_present_keeps_the_rest_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_files_shared_between_workers_hash_as_with_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_xxh3_keeps_every_sha256_and_drops_the_fingerprint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_deliver_state.c - the delivery state store in <logdir>/delivery: its
 * lock (a second writer, in another process, gets "locked by another
 * process"; readers never wait), entry round trips and range deletes,
 * endpoint administration through the public API (names, redaction, no
 * secret stored), and that the event log in the same folder still opens and
 * keeps its events with the delivery subdirectory inside it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deliver.h"
#include "dossier/emit.h"
#include "dossier/log.h"
#include "test_tmp.h"

static dstate *open_state(const char *dir, unsigned flags)
{
    dstate *st = NULL;
    dsr_err err = {0};
    if (dstate_open(&st, dir, flags, &err))
        fail_msg("open state in %s: %s", dir, err.msg);
    return st;
}

static void test_second_writer_process_gets_locked_error(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dstate");
    /* Fork before this process opens anything, so the child does not
     * inherit RocksDB's threads or locks; a pipe says when the parent holds
     * the state. */
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        dstate *other = NULL;
        dsr_err err = {0};
        int rc = dstate_open(&other, dir, 0, &err);
        int ok = rc == DSR_ELOCKED && strstr(err.msg, "locked by another process");
        /* A reader is not blocked by the writer. */
        dstate *ro = NULL;
        int rrc = dstate_open(&ro, dir, DSTATE_RDONLY, &err);
        dstate_close(ro);
        _exit(ok && rrc == 0 ? 0 : 1);
    }
    close(go[0]);
    dstate *st = open_state(dir, 0);
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    dstate_close(st);
    /* Once the writer is gone the lock is free again. */
    st = open_state(dir, 0);
    dstate_close(st);
    tt_rm_rf(dir);
}

static void test_missing_state_is_notfound_for_readers_and_nocreate(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dstate");
    dstate *st = NULL;
    dsr_err err = {0};
    assert_int_equal(dstate_open(&st, dir, DSTATE_RDONLY, &err), DSR_ENOTFOUND);
    assert_int_equal(dstate_open(&st, dir, DSTATE_NOCREATE, &err), DSR_ENOTFOUND);
    struct stat sb;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/delivery", dir);
    assert_int_not_equal(stat(sub, &sb), 0);   /* nothing was created */
    tt_rm_rf(dir);
}

typedef struct seen {
    uint64_t seq[16];
    unsigned attempts[16];
    char     feature[16][32];
    char     reason[16][64];
    size_t   n;
} seen;

static int collect(void *ctx, const dentry *e, dsr_err *err)
{
    (void)err;
    seen *s = ctx;
    assert_true(s->n < 16);
    s->seq[s->n] = e->seq;
    s->attempts[s->n] = e->attempts;
    snprintf(s->feature[s->n], 32, "%s", e->feature);
    snprintf(s->reason[s->n], 64, "%s", e->reason);
    s->n++;
    return 0;
}

static void put(dbatch *b, int kind, const char *ep, uint64_t seq, unsigned attempts)
{
    dentry e;
    memset(&e, 0, sizeof e);
    e.seq = seq;
    memcpy(e.event_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 27);
    e.feature = "042-feature";
    e.attempts = attempts;
    e.first_ms = 1000;
    e.next_ms = 2000;
    e.last_status = 503;
    e.reason = "server error (5xx)";
    assert_int_equal(dbatch_put_entry(b, kind, ep, &e), 0);
}

static void test_entries_round_trip_in_sequence_order_per_endpoint(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dstate");
    dstate *st = open_state(dir, 0);
    dsr_err err = {0};
    dbatch *b = dbatch_new(st);
    assert_non_null(b);
    put(b, DK_PENDING, "a", 300, 2);
    put(b, DK_PENDING, "a", 7, 1);
    put(b, DK_PENDING, "ab", 5, 9);      /* a name that extends "a" */
    put(b, DK_DEAD, "a", 8, 8);
    put(b, DK_DONE, "a", 9, 0);
    dcursor c = { 42, 17 };
    assert_int_equal(dbatch_put_cursor(b, "a", &c), 0);
    assert_int_equal(dbatch_commit(b, &err), 0);

    seen s = {0};
    assert_int_equal(dstate_scan(st, DK_PENDING, "a", 0, collect, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 7);
    assert_int_equal(s.seq[1], 300);
    assert_int_equal(s.attempts[1], 2);
    assert_string_equal(s.feature[0], "042-feature");
    assert_string_equal(s.reason[0], "server error (5xx)");
    memset(&s, 0, sizeof s);
    assert_int_equal(dstate_scan(st, DK_PENDING, "a", 8, collect, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.seq[0], 300);
    memset(&s, 0, sizeof s);
    assert_int_equal(dstate_scan(st, DK_PENDING, "ab", 0, collect, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.attempts[0], 9);

    dcursor got;
    assert_int_equal(dstate_get_cursor(st, "a", &got, &err), 0);
    assert_int_equal(got.high, 42);
    assert_int_equal(got.delivered, 17);
    assert_int_equal(dstate_get_cursor(st, "zz", &got, &err), 0);
    assert_int_equal(got.high, 0);

    /* A reader opened now sees every committed batch. */
    dstate *ro = open_state(dir, DSTATE_RDONLY);
    memset(&s, 0, sizeof s);
    assert_int_equal(dstate_scan(ro, DK_DEAD, "a", 0, collect, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.seq[0], 8);
    dbatch *rb = dbatch_new(ro);
    put(rb, DK_DONE, "a", 1, 0);
    assert_int_equal(dbatch_commit(rb, &err), DSR_EINVAL);   /* readers cannot write */
    dstate_close(ro);
    dstate_close(st);
    tt_rm_rf(dir);
}

static void test_range_delete_removes_only_the_range(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dstate");
    dstate *st = open_state(dir, 0);
    dsr_err err = {0};
    dbatch *b = dbatch_new(st);
    for (uint64_t q = 1; q <= 10; q++)
        put(b, DK_DONE, "e", q, 0);
    put(b, DK_DONE, "f", 5, 0);
    /* Puts and a later range delete in one batch: the delete wins. */
    assert_int_equal(dbatch_del_range(b, DK_DONE, "e", 3, 8), 0);
    assert_int_equal(dbatch_commit(b, &err), 0);
    seen s = {0};
    assert_int_equal(dstate_scan(st, DK_DONE, "e", 0, collect, &s, &err), 0);
    uint64_t want[] = { 1, 2, 8, 9, 10 };
    assert_int_equal(s.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s.seq[i], want[i]);
    memset(&s, 0, sizeof s);
    assert_int_equal(dstate_scan(st, DK_DONE, "f", 0, collect, &s, &err), 0);
    assert_int_equal(s.n, 1);
    dstate_close(st);
    tt_rm_rf(dir);
}

static void test_endpoint_add_list_enable_remove(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dstate");
    char secret[600];
    snprintf(secret, sizeof secret, "%s/secret", dir);
    FILE *f = fopen(secret, "w");
    assert_non_null(f);
    fputs("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", f);
    fclose(f);
    dsr_err err = {0};
    const char *types[] = { "MissionDossierArtifactIndexed" };
    const char *features[] = { "042-feature" };
    dsr_endpoint_config cfg = { DSR_ENDPOINT_CONFIG_VERSION, "hooks",
                                "https://user:pw@example.test/hook?x=1", secret, 1,
                                features, 1, types, 1, DSR_PROFILE_WP04 };
    assert_int_equal(dsr_endpoint_add(dir, &cfg, &err), 0);
    assert_int_equal(dsr_endpoint_add(dir, &cfg, &err), DSR_EINVAL);   /* exists */
    assert_non_null(strstr(err.msg, "already exists"));
    dsr_endpoint_config bad = cfg;
    bad.version = 0;      /* not made with DSR_ENDPOINT_CONFIG_INIT */
    bad.name = "other";
    assert_int_equal(dsr_endpoint_add(dir, &bad, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_ENDPOINT_CONFIG_INIT"));
    bad.version = DSR_ENDPOINT_CONFIG_VERSION;
    bad.name = "url-abc";
    assert_int_equal(dsr_endpoint_add(dir, &bad, &err), DSR_EINVAL);
    bad.name = "has space";
    assert_int_equal(dsr_endpoint_add(dir, &bad, &err), DSR_EINVAL);
    bad.name = "other";
    bad.url = "ftp://example.test/";
    assert_int_equal(dsr_endpoint_add(dir, &bad, &err), DSR_EINVAL);
    bad.url = "http://example.test/";
    const char *bad_types[] = { "no_such_type" };
    bad.types = bad_types;
    assert_int_equal(dsr_endpoint_add(dir, &bad, &err), DSR_EINVAL);

    dsr_endpoint_info *v = NULL;
    size_t n = 0;
    assert_int_equal(dsr_endpoint_list(dir, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "hooks");
    assert_string_equal(v[0].url, "https://***@example.test/hook?x=***");
    assert_true(v[0].auto_deliver);
    assert_false(v[0].adhoc);
    assert_string_equal(v[0].secret_file, secret);
    assert_int_equal(v[0].n_types, 1);
    assert_string_equal(v[0].types[0], "mission_dossier_artifact_indexed");
    assert_int_equal(v[0].n_features, 1);
    dsr_endpoint_list_free(v, n);

    /* The secret itself is stored nowhere in the state. */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "grep -rq MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw '%s/delivery'", dir);
    assert_int_not_equal(system(cmd), 0);

    assert_int_equal(dsr_endpoint_enable(dir, "hooks", &err), 0);
    assert_int_equal(dsr_endpoint_enable(dir, "nope", &err), DSR_ENOTFOUND);
    assert_int_equal(dsr_endpoint_remove(dir, "nope", &err), DSR_ENOTFOUND);
    assert_int_equal(dsr_endpoint_remove(dir, "hooks", &err), 0);
    assert_int_equal(dsr_endpoint_list(dir, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    dsr_endpoint_list_free(v, n);
    tt_rm_rf(dir);
}

static void test_adhoc_name_depends_on_url_and_filters_not_their_order(void **state)
{
    (void)state;
    char a[DSR_ENDPOINT_NAME_MAX + 1], b[DSR_ENDPOINT_NAME_MAX + 1], c[DSR_ENDPOINT_NAME_MAX + 1];
    const char *f1[] = { "x", "y" }, *f2[] = { "y", "x" };
    const char *t1[] = { "MissionDossierArtifactIndexed" };
    const char *t2[] = { "mission_dossier_artifact_indexed" };
    dsr_endpoint_adhoc_name("http://h/", f1, 2, t1, 1, a);
    dsr_endpoint_adhoc_name("http://h/", f2, 2, t2, 1, b);
    dsr_endpoint_adhoc_name("http://h/", f2, 2, NULL, 0, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 16);
    assert_memory_equal(a, "url-", 4);
    assert_true(endpoint_name_valid(a));
}

static void test_event_log_opens_with_delivery_state_inside_its_folder(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dstate");
    dsr_err err = {0};
    dsr_log *log = NULL;
    assert_int_equal(dsr_log_open(&log, dir, 0, &err), 0);
    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    dsr_artifact_indexed p = {
        .feature_slug = "042-feature", .artifact_key = "spec", .artifact_class = "output",
        .relative_path = "spec.md",
        .content_hash_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        .size_bytes = 1, .wp_id = NULL, .step_id = NULL, .required_status = "required",
    };
    if (dsr_emit_artifact_indexed(b, &p, NULL, NULL, &err))
        fail_msg("emit: %s", err.msg);
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    /* The delivery state is created while the log writer is open... */
    dstate *st = open_state(dir, 0);
    dbatch *db = dbatch_new(st);
    put(db, DK_PENDING, "a", 1, 1);
    assert_int_equal(dbatch_commit(db, &err), 0);
    dsr_log_close(log);
    dstate_close(st);
    /* ...and both reopen afterwards, writer and reader, with their data. */
    log = NULL;
    if (dsr_log_open(&log, dir, DSR_LOG_NOCREATE, &err))
        fail_msg("reopen log: %s", err.msg);
    assert_int_equal(dsr_log_head(log), 1);
    dsr_log_close(log);
    log = NULL;
    if (dsr_log_open(&log, dir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE, &err))
        fail_msg("reopen log read-only: %s", err.msg);
    assert_int_equal(dsr_log_head(log), 1);
    dsr_log_close(log);
    st = open_state(dir, DSTATE_RDONLY);
    seen s = {0};
    assert_int_equal(dstate_scan(st, DK_PENDING, "a", 0, collect, &s, &err), 0);
    assert_int_equal(s.n, 1);
    dstate_close(st);
    tt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_writer_process_gets_locked_error),
        cmocka_unit_test(test_missing_state_is_notfound_for_readers_and_nocreate),
        cmocka_unit_test(test_entries_round_trip_in_sequence_order_per_endpoint),
        cmocka_unit_test(test_range_delete_removes_only_the_range),
        cmocka_unit_test(test_endpoint_add_list_enable_remove),
        cmocka_unit_test(test_adhoc_name_depends_on_url_and_filters_not_their_order),
        cmocka_unit_test(test_event_log_opens_with_delivery_state_inside_its_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

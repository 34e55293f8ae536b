/*
 * test_log_close_tables.c - the close of a large session does not rewrite
 * the tables older large sessions left (eventlog/log_flush.c): seven writer
 * sessions each record a large run (enough events that its close flushes,
 * and that the id family's table is past the close's small-table size);
 * every table of such a size that existed after the fourth session is
 * still there, the same file, after the seventh -- three new tables in
 * level 0 and the older ones below are not "a small family" to merge whole.
 * The events are all there after the closes, and every id is found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dossier/emit.h"
#include "dossier/log.h"
#include "test_tmp.h"

static const char HASH[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

enum {
    SESSIONS = 7,
    PER_SESSION = 40000,   /* its WAL passes the close's flush threshold */
    PER_BATCH = 4000,
};
/* the close rewrites whole only families whose tables average less */
#define LARGE_TABLE (256LL << 10)

/* One large run: PER_SESSION indexed events in batches, then close. */
static void session(const char *dir, int s, char (*last_id)[DSR_ULID_LEN + 1])
{
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = { 0 };
    for (int k = 0; k < PER_SESSION / PER_BATCH; k++) {
        dsr_log_batch *b;
        assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
        for (int i = 0; i < PER_BATCH; i++) {
            int n = (s * PER_SESSION) + k * PER_BATCH + i;
            char key[32], path[48];
            snprintf(key, sizeof key, "k%07d", n);
            snprintf(path, sizeof path, "dir%02d/f%07d.md", n % 97, n);
            dsr_artifact_indexed p = {
                .feature_slug = "large", .artifact_key = key, .artifact_class = "output",
                .relative_path = path, .content_hash_sha256 = HASH, .size_bytes = n,
                .required_status = "optional",
            };
            dsr_emit_result r;
            if (dsr_emit_artifact_indexed(b, &p, NULL, &r, &err))
                fail_msg("session %d: emit: %s", s, err.msg);
            memcpy(*last_id, r.event_id, sizeof *last_id);
        }
        if (dsr_log_batch_commit(b, &err))
            fail_msg("session %d: commit: %s", s, err.msg);
    }
    dsr_log_close(log);
}

/* The large table files (*.sst) in dir; returns how many (at most cap). */
static size_t large_tables(const char *dir, tt_table *out, size_t cap)
{
    tt_table all[256];
    size_t n_all = tt_tables(dir, all, 256), n = 0;
    assert_true(n_all <= 256);
    for (size_t i = 0; i < n_all; i++) {
        if (all[i].size < LARGE_TABLE)
            continue;
        assert_true(n < cap);
        out[n++] = all[i];
    }
    return n;
}

static void large_sessions_keep_older_tables(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("close_tables");
    char ids[SESSIONS][DSR_ULID_LEN + 1];
    tt_table before[64], after[64];
    size_t n_before = 0;
    for (int s = 0; s < SESSIONS; s++) {
        session(dir, s, &ids[s]);
        if (s == 3)
            n_before = large_tables(dir, before, 64);
    }
    /* the events' and the ids' tables of the first four runs at least */
    if (n_before < 2)
        fail_msg("%zu large tables after four large runs", n_before);
    size_t n_after = large_tables(dir, after, 64);
    for (size_t i = 0; i < n_before; i++) {
        size_t j = 0;
        while (j < n_after && strcmp(after[j].name, before[i].name))
            j++;
        if (j == n_after)
            fail_msg("%s (%lld bytes) was rewritten by a later close", before[i].name,
                     (long long)before[i].size);
        assert_int_equal(after[j].size, before[i].size);
    }
    dsr_log *log = tt_log_open(dir, 0);
    dsr_err err = { 0 };
    assert_int_equal(dsr_log_head(log), (uint64_t)SESSIONS * PER_SESSION);
    for (int s = 0; s < SESSIONS; s++) {
        uint64_t seq = 0;
        assert_int_equal(dsr_log_find_event(log, ids[s], &seq, &err), 0);
        assert_int_equal(seq, (uint64_t)(s + 1) * PER_SESSION);
    }
    dsr_log_close(log);
    tt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(large_sessions_keep_older_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

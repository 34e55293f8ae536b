/*
 * test_deliver_after_scan.c - the bounded delivery window `dossier scan`
 * opens after its last commit (dsr_deliver_after_scan): with no delivery
 * state it creates nothing; an unreachable auto endpoint leaves every event
 * pending and reports it in the note (never an error for the scan to fail
 * on); a state locked by a running deliver is skipped with a note; and a
 * later dsr_deliver_run against a real receiver (tests/support/
 * webhook_receiver.py on the same loopback port) drains the events.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "dossier/emit.h"
#include "dossier/log.h"
#include "test_tmp.h"

/* A loopback port nobody listens on (bound, read, closed). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    close(s);
    return ntohs(a.sin_port);
}

static dsr_log *log_with_events(const char *dir, int n)
{
    dsr_log *log = NULL;
    dsr_err err = {0};
    if (dsr_log_open(&log, dir, 0, &err))
        fail_msg("open: %s", err.msg);
    dsr_log_batch *b;
    assert_int_equal(dsr_log_batch_begin(log, &b, &err), 0);
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "artifact.%d", i);
        dsr_artifact_indexed p = {
            .feature_slug = i % 2 ? "feat-a" : "feat-b", .artifact_key = key,
            .artifact_class = "output", .relative_path = "x.md",
            .content_hash_sha256 =
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            .size_bytes = i, .wp_id = NULL, .step_id = NULL, .required_status = "optional",
        };
        if (dsr_emit_artifact_indexed(b, &p, NULL, NULL, &err))
            fail_msg("emit: %s", err.msg);
    }
    assert_int_equal(dsr_log_batch_commit(b, &err), 0);
    return log;
}

static void add_auto_endpoint(const char *dir, int port)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", port);
    dsr_endpoint_config cfg = { DSR_ENDPOINT_CONFIG_VERSION, "ci", url, NULL, 1, NULL, 0, NULL, 0,
                                DSR_PROFILE_WP04 };
    dsr_err err = {0};
    if (dsr_endpoint_add(dir, &cfg, &err))
        fail_msg("endpoint add: %s", err.msg);
}

static dsr_endpoint_info stats_of(dsr_log *log, const char *name)
{
    dsr_endpoint_info *v = NULL, out;
    size_t n = 0;
    dsr_err err = {0};
    if (dsr_deliver_stats(log, &v, &n, &err))
        fail_msg("stats: %s", err.msg);
    memset(&out, 0, sizeof out);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name)) {
            out.pending = v[i].pending;
            out.retrying = v[i].retrying;
            out.delivered = v[i].delivered;
            out.dead = v[i].dead;
            out.cursor = v[i].cursor;
        }
    dsr_endpoint_list_free(v, n);
    return out;
}

static void test_no_delivery_state_does_nothing_and_creates_nothing(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dafter");
    dsr_log *log = log_with_events(dir, 3);
    dsr_deliver_after_scan_opts o = DSR_DELIVER_AFTER_SCAN_OPTS_INIT;
    dsr_deliver_after_scan_report rep = DSR_DELIVER_AFTER_SCAN_REPORT_INIT;
    assert_int_equal(dsr_deliver_after_scan(log, &o, &rep), 0);
    assert_int_equal(rep.endpoints, 0);
    assert_string_equal(rep.note, "");
    char sub[600];
    snprintf(sub, sizeof sub, "%s/delivery", dir);
    struct stat sb;
    assert_int_not_equal(stat(sub, &sb), 0);
    /* With --deliver the user asked for delivery: say there is nowhere to go. */
    o.all_endpoints = 1;
    assert_int_equal(dsr_deliver_after_scan(log, &o, &rep), 0);
    assert_non_null(strstr(rep.note, "no saved endpoint"));
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static pid_t start_receiver(const char *dir, int port)
{
    const char *src = getenv("DOSSIER_SRC");
    if (!src)
        src = DOSSIER_SOURCE_DIR;
    char script[1024], portarg[16], portfile[700], logfile[700];
    snprintf(script, sizeof script, "%s/tests/support/webhook_receiver.py", src);
    snprintf(portarg, sizeof portarg, "%d", port);
    snprintf(portfile, sizeof portfile, "%s/recv.port", dir);
    snprintf(logfile, sizeof logfile, "%s/recv.ndjson", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", script, "--port", portarg, "--port-file",
              portfile, "--log", logfile, "--deadline", "60", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        struct stat sb;
        if (stat(portfile, &sb) == 0 && sb.st_size > 0)
            return pid;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    fail_msg("receiver did not start");
    return -1;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_unreachable_endpoint_leaves_events_pending_then_deliver_drains(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dafter");
    dsr_log *log = log_with_events(dir, 6);
    int port = free_port();
    add_auto_endpoint(dir, port);

    dsr_deliver_after_scan_opts o = { .version = DSR_DELIVER_AFTER_SCAN_OPTS_VERSION, .budget_ms = 2000, .timeout_ms = 500 };
    dsr_deliver_after_scan_report rep = DSR_DELIVER_AFTER_SCAN_REPORT_INIT;
    assert_int_equal(dsr_deliver_after_scan(log, &o, &rep), 0);
    assert_int_equal(rep.endpoints, 1);
    assert_int_equal(rep.delivered, 0);
    assert_true(rep.failed >= 1);
    assert_int_equal(rep.dead, 0);
    assert_int_equal(rep.pending, 6);
    assert_non_null(strstr(rep.note, "6 pending"));
    dsr_endpoint_info s = stats_of(log, "ci");
    assert_int_equal(s.pending, 6);
    assert_true(s.retrying >= 1);
    /* One failure ends the window: at most one attempt per slot was made. */
    assert_true(s.retrying <= 4);

    /* The receiver comes up on that port; a deliver run drains everything. */
    pid_t rp = start_receiver(dir, port);
    dsr_deliver_opts d;
    dsr_deliver_opts_init(&d);
    d.endpoint = "ci";
    d.policy.base_ms = 10;
    d.policy.cap_ms = 50;
    dsr_deliver_report r = DSR_DELIVER_REPORT_INIT;
    dsr_err err = {0};
    int rc = dsr_deliver_run(dir, &d, &r, &err);
    if (rc)
        fail_msg("deliver: %s", err.msg);
    assert_int_equal(r.delivered, 6);
    assert_int_equal(r.pending, 0);
    s = stats_of(log, "ci");
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.delivered, 6);
    assert_int_equal(s.cursor, 6);
    char recv_log[700];
    snprintf(recv_log, sizeof recv_log, "%s/recv.ndjson", dir);
    assert_int_equal(count_lines(recv_log), 6);

    /* With nothing pending the next window sends nothing. */
    assert_int_equal(dsr_deliver_after_scan(log, &o, &rep), 0);
    assert_int_equal(rep.delivered, 0);
    assert_int_equal(rep.pending, 0);
    assert_int_equal(count_lines(recv_log), 6);
    kill(rp, SIGTERM);
    waitpid(rp, NULL, 0);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

static void test_state_locked_by_running_deliver_is_skipped_with_a_note(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp("dafter");
    /* A child saves the endpoint and then holds the delivery state, as
     * `deliver --follow` would.  This test runs first, so the fork happens
     * before this process has started any RocksDB thread. */
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(go[0]);
        close(done[1]);
        dstate *st = NULL;
        dsr_err err = {0};
        add_auto_endpoint(dir, free_port());
        if (dstate_open(&st, dir, 0, &err))
            _exit(1);
        if (write(go[1], "x", 1) != 1)
            _exit(2);
        if (read(done[0], &c, 1) < 0)
            _exit(3);
        dstate_close(st);
        _exit(0);
    }
    /* Close our copies of the child's ends: if it dies, read() sees EOF
     * instead of waiting forever. */
    close(go[1]);
    close(done[0]);
    char c;
    assert_int_equal(read(go[0], &c, 1), 1);
    dsr_log *log = log_with_events(dir, 2);
    dsr_deliver_after_scan_opts o = { .version = DSR_DELIVER_AFTER_SCAN_OPTS_VERSION, .budget_ms = 1000 };
    dsr_deliver_after_scan_report rep = DSR_DELIVER_AFTER_SCAN_REPORT_INIT;
    assert_int_equal(dsr_deliver_after_scan(log, &o, &rep), 0);
    assert_int_equal(rep.skipped_locked, 1);
    assert_int_equal(rep.endpoints, 0);
    assert_non_null(strstr(rep.note, "running 'dossier deliver'"));
    /* Stats still work beside the lock holder. */
    dsr_endpoint_info s = stats_of(log, "ci");
    assert_int_equal(s.pending, 2);
    assert_int_equal(write(done[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    dsr_log_close(log);
    tt_rm_rf(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_locked_by_running_deliver_is_skipped_with_a_note),
        cmocka_unit_test(test_no_delivery_state_does_nothing_and_creates_nothing),
        cmocka_unit_test(test_unreachable_endpoint_leaves_events_pending_then_deliver_drains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

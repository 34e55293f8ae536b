/*
 * test_watch.c - dsr_watch_* through the public API, dsr_watch_run on a
 * thread of its own: a change is recorded after the quiet period, a folder
 * created later is followed, a chmod records nothing, the watcher is the
 * log's single writer, a stop that comes first leaves only the starting
 * scan, a burst that overflows the kernel's event queue for real (while the
 * run callback holds the watcher's thread) is recorded through the fallback, a folder that cannot be watched is
 * noted once and polled, and bad options are refused.  Asking a watcher
 * (dsr_watch_ask): nobody to ask is DSR_ENOTFOUND, a watcher that hangs
 * up before answering is DSR_EIO, a request is answered
 * with a run that already holds a change made just before it (no quiet
 * period waited for), a run is recorded for a request even when nothing
 * changed, a request the callback refuses gets its answer and no run, a log
 * folder whose path is too long for a socket's name still answers, and a
 * watcher made with version-1 options answers nobody.
 * LABELS: tsan
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dossier/dossier.h"
#include "test_tmp.h"

#define WAIT_S 30   /* bound on any wait for a run */

typedef struct fixture {
    char           *dir;
    char            root[512], log[512];
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    /* under mu */
    int             runs, recorded;
    uint64_t        indexed, removed, total;   /* summed over recorded runs; last total */
    int             fallback_runs;
    int             notes[DSR_WATCH_NOTE_COUNT];
    int             hold, held;   /* hold: on_run waits after the starting scan until held */
    int             serve;        /* start(): answer dsr_watch_ask (on_request) */
    int             asked;        /* runs recorded for a request */
    size_t          unread;       /* the last asked run: cache entries taken unread */
    char            note_msg[DSR_ERR_MSG_MAX];
    /* the watcher */
    dsr_watch      *w;
    pthread_t       th;
    int             rc;
    dsr_err         err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tt_mission("watch", f->root, sizeof f->root);
    snprintf(f->log, sizeof f->log, "%s/log", f->dir);
    tt_put(f->root, "a.md", "# a\n");
    tt_put(f->root, "b.md", "# b\n");
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    tt_rm_rf(f->dir);
    free(f);
    return 0;
}

static void on_run(void *ctx, const dsr_ingest_report *rep, const dsr_watch_run_info *info)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->runs++;
    if (!rep->unchanged) {
        f->recorded++;
        f->indexed += rep->record.indexed;
        f->removed += rep->record.removed;
        f->total = rep->snapshot ? (uint64_t)rep->snapshot->counts.total : 0;
        f->fallback_runs += info->fallback;
    }
    pthread_cond_broadcast(&f->cv);
    /* the watcher's thread reads no event meanwhile: they queue in the kernel */
    while (f->hold && !f->held)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void on_note(void *ctx, dsr_watch_note_kind kind, const char *msg)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->notes[kind]++;
    snprintf(f->note_msg, sizeof f->note_msg, "%s", msg);
    pthread_mutex_unlock(&f->mu);
}

/* A request "run" is answered with a run of the changed mode, "full" with
 * a run of full emission and "rehash" with a changed-mode run that reads
 * every file, all with "indexed=N total=T paths=P" (exit 0); "bogus" gets
 * a value that names no run; any other is refused at once (exit 7,
 * "refused"). */
static int on_request(void *ctx, const void *req, size_t len, const dsr_ingest_report *rep,
                      const dsr_watch_run_info *info, dsr_watch_reply *reply)
{
    fixture *f = ctx;
    if (!rep) {
        if (len == 3 && !memcmp(req, "run", 3))
            return DSR_WATCH_RUN_CHANGED;
        if (len == 4 && !memcmp(req, "full", 4))
            return DSR_WATCH_RUN_FULL;
        if (len == 6 && !memcmp(req, "rehash", 6))
            return DSR_WATCH_RUN_CHANGED | DSR_WATCH_RUN_REHASH;
        if (len == 5 && !memcmp(req, "bogus", 5))
            return DSR_WATCH_RUN_REHASH;
        reply->exit_code = 7;
        assert_int_equal(dsr_buf_puts(&reply->err, "refused"), 0);
        return DSR_WATCH_ANSWER_NOW;
    }
    pthread_mutex_lock(&f->mu);
    f->asked++;
    f->unread = rep->scan->n_cache_stat;
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(dsr_buf_printf(&reply->out, "indexed=%llu total=%llu paths=%d",
                                    (unsigned long long)rep->record.indexed,
                                    rep->snapshot ? (unsigned long long)rep->snapshot->counts.total
                                                  : 0ULL, info->paths_only), 0);
    return 0;
}

static void *run_thread(void *arg)
{
    fixture *f = arg;
    f->rc = dsr_watch_run(f->w, &f->err);
    return NULL;
}

/* The options start() uses: the fixture's tree, log and callbacks, a short
 * debounce so that runs follow changes quickly; io must outlive the watcher. */
static void opts_of(fixture *f, dsr_ingest_opts *io, dsr_watch_opts *o, unsigned poll_ms)
{
    *io = (dsr_ingest_opts)DSR_INGEST_OPTS_INIT;
    io->root = f->root;
    io->log_dir = f->log;
    io->target_branch = "main";
    io->jobs = 2;
    *o = (dsr_watch_opts)DSR_WATCH_OPTS_INIT;
    o->ingest = io;
    o->debounce_ms = 50;
    o->poll_ms = poll_ms;
    o->on_run = on_run;
    o->on_run_ctx = f;
    o->on_note = on_note;
    o->on_note_ctx = f;
    if (f->serve) {
        o->on_request = on_request;
        o->on_request_ctx = f;
    }
}

/* Open a watcher with o and run it on a thread of its own. */
static void start_opts(fixture *f, const dsr_watch_opts *o)
{
    dsr_err err;
    if (dsr_watch_open(o, &f->w, &err))
        fail_msg("dsr_watch_open: %s", err.msg);
    assert_int_equal(pthread_create(&f->th, NULL, run_thread, f), 0);
}

static void start(fixture *f, unsigned poll_ms)
{
    static dsr_ingest_opts io;   /* must outlive the watcher: static per test */
    dsr_watch_opts o;
    opts_of(f, &io, &o, poll_ms);
    start_opts(f, &o);
}

static void stop(fixture *f)
{
    dsr_watch_stop(f->w);
    assert_int_equal(pthread_join(f->th, NULL), 0);
    if (f->rc)
        fail_msg("dsr_watch_run: %s", f->err.msg);
    dsr_watch_free(f->w);
    f->w = NULL;
}

/* Wait until cond(f) holds (under mu); fail after WAIT_S. */
static void wait_for(fixture *f, int (*cond)(const fixture *), const char *what)
{
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += WAIT_S;
    pthread_mutex_lock(&f->mu);
    while (!cond(f)) {
        if (pthread_cond_timedwait(&f->cv, &f->mu, &end)) {
            pthread_mutex_unlock(&f->mu);
            fail_msg("no %s within %d s (runs %d, recorded %d)", what, WAIT_S, f->runs,
                     f->recorded);
        }
    }
    pthread_mutex_unlock(&f->mu);
}

static int two_recorded(const fixture *f) { return f->recorded >= 2; }
static int one_run(const fixture *f) { return f->runs >= 1; }
static int two_runs(const fixture *f) { return f->runs >= 2; }

static void test_watch_records_a_change_after_the_quiet_period(void **state)
{
    fixture *f = *state;
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    tt_put(f->root, "c.md", "# c\n");
    wait_for(f, two_recorded, "run for c.md");
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->indexed, 3);   /* a, b at the start; c */
    assert_int_equal(f->total, 3);
    pthread_mutex_unlock(&f->mu);
    stop(f);
}

static void test_watch_follows_a_folder_created_later(void **state)
{
    fixture *f = *state;
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    char p[1024];
    snprintf(p, sizeof p, "%s/new", f->root);
    assert_int_equal(mkdir(p, 0700), 0);
    wait_for(f, two_runs, "run for the new folder");   /* an empty folder: unchanged */
    tt_put(f->root, "new/deep.md", "# deep\n");
    wait_for(f, two_recorded, "run for new/deep.md");
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->total, 3);
    pthread_mutex_unlock(&f->mu);
    stop(f);
}

static void test_watch_chmod_records_nothing(void **state)
{
    fixture *f = *state;
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    char p[1024];
    snprintf(p, sizeof p, "%s/a.md", f->root);
    assert_int_equal(chmod(p, 0640), 0);
    wait_for(f, two_runs, "run after chmod");
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->recorded, 1);   /* the starting scan only */
    pthread_mutex_unlock(&f->mu);
    stop(f);
}

/* While the watcher runs, nobody else writes the log: a scan and a second
 * watcher are refused with DSR_ELOCKED; after it stops a scan works. */
static void test_watch_is_the_single_writer(void **state)
{
    fixture *f = *state;
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    dsr_ingest_opts io = DSR_INGEST_OPTS_INIT;
    io.root = f->root;
    io.log_dir = f->log;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    dsr_err err;
    assert_int_equal(dsr_ingest_run(&io, &rep, &err), DSR_ELOCKED);
    dsr_ingest_report_free(&rep);
    dsr_watch_opts o = DSR_WATCH_OPTS_INIT;
    o.ingest = &io;
    dsr_watch *w2 = NULL;
    assert_int_equal(dsr_watch_open(&o, &w2, &err), DSR_ELOCKED);
    assert_null(w2);
    stop(f);
    assert_int_equal(dsr_ingest_run(&io, &rep, &err), 0);
    dsr_ingest_report_free(&rep);
}

static void test_watch_stop_before_run_records_only_the_starting_scan(void **state)
{
    fixture *f = *state;
    dsr_ingest_opts io = DSR_INGEST_OPTS_INIT;
    io.root = f->root;
    io.log_dir = f->log;
    dsr_watch_opts o = DSR_WATCH_OPTS_INIT;
    o.ingest = &io;
    o.on_run = on_run;
    o.on_run_ctx = f;
    dsr_err err;
    dsr_watch *w;
    assert_int_equal(dsr_watch_open(&o, &w, &err), 0);
    dsr_watch_stop(w);
    assert_int_equal(dsr_watch_run(w, &err), 0);
    dsr_watch_free(w);
    assert_int_equal(f->runs, 1);
    assert_int_equal(f->indexed, 2);
}

static int overflowed(const fixture *f) { return f->notes[DSR_WATCH_NOTE_OVERFLOW] > 0; }

static long read_long(const char *path, long dflt)
{
    FILE *fp = fopen(path, "r");
    long v = dflt;
    if (fp) {
        if (fscanf(fp, "%ld", &v) != 1)
            v = dflt;
        fclose(fp);
    }
    return v;
}

/* More file creations than fs.inotify.max_queued_events while the watcher
 * leaves the queue unread (its run callback waits): the kernel reports IN_Q_OVERFLOW, the
 * watcher says so once and rescans the whole tree; the snapshot then holds
 * every file. */
static void test_watch_queue_overflow_rescans_the_whole_tree(void **state)
{
    fixture *f = *state;
    long qmax = read_long("/proc/sys/fs/inotify/max_queued_events", 16384);
    if (qmax > 200000)
        skip();   /* a burst that large would not be a quick test */
    /* each creation queues IN_CREATE and IN_CLOSE_WRITE (and the folder's
     * IN_CREATE): a few more files than the queue holds events */
    long n = qmax / 2 + 1000;
    char p[1024];
    snprintf(p, sizeof p, "%s/burst", f->root);   /* watched from the start */
    assert_int_equal(mkdir(p, 0700), 0);
    f->hold = 1;
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    for (long i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/burst/f%06ld.txt", f->root, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, p, 8), 8);
        assert_int_equal(close(fd), 0);
    }
    pthread_mutex_lock(&f->mu);
    f->held = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    wait_for(f, overflowed, "overflow note");
    /* the rescan after the overflow holds every file */
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += WAIT_S;
    pthread_mutex_lock(&f->mu);
    while (f->total != (uint64_t)n + 2)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &end)) {
            pthread_mutex_unlock(&f->mu);
            fail_msg("snapshot holds %llu artifacts, expected %ld",
                     (unsigned long long)f->total, n + 2);
        }
    assert_true(f->fallback_runs >= 1);
    assert_int_equal(f->notes[DSR_WATCH_NOTE_OVERFLOW], 1);
    assert_non_null(strstr(f->note_msg, "max_queued_events"));
    pthread_mutex_unlock(&f->mu);
    stop(f);
}

static int noted_unwatchable(const fixture *f)
{
    return f->notes[DSR_WATCH_NOTE_UNWATCHABLE] > 0;
}

/* A folder the watcher may not read (mode 0) is noted once, named; the tree
 * is then rescanned every poll_ms, and a change elsewhere still recorded. */
static void test_watch_unwatchable_folder_is_noted_and_polled(void **state)
{
    fixture *f = *state;
    if (geteuid() == 0)
        skip();   /* root reads a folder of mode 0 */
    char p[1024];
    snprintf(p, sizeof p, "%s/locked", f->root);
    assert_int_equal(mkdir(p, 0000), 0);
    start(f, 200);
    wait_for(f, noted_unwatchable, "unwatchable note");
    pthread_mutex_lock(&f->mu);
    assert_non_null(strstr(f->note_msg, "locked"));
    pthread_mutex_unlock(&f->mu);
    tt_put(f->root, "c.md", "# c\n");
    wait_for(f, two_recorded, "run for c.md");
    stop(f);
    assert_int_equal(chmod(p, 0700), 0);
    assert_int_equal(f->notes[DSR_WATCH_NOTE_UNWATCHABLE], 1);
}

static void test_watch_open_refuses_bad_options(void **state)
{
    fixture *f = *state;
    dsr_err err;
    dsr_watch *w = (dsr_watch *)f;   /* reset to NULL on every failure */
    dsr_watch_opts o = DSR_WATCH_OPTS_INIT;
    assert_int_equal(dsr_watch_open(&o, &w, &err), DSR_EINVAL);   /* no ingest options */
    assert_null(w);
    assert_non_null(strstr(err.msg, "root"));
    dsr_ingest_opts io = DSR_INGEST_OPTS_INIT;
    io.root = f->root;
    io.log_dir = f->log;
    o.ingest = &io;
    o.version = DSR_WATCH_OPTS_VERSION + 1;
    assert_int_equal(dsr_watch_open(&o, &w, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "DSR_WATCH_OPTS_INIT"));
    o.version = DSR_WATCH_OPTS_VERSION;
    char file[1024];
    snprintf(file, sizeof file, "%s/a.md", f->root);
    io.root = file;
    assert_int_equal(dsr_watch_open(&o, &w, &err), DSR_EIO);
    assert_non_null(strstr(err.msg, "a.md"));
    struct stat st;
    assert_int_equal(stat(f->log, &st), -1);   /* nothing created */
}

/* ---- asking a watcher ------------------------------------------------------ */

static void ask(const fixture *f, const char *req, dsr_watch_reply *reply)
{
    dsr_err err;
    if (dsr_watch_ask(f->log, req, strlen(req), reply, &err))
        fail_msg("dsr_watch_ask: %s", err.msg);
}

static void test_watch_ask_finds_nobody(void **state)
{
    fixture *f = *state;
    dsr_watch_reply r = DSR_WATCH_REPLY_INIT;
    dsr_err err;
    assert_int_equal(dsr_watch_ask(f->log, "run", 3, &r, &err), DSR_ENOTFOUND);
    assert_non_null(strstr(err.msg, f->log));
    assert_int_equal(dsr_watch_ask(NULL, "run", 3, &r, &err), DSR_EINVAL);
    /* a watcher that died leaves its socket file: nobody listens there */
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    stop(f);
    char sock[1024];
    snprintf(sock, sizeof sock, "%s/watch.sock", f->log);
    struct stat st;
    assert_int_equal(stat(sock, &st), -1);   /* no on_request: no socket */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    assert_true(strlen(sock) < sizeof a.sun_path);
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
    assert_int_equal(dsr_watch_ask(f->log, "run", 3, &r, &err), DSR_ENOTFOUND);
    /* ...and the next watcher takes its place */
    f->serve = 1;
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    ask(f, "run", &r);
    assert_int_equal(r.exit_code, 0);
    stop(f);
    assert_int_equal(stat(sock, &st), -1);   /* removed when the watcher stops */
    dsr_watch_reply_free(&r);
}

/* A listener that takes the request and hangs up without answering (a
 * watcher stopped meanwhile). */
static void *hang_up(void *arg)
{
    int *fds = arg;
    int c = accept(fds[0], NULL, NULL);
    if (c >= 0) {
        char b[16];
        (void)!read(c, b, sizeof b);
        close(c);
    }
    return NULL;
}

static void test_watch_ask_reports_a_watcher_gone_before_answering(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdir(f->log, 0700), 0);
    char sock[1024];
    snprintf(sock, sizeof sock, "%s/watch.sock", f->log);
    int fds[1];
    fds[0] = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    assert_true(strlen(sock) < sizeof a.sun_path);
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(fds[0], (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fds[0], 1), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hang_up, fds), 0);
    dsr_watch_reply r = DSR_WATCH_REPLY_INIT;
    dsr_err err;
    assert_int_equal(dsr_watch_ask(f->log, "run", 3, &r, &err), DSR_EIO);
    assert_non_null(strstr(err.msg, "stopped before it answered"));
    assert_int_equal(pthread_join(th, NULL), 0);
    close(fds[0]);
    dsr_watch_reply_free(&r);
}

/* A watcher that answers requests and records nothing on its own (a
 * debounce of an hour), once its starting scan is recorded. */
static void start_answering(fixture *f)
{
    f->serve = 1;
    static dsr_ingest_opts io;   /* must outlive the watcher */
    dsr_watch_opts o;
    opts_of(f, &io, &o, 0);
    o.debounce_ms = 3600 * 1000;
    o.max_delay_ms = 3600 * 1000;
    start_opts(f, &o);
    wait_for(f, one_run, "starting scan");
}

/* A change made just before asking is in the answer: the request waits for
 * no quiet period (debounce: an hour), and the run takes the events queued. */
static void test_watch_answers_with_a_run_holding_every_change(void **state)
{
    fixture *f = *state;
    start_answering(f);
    dsr_watch_reply r = DSR_WATCH_REPLY_INIT;
    char name[32];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "new%d.md", i);
        tt_put(f->root, name, "# new\n");
        ask(f, "run", &r);
        char want[64];
        snprintf(want, sizeof want, "indexed=1 total=%d paths=1", 3 + i);
        assert_int_equal(r.exit_code, 0);
        assert_string_equal(r.out.data, want);
    }
    ask(f, "run", &r);                    /* nothing changed: recorded all the same */
    assert_string_equal(r.out.data, "indexed=0 total=7 paths=1");
    ask(f, "stop", &r);                   /* refused: answered, no run */
    assert_int_equal(r.exit_code, 7);
    assert_string_equal(r.err.data, "refused");
    assert_int_equal(r.out.len, 0);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->asked, 6);
    assert_int_equal(f->recorded, 7);    /* the starting scan and the six asked for */
    pthread_mutex_unlock(&f->mu);
    dsr_watch_reply_free(&r);
    stop(f);
}

/* A full emission asked for records every artifact of the tree, the
 * unchanged ones taken from the watcher's last run, while only the changed
 * paths are scanned; the changed mode after it records the changes only. */
static void test_watch_answers_a_full_emission(void **state)
{
    fixture *f = *state;
    start_answering(f);
    dsr_watch_reply r = DSR_WATCH_REPLY_INIT;
    tt_put(f->root, "c.md", "# c\n");
    ask(f, "full", &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out.data, "indexed=3 total=3 paths=1");
    ask(f, "full", &r);                   /* nothing changed: every artifact again */
    assert_string_equal(r.out.data, "indexed=3 total=3 paths=1");
    tt_put(f->root, "a.md", "# a, edited\n");
    ask(f, "run", &r);                    /* the changed mode: the edit only */
    assert_string_equal(r.out.data, "indexed=1 total=3 paths=1");
    tt_remove(f->root, "b.md");
    ask(f, "full", &r);
    assert_string_equal(r.out.data, "indexed=2 total=2 paths=1");
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->asked, 4);
    assert_int_equal(f->removed, 0);      /* a full emission records no removal */
    pthread_mutex_unlock(&f->mu);
    dsr_watch_reply_free(&r);
    stop(f);
}

/* DSR_WATCH_RUN_REHASH or'ed in: the run covers the whole tree and reads
 * every file, where a run over the changed paths reads none of the files
 * of an hour ago (their cache entries trusted); a value that names no run
 * is answered at once with exit status 3, and nothing is recorded. */
static void test_watch_answers_a_rehash(void **state)
{
    fixture *f = *state;
    const char *names[] = { "a.md", "b.md" };
    for (int i = 0; i < 2; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", f->root, names[i]);
        struct timespec t[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
        assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
    }
    start_answering(f);
    dsr_watch_reply r = DSR_WATCH_REPLY_INIT;
    ask(f, "rehash", &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out.data, "indexed=0 total=2 paths=0");
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->unread, 0);
    pthread_mutex_unlock(&f->mu);
    ask(f, "run", &r);
    assert_string_equal(r.out.data, "indexed=0 total=2 paths=1");
    tt_put(f->root, "c.md", "# c\n");
    ask(f, "bogus", &r);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.out.len, 0);
    assert_non_null(strstr(r.err.data, "no run it records"));
    ask(f, "rehash", &r);                 /* the new file, read with the rest */
    assert_string_equal(r.out.data, "indexed=1 total=3 paths=0");
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->unread, 0);
    assert_int_equal(f->asked, 3);
    assert_int_equal(f->recorded, 4);    /* the starting scan and the three asked for */
    pthread_mutex_unlock(&f->mu);
    dsr_watch_reply_free(&r);
    stop(f);
}

/* sun_path holds 108 bytes: a longer log folder is named through
 * /proc/self/fd by both ends. */
static void test_watch_answers_in_a_log_folder_with_a_long_path(void **state)
{
    fixture *f = *state;
    char sub[200];
    memset(sub, 'x', 150);
    sub[150] = '\0';
    snprintf(f->log, sizeof f->log, "%s/%s/log", f->dir, sub);
    assert_true(strlen(f->log) > 108);
    f->serve = 1;
    start(f, 0);
    wait_for(f, one_run, "starting scan");
    dsr_watch_reply r = DSR_WATCH_REPLY_INIT;
    ask(f, "run", &r);
    assert_string_equal(r.out.data, "indexed=0 total=2 paths=1");
    dsr_watch_reply_free(&r);
    stop(f);
}

/* Options made with a version-1 header end before on_request: such a
 * watcher answers nobody and reads nothing past the old struct (here
 * filled with garbage that would be called, or bind a socket, if read). */
static void test_watch_v1_options_answer_nobody(void **state)
{
    fixture *f = *state;
    static dsr_ingest_opts io;
    dsr_watch_opts o;
    opts_of(f, &io, &o, 0);
    /* the tail a version-1 struct does not have: garbage */
    memset((char *)&o + offsetof(dsr_watch_opts, on_request), 0xa5,
           sizeof o - offsetof(dsr_watch_opts, on_request));
    o.version = 1;
    start_opts(f, &o);
    wait_for(f, one_run, "starting scan");
    dsr_watch_reply r = DSR_WATCH_REPLY_INIT;
    dsr_err err;
    assert_int_equal(dsr_watch_ask(f->log, "run", 3, &r, &err), DSR_ENOTFOUND);
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_watch_records_a_change_after_the_quiet_period,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_follows_a_folder_created_later,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_chmod_records_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_is_the_single_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_stop_before_run_records_only_the_starting_scan,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_queue_overflow_rescans_the_whole_tree,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_unwatchable_folder_is_noted_and_polled,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_open_refuses_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_ask_finds_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_ask_reports_a_watcher_gone_before_answering,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_answers_with_a_run_holding_every_change,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_answers_a_full_emission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_answers_a_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_answers_in_a_log_folder_with_a_long_path,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_v1_options_answer_nobody, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

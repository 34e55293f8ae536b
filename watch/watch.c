/*
 * watch.c - `dossier watch`: the event loop that turns inotify events into
 * scan runs (see dossier/watch.h for the sequence, the fallbacks and the
 * contract).
 *
 * The loop, one state per line (C function behind each transition):
 *
 *   IDLE   --event-->             DIRTY   (take_events: first = last = now)
 *   DIRTY  --event-->             DIRTY   (last = now)
 *   DIRTY  --quiet debounce, or
 *            max_delay since first--> RUN (record_run)
 *   any    --IN_Q_OVERFLOW-->     DIRTY + fallback (resync: watch afresh)
 *   POLL   --poll_ms elapsed-->   RUN + resync, while part of the tree is
 *                                 unwatched (limit or permission)
 *   RUN    --recorded-->          IDLE
 *   any    --stop-->              return (a run under way completes first)
 *
 * Invariants:
 *   1. The log stays open (and locked) from dsr_watch_open to
 *      dsr_watch_free: nobody else writes between two runs.
 *   2. Folders are watched before the tree is scanned (open before the
 *      starting scan; a new folder before its entries are listed), so a
 *      change is either seen by the scan under way or reported by an event
 *      that makes the tree dirty again: after the last event settles, the
 *      latest snapshot is the tree's.
 *   3. dirty == 0 implies no event was taken since the last run began.
 *   4. Every path an event named since the last run began is in changed
 *      (or full is set), and state is that run's whole scan result: so
 *      the tree differs from state only at or below the changed paths,
 *      which is what a run over those paths only needs
 *      (dsr_ingest_run_paths).  Without a state (none yet, or the last run
 *      failed), after lost events, a poll, or while the tree holds files
 *      reached through a symlink (whose targets change unseen), a run
 *      scans the whole tree.
 */
#include "dossier/watch.h"
#include "dossier/log.h"
#include "opts_version.h"
#include "strmap.h"
#include "watch_serve.h"
#include "watch_tree.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct dsr_watch {
    dsr_ingest_opts ingest;      /* the caller's, with the watcher's flags */
    dsr_watch_opts  o;           /* defaults filled in */
    dsr_log        *log;
    char           *log_dir;
    int             stop_fd;     /* eventfd: dsr_watch_stop writes, the loop polls */
    wtree           tree;
    int             noted[DSR_WATCH_NOTE_COUNT];
    /* the loop's state */
    int             dirty, fallback, polling;
    uint64_t        events;      /* events folded into the coming run */
    double          first, last; /* CLOCK_MONOTONIC s of its first / last event */
    double          next_poll;
    uint64_t        runs;
    strmap          changed;     /* relative paths named by events (values unused) */
    int             full;        /* the coming run scans the whole tree */
    dsr_scan_result *state;      /* the last run's whole result, or NULL */
    uint64_t        churn;       /* paths scanned (and runs) since the last whole-tree run */
    wserve          serve;       /* the answering socket (serve.fd -1: none) */
    dsr_buf         req;         /* the request being answered */
};

/* A request being answered by the run under way (record_run). */
typedef struct asked {
    const dsr_buf   *req;
    dsr_watch_reply *reply;
    int              full;       /* DSR_WATCH_RUN_FULL: a full emission */
    int              rehash;     /* DSR_WATCH_RUN_REHASH: every file read */
} asked;

/* A run over the changed paths carries the kept result's strings over in
 * their arena, those of files since replaced included (and a few per run:
 * the manifest's patterns, the missing entries).  Once the paths scanned
 * since the last whole-tree run (RUN_CHURN per run on top) exceed the
 * tree's files by CHURN_SLACK, a whole-tree run starts a fresh arena: the
 * watcher's memory stays within a small multiple of one scan result's. */
#define RUN_CHURN   16
#define CHURN_SLACK 4096

/* The name of the exclusion files a scan reads in every folder (docs/scanning.md). */
#define IGNORE_NAME ".dossierignore"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- notes: each kind once ---------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void note(dsr_watch *w, dsr_watch_note_kind kind, const char *fmt, ...)
{
    assert((unsigned)kind < DSR_WATCH_NOTE_COUNT);
    if (w->noted[kind]++ || !w->o.on_note)
        return;
    char msg[DSR_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->o.on_note(w->o.on_note_ctx, kind, msg);
}

/* After a walk: a part of the tree unwatched turns polling on (and a walk
 * that watched everything turns it off). */
static void after_walk(dsr_watch *w)
{
    const wtree_fail *f = &w->tree.fail;
    if (f->limit)
        note(w, DSR_WATCH_NOTE_LIMIT, "%s: the inotify watch limit is reached at folder %s "
             "(%zu folders watched; raise fs.inotify.max_user_watches): the tree is rescanned "
             "every %u ms instead", w->ingest.root, f->path, w->tree.n, w->o.poll_ms);
    else if (f->other)
        note(w, DSR_WATCH_NOTE_UNWATCHABLE, "%s: folder %s cannot be watched (%s): the tree "
             "is rescanned every %u ms instead", w->ingest.root, f->path, strerror(f->err),
             w->o.poll_ms);
    int was = w->polling;
    w->polling = f->limit || f->other;
    if (w->polling && !was)
        w->next_poll = now_s() + w->o.poll_ms / 1e3;
}

/* Watch the whole tree afresh (after lost events, or to retry). */
static int resync(dsr_watch *w, dsr_err *err)
{
    wtree_fail_clear(&w->tree);
    int rc = wtree_add(&w->tree, "", err);
    if (!rc)
        after_walk(w);
    return rc;
}

/* ---- open / stop / free ------------------------------------------------- */

int dsr_watch_open(const dsr_watch_opts *opts, dsr_watch **out, dsr_err *err)
{
    dsr_err_clear(err);
    *out = NULL;
    int rc = opts_version_check(opts ? opts->version : 0, DSR_WATCH_OPTS_VERSION,
                                "dsr_watch_opts", "DSR_WATCH_OPTS_INIT", err);
    if (rc)
        return rc;
    const dsr_ingest_opts *io = opts->ingest;
    if (!io || !io->root || !*io->root)
        return dsr_err_set(err, DSR_EINVAL, "dsr_watch_open: no mission root given "
                           "(opts->ingest->root)");
    if ((rc = opts_version_check(io->version, DSR_INGEST_OPTS_VERSION, "dsr_ingest_opts",
                                 "DSR_INGEST_OPTS_INIT", err)))
        return rc;
    struct stat st;
    if (stat(io->root, &st))
        return dsr_err_set(err, DSR_EIO, "%s: cannot watch: %s", io->root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dsr_err_set(err, DSR_EIO, "%s: not a folder (a mission is a folder); nothing "
                           "was created", io->root);
    dsr_watch *w = calloc(1, sizeof *w);
    if (!w)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    w->stop_fd = -1;
    w->tree.fd = -1;
    w->serve.fd = w->serve.dir_fd = -1;
    w->ingest = *io;
    w->ingest.flags |= DSR_INGEST_EMIT_CHANGED | DSR_INGEST_SKIP_UNCHANGED;
    /* a version-1 struct ends before on_request */
    memcpy(&w->o, opts, opts->version >= 2 ? sizeof *opts
                                           : offsetof(dsr_watch_opts, on_request));
    if (!w->o.debounce_ms)
        w->o.debounce_ms = DSR_WATCH_DEBOUNCE_DEFAULT_MS;
    if (!w->o.max_delay_ms)
        w->o.max_delay_ms = w->o.debounce_ms * 10 > 2000 ? w->o.debounce_ms * 10 : 2000;
    if (w->o.max_delay_ms < w->o.debounce_ms)
        w->o.max_delay_ms = w->o.debounce_ms;
    if (!w->o.poll_ms)
        w->o.poll_ms = DSR_WATCH_POLL_DEFAULT_MS;
    /* the log: the caller's folder, else <root>/.dossier (a planted symlink
     * there is refused by the first run's check, as dsr_ingest_run does) */
    if (io->log_dir)
        w->log_dir = strdup(io->log_dir);
    else if ((w->log_dir = malloc(strlen(io->root) + sizeof "/.dossier")))
        sprintf(w->log_dir, "%s/.dossier", io->root);
    if (!w->log_dir) {
        free(w);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    if (!io->log_dir && lstat(w->log_dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        rc = dsr_err_set(err, DSR_EIO, "%s: the default log folder is a symlink, which is "
                         "not followed; remove it, or name the log folder explicitly",
                         w->log_dir);
        goto fail;
    }
    if ((rc = dsr_log_open(&w->log, w->log_dir,
                           io->flags & DSR_INGEST_WAIT ? DSR_LOG_WAIT : 0, err)))
        goto fail;
    if ((w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        rc = dsr_err_set(err, DSR_EIO, "%s: eventfd: %s", io->root, strerror(errno));
        goto fail;
    }
    if ((rc = wtree_init(&w->tree, w->ingest.root, w->log_dir, err))
        || (rc = resync(w, err)))
        goto fail;
    /* only the log's writer listens: the lock is held from here on */
    if (w->o.on_request && (rc = wserve_open(&w->serve, w->log_dir, err)))
        goto fail;
    *out = w;
    return 0;
fail:
    dsr_watch_free(w);
    return rc;
}

void dsr_watch_stop(dsr_watch *w)
{
    uint64_t one = 1;
    /* write(2) is async-signal-safe; a full counter means a stop is pending */
    ssize_t n = write(w->stop_fd, &one, sizeof one);
    (void)n;
}

dsr_log *dsr_watch_log(dsr_watch *w)
{
    return w ? w->log : NULL;
}

void dsr_watch_free(dsr_watch *w)
{
    if (!w)
        return;
    wserve_close(&w->serve);     /* before the lock goes with the log */
    dsr_buf_free(&w->req);
    wtree_free(&w->tree);
    strmap_free(&w->changed);
    dsr_scan_result_free(w->state);
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    dsr_log_close(w->log);
    free(w->log_dir);
    free(w);
}

/* ---- events ------------------------------------------------------------- */

static void mark_dirty(dsr_watch *w, double now)
{
    if (!w->dirty) {
        w->dirty = 1;
        w->first = now;
    }
    w->last = now;
    w->events++;
}

/* Note rel (a folder stands for everything below it) for the coming run. */
static int add_changed(dsr_watch *w, const char *rel, dsr_err *err)
{
    int created;
    if (!strmap_upsert(&w->changed, rel, strlen(rel), &created))
        return dsr_err_set(err, DSR_ENOMEM, "%s: watching: out of memory", w->ingest.root);
    return 0;
}

static int take_event(dsr_watch *w, const struct inotify_event *e, double now, dsr_err *err)
{
    if (e->mask & IN_Q_OVERFLOW) {
        note(w, DSR_WATCH_NOTE_OVERFLOW, "%s: the inotify event queue overflowed (more than "
             "fs.inotify.max_queued_events pending): events were lost; the whole tree is "
             "rescanned", w->ingest.root);
        w->fallback = 1;
        w->full = 1;
        mark_dirty(w, now);
        return resync(w, err);
    }
    if (e->mask & IN_IGNORED) {
        wtree_drop(&w->tree, e->wd);
        return 0;
    }
    const char *dir = wtree_path(&w->tree, e->wd);
    if (!dir)
        return 0;               /* a folder already dropped */
    if (e->len && wtree_hidden(e->name)) {
        /* never scanned (an editor's .swp, the log) - but a folder's
         * exclusion rules decide what is scanned below it */
        if (strcmp(e->name, IGNORE_NAME) != 0)
            return 0;
        mark_dirty(w, now);
        return add_changed(w, dir, err);
    }
    if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        mark_dirty(w, now);     /* the parent reports the name; the root has none */
        if (!*dir)
            w->full = 1;
        return 0;
    }
    mark_dirty(w, now);
    if (!e->len)                /* about the folder itself (its mode): all below it */
        return add_changed(w, dir, err);
    int rc = 0;
    size_t n = strlen(dir) + e->len + 2;
    char *rel = malloc(n);
    if (!rel)
        return dsr_err_set(err, DSR_ENOMEM, "%s: watching: out of memory", w->ingest.root);
    snprintf(rel, n, "%s%s%s", dir, *dir ? "/" : "", e->name);
    if ((rc = add_changed(w, rel, err)) || !(e->mask & IN_ISDIR)) {
        free(rel);
        return rc;
    }
    if (e->mask & IN_MOVED_FROM)
        wtree_forget(&w->tree, rel);    /* moved out, or moved within: re-added below */
    else if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
        wtree_fail_clear(&w->tree);
        if (!(rc = wtree_add(&w->tree, rel, err)))
            after_walk(w);
    }
    free(rel);
    return rc;
}

/* Read every queued event (the fd is non-blocking). */
static int take_events(dsr_watch *w, dsr_err *err)
{
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->tree.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return dsr_err_set(err, DSR_EIO, "%s: reading inotify events: %s", w->ingest.root,
                               n < 0 ? strerror(errno) : "end of file");
        double now = now_s();
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            int rc = take_event(w, e, now, err);
            if (rc)
                return rc;
            p += sizeof *e + e->len;
        }
    }
}

/* ---- runs --------------------------------------------------------------- */

/* The changed paths taken out of w->changed (which is left empty), or
 * NULL with *n 0 when there are none.  Strings are copies. */
static int take_changed(dsr_watch *w, char ***out, size_t *n, dsr_err *err)
{
    *out = NULL;
    *n = 0;
    if (w->changed.n && !(*out = calloc(w->changed.n, sizeof **out)))
        return dsr_err_set(err, DSR_ENOMEM, "%s: watching: out of memory", w->ingest.root);
    for (size_t i = 0; i < w->changed.cap; i++) {
        const strmap_slot *sl = &w->changed.slots[i];
        if (!sl->key)
            continue;
        if (!((*out)[*n] = strndup(sl->key, sl->klen)))
            return dsr_err_set(err, DSR_ENOMEM, "%s: watching: out of memory", w->ingest.root);
        (*n)++;
    }
    assert(*n == w->changed.n);
    strmap_clear(&w->changed);
    return 0;
}

static int record_run(dsr_watch *w, int starting, const asked *ask, dsr_err *err)
{
    dsr_watch_run_info info = { .runs = ++w->runs, .starting = starting,
                                .fallback = w->fallback, .fs_events = w->events };
    double first = w->first;
    int had_events = w->dirty;
    int full = starting || w->full || !w->state || w->state->n_linked
               || w->churn > w->state->n_artifacts + CHURN_SLACK || (ask && ask->rehash);
    char **paths = NULL;
    size_t n_paths = 0;
    /* invariants 3 and 4: what happens from here on makes the tree dirty
     * again and names its paths for the next run */
    w->dirty = 0;
    w->fallback = 0;
    w->full = 0;
    w->events = 0;
    int rc = take_changed(w, &paths, &n_paths, err);
    w->churn = full ? 0 : w->churn + n_paths + RUN_CHURN;
    dsr_ingest_report rep = DSR_INGEST_REPORT_INIT;
    if (!rc) {
        /* an empty set (events that named no path: a folder's own removal,
         * which its parent reports by name) is not the whole tree: only the
         * root is listed, and nothing is recorded unless the kept result
         * itself differs from the snapshot */
        static const char *const no_path[1] = { NULL };
        info.paths_only = !full;
        info.n_paths = full ? 0 : n_paths;
        /* an asked run is recorded even when nothing changed, as a scan's,
         * and with the events the scan asked for */
        dsr_ingest_opts io = w->ingest;
        if (ask)
            io.flags &= ~(unsigned)DSR_INGEST_SKIP_UNCHANGED;
        if (ask && ask->full)
            io.flags &= ~(unsigned)DSR_INGEST_EMIT_CHANGED;
        if (ask && ask->rehash)
            io.flags |= DSR_INGEST_REHASH;
        rc = dsr_ingest_run_paths(w->log, &io,
                                  full ? NULL : paths ? (const char *const *)paths : no_path,
                                  full ? 0 : n_paths, &w->state, &rep, err);
    }
    for (size_t i = 0; i < n_paths; i++)
        free(paths[i]);
    free(paths);
    if (!rc) {
        info.latency_s = had_events ? now_s() - first : 0;
        rep.scan = w->state;    /* the watcher's: shown, not freed with the report */
        if (w->o.on_run)
            w->o.on_run(w->o.on_run_ctx, &rep, &info);
        if (ask)
            (void)w->o.on_request(w->o.on_request_ctx, ask->req->data, ask->req->len, &rep,
                                  &info, ask->reply);
        rep.scan = NULL;
    }
    dsr_ingest_report_free(&rep);
    return rc;
}

/* A request the watcher could not serve is answered with exit status 3,
 * what dossier gives an I/O failure, and only the message the caller then
 * writes to the returned buffer (nothing the callback had prepared). */
static dsr_buf *reply_failed(dsr_watch_reply *reply)
{
    reply->exit_code = 3;
    dsr_buf_reset(&reply->out);
    dsr_buf_reset(&reply->err);
    return &reply->err;
}

/* One connection waiting on the answering socket: read its request and
 * answer it, with a run when the caller's callback wants one.  Returns 0, or
 * the error of a run that failed (the asker is told). */
static int serve_one(dsr_watch *w, dsr_err *err)
{
    int conn = wserve_accept(&w->serve);
    if (conn < 0)
        return 0;               /* gone already, or another user's */
    int rc = 0;
    dsr_watch_reply reply = DSR_WATCH_REPLY_INIT;
    if (!wserve_read_request(conn, &w->req)) {
        int want = w->o.on_request(w->o.on_request_ctx, w->req.data, w->req.len, NULL, NULL,
                                   &reply);
        int emit = want & ~DSR_WATCH_RUN_REHASH;
        if (want != DSR_WATCH_ANSWER_NOW && emit != DSR_WATCH_RUN_CHANGED
            && emit != DSR_WATCH_RUN_FULL) {
            (void)dsr_buf_printf(reply_failed(&reply), "the watcher's request callback asked "
                                 "for %d, which is no run it records\n", want);
        } else if (want != DSR_WATCH_ANSWER_NOW) {
            /* every change made before the request is queued by now */
            asked ask = { &w->req, &reply, emit == DSR_WATCH_RUN_FULL,
                          (want & DSR_WATCH_RUN_REHASH) != 0 };
            rc = take_events(w, err);
            if (!rc)
                rc = record_run(w, 0, &ask, err);
            if (rc)
                (void)dsr_buf_printf(reply_failed(&reply), "the watcher's run failed, and the "
                                     "watcher stopped: %s\n", err->msg);
        }
        (void)wserve_write_reply(conn, &reply);
    }
    close(conn);
    dsr_watch_reply_free(&reply);
    return rc;
}

int dsr_watch_run(dsr_watch *w, dsr_err *err)
{
    dsr_err_clear(err);
    int rc = record_run(w, 1, NULL, err);
    while (!rc) {
        double now = now_s();
        int timeout = -1;
        double due = 0;
        if (w->dirty) {
            double quiet = w->last + w->o.debounce_ms / 1e3;
            double latest = w->first + w->o.max_delay_ms / 1e3;
            due = quiet < latest ? quiet : latest;
        }
        if (w->polling && (!due || w->next_poll < due))
            due = w->next_poll;
        if (due)
            timeout = due <= now ? 0 : (int)((due - now) * 1e3) + 1;
        struct pollfd p[3] = { { .fd = w->stop_fd, .events = POLLIN },
                               { .fd = w->tree.fd, .events = POLLIN },
                               { .fd = w->serve.fd, .events = POLLIN } };   /* -1: ignored */
        int r = poll(p, 3, timeout);
        if (r < 0 && errno != EINTR) {
            rc = dsr_err_set(err, DSR_EIO, "%s: poll: %s", w->ingest.root, strerror(errno));
            break;
        }
        if (r > 0 && p[0].revents)
            break;
        if (r > 0 && p[1].revents && (rc = take_events(w, err)))
            break;
        if (r > 0 && p[2].revents && (rc = serve_one(w, err)))
            break;
        now = now_s();
        int poll_due = w->polling && now >= w->next_poll;
        if (poll_due) {
            w->fallback = 1;
            mark_dirty(w, now);
            w->next_poll = now + w->o.poll_ms / 1e3;
            if ((rc = resync(w, err)))
                break;
        }
        if (w->dirty && (poll_due || now >= w->last + w->o.debounce_ms / 1e3
                         || now >= w->first + w->o.max_delay_ms / 1e3))
            rc = record_run(w, 0, NULL, err);
    }
    return rc;
}

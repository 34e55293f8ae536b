/*
 * dossier/watch.h - a live dossier: follow a mission folder with inotify and
 * record a scan run whenever it changes (`dossier watch`).
 *
 * The sequence:
 *   1. dsr_watch_open opens the log for writing and keeps it open: the
 *      watcher is the log's single writer until dsr_watch_free (another
 *      writer gets DSR_ELOCKED, or waits).  It then watches every folder of
 *      the tree a scan walks (hidden folders and the log folder excepted),
 *      before anything is scanned, so no change falls between the starting
 *      scan and the watching.
 *   2. dsr_watch_run records a starting scan (which catches up with
 *      everything that changed while nothing watched, a crash included),
 *      then waits for file-system events.  New folders are watched as they
 *      appear, folders gone are dropped.  After a quiet period (debounce_ms)
 *      - or at the latest max_delay_ms after the first change, when changes
 *      never pause - it records one run.
 *   3. Every run is dsr_ingest_run_paths with DSR_INGEST_EMIT_CHANGED and
 *      DSR_INGEST_SKIP_UNCHANGED added to the caller's flags: the events of
 *      `dossier scan --emit changed` (indexed, missing, removed), the
 *      projections and one delivery window, exactly as after a scan; a
 *      rescan that finds the tree as the latest snapshot has it (a chmod, a
 *      touch, a same-content rewrite, an editor's temp file come and gone)
 *      records nothing.  After the starting scan a run covers only the
 *      paths the events named (a folder: all below it) and takes the rest
 *      of the tree from the previous run's result, which the watcher keeps;
 *      it scans the whole tree (stat-only for unchanged files) after lost
 *      events, on a poll, after a failed run, while the tree holds a file
 *      reached through a symlink, and once the paths scanned since the
 *      last whole-tree run outnumber the tree's files (docs/watch.md).
 *   4. dsr_watch_stop (from a signal handler or another thread) ends
 *      dsr_watch_run once the run under way, if any, is recorded.
 *
 * Fallbacks (each reported once through on_note, then silently kept up):
 *   - the kernel's event queue overflowed (IN_Q_OVERFLOW, more than
 *     fs.inotify.max_queued_events pending): events were lost, so the
 *     folders are watched afresh and the whole tree rescanned;
 *   - the watch limit is reached (fs.inotify.max_user_watches) or a folder
 *     cannot be watched (no permission): the tree is rescanned every
 *     poll_ms (stat-only for unchanged files) and watching retried then.
 *
 * Asking a watcher (opts version 2).  While a watcher runs, the log is
 * locked to other writers; a scan that finds it so can instead ask the
 * watcher for a run (dsr_watch_ask, through a socket in the log folder that
 * only the log's owner can reach).  The watcher first takes every file-system
 * event queued until the request came - inotify queues an event within the
 * system call that made the change, so every change made before the asking
 * is among them - then records a run over the changed paths, as in step 3
 * but recorded even when nothing changed (as `dossier scan --emit changed`
 * records one), and answers with what its on_request callback made of the
 * run.  The callback chooses the run's events: those of `scan --emit
 * changed` (DSR_WATCH_RUN_CHANGED), or those of a full scan
 * (DSR_WATCH_RUN_FULL: an artifact_indexed for every present artifact of
 * the tree, the unchanged ones taken from the watcher's last run), and
 * with DSR_WATCH_RUN_REHASH or'ed in, a run over the whole tree that reads
 * every file.  The asker gets the run without walking or stat'ing the
 * tree; what the watching cannot see (see docs/watch.md) the answer cannot
 * either, except in a DSR_WATCH_RUN_REHASH run.  A callback that needs the
 * log meanwhile (a delivery window for the asker) has dsr_watch_log.
 *
 * Conventions as in dossier/ingest.h: versioned options with an _INIT
 * macro, nothing printed, failures are a negative DSR_E* code and a
 * dsr_err naming the object.  Thread-safety: one thread runs a dsr_watch;
 * dsr_watch_stop may be called from any thread or a signal handler.
 */
#ifndef DOSSIER_WATCH_H
#define DOSSIER_WATCH_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dossier/buf.h"
#include "dossier/error.h"
#include "dossier/ingest.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSR_WATCH_DEBOUNCE_DEFAULT_MS 200
#define DSR_WATCH_POLL_DEFAULT_MS     2000

/* What a fallback was about (see above). */
typedef enum dsr_watch_note_kind {
    DSR_WATCH_NOTE_OVERFLOW = 0,  /* events lost: the whole tree rescanned */
    DSR_WATCH_NOTE_LIMIT,         /* fs.inotify.max_user_watches reached: polling */
    DSR_WATCH_NOTE_UNWATCHABLE,   /* a folder cannot be watched: polling */
    DSR_WATCH_NOTE_COUNT
} dsr_watch_note_kind;

/* What led to a run, for the caller's display. */
typedef struct dsr_watch_run_info {
    uint64_t runs;        /* runs so far, this one included (the starting scan is 1) */
    int      starting;    /* 1: the starting scan */
    int      fallback;    /* 1: a rescan after lost events or a poll (see above) */
    uint64_t fs_events;   /* file-system events folded into this run */
    double   latency_s;   /* from the first of them to the run's end (0: starting scan) */
    /* Added for runs over the changed paths: 1 when this run scanned only
     * the paths the events named (n_paths of them, after merging), 0 when
     * it scanned the whole tree (see step 3). */
    int      paths_only;
    uint64_t n_paths;
} dsr_watch_run_info;

/* After every run, recorded or not (rep->unchanged), on the thread of
 * dsr_watch_run.  rep and info are valid during the call only.  Events are
 * not read while it runs: they queue in the kernel (a callback that blocks
 * long enough lets the queue overflow, which the watcher then recovers
 * from as above). */
typedef void (*dsr_watch_run_fn)(void *ctx, const dsr_ingest_report *rep,
                                 const dsr_watch_run_info *info);
/* The first time a fallback of a kind happens; msg names the folder or the
 * limit and what is done about it. */
typedef void (*dsr_watch_note_fn)(void *ctx, dsr_watch_note_kind kind, const char *msg);

/* The name of the answering socket in the log folder. */
#define DSR_WATCH_SOCKET "watch.sock"

/* The answer to one dsr_watch_ask: an exit status and the text the asking
 * command prints.  Release with dsr_watch_reply_free. */
typedef struct dsr_watch_reply {
    int     exit_code;
    dsr_buf out;         /* for its standard output */
    dsr_buf err;         /* for its standard error */
} dsr_watch_reply;

#define DSR_WATCH_REPLY_INIT { 0, DSR_BUF_INIT, DSR_BUF_INIT }

/* What a request callback (rep == NULL) asks for: an answer at once, or a
 * run recorded now with the events of `scan --emit changed` or of a full
 * scan, to which DSR_WATCH_RUN_REHASH may be or'ed: that run covers the
 * whole tree and reads every file, ignoring the scan cache, as
 * DSR_INGEST_REHASH (`scan --rehash` and `--verify-cache`; its report lists
 * the stale entries found).  (DSR_WATCH_RUN_FULL and DSR_WATCH_RUN_REHASH
 * were added after the first version of the callback, whose 1 keeps its
 * meaning.) */
enum {
    DSR_WATCH_ANSWER_NOW = 0,
    DSR_WATCH_RUN_CHANGED = 1,
    DSR_WATCH_RUN_FULL = 2,
    DSR_WATCH_RUN_REHASH = 4
};

/* A request (req, len bytes: the asker's own format, which the library does
 * not read) on the thread of dsr_watch_run, called twice:
 *   rep == NULL: before anything is done for it: return DSR_WATCH_RUN_CHANGED
 *                or DSR_WATCH_RUN_FULL (with DSR_WATCH_RUN_REHASH or'ed, or
 *                not) to have a run recorded for it now, or
 *                DSR_WATCH_ANSWER_NOW to answer at once with *reply as the
 *                callback filled it in (a request it cannot serve; any
 *                other value is answered so, with exit status 3);
 *   rep != NULL: after that run (rep and info as on_run sees them, on_run
 *                having been called first): fill in *reply (the value
 *                returned is not used).
 * A run that fails is answered by the library (exit status 3 and the
 * error's message) and ends dsr_watch_run as any failed run does. */
typedef int (*dsr_watch_request_fn)(void *ctx, const void *req, size_t len,
                                    const dsr_ingest_report *rep,
                                    const dsr_watch_run_info *info, dsr_watch_reply *reply);

#define DSR_WATCH_OPTS_VERSION 2

typedef struct dsr_watch_opts {
    unsigned               version;      /* DSR_WATCH_OPTS_VERSION */
    /* The scan of every run (root required; its log_dir and DSR_INGEST_WAIT
     * choose the log and how it is opened).  Copied by dsr_watch_open; what
     * it points to (root, manifest, ...) must live until dsr_watch_free. */
    const dsr_ingest_opts *ingest;
    unsigned               debounce_ms;  /* quiet period; 0: DSR_WATCH_DEBOUNCE_DEFAULT_MS */
    unsigned               max_delay_ms; /* 0: 10 x debounce, at least 2000 */
    unsigned               poll_ms;      /* fallback rescan period; 0: DSR_WATCH_POLL_DEFAULT_MS */
    dsr_watch_run_fn       on_run;       /* or NULL */
    void                  *on_run_ctx;
    dsr_watch_note_fn      on_note;      /* or NULL */
    void                  *on_note_ctx;
    /* Version 2.  Non-NULL: the watcher answers dsr_watch_ask (see "Asking
     * a watcher"); NULL: nobody can ask it. */
    dsr_watch_request_fn   on_request;
    void                  *on_request_ctx;
} dsr_watch_opts;

#ifdef __cplusplus
#define DSR_WATCH_OPTS_INIT { DSR_WATCH_OPTS_VERSION }
#else
#define DSR_WATCH_OPTS_INIT { .version = DSR_WATCH_OPTS_VERSION }
#endif

typedef struct dsr_watch dsr_watch;

/* Step 1: open the log (locked) and watch the tree.  *out is released with
 * dsr_watch_free.  Returns 0, or:
 *   DSR_EINVAL   bad options or version, no ingest options or root
 *   DSR_EIO      the root is not a folder; the log cannot be opened; no
 *                inotify instance (fs.inotify.max_user_instances reached)
 *   DSR_ELOCKED  another writer holds the log (without DSR_INGEST_WAIT)
 *   DSR_ENOMEM
 * Folders that cannot be watched are not an error (see Fallbacks). */
DSR_API int  dsr_watch_open(const dsr_watch_opts *opts, dsr_watch **out, dsr_err *err);

/* Steps 2-4: runs until dsr_watch_stop, then returns 0.  A run that fails
 * ends it with that run's code (see dsr_ingest_run; the mission root gone
 * is DSR_EIO) and err naming the object; runs recorded before stay. */
DSR_API int  dsr_watch_run(dsr_watch *w, dsr_err *err);

/* Ask dsr_watch_run to return.  Async-signal-safe; may come before
 * dsr_watch_run (which then records only the starting scan). */
DSR_API void dsr_watch_stop(dsr_watch *w);

/* Close the log (releasing the writer lock) and the watches.  NULL is fine. */
DSR_API void dsr_watch_free(dsr_watch *w);

/* The log the watcher holds, from dsr_watch_open to dsr_watch_free, for a
 * callback that reads it or runs a delivery window on it (an asked scan's
 * --deliver: dsr_deliver_after_scan), on the thread of dsr_watch_run only.
 * The watcher keeps it: never closed by the caller.  NULL for NULL.
 * (Added after the first version of this header.) */
DSR_API dsr_log *dsr_watch_log(dsr_watch *w);

/* Ask the watcher of the log in log_dir for a run (see "Asking a watcher"):
 * send req (len bytes, at most 64 KiB) and wait for the answer, which may
 * take as long as the run.  Returns 0 with *reply filled in (initialised
 * with DSR_WATCH_REPLY_INIT; its buffers are reused), DSR_ENOTFOUND when no
 * watcher answers there (none runs, or it does not answer requests),
 * DSR_EIO when the exchange failed (the watcher stopped before answering),
 * DSR_EINVAL or DSR_ENOMEM. */
DSR_API int  dsr_watch_ask(const char *log_dir, const void *req, size_t len,
                           dsr_watch_reply *reply, dsr_err *err);
DSR_API void dsr_watch_reply_free(dsr_watch_reply *r);   /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif

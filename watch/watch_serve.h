/*
 * watch_serve.h - the watcher's answering socket: where a scan that finds the
 * log locked by a watcher asks it for a run (dossier/watch.h, "Asking a
 * watcher"), and the exchange on one connection.
 *
 * The socket is "watch.sock" in the log folder, which only its owner can
 * enter (the log's folders are 0700), and a connection from another user is
 * closed unanswered (SO_PEERCRED).  Only the log's writer binds it: the
 * watcher holds the log's lock while it exists, so a socket file found at
 * start belongs to a watcher that died, and is replaced.
 *
 * Wire format, both ways little-endian lengths:
 *   request  u32 length, then that many bytes (at most WSERVE_REQ_MAX);
 *   reply    i32 exit code, u32 length + stdout bytes, u32 length + stderr
 *            bytes (each at most WSERVE_OUT_MAX).
 * One request per connection; the watcher closes it after the reply.
 */
#ifndef DOSSIER_WATCH_SERVE_H
#define DOSSIER_WATCH_SERVE_H

#include <stddef.h>

#include "dossier/buf.h"
#include "dossier/error.h"
#include "dossier/watch.h"

#define WSERVE_NAME     DSR_WATCH_SOCKET
#define WSERVE_REQ_MAX  (64u * 1024u)
#define WSERVE_OUT_MAX  (64u * 1024u * 1024u)
/* How long the watcher waits for a connected asker's request, and for a
 * reply to be taken: an asker that stalls must not stall the watching. */
#define WSERVE_IO_TIMEOUT_MS 5000

typedef struct wserve {
    int   fd;        /* listening, non-blocking; -1: none */
    int   bound;     /* 1: fd made the socket file (close removes it) */
    int   dir_fd;    /* the log folder (O_PATH), for a long path's name */
    char *path;      /* the socket's path, for unlinking at close */
} wserve;

/* Bind and listen at <log_dir>/watch.sock.  Returns 0 or DSR_EIO / DSR_ENOMEM
 * naming the socket. */
int  wserve_open(wserve *s, const char *log_dir, dsr_err *err);
/* Stop listening and remove the socket file.  Safe on a zeroed or closed s. */
void wserve_close(wserve *s);

/* A pending connection from this user, with its I/O timeouts set, or -1
 * (none pending, or one refused). */
int  wserve_accept(const wserve *s);
/* Read one request into req.  0, or -1 (short, too long, timed out). */
int  wserve_read_request(int conn, dsr_buf *req);
/* Write the reply.  0, or -1 (the asker went away: nothing else to do). */
int  wserve_write_reply(int conn, const dsr_watch_reply *r);

#endif

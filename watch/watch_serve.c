/*
 * watch_serve.c - the watcher's answering socket, both ends of the exchange
 * (see watch_serve.h for the place, the owner and the wire format).
 *
 * A socket's name must fit in sockaddr_un.sun_path (108 bytes); a log folder
 * with a longer path is reached through /proc/self/fd/N of a descriptor open
 * on the folder, which the kernel resolves like any other path.
 */
#include "watch_serve.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The address of <dir>/watch.sock: the path itself when it fits, else the
 * folder's descriptor dir_fd (which the caller keeps open) seen from /proc.
 * Returns 0, or -1 when neither fits. */
static int addr_of(const char *dir, int dir_fd, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, WSERVE_NAME);
    if (n > 0 && (size_t)n < sizeof a->sun_path)
        return 0;
    if (dir_fd < 0)
        return -1;
    n = snprintf(a->sun_path, sizeof a->sun_path, "/proc/self/fd/%d/%s", dir_fd, WSERVE_NAME);
    return n > 0 && (size_t)n < sizeof a->sun_path ? 0 : -1;
}

static uid_t peer_uid(int fd)
{
    struct ucred cr;
    socklen_t n = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &n) || n != sizeof cr)
        return (uid_t)-1;
    return cr.uid;
}

/* ---- whole reads and writes --------------------------------------------- */

/* Send (out = 1) or receive n bytes whole: 0, or -1 on an error, a timeout
 * or the end of the stream. */
static int whole(int fd, const void *p, size_t n, int out)
{
    char *c = (char *)p;   /* written only when receiving */
    while (n) {
        ssize_t k = out ? send(fd, c, n, MSG_NOSIGNAL) : recv(fd, c, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_all(int fd, const void *p, size_t n) { return whole(fd, p, n, 1); }
static int recv_all(int fd, void *p, size_t n) { return whole(fd, p, n, 0); }

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A u32 length, then that many bytes appended to b (at most max). */
static int recv_block(int fd, dsr_buf *b, uint32_t max)
{
    unsigned char h[4];
    if (recv_all(fd, h, sizeof h))
        return -1;
    uint32_t n = get_u32(h);
    if (n > max || dsr_buf_reserve(b, n))
        return -1;
    if (recv_all(fd, b->data + b->len, n))
        return -1;
    b->len += n;
    b->data[b->len] = '\0';    /* dsr_buf keeps a spare byte for text */
    return 0;
}

static int send_block(int fd, const dsr_buf *b)
{
    unsigned char h[4];
    put_u32(h, (uint32_t)b->len);
    return send_all(fd, h, sizeof h) || (b->len && send_all(fd, b->data, b->len)) ? -1 : 0;
}

/* ---- the watcher's end ---------------------------------------------------- */

int wserve_open(wserve *s, const char *log_dir, dsr_err *err)
{
    s->fd = -1;
    s->bound = 0;
    s->path = NULL;
    if ((s->dir_fd = open(log_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open the log folder", log_dir);
    if (!(s->path = malloc(strlen(log_dir) + sizeof "/" WSERVE_NAME))) {
        wserve_close(s);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log_dir);
    }
    sprintf(s->path, "%s/%s", log_dir, WSERVE_NAME);
    struct sockaddr_un a;
    if (addr_of(log_dir, s->dir_fd, &a)) {
        int rc = dsr_err_set(err, DSR_EIO, "%s: path too long for a socket", s->path);
        wserve_close(s);
        return rc;
    }
    /* The log's lock is held, so a socket left here is a dead watcher's;
     * anything else of that name is not ours to remove. */
    struct stat st;
    if (fstatat(s->dir_fd, WSERVE_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            int rc = dsr_err_set(err, DSR_EIO, "%s: exists and is not a socket; remove it "
                                 "(a watcher answers scans there)", s->path);
            wserve_close(s);    /* nothing bound: the file stays */
            return rc;
        }
        (void)unlinkat(s->dir_fd, WSERVE_NAME, 0);
    }
    int rc = 0;
    if ((s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        rc = dsr_err_errno(err, DSR_EIO, errno, "%s: cannot create a socket", s->path);
    else if (bind(s->fd, (const struct sockaddr *)&a, sizeof a))
        rc = dsr_err_errno(err, DSR_EIO, errno, "%s: cannot bind the socket", s->path);
    else {
        s->bound = 1;    /* the file is ours from here on */
        if (listen(s->fd, 16))
            rc = dsr_err_errno(err, DSR_EIO, errno, "%s: cannot listen", s->path);
    }
    if (rc)
        wserve_close(s);
    return rc;
}

void wserve_close(wserve *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->bound && s->dir_fd >= 0)
        (void)unlinkat(s->dir_fd, WSERVE_NAME, 0);
    s->bound = 0;
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    s->dir_fd = -1;
    free(s->path);
    s->path = NULL;
}

int wserve_accept(const wserve *s)
{
    assert(s->fd >= 0);
    int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return -1;
    struct timeval tv = { WSERVE_IO_TIMEOUT_MS / 1000, (WSERVE_IO_TIMEOUT_MS % 1000) * 1000 };
    if (peer_uid(c) != geteuid()
        || setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)
        || setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv)) {
        close(c);
        return -1;
    }
    return c;
}

int wserve_read_request(int conn, dsr_buf *req)
{
    dsr_buf_reset(req);
    return recv_block(conn, req, WSERVE_REQ_MAX);
}

int wserve_write_reply(int conn, const dsr_watch_reply *r)
{
    unsigned char h[4];
    put_u32(h, (uint32_t)r->exit_code);
    if (r->out.len > WSERVE_OUT_MAX || r->err.len > WSERVE_OUT_MAX)
        return -1;
    return send_all(conn, h, sizeof h) || send_block(conn, &r->out) || send_block(conn, &r->err)
           ? -1 : 0;
}

/* ---- the asker's end ------------------------------------------------------ */

void dsr_watch_reply_free(dsr_watch_reply *r)
{
    if (!r)
        return;
    dsr_buf_free(&r->out);
    dsr_buf_free(&r->err);
}

int dsr_watch_ask(const char *log_dir, const void *req, size_t len, dsr_watch_reply *reply,
                  dsr_err *err)
{
    dsr_err_clear(err);
    if (!log_dir || !*log_dir || !reply || (len && !req))
        return dsr_err_set(err, DSR_EINVAL, "dsr_watch_ask: missing argument");
    if (len > WSERVE_REQ_MAX)
        return dsr_err_set(err, DSR_EINVAL, "dsr_watch_ask: request of %zu bytes (at most %u)",
                           len, WSERVE_REQ_MAX);
    reply->exit_code = 0;
    dsr_buf_reset(&reply->out);
    dsr_buf_reset(&reply->err);
    int dir_fd = -1;
    struct sockaddr_un a;
    if (addr_of(log_dir, -1, &a)) {
        if ((dir_fd = open(log_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            return dsr_err_set(err, DSR_ENOTFOUND, "%s: no watcher answers here", log_dir);
        (void)addr_of(log_dir, dir_fd, &a);
    }
    int rc = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = dsr_err_errno(err, DSR_EIO, errno, "%s: cannot create a socket", log_dir);
    } else if (connect(fd, (const struct sockaddr *)&a, sizeof a)) {
        /* no socket file, or a dead watcher's: nobody to ask */
        rc = errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR
             ? dsr_err_set(err, DSR_ENOTFOUND, "%s: no watcher answers here", log_dir)
             : dsr_err_errno(err, DSR_EIO, errno, "%s/%s: cannot connect", log_dir,
                             WSERVE_NAME);
    } else if (peer_uid(fd) != geteuid()) {
        rc = dsr_err_set(err, DSR_EIO, "%s/%s: the socket belongs to another user; not asked",
                         log_dir, WSERVE_NAME);
    } else {
        unsigned char h[4];
        put_u32(h, (uint32_t)len);
        unsigned char code[4];
        /* the run may take as long as a scan: no timeout here */
        if (send_all(fd, h, sizeof h) || (len && send_all(fd, req, len))
            || recv_all(fd, code, sizeof code)
            || recv_block(fd, &reply->out, WSERVE_OUT_MAX)
            || recv_block(fd, &reply->err, WSERVE_OUT_MAX))
            rc = dsr_err_set(err, DSR_EIO, "%s: the watcher stopped before it answered",
                             log_dir);
        else
            reply->exit_code = (int)(int32_t)get_u32(code);
    }
    if (fd >= 0)
        close(fd);
    if (dir_fd >= 0)
        close(dir_fd);
    return rc;
}

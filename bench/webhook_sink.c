/*
 * webhook_sink.c - a fast loopback HTTP/1.1 receiver for bench/deliver.sh.
 *
 * Single-threaded epoll server: keeps connections alive, reads each POST
 * (headers, then Content-Length bytes of body), answers "204 No Content",
 * and counts requests that carried a webhook-id header and a
 * webhook-signature header.  It does nothing else, so it is not the
 * bottleneck of the benchmark (the Python test receiver would be).
 *
 * Usage: webhook_sink PORT_FILE COUNT_FILE DEADLINE_SECONDS
 * Listens on 127.0.0.1 on a free port, writes the port to PORT_FILE, and on
 * SIGTERM / SIGINT or after the deadline writes "<requests> <signed>" to
 * COUNT_FILE and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536

typedef struct conn {
    int    fd;
    size_t len;
    char   buf[BUF];
} conn;

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static long requests, signed_requests;

/* Consume complete requests in c->buf; returns -1 to close. */
static int serve(conn *c)
{
    static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            return c->len == BUF ? -1 : 0;
        size_t hlen = (size_t)(end - c->buf) + 4;
        size_t clen = 0;
        int has_id = 0, has_sig = 0;
        for (char *p = c->buf; p < end;) {
            char *nl = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
            if (!nl)
                break;
            if (!strncasecmp(p, "content-length:", 15))
                clen = strtoul(p + 15, NULL, 10);
            else if (!strncasecmp(p, "webhook-id:", 11))
                has_id = 1;
            else if (!strncasecmp(p, "webhook-signature:", 18))
                has_sig = 1;
            p = nl + 2;
        }
        if (hlen + clen > BUF)
            return -1;
        if (c->len < hlen + clen)
            return 0;
        requests += has_id;
        signed_requests += has_id && has_sig;
        if (write(c->fd, resp, sizeof resp - 1) != (ssize_t)(sizeof resp - 1))
            return -1;
        memmove(c->buf, c->buf + hlen + clen, c->len - hlen - clen);
        c->len -= hlen + clen;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: webhook_sink PORT_FILE COUNT_FILE DEADLINE_SECONDS\n");
        return 2;
    }
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 512) ||
        getsockname(ls, (struct sockaddr *)&a, &al)) {
        perror("webhook_sink: listen");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *pf = fopen(tmp, "w");
    if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf) || rename(tmp, argv[1])) {
        perror("webhook_sink: port file");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    time_t deadline = time(NULL) + atol(argv[3]);
    struct epoll_event evs[64];
    while (!stop && time(NULL) < deadline) {
        int n = epoll_wait(ep, evs, 64, 200);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = nc };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            ssize_t r;
            int dead = 0;
            while ((r = read(c->fd, c->buf + c->len, BUF - c->len)) > 0) {
                c->len += (size_t)r;
                if (serve(c) < 0) {
                    dead = 1;
                    break;
                }
            }
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                dead = 1;
            if (dead) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c);
            }
        }
    }
    FILE *cf = fopen(argv[2], "w");
    if (cf) {
        fprintf(cf, "%ld %ld\n", requests, signed_requests);
        fclose(cf);
    }
    return 0;
}

/*
 * nats_conn.c - the connection to a NATS server (or cluster) and its
 * JetStream context; turns libnats failures into dsr_err messages.
 *
 * Invariants: a dsr_nats is fully connected or not returned at all; the
 * option strings are copied, so the caller's buffers may go away.  libnats's
 * process-wide state (threads, the NUID generator) is only released by
 * dsr_nats_shutdown(), never by closing one connection, so several dsr_nats
 * may live in one process.
 */
#include "opts_version.h"
#include "mirror.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nats_err_set(dsr_err *err, int code, natsStatus s, jsErrCode jerr, const dsr_nats *n,
                 const char *fmt, ...)
{
    if (!err)
        return code;
    char ctx[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);

    if (s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr)
        return dsr_err_set(err, DSR_ENET,
            "%s: JetStream is not enabled on the NATS server at %s (start nats-server "
            "with -js, or enable jetstream in its configuration)",
            ctx, n && n->url ? n->url : "?");

    /* The thread-local last error usually says more than the status text
     * (the server's error description, the URL that failed...). */
    natsStatus last = NATS_OK;
    const char *detail = nats_lib.nats_GetLastError(&last);
    const char *text = nats_lib.natsStatus_GetText(s);
    /* libnats prefixes its detail with the source location, "(conn.c:2088): ". */
    if (detail && detail[0] == '(') {
        const char *close = strstr(detail, "): ");
        if (close)
            detail = close + 3;
    }
    char jbuf[48] = "";
    if (jerr)
        snprintf(jbuf, sizeof jbuf, " (JetStream error %d)", (int)jerr);
    if (detail && *detail && strcmp(detail, text) != 0)
        return dsr_err_set(err, code, "%s: %s%s: %s", ctx, text, jbuf, detail);
    return dsr_err_set(err, code, "%s: %s%s", ctx, text, jbuf);
}

/* Split a comma-separated URL list into natsOptions_SetServers's array. */
static natsStatus set_servers(natsOptions *no, const char *url, dsr_err *err)
{
    char *copy = strdup(url);
    if (!copy)
        return NATS_NO_MEMORY;
    const char *list[32];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (n == (int)(sizeof list / sizeof list[0])) {
            free(copy);
            dsr_err_set(err, DSR_EINVAL, "--nats: more than 32 URLs given");
            return NATS_INVALID_ARG;
        }
        list[n++] = tok;
    }
    natsStatus s = n ? nats_lib.natsOptions_SetServers(no, list, n) : NATS_INVALID_ARG;
    if (n == 0)
        dsr_err_set(err, DSR_EINVAL, "--nats: no URL given");
    free(copy);
    return s;
}

/* libnats reads the credentials file with a blocking open: a FIFO or a
 * device there would hang the command.  Check it is a regular file first
 * (opened non-blocking; links are followed, as mounted secrets often are). */
static int creds_file_check(const char *path, dsr_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return dsr_err_errno(err, DSR_EINVAL, errno, "NATS credentials file %s", path);
    struct stat sb;
    int rc = fstat(fd, &sb);
    int e = errno;
    close(fd);
    if (rc != 0)
        return dsr_err_errno(err, DSR_EIO, e, "NATS credentials file %s", path);
    if (!S_ISREG(sb.st_mode))
        return dsr_err_set(err, DSR_EINVAL, "NATS credentials file %s is not a regular file (%s)",
                           path, S_ISFIFO(sb.st_mode) ? "a FIFO" : S_ISDIR(sb.st_mode)
                           ? "a folder" : S_ISSOCK(sb.st_mode) ? "a socket" : "a device");
    return 0;
}

int dsr_nats_connect(dsr_nats **out, const dsr_nats_opts *o, dsr_err *err)
{
    *out = NULL;
    int vrc = opts_version_check(o->version, DSR_NATS_OPTS_VERSION, "dsr_nats_opts",
                                 "DSR_NATS_OPTS_INIT", err);
    if (vrc)
        return vrc;
    const char *stream = o->stream ? o->stream : DSR_NATS_DEFAULT_STREAM;
    const char *prefix = o->subject_prefix ? o->subject_prefix : DSR_NATS_DEFAULT_PREFIX;
    if (!o->url || !*o->url)
        return dsr_err_set(err, DSR_EINVAL, "no NATS URL given");
    if (!nats_name_valid(stream))
        return dsr_err_set(err, DSR_EINVAL,
            "stream name '%s' is not valid (letters, digits, '_' and '-' only)", stream);
    if (!nats_prefix_valid(prefix))
        return dsr_err_set(err, DSR_EINVAL,
            "subject prefix '%s' is not valid (dot-separated tokens of letters, digits, "
            "'_' and '-'; no wildcards)", prefix);

    if (o->creds_file) {
        int rc = creds_file_check(o->creds_file, err);
        if (rc < 0)
            return rc;
    }
    int lrc = nats_lib_load(err);
    if (lrc < 0)
        return lrc;

    dsr_nats *n = calloc(1, sizeof *n);
    if (!n)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    n->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    /* n->url is what messages, reports and the publish cursor's key show:
     * the server list with every user:password and token masked.  The real
     * URL goes to libnats only. */
    if (!(n->url = url_redact_list(o->url)) || !(n->stream = strdup(stream)) ||
        !(n->prefix = strdup(prefix))) {
        dsr_nats_close(n);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }

    natsOptions *no = NULL;
    dsr_err_clear(err);
    natsStatus s = nats_lib.natsOptions_Create(&no);
    if (s == NATS_OK)
        s = set_servers(no, o->url, err);
    if (s == NATS_OK)
        s = nats_lib.natsOptions_SetTimeout(no, n->timeout_ms);
    if (s == NATS_OK && o->client_name)
        s = nats_lib.natsOptions_SetName(no, o->client_name);
    if (s == NATS_OK && o->creds_file)
        s = nats_lib.natsOptions_SetUserCredentialsFromFiles(no, o->creds_file, NULL);
    /* A one-shot command rides out a short server restart (about a minute);
     * a --follow daemon never gives up. */
    if (s == NATS_OK)
        s = nats_lib.natsOptions_SetMaxReconnect(no, o->reconnect_forever ? -1 : 120);
    if (s == NATS_OK)
        s = nats_lib.natsOptions_SetReconnectWait(no, 500);
    if (s != NATS_OK) {
        int code = err && err->code ? err->code : DSR_EINVAL;
        if (!(err && err->code))
            nats_err_set(err, code, s, 0, n, "NATS options for %s", n->url);
        nats_lib.natsOptions_Destroy(no);
        dsr_nats_close(n);
        return code;
    }
    s = nats_lib.natsConnection_Connect(&n->nc, no);
    nats_lib.natsOptions_Destroy(no);
    if (s != NATS_OK) {
        nats_err_set(err, DSR_ENET, s, 0, n, "cannot connect to NATS at %s", n->url);
        dsr_nats_close(n);
        return DSR_ENET;
    }

    jsOptions jo;
    nats_lib.jsOptions_Init(&jo);
    jo.Wait = n->timeout_ms;
    s = nats_lib.natsConnection_JetStream(&n->js, n->nc, &jo);
    if (s != NATS_OK) {
        nats_err_set(err, DSR_ENET, s, 0, n, "JetStream context on %s", n->url);
        dsr_nats_close(n);
        return DSR_ENET;
    }
    *out = n;
    return 0;
}

void dsr_nats_close(dsr_nats *n)
{
    if (!n)
        return;
    /* A dsr_nats that holds a context or a connection was made after
     * libnats loaded; one closed on an early failure holds neither. */
    if (n->js)
        nats_lib.jsCtx_Destroy(n->js);
    if (n->nc) {
        /* Flush so acks and the last publishes leave before the socket closes. */
        nats_lib.natsConnection_FlushTimeout(n->nc, 2000);
        nats_lib.natsConnection_Destroy(n->nc);
    }
    free(n->url);
    free(n->stream);
    free(n->prefix);
    free(n);
}

const char *dsr_nats_stream_name(const dsr_nats *n)    { return n->stream; }
const char *dsr_nats_subject_prefix(const dsr_nats *n) { return n->prefix; }
const char *dsr_nats_url(const dsr_nats *n)            { return n->url; }

void dsr_nats_shutdown(int64_t timeout_ms)
{
    /* Nothing to release when no connection was ever made. */
    if (nats_lib_loaded())
        nats_lib.nats_CloseAndWait(timeout_ms > 0 ? timeout_ms : 0);
}

/*
 * deliver_http.c - the libcurl client that POSTs envelopes to one endpoint.
 *
 * Owns: a curl multi handle and `parallel` easy handles ("slots") that are
 * reused request after request, so connections stay alive (the multi
 * handle's connection cache keeps at most `parallel` of them).  Options that
 * never change are set once per slot; per request only the body and the
 * header list change.
 *
 * Safety rules kept here: TLS peer and host verification always on (a CA
 * bundle may be given for private CAs); redirects are never followed (a 3xx
 * is an answer, and the policy dead-letters it); only http and https;
 * response bodies are read up to RESP_CAP bytes, then the transfer is
 * aborted, and only the first bytes are kept (printable ASCII) for messages.
 *
 * "Got a status" means the whole header block of a final response arrived.
 * A connection closed in the middle of the headers is a network error (the
 * event is retried); a 2xx whose body is cut short or times out counts as
 * the receiver's answer (it has accepted the event).
 *
 * Thread-safety: one thread owns a http_client and calls every function.
 */
#include "deliver_http.h"
#include "http_lib.h"
#include "url.h"
#include "dossier/version.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESP_CAP (64 * 1024)

typedef struct slot {
    CURL              *easy;
    struct curl_slist *headers;
    dsr_buf            body;
    void              *user;
    int                busy;
    int                headers_done;   /* final response's header block complete */
    long               header_status;  /* status of the response being read */
    int                capped;         /* aborted: body longer than RESP_CAP */
    size_t             resp_total;
    size_t             resp_keep;
    char               resp[160];
    int                retry_after_set;
    char               retry_after[64];
    char               errbuf[CURL_ERROR_SIZE];
} slot;

struct http_client {
    CURLM    *multi;
    slot     *slots;
    unsigned  n, busy;
    int       global_init;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t n = size * nmemb;
    s->resp_total += n;
    if (s->resp_keep < sizeof s->resp - 1) {
        size_t take = sizeof s->resp - 1 - s->resp_keep;
        if (take > n)
            take = n;
        memcpy(s->resp + s->resp_keep, ptr, take);
        s->resp_keep += take;
        s->resp[s->resp_keep] = '\0';
    }
    if (s->resp_total > RESP_CAP) {
        s->capped = 1;
        return 0;  /* CURLE_WRITE_ERROR: stop reading a runaway body */
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t n = size * nmemb;
    if (n >= 5 && !memcmp(ptr, "HTTP/", 5)) {
        /* A new response (after a 1xx, or the first): forget the last one. */
        const char *sp = memchr(ptr, ' ', n);
        s->header_status = sp ? strtol(sp + 1, NULL, 10) : 0;
        s->headers_done = 0;
        s->retry_after_set = 0;
        s->retry_after[0] = '\0';
        return n;
    }
    if ((n == 2 && ptr[0] == '\r' && ptr[1] == '\n') || (n == 1 && ptr[0] == '\n')) {
        if (s->header_status >= 200)
            s->headers_done = 1;
        return n;
    }
    static const char ra[] = "retry-after:";
    if (n > sizeof ra - 1 && !strncasecmp(ptr, ra, sizeof ra - 1)) {
        const char *v = ptr + sizeof ra - 1;
        size_t vl = n - (sizeof ra - 1);
        while (vl && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof s->retry_after)
            vl = sizeof s->retry_after - 1;
        memcpy(s->retry_after, v, vl);
        s->retry_after[vl] = '\0';
        s->retry_after_set = 1;
    }
    return n;
}

static int setup_slot(slot *s, const http_opts *o, dsr_err *err)
{
    s->easy = http_lib.curl_easy_init();
    if (!s->easy)
        return dsr_err_set(err, DSR_ENOMEM, "libcurl: cannot create a handle");
    long timeout = o->timeout_ms > LONG_MAX ? LONG_MAX : (long)o->timeout_ms;
    long connect = timeout < 10000 ? timeout : 10000;
    CURLcode c = CURLE_OK;
#define SET(opt, val) if (c == CURLE_OK) c = http_lib.curl_easy_setopt(s->easy, opt, val)
    SET(CURLOPT_URL, o->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_USERAGENT, "dossier/" DSR_VERSION_STRING);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->cacert)
        SET(CURLOPT_CAINFO, o->cacert);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, s);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, s);
    SET(CURLOPT_ERRORBUFFER, s->errbuf);
    SET(CURLOPT_PRIVATE, s);
#undef SET
    if (c != CURLE_OK)
        return dsr_err_set(err, DSR_EIO, "libcurl: %s", http_lib.curl_easy_strerror(c));
    return 0;
}

int http_url_check(const char *url, const char *what, dsr_err *err)
{
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return dsr_err_set(err, DSR_EINVAL, "%s: the URL must start with http:// or https://",
                           what);
    int lrc = http_lib_load(err);
    if (lrc < 0)
        return lrc;
    CURLU *u = http_lib.curl_url();
    if (!u)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", what);
    /* libcurl's own parser, the one the request will use: a URL it cannot
     * send to (no host, a space, a bad port or IPv6 literal) fails here,
     * when the endpoint is saved, not at every delivery. */
    CURLUcode c = http_lib.curl_url_set(u, CURLUPART_URL, url, 0);
    char *host = NULL;
    if (c == CURLUE_OK)
        c = http_lib.curl_url_get(u, CURLUPART_HOST, &host, 0);
    int empty = c == CURLUE_OK && (!host || !*host);
    http_lib.curl_free(host);
    http_lib.curl_url_cleanup(u);
    if (c != CURLUE_OK || empty) {
        char *shown = url_redact(url);
        int rc = dsr_err_set(err, DSR_EINVAL, "%s: '%s' is not a valid URL (%s)", what,
                             shown ? shown : "?", empty ? "no host" : http_lib.curl_url_strerror(c));
        free(shown);
        return rc;
    }
    return 0;
}

void http_client_free(http_client *h)
{
    if (!h)
        return;
    for (unsigned i = 0; h->slots && i < h->n; i++) {
        slot *s = &h->slots[i];
        if (s->busy)
            http_lib.curl_multi_remove_handle(h->multi, s->easy);
        if (s->easy)
            http_lib.curl_easy_cleanup(s->easy);
        http_lib.curl_slist_free_all(s->headers);
        dsr_buf_free(&s->body);
    }
    free(h->slots);
    if (h->multi)
        http_lib.curl_multi_cleanup(h->multi);
    if (h->global_init)
        http_lib.curl_global_cleanup();
    free(h);
}

int http_client_create(http_client **out, const http_opts *o, dsr_err *err)
{
    *out = NULL;
    int urc = http_url_check(o->url, "endpoint URL", err);
    if (urc < 0)
        return urc;
    if (o->parallel < 1)
        return dsr_err_set(err, DSR_EINVAL, "concurrency must be at least 1");
    http_client *h = calloc(1, sizeof *h);
    if (!h)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    /* Reference-counted by libcurl and thread-safe since 7.84. */
    if (http_lib.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(h);
        return dsr_err_set(err, DSR_EIO, "libcurl: global initialisation failed");
    }
    h->global_init = 1;
    h->n = o->parallel;
    h->slots = calloc(h->n, sizeof *h->slots);
    h->multi = http_lib.curl_multi_init();
    if (!h->slots || !h->multi) {
        http_client_free(h);
        return dsr_err_set(err, DSR_ENOMEM, "libcurl: out of memory");
    }
    http_lib.curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->n);
    http_lib.curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->n);
    for (unsigned i = 0; i < h->n; i++) {
        int rc = setup_slot(&h->slots[i], o, err);
        if (rc < 0) {
            http_client_free(h);
            return rc;
        }
    }
    *out = h;
    return 0;
}

unsigned http_client_idle_slots(const http_client *h)
{
    return h->n - h->busy;
}

unsigned http_client_inflight(const http_client *h)
{
    return h->busy;
}

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = http_lib.curl_slist_append(*list, line);
    if (!l)
        return -1;
    *list = l;
    return 0;
}

int http_client_post(http_client *h, void *user, const char *event_id, int64_t timestamp,
                  const char *signature, dsr_buf *body, dsr_err *err)
{
    slot *s = NULL;
    for (unsigned i = 0; i < h->n; i++)
        if (!h->slots[i].busy) {
            s = &h->slots[i];
            break;
        }
    if (!s)
        return dsr_err_set(err, DSR_EINVAL, "no idle HTTP slot");
    char line[128];
    struct curl_slist *hl = NULL;
    int bad = add_header(&hl, "Content-Type: application/json");
    /* curl would send "Expect: 100-continue" for larger bodies and wait a
     * round trip for the go-ahead; webhook receivers answer at once. */
    bad = bad || add_header(&hl, "Expect:");
    snprintf(line, sizeof line, "webhook-id: %s", event_id);
    bad = bad || add_header(&hl, line);
    snprintf(line, sizeof line, "webhook-timestamp: %" PRId64, timestamp);
    bad = bad || add_header(&hl, line);
    if (signature) {
        snprintf(line, sizeof line, "webhook-signature: %s", signature);
        bad = bad || add_header(&hl, line);
    }
    if (bad) {
        http_lib.curl_slist_free_all(hl);
        return dsr_err_set(err, DSR_ENOMEM, "event %s: out of memory", event_id);
    }
    /* Take the body's memory; it must outlive the transfer (POSTFIELDS is
     * not copied). */
    dsr_buf_free(&s->body);
    s->body = *body;
    body->data = NULL;
    body->len = body->cap = 0;
    http_lib.curl_slist_free_all(s->headers);
    s->headers = hl;
    s->user = user;
    s->headers_done = 0;
    s->header_status = 0;
    s->capped = 0;
    s->resp_total = s->resp_keep = 0;
    s->resp[0] = '\0';
    s->retry_after_set = 0;
    s->retry_after[0] = '\0';
    s->errbuf[0] = '\0';
    CURLcode c = http_lib.curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body.len);
    if (c == CURLE_OK)
        c = http_lib.curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data ? s->body.data : "");
    if (c == CURLE_OK)
        c = http_lib.curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    if (c != CURLE_OK)
        return dsr_err_set(err, DSR_EIO, "event %s: libcurl: %s", event_id,
                           http_lib.curl_easy_strerror(c));
    CURLMcode mc = http_lib.curl_multi_add_handle(h->multi, s->easy);
    if (mc != CURLM_OK)
        return dsr_err_set(err, DSR_EIO, "event %s: libcurl: %s", event_id,
                           http_lib.curl_multi_strerror(mc));
    s->busy = 1;
    h->busy++;
    return 0;
}

static void printable(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (size_t i = 0; src[i] && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

static void finish(http_client *h, slot *s, CURLcode code, http_result *r)
{
    long status = 0;
    http_lib.curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    memset(r, 0, sizeof *r);
    r->user = s->user;
    r->curl_code = (int)code;
    r->has_status = s->headers_done && status >= 200;
    r->status = r->has_status ? status : 0;
    if (r->has_status && s->retry_after_set) {
        r->retry_after_set = 1;
        memcpy(r->retry_after, s->retry_after, sizeof r->retry_after);
    }
    if (code != CURLE_OK && !(r->has_status && s->capped)) {
        const char *msg = s->errbuf[0] ? s->errbuf : http_lib.curl_easy_strerror(code);
        char clean[sizeof r->detail];
        printable(clean, sizeof clean, msg);
        snprintf(r->detail, sizeof r->detail, "%.160s%s", clean,
                 r->has_status ? " (after the response headers)" : "");
    } else if (!r->has_status) {
        snprintf(r->detail, sizeof r->detail, "connection closed before the response "
                 "headers were complete");
    } else if (status < 200 || status > 299) {
        char clean[sizeof s->resp];
        printable(clean, sizeof clean, s->resp);
        snprintf(r->detail, sizeof r->detail, "HTTP %ld%s%.160s", status,
                 clean[0] ? ": " : "", clean);
    }
    http_lib.curl_multi_remove_handle(h->multi, s->easy);
    http_lib.curl_slist_free_all(s->headers);
    s->headers = NULL;
    dsr_buf_reset(&s->body);
    s->user = NULL;
    s->busy = 0;
    h->busy--;
}

static size_t collect(http_client *h, http_result *res, size_t max)
{
    size_t n = 0;
    CURLMsg *m;
    int left;
    while (n < max && (m = http_lib.curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        slot *s = NULL;
        http_lib.curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (!s)
            continue;
        finish(h, s, m->data.result, &res[n++]);
    }
    return n;
}

int http_client_poll(http_client *h, int wait_ms, http_result *res, size_t max,
                  size_t *n, dsr_err *err)
{
    *n = 0;
    int running = 0;
    CURLMcode mc = http_lib.curl_multi_perform(h->multi, &running);
    if (mc == CURLM_OK) {
        *n = collect(h, res, max);
        if (*n == 0 && wait_ms > 0) {
            mc = http_lib.curl_multi_poll(h->multi, NULL, 0, wait_ms, NULL);
            if (mc == CURLM_OK)
                mc = http_lib.curl_multi_perform(h->multi, &running);
            if (mc == CURLM_OK)
                *n = collect(h, res, max);
        }
    }
    if (mc != CURLM_OK)
        return dsr_err_set(err, DSR_EIO, "libcurl: %s", http_lib.curl_multi_strerror(mc));
    return 0;
}

size_t http_client_abandon(http_client *h, void **users, size_t max)
{
    size_t k = 0;
    for (unsigned i = 0; i < h->n; i++) {
        slot *s = &h->slots[i];
        if (!s->busy)
            continue;
        if (k < max)
            users[k] = s->user;
        k++;
        http_lib.curl_multi_remove_handle(h->multi, s->easy);
        http_lib.curl_slist_free_all(s->headers);
        s->headers = NULL;
        dsr_buf_reset(&s->body);
        s->user = NULL;
        s->busy = 0;
        h->busy--;
    }
    return k;
}

/*
 * deliver_http.h - private to delivery/: the libcurl client (deliver_http.c).
 *
 * One curl multi handle driving up to `parallel` POSTs to one URL over
 * keep-alive connections.  Single-threaded: the owner calls every function.
 */
#ifndef DOSSIER_DELIVERY_HTTP_H
#define DOSSIER_DELIVERY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/error.h"
#include "buf.h"

typedef struct http_client http_client;

typedef struct http_opts {
    const char *url;
    const char *cacert;        /* or NULL: the system CA store */
    uint64_t    timeout_ms;    /* whole request; connect is min(this, 10 s) */
    unsigned    parallel;      /* >= 1 */
} http_opts;

typedef struct http_result {
    void *user;                /* as given to http_client_post */
    int   has_status;          /* an HTTP status line arrived */
    long  status;
    int   curl_code;           /* CURLcode; 0 when the transfer completed */
    int   retry_after_set;
    char  retry_after[64];     /* the Retry-After header value, trimmed */
    char  detail[200];         /* curl's error text, or the start of the body */
} http_result;

/* 0 when url is http:// or https:// and libcurl's URL parser takes it with
 * a host; else DSR_EINVAL "<what>: '<url, redacted>' is not a valid URL (why)". */
int      http_url_check(const char *url, const char *what, dsr_err *err);
/* Checks the URL (http_url_check).  0, DSR_EINVAL, DSR_ENOMEM, DSR_EIO. */
int      http_client_create(http_client **out, const http_opts *o, dsr_err *err);
void     http_client_free(http_client *h);       /* abandons transfers; NULL is fine */
unsigned http_client_idle_slots(const http_client *h);
unsigned http_client_inflight(const http_client *h);
/* Start a POST.  The body's memory moves into the request (body is left
 * empty).  signature may be NULL (unsigned delivery).  Needs an idle slot. */
int      http_client_post(http_client *h, void *user, const char *event_id, int64_t timestamp,
                       const char *signature, dsr_buf *body, dsr_err *err);
/* Run transfers, waiting at most wait_ms for network activity, and return
 * finished requests (at most max) in res; *n gets how many. */
int      http_client_poll(http_client *h, int wait_ms, http_result *res, size_t max,
                       size_t *n, dsr_err *err);
/* Drop every transfer in flight (the requests may or may not have reached
 * the receiver); their user pointers go to users (up to max).  Returns the
 * number dropped. */
size_t   http_client_abandon(http_client *h, void **users, size_t max);

#endif

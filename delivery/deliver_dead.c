/*
 * deliver_dead.c - dead letters: the list `dossier deliveries --dead` shows
 * and the re-queue of `dossier deliveries --retry`, which moves every dead
 * letter of an endpoint back to pending in one batch (all or none).
 */
#include "deliver.h"
#include "array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dead_ctx {
    const char      *endpoint;
    dsr_dead_letter *v;
    size_t           n, cap;
} dead_ctx;

static int dead_one(void *ctx, const dentry *d, dsr_err *err)
{
    dead_ctx *c = ctx;
    if (ARRAY_RESERVE1(c->v, c->n, c->cap, 16))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    dsr_dead_letter *x = &c->v[c->n];
    memset(x, 0, sizeof *x);
    snprintf(x->endpoint, sizeof x->endpoint, "%s", c->endpoint);
    x->seq = d->seq;
    memcpy(x->event_id, d->event_id, sizeof x->event_id);
    x->attempts = d->attempts;
    x->last_status = d->last_status;
    x->first_ms = d->first_ms;
    x->dead_ms = d->dead_ms;
    x->feature = strdup(d->feature);
    x->reason = strdup(d->reason);
    c->n++;
    if (!x->feature || !x->reason)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    return 0;
}

void dsr_dead_list_free(dsr_dead_letter *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i].feature);
        free(list[i].reason);
    }
    free(list);
}

int dsr_dead_list(const char *logdir, const char *endpoint, dsr_dead_letter **out, size_t *n,
                  dsr_err *err)
{
    *out = NULL;
    *n = 0;
    dstate *st = NULL;
    int rc = dstate_open(&st, logdir, DSTATE_RDONLY, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return endpoint ? dsr_err_set(err, DSR_ENOTFOUND, "no endpoint named '%s'", endpoint) : 0;
    }
    if (rc < 0)
        return rc;
    dsr_endpoint_info *eps = NULL;
    size_t k = 0;
    dead_ctx c = { NULL, NULL, 0, 0 };
    rc = dstate_list_endpoints(st, &eps, &k, err);
    int found = 0;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        if (endpoint && strcmp(endpoint, eps[i].name))
            continue;
        found = 1;
        c.endpoint = eps[i].name;
        rc = dstate_scan(st, DK_DEAD, eps[i].name, 0, dead_one, &c, err);
    }
    if (rc == 0 && endpoint && !found)
        rc = dsr_err_set(err, DSR_ENOTFOUND, "no endpoint named '%s'", endpoint);
    dsr_endpoint_list_free(eps, k);
    dstate_close(st);
    if (rc < 0) {
        dsr_dead_list_free(c.v, c.n);
        return rc;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

typedef struct requeue_ctx {
    dbatch *b;
    const char *endpoint;
    size_t      n;
} requeue_ctx;

static int requeue_one(void *ctx, const dentry *d, dsr_err *err)
{
    requeue_ctx *c = ctx;
    dentry q = *d;
    q.attempts = 0;
    q.first_ms = 0;
    q.next_ms = 0;
    q.dead_ms = 0;
    q.reason = "re-queued from the dead letters";
    if (dbatch_put_entry(c->b, DK_PENDING, c->endpoint, &q) < 0)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    dbatch_del_entry(c->b, DK_DEAD, c->endpoint, d->seq);
    c->n++;
    return 0;
}

int dsr_dead_retry(const char *logdir, const char *endpoint, size_t *requeued, dsr_err *err)
{
    if (requeued)
        *requeued = 0;
    dstate *st = NULL;
    int rc = dstate_open(&st, logdir, DSTATE_NOCREATE, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return endpoint ? dsr_err_set(err, DSR_ENOTFOUND, "no endpoint named '%s'", endpoint) : 0;
    }
    if (rc < 0)
        return rc;
    dsr_endpoint_info *eps = NULL;
    size_t k = 0;
    requeue_ctx c = { dbatch_new(st), NULL, 0 };
    if (!c.b)
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
    if (rc == 0)
        rc = dstate_list_endpoints(st, &eps, &k, err);
    int found = 0;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        if (endpoint && strcmp(endpoint, eps[i].name))
            continue;
        found = 1;
        c.endpoint = eps[i].name;
        rc = dstate_scan(st, DK_DEAD, eps[i].name, 0, requeue_one, &c, err);
    }
    if (rc == 0 && endpoint && !found)
        rc = dsr_err_set(err, DSR_ENOTFOUND, "no endpoint named '%s'", endpoint);
    if (rc == 0 && c.n > 0) {
        /* One batch: either every dead letter moves or none does. */
        rc = dbatch_commit(c.b, err);
        c.b = NULL;
    }
    dbatch_free(c.b);
    dsr_endpoint_list_free(eps, k);
    dstate_close(st);
    if (rc == 0 && requeued)
        *requeued = c.n;
    return rc;
}

/*
 * deliver_endpoints.c - everything around a delivery run: saved endpoints
 * (add / remove / enable / list), counts for `dossier deliveries` and
 * `dossier status`, dead letters (list / re-queue), and the bounded delivery
 * window that `dossier scan` opens after its last commit.
 *
 * Each public function opens the delivery state for just the time it needs:
 * writers (add, remove, enable, retry) take the state's lock and fail with
 * DSR_ELOCKED while a `dossier deliver` runs; readers (list, stats, dead)
 * open it read-only and never wait.  Secrets are never read here except to
 * check, when an endpoint is saved, that its secret file parses.
 */
#include "deliver.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------ */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void dsr_endpoint_adhoc_name(const char *url, const char *const *features, size_t nf,
                             const char *const *types, size_t nt,
                             char out[DSR_ENDPOINT_NAME_MAX + 1])
{
    /* Filters are sorted (and types canonicalised) so the same selection
     * written in another order maps to the same endpoint.  Unknown types
     * hash as written; the run rejects them anyway. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[32];
    unsigned int hl = 0;
    const char **fv = nf ? malloc(nf * sizeof *fv) : NULL;
    const char **tv = nt ? malloc(nt * sizeof *tv) : NULL;
    int ok = md && (!nf || fv) && (!nt || tv) &&
             EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    if (ok) {
        for (size_t i = 0; i < nf; i++)
            fv[i] = features[i];
        for (size_t i = 0; i < nt; i++) {
            dsr_event_type t;
            tv[i] = dsr_event_type_parse(types[i], strlen(types[i]), &t) == 0
                  ? dsr_event_type_name(t) : types[i];
        }
        if (nf)
            qsort(fv, nf, sizeof *fv, cmp_cstr);
        if (nt)
            qsort(tv, nt, sizeof *tv, cmp_cstr);
        ok = EVP_DigestUpdate(md, url, strlen(url) + 1) == 1;
        for (size_t i = 0; ok && i < nf; i++)
            ok = EVP_DigestUpdate(md, "f", 1) == 1 &&
                 EVP_DigestUpdate(md, fv[i], strlen(fv[i]) + 1) == 1;
        for (size_t i = 0; ok && i < nt; i++)
            ok = EVP_DigestUpdate(md, "t", 1) == 1 &&
                 EVP_DigestUpdate(md, tv[i], strlen(tv[i]) + 1) == 1;
        ok = ok && EVP_DigestFinal_ex(md, h, &hl) == 1;
    }
    if (!ok) {
        /* Out of memory in the digest: fall back to FNV-1a of the URL alone,
         * still deterministic. */
        uint64_t f = UINT64_C(1469598103934665603);
        for (const char *p = url; *p; p++)
            f = (f ^ (unsigned char)*p) * UINT64_C(1099511628211);
        for (int i = 0; i < 8; i++)
            h[i] = (unsigned char)(f >> (8 * i));
        h[8] = h[9] = h[10] = h[11] = 0;
    }
    char hex[25];
    dsr_hex(h, 6, hex);
    snprintf(out, DSR_ENDPOINT_NAME_MAX + 1, "url-%s", hex);
    free(fv);
    free(tv);
    EVP_MD_CTX_free(md);
}

/* ---- add / remove / enable ------------------------------------------------------- */

static int dup_list(char ***dst, size_t *dn, const char *const *src, size_t n)
{
    *dst = NULL;
    *dn = 0;
    if (!n)
        return 0;
    if (!(*dst = calloc(n, sizeof **dst)))
        return DSR_ENOMEM;
    for (size_t i = 0; i < n; i++, (*dn)++)
        if (!((*dst)[i] = strdup(src[i])))
            return DSR_ENOMEM;
    return 0;
}

int dsr_endpoint_add(const char *logdir, const dsr_endpoint_config *cfg, dsr_err *err)
{
    if (!endpoint_name_valid(cfg->name))
        return dsr_err_set(err, DSR_EINVAL, "'%s' is not a valid endpoint name (letters, "
                           "digits, '.', '_', '-'; at most %d)", cfg->name ? cfg->name : "",
                           DSR_ENDPOINT_NAME_MAX);
    if (!strncmp(cfg->name, "url-", 4))
        return dsr_err_set(err, DSR_EINVAL, "endpoint names starting with 'url-' are "
                           "reserved for `dossier deliver --url`");
    if (!cfg->url || (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8)))
        return dsr_err_set(err, DSR_EINVAL, "endpoint %s: the URL must start with http:// "
                           "or https://", cfg->name);
    dsr_endpoint_info ep;
    memset(&ep, 0, sizeof ep);
    snprintf(ep.name, sizeof ep.name, "%s", cfg->name);
    ep.auto_deliver = cfg->auto_deliver;
    int rc = 0;
    if (cfg->secret_file) {
        /* Check now that it parses, so a typo fails here and not in a scan;
         * only the absolute path is stored. */
        dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
        if ((rc = dsr_webhook_secret_load(cfg->secret_file, &s, err)) < 0) {
            /* An unreadable file given on the command line is bad input. */
            if (rc == DSR_EIO && err)
                err->code = DSR_EINVAL;
            return rc == DSR_EIO ? DSR_EINVAL : rc;
        }
        dsr_webhook_secret_clear(&s);
        char abs[PATH_MAX];
        if (!realpath(cfg->secret_file, abs))
            return dsr_err_errno(err, DSR_EIO, errno, "secret file %s", cfg->secret_file);
        if (!(ep.secret_file = strdup(abs)))
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    const char **canon = cfg->n_types ? calloc(cfg->n_types, sizeof *canon) : NULL;
    if (cfg->n_types && !canon) {
        endpoint_info_clear(&ep);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cfg->n_types; i++) {
        dsr_event_type t;
        if (dsr_event_type_parse(cfg->types[i], strlen(cfg->types[i]), &t) < 0) {
            free(canon);
            endpoint_info_clear(&ep);
            return dsr_err_set(err, DSR_EINVAL, "endpoint %s: unknown event type '%s'",
                               cfg->name, cfg->types[i]);
        }
        canon[i] = dsr_event_type_name(t);
    }
    for (size_t i = 0; i < cfg->n_features; i++)
        if (!cfg->features[i][0]) {
            free(canon);
            endpoint_info_clear(&ep);
            return dsr_err_set(err, DSR_EINVAL, "endpoint %s: empty feature slug", cfg->name);
        }
    if (!(ep.url = strdup(cfg->url)) ||
        dup_list(&ep.features, &ep.n_features, cfg->features, cfg->n_features) < 0 ||
        dup_list(&ep.types, &ep.n_types, canon, cfg->n_types) < 0) {
        free(canon);
        endpoint_info_clear(&ep);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    free(canon);
    dstate *st = NULL;
    if ((rc = dstate_open(&st, logdir, 0, err)) == 0) {
        dsr_endpoint_info old;
        rc = dstate_get_endpoint(st, ep.name, &old, err);
        if (rc == 0) {
            endpoint_info_clear(&old);
            rc = dsr_err_set(err, DSR_EINVAL, "endpoint %s already exists (remove it first)",
                             ep.name);
        } else if (rc == DSR_ENOTFOUND) {
            dsr_err_clear(err);
            dbatch *b = dbatch_new(st);
            if (!b || dbatch_put_endpoint(b, &ep) < 0) {
                dbatch_free(b);
                rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
            } else {
                rc = dbatch_commit(b, err);
            }
        }
    }
    dstate_close(st);
    endpoint_info_clear(&ep);
    return rc;
}

static int open_existing_writer(dstate **st, const char *logdir, const char *name,
                                dsr_err *err)
{
    int rc = dstate_open(st, logdir, DSTATE_NOCREATE, err);
    if (rc == DSR_ENOTFOUND)
        return dsr_err_set(err, DSR_ENOTFOUND, "no endpoint named '%s'", name);
    return rc;
}

int dsr_endpoint_remove(const char *logdir, const char *name, dsr_err *err)
{
    dstate *st = NULL;
    int rc = open_existing_writer(&st, logdir, name, err);
    if (rc < 0)
        return rc;
    dsr_endpoint_info ep;
    if ((rc = dstate_get_endpoint(st, name, &ep, err)) == 0) {
        endpoint_info_clear(&ep);
        dbatch *b = dbatch_new(st);
        if (!b || dbatch_drop_endpoint(b, name) < 0) {
            dbatch_free(b);
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        } else {
            rc = dbatch_commit(b, err);
        }
    }
    dstate_close(st);
    return rc;
}

int dsr_endpoint_enable(const char *logdir, const char *name, dsr_err *err)
{
    dstate *st = NULL;
    int rc = open_existing_writer(&st, logdir, name, err);
    if (rc < 0)
        return rc;
    dsr_endpoint_info ep;
    if ((rc = dstate_get_endpoint(st, name, &ep, err)) == 0) {
        ep.disabled = 0;
        ep.disabled_ms = 0;
        free(ep.disabled_reason);
        ep.disabled_reason = NULL;
        dbatch *b = dbatch_new(st);
        if (!b || dbatch_put_endpoint(b, &ep) < 0) {
            dbatch_free(b);
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        } else {
            rc = dbatch_commit(b, err);
        }
        endpoint_info_clear(&ep);
    }
    dstate_close(st);
    return rc;
}

/* ---- lists and counts ----------------------------------------------------------------- */

void dsr_endpoint_list_free(dsr_endpoint_info *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        endpoint_info_clear(&list[i]);
    free(list);
}

static int redact_all(dsr_endpoint_info *v, size_t n, dsr_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char *r = url_redact(v[i].url);
        if (!r)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        free(v[i].url);
        v[i].url = r;
    }
    return 0;
}

int dsr_endpoint_list(const char *logdir, dsr_endpoint_info **out, size_t *n, dsr_err *err)
{
    *out = NULL;
    *n = 0;
    dstate *st = NULL;
    int rc = dstate_open(&st, logdir, DSTATE_RDONLY, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = dstate_list_endpoints(st, out, n, err);
    dstate_close(st);
    if (rc == 0 && (rc = redact_all(*out, *n, err)) < 0) {
        dsr_endpoint_list_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

typedef struct count_ctx {
    uint64_t  high;
    uint64_t  pending, retrying, dead;
    uint64_t *skip;
    size_t    nskip, cap;
} count_ctx;

static int add_skip(count_ctx *c, uint64_t seq, dsr_err *err)
{
    if (c->nskip == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        uint64_t *s = realloc(c->skip, cap * sizeof *s);
        if (!s)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        c->skip = s;
        c->cap = cap;
    }
    c->skip[c->nskip++] = seq;
    return 0;
}

static int count_q(void *ctx, const dentry *d, dsr_err *err)
{
    count_ctx *c = ctx;
    c->pending++;
    if (d->attempts > 0)
        c->retrying++;
    return d->seq > c->high ? add_skip(c, d->seq, err) : 0;
}

static int count_skip(void *ctx, const dentry *d, dsr_err *err)
{
    return add_skip(ctx, d->seq, err);
}

static int count_dead(void *ctx, const dentry *d, dsr_err *err)
{
    (void)d;
    (void)err;
    ((count_ctx *)ctx)->dead++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int count_all(dsr_log *log, dstate *st, const dsr_endpoint_info *ep,
                     dsr_endpoint_info *out, dsr_err *err)
{
    dcursor cur;
    int rc = dstate_get_cursor(st, ep->name, &cur, err);
    if (rc < 0)
        return rc;
    uint64_t mask;
    if ((rc = deliver_type_mask(ep, &mask, err)) < 0)
        return rc;
    count_ctx c = { 0 };
    c.high = cur.high;
    rc = dstate_scan(st, DK_PENDING, ep->name, 0, count_q, &c, err);
    if (rc == 0)
        rc = dstate_scan(st, DK_DONE, ep->name, cur.high + 1, count_skip, &c, err);
    if (rc == 0)
        rc = dstate_scan(st, DK_DEAD, ep->name, cur.high + 1, count_skip, &c, err);
    if (rc == 0)
        rc = dstate_scan(st, DK_DEAD, ep->name, 0, count_dead, &c, err);
    uint64_t head = dsr_log_head(log);
    if (rc == 0 && head > cur.high) {
        if (c.nskip > 1)
            qsort(c.skip, c.nskip, sizeof *c.skip, cmp_u64);
        if (mask == 0 && ep->n_features == 0) {
            /* Every event is selected: the unread tail minus what the state
             * already accounts for above the cursor. */
            size_t above = 0;
            for (size_t i = 0; i < c.nskip; i++)
                if (c.skip[i] > cur.high && c.skip[i] <= head && (i == 0 || c.skip[i] != c.skip[i - 1]))
                    above++;
            c.pending += head - cur.high - above;
        } else {
            dsr_log_iter *it = NULL;
            rc = dsr_log_iter_events(log, cur.high + 1, &it, err);
            size_t sp = 0;
            while (rc == 0) {
                const void *k, *v;
                size_t kl, vl;
                int got = dsr_log_iter_next(it, &k, &kl, &v, &vl, err);
                if (got <= 0) {
                    rc = got;
                    break;
                }
                uint64_t seq = dsr_seq_from_key(k);
                while (sp < c.nskip && c.skip[sp] < seq)
                    sp++;
                if (sp < c.nskip && c.skip[sp] == seq)
                    continue;
                msgpack_unpacked u;
                msgpack_unpacked_init(&u);
                dsr_envelope env;
                dsr_err derr;
                if (dsr_record_decode(v, vl, &u, &env, &derr) < 0 ||
                    deliver_selects(ep, mask, &env))
                    c.pending++;   /* undecodable records count until a run dead-letters them */
                msgpack_unpacked_destroy(&u);
            }
            dsr_log_iter_free(it);
        }
    }
    free(c.skip);
    if (rc == 0) {
        out->pending = c.pending;
        out->retrying = c.retrying;
        out->dead = c.dead;
        out->delivered = cur.delivered;
        out->cursor = cur.high;
    }
    return rc;
}

int deliver_count_pending(dsr_log *log, dstate *st, const dsr_endpoint_info *ep,
                              uint64_t *pending, uint64_t *retrying, dsr_err *err)
{
    dsr_endpoint_info tmp;
    memset(&tmp, 0, sizeof tmp);
    int rc = count_all(log, st, ep, &tmp, err);
    *pending = tmp.pending;
    *retrying = tmp.retrying;
    return rc;
}

int dsr_deliver_stats(dsr_log *log, dsr_endpoint_info **out, size_t *n, dsr_err *err)
{
    *out = NULL;
    *n = 0;
    dstate *st = NULL;
    int rc = dstate_open(&st, dsr_log_dir(log), DSTATE_RDONLY, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    dsr_endpoint_info *v = NULL;
    size_t k = 0;
    rc = dstate_list_endpoints(st, &v, &k, err);
    for (size_t i = 0; rc == 0 && i < k; i++)
        rc = count_all(log, st, &v[i], &v[i], err);
    dstate_close(st);
    if (rc == 0)
        rc = redact_all(v, k, err);
    if (rc < 0) {
        dsr_endpoint_list_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return 0;
}

/* ---- dead letters ---------------------------------------------------------------------- */

typedef struct dead_ctx {
    const char      *endpoint;
    dsr_dead_letter *v;
    size_t           n, cap;
} dead_ctx;

static int dead_one(void *ctx, const dentry *d, dsr_err *err)
{
    dead_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        dsr_dead_letter *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        c->v = v;
        c->cap = cap;
    }
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

/* ---- after a scan ----------------------------------------------------------------------- */

#define AFTER_SCAN_BUDGET_MS 3000
#define AFTER_SCAN_TIMEOUT_MS 2000
/* Below this, starting another endpoint is pointless. */
#define AFTER_SCAN_MIN_MS 50

int dsr_deliver_after_scan(dsr_log *log, const dsr_deliver_after_scan_opts *o,
                           dsr_deliver_after_scan_report *rep)
{
    memset(rep, 0, sizeof *rep);
    uint64_t budget = o && o->budget_ms ? o->budget_ms : AFTER_SCAN_BUDGET_MS;
    uint64_t t0 = clock_mono_ms();
    int all = o && o->all_endpoints;
    dsr_err err;
    dsr_err_clear(&err);
    dstate *st = NULL;
    int rc = dstate_open(&st, dsr_log_dir(log), DSTATE_NOCREATE, &err);
    if (rc == DSR_ENOTFOUND) {
        if (all)
            snprintf(rep->note, sizeof rep->note, "delivery: no saved endpoint (add one "
                     "with 'dossier endpoint add')");
        return 0;
    }
    if (rc == DSR_ELOCKED) {
        rep->skipped_locked = 1;
        snprintf(rep->note, sizeof rep->note, "delivery: skipped, a running 'dossier "
                 "deliver' holds the delivery state and will send the new events");
        return 0;
    }
    if (rc < 0) {
        snprintf(rep->note, sizeof rep->note, "delivery: skipped: %.480s", err.msg);
        return rc;
    }
    dsr_endpoint_info *eps = NULL;
    size_t n = 0;
    int first_rc = dstate_list_endpoints(st, &eps, &n, &err);
    char first_err[256] = "";
    if (first_rc < 0)
        snprintf(first_err, sizeof first_err, "%.250s", err.msg);
    size_t skipped = 0, disabled = 0;
    for (size_t i = 0; first_rc == 0 && i < n; i++) {
        const dsr_endpoint_info *ep = &eps[i];
        if (ep->adhoc || !(all || ep->auto_deliver))
            continue;
        if (ep->disabled) {
            disabled++;
            continue;
        }
        uint64_t spent = clock_mono_ms() - t0;
        if (spent + AFTER_SCAN_MIN_MS >= budget) {
            skipped++;
            continue;
        }
        dsr_deliver_opts d;
        dsr_deliver_opts_init(&d);
        d.endpoint = ep->name;
        d.budget_ms = budget - spent;
        uint64_t timeout = o && o->timeout_ms ? o->timeout_ms : AFTER_SCAN_TIMEOUT_MS;
        d.timeout_ms = timeout < d.budget_ms ? timeout : d.budget_ms;
        d.cacert = o ? o->cacert : NULL;
        dsr_deliver_report r;
        dsr_err_clear(&err);
        rc = deliver_run_open(log, st, &d, &r, &err);
        rep->endpoints++;
        rep->delivered += r.delivered;
        rep->failed += r.failed;
        rep->dead += r.dead;
        rep->pending += r.pending;
        if (rc < 0 && first_rc == 0) {
            first_rc = rc;
            snprintf(first_err, sizeof first_err, "%.250s", err.msg);
        }
    }
    dsr_endpoint_list_free(eps, n);
    dstate_close(st);
    if (first_rc < 0)
        snprintf(rep->note, sizeof rep->note, "delivery: %s; events stay pending for "
                 "'dossier deliver'", first_err);
    else if (rep->endpoints || skipped || disabled)
        snprintf(rep->note, sizeof rep->note,
                 "delivery: %" PRIu64 " delivered, %" PRIu64 " failed attempt(s), %" PRIu64
                 " dead-lettered, %" PRIu64 " pending (%zu endpoint(s)%s%s)",
                 rep->delivered, rep->failed, rep->dead, rep->pending, rep->endpoints,
                 skipped ? ", some skipped: time window used up" : "",
                 disabled ? ", disabled ones skipped" : "");
    else if (all)
        snprintf(rep->note, sizeof rep->note, "delivery: no saved endpoint to deliver to");
    return first_rc;
}

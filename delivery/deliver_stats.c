/*
 * deliver_stats.c - the counts `dossier deliveries` and `dossier status`
 * show per endpoint (pending, retrying, dead, delivered, cursor) and the
 * pending count of a run's report.  Read-only: the state is opened without
 * its lock, so counting never waits for a running `dossier deliver`.
 *
 * Pending = Q entries + the selected events above the cursor that the state
 * does not already account for (K delivered or D dead above the cursor).
 */
#include "deliver.h"
#include "array.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/log.h"

typedef struct count_ctx {
    uint64_t  high;
    uint64_t  pending, retrying, dead;
    uint64_t *skip;
    size_t    nskip, cap;
} count_ctx;

static int add_skip(count_ctx *c, uint64_t seq, dsr_err *err)
{
    if (ARRAY_RESERVE1(c->skip, c->nskip, c->cap, 64))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
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
        rc = deliver_redact_urls(v, k, err);
    if (rc < 0) {
        dsr_endpoint_list_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return 0;
}

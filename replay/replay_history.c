/*
 * replay_history.c - a feature's snapshots over time and the differences
 * between two of them, for `dossier log` and `dossier diff`.
 *
 * Snapshot records are immutable rows "sid\0<snapshot_id>" of the snapshot
 * projection; a feature's history is every such row of that feature, ordered
 * by the sequence of the scan that produced it (sequences are unique, so the
 * order is total).  Differences compare the snapshots' artifact sets with
 * aset_diff, the walk the drift projection uses, so `diff` and `drift` agree
 * on what changed.
 */
#include "replay.h"
#include "array.h"

#include <stdlib.h>
#include <string.h>

void dsr_snapshot_infov_free(dsr_snapshot_info **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        dsr_snapshot_info_free(v[i]);
    free(v);
}

static int newest_first(const void *a, const void *b)
{
    const dsr_snapshot_info *x = *(dsr_snapshot_info *const *)a;
    const dsr_snapshot_info *y = *(dsr_snapshot_info *const *)b;
    return x->scan_seq < y->scan_seq ? 1 : x->scan_seq > y->scan_seq ? -1 : 0;
}

int dsr_replay_snapshots(dsr_log *log, const char *feature, dsr_snapshot_info ***out,
                         size_t *n, dsr_err *err)
{
    if (!log || !feature || !out || !n)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_snapshots: NULL argument");
    *out = NULL;
    *n = 0;
    char cf[48];
    proj_cf_name(DSR_PROJ_SNAPSHOT, 0, cf);
    dsr_log_iter *it = NULL;
    int rc = dsr_log_iter_cf(log, cf, "sid", 4, &it, err);
    if (rc)
        return rc;
    dsr_snapshot_info **v = NULL;
    size_t cnt = 0, cap = 0;
    for (;;) {
        const void *k, *val;
        size_t kl, vl;
        int r = dsr_log_iter_next(it, &k, &kl, &val, &vl, err);
        if (r <= 0) {
            rc = r;
            break;
        }
        dsr_snapshot_info *s = NULL;
        if ((rc = rec_decode_snapshot(val, vl, &s, err))) {
            dsr_err_prefix(err, "%s: snapshot %.*s", cf, (int)(kl > 4 ? kl - 4 : 0),
                           (const char *)k + 4);
            break;
        }
        if (strcmp(s->feature_slug, feature)) {
            dsr_snapshot_info_free(s);
            continue;
        }
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            dsr_snapshot_info **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                dsr_snapshot_info_free(s);
                rc = dsr_err_set(err, DSR_ENOMEM, "out of memory listing snapshots of %s",
                                 feature);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = s;
    }
    dsr_log_iter_free(it);
    if (rc) {
        dsr_snapshot_infov_free(v, cnt);
        return rc;
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, newest_first);
    *out = v;
    *n = cnt;
    return 0;
}

void dsr_snapshot_diff_free(dsr_snapshot_diff *d)
{
    if (!d)
        return;
    free(d->feature_slug);
    free(d->from_snapshot_id);
    free(d->to_snapshot_id);
    rec_changes_free(d->changed, d->n_changed);
    rec_changes_free(d->removed, d->n_removed);
    rec_changes_free(d->added, d->n_added);
    free(d);
}

/* The stored record of a snapshot: 0, DSR_ENOTFOUND naming it, or an error. */
static int snapshot_row(dsr_log *log, const char *feature, const char *id, int latest,
                        dsr_buf *row, dsr_snapshot_info **info, dsr_err *err)
{
    int rc = latest ? replay_get_row(log, DSR_PROJ_SNAPSHOT, "snap", feature, row, err)
                    : replay_get_row(log, DSR_PROJ_SNAPSHOT, "sid", id, row, err);
    if (rc == DSR_ENOTFOUND)
        return latest ? dsr_err_set(err, rc, "feature %s has no snapshot yet", feature)
                      : dsr_err_set(err, rc, "no snapshot %s", id);
    if (!rc)
        rc = rec_decode_snapshot(row->data, row->len, info, err);
    if (!rc && feature && strcmp((*info)->feature_slug, feature))
        rc = dsr_err_set(err, DSR_ENOTFOUND, "snapshot %s belongs to feature %s, not %s",
                         (*info)->snapshot_id, (*info)->feature_slug, feature);
    return rc;
}

typedef struct change_list {
    dsr_drift_change *v;
    size_t            n, cap;
} change_list;

typedef struct diff_out {
    change_list lists[3];   /* by aset_change */
} diff_out;

static int on_difference(void *ud, aset_change kind, const aset_entry *from, const aset_entry *to)
{
    change_list *l = &((diff_out *)ud)->lists[kind];
    if (ARRAY_RESERVE1(l->v, l->n, l->cap, 16))
        return DSR_ENOMEM;
    const aset_entry *e = to ? to : from;
    dsr_drift_change *c = &l->v[l->n];
    memset(c, 0, sizeof *c);
    if (!(c->artifact_key = strdup(e->key)) || !(c->relative_path = strdup(e->path))) {
        free(c->artifact_key);
        return DSR_ENOMEM;
    }
    if (from)
        dsr_hex(from->hash, 32, c->old_sha256);
    if (to)
        dsr_hex(to->hash, 32, c->new_sha256);
    c->required = e->required;
    l->n++;
    return 0;
}

/* "from" when the caller named none: the baseline (even when it is `to`
 * itself: then nothing changed since it), else the snapshot before `to` in
 * the feature's history.  *id is malloc'd. */
static int default_from(dsr_log *log, const dsr_snapshot_info *to, char **id,
                        dsr_diff_from *kind, dsr_err *err)
{
    dsr_baseline_info *b = NULL;
    int rc = dsr_replay_baseline_get(log, to->feature_slug, &b, err);
    if (!rc) {
        *kind = DSR_DIFF_FROM_BASELINE;
        *id = strdup(b->snapshot_id);
        dsr_baseline_info_free(b);
        return *id ? 0 : dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    dsr_baseline_info_free(b);
    if (rc && rc != DSR_ENOTFOUND)
        return rc;
    dsr_err_clear(err);
    dsr_snapshot_info **v = NULL;
    size_t n = 0;
    if ((rc = dsr_replay_snapshots(log, to->feature_slug, &v, &n, err)))
        return rc;
    *id = NULL;
    for (size_t i = 0; i + 1 < n && !*id; i++)   /* newest first: the one after `to` */
        if (!strcmp(v[i]->snapshot_id, to->snapshot_id) && !(*id = strdup(v[i + 1]->snapshot_id)))
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
    dsr_snapshot_infov_free(v, n);
    if (!rc && !*id)
        rc = dsr_err_set(err, DSR_ENOTFOUND, "feature %s has no snapshot before %s and no "
                         "accepted baseline to compare it with", to->feature_slug, to->snapshot_id);
    *kind = DSR_DIFF_FROM_PREVIOUS;
    return rc;
}

int dsr_replay_diff(dsr_log *log, const char *feature, const char *from_id, const char *to_id,
                    dsr_snapshot_diff **out, dsr_err *err)
{
    if (!log || !out || (!feature && (!from_id || !to_id)))
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_diff: bad argument");
    *out = NULL;
    dsr_snapshot_diff *d = calloc(1, sizeof *d);
    dsr_buf row[2] = { DSR_BUF_INIT, DSR_BUF_INIT };
    dsr_snapshot_info *info[2] = { NULL, NULL };
    char *from_own = NULL;
    aset own[2] = { { 0 }, { 0 } };
    arena ar[2] = { { NULL }, { NULL } };
    const aset *set[2] = { NULL, NULL };
    diff_out lists = { { { 0 } } };
    if (!d)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");

    /* 1. "to": named, or the latest */
    int rc = snapshot_row(log, feature, to_id, !to_id, &row[1], &info[1], err);
    if (!rc && !feature)
        feature = info[1]->feature_slug;
    /* 2. "from": named, or the default */
    if (!rc && !from_id && !(rc = default_from(log, info[1], &from_own, &d->from_kind, err)))
        from_id = from_own;
    if (!rc)
        rc = snapshot_row(log, feature, from_id, 0, &row[0], &info[0], err);
    /* 3. both sets, then the walk */
    for (int i = 0; i < 2 && !rc; i++)
        rc = replay_snapshot_set(log, row[i].data, row[i].len, info[i]->snapshot_id, &set[i],
                                 &own[i], &ar[i], err);
    if (!rc && (rc = aset_diff(set[0], set[1], on_difference, &lists)))
        dsr_err_set(err, rc, "out of memory comparing snapshots");
    if (!rc) {
        dsr_buf latest = DSR_BUF_INIT;
        int lr = replay_get_row(log, DSR_PROJ_SNAPSHOT, "snap", feature, &latest, err);
        d->to_is_latest = !lr && latest.len == row[1].len && !memcmp(latest.data, row[1].data,
                                                                      latest.len);
        dsr_buf_free(&latest);
        if (lr == DSR_ENOTFOUND)
            dsr_err_clear(err);
        else if (lr)
            rc = lr;
    }
    if (!rc && (!(d->feature_slug = strdup(feature)) ||
                !(d->from_snapshot_id = strdup(info[0]->snapshot_id)) ||
                !(d->to_snapshot_id = strdup(info[1]->snapshot_id))))
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
    if (!rc) {
        memcpy(d->from_parity, info[0]->parity_hash_sha256, sizeof d->from_parity);
        memcpy(d->to_parity, info[1]->parity_hash_sha256, sizeof d->to_parity);
        d->changed = lists.lists[ASET_CHANGED].v;
        d->n_changed = lists.lists[ASET_CHANGED].n;
        d->removed = lists.lists[ASET_REMOVED].v;
        d->n_removed = lists.lists[ASET_REMOVED].n;
        d->added = lists.lists[ASET_ADDED].v;
        d->n_added = lists.lists[ASET_ADDED].n;
    } else {
        for (int k = 0; k < 3; k++)
            rec_changes_free(lists.lists[k].v, lists.lists[k].n);
        dsr_snapshot_diff_free(d);
        d = NULL;
    }
    for (int i = 0; i < 2; i++) {
        aset_free(&own[i]);
        ar_free(&ar[i]);
        dsr_buf_free(&row[i]);
        dsr_snapshot_info_free(info[i]);
    }
    free(from_own);
    *out = d;
    return rc;
}

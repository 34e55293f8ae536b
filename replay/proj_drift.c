/*
 * proj_drift.c - the drift projection: compares each snapshot with the
 * feature's accepted baseline and emits one
 * mission_dossier_parity_drift_detected when their parity hashes differ.
 *
 * Inputs (in log order): mission_dossier_snapshot_computed events (the
 * snapshot projection's output) and dossier_baseline_accepted events.  The
 * artifact sets and key fields of snapshots are read from the snapshot
 * projection's family by snapshot_id; those rows are immutable once written,
 * so reading them later (or from a rebuild) gives the same answer.  A
 * snapshot event this log never computed (imported on its own) has no record
 * and is ignored.
 *
 * Evaluation of (latest snapshot, baseline), on each snapshot and again when
 * a baseline is accepted:
 *   no baseline                       -> no_baseline
 *   key fields differ (project_uuid, node_id, feature_slug, target_branch,
 *   mission_key, manifest_version)    -> not_compared (which fields, shown)
 *   baseline snapshot unknown here    -> baseline_unknown
 *   snapshots of different profiles   -> not_compared (profile, shown)
 *   same parity hash                  -> none, no event
 *   else                              -> drift: one event, derived from the
 *                                        evaluated event, and the why stored.
 * The event's optional content_changed lists every artifact whose content
 * changed (same key and path, old and new SHA-256), in (key, path) order,
 * when there is one: missing_in_local / missing_in_baseline only name keys
 * that appear or vanish, so without it a content-only drift said nothing.
 * Severity: error when a required artifact key vanished (in
 * missing_in_local) or completeness fell from complete; otherwise warning
 * when an existing artifact's content changed or an artifact vanished;
 * otherwise info (only new artifacts).
 *
 * State (family proj_drift): base/<feature>, last/<feature>, drift/<feature>.
 */
#include "replay.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY_MAX 50   /* reasons stored per assessment; the rest are counted */

typedef struct drift_impl {
    pstate  snap_ro;   /* reads of the live snapshot family when snapshot is not running alongside */
    setcache sets;     /* decoded sets when snapshot is not running alongside */
    aset    local;     /* the snapshot's side of an evaluation, when not cached: its
                          entries array is kept from one evaluation to the next */
    arena   local_ar;  /* its own strings, for one evaluation */
    arena   ar;        /* strings of the event being applied */
    dsr_buf key, val;
} drift_impl;

typedef struct snaprec {
    const char *snapshot_id, *feature, *run_id, *parity, *completeness, *set;
    const char *mission_type, *manifest_version, *target_branch, *project_uuid, *node_id;
    const char *profile;    /* "wp04" when the record names none */
} snaprec;

typedef struct baserec {
    const char *feature, *snapshot_id, *parity, *project_uuid, *node_id, *target_branch,
               *mission_key, *manifest_version, *event_id, *timestamp;
} baserec;

static int drift_init(proj_ctx *c, dsr_err *err)
{
    drift_impl *d = calloc(1, sizeof *d);
    if (!d)
        return dsr_err_set(err, DSR_ENOMEM, "drift projection: out of memory");
    ps_init(&d->snap_ro, c->log, c->snap_cf);
    c->impl = d;
    return 0;
}

static void drift_fini(proj_ctx *c)
{
    drift_impl *d = c->impl;
    if (!d)
        return;
    ps_free(&d->snap_ro);
    sc_free(&d->sets);
    aset_free(&d->local);
    ar_free(&d->local_ar);
    ar_free(&d->ar);
    dsr_buf_free(&d->key);
    dsr_buf_free(&d->val);
    free(d);
    c->impl = NULL;
}

static int drift_flush(proj_ctx *c, dsr_err *err)
{
    (void)c;
    (void)err;
    return 0;   /* every row is written as it is computed (drift_apply) */
}

static pstate *snap_state(proj_ctx *c)
{
    drift_impl *d = c->impl;
    return c->snap ? &c->snap->st : &d->snap_ro;
}

static int oom(dsr_err *err)
{
    return dsr_err_set(err, DSR_ENOMEM, "drift projection: out of memory");
}

/* Copy string field k of map o into the arena (NULL for nil/absent). */
static const char *fld(drift_impl *d, const msgpack_object *o, const char *k, int *rc)
{
    dsr_str s;
    if (mp_get_str(o, k, &s) <= 0)
        return NULL;
    return ar_str(&d->ar, s, rc);
}

static int unpack_row(const void *v, size_t vl, msgpack_unpacked *u)
{
    size_t off = 0;
    msgpack_unpacked_init(u);
    if (msgpack_unpack_next(u, v, vl, &off) != MSGPACK_UNPACK_SUCCESS
        || u->data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(u);
        return DSR_ECORRUPT;
    }
    return 0;
}

/* 1 and *out when the snapshot record exists, 0 when not, or an error. */
static int load_snap(proj_ctx *c, const char *sid, size_t sidlen, snaprec *out, dsr_err *err)
{
    drift_impl *d = c->impl;
    pstate *ps = snap_state(c);
    if (pk_make(&d->key, "sid", sid, sidlen))
        return oom(err);
    const void *v;
    size_t vl;
    int rc = ps_get(ps, d->key.data, d->key.len, &v, &vl, err);
    if (rc <= 0)
        return rc;
    msgpack_unpacked u;
    if (unpack_row(v, vl, &u))
        return dsr_err_set(err, DSR_ECORRUPT, "%s: snapshot record %.*s does not decode",
                           ps->cf, (int)sidlen, sid);
    rc = 0;
    const msgpack_object *o = &u.data;
    out->snapshot_id = fld(d, o, "snapshot_id", &rc);
    out->feature = fld(d, o, "feature_slug", &rc);
    out->run_id = fld(d, o, "run_id", &rc);
    out->parity = fld(d, o, "parity_hash_sha256", &rc);
    out->completeness = fld(d, o, "completeness_status", &rc);
    out->set = fld(d, o, "set", &rc);
    out->mission_type = fld(d, o, "mission_type", &rc);
    out->manifest_version = fld(d, o, "manifest_version", &rc);
    out->target_branch = fld(d, o, "target_branch", &rc);
    out->project_uuid = fld(d, o, "project_uuid", &rc);
    out->node_id = fld(d, o, "node_id", &rc);
    out->profile = fld(d, o, "profile", &rc);
    if (!out->profile)
        out->profile = "wp04";
    msgpack_unpacked_destroy(&u);
    if (rc)
        return oom(err);
    if (!out->snapshot_id || !out->feature || !out->parity || !out->set || !out->completeness)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: snapshot record %.*s lacks a field",
                           ps->cf, (int)sidlen, sid);
    return 1;
}

/* set_load's row reader: the snapshot family, as this chunk sees it. */
static int set_row(void *ud, const char *digest, dsr_buf *row, dsr_err *err)
{
    proj_ctx *c = ud;
    drift_impl *d = c->impl;
    pstate *ps = snap_state(c);
    if (pk_make(&d->key, "set", digest, strlen(digest)))
        return oom(err);
    const void *v;
    size_t vl;
    int rc = ps_get(ps, d->key.data, d->key.len, &v, &vl, err);
    if (rc == 1 && dsr_buf_append(row, v, vl))
        return oom(err);
    return rc;
}

/* The set with this digest, through the set cache (the snapshot
 * projection's when it runs alongside).  *out stays valid while the cache is
 * held (evaluate); a set the cache does not take is decoded into
 * own/own_ar, which the caller frees. */
static int load_set(proj_ctx *c, const char *digest, const aset **out, aset *own,
                    arena *own_ar, dsr_err *err)
{
    drift_impl *d = c->impl;
    setcache *sc = c->snap ? snap_sets(c->snap) : &d->sets;
    return set_load(sc, set_row, c, digest, out, own, own_ar, err);
}

/* The snapshot's own set, compared once: through the set cache when it is
 * there (the snapshot projection left it), else decoded into d->local
 * without going into the cache -- so a replay's evaluations, which come a
 * million events after their sets were computed, neither evict the
 * baselines nor take fresh memory for every set.  Valid until the cache
 * hold of evaluate is released. */
static int load_local(proj_ctx *c, const char *digest, const aset **out, dsr_err *err)
{
    drift_impl *d = c->impl;
    setcache *sc = c->snap ? snap_sets(c->snap) : &d->sets;
    return set_load_once(sc, set_row, c, digest, out, &d->local, &d->local_ar, err);
}

/* 1 and *out when feature has a baseline, 0 when not, or an error. */
static int load_base(proj_ctx *c, const char *feature, baserec *out, dsr_err *err)
{
    drift_impl *d = c->impl;
    if (pk_make(&d->key, "base", feature, strlen(feature)))
        return oom(err);
    const void *v;
    size_t vl;
    int rc = ps_get(&c->st, d->key.data, d->key.len, &v, &vl, err);
    if (rc <= 0)
        return rc;
    msgpack_unpacked u;
    if (unpack_row(v, vl, &u))
        return dsr_err_set(err, DSR_ECORRUPT, "%s: baseline of %s does not decode", c->cf, feature);
    rc = 0;
    const msgpack_object *o = &u.data;
    out->feature = fld(d, o, "feature_slug", &rc);
    out->snapshot_id = fld(d, o, "snapshot_id", &rc);
    out->parity = fld(d, o, "parity_hash_sha256", &rc);
    out->project_uuid = fld(d, o, "project_uuid", &rc);
    out->node_id = fld(d, o, "node_id", &rc);
    out->target_branch = fld(d, o, "target_branch", &rc);
    out->mission_key = fld(d, o, "mission_key", &rc);
    out->manifest_version = fld(d, o, "manifest_version", &rc);
    out->event_id = fld(d, o, "event_id", &rc);
    out->timestamp = fld(d, o, "timestamp", &rc);
    msgpack_unpacked_destroy(&u);
    if (rc)
        return oom(err);
    if (!out->snapshot_id || !out->parity)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: baseline of %s lacks a field", c->cf, feature);
    return 1;
}

/* ---- the assessment ----------------------------------------------------------------- */

typedef struct change {
    const char *key, *path;
    const char *old_hash, *new_hash;   /* "" when absent on that side */
    int         required;
} change;

typedef struct changes {
    change *v;
    size_t  n, cap;
} changes;

typedef struct strv {
    const char **v;
    size_t       n, cap;
} strv;

typedef struct assessment {
    const char *status, *severity;
    const char *event_id;
    char        event_id_buf[DSR_ULID_LEN + 1];
    strv        missing_in_local, missing_in_baseline, why;
    strv        required_gone;   /* the keys of missing_in_local with a required entry */
    changes     changed, vanished, added;
    const char *mismatch[7][3];   /* field, snapshot value, baseline value */
    size_t      n_mismatch;
    size_t      why_dropped;
} assessment;

static int strv_push(strv *s, const char *p)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        const char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return DSR_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = p;
    return 0;
}

static int changes_push(changes *s, const change *ch)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        change *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return DSR_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *ch;
    return 0;
}

static void assessment_free(assessment *a)
{
    free(a->missing_in_local.v);
    free(a->missing_in_baseline.v);
    free(a->required_gone.v);
    free(a->why.v);
    free(a->changed.v);
    free(a->vanished.v);
    free(a->added.v);
}

static int why(drift_impl *d, assessment *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int why(drift_impl *d, assessment *a, const char *fmt, ...)
{
    if (a->why.n >= WHY_MAX) {
        a->why_dropped++;
        return 0;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char *p = ar_strdup(&d->ar, line);
    return p ? strv_push(&a->why, p) : DSR_ENOMEM;
}

static int streq_null(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static void key_mismatch(assessment *a, const snaprec *s, const baserec *b)
{
    const char *f[6][3] = {
        { "project_uuid", s->project_uuid, b->project_uuid },
        { "node_id", s->node_id, b->node_id },
        { "feature_slug", s->feature, b->feature },
        { "target_branch", s->target_branch, b->target_branch },
        { "mission_key", s->mission_type, b->mission_key },
        { "manifest_version", s->manifest_version, b->manifest_version },
    };
    for (size_t i = 0; i < 6; i++)
        if (!streq_null(f[i][1], f[i][2])) {
            memcpy(a->mismatch[a->n_mismatch], f[i], sizeof f[i]);
            a->n_mismatch++;
        }
}

/* The hex text of a content hash, in the arena of the event being applied
 * (only entries that differ need it). */
static const char *hex_of(drift_impl *d, const unsigned char h[32], int *rc)
{
    char *t = ar_stralloc(&d->ar, 65);
    if (!t) {
        *rc = DSR_ENOMEM;
        return "";
    }
    dsr_hex(h, 32, t);
    return t;
}

typedef struct diff_ctx {
    drift_impl *d;
    assessment *a;
} diff_ctx;

/* aset_diff's callback: each differing entry into the assessment's lists. */
static int on_difference(void *ud, aset_change kind, const aset_entry *from, const aset_entry *to)
{
    diff_ctx *x = ud;
    int rc = 0;
    const aset_entry *e = to ? to : from;
    change ch = { e->key, e->path, from ? hex_of(x->d, from->hash, &rc) : "",
                  to ? hex_of(x->d, to->hash, &rc) : "", e->required };
    if (rc)
        return rc;
    changes *list = kind == ASET_CHANGED ? &x->a->changed
                  : kind == ASET_REMOVED ? &x->a->vanished : &x->a->added;
    return changes_push(list, &ch);
}

/* aset_diff_keys' key callback: a key only the baseline has is missing
 * locally, one only the local set has is missing in the baseline. */
static int on_key(void *ud, aset_change kind, const char *key, int required)
{
    diff_ctx *x = ud;
    if (kind == ASET_ADDED)
        return strv_push(&x->a->missing_in_baseline, key);
    return strv_push(&x->a->missing_in_local, key)
        || (required && strv_push(&x->a->required_gone, key)) ? DSR_ENOMEM : 0;
}

static int diff_sets(drift_impl *d, const aset *base, const aset *local, const snaprec *snap,
                     const snaprec *bsnap, assessment *a)
{
    diff_ctx x = { d, a };
    int rc = aset_diff_keys(base, local, on_difference, on_key, &x);
    if (rc)
        return rc;

    /* severity, with the reasons in the order they weigh */
    int error = a->required_gone.n > 0;
    for (size_t k = 0; k < a->required_gone.n && !rc; k++)
        rc = why(d, a, "required artifact '%s' is missing locally", a->required_gone.v[k]);
    if (!rc && !strcmp(bsnap->completeness, "complete") && !strcmp(snap->completeness, "incomplete")) {
        error = 1;
        rc = why(d, a, "completeness fell from complete to incomplete");
    }
    for (size_t k = 0; k < a->changed.n && !rc; k++)
        rc = why(d, a, "content of '%s' (%s) changed: %.12s -> %.12s", a->changed.v[k].key,
                 a->changed.v[k].path, a->changed.v[k].old_hash, a->changed.v[k].new_hash);
    for (size_t k = 0; k < a->vanished.n && !rc; k++)
        if (!error || !a->vanished.v[k].required)
            rc = why(d, a, "%s artifact '%s' (%s) vanished",
                     a->vanished.v[k].required ? "required" : "optional",
                     a->vanished.v[k].key, a->vanished.v[k].path);
    for (size_t k = 0; k < a->added.n && !rc; k++)
        rc = why(d, a, "new artifact '%s' (%s) appeared", a->added.v[k].key, a->added.v[k].path);
    if (rc)
        return rc;
    if (error)
        a->severity = "error";
    else if (a->changed.n || a->vanished.n)
        a->severity = "warning";
    else if (a->added.n)
        a->severity = "info";
    else {
        /* unreachable for sets that hash to different parities; kept honest */
        a->severity = "warning";
        rc = why(d, a, "parity hashes differ although no artifact entry differs");
    }
    if (!rc && a->why_dropped) {
        size_t dropped = a->why_dropped;
        a->why_dropped = 0;
        a->why.n = WHY_MAX - 1;   /* make room for the summary line */
        rc = why(d, a, "... and %zu more differences", dropped + 1);
    }
    return rc;
}

static int pack_changes(msgpack_packer *pk, const changes *c)
{
    if (msgpack_pack_array(pk, c->n))
        return DSR_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        const change *ch = &c->v[i];
        if (msgpack_pack_array(pk, 5) || mp_pack_str(pk, ch->key) || mp_pack_str(pk, ch->path)
            || mp_pack_str(pk, ch->old_hash) || mp_pack_str(pk, ch->new_hash)
            || (ch->required ? msgpack_pack_true(pk) : msgpack_pack_false(pk)))
            return DSR_ENOMEM;
    }
    return 0;
}

static int pack_strv(msgpack_packer *pk, const strv *s)
{
    if (msgpack_pack_array(pk, s->n))
        return DSR_ENOMEM;
    for (size_t i = 0; i < s->n; i++)
        if (mp_pack_str(pk, s->v[i]))
            return DSR_ENOMEM;
    return 0;
}

static int encode_assessment(const assessment *a, const snaprec *s, const baserec *b,
                             const dsr_envelope *src, dsr_buf *out)
{
    msgpack_packer pk;
    dsr_buf_reset(out);
    mp_packer_init(&pk, out);
    int bad = msgpack_pack_map(&pk, 16)
        || mp_pack_kv_str(&pk, "feature_slug", s->feature)
        || mp_pack_kv_str(&pk, "status", a->status)
        || mp_pack_kv_str(&pk, "severity", a->severity)
        || mp_pack_kv_str(&pk, "snapshot_id", s->snapshot_id)
        || mp_pack_kv_str(&pk, "baseline_snapshot_id", b ? b->snapshot_id : NULL)
        || mp_pack_kv_str(&pk, "local_parity", s->parity)
        || mp_pack_kv_str(&pk, "baseline_parity", b ? b->parity : NULL)
        || mp_pack_kv_str(&pk, "event_id", a->event_id)
        || mp_pack_str(&pk, "source_event_id")
        || mp_pack_strn(&pk, src->event_id.ptr, src->event_id.len)
        || mp_pack_str(&pk, "missing_in_local") || pack_strv(&pk, &a->missing_in_local)
        || mp_pack_str(&pk, "missing_in_baseline") || pack_strv(&pk, &a->missing_in_baseline)
        || mp_pack_str(&pk, "changed") || pack_changes(&pk, &a->changed)
        || mp_pack_str(&pk, "vanished") || pack_changes(&pk, &a->vanished)
        || mp_pack_str(&pk, "added") || pack_changes(&pk, &a->added)
        || mp_pack_str(&pk, "why") || pack_strv(&pk, &a->why)
        || mp_pack_str(&pk, "mismatch") || msgpack_pack_array(&pk, a->n_mismatch);
    for (size_t i = 0; i < a->n_mismatch && !bad; i++)
        bad = msgpack_pack_array(&pk, 3) || mp_pack_str(&pk, a->mismatch[i][0])
            || mp_pack_str(&pk, a->mismatch[i][1]) || mp_pack_str(&pk, a->mismatch[i][2]);
    return bad ? DSR_ENOMEM : 0;
}

/* Assess snapshot s against feature's baseline (b may be NULL) because of
 * event src; emit a drift event when they differ; store the assessment. */
static int evaluate(proj_ctx *c, const snaprec *s, const baserec *b, const dsr_envelope *src,
                    dsr_err *err)
{
    drift_impl *d = c->impl;
    assessment a;
    memset(&a, 0, sizeof a);
    aset bown = { 0 };
    arena own_ar = { NULL };
    const aset *bset = NULL, *lset = NULL;
    /* both sets, and the strings the assessment borrows from them, must
     * outlive every load until the assessment is stored */
    setcache *sc = c->snap ? snap_sets(c->snap) : &d->sets;
    uint64_t hold = sc_hold(sc);
    snaprec bs;
    int rc = 0;
    if (!b) {
        a.status = "no_baseline";
    } else if (key_mismatch(&a, s, b), a.n_mismatch) {
        a.status = "not_compared";
        for (size_t i = 0; i < a.n_mismatch && !rc; i++)
            rc = why(d, &a, "baseline %s is '%s' but the snapshot's is '%s'", a.mismatch[i][0],
                     a.mismatch[i][2] ? a.mismatch[i][2] : "null",
                     a.mismatch[i][1] ? a.mismatch[i][1] : "null");
    } else if ((rc = load_snap(c, b->snapshot_id, strlen(b->snapshot_id), &bs, err)) <= 0) {
        if (rc == 0) {
            a.status = "baseline_unknown";
            rc = why(d, &a, "baseline snapshot %s was never computed by this log", b->snapshot_id);
        }
    } else if (strcmp(s->profile, bs.profile) != 0) {
        /* hashes of two profiles mean different things (a WP file's
         * projection vs its bytes; two parity formulas): never compared */
        rc = 0;
        a.status = "not_compared";
        const char *f[3] = { "profile", s->profile, bs.profile };
        memcpy(a.mismatch[a.n_mismatch++], f, sizeof f);
        rc = why(d, &a, "baseline snapshot %s was scanned with profile '%s' but this one with "
                 "'%s': their hashes are not comparable", b->snapshot_id, bs.profile, s->profile);
    } else if (!strcmp(s->parity, b->parity)) {
        rc = 0;
        a.status = "none";
    } else {
        rc = load_set(c, bs.set, &bset, &bown, &own_ar, err);
        if (!rc)
            rc = load_local(c, s->set, &lset, err);
        if (!rc && (rc = diff_sets(d, bset, lset, s, &bs, &a)))
            rc = oom(err);
        if (!rc) {
            a.status = "drift";
            dsr_content_change *cc = a.changed.n ? calloc(a.changed.n, sizeof *cc) : NULL;
            if (a.changed.n && !cc) {
                rc = oom(err);
            } else {
                for (size_t k = 0; k < a.changed.n; k++) {
                    /* a changed entry is on both sides: both hashes are known */
                    assert(*a.changed.v[k].old_hash && *a.changed.v[k].new_hash);
                    cc[k] = (dsr_content_change){ a.changed.v[k].key, a.changed.v[k].path,
                                                  a.changed.v[k].old_hash,
                                                  a.changed.v[k].new_hash };
                }
                dsr_parity_drift_detected pl = {
                    s->feature, s->parity, b->parity,
                    a.missing_in_local.v, a.missing_in_local.n,
                    a.missing_in_baseline.v, a.missing_in_baseline.n, a.severity,
                    cc, a.changed.n };
                rc = proj_emit(c, DSR_EV_PARITY_DRIFT_DETECTED, &pl, src, s->run_id,
                               a.event_id_buf, err);
                a.event_id = a.event_id_buf;
                free(cc);
            }
        }
    }
    if (rc == DSR_ENOMEM && err && err->code != DSR_ENOMEM)
        oom(err);
    if (!rc) {
        if (encode_assessment(&a, s, b, src, &d->val) || pk_make(&d->key, "drift", s->feature,
                                                                  strlen(s->feature)))
            rc = oom(err);
        else
            rc = ps_put(&c->st, d->key.data, d->key.len, d->val.data, d->val.len, err);
    }
    sc_release(sc, hold);
    aset_free(&bown);
    ar_free(&own_ar);
    ar_free(&d->local_ar);
    assessment_free(&a);
    return rc;
}

/* ---- events -------------------------------------------------------------------------- */

static int on_snapshot(proj_ctx *c, const dsr_envelope *env, dsr_err *err)
{
    drift_impl *d = c->impl;
    dsr_str sid;
    if (mp_get_str(env->payload, "snapshot_id", &sid) <= 0)
        return 0;
    snaprec s;
    int rc = load_snap(c, sid.ptr, sid.len, &s, err);
    if (rc <= 0)
        return rc;   /* 0: not computed by this log (imported alone): nothing to compare */
    /* remember the feature's latest snapshot for later baseline acceptances */
    msgpack_packer pk;
    dsr_buf_reset(&d->val);
    mp_packer_init(&pk, &d->val);
    if (msgpack_pack_map(&pk, 2) || mp_pack_kv_str(&pk, "snapshot_id", s.snapshot_id)
        || mp_pack_str(&pk, "event_id") || mp_pack_strn(&pk, env->event_id.ptr, env->event_id.len)
        || pk_make(&d->key, "last", s.feature, strlen(s.feature)))
        return oom(err);
    if ((rc = ps_put(&c->st, d->key.data, d->key.len, d->val.data, d->val.len, err)))
        return rc;
    baserec b;
    rc = load_base(c, s.feature, &b, err);
    if (rc < 0)
        return rc;
    return evaluate(c, &s, rc ? &b : NULL, env, err);
}

static int on_baseline(proj_ctx *c, const dsr_envelope *env, dsr_err *err)
{
    drift_impl *d = c->impl;
    const msgpack_object *p = env->payload;
    static const char *const fields[] = { "feature_slug", "snapshot_id", "parity_hash_sha256",
                                          "project_uuid", "node_id", "target_branch",
                                          "mission_key", "manifest_version" };
    msgpack_packer pk;
    dsr_buf_reset(&d->val);
    mp_packer_init(&pk, &d->val);
    if (msgpack_pack_map(&pk, 10))
        return oom(err);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        dsr_str v;
        mp_get_str(p, fields[i], &v);
        if (mp_pack_str(&pk, fields[i]) || mp_pack_strn(&pk, v.ptr, v.len))
            return oom(err);
    }
    if (mp_pack_str(&pk, "event_id") || mp_pack_strn(&pk, env->event_id.ptr, env->event_id.len)
        || mp_pack_str(&pk, "timestamp") || mp_pack_strn(&pk, env->timestamp.ptr, env->timestamp.len))
        return oom(err);
    dsr_str feature;
    if (mp_get_str(p, "feature_slug", &feature) <= 0)
        return dsr_err_set(err, DSR_ECORRUPT, "drift projection: baseline event %.*s has no feature",
                           (int)env->event_id.len, env->event_id.ptr);
    int rc = 0;
    const char *f = ar_str(&d->ar, feature, &rc);
    if (rc || pk_make(&d->key, "base", f, strlen(f)))
        return oom(err);
    if ((rc = ps_put(&c->st, d->key.data, d->key.len, d->val.data, d->val.len, err)))
        return rc;

    /* re-assess the feature's latest snapshot against the new baseline */
    if (pk_make(&d->key, "last", f, strlen(f)))
        return oom(err);
    const void *v;
    size_t vl;
    rc = ps_get(&c->st, d->key.data, d->key.len, &v, &vl, err);
    if (rc <= 0)
        return rc;   /* no snapshot seen yet: the next one is assessed */
    msgpack_unpacked u;
    if (unpack_row(v, vl, &u))
        return dsr_err_set(err, DSR_ECORRUPT, "%s: last snapshot row of %s does not decode",
                           c->cf, f);
    rc = 0;
    const char *sid = fld(d, &u.data, "snapshot_id", &rc);
    msgpack_unpacked_destroy(&u);
    if (rc || !sid)
        return rc ? oom(err) : dsr_err_set(err, DSR_ECORRUPT, "%s: last snapshot row of %s "
                                           "lacks snapshot_id", c->cf, f);
    snaprec s;
    rc = load_snap(c, sid, strlen(sid), &s, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: snapshot %s of %s is gone", c->snap_cf, sid, f);
    baserec b;
    if ((rc = load_base(c, f, &b, err)) < 0)
        return rc;
    return evaluate(c, &s, &b, env, err);
}

static int drift_apply(proj_ctx *c, uint64_t seq, const dsr_envelope *env,
                       const replay_art *art, dsr_err *err)
{
    (void)art;   /* drift folds no artifact events */
    (void)seq;
    drift_impl *d = c->impl;
    int rc = env->type == DSR_EV_SNAPSHOT_COMPUTED ? on_snapshot(c, env, err)
                                                   : on_baseline(c, env, err);
    /* Nothing read for one event is needed by the next: what must last is in
     * the row cache (c->st).  Dropping decoded sets here keeps memory flat. */
    ps_chunk_end(&d->snap_ro);
    ar_free(&d->ar);
    return rc;
}

const proj_ops proj_drift_ops = {
    .name = DSR_PROJ_DRIFT,
    .consumes = (1u << DSR_EV_SNAPSHOT_COMPUTED) | (1u << DSR_EV_BASELINE_ACCEPTED),
    .init = drift_init,
    .apply = drift_apply,
    .flush = drift_flush,
    .fini = drift_fini,
};

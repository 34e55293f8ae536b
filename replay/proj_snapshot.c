/*
 * proj_snapshot.c - the snapshot projection: one
 * mission_dossier_snapshot_computed per completed scan run.
 *
 * Folding.  A scan run is the set of events sharing a correlation_id (the run
 * id); runs may interleave with other runs in the log (imports, NATS pulls),
 * so events are folded per run.  A run's artifact_indexed / artifact_missing
 * / artifact_removed events are pending until its dossier_scan_completed
 * arrives; only then is a snapshot computed.  A run that never completes
 * (the scan crashed) keeps its pending rows and never yields a snapshot.
 *
 * The artifact set of a snapshot:
 *   emit_mode "full":    the run's indexed artifacts;
 *   emit_mode "changed": the feature's latest snapshot set, with the run's
 *                        indexed artifacts upserted and removed ones deleted;
 *   in both modes an artifact key reported missing by the run is absent.
 * Entries are identified by (artifact_key, relative_path); a later event for
 * the same pair replaces an earlier one.  Both modes give the same set for
 * the same tree, hence the same parity hash.
 *
 * Counts: required_present / optional_present count the set's entries by
 * required_status; required_missing = distinct keys the run reported missing;
 * required = required_present + required_missing; optional =
 * optional_present + optional_absent (from dossier_scan_completed); total =
 * required + optional.  completeness_status = unknown without a manifest
 * (mission_type null), complete when nothing required is missing, else
 * incomplete.  snapshot_id = ULID(scan time, hash(feature, run id)).
 * The parity hash follows the profile the scan completion names (absent:
 * wp04, the feature-042 formula; spec-kitty-3: path<TAB>hash lines,
 * docs/interop.md section 4), and the record names a non-wp04 profile.
 *
 * State (family proj_snapshot, see replay.h for the key layout):
 *   pend rows of open runs (one per event, keyed by sequence, so the rows do
 *   not depend on where chunks were cut), the latest record per feature,
 *   every record by snapshot_id, and every distinct artifact set by digest.
 *   Records and sets are immutable once written: the drift projection reads
 *   them by id at any later time.
 * Memory: runs seen in the current chunk only; flush() writes open runs'
 * entries as pend rows and forgets them.
 */
#include "replay.h"
#include "codec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum { RE_INDEXED = 0, RE_MISSING = 1, RE_REMOVED = 2 };

/* Sets smaller than this are always stored whole (a delta saves little). */
#define SET_DELTA_MIN 64

typedef struct run_entry {
    uint64_t    seq;
    int         kind;
    const char *key, *path, *cls, *reason;  /* path: expected pattern for RE_MISSING */
    unsigned char hash[32];   /* RE_INDEXED: the content hash */
    int         required;
} run_entry;

typedef struct run_state {
    const char *run_id, *feature;
    run_entry  *v;
    size_t      n, cap;
    arena       ar;   /* strings of the run's entries: they become its set's */
} run_state;

typedef struct snap_impl {
    strmap  runs;     /* run id -> run_state*, runs seen in this chunk */
    arena   ar;       /* run ids and features of this chunk */
    setcache sets;    /* sets computed lately, for drift (setcache.c) */
    dsr_buf key, val, key2;
    dsr_buf val2;     /* put_set: the set's whole row while a delta is tried */
    size_t  held;     /* entries of open runs held only in memory */
    int     pend_rows; /* 0: the family holds no pend row (none at init, none flushed since) */
    run_state *last;  /* the run of the event folded last: a run's events come in a row */
    dsr_str   last_id; /* its id as the map holds it (its key's bytes) */
} snap_impl;

/* ---- working state ---------------------------------------------------------- */

static void runs_reset(snap_impl *s)
{
    for (size_t i = 0; i < s->runs.cap; i++)
        if (s->runs.slots[i].key) {
            run_state *r = s->runs.slots[i].val;
            if (r) {
                free(r->v);
                ar_free(&r->ar);
            }
            free(r);
        }
    strmap_clear(&s->runs);
    ar_free(&s->ar);
    s->held = 0;
    s->last = NULL;
}

static int snap_init(proj_ctx *c, dsr_err *err)
{
    snap_impl *s = calloc(1, sizeof *s);
    if (!s)
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    c->impl = s;
    /* Whether any run was left open by an earlier chunk or process: if not,
     * completing a run need not look for its pending rows (an iterator per
     * completion otherwise, though runs are rarely cut by a chunk). */
    dsr_log_iter *it = NULL;
    int rc = dsr_log_iter_cf(c->log, c->cf, "pend", 5, &it, err);
    if (!rc) {
        rc = dsr_log_iter_next(it, NULL, NULL, NULL, NULL, err);
        s->pend_rows = rc != 0;
        rc = rc < 0 ? rc : 0;
    }
    dsr_log_iter_free(it);
    return rc;
}

static void snap_fini(proj_ctx *c)
{
    snap_impl *s = c->impl;
    if (!s)
        return;
    runs_reset(s);
    strmap_free(&s->runs);
    sc_free(&s->sets);
    dsr_buf_free(&s->key);
    dsr_buf_free(&s->val);
    dsr_buf_free(&s->key2);
    dsr_buf_free(&s->val2);
    free(s);
    c->impl = NULL;
}

static run_state *run_get(snap_impl *s, dsr_str run_id, dsr_str feature, dsr_err *err)
{
    if (s->last && s->last_id.len == run_id.len && !memcmp(s->last_id.ptr, run_id.ptr, run_id.len))
        return s->last;
    int created;
    void **slot = strmap_upsert(&s->runs, run_id.ptr, run_id.len, &created);
    if (!slot)
        goto oom;
    if (created) {
        run_state *r = calloc(1, sizeof *r);
        if (!r)
            goto oom;
        *slot = r;
        int rc = 0;
        r->run_id = ar_str(&s->ar, run_id, &rc);
        r->feature = ar_str(&s->ar, feature, &rc);
        if (rc)
            goto oom;
    }
    s->last = *slot;
    s->last_id.ptr = s->last->run_id;
    s->last_id.len = run_id.len;
    return *slot;
oom:
    dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory for run %.*s",
                (int)run_id.len, run_id.ptr);
    return NULL;
}

static int run_push(run_state *r, const run_entry *e)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        run_entry *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return DSR_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = *e;
    return 0;
}

/* The 32 bytes of a 64-digit lowercase hex hash; -1 when it is not one. */
static int hash_bytes(dsr_str h, unsigned char out[32])
{
    return h.ptr && h.len == 64 && !dsr_unhex(h.ptr, 64, out) ? 0 : -1;
}

/* Fold one artifact event into its run's pending entries (art: its fields,
 * taken out by the reader thread). */
static int fold_artifact(proj_ctx *c, uint64_t seq, const dsr_envelope *env,
                         const replay_art *art, dsr_err *err)
{
    snap_impl *s = c->impl;
    if (!env->correlation_id.ptr || !art->ok)
        return 0;   /* not part of a scan run: no snapshot can ever include it */
    run_state *r = run_get(s, env->correlation_id, env->feature_slug, err);
    if (!r)
        return DSR_ENOMEM;
    run_entry e;
    memset(&e, 0, sizeof e);
    e.seq = seq;
    int rc = 0;
    /* Memory: a million-file run holds every key, path and class until it
     * completes, so a "path:" key shares its text with the path and a known
     * class is not copied at all. */
    if (env->type == DSR_EV_ARTIFACT_INDEXED && art->path.ptr
        && aset_path_key(art->key.ptr, art->key.len, art->path.ptr, art->path.len)) {
        if (!(e.key = aset_path_key_dup(&r->ar, art->path.ptr, art->path.len, &e.path)))
            rc = DSR_ENOMEM;
    } else {
        e.key = ar_str(&r->ar, art->key, &rc);
        e.path = ar_str(&r->ar, art->path, &rc);
    }
    switch (env->type) {
    case DSR_EV_ARTIFACT_INDEXED:
        e.kind = RE_INDEXED;
        if (!(e.cls = aset_class_static(art->cls.ptr, art->cls.len)))
            e.cls = ar_str(&r->ar, art->cls, &rc);
        if (!art->has_hash)
            return dsr_err_set(err, DSR_ECORRUPT, "snapshot projection: event %llu (%.*s) has "
                               "no 64-digit content_hash_sha256", (unsigned long long)seq,
                               (int)env->event_id.len, env->event_id.ptr);
        memcpy(e.hash, art->hash, 32);
        e.required = art->required;
        break;
    case DSR_EV_ARTIFACT_MISSING:
        e.kind = RE_MISSING;
        e.cls = ar_str(&r->ar, art->cls, &rc);
        e.reason = ar_str(&r->ar, art->reason, &rc);
        e.required = 1;
        break;
    case DSR_EV_ARTIFACT_REMOVED:
        e.kind = RE_REMOVED;
        break;
    default:
        return 0;
    }
    if (rc || !e.key || !e.path)
        return rc ? dsr_err_set(err, rc, "snapshot projection: out of memory at event %llu",
                                (unsigned long long)seq)
                  : dsr_err_set(err, DSR_ECORRUPT, "snapshot projection: event %llu (%.*s) "
                                "lacks artifact_key or path", (unsigned long long)seq,
                                (int)env->event_id.len, env->event_id.ptr);
    s->held++;
    if (run_push(r, &e))
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory at event %llu",
                           (unsigned long long)seq);
    return 0;
}

/* ---- pending rows --------------------------------------------------------------- */

static int pend_key(dsr_buf *k, const char *run_id, uint64_t seq)
{
    unsigned char sk[8];
    dsr_seq_key(seq, sk);
    return pk_make2(k, "pend", run_id, strlen(run_id), sk, 8);
}

static int pend_encode(const run_state *r, const run_entry *e, dsr_buf *out)
{
    char hex[65];
    dsr_hex(e->hash, 32, hex);
    msgpack_packer pk;
    dsr_buf_reset(out);
    mp_packer_init(&pk, out);
    if (msgpack_pack_array(&pk, 8) || msgpack_pack_int(&pk, e->kind)
        || mp_pack_str(&pk, r->feature) || mp_pack_str(&pk, e->key) || mp_pack_str(&pk, e->path)
        || mp_pack_str(&pk, e->cls) || mp_pack_str(&pk, e->kind == RE_INDEXED ? hex : NULL)
        || (e->required ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk))
        || mp_pack_str(&pk, e->reason))
        return DSR_ENOMEM;
    return 0;
}

static const char *arr_str(arena *ar, const msgpack_object *o, int *rc)
{
    if (o->type == MSGPACK_OBJECT_NIL)
        return NULL;
    if (o->type != MSGPACK_OBJECT_STR) {
        *rc = DSR_ECORRUPT;
        return NULL;
    }
    char *p = ar_strndup(ar, o->via.str.ptr, o->via.str.size);
    if (!p)
        *rc = DSR_ENOMEM;
    return p;
}

static int pend_decode(arena *ar, const void *v, size_t vl, uint64_t seq, run_entry *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = 0;
    if (msgpack_unpack_next(&u, v, vl, &off) != MSGPACK_UNPACK_SUCCESS
        || u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 8
        || u.data.via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER
        || u.data.via.array.ptr[6].type != MSGPACK_OBJECT_BOOLEAN) {
        msgpack_unpacked_destroy(&u);
        return DSR_ECORRUPT;
    }
    const msgpack_object *f = u.data.via.array.ptr;
    memset(e, 0, sizeof *e);
    e->seq = seq;
    e->kind = (int)f[0].via.u64;
    e->key = arr_str(ar, &f[2], &rc);
    e->path = arr_str(ar, &f[3], &rc);
    e->cls = arr_str(ar, &f[4], &rc);
    int bad_hash = e->kind == RE_INDEXED
        && (f[5].type != MSGPACK_OBJECT_STR
            || hash_bytes((dsr_str){ f[5].via.str.ptr, f[5].via.str.size }, e->hash));
    e->required = f[6].via.boolean;
    e->reason = arr_str(ar, &f[7], &rc);
    if (!rc && (!e->key || !e->path || e->kind > RE_REMOVED || bad_hash))
        rc = DSR_ECORRUPT;
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* Entries of run r committed in earlier chunks (or earlier processes): read
 * them in sequence order (strings into ar) and delete their rows in this batch. */
static int take_pending(proj_ctx *c, const char *run_id, run_state *into, arena *ar,
                        dsr_err *err)
{
    snap_impl *s = c->impl;
    if (!s->pend_rows)
        return 0;
    dsr_buf *prefix = &s->key2;
    int rc = pk_make2(prefix, "pend", run_id, strlen(run_id), "", 0);
    if (rc)
        return dsr_err_set(err, rc, "snapshot projection: out of memory");
    dsr_log_iter *it = NULL;
    if ((rc = dsr_log_iter_cf(c->log, c->cf, prefix->data, prefix->len, &it, err)))
        return rc;
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        int r = dsr_log_iter_next(it, &k, &kl, &v, &vl, err);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (kl != prefix->len + 8) {
            rc = dsr_err_set(err, DSR_ECORRUPT, "%s: pending row of run %s has a %zu-byte key",
                             c->cf, run_id, kl);
            break;
        }
        run_entry e;
        uint64_t seq = dsr_seq_from_key((const char *)k + prefix->len);
        if ((rc = pend_decode(ar, v, vl, seq, &e))) {
            dsr_err_set(err, rc, "%s: pending row %llu of run %s %s", c->cf,
                        (unsigned long long)seq, run_id,
                        rc == DSR_ENOMEM ? "cannot be loaded: out of memory" : "does not decode");
            break;
        }
        if (run_push(into, &e)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
            break;
        }
        if ((rc = dsr_log_batch_delete(c->st.b, c->cf, k, kl, err)))
            break;
    }
    dsr_log_iter_free(it);
    return rc;
}

static int snap_flush(proj_ctx *c, dsr_err *err)
{
    snap_impl *s = c->impl;
    int rc = 0;
    for (size_t i = 0; i < s->runs.cap && !rc; i++) {
        if (!s->runs.slots[i].key)
            continue;
        run_state *r = s->runs.slots[i].val;
        if (r->n)
            s->pend_rows = 1;
        for (size_t j = 0; j < r->n && !rc; j++) {
            if (pend_key(&s->key, r->run_id, r->v[j].seq) || pend_encode(r, &r->v[j], &s->val))
                rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
            else
                rc = dsr_log_batch_put(c->st.b, c->cf, s->key.data, s->key.len, s->val.data,
                                       s->val.len, err);
        }
    }
    runs_reset(s);
    return rc;
}

static size_t snap_held(const proj_ctx *c)
{
    const snap_impl *s = c->impl;
    return s ? s->held : 0;
}

/* ---- computing a snapshot ----------------------------------------------------------- */

/* set_load's row reader: this family, as this chunk sees it. */
static int set_row(void *ud, const char *digest, dsr_buf *row, dsr_err *err)
{
    proj_ctx *c = ud;
    snap_impl *s = c->impl;
    if (pk_make(&s->key2, "set", digest, strlen(digest)))
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    const void *v;
    size_t vl;
    int rc = ps_get(&c->st, s->key2.data, s->key2.len, &v, &vl, err);
    if (rc == 1 && dsr_buf_append(row, v, vl))
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    return rc;
}

/* Unpacks the feature's latest snapshot record into u, which the caller
 * has initialised and destroys; a record that does not decode leaves u's
 * object nil.  The strings in u point into the state row, valid for the
 * chunk.  1, 0 when the feature has no snapshot, or an error. */
static int latest_record(proj_ctx *c, const char *feature, msgpack_unpacked *u, dsr_err *err)
{
    snap_impl *s = c->impl;
    const void *v;
    size_t vl, off = 0;
    if (pk_make(&s->key, "snap", feature, strlen(feature)))
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    int rc = ps_get(&c->st, s->key.data, s->key.len, &v, &vl, err);
    if (rc <= 0)
        return rc;
    if (msgpack_unpack_next(u, v, vl, &off) != MSGPACK_UNPACK_SUCCESS)
        u->data.type = MSGPACK_OBJECT_NIL;
    return 1;
}

/* The set row names in the feature's latest snapshot record: its set, and
 * the full set it is (or would be) a delta of (empty when the record
 * predates delta rows); and, when parity is not NULL, its parity hash
 * (empty when absent).  1, 0 when the feature has no snapshot, or an error. */
static int latest_sets(proj_ctx *c, const char *feature, char set[33], char base[33],
                       char parity[65], dsr_err *err)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = latest_record(c, feature, &u, err);
    if (rc <= 0) {
        msgpack_unpacked_destroy(&u);
        return rc;
    }
    dsr_str dig, bd;
    mp_get_str(&u.data, "set", &dig);
    mp_get_str(&u.data, "set_base", &bd);
    if (!dig.ptr || dig.len != 32)
        rc = dsr_err_set(err, DSR_ECORRUPT, "%s: latest snapshot record of %s does not decode",
                         c->cf, feature);
    else {
        memcpy(set, dig.ptr, 32);
        set[32] = '\0';
        size_t n = bd.ptr && bd.len == 32 ? 32 : 0;
        if (n)
            memcpy(base, bd.ptr, n);
        base[n] = '\0';
        if (parity) {
            dsr_str par;
            mp_get_str(&u.data, "parity_hash_sha256", &par);
            n = par.ptr && par.len == 64 ? 64 : 0;
            if (n)
                memcpy(parity, par.ptr, n);
            parity[n] = '\0';
        }
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* The artifact set of the feature's latest snapshot (changed-mode base),
 * appended to set with its strings copied into ar. */
static int load_latest_set(proj_ctx *c, const char *feature, aset *set, arena *ar,
                           dsr_err *err)
{
    snap_impl *s = c->impl;
    char dig[33], base[33];
    int rc = latest_sets(c, feature, dig, base, NULL, err);
    if (rc <= 0)
        return rc;   /* no earlier snapshot: the base is empty */
    const aset *latest;
    aset own = { 0 };
    arena own_ar = { NULL };
    rc = set_load(&s->sets, set_row, c, dig, &latest, &own, &own_ar, err);
    if (!rc && latest == &own && !set->n) {
        /* decoded for us alone (too big to cache): take it as it is -- a
         * million-entry set is then never held twice */
        aset_free(set);
        *set = own;
        ar_adopt(ar, &own_ar);
        return 0;
    }
    if (!rc)
        rc = aset_reserve(set, set->n + latest->n)
             ? dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory") : 0;
    /* copies: the cached set may be evicted while this one is built */
    for (size_t i = 0; !rc && i < latest->n; i++)
        if (aset_entry_copy(&latest->v[i], &set->v[set->n], ar))
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
        else
            set->n++;
    aset_free(&own);
    ar_free(&own_ar);
    return rc;
}

static int cmp_missing(const void *pa, const void *pb)
{
    const run_entry *a = *(const run_entry *const *)pa, *b = *(const run_entry *const *)pb;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

typedef struct snap_calc {
    aset             set;
    const run_entry **missing;   /* distinct keys, sorted, last report wins */
    run_entry       *missing_own; /* what missing points to: copies, so the run's
                                     entries can be freed before the set is stored */
    size_t           n_missing;
    size_t           n_indexed, n_missing_ev, n_removed;
    dsr_artifact_counts counts;
    char             parity[65];
    const char      *completeness;
} snap_calc;

/* Builds the set from the run's entries and frees them (r->v) as soon as
 * they are copied, so a million-entry run is not held twice. */
static int calc_set(proj_ctx *c, run_state *r, int changed_mode, const char *feature,
                    int64_t optional_absent, int has_manifest, int sk3, snap_calc *k,
                    arena *ar, dsr_err *err)
{
    snap_impl *s = c->impl;
    int rc = 0;
    if (changed_mode && (rc = load_latest_set(c, feature, &k->set, ar, err)))
        return rc;
    strmap gone_keys = { 0 }, gone_pairs = { 0 };
    k->missing = malloc((r->n ? r->n : 1) * sizeof *k->missing);
    if (!k->missing || aset_reserve(&k->set, k->set.n + r->n))
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    for (size_t i = 0; i < r->n && !rc; i++) {
        const run_entry *e = &r->v[i];
        int created;
        if (e->kind == RE_INDEXED) {
            aset_entry a = { e->key, e->path, e->cls, { 0 }, e->required };
            memcpy(a.hash, e->hash, 32);
            rc = aset_push(&k->set, &a);
            k->n_indexed++;
        } else if (e->kind == RE_MISSING) {
            k->missing[k->n_missing++] = e;
            rc = strmap_upsert(&gone_keys, e->key, strlen(e->key), &created) ? 0 : DSR_ENOMEM;
            k->n_missing_ev++;
        } else {
            if (pk_make(&s->key2, e->key, e->path, strlen(e->path)))
                rc = DSR_ENOMEM;
            else if (!strmap_upsert(&gone_pairs, s->key2.data, s->key2.len, &created))
                rc = DSR_ENOMEM;
            k->n_removed++;
        }
    }
    /* the reported-missing entries are copied; then the run's entries go */
    if (!rc && !(k->missing_own = malloc((k->n_missing ? k->n_missing : 1)
                                         * sizeof *k->missing_own)))
        rc = DSR_ENOMEM;
    for (size_t i = 0; !rc && i < k->n_missing; i++) {
        k->missing_own[i] = *k->missing[i];
        k->missing[i] = &k->missing_own[i];
    }
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
    if (!rc)
        rc = aset_sort_unique(&k->set);
    /* drop removed (key, path) pairs and every entry of a key reported missing */
    size_t n = 0;
    for (size_t i = 0; i < k->set.n && !rc; i++) {
        const aset_entry *e = &k->set.v[i];
        if (gone_keys.n && strmap_find(&gone_keys, e->key, strlen(e->key)))
            continue;
        if (gone_pairs.n) {
            if (pk_make(&s->key2, e->key, e->path, strlen(e->path))) {
                rc = DSR_ENOMEM;
                break;
            }
            if (strmap_find(&gone_pairs, s->key2.data, s->key2.len))
                continue;
        }
        k->set.v[n++] = *e;
    }
    if (!rc)
        k->set.n = n;
    strmap_free(&gone_keys);
    strmap_free(&gone_pairs);
    if (rc)
        return dsr_err_set(err, rc, "snapshot projection: out of memory");

    /* distinct missing keys: sort by (key, seq) and keep each key's last report */
    qsort(k->missing, k->n_missing, sizeof *k->missing, cmp_missing);
    size_t m = 0;
    for (size_t i = 0; i < k->n_missing; i++) {
        if (i + 1 < k->n_missing && !strcmp(k->missing[i]->key, k->missing[i + 1]->key))
            continue;
        k->missing[m++] = k->missing[i];
    }
    k->n_missing = m;

    int64_t rp = 0, op = 0;
    for (size_t i = 0; i < k->set.n; i++)
        k->set.v[i].required ? rp++ : op++;
    dsr_artifact_counts *ct = &k->counts;
    ct->required_present = rp;
    ct->required_missing = (int64_t)k->n_missing;
    ct->required = rp + ct->required_missing;
    ct->optional_present = op;
    ct->optional = op + (optional_absent > 0 ? optional_absent : 0);
    ct->total = ct->required + ct->optional;
    k->completeness = !has_manifest ? "unknown" : ct->required_missing ? "incomplete" : "complete";
    /* the profile the run's hashes follow decides the formula too */
    return sk3 ? aset_parity_sk3(&k->set, k->parity, err) : aset_parity(&k->set, k->parity, err);
}

/* Whether set is exactly the full set row base (a rescan of an unchanged
 * tree): then its delta against base is empty, and aset_encode_delta makes
 * that same row from set against itself, without reading and decoding the
 * base row (a set as large as the tree).  Equal full rows mean equal sets:
 * the row name is the digest of the row's bytes, and aset_encode writes a
 * set's entries in one canonical order and form.  1 with the empty delta in
 * s->val; 0 with set encoded whole in s->val; or a negative code. */
static int same_as_base(proj_ctx *c, const aset *set, const char base[33], dsr_err *err)
{
    snap_impl *s = c->impl;
    char whole[33];
    dsr_buf_reset(&s->val);
    if (aset_encode(set, &s->val))
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    int rc = aset_digest(s->val.data, s->val.len, whole, err);
    if (rc)
        return rc;
    if (strcmp(whole, base) != 0)
        return 0;
    dsr_buf_reset(&s->val);
    rc = aset_encode_delta(set, base, set, &s->val);
    if (rc < 0)
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    assert(rc == 1);   /* nothing differs, so the delta is always taken */
    return 1;
}

/* Write the set row (content-addressed: identical sets share one row),
 * as a delta of the feature's current full set when little differs
 * (aset.c).  parity: the set's parity hash.  base_out: the full set this
 * row is, or is a delta of. */
static int put_set(proj_ctx *c, const char *feature, const aset *set, const char *parity,
                   char digest[33], char base_out[33], dsr_err *err)
{
    snap_impl *s = c->impl;
    dsr_buf_reset(&s->val);
    char latest[33], base[33], latest_parity[65];
    int rc = set->n >= SET_DELTA_MIN
           ? latest_sets(c, feature, latest, base, latest_parity, err) : 0;
    if (rc < 0)
        return rc;
    /* delta: s->val holds the delta; whole: s->val holds set encoded whole */
    int delta = 0, whole = 0, try_delta = rc == 1 && base[0];
    /* same_as_base encodes and hashes the whole set, which a set that
     * differs from its base then pays on top of its delta: it is tried only
     * when the set has the latest snapshot's parity (a rescan that changed
     * nothing).  Either way the row written is the same. */
    if (try_delta && !strcmp(parity, latest_parity)) {
        if ((rc = same_as_base(c, set, base, err)) < 0)
            return rc;
        delta = rc;
        whole = !delta;
        try_delta = !delta;
    }
    if (try_delta) {
        /* try the delta in s->val; a whole row made already waits in s->val2 */
        if (whole) {
            dsr_buf w = s->val;
            s->val = s->val2;
            s->val2 = w;
        }
        dsr_buf_reset(&s->val);
        const aset *b;
        aset own = { 0 };
        arena own_ar = { NULL };
        rc = set_load(&s->sets, set_row, c, base, &b, &own, &own_ar, err);
        if (!rc && (delta = aset_encode_delta(b, base, set, &s->val)) < 0)
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
        aset_free(&own);
        ar_free(&own_ar);
        if (rc)
            return rc;
        if (!delta && whole) {   /* a quarter or more differs: the whole row it is */
            dsr_buf w = s->val;
            s->val = s->val2;
            s->val2 = w;
        } else if (!delta) {
            dsr_buf_reset(&s->val);
            if (aset_encode(set, &s->val))
                return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
        }
    } else if (!delta && aset_encode(set, &s->val)) {
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    }
    rc = aset_digest(s->val.data, s->val.len, digest, err);
    if (rc)
        return rc;
    memcpy(base_out, delta ? base : digest, 33);
    if (pk_make(&s->key, "set", digest, 32))
        return dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    const void *v;
    size_t vl;
    rc = ps_get(&c->st, s->key.data, s->key.len, &v, &vl, err);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return 0;   /* already stored, same bytes by construction */
    return ps_put_take(&c->st, s->key.data, s->key.len, &s->val, err);
}

/* ---- a changed-mode run that changed nothing ------------------------------------------ */

/* A changed-mode run with no entries at all (nothing indexed, missing or
 * removed) has the feature's latest set as its set, so its snapshot follows
 * from the latest record without loading, sorting or hashing the set:
 *   - the parity is the record's when the formula is the same (both runs
 *     spec-kitty-3, or neither);
 *   - the present counts are the record's (counted over the same set), and
 *     nothing is missing;
 *   - the set row is the one put_set would write: for a latest row that is
 *     a delta of base B, the same row (put_set encodes the same set against
 *     the same B, which aset_encode_delta turns into the same bytes); for a
 *     full latest row (base = itself), an empty delta of it (a set against
 *     itself differs nowhere).
 * Returns 1 with k, digest and set_base filled so, 0 when the record does
 * not allow it (none, one that does not decode, a set below SET_DELTA_MIN,
 * which put_set stores whole, a record from before delta rows, another
 * formula): then the set is computed; or a negative code. */
static int calc_unchanged(proj_ctx *c, const char *feature, int sk3, int64_t optional_absent,
                          int has_manifest, snap_calc *k, char digest[33], char set_base[33],
                          dsr_err *err)
{
    snap_impl *s = c->impl;
    const void *v;
    size_t vl;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = latest_record(c, feature, &u, err);
    if (rc <= 0)
        goto out;
    rc = 0;
    if (u.data.type != MSGPACK_OBJECT_MAP)
        goto out;
    dsr_str dig, bd, par, prof;
    mp_get_str(&u.data, "set", &dig);
    mp_get_str(&u.data, "set_base", &bd);
    mp_get_str(&u.data, "parity_hash_sha256", &par);
    mp_get_str(&u.data, "profile", &prof);
    const msgpack_object *ct = codec_map_get(&u.data, "artifact_counts");
    int rec_sk3 = prof.ptr && prof.len == 12 && !memcmp(prof.ptr, "spec-kitty-3", 12);
    if (!dig.ptr || dig.len != 32 || !bd.ptr || bd.len != 32 || !par.ptr || par.len != 64
        || !ct || ct->type != MSGPACK_OBJECT_MAP || rec_sk3 != sk3)
        goto out;
    int64_t rp = mp_get_i64(ct, "required_present"), op = mp_get_i64(ct, "optional_present");
    if (rp < 0 || op < 0 || rp + op < SET_DELTA_MIN)
        goto out;
    memcpy(set_base, bd.ptr, 32);
    set_base[32] = '\0';
    if (memcmp(dig.ptr, bd.ptr, 32) != 0) {
        memcpy(digest, dig.ptr, 32);      /* a delta of set_base: the same row */
        digest[32] = '\0';
    } else {
        /* a full row: the set's delta against itself, stored if new */
        aset none = { 0 };
        dsr_buf_reset(&s->val);
        if (aset_encode_delta(&none, set_base, &none, &s->val) != 1) {
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
            goto out;
        }
        if ((rc = aset_digest(s->val.data, s->val.len, digest, err)))
            goto out;
        if (pk_make(&s->key, "set", digest, 32)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
            goto out;
        }
        rc = ps_get(&c->st, s->key.data, s->key.len, &v, &vl, err);
        if (rc == 0)
            rc = ps_put_take(&c->st, s->key.data, s->key.len, &s->val, err);
        if (rc < 0)
            goto out;
    }
    memcpy(k->parity, par.ptr, 64);
    k->parity[64] = '\0';
    dsr_artifact_counts *cn = &k->counts;
    cn->required_present = rp;
    cn->required_missing = 0;
    cn->required = rp;
    cn->optional_present = op;
    cn->optional = op + (optional_absent > 0 ? optional_absent : 0);
    cn->total = cn->required + cn->optional;
    k->completeness = has_manifest ? "complete" : "unknown";
    rc = 1;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

typedef struct snap_meta {
    const char *snapshot_id, *event_id, *feature, *run_id, *set_digest, *set_base;
    const dsr_envelope *scan;
    uint64_t    scan_seq;
    int         consistent;
} snap_meta;

static int pack_str_kv(msgpack_packer *pk, const char *k, dsr_str v)
{
    if (mp_pack_str(pk, k) || mp_pack_strn(pk, v.ptr, v.len))
        return DSR_ENOMEM;
    return 0;
}

static int encode_record(const snap_meta *m, const snap_calc *k, dsr_buf *out)
{
    const msgpack_object *p = m->scan->payload;
    dsr_str mt, mv, step, branch, mode;
    mp_get_str(p, "mission_type", &mt);
    mp_get_str(p, "manifest_version", &mv);
    mp_get_str(p, "step_id", &step);
    mp_get_str(p, "target_branch", &branch);
    mp_get_str(p, "emit_mode", &mode);
    const dsr_artifact_counts *ct = &k->counts;
    dsr_str prof;
    mp_get_str(p, "profile", &prof);
    /* wp04 records keep their 22 fields (and bytes); others name the profile */
    int named = prof.ptr && !(prof.len == 4 && !memcmp(prof.ptr, "wp04", 4));
    msgpack_packer pk;
    dsr_buf_reset(out);
    mp_packer_init(&pk, out);
    int bad = msgpack_pack_map(&pk, 22 + (named ? 1 : 0))
        || (named && pack_str_kv(&pk, "profile", prof))
        || mp_pack_kv_str(&pk, "snapshot_id", m->snapshot_id)
        || mp_pack_kv_str(&pk, "feature_slug", m->feature)
        || mp_pack_kv_str(&pk, "run_id", m->run_id)
        || mp_pack_kv_str(&pk, "event_id", m->event_id)
        || pack_str_kv(&pk, "scan_event_id", m->scan->event_id)
        || mp_pack_str(&pk, "scan_seq") || msgpack_pack_uint64(&pk, m->scan_seq)
        || pack_str_kv(&pk, "timestamp", m->scan->timestamp)
        || mp_pack_kv_str(&pk, "parity_hash_sha256", k->parity)
        || mp_pack_str(&pk, "artifact_counts") || msgpack_pack_map(&pk, 6)
        || mp_pack_kv_i64(&pk, "total", ct->total)
        || mp_pack_kv_i64(&pk, "required", ct->required)
        || mp_pack_kv_i64(&pk, "required_present", ct->required_present)
        || mp_pack_kv_i64(&pk, "required_missing", ct->required_missing)
        || mp_pack_kv_i64(&pk, "optional", ct->optional)
        || mp_pack_kv_i64(&pk, "optional_present", ct->optional_present)
        || mp_pack_kv_i64(&pk, "optional_absent", mp_get_i64(p, "optional_absent"))
        || mp_pack_kv_str(&pk, "completeness_status", k->completeness)
        || pack_str_kv(&pk, "mission_type", mt)
        || pack_str_kv(&pk, "manifest_version", mv)
        || pack_str_kv(&pk, "step_id", step)
        || pack_str_kv(&pk, "target_branch", branch)
        || pack_str_kv(&pk, "emit_mode", mode)
        || pack_str_kv(&pk, "project_uuid", m->scan->project_uuid)
        || pack_str_kv(&pk, "node_id", m->scan->node_id)
        || mp_pack_str(&pk, "counts_consistent")
        || (m->consistent ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk))
        || mp_pack_kv_str(&pk, "set", m->set_digest)
        || mp_pack_kv_str(&pk, "set_base", m->set_base)
        || mp_pack_str(&pk, "missing") || msgpack_pack_array(&pk, k->n_missing);
    for (size_t i = 0; i < k->n_missing && !bad; i++) {
        const run_entry *e = k->missing[i];
        bad = msgpack_pack_array(&pk, 4) || mp_pack_str(&pk, e->key) || mp_pack_str(&pk, e->cls)
            || mp_pack_str(&pk, e->path) || mp_pack_str(&pk, e->reason);
    }
    return bad ? DSR_ENOMEM : 0;
}

static int complete_run(proj_ctx *c, uint64_t seq, const dsr_envelope *env, dsr_err *err)
{
    snap_impl *s = c->impl;
    const msgpack_object *p = env->payload;
    /* A completion without a run id closes nothing pending; its own event id
     * stands in as the run id so the snapshot id stays deterministic. */
    dsr_str run = env->correlation_id.ptr ? env->correlation_id : env->event_id;
    run_state *r = run_get(s, run, env->feature_slug, err);
    if (!r)
        return DSR_ENOMEM;
    /* Entries of earlier chunks come first: they have smaller sequences. */
    run_state all = { r->run_id, r->feature, NULL, 0, 0, { NULL } };
    arena tmp = { NULL };   /* strings needed only while this snapshot is computed */
    /* every string of the set goes to the run's arena, which the set cache
     * takes with the set once it is stored */
    int rc = take_pending(c, r->run_id, &all, &r->ar, err);
    if (!rc && !all.n) {
        /* nothing pending (the usual case): take the entries as they are */
        all.v = r->v;
        all.n = r->n;
        all.cap = r->cap;
        r->v = NULL;
        r->cap = 0;
    }
    for (size_t i = 0; i < r->n && !rc && r->v; i++)
        if (run_push(&all, &r->v[i]))
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    free(r->v);
    r->v = NULL;
    r->cap = 0;
    s->held -= r->n < s->held ? r->n : s->held;
    r->n = 0;   /* the run is closed; a (malformed) late event would reopen it */
    if (rc) {
        free(all.v);
        ar_free(&tmp);
        return rc;
    }

    dsr_str feature_s, mt, mode, prof;
    mp_get_str(p, "feature_slug", &feature_s);
    mp_get_str(p, "mission_type", &mt);
    mp_get_str(p, "emit_mode", &mode);
    mp_get_str(p, "profile", &prof);
    int sk3 = prof.ptr && prof.len == 12 && !memcmp(prof.ptr, "spec-kitty-3", 12);
    int changed_mode = mode.ptr && mode.len == 7 && !memcmp(mode.ptr, "changed", 7);
    char *feature = ar_str(&tmp, feature_s.ptr ? feature_s : env->feature_slug, &rc);
    if (rc || !feature) {
        free(all.v);
        ar_free(&tmp);
        return dsr_err_set(err, rc ? rc : DSR_ECORRUPT,
                           "snapshot projection: scan completion %llu has no feature",
                           (unsigned long long)seq);
    }

    snap_calc k;
    memset(&k, 0, sizeof k);
    char snapshot_id[DSR_ULID_LEN + 1], event_id[DSR_ULID_LEN + 1], digest[33], set_base[33];
    /* 1: the set is the latest one, its row known already (k.set stays empty) */
    int same = changed_mode && !all.n
               ? calc_unchanged(c, feature, sk3, mp_get_i64(p, "optional_absent"),
                                mt.ptr != NULL, &k, digest, set_base, err) : 0;
    rc = same < 0 ? same : same ? 0
       : calc_set(c, &all, changed_mode, feature, mp_get_i64(p, "optional_absent"),
                  mt.ptr != NULL, sk3, &k, &r->ar, err);
    assert(same <= 0 || (!k.set.n && !k.n_missing));
    /* Memory: a million-artifact run holds its entries, the set and the
     * set's encoding at once unless each goes as soon as it is used. */
    free(all.v);
    all.v = NULL;

    uint64_t ms = 0;
    if (!rc && dsr_time_parse_rfc3339(env->timestamp.ptr, env->timestamp.len, &ms))
        rc = dsr_err_set(err, DSR_ECORRUPT, "snapshot projection: event %llu has a bad timestamp",
                         (unsigned long long)seq);
    if (!rc) {
        const char *parts[] = { "snapshot", feature, r->run_id };
        rc = derive_ulid(ms, parts, 3, snapshot_id, err);
    }
    if (!rc && !same)
        rc = put_set(c, feature, &k.set, k.parity, digest, set_base, err);
    /* Leave the set for the drift projection (not an unloaded one: the
     * cache must never hold an empty set under a full set's digest).  From
     * here on k.missing's strings may live in the cache's arena; nothing
     * evicts from the cache before this function returns. */
    const aset *cached;
    if (rc || same || !sc_put_take(&s->sets, digest, &k.set, &r->ar, &cached))
        aset_free(&k.set);
    if (!rc) {
        dsr_snapshot_computed pl = { feature, k.parity, k.counts, k.completeness, snapshot_id };
        rc = proj_emit(c, DSR_EV_SNAPSHOT_COMPUTED, &pl, env, r->run_id, event_id, err);
    }
    if (!rc) {
        snap_meta m = { snapshot_id, event_id, feature, r->run_id, digest, set_base, env, seq,
                        (int64_t)k.n_indexed == mp_get_i64(p, "indexed_count")
                        && (int64_t)k.n_missing_ev == mp_get_i64(p, "missing_count")
                        && (int64_t)k.n_removed == mp_get_i64(p, "removed_count") };
        if (encode_record(&m, &k, &s->val))
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
    }
    /* the record by id (immutable) and as the feature's latest */
    if (!rc) {
        if (pk_make(&s->key, "sid", snapshot_id, DSR_ULID_LEN))
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
        else
            rc = ps_put(&c->st, s->key.data, s->key.len, s->val.data, s->val.len, err);
    }
    if (!rc) {
        if (pk_make(&s->key, "snap", feature, strlen(feature)))
            rc = dsr_err_set(err, DSR_ENOMEM, "snapshot projection: out of memory");
        else
            rc = ps_put(&c->st, s->key.data, s->key.len, s->val.data, s->val.len, err);
    }
    aset_free(&k.set);
    free(k.missing);
    free(k.missing_own);
    free(all.v);
    ar_free(&tmp);
    ar_free(&r->ar);   /* the run is closed: what the cache did not take goes */
    return rc;
}

setcache *snap_sets(proj_ctx *snap)
{
    snap_impl *s = snap->impl;
    return &s->sets;
}

static int snap_apply(proj_ctx *c, uint64_t seq, const dsr_envelope *env,
                      const replay_art *art, dsr_err *err)
{
    if (env->type == DSR_EV_SCAN_COMPLETED)
        return complete_run(c, seq, env, err);
    return fold_artifact(c, seq, env, art, err);
}

const proj_ops proj_snapshot_ops = {
    .name = DSR_PROJ_SNAPSHOT,
    .consumes = (1u << DSR_EV_ARTIFACT_INDEXED) | (1u << DSR_EV_ARTIFACT_MISSING)
              | (1u << DSR_EV_ARTIFACT_REMOVED) | (1u << DSR_EV_SCAN_COMPLETED),
    .init = snap_init,
    .apply = snap_apply,
    .flush = snap_flush,
    .held = snap_held,
    .fini = snap_fini,
};

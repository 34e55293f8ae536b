/*
 * replay_read.c - read accessors over the projections' live state, for
 * `dossier status`, `snapshot`, `drift` and `baseline`.  They only read
 * committed rows, so they work on read-only handles and never see half of a
 * chunk.
 */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

static const char *live_cf(const char *proj, char buf[48])
{
    proj_cf_name(proj, 0, buf);
    return buf;
}

void dsr_replay_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int dsr_replay_features(dsr_log *log, char ***out, size_t *n, dsr_err *err)
{
    if (!log || !out || !n)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_features: NULL argument");
    *out = NULL;
    *n = 0;
    char cf[48];
    dsr_log_iter *it = NULL;
    int rc = dsr_log_iter_cf(log, live_cf(DSR_PROJ_SNAPSHOT, cf), "snap", 5, &it, err);
    if (rc)
        return rc;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    for (;;) {
        const void *k;
        size_t kl;
        int r = dsr_log_iter_next(it, &k, &kl, NULL, NULL, err);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 8;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = dsr_err_set(err, DSR_ENOMEM, "out of memory listing features");
                break;
            }
            v = nv;
        }
        /* keys are "snap\0<feature>": iteration order is the sorted order */
        if (!(v[cnt] = strndup((const char *)k + 5, kl - 5))) {
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory listing features");
            break;
        }
        cnt++;
    }
    dsr_log_iter_free(it);
    if (rc) {
        dsr_replay_strv_free(v, cnt);
        return rc;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int dsr_replay_open_runs(dsr_log *log, size_t *n, dsr_err *err)
{
    if (!log || !n)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_open_runs: NULL argument");
    *n = 0;
    char cf[48];
    dsr_log_iter *it = NULL;
    int rc = dsr_log_iter_cf(log, live_cf(DSR_PROJ_SNAPSHOT, cf), "pend", 5, &it, err);
    if (rc)
        return rc;
    dsr_buf last = DSR_BUF_INIT;
    for (;;) {
        const void *k;
        size_t kl;
        int r = dsr_log_iter_next(it, &k, &kl, NULL, NULL, err);
        if (r <= 0) {
            rc = r;
            break;
        }
        /* "pend\0<run>\0<seq8>": count distinct runs (rows of a run are adjacent) */
        if (kl < 5 + 1 + 8)
            continue;
        size_t rl = kl - 5 - 1 - 8;
        const char *run = (const char *)k + 5;
        if (last.len == rl && !memcmp(last.data, run, rl))
            continue;
        dsr_buf_reset(&last);
        if (dsr_buf_append(&last, run, rl)) {
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory counting open runs");
            break;
        }
        (*n)++;
    }
    dsr_buf_free(&last);
    dsr_log_iter_free(it);
    return rc;
}

int replay_get_row(dsr_log *log, const char *proj, const char *tag, const char *id,
                   dsr_buf *val, dsr_err *err)
{
    char cf[48];
    dsr_buf key = DSR_BUF_INIT;
    if (pk_make(&key, tag, id, strlen(id)))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    int rc = dsr_log_get(log, live_cf(proj, cf), key.data, key.len, val, err);
    dsr_buf_free(&key);
    return rc;
}

/* set_load's row reader over the live snapshot family. */
static int set_row(void *ud, const char *digest, dsr_buf *row, dsr_err *err)
{
    int rc = replay_get_row(ud, DSR_PROJ_SNAPSHOT, "set", digest, row, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return 0;
    }
    return rc ? rc : 1;
}

int replay_snapshot_set(dsr_log *log, const void *rec, size_t len, const char *snapshot_id,
                        const aset **out, aset *own, arena *own_ar, dsr_err *err)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    dsr_str dig = { NULL, 0 };
    if (msgpack_unpack_next(&u, rec, len, &off) == MSGPACK_UNPACK_SUCCESS)
        mp_get_str(&u.data, "set", &dig);
    char digest[33] = "";
    if (dig.ptr && dig.len == 32)
        memcpy(digest, dig.ptr, 32);
    msgpack_unpacked_destroy(&u);
    if (!digest[0])
        return dsr_err_set(err, DSR_ECORRUPT, "snapshot %s: record names no artifact set",
                           snapshot_id);
    int rc = set_load(NULL, set_row, log, digest, out, own, own_ar, err);
    if (rc)
        dsr_err_prefix(err, "snapshot %s", snapshot_id);
    return rc;
}

static int load_artifacts(dsr_log *log, const void *rec, size_t len, dsr_snapshot_info *s,
                          dsr_err *err)
{
    aset own = { 0 };
    arena ar = { NULL };
    const aset *sp = NULL;
    int rc = replay_snapshot_set(log, rec, len, s->snapshot_id, &sp, &own, &ar, err);
    const aset set = rc ? (aset){ 0 } : *sp;
    if (!rc && set.n && !(s->artifacts = calloc(set.n, sizeof *s->artifacts)))
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory loading artifacts");
    /* Every artifact's strings in one block (owned through the first
     * artifact's artifact_key, see dsr_snapshot_info_free): three mallocs
     * per artifact cost real memory at a million artifacts. */
    size_t text = 0;
    for (size_t i = 0; i < set.n; i++)
        text += strlen(set.v[i].key) + strlen(set.v[i].path) + strlen(set.v[i].cls) + 3;
    char *block = NULL;
    if (!rc && set.n && !(block = malloc(text)))
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory loading artifacts");
    for (size_t i = 0; i < set.n && !rc; i++) {
        dsr_artifact_ref *a = &s->artifacts[s->n_artifacts++];
        const char *src[3] = { set.v[i].key, set.v[i].path, set.v[i].cls };
        char **dst[3] = { &a->artifact_key, &a->relative_path, &a->artifact_class };
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(src[k]) + 1;
            memcpy(block, src[k], n);
            *dst[k] = block;
            block += n;
        }
        dsr_hex(set.v[i].hash, 32, a->sha256);
        a->required = set.v[i].required;
    }
    aset_free(&own);
    ar_free(&ar);
    return rc;
}

int dsr_replay_snapshot_get(dsr_log *log, const char *feature, const char *snapshot_id,
                            int with_artifacts, dsr_snapshot_info **out, dsr_err *err)
{
    if (!log || !out || (!feature && !snapshot_id))
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_snapshot_get: bad argument");
    *out = NULL;
    dsr_buf v = DSR_BUF_INIT;
    int rc = snapshot_id ? replay_get_row(log, DSR_PROJ_SNAPSHOT, "sid", snapshot_id, &v, err)
                         : replay_get_row(log, DSR_PROJ_SNAPSHOT, "snap", feature, &v, err);
    if (rc == DSR_ENOTFOUND) {
        if (snapshot_id)
            dsr_err_set(err, rc, "no snapshot %s", snapshot_id);
        else
            dsr_err_set(err, rc, "feature %s has no snapshot yet", feature);
    }
    dsr_snapshot_info *s = NULL;
    if (!rc)
        rc = rec_decode_snapshot(v.data, v.len, &s, err);
    if (!rc && feature && strcmp(s->feature_slug, feature))
        rc = dsr_err_set(err, DSR_ENOTFOUND, "snapshot %s belongs to feature %s, not %s",
                         s->snapshot_id, s->feature_slug, feature);
    if (!rc && with_artifacts)
        rc = load_artifacts(log, v.data, v.len, s, err);
    dsr_buf_free(&v);
    if (rc) {
        dsr_snapshot_info_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int dsr_replay_baseline_get(dsr_log *log, const char *feature, dsr_baseline_info **out,
                            dsr_err *err)
{
    if (!log || !feature || !out)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_baseline_get: NULL argument");
    *out = NULL;
    dsr_buf v = DSR_BUF_INIT;
    int rc = replay_get_row(log, DSR_PROJ_DRIFT, "base", feature, &v, err);
    if (rc == DSR_ENOTFOUND)
        dsr_err_set(err, rc, "feature %s has no accepted baseline", feature);
    if (!rc)
        rc = rec_decode_baseline(v.data, v.len, out, err);
    dsr_buf_free(&v);
    return rc;
}

int dsr_replay_drift_get(dsr_log *log, const char *feature, dsr_drift_info **out, dsr_err *err)
{
    if (!log || !feature || !out)
        return dsr_err_set(err, DSR_EINVAL, "dsr_replay_drift_get: NULL argument");
    *out = NULL;
    dsr_buf v = DSR_BUF_INIT;
    int rc = replay_get_row(log, DSR_PROJ_DRIFT, "drift", feature, &v, err);
    if (rc == DSR_ENOTFOUND)
        dsr_err_set(err, rc, "no drift assessment for feature %s yet", feature);
    if (!rc)
        rc = rec_decode_drift(v.data, v.len, out, err);
    dsr_buf_free(&v);
    return rc;
}

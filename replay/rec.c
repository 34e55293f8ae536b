/*
 * rec.c - decoding the projections' state rows (snapshot records, baselines,
 * drift assessments) into the public info structs of dossier/replay.h, and
 * freeing those structs.  The row layouts are written by proj_snapshot.c and
 * proj_drift.c; a row that does not have the expected shape is DSR_ECORRUPT.
 */
#include "replay.h"
#include "codec.h"

#include <stdlib.h>
#include <string.h>

typedef struct dec {
    msgpack_unpacked u;
    int              rc;
} dec;

static int dec_open(dec *d, const void *buf, size_t len)
{
    size_t off = 0;
    msgpack_unpacked_init(&d->u);
    d->rc = 0;
    if (msgpack_unpack_next(&d->u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS
        || d->u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&d->u);
        return DSR_ECORRUPT;
    }
    return 0;
}

static char *dstr(dec *d, const msgpack_object *o, const char *k)
{
    return mp_strdup(codec_map_get(o, k), &d->rc);
}

static void hash_copy(char out[65], const msgpack_object *o)
{
    out[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size <= 64) {
        memcpy(out, o->via.str.ptr, o->via.str.size);
        out[o->via.str.size] = '\0';
    }
}

static const msgpack_object_array *arr(const msgpack_object *o, const char *k)
{
    const msgpack_object *v = codec_map_get(o, k);
    return v && v->type == MSGPACK_OBJECT_ARRAY ? &v->via.array : NULL;
}

static char *item_str(dec *d, const msgpack_object *o)
{
    return mp_strdup(o, &d->rc);
}

/* ---- snapshot ---------------------------------------------------------------- */

void dsr_snapshot_info_free(dsr_snapshot_info *s)
{
    if (!s)
        return;
    char **f[] = { &s->snapshot_id, &s->feature_slug, &s->run_id, &s->event_id,
                   &s->scan_event_id, &s->timestamp, &s->completeness_status,
                   &s->mission_type, &s->manifest_version, &s->step_id, &s->target_branch,
                   &s->emit_mode, &s->project_uuid, &s->node_id };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        free(*f[i]);
    for (size_t i = 0; i < s->n_missing; i++) {
        free(s->missing[i].artifact_key);
        free(s->missing[i].artifact_class);
        free(s->missing[i].expected_path_pattern);
        free(s->missing[i].reason_code);
    }
    free(s->missing);
    if (s->n_artifacts)
        free(s->artifacts[0].artifact_key);   /* the block of every artifact's strings */
    free(s->artifacts);
    free(s);
}

int rec_decode_snapshot(const void *buf, size_t len, dsr_snapshot_info **out, dsr_err *err)
{
    dec d;
    if (dec_open(&d, buf, len))
        return dsr_err_set(err, DSR_ECORRUPT, "snapshot record does not decode");
    dsr_snapshot_info *s = calloc(1, sizeof *s);
    if (!s) {
        msgpack_unpacked_destroy(&d.u);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory decoding a snapshot record");
    }
    const msgpack_object *o = &d.u.data;
    s->snapshot_id = dstr(&d, o, "snapshot_id");
    s->feature_slug = dstr(&d, o, "feature_slug");
    s->run_id = dstr(&d, o, "run_id");
    s->event_id = dstr(&d, o, "event_id");
    s->scan_event_id = dstr(&d, o, "scan_event_id");
    s->timestamp = dstr(&d, o, "timestamp");
    s->scan_seq = (uint64_t)mp_get_i64(o, "scan_seq");
    hash_copy(s->parity_hash_sha256, codec_map_get(o, "parity_hash_sha256"));
    const msgpack_object *ct = codec_map_get(o, "artifact_counts");
    s->counts.total = mp_get_i64(ct, "total");
    s->counts.required = mp_get_i64(ct, "required");
    s->counts.required_present = mp_get_i64(ct, "required_present");
    s->counts.required_missing = mp_get_i64(ct, "required_missing");
    s->counts.optional = mp_get_i64(ct, "optional");
    s->counts.optional_present = mp_get_i64(ct, "optional_present");
    s->optional_absent = mp_get_i64(o, "optional_absent");
    s->completeness_status = dstr(&d, o, "completeness_status");
    s->mission_type = dstr(&d, o, "mission_type");
    s->manifest_version = dstr(&d, o, "manifest_version");
    s->step_id = dstr(&d, o, "step_id");
    s->target_branch = dstr(&d, o, "target_branch");
    s->emit_mode = dstr(&d, o, "emit_mode");
    s->project_uuid = dstr(&d, o, "project_uuid");
    s->node_id = dstr(&d, o, "node_id");
    s->counts_consistent = mp_get_bool(o, "counts_consistent");
    /* records of wp04 scans name no profile */
    dsr_str prof;
    mp_get_str(o, "profile", &prof);
    s->profile = prof.ptr && prof.len == 12 && !memcmp(prof.ptr, "spec-kitty-3", 12)
                 ? DSR_PROFILE_SPEC_KITTY_3 : DSR_PROFILE_WP04;
    const msgpack_object_array *m = arr(o, "missing");
    if (m && m->size && !d.rc) {
        if (!(s->missing = calloc(m->size, sizeof *s->missing)))
            d.rc = DSR_ENOMEM;
        for (uint32_t i = 0; i < m->size && !d.rc; i++) {
            const msgpack_object *t = &m->ptr[i];
            if (t->type != MSGPACK_OBJECT_ARRAY || t->via.array.size != 4) {
                d.rc = DSR_ECORRUPT;
                break;
            }
            dsr_missing_ref *r = &s->missing[s->n_missing++];
            r->artifact_key = item_str(&d, &t->via.array.ptr[0]);
            r->artifact_class = item_str(&d, &t->via.array.ptr[1]);
            r->expected_path_pattern = item_str(&d, &t->via.array.ptr[2]);
            r->reason_code = item_str(&d, &t->via.array.ptr[3]);
        }
    }
    int rc = d.rc;
    if (!rc && (!s->snapshot_id || !s->feature_slug || !s->completeness_status
                || strlen(s->parity_hash_sha256) != 64))
        rc = DSR_ECORRUPT;
    msgpack_unpacked_destroy(&d.u);
    if (rc) {
        dsr_snapshot_info_free(s);
        return dsr_err_set(err, rc, rc == DSR_ENOMEM ? "out of memory decoding a snapshot record"
                                                     : "snapshot record is malformed");
    }
    *out = s;
    return 0;
}

/* ---- baseline ------------------------------------------------------------------ */

void dsr_baseline_info_free(dsr_baseline_info *b)
{
    if (!b)
        return;
    free(b->feature_slug);
    free(b->snapshot_id);
    free(b->parity_hash_sha256);
    free(b->project_uuid);
    free(b->node_id);
    free(b->target_branch);
    free(b->mission_key);
    free(b->manifest_version);
    free(b->event_id);
    free(b->timestamp);
    free(b);
}

int rec_decode_baseline(const void *buf, size_t len, dsr_baseline_info **out, dsr_err *err)
{
    dec d;
    if (dec_open(&d, buf, len))
        return dsr_err_set(err, DSR_ECORRUPT, "baseline record does not decode");
    dsr_baseline_info *b = calloc(1, sizeof *b);
    if (!b) {
        msgpack_unpacked_destroy(&d.u);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory decoding a baseline");
    }
    const msgpack_object *o = &d.u.data;
    b->feature_slug = dstr(&d, o, "feature_slug");
    b->snapshot_id = dstr(&d, o, "snapshot_id");
    b->parity_hash_sha256 = dstr(&d, o, "parity_hash_sha256");
    b->project_uuid = dstr(&d, o, "project_uuid");
    b->node_id = dstr(&d, o, "node_id");
    b->target_branch = dstr(&d, o, "target_branch");
    b->mission_key = dstr(&d, o, "mission_key");
    b->manifest_version = dstr(&d, o, "manifest_version");
    b->event_id = dstr(&d, o, "event_id");
    b->timestamp = dstr(&d, o, "timestamp");
    int rc = d.rc;
    if (!rc && (!b->feature_slug || !b->snapshot_id || !b->parity_hash_sha256))
        rc = DSR_ECORRUPT;
    msgpack_unpacked_destroy(&d.u);
    if (rc) {
        dsr_baseline_info_free(b);
        return dsr_err_set(err, rc, rc == DSR_ENOMEM ? "out of memory decoding a baseline"
                                                     : "baseline record is malformed");
    }
    *out = b;
    return 0;
}

/* ---- drift ------------------------------------------------------------------------ */

const char *dsr_drift_status_name(dsr_drift_status s)
{
    switch (s) {
    case DSR_DRIFT_NONE:             return "none";
    case DSR_DRIFT_DETECTED:         return "drift";
    case DSR_DRIFT_NO_BASELINE:      return "no_baseline";
    case DSR_DRIFT_NOT_COMPARED:     return "not_compared";
    case DSR_DRIFT_BASELINE_UNKNOWN: return "baseline_unknown";
    }
    return "unknown";
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void rec_changes_free(dsr_drift_change *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].artifact_key);
        free(v[i].relative_path);
    }
    free(v);
}

void dsr_drift_info_free(dsr_drift_info *d)
{
    if (!d)
        return;
    free(d->feature_slug);
    free(d->severity);
    free(d->snapshot_id);
    free(d->baseline_snapshot_id);
    free(d->local_parity);
    free(d->baseline_parity);
    free(d->event_id);
    free(d->source_event_id);
    free_strv(d->missing_in_local, d->n_missing_in_local);
    free_strv(d->missing_in_baseline, d->n_missing_in_baseline);
    rec_changes_free(d->changed, d->n_changed);
    rec_changes_free(d->vanished, d->n_vanished);
    rec_changes_free(d->added, d->n_added);
    free_strv(d->why, d->n_why);
    for (size_t i = 0; i < d->n_mismatch; i++) {
        free(d->mismatch[i].field);
        free(d->mismatch[i].snapshot_value);
        free(d->mismatch[i].baseline_value);
    }
    free(d->mismatch);
    free(d);
}

static char **dec_strv(dec *d, const msgpack_object *o, const char *k, size_t *n)
{
    const msgpack_object_array *a = arr(o, k);
    *n = 0;
    if (!a || !a->size)
        return NULL;
    char **v = calloc(a->size, sizeof *v);
    if (!v) {
        d->rc = DSR_ENOMEM;
        return NULL;
    }
    for (uint32_t i = 0; i < a->size && !d->rc; i++) {
        if (a->ptr[i].type != MSGPACK_OBJECT_STR) {
            d->rc = DSR_ECORRUPT;
            break;
        }
        v[(*n)++] = item_str(d, &a->ptr[i]);
    }
    return v;
}

static dsr_drift_change *dec_changes(dec *d, const msgpack_object *o, const char *k, size_t *n)
{
    const msgpack_object_array *a = arr(o, k);
    *n = 0;
    if (!a || !a->size)
        return NULL;
    dsr_drift_change *v = calloc(a->size, sizeof *v);
    if (!v) {
        d->rc = DSR_ENOMEM;
        return NULL;
    }
    for (uint32_t i = 0; i < a->size && !d->rc; i++) {
        const msgpack_object *t = &a->ptr[i];
        if (t->type != MSGPACK_OBJECT_ARRAY || t->via.array.size != 5
            || t->via.array.ptr[4].type != MSGPACK_OBJECT_BOOLEAN) {
            d->rc = DSR_ECORRUPT;
            break;
        }
        dsr_drift_change *c = &v[(*n)++];
        c->artifact_key = item_str(d, &t->via.array.ptr[0]);
        c->relative_path = item_str(d, &t->via.array.ptr[1]);
        hash_copy(c->old_sha256, &t->via.array.ptr[2]);
        hash_copy(c->new_sha256, &t->via.array.ptr[3]);
        c->required = t->via.array.ptr[4].via.boolean;
    }
    return v;
}

static dsr_drift_status status_parse(const char *s)
{
    static const dsr_drift_status all[] = { DSR_DRIFT_NONE, DSR_DRIFT_DETECTED,
                                            DSR_DRIFT_NO_BASELINE, DSR_DRIFT_NOT_COMPARED,
                                            DSR_DRIFT_BASELINE_UNKNOWN };
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, dsr_drift_status_name(all[i])))
            return all[i];
    return (dsr_drift_status)-1;
}

int rec_decode_drift(const void *buf, size_t len, dsr_drift_info **out, dsr_err *err)
{
    dec d;
    if (dec_open(&d, buf, len))
        return dsr_err_set(err, DSR_ECORRUPT, "drift record does not decode");
    dsr_drift_info *r = calloc(1, sizeof *r);
    if (!r) {
        msgpack_unpacked_destroy(&d.u);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory decoding a drift record");
    }
    const msgpack_object *o = &d.u.data;
    r->feature_slug = dstr(&d, o, "feature_slug");
    char *status = dstr(&d, o, "status");
    r->status = status_parse(status);
    free(status);
    r->severity = dstr(&d, o, "severity");
    r->snapshot_id = dstr(&d, o, "snapshot_id");
    r->baseline_snapshot_id = dstr(&d, o, "baseline_snapshot_id");
    r->local_parity = dstr(&d, o, "local_parity");
    r->baseline_parity = dstr(&d, o, "baseline_parity");
    r->event_id = dstr(&d, o, "event_id");
    r->source_event_id = dstr(&d, o, "source_event_id");
    r->missing_in_local = dec_strv(&d, o, "missing_in_local", &r->n_missing_in_local);
    r->missing_in_baseline = dec_strv(&d, o, "missing_in_baseline", &r->n_missing_in_baseline);
    r->changed = dec_changes(&d, o, "changed", &r->n_changed);
    r->vanished = dec_changes(&d, o, "vanished", &r->n_vanished);
    r->added = dec_changes(&d, o, "added", &r->n_added);
    r->why = dec_strv(&d, o, "why", &r->n_why);
    const msgpack_object_array *m = arr(o, "mismatch");
    if (m && m->size && !d.rc) {
        if (!(r->mismatch = calloc(m->size, sizeof *r->mismatch)))
            d.rc = DSR_ENOMEM;
        for (uint32_t i = 0; i < m->size && !d.rc; i++) {
            const msgpack_object *t = &m->ptr[i];
            if (t->type != MSGPACK_OBJECT_ARRAY || t->via.array.size != 3) {
                d.rc = DSR_ECORRUPT;
                break;
            }
            dsr_drift_mismatch *x = &r->mismatch[r->n_mismatch++];
            x->field = item_str(&d, &t->via.array.ptr[0]);
            x->snapshot_value = item_str(&d, &t->via.array.ptr[1]);
            x->baseline_value = item_str(&d, &t->via.array.ptr[2]);
        }
    }
    int rc = d.rc;
    if (!rc && (!r->feature_slug || !r->snapshot_id || (int)r->status < 0))
        rc = DSR_ECORRUPT;
    msgpack_unpacked_destroy(&d.u);
    if (rc) {
        dsr_drift_info_free(r);
        return dsr_err_set(err, rc, rc == DSR_ENOMEM ? "out of memory decoding a drift record"
                                                     : "drift record is malformed");
    }
    *out = r;
    return 0;
}

/*
 * event_pack.c - payload structs -> msgpack maps.
 *
 * Invariant: keys are written in the order the structs in dossier/event.h
 * list them, which is also the order of "properties" in the schemas; this
 * order is part of the canonical record (stored bytes, JSON output).
 * Packing does not validate values (dsr_payload_validate does); it only
 * refuses NULL where the schema has no null.
 */
#include "dossier/event.h"

#include <string.h>

typedef struct packer {
    msgpack_packer *pk;
    int rc;            /* first error: DSR_EINVAL or DSR_ENOMEM */
} packer;

static void fail(packer *p, int code)
{
    if (!p->rc)
        p->rc = code;
}

static void key(packer *p, const char *k)
{
    size_t n = strlen(k);
    if (msgpack_pack_str(p->pk, n) || msgpack_pack_str_body(p->pk, k, n))
        fail(p, DSR_ENOMEM);
}

static void str_val(packer *p, const char *s)
{
    size_t n = strlen(s);
    if (msgpack_pack_str(p->pk, n) || msgpack_pack_str_body(p->pk, s, n))
        fail(p, DSR_ENOMEM);
}

/* Required string: NULL is a caller error. */
static void put_str(packer *p, const char *k, const char *v)
{
    key(p, k);
    if (!v) {
        fail(p, DSR_EINVAL);
        if (msgpack_pack_nil(p->pk))   /* keep the map well-formed anyway */
            fail(p, DSR_ENOMEM);
        return;
    }
    str_val(p, v);
}

/* string|null: NULL is JSON null. */
static void put_nstr(packer *p, const char *k, const char *v)
{
    key(p, k);
    if (!v) {
        if (msgpack_pack_nil(p->pk))
            fail(p, DSR_ENOMEM);
        return;
    }
    str_val(p, v);
}

static void put_int(packer *p, const char *k, int64_t v)
{
    key(p, k);
    if (msgpack_pack_int64(p->pk, v))
        fail(p, DSR_ENOMEM);
}

static void put_bool(packer *p, const char *k, int v)
{
    key(p, k);
    if (v ? msgpack_pack_true(p->pk) : msgpack_pack_false(p->pk))
        fail(p, DSR_ENOMEM);
}

static void put_strs(packer *p, const char *k, const char *const *v, size_t n)
{
    key(p, k);
    if (n && !v) {
        fail(p, DSR_EINVAL);
        n = 0;
    }
    if (msgpack_pack_array(p->pk, n)) {
        fail(p, DSR_ENOMEM);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) {
            fail(p, DSR_EINVAL);
            if (msgpack_pack_nil(p->pk))
                fail(p, DSR_ENOMEM);
        } else {
            str_val(p, v[i]);
        }
    }
}

static void map(packer *p, size_t n)
{
    if (msgpack_pack_map(p->pk, n))
        fail(p, DSR_ENOMEM);
}

static void pack_indexed(packer *p, const dsr_artifact_indexed *x)
{
    map(p, 9);
    put_str(p, "feature_slug", x->feature_slug);
    put_str(p, "artifact_key", x->artifact_key);
    put_str(p, "artifact_class", x->artifact_class);
    put_str(p, "relative_path", x->relative_path);
    put_str(p, "content_hash_sha256", x->content_hash_sha256);
    put_int(p, "size_bytes", x->size_bytes);
    put_nstr(p, "wp_id", x->wp_id);
    put_nstr(p, "step_id", x->step_id);
    put_str(p, "required_status", x->required_status);
}

static void pack_missing(packer *p, const dsr_artifact_missing *x)
{
    map(p, 7);
    put_str(p, "feature_slug", x->feature_slug);
    put_str(p, "artifact_key", x->artifact_key);
    put_str(p, "artifact_class", x->artifact_class);
    put_str(p, "expected_path_pattern", x->expected_path_pattern);
    put_str(p, "reason_code", x->reason_code);
    put_nstr(p, "reason_detail", x->reason_detail);
    put_bool(p, "blocking", x->blocking);
}

static void pack_snapshot(packer *p, const dsr_snapshot_computed *x)
{
    map(p, 5);
    put_str(p, "feature_slug", x->feature_slug);
    put_str(p, "parity_hash_sha256", x->parity_hash_sha256);
    key(p, "artifact_counts");
    map(p, 6);
    put_int(p, "total", x->artifact_counts.total);
    put_int(p, "required", x->artifact_counts.required);
    put_int(p, "required_present", x->artifact_counts.required_present);
    put_int(p, "required_missing", x->artifact_counts.required_missing);
    put_int(p, "optional", x->artifact_counts.optional);
    put_int(p, "optional_present", x->artifact_counts.optional_present);
    put_str(p, "completeness_status", x->completeness_status);
    put_str(p, "snapshot_id", x->snapshot_id);
}

static void pack_drift(packer *p, const dsr_parity_drift_detected *x)
{
    map(p, x->n_content_changed ? 7 : 6);
    put_str(p, "feature_slug", x->feature_slug);
    put_str(p, "local_parity_hash", x->local_parity_hash);
    put_str(p, "baseline_parity_hash", x->baseline_parity_hash);
    put_strs(p, "missing_in_local", x->missing_in_local, x->n_missing_in_local);
    put_strs(p, "missing_in_baseline", x->missing_in_baseline, x->n_missing_in_baseline);
    put_str(p, "severity", x->severity);
    if (!x->n_content_changed)
        return;
    key(p, "content_changed");
    if (msgpack_pack_array(p->pk, x->n_content_changed))
        fail(p, DSR_ENOMEM);
    for (size_t i = 0; i < x->n_content_changed; i++) {
        const dsr_content_change *c = &x->content_changed[i];
        map(p, 4);
        put_str(p, "artifact_key", c->artifact_key);
        put_str(p, "relative_path", c->relative_path);
        put_str(p, "old_sha256", c->old_sha256);
        put_str(p, "new_sha256", c->new_sha256);
    }
}

static void pack_baseline(packer *p, const dsr_baseline_accepted *x)
{
    map(p, 8);
    put_str(p, "feature_slug", x->feature_slug);
    put_str(p, "snapshot_id", x->snapshot_id);
    put_str(p, "parity_hash_sha256", x->parity_hash_sha256);
    put_str(p, "project_uuid", x->project_uuid);
    put_str(p, "node_id", x->node_id);
    put_str(p, "target_branch", x->target_branch);
    put_nstr(p, "mission_key", x->mission_key);
    put_nstr(p, "manifest_version", x->manifest_version);
}

static void pack_scan_completed(packer *p, const dsr_scan_completed *x)
{
    map(p, 10u + (x->profile != NULL) + (x->manifest_path != NULL)
           + (x->manifest_sha256 != NULL) + (x->n_excludes > 0));
    put_str(p, "feature_slug", x->feature_slug);
    put_nstr(p, "mission_type", x->mission_type);
    put_nstr(p, "manifest_version", x->manifest_version);
    put_nstr(p, "step_id", x->step_id);
    put_str(p, "target_branch", x->target_branch);
    put_str(p, "emit_mode", x->emit_mode);
    put_int(p, "indexed_count", x->indexed_count);
    put_int(p, "missing_count", x->missing_count);
    put_int(p, "removed_count", x->removed_count);
    put_int(p, "optional_absent", x->optional_absent);
    if (x->profile)
        put_str(p, "profile", x->profile);
    if (x->manifest_path)
        put_str(p, "manifest_path", x->manifest_path);
    if (x->manifest_sha256)
        put_str(p, "manifest_sha256", x->manifest_sha256);
    if (x->n_excludes)
        put_strs(p, "excludes", x->excludes, x->n_excludes);
}

static void pack_removed(packer *p, const dsr_artifact_removed *x)
{
    map(p, 3);
    put_str(p, "feature_slug", x->feature_slug);
    put_str(p, "artifact_key", x->artifact_key);
    put_str(p, "relative_path", x->relative_path);
}

int dsr_payload_pack(msgpack_packer *pk, dsr_event_type t, const void *payload)
{
    if (!pk || !payload)
        return DSR_EINVAL;
    packer p = { pk, 0 };
    switch (t) {
    case DSR_EV_ARTIFACT_INDEXED:      pack_indexed(&p, payload); break;
    case DSR_EV_ARTIFACT_MISSING:      pack_missing(&p, payload); break;
    case DSR_EV_SNAPSHOT_COMPUTED:     pack_snapshot(&p, payload); break;
    case DSR_EV_PARITY_DRIFT_DETECTED: pack_drift(&p, payload); break;
    case DSR_EV_BASELINE_ACCEPTED:     pack_baseline(&p, payload); break;
    case DSR_EV_SCAN_COMPLETED:        pack_scan_completed(&p, payload); break;
    case DSR_EV_ARTIFACT_REMOVED:      pack_removed(&p, payload); break;
    default:                           return DSR_EINVAL;
    }
    return p.rc;
}

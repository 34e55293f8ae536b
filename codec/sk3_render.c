/*
 * sk3_render.c - a canonical event as a spec-kitty-events 3.0.0 envelope
 * (docs/interop.md section 6, "What maps to what").
 *
 * Envelope: event_id, timestamp, node_id, lamport_clock, project_uuid,
 * correlation_id and causation_id are copied (a canonical ULID is a valid
 * upstream id; a null correlation_id, which no dossier producer writes,
 * takes the event's own id, since upstream requires one); event_type is
 * the PascalCase name; aggregate_id is spelled as spec-kitty's producer
 * does, "<slug>:<path>", "<slug>:<pattern>", "<slug>:<snapshot_id>",
 * "<slug>:drift"; build_id is the node_id (stable per log, as upstream's
 * checkout identity is per worktree); schema_version "3.0.0".
 *
 * Payloads: the upstream fields, then context_diagnostics (an object of
 * strings) holding every canonical field upstream has no place for, so that
 * sk3_read.c gives back the same canonical event (a round trip).
 * Diagnostics keys: artifact_key, required_status (indexed); artifact_key,
 * reason_code, blocking (missing); snapshot_id, completeness_status and the
 * counts required, required_present, optional, optional_present,
 * optional_absent (snapshot); severity, missing_in_local,
 * missing_in_baseline as JSON array text (drift); "manifest": "none" when
 * the scan had no manifest (the namespace then says "unknown").
 * Hashes: content_ref.hash is the hex SHA-256; snapshot and drift hashes
 * are written "sha256:<hex>", as spec-kitty writes its parity hash.
 */
#include "sk3.h"
#include "codec.h"
#include "mp.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

const char *const sk3_type_names[DSR_EV_COUNT] = {
    [DSR_EV_ARTIFACT_INDEXED] = "MissionDossierArtifactIndexed",
    [DSR_EV_ARTIFACT_MISSING] = "MissionDossierArtifactMissing",
    [DSR_EV_SNAPSHOT_COMPUTED] = "MissionDossierSnapshotComputed",
    [DSR_EV_PARITY_DRIFT_DETECTED] = "MissionDossierParityDriftDetected",
};

int sk3_type_parse(const char *s, size_t n)
{
    for (int t = 0; t < DSR_EV_COUNT; t++)
        if (sk3_type_names[t] && strlen(sk3_type_names[t]) == n
            && !memcmp(sk3_type_names[t], s, n))
            return t;
    return -1;
}

/* ---- a JSON object writer: every put adds a comma as needed ------------- */
typedef struct jw {
    dsr_buf *b;
    int      fail;
    int      first;
} jw;

static void j_raw(jw *w, const char *s)
{
    w->fail = w->fail || dsr_buf_puts(w->b, s);
}

static void j_key(jw *w, const char *k)
{
    if (!w->first)
        j_raw(w, ",");
    w->first = 0;
    w->fail = w->fail || dsr_json_put_string(w->b, k, strlen(k)) || dsr_buf_putc(w->b, ':');
}

static void j_open(jw *w, const char *k)
{
    if (k)
        j_key(w, k);
    j_raw(w, "{");
    w->first = 1;
}

static void j_close(jw *w)
{
    j_raw(w, "}");
    w->first = 0;
}

static void j_strn(jw *w, const char *k, const char *s, size_t n)
{
    j_key(w, k);
    if (s)
        w->fail = w->fail || dsr_json_put_string(w->b, s, n);
    else
        j_raw(w, "null");
}

static void j_str(jw *w, const char *k, const char *s)
{
    j_strn(w, k, s, s ? strlen(s) : 0);
}

static void j_dstr(jw *w, const char *k, dsr_str s)
{
    j_strn(w, k, s.ptr, s.len);
}

static void j_u64(jw *w, const char *k, uint64_t v)
{
    j_key(w, k);
    w->fail = w->fail || dsr_buf_printf(w->b, "%" PRIu64, v);
}

static void j_sha(jw *w, const char *k, dsr_str hex)
{
    j_key(w, k);
    w->fail = w->fail || dsr_buf_puts(w->b, "\"sha256:")
              || dsr_buf_append(w->b, hex.ptr, hex.len) || dsr_buf_putc(w->b, '"');
}

/* A diagnostics value holding a decimal count. */
static void j_count(jw *w, const char *k, int64_t v)
{
    j_key(w, k);
    w->fail = w->fail || dsr_buf_printf(w->b, "\"%" PRId64 "\"", v);
}

/* A diagnostics value holding the JSON text of a msgpack array. */
static void j_json_text(jw *w, const char *k, const msgpack_object *v, dsr_buf *tmp)
{
    dsr_buf_reset(tmp);
    if (!v || dsr_msgpack_to_json(v, tmp)) {
        w->fail = 1;
        return;
    }
    j_strn(w, k, tmp->data, tmp->len);
}

static dsr_str pstr(const msgpack_object *p, const char *k)
{
    dsr_str s = { NULL, 0 };
    mp_get_str(p, k, &s);
    return s;
}

static const char *or_unknown(const char *s)
{
    return s && *s ? s : "unknown";
}

static void namespace(jw *w, const dsr_envelope *env, const sk3_run *run)
{
    j_open(w, "namespace");
    j_dstr(w, "project_uuid", env->project_uuid);
    j_dstr(w, "mission_slug", env->feature_slug);
    j_str(w, "target_branch", or_unknown(run ? run->target_branch : NULL));
    j_str(w, "mission_type", or_unknown(run ? run->mission_type : NULL));
    j_str(w, "manifest_version", or_unknown(run ? run->manifest_version : NULL));
    if (run && run->step_id)
        j_str(w, "step_id", run->step_id);
    j_close(w);
}

static void aggregate(jw *w, const dsr_envelope *env, dsr_str tail)
{
    j_key(w, "aggregate_id");
    w->fail = w->fail || dsr_buf_putc(w->b, '"');
    dsr_buf tmp = DSR_BUF_INIT;
    /* "slug:tail" as one JSON string: escape the parts into tmp, unquoted */
    w->fail = w->fail || dsr_json_put_string(&tmp, env->feature_slug.ptr, env->feature_slug.len);
    if (!w->fail && tmp.len >= 2)
        w->fail = dsr_buf_append(w->b, tmp.data + 1, tmp.len - 2) || dsr_buf_putc(w->b, ':');
    dsr_buf_reset(&tmp);
    w->fail = w->fail || dsr_json_put_string(&tmp, tail.ptr, tail.len);
    if (!w->fail && tmp.len >= 2)
        w->fail = dsr_buf_append(w->b, tmp.data + 1, tmp.len - 2) || dsr_buf_putc(w->b, '"');
    dsr_buf_free(&tmp);
}

int dsr_sk3_render(const dsr_envelope *env, const dsr_sk3_runs *runs, dsr_buf *out,
                   dsr_err *err)
{
    if ((unsigned)env->type >= DSR_EV_COUNT || !sk3_type_names[env->type])
        return DSR_SK3_LEFT_OUT;
    const msgpack_object *p = env->payload;
    const sk3_run *run = env->correlation_id.ptr
        ? sk3_run_find(runs, env->correlation_id.ptr, env->correlation_id.len) : NULL;
    size_t mark = out->len;
    dsr_buf tmp = DSR_BUF_INIT;
    jw w = { out, 0, 1 };

    j_open(&w, NULL);
    j_dstr(&w, "event_id", env->event_id);
    j_str(&w, "event_type", sk3_type_names[env->type]);
    switch (env->type) {
    case DSR_EV_ARTIFACT_INDEXED:  aggregate(&w, env, pstr(p, "relative_path")); break;
    case DSR_EV_ARTIFACT_MISSING:  aggregate(&w, env, pstr(p, "expected_path_pattern")); break;
    case DSR_EV_SNAPSHOT_COMPUTED: aggregate(&w, env, pstr(p, "snapshot_id")); break;
    default:                       aggregate(&w, env, (dsr_str){ "drift", 5 }); break;
    }
    j_dstr(&w, "timestamp", env->timestamp);
    j_dstr(&w, "build_id", env->node_id);
    j_dstr(&w, "node_id", env->node_id);
    j_u64(&w, "lamport_clock", env->lamport_clock);
    j_dstr(&w, "project_uuid", env->project_uuid);
    j_dstr(&w, "correlation_id", env->correlation_id.ptr ? env->correlation_id : env->event_id);
    j_dstr(&w, "causation_id", env->causation_id);
    j_str(&w, "schema_version", DSR_SK3_SCHEMA_VERSION);

    j_open(&w, "payload");
    const char *mt = or_unknown(run ? run->mission_type : NULL);
    switch (env->type) {
    case DSR_EV_ARTIFACT_INDEXED: {
        dsr_str step = pstr(p, "step_id"), wp = pstr(p, "wp_id");
        namespace(&w, env, run);
        j_open(&w, "artifact_id");
        j_str(&w, "mission_type", mt);
        j_dstr(&w, "path", pstr(p, "relative_path"));
        j_dstr(&w, "artifact_class", pstr(p, "artifact_class"));
        if (wp.ptr)
            j_dstr(&w, "wp_id", wp);
        j_close(&w);
        j_open(&w, "content_ref");
        j_dstr(&w, "hash", pstr(p, "content_hash_sha256"));
        j_str(&w, "algorithm", "sha256");
        j_u64(&w, "size_bytes", (uint64_t)mp_get_i64(p, "size_bytes"));
        j_close(&w);
        j_dstr(&w, "indexed_at", env->timestamp);
        if (step.ptr)
            j_dstr(&w, "step_id", step);
        j_open(&w, "context_diagnostics");
        j_dstr(&w, "artifact_key", pstr(p, "artifact_key"));
        j_dstr(&w, "required_status", pstr(p, "required_status"));
        break;
    }
    case DSR_EV_ARTIFACT_MISSING: {
        dsr_str detail = pstr(p, "reason_detail");
        namespace(&w, env, run);
        j_open(&w, "expected_identity");
        j_str(&w, "mission_type", mt);
        j_dstr(&w, "path", pstr(p, "expected_path_pattern"));
        j_dstr(&w, "artifact_class", pstr(p, "artifact_class"));
        j_close(&w);
        j_str(&w, "manifest_step", run && run->step_id && *run->step_id ? run->step_id
                                                                        : "required_always");
        j_dstr(&w, "checked_at", env->timestamp);
        if (detail.ptr)
            j_dstr(&w, "remediation_hint", detail);
        j_open(&w, "context_diagnostics");
        j_dstr(&w, "artifact_key", pstr(p, "artifact_key"));
        j_dstr(&w, "reason_code", pstr(p, "reason_code"));
        j_str(&w, "blocking", mp_get_bool(p, "blocking") ? "true" : "false");
        break;
    }
    case DSR_EV_SNAPSHOT_COMPUTED: {
        const msgpack_object *c = codec_map_get(p, "artifact_counts");
        namespace(&w, env, run);
        j_sha(&w, "snapshot_hash", pstr(p, "parity_hash_sha256"));
        j_u64(&w, "artifact_count", (uint64_t)mp_get_i64(c, "total"));
        j_u64(&w, "anomaly_count", (uint64_t)mp_get_i64(c, "required_missing"));
        j_dstr(&w, "computed_at", env->timestamp);
        j_str(&w, "algorithm", "sha256");
        j_open(&w, "context_diagnostics");
        j_dstr(&w, "snapshot_id", pstr(p, "snapshot_id"));
        j_dstr(&w, "completeness_status", pstr(p, "completeness_status"));
        j_count(&w, "required", mp_get_i64(c, "required"));
        j_count(&w, "required_present", mp_get_i64(c, "required_present"));
        j_count(&w, "optional", mp_get_i64(c, "optional"));
        j_count(&w, "optional_present", mp_get_i64(c, "optional_present"));
        break;
    }
    default: {
        assert(env->type == DSR_EV_PARITY_DRIFT_DETECTED);
        const msgpack_object *ml = codec_map_get(p, "missing_in_local");
        const msgpack_object *mb = codec_map_get(p, "missing_in_baseline");
        int removed = ml && ml->type == MSGPACK_OBJECT_ARRAY && ml->via.array.size;
        int added = mb && mb->type == MSGPACK_OBJECT_ARRAY && mb->via.array.size;
        namespace(&w, env, run);
        j_sha(&w, "expected_hash", pstr(p, "baseline_parity_hash"));
        j_sha(&w, "actual_hash", pstr(p, "local_parity_hash"));
        /* one kind per event: a removal is the gravest, then an addition;
         * the same keys with other content is a mutation */
        j_str(&w, "drift_kind", removed ? "artifact_removed"
                                : added ? "artifact_added" : "artifact_mutated");
        j_dstr(&w, "detected_at", env->timestamp);
        j_open(&w, "context_diagnostics");
        j_dstr(&w, "severity", pstr(p, "severity"));
        j_json_text(&w, "missing_in_local", ml, &tmp);
        j_json_text(&w, "missing_in_baseline", mb, &tmp);
        /* optional (issue 20 item 4): upstream has no field for it */
        const msgpack_object *cc = codec_map_get(p, "content_changed");
        if (cc)
            j_json_text(&w, "content_changed", cc, &tmp);
        break;
    }
    }
    if (run && run->manifest_none)
        j_str(&w, "manifest", "none");
    j_close(&w);   /* context_diagnostics */
    j_close(&w);   /* payload */
    j_close(&w);   /* envelope */
    dsr_buf_free(&tmp);
    if (w.fail) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
        return dsr_err_set(err, DSR_ENOMEM, "event %.*s: out of memory rendering it",
                           (int)env->event_id.len, env->event_id.ptr);
    }
    return 0;
}

/*
 * sk3_read.c - dsr_sk3_to_canonical: a spec-kitty-events 3.0.0 envelope
 * (one that dsr_sk3_check accepts) as a canonical dossier envelope.
 *
 * The inverse of sk3_render.c (docs/interop.md section 6):
 *   event_id, correlation_id, causation_id   mapped to ULIDs (sk3_ids.c)
 *   timestamp                                RFC 3339 (sk3_time_canonical)
 *   project_uuid                             kept when hyphenated, else the
 *                                            hyphenated lower-case form
 *   node_id, lamport_clock                   kept
 *   aggregate_id                             "feature/" + namespace.mission_slug
 *   build_id, project_slug, data_tier, other envelope keys   dropped
 *   schema_version                           "1.0.0"
 * Payload fields come from the upstream fields and, where upstream has no
 * place for a canonical field, from context_diagnostics as sk3_render.c
 * writes them; an event from another producer has no such diagnostics and
 * gets these defaults:
 *   indexed   artifact_key "path:<artifact_id.path>" (dossier's key for a
 *             file no manifest entry names), required_status "optional"
 *   missing   artifact_key "path:<expected_identity.path>", reason_code
 *             "not_found", blocking true (spec-kitty reports only blocking
 *             entries), reason_detail = remediation_hint
 *   snapshot  snapshot_id = the event id, total = artifact_count,
 *             required_missing = anomaly_count = required, other counts 0,
 *             completeness "incomplete" when anomalies, else "complete"
 *   drift     severity "warning", missing_in_local / _baseline empty
 * A hash "sha256:<hex>" or "<hex>" (64 hex digits, either case) becomes
 * lower-case hex; any other hash, or a content_ref algorithm other than
 * sha256, has no canonical form and is refused, naming the field.
 */
#include "sk3.h"
#include "codec.h"
#include "mp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct rd {
    arena     ar;       /* strings made here */
    dsr_err  *err;
    int       rc;
} rd;

static int fail(rd *r, const char *field, const char *fmt, const char *v, size_t n)
{
    if (!r->rc) {
        char what[256];
        snprintf(what, sizeof what, fmt, (int)(n > 120 ? 120 : n), v ? v : "");
        r->rc = dsr_err_set(r->err, DSR_ESCHEMA, "%s: %s", field, what);
    }
    return r->rc;
}

/* NUL-terminated copy of a string field (NULL when absent or null). */
static const char *get(rd *r, const msgpack_object *obj, const char *k)
{
    const msgpack_object *v = codec_map_get(obj, k);
    if (!v || v->type != MSGPACK_OBJECT_STR)
        return NULL;
    const char *s = ar_strndup(&r->ar, v->via.str.ptr, v->via.str.size);
    if (!s && !r->rc)
        r->rc = dsr_err_set(r->err, DSR_ENOMEM, "out of memory");
    return s;
}

static const char *need(rd *r, const msgpack_object *obj, const char *k, const char *field)
{
    const char *s = get(r, obj, k);
    if (!s)
        fail(r, field, "required for the canonical event%.*s", "", 0);
    return s;
}

static const char *cat(rd *r, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = ar_stralloc(&r->ar, la + lb + 1);
    if (!s) {
        if (!r->rc)
            r->rc = dsr_err_set(r->err, DSR_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* "sha256:<64 hex>" or "<64 hex>" as lower-case hex, else a refusal. */
static const char *hex64(rd *r, const char *s, const char *field)
{
    if (!s)
        return NULL;
    const char *h = !strncmp(s, "sha256:", 7) ? s + 7 : s;
    char *o = ar_stralloc(&r->ar, 65);
    size_t n = strlen(h);
    if (!o) {
        if (!r->rc)
            r->rc = dsr_err_set(r->err, DSR_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n && n == 64; i++) {
        char c = h[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            n = 0;
        o[i] = c;
    }
    if (n != 64) {
        fail(r, field, "'%.*s' is not a SHA-256 (64 hex digits, optionally after "
             "'sha256:'), the only hash a canonical event holds", s, strlen(s));
        return NULL;
    }
    o[64] = '\0';
    return o;
}

/* A count from context_diagnostics ("12"), or def. */
static int64_t diag_count(const msgpack_object *diag, const char *k, int64_t def)
{
    const msgpack_object *v = codec_map_get(diag, k);
    if (!v || v->type != MSGPACK_OBJECT_STR || !v->via.str.size || v->via.str.size > 18)
        return def;
    int64_t x = 0;
    for (uint32_t i = 0; i < v->via.str.size; i++) {
        char c = v->via.str.ptr[i];
        if (c < '0' || c > '9')
            return def;
        x = x * 10 + (c - '0');
    }
    return x;
}

static int64_t get_uint(const msgpack_object *obj, const char *k, int *present)
{
    const msgpack_object *v = codec_map_get(obj, k);
    int neg = 0;
    uint64_t mag = 0;
    *present = v && codec_as_integer(v, &neg, &mag) == 1 && !neg && mag <= INT64_MAX;
    return *present ? (int64_t)mag : 0;
}

/* The JSON array text of context_diagnostics' key k as msgpack in *u
 * (destroyed by the caller), or 0 when absent or not an array. */
static int diag_array(rd *r, const msgpack_object *diag, const char *k, msgpack_sbuffer *sb,
                      msgpack_unpacked *u)
{
    const char *text = get(r, diag, k);
    return text && !dsr_json_to_msgpack(text, strlen(text), sb, NULL)
           && !codec_unpack_one(sb->data, sb->size, u, NULL)
           && u->data.type == MSGPACK_OBJECT_ARRAY;
}

/* The content changes of a drift from context_diagnostics (as sk3_render.c
 * writes them), into the arena; entries missing a field are left out. */
static const dsr_content_change *diag_changes(rd *r, const msgpack_object *diag, size_t *n)
{
    *n = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_content_change *out = NULL;
    if (diag_array(r, diag, "content_changed", &sb, &u)) {
        size_t m = u.data.via.array.size;
        out = ar_alloc(&r->ar, (m ? m : 1) * sizeof *out);
        for (size_t i = 0; out && i < m; i++) {
            const msgpack_object *e = &u.data.via.array.ptr[i];
            dsr_content_change c = {
                .artifact_key = get(r, e, "artifact_key"),
                .relative_path = get(r, e, "relative_path"),
                .old_sha256 = get(r, e, "old_sha256"),
                .new_sha256 = get(r, e, "new_sha256"),
            };
            if (c.artifact_key && c.relative_path && c.old_sha256 && c.new_sha256)
                out[(*n)++] = c;
        }
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return *n ? out : NULL;
}

/* The strings of a JSON array text from context_diagnostics, into the
 * arena; *n = 0 for anything else. */
static const char *const *diag_list(rd *r, const msgpack_object *diag, const char *k, size_t *n)
{
    *n = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const char **out = NULL;
    if (diag_array(r, diag, k, &sb, &u)) {
        size_t m = u.data.via.array.size;
        out = ar_alloc(&r->ar, (m ? m : 1) * sizeof *out);
        for (size_t i = 0; out && i < m; i++) {
            const msgpack_object *e = &u.data.via.array.ptr[i];
            if (e->type != MSGPACK_OBJECT_STR || !e->via.str.size)
                continue;
            if (!(out[*n] = ar_strndup(&r->ar, e->via.str.ptr, e->via.str.size)))
                break;
            (*n)++;
        }
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void note_run(dsr_sk3_runs *runs, rd *r, const dsr_envelope *env, dsr_event_type t,
                     const msgpack_object *ns, const msgpack_object *diag, uint64_t ms)
{
    if (!runs || r->rc)
        return;
    int created = 0;
    sk3_run *run = sk3_run_get(runs, env->correlation_id.ptr, env->correlation_id.len, &created);
    if (!run) {
        r->rc = dsr_err_set(r->err, DSR_ENOMEM, "out of memory");
        return;
    }
    arena *a = &runs->ar;
    int rc = 0;
    if (created) {
        run->feature = ar_str(a, env->feature_slug, &rc);
        run->node_id = ar_str(a, env->node_id, &rc);
        run->project_uuid = ar_str(a, env->project_uuid, &rc);
        run->first_event_id = ar_str(a, env->event_id, &rc);
    }
    if (!run->has_scope) {
        dsr_str mt = { NULL, 0 }, mv = { NULL, 0 }, st = { NULL, 0 }, br = { NULL, 0 };
        mp_get_str(ns, "mission_type", &mt);
        mp_get_str(ns, "manifest_version", &mv);
        mp_get_str(ns, "step_id", &st);
        mp_get_str(ns, "target_branch", &br);
        run->mission_type = ar_str(a, mt, &rc);
        run->manifest_version = ar_str(a, mv, &rc);
        run->step_id = ar_str(a, st, &rc);
        run->target_branch = ar_str(a, br, &rc);
        dsr_str m = { NULL, 0 };
        mp_get_str(diag, "manifest", &m);
        run->manifest_none = m.ptr && m.len == 4 && !memcmp(m.ptr, "none", 4);
        run->has_scope = 1;
    }
    if (!run->timestamp || ms > run->ts_ms) {
        run->timestamp = ar_str(a, env->timestamp, &rc);
        run->ts_ms = ms;
    }
    if (env->lamport_clock > run->lamport_max)
        run->lamport_max = env->lamport_clock;
    if (t == DSR_EV_ARTIFACT_INDEXED || t == DSR_EV_ARTIFACT_MISSING) {
        run->has_artifacts = 1;
        if (t == DSR_EV_ARTIFACT_INDEXED)
            run->indexed++;
        else
            run->missing++;
    } else if (t == DSR_EV_SNAPSHOT_COMPUTED) {
        int64_t opt = diag_count(diag, "optional", 0), pres = diag_count(diag, "optional_present", 0);
        run->optional_absent = opt > pres ? opt - pres : 0;
    }
    if (rc)
        r->rc = dsr_err_set(r->err, DSR_ENOMEM, "out of memory");
}

int dsr_sk3_to_canonical(const char *line, size_t len, dsr_sk3_runs *runs,
                         msgpack_sbuffer *out, dsr_err *err)
{
    rd r = { { NULL }, err, 0 };
    msgpack_sbuffer sb, psb;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&psb);
    msgpack_unpacked u, pu;
    msgpack_unpacked_init(&u);
    msgpack_unpacked_init(&pu);
    size_t mark = out->size;

    if ((r.rc = dsr_json_to_msgpack(line, len, &sb, err))
        || (r.rc = codec_unpack_one(sb.data, sb.size, &u, err)))
        goto done;
    const msgpack_object *e = &u.data, *p = codec_map_get(e, "payload");
    const char *type_s = need(&r, e, "event_type", "event_type");
    int t = type_s ? sk3_type_parse(type_s, strlen(type_s)) : -1;
    if (type_s && t < 0)
        fail(&r, "event_type", "'%.*s' has no dossier counterpart (only the four "
             "MissionDossier* types can be imported)", type_s, strlen(type_s));
    const msgpack_object *ns = codec_map_get(p, "namespace");
    const msgpack_object *diag = codec_map_get(p, "context_diagnostics");
    const char *slug = need(&r, ns, "mission_slug", "payload.namespace.mission_slug");
    const char *eid = need(&r, e, "event_id", "event_id");
    const char *cid = need(&r, e, "correlation_id", "correlation_id");
    const char *caid = get(&r, e, "causation_id");
    const char *ts = need(&r, e, "timestamp", "timestamp");
    const char *node = need(&r, e, "node_id", "node_id");
    const char *puuid = need(&r, e, "project_uuid", "project_uuid");
    int has_lamport = 0;
    int64_t lamport = get_uint(e, "lamport_clock", &has_lamport);
    if (!has_lamport)
        fail(&r, "lamport_clock", "not an integer from 0 to 2^63-1%.*s", "", 0);
    if (r.rc)
        goto done;
    if (!sk3_id_valid(eid, strlen(eid)) || !sk3_id_valid(cid, strlen(cid))
        || (caid && !sk3_id_valid(caid, strlen(caid))) || !sk3_time_valid(ts, strlen(ts))
        || !sk3_uuid_valid(puuid, strlen(puuid))) {
        r.rc = dsr_err_set(err, DSR_ESCHEMA, "not a valid spec-kitty-3 envelope (run "
                           "'dossier validate --profile spec-kitty-3' for the details)");
        goto done;
    }

    char id[DSR_ULID_LEN + 1], corr[DSR_ULID_LEN + 1], cause[DSR_ULID_LEN + 1], uuid[37];
    char *time = ar_stralloc(&r.ar, strlen(ts) + 17);
    if (!time) {
        r.rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        goto done;
    }
    sk3_id_to_ulid(eid, strlen(eid), id);
    sk3_id_to_ulid(cid, strlen(cid), corr);
    if (caid)
        sk3_id_to_ulid(caid, strlen(caid), cause);
    sk3_time_canonical(ts, strlen(ts), time);
    uint64_t ms = 0;
    if (dsr_time_parse_rfc3339(time, strlen(time), &ms)) {
        fail(&r, "timestamp", "'%.*s' is before 1970: dossier's clock starts at the Unix "
             "epoch", ts, strlen(ts));
        goto done;
    }
    if (codec_uuid_valid(puuid, strlen(puuid)))
        snprintf(uuid, sizeof uuid, "%s", puuid);
    else
        sk3_uuid_canonical(puuid, strlen(puuid), uuid);

    /* the payload, canonical */
    msgpack_packer ppk;
    msgpack_packer_init(&ppk, &psb, msgpack_sbuffer_write);
    switch (t) {
    case DSR_EV_ARTIFACT_INDEXED: {
        const msgpack_object *aid = codec_map_get(p, "artifact_id");
        const msgpack_object *cref = codec_map_get(p, "content_ref");
        const char *path = need(&r, aid, "path", "payload.artifact_id.path");
        const char *alg = need(&r, cref, "algorithm", "payload.content_ref.algorithm");
        if (alg && strcmp(alg, "sha256"))
            fail(&r, "payload.content_ref.algorithm", "'%.*s': only sha256 content hashes "
                 "map to a canonical event (content_hash_sha256)", alg, strlen(alg));
        int has_size = 0;
        int64_t size = get_uint(cref, "size_bytes", &has_size);
        if (!has_size)
            fail(&r, "payload.content_ref.size_bytes", "required for the canonical event "
                 "(size_bytes)%.*s", "", 0);
        const char *key = get(&r, diag, "artifact_key");
        const char *status = get(&r, diag, "required_status");
        dsr_artifact_indexed a = {
            .feature_slug = slug,
            .artifact_key = key ? key : path ? cat(&r, "path:", path) : NULL,
            .artifact_class = need(&r, aid, "artifact_class", "payload.artifact_id.artifact_class"),
            .relative_path = path,
            .content_hash_sha256 = hex64(&r, need(&r, cref, "hash", "payload.content_ref.hash"),
                                         "payload.content_ref.hash"),
            .size_bytes = size,
            .wp_id = get(&r, aid, "wp_id"),
            .step_id = get(&r, p, "step_id"),
            .required_status = status ? status : "optional",
        };
        if (!r.rc)
            r.rc = dsr_payload_pack(&ppk, DSR_EV_ARTIFACT_INDEXED, &a);
        break;
    }
    case DSR_EV_ARTIFACT_MISSING: {
        const msgpack_object *xid = codec_map_get(p, "expected_identity");
        const char *path = need(&r, xid, "path", "payload.expected_identity.path");
        const char *key = get(&r, diag, "artifact_key");
        const char *reason = get(&r, diag, "reason_code");
        const char *blocking = get(&r, diag, "blocking");
        dsr_artifact_missing m = {
            .feature_slug = slug,
            .artifact_key = key ? key : path ? cat(&r, "path:", path) : NULL,
            .artifact_class = need(&r, xid, "artifact_class",
                                   "payload.expected_identity.artifact_class"),
            .expected_path_pattern = path,
            .reason_code = reason ? reason : "not_found",
            .reason_detail = get(&r, p, "remediation_hint"),
            .blocking = !blocking || strcmp(blocking, "false"),
        };
        if (!r.rc)
            r.rc = dsr_payload_pack(&ppk, DSR_EV_ARTIFACT_MISSING, &m);
        break;
    }
    case DSR_EV_SNAPSHOT_COMPUTED: {
        int ok1 = 0, ok2 = 0;
        int64_t total = get_uint(p, "artifact_count", &ok1);
        int64_t anomalies = get_uint(p, "anomaly_count", &ok2);
        const char *sid = get(&r, diag, "snapshot_id");
        const char *status = get(&r, diag, "completeness_status");
        dsr_snapshot_computed s = {
            .feature_slug = slug,
            .parity_hash_sha256 = hex64(&r, need(&r, p, "snapshot_hash", "payload.snapshot_hash"),
                                        "payload.snapshot_hash"),
            .artifact_counts = {
                .total = total,
                .required = diag_count(diag, "required", anomalies),
                .required_present = diag_count(diag, "required_present", 0),
                .required_missing = anomalies,
                .optional = diag_count(diag, "optional", 0),
                .optional_present = diag_count(diag, "optional_present", 0),
            },
            .completeness_status = status ? status : anomalies ? "incomplete" : "complete",
            .snapshot_id = sid ? sid : id,
        };
        if (!ok1 || !ok2)
            fail(&r, "payload.artifact_count", "counts must be integers%.*s", "", 0);
        if (!r.rc)
            r.rc = dsr_payload_pack(&ppk, DSR_EV_SNAPSHOT_COMPUTED, &s);
        break;
    }
    case DSR_EV_PARITY_DRIFT_DETECTED: {
        const char *sev = get(&r, diag, "severity");
        dsr_parity_drift_detected d = {
            .feature_slug = slug,
            .local_parity_hash = hex64(&r, need(&r, p, "actual_hash", "payload.actual_hash"),
                                       "payload.actual_hash"),
            .baseline_parity_hash = hex64(&r, need(&r, p, "expected_hash",
                                                   "payload.expected_hash"),
                                          "payload.expected_hash"),
            .severity = sev ? sev : "warning",
        };
        d.missing_in_local = diag_list(&r, diag, "missing_in_local", &d.n_missing_in_local);
        d.missing_in_baseline = diag_list(&r, diag, "missing_in_baseline",
                                          &d.n_missing_in_baseline);
        static const char *const none[1] = { NULL };
        if (!d.missing_in_local)
            d.missing_in_local = none;
        if (!d.missing_in_baseline)
            d.missing_in_baseline = none;
        d.content_changed = diag_changes(&r, diag, &d.n_content_changed);
        if (!r.rc)
            r.rc = dsr_payload_pack(&ppk, DSR_EV_PARITY_DRIFT_DETECTED, &d);
        break;
    }
    default:
        assert(r.rc);
        break;
    }
    if (r.rc) {
        if (r.rc == DSR_EINVAL)   /* a field dsr_payload_pack needs is missing */
            r.rc = dsr_err_set(err, DSR_ESCHEMA, "payload: fields missing for the canonical "
                               "%s", dsr_event_type_name((dsr_event_type)t));
        goto done;
    }
    if (msgpack_unpack_next(&pu, psb.data, psb.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
        r.rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        goto done;
    }
    dsr_envelope env;
    memset(&env, 0, sizeof env);
    env.event_id = (dsr_str){ id, DSR_ULID_LEN };
    env.type = (dsr_event_type)t;
    env.feature_slug = (dsr_str){ slug, strlen(slug) };
    env.timestamp = (dsr_str){ time, strlen(time) };
    env.node_id = (dsr_str){ node, strlen(node) };
    env.lamport_clock = (uint64_t)lamport;
    env.project_uuid = (dsr_str){ uuid, strlen(uuid) };
    env.correlation_id = (dsr_str){ corr, DSR_ULID_LEN };
    env.causation_id = caid ? (dsr_str){ cause, DSR_ULID_LEN } : (dsr_str){ NULL, 0 };
    env.payload = &pu.data;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if ((r.rc = dsr_envelope_pack(&pk, &env))) {
        r.rc = dsr_err_set(err, r.rc, "out of memory");
        goto done;
    }
    /* the canonical contract decides: what it refuses is named by its check */
    msgpack_unpacked cu;
    msgpack_unpacked_init(&cu);
    dsr_envelope view;
    r.rc = dsr_envelope_decode(out->data + mark, out->size - mark, &cu, &view, err);
    msgpack_unpacked_destroy(&cu);
    if (!r.rc)
        note_run(runs, &r, &env, (dsr_event_type)t, ns, diag, ms);
done:
    if (r.rc)
        out->size = mark;
    msgpack_unpacked_destroy(&pu);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&psb);
    msgpack_sbuffer_destroy(&sb);
    ar_free(&r.ar);
    return r.rc;
}

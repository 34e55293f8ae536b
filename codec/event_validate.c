/*
 * event_validate.c - the payload validator: one table per event type, one
 * generic walker.
 *
 * Invariant: each table says exactly what the matching
 * schemas/<event_type>.schema.json says (field set, types, enums, patterns,
 * minimums/maximums, string|null); tests/data/payload_cases.json is run
 * through both (tests/unit/test_event_validate.c and
 * tests/support/check_schemas.py) so the two cannot drift apart silently.
 * JSON Schema semantics are followed where they are not obvious: an
 * "integer" is any number with no fractional part (1.0 is one), "required"
 * applies to nullable fields too (wp_id must be present, possibly null).
 * A table's optional fields (a schema property not in "required") may be
 * absent; they are not among the canonical fields record_pack.c lays out
 * by position, so a payload holding one is stored as the map it is.
 */
#include "dossier/event.h"
#include "codec.h"
#include "dossier/buf.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum kind {
    K_STR,        /* any string */
    K_NAME,       /* non-empty string (keys, slugs, paths, ids) */
    K_NSTR,       /* string or null */
    K_HEX64,      /* ^[a-f0-9]{64}$ */
    K_UUID,       /* 8-4-4-4-12 hex */
    K_ENUM,       /* one of values[] */
    K_UINT,       /* integer in [0, 2^64-1] */
    K_BOOL,
    K_NAMES,      /* array of non-empty strings */
    K_COUNTS,     /* the artifact_counts object */
    K_CHANGES     /* array of content_change objects */
} kind;

typedef struct field {
    const char        *name;
    size_t             len;      /* strlen(name) */
    kind               k;
    const char *const *values;   /* K_ENUM: NULL-terminated */
    int                optional; /* may be absent (not in the schema's "required") */
} field;

#define F(name, k, values) { name, sizeof name - 1, k, values, 0 }
/* A field added later: absent in events written before it, and left out
 * where its absence means the old behaviour (so those events keep their
 * bytes). */
#define F_OPT(name, k, values) { name, sizeof name - 1, k, values, 1 }

static const char *const artifact_classes[] =
    { "input", "workflow", "output", "evidence", "policy", "runtime", NULL };
static const char *const required_statuses[] = { "required", "optional", NULL };
static const char *const reason_codes[] =
    { "not_found", "unreadable", "invalid_format", "deleted_after_scan", NULL };
static const char *const completeness[] = { "complete", "incomplete", "unknown", NULL };
static const char *const severities[] = { "info", "warning", "error", NULL };
static const char *const emit_modes[] = { "full", "changed", NULL };
static const char *const profiles[] = { "wp04", "spec-kitty-3", NULL };

static const field f_indexed[] = {
    F("feature_slug", K_NAME, NULL),
    F("artifact_key", K_NAME, NULL),
    F("artifact_class", K_ENUM, artifact_classes),
    F("relative_path", K_NAME, NULL),
    F("content_hash_sha256", K_HEX64, NULL),
    F("size_bytes", K_UINT, NULL),
    F("wp_id", K_NSTR, NULL),
    F("step_id", K_NSTR, NULL),
    F("required_status", K_ENUM, required_statuses),
};

static const field f_missing[] = {
    F("feature_slug", K_NAME, NULL),
    F("artifact_key", K_NAME, NULL),
    F("artifact_class", K_ENUM, artifact_classes),
    F("expected_path_pattern", K_NAME, NULL),
    F("reason_code", K_ENUM, reason_codes),
    F("reason_detail", K_NSTR, NULL),
    F("blocking", K_BOOL, NULL),
};

static const field f_snapshot[] = {
    F("feature_slug", K_NAME, NULL),
    F("parity_hash_sha256", K_HEX64, NULL),
    F("artifact_counts", K_COUNTS, NULL),
    F("completeness_status", K_ENUM, completeness),
    F("snapshot_id", K_NAME, NULL),
};

static const field f_counts[] = {
    F("total", K_UINT, NULL),
    F("required", K_UINT, NULL),
    F("required_present", K_UINT, NULL),
    F("required_missing", K_UINT, NULL),
    F("optional", K_UINT, NULL),
    F("optional_present", K_UINT, NULL),
};

static const field f_drift[] = {
    F("feature_slug", K_NAME, NULL),
    F("local_parity_hash", K_HEX64, NULL),
    F("baseline_parity_hash", K_HEX64, NULL),
    F("missing_in_local", K_NAMES, NULL),
    F("missing_in_baseline", K_NAMES, NULL),
    F("severity", K_ENUM, severities),
};

/* Optional in the drift payload (issue 20 item 4). */
static const field f_drift_opt[] = {
    F("content_changed", K_CHANGES, NULL),
};

static const field f_change[] = {
    F("artifact_key", K_NAME, NULL),
    F("relative_path", K_NAME, NULL),
    F("old_sha256", K_HEX64, NULL),
    F("new_sha256", K_HEX64, NULL),
};

static const field f_baseline[] = {
    F("feature_slug", K_NAME, NULL),
    F("snapshot_id", K_NAME, NULL),
    F("parity_hash_sha256", K_HEX64, NULL),
    F("project_uuid", K_UUID, NULL),
    F("node_id", K_NAME, NULL),
    F("target_branch", K_STR, NULL),
    F("mission_key", K_NSTR, NULL),
    F("manifest_version", K_NSTR, NULL),
};

static const field f_scan_completed[] = {
    F("feature_slug", K_NAME, NULL),
    F("mission_type", K_NSTR, NULL),
    F("manifest_version", K_NSTR, NULL),
    F("step_id", K_NSTR, NULL),
    F("target_branch", K_STR, NULL),
    F("emit_mode", K_ENUM, emit_modes),
    F("indexed_count", K_UINT, NULL),
    F("missing_count", K_UINT, NULL),
    F("removed_count", K_UINT, NULL),
    F("optional_absent", K_UINT, NULL),
    F_OPT("profile", K_ENUM, profiles),
    F_OPT("manifest_path", K_NAME, NULL),
    F_OPT("manifest_sha256", K_HEX64, NULL),
    F_OPT("excludes", K_NAMES, NULL),
};

static const field f_removed[] = {
    F("feature_slug", K_NAME, NULL),
    F("artifact_key", K_NAME, NULL),
    F("relative_path", K_NAME, NULL),
};

typedef struct table {
    const field *f;
    size_t       n;
    const field *opt;      /* optional fields, after the n required ones */
    size_t       n_opt;
} table;

#define TABLE(a) { a, sizeof a / sizeof a[0], NULL, 0 }
#define TABLE_OPT(a, o) { a, sizeof a / sizeof a[0], o, sizeof o / sizeof o[0] }
static const table tables[DSR_EV_COUNT] = {
    [DSR_EV_ARTIFACT_INDEXED]      = TABLE(f_indexed),
    [DSR_EV_ARTIFACT_MISSING]      = TABLE(f_missing),
    [DSR_EV_SNAPSHOT_COMPUTED]     = TABLE(f_snapshot),
    [DSR_EV_PARITY_DRIFT_DETECTED] = TABLE_OPT(f_drift, f_drift_opt),
    [DSR_EV_BASELINE_ACCEPTED]     = TABLE(f_baseline),
    [DSR_EV_SCAN_COMPLETED]        = TABLE(f_scan_completed),
    [DSR_EV_ARTIFACT_REMOVED]      = TABLE(f_removed),
};
static const table counts_table = TABLE(f_counts);
static const table change_table = TABLE(f_change);

size_t codec_payload_field_count(dsr_event_type t)
{
    if ((unsigned)t >= DSR_EV_COUNT)
        return 0;
    size_t n = 0;
    while (n < tables[t].n && !tables[t].f[n].optional)
        n++;
    /* optional fields only at the end: positions stay those of old records */
    for (size_t i = n; i < tables[t].n; i++)
        assert(tables[t].f[i].optional);
    return n;
}

const char *codec_payload_field(dsr_event_type t, size_t i, size_t *len, int *hex64,
                               const char *const **values)
{
    if ((unsigned)t >= DSR_EV_COUNT || i >= codec_payload_field_count(t))
        return NULL;
    const field *f = &tables[t].f[i];
    *len = f->len;
    *hex64 = f->k == K_HEX64;
    *values = f->k == K_ENUM ? f->values : NULL;
    return f->name;
}
#undef TABLE
#undef TABLE_OPT

/* ---- shared helpers (codec.h) ------------------------------------- */

int codec_as_integer(const msgpack_object *o, int *neg, uint64_t *mag)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *neg = 0;
        *mag = o->via.u64;
        return 1;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *neg = 1;
        /* -(i64) without overflow for INT64_MIN */
        *mag = (uint64_t)(-(o->via.i64 + 1)) + 1u;
        return 1;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        double d = o->via.f64;
        if (!isfinite(d) || d != trunc(d))
            return 0;
        *neg = d < 0;
        double a = fabs(d);
        if (a >= 18446744073709551616.0) {   /* 2^64: does not fit */
            *mag = UINT64_MAX;
            return -1;
        }
        *mag = (uint64_t)a;
        return 1;
    }
    default:
        return 0;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return 1;
    if (c >= 'a' && c <= 'f') return 1;
    if (c >= 'A' && c <= 'F') return 1;
    return 0;
}

int codec_uuid_valid(const char *s, size_t len)
{
    if (len != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!hexval(s[i])) {
            return 0;
        }
    }
    return 1;
}

/* ---- the emitter's direct path ------------------------------------------ */

static int enum_of(const char *const *vals, const char *s, unsigned *idx)
{
    if (!s)
        return 0;
    for (unsigned i = 0; vals[i]; i++)
        if (!strcmp(vals[i], s)) {
            *idx = i;
            return 1;
        }
    return 0;
}

/* f_indexed's K_NAME (nonempty) and K_NSTR rules for a C string. */
static int name_ok(const char *s)
{
    return s && *s && utf8_check(s, strlen(s));
}

static int nstr_ok(const char *s)
{
    return !s || utf8_check(s, strlen(s));
}

/* ^[a-f0-9]{64}$ decoded in the same pass (dsr_unhex, once the length is
 * known: it reads all 64 characters). */
static int hex64_bytes(const char *h, unsigned char out[32])
{
    return h && strnlen(h, 65) == 64 && !dsr_unhex(h, 64, out);
}

int codec_indexed_direct_ok(const dsr_artifact_indexed *p, codec_indexed_direct *d)
{
    return hex64_bytes(p->content_hash_sha256, d->hash) && p->size_bytes >= 0
           && name_ok(p->feature_slug) && name_ok(p->artifact_key)
           && name_ok(p->relative_path) && nstr_ok(p->wp_id) && nstr_ok(p->step_id)
           && enum_of(artifact_classes, p->artifact_class, &d->cls)
           && enum_of(required_statuses, p->required_status, &d->status);
}

/* ---- the walker -------------------------------------------------------- */

typedef struct ctx {
    const char *type_name;
    dsr_err    *err;
} ctx;

/* Where a value sits: parent path ("payload", "payload.artifact_counts"),
 * field name, array index or -1.  Rendered only when there is an error, so
 * a valid payload costs no formatting. */
typedef struct where {
    const char *parent;
    const char *name;    /* NULL: the parent itself */
    long        index;
} where;

static void render_where(const where *w, char *out, size_t n)
{
    if (!w->name)
        snprintf(out, n, "%.120s", w->parent);
    else if (w->index < 0)
        snprintf(out, n, "%.80s.%.40s", w->parent, w->name);
    else
        snprintf(out, n, "%.80s.%.40s[%ld]", w->parent, w->name, w->index);
}

static int bad(ctx *c, const where *w, const msgpack_object *v, const char *what)
{
    char val[160], path[180];
    codec_render_value(v, val, sizeof val);
    render_where(w, path, sizeof path);
    return dsr_err_set(c->err, DSR_ESCHEMA, "%s: %s: %s %s", c->type_name, path, val, what);
}

static int is_str(const msgpack_object *v)
{
    return v->type == MSGPACK_OBJECT_STR;
}

static int check_string(ctx *c, const where *w, const msgpack_object *v, int nonempty)
{
    if (!is_str(v))
        return bad(c, w, v, "is not a string");
    if (!utf8_check(v->via.str.ptr, v->via.str.size))
        return bad(c, w, v, "is not valid UTF-8");
    if (nonempty && v->via.str.size == 0)
        return bad(c, w, v, "is empty (at least one character is required)");
    return 0;
}

static int check_object(ctx *c, const char *path, const table *t, const msgpack_object *obj);

static int check_value(ctx *c, const where *w, const field *f, const msgpack_object *v)
{
    switch (f->k) {
    case K_STR:
        return check_string(c, w, v, 0);
    case K_NAME:
        return check_string(c, w, v, 1);
    case K_NSTR:
        if (v->type == MSGPACK_OBJECT_NIL)
            return 0;
        if (!is_str(v))
            return bad(c, w, v, "is neither a string nor null");
        return check_string(c, w, v, 0);
    case K_HEX64: {
        if (!is_str(v))
            return bad(c, w, v, "is not a string");
        int ok = v->via.str.size == 64;
        for (size_t i = 0; ok && i < 64; i++) {
            char ch = v->via.str.ptr[i];
            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
        }
        return ok ? 0 : bad(c, w, v, "does not match ^[a-f0-9]{64}$ (64 lowercase hex digits)");
    }
    case K_UUID:
        if (!is_str(v))
            return bad(c, w, v, "is not a string");
        return codec_uuid_valid(v->via.str.ptr, v->via.str.size)
                   ? 0 : bad(c, w, v, "is not a UUID (8-4-4-4-12 hex digits)");
    case K_ENUM: {
        if (is_str(v))
            for (const char *const *e = f->values; *e; e++)
                if (strlen(*e) == v->via.str.size && !memcmp(*e, v->via.str.ptr, v->via.str.size))
                    return 0;
        char what[200];
        size_t n = (size_t)snprintf(what, sizeof what, "is not one of");
        for (const char *const *e = f->values; *e && n < sizeof what; e++)
            n += (size_t)snprintf(what + n, sizeof what - n, "%s %s",
                                  e == f->values ? "" : ",", *e);
        return bad(c, w, v, what);
    }
    case K_UINT: {
        int neg;
        uint64_t mag;
        int r = codec_as_integer(v, &neg, &mag);
        if (r == 0)
            return bad(c, w, v, "is not an integer");
        if (neg && mag > 0)
            return bad(c, w, v, "is below the minimum 0");
        if (r < 0)
            return bad(c, w, v, "is above the maximum 18446744073709551615");
        return 0;
    }
    case K_BOOL:
        return v->type == MSGPACK_OBJECT_BOOLEAN ? 0 : bad(c, w, v, "is not a boolean");
    case K_NAMES: {
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return bad(c, w, v, "is not an array");
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            where item = { w->parent, w->name, (long)i };
            int rc = check_string(c, &item, &v->via.array.ptr[i], 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    case K_COUNTS: {
        char path[180];
        render_where(w, path, sizeof path);
        return check_object(c, path, &counts_table, v);
    }
    case K_CHANGES: {
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return bad(c, w, v, "is not an array");
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            where item = { w->parent, w->name, (long)i };
            char path[180];
            render_where(&item, path, sizeof path);
            int rc = check_object(c, path, &change_table, &v->via.array.ptr[i]);
            if (rc)
                return rc;
        }
        return 0;
    }
    }
    return bad(c, w, v, "has an unknown rule");
}

/* Exactly the fields of t: none unknown, none twice, none required
 * missing (optional ones may be). */
static int check_object(ctx *c, const char *path, const table *t, const msgpack_object *obj)
{
    if (obj->type != MSGPACK_OBJECT_MAP) {
        where self = { path, NULL, -1 };
        return bad(c, &self, obj, "is not an object");
    }
    /* bit i: field i present, optional ones after the required */
    uint32_t seen = 0;
    assert(t->n + t->n_opt < 32);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr[i].key;
        const msgpack_object *v = &obj->via.map.ptr[i].val;
        if (!is_str(k)) {
            where self = { path, NULL, -1 };
            return bad(c, &self, k, "is a field name that is not a string");
        }
        size_t fi = t->n + t->n_opt;
        const field *f = NULL;
        for (size_t j = 0; j < t->n + t->n_opt; j++) {
            const field *cand = j < t->n ? &t->f[j] : &t->opt[j - t->n];
            if (cand->len == k->via.str.size &&
                !memcmp(cand->name, k->via.str.ptr, k->via.str.size)) {
                fi = j;
                f = cand;
                break;
            }
        }
        if (!f) {
            char name[120];
            codec_render_value(k, name, sizeof name);
            return dsr_err_set(c->err, DSR_ESCHEMA, "%s: %s: unknown field %s",
                               c->type_name, path, name);
        }
        if (seen & (1u << fi))
            return dsr_err_set(c->err, DSR_ESCHEMA, "%s: %s: field \"%s\" appears twice",
                               c->type_name, path, f->name);
        seen |= 1u << fi;
        where w = { path, f->name, -1 };
        int rc = check_value(c, &w, f, v);
        if (rc)
            return rc;
    }
    for (size_t j = 0; j < t->n; j++)
        if (!(seen & (1u << j)) && !t->f[j].optional)
            return dsr_err_set(c->err, DSR_ESCHEMA, "%s: %s: missing field \"%s\"",
                               c->type_name, path, t->f[j].name);
    return 0;
}

int dsr_payload_validate(dsr_event_type t, const msgpack_object *payload, dsr_err *err)
{
    if ((unsigned)t >= DSR_EV_COUNT)
        return dsr_err_set(err, DSR_ESCHEMA, "event type %d: unknown", (int)t);
    ctx c = { dsr_event_type_name(t), err };
    if (!payload)
        return dsr_err_set(err, DSR_ESCHEMA, "%s: payload: missing", c.type_name);
    return check_object(&c, "payload", &tables[t], payload);
}

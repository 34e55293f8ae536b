/*
 * sk3_check.c - dsr_sk3_check: every problem of one line under
 * spec-kitty-events 3.0.0 with the dossier payloads.
 *
 * The rules are those of the schemas in schemas/spec-kitty-3/ (written from
 * upstream's pydantic models) plus the ones tests/support/sk3_validate.py
 * adds; the two are tested to give the same verdict and the same
 * (line, field) pairs on tests/data/interop/events/ (e2e.sk3_validate).
 * In order:
 *   1. strict JSON (dsr_json_to_msgpack: UTF-8, no duplicate keys); a line
 *      that fails is one problem, field ".";
 *   2. the legacy keys feature_slug, feature_number, mission_key,
 *      legacy_aggregate_id, as object keys at any depth;
 *   3. the envelope fields (open object: other keys are allowed);
 *   4. for the four dossier types, the payload (closed objects).
 * Every check runs whatever the others found, so a line reports all its
 * problems.  Field paths: dotted keys, [i] for array elements.
 */
#include "sk3.h"
#include "codec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN 512

typedef struct chk {
    dsr_sk3_problem_fn fn;
    void  *ctx;
    int    n;
    char   path[PATH_MAX_LEN];
    size_t plen;
} chk;

static void problem(chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(chk *c, const char *fmt, ...)
{
    c->n++;
    if (!c->fn)
        return;
    char msg[DSR_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->fn(c->ctx, c->plen ? c->path : ".", msg);
}

/* Push ".key" (or "key" at the top) / "[i]" on the path; returns the old
 * length for pop.  A path too long for the buffer is cut (messages only). */
static size_t push_key(chk *c, const char *k, size_t n)
{
    size_t old = c->plen;
    int w = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%.*s",
                     c->plen ? "." : "", (int)n, k);
    if (w > 0)
        c->plen += (size_t)w < sizeof c->path - c->plen ? (size_t)w : sizeof c->path - c->plen - 1;
    return old;
}

static size_t push_index(chk *c, size_t i)
{
    size_t old = c->plen;
    int w = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
    if (w > 0)
        c->plen += (size_t)w < sizeof c->path - c->plen ? (size_t)w : sizeof c->path - c->plen - 1;
    return old;
}

static void pop(chk *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static const char *kind(const msgpack_object *v)
{
    switch (v->type) {
    case MSGPACK_OBJECT_MAP:     return "an object";
    case MSGPACK_OBJECT_ARRAY:   return "an array";
    case MSGPACK_OBJECT_STR:     return "a string";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_NIL:     return "null";
    default:                     return "a number";
    }
}

static int is_str(const msgpack_object *v)
{
    return v->type == MSGPACK_OBJECT_STR;
}

static void want(chk *c, const msgpack_object *v, const char *what)
{
    problem(c, "is %s, expected %s", kind(v), what);
}

static void render(const msgpack_object *v, char *out, size_t n)
{
    codec_render_value(v, out, n);
}

/* ---- 2. legacy keys anywhere ------------------------------------------------ */
static int legacy_key(const char *k, size_t n)
{
    static const char *const keys[] =
        { "feature_slug", "feature_number", "mission_key", "legacy_aggregate_id" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i]) == n && !memcmp(keys[i], k, n))
            return 1;
    return 0;
}

static void legacy_walk(chk *c, const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object_kv *kv = &v->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                continue;
            size_t old = push_key(c, kv->key.via.str.ptr, kv->key.via.str.size);
            if (legacy_key(kv->key.via.str.ptr, kv->key.via.str.size))
                problem(c, "forbidden legacy key");
            legacy_walk(c, &kv->val);
            pop(c, old);
        }
    } else if (v->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            size_t old = push_index(c, i);
            legacy_walk(c, &v->via.array.ptr[i]);
            pop(c, old);
        }
    }
}

/* ---- field kinds --------------------------------------------------------------- */
enum {
    K_STR1,      /* string, at least one character */
    K_STR,       /* any string */
    K_NSTR,      /* string or null */
    K_ENUM,      /* one of values */
    K_NENUM,     /* one of values, or null */
    K_UINT,      /* integer >= 0 */
    K_NUINT,     /* integer >= 0, or null */
    K_OBJ,       /* object of sub */
    K_NOBJ,      /* object of sub, or null */
    K_NARR_OBJ,  /* array of objects of sub, or null */
    K_NARR_STR,  /* array of strings, or null */
    K_DIAG       /* object of strings, or null */
};

typedef struct sobj sobj;
typedef struct sfield {
    const char *name;
    int         kind;
    int         required;
    const char *const *values;
    const sobj *sub;
} sfield;
struct sobj {
    const sfield *f;
    size_t        n;
};

static const char *const classes[] =
    { "input", "workflow", "output", "evidence", "policy", "runtime", NULL };
static const char *const algorithms[] = { "sha256", "sha512", "md5", NULL };
static const char *const actor_kinds[] = { "human", "llm", "system", NULL };
static const char *const drift_kinds[] = { "artifact_added", "artifact_removed",
    "artifact_mutated", "anomaly_introduced", "anomaly_resolved", "manifest_version_changed",
    NULL };

#define OBJ(a) { a, sizeof a / sizeof a[0] }

static const sfield f_namespace[] = {
    { "project_uuid", K_STR1, 1, NULL, NULL },
    { "mission_slug", K_STR1, 1, NULL, NULL },
    { "target_branch", K_STR1, 1, NULL, NULL },
    { "mission_type", K_STR1, 1, NULL, NULL },
    { "manifest_version", K_STR1, 1, NULL, NULL },
    { "step_id", K_NSTR, 0, NULL, NULL },
};
static const sobj o_namespace = OBJ(f_namespace);

static const sfield f_identity[] = {
    { "mission_type", K_STR1, 1, NULL, NULL },
    { "path", K_STR1, 1, NULL, NULL },
    { "artifact_class", K_ENUM, 1, classes, NULL },
    { "run_id", K_NSTR, 0, NULL, NULL },
    { "wp_id", K_NSTR, 0, NULL, NULL },
};
static const sobj o_identity = OBJ(f_identity);

static const sfield f_content[] = {
    { "hash", K_STR1, 1, NULL, NULL },
    { "algorithm", K_ENUM, 1, algorithms, NULL },
    { "size_bytes", K_NUINT, 0, NULL, NULL },
    { "encoding", K_NSTR, 0, NULL, NULL },
};
static const sobj o_content = OBJ(f_content);

static const sfield f_provenance[] = {
    { "source_event_ids", K_NARR_STR, 0, NULL, NULL },
    { "git_sha", K_NSTR, 0, NULL, NULL },
    { "git_ref", K_NSTR, 0, NULL, NULL },
    { "actor_id", K_NSTR, 0, NULL, NULL },
    { "actor_kind", K_NENUM, 0, actor_kinds, NULL },
    { "revised_at", K_NSTR, 0, NULL, NULL },
};
static const sobj o_provenance = OBJ(f_provenance);

static const sfield f_indexed[] = {
    { "namespace", K_OBJ, 1, NULL, &o_namespace },
    { "artifact_id", K_OBJ, 1, NULL, &o_identity },
    { "content_ref", K_OBJ, 1, NULL, &o_content },
    { "indexed_at", K_STR, 1, NULL, NULL },
    { "provenance", K_NOBJ, 0, NULL, &o_provenance },
    { "step_id", K_NSTR, 0, NULL, NULL },
    { "supersedes", K_NOBJ, 0, NULL, &o_identity },
    { "context_diagnostics", K_DIAG, 0, NULL, NULL },
};

static const sfield f_missing[] = {
    { "namespace", K_OBJ, 1, NULL, &o_namespace },
    { "expected_identity", K_OBJ, 1, NULL, &o_identity },
    { "manifest_step", K_STR1, 1, NULL, NULL },
    { "checked_at", K_STR, 1, NULL, NULL },
    { "last_known_ref", K_NOBJ, 0, NULL, &o_provenance },
    { "remediation_hint", K_NSTR, 0, NULL, NULL },
    { "context_diagnostics", K_DIAG, 0, NULL, NULL },
};

static const sfield f_snapshot[] = {
    { "namespace", K_OBJ, 1, NULL, &o_namespace },
    { "snapshot_hash", K_STR1, 1, NULL, NULL },
    { "artifact_count", K_UINT, 1, NULL, NULL },
    { "anomaly_count", K_UINT, 1, NULL, NULL },
    { "computed_at", K_STR, 1, NULL, NULL },
    { "algorithm", K_NENUM, 0, algorithms, NULL },
    { "context_diagnostics", K_DIAG, 0, NULL, NULL },
};

static const sfield f_drift[] = {
    { "namespace", K_OBJ, 1, NULL, &o_namespace },
    { "expected_hash", K_STR1, 1, NULL, NULL },
    { "actual_hash", K_STR1, 1, NULL, NULL },
    { "drift_kind", K_ENUM, 1, drift_kinds, NULL },
    { "detected_at", K_STR, 1, NULL, NULL },
    { "artifact_ids_changed", K_NARR_OBJ, 0, NULL, &o_identity },
    { "rebuild_hint", K_NSTR, 0, NULL, NULL },
    { "context_diagnostics", K_DIAG, 0, NULL, NULL },
};

static const sobj payloads[DSR_EV_COUNT] = {
    [DSR_EV_ARTIFACT_INDEXED] = OBJ(f_indexed),
    [DSR_EV_ARTIFACT_MISSING] = OBJ(f_missing),
    [DSR_EV_SNAPSHOT_COMPUTED] = OBJ(f_snapshot),
    [DSR_EV_PARITY_DRIFT_DETECTED] = OBJ(f_drift),
};

static void check_obj(chk *c, const msgpack_object *v, const sobj *o);

static void check_enum(chk *c, const msgpack_object *v, const char *const *values)
{
    if (is_str(v))
        for (size_t i = 0; values[i]; i++)
            if (strlen(values[i]) == v->via.str.size
                && !memcmp(values[i], v->via.str.ptr, v->via.str.size))
                return;
    char val[96], list[256];
    size_t l = 0;
    render(v, val, sizeof val);
    list[0] = '\0';
    for (size_t i = 0; values[i] && l < sizeof list; i++)
        l += (size_t)snprintf(list + l, sizeof list - l, "%s'%s'", i ? ", " : "", values[i]);
    problem(c, "%s is not one of [%s]", val, list);
}

/* An integer >= 0 (JSON Schema's: 5.0 counts, "5" and true do not).  A
 * negative one is reported with its value; one below -2^64 as such. */
static void check_uint(chk *c, const msgpack_object *v, uint64_t max)
{
    int neg = 0;
    uint64_t mag = 0;
    int r = codec_as_integer(v, &neg, &mag);
    if (r == 0)
        want(c, v, "integer");
    else if (neg && r > 0)
        problem(c, "-%" PRIu64 " is less than the minimum of 0", mag);
    else if (neg)
        problem(c, "a number below -2^64 is less than the minimum of 0");
    else if (r > 0 && mag > max)
        problem(c, "%" PRIu64 " is greater than the maximum of %" PRIu64, mag, max);
    else if (r < 0 && max != UINT64_MAX)
        problem(c, "a number above 2^64 is greater than the maximum of %" PRIu64, max);
}

static void check_field(chk *c, const msgpack_object *v, const sfield *f)
{
    int nullable = f->kind == K_NSTR || f->kind == K_NENUM || f->kind == K_NUINT
                   || f->kind == K_NOBJ || f->kind == K_NARR_OBJ || f->kind == K_NARR_STR
                   || f->kind == K_DIAG;
    if (nullable && v->type == MSGPACK_OBJECT_NIL)
        return;
    switch (f->kind) {
    case K_STR1:
        if (!is_str(v))
            want(c, v, "string");
        else if (!v->via.str.size)
            problem(c, "'' is too short");
        break;
    case K_STR:
    case K_NSTR:
        if (!is_str(v))
            want(c, v, "string");
        break;
    case K_ENUM:
    case K_NENUM:
        check_enum(c, v, f->values);
        break;
    case K_UINT:
    case K_NUINT:
        check_uint(c, v, UINT64_MAX);
        break;
    case K_OBJ:
    case K_NOBJ:
        check_obj(c, v, f->sub);
        break;
    case K_NARR_OBJ:
    case K_NARR_STR:
        if (v->type != MSGPACK_OBJECT_ARRAY) {
            want(c, v, "array");
            break;
        }
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            size_t old = push_index(c, i);
            const msgpack_object *e = &v->via.array.ptr[i];
            if (f->kind == K_NARR_OBJ)
                check_obj(c, e, f->sub);
            else if (!is_str(e))
                want(c, e, "string");
            pop(c, old);
        }
        break;
    default: /* K_DIAG */
        if (v->type != MSGPACK_OBJECT_MAP) {
            want(c, v, "object");
            break;
        }
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object_kv *kv = &v->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR || is_str(&kv->val))
                continue;
            size_t old = push_key(c, kv->key.via.str.ptr, kv->key.via.str.size);
            want(c, &kv->val, "string");
            pop(c, old);
        }
        break;
    }
}

static void check_obj(chk *c, const msgpack_object *v, const sobj *o)
{
    if (v->type != MSGPACK_OBJECT_MAP) {
        want(c, v, "object");
        return;
    }
    for (size_t j = 0; j < o->n; j++) {
        const sfield *f = &o->f[j];
        const msgpack_object *fv = codec_map_get(v, f->name);
        size_t old = push_key(c, f->name, strlen(f->name));
        if (fv)
            check_field(c, fv, f);
        else if (f->required)
            problem(c, "required field is missing");
        pop(c, old);
    }
    for (uint32_t i = 0; i < v->via.map.size; i++) {
        const msgpack_object *k = &v->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        size_t j = 0;
        while (j < o->n && !(strlen(o->f[j].name) == k->via.str.size
                             && !memcmp(o->f[j].name, k->via.str.ptr, k->via.str.size)))
            j++;
        if (j == o->n) {
            size_t old = push_key(c, k->via.str.ptr, k->via.str.size);
            problem(c, "unknown field (this object is closed)");
            pop(c, old);
        }
    }
}

/* ---- 3. the envelope --------------------------------------------------------- */
static const msgpack_object *field(chk *c, const msgpack_object *env, const char *k,
                                   int required, size_t *old)
{
    const msgpack_object *v = codec_map_get(env, k);
    *old = push_key(c, k, strlen(k));
    if (!v && required)
        problem(c, "required field is missing");
    return v;
}

static void check_id(chk *c, const msgpack_object *v, int nullable)
{
    if (nullable && v->type == MSGPACK_OBJECT_NIL)
        return;
    if (!is_str(v)) {
        want(c, v, "string");
        return;
    }
    if (!sk3_id_valid(v->via.str.ptr, v->via.str.size)) {
        char val[96];
        render(v, val, sizeof val);
        problem(c, "%s is not a 26-character ULID, 32 hex digits or a hyphenated UUID", val);
    }
}

static void check_str1(chk *c, const msgpack_object *v)
{
    if (!is_str(v))
        want(c, v, "string");
    else if (!v->via.str.size)
        problem(c, "'' is too short");
}

static int str_is(const msgpack_object *v, const char *s)
{
    return is_str(v) && v->via.str.size == strlen(s) && !memcmp(v->via.str.ptr, s, v->via.str.size);
}

static void check_envelope(chk *c, const msgpack_object *e)
{
    size_t old;
    const msgpack_object *v;

    if ((v = field(c, e, "event_id", 1, &old)))
        check_id(c, v, 0);
    pop(c, old);

    int type = -1;
    if ((v = field(c, e, "event_type", 1, &old))) {
        dsr_event_type t;
        check_str1(c, v);
        if (str_is(v, "FeatureCreated") || str_is(v, "FeatureClosed"))
            problem(c, "forbidden legacy event name '%.*s'", (int)v->via.str.size,
                    v->via.str.ptr);
        else if (is_str(v) && (type = sk3_type_parse(v->via.str.ptr, v->via.str.size)) >= 0)
            ;
        else if (is_str(v) && v->via.str.size
                 && !dsr_event_type_parse(v->via.str.ptr, v->via.str.size, &t)
                 && str_is(v, dsr_event_type_name(t))) {
            /* a dossier name in wp04 spelling: spec-kitty-3 has only the
             * PascalCase four (docs/interop.md, divergence 9) */
            if (sk3_type_names[t])
                problem(c, "snake_case dossier type; spec-kitty-3 spells it %s",
                        sk3_type_names[t]);
            else
                problem(c, "dossier-internal type '%s' has no spec-kitty-3 counterpart",
                        dsr_event_type_name(t));
        }
    }
    pop(c, old);

    if ((v = field(c, e, "aggregate_id", 1, &old))) {
        check_str1(c, v);
        if (is_str(v)) {
            const char *s = v->via.str.ptr;
            size_t n = v->via.str.size, seg = 0;
            while (seg < n && s[seg] != '/')
                seg++;
            if ((seg == 7 && !memcmp(s, "feature", 7))
                || (seg == 15 && !memcmp(s, "feature_catalog", 15)))
                problem(c, "legacy aggregate name in '%.*s' (first segment 'feature' or "
                        "'feature_catalog')", (int)(n > 200 ? 200 : n), s);
        }
    }
    pop(c, old);

    if ((v = field(c, e, "timestamp", 1, &old))) {
        if (!is_str(v))
            want(c, v, "string");
        else if (!sk3_time_valid(v->via.str.ptr, v->via.str.size)) {
            char val[96];
            render(v, val, sizeof val);
            problem(c, "%s is not a valid date-time", val);
        }
    }
    pop(c, old);

    static const char *const nonempty[] = { "build_id", "node_id" };
    for (size_t i = 0; i < 2; i++) {
        if ((v = field(c, e, nonempty[i], 1, &old)))
            check_str1(c, v);
        pop(c, old);
    }

    if ((v = field(c, e, "lamport_clock", 1, &old)))
        check_uint(c, v, UINT64_MAX);
    pop(c, old);

    if ((v = field(c, e, "project_uuid", 1, &old))) {
        if (!is_str(v))
            want(c, v, "string");
        else if (!sk3_uuid_valid(v->via.str.ptr, v->via.str.size)) {
            char val[96];
            render(v, val, sizeof val);
            problem(c, "%s is not a valid uuid", val);
        }
    }
    pop(c, old);

    if ((v = field(c, e, "correlation_id", 1, &old)))
        check_id(c, v, 0);
    pop(c, old);
    if ((v = field(c, e, "causation_id", 0, &old)))
        check_id(c, v, 1);
    pop(c, old);

    if ((v = field(c, e, "schema_version", 1, &old)) && !str_is(v, DSR_SK3_SCHEMA_VERSION)) {
        char val[96];
        render(v, val, sizeof val);
        problem(c, "must be exactly \"3.0.0\", not %s", val);
    }
    pop(c, old);

    if ((v = field(c, e, "project_slug", 0, &old)) && v->type != MSGPACK_OBJECT_NIL && !is_str(v))
        want(c, v, "string or null");
    pop(c, old);

    if ((v = field(c, e, "data_tier", 0, &old)))
        check_uint(c, v, 4);
    pop(c, old);

    if ((v = field(c, e, "payload", type >= 0, &old))) {
        if (type >= 0)
            check_obj(c, v, &payloads[type]);
        else if (v->type != MSGPACK_OBJECT_MAP)
            want(c, v, "object");
    }
    pop(c, old);
}

int dsr_sk3_check(const char *line, size_t len, dsr_sk3_problem_fn fn, void *ctx)
{
    chk c = { fn, ctx, 0, { 0 }, 0 };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    dsr_err err = { 0 };
    int rc = dsr_json_to_msgpack(line, len, &sb, &err);
    if (rc == DSR_ENOMEM) {
        msgpack_sbuffer_destroy(&sb);
        return DSR_ENOMEM;
    }
    if (rc) {
        problem(&c, "not JSON: %s", err.msg);
        msgpack_sbuffer_destroy(&sb);
        return c.n;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    rc = codec_unpack_one(sb.data, sb.size, &u, &err);
    if (rc == DSR_ENOMEM) {
        c.n = DSR_ENOMEM;
    } else if (rc) {
        problem(&c, "%s", err.msg);
    } else if (u.data.type != MSGPACK_OBJECT_MAP) {
        want(&c, &u.data, "object");
    } else {
        legacy_walk(&c, &u.data);
        check_envelope(&c, &u.data);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return c.n;
}

/*
 * manifest_yaml.c - owns struct dsr_manifest: parsing expected-artifact
 * manifests with libyaml, loading them from files, and the read accessors.
 *
 * The parser loads the YAML document tree (libyaml's document API keeps the
 * source line of every node) and validates it strictly, so that every
 * problem is reported as "name:line: what is wrong" before any scanning
 * starts: YAML syntax errors, more than one document, unknown or duplicate
 * keys, wrong value types, unknown artifact classes, empty or unsafe path
 * patterns, duplicate step ids, an artifact_key twice in one list or one key
 * naming two artifacts (a key may repeat across lists: see add_spec).  Hostile input
 * costs linear time: nesting deeper than MANIFEST_MAX_DEPTH is refused
 * before the tree is built, and duplicates are found through hash maps.
 *
 * A parsed manifest owns copies of all its strings and is never modified
 * again, so any number of threads may read it at once.
 */
#include "dossier/manifest.h"
#include "classify.h"
#include "strmap.h"
#include "array.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include <openssl/sha.h>

#define MANIFEST_MAX_BYTES (16u << 20)
/* Deepest nesting of sequences and mappings accepted.  A manifest needs
 * four levels (top mapping, required_by_step, a step's list, a spec); the
 * limit is checked on libyaml's event stream before the document is loaded:
 * the loader has no limit of its own and slows down badly on deep input. */
#define MANIFEST_MAX_DEPTH 64
/* A mapping with more keys than this checks them for duplicates through a
 * hash map; smaller ones compare pairwise. */
#define PAIRWISE_MAX 16

struct dsr_manifest {
    char              *name;             /* source name used in messages */
    char              *schema_version;
    char              *mission_type;
    char              *manifest_version;
    dsr_manifest_spec *specs;
    size_t             n_specs, cap_specs;
    char             **steps;            /* required_by_step keys, file order */
    size_t             n_steps;
    char             **strs;             /* every owned string, for free() */
    size_t             n_strs, cap_strs;
    /* dsr_manifest_load_file only: the file's absolute path and the SHA-256
     * of the bytes parsed (what a scan records to remember its manifest) */
    char              *file;
    char               sha256[65];
};

typedef struct parse_ctx {
    dsr_manifest  *m;
    yaml_document_t *doc;
    const char    *name;
    dsr_err       *err;
    strmap         keys;     /* artifact_key -> index in m->specs, plus one */
} parse_ctx;

/* ---- small helpers ------------------------------------------------------ */

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static int fail(parse_ctx *c, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parse_ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dsr_err_set(c->err, DSR_EMANIFEST, "%s:%d: %s", c->name, at ? line_of(at) : 1, what);
}

static int nomem(parse_ctx *c)
{
    return dsr_err_set(c->err, DSR_ENOMEM, "%s: out of memory", c->name);
}

static char *own(dsr_manifest *m, const char *s, size_t n)
{
    if (ARRAY_RESERVE1(m->strs, m->n_strs, m->cap_strs, 32))
        return NULL;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    m->strs[m->n_strs++] = d;
    return d;
}

static yaml_node_t *node(parse_ctx *c, int id)
{
    return yaml_document_get_node(c->doc, id);
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:   return "a scalar";
    case YAML_SEQUENCE_NODE: return "a sequence";
    case YAML_MAPPING_NODE:  return "a mapping";
    default:                 return "nothing";
    }
}

static int scalar_is(const yaml_node_t *n, const char *const *words)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    for (; *words; words++)
        if (strlen(*words) == n->data.scalar.length &&
            !memcmp(n->data.scalar.value, *words, n->data.scalar.length))
            return 1;
    return 0;
}

static const char *const NULL_WORDS[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const TRUE_WORDS[] = { "true", "True", "TRUE", NULL };
static const char *const FALSE_WORDS[] = { "false", "False", "FALSE", NULL };

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return 0;
    if (n->tag && !strcmp((const char *)n->tag, YAML_NULL_TAG))
        return 1;
    return scalar_is(n, NULL_WORDS);
}

/* A string field: a scalar that is not null or a plain boolean. */
static int get_string(parse_ctx *c, const yaml_node_t *n, const char *field, char **out)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n) || scalar_is(n, TRUE_WORDS) ||
        scalar_is(n, FALSE_WORDS))
        return fail(c, n, "%s: expected a string, got %s", field,
                    n->type != YAML_SCALAR_NODE ? kind_name(n)
                    : is_null(n) ? "null" : "a boolean");
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (memchr(v, '\0', len))
        return fail(c, n, "%s: contains a NUL character", field);
    if (!(*out = own(c->m, v, len)))
        return nomem(c);
    return 0;
}

static int get_bool(parse_ctx *c, const yaml_node_t *n, const char *field, int *out)
{
    if (scalar_is(n, TRUE_WORDS))
        *out = 1;
    else if (scalar_is(n, FALSE_WORDS))
        *out = 0;
    else if (n->type == YAML_SCALAR_NODE)
        return fail(c, n, "%s: expected true or false, got '%.*s'", field,
                    (int)(n->data.scalar.length > 64 ? 64 : n->data.scalar.length),
                    (const char *)n->data.scalar.value);
    else
        return fail(c, n, "%s: expected true or false, got %s", field, kind_name(n));
    return 0;
}

/* Key of a mapping pair as text; keys must be plain strings. */
static int get_key(parse_ctx *c, const yaml_node_t *k, const char **text, size_t *len)
{
    if (k->type != YAML_SCALAR_NODE)
        return fail(c, k, "mapping key must be a string, got %s", kind_name(k));
    *text = (const char *)k->data.scalar.value;
    *len = k->data.scalar.length;
    return 0;
}

static int key_eq(const char *k, size_t len, const char *lit)
{
    return strlen(lit) == len && !memcmp(k, lit, len);
}

static int duplicate_key(parse_ctx *c, const yaml_node_t *first, const yaml_node_t *again)
{
    return fail(c, again, "duplicate key '%.*s' (first at line %d)",
                (int)first->data.scalar.length, (const char *)first->data.scalar.value,
                line_of(first));
}

/* Refuse a mapping that repeats a key (YAML says keys are unique; libyaml
 * does not check it).  Large mappings go through a hash map, so a hostile
 * manifest with many keys costs linear time. */
static int check_unique_keys(parse_ctx *c, const yaml_node_t *map)
{
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (count > PAIRWISE_MAX) {
        strmap seen = { 0 };
        int rc = 0;
        for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
             !rc && a < map->data.mapping.pairs.top; a++) {
            const yaml_node_t *k = node(c, a->key);
            if (k->type != YAML_SCALAR_NODE)
                continue;
            int created = 0;
            void **slot = strmap_upsert(&seen, k->data.scalar.value, k->data.scalar.length,
                                        &created);
            if (!slot)
                rc = nomem(c);
            else if (!created)
                rc = duplicate_key(c, *slot, k);
            else
                *slot = (void *)k;
        }
        strmap_free(&seen);
        return rc;
    }
    for (yaml_node_pair_t *a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
        const yaml_node_t *ka = node(c, a->key);
        if (ka->type != YAML_SCALAR_NODE)
            continue;
        for (yaml_node_pair_t *b = a + 1; b < map->data.mapping.pairs.top; b++) {
            const yaml_node_t *kb = node(c, b->key);
            if (kb->type == YAML_SCALAR_NODE && kb->data.scalar.length == ka->data.scalar.length &&
                !memcmp(kb->data.scalar.value, ka->data.scalar.value, ka->data.scalar.length))
                return duplicate_key(c, ka, kb);
        }
    }
    return 0;
}

/* Identifiers (artifact keys, step ids): letters, digits and . _ - / */
static int ident_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == '/'))
            return 0;
    }
    return 1;
}

/* A pattern must be relative, contain no empty, "." or ".." segments, and no
 * segment may start with a literal '.' (hidden entries are never scanned, so
 * such an entry could never be satisfied). */
static const char *pattern_problem(const char *p)
{
    if (!*p)
        return "path_pattern is empty";
    if (*p == '/')
        return "path_pattern must be relative to the mission root (starts with '/')";
    for (const char *s = p;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0)
            return "path_pattern has an empty segment ('//' or a trailing '/')";
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return "path_pattern may not contain '.' or '..' segments";
        if (s[0] == '.')
            return "path_pattern names a hidden entry (starting with '.'), which is never scanned";
        if (!e)
            break;
        s = e + 1;
    }
    return NULL;
}

/* ---- specs ---------------------------------------------------------------- */

static int add_spec(parse_ctx *c, const dsr_manifest_spec *s)
{
    dsr_manifest *m = c->m;
    int created = 0;
    void **slot = strmap_upsert(&c->keys, s->artifact_key, strlen(s->artifact_key), &created);
    if (!slot)
        return nomem(c);
    if (!created) {
        /* The same key in another list (another step, required_always,
         * optional_always) means "required there too", as spec-kitty's
         * manifests use it (software-dev lists output.tasks.per_wp under
         * tasks_packages and tasks_finalize).  It must name the same
         * artifact each time: one key is one identity in the log.  Twice in
         * one list says nothing new and is refused as before.  The slot
         * holds the key's latest spec: lists are parsed one after another,
         * so a repeat within a list is a repeat of the latest one. */
        size_t last = (size_t)(uintptr_t)*slot - 1;
        assert(last < m->n_specs);
        const dsr_manifest_spec *p = &m->specs[last];
        if (p->kind == s->kind && (p->step_id == s->step_id ||
                                   (p->step_id && s->step_id && !strcmp(p->step_id, s->step_id))))
            return dsr_err_set(c->err, DSR_EMANIFEST,
                               "%s:%d: duplicate artifact_key '%s' (first defined at line %d)", c->name, s->line, s->artifact_key, p->line);
        if (strcmp(p->path_pattern, s->path_pattern) != 0 ||
            strcmp(p->artifact_class, s->artifact_class) != 0)
            return dsr_err_set(c->err, DSR_EMANIFEST,
                               "%s:%d: artifact_key '%s' is listed again with another %s "
                               "('%s', line %d: '%s'); a key repeated under several steps must "
                               "name the same artifact", c->name, s->line, s->artifact_key,
                               strcmp(p->path_pattern, s->path_pattern) ? "path_pattern"
                                                                        : "artifact_class",
                               strcmp(p->path_pattern, s->path_pattern) ? s->path_pattern
                                                                        : s->artifact_class,
                               p->line,
                               strcmp(p->path_pattern, s->path_pattern) ? p->path_pattern
                                                                        : p->artifact_class);
    }
    *slot = (void *)(uintptr_t)(m->n_specs + 1);
    if (ARRAY_RESERVE1(m->specs, m->n_specs, m->cap_specs, 16))
        return nomem(c);
    m->specs[m->n_specs++] = *s;
    return 0;
}

static int parse_spec(parse_ctx *c, const yaml_node_t *n, dsr_spec_kind kind, const char *step)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "artifact spec: expected a mapping with artifact_key, artifact_class, "
                    "path_pattern and blocking, got %s", kind_name(n));
    int rc = check_unique_keys(c, n);
    if (rc)
        return rc;
    dsr_manifest_spec s = { .kind = kind, .step_id = step, .line = line_of(n) };
    char *cls = NULL;
    const yaml_node_t *cls_node = NULL, *pat_node = NULL, *key_node = NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(c, pr->key), *v = node(c, pr->value);
        const char *kt = NULL;
        size_t kl = 0;
        if ((rc = get_key(c, k, &kt, &kl)))
            return rc;
        if (key_eq(kt, kl, "artifact_key")) {
            char *t;
            if ((rc = get_string(c, v, "artifact_key", &t)))
                return rc;
            s.artifact_key = t;
            key_node = v;
        } else if (key_eq(kt, kl, "artifact_class")) {
            if ((rc = get_string(c, v, "artifact_class", &cls)))
                return rc;
            cls_node = v;
        } else if (key_eq(kt, kl, "path_pattern")) {
            char *t;
            if ((rc = get_string(c, v, "path_pattern", &t)))
                return rc;
            s.path_pattern = t;
            pat_node = v;
        } else if (key_eq(kt, kl, "blocking")) {
            if ((rc = get_bool(c, v, "blocking", &s.blocking)))
                return rc;
        } else {
            return fail(c, k, "unknown key '%.*s' in artifact spec (allowed: artifact_key, "
                        "artifact_class, path_pattern, blocking)", (int)(kl > 64 ? 64 : kl), kt);
        }
    }
    if (!s.artifact_key)
        return fail(c, n, "artifact spec is missing artifact_key");
    if (!ident_ok(s.artifact_key))
        return fail(c, key_node, "artifact_key '%s' may only contain letters, digits and . _ - /",
                    s.artifact_key);
    if (!cls)
        return fail(c, n, "artifact spec '%s' is missing artifact_class", s.artifact_key);
    if (!classify_class_valid(cls, &s.artifact_class))
        return fail(c, cls_node, "artifact_class '%s' is not one of input, workflow, output, "
                    "evidence, policy, runtime", cls);
    if (!s.path_pattern)
        return fail(c, n, "artifact spec '%s' is missing path_pattern", s.artifact_key);
    const char *bad = pattern_problem(s.path_pattern);
    if (bad)
        return fail(c, pat_node, "%s", bad);
    return add_spec(c, &s);
}

static int parse_spec_list(parse_ctx *c, const yaml_node_t *n, const char *field,
                           dsr_spec_kind kind, const char *step)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "%s: expected a sequence of artifact specs, got %s", field,
                    is_null(n) ? "null" : kind_name(n));
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        int rc = parse_spec(c, node(c, *it), kind, step);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_steps(parse_ctx *c, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "required_by_step: expected a mapping of step id to a sequence, got %s",
                    is_null(n) ? "null" : kind_name(n));
    int rc = check_unique_keys(c, n);
    if (rc)
        return rc;
    dsr_manifest *m = c->m;
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (count) {
        if (!(m->steps = calloc(count, sizeof *m->steps)))
            return nomem(c);
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(c, pr->key), *v = node(c, pr->value);
        char *step;
        if ((rc = get_string(c, k, "required_by_step key", &step)))
            return rc;
        if (!ident_ok(step))
            return fail(c, k, "step id '%s' may only contain letters, digits and . _ - /", step);
        m->steps[m->n_steps] = step;
        m->n_steps++;
        char field[320];
        snprintf(field, sizeof field, "required_by_step.%s", step);
        if ((rc = parse_spec_list(c, v, field, DSR_SPEC_REQUIRED_BY_STEP, step)))
            return rc;
    }
    return 0;
}

static int parse_root(parse_ctx *c, const yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, root, "top level must be a mapping, got %s", kind_name(root));
    int rc = check_unique_keys(c, root);
    if (rc)
        return rc;
    dsr_manifest *m = c->m;
    const yaml_node_t *sv_node = NULL;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(c, pr->key), *v = node(c, pr->value);
        const char *kt = NULL;
        size_t kl = 0;
        if ((rc = get_key(c, k, &kt, &kl)))
            return rc;
        if (key_eq(kt, kl, "schema_version")) {
            rc = get_string(c, v, "schema_version", &m->schema_version);
            sv_node = v;
        } else if (key_eq(kt, kl, "mission_type")) {
            rc = get_string(c, v, "mission_type", &m->mission_type);
            if (!rc && !ident_ok(m->mission_type))
                rc = fail(c, v, "mission_type '%s' may only contain letters, digits and . _ - /",
                          m->mission_type);
        } else if (key_eq(kt, kl, "manifest_version")) {
            rc = get_string(c, v, "manifest_version", &m->manifest_version);
        } else if (key_eq(kt, kl, "required_always")) {
            rc = parse_spec_list(c, v, "required_always", DSR_SPEC_REQUIRED_ALWAYS, NULL);
        } else if (key_eq(kt, kl, "required_by_step")) {
            rc = parse_steps(c, v);
        } else if (key_eq(kt, kl, "optional_always")) {
            rc = parse_spec_list(c, v, "optional_always", DSR_SPEC_OPTIONAL_ALWAYS, NULL);
        } else {
            rc = fail(c, k, "unknown key '%.*s' (allowed: schema_version, mission_type, "
                      "manifest_version, required_always, required_by_step, optional_always)",
                      (int)(kl > 64 ? 64 : kl), kt);
        }
        if (rc)
            return rc;
    }
    if (!m->mission_type)
        return fail(c, root, "mission_type is missing");
    if (m->schema_version) {
        const char *v = m->schema_version;
        if (!(v[0] == '1' && (v[1] == '\0' || v[1] == '.')))
            return fail(c, sv_node, "unsupported schema_version '%s' (this dossier reads 1.x)", v);
    } else if (!(m->schema_version = own(m, "1.0", 3))) {
        return nomem(c);
    }
    if (!m->manifest_version && !(m->manifest_version = own(m, "1", 1)))
        return nomem(c);
    return 0;
}

static int yaml_fail(parse_ctx *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "cannot parse";
    size_t line = p->problem_mark.line + 1;
    if (p->error == YAML_MEMORY_ERROR)
        return nomem(c);
    if (p->context)
        return dsr_err_set(c->err, DSR_EMANIFEST, "%s:%zu: YAML syntax error: %s %s that starts at line %zu",
                           c->name, line, problem, p->context, p->context_mark.line + 1);
    return dsr_err_set(c->err, DSR_EMANIFEST, "%s:%zu: YAML syntax error: %s", c->name, line, problem);
}

/* Walk the event stream of text and refuse nesting deeper than
 * MANIFEST_MAX_DEPTH, before the loader builds the tree.  A syntax error
 * ends the walk quietly: the loader then reports it as it always has. */
static int check_depth(parse_ctx *c, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return nomem(c);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0;
    unsigned depth = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                rc = nomem(c);
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > MANIFEST_MAX_DEPTH)
                rc = dsr_err_set(c->err, DSR_EMANIFEST, "%s:%zu: nested more than %d levels "
                                 "deep (a manifest needs 4)", c->name,
                                 ev.start_mark.line + 1, MANIFEST_MAX_DEPTH);
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            assert(depth > 0);
            depth--;
        }
        yaml_event_delete(&ev);
        if (rc || t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

int dsr_manifest_parse(const char *text, size_t len, const char *name,
                       dsr_manifest **out, dsr_err *err)
{
    *out = NULL;
    if (!name)
        name = "<manifest>";
    dsr_manifest *m = calloc(1, sizeof *m);
    if (!m)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", name);
    parse_ctx c = { .m = m, .name = name, .err = err };
    if (!(m->name = own(m, name, strlen(name)))) {
        dsr_manifest_free(m);
        return nomem(&c);
    }
    c.name = m->name;
    if (memchr(text, '\0', len)) {
        dsr_manifest_free(m);
        return dsr_err_set(err, DSR_EMANIFEST, "%s:1: contains a NUL byte (not a text file)", name);
    }

    int drc = check_depth(&c, text, len);
    if (drc) {
        dsr_manifest_free(m);
        return drc;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        dsr_manifest_free(m);
        return nomem(&c);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_fail(&c, &parser);
        yaml_parser_delete(&parser);
        dsr_manifest_free(m);
        return rc;
    }
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        rc = dsr_err_set(err, DSR_EMANIFEST, "%s:1: empty manifest (expected a mapping with "
                         "mission_type and artifact lists)", name);
    else
        rc = parse_root(&c, root);
    yaml_document_delete(&doc);

    if (rc == 0) {
        /* exactly one document: a second one would be silently ignored */
        yaml_document_t doc2;
        if (!yaml_parser_load(&parser, &doc2)) {
            rc = yaml_fail(&c, &parser);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
            if (r2)
                rc = dsr_err_set(err, DSR_EMANIFEST, "%s:%d: more than one YAML document",
                                 name, line_of(r2));
            yaml_document_delete(&doc2);
        }
    }
    yaml_parser_delete(&parser);
    strmap_free(&c.keys);
    if (rc) {
        dsr_manifest_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static const char *file_kind(mode_t m)
{
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISDIR(m))  return "a folder";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m))  return "a character device";
    if (S_ISBLK(m))  return "a block device";
    return "not a regular file";
}

int dsr_manifest_load_file(const char *path, dsr_manifest **out, dsr_err *err)
{
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer for
     * ever; it changes nothing for the regular file checked below */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return dsr_err_errno(err, errno == ENOENT ? DSR_ENOTFOUND : DSR_EIO, errno,
                             "%s: cannot open manifest", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot stat manifest", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return dsr_err_set(err, DSR_EIO, "%s: manifest is not a regular file (%s)", path,
                           file_kind(st.st_mode));
    }
    if ((uint64_t)st.st_size > MANIFEST_MAX_BYTES) {
        close(fd);
        return dsr_err_set(err, DSR_EMANIFEST, "%s: manifest is larger than %u bytes",
                           path, MANIFEST_MAX_BYTES);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *text = malloc(cap);
    if (!text) {
        close(fd);
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap > MANIFEST_MAX_BYTES) {
                free(text);
                close(fd);
                return dsr_err_set(err, DSR_EMANIFEST, "%s: manifest is larger than %u bytes",
                                   path, MANIFEST_MAX_BYTES);
            }
            char *t = realloc(text, cap * 2);
            if (!t) {
                free(text);
                close(fd);
                return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
            }
            text = t;
            cap *= 2;
        }
        ssize_t r = read(fd, text + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(text);
            close(fd);
            return dsr_err_errno(err, DSR_EIO, e, "%s: cannot read manifest", path);
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    int rc = dsr_manifest_parse(text, len, path, out, err);
    if (rc == 0) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)text, len, md);
        for (size_t i = 0; i < sizeof md; i++)
            snprintf((*out)->sha256 + 2 * i, 3, "%02x", md[i]);
        /* the file was just read, so it resolves unless renamed meanwhile */
        if (!((*out)->file = realpath(path, NULL)) && !((*out)->file = strdup(path))) {
            dsr_manifest_free(*out);
            *out = NULL;
            rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
        }
    }
    free(text);
    return rc;
}

void dsr_manifest_free(dsr_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_strs; i++)
        free(m->strs[i]);
    free(m->strs);
    free(m->specs);
    free(m->steps);
    free(m->file);
    free(m);
}

const char *dsr_manifest_mission_type(const dsr_manifest *m) { return m->mission_type; }
const char *dsr_manifest_version(const dsr_manifest *m)      { return m->manifest_version; }
const char *dsr_manifest_schema_version(const dsr_manifest *m) { return m->schema_version; }
const char *dsr_manifest_name(const dsr_manifest *m)         { return m->name; }
const char *dsr_manifest_file(const dsr_manifest *m)         { return m->file; }
const char *dsr_manifest_sha256(const dsr_manifest *m)       { return m->file ? m->sha256 : NULL; }
size_t      dsr_manifest_spec_count(const dsr_manifest *m)   { return m->n_specs; }
size_t      dsr_manifest_step_count(const dsr_manifest *m)   { return m->n_steps; }

const dsr_manifest_spec *dsr_manifest_spec_at(const dsr_manifest *m, size_t i)
{
    return i < m->n_specs ? &m->specs[i] : NULL;
}

const char *dsr_manifest_step_at(const dsr_manifest *m, size_t i)
{
    return i < m->n_steps ? m->steps[i] : NULL;
}

int dsr_manifest_has_step(const dsr_manifest *m, const char *step_id)
{
    if (!m || !step_id)
        return 0;
    for (size_t i = 0; i < m->n_steps; i++)
        if (!strcmp(m->steps[i], step_id))
            return 1;
    return 0;
}

/*
 * json_parse.c - strict JSON text (RFC 8259) -> msgpack.
 *
 * What "strict" means here: the input must be well-formed UTF-8 (no BOM, no
 * overlongs, no surrogates), strings must not contain raw control
 * characters, \u escapes must pair surrogates, containers nest at most
 * DEPTH_MAX deep, an object must not repeat a key (compared after
 * unescaping), and only whitespace may follow the value.  Integers that fit
 * int64/uint64 become msgpack integers; other numbers are parsed as doubles
 * in the "C" locale (strtod_l) and a number too large for a double is
 * refused rather than turned into infinity, so no input reaches undefined
 * behaviour or produces a value JSON cannot print.
 *
 * The parse builds a msgpack_object tree in a zone (so object keys can be
 * checked for duplicates before anything is written), then packs it with
 * map keys in input order.  Recursion is bounded by DEPTH_MAX.
 */
#include "dossier/event.h"
#include "codec.h"

#include <assert.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64

typedef struct parser {
    const char   *s;
    size_t        len, pos;
    int           depth;
    msgpack_zone *zone;
    locale_t      c_locale;   /* created on the first non-integer number */
    dsr_err      *err;
} parser;

static int fail_at(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(parser *p, size_t at, const char *fmt, ...)
{
    size_t line = 1, start = 0;
    for (size_t i = 0; i < at && i < p->len; i++)
        if (p->s[i] == '\n') {
            line++;
            start = i + 1;
        }
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line > 1)
        return dsr_err_set(p->err, DSR_EPARSE, "line %zu, column %zu: %s", line, at - start + 1,
                           what);
    return dsr_err_set(p->err, DSR_EPARSE, "column %zu: %s", at - start + 1, what);
}

static int unexpected(parser *p)
{
    if (p->pos >= p->len)
        return fail_at(p, p->pos, "unexpected end of input");
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c >= 0x21 && c < 0x7f)
        return fail_at(p, p->pos, "unexpected character '%c'", c);
    return fail_at(p, p->pos, "unexpected byte 0x%02x", c);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static void *zalloc(parser *p, size_t n)
{
    void *m = msgpack_zone_malloc(p->zone, n ? n : 1);
    if (!m)
        dsr_err_set(p->err, DSR_ENOMEM, "column %zu: out of memory", p->pos + 1);
    return m;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *d, unsigned cp)
{
    assert(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF));   /* surrogates were paired */
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* p->pos is at the opening quote.  Decoded text never exceeds the raw
 * text (every escape is at least as long as what it stands for). */
static int parse_string(parser *p, msgpack_object *o)
{
    size_t start = ++p->pos, end = start;
    /* Find the closing quote.  Fast path: no backslash before the first
     * quote (most strings), found with memchr. */
    const char *q = memchr(p->s + start, '"', p->len - start);
    if (q && !memchr(p->s + start, '\\', (size_t)(q - (p->s + start)))) {
        end = (size_t)(q - p->s);
    } else {
        while (end < p->len && p->s[end] != '"') {
            if (p->s[end] == '\\')
                end++;
            end++;
        }
    }
    if (end >= p->len)
        return fail_at(p, start - 1, "unterminated string");
    char *d = zalloc(p, end - start);
    if (!d)
        return DSR_ENOMEM;
    size_t n = 0, i = start;
    while (i < end) {
        /* copy a run of printable ASCII other than '\\' in one go */
        size_t run = i;
        while (run < end) {
            unsigned char r = (unsigned char)p->s[run];
            if (r < 0x20 || r >= 0x80 || r == '\\')
                break;
            run++;
        }
        if (run > i) {
            memcpy(d + n, p->s + i, run - i);
            n += run - i;
            i = run;
            continue;
        }
        unsigned char c = (unsigned char)p->s[i];
        if (c < 0x20)
            return fail_at(p, i, "control character U+%04X in string (must be escaped)", c);
        if (c >= 0x80) {
            size_t k = utf8_seq_len(p->s + i, end - i);
            if (!k)
                return fail_at(p, i, "invalid UTF-8 in string");
            memcpy(d + n, p->s + i, k);
            n += k;
            i += k;
            continue;
        }
        if (c != '\\') {
            d[n++] = (char)c;
            i++;
            continue;
        }
        char e = p->s[i + 1];   /* i + 1 < end: the scan above paired it */
        switch (e) {
        case '"':  d[n++] = '"';  break;
        case '\\': d[n++] = '\\'; break;
        case '/':  d[n++] = '/';  break;
        case 'b':  d[n++] = '\b'; break;
        case 'f':  d[n++] = '\f'; break;
        case 'n':  d[n++] = '\n'; break;
        case 'r':  d[n++] = '\r'; break;
        case 't':  d[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (end - i < 6 || !hex4(p->s + i + 2, &cp))
                return fail_at(p, i, "invalid \\u escape (four hex digits expected)");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail_at(p, i, "lone low surrogate \\u%04X", cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - i < 12 || p->s[i + 6] != '\\' || p->s[i + 7] != 'u' ||
                    !hex4(p->s + i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return fail_at(p, i, "high surrogate \\u%04X not followed by a low surrogate", cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            n += put_utf8(d + n, cp);
            i += 6;
            assert(n <= i - start);   /* an escape is never shorter than its UTF-8 */
            continue;
        }
        default:
            return fail_at(p, i, "invalid escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
        }
        i += 2;
    }
    assert(n <= end - start);   /* d holds end - start bytes */
    if (n > UINT32_MAX)
        return fail_at(p, start - 1, "string longer than 4 GiB");
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = d;
    o->via.str.size = (uint32_t)n;
    p->pos = end + 1;
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(parser *p, msgpack_object *o)
{
    size_t start = p->pos, i = p->pos;
    int neg = 0, integral = 1;
    if (i < p->len && p->s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= p->len || !is_digit(p->s[i])) {
        p->pos = i;
        return unexpected(p);
    }
    if (p->s[i] == '0') {
        i++;
        if (i < p->len && is_digit(p->s[i]))
            return fail_at(p, i, "leading zeros are not allowed in numbers");
    } else {
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && p->s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return fail_at(p, i, "digit expected after the decimal point");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return fail_at(p, i, "digit expected in the exponent");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    p->pos = i;
    if (integral) {
        /* Accumulate the magnitude with an explicit overflow check. */
        uint64_t mag = 0;
        int fits = 1;
        for (size_t k = start + (size_t)neg; k < i; k++) {
            unsigned dgt = (unsigned)(p->s[k] - '0');
            if (mag > (UINT64_MAX - dgt) / 10) {
                fits = 0;
                break;
            }
            mag = mag * 10 + dgt;
        }
        if (fits && !neg) {
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = mag;
            return 0;
        }
        if (fits && neg && mag == 0) {        /* -0 is the integer 0 */
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = 0;
            return 0;
        }
        if (fits && neg && mag <= (uint64_t)INT64_MAX + 1u) {
            o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
            o->via.i64 = mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag;
            return 0;
        }
        /* too large for 64 bits: falls through to a double */
    }
    if (!p->c_locale) {
        p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (!p->c_locale)
            return dsr_err_errno(p->err, DSR_ENOMEM, errno, "column %zu: newlocale", start + 1);
    }
    size_t n = i - start;
    char small[64];
    char *txt = n < sizeof small ? small : malloc(n + 1);
    if (!txt)
        return dsr_err_set(p->err, DSR_ENOMEM, "column %zu: out of memory", start + 1);
    memcpy(txt, p->s + start, n);
    txt[n] = '\0';
    errno = 0;
    double d = strtod_l(txt, NULL, p->c_locale);
    if (txt != small)
        free(txt);
    if (isinf(d))
        return fail_at(p, start, "number out of range (%.*s%s)", n > 24 ? 24 : (int)n,
                       p->s + start, n > 24 ? "..." : "");
    o->type = MSGPACK_OBJECT_FLOAT64;
    o->via.f64 = d;
    return 0;
}

static int parse_literal(parser *p, const char *word, msgpack_object *o)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
        return unexpected(p);
    p->pos += n;
    return 0;
}

static int parse_value(parser *p, msgpack_object *o);

/* A growable vector of children, copied into the zone when complete. */
typedef struct vec {
    void  *items;
    size_t n, cap, size;
} vec;

static void *vec_push(vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void *m = realloc(v->items, cap * v->size);
        if (!m)
            return NULL;
        v->items = m;
        v->cap = cap;
    }
    return (char *)v->items + v->n++ * v->size;
}

static int enter(parser *p)
{
    assert(p->depth >= 0 && p->depth <= DEPTH_MAX);   /* so recursion is bounded */
    if (++p->depth > DEPTH_MAX)
        return fail_at(p, p->pos, "nesting deeper than %d levels", DEPTH_MAX);
    return 0;
}

static int parse_array(parser *p, msgpack_object *o)
{
    int rc = enter(p);
    if (rc)
        return rc;
    p->pos++;   /* '[' */
    vec v = { NULL, 0, 0, sizeof(msgpack_object) };
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
    } else {
        for (;;) {
            msgpack_object *item = vec_push(&v);
            if (!item) {
                rc = dsr_err_set(p->err, DSR_ENOMEM, "column %zu: out of memory", p->pos + 1);
                goto out;
            }
            skip_ws(p);
            if ((rc = parse_value(p, item)))
                goto out;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == ']') {
                p->pos++;
                break;
            }
            rc = p->pos < p->len ? fail_at(p, p->pos, "expected ',' or ']' in array")
                                 : unexpected(p);
            goto out;
        }
    }
    if (v.n > UINT32_MAX) {
        rc = fail_at(p, p->pos, "array too long");
        goto out;
    }
    o->type = MSGPACK_OBJECT_ARRAY;
    o->via.array.size = (uint32_t)v.n;
    o->via.array.ptr = NULL;
    if (v.n) {
        o->via.array.ptr = zalloc(p, v.n * sizeof(msgpack_object));
        if (!o->via.array.ptr) {
            rc = DSR_ENOMEM;
            goto out;
        }
        memcpy(o->via.array.ptr, v.items, v.n * sizeof(msgpack_object));
    }
    p->depth--;
out:
    free(v.items);
    return rc;
}

typedef struct keyref {
    const msgpack_object *key;
    size_t                pos;   /* where the key starts in the input */
} keyref;

static int keyref_cmp(const void *a, const void *b)
{
    const keyref *x = a, *y = b;
    uint32_t lx = x->key->via.str.size, ly = y->key->via.str.size;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    int c = lx ? memcmp(x->key->via.str.ptr, y->key->via.str.ptr, lx) : 0;
    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Report the first (in input order) key that repeats an earlier one.
 * Sorting keeps this O(n log n) for objects with many keys. */
static int check_duplicates(parser *p, const msgpack_object_kv *kv, const size_t *pos, size_t n)
{
    if (n < 2)
        return 0;
    if (n <= 16) {
        /* Small objects (every envelope and payload): pairwise, no allocation.
         * Scanning i upwards finds the first repeat in input order. */
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++) {
                const msgpack_object *a = &kv[j].key, *b = &kv[i].key;
                if (a->via.str.size == b->via.str.size &&
                    (!a->via.str.size || !memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size))) {
                    char name[120];
                    codec_render_value(b, name, sizeof name);
                    return fail_at(p, pos[i], "duplicate key %s", name);
                }
            }
        return 0;
    }
    keyref *r = malloc(n * sizeof *r);
    if (!r)
        return dsr_err_set(p->err, DSR_ENOMEM, "out of memory checking object keys");
    for (size_t i = 0; i < n; i++) {
        r[i].key = &kv[i].key;
        r[i].pos = pos[i];
    }
    qsort(r, n, sizeof *r, keyref_cmp);
    size_t dup = SIZE_MAX;
    const msgpack_object *dkey = NULL;
    for (size_t i = 1; i < n; i++) {
        const msgpack_object *a = r[i - 1].key, *b = r[i].key;
        if (a->via.str.size == b->via.str.size &&
            (!a->via.str.size || !memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size)) &&
            r[i].pos < dup) {
            dup = r[i].pos;
            dkey = b;
        }
    }
    free(r);
    if (!dkey)
        return 0;
    char name[120];
    codec_render_value(dkey, name, sizeof name);
    return fail_at(p, dup, "duplicate key %s", name);
}

static int parse_object(parser *p, msgpack_object *o)
{
    int rc = enter(p);
    if (rc)
        return rc;
    p->pos++;   /* '{' */
    vec v = { NULL, 0, 0, sizeof(msgpack_object_kv) };
    vec at = { NULL, 0, 0, sizeof(size_t) };
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
    } else {
        for (;;) {
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                rc = p->pos < p->len ? fail_at(p, p->pos, "expected a string key in object")
                                     : unexpected(p);
                goto out;
            }
            msgpack_object_kv *kv = vec_push(&v);
            size_t *kpos = vec_push(&at);
            if (!kv || !kpos) {
                rc = dsr_err_set(p->err, DSR_ENOMEM, "column %zu: out of memory", p->pos + 1);
                goto out;
            }
            *kpos = p->pos;
            if ((rc = parse_string(p, &kv->key)))
                goto out;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                rc = p->pos < p->len ? fail_at(p, p->pos, "expected ':' after an object key")
                                     : unexpected(p);
                goto out;
            }
            p->pos++;
            skip_ws(p);
            if ((rc = parse_value(p, &kv->val)))
                goto out;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == '}') {
                p->pos++;
                break;
            }
            rc = p->pos < p->len ? fail_at(p, p->pos, "expected ',' or '}' in object")
                                 : unexpected(p);
            goto out;
        }
    }
    if ((rc = check_duplicates(p, v.items, at.items, v.n)))
        goto out;
    if (v.n > UINT32_MAX) {
        rc = fail_at(p, p->pos, "object too large");
        goto out;
    }
    o->type = MSGPACK_OBJECT_MAP;
    o->via.map.size = (uint32_t)v.n;
    o->via.map.ptr = NULL;
    if (v.n) {
        o->via.map.ptr = zalloc(p, v.n * sizeof(msgpack_object_kv));
        if (!o->via.map.ptr) {
            rc = DSR_ENOMEM;
            goto out;
        }
        memcpy(o->via.map.ptr, v.items, v.n * sizeof(msgpack_object_kv));
    }
    p->depth--;
out:
    free(v.items);
    free(at.items);
    return rc;
}

static int parse_value(parser *p, msgpack_object *o)
{
    memset(o, 0, sizeof *o);
    if (p->pos >= p->len)
        return unexpected(p);
    switch (p->s[p->pos]) {
    case '{': return parse_object(p, o);
    case '[': return parse_array(p, o);
    case '"': return parse_string(p, o);
    case 't':
        o->type = MSGPACK_OBJECT_BOOLEAN;
        o->via.boolean = true;
        return parse_literal(p, "true", o);
    case 'f':
        o->type = MSGPACK_OBJECT_BOOLEAN;
        o->via.boolean = false;
        return parse_literal(p, "false", o);
    case 'n':
        o->type = MSGPACK_OBJECT_NIL;
        return parse_literal(p, "null", o);
    default:
        if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
            return parse_number(p, o);
        return unexpected(p);
    }
}

int dsr_json_to_msgpack(const char *text, size_t len, msgpack_sbuffer *out, dsr_err *err)
{
    if ((!text && len) || !out)
        return dsr_err_set(err, DSR_EINVAL, "json: NULL argument");
    parser p = { text ? text : "", len, 0, 0, NULL, (locale_t)0, err };
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        return fail_at(&p, 0, "byte order mark before JSON text");
    p.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (!p.zone)
        return dsr_err_set(err, DSR_ENOMEM, "json: out of memory");
    msgpack_object root;
    skip_ws(&p);
    int rc = p.pos >= p.len ? fail_at(&p, p.pos, "empty input: a JSON value is expected")
                            : parse_value(&p, &root);
    if (!rc) {
        skip_ws(&p);
        if (p.pos < p.len)
            rc = fail_at(&p, p.pos, "unexpected text after the JSON value");
    }
    if (!rc) {
        size_t mark = out->size;
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
        if (msgpack_pack_object(&pk, root)) {
            out->size = mark;
            rc = dsr_err_set(err, DSR_ENOMEM, "json: out of memory writing msgpack");
        }
    }
    if (p.c_locale)
        freelocale(p.c_locale);
    msgpack_zone_free(p.zone);
    return rc;
}

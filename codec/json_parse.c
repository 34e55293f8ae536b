/*
 * json_parse.c - strict JSON text (RFC 8259) -> msgpack, parsed by jansson.
 *
 * jansson (json_loadb) reads the text into a tree; this file keeps our
 * rules around it and packs the tree.  What "strict" means, and who checks:
 *
 *   jansson    well-formed UTF-8 (no overlongs, no encoded surrogates,
 *              nothing above U+10FFFF); no raw control characters in
 *              strings; \u escapes pair their surrogates; only whitespace
 *              after the value; no key twice in one object, compared after
 *              unescaping (JSON_REJECT_DUPLICATES); numbers too large for a
 *              double are refused, never infinity.  "\u0000" is kept inside
 *              string values (JSON_ALLOW_NUL); jansson refuses it in keys.
 *   here       no byte order mark; containers nest at most DEPTH_MAX deep
 *              (jansson allows 2048); an integer in the int64 or uint64
 *              range is a msgpack integer, any other integer a double
 *              (jansson's integers are int64 only: see "Wide integers");
 *              and the error text: "[line L, ]column C: what", C counted in
 *              bytes from 1 at the start of the offending token, with
 *              jansson's report translated to name the rule broken.
 *
 * Key order: an object's keys are packed in input order.  jansson keeps an
 * object's insertion order for iteration (json_object_iter, since 2.8), and
 * with duplicates refused insertion order is input order.
 *
 * Wide integers: jansson refuses an integer outside int64 ("too big
 * integer").  Only then is the text parsed again with every number read as
 * a double (JSON_DECODE_INT_AS_REAL), and the packer walks the number
 * tokens of the text in step with the tree (document order in both): an
 * integral token is packed from its digits when it fits 64 bits, else as
 * the double jansson read.  Ordinary input pays for one parse.
 */
#include "dossier/event.h"
#include "codec.h"

#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64

#define LOAD_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* Why packing stopped (positive: msgpack's writer returns -1, DSR_* codes
 * are negative).  TOO_DEEP: the depth rule, the caller finds where. */
enum { PACK_OK, TOO_DEEP, TOO_BIG, NO_MEM, OUT_OF_STEP };

static int fail_at(const char *s, size_t len, size_t at, dsr_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(const char *s, size_t len, size_t at, dsr_err *err, const char *fmt, ...)
{
    size_t line = 1, start = 0;
    for (size_t i = 0; i < at && i < len; i++)
        if (s[i] == '\n') {
            line++;
            start = i + 1;
        }
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line > 1)
        return dsr_err_set(err, DSR_EPARSE, "line %zu, column %zu: %s", line, at - start + 1,
                           what);
    return dsr_err_set(err, DSR_EPARSE, "column %zu: %s", at - start + 1, what);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_number_char(char c)
{
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Offset of the closing quote of the string whose opening quote is at i,
 * or len when it is not closed. */
static size_t string_end(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i;
    }
    return len;
}

/* ---- packing the tree ------------------------------------------------------ */

typedef struct packer {
    msgpack_packer pk;
    const char    *s;
    size_t         len;
    int            wide;   /* the tree was read with JSON_DECODE_INT_AS_REAL */
    size_t         scan;   /* wide: where to look for the next number token */
} packer;

/* Wide mode: the next number token of the text, outside strings.  jansson
 * accepted the text, so outside strings only numbers hold '-' or digits. */
static int next_number(packer *p, size_t *start, size_t *n)
{
    size_t i = p->scan;
    while (i < p->len) {
        char c = p->s[i];
        if (c == '"') {
            i = string_end(p->s, p->len, i) + 1;
        } else if (c == '-' || is_digit(c)) {
            size_t e = i;
            while (e < p->len && is_number_char(p->s[e]))
                e++;
            *start = i;
            *n = e - i;
            p->scan = e;
            return 0;
        } else {
            i++;
        }
    }
    return -1;
}

/* Wide mode: pack the number token that produced the real r. */
static int pack_wide_number(packer *p, double r)
{
    size_t start, n;
    if (next_number(p, &start, &n)) {
        assert(!"the tree holds more numbers than the text");
        return OUT_OF_STEP;
    }
    const char *t = p->s + start;
    for (size_t k = 0; k < n; k++)
        if (t[k] == '.' || t[k] == 'e' || t[k] == 'E')
            return msgpack_pack_double(&p->pk, r) ? NO_MEM : 0;
    int neg = t[0] == '-';
    uint64_t mag = 0;
    for (size_t k = (size_t)neg; k < n; k++) {
        unsigned d = (unsigned)(t[k] - '0');
        if (mag > (UINT64_MAX - d) / 10)
            return msgpack_pack_double(&p->pk, r) ? NO_MEM : 0;   /* beyond 64 bits */
        mag = mag * 10 + d;
    }
    int rc;
    if (!neg || mag == 0)
        rc = msgpack_pack_uint64(&p->pk, mag);       /* -0 is the integer 0 */
    else if (mag > (uint64_t)INT64_MAX + 1u)
        rc = msgpack_pack_double(&p->pk, r);
    else
        rc = msgpack_pack_int64(&p->pk, mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN
                                                                         : -(int64_t)mag);
    return rc ? NO_MEM : 0;
}

/* PACK_OK, TOO_DEEP, TOO_BIG (a string or container msgpack cannot hold),
 * NO_MEM (msgpack's writer failed) or OUT_OF_STEP. */
static int pack(packer *p, json_t *j, int depth)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (depth >= DEPTH_MAX)
            return TOO_DEEP;
        size_t n = json_object_size(j);
        if (n > UINT32_MAX)
            return TOO_BIG;
        if (msgpack_pack_map(&p->pk, n))
            return NO_MEM;
        size_t seen = 0;
        for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
            size_t kl = json_object_iter_key_len(it);
            if (msgpack_pack_str(&p->pk, kl) ||
                msgpack_pack_str_body(&p->pk, json_object_iter_key(it), kl))
                return NO_MEM;
            int rc = pack(p, json_object_iter_value(it), depth + 1);
            if (rc)
                return rc;
            seen++;
        }
        assert(seen == n);   /* the map header promised n pairs */
        return 0;
    }
    case JSON_ARRAY: {
        if (depth >= DEPTH_MAX)
            return TOO_DEEP;
        size_t n = json_array_size(j);
        if (n > UINT32_MAX)
            return TOO_BIG;
        if (msgpack_pack_array(&p->pk, n))
            return NO_MEM;
        for (size_t i = 0; i < n; i++) {
            int rc = pack(p, json_array_get(j, i), depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    case JSON_STRING: {
        size_t n = json_string_length(j);
        if (n > UINT32_MAX)
            return TOO_BIG;
        return msgpack_pack_str(&p->pk, n) ||
               msgpack_pack_str_body(&p->pk, json_string_value(j), n) ? NO_MEM : 0;
    }
    case JSON_INTEGER: {
        assert(!p->wide);
        json_int_t v = json_integer_value(j);
        int rc = v >= 0 ? msgpack_pack_uint64(&p->pk, (uint64_t)v)
                        : msgpack_pack_int64(&p->pk, (int64_t)v);
        return rc ? NO_MEM : 0;
    }
    case JSON_REAL:
        if (p->wide)
            return pack_wide_number(p, json_real_value(j));
        return msgpack_pack_double(&p->pk, json_real_value(j)) ? NO_MEM : 0;
    case JSON_TRUE:
        return msgpack_pack_true(&p->pk) ? NO_MEM : 0;
    case JSON_FALSE:
        return msgpack_pack_false(&p->pk) ? NO_MEM : 0;
    case JSON_NULL:
        return msgpack_pack_nil(&p->pk) ? NO_MEM : 0;
    }
    assert(!"unknown jansson type");
    return OUT_OF_STEP;
}

/* ---- errors ------------------------------------------------------------------- */

/* Where the nesting first goes past DEPTH_MAX (the opening bracket). */
static size_t too_deep_at(const char *s, size_t len)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            i = string_end(s, len, i);
        } else if (c == '[' || c == '{') {
            if (++depth > DEPTH_MAX)
                return i;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return len;
}

static int refuse_too_deep(const char *s, size_t len, dsr_err *err)
{
    return fail_at(s, len, too_deep_at(s, len), err, "nesting deeper than %d levels", DEPTH_MAX);
}

static int starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* The duplicate key ends at `end` (jansson stops right after its closing
 * quote): name it unescaped, at its opening quote. */
static int refuse_duplicate(const char *s, size_t len, size_t end, dsr_err *err)
{
    size_t q = end;
    if (q > 0 && s[q - 1] == '"')
        q--;
    /* back to the opening quote: the first quote not escaped by an odd run
     * of backslashes (inside the key every quote is escaped) */
    size_t open = q;
    while (open > 0) {
        open--;
        if (s[open] != '"')
            continue;
        size_t bs = 0;
        while (bs < open && s[open - 1 - bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            break;
    }
    char name[120] = "(key)";
    json_t *k = json_loadb(s + open, end - open, LOAD_FLAGS, NULL);
    if (k && json_is_string(k)) {
        msgpack_object o = { .type = MSGPACK_OBJECT_STR };
        o.via.str.ptr = json_string_value(k);
        o.via.str.size = (uint32_t)(json_string_length(k) > 256 ? 256 : json_string_length(k));
        codec_render_value(&o, name, sizeof name);
    }
    json_decref(k);
    return fail_at(s, len, open, err, "duplicate key %s", name);
}

/* A malformed number token t[0..n), t[0] being '-' or a digit. */
static int refuse_number(const char *s, size_t len, size_t at, size_t n, dsr_err *err)
{
    const char *t = s + at;
    size_t d = t[0] == '-';
    if (d < len - at && t[d] == '0' && d + 1 < len - at && is_digit(t[d + 1]))
        return fail_at(s, len, at + d + 1, err, "leading zeros are not allowed in numbers");
    char last = t[n - 1];
    if (n == 1 && last == '-') {
        unsigned char c = (unsigned char)s[at + 1 < len ? at + 1 : at];
        if (at + 1 == len)
            return fail_at(s, len, len, err, "unexpected end of input");
        if (c >= 0x21 && c < 0x7f)
            return fail_at(s, len, at + 1, err, "unexpected character '%c'", c);
        return fail_at(s, len, at + 1, err, "unexpected byte 0x%02x", c);
    }
    if (last == '.')
        return fail_at(s, len, at + n, err, "digit expected after the decimal point");
    if (last == 'e' || last == 'E' || ((last == '+' || last == '-') && n > 1))
        return fail_at(s, len, at + n, err, "digit expected in the exponent");
    return fail_at(s, len, at, err, "invalid number '%.*s'", (int)n, t);
}

/* The value of four hex digits at t, or -1. */
static long hex4(const char *t)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = t[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Translate jansson's report.  jansson stops right after the token it
 * could not use, and names that token in " near '<token>'" when it is at
 * most 20 bytes long. */
static int refuse(const char *s, size_t len, const json_error_t *je, dsr_err *err)
{
    size_t pos = je->position < 0 ? 0 : (size_t)je->position;
    if (pos > len)
        pos = len;
    char what[JSON_ERROR_TEXT_LENGTH];
    snprintf(what, sizeof what, "%s", je->text);
    const char *tok = NULL;   /* the token, in s */
    size_t tl = 0, at = pos;
    int near_eof = 0;
    char *near = strstr(what, " near '");
    if (near) {
        size_t n = strlen(near + 7);
        if (n && near[7 + n - 1] == '\'' && n - 1 <= pos &&
            !memcmp(s + pos - (n - 1), near + 7, n - 1)) {
            tl = n - 1;
            at = pos - tl;
            tok = s + at;
        }
        *near = '\0';
    } else if ((near = strstr(what, " near end of file")) != NULL) {
        near_eof = 1;
        *near = '\0';
    }
    int in_string = tok && tl && tok[0] == '"';
    /* Nesting past the limit before the point jansson stopped at is the
     * first thing wrong in the text. */
    size_t deep = too_deep_at(s, len);
    if (deep < at || (deep < len && json_error_code(je) == json_error_stack_overflow))
        return refuse_too_deep(s, len, err);

    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        return dsr_err_set(err, DSR_ENOMEM, "json: out of memory");
    case json_error_duplicate_key:
        return refuse_duplicate(s, len, pos, err);
    case json_error_invalid_utf8:
        return fail_at(s, len, pos, err, "invalid UTF-8%s", in_string ? " in string" : "");
    case json_error_premature_end_of_input:
        if (in_string)
            return fail_at(s, len, at, err, "unterminated string");
        return fail_at(s, len, len, err, "unexpected end of input");
    case json_error_end_of_input_expected:
        /* no token: jansson read a NUL byte as the end of the text */
        return fail_at(s, len, tok ? at : pos ? pos - 1 : 0, err,
                       "unexpected text after the JSON value");
    case json_error_null_byte_in_key:
        return fail_at(s, len, at, err, "\\u0000 in an object key");
    case json_error_numeric_overflow: {
        /* a real out of range (integers were retried wide); the token may
         * be too long for jansson to quote */
        if (!tok) {
            while (at > 0 && is_number_char(s[at - 1]))
                at--;
            tl = pos - at;
        }
        return fail_at(s, len, at, err, "number out of range (%.*s%s)", tl > 24 ? 24 : (int)tl,
                       s + at, tl > 24 ? "..." : "");
    }
    case json_error_invalid_syntax:
        break;
    default:
        return fail_at(s, len, at, err, "%s", what);
    }

    /* invalid syntax: name the rule */
    if (near_eof)
        return fail_at(s, len, len, err, "unexpected end of input");
    if (starts_with(what, "']' expected"))
        return fail_at(s, len, at, err, "expected ',' or ']' in array");
    if (starts_with(what, "'}' expected"))
        return fail_at(s, len, at, err, "expected ',' or '}' in object");
    if (starts_with(what, "string or '}' expected"))
        return fail_at(s, len, at, err, "expected a string key in object");
    if (starts_with(what, "':' expected"))
        return fail_at(s, len, at, err, "expected ':' after an object key");
    if (starts_with(what, "control character"))
        return fail_at(s, len, pos, err, "control character U+%04X in string (must be escaped)",
                       pos < len ? (unsigned char)s[pos] : 0);
    if (starts_with(what, "unexpected newline") && in_string)
        return fail_at(s, len, at + tl, err,
                       "control character U+000A in string (must be escaped)");
    if (in_string && at + tl == len && !(tl > 1 && tok[tl - 1] == '"'))
        return fail_at(s, len, at, err, "unterminated string");
    if (starts_with(what, "invalid escape") && in_string) {
        size_t b = tl;
        while (b > 0 && tok[b - 1] != '\\')
            b--;
        if (b > 0 && b < tl && tok[b] == 'u')
            return fail_at(s, len, at + b - 1, err, "invalid \\u escape (four hex digits expected)");
        if (b > 0 && b < tl)
            return fail_at(s, len, at + b - 1, err, "invalid escape '\\%c'",
                           tok[b] >= 0x20 && tok[b] < 0x7f ? tok[b] : '?');
    }
    if (starts_with(what, "invalid Unicode '\\u")) {
        unsigned cp = (unsigned)strtoul(what + strlen("invalid Unicode '\\u"), NULL, 16);
        /* at the escape itself, when jansson quoted the string */
        for (size_t k = 0; tok && k + 6 <= tl; k++)
            if (tok[k] == '\\' && tok[k + 1] == 'u' &&
                hex4(tok + k + 2) == (long)cp) {
                at += k;
                break;
            }
        if (cp >= 0xD800 && cp <= 0xDBFF)
            return fail_at(s, len, at, err,
                           "high surrogate \\u%04X not followed by a low surrogate", cp);
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail_at(s, len, at, err, "lone low surrogate \\u%04X", cp);
    }
    if ((starts_with(what, "invalid token") || starts_with(what, "unexpected token")) && tok) {
        unsigned char c = (unsigned char)tok[0];
        if (c == '-' || is_digit((char)c))
            return refuse_number(s, len, at, tl, err);
        if (c >= 0x80 || c < 0x21)
            return fail_at(s, len, at, err, "unexpected byte 0x%02x", c);
        if (tl == 1)
            return fail_at(s, len, at, err, "unexpected character '%c'", c);
        return fail_at(s, len, at, err, "unexpected '%.*s'", (int)tl, tok);
    }
    return fail_at(s, len, at, err, "%s%s%.*s%s", what, tok ? " near '" : "", (int)tl,
                   tok ? tok : "", tok ? "'" : "");
}

/* ---- entry point ------------------------------------------------------------------ */

int dsr_json_to_msgpack(const char *text, size_t len, msgpack_sbuffer *out, dsr_err *err)
{
    if ((!text && len) || !out)
        return dsr_err_set(err, DSR_EINVAL, "json: NULL argument");
    const char *s = text ? text : "";
    if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        return fail_at(s, len, 0, err, "byte order mark before JSON text");
    size_t ws = 0;
    while (ws < len && (s[ws] == ' ' || s[ws] == '\t' || s[ws] == '\n' || s[ws] == '\r'))
        ws++;
    if (ws == len)
        return fail_at(s, len, ws, err, "empty input: a JSON value is expected");

    json_error_t je;
    packer p = { .s = s, .len = len };
    json_t *root = json_loadb(s, len, LOAD_FLAGS, &je);
    if (!root && json_error_code(&je) == json_error_numeric_overflow &&
        starts_with(je.text, "too big")) {
        p.wide = 1;
        root = json_loadb(s, len, LOAD_FLAGS | JSON_DECODE_INT_AS_REAL, &je);
    }
    if (!root)
        return refuse(s, len, &je, err);

    size_t mark = out->size;
    msgpack_packer_init(&p.pk, out, msgpack_sbuffer_write);
    int rc = pack(&p, root, 0);
    json_decref(root);
    if (rc)
        out->size = mark;   /* nothing written on error */
    if (rc == TOO_DEEP)
        return refuse_too_deep(s, len, err);
    if (rc == TOO_BIG)
        return dsr_err_set(err, DSR_EPARSE, "json: a string, array or object too large "
                           "for msgpack (2^32 bytes or elements)");
    if (rc == OUT_OF_STEP)
        return dsr_err_set(err, DSR_EPARSE, "json: the numbers of the text and of the parsed "
                           "tree are out of step");
    if (rc)
        return dsr_err_set(err, DSR_ENOMEM, "json: out of memory writing msgpack");
    return 0;
}

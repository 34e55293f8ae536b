/*
 * wp_frontmatter.c - the spec-kitty-3 hash input of a WP file: its YAML
 * frontmatter, checked against spec-kitty's WP schema, projected onto the 14
 * static fields and written as canonical JSON (docs/interop.md section 3).
 *
 * The steps, in the order spec-kitty takes them:
 *   1. drop one leading UTF-8 BOM; the text must start with "---"; the
 *      block ends at the first later line whose stripped text is "---";
 *      otherwise there is no frontmatter (WP_FM_RAW);
 *   2. the block is parsed as YAML 1.2 (ruamel's resolver: yes/no/on are
 *      strings, 2026-01-15 a date, 1.5 a float, ~ or empty a null).  Any
 *      YAML error, a repeated key in any mapping, an impossible date or a
 *      root that is not a mapping is "no frontmatter" (WP_FM_RAW); an empty
 *      block is the empty mapping;
 *   3. the mapping is validated as spec-kitty's WPMetadata (50 known keys,
 *      extra keys forbidden, string fields take strings only, the lane
 *      enum, the id and commit patterns): any failure is WP_FM_INVALID;
 *   4. the 14 static fields (absent ones as null or []) are written as
 *      Python's json.dumps(sort_keys=True, separators=(",", ":"),
 *      ensure_ascii=False, default=str) would: keys in code point order at
 *      every depth, non-ASCII raw, dates as their str() text.
 *
 * The JSON is written here and not by codec's writer: the scanner sits
 * beside codec, not above it, and the escaping rules are Python's (\u00XX for
 * control characters only, U+007F raw), which are part of the hash.
 *
 * The YAML is read through libyaml's event API into a small tree in an
 * arena: the event stream says which scalars were plain and untagged (only
 * those are resolved to null, bool, int, float or a date), which the
 * document API forgets.  Aliases share their anchor's node; the projection
 * text is capped (WP_FM_MAX_JSON) so that an alias bomb costs bounded memory.
 */
#include "wp_frontmatter.h"
#include "arena.h"
#include "dossier/error.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

/* Deepest nesting accepted (the manifest parser's limit): libyaml's loader
 * has none, and WP frontmatter needs three or four levels. */
#define FM_MAX_DEPTH 64

/* ---- which files ------------------------------------------------------------ */

int wp_is_wp_file(const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    /* Python's Path.suffix: from the last '.', unless the name starts there */
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || strcasecmp(dot, ".md") != 0)
        return 0;
    if (toupper((unsigned char)base[0]) != 'W' || toupper((unsigned char)base[1]) != 'P')
        return 0;
    return base + 4 <= dot && isdigit((unsigned char)base[2]) && isdigit((unsigned char)base[3]);
}

/* ---- the YAML tree ------------------------------------------------------------ */

typedef enum nkind { N_NULL, N_BOOL, N_INT, N_FLOAT, N_STR, N_DATE, N_TIME, N_SEQ, N_MAP } nkind;

typedef struct fmnode {
    nkind        k;
    const char  *s;       /* scalars: the text JSON writes (N_STR: the value;
                             N_INT: decimal; N_FLOAT: Python repr; N_DATE /
                             N_TIME: Python str(); N_BOOL: "True"/"False") */
    size_t       n;
    struct fmnode  **kid;     /* N_SEQ: items; N_MAP: key, value, key, value ... */
    size_t       nk, capk;
    int          line;
    int          seen;    /* has_duplicate_keys visited it */
} fmnode;

typedef struct fm_ctx {
    arena        ar;
    int          nomem;
    fmnode          *root;
    struct { const char *name; fmnode *node; } *anchors;
    size_t       n_anchors, cap_anchors;
} fm_ctx;

static fmnode *new_node(fm_ctx *c, nkind k, int line)
{
    fmnode *n = ar_alloc(&c->ar, sizeof *n);
    if (!n) {
        c->nomem = 1;
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->k = k;
    n->line = line;
    return n;
}

static int add_kid(fm_ctx *c, fmnode *p, fmnode *k)
{
    if (p->nk == p->capk) {
        size_t cap = p->capk ? p->capk * 2 : 8;
        fmnode **v = ar_alloc(&c->ar, cap * sizeof *v);
        if (!v) {
            c->nomem = 1;
            return -1;
        }
        if (p->nk)
            memcpy(v, p->kid, p->nk * sizeof *v);
        p->kid = v;
        p->capk = cap;
    }
    p->kid[p->nk++] = k;
    return 0;
}

static int set_text(fm_ctx *c, fmnode *n, const char *s, size_t len)
{
    char *d = ar_strndup(&c->ar, s, len);
    if (!d) {
        c->nomem = 1;
        return -1;
    }
    n->s = d;
    n->n = len;
    return 0;
}

/* ---- YAML 1.2 scalar resolution (ruamel's VersionedResolver for 1.2) ------- */

static int all_of(const char *s, size_t n, const char *set)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]))
            return 0;
    return 1;
}

static int word_is(const char *s, size_t n, const char *const *w)
{
    for (; *w; w++)
        if (strlen(*w) == n && !memcmp(s, *w, n))
            return 1;
    return 0;
}

/* [-+]?(0b[01_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+) */
static int looks_int(const char *s, size_t n)
{
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    const char *d = s + i;
    size_t m = n - i;
    if (m >= 3 && d[0] == '0' && d[1] == 'b')
        return all_of(d + 2, m - 2, "01_");
    if (m >= 3 && d[0] == '0' && d[1] == 'x')
        return all_of(d + 2, m - 2, "0123456789abcdefABCDEF_");
    if (m >= 3 && d[0] == '0' && d[1] == 'o')
        return all_of(d + 2, m - 2, "01234567_");
    return m >= 1 && (d[0] != '_') && all_of(d, m, "0123456789_");
}

/* digits with '_' : at least one leading digit required by the caller */
static size_t span(const char *s, size_t n, const char *set)
{
    size_t i = 0;
    while (i < n && strchr(set, s[i]) && s[i])
        i++;
    return i;
}

/* d[p..m) is exactly an exponent: [eE], a sign (only when sign_required is
 * 0 may it be left out), then one or more digits. */
static int exponent_is(const char *d, size_t p, size_t m, int sign_required)
{
    if (p >= m || (d[p] != 'e' && d[p] != 'E'))
        return 0;
    size_t q = p + 1;
    int sign = q < m && (d[q] == '-' || d[q] == '+');
    if (sign_required && !sign)
        return 0;
    q += (size_t)sign;
    size_t e = span(d + q, m - q, "0123456789");
    return e > 0 && q + e == m;
}

static int looks_float(const char *s, size_t n)
{
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    const char *d = s + i;
    size_t m = n - i;
    static const char *const inf[] = { ".inf", ".Inf", ".INF", NULL };
    static const char *const nan[] = { ".nan", ".NaN", ".NAN", NULL };
    if (word_is(d, m, inf))
        return 1;
    if (i == 0 && word_is(d, m, nan))
        return 1;
    if (m && isdigit((unsigned char)d[0])) {
        size_t p = span(d, m, "0123456789_");
        if (p < m && d[p] == '.') {
            /* [0-9][0-9_]*\.[0-9_]*([eE][-+]?[0-9]+)? */
            p++;
            p += span(d + p, m - p, "0123456789_");
            return p == m || exponent_is(d, p, m, 0);
        }
        /* [0-9][0-9_]*[eE][-+]?[0-9]+ : without the exponent, an integer */
        return exponent_is(d, p, m, 0);
    }
    if (i == 0 && m >= 2 && d[0] == '.') {
        /* \.[0-9_]+([eE][-+][0-9]+)? (no sign allowed, exponent sign required) */
        size_t p = 1 + span(d + 1, m - 1, "0123456789_");
        return p > 1 && (p == m || exponent_is(d, p, m, 1));
    }
    return 0;
}

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static int days_in(int y, int mo)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[mo - 1];
}

/* YYYY-MM-DD, or YYYY-M?M-D?D([Tt]|[ \t]+)H?H:MM:SS(.f*)?([ \t]*(Z|[-+]H?H(:MM)?))?
 * Returns 1 (a date or time: *out written, Python's str() of the value), 0
 * (not a timestamp), -1 (a timestamp Python refuses: month 13 and the like). */
static int timestamp(const char *s, size_t n, char *out, size_t cap, nkind *kind)
{
    size_t i = 0;
    if (n < 8 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]) || s[4] != '-')
        return 0;
    int y = atoi(s), mo, d;
    i = 5;
    size_t a = span(s + i, n - i, "0123456789");
    if (a < 1 || a > 2 || i + a >= n || s[i + a] != '-')
        return 0;
    mo = a == 1 ? s[i] - '0' : two(s + i);
    i += a + 1;
    size_t b = span(s + i, n - i, "0123456789");
    if (b < 1 || b > 2)
        return 0;
    d = b == 1 ? s[i] - '0' : two(s + i);
    i += b;
    if (i == n) {
        if (a != 2 || b != 2)
            return 0;   /* the date-only form needs two digits each */
        if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || y < 1)
            return -1;
        snprintf(out, cap, "%04d-%02d-%02d", y, mo, d);
        *kind = N_DATE;
        return 1;
    }
    if (s[i] == 'T' || s[i] == 't')
        i++;
    else {
        size_t w = span(s + i, n - i, " \t");
        if (!w)
            return 0;
        i += w;
    }
    size_t h = span(s + i, n - i, "0123456789");
    if (h < 1 || h > 2 || i + h + 6 > n || s[i + h] != ':')
        return 0;
    int hh = h == 1 ? s[i] - '0' : two(s + i);
    i += h + 1;
    if (!isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]) || s[i + 2] != ':' ||
        !isdigit((unsigned char)s[i + 3]) || !isdigit((unsigned char)s[i + 4]))
        return 0;
    int mi = two(s + i), se = two(s + i + 3);
    i += 5;
    char frac[7] = "";
    if (i < n && s[i] == '.') {
        i++;
        size_t f = span(s + i, n - i, "0123456789");
        /* microseconds: the first six digits, zero-padded */
        for (size_t k = 0; k < 6; k++)
            frac[k] = k < f ? s[i + k] : '0';
        frac[6] = '\0';
        i += f;
    }
    long off_s = 0;   /* the offset written, in seconds east of UTC */
    if (i < n) {
        i += span(s + i, n - i, " \t");
        if (i < n && s[i] == 'Z')
            i++;
        else if (i < n && (s[i] == '-' || s[i] == '+')) {
            int sign = s[i] == '-' ? -1 : 1;
            i++;
            size_t th = span(s + i, n - i, "0123456789");
            if (th < 1 || th > 2)
                return 0;
            long oh = th == 1 ? s[i] - '0' : two(s + i), om = 0;
            i += th;
            if (i < n && s[i] == ':') {
                if (i + 3 > n || !isdigit((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2]))
                    return 0;
                om = two(s + i + 1);
                i += 3;
            }
            off_s = sign * (oh * 3600 + om * 60);
        } else {
            return 0;
        }
        if (i != n)
            return 0;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || y < 1 || hh > 23 || mi > 59 ||
        se > 59)
        return -1;
    /* ruamel (0.17) turns a time with an offset into the naive UTC time:
     * 10:00:00+02:00 is 08:00:00; str() shows microseconds only when
     * non-zero */
    if (off_s) {
        struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = hh,
                         .tm_min = mi, .tm_sec = se };
        time_t t = timegm(&tm) - off_s;
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
            return -1;
        y = tm.tm_year + 1900;
        mo = tm.tm_mon + 1;
        d = tm.tm_mday;
        hh = tm.tm_hour;
        mi = tm.tm_min;
        se = tm.tm_sec;
    }
    if (frac[0] && strcmp(frac, "000000") != 0)
        snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%s", y, mo, d, hh, mi, se, frac);
    else
        snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, hh, mi, se);
    *kind = N_TIME;
    return 1;
}

/* Python's repr() of a double: the shortest digits that read back, in
 * exponent form when the decimal exponent is < -4 or >= 16. */
static void py_float_repr(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    /* e: [-]D[.DDD]e[+-]XX */
    int neg = e[0] == '-';
    const char *m = e + neg;
    char digits[24];
    size_t nd = 0;
    const char *x = strchr(m, 'e');
    assert(x);
    for (const char *q = m; q < x; q++)
        if (*q != '.')
            digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exp10 = atoi(x + 1);
    char *o = out;
    size_t left = cap;
#define PUT(...) do {                                   \
        int w_ = snprintf(o, left, __VA_ARGS__);        \
        if (w_ < 0 || (size_t)w_ >= left)               \
            return;                                     \
        o += w_;                                        \
        left -= (size_t)w_;                             \
    } while (0)
    if (neg)
        PUT("-");
    if (exp10 < -4 || exp10 >= 16) {
        PUT("%c", digits[0]);
        if (nd > 1)
            PUT(".%s", digits + 1);
        PUT("e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        PUT("0.");
        for (int k = -1; k > exp10; k--)
            PUT("0");
        PUT("%s", digits);
    } else {
        for (int k = 0; k <= exp10; k++)
            PUT("%c", (size_t)k < nd ? digits[k] : '0');
        PUT(".");
        if ((size_t)exp10 + 1 < nd)
            PUT("%s", digits + exp10 + 1);
        else
            PUT("0");
    }
#undef PUT
}

/* Decimal text of a YAML 1.2 int (sign, 0b/0o/0x, '_' separators), or -1
 * when it does not fit 64 bits in a base other than 10 (decimal text of any
 * length is normalised as text). */
static int int_text(const char *s, size_t n, char *out, size_t cap)
{
    char t[128];
    size_t m = 0;
    for (size_t i = 0; i < n && m < sizeof t - 1; i++)
        if (s[i] != '_')
            t[m++] = s[i];
    if (m >= sizeof t - 1)
        return -1;
    t[m] = '\0';
    int neg = t[0] == '-';
    const char *d = t + (t[0] == '-' || t[0] == '+');
    int base = 10;
    if (d[0] == '0' && (d[1] == 'b' || d[1] == 'o' || d[1] == 'x')) {
        base = d[1] == 'b' ? 2 : d[1] == 'o' ? 8 : 16;
        d += 2;
    }
    if (!*d)
        return -1;
    if (base != 10) {
        errno = 0;
        unsigned long long v = strtoull(d, NULL, base);
        if (errno)
            return -1;
        snprintf(out, cap, "%s%llu", neg && v ? "-" : "", v);
        return 0;
    }
    while (d[0] == '0' && d[1])
        d++;
    if (strlen(d) + 2 > cap)
        return -1;
    snprintf(out, cap, "%s%s", neg && strcmp(d, "0") ? "-" : "", d);
    return 0;
}

/* A scalar event as a node.  Returns 0, or -1: a value Python's YAML loader
 * would refuse (the frontmatter then counts as absent). */
static int scalar_node(fm_ctx *c, const yaml_event_t *ev, fmnode **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    int line = (int)ev->start_mark.line + 1;
    int resolve = ev->data.scalar.plain_implicit && !tag;
    if (tag && strcmp(tag, YAML_STR_TAG) != 0 && strcmp(tag, "!") != 0) {
        /* explicit standard tags resolve as the plain rules would; any
         * other tag is outside what WP frontmatter uses */
        if (!strcmp(tag, YAML_NULL_TAG) || !strcmp(tag, YAML_BOOL_TAG) ||
            !strcmp(tag, YAML_INT_TAG) || !strcmp(tag, YAML_FLOAT_TAG) ||
            !strcmp(tag, YAML_TIMESTAMP_TAG))
            resolve = 1;
        else
            return -1;
    }
    fmnode *node = NULL;
    char buf[160];
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    static const char *const trues[] = { "true", "True", "TRUE", NULL };
    static const char *const falses[] = { "false", "False", "FALSE", NULL };
    if (resolve) {
        nkind tk;
        int ts;
        if (word_is(s, n, trues) || word_is(s, n, falses)) {
            if (!(node = new_node(c, N_BOOL, line)) ||
                set_text(c, node, s[0] == 't' || s[0] == 'T' ? "True" : "False",
                         s[0] == 't' || s[0] == 'T' ? 4 : 5))
                return 0;
        } else if (looks_float(s, n)) {
            char t[128];
            size_t m = 0;
            for (size_t i = 0; i < n && m < sizeof t - 1; i++)
                if (s[i] != '_')
                    t[m++] = (char)tolower((unsigned char)s[i]);
            t[m] = '\0';
            double v;
            const char *u = t + (t[0] == '-' || t[0] == '+');
            if (!strcmp(u, ".inf"))
                v = t[0] == '-' ? -INFINITY : INFINITY;
            else if (!strcmp(u, ".nan"))
                v = NAN;
            else
                v = strtod(t, NULL);
            py_float_repr(v, buf, sizeof buf);
            if (!(node = new_node(c, N_FLOAT, line)) || set_text(c, node, buf, strlen(buf)))
                return 0;
        } else if (looks_int(s, n)) {
            if (int_text(s, n, buf, sizeof buf))
                return -1;
            if (!(node = new_node(c, N_INT, line)) || set_text(c, node, buf, strlen(buf)))
                return 0;
        } else if (word_is(s, n, nulls)) {
            if (!(node = new_node(c, N_NULL, line)))
                return 0;
        } else if ((ts = timestamp(s, n, buf, sizeof buf, &tk)) != 0) {
            if (ts < 0)
                return -1;
            if (!(node = new_node(c, tk, line)) || set_text(c, node, buf, strlen(buf)))
                return 0;
        } else {
            resolve = 0;
        }
        if (resolve && tag && !strcmp(tag, YAML_NULL_TAG) && node->k != N_NULL)
            return -1;
    }
    if (!resolve) {
        if (!(node = new_node(c, N_STR, line)) || set_text(c, node, s, n))
            return 0;
    }
    *out = node;
    return 0;
}

static int remember_anchor(fm_ctx *c, const yaml_char_t *anchor, fmnode *node)
{
    if (!anchor)
        return 0;
    if (c->n_anchors == c->cap_anchors) {
        size_t cap = c->cap_anchors ? c->cap_anchors * 2 : 8;
        void *p = realloc(c->anchors, cap * sizeof *c->anchors);
        if (!p) {
            c->nomem = 1;
            return -1;
        }
        c->anchors = p;
        c->cap_anchors = cap;
    }
    const char *name = ar_strdup(&c->ar, (const char *)anchor);
    if (!name) {
        c->nomem = 1;
        return -1;
    }
    c->anchors[c->n_anchors].name = name;
    c->anchors[c->n_anchors].node = node;
    c->n_anchors++;
    return 0;
}

static fmnode *find_anchor(fm_ctx *c, const char *name)
{
    /* the latest definition wins (YAML allows redefinition) */
    for (size_t i = c->n_anchors; i-- > 0;)
        if (!strcmp(c->anchors[i].name, name))
            return c->anchors[i].node;
    return NULL;
}

/* Parse the block into c->root.  Returns 0 (root set: a mapping), 1 (no
 * usable frontmatter), or DSR_ENOMEM. */
static int load_yaml(fm_ctx *c, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return DSR_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    fmnode *stack[FM_MAX_DEPTH + 1];
    size_t depth = 0;
    int docs = 0, rc = 1, done = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = p.error == YAML_MEMORY_ERROR ? DSR_ENOMEM : 1;
            c->root = NULL;
            break;
        }
        fmnode *node = NULL;
        int bad = 0;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            rc = 0;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {     /* ruamel's load() refuses a second document */
                bad = 1;
            }
            break;
        case YAML_SCALAR_EVENT:
            if (scalar_node(c, &ev, &node) || !node)
                bad = 1;
            else if (node && remember_anchor(c, ev.data.scalar.anchor, node))
                bad = 1;
            break;
        case YAML_ALIAS_EVENT:
            if (!(node = find_anchor(c, (const char *)ev.data.alias.anchor)))
                bad = 1;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            const yaml_char_t *tag = ev.type == YAML_SEQUENCE_START_EVENT
                                     ? ev.data.sequence_start.tag : ev.data.mapping_start.tag;
            const yaml_char_t *anchor = ev.type == YAML_SEQUENCE_START_EVENT
                                        ? ev.data.sequence_start.anchor
                                        : ev.data.mapping_start.anchor;
            if (tag && strcmp((const char *)tag, YAML_SEQ_TAG) != 0 &&
                strcmp((const char *)tag, YAML_MAP_TAG) != 0 && strcmp((const char *)tag, "!") != 0) {
                bad = 1;
                break;
            }
            if (depth >= FM_MAX_DEPTH) {
                bad = 1;
                break;
            }
            fmnode *coll = new_node(c, ev.type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP,
                                (int)ev.start_mark.line + 1);
            if (!coll || remember_anchor(c, anchor, coll)) {
                bad = 1;
                break;
            }
            if (depth == 0)
                c->root = coll;
            else if (add_kid(c, stack[depth - 1], coll))
                bad = 1;
            stack[depth++] = coll;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            assert(depth > 0);
            depth--;
            break;
        default:
            break;
        }
        if (node && !bad) {
            if (depth == 0)
                c->root = node;
            else if (add_kid(c, stack[depth - 1], node))
                bad = 1;
        }
        yaml_event_delete(&ev);
        if (bad) {
            rc = c->nomem ? DSR_ENOMEM : 1;
            break;
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- keys ------------------------------------------------------------------- */

/* The text of a mapping key as JSON writes it (json.dumps turns None, bool,
 * int and float keys into strings); -1 for keys JSON cannot have. */
static int key_text(const fmnode *k, const char **s, size_t *n)
{
    switch (k->k) {
    case N_STR: case N_INT: case N_FLOAT:
        *s = k->s;
        *n = k->n;
        return 0;
    case N_NULL:
        *s = "null";
        *n = 4;
        return 0;
    case N_BOOL:
        *s = k->s[0] == 'T' ? "true" : "false";
        *n = k->s[0] == 'T' ? 4 : 5;
        return 0;
    default:
        return -1;
    }
}

static int keys_equal(const fmnode *a, const fmnode *b)
{
    if (a->k != b->k || a->k == N_SEQ || a->k == N_MAP)
        return 0;
    return a->n == b->n && (!a->n || !memcmp(a->s, b->s, a->n));
}

/* 1 when some mapping in the tree repeats a key (ruamel refuses it).  A
 * node reached again through an alias was checked already: each node is
 * visited once, so an alias bomb costs the size of the text, not of its
 * expansion. */
static int has_duplicate_keys(fmnode *n)
{
    if (n->seen)
        return 0;
    n->seen = 1;
    if (n->k == N_MAP) {
        for (size_t i = 0; i < n->nk; i += 2)
            for (size_t j = i + 2; j < n->nk; j += 2)
                if (keys_equal(n->kid[i], n->kid[j]))
                    return 1;
    }
    if (n->k == N_SEQ || n->k == N_MAP)
        for (size_t i = 0; i < n->nk; i++)
            if (has_duplicate_keys(n->kid[i]))
                return 1;
    return 0;
}

/* ---- WPMetadata ---------------------------------------------------------- */

typedef enum ftype {
    F_STR,        /* str | None */
    F_ID,         /* work_package_id: str, ^WP\d{2,}$ */
    F_COMMIT,     /* base_commit: None, "unknown" or ^[0-9a-f]{7,40}$ */
    F_LIST_SPLIT, /* list[str]; a string is split on ',' */
    F_LIST_STR,   /* list[str] */
    F_LIST_ANY,   /* list[Any] */
    F_ANY,        /* Any */
    F_PHASE,      /* str(value) | None */
    F_PID,        /* int(value) | None */
    F_LANE        /* Lane | None */
} ftype;

typedef struct fdef {
    const char *name;
    ftype       t;
    int         stat;     /* one of the 14 static (hashed) fields */
} fdef;

/* spec-kitty's WPMetadata at e6e3b735 (docs/interop.md "Known keys"). */
static const fdef FIELDS[] = {
    { "work_package_id", F_ID, 1 },        { "title", F_STR, 1 },
    { "dependencies", F_LIST_SPLIT, 1 },   { "base_branch", F_STR, 0 },
    { "base_commit", F_COMMIT, 0 },        { "created_at", F_STR, 0 },
    { "planning_base_branch", F_STR, 0 },  { "merge_target_branch", F_STR, 0 },
    { "branch_strategy", F_STR, 0 },       { "requirement_refs", F_LIST_SPLIT, 1 },
    { "tracker_refs", F_LIST_SPLIT, 1 },   { "priority", F_STR, 1 },
    { "execution_mode", F_STR, 1 },        { "owned_files", F_LIST_STR, 1 },
    { "create_intent", F_LIST_STR, 1 },    { "authoritative_surface", F_STR, 1 },
    { "scope", F_STR, 1 },                 { "task_type", F_STR, 1 },
    { "subtasks", F_LIST_ANY, 1 },         { "phase", F_PHASE, 1 },
    { "phases", F_STR, 0 },                { "assignee", F_STR, 0 },
    { "agent", F_ANY, 0 },                 { "model", F_STR, 0 },
    { "agent_profile", F_STR, 0 },         { "role", F_STR, 0 },
    { "shell_pid", F_PID, 0 },             { "shell_pid_created_at", F_STR, 0 },
    { "history", F_LIST_ANY, 0 },          { "lane", F_LANE, 0 },
    { "feature_slug", F_STR, 0 },          { "activity_log", F_STR, 0 },
    { "review_status", F_STR, 0 },         { "reviewed_by", F_STR, 0 },
    { "approved_by", F_STR, 0 },           { "reviewer", F_ANY, 0 },
    { "reviewer_agent", F_STR, 0 },        { "reviewer_shell_pid", F_STR, 0 },
    { "review_feedback", F_STR, 0 },       { "review_feedback_file", F_STR, 0 },
    { "subtitle", F_STR, 0 },              { "description", F_STR, 0 },
    { "estimated_duration", F_STR, 0 },    { "tags", F_LIST_STR, 0 },
    { "mission_id", F_STR, 0 },            { "mission_number", F_STR, 0 },
    { "mission_slug", F_STR, 0 },          { "status", F_STR, 0 },
    { "wp_code", F_STR, 0 },               { "work_package_title", F_STR, 0 },
};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])
_Static_assert(N_FIELDS == 50, "WPMetadata has 50 fields");

static const char *const LANES[] = { "planned", "claimed", "in_progress", "for_review",
                                     "in_review", "approved", "done", "blocked", "canceled",
                                     "doing", NULL };

static const char *kind_word(nkind k)
{
    switch (k) {
    case N_NULL:  return "null";
    case N_BOOL:  return "a boolean";
    case N_INT:   return "an integer";
    case N_FLOAT: return "a float";
    case N_STR:   return "a string";
    case N_DATE:  return "a date";
    case N_TIME:  return "a timestamp";
    case N_SEQ:   return "a sequence";
    default:      return "a mapping";
    }
}

static int is_pyspace(unsigned char ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r') || (ch >= 0x1c && ch <= 0x1f);
}

/* Python's str.strip() on ASCII whitespace: [*b, *e) is what remains. */
static void strip(const char **b, const char **e)
{
    while (*b < *e && is_pyspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && is_pyspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Python re's "$": end of text, or before a final "\n". */
static size_t dollar_len(const fmnode *v)
{
    return v->n && v->s[v->n - 1] == '\n' ? v->n - 1 : v->n;
}

typedef struct proj {
    const fmnode *val[N_FIELDS];     /* the value given, or NULL */
    const fmnode *title_alias;       /* work_package_title when title is absent */
} proj;

static int why_set(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_set(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return WP_FM_INVALID;
}

static int check_field(const fdef *f, const fmnode *v, char *why, size_t why_n)
{
    switch (f->t) {
    case F_STR:
        if (v->k != N_STR && v->k != N_NULL)
            return why_set(why, why_n, "%s: expected a string, got %s (line %d)", f->name,
                           kind_word(v->k), v->line);
        return 0;
    case F_ID: {
        if (v->k != N_STR)
            return why_set(why, why_n, "work_package_id: expected a string, got %s (line %d)",
                           kind_word(v->k), v->line);
        size_t n = dollar_len(v), d = 2;
        while (d < n && isdigit((unsigned char)v->s[d]))
            d++;
        if (n < 4 || v->s[0] != 'W' || v->s[1] != 'P' || d != n)
            return why_set(why, why_n, "work_package_id: '%.*s' does not match WP## (line %d)",
                           (int)(v->n > 64 ? 64 : v->n), v->s, v->line);
        return 0;
    }
    case F_COMMIT: {
        if (v->k == N_NULL)
            return 0;
        if (v->k != N_STR)
            return why_set(why, why_n, "base_commit: expected a string, got %s (line %d)",
                           kind_word(v->k), v->line);
        size_t n = dollar_len(v);
        if (n == 7 && !memcmp(v->s, "unknown", 7) && v->n == 7)
            return 0;
        int ok = n >= 7 && n <= 40;
        for (size_t i = 0; ok && i < n; i++)
            ok = (v->s[i] >= '0' && v->s[i] <= '9') || (v->s[i] >= 'a' && v->s[i] <= 'f');
        return ok ? 0 : why_set(why, why_n, "base_commit: '%.*s' is not a hex commit id (line %d)",
                                (int)(v->n > 64 ? 64 : v->n), v->s, v->line);
    }
    case F_LIST_SPLIT:
        if (v->k == N_STR)
            return 0;
        /* fall through */
    case F_LIST_STR:
        if (v->k != N_SEQ)
            return why_set(why, why_n, "%s: expected a list of strings, got %s (line %d)",
                           f->name, kind_word(v->k), v->line);
        for (size_t i = 0; i < v->nk; i++)
            if (v->kid[i]->k != N_STR)
                return why_set(why, why_n, "%s[%zu]: expected a string, got %s (line %d)",
                               f->name, i, kind_word(v->kid[i]->k), v->kid[i]->line);
        return 0;
    case F_LIST_ANY:
        if (v->k != N_SEQ)
            return why_set(why, why_n, "%s: expected a list, got %s (line %d)", f->name,
                           kind_word(v->k), v->line);
        return 0;
    case F_ANY:
        return 0;
    case F_PHASE:
        /* str(value): a collection would hash Python's repr of it, which
         * this implementation does not reproduce (docs/interop.md) */
        if (v->k == N_SEQ || v->k == N_MAP)
            return why_set(why, why_n, "phase: %s is not supported (line %d)", kind_word(v->k),
                           v->line);
        return 0;
    case F_PID: {
        /* int(value): None or "" -> None; ints, floats, bools and integer
         * text (surrounding whitespace, a sign, '_' between digits) */
        if (v->k == N_NULL || v->k == N_INT || v->k == N_BOOL)
            return 0;
        if (v->k == N_FLOAT)
            return isfinite(strtod(v->s, NULL)) ? 0
                   : why_set(why, why_n, "shell_pid: %s is not an integer (line %d)", v->s, v->line);
        if (v->k == N_STR) {
            if (!v->n)
                return 0;
            const char *b = v->s, *e = v->s + v->n;
            strip(&b, &e);
            if (b < e && (*b == '-' || *b == '+'))
                b++;
            int ok = b < e && isdigit((unsigned char)*b) && isdigit((unsigned char)e[-1]);
            for (const char *q = b; ok && q < e; q++)
                ok = isdigit((unsigned char)*q) || (*q == '_' && isdigit((unsigned char)q[1]));
            if (ok)
                return 0;
        }
        return why_set(why, why_n, "shell_pid: expected an integer, got %s (line %d)",
                       kind_word(v->k), v->line);
    }
    case F_LANE:
        if (v->k == N_NULL || (v->k == N_STR && v->n == 0))
            return 0;
        if (v->k == N_STR && word_is(v->s, v->n, LANES))
            return 0;
        return why_set(why, why_n, "lane: '%.*s' is not a lane (line %d)",
                       (int)(v->s && v->n < 64 ? v->n : v->s ? 64 : 0), v->s ? v->s : "", v->line);
    }
    return 0;
}

/* Validate the root mapping as WPMetadata; fills pr.  0 or WP_FM_INVALID. */
static int validate(const fmnode *root, proj *pr, char *why, size_t why_n)
{
    memset(pr, 0, sizeof *pr);
    assert(root->k == N_MAP && root->nk % 2 == 0);
    for (size_t i = 0; i < root->nk; i += 2) {
        const fmnode *k = root->kid[i], *v = root->kid[i + 1];
        size_t f = N_FIELDS;
        if (k->k == N_STR)
            for (f = 0; f < N_FIELDS; f++)
                if (strlen(FIELDS[f].name) == k->n && !memcmp(FIELDS[f].name, k->s, k->n))
                    break;
        if (f == N_FIELDS) {
            const char *ks = "?";
            size_t kn = 1;
            (void)key_text(k, &ks, &kn);
            return why_set(why, why_n, "unknown key '%.*s' (line %d)", (int)(kn > 64 ? 64 : kn),
                           ks, k->line);
        }
        pr->val[f] = v;
    }
    /* title from the legacy work_package_title when title is absent */
    const fmnode **title = &pr->val[1], *wpt = pr->val[N_FIELDS - 1];
    assert(!strcmp(FIELDS[1].name, "title") && !strcmp(FIELDS[N_FIELDS - 1].name, "work_package_title"));
    if (!*title && wpt)
        *title = wpt;
    if (!pr->val[0])
        return why_set(why, why_n, "work_package_id is missing");
    for (size_t f = 0; f < N_FIELDS; f++) {
        if (!pr->val[f])
            continue;
        int rc = check_field(&FIELDS[f], pr->val[f], why, why_n);
        if (rc)
            return rc;
    }
    const fmnode *t = *title;
    if (t && t->k == N_STR) {
        const char *b = t->s, *e = t->s + t->n;
        strip(&b, &e);
        if (b == e)
            return why_set(why, why_n, "title must not be empty (line %d)", t->line);
    }
    return 0;
}

/* ---- canonical JSON ------------------------------------------------------- */

typedef struct jw {
    dsr_buf *b;
    int      over;     /* WP_FM_MAX_JSON passed */
    int      deep;     /* nesting past FM_MAX_DEPTH: an alias inside its own
                          anchor makes the node graph a cycle */
    int      nomem;
} jw;

static void jput(jw *w, const char *s, size_t n)
{
    if (w->over || w->nomem)
        return;
    if (w->b->len + n > WP_FM_MAX_JSON) {
        w->over = 1;
        return;
    }
    if (dsr_buf_append(w->b, s, n))
        w->nomem = 1;
}

/* json.dumps(ensure_ascii=False): only '"', '\\' and U+0000..U+001F are
 * escaped, as \" \\ \b \f \n \r \t or \u00xx. */
static void jstr(jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    jput(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
            run++;
            continue;
        }
        jput(w, s + i - run, run);
        run = 0;
        char e[7];
        switch (ch) {
        case '"':  jput(w, "\\\"", 2); break;
        case '\\': jput(w, "\\\\", 2); break;
        case '\b': jput(w, "\\b", 2); break;
        case '\f': jput(w, "\\f", 2); break;
        case '\n': jput(w, "\\n", 2); break;
        case '\r': jput(w, "\\r", 2); break;
        case '\t': jput(w, "\\t", 2); break;
        default:
            memcpy(e, "\\u00", 4);
            e[4] = hex[ch >> 4];
            e[5] = hex[ch & 15];
            jput(w, e, 6);
        }
    }
    jput(w, s + n - run, run);
    jput(w, "\"", 1);
}

typedef struct kv {
    const char *ks;
    size_t      kn;
    const fmnode   *v;
} kv;

static int cmp_kv(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    size_t n = x->kn < y->kn ? x->kn : y->kn;
    int c = n ? memcmp(x->ks, y->ks, n) : 0;   /* UTF-8 byte order = code point order */
    return c ? c : (x->kn > y->kn) - (x->kn < y->kn);
}

static int jvalue(jw *w, const fmnode *v, unsigned depth)
{
    if (w->over || w->nomem)
        return 0;
    if (depth > FM_MAX_DEPTH) {
        w->deep = 1;
        return -1;
    }
    switch (v->k) {
    case N_NULL:  jput(w, "null", 4); return 0;
    case N_BOOL:  v->s[0] == 'T' ? jput(w, "true", 4) : jput(w, "false", 5); return 0;
    case N_INT:
    case N_FLOAT: jput(w, v->s, v->n); return 0;
    case N_STR:
    case N_DATE:
    case N_TIME:  jstr(w, v->s, v->n); return 0;
    case N_SEQ:
        jput(w, "[", 1);
        for (size_t i = 0; i < v->nk; i++) {
            if (i)
                jput(w, ",", 1);
            if (jvalue(w, v->kid[i], depth + 1))
                return -1;
        }
        jput(w, "]", 1);
        return 0;
    case N_MAP: {
        size_t np = v->nk / 2;
        kv *p = np ? malloc(np * sizeof *p) : NULL;
        if (np && !p) {
            w->nomem = 1;
            return 0;
        }
        for (size_t i = 0; i < np; i++) {
            if (key_text(v->kid[2 * i], &p[i].ks, &p[i].kn)) {
                free(p);
                return -1;     /* a key JSON cannot have */
            }
            p[i].v = v->kid[2 * i + 1];
        }
        if (np > 1)
            qsort(p, np, sizeof *p, cmp_kv);
        jput(w, "{", 1);
        for (size_t i = 0; i < np; i++) {
            if (i)
                jput(w, ",", 1);
            jstr(w, p[i].ks, p[i].kn);
            jput(w, ":", 1);
            if (jvalue(w, p[i].v, depth + 1)) {
                free(p);
                return -1;
            }
        }
        jput(w, "}", 1);
        free(p);
        return 0;
    }
    }
    return 0;
}

/* A list[str] field that may be given as a string: split on ',' and strip,
 * empty parts dropped; dependencies "[]" (stripped) is the empty list. */
static void jsplit(jw *w, const fmnode *v, int deps)
{
    const char *b = v->s, *e = v->s + v->n;
    const char *sb = b, *se = e;
    strip(&sb, &se);
    jput(w, "[", 1);
    if (deps && se - sb == 2 && sb[0] == '[' && sb[1] == ']') {
        jput(w, "]", 1);
        return;
    }
    int first = 1;
    const char *p = b;
    for (;;) {
        const char *q = memchr(p, ',', (size_t)(e - p));
        const char *pe = q ? q : e, *pb = p;
        strip(&pb, &pe);
        if (pe > pb) {
            if (!first)
                jput(w, ",", 1);
            jstr(w, pb, (size_t)(pe - pb));
            first = 0;
        }
        if (!q)
            break;
        p = q + 1;
    }
    jput(w, "]", 1);
}

/* Write the projection of pr: the 14 static fields, sorted by name. */
static int write_projection(jw *w, const proj *pr)
{
    size_t idx[N_FIELDS], n = 0;
    for (size_t f = 0; f < N_FIELDS; f++)
        if (FIELDS[f].stat)
            idx[n++] = f;
    assert(n == 14);
    /* insertion sort by name: 14 fixed names */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(FIELDS[idx[j - 1]].name, FIELDS[idx[j]].name) > 0; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    jput(w, "{", 1);
    for (size_t i = 0; i < n; i++) {
        const fdef *f = &FIELDS[idx[i]];
        const fmnode *v = pr->val[idx[i]];
        if (i)
            jput(w, ",", 1);
        jstr(w, f->name, strlen(f->name));
        jput(w, ":", 1);
        int list = f->t == F_LIST_SPLIT || f->t == F_LIST_STR || f->t == F_LIST_ANY;
        if (!v || v->k == N_NULL) {
            /* a null list field failed validation; absent lists are [] */
            assert(!v || !list);
            jput(w, list ? "[]" : "null", list ? 2 : 4);
        } else if (f->t == F_LIST_SPLIT && v->k == N_STR) {
            jsplit(w, v, !strcmp(f->name, "dependencies"));
        } else if (f->t == F_PHASE) {
            /* str(value) */
            jstr(w, v->s, v->n);
        } else if (jvalue(w, v, 0)) {
            return -1;
        }
    }
    jput(w, "}", 1);
    return 0;
}

/* ---- entry point ---------------------------------------------------------- */

/* The frontmatter block of text: [*b, *e) between the opening "---" and the
 * first later line whose stripped text is "---".  0 when there is none. */
static int find_block(const char *text, size_t len, const char **b, const char **e)
{
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        text += 3;
        len -= 3;
    }
    if (len < 3 || memcmp(text, "---", 3) != 0)
        return 0;
    const char *end = text + len;
    const char *nl = memchr(text, '\n', len);
    if (!nl)
        return 0;
    const char *line = nl + 1;
    while (line <= end) {
        const char *le = memchr(line, '\n', (size_t)(end - line));
        if (!le)
            le = end;
        const char *sb = line, *se = le;
        strip(&sb, &se);
        if (se - sb == 3 && !memcmp(sb, "---", 3)) {
            *b = nl + 1;
            /* the lines between, joined by "\n": without the '\n' that ends
             * the last one */
            *e = line > nl + 1 ? line - 1 : nl + 1;
            return 1;
        }
        if (le == end)
            break;
        line = le + 1;
    }
    return 0;
}

int wp_fm_project(const char *text, size_t len, dsr_buf *json, char *why, size_t why_n)
{
    if (why_n)
        why[0] = '\0';
    dsr_buf_reset(json);
    const char *b, *e;
    if (!find_block(text, len, &b, &e))
        return WP_FM_RAW;
    fm_ctx c = { 0 };
    int rc = load_yaml(&c, b, (size_t)(e - b));
    if (rc < 0)
        goto out;
    fmnode empty = { .k = N_MAP, .line = 1 };
    if (rc == 0 && (!c.root || c.root->k == N_NULL))
        c.root = &empty;          /* an empty (or null) document is {} */
    if (rc || c.root->k != N_MAP || has_duplicate_keys(c.root)) {
        rc = WP_FM_RAW;
        goto out;
    }
    proj pr;
    if ((rc = validate(c.root, &pr, why, why_n)))
        goto out;
    jw w = { .b = json };
    if (write_projection(&w, &pr)) {
        rc = w.deep ? why_set(why, why_n, "nested deeper than %d levels (an alias inside its "
                              "own anchor?)", FM_MAX_DEPTH)
                    : why_set(why, why_n, "a mapping key that JSON cannot write");
    } else if (w.nomem) {
        rc = DSR_ENOMEM;
    } else if (w.over) {
        rc = why_set(why, why_n, "projection larger than %zu bytes", WP_FM_MAX_JSON);
    } else {
        rc = WP_FM_PROJECTED;
    }
out:
    if (rc != WP_FM_PROJECTED)
        dsr_buf_reset(json);
    if (c.nomem && rc >= 0)
        rc = DSR_ENOMEM;
    free(c.anchors);
    ar_free(&c.ar);
    return rc;
}

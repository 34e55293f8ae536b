/*
 * scan_cache.c - the incremental scan cache in the log's "scan_cache"
 * column family (see dossier/scan_cache.h for the layout and invariants).
 *
 * Reading during a scan is a merge join: the scanner asks about files in
 * walk order, which is the family's key order, so one forward iterator over
 * the feature's prefix answers every lookup; entries it passes without being
 * asked about are the files that disappeared (stale).  This costs one
 * sequential pass over the feature's entries instead of a RocksDB point read
 * per file.
 *
 * Writing happens only through dsr_scan_cache_put/delete on a batch, which
 * dsr_record_scan calls in the batches that carry the run's events.
 */
#include "dossier/scan_cache.h"
#include "buf.h"
#include "log_store.h"

#include <stdlib.h>
#include <string.h>

/* Version 1 (90 bytes): a usable file.  Version 2 (98 bytes): a file whose
 * text was not valid UTF-8, the offset of the first bad sequence appended.
 * A binary that knows only version 1 cannot decode a version-2 value and
 * treats it as a miss (re-reads the file, deletes the entry), never as a
 * usable file. */
#define VALUE_LEN       90
#define VALUE_LEN_V2    98
#define VALUE_MAX       VALUE_LEN_V2
#define VALUE_VERSION   1
#define VALUE_VERSION_2 2
#define FLAG_RACY     0x01
#define FLAG_SK3      0x02   /* hashed under the spec-kitty-3 profile */
#define FLAG_KNOWN    (FLAG_RACY | FLAG_SK3)

struct dsr_scan_cache {
    dsr_log      *log;
    char         *feature;
    dsr_buf       prefix;       /* feature '\0' */
    dsr_log_iter *it;
    const void   *ck, *cv;      /* the iterator's current entry (valid until next) */
    size_t        ckl, cvl;
    int           at_end;
    dsr_buf       key;          /* the key being looked up */
    dsr_buf       last;         /* the previous lookup's key (order check) */
    dsr_buf       val;          /* point-read fallback */
    char        **stale;
    size_t        n_stale, cap_stale;
    size_t        entries, hits;
    dsr_err       err;          /* first failure of a lookup */
};

/* ---- encoding -------------------------------------------------------------- */

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Returns the value's length. */
static size_t encode_value(const dsr_scan_cached *v, unsigned char out[VALUE_MAX])
{
    out[0] = v->utf8_invalid ? VALUE_VERSION_2 : VALUE_VERSION;
    out[1] = (unsigned char)((v->racy ? FLAG_RACY : 0) |
                             (v->profile == DSR_PROFILE_SPEC_KITTY_3 ? FLAG_SK3 : 0));
    put_u64(out + 2, v->dev);
    put_u64(out + 10, v->ino);
    put_u64(out + 18, v->size);
    put_u64(out + 26, (uint64_t)v->mtime_ns);
    put_u64(out + 34, (uint64_t)v->ctime_ns);
    put_u64(out + 42, v->xxh3_high);
    put_u64(out + 50, v->xxh3_low);
    memcpy(out + 58, v->sha256, 32);
    if (!v->utf8_invalid)
        return VALUE_LEN;
    put_u64(out + 90, v->utf8_bad_at);
    return VALUE_LEN_V2;
}

/* 0, or -1 for a value of another length, version or unknown flags (damaged,
 * or written by a newer format): the caller treats it as a miss. */
static int decode_value(const void *p, size_t n, dsr_scan_cached *v)
{
    const unsigned char *b = p;
    if (!((n == VALUE_LEN && b[0] == VALUE_VERSION) ||
          (n == VALUE_LEN_V2 && b[0] == VALUE_VERSION_2)) || (b[1] & ~FLAG_KNOWN))
        return -1;
    v->utf8_invalid = b[0] == VALUE_VERSION_2;
    v->utf8_bad_at = v->utf8_invalid ? get_u64(b + 90) : 0;
    /* an offset is inside the file (a truncated sequence at its end counts) */
    if (v->utf8_invalid && v->utf8_bad_at >= get_u64(b + 18))
        return -1;
    v->racy = (b[1] & FLAG_RACY) != 0;
    v->profile = (b[1] & FLAG_SK3) ? DSR_PROFILE_SPEC_KITTY_3 : DSR_PROFILE_WP04;
    v->dev = get_u64(b + 2);
    v->ino = get_u64(b + 10);
    v->size = get_u64(b + 18);
    v->mtime_ns = (int64_t)get_u64(b + 26);
    v->ctime_ns = (int64_t)get_u64(b + 34);
    v->xxh3_high = get_u64(b + 42);
    v->xxh3_low = get_u64(b + 50);
    memcpy(v->sha256, b + 58, 32);
    return 0;
}

/* key = feature '\0' path-with-'/'-as-'\0', into k (fl + rl + 1 bytes) */
static void key_fill(char *k, const char *feature, size_t fl, const char *rel, size_t rl)
{
    memcpy(k, feature, fl);
    k[fl] = '\0';
    char *d = k + fl + 1;
    for (size_t i = 0; i < rl; i++)
        d[i] = rel[i] == '/' ? '\0' : rel[i];
}

static int make_key(dsr_buf *k, const char *feature, const char *rel)
{
    dsr_buf_reset(k);
    size_t fl = strlen(feature), rl = strlen(rel);
    if (dsr_buf_reserve(k, fl + rl + 2))
        return DSR_ENOMEM;
    key_fill(k->data, feature, fl, rel, rl);
    k->len = fl + 1 + rl;
    return 0;
}

/* The relative path of a key (after the prefix of plen bytes), malloc'd. */
static char *key_path(const void *key, size_t klen, size_t plen)
{
    size_t n = klen - plen;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    const char *k = (const char *)key + plen;
    for (size_t i = 0; i < n; i++)
        s[i] = k[i] == '\0' ? '/' : k[i];
    s[n] = '\0';
    return s;
}

/* RocksDB's default (bytewise) order. */
static int key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

void dsr_scan_cache_entry_of(const dsr_artifact *a, int64_t started_ns, dsr_scan_cached *out)
{
    memset(out, 0, sizeof *out);
    out->dev = a->dev;
    out->ino = a->ino;
    out->size = a->size_bytes;
    out->mtime_ns = a->mtime_ns;
    out->ctime_ns = a->ctime_ns;
    out->xxh3_high = a->xxh3_high;
    out->xxh3_low = a->xxh3_low;
    (void)dsr_unhex(a->sha256, 64, out->sha256);   /* a hashed artifact's hash is hex */
    out->utf8_invalid = !a->present && a->utf8_invalid;
    out->utf8_bad_at = out->utf8_invalid ? a->utf8_bad_at : 0;
    /* racy: a rewrite right after hashing could have kept this mtime */
    out->racy = a->mtime_ns >= started_ns - DSR_SCAN_CACHE_RACY_NS;
}

/* ---- writing --------------------------------------------------------------- */

/* A key for a write: in stack (KEY_STACK bytes) when it fits, else in heap
 * memory the caller frees with key_done.  Every artifact of a cold scan
 * writes one, so the common path allocates nothing. */
#define KEY_STACK 512

static char *key_for_write(char stack[KEY_STACK], const char *feature, const char *rel,
                           size_t *len)
{
    size_t fl = strlen(feature), rl = strlen(rel);
    char *k = fl + rl + 2 <= KEY_STACK ? stack : malloc(fl + rl + 2);
    if (!k)
        return NULL;
    key_fill(k, feature, fl, rel, rl);
    *len = fl + 1 + rl;
    return k;
}

static void key_done(char *k, const char stack[KEY_STACK])
{
    if (k != stack)
        free(k);
}

int dsr_scan_cache_put(dsr_log_batch *b, const char *feature, const char *relative_path,
                       const dsr_scan_cached *v, dsr_err *err)
{
    char stack[KEY_STACK];
    size_t kl;
    char *k = key_for_write(stack, feature, relative_path, &kl);
    if (!k)
        return dsr_err_set(err, DSR_ENOMEM, "scan cache: out of memory");
    unsigned char val[VALUE_MAX];
    size_t n = encode_value(v, val);
    int rc = dsr_log_batch_put(b, DSR_SCAN_CACHE_CF, k, kl, val, n, err);
    key_done(k, stack);
    return rc;
}

int dsr_scan_cache_delete(dsr_log_batch *b, const char *feature, const char *relative_path,
                          dsr_err *err)
{
    char stack[KEY_STACK];
    size_t kl;
    char *k = key_for_write(stack, feature, relative_path, &kl);
    if (!k)
        return dsr_err_set(err, DSR_ENOMEM, "scan cache: out of memory");
    int rc = dsr_log_batch_delete(b, DSR_SCAN_CACHE_CF, k, kl, err);
    key_done(k, stack);
    return rc;
}

/* ---- reading --------------------------------------------------------------- */

int dsr_scan_cache_get(dsr_log *log, const char *feature, const char *relative_path,
                       dsr_scan_cached *out, dsr_err *err)
{
    dsr_buf k = DSR_BUF_INIT, v = DSR_BUF_INIT;
    if (make_key(&k, feature, relative_path)) {
        dsr_buf_free(&k);
        return dsr_err_set(err, DSR_ENOMEM, "scan cache: out of memory");
    }
    int rc = dsr_log_get(log, DSR_SCAN_CACHE_CF, k.data, k.len, &v, err);
    if (rc == 0 && decode_value(v.data, v.len, out))
        rc = dsr_err_set(err, DSR_ECORRUPT, "scan cache: entry %s of %s does not decode",
                         relative_path, feature);
    else if (rc == DSR_ENOTFOUND)
        dsr_err_set(err, rc, "scan cache: no entry %s of %s", relative_path, feature);
    dsr_buf_free(&k);
    dsr_buf_free(&v);
    return rc;
}

int dsr_scan_cache_each(dsr_log *log, const char *feature, dsr_scan_cache_fn fn, void *ud,
                        dsr_err *err)
{
    dsr_buf prefix = DSR_BUF_INIT;
    if (feature && dsr_buf_append(&prefix, feature, strlen(feature) + 1))
        return dsr_err_set(err, DSR_ENOMEM, "scan cache: out of memory");
    dsr_log_iter *it = NULL;
    int rc = dsr_log_iter_cf(log, DSR_SCAN_CACHE_CF, prefix.data, prefix.len, &it, err);
    const void *k, *v;
    size_t kl, vl;
    while (rc == 0 && (rc = dsr_log_iter_next(it, &k, &kl, &v, &vl, err)) == 1) {
        rc = 0;
        const char *f = k;
        size_t fl = strnlen(f, kl);
        dsr_scan_cached e;
        if (fl == kl || decode_value(v, vl, &e)) {
            rc = dsr_err_set(err, DSR_ECORRUPT, "scan cache: an entry of %.*s does not decode",
                             (int)fl, f);
            break;
        }
        char *path = key_path(k, kl, fl + 1);
        if (!path) {
            rc = dsr_err_set(err, DSR_ENOMEM, "scan cache: out of memory");
            break;
        }
        int stop = fn(ud, f, path, &e);
        free(path);
        if (stop) {
            rc = stop;
            break;
        }
        rc = 0;
    }
    dsr_log_iter_free(it);
    dsr_buf_free(&prefix);
    return rc;
}

/* ---- one scan's merge join -------------------------------------------------- */

int dsr_scan_cache_open(dsr_log *log, const char *feature, dsr_scan_cache **out, dsr_err *err)
{
    *out = NULL;
    dsr_scan_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->feature = strdup(feature)) ||
        dsr_buf_append(&c->prefix, feature, strlen(feature) + 1)) {
        dsr_scan_cache_free(c);
        return dsr_err_set(err, DSR_ENOMEM, "scan cache: out of memory");
    }
    c->log = log;
    dsr_err_clear(&c->err);
    int rc = log_iter_cf_sequential(log, DSR_SCAN_CACHE_CF, c->prefix.data, c->prefix.len,
                                    &c->it, err);
    if (rc) {
        dsr_scan_cache_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int advance(dsr_scan_cache *c)
{
    int rc = dsr_log_iter_next(c->it, &c->ck, &c->ckl, &c->cv, &c->cvl, &c->err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        c->at_end = 1;
    else
        c->entries++;
    return 0;
}

static int add_stale(dsr_scan_cache *c, const void *key, size_t klen)
{
    if (c->n_stale == c->cap_stale) {
        size_t cap = c->cap_stale ? c->cap_stale * 2 : 64;
        char **p = realloc(c->stale, cap * sizeof *p);
        if (!p)
            return DSR_ENOMEM;
        c->stale = p;
        c->cap_stale = cap;
    }
    if (!(c->stale[c->n_stale] = key_path(key, klen, c->prefix.len)))
        return DSR_ENOMEM;
    c->n_stale++;
    return 0;
}

static int lookup_fail(dsr_scan_cache *c, int rc)
{
    if (!c->err.code) {
        if (rc == DSR_ENOMEM)
            dsr_err_set(&c->err, rc, "scan cache: out of memory");
        else
            dsr_err_set(&c->err, rc, "scan cache of %s: lookup failed", c->feature);
    }
    return rc;
}

int dsr_scan_cache_lookup(void *ctx, const char *relative_path, dsr_scan_cached *out)
{
    dsr_scan_cache *c = ctx;
    int rc;
    if (c->err.code)
        return c->err.code;
    if (make_key(&c->key, c->feature, relative_path))
        return lookup_fail(c, DSR_ENOMEM);
    if (c->last.len && key_cmp(c->key.data, c->key.len, c->last.data, c->last.len) <= 0) {
        /* out of walk order (not produced by dsr_scan): a point read; an
         * entry the iterator already passed was listed as stale and is
         * rewritten by the run if the file is still usable */
        dsr_buf_reset(&c->val);
        dsr_err e;
        rc = dsr_log_get(c->log, DSR_SCAN_CACHE_CF, c->key.data, c->key.len, &c->val, &e);
        if (rc == DSR_ENOTFOUND)
            return 0;
        if (rc)
            return lookup_fail(c, rc);
        return decode_value(c->val.data, c->val.len, out) ? 0 : (c->hits++, 1);
    }
    dsr_buf_reset(&c->last);
    if (dsr_buf_append(&c->last, c->key.data, c->key.len))
        return lookup_fail(c, DSR_ENOMEM);
    if (!c->ck && !c->at_end && (rc = advance(c)))
        return rc;                      /* first lookup: position the iterator */
    while (!c->at_end) {
        int cmp = key_cmp(c->ck, c->ckl, c->key.data, c->key.len);
        if (cmp > 0)
            return 0;                   /* not cached */
        if (cmp == 0) {
            int ok = decode_value(c->cv, c->cvl, out) == 0;
            if (!ok && add_stale(c, c->ck, c->ckl))
                return lookup_fail(c, DSR_ENOMEM);
            if ((rc = advance(c)))
                return rc;
            c->hits += ok;
            return ok;
        }
        /* an entry no file was listed for: the file is gone */
        if (add_stale(c, c->ck, c->ckl))
            return lookup_fail(c, DSR_ENOMEM);
        if ((rc = advance(c)))
            return rc;
    }
    return 0;
}

int dsr_scan_cache_finish(dsr_scan_cache *c, dsr_err *err)
{
    if (c->err.code) {
        if (err)
            *err = c->err;
        return c->err.code;
    }
    int rc;
    if (!c->ck && !c->at_end && (rc = advance(c)))
        goto fail;
    while (!c->at_end) {
        if (add_stale(c, c->ck, c->ckl)) {
            lookup_fail(c, DSR_ENOMEM);
            goto fail;
        }
        if ((rc = advance(c)))
            goto fail;
    }
    dsr_log_iter_free(c->it);
    c->it = NULL;
    return 0;
fail:
    if (err)
        *err = c->err;
    return c->err.code;
}

size_t dsr_scan_cache_stale_count(const dsr_scan_cache *c) { return c ? c->n_stale : 0; }
const char *dsr_scan_cache_stale_at(const dsr_scan_cache *c, size_t i) { return c->stale[i]; }
const char *dsr_scan_cache_feature(const dsr_scan_cache *c) { return c->feature; }
size_t dsr_scan_cache_entries(const dsr_scan_cache *c) { return c->entries; }
size_t dsr_scan_cache_hits(const dsr_scan_cache *c) { return c->hits; }

void dsr_scan_cache_free(dsr_scan_cache *c)
{
    if (!c)
        return;
    dsr_log_iter_free(c->it);
    for (size_t i = 0; i < c->n_stale; i++)
        free(c->stale[i]);
    free(c->stale);
    dsr_buf_free(&c->prefix);
    dsr_buf_free(&c->key);
    dsr_buf_free(&c->last);
    dsr_buf_free(&c->val);
    free(c->feature);
    free(c);
}

/*
 * aset.c - artifact sets: the present artifacts of a snapshot as entries
 * (artifact_key, relative_path, content hash, required, class), their
 * canonical order, their stored encoding, and the parity hash.
 *
 * Invariants: a stored set is sorted by (key, path) with no duplicate pair,
 * so equal sets encode to equal bytes and share one content-addressed row.
 * The parity hash is the work package's feature-042 formula (profile wp04):
 * SHA-256 over the concatenation of the present artifacts' lowercase hex
 * content hashes in ascending order, duplicates kept, as lowercase hex.
 * Profile spec-kitty-3 (aset_parity_sk3) hashes "path<TAB>hash" lines
 * sorted by path instead, as current spec-kitty does (docs/interop.md).
 */
#include "sets.h"
#include "mp.h"
#include "be.h"
#include "array.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int aset_push(aset *s, const aset_entry *e)
{
    if (ARRAY_RESERVE1(s->v, s->n, s->cap, 64))
        return DSR_ENOMEM;
    s->v[s->n++] = *e;
    return 0;
}

int aset_reserve(aset *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    aset_entry *v = realloc(s->v, n * sizeof *v);
    if (!v)
        return DSR_ENOMEM;
    s->v = v;
    s->cap = n;
    return 0;
}

void aset_free(aset *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int cmp_key_path(const aset_entry *a, const aset_entry *b)
{
    int c = strcmp(a->key, b->key);
    return c ? c : strcmp(a->path, b->path);
}

/* Already in strictly increasing (key, path) order, as a scan that emits
 * in path order leaves it: then there is nothing to sort or drop. */
static int sorted_unique(const aset *s)
{
    for (size_t i = 1; i < s->n; i++)
        if (cmp_key_path(&s->v[i - 1], &s->v[i]) >= 0)
            return 0;
    return 1;
}

/* (key, path, position) order of the entries o[x].i and o[y].i. */
static int cmp_at(const aset *s, const pre_ord *x, const pre_ord *y)
{
    int c = cmp_key_path(&s->v[x->i], &s->v[y->i]);
    return c ? c : (x->i < y->i ? -1 : x->i > y->i);
}

/* Length of the prefix every key shares (0 for fewer than two). */
static size_t common_key_prefix(const aset *s)
{
    if (s->n < 2)
        return 0;
    const char *k0 = s->v[0].key;
    size_t l = strlen(k0);
    for (size_t i = 1; i < s->n && l; i++) {
        const char *k = s->v[i].key;
        size_t j = 0;
        while (j < l && k[j] == k0[j])
            j++;
        l = j;
    }
    return l;
}

#define SORT_SMALL 16   /* groups this small are insertion-sorted */

typedef struct tie {
    const aset *s;
    size_t      i;
} tie;

static int cmp_tie(const void *pa, const void *pb)
{
    const tie *a = pa, *b = pb;
    int c = cmp_key_path(&a->s->v[a->i], &a->s->v[b->i]);
    return c ? c : (a->i < b->i ? -1 : a->i > b->i);
}

/* Order o[0..n) by comparisons: insertion for a few, qsort for many (a
 * manifest key matching thousands of files makes a big group of equal
 * keys). */
static int sort_by_compare(const aset *s, pre_ord *o, size_t n)
{
    if (n <= SORT_SMALL) {
        for (size_t i = 1; i < n; i++) {
            pre_ord x = o[i];
            size_t j = i;
            while (j > 0 && cmp_at(s, &x, &o[j - 1]) < 0) {
                o[j] = o[j - 1];
                j--;
            }
            o[j] = x;
        }
        return 0;
    }
    tie *t = malloc(n * sizeof *t);
    if (!t)
        return DSR_ENOMEM;
    for (size_t k = 0; k < n; k++)
        t[k] = (tie){ s, o[k].i };
    qsort(t, n, sizeof *t, cmp_tie);
    for (size_t k = 0; k < n; k++)
        o[k].i = t[k].i;
    free(t);
    return 0;
}

/* Sort o[0..n), whose keys agree on their first off bytes: radix on the
 * next 8 key bytes, then the same for each group that agrees on those too
 * (MSD), until groups are small; entries whose keys end before off have
 * equal keys and are ordered by path and position. */
static int sort_range(const aset *s, pre_ord *o, pre_ord *tmp, size_t n, size_t off)
{
    if (n <= SORT_SMALL)
        return sort_by_compare(s, o, n);
    int all_ended = 1;
    for (size_t i = 0; i < n; i++) {
        const char *k = s->v[o[i].i].key;
        size_t avail = strnlen(k + off, 8);   /* keys agree up to off: k[off - 1] is not NUL */
        o[i].pre = pre_of(k + off, avail);
        if (avail == 8)
            all_ended = 0;
    }
    pre_sort(o, tmp, n);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && o[b].pre == o[a].pre)
            b++;
        if (b - a > 1) {
            /* a group whose keys all ended within these 8 bytes has equal keys */
            const char *k = s->v[o[a].i].key;
            if (all_ended || strnlen(k + off, 8) < 8) {
                if (sort_by_compare(s, o + a, b - a))
                    return DSR_ENOMEM;
            } else {
                int rc = sort_range(s, o + a, tmp, b - a, off + 8);
                if (rc)
                    return rc;
            }
        }
        a = b;
    }
    return 0;
}

/* Sort order of s as indexes. */
static int sort_order(const aset *s, pre_ord *o)
{
    size_t n = s->n;
    pre_ord *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return DSR_ENOMEM;
    for (size_t i = 0; i < n; i++)
        o[i].i = i;
    int rc = sort_range(s, o, tmp, n, common_key_prefix(s));
    free(tmp);
    return rc;
}

int aset_sort_unique(aset *s)
{
    if (s->n < 2 || sorted_unique(s))
        return 0;
    pre_ord *o = malloc(s->n * sizeof *o);
    if (!o)
        return DSR_ENOMEM;
    if (sort_order(s, o)) {
        free(o);
        return DSR_ENOMEM;
    }
    /* Put the entries in that order in place (following each cycle of the
     * permutation), so a million-entry set is never held twice; o[k].i is
     * the entry that belongs at k, and is set to k once it is there. */
    for (size_t k = 0; k < s->n; k++) {
        if (o[k].i == k)
            continue;
        aset_entry held = s->v[k];
        size_t at = k;
        while (o[at].i != k) {
            size_t from = o[at].i;
            s->v[at] = s->v[from];
            o[at].i = at;
            at = from;
        }
        s->v[at] = held;
        o[at].i = at;
    }
    free(o);
    /* keep the last occurrence of each (key, path): it came later in the log */
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i + 1 < s->n && !cmp_key_path(&s->v[i], &s->v[i + 1]))
            continue;
        s->v[n++] = s->v[i];
    }
    s->n = n;
    return 0;
}

static int digest(const void *bytes, size_t len, unsigned char md[32], dsr_err *err)
{
    unsigned int mdlen = 0;
    if (!EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return dsr_err_set(err, DSR_EIO, "SHA-256 failed (OpenSSL EVP)");
    return 0;
}

int sha256_hex(const void *bytes, size_t len, char out[65], dsr_err *err)
{
    unsigned char md[32];
    int rc = digest(bytes, len, md, err);
    if (rc)
        return rc;
    dsr_hex(md, 32, out);
    return 0;
}

int aset_digest(const void *bytes, size_t len, char out[33], dsr_err *err)
{
    unsigned char md[32];
    int rc = digest(bytes, len, md, err);
    if (rc)
        return rc;
    dsr_hex(md, 16, out);
    return 0;
}

static int cmp_hash_ptr(const void *pa, const void *pb)
{
    return memcmp(*(const unsigned char *const *)pa, *(const unsigned char *const *)pb, 32);
}

/* The hashes of s in ascending order (pointers into s).  Byte order of the
 * hashes is the order of their lowercase hex text. */
static const unsigned char **sorted_hashes(const aset *s)
{
    size_t n = s->n;
    pre_ord *o = malloc((n ? n : 1) * 2 * sizeof *o);
    const unsigned char **h = malloc((n ? n : 1) * sizeof *h);
    if (!o || !h) {
        free(o);
        free(h);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        o[i].pre = pre_of((const char *)s->v[i].hash, 8);
        o[i].i = i;
    }
    pre_sort(o, o + n, n);
    for (size_t i = 0; i < n; i++)
        h[i] = s->v[o[i].i].hash;
    /* hashes sharing their first 8 bytes (duplicates, mostly): full order */
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && o[b].pre == o[a].pre)
            b++;
        if (b - a > 1)
            qsort(h + a, b - a, sizeof *h, cmp_hash_ptr);
        a = b;
    }
    free(o);
    return h;
}

/* The two hex digits of every byte value, for the parity's text: one load
 * and one store per byte instead of two (a replay writes out every hash of
 * every snapshot's set). */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* 64 lowercase hex digits of a 32-byte hash at out (no NUL). */
static void hex32(const unsigned char h[32], char *out)
{
    for (int i = 0; i < 32; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * h[i], 2);
}

/* How many hashes ahead the parity's hex loop asks for.  In sorted order
 * the hashes are read out of the entries' order, each a cache miss on a big
 * set; fetched ahead, those misses overlap.  Far enough to cover a miss,
 * near enough that the line is still cached when it is read. */
#define READ_AHEAD 16

int aset_parity(const aset *s, char out[65], dsr_err *err)
{
    const unsigned char **h = sorted_hashes(s);
    if (!h)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory computing a parity hash");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    char hex[64 * 64];   /* the text of 64 hashes at a time */
    for (size_t i = 0; ok && i < s->n;) {
        size_t m = 0;
        for (; m < 64 && i < s->n; m++, i++) {
            if (i + READ_AHEAD < s->n)
                __builtin_prefetch(h[i + READ_AHEAD]);
            hex32(h[i], hex + 64 * m);
        }
        ok = EVP_DigestUpdate(ctx, hex, 64 * m);
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    free(h);
    if (!ok)
        return dsr_err_set(err, DSR_EIO, "SHA-256 failed computing a parity hash (OpenSSL EVP)");
    dsr_hex(md, 32, out);
    return 0;
}

static int cmp_path_ptr(const void *a, const void *b)
{
    const aset_entry *x = *(const aset_entry *const *)a, *y = *(const aset_entry *const *)b;
    int c = strcmp(x->path, y->path);
    return c ? c : memcmp(x->hash, y->hash, 32);
}

int aset_parity_sk3(const aset *s, char out[65], dsr_err *err)
{
    const aset_entry **v = malloc((s->n ? s->n : 1) * sizeof *v);
    if (!v)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory computing a parity hash");
    for (size_t i = 0; i < s->n; i++)
        v[i] = &s->v[i];
    /* the set is sorted by (key, path); spec-kitty sorts by path alone */
    qsort(v, s->n, sizeof *v, cmp_path_ptr);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    char hex[66];
    for (size_t i = 0; ok && i < s->n; i++) {
        if (i)
            ok = EVP_DigestUpdate(ctx, "\n", 1);
        hex[0] = '\t';
        dsr_hex(v[i]->hash, 32, hex + 1);
        ok = ok && EVP_DigestUpdate(ctx, v[i]->path, strlen(v[i]->path))
             && EVP_DigestUpdate(ctx, hex, 65);
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    free(v);
    if (!ok)
        return dsr_err_set(err, DSR_EIO, "SHA-256 failed computing a parity hash (OpenSSL EVP)");
    dsr_hex(md, 32, out);
    return 0;
}

/* ---- the stored encoding ------------------------------------------------------
 *
 * A set row is a msgpack array with one 5-array per entry:
 *   [artifact_key, relative_path, content hash, required (bool), class]
 * Set format 2 (written now) squeezes out what sets repeat most:
 *   artifact_key  nil when it is "path:" + relative_path (the scanner's key
 *                 for a file no manifest entry names), else str;
 *   content hash  bin 32;
 *   class         uint: index in set_classes (append-only), else str.
 * Format 1 (str key, 64-char str hash, str class) is still read: the decoder
 * takes either form field by field.  Format 2 halves a set's bytes, and so
 * what a replay writes to the WAL and memtables.
 *
 * The bytes are written by hand rather than through a msgpack_packer: sets
 * are the largest rows a replay writes (one per snapshot) and the packer's
 * per-item callbacks were most of their cost.  They are exactly what
 * msgpack-c would pack (tests/unit/test_aset.c checks it). */
static const char *const set_classes[] =
    { "input", "workflow", "output", "evidence", "policy", "runtime", NULL };

#define PATH_KEY_PREFIX "path:"
#define PATH_KEY_PREFIX_LEN 5

/* strlen of each set_classes entry: the snapshot fold asks for every
 * artifact event, so the lengths are not measured again each time. */
static const unsigned char set_class_len[] = { 5, 8, 6, 8, 6, 7 };

const char *aset_class_static(const char *p, size_t n)
{
    static_assert(sizeof set_class_len == sizeof set_classes / sizeof set_classes[0] - 1,
                  "one length per class");
    for (size_t i = 0; p && i < sizeof set_class_len; i++) {
        assert(strlen(set_classes[i]) == set_class_len[i]);
        if (set_class_len[i] == n && !memcmp(p, set_classes[i], n))
            return set_classes[i];
    }
    return NULL;
}

int aset_path_key(const char *key, size_t klen, const char *path, size_t plen)
{
    return key && path && klen == plen + PATH_KEY_PREFIX_LEN
        && !memcmp(key, PATH_KEY_PREFIX, PATH_KEY_PREFIX_LEN)
        && !memcmp(key + PATH_KEY_PREFIX_LEN, path, plen);
}

static int class_index(const char *cls)
{
    for (int i = 0; cls && set_classes[i]; i++)
        if (!strcmp(cls, set_classes[i]))
            return i;
    return -1;
}

static int key_is_path_key(const aset_entry *e, size_t klen, size_t plen)
{
    return aset_path_key(e->key, klen, e->path, plen);
}

static size_t str_size(const char *p, size_t n)
{
    if (!p)
        return 1;
    return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

static unsigned char *put_be(unsigned char *w, uint64_t v, size_t bytes)
{
    be_putn(w, v, bytes);
    return w + bytes;
}

static unsigned char *put_str(unsigned char *w, const char *p, size_t n)
{
    if (!p) {
        *w++ = 0xc0;
        return w;
    }
    if (n < 32)
        *w++ = (unsigned char)(0xa0 | n);
    else if (n < 256)
        *w++ = 0xd9, *w++ = (unsigned char)n;
    else if (n < 65536)
        *w++ = 0xda, w = put_be(w, n, 2);
    else
        *w++ = 0xdb, w = put_be(w, n, 4);
    if (n)
        memcpy(w, p, n);
    return w + n;
}

const char *aset_path_key_dup(arena *ar, const char *path, size_t plen, const char **path_out)
{
    char *key = ar_stralloc(ar, PATH_KEY_PREFIX_LEN + plen + 1);
    if (!key)
        return NULL;
    memcpy(key, PATH_KEY_PREFIX, PATH_KEY_PREFIX_LEN);
    memcpy(key + PATH_KEY_PREFIX_LEN, path, plen);
    key[PATH_KEY_PREFIX_LEN + plen] = '\0';
    *path_out = key + PATH_KEY_PREFIX_LEN;
    return key;
}

static size_t entry_size(const aset_entry *e)
{
    size_t kl = e->key ? strlen(e->key) : 0, pl = e->path ? strlen(e->path) : 0;
    return 2 + (key_is_path_key(e, kl, pl) ? 1 : str_size(e->key, kl)) + str_size(e->path, pl)
         + 34 + str_size(e->cls, e->cls ? strlen(e->cls) : 0);
}

static unsigned char *put_entry(unsigned char *w, const aset_entry *e)
{
    size_t kl = e->key ? strlen(e->key) : 0, pl = e->path ? strlen(e->path) : 0;
    *w++ = 0x95;
    if (key_is_path_key(e, kl, pl))
        *w++ = 0xc0;
    else
        w = put_str(w, e->key, kl);
    w = put_str(w, e->path, pl);
    *w++ = 0xc4, *w++ = 32;
    memcpy(w, e->hash, 32);
    w += 32;
    *w++ = e->required ? 0xc3 : 0xc2;
    int ci = class_index(e->cls);
    if (ci >= 0)
        *w++ = (unsigned char)ci;
    else
        w = put_str(w, e->cls, e->cls ? strlen(e->cls) : 0);
    return w;
}

static unsigned char *put_array_header(unsigned char *w, size_t n)
{
    if (n < 16)
        *w++ = (unsigned char)(0x90 | n);
    else if (n < 65536)
        *w++ = 0xdc, w = put_be(w, n, 2);
    else
        *w++ = 0xdd, w = put_be(w, n, 4);
    return w;
}

int aset_encode(const aset *s, dsr_buf *out)
{
    if (s->n > UINT32_MAX)
        return DSR_ENOMEM;
    size_t need = 5;
    for (size_t i = 0; i < s->n; i++)
        need += entry_size(&s->v[i]);
    if (dsr_buf_reserve(out, need))
        return DSR_ENOMEM;
    unsigned char *w0 = (unsigned char *)out->data + out->len, *w = w0;
    w = put_array_header(w, s->n);
    for (size_t i = 0; i < s->n; i++)
        w = put_entry(w, &s->v[i]);
    out->len += (size_t)(w - w0);
    out->data[out->len] = '\0';
    return 0;
}

/* ---- decoding: a cursor over the row, strings copied into the arena ----------- */

/* A str or bin as pointer and length (mp_cursor.c): 1 str, 2 bin, 0 nil,
 * -1 anything else. */
static int read_text(mpc *c, const char **s, uint64_t *n)
{
    dsr_str t = { NULL, 0 };
    int k = mpc_str_bin(c, &t);
    *s = t.ptr;
    *n = t.len;
    return k;
}

static int decode_entry(mpc *c, aset_entry *e, arena *ar)
{
    uint64_t n, kl = 0, pl = 0, hl = 0, cl = 0;
    const char *k = NULL, *p = NULL, *h = NULL, *cls = NULL;
    if (mpc_array(c, &n) || n != 5)
        return DSR_ECORRUPT;
    int kk = read_text(c, &k, &kl);
    if ((kk != 1 && kk != 0) || read_text(c, &p, &pl) != 1)
        return DSR_ECORRUPT;
    int hk = read_text(c, &h, &hl);
    if (!((hk == 1 && hl == 64) || (hk == 2 && hl == 32)))
        return DSR_ECORRUPT;
    if (c->p >= c->end || (*c->p != 0xc2 && *c->p != 0xc3))
        return DSR_ECORRUPT;
    e->required = *c->p++ == 0xc3;
    if (c->p < c->end && *c->p <= 0x7f) {
        unsigned idx = *c->p++;
        size_t nclass = sizeof set_classes / sizeof set_classes[0] - 1;
        if (idx >= nclass)
            return DSR_ECORRUPT;
        e->cls = set_classes[idx];
    } else {
        if (read_text(c, &cls, &cl) != 1 || !(e->cls = ar_strndup(ar, cls, cl)))
            return cls ? DSR_ENOMEM : DSR_ECORRUPT;
    }
    if (kk == 1) {
        if (!(e->key = ar_strndup(ar, k, kl)) || !(e->path = ar_strndup(ar, p, pl)))
            return DSR_ENOMEM;
    } else if (!(e->key = aset_path_key_dup(ar, p, pl, &e->path))) {
        return DSR_ENOMEM;
    }
    if (hk == 2)
        memcpy(e->hash, h, 32);
    else if (dsr_unhex(h, 64, e->hash))
        return DSR_ECORRUPT;
    return 0;
}

int aset_decode(const void *buf, size_t len, aset *s, arena *ar, dsr_err *err)
{
    mpc c = { buf, (const unsigned char *)buf + len };
    uint64_t n;
    if (mpc_array(&c, &n) || n > len)
        return dsr_err_set(err, DSR_ECORRUPT, "artifact set row does not decode");
    int rc = 0;
    for (uint64_t i = 0; i < n && !rc; i++) {
        aset_entry e;
        memset(&e, 0, sizeof e);
        if (!(rc = decode_entry(&c, &e, ar)) && aset_push(s, &e))
            rc = DSR_ENOMEM;
    }
    if (!rc && c.p != c.end)
        rc = DSR_ECORRUPT;
    if (rc == DSR_ECORRUPT)
        return dsr_err_set(err, rc, "artifact set row has a malformed entry");
    if (rc)
        return dsr_err_set(err, rc, "out of memory decoding an artifact set");
    return 0;
}

/* ---- delta rows ------------------------------------------------------------------
 *
 * A rescan changes few artifacts, and every snapshot stores its whole set:
 * most of what a replay wrote (WAL, memtables, flushes) was the same
 * entries again.  A set may therefore be stored as a delta against a full
 * set of the same feature:
 *   [nil, base digest (32 hex chars), removed, upserted]
 *   removed   array of [key | nil, path]: base pairs absent from this set
 *             (key nil: "path:" + path, as in entries);
 *   upserted  array of entries (the entry encoding above): pairs new in this
 *             set or whose hash, required flag or class changed.
 * The base is always a full row (never a delta), so decoding takes one base
 * at most.  A leading nil tells a delta from a full row, whose items are
 * entries (arrays). */

static int same_entry(const aset_entry *a, const aset_entry *b)
{
    return a->required == b->required && !memcmp(a->hash, b->hash, 32)
        && ((!a->cls && !b->cls) || (a->cls && b->cls && !strcmp(a->cls, b->cls)));
}




/* A removed pair as [key | nil, path]: its size, and its bytes at w. */
static size_t removed_size(const aset_entry *e)
{
    size_t kl = strlen(e->key), pl = strlen(e->path);
    return 1 + (key_is_path_key(e, kl, pl) ? 1 : str_size(e->key, kl)) + str_size(e->path, pl);
}

static unsigned char *put_removed(unsigned char *w, const aset_entry *e)
{
    size_t kl = strlen(e->key), pl = strlen(e->path);
    *w++ = 0x92;
    if (key_is_path_key(e, kl, pl))
        *w++ = 0xc0;
    else
        w = put_str(w, e->key, kl);
    return put_str(w, e->path, pl);
}

int aset_encode_delta(const aset *base, const char *base_digest, const aset *s, dsr_buf *out)
{
    if (strlen(base_digest) != 32)
        return 0;
    /* One merge pass finds what differs (at most a quarter of s, or the set
     * is stored whole): base entries gone, and entries new or changed. */
    size_t cap = s->n / 4 + 1, nrem = 0, nup = 0, need = 1 + 1 + 2 + 32 + 5 + 5;
    size_t *rem = malloc(cap * sizeof *rem), *up = malloc(cap * sizeof *up);
    int rc = rem && up ? 1 : DSR_ENOMEM;
    for (size_t i = 0, j = 0; rc == 1 && (i < base->n || j < s->n);) {
        int c = i >= base->n ? 1 : j >= s->n ? -1 : cmp_key_path(&base->v[i], &s->v[j]);
        if (c < 0) {
            need += removed_size(&base->v[i]);
            rem[nrem++] = i++;
        } else {
            if (c > 0 || !same_entry(&base->v[i], &s->v[j])) {
                need += entry_size(&s->v[j]);
                up[nup++] = j;
            }
            if (c == 0)
                i++;
            j++;
        }
        if ((nrem + nup) * 4 > s->n)
            rc = 0;   /* a quarter of the set or more differs: store it whole */
    }
    if (rc == 1 && dsr_buf_reserve(out, need))
        rc = DSR_ENOMEM;
    if (rc == 1) {
        unsigned char *w0 = (unsigned char *)out->data + out->len, *w = w0;
        *w++ = 0x94;
        *w++ = 0xc0;
        w = put_str(w, base_digest, 32);
        w = put_array_header(w, nrem);
        for (size_t k = 0; k < nrem; k++)
            w = put_removed(w, &base->v[rem[k]]);
        w = put_array_header(w, nup);
        for (size_t k = 0; k < nup; k++)
            w = put_entry(w, &s->v[up[k]]);
        out->len += (size_t)(w - w0);
        out->data[out->len] = '\0';
    }
    free(rem);
    free(up);
    return rc;
}

int aset_row_base(const void *buf, size_t len, char base[33])
{
    const unsigned char *p = buf;
    if (len < 2 || p[0] != 0x94 || p[1] != 0xc0)
        return 0;   /* a full row */
    mpc c = { p + 2, p + len };
    const char *d;
    uint64_t n;
    if (read_text(&c, &d, &n) != 1 || n != 32)
        return DSR_ECORRUPT;
    memcpy(base, d, 32);
    base[32] = '\0';
    return 1;
}

/* Copy of e with its strings in ar (a decoded base's strings belong to
 * whoever holds the base). */
int aset_entry_copy(const aset_entry *e, aset_entry *out, arena *ar)
{
    *out = *e;
    size_t pl = strlen(e->path);
    /* the usual layouts are told by their pointers: a path that is the
     * tail of its "path:" key, a class that is one of set_classes */
    int shared = e->path == e->key + PATH_KEY_PREFIX_LEN
        && !strncmp(e->key, PATH_KEY_PREFIX, PATH_KEY_PREFIX_LEN);
    size_t kl = shared ? PATH_KEY_PREFIX_LEN + pl : strlen(e->key);
    if (shared || aset_path_key(e->key, kl, e->path, pl)) {
        if (!(out->key = aset_path_key_dup(ar, e->path, pl, &out->path)))
            return DSR_ENOMEM;
    } else if (!(out->key = ar_strndup(ar, e->key, kl))
               || !(out->path = ar_strndup(ar, e->path, pl))) {
        return DSR_ENOMEM;
    }
    int static_cls = !e->cls;
    for (int i = 0; !static_cls && set_classes[i]; i++)
        static_cls = e->cls == set_classes[i];
    if (!static_cls && !aset_class_static(e->cls, strlen(e->cls))
        && !(out->cls = ar_strdup(ar, e->cls)))
        return DSR_ENOMEM;
    return 0;
}

/* aset_decode_delta; with share, the entries kept from base keep base's
 * strings (aset_decode_delta_on). */
static int decode_delta(const void *buf, size_t len, const aset *base, aset *s, arena *ar,
                        int share, dsr_err *err)
{
    mpc c = { (const unsigned char *)buf + 2, (const unsigned char *)buf + len };
    const char *d;
    uint64_t n, nrem, nup = 0;   /* read by the upsert loop even when an earlier step failed */
    if (len < 2 || read_text(&c, &d, &n) != 1 || n != 32 || mpc_array(&c, &nrem)
        || nrem > len)
        return dsr_err_set(err, DSR_ECORRUPT, "artifact set delta row does not decode");
    /* removed pairs and upserted entries, each in (key, path) order */
    aset rem = { 0 }, up = { 0 };
    arena tmp = { NULL };
    int rc = 0;
    for (uint64_t i = 0; i < nrem && !rc; i++) {
        uint64_t two, kl = 0, pl = 0;
        const char *k = NULL, *p = NULL;
        aset_entry e;
        memset(&e, 0, sizeof e);
        int kk;
        if (mpc_array(&c, &two) || two != 2 || ((kk = read_text(&c, &k, &kl)) != 1 && kk != 0)
            || read_text(&c, &p, &pl) != 1) {
            rc = DSR_ECORRUPT;
            break;
        }
        if (kk == 1) {
            if (!(e.key = ar_strndup(&tmp, k, kl)) || !(e.path = ar_strndup(&tmp, p, pl)))
                rc = DSR_ENOMEM;
        } else if (!(e.key = aset_path_key_dup(&tmp, p, pl, &e.path))) {
            rc = DSR_ENOMEM;
        }
        if (!rc && aset_push(&rem, &e))
            rc = DSR_ENOMEM;
    }
    if (!rc && (mpc_array(&c, &nup) || nup > len))
        rc = DSR_ECORRUPT;
    for (uint64_t i = 0; i < nup && !rc; i++) {
        aset_entry e;
        memset(&e, 0, sizeof e);
        if (!(rc = decode_entry(&c, &e, ar)) && aset_push(&up, &e))
            rc = DSR_ENOMEM;
    }
    if (!rc && c.p != c.end)
        rc = DSR_ECORRUPT;
    if (!rc && aset_reserve(s, s->n + base->n + up.n))
        rc = DSR_ENOMEM;
    /* merge: base minus removed, with upserted entries in place or added */
    size_t i = 0, j = 0, r = 0;
    while (!rc && (i < base->n || j < up.n)) {
        int cmp = i >= base->n ? 1 : j >= up.n ? -1 : cmp_key_path(&base->v[i], &up.v[j]);
        if (cmp > 0 || cmp == 0) {
            s->v[s->n++] = up.v[j++];
            if (cmp == 0)
                i++;
            continue;
        }
        const aset_entry *b = &base->v[i++];
        while (r < rem.n && cmp_key_path(&rem.v[r], b) < 0)
            r++;
        if (r < rem.n && !cmp_key_path(&rem.v[r], b))
            continue;
        if (share)
            s->v[s->n++] = *b;
        else if (!(rc = aset_entry_copy(b, &s->v[s->n], ar)))
            s->n++;
    }
    aset_free(&rem);
    aset_free(&up);
    ar_free(&tmp);
    if (rc == DSR_ECORRUPT)
        return dsr_err_set(err, rc, "artifact set delta row has a malformed entry");
    if (rc)
        return dsr_err_set(err, rc, "out of memory decoding an artifact set");
    return 0;
}

int aset_decode_delta(const void *buf, size_t len, const aset *base, aset *s, arena *ar,
                      dsr_err *err)
{
    return decode_delta(buf, len, base, s, ar, 0, err);
}

int aset_decode_delta_on(const void *buf, size_t len, const aset *base, aset *s, arena *ar,
                         dsr_err *err)
{
    return decode_delta(buf, len, base, s, ar, 1, err);
}

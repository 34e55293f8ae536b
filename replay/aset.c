/*
 * aset.c - artifact sets: the present artifacts of a snapshot as entries
 * (artifact_key, relative_path, content hash, required, class), their
 * canonical order, their stored encoding, and the parity hash.
 *
 * Invariants: a stored set is sorted by (key, path) with no duplicate pair,
 * so equal sets encode to equal bytes and share one content-addressed row.
 * The parity hash is spec-kitty's algorithm, bit for bit: SHA-256 over the
 * concatenation of the present artifacts' lowercase hex content hashes in
 * ascending order, duplicates kept, as lowercase hex.
 */
#include "replay_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int aset_push(aset *s, const aset_entry *e)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        aset_entry *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return DSR_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *e;
    return 0;
}

void aset_free(aset *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

typedef struct ord_entry {
    const aset_entry *e;
    size_t            i;
} ord_entry;

static int cmp_key_path(const aset_entry *a, const aset_entry *b)
{
    int c = strcmp(a->key, b->key);
    return c ? c : strcmp(a->path, b->path);
}

static int cmp_ord(const void *pa, const void *pb)
{
    const ord_entry *a = pa, *b = pb;
    int c = cmp_key_path(a->e, b->e);
    if (c)
        return c;
    return a->i < b->i ? -1 : a->i > b->i;
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

int aset_sort_unique(aset *s)
{
    if (s->n < 2 || sorted_unique(s))
        return 0;
    ord_entry *o = malloc(s->n * sizeof *o);
    if (!o)
        return DSR_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        o[i].e = &s->v[i];
        o[i].i = i;
    }
    qsort(o, s->n, sizeof *o, cmp_ord);
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

/* A hash with its first 8 hex digits as a number: most comparisons end on
 * the number (hex digits sort as their ASCII codes do). */
typedef struct hash_ord {
    uint64_t    pre;
    const char *h;
} hash_ord;

static int cmp_hash(const void *pa, const void *pb)
{
    const hash_ord *a = pa, *b = pb;
    if (a->pre != b->pre)
        return a->pre < b->pre ? -1 : 1;
    return memcmp(a->h, b->h, 64);
}

static uint64_t hex_prefix(const char *h)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)h[i];
    return v;
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

int aset_parity(const aset *s, char out[65], dsr_err *err)
{
    hash_ord *h = malloc((s->n ? s->n : 1) * sizeof *h);
    if (!h)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory computing a parity hash");
    for (size_t i = 0; i < s->n; i++) {
        h[i].h = s->v[i].hash;
        h[i].pre = hex_prefix(s->v[i].hash);
    }
    qsort(h, s->n, sizeof *h, cmp_hash);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < s->n; i++)
        ok = EVP_DigestUpdate(ctx, h[i].h, 64);
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

/* The encoding is written byte by byte rather than through a msgpack_packer:
 * sets are the largest rows a replay writes (one per snapshot), and the
 * packer's per-item callbacks were most of their cost.  The bytes are what
 * msgpack_pack_* would produce (tests/unit/test_proj_snapshot.c decodes
 * them with msgpack-c). */
static size_t str_size(const char *p, size_t n)
{
    if (!p)
        return 1;
    return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

static unsigned char *put_be(unsigned char *w, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *w++ = (unsigned char)(v >> (8 * i));
    return w;
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

int aset_encode(const aset *s, dsr_buf *out)
{
    if (s->n > UINT32_MAX)
        return DSR_ENOMEM;
    size_t need = 5;
    for (size_t i = 0; i < s->n; i++) {
        const aset_entry *e = &s->v[i];
        need += 2 + str_size(e->key, e->key ? strlen(e->key) : 0)
              + str_size(e->path, e->path ? strlen(e->path) : 0) + str_size(e->hash, 64)
              + str_size(e->cls, e->cls ? strlen(e->cls) : 0);
    }
    if (dsr_buf_reserve(out, need))
        return DSR_ENOMEM;
    unsigned char *w0 = (unsigned char *)out->data + out->len, *w = w0;
    if (s->n < 16)
        *w++ = (unsigned char)(0x90 | s->n);
    else if (s->n < 65536)
        *w++ = 0xdc, w = put_be(w, s->n, 2);
    else
        *w++ = 0xdd, w = put_be(w, s->n, 4);
    for (size_t i = 0; i < s->n; i++) {
        const aset_entry *e = &s->v[i];
        *w++ = 0x95;
        w = put_str(w, e->key, e->key ? strlen(e->key) : 0);
        w = put_str(w, e->path, e->path ? strlen(e->path) : 0);
        w = put_str(w, e->hash, 64);
        *w++ = e->required ? 0xc3 : 0xc2;
        w = put_str(w, e->cls, e->cls ? strlen(e->cls) : 0);
    }
    out->len += (size_t)(w - w0);
    out->data[out->len] = '\0';
    return 0;
}

static const char *obj_str(const msgpack_object *o, arena *ar, int *rc)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        *rc = DSR_ECORRUPT;
        return NULL;
    }
    char *p = ar_strndup(ar, o->via.str.ptr, o->via.str.size);
    if (!p)
        *rc = DSR_ENOMEM;
    return p;
}

int aset_decode(const void *buf, size_t len, aset *s, arena *ar, dsr_err *err)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = 0;
    if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS
        || u.data.type != MSGPACK_OBJECT_ARRAY) {
        msgpack_unpacked_destroy(&u);
        return dsr_err_set(err, DSR_ECORRUPT, "artifact set row does not decode");
    }
    const msgpack_object_array *a = &u.data.via.array;
    for (uint32_t i = 0; i < a->size && !rc; i++) {
        const msgpack_object *t = &a->ptr[i];
        if (t->type != MSGPACK_OBJECT_ARRAY || t->via.array.size != 5
            || t->via.array.ptr[2].type != MSGPACK_OBJECT_STR
            || t->via.array.ptr[2].via.str.size != 64
            || t->via.array.ptr[3].type != MSGPACK_OBJECT_BOOLEAN) {
            rc = DSR_ECORRUPT;
            break;
        }
        const msgpack_object *f = t->via.array.ptr;
        aset_entry e;
        e.key = obj_str(&f[0], ar, &rc);
        e.path = obj_str(&f[1], ar, &rc);
        e.cls = obj_str(&f[4], ar, &rc);
        memcpy(e.hash, f[2].via.str.ptr, 64);
        e.hash[64] = '\0';
        e.required = f[3].via.boolean;
        if (!rc && aset_push(s, &e))
            rc = DSR_ENOMEM;
    }
    msgpack_unpacked_destroy(&u);
    if (rc == DSR_ECORRUPT)
        return dsr_err_set(err, rc, "artifact set row has a malformed entry");
    if (rc)
        return dsr_err_set(err, rc, "out of memory decoding an artifact set");
    return 0;
}

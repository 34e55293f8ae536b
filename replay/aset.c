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

int aset_sort_unique(aset *s)
{
    if (s->n < 2)
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

static int cmp_hash(const void *pa, const void *pb)
{
    return memcmp(*(const char *const *)pa, *(const char *const *)pb, 64);
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
    const char **h = malloc((s->n ? s->n : 1) * sizeof *h);
    if (!h)
        return dsr_err_set(err, DSR_ENOMEM, "out of memory computing a parity hash");
    for (size_t i = 0; i < s->n; i++)
        h[i] = s->v[i].hash;
    qsort(h, s->n, sizeof *h, cmp_hash);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < s->n; i++)
        ok = EVP_DigestUpdate(ctx, h[i], 64);
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

int aset_encode(const aset *s, dsr_buf *out)
{
    msgpack_packer pk;
    mp_packer_init(&pk, out);
    if (msgpack_pack_array(&pk, s->n))
        return DSR_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        const aset_entry *e = &s->v[i];
        if (msgpack_pack_array(&pk, 5) || mp_pack_str(&pk, e->key) || mp_pack_str(&pk, e->path)
            || mp_pack_strn(&pk, e->hash, 64)
            || (e->required ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk))
            || mp_pack_str(&pk, e->cls))
            return DSR_ENOMEM;
    }
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

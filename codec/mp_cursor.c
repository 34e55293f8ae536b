/*
 * mp_cursor.c - reading msgpack straight from its bytes, without unpacking
 * into objects: the replay reader's fast path over stored records
 * (record_view.c) and the artifact-set rows (aset.c).  Every read checks the
 * bounds and returns -1 on anything it does not expect, leaving the caller
 * to report the record as damaged.
 */
#include "mp.h"
#include "be.h"

int mpc_need(mpc *c, size_t n)
{
    return (size_t)(c->end - c->p) >= n;
}

/* Read a length-prefixed header: returns 0 and *n, advancing past the header. */
int mpc_len(mpc *c, int bytes, uint64_t *n)
{
    if (!mpc_need(c, (size_t)bytes))
        return -1;
    *n = be_getn(c->p, (size_t)bytes);
    c->p += bytes;
    return 0;
}

/* Map header: 0 and *n, or -1 when the next object is not a map. */
int mpc_map(mpc *c, uint64_t *n)
{
    if (!mpc_need(c, 1))
        return -1;
    unsigned char b = *c->p++;
    if ((b & 0xf0) == 0x80) {
        *n = b & 0x0f;
        return 0;
    }
    if (b == 0xde)
        return mpc_len(c, 2, n);
    if (b == 0xdf)
        return mpc_len(c, 4, n);
    return -1;
}

/* Array header: 0 and *n, or -1 when the next object is not an array. */
int mpc_array(mpc *c, uint64_t *n)
{
    if (!mpc_need(c, 1))
        return -1;
    unsigned char b = *c->p++;
    if ((b & 0xf0) == 0x90) {
        *n = b & 0x0f;
        return 0;
    }
    if (b == 0xdc)
        return mpc_len(c, 2, n);
    if (b == 0xdd)
        return mpc_len(c, 4, n);
    return -1;
}

/* String: 1 and *s, 0 for nil (s->ptr NULL), -1 for anything else. */
int mpc_str(mpc *c, dsr_str *s)
{
    if (!mpc_need(c, 1))
        return -1;
    unsigned char b = *c->p++;
    uint64_t n;
    s->ptr = NULL;
    s->len = 0;
    if (b == 0xc0)
        return 0;
    if ((b & 0xe0) == 0xa0)
        n = b & 0x1f;
    else if (b == 0xd9 || b == 0xda || b == 0xdb) {
        if (mpc_len(c, b == 0xd9 ? 1 : b == 0xda ? 2 : 4, &n))
            return -1;
    } else
        return -1;
    if (!mpc_need(c, n))
        return -1;
    s->ptr = (const char *)c->p;
    s->len = n;
    c->p += n;
    return 1;
}

int mpc_uint(mpc *c, uint64_t *v)
{
    if (!mpc_need(c, 1))
        return -1;
    unsigned char b = *c->p++;
    if (b <= 0x7f) {
        *v = b;
        return 0;
    }
    if (b >= 0xcc && b <= 0xcf)
        return mpc_len(c, 1 << (b - 0xcc), v);
    return -1;
}

/* Skip one object of any type (depth-bounded). */
int mpc_skip(mpc *c, int depth)
{
    if (depth > 64 || !mpc_need(c, 1))
        return -1;
    unsigned char b = *c->p++;
    uint64_t n = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if ((b & 0xe0) == 0xa0) {
        n = b & 0x1f;
        goto body;
    }
    if ((b & 0xf0) == 0x80) {
        n = (uint64_t)(b & 0x0f) * 2;
        goto items;
    }
    if ((b & 0xf0) == 0x90) {
        n = b & 0x0f;
        goto items;
    }
    switch (b) {
    case 0xcc: case 0xd0: n = 1; goto body;
    case 0xcd: case 0xd1: n = 2; goto body;
    case 0xce: case 0xd2: case 0xca: n = 4; goto body;
    case 0xcf: case 0xd3: case 0xcb: n = 8; goto body;
    case 0xd9: case 0xc4: if (mpc_len(c, 1, &n)) return -1; goto body;
    case 0xda: case 0xc5: if (mpc_len(c, 2, &n)) return -1; goto body;
    case 0xdb: case 0xc6: if (mpc_len(c, 4, &n)) return -1; goto body;
    case 0xd4: n = 2; goto body;
    case 0xd5: n = 3; goto body;
    case 0xd6: n = 5; goto body;
    case 0xd7: n = 9; goto body;
    case 0xd8: n = 17; goto body;
    case 0xc7: if (mpc_len(c, 1, &n)) return -1; n += 1; goto body;
    case 0xc8: if (mpc_len(c, 2, &n)) return -1; n += 1; goto body;
    case 0xc9: if (mpc_len(c, 4, &n)) return -1; n += 1; goto body;
    case 0xdc: if (mpc_len(c, 2, &n)) return -1; goto items;
    case 0xdd: if (mpc_len(c, 4, &n)) return -1; goto items;
    case 0xde: if (mpc_len(c, 2, &n)) return -1; n *= 2; goto items;
    case 0xdf: if (mpc_len(c, 4, &n)) return -1; n *= 2; goto items;
    default: return -1;
    }
body:
    if (!mpc_need(c, n))
        return -1;
    c->p += n;
    return 0;
items:
    for (uint64_t i = 0; i < n; i++)
        if (mpc_skip(c, depth + 1))
            return -1;
    return 0;
}

/* A str, a bin of n bytes, or nil: 1 str, 2 bin, 0 nil, -1 other. */
int mpc_str_bin(mpc *c, dsr_str *s)
{
    if (mpc_need(c, 1) && (c->p[0] == 0xc4 || c->p[0] == 0xc5 || c->p[0] == 0xc6)) {
        unsigned char b = *c->p++;
        uint64_t n;
        if (mpc_len(c, b == 0xc4 ? 1 : b == 0xc5 ? 2 : 4, &n) || !mpc_need(c, n))
            return -1;
        s->ptr = (const char *)c->p;
        s->len = n;
        c->p += n;
        return 2;
    }
    return mpc_str(c, s);
}


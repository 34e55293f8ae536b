/*
 * strmap.c - open-addressing hash map from byte strings to pointers, used
 * for the per-chunk working state of projections (runs by id, rows by key,
 * features by slug).  Keys are copied into the map's arena; values belong to
 * the caller.  Load factor stays <= 1/2 so probe runs are short.
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static size_t probe(const strmap *m, const void *key, size_t klen, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const strmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->klen == klen && !memcmp(s->key, key, klen)))
            return i;
    }
}

void **strmap_find(const strmap *m, const void *key, size_t klen)
{
    if (!m->n)
        return NULL;
    uint64_t h = XXH3_64bits(key, klen);
    strmap_slot *s = &m->slots[probe(m, key, klen, h)];
    return s->key ? &s->val : NULL;
}

static int grow(strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    strmap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return DSR_ENOMEM;
    strmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            m->slots[probe(m, old.slots[i].key, old.slots[i].klen, old.slots[i].hash)]
                = old.slots[i];
    free(old.slots);
    return 0;
}

void **strmap_upsert(strmap *m, const void *key, size_t klen, int *created)
{
    *created = 0;
    if ((m->n + 1) * 2 > m->cap && grow(m))
        return NULL;
    uint64_t h = XXH3_64bits(key, klen);
    strmap_slot *s = &m->slots[probe(m, key, klen, h)];
    if (s->key)
        return &s->val;
    char *k = ar_strndup(&m->keys, key, klen);
    if (!k)
        return NULL;
    s->key = k;
    s->klen = klen;
    s->hash = h;
    s->val = NULL;
    m->n++;
    *created = 1;
    return &s->val;
}

void strmap_clear(strmap *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
    ar_free(&m->keys);
}

void strmap_free(strmap *m)
{
    free(m->slots);
    ar_free(&m->keys);
    m->slots = NULL;
    m->n = m->cap = 0;
}

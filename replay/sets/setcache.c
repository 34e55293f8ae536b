/*
 * setcache.c - a small LRU of decoded artifact sets keyed by their digest,
 * shared by the snapshot projection (which computes sets) and the drift
 * projection (which compares them).  See sets.h for the contract.
 *
 * Why: replaying scans of a feature against its baseline compares the same
 * baseline set with every new snapshot, and each new snapshot's set was in
 * memory a moment before drift needs it.  Decoding both from their rows was
 * about a tenth of a replay (bench/replay.sh, perf).
 *
 * Ownership: the projection context that holds the cache (one driver thread).
 */
#include "sets.h"

#include <stdlib.h>
#include <string.h>

#define SC_MAX_SETS  64
#define SC_MAX_BYTES (64u * 1024u * 1024u)

static void ent_free(sc_entry *e)
{
    aset_free(&e->set);
    ar_free(&e->ar);
    free(e);
}

const aset *sc_get(setcache *c, const char *digest)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i]->digest, digest)) {
            c->v[i]->used = ++c->tick;
            return &c->v[i]->set;
        }
    return NULL;
}

uint64_t sc_hold(setcache *c)
{
    uint64_t prev = c->held_after;
    c->held_after = c->tick;
    c->holds++;
    return prev;
}

void sc_release(setcache *c, uint64_t prev)
{
    c->held_after = prev;
    c->holds--;
}

/* Drop the least recently used entry other than the most recently used one
 * and those used since sc_hold; 0 when there is none to drop. */
static int evict_one(setcache *c)
{
    size_t lru = c->n, mru = c->n;
    for (size_t i = 0; i < c->n; i++) {
        if (mru == c->n || c->v[i]->used > c->v[mru]->used)
            mru = i;
    }
    for (size_t i = 0; i < c->n; i++)
        if (i != mru && (!c->holds || c->v[i]->used <= c->held_after)
            && (lru == c->n || c->v[i]->used < c->v[lru]->used))
            lru = i;
    if (lru == c->n)
        return 0;
    c->bytes -= c->v[lru]->bytes;
    ent_free(c->v[lru]);
    c->v[lru] = c->v[--c->n];
    return 1;
}

int sc_put_take(setcache *c, const char *digest, aset *set, arena *ar, const aset **out)
{
    size_t bytes = set->cap * sizeof *set->v + ar_size(ar);
    if (bytes > SC_MAX_BYTES / 4 || strlen(digest) > 32)
        return 0;
    if (sc_get(c, digest))
        return 0;   /* already cached (same digest, same content): the offer stays the caller's */
    while (c->n >= SC_MAX_SETS || c->bytes + bytes > SC_MAX_BYTES)
        if (!evict_one(c))
            return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        sc_entry **v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return 0;
        c->v = v;
        c->cap = cap;
    }
    sc_entry *e = calloc(1, sizeof *e);
    if (!e)
        return 0;
    c->v[c->n++] = e;
    strcpy(e->digest, digest);
    e->set = *set;
    memset(set, 0, sizeof *set);
    ar_adopt(&e->ar, ar);
    e->bytes = bytes;
    e->used = ++c->tick;
    c->bytes += bytes;
    *out = &e->set;
    return 1;
}

void sc_free(setcache *c)
{
    for (size_t i = 0; i < c->n; i++)
        ent_free(c->v[i]);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/*
 * log_idset.c - the set of event_ids appended to a batch that is open or in
 * flight, so a duplicate within it is found without asking RocksDB (which
 * cannot see it yet).
 *
 * Open addressing with linear probing over a power-of-two slot array of
 * 1-based indexes into a flat array of 26-byte ids; the load factor stays at
 * or below 1/4, so probe runs are short.  Invariants: n <= cap; nslots ==
 * 4 * cap (0 before the first add); every id appears once.
 */
#include "log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static size_t idset_slot(const log_idset *s, const char *id)
{
    return (size_t)XXH3_64bits(id, DSR_ULID_LEN) & (s->nslots - 1);
}

int log_idset_find(const log_idset *s, const char *id, uint64_t *seq)
{
    if (!s->n)
        return 0;
    for (size_t i = idset_slot(s, id);; i = (i + 1) & (s->nslots - 1)) {
        uint32_t v = s->slots[i];
        if (!v)
            return 0;
        if (!memcmp(s->ids + (size_t)(v - 1) * DSR_ULID_LEN, id, DSR_ULID_LEN)) {
            *seq = s->seqs[v - 1];
            return 1;
        }
    }
}

static int idset_grow(log_idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    if (cap > UINT32_MAX / 4)
        return DSR_ENOMEM;
    char *ids = realloc(s->ids, cap * DSR_ULID_LEN);
    if (!ids)
        return DSR_ENOMEM;
    s->ids = ids;
    uint64_t *seqs = realloc(s->seqs, cap * sizeof *seqs);
    if (!seqs)
        return DSR_ENOMEM;
    s->seqs = seqs;
    size_t nslots = cap * 4;      /* load factor <= 1/4: short probe runs */
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return DSR_ENOMEM;
    free(s->slots);
    s->slots = slots;
    s->nslots = nslots;
    s->cap = cap;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = idset_slot(s, s->ids + k * DSR_ULID_LEN);
        while (s->slots[i])
            i = (i + 1) & (nslots - 1);
        s->slots[i] = (uint32_t)(k + 1);
    }
    return 0;
}

int log_idset_add(log_idset *s, const char *id, uint64_t seq)
{
    if (s->n == s->cap && idset_grow(s))
        return DSR_ENOMEM;
    assert(s->n < s->cap && s->nslots == 4 * s->cap);
    size_t i = idset_slot(s, id);
    while (s->slots[i])
        i = (i + 1) & (s->nslots - 1);
    memcpy(s->ids + s->n * DSR_ULID_LEN, id, DSR_ULID_LEN);
    s->seqs[s->n] = seq;
    s->n++;
    s->slots[i] = (uint32_t)s->n;
    return 0;
}

void log_idset_clear(log_idset *s)
{
    if (s->n)
        memset(s->slots, 0, s->nslots * sizeof *s->slots);
    s->n = 0;
}

void log_idset_free(log_idset *s)
{
    free(s->ids);
    free(s->seqs);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

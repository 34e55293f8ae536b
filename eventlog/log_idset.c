/*
 * log_idset.c - the set of event_ids appended to a batch that is open or in
 * flight, so a duplicate within it is found without asking RocksDB (which
 * cannot see it yet).
 *
 * The common hash map (strmap) keys each 26-byte id to its 1-based index in
 * seqs.  Invariants: n <= cap; the map holds exactly n ids, each once, and
 * ids[i]'s value is i + 1.  The seqs array is kept between batches.
 */
#include "log.h"
#include "array.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int log_idset_find(const log_idset *s, const char *id, uint64_t *seq)
{
    void **v = strmap_find(&s->map, id, DSR_ULID_LEN);
    if (!v)
        return 0;
    uintptr_t i = (uintptr_t)*v;
    assert(i >= 1 && i <= s->n);
    *seq = s->seqs[i - 1];
    return 1;
}

int log_idset_add(log_idset *s, const char *id, uint64_t seq)
{
    if (ARRAY_RESERVE1(s->seqs, s->n, s->cap, 1024))
        return DSR_ENOMEM;
    int created;
    void **v = strmap_upsert(&s->map, id, DSR_ULID_LEN, &created);
    if (!v)
        return DSR_ENOMEM;
    assert(created);    /* callers look an id up before adding it */
    s->seqs[s->n] = seq;
    *v = (void *)(uintptr_t)++s->n;
    assert(s->map.n == s->n);
    return 0;
}

void log_idset_clear(log_idset *s)
{
    if (s->n)
        strmap_clear(&s->map);
    s->n = 0;
}

void log_idset_free(log_idset *s)
{
    strmap_free(&s->map);
    free(s->seqs);
    memset(s, 0, sizeof *s);
}

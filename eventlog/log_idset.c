/*
 * log_idset.c - the set of event_ids appended to a batch that is open or in
 * flight, so a duplicate within it is found without asking RocksDB (which
 * cannot see it yet).
 *
 * Two parts.  A batch of fresh events adds ULIDs in increasing order (one
 * generator, monotonic), so the ids added while each one is above the one
 * before form a sorted run, kept as plain 26-byte rows and found by binary
 * search: adding one is a copy, not a hash and a map insert, on the path of
 * every scanned file.  The first id that does not continue the run (an
 * import, a derived event with a fixed id) ends it; it and every later id go
 * to the common hash map (strmap), keyed to its 1-based index in seqs.
 *
 * Invariants: n_sorted <= n <= cap; ids[0 .. n_sorted) strictly increase and
 * their seqs are seqs[0 .. n_sorted); the map holds exactly the other
 * n - n_sorted ids, each once, id i's value being i + 1; no id is in both
 * parts.  The arrays are kept between batches.
 */
#include "log.h"
#include "array.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *row(const log_idset *s, size_t i)
{
    return s->ids + i * DSR_ULID_LEN;
}

int log_idset_find(const log_idset *s, const char *id, uint64_t *seq)
{
    size_t lo = 0, hi = s->n_sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(row(s, mid), id, DSR_ULID_LEN);
        if (!c) {
            *seq = s->seqs[mid];
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->n_sorted)
        return 0;
    void **v = strmap_find(&s->map, id, DSR_ULID_LEN);
    if (!v)
        return 0;
    uintptr_t i = (uintptr_t)*v;
    assert(i > s->n_sorted && i <= s->n);
    *seq = s->seqs[i - 1];
    return 1;
}

int log_idset_add(log_idset *s, const char *id, uint64_t seq)
{
    if (ARRAY_RESERVE1(s->seqs, s->n, s->cap, 1024))
        return DSR_ENOMEM;
    if (s->n == s->n_sorted
        && (!s->n || memcmp(id, row(s, s->n - 1), DSR_ULID_LEN) > 0)) {
        if (array_reserve1((void **)&s->ids, s->n_sorted, &s->ids_cap, DSR_ULID_LEN, 1024))
            return DSR_ENOMEM;
        memcpy(s->ids + s->n_sorted * DSR_ULID_LEN, id, DSR_ULID_LEN);
        s->seqs[s->n] = seq;
        s->n_sorted = ++s->n;
        return 0;
    }
    int created;
    void **v = strmap_upsert(&s->map, id, DSR_ULID_LEN, &created);
    if (!v)
        return DSR_ENOMEM;
    assert(created);    /* callers look an id up before adding it */
    s->seqs[s->n] = seq;
    *v = (void *)(uintptr_t)++s->n;
    assert(s->map.n == s->n - s->n_sorted);
    return 0;
}

void log_idset_clear(log_idset *s)
{
    if (s->n > s->n_sorted)
        strmap_clear(&s->map);
    s->n = 0;
    s->n_sorted = 0;
}

void log_idset_free(log_idset *s)
{
    strmap_free(&s->map);
    free(s->seqs);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

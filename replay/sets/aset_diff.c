/*
 * aset_diff.c - the entries two artifact sets disagree on, in one merge walk.
 *
 * Both sets are sorted by (key, path) (aset_sort_unique), so one pass pairs
 * the entries both hold and finds the ones only one side holds.  The drift
 * projection and `dossier diff` both compare sets through here, so "changed",
 * "removed" and "added" mean the same thing in both.
 */
#include "sets.h"

#include <assert.h>
#include <string.h>

static int cmp_entry(const aset_entry *x, const aset_entry *y)
{
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->path, y->path);
}

int aset_diff(const aset *from, const aset *to, aset_diff_fn fn, void *ud)
{
    size_t i = 0, j = 0;
    while (i < from->n || j < to->n) {
        /* sorted and unique on both sides: each step moves at least one */
        assert(i == 0 || i >= from->n || cmp_entry(&from->v[i - 1], &from->v[i]) < 0);
        assert(j == 0 || j >= to->n || cmp_entry(&to->v[j - 1], &to->v[j]) < 0);
        int cmp = i >= from->n ? 1 : j >= to->n ? -1 : cmp_entry(&from->v[i], &to->v[j]);
        int rc = 0;
        if (cmp == 0) {
            if (memcmp(from->v[i].hash, to->v[j].hash, 32))
                rc = fn(ud, ASET_CHANGED, &from->v[i], &to->v[j]);
            i++;
            j++;
        } else if (cmp < 0) {
            rc = fn(ud, ASET_REMOVED, &from->v[i++], NULL);
        } else {
            rc = fn(ud, ASET_ADDED, NULL, &to->v[j++]);
        }
        if (rc)
            return rc;
    }
    return 0;
}

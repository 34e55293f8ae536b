/*
 * aset_diff.c - the entries two artifact sets disagree on, in one merge walk.
 *
 * Both sets are sorted by (key, path) (aset_sort_unique), so one pass pairs
 * the entries both hold and finds the ones only one side holds.  The drift
 * projection and `dossier diff` both compare sets through here, so "changed",
 * "removed" and "added" mean the same thing in both.
 *
 * The walk goes a key at a time: the smaller of the two sides' next keys is
 * the key of the next group, and that group's entries on each side are
 * consecutive.  A key with entries on one side only is reported once more
 * as such (aset_diff_keys: what drift names missing locally / in the
 * baseline), so the keys are compared in the same pass as the entries.
 */
#include "sets.h"

#include <assert.h>
#include <string.h>

#ifndef NDEBUG
static int cmp_entry(const aset_entry *x, const aset_entry *y)
{
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->path, y->path);
}
#endif

/* Whether e's path is the text of its "path:" key (aset_path_key_dup): then
 * two such entries with equal keys have equal paths. */
static int path_in_key(const aset_entry *e)
{
    return e->path == e->key + 5 && !memcmp(e->key, "path:", 5);
}

/* Whether v[i] (i < n) has key k (the text of an entry before it). */
static int has_key(const aset_entry *v, size_t i, size_t n, const char *k)
{
    return i < n && (v[i].key == k || !strcmp(v[i].key, k));
}

/* The entries of key k from v[*i] on, all on one side: reported as kind,
 * then the key.  *i ends past them. */
static int one_side(const aset_entry *v, size_t n, size_t *i, aset_change kind,
                    aset_diff_fn fn, aset_key_fn key_fn, void *ud)
{
    const char *k = v[*i].key;
    int required = 0, rc = 0;
    do {
        const aset_entry *e = &v[(*i)++];
        required |= e->required;
        rc = kind == ASET_REMOVED ? fn(ud, kind, e, NULL) : fn(ud, kind, NULL, e);
    } while (!rc && has_key(v, *i, n, k));
    return rc || !key_fn ? rc : key_fn(ud, kind, k, required);
}

int aset_diff_keys(const aset *from, const aset *to, aset_diff_fn fn, aset_key_fn key_fn,
                   void *ud)
{
    size_t i = 0, j = 0;
    int rc = 0;
    while (!rc && (i < from->n || j < to->n)) {
        /* sorted and unique on both sides: each step moves at least one */
        assert(i == 0 || i >= from->n || cmp_entry(&from->v[i - 1], &from->v[i]) < 0);
        assert(j == 0 || j >= to->n || cmp_entry(&to->v[j - 1], &to->v[j]) < 0);
        int kc = i >= from->n ? 1 : j >= to->n ? -1 : strcmp(from->v[i].key, to->v[j].key);
        if (kc < 0) {
            rc = one_side(from->v, from->n, &i, ASET_REMOVED, fn, key_fn, ud);
            continue;
        }
        if (kc > 0) {
            rc = one_side(to->v, to->n, &j, ASET_ADDED, fn, key_fn, ud);
            continue;
        }
        /* the key's entries on both sides, merged by path */
        const char *kf = from->v[i].key, *kt = to->v[j].key;
        int in_from = 1, in_to = 1;
        while (!rc && (in_from || in_to)) {
            const aset_entry *a = &from->v[i], *b = &to->v[j];
            int cmp = !in_from ? 1 : !in_to ? -1
                    : path_in_key(a) && path_in_key(b) ? 0 : strcmp(a->path, b->path);
            if (cmp == 0) {
                if (memcmp(a->hash, b->hash, 32))
                    rc = fn(ud, ASET_CHANGED, a, b);
                i++;
                j++;
            } else if (cmp < 0) {
                rc = fn(ud, ASET_REMOVED, a, NULL);
                i++;
            } else {
                rc = fn(ud, ASET_ADDED, NULL, b);
                j++;
            }
            in_from = in_from && (cmp <= 0 ? has_key(from->v, i, from->n, kf) : 1);
            in_to = in_to && (cmp >= 0 ? has_key(to->v, j, to->n, kt) : 1);
        }
    }
    return rc;
}

int aset_diff(const aset *from, const aset *to, aset_diff_fn fn, void *ud)
{
    return aset_diff_keys(from, to, fn, NULL, ud);
}

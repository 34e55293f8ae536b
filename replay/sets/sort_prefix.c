/*
 * sort_prefix.c - stable MSD radix sort of (64-bit prefix, index) pairs: the
 * first step of sorting artifact sets and hash lists (aset.c).
 *
 * Why: a replay sorts a set of ~1,000 entries per snapshot by (key, path)
 * and their hashes for the parity hash.  qsort with strcmp/memcmp
 * comparators showed in replay profiles; ordering by 8 distinguishing
 * bytes first, without comparator calls, and comparing full strings only
 * among equal prefixes, costs a fraction of that.
 * Byte order: prefixes are big-endian, so numeric order is the strings'
 * byte order.
 *
 * Algorithm: one counting pass on the most significant byte, then the same
 * for each group of pairs sharing that byte, one byte further, until a group
 * is small (PRE_SMALL: insertion sort) or all 8 bytes are used.  A byte that
 * every pair of a group shares is skipped without moving anything.  A
 * thousand random prefixes take one pass and a few insertions per group,
 * where a least-significant-first sort takes all eight passes.  Both the
 * counting passes and the insertion sort keep equal prefixes in their
 * order, so the sort is stable.
 */
#include "sets.h"
#include "be.h"

#include <assert.h>
#include <string.h>

#define PRE_SMALL 24   /* groups this small are insertion-sorted */

uint64_t pre_of(const char *s, size_t avail)
{
    if (avail >= 8)
        return be_get64(s);   /* the usual case (hashes always): one load */
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (i < avail ? (unsigned char)s[i] : 0u);
    return v;
}

static void insertion_sort(pre_ord *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        pre_ord x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].pre > x.pre; j--)   /* strictly greater: stable */
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Sort v[0..n), whose prefixes agree on every byte above `shift`, by the
 * byte at shift and the ones below it. */
static void msd_sort(pre_ord *v, pre_ord *tmp, size_t n, int shift)
{
    for (; shift >= 0; shift -= 8) {
        if (n <= PRE_SMALL) {
            insertion_sort(v, n);
            return;
        }
        size_t count[256], start[257];
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(v[i].pre >> shift) & 0xff]++;
        if (count[(v[0].pre >> shift) & 0xff] == n)
            continue;   /* every pair has this byte: go on with the next */
        start[0] = 0;
        for (int b = 0; b < 256; b++) {
            start[b + 1] = start[b] + count[b];
            count[b] = start[b];   /* from here on: where the byte's next pair goes */
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(v[i].pre >> shift) & 0xff]++] = v[i];
        memcpy(v, tmp, n * sizeof *v);
        assert(start[256] == n);
        for (int b = 0; b < 256; b++)
            if (start[b + 1] - start[b] > 1)
                msd_sort(v + start[b], tmp + start[b], start[b + 1] - start[b], shift - 8);
        return;
    }
    /* all 8 bytes agree: equal prefixes, already in their order */
}

void pre_sort(pre_ord *v, pre_ord *tmp, size_t n)
{
    if (n > 1)
        msd_sort(v, tmp, n, 56);
}

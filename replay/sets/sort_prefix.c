/*
 * sort_prefix.c - stable LSD radix sort of (64-bit prefix, index) pairs: the
 * first step of sorting artifact sets and hash lists (aset.c).
 *
 * Why: a replay sorts a set of ~1,000 entries per snapshot by (key, path)
 * and their hashes for the parity hash.  qsort with strcmp/memcmp
 * comparators showed in replay profiles; ordering by 8 distinguishing
 * bytes first, without comparator calls, and comparing full strings only
 * among equal prefixes, costs a fraction of that.
 * Byte order: prefixes are big-endian, so numeric order is the strings'
 * byte order.  Passes whose byte is the same in every pair are skipped.
 */
#include "sets.h"

#include <string.h>

uint64_t pre_of(const char *s, size_t avail)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (i < avail ? (unsigned char)s[i] : 0u);
    return v;
}

void pre_sort(pre_ord *v, pre_ord *tmp, size_t n)
{
    size_t count[256];
    pre_ord *from = v, *to = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(from[i].pre >> shift) & 0xff]++;
        if (count[(from[0].pre >> shift) & 0xff] == n)
            continue;   /* every pair has this byte: the pass would not move anything */
        size_t pos = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i].pre >> shift) & 0xff]++] = from[i];
        pre_ord *t = from;
        from = to;
        to = t;
    }
    if (from != v)
        memcpy(v, from, n * sizeof *v);
}

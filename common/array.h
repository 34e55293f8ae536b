/*
 * array.h - growing a heap array by doubling, the one spelling of the
 * "if (n == cap) realloc twice the size" step.
 */
#ifndef DOSSIER_COMMON_ARRAY_H
#define DOSSIER_COMMON_ARRAY_H

#include <stdint.h>
#include <stdlib.h>

#include "dossier/error.h"

/* Make room for one more element in *v (n used of *cap, elements of size
 * elem): when full, double the capacity (first: first_cap).  Returns 0 or
 * DSR_ENOMEM with *v and *cap unchanged. */
static inline int array_reserve1(void **v, size_t n, size_t *cap, size_t elem, size_t first_cap)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : first_cap;
    if (nc < *cap || nc > SIZE_MAX / elem)
        return DSR_ENOMEM;
    void *nv = realloc(*v, nc * elem);
    if (!nv)
        return DSR_ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

/* ARRAY_RESERVE1(p, n, cap, first): the same for a typed pointer p. */
#define ARRAY_RESERVE1(p, n, cap, first) \
    array_reserve1((void **)&(p), (n), &(cap), sizeof *(p), (first))

#endif

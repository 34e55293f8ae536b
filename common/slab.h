/*
 * slab.h - fixed-size, zero-filled objects carved from 2 MiB mappings that
 * ask for transparent huge pages, given back a mapping at a time.
 *
 * For many short-lived blocks of one size that are freed in about the order
 * they were allocated (the scanner's batches of directory entries): one
 * mmap, and with THP one page fault, per 2 MiB instead of an mmap, a munmap
 * and four faults per 16 KiB block.  A mapping is unmapped as soon as every
 * object in it is freed, so memory goes back to the system as promptly as
 * with one mapping per object, at 2 MiB granularity.
 *
 * Not thread-safe: a slab and its objects' alloc/free belong to one thread
 * (other threads may use the objects' memory in between).
 */
#ifndef DOSSIER_SLAB_H
#define DOSSIER_SLAB_H

#include <stddef.h>

typedef struct slab_map slab_map;
typedef struct slab {
    size_t    obj_size;   /* rounded up to 64 bytes */
    slab_map *cur;        /* the mapping objects are carved from */
} slab;

/* Objects of obj_size bytes (at most SLAB_MAX_OBJ); 64-byte aligned. */
#define SLAB_MAX_OBJ (256u << 10)
void  slab_init(slab *s, size_t obj_size);
void *slab_alloc(slab *s);             /* zero-filled; NULL with errno set */
void  slab_free(slab *s, void *obj);   /* NULL is fine */
/* No more allocations for now: the current mapping is unmapped if nothing
 * in it is live, else with its last live object (slab_free).  Allocating
 * again afterwards starts a new mapping. */
void  slab_release(slab *s);

#endif

/*
 * arena.h - a bump allocator: many small allocations, one free.  Used for
 * the strings of a scan result (scanner/scan.c) and of a projection chunk
 * (replay/).  Not thread-safe: an arena belongs to one thread at a time
 * (ar_adopt hands its allocations to another).
 */
#ifndef DOSSIER_ARENA_H
#define DOSSIER_ARENA_H

#include <stddef.h>

typedef struct ar_chunk ar_chunk;
typedef struct arena {
    ar_chunk *head;
} arena;

void *ar_alloc(arena *a, size_t n);                      /* NULL on ENOMEM */
char *ar_strndup(arena *a, const char *s, size_t n);     /* NUL-terminated copy */
char *ar_strdup(arena *a, const char *s);                /* copy of a C string */
char *ar_stralloc(arena *a, size_t n);                   /* n bytes, unaligned (text) */
void  ar_free(arena *a);                                 /* frees everything */
/* Move every allocation of src into dst (src is left empty). */
void  ar_adopt(arena *dst, arena *src);
size_t ar_size(const arena *a);                          /* bytes held */

#endif

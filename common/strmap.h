/*
 * strmap.h - byte-string keyed open-addressing hash map, keys copied into
 * its arena.  One thread at a time.
 */
#ifndef DOSSIER_COMMON_STRMAP_H
#define DOSSIER_COMMON_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "dossier/error.h"

/* ---- strmap.c: byte-string keyed hash map (keys copied into its arena) ---- */
typedef struct strmap_slot {
    const char *key;      /* NULL: empty */
    size_t      klen;
    uint64_t    hash;
    void       *val;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t       n, cap;  /* cap: power of two (or 0) */
    arena        keys;
} strmap;

/* Pointer to the value slot of key, or NULL when absent. */
void **strmap_find(const strmap *m, const void *key, size_t klen);
/* Pointer to the value slot of key, inserting a NULL value when absent
 * (*created = 1).  NULL on ENOMEM. */
void **strmap_upsert(strmap *m, const void *key, size_t klen, int *created);
/* Drop every entry (values are the caller's to free first). */
void   strmap_clear(strmap *m);
void   strmap_free(strmap *m);

#endif

/*
 * arena.c - bump allocator for strings freed all at once: those of a scan
 * result (paths, keys) and of one projection chunk (run entries, decoded
 * sets).  Nothing pays for an individual malloc or free.
 * Invariant: chunks only grow; pointers stay valid until ar_free.
 */
#include "arena.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct ar_chunk {
    ar_chunk *next;
    size_t    used, cap;
    max_align_t data[];
};

/* Chunks start small and double up to AR_MAX_CHUNK, so an arena per scan
 * run costs little for a run of one event and few mallocs for a big one. */
#define AR_FIRST_CHUNK 1024u
#define AR_MAX_CHUNK   (64u * 1024u)

/* n bytes aligned to align (a power of two no larger than max_align_t). */
static void *alloc_aligned(arena *a, size_t n, size_t align)
{
    ar_chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->cap || c->cap - at < n) {
        size_t cap = !c ? AR_FIRST_CHUNK : c->cap < AR_MAX_CHUNK ? c->cap * 2 : AR_MAX_CHUNK;
        if (cap < n)
            cap = n;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
        at = 0;
    }
    void *p = (char *)c->data + at;
    c->used = at + n;
    return p;
}

void *ar_alloc(arena *a, size_t n)
{
    return alloc_aligned(a, n ? n : 1, sizeof(max_align_t));
}

/* Strings need no alignment: packed, short keys and paths take less room
 * than at max_align_t. */
char *ar_stralloc(arena *a, size_t n)
{
    return alloc_aligned(a, n ? n : 1, 1);
}

char *ar_strndup(arena *a, const char *s, size_t n)
{
    char *p = ar_stralloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ar_strdup(arena *a, const char *s)
{
    return ar_strndup(a, s, strlen(s));
}

void ar_free(arena *a)
{
    ar_chunk *c = a->head;
    while (c) {
        ar_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

void ar_adopt(arena *dst, arena *src)
{
    if (!src->head)
        return;
    ar_chunk *tail = src->head;
    while (tail->next)
        tail = tail->next;
    tail->next = dst->head;
    dst->head = src->head;
    src->head = NULL;
}

size_t ar_size(const arena *a)
{
    size_t n = 0;
    for (const ar_chunk *c = a->head; c; c = c->next)
        n += sizeof *c + c->cap;
    return n;
}

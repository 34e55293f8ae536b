/*
 * arena.c - bump allocator for short-lived strings of one projection chunk
 * (run entries, decoded sets).  Everything is freed at once with ar_free, so
 * folding an event never pays for an individual free.
 * Invariant: chunks only grow; pointers stay valid until ar_free.
 */
#include "replay_internal.h"

#include <stdlib.h>
#include <string.h>

struct ar_chunk {
    ar_chunk *next;
    size_t    used, cap;
    max_align_t data[];
};

#define AR_MIN_CHUNK (64u * 1024u)

void *ar_alloc(arena *a, size_t n)
{
    size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    ar_chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > AR_MIN_CHUNK ? need : AR_MIN_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    return p;
}

char *ar_strndup(arena *a, const char *s, size_t n)
{
    char *p = ar_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
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

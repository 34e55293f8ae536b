/*
 * slab.c - see slab.h.  Owns the mappings: each is SLAB_MAP_SIZE bytes,
 * aligned to its size (so an object finds its mapping by masking its
 * address, and the kernel can back it with one huge page), starting with
 * its header; objects are carved from it in order and never reused.
 *
 * Why 2 MiB: a huge page costs far less per byte to fault in than 4 KiB
 * pages, and one mapping replaces many mmap/munmap pairs (the figures are in
 * docs/bench.md, "Figures behind the code").
 */
#include "slab.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define SLAB_MAP_SIZE ((size_t)2 << 20)
#define SLAB_ALIGN    64

struct slab_map {
    size_t used;   /* bytes carved, header included */
    size_t live;   /* objects carved and not freed */
};

#define HDR_SIZE (((sizeof(slab_map) + SLAB_ALIGN - 1) / SLAB_ALIGN) * SLAB_ALIGN)

void slab_init(slab *s, size_t obj_size)
{
    s->obj_size = ((obj_size ? obj_size : 1) + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
    s->cur = NULL;
}

/* A fresh mapping aligned to SLAB_MAP_SIZE: map twice the size, unmap the
 * unaligned head and the tail. */
static slab_map *map_new(void)
{
    size_t len = 2 * SLAB_MAP_SIZE;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + SLAB_MAP_SIZE - 1) & ~(uintptr_t)(SLAB_MAP_SIZE - 1);
    char *start = (char *)a;
    if (start > p)
        munmap(p, (size_t)(start - p));
    char *end = start + SLAB_MAP_SIZE;
    if (end < p + len)
        munmap(end, (size_t)(p + len - end));
#ifdef MADV_HUGEPAGE
    (void)madvise(start, SLAB_MAP_SIZE, MADV_HUGEPAGE);   /* a hint: fine to fail */
#endif
    slab_map *m = (slab_map *)start;        /* zero-filled by the kernel */
    m->used = HDR_SIZE;
    return m;
}

static void map_drop(slab_map *m)
{
    munmap(m, SLAB_MAP_SIZE);
}

void *slab_alloc(slab *s)
{
    if (s->obj_size > SLAB_MAX_OBJ) {
        errno = EINVAL;
        return NULL;
    }
    if (!s->cur || s->cur->used + s->obj_size > SLAB_MAP_SIZE) {
        slab_map *m = map_new();
        if (!m)
            return NULL;
        if (s->cur && s->cur->live == 0)
            map_drop(s->cur);               /* full, and nothing in it is live */
        s->cur = m;
    }
    void *obj = (char *)s->cur + s->cur->used;
    s->cur->used += s->obj_size;
    s->cur->live++;
    return obj;
}

void slab_free(slab *s, void *obj)
{
    if (!obj)
        return;
    slab_map *m = (slab_map *)((uintptr_t)obj & ~(uintptr_t)(SLAB_MAP_SIZE - 1));
    if (--m->live == 0 && m != s->cur)
        map_drop(m);
}

void slab_release(slab *s)
{
    if (s->cur && s->cur->live == 0)
        map_drop(s->cur);
    s->cur = NULL;      /* a mapping with live objects goes with the last one */
}

/*
 * test_slab.c - common/slab.c: objects are zero-filled, aligned, distinct
 * and carved from 2 MiB mappings; a mapping is unmapped once all of its
 * objects are freed (checked with mincore(), which fails with ENOMEM on an
 * address that is not mapped), also after slab_release; oversized objects
 * are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "slab.h"

#define MAP_SIZE ((uintptr_t)2 << 20)

static int is_mapped(const void *p)
{
    unsigned char vec;
    long page = sysconf(_SC_PAGESIZE);
    void *base = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));
    if (mincore(base, (size_t)page, &vec) == 0)
        return 1;
    assert_int_equal(errno, ENOMEM);
    return 0;
}

static uintptr_t map_of(const void *p)
{
    return (uintptr_t)p & ~(MAP_SIZE - 1);
}

static void test_objects_are_zeroed_aligned_and_distinct(void **state)
{
    (void)state;
    slab s;
    slab_init(&s, 16384);
    enum { N = 400 };               /* a little over three mappings' worth */
    unsigned char *obj[N];
    size_t maps = 1;
    for (int i = 0; i < N; i++) {
        obj[i] = slab_alloc(&s);
        assert_non_null(obj[i]);
        assert_int_equal((uintptr_t)obj[i] % 64, 0);
        for (size_t k = 0; k < 16384; k += 512)
            assert_int_equal(obj[i][k], 0);
        memset(obj[i], 0xa5, 16384);          /* no overlap: checked below */
        obj[i][0] = (unsigned char)i;
        if (i && map_of(obj[i]) != map_of(obj[i - 1]))
            maps++;
    }
    assert_int_equal(maps, 4);               /* 127 of 16 KiB per 2 MiB */
    for (int i = 0; i < N; i++) {
        assert_int_equal(obj[i][0], (unsigned char)i);
        assert_int_equal(obj[i][16383], 0xa5);
    }
    for (int i = 0; i < N; i++)
        slab_free(&s, obj[i]);
    slab_release(&s);
    for (int i = 0; i < N; i += 50)
        assert_false(is_mapped(obj[i]));
}

static void test_a_mapping_goes_when_its_last_object_is_freed(void **state)
{
    (void)state;
    slab s;
    slab_init(&s, 100000);                   /* 20 per mapping */
    void *first[20], *next;
    for (int i = 0; i < 20; i++)
        first[i] = slab_alloc(&s);
    next = slab_alloc(&s);                   /* a second mapping */
    assert_non_null(next);
    assert_true(map_of(next) != map_of(first[0]));
    for (int i = 0; i < 19; i++)
        slab_free(&s, first[i]);
    assert_true(is_mapped(first[0]));        /* one object still lives in it */
    slab_free(&s, first[19]);
    assert_false(is_mapped(first[0]));
    assert_true(is_mapped(next));            /* the current one stays */
    slab_free(&s, next);
    assert_true(is_mapped(next));            /* still current: kept for more */
    slab_release(&s);
    assert_false(is_mapped(next));
}

static void test_release_with_live_objects_frees_with_the_last(void **state)
{
    (void)state;
    slab s;
    slab_init(&s, 4096);
    void *a = slab_alloc(&s), *b = slab_alloc(&s);
    assert_non_null(a);
    assert_non_null(b);
    slab_release(&s);
    assert_true(is_mapped(a));
    slab_free(&s, a);
    assert_true(is_mapped(b));
    slab_free(&s, b);
    assert_false(is_mapped(b));
    void *c = slab_alloc(&s);                /* allocating again still works */
    assert_non_null(c);
    slab_free(&s, c);
    slab_free(&s, NULL);
    slab_release(&s);
    assert_false(is_mapped(c));
}

static void test_oversized_objects_are_refused(void **state)
{
    (void)state;
    slab s;
    slab_init(&s, SLAB_MAX_OBJ + 1);
    errno = 0;
    assert_null(slab_alloc(&s));
    assert_int_equal(errno, EINVAL);
    slab_init(&s, SLAB_MAX_OBJ);
    void *p = slab_alloc(&s);
    assert_non_null(p);
    slab_free(&s, p);
    slab_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objects_are_zeroed_aligned_and_distinct),
        cmocka_unit_test(test_a_mapping_goes_when_its_last_object_is_freed),
        cmocka_unit_test(test_release_with_live_objects_frees_with_the_last),
        cmocka_unit_test(test_oversized_objects_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

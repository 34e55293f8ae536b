/*
 * test_pathset.c - common/pathset.c: a member stands for itself and all
 * below it; nested members and duplicates are merged; a path is "above"
 * when a member lies below it (by component, not by string prefix: "a" is
 * not above "ab" nor "a-b"); the root "" holds everything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pathset.h"

typedef struct where_case {
    const char *rel;
    int         want;
} where_case;

static void check(const char *const *paths, size_t n, const where_case *cases, size_t nc)
{
    pathset s;
    assert_int_equal(pathset_make(&s, paths, n), 0);
    for (size_t i = 0; i < nc; i++)
        if (pathset_where(&s, cases[i].rel) != cases[i].want)
            fail_msg("'%s': where %d, expected %d", cases[i].rel,
                     pathset_where(&s, cases[i].rel), cases[i].want);
    pathset_free(&s);
}

static void test_members_cover_what_lies_below_them(void **state)
{
    (void)state;
    const char *p[] = { "notes/n1.md", "d1/d2" };
    const where_case c[] = {
        { "notes/n1.md", PATHSET_IN },  { "d1/d2", PATHSET_IN },
        { "d1/d2/d3/f.txt", PATHSET_IN }, { "notes/n1.md/x", PATHSET_IN },
        { "", PATHSET_ABOVE },          { "notes", PATHSET_ABOVE }, { "d1", PATHSET_ABOVE },
        { "notes/n2.md", PATHSET_OUT }, { "d1/d2x", PATHSET_OUT },  { "d1/d", PATHSET_OUT },
        { "d1-x", PATHSET_OUT },        { "notes.md", PATHSET_OUT }, { "zz", PATHSET_OUT },
    };
    check(p, 2, c, sizeof c / sizeof *c);
}

static void test_above_goes_by_component_not_by_string_prefix(void **state)
{
    (void)state;
    /* strcmp puts "a-b" and "a.c" between "a" and "a/b" */
    const char *p[] = { "a-b", "a.c", "a/b", "ab" };
    const where_case c[] = {
        { "a", PATHSET_ABOVE }, { "a/b", PATHSET_IN }, { "a-b", PATHSET_IN },
        { "a/c", PATHSET_OUT }, { "a-", PATHSET_OUT }, { "ab/x", PATHSET_IN },
    };
    check(p, 4, c, sizeof c / sizeof *c);
}

static void test_nested_members_and_duplicates_merge(void **state)
{
    (void)state;
    const char *p[] = { "x/y/z", "x", "x/y", "w", "w", "x-1/q" };
    pathset s;
    assert_int_equal(pathset_make(&s, p, 6), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0], "w");
    assert_string_equal(s.v[1], "x");
    assert_string_equal(s.v[2], "x-1/q");
    pathset_free(&s);
}

static void test_the_root_holds_everything(void **state)
{
    (void)state;
    const char *p[] = { "a/b", "" };
    const where_case c[] = { { "", PATHSET_IN }, { "q", PATHSET_IN }, { "a/b/c", PATHSET_IN } };
    check(p, 2, c, sizeof c / sizeof *c);
}

static void test_an_empty_set_holds_nothing(void **state)
{
    (void)state;
    const where_case c[] = { { "", PATHSET_OUT }, { "a", PATHSET_OUT } };
    check(NULL, 0, c, sizeof c / sizeof *c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_cover_what_lies_below_them),
        cmocka_unit_test(test_above_goes_by_component_not_by_string_prefix),
        cmocka_unit_test(test_nested_members_and_duplicates_merge),
        cmocka_unit_test(test_the_root_holds_everything),
        cmocka_unit_test(test_an_empty_set_holds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

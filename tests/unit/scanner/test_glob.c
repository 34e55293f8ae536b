/*
 * test_glob.c - dsr_glob_match: '*' and '?' stay inside one segment, '[...]'
 * classes with ranges and negation, '**' spans zero or more segments, dots
 * and escapes are literal.  Table driven: every row states pattern, path and
 * the expected answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "dossier/manifest.h"

typedef struct row {
    const char *pattern, *path;
    int want;
} row;

static void run_table(const row *t, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        int got = dsr_glob_match(t[i].pattern, t[i].path);
        if (got != t[i].want) {
            print_error("glob '%s' vs '%s': got %d, want %d\n", t[i].pattern, t[i].path, got,
                        t[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

#define RUN(t) run_table(t, sizeof t / sizeof t[0])

static void test_literal_patterns_match_only_the_same_path(void **state)
{
    (void)state;
    static const row t[] = {
        { "spec.md", "spec.md", 1 },
        { "spec.md", "spec.mdx", 0 },
        { "spec.md", "xspec.md", 0 },
        { "spec.md", "docs/spec.md", 0 },
        { "docs/spec.md", "docs/spec.md", 1 },
        { "docs/spec.md", "docs/spec.md/x", 0 },
        { "Spec.md", "spec.md", 0 },                 /* case-sensitive */
    };
    RUN(t);
}

static void test_star_and_question_never_cross_a_slash(void **state)
{
    (void)state;
    static const row t[] = {
        { "*.md", "plan.md", 1 },
        { "*.md", "tasks/WP01.md", 0 },
        { "tasks/*.md", "tasks/WP01-x.md", 1 },
        { "tasks/*.md", "tasks/sub/WP01.md", 0 },
        { "tasks/WP*.md", "tasks/WP01-walk.md", 1 },
        { "tasks/WP*.md", "tasks/wp01.md", 0 },
        { "*", "anything", 1 },
        { "*", "a/b", 0 },
        { "*/*", "a/b", 1 },
        { "a*b*c", "aXXbYYc", 1 },
        { "a*b*c", "abc", 1 },
        { "a*b*c", "acb", 0 },
        { "*x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaay", 0 },
        { "WP??.md", "WP04.md", 1 },
        { "WP??.md", "WP4.md", 0 },
        { "a?c", "a/c", 0 },
        { "***.md", "x.md", 1 },
        { "tasks/", "tasks", 0 },
    };
    RUN(t);
}

static void test_double_star_spans_zero_or_more_segments(void **state)
{
    (void)state;
    static const row t[] = {
        { "**/x.md", "x.md", 1 },
        { "**/x.md", "a/x.md", 1 },
        { "**/x.md", "a/b/c/x.md", 1 },
        { "**/x.md", "a/b/y.md", 0 },
        { "a/**/b", "a/b", 1 },
        { "a/**/b", "a/x/b", 1 },
        { "a/**/b", "a/x/y/b", 1 },
        { "a/**/b", "a/x/y/c", 0 },
        { "evidence/**", "evidence/run-1/out.log", 1 },
        { "evidence/**", "evidence/a", 1 },
        { "evidence/**", "evidence", 0 },             /* only what is below */
        { "evidence/**", "evidencex/a", 0 },
        { "**", "a/b/c", 1 },
        { "**/*.log", "evidence/run-1/out.log", 1 },
        { "**/*.log", "out.log", 1 },
        { "a/**/**/b", "a/b", 1 },
        { "a/**/b/**/c", "a/1/b/2/3/c", 1 },
        { "a**b", "a/b", 0 },                          /* not a whole segment: like '*' */
        { "a**b", "axxb", 1 },
    };
    RUN(t);
}

static void test_brackets_support_ranges_negation_and_literal_close(void **state)
{
    (void)state;
    static const row t[] = {
        { "WP[0-9][0-9].md", "WP04.md", 1 },
        { "WP[0-9][0-9].md", "WPx4.md", 0 },
        { "[abc].txt", "b.txt", 1 },
        { "[abc].txt", "d.txt", 0 },
        { "[!abc].txt", "d.txt", 1 },
        { "[!abc].txt", "a.txt", 0 },
        { "[^abc].txt", "a.txt", 0 },
        { "[]x].txt", "].txt", 1 },
        { "[]x].txt", "x.txt", 1 },
        { "[a-].txt", "-.txt", 1 },
        { "a[/]b", "a/b", 0 },                         /* never matches '/' */
        { "[a-c", "[a-c", 1 },                         /* unterminated: literal '[' */
        { "[a-c", "b", 0 },
    };
    RUN(t);
}

static void test_dots_and_escapes_are_literal(void **state)
{
    (void)state;
    static const row t[] = {
        { "*.md", "a.b.md", 1 },
        { "*.md", "amd", 0 },
        { "spec.md", "specxmd", 0 },
        { "?.md", "..md", 1 },                          /* '?' matches a dot */
        { "a\\*b", "a*b", 1 },
        { "a\\*b", "axb", 0 },
        { "a\\?", "a?", 1 },
        { "*.tar.gz", "x.tar.gz", 1 },
        { "*.tar.gz", "x.tar", 0 },
    };
    RUN(t);
}

static void test_empty_pattern_or_path_matches_nothing(void **state)
{
    (void)state;
    assert_int_equal(dsr_glob_match("", ""), 0);
    assert_int_equal(dsr_glob_match("", "a"), 0);
    assert_int_equal(dsr_glob_match("a", ""), 0);
    assert_int_equal(dsr_glob_match(NULL, "a"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_patterns_match_only_the_same_path),
        cmocka_unit_test(test_star_and_question_never_cross_a_slash),
        cmocka_unit_test(test_double_star_spans_zero_or_more_segments),
        cmocka_unit_test(test_brackets_support_ranges_negation_and_literal_close),
        cmocka_unit_test(test_dots_and_escapes_are_literal),
        cmocka_unit_test(test_empty_pattern_or_path_matches_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

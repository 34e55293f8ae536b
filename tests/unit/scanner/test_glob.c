/*
 * test_glob.c - dsr_glob_match: '*' and '?' stay inside one segment, '[...]'
 * classes with ranges and negation, '**' spans zero or more segments, dots
 * and escapes are literal.  Table driven: every row states pattern, path and
 * the expected answer.  Also: many "**" against a deep path finish at once
 * (issue 17 item 11: the recursive matcher backtracked exponentially), and
 * random patterns agree with a plain recursive reference of the same rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/time.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- "**" at scale ------------------------------------------------------ */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_glob: a pattern with many '**' did not finish in 20 CPU "
                              "seconds (exponential backtracking)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

/* a double star, then k times "/a/" and a double star, then "/b", against a/a/.../a (depth segments). */
static void deep_case(int k, int depth, char *pat, size_t pn, char *path, size_t sn)
{
    size_t o = 0;
    o += (size_t)snprintf(pat + o, pn - o, "**");
    for (int i = 0; i < k; i++)
        o += (size_t)snprintf(pat + o, pn - o, "/a/**");
    snprintf(pat + o, pn - o, "/b");
    o = 0;
    for (int i = 0; i < depth; i++)
        o += (size_t)snprintf(path + o, sn - o, "%sa", i ? "/" : "");
}

static void test_many_double_stars_against_a_deep_path_finish_at_once(void **state)
{
    (void)state;
    char pat[256], path[512];
    /* eight "**" and a 100-segment path: the old matcher tried every way
     * to split the path among them; a watchdog on CPU time (a loaded
     * machine stretches the clock, not the work), not a timing assertion */
    signal(SIGPROF, on_alarm);
    struct itimerval it = { .it_value = { .tv_sec = 20 } };
    setitimer(ITIMER_PROF, &it, NULL);
    deep_case(7, 100, pat, sizeof pat, path, sizeof path);
    assert_int_equal(dsr_glob_match(pat, path), 0);           /* no 'b' at the end */
    size_t n = strlen(path);
    memcpy(path + n - 1, "b", 2);                               /* a/a/.../b */
    assert_int_equal(dsr_glob_match(pat, path), 1);
    deep_case(40, 100, pat, sizeof pat, path, sizeof path);
    assert_int_equal(dsr_glob_match(pat, path), 0);
    it.it_value.tv_sec = 0;
    setitimer(ITIMER_PROF, &it, NULL);
    signal(SIGPROF, SIG_DFL);
}

/* ---- agreement with a recursive reference ----------------------------- */

static const char *seg_end(const char *s)
{
    const char *e = strchr(s, '/');
    return e ? e : s + strlen(s);
}

/* One pattern segment against one path segment, through the matcher
 * itself (neither holds a '/', so '*' semantics are the segment's). */
static int ref_segment(const char *p, const char *pe, const char *s, const char *se)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "%.*s", (int)(pe - p), p);
    snprintf(b, sizeof b, "%.*s", (int)(se - s), s);
    return dsr_glob_match(a, b);
}

/* The rules written out directly: a "**" with more pattern after it
 * takes zero or more segments, a trailing one one or more, every other
 * segment exactly one. */
static int ref_match(const char *p, const char *s)
{
    const char *pe = seg_end(p), *se = seg_end(s);
    if (pe - p == 2 && p[0] == '*' && p[1] == '*') {
        if (!*pe)
            return 1;
        for (const char *t = s;;) {
            if (ref_match(pe + 1, t))
                return 1;
            const char *te = seg_end(t);
            if (!*te)
                return 0;
            t = te + 1;
        }
    }
    if (!ref_segment(p, pe, s, se))
        return 0;
    if (!*pe || !*se)
        return !*pe && !*se;
    return ref_match(pe + 1, se + 1);
}

static void test_random_patterns_agree_with_the_recursive_rules(void **state)
{
    (void)state;
    static const char *const pseg[] = { "a", "b", "*", "**", "?", "a*", "*b", "[ab]" };
    static const char *const sseg[] = { "a", "b", "ab", "ba" };
    unsigned seed = 17;
    int failures = 0;
    for (int round = 0; round < 20000 && failures < 5; round++) {
        char pat[128] = "", path[128] = "";
        int np = 1 + rand_r(&seed) % 6, ns = 1 + rand_r(&seed) % 7;
        for (int i = 0; i < np; i++) {
            strcat(pat, i ? "/" : "");
            strcat(pat, pseg[rand_r(&seed) % 8]);
        }
        for (int i = 0; i < ns; i++) {
            strcat(path, i ? "/" : "");
            strcat(path, sseg[rand_r(&seed) % 4]);
        }
        int want = ref_match(pat, path), got = dsr_glob_match(pat, path);
        if (got != want) {
            print_error("glob '%s' vs '%s': got %d, reference %d\n", pat, path, got, want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
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
        cmocka_unit_test(test_many_double_stars_against_a_deep_path_finish_at_once),
        cmocka_unit_test(test_random_patterns_agree_with_the_recursive_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ignore.c - exclusion rules (scanner/ignore.c): gitignore syntax
 * (comments, blanks, escapes, trailing spaces, '!', "dir/", anchored "/x",
 * a '/' in the middle, "**"), the last matching rule decides, --exclude
 * rules decide before the files, a nested file's rules apply below its
 * folder only and leave with it, bad files are refused naming FILE:LINE,
 * and many rules against a deep path finish at once.  Table driven: every
 * row states the ignore file, the path and the verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ignore.h"

enum { N = IGNORE_NONE, X = IGNORE_EXCLUDED, I = IGNORE_INCLUDED };

typedef struct row {
    const char *file;      /* the root's .dossierignore */
    const char *path;
    int         is_dir;
    int         want;
} row;

static void run_table(const row *t, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        ignore_set s;
        ignore_init(&s);
        dsr_err err;
        dsr_err_clear(&err);
        int rc = ignore_parse(&s, "", ".dossierignore", t[i].file, strlen(t[i].file), &err);
        int got = rc ? -1 : (int)ignore_match(&s, t[i].path, t[i].is_dir, NULL);
        if (got != t[i].want) {
            print_error("row %zu: rules \"%s\" vs %s '%s': got %d, want %d (%s)\n", i,
                        t[i].file, t[i].is_dir ? "folder" : "file", t[i].path, got, t[i].want,
                        err.msg);
            failures++;
        }
        ignore_free(&s);
    }
    assert_int_equal(failures, 0);
}

#define RUN(t) run_table(t, sizeof t / sizeof t[0])

static void test_a_name_pattern_matches_at_any_depth(void **state)
{
    (void)state;
    static const row t[] = {
        { "build\n", "build", 1, X },
        { "build\n", "a/b/build", 1, X },
        { "build\n", "build", 0, X },            /* a file of that name too */
        { "build\n", "builds", 1, N },
        { "*.log\n", "x.log", 0, X },
        { "*.log\n", "deep/er/x.log", 0, X },
        { "*.log\n", "x.log.txt", 0, N },
        { "?.o\n", "a/b.o", 0, X },
        { "[ab].o\n", "c.o", 0, N },
        { "[!ab].o\n", "c.o", 0, X },
    };
    RUN(t);
}

static void test_a_slash_anchors_the_pattern_to_the_folder(void **state)
{
    (void)state;
    static const row t[] = {
        { "/build\n", "build", 1, X },
        { "/build\n", "src/build", 1, N },
        { "doc/frotz\n", "doc/frotz", 0, X },
        { "doc/frotz\n", "a/doc/frotz", 0, N },
        { "doc/*.md\n", "doc/a.md", 0, X },
        { "doc/*.md\n", "doc/sub/a.md", 0, N },  /* '*' never crosses '/' */
        { "**/logs\n", "logs", 1, X },
        { "**/logs\n", "a/b/logs", 1, X },
        { "a/**/b\n", "a/b", 0, X },
        { "a/**/b\n", "a/x/y/b", 0, X },
        { "a/**\n", "a/x/y", 0, X },
        { "a/**\n", "a", 1, N },                  /* what is inside, not a itself */
    };
    RUN(t);
}

static void test_a_trailing_slash_matches_folders_only(void **state)
{
    (void)state;
    static const row t[] = {
        { "out/\n", "out", 1, X },
        { "out/\n", "out", 0, N },
        { "out/\n", "x/out", 1, X },
        { "/out/\n", "x/out", 1, N },
    };
    RUN(t);
}

static void test_the_last_matching_rule_decides_and_bang_includes_again(void **state)
{
    (void)state;
    static const row t[] = {
        { "*.log\n!keep.log\n", "keep.log", 0, I },
        { "*.log\n!keep.log\n", "drop.log", 0, X },
        { "!keep.log\n*.log\n", "keep.log", 0, X },
        { "*.log\n!*.log\n*.log\n", "a.log", 0, X },
        { "!x\n", "x", 0, I },
    };
    RUN(t);
}

static void test_comments_blanks_escapes_and_trailing_spaces(void **state)
{
    (void)state;
    static const row t[] = {
        { "# a comment\n\n   \n", "# a comment", 0, N },
        { "\\#lit\n", "#lit", 0, X },
        { "\\!bang\n", "!bang", 0, X },
        { "trail   \n", "trail", 0, X },
        { "trail\\ \n", "trail ", 0, X },
        { "trail\\ \n", "trail", 0, N },
        { "crlf\r\n", "crlf", 0, X },
        { "no-newline-at-end", "no-newline-at-end", 0, X },
        { "a\\*b\n", "a*b", 0, X },
        { "a\\*b\n", "axb", 0, N },
    };
    RUN(t);
}

static void test_bad_files_are_refused_naming_file_and_line(void **state)
{
    (void)state;
    static const struct { const char *text; size_t len; const char *want; } t[] = {
        { "ok\n!\n", 5, "m/.dossierignore:2: empty pattern" },
        { "ok\n/\n", 5, "m/.dossierignore:2: empty pattern" },
        { "ok\n\xff\xfe\n", 6, "m/.dossierignore:2: not valid UTF-8" },
        { "a\nb\0c\n", 6, "m/.dossierignore:2: NUL byte" },
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ignore_set s;
        ignore_init(&s);
        dsr_err err;
        dsr_err_clear(&err);
        int rc = ignore_parse(&s, "", "m/.dossierignore", t[i].text, t[i].len, &err);
        if (rc != DSR_EINVAL || strncmp(err.msg, t[i].want, strlen(t[i].want)) != 0
            || s.files.n != 0) {
            print_error("case %zu: rc %d, message '%s', %zu rules kept; want '%s...'\n", i,
                        rc, err.msg, s.files.n, t[i].want);
            failures++;
        }
        ignore_free(&s);
    }
    assert_int_equal(failures, 0);
}

static void test_exclude_options_decide_before_the_files(void **state)
{
    (void)state;
    ignore_set s;
    ignore_init(&s);
    dsr_err err;
    const char file[] = "!*.tmp\n";
    assert_int_equal(ignore_parse(&s, "", ".dossierignore", file, strlen(file), &err), 0);
    assert_int_equal(ignore_add_cli(&s, "*.tmp", &err), 0);
    const ignore_rule *r;
    assert_int_equal(ignore_match(&s, "a.tmp", 0, &r), IGNORE_EXCLUDED);
    assert_string_equal(r->src, "--exclude");
    /* a '!' option re-includes what a file excludes */
    assert_int_equal(ignore_add_cli(&s, "!keep/", &err), 0);
    const char more[] = "keep/\n";
    assert_int_equal(ignore_parse(&s, "", ".dossierignore", more, strlen(more), &err), 0);
    assert_int_equal(ignore_match(&s, "keep", 1, NULL), IGNORE_INCLUDED);
    /* blank, comment and empty patterns are refused, named */
    assert_int_equal(ignore_add_cli(&s, "# x", &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "'# x'"));
    assert_int_equal(ignore_add_cli(&s, "!/", &err), DSR_EINVAL);
    ignore_free(&s);
}

static void test_nested_rules_apply_below_their_folder_and_pop(void **state)
{
    (void)state;
    ignore_set s;
    ignore_init(&s);
    dsr_err err;
    const char root[] = "*.o\n";
    const char sub[] = "!keep.o\n/local\nname\n";
    assert_int_equal(ignore_parse(&s, "", ".dossierignore", root, strlen(root), &err), 0);
    size_t mark = ignore_mark(&s);
    assert_int_equal(ignore_parse(&s, "a/b", "a/b/.dossierignore", sub, strlen(sub), &err), 0);
    const ignore_rule *r;
    assert_int_equal(ignore_match(&s, "a/b/keep.o", 0, NULL), IGNORE_INCLUDED);
    assert_int_equal(ignore_match(&s, "a/b/c/keep.o", 0, NULL), IGNORE_INCLUDED);
    assert_int_equal(ignore_match(&s, "a/b/x.o", 0, NULL), IGNORE_EXCLUDED);
    assert_int_equal(ignore_match(&s, "a/b/local", 0, &r), IGNORE_EXCLUDED);   /* anchored at a/b */
    assert_string_equal(r->src, "a/b/.dossierignore:2");
    assert_int_equal(ignore_match(&s, "a/b/c/local", 0, NULL), IGNORE_NONE);
    assert_int_equal(ignore_match(&s, "a/b/c/name", 0, NULL), IGNORE_EXCLUDED);
    ignore_pop(&s, mark);
    assert_int_equal(ignore_match(&s, "a/keep.o", 0, NULL), IGNORE_EXCLUDED);
    assert_int_equal(ignore_match(&s, "a/name", 0, NULL), IGNORE_NONE);
    ignore_free(&s);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "many rules against a deep path did not finish in 10 s\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

/* 2000 hostile rules ("**" chains and star runs) against a 400-segment
 * path: each is one dsr_glob_match, bounded by pattern x path, so the whole
 * verdict takes milliseconds; exponential backtracking would not finish. */
static void test_many_hostile_rules_against_a_deep_path_finish_at_once(void **state)
{
    (void)state;
    ignore_set s;
    ignore_init(&s);
    dsr_err err;
    char pat[512];
    for (int i = 0; i < 2000; i++) {
        size_t n = 0;
        for (int k = 0; k < 30; k++)
            n += (size_t)snprintf(pat + n, sizeof pat - n, i % 2 ? "**/" : "*a*a*/");
        snprintf(pat + n, sizeof pat - n, "nomatch%d", i);
        assert_int_equal(ignore_add_cli(&s, pat, &err), 0);
    }
    char *path = malloc(400 * 32);
    assert_non_null(path);
    size_t n = 0;
    for (int k = 0; k < 400; k++)
        n += (size_t)sprintf(path + n, "%saaaaaaaaaaaaaaaaaaaa", k ? "/" : "");
    signal(SIGALRM, on_alarm);
    alarm(10);
    assert_int_equal(ignore_match(&s, path, 0, NULL), IGNORE_NONE);
    alarm(0);
    free(path);
    ignore_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_name_pattern_matches_at_any_depth),
        cmocka_unit_test(test_a_slash_anchors_the_pattern_to_the_folder),
        cmocka_unit_test(test_a_trailing_slash_matches_folders_only),
        cmocka_unit_test(test_the_last_matching_rule_decides_and_bang_includes_again),
        cmocka_unit_test(test_comments_blanks_escapes_and_trailing_spaces),
        cmocka_unit_test(test_bad_files_are_refused_naming_file_and_line),
        cmocka_unit_test(test_exclude_options_decide_before_the_files),
        cmocka_unit_test(test_nested_rules_apply_below_their_folder_and_pop),
        cmocka_unit_test(test_many_hostile_rules_against_a_deep_path_finish_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

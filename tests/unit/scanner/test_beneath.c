/*
 * test_beneath.c - beneath_open and its component-by-component fallback
 * open paths below a folder and refuse any symlink on the way (ELOOP), an
 * absolute path or ".." (EXDEV); both give the same answers.  Everything
 * lives in the test's own temporary folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"

typedef int (*open_fn)(int dirfd, const char *path, int flags);

typedef struct row {
    const char *path;
    int         want_errno;   /* 0: opens */
} row;

static void check_table(open_fn fn, const char *fn_name, int root, const row *t, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        errno = 0;
        int fd = fn(root, t[i].path, O_RDONLY | O_CLOEXEC);
        int got = fd >= 0 ? 0 : errno;
        if (fd >= 0)
            close(fd);
        if (got != t[i].want_errno) {
            print_error("%s('%s'): errno %d (%s), want %d\n", fn_name, t[i].path, got,
                        got ? strerror(got) : "opened", t[i].want_errno);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_links_on_the_path_are_refused_by_both_ways(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/dossier-beneath-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char p[256], cmd[320];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -p m/a/b out && echo in > m/a/b/f && echo out > out/f "
             "&& ln -s a m/la && ln -s ../out m/lout && ln -s b/f m/a/lf", tmpl);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s/m", tmpl);
    int root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(root >= 0);
    static const row t[] = {
        { "a/b/f", 0 },
        { "a/b", 0 },
        { "la/b/f", ELOOP },        /* a link to an inside folder is refused too */
        { "lout/f", ELOOP },
        { "a/lf", ELOOP },          /* the last component */
        { "../m/a/b/f", EXDEV },    /* out of the folder */
        { "a/b/missing", ENOENT },
        { "a/b/f/x", ENOTDIR },
    };
    check_table(beneath_open, "beneath_open", root, t, sizeof t / sizeof *t);
    check_table(beneath_open_by_components, "beneath_open_by_components", root, t,
                sizeof t / sizeof *t);
    /* absolute paths: openat2 says EXDEV; the walk refuses them itself */
    snprintf(p, sizeof p, "%s/m/a/b/f", tmpl);
    int fd = beneath_open_by_components(root, p, O_RDONLY);
    assert_int_equal(fd, -1);
    assert_int_equal(errno, EXDEV);
    if (beneath_have_openat2()) {
        assert_int_equal(beneath_open(root, p, O_RDONLY), -1);
        assert_int_equal(errno, EXDEV);
    }
    /* O_PATH opens keep working (the walker stats link targets that way) */
    fd = beneath_open(root, "a/b/f", O_PATH | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    close(fd);
    close(root);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links_on_the_path_are_refused_by_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

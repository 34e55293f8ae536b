/*
 * test_tmp.c - temporary folders and logs for unit tests (see test_tmp.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmp.h"

char *tt_mkdtemp(const char *tag)
{
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/dossier-%s-XXXXXX", tag);
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *copy = strdup(d);
    assert_non_null(copy);
    return copy;
}

void tt_rm_rf(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

char *tt_mission(const char *tag, char *root, size_t n)
{
    char *dir = tt_mkdtemp(tag);
    int len = snprintf(root, n, "%s/m", dir);
    assert_true(len > 0 && (size_t)len < n);
    assert_int_equal(mkdir(root, 0700), 0);
    return dir;
}

int tt_mission_teardown(void **state)
{
    /* a pointer to a struct, converted, points to its first member */
    char **dir = *state;
    assert_non_null(dir);
    tt_rm_rf(*dir);
    free(*state);
    return 0;
}

void tt_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("open %s for writing", path);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

void tt_put(const char *dir, const char *rel, const char *text)
{
    char p[1024];
    int len = snprintf(p, sizeof p, "%s/%s", dir, rel);
    assert_true(len > 0 && (size_t)len < sizeof p);
    /* the folders of rel below dir, as needed */
    for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            fail_msg("mkdir %s", p);
        *s = '/';
    }
    tt_write(p, text);
}

void tt_remove(const char *dir, const char *rel)
{
    char p[1024];
    int len = snprintf(p, sizeof p, "%s/%s", dir, rel);
    assert_true(len > 0 && (size_t)len < sizeof p);
    if (unlink(p) != 0)
        fail_msg("unlink %s", p);
}

size_t tt_tables(const char *dir, tt_table *out, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        struct stat st;
        if (len < 5 || len >= sizeof out->name || strcmp(de->d_name + len - 4, ".sst") ||
            fstatat(dirfd(d), de->d_name, &st, 0) != 0)
            continue;
        if (n < cap) {
            memcpy(out[n].name, de->d_name, len + 1);
            out[n].size = (long long)st.st_size;
        }
        n++;
    }
    closedir(d);
    return n;
}

dsr_log *tt_log_open(const char *dir, unsigned flags)
{
    dsr_log *log = NULL;
    dsr_err err = {0};
    if (dsr_log_open(&log, dir, flags, &err))
        fail_msg("open %s: %s", dir, err.msg);
    return log;
}

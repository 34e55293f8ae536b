/*
 * hash_fixture.c - the scanner hashing tests' fixture (see hash_fixture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash_fixture.h"

int hf_setup(void **state, const char *tag)
{
    hash_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dfd = -1;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/dossier-%s-XXXXXX", tag);
    if (!mkdtemp(f->dir))
        return -1;
    f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    dsr_err err;
    f->h = hasher_create(&err);
    return f->dfd >= 0 && f->h ? 0 : -1;
}

int hf_teardown(void **state)
{
    hash_fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    if (f->dfd >= 0)
        close(f->dfd);
    hasher_free(f->h);
    free(f);
    return rc == 0 ? 0 : -1;
}

void hf_write_file(hash_fixture *f, const char *name, const void *data, size_t n)
{
    int fd = openat(f->dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    const unsigned char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

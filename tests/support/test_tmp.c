/*
 * test_tmp.c - temporary folders and logs for unit tests (see test_tmp.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

dsr_log *tt_log_open(const char *dir, unsigned flags)
{
    dsr_log *log = NULL;
    dsr_err err = {0};
    if (dsr_log_open(&log, dir, flags, &err))
        fail_msg("open %s: %s", dir, err.msg);
    return log;
}

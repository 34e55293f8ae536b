/*
 * test_tmp.h - temporary folders and logs for unit tests (cmocka asserts on
 * failure, so callers need no error handling).
 */
#ifndef DOSSIER_TEST_TMP_H
#define DOSSIER_TEST_TMP_H

#include <stddef.h>

#include "dossier/log.h"

/* A new empty directory /tmp/dossier-<tag>-XXXXXX; malloc'd path. */
char    *tt_mkdtemp(const char *tag);
/* Remove dir recursively and free the path. */
void     tt_rm_rf(char *dir);
/* A new /tmp/dossier-<tag>-XXXXXX holding an empty mission folder "m":
 * root gets that folder's path (n bytes at the most); returns the malloc'd
 * temp folder, for tt_rm_rf. */
char    *tt_mission(const char *tag, char *root, size_t n);
/* cmocka teardown of a malloc'd fixture whose first member is the char *
 * tt_mission returned: removes that folder, then frees the fixture. */
int      tt_mission_teardown(void **state);
/* Create or replace the file path with text. */
void     tt_write(const char *path, const char *text);
/* tt_write of dir/rel, creating the folders of rel below dir. */
void     tt_put(const char *dir, const char *rel, const char *text);
/* Remove the file dir/rel. */
void     tt_remove(const char *dir, const char *rel);
/* dsr_log_open(dir, flags) or fail the test with the error message. */
dsr_log *tt_log_open(const char *dir, unsigned flags);

/* A table file of a log folder. */
typedef struct tt_table {
    char      name[32];   /* e.g. "000042.sst" */
    long long size;
} tt_table;
/* The table files (*.sst) in dir: out[] gets up to cap of them; returns
 * how many there are. */
size_t   tt_tables(const char *dir, tt_table *out, size_t cap);

#endif

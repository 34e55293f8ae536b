/*
 * test_tmp.h - temporary folders and logs for unit tests (cmocka asserts on
 * failure, so callers need no error handling).
 */
#ifndef DOSSIER_TEST_TMP_H
#define DOSSIER_TEST_TMP_H

#include "dossier/log.h"

/* A new empty directory /tmp/dossier-<tag>-XXXXXX; malloc'd path. */
char    *tt_mkdtemp(const char *tag);
/* Remove dir recursively and free the path. */
void     tt_rm_rf(char *dir);
/* dsr_log_open(dir, flags) or fail the test with the error message. */
dsr_log *tt_log_open(const char *dir, unsigned flags);

#endif

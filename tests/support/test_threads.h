/*
 * test_threads.h - how many threads this process runs now, for tests that
 * check which code paths start threads (cmocka asserts on failure).
 */
#ifndef DOSSIER_TEST_THREADS_H
#define DOSSIER_TEST_THREADS_H

#include <stddef.h>

/* Threads of this process (/proc/self/task); with name, only those whose
 * name (comm, as pthread_setname_np sets it) is name. */
size_t tt_threads(const char *name);

#endif

/*
 * malloc_policy.h - glibc malloc tuning for bulk commands (see malloc_policy.c
 * for the measurements behind it and when it stays off).
 */
#ifndef DOSSIER_MALLOC_POLICY_H
#define DOSSIER_MALLOC_POLICY_H

/* 1 when malloc_policy_reexec() would re-execute this process: glibc, no
 * sanitizer or valgrind, DOSSIER_MALLOC_POLICY is not "default", and
 * GLIBC_TUNABLES names no glibc.malloc tunable yet.  Reads the environment
 * only. */
int malloc_policy_wanted(void);

/* Re-executes /proc/self/exe with argv and GLIBC_TUNABLES extended by the
 * bulk-work malloc tunables, when malloc_policy_wanted().  Returns only
 * when it did not re-execute (then nothing changed).  Call it first thing in
 * main(), before starting threads or opening files. */
void malloc_policy_reexec(char **argv);

#endif

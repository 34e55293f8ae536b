/*
 * hash_fixture.h - the scanner hashing tests' fixture: a temporary directory
 * (its path and an open descriptor) and a hasher, with a helper that writes
 * files into it.  cmocka setup / teardown shaped; failures fail the test.
 */
#ifndef DOSSIER_HASH_FIXTURE_H
#define DOSSIER_HASH_FIXTURE_H

#include <stddef.h>

#include "hash_file.h"

typedef struct hash_fixture {
    char    dir[64];
    int     dfd;      /* O_DIRECTORY descriptor of dir */
    hasher *h;
} hash_fixture;

/* *state = a new fixture in /tmp/dossier-<tag>-XXXXXX; 0, or -1 (cmocka's
 * setup failure) when the directory or the hasher cannot be made. */
int  hf_setup(void **state, const char *tag);
/* Remove the directory and free the fixture; 0, or -1 when rm -rf fails. */
int  hf_teardown(void **state);
/* Create (or truncate) name in the fixture's directory with the n bytes at data. */
void hf_write_file(hash_fixture *f, const char *name, const void *data, size_t n);

#endif

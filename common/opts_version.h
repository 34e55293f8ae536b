/*
 * opts_version.h - the check every public call makes of a versioned option
 * or report struct (libgit2's convention, see the public headers): version
 * 0 means the struct was not made with its _INIT macro, a version above the
 * library's comes from a newer header.  Both are refused.
 */
#ifndef DOSSIER_COMMON_OPTS_VERSION_H
#define DOSSIER_COMMON_OPTS_VERSION_H

#include "dossier/error.h"

#include <string.h>

/* 0 when 1 <= version <= max, else DSR_EINVAL with a message naming the
 * struct and the macro that initialises it. */
static inline int opts_version_check(unsigned version, unsigned max, const char *type,
                                     const char *init, dsr_err *err)
{
    if (version >= 1 && version <= max)
        return 0;
    return dsr_err_set(err, DSR_EINVAL, "%s: version %u unknown to this library (initialise "
                       "it with %s)", type, version, init);
}

/* For a report struct whose first member is `unsigned version`: check the
 * version the caller set, then zero the rest of the struct, keeping it. */
static inline int report_version_reset(void *rep, size_t size, unsigned max, const char *type,
                                       const char *init, dsr_err *err)
{
    unsigned v;
    memcpy(&v, rep, sizeof v);
    int rc = opts_version_check(v, max, type, init, err);
    if (rc)
        return rc;
    memset(rep, 0, size);
    memcpy(rep, &v, sizeof v);
    return 0;
}

#endif

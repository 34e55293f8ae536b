/*
 * opts_version.h - the check every public call makes of a versioned option
 * or report struct (libgit2's convention, see the public headers): version
 * 0 means the struct was not made with its _INIT macro, a version above the
 * library's comes from a newer header.  Both are refused.
 */
#ifndef DOSSIER_COMMON_OPTS_VERSION_H
#define DOSSIER_COMMON_OPTS_VERSION_H

#include "dossier/error.h"

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

#endif

/*
 * dossier/version.h - the library's version, at compile time (macros) and at
 * run time (dsr_version): a program built against one version and run with
 * another shared library can tell.  This header is the one place the version
 * is written; CMakeLists.txt reads it from here.
 *
 * Versions follow semantic versioning: within a major version a newer
 * library runs programs built against an older one (option structs carry a
 * version field for that, see DSR_*_INIT).
 */
#ifndef DOSSIER_VERSION_H
#define DOSSIER_VERSION_H

#include "dossier/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSR_VERSION_MAJOR 0
#define DSR_VERSION_MINOR 1
#define DSR_VERSION_PATCH 0
#define DSR_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH: compares as the versions do. */
#define DSR_VERSION_NUMBER \
    (DSR_VERSION_MAJOR * 10000 + DSR_VERSION_MINOR * 100 + DSR_VERSION_PATCH)

/* Earlier spellings, kept for programs that use them. */
#define DOSSIER_VERSION_MAJOR DSR_VERSION_MAJOR
#define DOSSIER_VERSION_MINOR DSR_VERSION_MINOR

/* The version of the library actually linked, "MAJOR.MINOR.PATCH" (static
 * storage, never NULL). */
DSR_API const char *dsr_version(void);

/* The same as a number (DSR_VERSION_NUMBER of the linked library). */
DSR_API unsigned dsr_version_number(void);

#ifdef __cplusplus
}
#endif
#endif

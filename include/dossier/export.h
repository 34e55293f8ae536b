/*
 * dossier/export.h - DSR_API marks the functions libdossier exports.
 *
 * The library is built with -fvisibility=hidden, so only declarations
 * carrying DSR_API are visible in libdossier.so; every other function,
 * shared between the library's files or not, stays private to it.  A test
 * (tests/e2e/exported_symbols.sh) compares `nm -D` with these headers.
 */
#ifndef DOSSIER_EXPORT_H
#define DOSSIER_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define DSR_API __attribute__((visibility("default")))
#else
#define DSR_API
#endif

#endif

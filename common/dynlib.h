/*
 * dynlib.h - a shared library loaded on first use, its functions resolved
 * by name into a table of function pointers.
 *
 * Why: libcurl and libnats bring about thirty shared libraries of their own
 * (TLS, Kerberos, LDAP, SSH, protobuf-c...).  Linked at build time, every
 * run of the binary maps and relocates them all, although only delivery and
 * the NATS mirror call them; loaded here, only those commands pay for them
 * (docs/bench.md, "Small missions").
 *
 * Contract:
 *   - dynlib_load() opens the library once per process (RTLD_NOW, so a
 *     missing function fails the load, not a later call) and fills every
 *     slot of the table, or fills none and fails; the outcome, success or
 *     failure, is kept and returned by every later call.
 *   - The library is never closed: libcurl and libnats keep threads and
 *     process-wide state that must outlive any one caller.
 *   - Thread-safe: callers may race on the first load.
 *   - The file opened is `soname`, or the file named by the environment
 *     variable `env` when it is set and not empty (docs/delivery.md).
 */
#ifndef DOSSIER_DYNLIB_H
#define DOSSIER_DYNLIB_H

#include <pthread.h>
#include <stddef.h>

#include "dossier/error.h"

typedef struct dynlib {
    const char        *what;      /* the feature that needs it: "webhook delivery" */
    const char        *env;       /* e.g. "DOSSIER_LIBCURL" */
    const char        *soname;    /* e.g. "libcurl.so.4" */
    const char        *package;   /* the Debian package that ships soname */
    const char *const *names;     /* n function names, in table order */
    void             **slots;     /* n slots, filled in the same order */
    size_t             n;
    /* under mu: */
    pthread_mutex_t    mu;
    int                state;     /* 0 not tried, 1 loaded, -1 failed */
    char               fail[400]; /* why the load failed (state -1) */
} dynlib;

#define DYNLIB_INIT(what, env, soname, package, names, slots, n) \
    { (what), (env), (soname), (package), (names), (slots), (n), \
      PTHREAD_MUTEX_INITIALIZER, 0, "" }

/* DYNLIB_DEFINE(lib, table, FUNCS, what, env, soname, package) defines
 * `static dynlib lib` that fills `table`, a struct of function pointers
 * declared by the X-macro FUNCS (FUNCS(X) expands X(f) for each function f,
 * in the struct's order).  The table is filled as an array, so it must hold
 * only those pointers, one per name: a static assertion checks that. */
#define DYNLIB_NAME_(f) #f,
#define DYNLIB_DEFINE(lib, table, FUNCS, what, env, soname, package)                       \
    static const char *const lib##_names[] = { FUNCS(DYNLIB_NAME_) };                      \
    _Static_assert(sizeof(table) ==                                                        \
                       sizeof lib##_names / sizeof lib##_names[0] * sizeof(void *),        \
                   #table " is one pointer per name");                                     \
    static dynlib lib = DYNLIB_INIT((what), (env), (soname), (package), lib##_names,       \
                                    (void **)&(table),                                     \
                                    sizeof lib##_names / sizeof lib##_names[0])

/* 0 when every function is resolved; else DSR_EIO with "<what> needs
 * <file>, which cannot be loaded (<dlerror>); install the Debian package
 * <package>". */
int dynlib_load(dynlib *d, dsr_err *err);

/* 1 when a load succeeded earlier in this process (no load is tried). */
int dynlib_loaded(dynlib *d);

#endif

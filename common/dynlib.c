/*
 * dynlib.c - load a shared library on first use (dynlib.h).
 *
 * Every slot is resolved into a local array first and copied into the
 * caller's table only when all of them resolved, so a table is complete or
 * untouched: no caller ever sees half a library.
 */
#include "dynlib.h"

#include <assert.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DYNLIB_MAX_SLOTS 128

static void load_locked(dynlib *d)
{
    const char *file = d->env ? getenv(d->env) : NULL;
    if (!file || !*file)
        file = d->soname;
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(d->fail, sizeof d->fail,
                 "%s needs %s, which cannot be loaded (%s); install the Debian package %s",
                 d->what, file, why ? why : "no reason given", d->package);
        d->state = -1;
        return;
    }
    void *found[DYNLIB_MAX_SLOTS];
    for (size_t i = 0; i < d->n; i++) {
        dlerror();
        found[i] = dlsym(h, d->names[i]);
        if (!found[i]) {
            snprintf(d->fail, sizeof d->fail,
                     "%s needs %s, which has no function %s (too old a version?); install "
                     "the Debian package %s", d->what, file, d->names[i], d->package);
            d->state = -1;
            /* Nothing from it is used; it stays mapped (closing a library
             * whose constructors ran is not always safe). */
            return;
        }
    }
    memcpy(d->slots, found, d->n * sizeof *found);
    d->state = 1;
}

int dynlib_load(dynlib *d, dsr_err *err)
{
    assert(d->n <= DYNLIB_MAX_SLOTS);
    pthread_mutex_lock(&d->mu);
    if (d->state == 0)
        load_locked(d);
    int state = d->state;
    pthread_mutex_unlock(&d->mu);
    assert(state == 1 || state == -1);
    if (state == 1)
        return 0;
    return dsr_err_set(err, DSR_EIO, "%s", d->fail);
}

int dynlib_loaded(dynlib *d)
{
    pthread_mutex_lock(&d->mu);
    int loaded = d->state == 1;
    pthread_mutex_unlock(&d->mu);
    return loaded;
}

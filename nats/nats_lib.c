/*
 * nats_lib.c - libnats's table (nats_lib.h) and its loader.
 *
 * The file loaded is DOSSIER_LIBNATS_SONAME (found at build time from the
 * libnats the build saw), or the file $DOSSIER_LIBNATS names.
 */
#include "nats_lib.h"
#include "dynlib.h"

nats_lib_fns nats_lib;

#define NATS_LIB_NAME(f) #f,
static const char *const names[] = { NATS_LIB_FUNCS(NATS_LIB_NAME) };
#undef NATS_LIB_NAME

/* The table holds only function pointers, one per name, in name order:
 * dynlib fills it as an array. */
_Static_assert(sizeof(nats_lib_fns) == sizeof names / sizeof names[0] * sizeof(void *),
               "nats_lib_fns is one pointer per name");

static dynlib lib = DYNLIB_INIT("the NATS mirror (libnats)", "DOSSIER_LIBNATS",
                                DOSSIER_LIBNATS_SONAME, DOSSIER_LIBNATS_PACKAGE, names,
                                (void **)&nats_lib, sizeof names / sizeof names[0]);

int nats_lib_load(dsr_err *err)
{
    return dynlib_load(&lib, err);
}

int nats_lib_loaded(void)
{
    return dynlib_loaded(&lib);
}

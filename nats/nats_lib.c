/*
 * nats_lib.c - libnats's table (nats_lib.h) and its loader.
 *
 * The file loaded is DOSSIER_LIBNATS_SONAME (found at build time from the
 * libnats the build saw), or the file $DOSSIER_LIBNATS names.
 */
#include "nats_lib.h"
#include "dynlib.h"

nats_lib_fns nats_lib;

DYNLIB_DEFINE(lib, nats_lib, NATS_LIB_FUNCS, "the NATS mirror (libnats)", "DOSSIER_LIBNATS",
              DOSSIER_LIBNATS_SONAME, DOSSIER_LIBNATS_PACKAGE);

int nats_lib_load(dsr_err *err)
{
    return dynlib_load(&lib, err);
}

int nats_lib_loaded(void)
{
    return dynlib_loaded(&lib);
}

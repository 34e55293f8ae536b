/*
 * http_lib.c - libcurl's table (http_lib.h) and its loader.
 *
 * The file loaded is DOSSIER_LIBCURL_SONAME (found at build time from the
 * libcurl the build saw), or the file $DOSSIER_LIBCURL names.
 */
#include "http_lib.h"
#include "dynlib.h"

http_lib_fns http_lib;

DYNLIB_DEFINE(lib, http_lib, HTTP_LIB_FUNCS, "webhook delivery (libcurl)", "DOSSIER_LIBCURL",
              DOSSIER_LIBCURL_SONAME, DOSSIER_LIBCURL_PACKAGE);

int http_lib_load(dsr_err *err)
{
    return dynlib_load(&lib, err);
}

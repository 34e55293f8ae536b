/*
 * http_lib.c - libcurl's table (http_lib.h) and its loader.
 *
 * The file loaded is DOSSIER_LIBCURL_SONAME (found at build time from the
 * libcurl the build saw), or the file $DOSSIER_LIBCURL names.
 */
#include "http_lib.h"
#include "dynlib.h"

http_lib_fns http_lib;

#define HTTP_LIB_NAME(f) #f,
static const char *const names[] = { HTTP_LIB_FUNCS(HTTP_LIB_NAME) };
#undef HTTP_LIB_NAME

/* The table holds only function pointers, one per name, in name order:
 * dynlib fills it as an array. */
_Static_assert(sizeof(http_lib_fns) == sizeof names / sizeof names[0] * sizeof(void *),
               "http_lib_fns is one pointer per name");

static dynlib lib = DYNLIB_INIT("webhook delivery (libcurl)", "DOSSIER_LIBCURL",
                                DOSSIER_LIBCURL_SONAME, DOSSIER_LIBCURL_PACKAGE, names,
                                (void **)&http_lib, sizeof names / sizeof names[0]);

int http_lib_load(dsr_err *err)
{
    return dynlib_load(&lib, err);
}

/*
 * http_lib.h - private to delivery/: libcurl, loaded on first use
 * (common/dynlib.h says why and how).
 *
 * Every libcurl call in delivery/ goes through the table: http_lib.curl_x(...)
 * stands for curl_x(...), and is valid once http_lib_load() has returned 0.
 * The binary itself does not link libcurl, so a plain call would not link.
 */
#ifndef DOSSIER_DELIVERY_HTTP_LIB_H
#define DOSSIER_DELIVERY_HTTP_LIB_H

/* typecheck-gcc.h turns curl_easy_setopt and friends into statement
 * expressions, which cannot follow "http_lib.". */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "dossier/error.h"

#define HTTP_LIB_FUNCS(X) \
    X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_setopt) \
    X(curl_easy_strerror) X(curl_free) X(curl_getdate) X(curl_global_cleanup) \
    X(curl_global_init) X(curl_multi_add_handle) X(curl_multi_cleanup) \
    X(curl_multi_info_read) X(curl_multi_init) X(curl_multi_perform) X(curl_multi_poll) \
    X(curl_multi_remove_handle) X(curl_multi_setopt) X(curl_multi_strerror) \
    X(curl_slist_append) X(curl_slist_free_all) X(curl_url) X(curl_url_cleanup) \
    X(curl_url_get) X(curl_url_set) X(curl_url_strerror)

typedef struct http_lib_fns {
#define HTTP_LIB_SLOT(f) __typeof__(f) *f;
    HTTP_LIB_FUNCS(HTTP_LIB_SLOT)
#undef HTTP_LIB_SLOT
} http_lib_fns;

/* Filled by the first successful http_lib_load(); read-only after it. */
extern http_lib_fns http_lib;

/* 0 when libcurl is loaded; else DSR_EIO naming the library and the Debian
 * package (dynlib_load). */
int http_lib_load(dsr_err *err);

#endif

/*
 * dossier/error.h - error codes and the error struct every call fills.
 *
 * Library functions return 0 on success or a negative DSR_E* code, and fill
 * a caller-provided dsr_err with a message that names the object (a path,
 * "file:line", an event_id).  The library never prints and never exits; the
 * CLI decides what the user sees (see cli/cli.h for the exit-code mapping).
 */
#ifndef DOSSIER_ERROR_H
#define DOSSIER_ERROR_H

#include "dossier/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    DSR_OK        = 0,
    DSR_EINVAL    = -1,  /* bad argument or usage */
    DSR_ENOMEM    = -2,  /* allocation failed */
    DSR_EIO       = -3,  /* a syscall or storage operation failed */
    DSR_EMANIFEST = -4,  /* manifest is malformed */
    DSR_ESCHEMA   = -5,  /* payload or envelope fails validation */
    DSR_ELOCKED   = -6,  /* log is held by another writer */
    DSR_ECORRUPT  = -7,  /* stored data does not decode or is inconsistent */
    DSR_ENOTFOUND = -8,  /* no such object (feature, snapshot, endpoint...) */
    DSR_ENET      = -9,  /* network / remote endpoint failure */
    DSR_EPARSE    = -10  /* input text (JSON, NDJSON) does not parse */
};

#define DSR_ERR_MSG_MAX 1024

typedef struct dsr_err {
    int  code;                  /* last code set, DSR_OK when clear */
    char msg[DSR_ERR_MSG_MAX];  /* human-readable, names the object */
} dsr_err;

/* Set code and a printf-style message; returns code so callers can write
 * `return dsr_err_set(err, DSR_EIO, "%s: ...", path);`.  err may be NULL. */
DSR_API int dsr_err_set(dsr_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like dsr_err_set, then appends ": <strerror(errnum)>". */
DSR_API int dsr_err_errno(dsr_err *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix the existing message with more context ("<ctx>: <old msg>") and
 * return err's code, so a failure path can write
 * `return dsr_err_prefix(err, "feature %s", slug);`.  Never returns DSR_OK:
 * when err is NULL, or holds no code, it returns DSR_EIO (and sets it). */
DSR_API int dsr_err_prefix(dsr_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

DSR_API void dsr_err_clear(dsr_err *err);

/* Short constant name of a code ("io", "manifest", ...). */
DSR_API const char *dsr_err_name(int code);

#ifdef __cplusplus
}
#endif
#endif

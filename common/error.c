/*
 * error.c - fills dsr_err structs.  Owns nothing else: no global "last error",
 * every message lives in the caller's struct, so threads never share state.
 */
#include "dossier/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vset(dsr_err *err, int code, const char *fmt, va_list ap)
{
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int dsr_err_set(dsr_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int dsr_err_errno(dsr_err *err, int code, int errnum, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    size_t n = strlen(err->msg);
    char buf[256];
    const char *s = strerror_r(errnum, buf, sizeof buf); /* GNU variant */
    snprintf(err->msg + n, sizeof err->msg - n, ": %s", s);
    return code;
}

/* Called on a failure path only, so it never returns DSR_OK: without err, or
 * when the failing call left no code in it, DSR_EIO stands for the code it
 * cannot know, and `return dsr_err_prefix(err, ...)` stays a failure. */
int dsr_err_prefix(dsr_err *err, const char *fmt, ...)
{
    if (!err)
        return DSR_EIO;
    if (err->code == DSR_OK)
        err->code = DSR_EIO;
    char old[DSR_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", old);
    return err->code;
}

void dsr_err_clear(dsr_err *err)
{
    if (err) {
        err->code = DSR_OK;
        err->msg[0] = '\0';
    }
}

const char *dsr_err_name(int code)
{
    switch (code) {
    case DSR_OK:        return "ok";
    case DSR_EINVAL:    return "invalid";
    case DSR_ENOMEM:    return "nomem";
    case DSR_EIO:       return "io";
    case DSR_EMANIFEST: return "manifest";
    case DSR_ESCHEMA:   return "schema";
    case DSR_ELOCKED:   return "locked";
    case DSR_ECORRUPT:  return "corrupt";
    case DSR_ENOTFOUND: return "notfound";
    case DSR_ENET:      return "net";
    case DSR_EPARSE:    return "parse";
    default:            return "unknown";
    }
}

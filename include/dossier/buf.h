/*
 * dossier/buf.h - a growable byte buffer, used by the API for JSON text,
 * msgpack records and keys.  Initialise with DSR_BUF_INIT, release with
 * dsr_buf_free.  Not thread-safe: a buffer belongs to one thread at a time.
 */
#ifndef DOSSIER_BUF_H
#define DOSSIER_BUF_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsr_buf {
    char  *data;   /* NUL-terminated when used for text (dsr_buf_* keep a spare byte) */
    size_t len;
    size_t cap;
} dsr_buf;

#define DSR_BUF_INIT {NULL, 0, 0}

DSR_API int  dsr_buf_reserve(dsr_buf *b, size_t extra);          /* 0 or DSR_ENOMEM */
DSR_API int  dsr_buf_append(dsr_buf *b, const void *p, size_t n); /* 0 or DSR_ENOMEM */
DSR_API int  dsr_buf_puts(dsr_buf *b, const char *s);
DSR_API int  dsr_buf_putc(dsr_buf *b, char c);
DSR_API int  dsr_buf_printf(dsr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
DSR_API void dsr_buf_reset(dsr_buf *b);                           /* len = 0, keeps memory */
DSR_API void dsr_buf_free(dsr_buf *b);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
DSR_API void dsr_hex(const unsigned char *in, size_t n, char *out);
/* The bytes of n lowercase hex digits (n even) into out (n/2 bytes).  0, or
 * -1 when a character is not a lowercase hex digit (out is then undefined). */
DSR_API int  dsr_unhex(const char *hex, size_t n, unsigned char *out);

#ifdef __cplusplus
}
#endif
#endif

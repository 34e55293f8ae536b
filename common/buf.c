/*
 * buf.c - growable byte buffer; see buf.h.  Growth is geometric so appends
 * are amortised O(1); the buffer always keeps one spare byte for a NUL.
 */
#include "buf.h"
#include "dossier/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dsr_buf_reserve(dsr_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return DSR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int dsr_buf_append(dsr_buf *b, const void *p, size_t n)
{
    if (dsr_buf_reserve(b, n))
        return DSR_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int dsr_buf_puts(dsr_buf *b, const char *s) { return dsr_buf_append(b, s, strlen(s)); }

int dsr_buf_putc(dsr_buf *b, char c) { return dsr_buf_append(b, &c, 1); }

int dsr_buf_printf(dsr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || dsr_buf_reserve(b, (size_t)n))
        return DSR_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void dsr_buf_reset(dsr_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void dsr_buf_free(dsr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void dsr_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Value + 1 of each lowercase hex digit; 0 for every other byte. */
static const unsigned char hex_plus1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int dsr_unhex(const char *hex, size_t n, unsigned char *out)
{
    unsigned bad = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned hi = hex_plus1[(unsigned char)hex[i]], lo = hex_plus1[(unsigned char)hex[i + 1]];
        bad |= !hi | !lo;
        out[i / 2] = (unsigned char)((hi - 1) << 4 | ((lo - 1) & 15u));
    }
    return bad || (n & 1) ? -1 : 0;
}

/* url.c - see url.h. */
#include "url.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* Query values can carry credentials (?token=...): keep the keys, mask the
 * values; a bare parameter (no '=') is masked whole. */
static void redact_query(dsr_buf *b, const char *q, const char *end)
{
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        if (eq) {
            dsr_buf_append(b, q, (size_t)(eq - q + 1));
            dsr_buf_puts(b, "***");
        } else if (stop > q) {
            dsr_buf_puts(b, "***");
        }
        if (amp)
            dsr_buf_putc(b, '&');
        q = amp ? amp + 1 : end;
    }
}

char *url_redact(const char *url)
{
    dsr_buf b = DSR_BUF_INIT;
    const char *scheme_end = strstr(url, "://");
    const char *auth = scheme_end ? scheme_end + 3 : url;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', auth_len);
    const char *p = url;
    if (at) {                                  /* user:password@host */
        dsr_buf_append(&b, url, (size_t)(auth - url));
        dsr_buf_puts(&b, "***@");
        p = at + 1;
    }
    const char *frag = strchr(p, '#');
    const char *end = frag ? frag : p + strlen(p);
    const char *q = memchr(p, '?', (size_t)(end - p));
    dsr_buf_append(&b, p, (size_t)((q ? q + 1 : end) - p));
    if (q)
        redact_query(&b, q + 1, end);
    dsr_buf_puts(&b, end);
    if (!b.data) {                             /* empty URL, or out of memory */
        dsr_buf_free(&b);
        return strdup(url);
    }
    return b.data;                             /* the caller frees it */
}

char *url_redact_list(const char *urls)
{
    dsr_buf b = DSR_BUF_INIT;
    int oom = 0;
    for (const char *p = urls;;) {
        size_t n = strcspn(p, ",");
        char *one = strndup(p, n);
        char *r = one ? url_redact(one) : NULL;
        free(one);
        if (!r || dsr_buf_puts(&b, r) < 0)
            oom = 1;
        free(r);
        if (oom || !p[n])
            break;
        if (dsr_buf_putc(&b, ',') < 0) {
            oom = 1;
            break;
        }
        p += n + 1;
    }
    if (oom || !b.data) {
        dsr_buf_free(&b);
        return oom ? NULL : strdup(urls);
    }
    return b.data;
}

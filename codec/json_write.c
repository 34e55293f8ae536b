/*
 * json_write.c - msgpack_object -> compact JSON (RFC 8259).
 *
 * Map keys come out in stored order, so a canonical record prints as
 * canonical JSON.  Strings are escaped (", \, control characters) and bytes
 * that are not UTF-8 become \ufffd, so the output is always valid UTF-8
 * JSON.  Values JSON has no spelling for are written as: non-finite floats
 * -> null, bin -> string of its bytes, ext -> null, non-string map keys ->
 * their JSON text as a string.  Floats use the shortest text that reads back
 * to the same double, formatted in the "C" locale whatever the process
 * locale is (uselocale is per thread).
 */
#include "dossier/event.h"
#include "buf.h"
#include "codec.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dsr_json_put_string(dsr_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (dsr_buf_reserve(out, n + 2))
        return DSR_ENOMEM;
    if (dsr_buf_putc(out, '"'))
        return DSR_ENOMEM;
    if (!n)   /* msgpack-c gives "" a NULL pointer: no arithmetic on it */
        return dsr_buf_putc(out, '"') ? DSR_ENOMEM : 0;
    size_t i = 0, run = 0;   /* run: bytes since i-run that need no escaping */
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char ubuf[7];
        size_t adv = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) {
            memcpy(ubuf, "\\u00", 4);
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 15];
            ubuf[6] = '\0';
            esc = ubuf;
        } else if (c >= 0x80) {
            adv = utf8_seq_len(s + i, n - i);
            if (!adv) {
                esc = "\\ufffd";
                adv = 1;
            }
        }
        if (esc) {
            if (dsr_buf_append(out, s + i - run, run) || dsr_buf_puts(out, esc))
                return DSR_ENOMEM;
            run = 0;
        } else {
            run += adv;
        }
        i += adv;
    }
    if (dsr_buf_append(out, s + n - run, run) || dsr_buf_putc(out, '"'))
        return DSR_ENOMEM;
    return 0;
}

static int put_double(dsr_buf *out, double d)
{
    if (!isfinite(d))
        return dsr_buf_puts(out, "null");
    char txt[40];
    locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(txt, sizeof txt, "%.*g", prec, d);
        if (strtod(txt, NULL) == d)
            break;
    }
    if (c_loc) {
        uselocale(old);
        freelocale(c_loc);
    } else {
        /* no "C" locale object (out of memory): never emit a decimal comma */
        for (char *q = txt; *q; q++)
            if (*q == ',')
                *q = '.';
    }
    /* Keep it a float when read back: "1" would come back as an integer. */
    if (!strpbrk(txt, ".eE"))
        strcat(txt, ".0");
    return dsr_buf_puts(out, txt);
}

/* in_key: o is (part of) a non-string map key being turned into text; a
 * non-string key inside it is written as plain JSON text, not escaped again,
 * so escaping happens once (nested keys escaped at every level would double
 * the backslashes per level: 2^32 bytes for a 200-byte record). */
static int write_obj(const msgpack_object *o, dsr_buf *out, int in_key)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return dsr_buf_puts(out, "null");
    case MSGPACK_OBJECT_BOOLEAN:
        return dsr_buf_puts(out, o->via.boolean ? "true" : "false");
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return dsr_buf_printf(out, "%llu", (unsigned long long)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return dsr_buf_printf(out, "%lld", (long long)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return put_double(out, o->via.f64);
    case MSGPACK_OBJECT_STR:
        return dsr_json_put_string(out, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return dsr_json_put_string(out, o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        if (dsr_buf_putc(out, '['))
            return DSR_ENOMEM;
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if ((i && dsr_buf_putc(out, ',')) || write_obj(&o->via.array.ptr[i], out, in_key))
                return DSR_ENOMEM;
        return dsr_buf_putc(out, ']');
    case MSGPACK_OBJECT_MAP:
        if (dsr_buf_putc(out, '{'))
            return DSR_ENOMEM;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (i && dsr_buf_putc(out, ','))
                return DSR_ENOMEM;
            if (k->type == MSGPACK_OBJECT_STR) {
                if (dsr_json_put_string(out, k->via.str.ptr, k->via.str.size))
                    return DSR_ENOMEM;
            } else if (in_key) {
                if (write_obj(k, out, 1))
                    return DSR_ENOMEM;
            } else {
                dsr_buf tmp = DSR_BUF_INIT;
                int rc = write_obj(k, &tmp, 1);
                if (!rc)
                    rc = dsr_json_put_string(out, tmp.data ? tmp.data : "", tmp.len);
                dsr_buf_free(&tmp);
                if (rc)
                    return rc;
            }
            if (dsr_buf_putc(out, ':') || write_obj(&o->via.map.ptr[i].val, out, in_key))
                return DSR_ENOMEM;
        }
        return dsr_buf_putc(out, '}');
    case MSGPACK_OBJECT_EXT:
    default:
        return dsr_buf_puts(out, "null");
    }
}

int dsr_msgpack_to_json(const msgpack_object *obj, dsr_buf *out)
{
    if (!obj || !out)
        return DSR_EINVAL;
    size_t mark = out->len;
    int rc = write_obj(obj, out, 0);
    if (rc && out->data) {   /* leave out as it was */
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}

void codec_render_value(const msgpack_object *obj, char *out, size_t n)
{
    if (!n)
        return;
    dsr_buf b = DSR_BUF_INIT;
    if (dsr_msgpack_to_json(obj, &b) || !b.data) {
        snprintf(out, n, "(value)");
    } else if (b.len < n) {
        memcpy(out, b.data, b.len + 1);
    } else if (n > 4) {
        /* cut on a UTF-8 character boundary, then mark the cut */
        size_t keep = n - 4;
        while (keep && ((unsigned char)b.data[keep] & 0xC0) == 0x80)
            keep--;
        memcpy(out, b.data, keep);
        memcpy(out + keep, "...", 4);
    } else {
        out[0] = '\0';
    }
    dsr_buf_free(&b);
}

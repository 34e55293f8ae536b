/*
 * cli_safe.c - names from a mission or an import, made safe for a terminal.
 *
 * File names and feature slugs come from outside: a file named
 * "\033]0;owned\007x.md" or an imported slug holding "\033[2J" would reach
 * the terminal as an escape sequence (retitle the window, clear the screen,
 * or, on some terminals, worse).  Every text the CLI prints that may hold
 * such a name goes through cli_safe, which writes each C0 control byte,
 * DEL, each C1 control (U+0080..U+009F, which some terminals take as
 * CSI/OSC) and each byte that is not valid UTF-8 as \xNN, and a backslash
 * as \\, so the printed form is unambiguous; every other character,
 * multi-byte UTF-8 included, is printed as it is.  JSON output is escaped
 * by the JSON writer instead (control characters as \u00XX).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid.  The
 * rules of RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

size_t cli_escape(char *out, size_t cap, const char *in, int keep_newlines)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)in;
    size_t n = 0;
#define PUT(ch) do { if (n + 1 < cap) out[n] = (char)(ch); n++; } while (0)
    while (*s) {
        size_t len = utf8_len(s);
        int c1 = len == 2 && s[0] == 0xc2 && s[1] <= 0x9f;    /* U+0080..U+009F */
        if (len == 1 && *s == '\\' && !keep_newlines) {
            PUT('\\');
            PUT('\\');
        } else if (len == 1 && ((*s >= 0x20 && *s != 0x7f) ||
                                (keep_newlines && (*s == '\n' || *s == '\t')))) {
            PUT(*s);
        } else if (len > 1 && !c1) {
            for (size_t i = 0; i < len; i++)
                PUT(s[i]);
        } else {
            /* a control, or an invalid byte: one \xNN per byte */
            size_t k = c1 ? 2 : 1;
            for (size_t i = 0; i < k; i++) {
                PUT('\\');
                PUT('x');
                PUT(hex[s[i] >> 4]);
                PUT(hex[s[i] & 15]);
            }
            len = k;
        }
        s += len;
    }
#undef PUT
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* Four buffers in turn, so one printf may take up to four escaped names;
 * the CLI prints from one thread. */
#define SAFE_SLOTS 4

const char *cli_safe(const char *s)
{
    static char *slot[SAFE_SLOTS];
    static size_t cap[SAFE_SLOTS];
    static unsigned next;
    if (!s)
        return "(null)";
    unsigned i = next++ % SAFE_SLOTS;
    size_t need = cli_escape(NULL, 0, s, 0) + 1;
    if (need > cap[i]) {
        char *p = realloc(slot[i], need);
        if (!p)
            return "(name not shown: out of memory)";
        slot[i] = p;
        cap[i] = need;
    }
    cli_escape(slot[i], cap[i], s, 0);
    return slot[i];
}

/*
 * utf8.h - the one UTF-8 well-formedness check (private to the library):
 * incremental for file contents, plus whole-string and one-sequence helpers
 * for names and the JSON codecs.
 *
 * A file is fed in arbitrary chunks; a sequence may be split across chunks,
 * so the validator carries its state between calls.  One validator belongs to
 * one thread at a time.
 */
#ifndef DOSSIER_UTF8_H
#define DOSSIER_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef struct utf8_state {
    uint32_t state;     /* 0: at a boundary; otherwise inside a sequence (DFA state) */
    int      bad;       /* sticky: 1 once an invalid byte was seen */
    uint64_t offset;    /* bytes consumed so far */
    uint64_t seq_start; /* offset where the current multi-byte sequence began */
    uint64_t bad_at;    /* offset of the first byte of the first invalid sequence */
} utf8_state;

void utf8_init(utf8_state *u);
/* Feed n bytes; cheap to call with n == 0.  Once invalid, later calls only count. */
void utf8_feed(utf8_state *u, const unsigned char *p, size_t n);
/* 1 when everything fed so far is complete, valid UTF-8 (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF, no truncated tail). */
int  utf8_valid(const utf8_state *u);

/* 1 when the len bytes at s are complete, valid UTF-8. */
int    utf8_check(const char *s, size_t len);
/* Length of the well-formed sequence starting at s (at most n bytes), or 0
 * when it is invalid or truncated. */
size_t utf8_seq_len(const char *s, size_t n);

#endif

/*
 * sha256_ni.h - SHA-256 through the x86 SHA extensions, one stream or two
 * interleaved on one core (private to the scanner).
 *
 * One SHA-256 stream is a chain of dependent SHA256RNDS2 instructions: the
 * core waits on their latency.  Two independent streams whose rounds are
 * interleaved fill those waits, so a worker hashing two large files at once
 * goes faster than hashing them in turn (docs/bench.md, "Large files at the
 * SHA-256 limit").  The digests are SHA-256's, byte for byte.
 *
 * Only for CPUs with SHA-NI (sha256_ni_available); elsewhere the hasher keeps
 * OpenSSL.  A context belongs to one thread at a time.
 */
#ifndef DOSSIER_SHA256_NI_H
#define DOSSIER_SHA256_NI_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ni {
    uint32_t      s[8];       /* chaining state */
    uint64_t      len;        /* bytes fed */
    unsigned char blk[64];    /* a partial block: len % 64 bytes */
} sha256_ni;

/* 1 when this CPU has the SHA extensions (and SSSE3 / SSE4.1) they need. */
int  sha256_ni_available(void);
void sha256_ni_init(sha256_ni *c);
void sha256_ni_update(sha256_ni *c, const void *p, size_t n);
/* As sha256_ni_update(x, a, n) and sha256_ni_update(y, b, n), the whole
 * blocks of both hashed together. */
void sha256_ni_update2(sha256_ni *x, const void *a, sha256_ni *y, const void *b, size_t n);
void sha256_ni_final(sha256_ni *c, unsigned char md[32]);

#endif

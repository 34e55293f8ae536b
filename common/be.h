/*
 * be.h - big-endian integers in byte strings: the one encoding of every
 * RocksDB key and counter dossier stores (event sequences, meta counters,
 * cursors), chosen because big-endian keys sort like the numbers they hold.
 *
 * be_put64 / be_get64 handle exactly 8 bytes; be_putn / be_getn the 1..8-byte
 * big-endian lengths and integers of msgpack.  Pointers need no alignment.
 */
#ifndef DOSSIER_BE_H
#define DOSSIER_BE_H

#include <stddef.h>
#include <stdint.h>

/* Store the low n (0..8) bytes of v at out, most significant first. */
static inline void be_putn(void *out, uint64_t v, size_t n)
{
    unsigned char *b = out;
    for (size_t i = n; i-- > 0; v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
}

static inline void be_put64(void *out, uint64_t v) { be_putn(out, v, 8); }

/* The value of the n (0..8) big-endian bytes at p. */
static inline uint64_t be_getn(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | b[i];
    return v;
}

static inline uint64_t be_get64(const void *p) { return be_getn(p, 8); }

#endif

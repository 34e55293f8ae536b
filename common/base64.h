/*
 * base64.h - RFC 4648 base64 on top of OpenSSL's EVP_EncodeBlock /
 * EVP_DecodeBlock, with the rules OpenSSL leaves to its caller.
 *
 * Encoding: the standard alphabet with padding.  Decoding accepts the
 * standard or the URL-safe alphabet ('-' reads as '+', '_' as '/'), padding optional but complete when
 * present, and only canonical text: bits left over in a final partial
 * quantum must be zero, no whitespace or '=' inside, so every text has
 * exactly one decoding.
 */
#ifndef DOSSIER_BASE64_H
#define DOSSIER_BASE64_H

#include <stddef.h>

/* out needs 4*ceil(n/3)+1 bytes.  Returns the length written (NUL not
 * counted). */
size_t b64_encode(const unsigned char *in, size_t n, char *out);
/* out needs n*3/4+3 bytes.  0, DSR_EPARSE (not canonical base64) or
 * DSR_ENOMEM. */
int    b64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len);

#endif

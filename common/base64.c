/*
 * base64.c - see base64.h.  OpenSSL does the conversion; what is written
 * here is what EVP_DecodeBlock does not do for us:
 *   1. it knows only the standard alphabet: URL-safe '-' '_' are mapped first;
 *   2. it needs padded input (length a multiple of 4): missing '=' are added;
 *   3. it returns 3 bytes per quantum, the padding's zero bytes included:
 *      the caller subtracts one byte per '=';
 *   4. it ignores leftover bits and tolerates some whitespace: the result is
 *      encoded again and must give back the (normalised) input exactly.
 */
#include "base64.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dossier/error.h"

size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    assert(n <= (size_t)INT_MAX / 4 * 3);    /* EVP_EncodeBlock takes an int */
    int k = EVP_EncodeBlock((unsigned char *)out, in, (int)n);  /* writes the NUL */
    return (size_t)k;
}

int b64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
    size_t pad = 0;
    while (pad < n && in[n - 1 - pad] == '=')
        pad++;
    size_t body = n - pad;
    if (pad > 2 || (pad && n % 4 != 0) || body % 4 == 1)
        return DSR_EPARSE;
    if (body == 0) {
        *out_len = 0;
        return pad ? DSR_EPARSE : 0;
    }
    size_t full = (body + 3) / 4 * 4;        /* padded length */
    if (full > (size_t)1 << 30)
        return DSR_EPARSE;
    pad = full - body;
    char *text = malloc(full + 1), *again = malloc(full + 1);
    if (!text || !again) {
        free(text);
        free(again);
        return DSR_ENOMEM;
    }
    for (size_t i = 0; i < body; i++)
        text[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    memset(text + body, '=', pad);
    text[full] = '\0';
    int rc = DSR_EPARSE;
    int k = EVP_DecodeBlock(out, (const unsigned char *)text, (int)full);
    if (k >= 0 && (size_t)k == full / 4 * 3) {
        size_t len = (size_t)k - pad;
        EVP_EncodeBlock((unsigned char *)again, out, (int)len);
        if (!memcmp(again, text, full + 1)) {
            *out_len = len;
            rc = 0;
        }
    }
    /* The decoded bytes may be a secret key: leave no copy behind. */
    OPENSSL_cleanse(again, full + 1);
    OPENSSL_cleanse(text, full + 1);
    free(again);
    free(text);
    return rc;
}

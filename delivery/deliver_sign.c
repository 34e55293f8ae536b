/*
 * deliver_sign.c - Standard Webhooks secrets and signatures.
 *
 * Owns: parsing a secret (`whsec_<base64>` decoded, anything else used as raw
 * bytes), loading it from a file, and the v1 signature
 *   "v1," + base64(HMAC-SHA256(key, webhook-id "." webhook-timestamp "." body)).
 * Invariants: a secret's bytes are wiped (OPENSSL_cleanse) before they are
 * freed, and no message produced here ever contains secret text: errors name
 * where the secret came from, not what it is.
 */
#include "dossier/deliver.h"
#include "deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;   /* '-' '_': the URL-safe alphabet */
    if (c == '/' || c == '_') return 63;
    return -1;
}

int b64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
    /* Padding is optional; when present it must be at the end and complete
     * the last quantum.  Bits left over in a final partial quantum must be
     * zero, so each text has exactly one decoding. */
    size_t pad = 0;
    while (n > 0 && in[n - 1] == '=') {
        n--;
        pad++;
    }
    if (pad > 2 || (pad && (n + pad) % 4 != 0) || n % 4 == 1)
        return DSR_EPARSE;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return DSR_EPARSE;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return DSR_EPARSE;
    *out_len = o;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

int dsr_webhook_secret_parse(const char *text, size_t len, const char *what,
                             dsr_webhook_secret *out, dsr_err *err)
{
    out->key = NULL;
    out->len = 0;
    while (len > 0 && is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && is_space(text[len - 1]))
        len--;
    if (len == 0)
        return dsr_err_set(err, DSR_EINVAL, "%s: the secret is empty", what);
    static const char prefix[] = "whsec_";
    size_t plen = sizeof prefix - 1;
    int encoded = len >= plen && !memcmp(text, prefix, plen);
    size_t cap = encoded ? (len - plen) / 4 * 3 + 3 : len;
    if (cap > DSR_WEBHOOK_SECRET_MAX + 3)
        return dsr_err_set(err, DSR_EINVAL, "%s: the secret is longer than %d bytes",
                           what, DSR_WEBHOOK_SECRET_MAX);
    unsigned char *key = OPENSSL_malloc(cap ? cap : 1);
    if (!key)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", what);
    size_t klen;
    if (encoded) {
        if (b64_decode(text + plen, len - plen, key, &klen) < 0 || klen == 0) {
            OPENSSL_clear_free(key, cap ? cap : 1);
            return dsr_err_set(err, DSR_EINVAL,
                               "%s: the whsec_ secret is not valid base64", what);
        }
    } else {
        memcpy(key, text, len);
        klen = len;
    }
    if (klen > DSR_WEBHOOK_SECRET_MAX) {
        OPENSSL_clear_free(key, cap ? cap : 1);
        return dsr_err_set(err, DSR_EINVAL, "%s: the secret is longer than %d bytes",
                           what, DSR_WEBHOOK_SECRET_MAX);
    }
    out->key = key;
    out->len = klen;
    return 0;
}

int dsr_webhook_secret_load(const char *path, dsr_webhook_secret *out, dsr_err *err)
{
    out->key = NULL;
    out->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "secret file %s", path);
    /* Read at most a little more than the longest valid secret: a whsec_
     * text of the maximum size plus whitespace. */
    size_t cap = DSR_WEBHOOK_SECRET_MAX * 2 + 64, len = 0;
    char *text = OPENSSL_malloc(cap);
    if (!text) {
        close(fd);
        return dsr_err_set(err, DSR_ENOMEM, "secret file %s: out of memory", path);
    }
    for (;;) {
        ssize_t r = read(fd, text + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            OPENSSL_clear_free(text, cap);
            return dsr_err_errno(err, DSR_EIO, e, "secret file %s", path);
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap) {
            close(fd);
            OPENSSL_clear_free(text, cap);
            return dsr_err_set(err, DSR_EINVAL, "secret file %s: larger than %zu bytes",
                               path, cap - 1);
        }
    }
    close(fd);
    char what[DSR_ERR_MSG_MAX / 2];
    snprintf(what, sizeof what, "secret file %s", path);
    int rc = dsr_webhook_secret_parse(text, len, what, out, err);
    OPENSSL_clear_free(text, cap);
    return rc;
}

void dsr_webhook_secret_clear(dsr_webhook_secret *s)
{
    if (!s)
        return;
    if (s->key)
        OPENSSL_clear_free(s->key, s->len ? s->len : 1);
    s->key = NULL;
    s->len = 0;
}

int dsr_webhook_sign(const dsr_webhook_secret *s, const char *msg_id, size_t id_len,
                     int64_t timestamp, const void *body, size_t body_len,
                     char out[DSR_WEBHOOK_SIG_MAX], dsr_err *err)
{
    char ts[24];
    int tn = snprintf(ts, sizeof ts, "%" PRId64, timestamp);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int ok = 0;
    /* EVP_MAC (OpenSSL 3) streams the three parts, so the body is not copied
     * into one "id.ts.body" buffer; the HMAC_CTX API is deprecated in 3.0. */
    EVP_MAC *mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac_alg ? EVP_MAC_CTX_new(mac_alg) : NULL;
    if (ctx) {
        OSSL_PARAM params[2];
        char digest[] = "SHA256";
        params[0] = OSSL_PARAM_construct_utf8_string("digest", digest, 0);
        params[1] = OSSL_PARAM_construct_end();
        size_t outl = 0;
        ok = EVP_MAC_init(ctx, s->key, s->len, params) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)msg_id, id_len) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)tn) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
             EVP_MAC_update(ctx, body, body_len) == 1 &&
             EVP_MAC_final(ctx, mac, &outl, sizeof mac) == 1;
        mac_len = (unsigned int)outl;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac_alg);
    if (!ok || mac_len != 32)
        return dsr_err_set(err, DSR_EIO, "event %.*s: HMAC-SHA256 failed in OpenSSL",
                           (int)id_len, msg_id);
    memcpy(out, "v1,", 3);
    b64_encode(mac, mac_len, out + 3);
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

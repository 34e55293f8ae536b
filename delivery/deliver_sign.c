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
#include "base64.h"

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
    /* O_NONBLOCK: a FIFO (or a device) given as the secret file must not
     * block the open forever; it is refused below.  Links are followed (a
     * mounted secret is often a symlink), and it is what the link names
     * that must be a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "secret file %s", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return dsr_err_errno(err, DSR_EIO, e, "secret file %s", path);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return dsr_err_set(err, DSR_EINVAL, "secret file %s is not a regular file (%s)", path,
                           S_ISFIFO(sb.st_mode) ? "a FIFO" : S_ISDIR(sb.st_mode) ? "a folder"
                           : S_ISSOCK(sb.st_mode) ? "a socket" : "a device");
    }
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

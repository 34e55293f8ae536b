/*
 * derive_id.c - ids of derived events and objects.
 *
 * A derived event must come out identical every time its source event is
 * replayed, on any node, so that the log's idempotent append drops the
 * re-derived copy.  Hence: event_id = ULID whose time part is the source
 * event's timestamp and whose random part is the first 80 bits of
 * SHA-256("<projection>\0<source event_id>"); timestamp = the source's,
 * verbatim; causation_id = the source event_id.  Nothing here reads a
 * clock or a random source.
 */
#include "replay.h"

#include <string.h>

#include <openssl/evp.h>

int derive_meta(const char *proj, const dsr_envelope *src, const char *correlation_id,
                derived_meta *out, dsr_err *err)
{
    memset(out, 0, sizeof *out);
    if (!src->event_id.ptr || src->event_id.len != DSR_ULID_LEN)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: source event has no valid event_id", proj);
    if (!src->timestamp.ptr || src->timestamp.len >= sizeof out->timestamp)
        return dsr_err_set(err, DSR_ECORRUPT, "%s: event %.26s has no usable timestamp",
                           proj, src->event_id.ptr);
    uint64_t ms = 0;
    if (dsr_time_parse_rfc3339(src->timestamp.ptr, src->timestamp.len, &ms))
        return dsr_err_set(err, DSR_ECORRUPT, "%s: event %.26s: timestamp '%.*s' is not RFC 3339",
                           proj, src->event_id.ptr, (int)src->timestamp.len, src->timestamp.ptr);
    char seed[64 + DSR_ULID_LEN];
    size_t pl = strlen(proj);
    if (pl > 63)
        return dsr_err_set(err, DSR_EINVAL, "projection name too long: %s", proj);
    memcpy(seed, proj, pl);
    seed[pl] = '\0';
    memcpy(seed + pl + 1, src->event_id.ptr, DSR_ULID_LEN);
    dsr_ulid_derive(ms, seed, pl + 1 + DSR_ULID_LEN, out->event_id);
    memcpy(out->causation_id, src->event_id.ptr, DSR_ULID_LEN);
    memcpy(out->timestamp, src->timestamp.ptr, src->timestamp.len);
    out->meta.event_id = out->event_id;
    out->meta.causation_id = out->causation_id;
    out->meta.timestamp = out->timestamp;
    out->meta.correlation_id = correlation_id;
    return 0;
}

int derive_ulid(uint64_t ms, const char *const *parts, size_t n, char out[DSR_ULID_LEN + 1],
                dsr_err *err)
{
    /* seed = SHA-256 of the parts, each followed by a NUL (so ("ab","c") and
     * ("a","bc") differ); the ULID's random part is then SHA-256(seed). */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
    unsigned char md[32];
    unsigned int mdlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return dsr_err_set(err, DSR_EIO, "SHA-256 failed deriving an id (OpenSSL EVP)");
    dsr_ulid_derive(ms, md, sizeof md, out);
    return 0;
}

/*
 * nats_subject.c - the names dossier uses on NATS: subject tokens, stream and
 * durable consumer names, the subject prefix.
 *
 * Invariant: everything produced here is made of [A-Za-z0-9_-] (tokens) and
 * '.' separators (subjects), so no feature slug can inject a wildcard ('*',
 * '>') or an extra token into a subject, and every name is accepted by
 * JetStream as a stream or consumer name.  Mapping is lossy ("a.b" and "a_b"
 * share a token), so consumers that filter by feature compare the envelope's
 * feature_slug as well (replay/nats_pull.c).
 */
#include "mirror.h"

#include <stdio.h>
#include <string.h>

static int token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

size_t dsr_nats_token(const char *s, size_t len, char *out, size_t outsz)
{
    if (outsz == 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < outsz; i++)
        out[n++] = token_char((unsigned char)s[i]) ? s[i] : '_';
    if (n == 0 && outsz > 1)
        out[n++] = '_';
    out[n] = '\0';
    return n;
}

int nats_name_valid(const char *s)
{
    if (!s || !*s || strlen(s) >= DSR_NATS_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!token_char((unsigned char)*s))
            return 0;
    return 1;
}

int nats_prefix_valid(const char *p)
{
    if (!p || !*p || strlen(p) > 200)
        return 0;
    size_t toklen = 0;
    for (; *p; p++) {
        if (*p == '.') {
            if (toklen == 0)
                return 0;           /* empty token: "a..b" or ".a" */
            toklen = 0;
        } else if (token_char((unsigned char)*p)) {
            toklen++;
        } else {
            return 0;
        }
    }
    return toklen > 0;              /* no trailing '.' */
}

int dsr_nats_default_durable(const char *node_id, const char *feature_slug,
                             char *out, size_t n)
{
    char node[DSR_NATS_NAME_MAX], feat[DSR_NATS_NAME_MAX];
    dsr_nats_token(node_id ? node_id : "", node_id ? strlen(node_id) : 0, node, sizeof node);
    int len;
    if (feature_slug) {
        dsr_nats_token(feature_slug, strlen(feature_slug), feat, sizeof feat);
        len = snprintf(out, n, "dossier-%s-%s", node, feat);
    } else {
        len = snprintf(out, n, "dossier-%s", node);
    }
    if (len < 0 || (size_t)len >= n || (size_t)len >= DSR_NATS_NAME_MAX)
        return DSR_EINVAL;
    return 0;
}

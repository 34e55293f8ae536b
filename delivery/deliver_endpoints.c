/*
 * deliver_endpoints.c - saved endpoints: the ad-hoc name of `deliver --url`,
 * add / remove / enable, and the list `dossier endpoint list` shows (URLs
 * redacted).
 *
 * Each public function opens the delivery state for just the time it needs:
 * writers (add, remove, enable) take the state's lock and fail with
 * DSR_ELOCKED while a `dossier deliver` runs; the list opens it read-only and
 * never waits.  Secrets are never read here except to check, when an
 * endpoint is saved, that its secret file parses.
 */
#include "deliver.h"
#include "url.h"
#include "opts_version.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------ */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void dsr_endpoint_adhoc_name(const char *url, const char *const *features, size_t nf,
                             const char *const *types, size_t nt,
                             char out[DSR_ENDPOINT_NAME_MAX + 1])
{
    /* Filters are sorted (and types canonicalised) so the same selection
     * written in another order maps to the same endpoint.  Unknown types
     * hash as written; the run rejects them anyway. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[32];
    unsigned int hl = 0;
    const char **fv = nf ? malloc(nf * sizeof *fv) : NULL;
    const char **tv = nt ? malloc(nt * sizeof *tv) : NULL;
    int ok = md && (!nf || fv) && (!nt || tv) &&
             EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    if (ok) {
        for (size_t i = 0; i < nf; i++)
            fv[i] = features[i];
        for (size_t i = 0; i < nt; i++) {
            dsr_event_type t;
            tv[i] = dsr_event_type_parse(types[i], strlen(types[i]), &t) == 0
                  ? dsr_event_type_name(t) : types[i];
        }
        if (nf)
            qsort(fv, nf, sizeof *fv, cmp_cstr);
        if (nt)
            qsort(tv, nt, sizeof *tv, cmp_cstr);
        ok = EVP_DigestUpdate(md, url, strlen(url) + 1) == 1;
        for (size_t i = 0; ok && i < nf; i++)
            ok = EVP_DigestUpdate(md, "f", 1) == 1 &&
                 EVP_DigestUpdate(md, fv[i], strlen(fv[i]) + 1) == 1;
        for (size_t i = 0; ok && i < nt; i++)
            ok = EVP_DigestUpdate(md, "t", 1) == 1 &&
                 EVP_DigestUpdate(md, tv[i], strlen(tv[i]) + 1) == 1;
        ok = ok && EVP_DigestFinal_ex(md, h, &hl) == 1;
    }
    if (!ok) {
        /* Out of memory in the digest: fall back to FNV-1a of the URL alone,
         * still deterministic. */
        uint64_t f = UINT64_C(1469598103934665603);
        for (const char *p = url; *p; p++)
            f = (f ^ (unsigned char)*p) * UINT64_C(1099511628211);
        for (int i = 0; i < 8; i++)
            h[i] = (unsigned char)(f >> (8 * i));
        h[8] = h[9] = h[10] = h[11] = 0;
    }
    char hex[25];
    dsr_hex(h, 6, hex);
    snprintf(out, DSR_ENDPOINT_NAME_MAX + 1, "url-%s", hex);
    free(fv);
    free(tv);
    EVP_MD_CTX_free(md);
}

/* ---- add / remove / enable ------------------------------------------------------- */

static int dup_list(char ***dst, size_t *dn, const char *const *src, size_t n)
{
    *dst = NULL;
    *dn = 0;
    if (!n)
        return 0;
    if (!(*dst = calloc(n, sizeof **dst)))
        return DSR_ENOMEM;
    for (size_t i = 0; i < n; i++, (*dn)++)
        if (!((*dst)[i] = strdup(src[i])))
            return DSR_ENOMEM;
    return 0;
}

int dsr_endpoint_add(const char *logdir, const dsr_endpoint_config *cfg, dsr_err *err)
{
    if (opts_version_check(cfg->version, DSR_ENDPOINT_CONFIG_VERSION, "dsr_endpoint_config",
                           "DSR_ENDPOINT_CONFIG_INIT", err))
        return DSR_EINVAL;
    if (!endpoint_name_valid(cfg->name))
        return dsr_err_set(err, DSR_EINVAL, "'%s' is not a valid endpoint name (letters, "
                           "digits, '.', '_', '-'; at most %d)", cfg->name ? cfg->name : "",
                           DSR_ENDPOINT_NAME_MAX);
    if (!strncmp(cfg->name, "url-", 4))
        return dsr_err_set(err, DSR_EINVAL, "endpoint names starting with 'url-' are "
                           "reserved for `dossier deliver --url`");
    char what[DSR_ENDPOINT_NAME_MAX + 16];
    snprintf(what, sizeof what, "endpoint %s", cfg->name);
    int urc = http_url_check(cfg->url, what, err);
    if (urc < 0)
        return urc;
    dsr_endpoint_info ep;
    memset(&ep, 0, sizeof ep);
    snprintf(ep.name, sizeof ep.name, "%s", cfg->name);
    ep.auto_deliver = cfg->auto_deliver;
    /* a version 1 struct ends before profile: wp04 */
    dsr_profile profile = cfg->version >= 2 ? cfg->profile : DSR_PROFILE_WP04;
    if (!dsr_profile_name(profile))
        return dsr_err_set(err, DSR_EINVAL, "endpoint %s: unknown profile %d", cfg->name,
                           (int)profile);
    ep.profile = profile;
    int rc = 0;
    if (cfg->secret_file) {
        /* Check now that it parses, so a typo fails here and not in a scan;
         * only the absolute path is stored. */
        dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
        if ((rc = dsr_webhook_secret_load(cfg->secret_file, &s, err)) < 0) {
            /* An unreadable file given on the command line is bad input. */
            if (rc == DSR_EIO && err)
                err->code = DSR_EINVAL;
            return rc == DSR_EIO ? DSR_EINVAL : rc;
        }
        dsr_webhook_secret_clear(&s);
        char abs[PATH_MAX];
        if (!realpath(cfg->secret_file, abs))
            return dsr_err_errno(err, DSR_EIO, errno, "secret file %s", cfg->secret_file);
        if (!(ep.secret_file = strdup(abs)))
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    const char **canon = cfg->n_types ? calloc(cfg->n_types, sizeof *canon) : NULL;
    if (cfg->n_types && !canon) {
        endpoint_info_clear(&ep);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cfg->n_types; i++) {
        dsr_event_type t;
        if (dsr_event_type_parse(cfg->types[i], strlen(cfg->types[i]), &t) < 0) {
            free(canon);
            endpoint_info_clear(&ep);
            return dsr_err_set(err, DSR_EINVAL, "endpoint %s: unknown event type '%s'",
                               cfg->name, cfg->types[i]);
        }
        canon[i] = dsr_event_type_name(t);
    }
    for (size_t i = 0; i < cfg->n_features; i++)
        if (!cfg->features[i][0]) {
            free(canon);
            endpoint_info_clear(&ep);
            return dsr_err_set(err, DSR_EINVAL, "endpoint %s: empty feature slug", cfg->name);
        }
    if (!(ep.url = strdup(cfg->url)) ||
        dup_list(&ep.features, &ep.n_features, cfg->features, cfg->n_features) < 0 ||
        dup_list(&ep.types, &ep.n_types, canon, cfg->n_types) < 0) {
        free(canon);
        endpoint_info_clear(&ep);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    free(canon);
    dstate *st = NULL;
    if ((rc = dstate_open(&st, logdir, 0, err)) == 0) {
        dsr_endpoint_info old;
        rc = dstate_get_endpoint(st, ep.name, &old, err);
        if (rc == 0) {
            endpoint_info_clear(&old);
            rc = dsr_err_set(err, DSR_EINVAL, "endpoint %s already exists (remove it first)",
                             ep.name);
        } else if (rc == DSR_ENOTFOUND) {
            dsr_err_clear(err);
            dbatch *b = dbatch_new(st);
            if (!b || dbatch_put_endpoint(b, &ep) < 0) {
                dbatch_free(b);
                rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
            } else {
                rc = dbatch_commit(b, err);
            }
        }
    }
    dstate_close(st);
    endpoint_info_clear(&ep);
    return rc;
}

static int open_existing_writer(dstate **st, const char *logdir, const char *name,
                                dsr_err *err)
{
    int rc = dstate_open(st, logdir, DSTATE_NOCREATE, err);
    if (rc == DSR_ENOTFOUND)
        return dsr_err_set(err, DSR_ENOTFOUND, "no endpoint named '%s'", name);
    return rc;
}

int dsr_endpoint_remove(const char *logdir, const char *name, dsr_err *err)
{
    dstate *st = NULL;
    int rc = open_existing_writer(&st, logdir, name, err);
    if (rc < 0)
        return rc;
    dsr_endpoint_info ep;
    if ((rc = dstate_get_endpoint(st, name, &ep, err)) == 0) {
        endpoint_info_clear(&ep);
        dbatch *b = dbatch_new(st);
        if (!b || dbatch_drop_endpoint(b, name) < 0) {
            dbatch_free(b);
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        } else {
            rc = dbatch_commit(b, err);
        }
    }
    dstate_close(st);
    return rc;
}

int dsr_endpoint_enable(const char *logdir, const char *name, dsr_err *err)
{
    dstate *st = NULL;
    int rc = open_existing_writer(&st, logdir, name, err);
    if (rc < 0)
        return rc;
    dsr_endpoint_info ep;
    if ((rc = dstate_get_endpoint(st, name, &ep, err)) == 0) {
        ep.disabled = 0;
        ep.disabled_ms = 0;
        free(ep.disabled_reason);
        ep.disabled_reason = NULL;
        dbatch *b = dbatch_new(st);
        if (!b || dbatch_put_endpoint(b, &ep) < 0) {
            dbatch_free(b);
            rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        } else {
            rc = dbatch_commit(b, err);
        }
        endpoint_info_clear(&ep);
    }
    dstate_close(st);
    return rc;
}

/* ---- lists and counts ----------------------------------------------------------------- */

void dsr_endpoint_list_free(dsr_endpoint_info *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        endpoint_info_clear(&list[i]);
    free(list);
}

int deliver_redact_urls(dsr_endpoint_info *v, size_t n, dsr_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char *r = url_redact(v[i].url);
        if (!r)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        free(v[i].url);
        v[i].url = r;
    }
    return 0;
}

int dsr_endpoint_list(const char *logdir, dsr_endpoint_info **out, size_t *n, dsr_err *err)
{
    *out = NULL;
    *n = 0;
    dstate *st = NULL;
    int rc = dstate_open(&st, logdir, DSTATE_RDONLY, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = dstate_list_endpoints(st, out, n, err);
    dstate_close(st);
    if (rc == 0 && (rc = deliver_redact_urls(*out, *n, err)) < 0) {
        dsr_endpoint_list_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

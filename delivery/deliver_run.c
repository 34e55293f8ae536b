/*
 * deliver_run.c - a delivery run's set-up and tear-down: the endpoint (saved,
 * or the ad-hoc one for `deliver --url`, created on first use), its secret,
 * the HTTP client for its URL, then the engine (deliver_engine.c), then the
 * pending count for the report.  dsr_deliver_run opens the log read-only
 * and the delivery state as its writer for the run's length.
 */
#include "deliver.h"
#include "clock.h"
#include "opts_version.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/log.h"

void dsr_deliver_opts_init(dsr_deliver_opts *o)
{
    dsr_deliver_opts d = DSR_DELIVER_OPTS_INIT;
    *o = d;
}

/* Secret for the endpoint: the caller's, else the endpoint's secret file,
 * else $DOSSIER_WEBHOOK_SECRET, else none (unsigned). */
static int resolve_secret(const dsr_endpoint_info *ep, const dsr_webhook_secret *given,
                          dsr_webhook_secret *owned, const dsr_webhook_secret **out,
                          dsr_err *err)
{
    *out = NULL;
    if (given && given->key) {
        *out = given;
        return 0;
    }
    if (ep->secret_file) {
        int rc = dsr_webhook_secret_load(ep->secret_file, owned, err);
        if (rc < 0)
            return dsr_err_prefix(err, "endpoint %s", ep->name);
        *out = owned;
        return 0;
    }
    const char *env = getenv("DOSSIER_WEBHOOK_SECRET");
    if (env && *env) {
        int rc = dsr_webhook_secret_parse(env, strlen(env), "DOSSIER_WEBHOOK_SECRET", owned, err);
        if (rc < 0)
            return rc;
        *out = owned;
    }
    return 0;
}

/* Record o->secret_file (absolute) on the ad-hoc endpoint ep when it
 * names another file than the one saved (or none): `endpoint list` then
 * shows what the run signs with.  ep is saved in any case when is_new. */
static int adhoc_save(dstate *st, const dsr_deliver_opts *o, dsr_endpoint_info *ep,
                      int is_new, dsr_err *err)
{
    assert(ep->adhoc);
    if (o->secret_file) {
        char abs[PATH_MAX];
        if (!realpath(o->secret_file, abs))
            return dsr_err_errno(err, DSR_EIO, errno, "secret file %s", o->secret_file);
        if (!ep->secret_file || strcmp(ep->secret_file, abs)) {
            char *dup = strdup(abs);
            if (!dup)
                return dsr_err_set(err, DSR_ENOMEM, "out of memory");
            free(ep->secret_file);
            ep->secret_file = dup;
            is_new = 1;   /* changed: save it */
        }
    }
    if (!is_new)
        return 0;
    dbatch *b = dbatch_new(st);
    if (!b || dbatch_put_endpoint(b, ep) < 0) {
        dbatch_free(b);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    return dbatch_commit(b, err);
}

/* Load the endpoint for a run: the saved one, or the ad-hoc one for o->url
 * (created on first use with its filters and the secret file given). */
static int load_endpoint(dstate *st, const dsr_deliver_opts *o, dsr_endpoint_info *ep,
                         dsr_err *err)
{
    /* version 1 callers have no profile fields */
    int has_profile = o->version >= 2 && o->has_profile;
    dsr_profile profile = has_profile ? o->profile : DSR_PROFILE_WP04;
    if (has_profile && !dsr_profile_name(profile))
        return dsr_err_set(err, DSR_EINVAL, "deliver: unknown profile %d", (int)profile);
    if (o->endpoint) {
        int rc = dstate_get_endpoint(st, o->endpoint, ep, err);
        if (rc == 0 && has_profile && ep->profile != profile) {
            rc = dsr_err_set(err, DSR_EINVAL, "endpoint %s is saved with profile %s, not %s "
                             "(remove it and add it again with --profile to change that)",
                             ep->name, dsr_profile_name(ep->profile), dsr_profile_name(profile));
            endpoint_info_clear(ep);
        }
        return rc;
    }
    if (!o->url)
        return dsr_err_set(err, DSR_EINVAL, "deliver: no endpoint and no URL given");
    char name[DSR_ENDPOINT_NAME_MAX + 1];
    if (profile == DSR_PROFILE_WP04) {
        dsr_endpoint_adhoc_name(o->url, o->features, o->n_features, o->types, o->n_types,
                                name);
    } else {
        /* another rendering is another stream: its own ad-hoc endpoint (and
         * cursor); the wp04 name stays what it always was */
        size_t ul = strlen(o->url);
        const char *pn = dsr_profile_name(profile);
        char *keyed = malloc(ul + strlen(pn) + 2);
        if (!keyed)
            return dsr_err_set(err, DSR_ENOMEM, "out of memory");
        memcpy(keyed, o->url, ul);
        keyed[ul] = '\n';
        strcpy(keyed + ul + 1, pn);
        dsr_endpoint_adhoc_name(keyed, o->features, o->n_features, o->types, o->n_types, name);
        free(keyed);
    }
    int rc = dstate_get_endpoint(st, name, ep, err);
    if (rc == 0 && ep->adhoc && (rc = adhoc_save(st, o, ep, 0, err)) < 0)
        endpoint_info_clear(ep);
    if (rc != DSR_ENOTFOUND)
        return rc;
    dsr_err_clear(err);
    memset(ep, 0, sizeof *ep);
    snprintf(ep->name, sizeof ep->name, "%s", name);
    ep->adhoc = 1;
    ep->profile = profile;
    int oom = !(ep->url = strdup(o->url));
    if (o->n_features && !(ep->features = calloc(o->n_features, sizeof *ep->features)))
        oom = 1;
    for (size_t i = 0; !oom && i < o->n_features; i++, ep->n_features++)
        oom = !(ep->features[i] = strdup(o->features[i]));
    if (!oom && o->n_types && !(ep->types = calloc(o->n_types, sizeof *ep->types)))
        oom = 1;
    for (size_t i = 0; !oom && i < o->n_types; i++, ep->n_types++) {
        dsr_event_type t;
        if (dsr_event_type_parse(o->types[i], strlen(o->types[i]), &t) < 0) {
            endpoint_info_clear(ep);
            return dsr_err_set(err, DSR_EINVAL, "unknown event type '%s'", o->types[i]);
        }
        oom = !(ep->types[i] = strdup(dsr_event_type_name(t)));
    }
    if (oom) {
        endpoint_info_clear(ep);
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    }
    rc = adhoc_save(st, o, ep, 1, err);
    if (rc < 0)
        endpoint_info_clear(ep);
    return rc;
}

int deliver_run_open(dsr_log *log, dstate *st, const dsr_deliver_opts *o,
                     dsr_deliver_report *rep, dsr_err *err)
{
    if (report_version_reset(rep, sizeof *rep, DSR_DELIVER_REPORT_VERSION, "dsr_deliver_report",
                             "DSR_DELIVER_REPORT_INIT", err))
        return DSR_EINVAL;
    uint64_t t0 = clock_mono_ms();
    if (opts_version_check(o->version, DSR_DELIVER_OPTS_VERSION, "dsr_deliver_opts",
                           "DSR_DELIVER_OPTS_INIT or dsr_deliver_opts_init", err))
        return DSR_EINVAL;
    if (o->concurrency < 1 || o->concurrency > DELIVER_MAX_CONCURRENCY)
        return dsr_err_set(err, DSR_EINVAL, "concurrency must be between 1 and %d",
                           DELIVER_MAX_CONCURRENCY);
    if (o->policy.max_attempts < 1)
        return dsr_err_set(err, DSR_EINVAL, "max attempts must be at least 1");
    /* Before the ad-hoc endpoint for it is saved. */
    if (!o->endpoint && o->url) {
        int urc = http_url_check(o->url, "--url", err);
        if (urc < 0)
            return urc;
    }
    dsr_endpoint_info ep;
    deliver_target t = { &ep, 0, NULL, NULL };
    dsr_webhook_secret owned = DSR_WEBHOOK_SECRET_INIT;
    int rc = load_endpoint(st, o, &ep, err);
    if (rc < 0)
        return rc;
    snprintf(rep->endpoint, sizeof rep->endpoint, "%s", ep.name);
    if (ep.disabled) {
        rep->disabled = 1;
        rc = dsr_err_set(err, DSR_EINVAL, "endpoint %s is disabled (%s); run 'dossier "
                         "endpoint enable %s' once the receiver is back", ep.name,
                         ep.disabled_reason ? ep.disabled_reason : "410 Gone", ep.name);
        goto out;
    }
    if ((rc = deliver_type_mask(&ep, &t.type_mask, err)) < 0)
        goto out;
    if ((rc = resolve_secret(&ep, o->secret, &owned, &t.secret, err)) < 0)
        goto out;
    http_opts ho = { ep.url, o->cacert, o->timeout_ms, o->concurrency };
    if ((rc = http_client_create(&t.http, &ho, err)) < 0)
        goto out;
    rc = deliver_engine_run(log, st, o, &t, rep, err);
    if (rc == 0) {
        uint64_t pend = 0, retrying = 0;
        rc = deliver_count_pending(log, st, &ep, &pend, &retrying, err);
        rep->pending = pend;
    }
out:
    http_client_free(t.http);
    endpoint_info_clear(&ep);
    dsr_webhook_secret_clear(&owned);
    rep->seconds = (double)(clock_mono_ms() - t0) / 1000.0;
    return rc;
}

int dsr_deliver_run(const char *logdir, const dsr_deliver_opts *o, dsr_deliver_report *rep,
                    dsr_err *err)
{
    if (report_version_reset(rep, sizeof *rep, DSR_DELIVER_REPORT_VERSION, "dsr_deliver_report",
                             "DSR_DELIVER_REPORT_INIT", err))
        return DSR_EINVAL;
    dsr_log *log = NULL;
    int rc = dsr_log_open(&log, logdir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE, err);
    if (rc < 0)
        return rc;
    dstate *st = NULL;
    rc = dstate_open(&st, logdir, 0, err);
    if (rc == 0)
        rc = deliver_run_open(log, st, o, rep, err);
    dstate_close(st);
    dsr_log_close(log);
    return rc;
}

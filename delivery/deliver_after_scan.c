/*
 * deliver_after_scan.c - the bounded delivery window `dossier scan` opens
 * after its last commit: every auto-deliver endpoint (or all, on request)
 * gets a run inside one shared time budget; what does not fit stays pending
 * for `dossier deliver`.  A running `dossier deliver` holds the state's lock
 * and will send the new events itself, so the window is then skipped.
 */
#include "opts_version.h"
#include "deliver.h"
#include "clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dossier/log.h"

#define AFTER_SCAN_BUDGET_MS 3000
#define AFTER_SCAN_TIMEOUT_MS 2000
/* Below this, starting another endpoint is pointless. */
#define AFTER_SCAN_MIN_MS 50

int dsr_deliver_after_scan(dsr_log *log, const dsr_deliver_after_scan_opts *o,
                           dsr_deliver_after_scan_report *rep)
{
    dsr_err verr;
    if (report_version_reset(rep, sizeof *rep, DSR_DELIVER_AFTER_SCAN_REPORT_VERSION,
                             "dsr_deliver_after_scan_report",
                             "DSR_DELIVER_AFTER_SCAN_REPORT_INIT", &verr)) {
        /* The prefix this library knows is there whatever the version. */
        unsigned v = rep->version;
        memset(rep, 0, sizeof *rep);
        rep->version = v;
        snprintf(rep->note, sizeof rep->note, "%.500s", verr.msg);
        return DSR_EINVAL;
    }
    if (o && opts_version_check(o->version, DSR_DELIVER_AFTER_SCAN_OPTS_VERSION,
                                "dsr_deliver_after_scan_opts",
                                "DSR_DELIVER_AFTER_SCAN_OPTS_INIT", &verr)) {
        snprintf(rep->note, sizeof rep->note, "%.500s", verr.msg);
        return DSR_EINVAL;
    }
    uint64_t budget = o && o->budget_ms ? o->budget_ms : AFTER_SCAN_BUDGET_MS;
    uint64_t t0 = clock_mono_ms();
    int all = o && o->all_endpoints;
    const char *only = o && o->version >= 2 ? o->endpoint : NULL;
    dsr_err err;
    dsr_err_clear(&err);
    dstate *st = NULL;
    int rc = dstate_open(&st, dsr_log_dir(log), DSTATE_NOCREATE, &err);
    if (rc == DSR_ENOTFOUND) {
        if (only) {
            snprintf(rep->note, sizeof rep->note, "delivery: no saved endpoint '%.200s' (add "
                     "it with 'dossier endpoint add')", only);
            return DSR_ENOTFOUND;
        }
        if (all)
            snprintf(rep->note, sizeof rep->note, "delivery: no saved endpoint (add one "
                     "with 'dossier endpoint add')");
        return 0;
    }
    if (rc == DSR_ELOCKED) {
        rep->skipped_locked = 1;
        snprintf(rep->note, sizeof rep->note, "delivery: skipped, a running 'dossier "
                 "deliver' holds the delivery state and will send the new events");
        return 0;
    }
    if (rc < 0) {
        snprintf(rep->note, sizeof rep->note, "delivery: skipped: %.480s", err.msg);
        return rc;
    }
    dsr_endpoint_info *eps = NULL;
    size_t n = 0;
    int first_rc = dstate_list_endpoints(st, &eps, &n, &err);
    char first_err[256] = "";
    if (first_rc < 0)
        snprintf(first_err, sizeof first_err, "%.250s", err.msg);
    size_t skipped = 0, disabled = 0;
    int found = 0;
    for (size_t i = 0; first_rc == 0 && i < n; i++) {
        const dsr_endpoint_info *ep = &eps[i];
        if (only ? strcmp(ep->name, only) != 0 : ep->adhoc || !(all || ep->auto_deliver))
            continue;
        found = 1;
        if (ep->disabled) {
            disabled++;
            continue;
        }
        uint64_t spent = clock_mono_ms() - t0;
        if (spent + AFTER_SCAN_MIN_MS >= budget) {
            skipped++;
            continue;
        }
        dsr_deliver_opts d;
        dsr_deliver_opts_init(&d);
        d.endpoint = ep->name;
        d.budget_ms = budget - spent;
        uint64_t timeout = o && o->timeout_ms ? o->timeout_ms : AFTER_SCAN_TIMEOUT_MS;
        d.timeout_ms = timeout < d.budget_ms ? timeout : d.budget_ms;
        d.cacert = o ? o->cacert : NULL;
        dsr_deliver_report r = DSR_DELIVER_REPORT_INIT;
        dsr_err_clear(&err);
        rc = deliver_run_open(log, st, &d, &r, &err);
        rep->endpoints++;
        rep->delivered += r.delivered;
        rep->failed += r.failed;
        rep->dead += r.dead;
        rep->pending += r.pending;
        if (rc < 0 && first_rc == 0) {
            first_rc = rc;
            snprintf(first_err, sizeof first_err, "%.250s", err.msg);
        }
    }
    dsr_endpoint_list_free(eps, n);
    dstate_close(st);
    if (first_rc == 0 && only && !found) {
        first_rc = DSR_ENOTFOUND;
        snprintf(first_err, sizeof first_err, "no saved endpoint '%.200s' (see 'dossier "
                 "endpoint list')", only);
    }
    if (first_rc < 0)
        snprintf(rep->note, sizeof rep->note, "delivery: %s; events stay pending for "
                 "'dossier deliver'", first_err);
    else if (rep->endpoints || skipped || disabled)
        snprintf(rep->note, sizeof rep->note,
                 "delivery: %" PRIu64 " delivered, %" PRIu64 " failed attempt(s), %" PRIu64
                 " dead-lettered, %" PRIu64 " pending (%zu endpoint(s)%s%s)",
                 rep->delivered, rep->failed, rep->dead, rep->pending, rep->endpoints,
                 skipped ? ", some skipped: time window used up" : "",
                 disabled ? ", disabled ones skipped" : "");
    else if (all)
        snprintf(rep->note, sizeof rep->note, "delivery: no saved endpoint to deliver to");
    return first_rc;
}

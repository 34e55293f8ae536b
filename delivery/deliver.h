/*
 * deliver.h - private to delivery/: how the delivery files use each other.
 * Nothing here is part of the public API.
 *
 * The files, bottom up (each uses only those above it in this list):
 *   http_lib.c            libcurl, loaded on first use (http_lib.h)
 *   deliver_retry.c       the retry policy and Retry-After (pure functions)
 *   deliver_sign.c        Standard Webhooks secrets and signatures
 *   deliver_http.c        the libcurl client (deliver_http.h)
 *   deliver_state.c       the RocksDB state store (deliver_state.h)
 *   deliver_select.c      which events an endpoint selects
 *   deliver_endpoints.c   saved endpoints: add / remove / enable / list
 *   deliver_dead.c        dead letters: list / re-queue
 *   deliver_stats.c       pending / retrying / dead counts
 *   deliver_engine.c      one run's engine: read, queue, send, record
 *   deliver_run.c         a run's set-up: endpoint, secret, client, engine
 *   deliver_after_scan.c  the bounded delivery window after a scan
 */
#ifndef DOSSIER_DELIVERY_PRIV_H
#define DOSSIER_DELIVERY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/deliver.h"
#include "deliver_http.h"
#include "deliver_state.h"

/* ---- selection (deliver_select.c) ---------------------------------------- */
/* Bit (1 << type) for every type the endpoint selects; 0 selects all. */
int  deliver_type_mask(const dsr_endpoint_info *ep, uint64_t *mask, dsr_err *err);
/* 1 when the endpoint's filters select env. */
int  deliver_selects(const dsr_endpoint_info *ep, uint64_t type_mask,
                     const dsr_envelope *env);

/* ---- listings (deliver_endpoints.c) --------------------------------------- */
/* Replace every url in v[0..n) by its redacted form (common/url.h). */
int  deliver_redact_urls(dsr_endpoint_info *v, size_t n, dsr_err *err);

/* ---- counts (deliver_stats.c) --------------------------------------------- */
/* Events still pending for ep (retrying: those with a failed attempt). */
int  deliver_count_pending(dsr_log *log, dstate *st, const dsr_endpoint_info *ep,
                           uint64_t *pending, uint64_t *retrying, dsr_err *err);

/* ---- one run (deliver_engine.c, deliver_run.c) ----------------------------- */
/* Requests in flight at once, at most (dsr_deliver_opts.concurrency). */
#define DELIVER_MAX_CONCURRENCY 256

/* What a run sends to: the endpoint (the engine may disable it on 410 Gone,
 * in memory and in the state), its type mask, its secret (NULL: unsigned)
 * and a client for its URL. */
typedef struct deliver_target {
    dsr_endpoint_info        *ep;
    uint64_t                  type_mask;
    const dsr_webhook_secret *secret;
    http_client              *http;
} deliver_target;

/* The engine: delivers until everything selected is resolved (or, with
 * o->follow, until stopped; with o->budget_ms, until the window closes).
 * Fills the counters of rep it owns (attempts, failed, dead, abandoned,
 * disabled). */
int  deliver_engine_run(dsr_log *log, dstate *st, const dsr_deliver_opts *o,
                        deliver_target *t, dsr_deliver_report *rep, dsr_err *err);

/* One run against an open log (any mode) and an open writable state. */
int  deliver_run_open(dsr_log *log, dstate *st, const dsr_deliver_opts *o,
                      dsr_deliver_report *rep, dsr_err *err);

#endif

/*
 * record_scan.c - appends a scan result to the log as one scan run (see
 * dossier/record.h).  Owns the batching of a run and its completion marker.
 *
 * Durability: each batch is committed with sync before the next starts; the
 * dossier_scan_completed event rides in the LAST batch together with the
 * run's final artifacts, so "completed" and "all events present" become
 * durable in the same fsync.  A crash before that commit leaves earlier
 * batches in the log with no marker: projections and `dossier verify` treat
 * such a run as incomplete, never as a (partial) snapshot.
 */
#include "dossier/record.h"
#include "dossier/emit.h"

#include <string.h>

#define DEFAULT_BATCH_EVENTS 16384

typedef struct run_ctx {
    dsr_log          *log;
    dsr_log_batch    *batch;
    size_t            batch_max;
    dsr_emit_meta     meta;
    dsr_record_stats *st;
} run_ctx;

static int commit_batch(run_ctx *c, dsr_err *err)
{
    dsr_log_batch *b = c->batch;
    c->batch = NULL;
    return dsr_log_batch_commit(b, err);
}

/* Open a batch if none is open; commit a full one first. */
static int ensure_batch(run_ctx *c, dsr_err *err)
{
    if (c->batch && dsr_log_batch_events(c->batch) >= c->batch_max) {
        int rc = commit_batch(c, err);
        if (rc)
            return rc;
    }
    if (!c->batch)
        return dsr_log_batch_begin(c->log, &c->batch, err);
    return 0;
}

static void note_seq(run_ctx *c, const dsr_emit_result *res)
{
    if (res->duplicate) {
        c->st->duplicates++;
        return;
    }
    if (!c->st->first_seq)
        c->st->first_seq = res->seq;
    c->st->last_seq = res->seq;
}

/* Emit the event for one artifact (or nothing for absent optional ones).
 * Returns 0, DSR_ESCHEMA (refused; counted, run goes on) or a log error. */
static int emit_artifact(run_ctx *c, const char *slug, const dsr_artifact *a,
                         dsr_err *refused, dsr_err *err)
{
    dsr_emit_result res;
    dsr_err e;
    int rc;
    if (a->present) {
        dsr_artifact_indexed p = {
            .feature_slug = slug, .artifact_key = a->artifact_key,
            .artifact_class = a->artifact_class, .relative_path = a->relative_path,
            .content_hash_sha256 = a->sha256, .size_bytes = (int64_t)a->size_bytes,
            .wp_id = a->wp_id, .step_id = a->step_id,
            .required_status = a->required ? "required" : "optional",
        };
        rc = dsr_emit_artifact_indexed(c->batch, &p, &c->meta, &res, &e);
        if (!rc)
            c->st->indexed++;
    } else if (a->required && a->blocking) {
        dsr_artifact_missing p = {
            .feature_slug = slug, .artifact_key = a->artifact_key,
            .artifact_class = a->artifact_class,
            .expected_path_pattern = a->path_pattern ? a->path_pattern : a->relative_path,
            .reason_code = dsr_reason_name(a->reason),
            .reason_detail = a->reason_detail, .blocking = 1,
        };
        rc = dsr_emit_artifact_missing(c->batch, &p, &c->meta, &res, &e);
        if (!rc)
            c->st->missing++;
    } else {
        return 0;
    }
    if (rc == DSR_ESCHEMA) {
        if (!c->st->refused)
            *refused = e;
        c->st->refused++;
        return DSR_ESCHEMA;
    }
    if (rc) {
        *err = e;
        return rc;
    }
    note_seq(c, &res);
    return 0;
}

static int emit_completed(run_ctx *c, const dsr_scan_result *r, const dsr_record_opts *o,
                          dsr_err *err)
{
    dsr_scan_completed p = {
        .feature_slug = r->feature_slug,
        .mission_type = r->has_manifest ? o->mission_type : NULL,
        .manifest_version = r->has_manifest ? o->manifest_version : NULL,
        .step_id = o->step_id,
        .target_branch = o->target_branch ? o->target_branch : "main",
        .emit_mode = "full",
        .indexed_count = (int64_t)c->st->indexed,
        .missing_count = (int64_t)c->st->missing,
        .removed_count = 0,
        .optional_absent = (int64_t)r->n_optional_absent,
    };
    dsr_emit_result res;
    int rc = dsr_emit_scan_completed(c->batch, &p, &c->meta, &res, err);
    if (!rc)
        note_seq(c, &res);
    return rc;
}

int dsr_record_scan(dsr_log *log, const dsr_scan_result *r, const dsr_record_opts *o,
                    dsr_record_stats *st, dsr_err *err)
{
    memset(st, 0, sizeof *st);
    int rc = dsr_ulid_new(dsr_log_ulid_gen(log), st->run_id);
    if (rc)
        return dsr_err_set(err, rc, "cannot create a run id");
    run_ctx c = {
        .log = log, .batch = NULL,
        .batch_max = o->batch_events ? o->batch_events : DEFAULT_BATCH_EVENTS,
        .meta = { .correlation_id = st->run_id },
        .st = st,
    };
    dsr_err refused;
    dsr_err_clear(&refused);
    for (size_t i = 0; i < r->n_artifacts; i++) {
        rc = ensure_batch(&c, err);
        if (rc)
            goto fail;
        rc = emit_artifact(&c, r->feature_slug, &r->artifacts[i], &refused, err);
        if (rc && rc != DSR_ESCHEMA)
            goto fail;
    }
    if (st->refused) {
        /* Never mark a run complete when one of its events was refused. */
        if (c.batch && (rc = commit_batch(&c, err)))
            goto fail;
        *err = refused;
        return dsr_err_prefix(err, "run %s left incomplete (%llu event(s) refused)",
                              st->run_id, (unsigned long long)st->refused);
    }
    if ((rc = ensure_batch(&c, err)) || (rc = emit_completed(&c, r, o, err)))
        goto fail;
    if ((rc = commit_batch(&c, err)))
        return rc;
    st->completed = 1;
    return 0;
fail:
    dsr_log_batch_abort(c.batch);
    return rc;
}

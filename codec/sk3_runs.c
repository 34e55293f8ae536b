/*
 * sk3_runs.c - dsr_sk3_runs: what the spec-kitty-3 rendering and import
 * remember per scan run (dossier/sk3.h, convention 1), and the completion
 * an imported run gets.
 *
 * Rendering: a spec-kitty-3 event carries its run's namespace, which the
 * canonical log holds only in the run's dossier_scan_completed, written
 * after the run's artifact events; dsr_sk3_runs_note keeps it by run id.
 *
 * Import: spec-kitty-3 has no completion event, but the snapshot projection
 * folds a run only once its dossier_scan_completed arrives
 * (replay/proj_snapshot.c).  So every run whose artifact events were
 * imported gets one, made from what was imported:
 *   event_id       ULID(latest event time, SHA-256("sk3-import\0" run id))
 *   timestamp      the latest event time of the run; lamport its highest
 *   node_id, project_uuid, feature: those of the run's first event
 *   payload        the namespace of the run's events, emit_mode "full",
 *                  indexed/missing counts of the run, removed_count 0,
 *                  optional_absent from the snapshot's diagnostics (or 0)
 * All of it is a function of the imported lines, so importing the same file
 * again re-makes the same event, and the log's idempotent append drops it.
 */
#include "sk3.h"
#include "codec.h"
#include "mp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int dsr_sk3_runs_new(dsr_sk3_runs **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : DSR_ENOMEM;
}

void dsr_sk3_runs_free(dsr_sk3_runs *r)
{
    if (!r)
        return;
    strmap_free(&r->map);
    ar_free(&r->ar);
    free(r->order);
    free(r);
}

sk3_run *sk3_run_get(dsr_sk3_runs *r, const char *s, size_t n, int *created)
{
    int c = 0;
    void **slot = strmap_upsert(&r->map, s, n, &c);
    if (!slot)
        return NULL;
    if (created)
        *created = c;
    if (!c)
        return *slot;
    sk3_run *run = ar_alloc(&r->ar, sizeof *run);
    char *id = ar_strndup(&r->ar, s, n);
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        sk3_run **o = realloc(r->order, cap * sizeof *o);
        if (o) {
            r->order = o;
            r->cap = cap;
        }
    }
    if (!run || !id || r->n == r->cap) {
        *slot = NULL;   /* strmap keeps the key: a later get retries */
        return NULL;
    }
    memset(run, 0, sizeof *run);
    run->run_id = id;
    *slot = run;
    r->order[r->n++] = run;
    return run;
}

const sk3_run *sk3_run_find(const dsr_sk3_runs *r, const char *s, size_t n)
{
    void **slot = r && s ? strmap_find(&r->map, s, n) : NULL;
    return slot ? *slot : NULL;
}

int dsr_sk3_runs_note(dsr_sk3_runs *r, const dsr_envelope *env)
{
    if (env->type != DSR_EV_SCAN_COMPLETED || !env->correlation_id.ptr)
        return 0;
    sk3_run *run = sk3_run_get(r, env->correlation_id.ptr, env->correlation_id.len, NULL);
    if (!run)
        return DSR_ENOMEM;
    dsr_str mt, mv, step, br;
    mp_get_str(env->payload, "mission_type", &mt);
    mp_get_str(env->payload, "manifest_version", &mv);
    mp_get_str(env->payload, "step_id", &step);
    mp_get_str(env->payload, "target_branch", &br);
    int rc = 0;
    run->mission_type = ar_str(&r->ar, mt, &rc);
    run->manifest_version = ar_str(&r->ar, mv, &rc);
    run->step_id = ar_str(&r->ar, step, &rc);
    run->target_branch = ar_str(&r->ar, br, &rc);
    run->manifest_none = !mt.ptr;
    run->has_scope = 1;
    return rc ? DSR_ENOMEM : 0;
}

int dsr_sk3_runs_completion(dsr_sk3_runs *r, size_t i, msgpack_sbuffer *out,
                            const char **run_event_id, dsr_err *err)
{
    size_t k = 0;
    const sk3_run *run = NULL;
    for (size_t j = 0; j < r->n; j++)
        if (r->order[j]->has_artifacts && k++ == i) {
            run = r->order[j];
            break;
        }
    if (!run)
        return DSR_ENOTFOUND;
    assert(run->feature && run->node_id && run->project_uuid && run->timestamp);

    char id[DSR_ULID_LEN + 1];
    char seed[16 + 1024];
    size_t rl = strlen(run->run_id);
    if (rl > 1000)
        rl = 1000;   /* run ids are ULIDs; the bound only keeps seed in range */
    memcpy(seed, "sk3-import", 11);
    memcpy(seed + 11, run->run_id, rl);
    dsr_ulid_derive(run->ts_ms, seed, 11 + rl, id);

    dsr_scan_completed p = {
        .feature_slug = run->feature,
        .mission_type = run->manifest_none ? NULL : run->mission_type,
        .manifest_version = run->manifest_none ? NULL : run->manifest_version,
        .step_id = run->step_id,
        .target_branch = run->target_branch ? run->target_branch : "unknown",
        .emit_mode = "full",
        .indexed_count = run->indexed,
        .missing_count = run->missing,
        .removed_count = 0,
        .optional_absent = run->optional_absent,
    };
    msgpack_sbuffer psb;
    msgpack_sbuffer_init(&psb);
    msgpack_packer ppk;
    msgpack_packer_init(&ppk, &psb, msgpack_sbuffer_write);
    int rc = dsr_payload_pack(&ppk, DSR_EV_SCAN_COMPLETED, &p);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (!rc && msgpack_unpack_next(&u, psb.data, psb.size, NULL) != MSGPACK_UNPACK_SUCCESS)
        rc = DSR_ENOMEM;
    if (!rc) {
        dsr_envelope env;
        memset(&env, 0, sizeof env);
        env.event_id = (dsr_str){ id, DSR_ULID_LEN };
        env.type = DSR_EV_SCAN_COMPLETED;
        env.feature_slug = (dsr_str){ run->feature, strlen(run->feature) };
        env.timestamp = (dsr_str){ run->timestamp, strlen(run->timestamp) };
        env.node_id = (dsr_str){ run->node_id, strlen(run->node_id) };
        env.lamport_clock = run->lamport_max;
        env.project_uuid = (dsr_str){ run->project_uuid, strlen(run->project_uuid) };
        env.correlation_id = (dsr_str){ run->run_id, strlen(run->run_id) };
        env.payload = &u.data;
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
        rc = dsr_envelope_pack(&pk, &env);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&psb);
    if (rc)
        return dsr_err_set(err, rc == DSR_EINVAL ? DSR_ESCHEMA : DSR_ENOMEM,
                           "run %s: cannot make its scan completion", run->run_id);
    if (run_event_id)
        *run_event_id = run->first_event_id;
    return 0;
}

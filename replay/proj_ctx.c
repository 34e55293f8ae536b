/*
 * proj_ctx.c - what the driver offers the projections it runs: the names of
 * their state families, their checkpoints, and the derived events they emit
 * (live) or check against the log (verify).  Below both the driver and the
 * projections, so neither calls back up into the other.
 */
#include "replay.h"
#include "codec.h"
#include "log_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void proj_cf_name(const char *proj, int verify, char out[48])
{
    snprintf(out, 48, "%s_%s", verify ? "verify" : "proj", proj);
}

int replay_read_ckpt(dsr_log *log, const char *cf, uint64_t *seq, dsr_err *err)
{
    dsr_buf v = DSR_BUF_INIT;
    int rc = dsr_log_get(log, cf, PK_CKPT, strlen(PK_CKPT), &v, err);
    *seq = 0;
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        rc = 0;
    } else if (!rc) {
        if (v.len != 8)
            rc = dsr_err_set(err, DSR_ECORRUPT, "%s: checkpoint row is %zu bytes (expected 8)",
                             cf, v.len);
        else
            *seq = dsr_seq_from_key(v.data);
    }
    dsr_buf_free(&v);
    return rc;
}


/* ---- derived events ------------------------------------------------------ */

void proj_diff(proj_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->n_diff++;
    if (c->diff_fn)
        c->diff_fn(c->diff_ud, c->ops->name, msg);
}

/* Verify mode: the rebuild wants to emit event (t, payload) with id dm; the
 * live projection must already have put exactly that event in the log. */
static int check_derived(proj_ctx *c, dsr_event_type t, const void *payload,
                         const derived_meta *dm, const dsr_envelope *src, dsr_err *err)
{
    uint64_t seq;
    int rc = dsr_log_find_event(c->log, dm->event_id, &seq, err);
    if (rc == DSR_ENOTFOUND) {
        dsr_err_clear(err);
        proj_diff(c, "derived %s %s (from event %.*s) is not in the log",
                  dsr_event_type_name(t), dm->event_id, (int)src->event_id.len,
                  src->event_id.ptr);
        return 0;
    }
    if (rc)
        return rc;
    dsr_buf rec = DSR_BUF_INIT;
    rc = dsr_log_get_event(c->log, seq, &rec, err);
    if (rc) {
        dsr_buf_free(&rec);
        return rc;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    rc = dsr_record_decode(rec.data, rec.len, &u, &env, err);
    if (!rc) {
        dsr_buf mine = DSR_BUF_INIT, theirs = DSR_BUF_INIT;
        msgpack_packer pk;
        mp_packer_init(&pk, &mine);
        int prc = dsr_payload_pack(&pk, t, payload);
        mp_packer_init(&pk, &theirs);
        if (!prc && msgpack_pack_object(&pk, *env.payload))
            prc = DSR_ENOMEM;
        /* A drift event recorded before its optional content_changed
         * existed is the same event without it: compare it that way. */
        if (!prc && t == DSR_EV_PARITY_DRIFT_DETECTED
            && ((const dsr_parity_drift_detected *)payload)->n_content_changed
            && codec_map_get(env.payload, "content_changed") == NULL) {
            dsr_parity_drift_detected bare = *(const dsr_parity_drift_detected *)payload;
            bare.content_changed = NULL;
            bare.n_content_changed = 0;
            dsr_buf_reset(&mine);
            mp_packer_init(&pk, &mine);
            prc = dsr_payload_pack(&pk, t, &bare);
        }
        if (prc)
            rc = dsr_err_set(err, prc, "cannot pack derived %s %s", dsr_event_type_name(t),
                             dm->event_id);
        else if (env.type != t || mine.len != theirs.len
                 || memcmp(mine.data, theirs.data, mine.len))
            proj_diff(c, "derived %s %s (seq %llu): the log holds a different payload than "
                      "the rebuild computes", dsr_event_type_name(t), dm->event_id,
                      (unsigned long long)seq);
        dsr_buf_free(&mine);
        dsr_buf_free(&theirs);
    } else {
        dsr_err_prefix(err, "derived event %s (seq %llu)", dm->event_id,
                       (unsigned long long)seq);
    }
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
    return rc;
}

int proj_emit(proj_ctx *c, dsr_event_type t, const void *payload, const dsr_envelope *src,
              const char *correlation_id, char event_id_out[DSR_ULID_LEN + 1], dsr_err *err)
{
    derived_meta dm;
    int rc = derive_meta(c->ops->name, src, correlation_id, &dm, err);
    if (rc)
        return rc;
    if (event_id_out)
        memcpy(event_id_out, dm.event_id, DSR_ULID_LEN + 1);
    if (c->verify)
        return check_derived(c, t, payload, &dm, src, err);
    /* A derived event already committed (every one, on a replay from zero)
     * is one dsr_emit would drop as a duplicate, after packing and
     * validating its payload first: looking its id up alone gives the same
     * outcome for a fraction of the work (a drift payload lists every
     * changed artifact).  The lookup does not wait for the replay's chunk
     * in flight (replay_drive.c): the ids that batch holds derive from
     * earlier source events, each folded once, so this one is not among
     * them, and dsr_emit below still drops a duplicate within its batch. */
    uint64_t seq;
    rc = log_find_event_committed(c->log, dm.event_id, &seq, err);
    if (rc == 0) {
        if (c->stats)
            c->stats->derived_dup++;
        return 0;
    }
    if (rc != DSR_ENOTFOUND) {
        dsr_err_prefix(err, "projection %s, derived from event %.*s", c->ops->name,
                       (int)src->event_id.len, src->event_id.ptr);
        return rc;
    }
    dsr_err_clear(err);
    dsr_emit_result res;
    rc = dsr_emit(c->st.b, t, payload, &dm.meta, &res, err);
    if (rc)
        return dsr_err_prefix(err, "projection %s, derived from event %.*s", c->ops->name,
                              (int)src->event_id.len, src->event_id.ptr);
    if (c->stats) {
        if (res.duplicate)
            c->stats->derived_dup++;
        else
            c->stats->derived_new++;
    }
    return 0;
}

/*
 * import_trust.c - the trust rule for events arriving from outside a log
 * (see dossier/import.h), and the provenance of a stored event.  Kept apart
 * from the emitter: dsr_emit_import appends what it is given; the commands
 * that take foreign input ask dsr_import_check first.
 */
#include "dossier/import.h"
#include "dossier/buf.h"

#include <msgpack.h>
#include <string.h>

static int str_is(dsr_str s, const char *z)
{
    return s.ptr && s.len == strlen(z) && memcmp(s.ptr, z, s.len) == 0;
}

/* The payload's "node_id" string, or a null dsr_str. */
static dsr_str payload_node_id(const msgpack_object *p)
{
    dsr_str none = { NULL, 0 };
    if (!p || p->type != MSGPACK_OBJECT_MAP)
        return none;
    for (uint32_t i = 0; i < p->via.map.size; i++) {
        const msgpack_object_kv *kv = &p->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 7
            && !memcmp(kv->key.via.str.ptr, "node_id", 7) && kv->val.type == MSGPACK_OBJECT_STR) {
            dsr_str s = { kv->val.via.str.ptr, kv->val.via.str.size };
            return s;
        }
    }
    return none;
}

int dsr_import_check(dsr_log *log, const dsr_envelope *env, unsigned flags, dsr_err *err)
{
    if (!log || !env || !env->event_id.ptr || env->event_id.len != DSR_ULID_LEN)
        return dsr_err_set(err, DSR_EINVAL, "import check: no log or no event_id");
    if (flags & DSR_IMPORT_TRUST_INTERNAL)
        return 0;
    const char *own = dsr_log_node_id(log);
    int baseline = env->type == DSR_EV_BASELINE_ACCEPTED;
    int claims_own = str_is(env->node_id, own) || str_is(payload_node_id(env->payload), own);
    if (!baseline && !claims_own)
        return 0;
    char id[DSR_ULID_LEN + 1];
    memcpy(id, env->event_id.ptr, DSR_ULID_LEN);
    id[DSR_ULID_LEN] = '\0';
    uint64_t seq;
    int rc = dsr_log_find_event(log, id, &seq, err);
    if (rc == 0)
        return 0;   /* already stored: importing it adds nothing */
    if (rc != DSR_ENOTFOUND)
        return rc;
    int nl = env->node_id.ptr ? (int)env->node_id.len : 4;
    const char *node = env->node_id.ptr ? env->node_id.ptr : "null";
    if (claims_own)
        return dsr_err_set(err, DSR_ESCHEMA, "event %s (%s): carries this log's own node_id "
                           "%s but was not written by this log; refused (accept events "
                           "from a trusted source with --trust-internal)", id,
                           dsr_event_type_name(env->type), own);
    return dsr_err_set(err, DSR_ESCHEMA, "event %s: dossier_baseline_accepted from node "
                       "%.*s: a baseline is accepted by the log it gates, not imported; "
                       "refused (accept it from a trusted source with --trust-internal)",
                       id, nl, node);
}

int dsr_event_origin(dsr_log *log, const char *event_id, char node_id[DSR_ULID_LEN + 1],
                     int *local, dsr_err *err)
{
    uint64_t seq;
    int rc = dsr_log_find_event(log, event_id, &seq, err);
    if (rc)
        return rc;
    dsr_buf rec = DSR_BUF_INIT;
    if ((rc = dsr_log_get_event(log, seq, &rec, err))) {
        dsr_buf_free(&rec);
        return rc;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    rc = dsr_record_decode(rec.data, rec.len, &u, &env, err);
    if (!rc) {
        if (!env.node_id.ptr || env.node_id.len != DSR_ULID_LEN)
            rc = dsr_err_set(err, DSR_ECORRUPT, "event %s: no node_id", event_id);
        else {
            memcpy(node_id, env.node_id.ptr, DSR_ULID_LEN);
            node_id[DSR_ULID_LEN] = '\0';
            *local = !strcmp(node_id, dsr_log_node_id(log));
        }
    }
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
    return rc;
}

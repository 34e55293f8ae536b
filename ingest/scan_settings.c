/*
 * scan_settings.c - a feature's remembered scan settings: read from its
 * latest completed scan (dossier/scan_settings.h), and merged with what a
 * run is given into the settings it uses (step SETTINGS of dossier/ingest.h).
 *
 * The merge, in this order (the profile first: a built-in manifest depends
 * on it):
 *   1. profile   given, else remembered.
 *   2. manifest  given (a loaded manifest, or a built-in by mission type
 *                loaded here under the profile of step 1), else the
 *                remembered one: its file read again (a different content
 *                hash is reported, not refused: the user edited it), or its
 *                built-in loaded under the profile.
 *   3. step      given, else remembered when the manifest is the remembered
 *                one (a step belongs to its manifest), else none.
 *   4. excludes  given, else remembered.
 * A setting is "changed" when a remembered one exists and the run's differs.
 * Then the step is checked against the manifest, as for a given one.
 */
#include "ingest_settings.h"
#include "dossier/event.h"
#include "dossier/replay.h"
#include "buf.h"
#include "mp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ------------------------------------------------------------ */

const char *dsr_setting_name(dsr_setting s)
{
    switch (s) {
    case DSR_SETTING_MANIFEST: return "manifest";
    case DSR_SETTING_STEP:     return "step";
    case DSR_SETTING_PROFILE:  return "profile";
    case DSR_SETTING_EXCLUDES: return "excludes";
    }
    return NULL;
}

void dsr_scan_settings_free(dsr_scan_settings *s)
{
    if (!s)
        return;
    free(s->mission_type);
    free(s->manifest_version);
    free(s->manifest_path);
    free(s->manifest_sha256);
    free(s->step_id);
    for (size_t i = 0; i < s->n_excludes; i++)
        free(s->excludes[i]);
    free(s->excludes);
    free(s->run_id);
    free(s->timestamp);
    free(s);
}

/* malloc'd copy of a string field of map o; NULL when absent or nil. */
static char *field_dup(const msgpack_object *o, const char *k, int *rc)
{
    dsr_str v;
    if (mp_get_str(o, k, &v) != 1)
        return NULL;
    char *s = strndup(v.ptr, v.len);
    if (!s)
        *rc = DSR_ENOMEM;
    return s;
}

static char *str_dup(dsr_str v, int *rc)
{
    if (!v.ptr)
        return NULL;
    char *s = strndup(v.ptr, v.len);
    if (!s)
        *rc = DSR_ENOMEM;
    return s;
}

/* The excludes array of payload p (validated on append: strings only). */
static int read_excludes(const msgpack_object *p, dsr_scan_settings *s)
{
    for (uint32_t i = 0; i < p->via.map.size; i++) {
        const msgpack_object *k = &p->via.map.ptr[i].key, *v = &p->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != 8
            || memcmp(k->via.str.ptr, "excludes", 8) || v->type != MSGPACK_OBJECT_ARRAY)
            continue;
        if (!v->via.array.size)
            return 0;
        if (!(s->excludes = calloc(v->via.array.size, sizeof *s->excludes)))
            return DSR_ENOMEM;
        for (uint32_t j = 0; j < v->via.array.size; j++) {
            const msgpack_object *e = &v->via.array.ptr[j];
            if (e->type != MSGPACK_OBJECT_STR)
                continue;
            if (!(s->excludes[s->n_excludes] = strndup(e->via.str.ptr, e->via.str.size)))
                return DSR_ENOMEM;
            s->n_excludes++;
        }
        return 0;
    }
    return 0;
}

int dsr_scan_settings_get(dsr_log *log, const char *feature, dsr_scan_settings **out,
                          dsr_err *err)
{
    *out = NULL;
    dsr_snapshot_info *snap = NULL;
    int rc = dsr_replay_snapshot_get(log, feature, NULL, 0, &snap, err);
    if (rc)
        return rc;
    dsr_buf rec = DSR_BUF_INIT;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_scan_settings *s = NULL;
    dsr_envelope env;
    if ((rc = dsr_log_get_event(log, snap->scan_seq, &rec, err))
        || (rc = dsr_record_decode(rec.data, rec.len, &u, &env, err)))
        goto out;
    if (env.type != DSR_EV_SCAN_COMPLETED) {
        rc = dsr_err_set(err, DSR_ECORRUPT, "%s: the scan of snapshot %s (sequence %llu) is a "
                         "%.*s event, not dossier_scan_completed", dsr_log_dir(log),
                         snap->snapshot_id, (unsigned long long)snap->scan_seq,
                         (int)env.event_type.len, env.event_type.ptr);
        goto out;
    }
    if (!(s = calloc(1, sizeof *s))) {
        rc = dsr_err_set(err, DSR_ENOMEM, "out of memory");
        goto out;
    }
    const msgpack_object *p = env.payload;
    s->mission_type = field_dup(p, "mission_type", &rc);
    s->manifest_version = field_dup(p, "manifest_version", &rc);
    s->manifest_path = field_dup(p, "manifest_path", &rc);
    s->manifest_sha256 = s->manifest_path ? field_dup(p, "manifest_sha256", &rc) : NULL;
    s->step_id = field_dup(p, "step_id", &rc);
    s->run_id = str_dup(env.correlation_id, &rc);
    s->timestamp = str_dup(env.timestamp, &rc);
    dsr_str prof;
    s->profile = DSR_PROFILE_WP04;   /* absent: wp04 leaves it out */
    if (mp_get_str(p, "profile", &prof) == 1) {
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)prof.len, prof.ptr);
        if (dsr_profile_parse(name, &s->profile))
            rc = dsr_err_set(err, DSR_ECORRUPT, "%s: scan marker at sequence %llu: unknown "
                             "profile '%s'", dsr_log_dir(log),
                             (unsigned long long)snap->scan_seq, name);
    }
    if (!rc)
        rc = read_excludes(p, s);
    if (rc == DSR_ENOMEM)
        dsr_err_set(err, rc, "out of memory");
out:
    msgpack_unpacked_destroy(&u);
    dsr_buf_free(&rec);
    dsr_snapshot_info_free(snap);
    if (rc) {
        dsr_scan_settings_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- merging (step SETTINGS) --------------------------------------------- */

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The run's manifest m is the remembered one: none for none, the same file
 * (its content may have changed), or the same built-in mission type. */
static int same_manifest(const dsr_manifest *m, const dsr_scan_settings *mem)
{
    if (!m || !mem->mission_type)
        return !m && !mem->mission_type;
    if (dsr_manifest_file(m) || mem->manifest_path)
        return str_eq(dsr_manifest_file(m), mem->manifest_path);
    return !strcmp(dsr_manifest_mission_type(m), mem->mission_type);
}

static int same_excludes(const char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return 0;
    return 1;
}

static int load_builtin(dsr_profile p, const char *type, dsr_manifest **out, dsr_err *err)
{
    return p == DSR_PROFILE_WP04 ? dsr_manifest_load_builtin(type, out, err)
                                 : dsr_manifest_load_builtin_profile(p, type, out, err);
}

/* Load the remembered manifest under profile p. */
static int load_remembered(const dsr_scan_settings *mem, const char *feature, dsr_profile p,
                           dsr_manifest **out, dsr_err *err)
{
    int rc = mem->manifest_path ? dsr_manifest_load_file(mem->manifest_path, out, err)
                                : load_builtin(p, mem->mission_type, out, err);
    if (rc)
        dsr_err_prefix(err, "feature %s: the manifest remembered from its scan %s", feature,
                       mem->run_id ? mem->run_id : "(unknown run)");
    return rc;
}

/* A copy of the run's settings for the report. */
static dsr_scan_settings *settings_copy(const ingest_settings *e)
{
    dsr_scan_settings *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    int bad = 0;
    const dsr_manifest *m = e->manifest;
#define DUP(dst, src) do { if ((src) && !((dst) = strdup(src))) bad = 1; } while (0)
    if (m) {
        DUP(s->mission_type, dsr_manifest_mission_type(m));
        DUP(s->manifest_version, dsr_manifest_version(m));
        DUP(s->manifest_path, dsr_manifest_file(m));
        DUP(s->manifest_sha256, dsr_manifest_sha256(m));
    }
    DUP(s->step_id, e->step_id);
#undef DUP
    s->profile = e->profile;
    if (e->n_excludes && !(s->excludes = calloc(e->n_excludes, sizeof *s->excludes)))
        bad = 1;
    for (size_t i = 0; !bad && i < e->n_excludes; i++, s->n_excludes++)
        if (!(s->excludes[i] = strdup(e->excludes[i])))
            bad = 1;
    if (bad) {
        dsr_scan_settings_free(s);
        return NULL;
    }
    return s;
}

void ingest_settings_release(ingest_settings *eff)
{
    dsr_manifest_free(eff->own_manifest);
    dsr_scan_settings_free(eff->own_remembered);
    eff->own_manifest = NULL;
    eff->own_remembered = NULL;
}

int ingest_settings_resolve(dsr_log *log, const dsr_ingest_opts *o, const char *feature,
                            dsr_ingest_report *rep, ingest_settings *eff, dsr_err *err)
{
    memset(eff, 0, sizeof *eff);
    int v2 = o->version >= 2;
    const char *mission_type = v2 ? o->mission_type : NULL;
    if (o->manifest && mission_type)
        return dsr_err_set(err, DSR_EINVAL, "dsr_ingest_run: both a manifest and a built-in "
                           "mission type (%s) given", mission_type);
    unsigned given = DSR_SETTING_ALL, reused = 0, changed = 0;
    int rc, manifest_changed = 0;
    dsr_scan_settings *mem = NULL;
    if (v2 && (o->flags & DSR_INGEST_REMEMBER)) {
        if ((rc = dsr_replay_catch_up(log, NULL, err)))
            return rc;
        rc = dsr_scan_settings_get(log, feature, &mem, err);
        if (rc == DSR_ENOTFOUND)
            dsr_err_clear(err);
        else if (rc)
            return dsr_err_prefix(err, "feature %s: its remembered settings", feature);
        if (mem)
            given = o->given & DSR_SETTING_ALL;
    }
    eff->own_remembered = mem;   /* moved to the report below when it has room */

    /* 1. profile */
    eff->profile = (given & DSR_SETTING_PROFILE) ? o->profile : mem->profile;
    /* 2. manifest */
    if (given & DSR_SETTING_MANIFEST) {
        eff->manifest = o->manifest;
        if (mission_type) {
            if ((rc = load_builtin(eff->profile, mission_type, &eff->own_manifest, err)))
                return rc;
            eff->manifest = eff->own_manifest;
        }
    } else if (mem->mission_type) {
        if ((rc = load_remembered(mem, feature, eff->profile, &eff->own_manifest, err)))
            return rc;
        eff->manifest = eff->own_manifest;
    }
    int manifest_same = mem && (!(given & DSR_SETTING_MANIFEST)
                                || same_manifest(eff->manifest, mem));
    if (manifest_same && mem->manifest_path && mem->manifest_sha256)
        manifest_changed = !str_eq(dsr_manifest_sha256(eff->manifest), mem->manifest_sha256);
    /* 3. step */
    eff->step_id = (given & DSR_SETTING_STEP) ? o->step_id
                 : manifest_same ? mem->step_id : NULL;
    /* 4. excludes */
    if (given & DSR_SETTING_EXCLUDES) {
        eff->excludes = o->excludes;
        eff->n_excludes = o->n_excludes;
    } else {
        eff->excludes = (const char *const *)mem->excludes;
        eff->n_excludes = mem->n_excludes;
    }
    if (mem) {
        reused = ~given & DSR_SETTING_ALL;
        if (!manifest_same)
            reused &= ~DSR_SETTING_STEP;
        changed = (manifest_same ? 0 : DSR_SETTING_MANIFEST)
                | (str_eq(eff->step_id, mem->step_id) ? 0 : DSR_SETTING_STEP)
                | (eff->profile == mem->profile ? 0 : DSR_SETTING_PROFILE)
                | (same_excludes(eff->excludes, eff->n_excludes, mem->excludes,
                                 mem->n_excludes) ? 0 : DSR_SETTING_EXCLUDES);
    }
    assert(!(reused & changed & ~DSR_SETTING_STEP));
    eff->differs = changed || manifest_changed;
    if (eff->step_id && !eff->manifest)
        return dsr_err_set(err, DSR_EINVAL, "step %s needs a manifest (a mission type or a "
                           "manifest file)", eff->step_id);
    if (eff->step_id && !dsr_manifest_has_step(eff->manifest, eff->step_id))
        return dsr_err_set(err, DSR_EINVAL, "manifest %s has no step '%s' in "
                           "required_by_step%s", dsr_manifest_mission_type(eff->manifest),
                           eff->step_id, (reused & DSR_SETTING_STEP) ? " (the step is "
                           "remembered from the feature's last scan)" : "");
    if (rep->version < 4)
        return 0;
    if (!(rep->settings = settings_copy(eff)))
        return dsr_err_set(err, DSR_ENOMEM, "out of memory");
    rep->remembered = mem;
    rep->manifest = eff->own_manifest;
    eff->own_remembered = NULL;
    eff->own_manifest = NULL;
    rep->reused = reused;
    rep->changed = changed;
    rep->manifest_changed = manifest_changed;
    return 0;
}

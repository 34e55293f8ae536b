/*
 * proj_fixture.c - see proj_fixture.h.  Everything goes through the public
 * emitter and log API; nothing here knows the projections' row layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proj_fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

dsr_log *pf_log_new(char dir[256])
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, 256, "%s/dossier-proj.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return NULL;
    dsr_log *log = NULL;
    dsr_err err = { 0 };
    if (dsr_log_open(&log, dir, 0, &err)) {
        fprintf(stderr, "pf_log_new: %s\n", err.msg);
        return NULL;
    }
    return log;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void pf_log_drop(dsr_log *log, const char *dir)
{
    dsr_log_close(log);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void hex(const void *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    const unsigned char *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void pf_sha256_hex(const char *text, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    hex(md, 32, out);
}

static void report(int rc, const dsr_err *err, const char *what)
{
    if (rc)
        fprintf(stderr, "%s: %s\n", what, err->msg);
}

int pf_emit_indexed(dsr_log_batch *b, const char *run_id, const char *feature, const pf_art *a)
{
    char h[65];
    pf_sha256_hex(a->content, h);
    dsr_artifact_indexed p = { feature, a->key, a->cls ? a->cls : "output", a->path, h,
                               (int64_t)strlen(a->content), NULL, NULL,
                               a->required ? "required" : "optional" };
    dsr_emit_meta m = { run_id, NULL, NULL, NULL };
    dsr_err err = { 0 };
    int rc = dsr_emit_artifact_indexed(b, &p, &m, NULL, &err);
    report(rc, &err, "pf_emit_indexed");
    return rc;
}

int pf_emit_missing(dsr_log_batch *b, const char *run_id, const char *feature, const char *key)
{
    char pattern[256];
    snprintf(pattern, sizeof pattern, "%s.md", key);
    dsr_artifact_missing p = { feature, key, "input", pattern, "not_found", NULL, 1 };
    dsr_emit_meta m = { run_id, NULL, NULL, NULL };
    dsr_err err = { 0 };
    int rc = dsr_emit_artifact_missing(b, &p, &m, NULL, &err);
    report(rc, &err, "pf_emit_missing");
    return rc;
}

static int emit_removed(dsr_log_batch *b, const char *run_id, const char *feature,
                        const pf_art *a)
{
    dsr_artifact_removed p = { feature, a->key, a->path };
    dsr_emit_meta m = { run_id, NULL, NULL, NULL };
    dsr_err err = { 0 };
    int rc = dsr_emit_artifact_removed(b, &p, &m, NULL, &err);
    report(rc, &err, "pf_emit_removed");
    return rc;
}

int pf_emit_completed(dsr_log_batch *b, const char *run_id, const pf_run *r,
                      int64_t indexed, int64_t missing, int64_t removed, char event_id_out[27])
{
    dsr_scan_completed p = { r->feature, r->mission_type, r->manifest_version, NULL,
                             r->target_branch ? r->target_branch : "main",
                             r->emit_mode ? r->emit_mode : "full",
                             indexed, missing, removed, r->optional_absent, NULL,
                             NULL, NULL, NULL, 0 };
    dsr_emit_meta m = { run_id, NULL, NULL, NULL };
    dsr_emit_result res;
    dsr_err err = { 0 };
    int rc = dsr_emit_scan_completed(b, &p, &m, &res, &err);
    report(rc, &err, "pf_emit_completed");
    if (!rc && event_id_out)
        memcpy(event_id_out, res.event_id, 27);
    return rc;
}

int pf_scan(dsr_log *log, const pf_run *r, char run_id_out[27])
{
    char run[27];
    dsr_err err = { 0 };
    int rc = dsr_ulid_new(dsr_log_ulid_gen(log), run);
    dsr_log_batch *b = NULL;
    if (!rc)
        rc = dsr_log_batch_begin(log, &b, &err);
    for (size_t i = 0; i < r->n_arts && !rc; i++)
        rc = pf_emit_indexed(b, run, r->feature, &r->arts[i]);
    for (size_t i = 0; i < r->n_missing && !rc; i++)
        rc = pf_emit_missing(b, run, r->feature, r->missing[i]);
    for (size_t i = 0; i < r->n_removed && !rc; i++)
        rc = emit_removed(b, run, r->feature, &r->removed[i]);
    if (!rc && !r->incomplete)
        rc = pf_emit_completed(b, run, r, (int64_t)r->n_arts, (int64_t)r->n_missing,
                               (int64_t)r->n_removed, NULL);
    if (rc) {
        dsr_log_batch_abort(b);
        return rc;
    }
    rc = dsr_log_batch_commit(b, &err);
    report(rc, &err, "pf_scan commit");
    if (!rc && run_id_out)
        memcpy(run_id_out, run, 27);
    return rc;
}

int pf_accept_baseline(dsr_log *log, const char *feature, const char *snapshot_id,
                       const char *target_branch)
{
    dsr_err err = { 0 };
    dsr_snapshot_info *s = NULL;
    int rc = dsr_replay_snapshot_get(log, feature, snapshot_id, 0, &s, &err);
    dsr_log_batch *b = NULL;
    if (!rc)
        rc = dsr_log_batch_begin(log, &b, &err);
    if (!rc) {
        dsr_baseline_accepted p = { feature, s->snapshot_id, s->parity_hash_sha256,
                                    dsr_log_project_uuid(log), dsr_log_node_id(log),
                                    target_branch ? target_branch : s->target_branch,
                                    s->mission_type, s->manifest_version };
        dsr_emit_meta m = { s->run_id, s->event_id, NULL, NULL };
        rc = dsr_emit_baseline_accepted(b, &p, &m, NULL, &err);
        if (rc)
            dsr_log_batch_abort(b);
        else
            rc = dsr_log_batch_commit(b, &err);
    }
    if (!rc)
        rc = dsr_replay_catch_up(log, NULL, &err);
    report(rc, &err, "pf_accept_baseline");
    dsr_snapshot_info_free(s);
    return rc;
}

typedef struct text {
    char  *p;
    size_t len, cap;
} text;

static int text_add(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p)
            return -1;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

static int dump_row(void *ud, const char *proj, const void *k, size_t kl, const void *v,
                    size_t vl)
{
    text *out = ud;
    char *hk = malloc(2 * kl + 1), *hv = malloc(2 * vl + 1);
    int rc = !hk || !hv;
    if (!rc) {
        hex(k, kl, hk);
        hex(v, vl, hv);
        rc = text_add(out, proj, strlen(proj)) || text_add(out, "|", 1)
            || text_add(out, hk, 2 * kl) || text_add(out, "|", 1)
            || text_add(out, hv, 2 * vl) || text_add(out, "\n", 1);
    }
    free(hk);
    free(hv);
    return rc ? DSR_ENOMEM : 0;
}

char *pf_dump(dsr_log *log)
{
    dsr_err err = { 0 };
    text t = { NULL, 0, 0 };
    if (text_add(&t, "", 0))
        return NULL;
    int rc = dsr_replay_dump(log, "all", dump_row, &t, &err);
    report(rc, &err, "pf_dump");
    if (rc) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

size_t pf_count_type(dsr_log *log, dsr_event_type t)
{
    dsr_err err = { 0 };
    dsr_log_iter *it = NULL;
    size_t n = 0;
    if (dsr_log_iter_events(log, 1, &it, &err))
        return 0;
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        if (dsr_log_iter_next(it, &k, &kl, &v, &vl, &err) <= 0)
            break;
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        dsr_envelope env;
        if (!dsr_record_decode(v, vl, &u, &env, &err) && env.type == t)
            n++;
        msgpack_unpacked_destroy(&u);
    }
    dsr_log_iter_free(it);
    return n;
}

int pf_setup(void **state)
{
    pf_fx *f = calloc(1, sizeof *f);
    if (!f || !(f->log = pf_log_new(f->dir))) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int pf_teardown(void **state)
{
    pf_fx *f = *state;
    pf_log_drop(f->log, f->dir);
    free(f);
    return 0;
}

void pf_catch_up(dsr_log *log)
{
    dsr_err err = { 0 };
    if (dsr_replay_catch_up(log, NULL, &err))
        fail_msg("catch-up: %s", err.msg);
}

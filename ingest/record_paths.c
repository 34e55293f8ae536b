/*
 * record_paths.c - the two halves of a path-limited run that differ from a
 * full one (see record_paths.h for why the events are the same): the cache
 * looked up by point reads, and the (view, prev) pair the recorder and the
 * unchanged-check are given.  Everything else - the scan, the recording,
 * the projections - is the full run's code (ingest.c).
 *
 * Cost: begin and view pass over keep's and the new result's artifact
 * arrays once (in memory, no system call); the scan lists the folders on
 * the way to the paths and stats or reads only what lies below them.
 */
#include "record_paths.h"
#include "record_order.h"
#include "array.h"
#include "dossier/scan_cache.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int missing_key(char *const *keys, size_t n, const char *key)
{
    return n && bsearch(&key, keys, n, sizeof *keys, record_cmp_str) != NULL;
}

static int add_prev(paths_run *p, dsr_record_prev e)
{
    if (ARRAY_RESERVE1(p->prev, p->n_prev, p->cap_prev, 64))
        return DSR_ENOMEM;
    p->prev[p->n_prev++] = e;
    return 0;
}

/* The missing keys of r (pointers into r), sorted; *out NULL when none. */
static int missing_keys_of(const dsr_scan_result *r, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        if (!record_is_missing_event(&r->artifacts[i]))
            continue;
        if (!*out && !(*out = malloc(r->n_artifacts * sizeof **out)))
            return DSR_ENOMEM;
        (*out)[(*n)++] = r->artifacts[i].artifact_key;
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, record_cmp_str);
    return 0;
}

int paths_run_begin(paths_run *p, dsr_err *err)
{
    const dsr_scan_result *k = p->keep;
    assert(k && !k->n_artifacts == !k->artifacts);
    char **borrowed = NULL;
    size_t n_miss = 0;
    if (pathset_make(&p->scope, p->paths, p->n_paths) || missing_keys_of(k, &borrowed, &n_miss))
        goto nomem;
    /* keep's missing keys outlive keep: copies */
    if (n_miss && !(p->keep_missing = calloc(n_miss, sizeof *p->keep_missing)))
        goto nomem;
    for (size_t i = 0; i < n_miss; i++, p->n_keep_missing++)
        if (!(p->keep_missing[i] = strdup(borrowed[i])))
            goto nomem;
    free(borrowed);
    borrowed = NULL;
    /* prev, first part: keep's snapshot set in the paths */
    for (size_t i = 0; i < k->n_artifacts; i++) {
        const dsr_artifact *a = &k->artifacts[i];
        if (!a->present || !pathset_has(&p->scope, a->relative_path)
            || missing_key(p->keep_missing, p->n_keep_missing, a->artifact_key))
            continue;
        size_t lk = strlen(a->artifact_key) + 1, lp = strlen(a->relative_path) + 1;
        size_t lc = strlen(a->artifact_class) + 1, ls = strlen(a->sha256) + 1;
        if (ARRAY_RESERVE1(p->prev_text, p->n_prev_text, p->cap_prev_text, 16))
            goto nomem;
        char *t = malloc(lk + lp + lc + ls);
        if (!t)
            goto nomem;
        p->prev_text[p->n_prev_text++] = t;
        memcpy(t, a->artifact_key, lk);
        memcpy(t + lk, a->relative_path, lp);
        memcpy(t + lk + lp, a->artifact_class, lc);
        memcpy(t + lk + lp + lc, a->sha256, ls);
        if (add_prev(p, (dsr_record_prev){ t, t + lk, t + lk + lp, t + lk + lp + lc,
                                            a->required }))
            goto nomem;
    }
    return 0;
nomem:
    free(borrowed);
    return dsr_err_set(err, DSR_ENOMEM, "recording the changed paths: out of memory");
}

int paths_run_lookup(void *ctx, const char *relative_path, dsr_scan_cached *out)
{
    const paths_run *p = ctx;
    dsr_err e;
    int rc = dsr_scan_cache_get(p->log, p->slug, relative_path, out, &e);
    if (rc == DSR_ENOTFOUND || rc == DSR_ECORRUPT)
        return 0;       /* unknown, or unusable: the file is read */
    return rc ? rc : 1;
}

int paths_run_view(paths_run *p, const dsr_scan_result *r, dsr_err *err)
{
    char **miss = NULL;
    size_t n_miss = 0;
    if (missing_keys_of(r, &miss, &n_miss))
        goto nomem;
    size_t n = 0;
    p->view_arts = malloc((r->n_artifacts ? r->n_artifacts : 1) * sizeof *p->view_arts);
    if (!p->view_arts)
        goto nomem;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        int in = pathset_has(&p->scope, a->relative_path);
        int key_missing = a->present && missing_key(miss, n_miss, a->artifact_key);
        if (!in && a->present && !key_missing)
            continue;           /* unchanged, in both the new set and the snapshot */
        p->view_arts[n++] = *a;
        /* prev, second part: outside the paths, in the snapshot, but its key
         * is reported missing now (the snapshot set loses it) */
        if (!in && key_missing
            && !missing_key(p->keep_missing, p->n_keep_missing, a->artifact_key)
            && add_prev(p, (dsr_record_prev){ a->artifact_key, a->relative_path,
                                              a->artifact_class, a->sha256, a->required }))
            goto nomem;
    }
    free(miss);
    p->view = *r;               /* every count and key field of the whole run */
    p->view.artifacts = p->view_arts;
    p->view.n_artifacts = n;    /* still sorted: a subsequence */
    return 0;
nomem:
    free(miss);
    return dsr_err_set(err, DSR_ENOMEM, "recording the changed paths: out of memory");
}

void paths_run_free(paths_run *p)
{
    pathset_free(&p->scope);
    free(p->prev);
    for (size_t i = 0; i < p->n_prev_text; i++)
        free(p->prev_text[i]);
    free(p->prev_text);
    for (size_t i = 0; i < p->n_keep_missing; i++)
        free(p->keep_missing[i]);
    free(p->keep_missing);
    free(p->view_arts);
    p->prev = NULL;
    p->prev_text = NULL;
    p->keep_missing = NULL;
    p->view_arts = NULL;
    p->n_prev = p->cap_prev = p->n_prev_text = p->cap_prev_text = p->n_keep_missing = 0;
}

/*
 * ingest_same.c - does a scan find the tree as the feature's latest snapshot
 * has it?  (DSR_INGEST_SKIP_UNCHANGED: a watcher rescans after every burst
 * of file-system events, many of which change nothing a snapshot holds - a
 * chmod, a touch, a same-content rewrite - and such a rescan records
 * nothing.)
 *
 * "The same" is what a changed-mode run would fold to, compared field by
 * field with what the snapshot holds:
 *   1. the artifact set: the present artifacts minus every key reported
 *      missing (dossier/record.h), as (path, key, SHA-256, class, required),
 *      against the snapshot's set (base);
 *   2. the missing list: (key, reason) of every required blocking artifact
 *      absent or unusable, against the snapshot's missing list;
 *   3. the optional-absent count and the run's key fields (mission type,
 *      manifest version, step, target branch, profile): a rescan under
 *      other options is a different snapshot even over the same files (a
 *      snapshot of another profile has a parity hash of another kind).
 * Anything else in a snapshot (ids, timestamps) is derived from the run.
 */
#include "ingest_same.h"
#include "record_order.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}


/* "key\0reason" pairs compared as one string each: keys hold no NUL. */
static char *pair(const char *key, const char *reason)
{
    size_t k = strlen(key), r = strlen(reason ? reason : "");
    char *s = malloc(k + r + 2);
    if (s) {
        memcpy(s, key, k);
        s[k] = '\x01';   /* below every printable byte: "a" sorts before "a-b" */
        memcpy(s + k + 1, reason ? reason : "", r + 1);
    }
    return s;
}

static int missing_same(const dsr_scan_result *r, const dsr_snapshot_info *s)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_artifacts; i++)
        n += record_is_missing_event(&r->artifacts[i]);
    if (n != s->n_missing)
        return 0;
    if (!n)
        return 1;
    char **now = calloc(n, sizeof *now), **then = calloc(n, sizeof *then);
    int rc = now && then ? 1 : -1;
    size_t k = 0;
    for (size_t i = 0; rc > 0 && i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (record_is_missing_event(a) && !(now[k++] = pair(a->artifact_key, dsr_reason_name(a->reason))))
            rc = -1;
    }
    for (size_t i = 0; rc > 0 && i < n; i++)
        if (!(then[i] = pair(s->missing[i].artifact_key, s->missing[i].reason_code)))
            rc = -1;
    if (rc > 0) {
        assert(k == n);
        qsort(now, n, sizeof *now, record_cmp_str);
        qsort(then, n, sizeof *then, record_cmp_str);
        for (size_t i = 0; rc > 0 && i < n; i++)
            rc = !strcmp(now[i], then[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (now)
            free(now[i]);
        if (then)
            free(then[i]);
    }
    free(now);
    free(then);
    return rc;
}

/* The scan's missing keys, sorted (for "minus every key reported missing"). */
static const char **missing_keys(const dsr_scan_result *r, size_t *n)
{
    const char **k = malloc((r->n_artifacts ? r->n_artifacts : 1) * sizeof *k);
    *n = 0;
    if (!k)
        return NULL;
    for (size_t i = 0; i < r->n_artifacts; i++)
        if (record_is_missing_event(&r->artifacts[i]))
            k[(*n)++] = r->artifacts[i].artifact_key;
    qsort(k, *n, sizeof *k, record_cmp_str);
    return k;
}

static int set_same(const dsr_scan_result *r, const dsr_record_prev *base, size_t n_base)
{
    size_t n_miss;
    const char **miss = missing_keys(r, &n_miss);
    const dsr_record_prev **b = malloc((n_base ? n_base : 1) * sizeof *b);
    if (!miss || !b) {
        free(miss);
        free(b);
        return -1;
    }
    for (size_t i = 0; i < n_base; i++)
        b[i] = &base[i];
    qsort(b, n_base, sizeof *b, record_cmp_prev);
    /* dsr_scan sorts by relative_path; a path holds one artifact */
    size_t j = 0;
    int same = 1;
    for (size_t i = 0; same && i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (!a->present || (n_miss && bsearch(&a->artifact_key, miss, n_miss, sizeof *miss,
                                              record_cmp_str)))
            continue;
        same = j < n_base && !strcmp(b[j]->relative_path, a->relative_path)
            && !strcmp(b[j]->artifact_key, a->artifact_key) && !strcmp(b[j]->sha256, a->sha256)
            && !strcmp(b[j]->artifact_class, a->artifact_class)
            && !b[j]->required == !a->required;
        j++;
    }
    same = same && j == n_base;
    free(miss);
    free(b);
    return same;
}

int ingest_same(const dsr_scan_result *r, const dsr_record_prev *base, size_t n_base,
                const dsr_snapshot_info *s, const ingest_same_keys *keys)
{
    assert(r && s && keys);
    if (!str_eq(s->mission_type, r->has_manifest ? keys->mission_type : NULL)
        || !str_eq(s->manifest_version, r->has_manifest ? keys->manifest_version : NULL)
        || !str_eq(s->step_id, keys->step_id) || !str_eq(s->target_branch, keys->target_branch)
        || s->optional_absent != (int64_t)r->n_optional_absent || s->profile != r->profile)
        return 0;
    int rc = missing_same(r, s);
    return rc <= 0 ? rc : set_same(r, base, n_base);
}

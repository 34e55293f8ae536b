/*
 * cli_report.c - the shared words and shapes of the reports (cli_report.h,
 * docs/reports.md, schemas/reports/common.schema.json).
 */
#include "cli_report.h"
#include "cli_proj.h"
#include "dossier/import.h"

#include <assert.h>
#include <string.h>

/* The definitions of cli_report.h, from the parts every source knows. */
static cli_counts complete(cli_counts c)
{
    c.required = c.required_present + c.required_missing;
    c.optional = c.optional_present + c.optional_absent;
    c.present = c.required_present + c.optional_present;
    c.total = c.present + c.required_missing + c.optional_absent;
    assert(c.total == c.required + c.optional);
    assert(c.required_unusable <= c.required_missing);
    return c;
}

cli_counts cli_counts_of_scan(const dsr_scan_result *r)
{
    cli_counts c = { 0 };
    c.required_present = (int64_t)r->n_required_present;
    c.required_missing = (int64_t)r->n_required_missing;
    c.optional_present = (int64_t)r->n_optional_present;
    c.optional_absent = (int64_t)r->n_optional_absent;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        c.required_unusable += a->required && !a->present && a->reason != DSR_REASON_NOT_FOUND;
    }
    return complete(c);
}

cli_counts cli_counts_of_snapshot(const dsr_snapshot_info *s)
{
    cli_counts c = { 0 };
    c.required_present = s->counts.required_present;
    c.required_missing = s->counts.required_missing;
    c.optional_present = s->counts.optional_present;
    c.optional_absent = s->optional_absent > 0 ? s->optional_absent : 0;
    for (size_t i = 0; i < s->n_missing; i++)
        c.required_unusable += s->missing[i].reason_code &&
                               strcmp(s->missing[i].reason_code, "not_found") != 0;
    c = complete(c);
    /* the projection's own totals follow the same definitions */
    assert(c.total == s->counts.total || !s->counts_consistent);
    return c;
}

size_t cli_optional_unusable(const dsr_scan_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_artifacts; i++)
        n += !r->artifacts[i].required && !r->artifacts[i].present;
    return n;
}

void cli_counts_text(FILE *f, const cli_counts *c)
{
    fprintf(f, "%lld total: %lld present, %lld missing required", (long long)c->total,
            (long long)c->present, (long long)c->required_missing);
    if (c->required_unusable)
        fprintf(f, " (%lld unusable)", (long long)c->required_unusable);
    fprintf(f, ", %lld absent optional (required %lld: %lld present; optional %lld: "
            "%lld present)", (long long)c->optional_absent, (long long)c->required,
            (long long)c->required_present, (long long)c->optional,
            (long long)c->optional_present);
}

void cli_counts_json(const cli_counts *c)
{
    printf("\"artifact_counts\":{\"total\":%lld,\"present\":%lld,\"required\":%lld,"
           "\"required_present\":%lld,\"required_missing\":%lld,\"required_unusable\":%lld,"
           "\"optional\":%lld,\"optional_present\":%lld,\"optional_absent\":%lld}",
           (long long)c->total, (long long)c->present, (long long)c->required,
           (long long)c->required_present, (long long)c->required_missing,
           (long long)c->required_unusable, (long long)c->optional,
           (long long)c->optional_present, (long long)c->optional_absent);
}

static void missing_one(size_t i, const char *key, const char *cls, const char *pattern,
                        const char *reason)
{
    printf("%s{\"artifact_key\":", i ? "," : "");
    cli_json_fputs(stdout, key);
    printf(",\"artifact_class\":");
    cli_json_fputs(stdout, cls);
    printf(",\"expected_path_pattern\":");
    cli_json_fputs(stdout, pattern);
    printf(",\"reason_code\":");
    cli_json_fputs(stdout, reason);
    putchar('}');
}

void cli_missing_json_snapshot(const dsr_snapshot_info *s)
{
    printf("\"missing_required\":[");
    for (size_t i = 0; i < s->n_missing; i++)
        missing_one(i, s->missing[i].artifact_key, s->missing[i].artifact_class,
                    s->missing[i].expected_path_pattern, s->missing[i].reason_code);
    putchar(']');
}

void cli_missing_json_scan(const dsr_scan_result *r)
{
    printf("\"missing_required\":[");
    size_t k = 0;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        if (!a->required || a->present)
            continue;
        /* as the artifact_missing event records it: the manifest pattern
         * when one matched, else the path */
        missing_one(k++, a->artifact_key, a->artifact_class,
                    a->path_pattern ? a->path_pattern : a->relative_path,
                    dsr_reason_name(a->reason));
    }
    putchar(']');
}

cli_origin cli_baseline_origin(dsr_log *log, const dsr_baseline_info *b)
{
    cli_origin o = { 0 };
    dsr_err ignore;
    /* provenance is shown when known; a baseline whose event cannot be read
     * is still reported */
    if (b && b->event_id)
        o.known = !dsr_event_origin(log, b->event_id, o.node, &o.local, &ignore);
    return o;
}

void cli_baseline_json(const dsr_baseline_info *b, const cli_origin *o, int close)
{
    if (!b) {
        assert(close);
        printf("null");
        return;
    }
    const char *k[] = { "snapshot_id", "parity_hash_sha256", "timestamp", "event_id",
                        "target_branch", "mission_type", "manifest_version" };
    const char *v[] = { b->snapshot_id, b->parity_hash_sha256, b->timestamp, b->event_id,
                        b->target_branch, b->mission_key, b->manifest_version };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        printf("%s\"%s\":", i ? "," : "{", k[i]);
        cli_json_fputs(stdout, v[i]);
    }
    printf(",\"origin\":");
    cli_json_fputs(stdout, !o->known ? NULL : o->local ? "local" : "imported");
    printf(",\"origin_node_id\":");
    cli_json_fputs(stdout, o->known ? o->node : NULL);
    if (close)
        putchar('}');
}

static void strv_json(const char *name, char *const *v, size_t n)
{
    printf(",\"%s\":[", name);
    for (size_t i = 0; i < n; i++) {
        if (i)
            putchar(',');
        cli_json_fputs(stdout, v[i]);
    }
    putchar(']');
}

void cli_drift_json(const dsr_drift_info *d, int close)
{
    if (!d) {
        assert(close);
        printf("null");
        return;
    }
    printf("{\"status\":\"%s\",\"severity\":", dsr_drift_status_name(d->status));
    cli_json_fputs(stdout, d->severity);
    printf(",\"snapshot_id\":");
    cli_json_fputs(stdout, d->snapshot_id);
    printf(",\"baseline_snapshot_id\":");
    cli_json_fputs(stdout, d->baseline_snapshot_id);
    printf(",\"event_id\":");
    cli_json_fputs(stdout, d->event_id);
    strv_json("missing_in_local", d->missing_in_local, d->n_missing_in_local);
    strv_json("missing_in_baseline", d->missing_in_baseline, d->n_missing_in_baseline);
    cli_json_changes("changed", d->changed, d->n_changed);
    if (close)
        putchar('}');
}

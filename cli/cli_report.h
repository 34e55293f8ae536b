/*
 * cli_report.h - the words and shapes the reports share (docs/reports.md,
 * schemas/reports/): one artifact count, one missing-artifact object, one
 * drift summary and one baseline object, printed by one function each so
 * that index, scan, status, snapshot, log and drift cannot drift apart.
 *
 * The counts (docs/reports.md, "Counts"):
 *   present           artifacts found and usable (hashed, recorded)
 *   required_missing  required manifest entries not present: no file, or a
 *                     file that is unusable (required_unusable of them)
 *   optional_absent   optional manifest entries with no file
 *   total             present + required_missing + optional_absent
 *   required          required_present + required_missing
 *   optional          optional_present + optional_absent
 * An unusable file that no manifest entry requires is in no count: the log
 * does not record it.  index and scan report it as optional_unusable.
 */
#ifndef DOSSIER_CLI_REPORT_H
#define DOSSIER_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "dossier/replay.h"
#include "dossier/scan.h"

typedef struct cli_counts {
    int64_t total, present;
    int64_t required, required_present, required_missing, required_unusable;
    int64_t optional, optional_present, optional_absent;
} cli_counts;

/* From a scan result (index, scan before its snapshot is known). */
cli_counts cli_counts_of_scan(const dsr_scan_result *r);
/* From a snapshot of the projection (status, snapshot, log, scan). */
cli_counts cli_counts_of_snapshot(const dsr_snapshot_info *s);
/* Unusable files no manifest entry requires (in no count; see above). */
size_t cli_optional_unusable(const dsr_scan_result *r);

/* The one text phrase: "16 total: 14 present, 0 missing required, 2 absent
 * optional (required 1: 1 present; optional 15: 13 present)", with
 * " (1 unusable)" after the missing count when some are. */
void cli_counts_text(FILE *f, const cli_counts *c);
/* The JSON writers below print to stdout, as the reports do. */

/* `"artifact_counts":{...}` (no leading comma). */
void cli_counts_json(const cli_counts *c);

/* `"missing_required":[{artifact_key, artifact_class, expected_path_pattern,
 * reason_code}...]` from a snapshot's missing list. */
void cli_missing_json_snapshot(const dsr_snapshot_info *s);
/* The same from a scan result's artifacts that are required and not present. */
void cli_missing_json_scan(const dsr_scan_result *r);

/* Where a baseline event was written (dossier/import.h). */
typedef struct cli_origin {
    int  known, local;
    char node[DSR_ULID_LEN + 1];
} cli_origin;
cli_origin cli_baseline_origin(dsr_log *log, const dsr_baseline_info *b);

/* The baseline object: {snapshot_id, parity_hash_sha256, timestamp,
 * event_id, target_branch, mission_type, manifest_version, origin,
 * origin_node_id}, or null when b is NULL.  close: 0 leaves the object open
 * for the fields `baseline show` adds. */
void cli_baseline_json(const dsr_baseline_info *b, const cli_origin *o, int close);

/* The drift summary every report carries under "drift": {status, severity,
 * snapshot_id, baseline_snapshot_id, event_id, missing_in_local[],
 * missing_in_baseline[], changed[]}, or null when d is NULL.  close: 0 leaves
 * the object open for the fields drift adds. */
void cli_drift_json(const dsr_drift_info *d, int close);

#endif

/*
 * event_types.c - the names of the event types: the canonical snake_case
 * name (what the log stores and emits) and the PascalCase alias accepted on
 * import and validate (spec-kitty-events style).  The two tables are indexed
 * by dsr_event_type and must stay in enum order.
 */
#include "dossier/event.h"

#include <assert.h>
#include <string.h>

static const char *const names[DSR_EV_COUNT] = {
    [DSR_EV_ARTIFACT_INDEXED]      = "mission_dossier_artifact_indexed",
    [DSR_EV_ARTIFACT_MISSING]      = "mission_dossier_artifact_missing",
    [DSR_EV_SNAPSHOT_COMPUTED]     = "mission_dossier_snapshot_computed",
    [DSR_EV_PARITY_DRIFT_DETECTED] = "mission_dossier_parity_drift_detected",
    [DSR_EV_BASELINE_ACCEPTED]     = "dossier_baseline_accepted",
    [DSR_EV_SCAN_COMPLETED]        = "dossier_scan_completed",
    [DSR_EV_ARTIFACT_REMOVED]      = "dossier_artifact_removed",
};

static const char *const aliases[DSR_EV_COUNT] = {
    [DSR_EV_ARTIFACT_INDEXED]      = "MissionDossierArtifactIndexed",
    [DSR_EV_ARTIFACT_MISSING]      = "MissionDossierArtifactMissing",
    [DSR_EV_SNAPSHOT_COMPUTED]     = "MissionDossierSnapshotComputed",
    [DSR_EV_PARITY_DRIFT_DETECTED] = "MissionDossierParityDriftDetected",
    [DSR_EV_BASELINE_ACCEPTED]     = "DossierBaselineAccepted",
    [DSR_EV_SCAN_COMPLETED]        = "DossierScanCompleted",
    [DSR_EV_ARTIFACT_REMOVED]      = "DossierArtifactRemoved",
};

const char *dsr_event_type_name(dsr_event_type t)
{
    /* designated initialisers leave a gap NULL: every type has both names */
    assert((unsigned)t >= DSR_EV_COUNT || (names[t] && aliases[t]));
    return (unsigned)t < DSR_EV_COUNT ? names[t] : NULL;
}

const char *dsr_event_type_alias(dsr_event_type t)
{
    return (unsigned)t < DSR_EV_COUNT ? aliases[t] : NULL;
}

static int same(const char *s, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(s, want, len) == 0;
}

int dsr_event_type_parse(const char *name, size_t len, dsr_event_type *out)
{
    if (!name)
        return DSR_ENOTFOUND;
    for (int t = 0; t < DSR_EV_COUNT; t++) {
        if (same(name, len, names[t]) || same(name, len, aliases[t])) {
            if (out)
                *out = (dsr_event_type)t;
            return 0;
        }
    }
    return DSR_ENOTFOUND;
}

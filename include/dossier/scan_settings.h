/*
 * dossier/scan_settings.h - a feature's remembered scan settings.
 *
 * A scan runs under four settings that decide what its snapshot means:
 *   manifest   a built-in one by mission type, or a file (absolute path and
 *              SHA-256 of its content), or none;
 *   step       the manifest's required_by_step entry applied, or none;
 *   profile    wp04 or spec-kitty-3 (dossier/profile.h);
 *   excludes   the exclusion patterns given to the scan (--exclude), in
 *              order.  .dossierignore files live in the mission and are
 *              read by every scan, so they are not a setting.
 * Every completed scan records them in its dossier_scan_completed marker
 * (mission_type, manifest_version, step_id, profile, and the optional
 * manifest_path, manifest_sha256 and excludes).  The feature's remembered
 * settings are those of its latest completed scan; a scan that leaves a
 * setting out can reuse them (dsr_ingest_opts.given with
 * DSR_INGEST_REMEMBER, dossier/ingest.h), so a rescan follows the rules of
 * the last one and its snapshot stays comparable with a baseline accepted
 * under them.
 *
 * Conventions as in dossier/ingest.h: nothing printed, failures are a
 * negative DSR_E* code and a dsr_err naming the object.  Thread-safety: as
 * the log.
 */
#ifndef DOSSIER_SCAN_SETTINGS_H
#define DOSSIER_SCAN_SETTINGS_H

#include "dossier/export.h"

#include <stddef.h>

#include "dossier/error.h"
#include "dossier/log.h"
#include "dossier/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The settings, as bits (dsr_ingest_opts.given, dsr_ingest_report.reused). */
typedef enum dsr_setting {
    DSR_SETTING_MANIFEST = 1u << 0,
    DSR_SETTING_STEP     = 1u << 1,
    DSR_SETTING_PROFILE  = 1u << 2,
    DSR_SETTING_EXCLUDES = 1u << 3
} dsr_setting;

#define DSR_SETTING_ALL 0xfu

/* One set of settings; every string is owned by the struct. */
typedef struct dsr_scan_settings {
    char        *mission_type;      /* the manifest's mission type; NULL: no manifest */
    char        *manifest_version;  /* NULL: no manifest */
    char        *manifest_path;     /* a manifest file's absolute path; NULL: built-in or none */
    char        *manifest_sha256;   /* with manifest_path: SHA-256 of its content (64 hex) */
    char        *step_id;           /* or NULL */
    dsr_profile  profile;
    char       **excludes;          /* the patterns in order; NULL when n_excludes is 0 */
    size_t       n_excludes;
    /* Where remembered settings come from: the completed scan that recorded
     * them (run id, completion time).  NULL for a run's own settings. */
    char        *run_id;
    char        *timestamp;
} dsr_scan_settings;

/* The remembered settings of feature: those recorded by its latest
 * completed scan, as the snapshot projection knows it (bring the
 * projections up to date first when the log may be ahead of them:
 * dsr_replay_catch_up).  A marker written before settings were recorded
 * gives what it holds: mission type, manifest version, step and profile
 * (a manifest file then reads as its mission type, with no path).
 * Returns 0 and *out (free with dsr_scan_settings_free), DSR_ENOTFOUND
 * when the feature has no completed scan, DSR_ECORRUPT when the marker
 * does not decode, or DSR_ENOMEM. */
DSR_API int  dsr_scan_settings_get(dsr_log *log, const char *feature, dsr_scan_settings **out,
                                   dsr_err *err);
DSR_API void dsr_scan_settings_free(dsr_scan_settings *s);   /* NULL is fine */

/* "manifest", "step", "profile" or "excludes" for one bit; NULL otherwise
 * (static strings). */
DSR_API const char *dsr_setting_name(dsr_setting s);

#ifdef __cplusplus
}
#endif
#endif

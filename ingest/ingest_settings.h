/*
 * ingest_settings.h - step SETTINGS of the ingest sequence (private): the
 * settings a run uses, from the caller's options and the feature's
 * remembered ones (dossier/scan_settings.h, dossier/ingest.h).
 */
#ifndef DOSSIER_INGEST_SETTINGS_H
#define DOSSIER_INGEST_SETTINGS_H

#include "dossier/ingest.h"

/* The run's settings.  The pointers lead into the caller's options, the
 * report (version 4) or the two owned objects below, which hold what a
 * report of an older version has no room for. */
typedef struct ingest_settings {
    const dsr_manifest *manifest;         /* NULL: none */
    const char         *step_id;          /* NULL: none */
    dsr_profile         profile;
    const char *const  *excludes;
    size_t              n_excludes;
    /* 1 when a setting differs from the remembered one, or the remembered
     * manifest file's content changed: the run is then recorded even when
     * DSR_INGEST_SKIP_UNCHANGED finds the tree unchanged, so that the new
     * settings become the remembered ones */
    int                 differs;
    dsr_manifest       *own_manifest;
    dsr_scan_settings  *own_remembered;
} ingest_settings;

/* Choose the run's settings for feature on log (opened for writing; the
 * projections are brought up to date first when opts ask to remember).
 * Fills *eff and, from report version 4 on, rep's settings fields.  On
 * failure returns a negative code with err naming the setting; *eff is
 * then still released by ingest_settings_release. */
int  ingest_settings_resolve(dsr_log *log, const dsr_ingest_opts *o, const char *feature,
                             dsr_ingest_report *rep, ingest_settings *eff, dsr_err *err);
void ingest_settings_release(ingest_settings *eff);

#endif

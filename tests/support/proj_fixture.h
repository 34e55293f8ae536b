/*
 * proj_fixture.h - test support for the projection tests: temporary logs and
 * scan runs written through the real emitter, the way `dossier scan` writes
 * them (one correlation_id per run, dossier_scan_completed last).
 */
#ifndef DOSSIER_PROJ_FIXTURE_H
#define DOSSIER_PROJ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/emit.h"
#include "dossier/log.h"
#include "dossier/replay.h"

typedef struct pf_art {
    const char *key, *path, *cls;
    const char *content;     /* hashed with SHA-256 for content_hash_sha256 */
    int         required;
} pf_art;

typedef struct pf_run {
    const char   *feature;
    const char   *mission_type;       /* NULL: no manifest */
    const char   *manifest_version;
    const char   *target_branch;      /* NULL -> "main" */
    const char   *emit_mode;          /* NULL -> "full" */
    const pf_art *arts;    size_t n_arts;       /* indexed */
    const char *const *missing; size_t n_missing;  /* required keys missing */
    const pf_art *removed; size_t n_removed;    /* changed mode: gone artifacts */
    int64_t       optional_absent;
    int           incomplete;          /* 1: no dossier_scan_completed (crashed run) */
} pf_run;

/* cmocka fixture state: a fresh temporary log (pf_setup / pf_teardown). */
typedef struct pf_fx {
    char     dir[256];
    dsr_log *log;
} pf_fx;
int  pf_setup(void **state);
int  pf_teardown(void **state);
/* dsr_replay_catch_up or fail the test. */
void pf_catch_up(dsr_log *log);

/* A fresh log in a new temporary directory. */
dsr_log *pf_log_new(char dir[256]);
/* Close the log and remove its directory. */
void     pf_log_drop(dsr_log *log, const char *dir);

void pf_sha256_hex(const char *text, char out[65]);

/* Emit a whole run in one batch (no catch-up).  run_id_out may be NULL.
 * Returns 0 or the emitter's error. */
int pf_scan(dsr_log *log, const pf_run *r, char run_id_out[27]);

/* Pieces for interleaving runs by hand, all into batch b. */
int pf_emit_indexed(dsr_log_batch *b, const char *run_id, const char *feature, const pf_art *a);
int pf_emit_missing(dsr_log_batch *b, const char *run_id, const char *feature, const char *key);
int pf_emit_completed(dsr_log_batch *b, const char *run_id, const pf_run *r,
                      int64_t indexed, int64_t missing, int64_t removed,
                      char event_id_out[27]);

/* Accept snapshot_id (NULL: latest) of feature as the baseline, with
 * target_branch (NULL: the snapshot's), in one batch, then catch up. */
int pf_accept_baseline(dsr_log *log, const char *feature, const char *snapshot_id,
                       const char *target_branch);

/* Every projection row (both projections) as "proj|hexkey|hexval\n" lines,
 * malloc'd and NUL-terminated (NULL on failure). */
char *pf_dump(dsr_log *log);

/* Number of events of type t in the log. */
size_t pf_count_type(dsr_log *log, dsr_event_type t);

#endif

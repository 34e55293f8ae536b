/*
 * ingest_same.h - whether a scan finds the tree as the feature's latest
 * snapshot has it (see ingest_same.c for what "the same" compares).
 */
#ifndef DOSSIER_INGEST_SAME_H
#define DOSSIER_INGEST_SAME_H

#include <stddef.h>

#include "dossier/record.h"
#include "dossier/replay.h"
#include "dossier/scan.h"

/* The key fields the run would record. */
typedef struct ingest_same_keys {
    const char *mission_type, *manifest_version, *step_id, *target_branch;
} ingest_same_keys;

/* 1 when a changed-mode run of r over base (the snapshot's artifact set)
 * would fold to the snapshot s (read without its artifacts), 0 when not,
 * -1 when out of memory. */
int ingest_same(const dsr_scan_result *r, const dsr_record_prev *base, size_t n_base,
                const dsr_snapshot_info *s, const ingest_same_keys *keys);

#endif

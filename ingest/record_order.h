/*
 * record_order.h - the orders and the "missing event" rule record_scan.c
 * records a run by, shared with ingest_same.c, which must compare a rescan
 * with the latest snapshot by exactly the same rules.
 */
#ifndef DOSSIER_INGEST_RECORD_ORDER_H
#define DOSSIER_INGEST_RECORD_ORDER_H

#include "dossier/scan.h"

/* By relative path, then artifact key. */
int record_cmp_path_key(const char *pa, const char *ka, const char *pb, const char *kb);
/* qsort comparators: dsr_record_prev pointers (path, key); C strings. */
int record_cmp_prev(const void *x, const void *y);
int record_cmp_str(const void *x, const void *y);
/* 1 when a scan records an artifact_missing event for a (required, blocking
 * and not present). */
int record_is_missing_event(const dsr_artifact *a);

#endif

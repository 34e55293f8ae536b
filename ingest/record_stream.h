/*
 * record_stream.h - a full-emission run recorded while its scan runs
 * (private to the library; record_scan.c).
 *
 * dsr_scan hands its artifacts on in byte order of their paths as soon as
 * every file still to come sorts above them (dsr_scan_opts.on_artifacts);
 * record_stream_add records each range at once, in the same batches and
 * under the same rules as dsr_record_scan (dossier/record.h), so the
 * recording overlaps the hashing.  record_stream_finish then records what
 * the scan only knows at its end -- the required artifacts no file matched,
 * the cache's stale entries -- and the completion marker, in the last
 * batch.  The events are the ones dsr_record_scan records for the same
 * result, in the same order.
 *
 * A run that fails before record_stream_finish commits keeps the batches
 * committed so far, without a completion marker: an incomplete run, as a
 * crash leaves one.  Thread-safety: as the log (one thread).
 */
#ifndef DOSSIER_INGEST_RECORD_STREAM_H
#define DOSSIER_INGEST_RECORD_STREAM_H

#include "dossier/record.h"

typedef struct record_stream record_stream;

/* Start a run (o->emit_changed must be 0; o and st stay the caller's until
 * finish or abort).  0, or a negative code. */
int  record_stream_begin(dsr_log *log, const dsr_record_opts *o, dsr_record_stats *st,
                         record_stream **out, dsr_err *err);
/* Record r->artifacts[from, to) (the ones no file matched are skipped: finish
 * records them).  Returns 0, DSR_ESCHEMA when a payload was refused (the run
 * goes on, counted in st; it will not be completed) or another negative code
 * (a log failure: abort the run). */
int  record_stream_add(record_stream *s, const dsr_scan_result *r, size_t from, size_t to,
                       dsr_err *err);
/* The complete result r: its artifacts no file matched, the stale cache
 * entries (o->cache must be finished now), the completion marker.  Frees s
 * whatever it returns; the codes as dsr_record_scan's. */
int  record_stream_finish(record_stream *s, const dsr_scan_result *r, dsr_err *err);
/* Give a run up: the open batch is dropped, the one in flight waited for.
 * Frees s; NULL is fine. */
void record_stream_abort(record_stream *s);

#endif

/*
 * append_event.c - test helper for read_first.sh (compiled by the script
 * against the built libdossier.a): appends one artifact_indexed event to
 * the log as a writer and closes it without folding it into the
 * projections, as a writer killed between its commit and its catch-up
 * leaves a log.
 * Usage: append_event LOGDIR FEATURE PATH     (exit 0 done, 3 error)
 */
#include <stdio.h>

#include "dossier/emit.h"
#include "dossier/log.h"

static const char HASH[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: append_event LOGDIR FEATURE PATH\n");
        return 2;
    }
    dsr_err err = { 0 };
    dsr_log *log = NULL;
    dsr_log_batch *b = NULL;
    dsr_artifact_indexed p = {
        .feature_slug = argv[2], .artifact_key = argv[3], .artifact_class = "output",
        .relative_path = argv[3], .content_hash_sha256 = HASH, .size_bytes = 1,
        .required_status = "optional",
    };
    dsr_emit_result r;
    int rc = dsr_log_open(&log, argv[1], DSR_LOG_NOCREATE, &err);
    if (!rc)
        rc = dsr_log_batch_begin(log, &b, &err);
    if (!rc && (rc = dsr_emit_artifact_indexed(b, &p, NULL, &r, &err)))
        dsr_log_batch_abort(b);
    else if (!rc)
        rc = dsr_log_batch_commit(b, &err);
    dsr_log_close(log);
    if (rc) {
        fprintf(stderr, "append_event: %s\n", err.msg);
        return 3;
    }
    return 0;
}

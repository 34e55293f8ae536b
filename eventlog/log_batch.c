/*
 * log_batch.c - the memory of the two batch structs a log keeps: ending a
 * batch (it may be reused at once), aborting one, and freeing what they keep
 * between batches at close.
 *
 * A batch is open from dsr_log_batch_begin (log_append.c) until it is
 * committed, handed to the committer (log_commit.c) or aborted; ending it
 * clears its WriteBatch and id set but keeps their memory.
 */
#include "log.h"

#include <string.h>

size_t dsr_log_batch_events(const dsr_log_batch *b) { return b->n_events; }
dsr_log *dsr_log_batch_log(dsr_log_batch *b) { return b->log; }

void log_batch_end(dsr_log_batch *b)
{
    rocksdb_writebatch_clear(b->wb);
    log_idset_clear(&b->idset);
    b->n_events = 0;
    b->active = 0;
}

void dsr_log_batch_abort(dsr_log_batch *b)
{
    if (b && b->active)
        log_batch_end(b);
}

void log_batch_release(dsr_log_batch *b)
{
    if (b->wb)
        rocksdb_writebatch_destroy(b->wb);
    b->wb = NULL;
    log_idset_free(&b->idset);
    if (b->scratch.ready) {
        msgpack_sbuffer_destroy(&b->scratch.rec);
        dsr_buf_free(&b->scratch.direct);
        msgpack_sbuffer_destroy(&b->scratch.aux);
        msgpack_zone_destroy(&b->scratch.zone);
        msgpack_unpacked_destroy(&b->scratch.up);
        b->scratch.ready = 0;
    }
    b->active = 0;
}

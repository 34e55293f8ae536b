/*
 * log_identity.c - a log's identity: node_id (a ULID naming this copy of the
 * log as a clock in merged logs) and project_uuid (a random RFC 4122 UUID
 * naming the project), generated once, on the first writer open, and stored
 * in meta with sync before that open returns.
 *
 * A crash before that commit leaves a log without identity, which the next
 * writer open completes; nothing else has been written yet.  Once a log has
 * events it always has both (log_meta.c refuses a log that does not).
 */
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

static int new_uuid_v4(char out[37], dsr_err *err)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return dsr_err_errno(err, DSR_EIO, errno, "getrandom");
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

int log_uuid_text_valid(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

int log_identity_created(const dsr_log *log) { return log->identity_created; }

/* Generate and store whatever identity is missing, with the counters the
 * handle holds, in one synced batch. */
int log_identity_init(dsr_log *log, dsr_err *err)
{
    if (log->node_id[0] && log->project_uuid[0])
        return 0;
    assert(log->cf_meta && !(log->flags & DSR_LOG_RDONLY));
    log->identity_created = 1;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (!wb)
        return dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", log->dir);
    int rc = 0;
    if (!log->node_id[0]) {
        if ((rc = dsr_ulid_new(&log->ulid, log->node_id))) {
            dsr_err_set(err, rc, "%s: cannot generate node_id", log->dir);
            goto out;
        }
        rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_NODE_ID,
                                  strlen(LOG_META_NODE_ID), log->node_id, DSR_ULID_LEN);
    }
    if (!log->project_uuid[0]) {
        if ((rc = new_uuid_v4(log->project_uuid, err))) {
            dsr_err_prefix(err, "%s: cannot generate project_uuid", log->dir);
            goto out;
        }
        rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_PROJECT_UUID,
                                  strlen(LOG_META_PROJECT_UUID), log->project_uuid, 36);
    }
    unsigned char k[8];
    be_put64(k, log->lamport);
    rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_LAMPORT, strlen(LOG_META_LAMPORT),
                              (const char *)k, 8);
    be_put64(k, log->next_seq);
    rocksdb_writebatch_put_cf(wb, log->cf_meta, LOG_META_NEXT_SEQ, strlen(LOG_META_NEXT_SEQ),
                              (const char *)k, 8);
    char *e = NULL;
    rocksdb_write(log->db, log->wopts, wb, &e);
    if (e)
        rc = log_rdb_fail(err, e, "%s: cannot store log identity", log->dir);
out:
    rocksdb_writebatch_destroy(wb);
    if (rc)
        log->node_id[0] = log->project_uuid[0] = '\0';
    return rc;
}

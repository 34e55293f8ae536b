/*
 * log_status.c - turns RocksDB error strings into dsr_err values.
 *
 * The RocksDB C API reports failures as a malloc'd "Kind: detail" string.  We
 * classify it once, here, so every caller maps the same way:
 *   "Corruption: ..."                    -> DSR_ECORRUPT (never a crash)
 *   lock failures on <dir>/LOCK          -> DSR_ELOCKED
 *   "... does not exist (create_if_missing is false)" -> DSR_ENOTFOUND
 *   anything else                        -> DSR_EIO
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int log_rdb_code(const char *m)
{
    if (!m)
        return DSR_EIO;
    if (!strncmp(m, "Corruption", 10) || strstr(m, "Corruption:"))
        return DSR_ECORRUPT;
    /* Another process: "IO error: While lock file: <dir>/LOCK: Resource
     * temporarily unavailable".  This process: "IO error: lock hold by
     * current process, ... <dir>/LOCK: No locks available". */
    if (strstr(m, "/LOCK:") && (strstr(m, "lock file") || strstr(m, "lock hold")
                                || strstr(m, "unavailable") || strstr(m, "No locks")))
        return DSR_ELOCKED;
    if (strstr(m, "does not exist (create_if_missing is false)"))
        return DSR_ENOTFOUND;
    return DSR_EIO;
}

int log_rdb_fail(dsr_err *err, char *rdb_msg, const char *fmt, ...)
{
    int code = log_rdb_code(rdb_msg);
    if (err) {
        char ctx[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx, sizeof ctx, fmt, ap);
        va_end(ap);
        dsr_err_set(err, code, "%s: %s", ctx, rdb_msg ? rdb_msg : "unknown RocksDB error");
    }
    rocksdb_free(rdb_msg);
    return code;
}

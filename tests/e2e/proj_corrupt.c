/*
 * proj_corrupt.c - test helper for proj_replay.sh (compiled by the script
 * against the built libdossier.a): flips one bit in the value of the first
 * row of projection family CF whose key starts with TAG followed by NUL,
 * through the public log API, so `dossier replay --verify` has a real
 * corruption to find.
 * Usage: proj_corrupt LOGDIR CF TAG     (exit 0 done, 1 no such row, 3 error)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/log.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: proj_corrupt LOGDIR CF TAG\n");
        return 2;
    }
    dsr_err err = { 0 };
    dsr_log *log = NULL;
    if (dsr_log_open(&log, argv[1], DSR_LOG_NOCREATE | DSR_LOG_WAIT, &err)) {
        fprintf(stderr, "proj_corrupt: %s\n", err.msg);
        return 3;
    }
    dsr_log_iter *it = NULL;
    size_t plen = strlen(argv[3]) + 1;   /* the tag and its NUL separator */
    int rc = dsr_log_iter_cf(log, argv[2], argv[3], plen, &it, &err);
    const void *k, *v;
    size_t kl, vl;
    if (!rc)
        rc = dsr_log_iter_next(it, &k, &kl, &v, &vl, &err);
    if (rc <= 0) {
        fprintf(stderr, "proj_corrupt: %s\n", rc ? err.msg : "no such row");
        dsr_log_iter_free(it);
        dsr_log_close(log);
        return rc ? 3 : 1;
    }
    char *key = malloc(kl), *val = malloc(vl);
    if (!key || !val || !vl) {
        fprintf(stderr, "proj_corrupt: out of memory or empty row\n");
        return 3;
    }
    memcpy(key, k, kl);
    memcpy(val, v, vl);
    dsr_log_iter_free(it);
    val[vl - 1] ^= 0x01;
    dsr_log_batch *b = NULL;
    rc = dsr_log_batch_begin(log, &b, &err);
    if (!rc)
        rc = dsr_log_batch_put(b, argv[2], key, kl, val, vl, &err);
    if (!rc)
        rc = dsr_log_batch_commit(b, &err);
    else
        dsr_log_batch_abort(b);
    if (rc)
        fprintf(stderr, "proj_corrupt: %s\n", err.msg);
    free(key);
    free(val);
    dsr_log_close(log);
    return rc ? 3 : 0;
}

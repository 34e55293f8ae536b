/*
 * cache_dump.c - test helper for scan_cache_kill.sh (compiled by the script
 * against the built libdossier.a): prints every scan-cache entry of the log
 * of a usable file as "feature<TAB>relative_path<TAB>sha256-hex" (the
 * entries of files of invalid UTF-8 claim no recorded hash and are left
 * out), read through the public
 * dsr_scan_cache_each() on a read-only handle.
 * Usage: cache_dump LOGDIR     (exit 0 done, 3 error)
 */
#include <stdio.h>

#include "dossier/log.h"
#include "dossier/scan_cache.h"

static int print_entry(void *ud, const char *feature, const char *rel, const dsr_scan_cached *v)
{
    (void)ud;
    if (v->utf8_invalid)
        return 0;   /* an unusable file's entry claims no recorded hash */
    printf("%s\t%s\t", feature, rel);
    for (int i = 0; i < 32; i++)
        printf("%02x", v->sha256[i]);
    putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cache_dump LOGDIR\n");
        return 2;
    }
    dsr_err err = { 0 };
    dsr_log *log = NULL;
    if (dsr_log_open(&log, argv[1], DSR_LOG_RDONLY | DSR_LOG_NOCREATE, &err)) {
        fprintf(stderr, "cache_dump: %s\n", err.msg);
        return 3;
    }
    int rc = dsr_scan_cache_each(log, NULL, print_entry, NULL, &err);
    if (rc)
        fprintf(stderr, "cache_dump: %s\n", err.msg);
    dsr_log_close(log);
    return rc ? 3 : 0;
}

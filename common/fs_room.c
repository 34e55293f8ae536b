/* fs_room.c - see fs_room.h. */
#include "fs_room.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

int fs_room_check(const char *dir, uint64_t file_need, uint64_t need, const char *what,
                  dsr_err *err)
{
    assert(file_need <= need);
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < file_need)
        return dsr_err_set(err, DSR_EIO, "%s %s: %s (the file size limit, ulimit -f, is %llu "
                           "bytes; opening it needs %llu)", what, dir, strerror(EFBIG),
                           (unsigned long long)rl.rlim_cur, (unsigned long long)file_need);
    struct statvfs sv;
    if (statvfs(dir, &sv) != 0)
        return 0;
    uint64_t avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    if (avail < need)
        return dsr_err_set(err, DSR_EIO, "%s %s: %s (%llu bytes free; opening it needs %llu); "
                           "free some space and run the command again", what, dir,
                           strerror(ENOSPC), (unsigned long long)avail,
                           (unsigned long long)need);
    return 0;
}

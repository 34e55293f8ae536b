/*
 * dir_lock.c - see dir_lock.h.  Owns nothing but the descriptor it returns.
 */
#include "dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int dir_lock(const char *dir, int *fd, dsr_err *err)
{
    *fd = -1;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open the folder to lock it", dir);
    if (flock(d, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(d);
        if (e == EWOULDBLOCK)
            return DSR_ELOCKED;
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot lock the folder", dir);
    }
    *fd = d;
    return 0;
}

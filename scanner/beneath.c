/*
 * beneath.c - symlink-free opens below a directory (see beneath.h).
 *
 * openat2() when the kernel has it: one system call resolves the whole
 * path and refuses any symlink (RESOLVE_NO_SYMLINKS, which also covers
 * /proc's magic links) and any escape by ".." or an absolute path
 * (RESOLVE_BENEATH).  Without it (ENOSYS: a kernel before 5.6, or a
 * seccomp filter that does not know the call), the path is walked one
 * component at a time, each folder opened O_PATH | O_DIRECTORY |
 * O_NOFOLLOW relative to the previous one, so what each step opens is
 * exactly the entry named in the folder before it.
 */
#include "beneath.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_RULES (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* 0: not probed yet, 1: openat2 works, -1: the kernel refuses it */
static int have_openat2;

void beneath_how(struct open_how *how, int flags)
{
    memset(how, 0, sizeof *how);
    how->flags = (unsigned long long)(unsigned)(flags | O_NOFOLLOW);
    how->resolve = RESOLVE_RULES;
}

static int sys_openat2(int dirfd, const char *path, int flags)
{
    struct open_how how;
    beneath_how(&how, flags);
    int fd;
    do {
        /* EAGAIN: a concurrent rename raced a ".." check; retry */
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return fd;
}

int beneath_have_openat2(void)
{
    int h = __atomic_load_n(&have_openat2, __ATOMIC_RELAXED);
    if (h == 0) {
        /* probe with the current folder: any answer but ENOSYS/EPERM
         * (seccomp's usual refusals) means the call exists */
        int fd = sys_openat2(AT_FDCWD, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        h = fd >= 0 || (errno != ENOSYS && errno != EPERM) ? 1 : -1;
        if (fd >= 0)
            close(fd);
        __atomic_store_n(&have_openat2, h, __ATOMIC_RELAXED);
    }
    return h > 0;
}

int beneath_open_by_components(int dirfd, const char *path, int flags)
{
    if (*path == '/') {
        errno = EXDEV;
        return -1;
    }
    int cur = dirfd, own = 0;
    const char *s = path;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char comp[256];
        if (n >= sizeof comp || (n == 2 && s[0] == '.' && s[1] == '.')) {
            if (own)
                close(cur);
            errno = n >= sizeof comp ? ENAMETOOLONG : EXDEV;
            return -1;
        }
        memcpy(comp, s, n);
        comp[n] = '\0';
        int next;
        if (!e) {
            next = openat(cur, n ? comp : ".", flags | O_NOFOLLOW);
        } else {
            next = openat(cur, n ? comp : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0 && errno == ENOTDIR) {
                /* O_PATH | O_NOFOLLOW opens a link itself, then O_DIRECTORY
                 * refuses it: report a link as openat2 does */
                struct stat st;
                if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                    errno = ELOOP;
                else
                    errno = ENOTDIR;
            }
        }
        int saved = errno;
        if (own)
            close(cur);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        if (!e)
            return next;
        cur = next;
        own = 1;
        s = e + 1;
    }
}

int beneath_open(int dirfd, const char *path, int flags)
{
    assert(path != NULL);
    /* one component below a folder the walker opened without following
     * links: O_NOFOLLOW is the whole check */
    if (!strchr(path, '/') && strcmp(path, "..") != 0)
        return openat(dirfd, path, flags | O_NOFOLLOW);
    if (beneath_have_openat2())
        return sys_openat2(dirfd, path, flags);
    return beneath_open_by_components(dirfd, path, flags);
}

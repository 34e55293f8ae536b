/*
 * watch_tree.c - the folders of a mission tree under inotify (see
 * watch_tree.h for which folders and the invariants).
 *
 * Adding a subtree is a depth-first walk with an explicit stack of relative
 * paths: inotify_add_watch first, then the folder is listed, so a folder
 * created inside it between the two is either listed or reported by the new
 * watch (IN_CREATE) - never missed.  inotify hands the same descriptor back
 * for a folder already watched; the walk number in gen[] tells a folder met
 * twice in one walk (a bind mount looping back) from one that moved since an
 * earlier walk, whose path is updated.
 */
#include "watch_tree.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

int wtree_hidden(const char *name)
{
    return name[0] == '.';
}

int wtree_init(wtree *t, const char *root, const char *log_dir, dsr_err *err)
{
    memset(t, 0, sizeof *t);
    t->root = root;
    struct stat st;
    if (log_dir && stat(log_dir, &st) == 0) {
        t->has_log = 1;
        t->log_dev = st.st_dev;
        t->log_ino = st.st_ino;
    }
    t->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (t->fd < 0)
        return dsr_err_set(err, errno == ENOMEM ? DSR_ENOMEM : DSR_EIO,
                           "%s: cannot start watching: inotify_init1: %s (the number of "
                           "inotify instances is limited by fs.inotify.max_user_instances)",
                           root, strerror(errno));
    return 0;
}

static int slot(wtree *t, int wd)
{
    assert(wd >= 0);
    if ((size_t)wd < t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 64;
    while (cap <= (size_t)wd)
        cap *= 2;
    char **p = realloc(t->path, cap * sizeof *p);
    if (!p)
        return -1;
    t->path = p;
    unsigned *g = realloc(t->gen, cap * sizeof *g);
    if (!g)
        return -1;
    t->gen = g;
    memset(t->path + t->cap, 0, (cap - t->cap) * sizeof *t->path);
    memset(t->gen + t->cap, 0, (cap - t->cap) * sizeof *t->gen);
    t->cap = cap;
    return 0;
}

static void note_fail(wtree *t, const char *rel, int e)
{
    if (e == ENOENT || e == ENOTDIR)
        return;                 /* gone (or replaced by a file) meanwhile */
    if (!t->fail.limit && !t->fail.other) {
        t->fail.err = e;
        snprintf(t->fail.path, sizeof t->fail.path, "%s", *rel ? rel : ".");
    }
    if (e == ENOSPC)
        t->fail.limit = 1;
    else
        t->fail.other = 1;
}

void wtree_fail_clear(wtree *t)
{
    memset(&t->fail, 0, sizeof t->fail);
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    size_t k = na;
    if (na && nb)
        s[k++] = '/';
    memcpy(s + k, b, nb + 1);
    return s;
}

/* Watch one folder; 1 when its entries are to be listed (first met in this
 * walk), 0 when not, -1 on ENOMEM. */
static int watch_one(wtree *t, const char *rel, char *abs)
{
    int wd = inotify_add_watch(t->fd, abs, WTREE_MASK);
    if (wd < 0) {
        note_fail(t, rel, errno);
        return 0;
    }
    if (slot(t, wd))
        return -1;
    if (t->gen[wd] == t->walk)
        return 0;               /* met twice in this walk */
    t->gen[wd] = t->walk;
    if (!t->path[wd] || strcmp(t->path[wd], rel)) {
        char *p = strdup(rel);
        if (!p)
            return -1;
        if (!t->path[wd])
            t->n++;
        free(t->path[wd]);
        t->path[wd] = p;
    }
    return 1;
}

static int is_log(const wtree *t, int dfd, const char *name)
{
    struct stat st;
    return t->has_log && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
        && st.st_dev == t->log_dev && st.st_ino == t->log_ino;
}

/* Push the sub-folders of abs onto the stack. */
static int list_dirs(wtree *t, const char *rel, const char *abs, char ***stack, size_t *n,
                     size_t *cap)
{
    DIR *d = opendir(abs);
    if (!d) {
        note_fail(t, rel, errno);
        return 0;
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (wtree_hidden(e->d_name))
            continue;
        int isdir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            isdir = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
                 && S_ISDIR(st.st_mode);
        }
        if (!isdir || is_log(t, dirfd(d), e->d_name))
            continue;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 16;
            char **s = realloc(*stack, c * sizeof *s);
            if (!s) {
                rc = -1;
                break;
            }
            *stack = s;
            *cap = c;
        }
        if (!((*stack)[*n] = join(rel, e->d_name)))
            rc = -1;
        else
            (*n)++;
    }
    closedir(d);
    return rc;
}

int wtree_add(wtree *t, const char *rel, dsr_err *err)
{
    t->walk++;
    if (t->walk == 0)           /* wrapped: 0 means "never reached" */
        t->walk = 1;
    char **stack = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    char *top = strdup(rel);
    if (!top)
        return dsr_err_set(err, DSR_ENOMEM, "%s: watching: out of memory", t->root);
    for (;;) {
        char *abs = join(t->root, top);
        int r = abs ? watch_one(t, top, abs) : -1;
        if (r > 0)
            r = list_dirs(t, top, abs, &stack, &n, &cap);
        free(abs);
        free(top);
        if (r < 0) {
            rc = dsr_err_set(err, DSR_ENOMEM, "%s: watching: out of memory", t->root);
            break;
        }
        if (!n)
            break;
        top = stack[--n];
    }
    while (n)
        free(stack[--n]);
    free(stack);
    return rc;
}

void wtree_forget(wtree *t, const char *rel)
{
    size_t len = strlen(rel);
    for (size_t wd = 0; wd < t->cap; wd++) {
        const char *p = t->path[wd];
        if (!p || strncmp(p, rel, len) || (p[len] && (len && p[len] != '/')))
            continue;
        (void)inotify_rm_watch(t->fd, (int)wd);
        wtree_drop(t, (int)wd);
    }
}

void wtree_drop(wtree *t, int wd)
{
    if (wd < 0 || (size_t)wd >= t->cap || !t->path[wd])
        return;
    free(t->path[wd]);
    t->path[wd] = NULL;
    assert(t->n > 0);
    t->n--;
}

const char *wtree_path(const wtree *t, int wd)
{
    return wd >= 0 && (size_t)wd < t->cap ? t->path[wd] : NULL;
}

void wtree_free(wtree *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->path[i]);
    free(t->path);
    free(t->gen);
    if (t->fd >= 0)
        close(t->fd);
    memset(t, 0, sizeof *t);
    t->fd = -1;
}

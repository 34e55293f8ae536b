/*
 * scan_walk.c - the directory walk of a scan.
 *
 * Rules (user-facing text in docs/scanning.md "What is skipped"):
 *   - entries whose name starts with '.' are skipped silently at every level
 *     (this includes ., .., .git and the .dossier log folder);
 *   - directories are opened with openat(parent_fd, name, O_NOFOLLOW), so a
 *     directory entry is never silently replaced by a symlink target;
 *   - a symlink is resolved with realpath() and followed only when its
 *     target lies inside the mission root and no segment of the target below
 *     the root is hidden; otherwise it is skipped with a warning.  A symlinked
 *     file is reported under the symlink's path and opened by its real path;
 *   - a directory (real or via symlink) whose (dev, ino) is already on the
 *     current path is a loop and is skipped with a warning, as are ELOOP
 *     chains, dangling links, FIFOs, sockets, devices, names that are not
 *     valid UTF-8 (they cannot be represented in JSON) and directories that
 *     cannot be opened or read.
 * Entry types come from d_type; only DT_UNKNOWN costs an fstatat, so listing
 * stays a getdents() loop and stat() happens later, on the worker that opens
 * the file (relative to a dup of the directory fd the walker hands out with
 * each file).  One directory fd is open per level of the current path; a
 * directory's names are kept in one buffer, not one allocation per entry.
 */
#include "scan_walk.h"
#include "buf.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct walker {
    int                root_fd;
    const char        *root_real;
    size_t             root_len;
    const dsr_walk_cb *cb;
    dsr_err           *err;
    dsr_buf            disp;       /* current display path ("" at root) */
    dsr_buf            real;       /* current symlink-free path ("" at root) */
    dir_id            *chain;      /* (dev, ino) of every directory on the path */
    size_t             depth, cap;
    unsigned long      serial;     /* last directory visit number handed out */
} walker;

typedef struct entry {
    union {
        size_t      off;        /* into the directory's name buffer while listing */
        const char *name;       /* resolved once the buffer stops growing */
    } u;
    unsigned char type;
} entry;

static int warn(walker *w, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int warn(walker *w, const char *rel, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return w->cb->warn(w->cb->ctx, rel, msg);
}

static int name_utf8_ok(const char *name)
{
    dsr_utf8 u;
    dsr_utf8_init(&u);
    dsr_utf8_feed(&u, (const unsigned char *)name, strlen(name));
    return dsr_utf8_valid(&u);
}

/* Append "/name" (or "name" at the root) to b; returns the old length. */
static int push(dsr_buf *b, const char *name, size_t *old)
{
    *old = b->len;
    if (b->len && dsr_buf_putc(b, '/'))
        return DSR_ENOMEM;
    if (dsr_buf_puts(b, name))
        return DSR_ENOMEM;
    return 0;
}

static void pop(dsr_buf *b, size_t old)
{
    b->len = old;
    if (b->data)
        b->data[old] = '\0';
}

static const char *cstr(const dsr_buf *b)
{
    return b->data ? b->data : "";
}

static int on_chain(const walker *w, const struct stat *st)
{
    for (size_t i = 0; i < w->depth; i++)
        if (w->chain[i].dev == st->st_dev && w->chain[i].ino == st->st_ino)
            return 1;
    return 0;
}

static const char *special_kind(mode_t m)
{
    if (S_ISFIFO(m)) return "FIFO";
    if (S_ISSOCK(m)) return "socket";
    if (S_ISCHR(m))  return "character device";
    if (S_ISBLK(m))  return "block device";
    return "special file";
}

static int walk_dir(walker *w, int dfd);

/* Descend into the directory open as fd (ownership passes here). */
static int descend(walker *w, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return warn(w, cstr(&w->disp), "directory skipped: cannot stat: %s", strerror(e));
    }
    if (on_chain(w, &st)) {
        close(fd);
        return warn(w, cstr(&w->disp), "symlink loop: directory already on the path; skipped");
    }
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        dir_id *c = realloc(w->chain, cap * sizeof *c);
        if (!c) {
            close(fd);
            return dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
        }
        w->chain = c;
        w->cap = cap;
    }
    w->chain[w->depth++] = (dir_id){ st.st_dev, st.st_ino };
    int rc = walk_dir(w, fd);
    w->depth--;
    return rc;
}

/* The symlink that w->disp / w->real currently name. */
static int follow_link(walker *w)
{
    const char *rel = cstr(&w->disp);
    dsr_buf full = DSR_BUF_INIT;
    /* w->real already ends with this entry's name */
    if (dsr_buf_printf(&full, "%s%s%s", w->root_real, w->root_len > 1 ? "/" : "",
                       cstr(&w->real))) {
        dsr_buf_free(&full);
        return dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
    }
    char *target = realpath(full.data, NULL);
    int e = errno;
    dsr_buf_free(&full);
    if (!target) {
        if (e == ELOOP)
            return warn(w, rel, "symlink loop (too many levels of symbolic links); skipped");
        if (e == ENOENT || e == ENOTDIR)
            return warn(w, rel, "dangling symlink; skipped");
        if (e == ENOMEM)
            return dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
        return warn(w, rel, "cannot resolve symlink: %s; skipped", strerror(e));
    }
    int rc = 0;
    const char *inside = NULL;
    if (!strcmp(target, w->root_real))
        inside = "";
    else if (w->root_len == 1)
        inside = target + 1;
    else if (!strncmp(target, w->root_real, w->root_len) && target[w->root_len] == '/')
        inside = target + w->root_len + 1;
    if (!inside) {
        rc = warn(w, rel, "symlink points outside the mission root; not followed");
        goto out;
    }
    for (const char *s = inside; *s;) {
        if (*s == '.') {
            rc = warn(w, rel, "symlink points into a hidden entry; not followed");
            goto out;
        }
        const char *sl = strchr(s, '/');
        if (!sl)
            break;
        s = sl + 1;
    }
    struct stat st;
    if (*inside ? fstatat(w->root_fd, inside, &st, AT_SYMLINK_NOFOLLOW) != 0
                : fstat(w->root_fd, &st) != 0) {
        e = errno;
        rc = e == ENOENT ? warn(w, rel, "dangling symlink; skipped")
                         : warn(w, rel, "cannot stat symlink target: %s; skipped", strerror(e));
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        dsr_walk_file f = { rel, inside, w->root_fd, inside, 0 };
        rc = w->cb->file(w->cb->ctx, &f);
    } else if (S_ISDIR(st.st_mode)) {
        if (on_chain(w, &st)) {
            rc = warn(w, rel, "symlink loop: points to a directory on its own path; skipped");
            goto out;
        }
        int fd = *inside ? openat(w->root_fd, inside, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                         : openat(w->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            rc = warn(w, rel, "directory skipped: cannot open: %s", strerror(errno));
            goto out;
        }
        /* below this link, files open by their real path */
        dsr_buf saved = w->real;
        dsr_buf real = DSR_BUF_INIT;
        if (dsr_buf_puts(&real, inside)) {
            close(fd);
            rc = dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
            goto out;
        }
        w->real = real;
        rc = descend(w, fd);
        dsr_buf_free(&w->real);
        w->real = saved;
    } else {
        rc = warn(w, rel, "symlink to a %s; skipped", special_kind(st.st_mode));
    }
out:
    free(target);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->u.name, ((const entry *)b)->u.name);
}

static int visit(walker *w, int dfd, unsigned long serial, const entry *en)
{
    unsigned char type = en->type;
    const char *name = en->u.name;
    if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                return 0;               /* gone since listing: nothing to index */
            return warn(w, cstr(&w->disp), "cannot stat: %s; skipped", strerror(errno));
        }
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR :
               S_ISLNK(st.st_mode) ? DT_LNK : S_ISFIFO(st.st_mode) ? DT_FIFO :
               S_ISSOCK(st.st_mode) ? DT_SOCK : S_ISCHR(st.st_mode) ? DT_CHR :
               S_ISBLK(st.st_mode) ? DT_BLK : DT_UNKNOWN;
    }
    const char *rel = cstr(&w->disp);
    switch (type) {
    case DT_REG: {
        dsr_walk_file f = { rel, cstr(&w->real), dfd, name, serial };
        return w->cb->file(w->cb->ctx, &f);
    }
    case DT_DIR: {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                return 0;
            return warn(w, rel, "directory skipped: cannot open: %s", strerror(errno));
        }
        return descend(w, fd);
    }
    case DT_LNK:
        return follow_link(w);
    case DT_FIFO: return warn(w, rel, "FIFO skipped");
    case DT_SOCK: return warn(w, rel, "socket skipped");
    case DT_CHR:  return warn(w, rel, "character device skipped");
    case DT_BLK:  return warn(w, rel, "block device skipped");
    default:      return warn(w, rel, "special file skipped");
    }
}

/* List one directory (fd is owned and closed here), then visit its entries
 * in name order.  Names go into one buffer per directory (no allocation per
 * entry); the entry array and the buffer are the directory's only memory. */
static int walk_dir(walker *w, int fd)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return warn(w, cstr(&w->disp), "directory skipped: %s", strerror(e));
    }
    entry *ents = NULL;
    dsr_buf names = DSR_BUF_INIT;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = warn(w, cstr(&w->disp), "error while listing directory: %s; "
                          "entries may be missing", strerror(errno));
            break;
        }
        if (de->d_name[0] == '.')
            continue;                   /* hidden, ".", ".." and the .dossier log */
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            entry *p = realloc(ents, nc * sizeof *p);
            if (!p) {
                rc = dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
                break;
            }
            ents = p;
            cap = nc;
        }
        ents[n].u.off = names.len;
        if (dsr_buf_append(&names, de->d_name, strlen(de->d_name) + 1)) {
            rc = dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
            break;
        }
        ents[n++].type = de->d_type;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        ents[i].u.name = names.data + ents[i].u.off;
    if (rc == 0 && n > 1)
        qsort(ents, n, sizeof *ents, cmp_entry);
    int dfd = dirfd(d);
    unsigned long serial = ++w->serial;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t od, orl;
        if (push(&w->disp, ents[i].u.name, &od) || push(&w->real, ents[i].u.name, &orl)) {
            rc = dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
            break;
        }
        if (!name_utf8_ok(ents[i].u.name))
            rc = warn(w, cstr(&w->disp), "name is not valid UTF-8; skipped");
        else
            rc = visit(w, dfd, serial, &ents[i]);
        pop(&w->disp, od);
        pop(&w->real, orl);
    }
    dsr_buf_free(&names);
    free(ents);
    closedir(d);
    return rc;
}

int dsr_walk(int root_fd, const char *root_real, const dsr_walk_cb *cb, dsr_err *err)
{
    walker w = { .root_fd = root_fd, .root_real = root_real, .root_len = strlen(root_real),
                 .cb = cb, .err = err };
    int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open mission folder", root_real);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot stat mission folder", root_real);
    }
    /* the root must be listable; failures below it are warnings */
    DIR *probe = fdopendir(fd);
    if (!probe) {
        int e = errno;
        close(fd);
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot list mission folder", root_real);
    }
    errno = 0;
    if (!readdir(probe) && errno) {
        int e = errno;
        closedir(probe);
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot list mission folder", root_real);
    }
    closedir(probe);
    fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open mission folder", root_real);
    w.chain = malloc(32 * sizeof *w.chain);
    if (!w.chain) {
        close(fd);
        return dsr_err_set(err, DSR_ENOMEM, "walk: out of memory");
    }
    w.cap = 32;
    w.chain[w.depth++] = (dir_id){ st.st_dev, st.st_ino };
    int rc = walk_dir(&w, fd);
    free(w.chain);
    dsr_buf_free(&w.disp);
    dsr_buf_free(&w.real);
    return rc;
}

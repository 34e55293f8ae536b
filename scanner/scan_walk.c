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
 *     cannot be opened or read;
 *   - with exclusion rules (walk_cb.ignore), an entry they exclude is not
 *     visited: a folder is not even opened.  A folder's .dossierignore is
 *     seen in its listing among the hidden names, so looking for it costs
 *     no system call; it is read when the folder is entered, and its rules
 *     leave the set with the folder's level (invariant: the set's file
 *     rules are those of the levels on the path, root first).
 * Entry types come from d_type; only DT_UNKNOWN costs an fstatat, so listing
 * stays a getdents() loop and stat() happens later, on the worker that opens
 * the file (relative to a dup of the directory fd the walker hands out with
 * each file).  A directory's names are kept in one buffer, not one
 * allocation per entry.
 *
 * The walk is iterative: one heap-allocated `level` per directory on the
 * current path holds its sorted entries and the index of the next one, so
 * the C stack does not grow with the depth (a tree 10,000 folders deep is
 * fine on a small thread stack).  At most MAX_OPEN_DIRS directory fds are
 * open: the root level's always, plus the deepest levels of the path.
 * Invariant: the open levels are 0 and lo..depth-1, so the level being
 * listed (the top) is always open.  When descending would exceed the cap,
 * level lo is closed; when the walk climbs back to a closed level it reopens
 * it with openat(child, "..") and checks (dev, ino) against the level's
 * record - O(1) per level, so a deep tree costs linear time.  If that does
 * not match (the child was reached through a symlink, or was moved), the
 * level is reopened from the root, or from the symlinked directory it lies
 * under, one openat(O_NOFOLLOW) per path component, checked the same way;
 * if the directory is gone or replaced, its remaining entries are skipped
 * with a warning.
 */
#include "scan_walk.h"
#include "beneath.h"
#include "buf.h"
#include "utf8.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

/* Most directory fds the walk keeps open at once (see the top comment). */
#define MAX_OPEN_DIRS 64

typedef struct entry {
    union {
        size_t      off;        /* into the directory's name buffer while listing */
        const char *name;       /* resolved once the buffer stops growing */
    } u;
    unsigned char type;
} entry;

/* One directory on the current path. */
typedef struct level {
    DIR          *d;           /* listing handle holding fd; NULL after a reopen */
    int           fd;          /* -1 while closed to stay under MAX_OPEN_DIRS */
    dir_id        id;          /* (dev, ino) of the directory */
    entry        *ents;        /* sorted entries, names in `names` */
    dsr_buf       names;
    size_t        n, next;     /* entry count, next entry to visit */
    unsigned long serial;      /* directory visit number handed out with files */
    size_t        od, orl;     /* w->disp / w->real lengths to restore on leaving */
    const char   *name;        /* name in the parent's listing (normal entry) */
    char         *link;        /* reached through a symlink: its symlink-free
                                  path below the root (owned), else NULL */
    dsr_buf       saved_real;  /* w->real of the parent, when link != NULL */
    int           gone;        /* could not be reopened: skip the rest */
    int           has_ignore;  /* the listing holds IGNORE_FILE_NAME */
    size_t        ign_mark;    /* file rules before this level's own */
} level;

struct walker {
    int                root_fd;
    const char        *root_real;
    size_t             root_len;
    const walk_cb *cb;
    dsr_err           *err;
    dsr_buf            disp;       /* current display path ("" at root) */
    dsr_buf            real;       /* current symlink-free path ("" at root) */
    level             *lv;         /* the directories on the path, root first */
    size_t             depth, cap;
    size_t             lo;         /* levels 0 and lo..depth-1 are open */
    size_t             cur_od, cur_orl; /* path lengths before the entry being visited */
    unsigned long      serial;     /* last directory visit number handed out */
};

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
    utf8_state u;
    utf8_init(&u);
    utf8_feed(&u, (const unsigned char *)name, strlen(name));
    return utf8_valid(&u);
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

const char *walk_pseudo_fs(int fd)
{
    static const struct { unsigned long magic; const char *name; } kinds[] = {
        { PROC_SUPER_MAGIC, "proc" },       { SYSFS_MAGIC, "sysfs" },
        { DEBUGFS_MAGIC, "debugfs" },       { TRACEFS_MAGIC, "tracefs" },
        { SECURITYFS_MAGIC, "securityfs" }, { CGROUP_SUPER_MAGIC, "cgroup" },
        { CGROUP2_SUPER_MAGIC, "cgroup2" }, { BPF_FS_MAGIC, "bpf" },
        { DEVPTS_SUPER_MAGIC, "devpts" },   { PSTOREFS_MAGIC, "pstore" },
        { EFIVARFS_MAGIC, "efivarfs" },     { SELINUX_MAGIC, "selinuxfs" },
        { SMACK_MAGIC, "smackfs" },         { BINFMTFS_MAGIC, "binfmt_misc" },
        { 0x62656570UL, "configfs" },       { 0x65735543UL, "fusectl" },
    };
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0)
        return NULL;
    /* f_type is signed on some ABIs: compare the 32-bit magic */
    unsigned long t = (unsigned long)(uint32_t)sf.f_type;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (t == kinds[i].magic)
            return kinds[i].name;
    return NULL;
}

static int on_chain(const walker *w, const struct stat *st)
{
    for (size_t i = 0; i < w->depth; i++)
        if (w->lv[i].id.dev == st->st_dev && w->lv[i].id.ino == st->st_ino)
            return 1;
    return 0;
}

static void close_level_fd(level *l)
{
    if (l->d)
        closedir(l->d);
    else if (l->fd >= 0)
        close(l->fd);
    l->d = NULL;
    l->fd = -1;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->u.name, ((const entry *)b)->u.name);
}

/* Read every entry of l->d into l (name order).  Returns 0 (a listing
 * error is a warning; the entries read so far are kept) or a negative code. */
static int list_level(walker *w, level *l)
{
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(l->d);
        if (!de) {
            if (errno)
                rc = warn(w, cstr(&w->disp), "error while listing directory: %s; "
                          "entries may be missing", strerror(errno));
            break;
        }
        if (de->d_name[0] == '.') {
            /* hidden, ".", ".." and the .dossier log; one of them may be
             * the folder's ignore file */
            if (w->cb->ignore && !strcmp(de->d_name, IGNORE_FILE_NAME))
                l->has_ignore = 1;
            continue;
        }
        if (l->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            entry *p = realloc(l->ents, nc * sizeof *p);
            if (!p)
                return dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
            l->ents = p;
            cap = nc;
        }
        l->ents[l->n].u.off = l->names.len;
        if (dsr_buf_append(&l->names, de->d_name, strlen(de->d_name) + 1))
            return dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
        l->ents[l->n++].type = de->d_type;
    }
    if (rc)
        return rc;
    for (size_t i = 0; i < l->n; i++)
        l->ents[i].u.name = l->names.data + l->ents[i].u.off;
    if (l->n > 1)
        qsort(l->ents, l->n, sizeof *l->ents, cmp_entry);
    return 0;
}

/* Free the top level's memory and fd (and give the parent's w->real back
 * when it was reached through a symlink), then drop it. */
static void drop_level(walker *w)
{
    level *l = &w->lv[--w->depth];
    if (w->cb->ignore)
        ignore_pop(w->cb->ignore, l->ign_mark);
    close_level_fd(l);
    free(l->ents);
    dsr_buf_free(&l->names);
    if (l->link) {
        free(l->link);
        dsr_buf_free(&w->real);
        w->real = l->saved_real;
    }
    if (w->lo > w->depth)
        w->lo = w->depth;
}

/* Read the ignore file of level l, the folder w->disp names. */
static int load_ignore(walker *w, level *l)
{
    dsr_buf shown = DSR_BUF_INIT;
    if (dsr_buf_printf(&shown, "%s%s%s%s%s", w->root_real, w->root_len > 1 ? "/" : "",
                       cstr(&w->disp), w->disp.len ? "/" : "", IGNORE_FILE_NAME))
        return dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
    int rc = ignore_load(w->cb->ignore, l->fd, cstr(&w->disp), shown.data, w->err);
    dsr_buf_free(&shown);
    return rc;
}

/* Push the directory open as fd (ownership passes here) as the new top
 * level: name is its entry in the parent's listing, or link its
 * symlink-free path (owned; then real becomes w->real below it). */
static int push_level(walker *w, int fd, const char *name, char *link, dsr_buf *real)
{
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = warn(w, cstr(&w->disp), "directory skipped: cannot stat: %s", strerror(e));
        goto fail;
    }
    if (on_chain(w, &st)) {
        rc = warn(w, cstr(&w->disp), "symlink loop: directory already on the path; skipped");
        goto fail;
    }
    /* a mount point (another device than its parent's): no pseudo-filesystem
     * below the root either; one fstatfs per mount crossed */
    const char *pseudo = w->depth > 0 && st.st_dev != w->lv[w->depth - 1].id.dev
                         ? walk_pseudo_fs(fd) : NULL;
    if (pseudo) {
        rc = warn(w, cstr(&w->disp), "directory skipped: a %s pseudo-filesystem, not "
                  "artifacts", pseudo);
        goto fail;
    }
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        level *p = realloc(w->lv, cap * sizeof *p);
        if (!p) {
            rc = dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
            goto fail;
        }
        w->lv = p;
        w->cap = cap;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        rc = warn(w, cstr(&w->disp), "directory skipped: %s", strerror(e));
        goto fail;
    }
    level *l = &w->lv[w->depth++];
    memset(l, 0, sizeof *l);
    l->d = d;
    l->fd = dirfd(d);
    l->id = (dir_id){ st.st_dev, st.st_ino };
    l->od = w->cur_od;
    l->orl = w->cur_orl;
    l->name = name;
    if (link) {
        l->link = link;
        l->saved_real = w->real;
        w->real = *real;
    }
    /* stay under the fd cap: close the shallowest open level but the root */
    if (w->depth - w->lo > MAX_OPEN_DIRS - 1 && w->lo >= 1 && w->lo < w->depth - 1)
        close_level_fd(&w->lv[w->lo++]);
    if ((rc = list_level(w, l)) != 0)
        return rc;          /* the caller's cleanup drops every level */
    if (w->cb->ignore) {
        l->ign_mark = ignore_mark(w->cb->ignore);
        if (l->has_ignore && (rc = load_ignore(w, l)) != 0)
            return rc;
    }
    l->serial = ++w->serial;
    return 0;
fail:
    close(fd);
    free(link);
    if (real)
        dsr_buf_free(real);
    return rc;
}

/* Open level t's directory again without following symlinks, one component
 * at a time from the nearest level below which it was reached by name (the
 * root, or a directory reached through a symlink), checking (dev, ino) at
 * each step.  Returns the fd or -1 (changed or gone). */
static int reopen_by_path(walker *w, size_t t)
{
    size_t s = t;
    while (s > 0 && !w->lv[s].link)
        s--;
    int fd;
    if (s == 0)
        fd = fcntl(w->lv[0].fd, F_DUPFD_CLOEXEC, 0);
    else
        fd = beneath_open(w->root_fd, w->lv[s].link, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t j = s;; j++) {
        struct stat st;
        if (fd < 0)
            return -1;
        if (fstat(fd, &st) != 0 || st.st_dev != w->lv[j].id.dev || st.st_ino != w->lv[j].id.ino) {
            close(fd);
            return -1;
        }
        if (j == t)
            return fd;
        int next = openat(fd, w->lv[j + 1].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
    }
}

/* Leave the top level and make sure the new top (its parent) is open. */
static int leave_level(walker *w)
{
    size_t c = w->depth - 1;
    level *child = &w->lv[c];
    pop(&w->disp, child->od);
    /* the child's real path is restored by drop_level; cut it afterwards */
    size_t orl = child->orl;
    if (c >= 1 && w->lv[c - 1].fd < 0 && !w->lv[c - 1].gone) {
        level *t = &w->lv[c - 1];
        int fd = -1;
        if (!child->link && child->fd >= 0) {
            fd = openat(child->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            struct stat st;
            if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_dev != t->id.dev ||
                            st.st_ino != t->id.ino)) {
                close(fd);
                fd = -1;
            }
        }
        if (fd < 0)
            fd = reopen_by_path(w, c - 1);
        t->fd = fd;
        if (fd < 0)
            t->gone = 1;
        w->lo = c - 1;
    }
    drop_level(w);
    pop(&w->real, orl);
    if (w->depth > 0 && w->lv[w->depth - 1].gone && w->lv[w->depth - 1].next < w->lv[w->depth - 1].n) {
        w->lv[w->depth - 1].next = w->lv[w->depth - 1].n;
        return warn(w, cstr(&w->disp), "directory moved or replaced during the walk; "
                    "its remaining entries skipped");
    }
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
    int rc = 0, tfd = -1;
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
    /* The target is checked above by name; what is opened below must be
     * that checked path, so it is resolved again without following any
     * link (a folder on it may have been swapped for one since): pinned
     * as an O_PATH descriptor, then stat'ed and, for a folder, opened
     * through that descriptor. */
    struct stat st;
    tfd = *inside ? beneath_open(w->root_fd, inside, O_PATH | O_CLOEXEC)
                  : fcntl(w->root_fd, F_DUPFD_CLOEXEC, 0);
    if (tfd < 0 || fstat(tfd, &st) != 0) {
        e = errno;
        rc = e == ENOENT ? warn(w, rel, "dangling symlink; skipped")
           : e == ELOOP ? warn(w, rel, "symlink target's path changed into a link during "
                               "the walk; skipped")
           : warn(w, rel, "cannot stat symlink target: %s; skipped", strerror(e));
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        walk_file f = { rel, inside, w->root_fd, inside, 0, w };
        rc = w->cb->file(w->cb->ctx, &f);
    } else if (S_ISDIR(st.st_mode)) {
        if (on_chain(w, &st)) {
            rc = warn(w, rel, "symlink loop: points to a directory on its own path; skipped");
            goto out;
        }
        int fd = openat(tfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            rc = warn(w, rel, "directory skipped: cannot open: %s", strerror(errno));
            goto out;
        }
        /* below this link, files open by their real path */
        dsr_buf real = DSR_BUF_INIT;
        char *link = strdup(inside);
        if (!link || dsr_buf_puts(&real, inside)) {
            close(fd);
            free(link);
            dsr_buf_free(&real);
            rc = dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
            goto out;
        }
        rc = push_level(w, fd, NULL, link, &real);
    } else {
        rc = warn(w, rel, "symlink to a %s; skipped", special_kind(st.st_mode));
    }
out:
    if (tfd >= 0)
        close(tfd);
    free(target);
    return rc;
}

static int visit(walker *w, int dfd, unsigned long serial, const entry *en)
{
    unsigned char type = en->type;
    const char *name = en->u.name;
    int scope = w->cb->scope ? w->cb->scope(w->cb->ctx, cstr(&w->disp)) : WALK_IN;
    if (scope == WALK_OUT || (scope == WALK_ABOVE && type != DT_DIR && type != DT_UNKNOWN))
        return 0;
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
    if (scope == WALK_ABOVE && type != DT_DIR)
        return 0;
    const char *rel = cstr(&w->disp);
    const ignore_rule *rule;
    if (w->cb->ignore && !ignore_empty(w->cb->ignore)
        && ignore_match(w->cb->ignore, rel, type == DT_DIR, &rule) == IGNORE_EXCLUDED)
        return w->cb->excluded ? w->cb->excluded(w->cb->ctx, rel, type == DT_DIR, rule) : 0;
    switch (type) {
    case DT_REG: {
        walk_file f = { rel, cstr(&w->real), dfd, name, serial, w };
        return w->cb->file(w->cb->ctx, &f);
    }
    case DT_DIR: {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                return 0;
            return warn(w, rel, "directory skipped: cannot open: %s", strerror(errno));
        }
        return push_level(w, fd, name, NULL, NULL);
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

/* What an entry still to visit bounds: its own path for a file, "name/"
 * for a folder (its files sort after it); a symlink or an entry of unknown
 * type may be either, so its bare name, the lower of the two. */
static int bound_cmp(const entry *a, const entry *b)
{
    const char *x = a->u.name, *y = b->u.name;
    while (*x && *x == *y) {
        x++;
        y++;
    }
    unsigned char cx = *x ? (unsigned char)*x : a->type == DT_DIR ? '/' : 0;
    unsigned char cy = *y ? (unsigned char)*y : b->type == DT_DIR ? '/' : 0;
    /* after the common part: a name's next byte, or the folder's '/' */
    return (cx > cy) - (cx < cy);
}

int walk_floor(const walker *w, dsr_buf *out)
{
    int have = 0;
    dsr_buf cand = DSR_BUF_INIT;
    dsr_buf_reset(out);
    for (size_t i = 0; i < w->depth; i++) {
        const level *l = &w->lv[i];
        if (l->next >= l->n)
            continue;
        /* The level's least bound: its next entry's, unless that is a
         * folder and a later name extends it by a byte below '/' ("tasks"
         * then "tasks.md"); such names follow it in the sorted listing. */
        const entry *best = &l->ents[l->next];
        size_t nl = strlen(best->u.name);
        for (size_t j = l->next + 1; j < l->n; j++) {
            const entry *e = &l->ents[j];
            if (strncmp(e->u.name, l->ents[l->next].u.name, nl) != 0)
                break;
            if (bound_cmp(e, best) < 0)
                best = e;
        }
        /* the level's folder: the display path up to its child's, or up to
         * the entry being visited at the deepest level */
        size_t plen = i + 1 < w->depth ? w->lv[i + 1].od : w->cur_od;
        assert(plen <= w->disp.len);
        dsr_buf_reset(&cand);
        if ((plen && (dsr_buf_append(&cand, w->disp.data, plen) || dsr_buf_putc(&cand, '/'))) ||
            dsr_buf_puts(&cand, best->u.name) ||
            (best->type == DT_DIR && dsr_buf_putc(&cand, '/'))) {
            dsr_buf_free(&cand);
            return DSR_ENOMEM;
        }
        if (!have || strcmp(cand.data, out->data) < 0) {
            dsr_buf_reset(out);
            if (dsr_buf_append(out, cand.data, cand.len)) {
                dsr_buf_free(&cand);
                return DSR_ENOMEM;
            }
            have = 1;
        }
    }
    dsr_buf_free(&cand);
    return have;
}

/* Visit the entries of every level, depth first, in name order; a
 * directory entry pushes a level that is finished before the next entry of
 * its parent.  Returns 0 or the first negative code. */
static int walk_levels(walker *w)
{
    int rc = 0;
    while (rc == 0 && w->depth > 0) {
        level *l = &w->lv[w->depth - 1];
        if (l->next == l->n) {
            rc = leave_level(w);
            continue;
        }
        const entry *en = &l->ents[l->next++];
        if (push(&w->disp, en->u.name, &w->cur_od) || push(&w->real, en->u.name, &w->cur_orl))
            return dsr_err_set(w->err, DSR_ENOMEM, "walk: out of memory");
        size_t depth = w->depth;
        if (!name_utf8_ok(en->u.name))
            rc = warn(w, cstr(&w->disp), "name is not valid UTF-8; skipped");
        else
            rc = visit(w, l->fd, l->serial, en);
        if (w->depth == depth) {
            /* not a directory (or one that was skipped): done with it */
            pop(&w->disp, w->cur_od);
            pop(&w->real, w->cur_orl);
        }
    }
    return rc;
}

int walk_tree(int root_fd, const char *root_real, const walk_cb *cb, dsr_err *err)
{
    walker w = { .root_fd = root_fd, .root_real = root_real, .root_len = strlen(root_real),
                 .cb = cb, .err = err, .lo = 1 };
    int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open mission folder", root_real);
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
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dsr_err_errno(err, DSR_EIO, e, "%s: cannot stat mission folder", root_real);
    }
    int rc = push_level(&w, fd, NULL, NULL, NULL);
    if (rc == 0 && w.depth == 0)
        rc = dsr_err_set(err, DSR_EIO, "%s: cannot list mission folder", root_real);
    if (rc == 0)
        rc = walk_levels(&w);
    while (w.depth > 0)
        drop_level(&w);          /* after an error: close what is still open */
    free(w.lv);
    dsr_buf_free(&w.disp);
    dsr_buf_free(&w.real);
    return rc;
}

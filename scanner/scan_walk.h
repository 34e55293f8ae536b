/*
 * scan_walk.h - list the regular files of a mission folder (private).
 *
 * The walk runs on one thread and reports through callbacks: each regular
 * file once (with the path to show and the path to open, both relative to the
 * root), and each skipped entry with a warning.  See scan_walk.c for the
 * skip rules.
 */
#ifndef DOSSIER_SCAN_WALK_H
#define DOSSIER_SCAN_WALK_H

#include "dossier/error.h"
#include "ignore.h"
#include "dossier/buf.h"

typedef struct walker walker;    /* the walk under way (opaque) */

/* One regular file found by the walk.  All strings are valid only during
 * the callback. */
typedef struct walk_file {
    const char *rel;        /* path as it appears in the mission (it may pass
                               through a followed symlink) */
    const char *open_rel;   /* symlink-free path of the same file, relative
                               to the root fd */
    int         dirfd;      /* the same file again is (dirfd, name): dirfd is */
    const char *name;       /* the open directory holding it (the root fd and
                               open_rel for a file reached through a symlink);
                               it stays open only during the call */
    unsigned long dir_serial; /* identifies dirfd's directory visit: equal
                               serials, same directory (0: the root fd) */
    const walker *walk;     /* for walk_floor during the callback */
} walk_file;

typedef struct walk_cb {
    /* A regular file, in walk order: each directory's entries sorted by name
     * (strcmp), subdirectories visited in place - so relative paths ascend
     * component by component.  Return 0 or a negative DSR_E* code to stop
     * the walk. */
    int  (*file)(void *ctx, const walk_file *f);
    /* A skipped entry and why.  Return 0 or a negative code to stop. */
    int  (*warn)(void *ctx, const char *rel, const char *message);
    void *ctx;
    /* Optional exclusion rules (NULL: none, and no ignore file is read).
     * The walk loads each folder's IGNORE_FILE_NAME into it on entering the
     * folder and pops it on leaving, and asks it about every entry before
     * visiting it: an excluded file is not handed to `file`, an excluded
     * folder is neither opened nor listed.  A symlink is judged as what it
     * is, not as its target (as git does). */
    ignore_set *ignore;
    /* Optional: an entry the rules excluded, with the deciding rule.
     * Return 0 or a negative code to stop. */
    int  (*excluded)(void *ctx, const char *rel, int is_dir, const ignore_rule *rule);
    /* Optional (a path-limited walk): asked about every entry by its
     * relative path before anything else is done with it (no stat, no
     * rule, no warning): WALK_IN visits it, WALK_ABOVE visits it only when
     * it is a folder (one on the way to the paths of interest), WALK_OUT
     * skips it.  NULL: every entry is WALK_IN. */
    int  (*scope)(void *ctx, const char *rel);
} walk_cb;

enum { WALK_OUT = 0, WALK_IN, WALK_ABOVE };

/* The name of the pseudo-filesystem fd lies on ("proc", "sysfs", ...), or
 * NULL for an ordinary one (or when fstatfs fails).  Their files are views
 * of kernel state, not artifacts: sizes of 0 for files that read without
 * end (/proc/self/pagemap), so neither a scan's root nor any folder the walk
 * enters may be one. */
const char *walk_pseudo_fs(int fd);

/* During a `file` callback: a lower bound, in byte order (strcmp), of the
 * relative paths of the files the walk has yet to report (the one of the
 * callback is reported).  Walk order differs from byte order where a name
 * sorts between "dir" and "dir/" ("tasks.md" after the files of "tasks/"):
 * a caller that wants the files in byte order may pass on every file it
 * holds that sorts below the bound.  Returns 1 with *out holding the bound,
 * 0 when nothing is left to visit (no bound), or DSR_ENOMEM. */
int walk_floor(const walker *w, dsr_buf *out);

/* Walk the tree below root_fd (an O_DIRECTORY fd of the root, whose
 * symlink-free absolute path is root_real).  Returns 0, the first negative
 * code a callback returned, DSR_ENOMEM, DSR_EIO when the root itself cannot
 * be listed (problems below the root become warnings), or the error of an
 * ignore file that cannot be read or parsed (ignore_load: named in err). */
int walk_tree(int root_fd, const char *root_real, const walk_cb *cb, dsr_err *err);

#endif

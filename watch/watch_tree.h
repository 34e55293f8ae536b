/*
 * watch_tree.h - the folders of a mission tree under inotify: which watch
 * descriptor stands for which folder, and adding or dropping whole subtrees
 * as folders appear, move and vanish.
 *
 * Which folders: those a scan walks - the root and every folder below it,
 * except hidden ones (a name starting with '.') and the log folder (its
 * writes are the watcher's own).  Symbolic links are not followed (a link
 * to a folder is an entry of its parent; IN_DONT_FOLLOW), so a tree with
 * links is watched without loops; see docs/watch.md for what that misses.
 *
 * Invariants:
 *   1. path[wd] is non-NULL exactly for the watch descriptors held, and is
 *      the folder's path relative to the root ("" for the root).
 *   2. n counts the non-NULL path[] entries.
 * Failures to watch are not errors: they are kept in fail (the first one
 * since wtree_fail_clear) for the caller's fallback.
 */
#ifndef DOSSIER_WATCH_TREE_H
#define DOSSIER_WATCH_TREE_H

#include <stddef.h>
#include <sys/types.h>

#include "dossier/error.h"

typedef struct wtree_fail {
    int  limit;        /* 1: ENOSPC, fs.inotify.max_user_watches reached */
    int  other;        /* 1: a folder that exists could not be watched */
    int  err;          /* errno of the first failure */
    char path[512];    /* its folder, relative to the root (truncated) */
} wtree_fail;

typedef struct wtree {
    int         fd;            /* the inotify instance (non-blocking) */
    const char *root;          /* as given; lives as long as the tree */
    int         has_log;       /* the log folder lies where a walk may meet it */
    dev_t       log_dev;
    ino_t       log_ino;
    char      **path;          /* indexed by watch descriptor (invariant 1) */
    unsigned   *gen;           /* walk that last reached path[wd] (loop guard) */
    size_t      cap, n;        /* slots of path/gen; watches held */
    unsigned    walk;          /* current walk number */
    wtree_fail  fail;
} wtree;

/* The inotify mask of every watch: content, metadata, names coming and
 * going, and the folder itself going away. */
#define WTREE_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE \
                    | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF \
                    | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

/* A new inotify instance for root; log_dir (may not exist yet) is never
 * watched.  DSR_EIO (no instance: fs.inotify.max_user_instances) or
 * DSR_ENOMEM. */
int  wtree_init(wtree *t, const char *root, const char *log_dir, dsr_err *err);
/* Watch folder rel (relative to the root, "" for the root) and every folder
 * below it; a folder already watched keeps its descriptor and takes the new
 * path (it moved).  0, or DSR_ENOMEM; folders that cannot be watched go to
 * t->fail. */
int  wtree_add(wtree *t, const char *rel, dsr_err *err);
/* Stop watching rel and every folder below it (moved out of the tree). */
void wtree_forget(wtree *t, const char *rel);
/* The kernel dropped wd (IN_IGNORED): forget its slot. */
void wtree_drop(wtree *t, int wd);
/* The folder of wd, or NULL when wd is not held. */
const char *wtree_path(const wtree *t, int wd);
/* 1 when name (one path component) is never watched nor scanned. */
int  wtree_hidden(const char *name);
void wtree_fail_clear(wtree *t);
void wtree_free(wtree *t);

#endif

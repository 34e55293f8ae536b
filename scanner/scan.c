/*
 * scan.c - dsr_scan(): walk -> worker pool (hash + match) -> sorted result.
 *
 * Threads and ownership:
 *   - the calling thread walks the tree and fills batches of BATCH_FILES
 *     entries; a full batch is handed to the pool and never touched by the
 *     walker again.  The walker also asks the incremental cache (opts->
 *     cache_lookup) about each file, in walk order, and stores the answer in
 *     the entry, so the cache is only ever touched by this one thread;
 *   - each batch is queued once per worker and its entries are claimed with
 *     an atomic counter, a share at a time (at most HASH_BATCH, at most
 *     what is left divided by the workers), so the workers share a batch that
 *     holds a few large files instead of one worker hashing them all in
 *     turn, while small files are claimed -- and opened, read and closed
 *     through the worker's io_uring (hash_files) -- in groups;
 *   - worker i uses only hashers[i] (and the io_uring it creates on first
 *     use) and werr[i]; it writes only the entries it claimed.  Each entry's result (digests, stat tuple, matched manifest
 *     entry, key, class, wp_id) is computed entirely on one worker;
 *   - a batch owns dup()s of the directory fds its entries live in (at most
 *     DIRS_PER_BATCH), so workers open and stat files relative to their
 *     directory (openat/fstatat: one path component to resolve) even after
 *     the walker has moved on; the worker that finishes a batch's last entry
 *     closes them.  In-flight batches are bounded by the pool queue, so open
 *     fds are bounded by (queue + workers + 1) * DIRS_PER_BATCH; when dup()
 *     fails (EMFILE) the entry falls back to its path below the root fd;
 *   - the pool starts once the walk has listed more than a small tree
 *     (submit).  A tree whose walk ends before that, with few bytes in it,
 *     is hashed by the calling thread itself (small_tree), as a worker
 *     would, in slot `workers` of hashers, werr and work_ar; no worker
 *     thread is ever started for it;
 *   - after scan_pool_join() (which synchronises on the pool mutex) the
 *     calling thread reads every entry, adds the absent required artifacts
 *     and sorts, freeing each batch as soon as it is converted so entries and
 *     artifacts do not both stay in memory.
 * Strings: every string of the result (paths, keys, wp ids, reasons) comes
 * from an arena, so listing and hashing a file allocates nothing of its own:
 * the walker's paths from walk_ar (walker only), worker i's keys from
 * work_ar[i] (worker i only); after the join the calling thread adopts them
 * all into the result's arena, which dsr_scan_result_free frees at once.
 * Determinism: an entry's fields depend only on its path, its content and
 * the manifest, and the output is sorted by (relative_path, artifact_key),
 * so the result is the same for any number of workers - and, since cached
 * digests are digests of the same bytes, with or without a cache.
 */
#include "dossier/scan.h"
#include "beneath.h"
#include "classify.h"
#include "hash_file.h"
#include "ignore.h"
#include "scan_pool.h"
#include "scan_walk.h"
#include "wp_frontmatter.h"
#include "buf.h"
#include "slab.h"
#include "array.h"
#include "opts_version.h"
#include "pathset.h"
#include "strmap.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#define BATCH_FILES    80      /* 80 entries + header fit 16 KiB of pages */
#define DIRS_PER_BATCH 4
#define MAX_JOBS       512
/* A small tree (see HOLD_FILES) is hashed without the pool when its files
 * hold at most this many bytes: hashing them on one core costs less than
 * starting the workers, their hashers and rings would save (docs/bench.md,
 * "Small missions", sixth pass). */
#define SMALL_TREE_BYTES ((uint64_t)4 << 20)
/* Batches are held back from the pool until the walk has listed this many
 * files or filled this many batches (each holds up to DIRS_PER_BATCH
 * directory fds): the tree is not small, and the workers start. */
#define HOLD_FILES   BATCH_FILES
#define HOLD_BATCHES 8

typedef struct entry {
    char         *rel;          /* display path (walk_ar) */
    char         *open_rel;     /* symlink-free path when different, else NULL */
    uint32_t      name_off;     /* name relative to the dir fd: (open_rel ? open_rel : rel) + name_off */
    int8_t        dir;          /* index into batch->dirs, -1: open (root fd, open path) */
    uint8_t       text;         /* UTF-8 check applies */
    uint8_t       has_cached;   /* u.cached is the cache's answer (until the worker runs) */
    uint8_t       cache_use;    /* dsr_cache_use */
    uint8_t       cache_stale;
    uint8_t       wp_file;      /* spec-kitty-3 WP file: hashed by its projection */
    uint8_t       wp_state;     /* WP_FM_* once the projection step ran */
    atomic_uchar  share;        /* SHARE_*: an uncached file left to be read
                                   alone, open to any worker (batch_job) */
    char         *wp_why;       /* WP_FM_INVALID: what is wrong (work_ar[worker]) */
    union {
        dsr_scan_cached cached; /* walker -> worker */
        hash_out    h;      /* worker -> assembly */
    } u;
    int           internal_rc;  /* digest machinery failed / out of memory */
    int32_t       spec;         /* matched manifest spec index, -1: none (a
                                   manifest of at most 16 MiB has fewer) */
    char         *key;          /* artifact_key (work_ar[worker]) */
    const char   *cls;          /* static class name (or the manifest's) */
    char          wp[16];       /* "" when not a WP file */
} entry;

/* entry.share: a file that needs a read of its own and has no cache entry
 * (a large file, on a cold scan) is not hashed at once by the worker that
 * claimed it: it is marked SHARE_OPEN, and whichever worker first moves it
 * to SHARE_TAKEN hashes it -- the claimer when it gets there, or a worker
 * that ran out of claims.  So the files of a claimed range are not held by
 * one worker while the other waits, and the last files are spread over all
 * workers.  Only cache-less entries are shared: everything their hashing
 * needs (where the file is) follows from the entry itself.  A worker that
 * takes one also takes a second when its hasher can hash two files at once
 * (hash_taken). */
enum { SHARE_NONE = 0, SHARE_OPEN, SHARE_TAKEN };

typedef struct batch {
    struct batch   *next;
    struct scan_ctx *ctx;
    size_t          n;
    atomic_size_t   claim;
    atomic_size_t   done;       /* entries finished; the last one closes dirs */
    atomic_size_t   jobs_left;  /* its queued jobs still to return; 0: the
                                   workers are done with it for good */
    const char     *floor;      /* streaming: every file listed after this
                                   batch sorts at or above it; NULL: none was */
    int             dirs[DIRS_PER_BATCH];
    unsigned long   dir_serial[DIRS_PER_BATCH];
    size_t          n_dirs;
    uint8_t         heap;       /* from calloc, not the slab (new_batch) */
    entry           e[BATCH_FILES];
} batch;

_Static_assert(sizeof(batch) <= 16384, "a batch should fit four 4 KiB pages");

typedef struct scan_ctx {
    const dsr_scan_opts *opts;
    const dsr_manifest  *m;
    int                  root_fd;
    scan_pool            *pool;     /* NULL until the first batch needs it */
    hasher         **hashers;   /* [workers + 1], hashers[i] owned by worker i,
                                   hashers[workers] by the calling thread */
    dsr_err             *werr;      /* [workers + 1], as hashers */
    size_t               workers;
    size_t               held_files, held_batches;  /* listed before the pool runs */
    size_t              *order;     /* spec indices in matching priority */
    size_t               n_order;
    batch               *head, *tail, *cur;   /* in walk order; cur: being filled */
    dsr_scan_warning    *warn;
    size_t               n_warn, cap_warn;
    dsr_scan_progress   *progress;  /* opts->progress, or NULL */
    uint64_t             max_size;  /* per-file size cap (opts or the default) */
    arena                walk_ar;   /* entry paths; the walker's */
    slab                 batches;   /* batch memory; the calling thread's */
    arena               *work_ar;   /* [workers + 1]: keys; work_ar[i] is worker i's */
    ignore_set           ign;       /* exclusion rules; the walker's */
    size_t               n_excluded;
    /* With a manifest: every excluded entry, so that a required entry
     * nothing matched can be told excluded from not found (see ghost). */
    struct excluded     *excl;
    size_t               n_excl, cap_excl;
    /* A path-limited scan (opts->only_paths): the paths, and the earlier
     * result everything else is taken from (its strings already moved to
     * the new result's arena). */
    pathset              scope;
    dsr_scan_result     *keep;
    /* Assembly: per manifest spec its pattern and step (result strings),
     * whether a file matched it (by canon[i], the first spec of its key). */
    size_t               n_specs;
    const char         **spec_pat, **spec_step;
    char                *used;
    size_t              *canon;
    /* Streaming (opts->on_artifacts): batches become artifacts as soon as
     * the workers are done with them, in walk order; the artifacts
     * [sent, n_artifacts) wait, sorted, until every file still to come
     * sorts above them (batch.floor). */
    int                  stream;
    struct result_impl  *ri;
    size_t               cap_art;
    size_t               sent;
    dsr_buf              floor;     /* walk_floor's scratch */
} scan_ctx;

typedef struct excluded {
    const char *rel;            /* walk_ar */
    const char *why;            /* "FILE:LINE 'pattern'" (walk_ar) */
    int         is_dir;
} excluded;

/* The public result plus the arena holding all its artifacts' strings and
 * the manifest patterns and steps they point to. */
typedef struct result_impl {
    dsr_scan_result pub;
    arena           strings;
    /* every entry the exclusion rules kept out (strings in the arena), for
     * a later path-limited scan that keeps this result */
    struct excluded *excl;
    size_t          n_excl;
} result_impl;

const char *dsr_reason_name(dsr_reason r)
{
    switch (r) {
    case DSR_REASON_NOT_FOUND:          return "not_found";
    case DSR_REASON_UNREADABLE:         return "unreadable";
    case DSR_REASON_INVALID_FORMAT:     return "invalid_format";
    case DSR_REASON_DELETED_AFTER_SCAN: return "deleted_after_scan";
    case DSR_REASON_EXCLUDED:           return "excluded";
    default:                            return NULL;
    }
}

const char *dsr_scan_completeness(const dsr_scan_result *r)
{
    if (!r->has_manifest)
        return "unknown";
    return r->n_required_missing ? "incomplete" : "complete";
}

/* ---- matching ------------------------------------------------------------ */

static int spec_applies(const dsr_manifest_spec *s, const char *step)
{
    return s->kind == DSR_SPEC_REQUIRED_ALWAYS ||
           (s->kind == DSR_SPEC_REQUIRED_BY_STEP && step && !strcmp(s->step_id, step));
}

/* Priority: specs that currently require something, then optional_always,
 * then the entries of other steps (which still name and classify files).
 * Within a tier, manifest order.  The first match wins. */
static int build_order(scan_ctx *c)
{
    size_t n = c->m ? dsr_manifest_spec_count(c->m) : 0;
    if (!n)
        return 0;
    if (!(c->order = malloc(n * sizeof *c->order)))
        return DSR_ENOMEM;
    for (int tier = 0; tier < 3; tier++)
        for (size_t i = 0; i < n; i++) {
            const dsr_manifest_spec *s = dsr_manifest_spec_at(c->m, i);
            int t = spec_applies(s, c->opts->step_id) ? 0
                  : s->kind == DSR_SPEC_OPTIONAL_ALWAYS ? 1 : 2;
            if (t == tier)
                c->order[c->n_order++] = i;
        }
    return 0;
}

/* Cheap pre-check: the pattern's literal prefix (up to the first
 * metacharacter) must be a prefix of the path. */
static int prefix_ok(const char *pat, const char *path)
{
    for (; *pat; pat++, path++) {
        if (*pat == '*' || *pat == '?' || *pat == '[' || *pat == '\\')
            return 1;
        if (*pat != *path)
            return 0;
    }
    return *path == '\0';
}

static long match_spec(const scan_ctx *c, const char *rel)
{
    for (size_t k = 0; k < c->n_order; k++) {
        const dsr_manifest_spec *s = dsr_manifest_spec_at(c->m, c->order[k]);
        if (prefix_ok(s->path_pattern, rel) && dsr_glob_match(s->path_pattern, rel))
            return (long)c->order[k];
    }
    return -1;
}

/* ---- workers ------------------------------------------------------------- */

static void close_dirs(batch *b);

static int64_t ts_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The cache's answer for e, used before any read: 1 when the stat tuple
 * proves the cached digests still describe the file (h filled, nothing
 * read), else 0 with *expect set when a same-size re-read may reuse the
 * cached SHA-256 (XXH3 check). */
static int try_cache(scan_ctx *c, entry *e, int dfd, const char *name,
                     const dsr_scan_cached *cc, const struct stat *pre,
                     hash_expect *expect, int *use_expect)
{
    struct stat st;
    *use_expect = 0;
    if (pre) {
        st = *pre;      /* the fstatat below, run in a batch (stat_entries) */
    } else if (strchr(name, '/')) {
        /* a followed link's target: stat it only through a symlink-free
         * path, as the hashing path will open it */
        int fd = beneath_open(dfd, name, O_PATH | O_CLOEXEC);
        int ok = fd >= 0 && fstat(fd, &st) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok)
            return 0;
    } else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return 0;   /* the hashing path reports what is wrong */
    if ((uint64_t)st.st_size != cc->size || (uint64_t)st.st_size > c->max_size)
        return 0;   /* content changed for sure, or over the cap: the hashing path */
    /* an invalid-UTF-8 entry on a path this scan does not check as text
     * cannot come from this profile's scan of this path: not trusted */
    if (!cc->racy && (!cc->utf8_invalid || e->text) &&
        (uint64_t)st.st_dev == cc->dev && (uint64_t)st.st_ino == cc->ino &&
        ts_ns(&st.st_mtim) == cc->mtime_ns && ts_ns(&st.st_ctim) == cc->ctime_ns) {
        hash_out *h = &e->u.h;           /* cc is a copy: the union may be overwritten */
        memset(h, 0, sizeof *h);
        h->status = HASH_OK;
        memcpy(h->sha256, cc->sha256, 32);
        h->xxh3_high = cc->xxh3_high;
        h->xxh3_low = cc->xxh3_low;
        h->size = cc->size;
        h->dev = cc->dev;
        h->ino = cc->ino;
        h->mtime_ns = cc->mtime_ns;
        h->ctime_ns = cc->ctime_ns;
        /* a cache entry is a usable file (text ones were valid UTF-8) or
         * one whose text was not: the verdict of the same bytes */
        h->utf8_checked = e->text;
        h->utf8_valid = !cc->utf8_invalid;
        h->utf8_bad_at = cc->utf8_invalid ? cc->utf8_bad_at : 0;
        e->cache_use = DSR_CACHE_STAT;
        return 1;
    }
    expect->xxh3_high = cc->xxh3_high;
    expect->xxh3_low = cc->xxh3_low;
    memcpy(expect->sha256, cc->sha256, 32);
    *use_expect = 1;
    return 0;
}

/* What a worker settles about an entry before hashing it: where it is, and
 * what the cache says (hit: digests already in e->u.h, nothing to read). */
typedef struct entry_plan {
    entry           *e;
    int              dfd;
    const char      *name;
    int              have, hit, use_expect;
    dsr_scan_cached  cc;        /* a copy: hashing overwrites the union */
    hash_expect  expect;
    /* 1: st is stat_entries' stat of the file; 0: try_cache stats it */
    int              pre_state;
    struct stat      st;
} entry_plan;

/* Where e is: its directory fd and its name below it; no cache answer. */
static void locate_entry(scan_ctx *c, batch *b, entry *e, entry_plan *p)
{
    p->e = e;
    p->dfd = e->dir >= 0 ? b->dirs[e->dir] : c->root_fd;
    p->name = (e->open_rel ? e->open_rel : e->rel) + (e->dir >= 0 ? e->name_off : 0);
    p->have = p->hit = p->use_expect = p->pre_state = 0;
}

/* What the cache says about p's entry (located, and maybe stat'ed). */
static void plan_entry(scan_ctx *c, entry_plan *p)
{
    entry *e = p->e;
    p->have = e->has_cached;
    if (p->have) {
        p->cc = e->u.cached;
        if (c->opts->cache_mode == DSR_SCAN_CACHE_USE)
            p->hit = try_cache(c, e, p->dfd, p->name, &p->cc,
                               p->pre_state ? &p->st : NULL, &p->expect, &p->use_expect);
    }
}

/* The cache checks of plan[0..n-1] need one fstatat each: run them on the
 * worker's io_uring in one system call (a system call's entry and exit cost
 * as much as the stat itself; docs/bench.md "io_uring stat batches").  Only
 * files named directly below their directory fd: a followed link's target
 * is stat'ed through a symlink-free open in try_cache.  Without a ring the
 * plans are left as they are, and try_cache stats each file itself. */
static void stat_entries(scan_ctx *c, entry_plan *plan, size_t n, size_t worker)
{
    int dfd[HASH_BATCH], res[HASH_BATCH];
    const char *name[HASH_BATCH];
    struct stat st[HASH_BATCH];
    size_t idx[HASH_BATCH], m = 0;
    assert(n <= HASH_BATCH);
    if (c->opts->cache_mode != DSR_SCAN_CACHE_USE)
        return;
    for (size_t k = 0; k < n; k++)
        if (plan[k].e->has_cached && !strchr(plan[k].name, '/')) {
            dfd[m] = plan[k].dfd;
            name[m] = plan[k].name;
            idx[m++] = k;
        }
    /* one file gains nothing from the ring */
    if (m < 2 || hash_stat_files(c->hashers[worker], dfd, name, m, st, res) != 0)
        return;
    /* a stat the ring could not do (a file gone, or a kernel without
     * IORING_OP_STATX: EINVAL) is left to try_cache's fstatat, whose
     * verdict is the one that counts */
    for (size_t i = 0; i < m; i++)
        if (res[i] == 0) {
            plan[idx[i]].pre_state = 1;
            plan[idx[i]].st = st[i];
        }
}

/* After e->u.h was filled by hashing: how the cache was used, and whether
 * it was stale. */
static void after_hash(entry_plan *p)
{
    entry *e = p->e;
    const hash_out *h = &e->u.h;
    if (h->sha_reused)
        e->cache_use = DSR_CACHE_XXH3;
    /* stale: other bytes behind the same size and mtime of a non-racy
     * entry (only seen on a re-read).  Either the whole stat tuple is
     * unchanged - the cache would have been wrong - or only ctime moved:
     * an mtime restored after an edit (touch -d, cp -p), which the
     * normal path catches through ctime but mtime-based tools miss. */
    if (p->have && !p->cc.racy && h->status == HASH_OK && h->size == p->cc.size &&
        h->mtime_ns == p->cc.mtime_ns && memcmp(h->sha256, p->cc.sha256, 32) != 0)
        e->cache_stale = 1;
}

/* ---- spec-kitty-3 WP files ----------------------------------------------- */

/* Replace the raw SHA-256 of a freshly read WP file by the hash of its
 * frontmatter projection (wp_frontmatter.c).  The file is read a second
 * time, whole: only WP files pay, and they are small.  The bytes read now
 * must hash to the SHA-256 of the first pass, else the file changed in
 * between and is reported as such (no digest mixes two contents).
 * Cache hits keep their digests: a cache entry of this profile already holds
 * the projection hash of exactly these bytes. */
static int wp_apply(scan_ctx *c, entry_plan *p, size_t worker)
{
    entry *e = p->e;
    hash_out *h = &e->u.h;
    if (!e->wp_file || h->status != HASH_OK || h->sha_reused || !h->utf8_valid)
        return 0;
    int fd = strchr(p->name, '/')
             ? beneath_open(p->dfd, p->name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
             : openat(p->dfd, p->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        h->status = HASH_OPEN_FAILED;
        h->errnum = errno;
        return 0;
    }
    size_t cap = (size_t)h->size + 1, len = 0;
    char *buf = malloc(cap ? cap : 1);
    if (!buf) {
        close(fd);
        return dsr_err_set(&c->werr[worker], DSR_ENOMEM, "%s: out of memory", e->rel);
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            h->status = HASH_READ_FAILED;
            h->errnum = errno;
            break;
        }
        if (r == 0 || (len += (size_t)r) == cap)
            break;
    }
    close(fd);
    unsigned char md[32];
    unsigned int mdn = 0;
    if (h->status == HASH_OK &&
        (len != h->size || !EVP_Digest(buf, len, md, &mdn, EVP_sha256(), NULL) ||
         memcmp(md, h->sha256, 32) != 0))
        h->status = HASH_CHANGED;
    int rc = 0;
    if (h->status == HASH_OK) {
        dsr_buf json = { 0 };
        char why[256];
        int st = wp_fm_project(buf, len, &json, why, sizeof why);
        if (st < 0) {
            rc = dsr_err_set(&c->werr[worker], st, "%s: out of memory", e->rel);
        } else {
            e->wp_state = (uint8_t)st;
            if (st == WP_FM_PROJECTED &&
                !EVP_Digest(json.data, json.len, h->sha256, &mdn, EVP_sha256(), NULL))
                rc = dsr_err_set(&c->werr[worker], DSR_EIO, "%s: SHA-256 failed (OpenSSL EVP)",
                                 e->rel);
            if (st == WP_FM_INVALID && !(e->wp_why = ar_strdup(&c->work_ar[worker], why)))
                rc = dsr_err_set(&c->werr[worker], DSR_ENOMEM, "%s: out of memory", e->rel);
        }
        dsr_buf_free(&json);
    }
    free(buf);
    return rc;
}

static void hash_alone(scan_ctx *c, entry_plan *p, size_t worker)
{
    int rc = hash_file_expect(c->hashers[worker], p->dfd, p->name, p->e->text,
                                  p->use_expect ? &p->expect : NULL, &p->e->u.h,
                                  &c->werr[worker]);
    if (!rc)
        rc = wp_apply(c, p, worker);
    if (rc)
        p->e->internal_rc = rc;
    else
        after_hash(p);
}

/* Progress, manifest match, key, class and wp id of a hashed entry. */
static void finish_entry(scan_ctx *c, entry *e, size_t worker)
{
    if (c->progress) {
        __atomic_fetch_add(&c->progress->files_done, 1, __ATOMIC_RELAXED);
        if (e->u.h.status == HASH_OK)
            __atomic_fetch_add(&c->progress->bytes_done, e->u.h.size, __ATOMIC_RELAXED);
    }
    long spec = c->m ? match_spec(c, e->rel) : -1;
    assert(spec < INT32_MAX);
    e->spec = (int32_t)spec;
    if (e->spec >= 0) {
        const dsr_manifest_spec *s = dsr_manifest_spec_at(c->m, (size_t)e->spec);
        e->key = classify_spec_key(&c->work_ar[worker], s->artifact_key, s->path_pattern, e->rel);
        e->cls = s->artifact_class;
    } else {
        e->key = classify_derive_key(&c->work_ar[worker], e->rel);
        e->cls = classify_path(e->rel);
    }
    if (!e->key) {
        e->internal_rc = dsr_err_set(&c->werr[worker], DSR_ENOMEM, "%s: out of memory", e->rel);
        return;
    }
    if (!classify_wp_id(e->rel, e->wp, sizeof e->wp))
        e->wp[0] = '\0';
}

/* Take a shared entry; 1 when this worker got it. */
static int take_shared(entry *e)
{
    unsigned char open = SHARE_OPEN;
    /* acq_rel: the winner sees the entry as the claimer left it */
    return atomic_compare_exchange_strong_explicit(&e->share, &open, SHARE_TAKEN,
                                                   memory_order_acq_rel, memory_order_relaxed);
}

/* Finish a taken entry: done, its digests came from a pair (hash_file_pair);
 * else it is hashed alone now. */
static void finish_taken(scan_ctx *c, entry_plan *p, int done, size_t worker)
{
    if (done) {
        int rc = wp_apply(c, p, worker);
        if (rc)
            p->e->internal_rc = rc;
        else
            after_hash(p);
    } else {
        hash_alone(c, p, worker);
    }
    if (!p->e->internal_rc)
        finish_entry(c, p->e, worker);
}

/* Hash e, which this worker took (SHARE_TAKEN), and finish it -- together
 * with a second shared entry of b when the worker's hasher can hash two
 * files at once, their SHA-256 rounds interleaved (hash_file_pair).
 * Returns how many entries were finished (1 or 2). */
static size_t hash_taken(scan_ctx *c, batch *b, entry *e, size_t worker)
{
    hasher *h = c->hashers[worker];
    entry *e2 = NULL;
    if (hasher_can_pair(h))
        for (size_t i = 0; i < b->n && !e2; i++)
            if (&b->e[i] != e &&
                atomic_load_explicit(&b->e[i].share, memory_order_relaxed) == SHARE_OPEN &&
                take_shared(&b->e[i]))
                e2 = &b->e[i];
    entry_plan p1, p2;
    locate_entry(c, b, e, &p1);
    if (!e2) {
        finish_taken(c, &p1, 0, worker);
        return 1;
    }
    locate_entry(c, b, e2, &p2);
    hash_job j1 = { p1.dfd, p1.name, e->text, &e->u.h, 0 };
    hash_job j2 = { p2.dfd, p2.name, e2->text, &e2->u.h, 0 };
    (void)hash_file_pair(h, &j1, &j2);
    finish_taken(c, &p1, j1.done, worker);
    finish_taken(c, &p2, j2.done, worker);
    return 2;
}

/* Entries lo..hi-1 of b (at most HASH_BATCH), claimed by this worker:
 * the ones the cache does not settle and that need a full read are hashed
 * together (hash_files: their opens, reads and closes batched on the
 * worker's io_uring); whatever that leaves, and the cache's XXH3 re-reads,
 * are hashed one by one -- those without a cache entry shared (SHARE_OPEN)
 * first, so another worker can take them.  Returns how many entries this
 * worker finished here (the shared ones others took are theirs to count). */
static size_t process_entries(scan_ctx *c, batch *b, size_t lo, size_t hi, size_t worker)
{
    entry_plan plan[HASH_BATCH];
    hash_job jobs[HASH_BATCH];
    size_t job_of[HASH_BATCH];
    size_t n = hi - lo, nj = 0, finished = 0;
    int shared[HASH_BATCH];
    assert(lo < hi && hi <= b->n && n <= HASH_BATCH);
    for (size_t k = 0; k < n; k++)
        locate_entry(c, b, &b->e[lo + k], &plan[k]);
    stat_entries(c, plan, n, worker);
    for (size_t k = 0; k < n; k++) {
        entry_plan *p = &plan[k];
        plan_entry(c, p);
        job_of[k] = SIZE_MAX;
        if (!p->hit && !p->use_expect) {
            jobs[nj] = (hash_job){ p->dfd, p->name, p->e->text, &p->e->u.h, 0 };
            job_of[k] = nj++;
        }
    }
    /* one file gains nothing from the ring: the same five calls either way */
    int rc = nj > 1 ? hash_files(c->hashers[worker], jobs, nj, &c->werr[worker]) : 0;
    for (size_t k = 0; k < n; k++) {
        entry_plan *p = &plan[k];
        shared[k] = 0;
        /* shared even with one worker: it may pair them (hash_taken) */
        if (!p->have && !p->hit && job_of[k] != SIZE_MAX && !rc &&
            !jobs[job_of[k]].done) {
            /* release: a worker that takes it sees the entry as listed */
            atomic_store_explicit(&p->e->share, SHARE_OPEN, memory_order_release);
            shared[k] = 1;
        }
    }
    for (size_t k = 0; k < n; k++) {
        entry_plan *p = &plan[k];
        if (shared[k])
            continue;
        if (!p->hit) {
            if (job_of[k] != SIZE_MAX && rc) {
                p->e->internal_rc = rc;
                finished++;
                continue;
            }
            if (job_of[k] != SIZE_MAX && jobs[job_of[k]].done) {
                int wrc = wp_apply(c, p, worker);
                if (wrc)
                    p->e->internal_rc = wrc;
                else
                    after_hash(p);
            }
            else
                hash_alone(c, p, worker);
            if (p->e->internal_rc) {
                finished++;
                continue;
            }
        }
        finish_entry(c, p->e, worker);
        finished++;
    }
    for (size_t k = 0; k < n; k++)
        if (shared[k] && take_shared(plan[k].e))
            finished += hash_taken(c, b, plan[k].e, worker);
    return finished;
}

/* Count n more entries of b finished; the worker finishing the last closes
 * the batch's directories. */
static void entries_done(batch *b, size_t n)
{
    if (!n)
        return;
    /* acq_rel: the closing worker sees every other worker's use of the fds done */
    size_t before = atomic_fetch_add_explicit(&b->done, n, memory_order_acq_rel);
    /* every entry is finished once: by its claimer, or by the worker that
     * took it shared */
    assert(before + n <= b->n);
    if (before + n == b->n)
        close_dirs(b);
}

static void close_dirs(batch *b)
{
    for (size_t i = 0; i < b->n_dirs; i++)
        if (b->dirs[i] >= 0) {
            close(b->dirs[i]);
            b->dirs[i] = -1;
        }
}

static void batch_job(void *arg, size_t worker)
{
    batch *b = arg;
    size_t workers = b->ctx->workers;
    for (;;) {
        /* Claim a share of what is left -- up to HASH_BATCH entries, so
         * small files are read in batches, but no more than this worker's
         * share, so a batch of a few large files is still hashed by all the
         * workers at once. */
        size_t claimed = atomic_load_explicit(&b->claim, memory_order_relaxed);
        if (claimed >= b->n)
            break;
        size_t want = (b->n - claimed) / workers;
        want = want < 1 ? 1 : want > HASH_BATCH ? HASH_BATCH : want;
        size_t i = atomic_fetch_add_explicit(&b->claim, want, memory_order_relaxed);
        if (i >= b->n)
            break;
        size_t end = i + want < b->n ? i + want : b->n;
        entries_done(b, process_entries(b->ctx, b, i, end, worker));
    }
    /* Nothing left to claim: help with the files other workers shared and
     * have not reached yet, so no worker idles while another still holds
     * several large files. */
    for (size_t i = 0; i < b->n; i++)
        if (atomic_load_explicit(&b->e[i].share, memory_order_relaxed) == SHARE_OPEN &&
            take_shared(&b->e[i]))
            entries_done(b, hash_taken(b->ctx, b, &b->e[i], worker));
    /* The last touch of b: release, so that the thread that sees 0 sees
     * every entry finished, and may free b at once. */
    atomic_fetch_sub_explicit(&b->jobs_left, 1, memory_order_release);
}

/* ---- walker callbacks (calling thread) ---------------------------------- */

static int stream_take(scan_ctx *c, int wait);

/* Streaming: what bounds the files listed after b from below -- the walk's
 * floor, and f (when given: a file listed but not in b, which goes to the
 * next batch).  NULL f and no walk: the walk is over, nothing follows. */
static int set_floor(scan_ctx *c, batch *b, const walk_file *f, const walk_file *pending)
{
    int have = f ? walk_floor(f->walk, &c->floor) : 0;
    if (have < 0)
        return have;
    const char *lo = have ? c->floor.data : NULL;
    if (pending && (!lo || strcmp(pending->rel, lo) < 0))
        lo = pending->rel;
    b->floor = NULL;
    if (lo && !(b->floor = ar_strdup(&c->walk_ar, lo)))
        return DSR_ENOMEM;
    return 0;
}

/* A hasher for slot i (a worker's, or the calling thread's), set up as
 * the scan asks. */
static int make_hasher(scan_ctx *c, size_t i)
{
    assert(i <= c->workers && !c->hashers[i]);
    if (!(c->hashers[i] = hasher_create(&c->werr[i])))
        return c->werr[i].code ? c->werr[i].code : DSR_ENOMEM;
    if (c->opts->plain_io)
        hasher_batch_off(c->hashers[i]);
    hasher_set_max_size(c->hashers[i], c->max_size);
    hasher_set_xxh3(c->hashers[i], !c->opts->no_xxh3);
    return 0;
}

/* The workers and their hashers, at the first batch that needs them.  A
 * failure's message is in werr[workers] (the calling thread's). */
static int start_pool(scan_ctx *c)
{
    assert(!c->pool);
    for (size_t i = 0; i < c->workers; i++) {
        int rc = make_hasher(c, i);
        if (rc) {
            c->werr[c->workers] = c->werr[i];
            return rc;
        }
    }
    /* queue: a few batches per worker keeps them busy while the walker lists */
    if (!(c->pool = scan_pool_create(c->workers, 4 * c->workers + 4, &c->werr[c->workers])))
        return c->werr[c->workers].code ? c->werr[c->workers].code : DSR_ENOMEM;
    return 0;
}

/* The walk is over and every batch it listed is still held (no pool
 * runs): when their files are few bytes, hash them here, as a worker would
 * (process_entries, without the ring: for a few files its set-up costs more
 * than the system calls it saves), and return 1; else 0 and nothing was
 * hashed.  The sizes come from one fstatat per file, which the cache check
 * then reuses. */
static int small_tree(scan_ctx *c)
{
    size_t n = 0, i = 0;
    for (batch *b = c->head; b; b = b->next)
        n += b->n;
    assert(n <= HOLD_FILES + BATCH_FILES);
    /* zeroed: st_mode 0 marks a file the fstatat could not stat */
    struct stat *st = calloc(n ? n : 1, sizeof *st);
    int rc = st ? 1 : DSR_ENOMEM;
    uint64_t bytes = 0;
    for (batch *b = c->head; b && rc == 1; b = b->next)
        for (size_t k = 0; k < b->n && rc == 1; k++, i++) {
            entry_plan p;
            locate_entry(c, b, &b->e[k], &p);
            /* a followed link's target is only opened through a symlink-free
             * path (try_cache): its size is not known here, so the pool
             * hashes */
            if (strchr(p.name, '/'))
                rc = 0;
            else if (fstatat(p.dfd, p.name, &st[i], AT_SYMLINK_NOFOLLOW) != 0)
                st[i].st_mode = 0;
            else if (S_ISREG(st[i].st_mode) &&
                     (bytes += (uint64_t)st[i].st_size) > SMALL_TREE_BYTES)
                rc = 0;
        }
    size_t me = c->workers;
    if (rc == 1 && (rc = make_hasher(c, me)) == 0) {
        hasher_batch_off(c->hashers[me]);
        rc = 1;
    }
    i = 0;
    for (batch *b = c->head; b && rc == 1; b = b->next) {
        for (size_t k = 0; k < b->n; k++, i++) {
            entry_plan p;
            locate_entry(c, b, &b->e[k], &p);
            if (st[i].st_mode) {     /* else the hashing path reports it */
                p.pre_state = 1;
                p.st = st[i];
            }
            plan_entry(c, &p);
            if (!p.hit)
                hash_alone(c, &p, me);
            if (!p.e->internal_rc)
                finish_entry(c, p.e, me);
        }
        entries_done(b, b->n);
        atomic_store_explicit(&b->jobs_left, 0, memory_order_relaxed);
    }
    free(st);
    return rc;
}

/* Queue b once per worker (at most one per entry). */
static int queue_batch(scan_ctx *c, batch *b)
{
    size_t copies = b->n < c->workers ? b->n : c->workers;
    atomic_store_explicit(&b->jobs_left, copies, memory_order_relaxed);
    for (size_t i = 0; i < copies; i++)
        if (scan_pool_add(c->pool, batch_job, b) != 0) {
            /* the copies not queued never return */
            atomic_fetch_sub_explicit(&b->jobs_left, copies - i, memory_order_relaxed);
            return DSR_EIO;
        }
    return 0;
}

/* The batches held so far (all listed, none hashed): hashed here when the
 * walk is over and they are small (small_tree), else queued on the pool,
 * which starts now. */
static int release_held(scan_ctx *c, int walk_over)
{
    assert(!c->pool);
    int rc = walk_over ? small_tree(c) : 0;
    if (rc)
        return rc < 0 ? rc : 0;
    if ((rc = start_pool(c)))
        return rc;
    for (batch *b = c->head; b && b != c->cur && !rc; b = b->next)
        rc = queue_batch(c, b);
    return rc;
}

/* Queue the batch being filled.  f: the file of the walk's callback (NULL
 * after the walk); pending: 1 when f is not in the batch (it goes to the
 * next one).  Until the walk has listed HOLD_FILES files or filled
 * HOLD_BATCHES batches, batches are held (jobs_left 1, not queued) and no
 * worker runs: a small tree never starts one (release_held). */
static int submit(scan_ctx *c, const walk_file *f, int pending)
{
    batch *b = c->cur;
    if (!b || b->n == 0)
        return !f && !c->pool && c->head && c->head != b ? release_held(c, 1) : 0;
    c->cur = NULL;
    assert(b->n <= BATCH_FILES && b->n_dirs <= DIRS_PER_BATCH);
    int rc = c->stream ? set_floor(c, b, f, pending ? f : NULL) : 0;
    if (rc)
        return rc;
    if (!c->pool) {
        atomic_store_explicit(&b->jobs_left, 1, memory_order_relaxed);
        c->held_files += b->n;
        if (f && c->held_files < HOLD_FILES && ++c->held_batches < HOLD_BATCHES)
            return 0;
        return release_held(c, !f);
    }
    return queue_batch(c, b);
}

/* Index of f's directory in the current batch (dup'ing its fd on first use),
 * -1 when the file is opened through the root fd.  May submit the batch
 * when it already holds DIRS_PER_BATCH directories. */
static int batch_dir(scan_ctx *c, const walk_file *f, int *idx)
{
    *idx = -1;
    if (f->dir_serial == 0)
        return 0;
    batch *b = c->cur;
    for (size_t i = 0; i < b->n_dirs; i++)
        if (b->dir_serial[i] == f->dir_serial) {
            *idx = b->dirs[i] >= 0 ? (int)i : -1;
            return 0;
        }
    if (b->n_dirs == DIRS_PER_BATCH)
        return 1;                       /* caller submits and retries */
    int fd = fcntl(f->dirfd, F_DUPFD_CLOEXEC, 0);
    /* EMFILE & co.: the entry opens through the root fd instead */
    b->dirs[b->n_dirs] = fd;
    b->dir_serial[b->n_dirs] = f->dir_serial;
    if (fd >= 0)
        *idx = (int)b->n_dirs;
    b->n_dirs++;
    return 0;
}

/* Batches come from a slab (common/slab.c), not from malloc: assembly frees
 * each one as soon as its entries became artifacts, and the slab unmaps each
 * 2 MiB of them once all are freed, so their pages go back to the kernel
 * early and the peak is about max(entries, artifacts) instead of their sum (a
 * malloc'd 16 KiB block stays in the heap; docs/bench.md has the peak RSS).
 * The slab replaced one mmap per batch: with huge pages a 2 MiB mapping is
 * one page fault instead of 512, and there is no munmap per batch.
 * BATCH_FILES entries fill the batch's 16 KiB.  But the batches held before
 * the pool runs (submit) come from the heap: a small tree fills a few, and
 * zeroing a whole huge page for them cost more than the rest of its walk. */
static int new_batch(scan_ctx *c)
{
    int heap = !c->pool;
    batch *b = heap ? calloc(1, sizeof *b) : slab_alloc(&c->batches);
    if (!b)
        return DSR_ENOMEM;                   /* zero-filled */
    b->heap = (uint8_t)heap;
    b->ctx = c;
    atomic_init(&b->claim, 0);
    atomic_init(&b->done, 0);
    /* appended: the list stays in walk order, which is nearly strcmp order */
    if (c->tail)
        c->tail->next = b;
    else
        c->head = b;
    c->tail = b;
    c->cur = b;
    return 0;
}

static int on_file(void *ctx, const walk_file *f)
{
    scan_ctx *c = ctx;
    int rc, dir;
    if (!c->cur && (rc = new_batch(c)))
        return rc;
    if (batch_dir(c, f, &dir)) {
        if ((rc = submit(c, f, 1)) || (rc = new_batch(c)))
            return rc;
        (void)batch_dir(c, f, &dir);    /* an empty batch always has room */
    }
    /* a full batch was submitted when its last entry was added */
    assert(c->cur->n < BATCH_FILES);
    entry *e = &c->cur->e[c->cur->n];
    memset(e, 0, sizeof *e);
    e->spec = -1;
    e->dir = (int8_t)dir;
    if (!(e->rel = ar_strdup(&c->walk_ar, f->rel)))
        return DSR_ENOMEM;
    if (strcmp(f->rel, f->open_rel) != 0 &&
        !(e->open_rel = ar_strdup(&c->walk_ar, f->open_rel)))
        return DSR_ENOMEM;
    if (dir >= 0) {
        const char *base = e->open_rel ? e->open_rel : e->rel;
        e->name_off = (uint32_t)(strlen(base) - strlen(f->name));
    }
    int sk3 = c->opts->profile == DSR_PROFILE_SPEC_KITTY_3;
    /* spec-kitty-3 decodes every file as UTF-8 (docs/interop.md section 2) */
    e->text = (uint8_t)(sk3 || classify_is_text(f->rel));
    e->wp_file = (uint8_t)(sk3 && wp_is_wp_file(f->rel));
    if (c->opts->cache_lookup) {
        rc = c->opts->cache_lookup(c->opts->cache_ctx, f->rel, &e->u.cached);
        if (rc < 0)
            return rc;      /* the entry is not counted; its strings go with walk_ar */
        /* another profile's digests mean something else: not reused */
        e->has_cached = rc == 1 && e->u.cached.profile == c->opts->profile;
    }
    c->cur->n++;
    if (c->progress)
        __atomic_fetch_add(&c->progress->files_listed, 1, __ATOMIC_RELAXED);
    if (c->opts->on_listed)
        c->opts->on_listed(c->opts->on_listed_ctx, f->rel);
    if (c->cur->n == BATCH_FILES) {
        if ((rc = submit(c, f, 0)))
            return rc;
        /* hand on what the workers have finished, without waiting */
        if (c->stream && (rc = stream_take(c, 0)))
            return rc;
    }
    return 0;
}

static int add_warning(scan_ctx *c, const char *rel, const char *msg)
{
    if (ARRAY_RESERVE1(c->warn, c->n_warn, c->cap_warn, 16))
        return DSR_ENOMEM;
    char *r = strdup(rel), *m = strdup(msg);
    if (!r || !m) {
        free(r);
        free(m);
        return DSR_ENOMEM;
    }
    c->warn[c->n_warn++] = (dsr_scan_warning){ r, m };
    return 0;
}

/* A path-limited scan takes what lies outside its paths from the kept
 * result: a warning or an exclusion there is already in it. */
static int in_scope(const scan_ctx *c, const char *rel)
{
    return !c->keep || pathset_has(&c->scope, rel);
}

static int on_warn(void *ctx, const char *rel, const char *msg)
{
    return in_scope(ctx, rel) ? add_warning(ctx, rel, msg) : 0;
}

static int on_scope(void *ctx, const char *rel)
{
    const scan_ctx *c = ctx;
    switch (pathset_where(&c->scope, rel)) {
    case PATHSET_IN:    return WALK_IN;
    case PATHSET_ABOVE: return WALK_ABOVE;
    default:            return WALK_OUT;
    }
}

static int on_excluded(void *ctx, const char *rel, int is_dir, const ignore_rule *rule)
{
    scan_ctx *c = ctx;
    if (!in_scope(c, rel))
        return 0;
    c->n_excluded++;
    /* kept with or without a manifest: a later path-limited scan that
     * keeps this result needs the ones outside its paths */
    if (ARRAY_RESERVE1(c->excl, c->n_excl, c->cap_excl, 16))
        return DSR_ENOMEM;
    size_t n = strlen(rule->src) + strlen(rule->pat) + 16;
    char *why = ar_stralloc(&c->walk_ar, n);
    const char *r = ar_strdup(&c->walk_ar, rel);
    if (!why || !r)
        return DSR_ENOMEM;
    /* an excluding rule is never a '!' one */
    assert(!(rule->flags & IGN_NEGATE));
    snprintf(why, n, "%s '%s%s%s'", rule->src,
             rule->flags & IGN_ANCHORED && !strchr(rule->pat, '/') ? "/" : "", rule->pat,
             rule->flags & IGN_DIR_ONLY ? "/" : "");
    c->excl[c->n_excl++] = (excluded){ r, why, is_dir };
    return 0;
}

/* The exclusion that keeps a required entry's files out, or NULL: an
 * excluded file its pattern matches, or an excluded folder its literal
 * prefix lies in (pattern tasks/WP*.md under an excluded folder tasks).
 * A pattern that could match in many folders (one starting with "**") is
 * only called excluded for the files the walk saw. */
static const excluded *find_exclusion(const scan_ctx *c, const char *pat)
{
    size_t lit = strcspn(pat, "*?[\\");
    for (size_t i = 0; i < c->n_excl; i++) {
        const excluded *x = &c->excl[i];
        if (!x->is_dir) {
            if (dsr_glob_match(pat, x->rel))
                return x;
            continue;
        }
        size_t n = strlen(x->rel);
        if (lit > n && !strncmp(pat, x->rel, n) && pat[n] == '/')
            return x;
    }
    return NULL;
}

static int make_slug(const char *opt, const char *root_real, char **out, dsr_err *err);

int dsr_scan_feature_slug(const dsr_scan_opts *opts, char **out, dsr_err *err)
{
    *out = NULL;
    if (opts && opts_version_check(opts->version, DSR_SCAN_OPTS_VERSION, "dsr_scan_opts",
                                   "DSR_SCAN_OPTS_INIT", err))
        return DSR_EINVAL;
    if (!opts || !opts->root || !*opts->root)
        return dsr_err_set(err, DSR_EINVAL, "scan: no mission folder given");
    if (opts->feature_slug)
        return make_slug(opts->feature_slug, NULL, out, err);
    char *real = realpath(opts->root, NULL);
    if (!real)
        return dsr_err_errno(err, errno == ENOMEM ? DSR_ENOMEM : DSR_EIO, errno,
                             "%s: cannot resolve mission folder", opts->root);
    int rc = make_slug(NULL, real, out, err);
    free(real);
    return rc;
}

static void free_batches(scan_ctx *c, batch *head)
{
    while (head) {
        batch *n = head->next;
        close_dirs(head);
        if (head->heap)
            free(head);
        else
            slab_free(&c->batches, head);
        head = n;
    }
}

/* ---- result assembly ----------------------------------------------------- */

/* A copy of s (NULL stays NULL) in the result's arena. */
static int own_str(result_impl *r, const char *s, const char **out)
{
    *out = s ? ar_strdup(&r->strings, s) : NULL;
    return s && !*out ? DSR_ENOMEM : 0;
}

static int cmp_artifact(const void *a, const void *b)
{
    const dsr_artifact *x = a, *y = b;
    int c = strcmp(x->relative_path, y->relative_path);
    return c ? c : strcmp(x->artifact_key, y->artifact_key);
}

static int cmp_artifact_ptr(const dsr_artifact *x, const dsr_artifact *y)
{
    return cmp_artifact(x, y);
}

/* Sort r->artifacts by (relative_path, artifact_key).  They arrive in walk
 * order (components compared in turn), which differs from strcmp order only
 * where a name sorts between "dir" and "dir/" ("tasks.md" vs "tasks/..."),
 * plus the absent required artifacts appended at the end: long sorted runs.
 * A natural merge sort of pointers then costs about one comparison per
 * artifact, where qsort of the 200-byte structs cost log2(n) comparisons
 * and as many struct copies each.  The structs are then permuted in place. */
static int sort_artifacts(dsr_artifact *arts, size_t n)
{
    size_t k = 1;
    while (k < n && cmp_artifact_ptr(&arts[k - 1], &arts[k]) <= 0)
        k++;
    if (k == n)
        return 0;                            /* already sorted: the common case */
    dsr_artifact **a = malloc(n * sizeof *a), **t = malloc(n * sizeof *t);
    size_t *runs = malloc((n + 1) * sizeof *runs);
    if (!a || !t || !runs) {
        free(a); free(t); free(runs);
        return DSR_ENOMEM;
    }
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        a[i] = &arts[i];
        if (i == 0 || cmp_artifact_ptr(a[i - 1], a[i]) > 0)
            runs[nr++] = i;
    }
    runs[nr] = n;
    /* merge adjacent runs pairwise until one is left (stable) */
    while (nr > 1) {
        size_t w = 0;
        for (size_t i = 0; i < nr; i += 2) {
            size_t lo = runs[i], mid = runs[i + 1], hi = i + 2 <= nr ? runs[i + 2] : n;
            if (i + 1 >= nr) {
                memcpy(t + lo, a + lo, (n - lo) * sizeof *a);
            } else {
                size_t p = lo, q = mid, o = lo;
                while (p < mid && q < hi)
                    t[o++] = cmp_artifact_ptr(a[q], a[p]) < 0 ? a[q++] : a[p++];
                while (p < mid)
                    t[o++] = a[p++];
                while (q < hi)
                    t[o++] = a[q++];
            }
            runs[w++] = lo;
        }
        runs[w] = n;
        nr = w;
        dsr_artifact **sw = a;
        a = t;
        t = sw;
    }
    /* apply the order in place (new[j] = old[src[j]]) by following cycles,
     * so no second array of structs is needed */
    size_t *src = runs;                      /* reused: n + 1 >= n entries */
    for (size_t i = 0; i < n; i++)
        src[i] = (size_t)(a[i] - arts);
    for (size_t i = 0; i < n; i++) {
        if (src[i] == i)
            continue;
        dsr_artifact tmp = arts[i];
        size_t j = i;
        for (;;) {
            size_t from = src[j];
            src[j] = j;                      /* placed */
            if (from == i) {
                arts[j] = tmp;
                break;
            }
            arts[j] = arts[from];
            j = from;
        }
    }
    free(a);
    free(t);
    free(runs);
    return 0;
}

static int cmp_warning(const void *a, const void *b)
{
    const dsr_scan_warning *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : strcmp(x->message, y->message);
}

static char *errno_text(arena *ar, int e)
{
    char buf[256];
    return ar_strdup(ar, strerror_r(e, buf, sizeof buf));
}

/* Turn one hashed entry into an artifact (moving its strings).  Returns 1
 * when the entry became a warning instead, 0, or DSR_ENOMEM. */
static int entry_to_artifact(scan_ctx *c, arena *ar, entry *e, dsr_artifact *a,
                             const char **spec_pat, const char **spec_step, uint64_t *bytes)
{
    if (e->u.h.status == HASH_NOT_REGULAR)
        return add_warning(c, e->rel, "no longer a regular file when it was opened; skipped")
               ? DSR_ENOMEM : 1;
    memset(a, 0, sizeof *a);
    a->artifact_key = e->key;
    e->key = NULL;
    a->relative_path = e->rel;
    e->rel = NULL;
    a->artifact_class = e->cls;
    a->linked = e->open_rel != NULL;
    if (e->wp[0] && !(a->wp_id = ar_strdup(ar, e->wp)))
        return DSR_ENOMEM;
    if (e->spec >= 0) {
        const dsr_manifest_spec *s = dsr_manifest_spec_at(c->m, (size_t)e->spec);
        a->path_pattern = spec_pat[e->spec];
        a->step_id = spec_step[e->spec];
        a->required = spec_applies(s, c->opts->step_id);
        a->blocking = s->blocking;
    }
    const hash_out *h = &e->u.h;
    a->cache_use = (dsr_cache_use)e->cache_use;
    a->cache_stale = e->cache_stale;
    a->dev = h->dev;
    a->ino = h->ino;
    a->mtime_ns = h->mtime_ns;
    a->ctime_ns = h->ctime_ns;
    a->size_bytes = h->size;
    char buf[320];
    switch (h->status) {
    case HASH_OK:
        dsr_hex(h->sha256, 32, a->sha256);
        a->xxh3_high = h->xxh3_high;
        a->xxh3_low = h->xxh3_low;
        *bytes += h->size;
        a->wp_projected = e->wp_state == WP_FM_PROJECTED;
        if (e->wp_state == WP_FM_INVALID) {
            a->reason = DSR_REASON_INVALID_FORMAT;
            snprintf(buf, sizeof buf, "wp frontmatter invalid: %s", e->wp_why ? e->wp_why : "");
            if (!(a->reason_detail = ar_strdup(ar, buf)))
                return DSR_ENOMEM;
        } else if (h->utf8_checked && !h->utf8_valid) {
            a->reason = DSR_REASON_INVALID_FORMAT;
            a->utf8_invalid = 1;
            a->utf8_bad_at = h->utf8_bad_at;
            snprintf(buf, sizeof buf, "invalid UTF-8 at byte offset %llu",
                     (unsigned long long)h->utf8_bad_at);
            if (!(a->reason_detail = ar_strdup(ar, buf)))
                return DSR_ENOMEM;
        } else {
            a->present = 1;
        }
        break;
    case HASH_OPEN_FAILED:
        if (h->errnum == ENOENT || h->errnum == ENOTDIR) {
            a->reason = DSR_REASON_DELETED_AFTER_SCAN;
            a->reason_detail = ar_strdup(ar, "removed after it was listed");
        } else {
            a->reason = DSR_REASON_UNREADABLE;
            a->reason_detail = errno_text(ar, h->errnum);
        }
        if (!a->reason_detail)
            return DSR_ENOMEM;
        break;
    case HASH_READ_FAILED:
        a->reason = DSR_REASON_UNREADABLE;
        if (!(a->reason_detail = errno_text(ar, h->errnum)))
            return DSR_ENOMEM;
        break;
    case HASH_TOO_LARGE:
        a->reason = DSR_REASON_UNREADABLE;
        snprintf(buf, sizeof buf, "larger than the size cap: %llu bytes, cap %llu; not read",
                 (unsigned long long)h->size, (unsigned long long)c->max_size);
        if (!(a->reason_detail = ar_strdup(ar, buf)))
            return DSR_ENOMEM;
        break;
    case HASH_CHANGED:
        /* written to during the read and the re-read: any digest would mix
         * old and new bytes, so none is reported */
        a->reason = DSR_REASON_UNREADABLE;
        if (!(a->reason_detail = ar_strdup(ar, "changed while it was read (twice); not hashed")))
            return DSR_ENOMEM;
        break;
    default:
        break;
    }
    return 0;
}

/* canon[i] = the index of the first spec with spec i's artifact_key. */
static int canon_specs(const dsr_manifest *m, size_t n, size_t **out)
{
    size_t *canon = malloc(n * sizeof *canon);
    strmap first = { 0 };
    if (!canon)
        return DSR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *k = dsr_manifest_spec_at(m, i)->artifact_key;
        int created = 0;
        void **slot = strmap_upsert(&first, k, strlen(k), &created);
        if (!slot) {
            strmap_free(&first);
            free(canon);
            return DSR_ENOMEM;
        }
        if (created)
            *slot = (void *)(uintptr_t)(i + 1);
        canon[i] = (size_t)(uintptr_t)*slot - 1;
        assert(canon[i] <= i);
    }
    strmap_free(&first);
    *out = canon;
    return 0;
}

/* The artifact of a required entry nothing matched: not found, or
 * excluded when an exclusion kept its file out of the walk. */
static int ghost(const scan_ctx *c, arena *ar, const dsr_manifest_spec *s, const char *pat,
                 const char *step, dsr_artifact *a)
{
    memset(a, 0, sizeof *a);
    const excluded *x = find_exclusion(c, s->path_pattern);
    a->artifact_key = ar_strdup(ar, s->artifact_key);
    a->relative_path = ar_strdup(ar, s->path_pattern);
    if (x) {
        size_t n = strlen(x->rel) + strlen(x->why) + 32;
        if ((a->reason_detail = ar_stralloc(ar, n)))
            snprintf(a->reason_detail, n, "%s%s excluded by %s", x->rel, x->is_dir ? "/" : "",
                     x->why);
    } else {
        a->reason_detail = ar_strdup(ar, "no file matches the pattern");
    }
    if (!a->artifact_key || !a->relative_path || !a->reason_detail)
        return DSR_ENOMEM;
    a->artifact_class = s->artifact_class;
    a->path_pattern = pat;
    a->step_id = step;
    a->required = 1;
    a->blocking = s->blocking;
    a->reason = x ? DSR_REASON_EXCLUDED : DSR_REASON_NOT_FOUND;
    return 0;
}

/* A path-limited scan: the kept result's artifacts outside the paths join
 * the ones found below them (its absent required ones are not taken: they
 * are worked out again below, from every file's match), and so do its
 * warnings there.  r->artifacts is the kept array, n_keep long, with room
 * for the rest: it is compacted in place (the kept order, sorted, stays).
 * Their strings are already the result's (dsr_scan moved the kept arena).
 * Returns 0 or DSR_ENOMEM. */
static int take_kept(scan_ctx *c, dsr_scan_result *r, size_t n_keep, char *used,
                     const size_t *canon)
{
    dsr_scan_result *k = c->keep;
    assert(r->n_artifacts == 0);
    for (size_t i = 0; i < n_keep; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        int ghost_of_spec = !a->present && (a->reason == DSR_REASON_NOT_FOUND
                                            || a->reason == DSR_REASON_EXCLUDED);
        if (ghost_of_spec || pathset_has(&c->scope, a->relative_path))
            continue;
        dsr_artifact *t = &r->artifacts[r->n_artifacts++];
        if (t != a)
            *t = *a;
        /* unchanged since keep's scan: its digests stand, nothing was read */
        t->cache_use = DSR_CACHE_STAT;
        t->cache_stale = 0;
        if (a->path_pattern) {
            /* the same options match it to the same spec */
            long sp = match_spec(c, a->relative_path);
            assert(sp >= 0);
            if (sp >= 0)
                used[canon[sp]] = 1;
        }
        r->n_cache_stat++;
        r->n_wp_projected += t->wp_projected != 0;
    }
    for (size_t i = 0; i < k->n_warnings; i++) {
        dsr_scan_warning *w = &k->warnings[i];
        if (pathset_has(&c->scope, w->path))
            continue;
        if (ARRAY_RESERVE1(c->warn, c->n_warn, c->cap_warn, 16))
            return DSR_ENOMEM;
        c->warn[c->n_warn++] = *w;      /* moved: keep no longer owns it */
        w->path = w->message = NULL;
    }
    return 0;
}

/* Room in the result's array for `more` artifacts beyond those in it. */
static int art_room(scan_ctx *c, dsr_scan_result *r, size_t more)
{
    size_t need = r->n_artifacts + more;
    if (need <= c->cap_art)
        return 0;
    /* a streamed result starts with room for its specs only */
    size_t cap = c->cap_art > 1024 ? c->cap_art : 1024;
    while (cap < need)
        cap *= 2;
    dsr_artifact *p = realloc(r->artifacts, cap * sizeof *p);
    if (!p)
        return DSR_ENOMEM;
    r->artifacts = p;
    c->cap_art = cap;
    return 0;
}

/* Before the first batch becomes artifacts: the specs' strings and what
 * tracks their use, and the result's array -- with room for n_entries
 * artifacts, the kept ones of a path-limited scan taken in first. */
static int assemble_begin(scan_ctx *c, result_impl *ri, size_t n_entries)
{
    dsr_scan_result *r = &ri->pub;
    size_t n_specs = c->n_specs = c->m ? dsr_manifest_spec_count(c->m) : 0;
    int rc;
    if (n_specs) {
        c->spec_pat = calloc(n_specs, sizeof *c->spec_pat);
        c->spec_step = calloc(n_specs, sizeof *c->spec_step);
        c->used = calloc(n_specs, 1);
        if (!c->spec_pat || !c->spec_step || !c->used)
            return DSR_ENOMEM;
        for (size_t i = 0; i < n_specs; i++) {
            const dsr_manifest_spec *s = dsr_manifest_spec_at(c->m, i);
            if ((rc = own_str(ri, s->path_pattern, &c->spec_pat[i])) ||
                (rc = own_str(ri, s->step_id, &c->spec_step[i])))
                return rc;
        }
    }
    /* A key listed under several steps (and optional_always) is one
     * artifact: a file matched through any of its specs satisfies all of
     * them, and a missing one is reported once.  canon[i]: the first spec
     * with spec i's key. */
    if (n_specs && (rc = canon_specs(c->m, n_specs, &c->canon)))
        return rc;
    size_t n_keep = c->keep ? c->keep->n_artifacts : 0;
    c->cap_art = n_keep + n_entries + n_specs + 1;
    if (c->keep) {
        /* the kept array becomes the result's, grown for the rest: a
         * realloc of a large block remaps its pages, where a fresh array
         * of the whole tree would fault every page in again */
        dsr_artifact *p = realloc(c->keep->artifacts, c->cap_art * sizeof *p);
        if (!p)
            return DSR_ENOMEM;
        c->keep->artifacts = NULL;
        c->keep->n_artifacts = 0;
        r->artifacts = p;
        return take_kept(c, r, n_keep, c->used, c->canon);
    }
    return (r->artifacts = calloc(c->cap_art, sizeof *r->artifacts)) ? 0 : DSR_ENOMEM;
}

/* The head batch, which the workers are done with, becomes artifacts
 * (appended to the result in walk order) and is freed. */
static int convert_head(scan_ctx *c, result_impl *ri)
{
    dsr_scan_result *r = &ri->pub;
    batch *b = c->head;
    /* every entry was finished by a worker (its claimer or a taker) */
    assert(b && atomic_load_explicit(&b->done, memory_order_relaxed) == b->n);
    int rc = art_room(c, r, b->n);
    if (rc)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        entry *e = &b->e[i];
        if (e->internal_rc)
            return e->internal_rc;
        int k = entry_to_artifact(c, &ri->strings, e, &r->artifacts[r->n_artifacts],
                                  c->spec_pat, c->spec_step, &r->bytes_hashed);
        if (k < 0) {
            r->n_artifacts++;     /* partially filled: freed with the result */
            return k;
        }
        if (k == 0) {
            const dsr_artifact *a = &r->artifacts[r->n_artifacts];
            if (e->spec >= 0)
                c->used[c->canon[e->spec]] = 1;
            r->n_cache_stat += a->cache_use == DSR_CACHE_STAT;
            r->n_cache_xxh3 += a->cache_use == DSR_CACHE_XXH3;
            r->n_cache_stale += a->cache_stale != 0;
            r->n_wp_projected += a->wp_projected != 0;
            r->n_artifacts++;
        }
    }
    /* converted: its strings moved to the artifacts; free it now */
    c->head = b->next;
    if (!c->head)
        c->tail = NULL;
    b->next = NULL;
    free_batches(c, b);
    return 0;
}

/* After the last batch: the absent required artifacts, the order, the
 * counts and the warnings. */
static int assemble_end(scan_ctx *c, result_impl *ri)
{
    dsr_scan_result *r = &ri->pub;
    int rc = art_room(c, r, c->n_specs);
    if (rc)
        return rc;
    size_t n_before = r->n_artifacts;
    for (size_t i = 0; i < c->n_specs; i++) {
        const dsr_manifest_spec *s = dsr_manifest_spec_at(c->m, i);
        if (c->used[c->canon[i]])
            continue;
        if (spec_applies(s, c->opts->step_id)) {
            c->used[c->canon[i]] = 1;       /* one ghost per key */
            rc = ghost(c, &ri->strings, s, c->spec_pat[i], c->spec_step[i],
                       &r->artifacts[r->n_artifacts]);
            r->n_artifacts++;
            if (rc)
                return rc;
        } else if (s->kind == DSR_SPEC_OPTIONAL_ALWAYS) {
            r->n_optional_absent++;
        }
    }
    /* one ghost per unused required spec at most */
    assert(r->n_artifacts - n_before <= c->n_specs);
    (void)n_before;
    if (r->n_artifacts > 1 && (rc = sort_artifacts(r->artifacts, r->n_artifacts)))
        return rc;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        const dsr_artifact *a = &r->artifacts[i];
        r->n_present += a->present != 0;
        r->n_linked += a->linked != 0;
        if (a->required) {
            r->n_required++;
            r->n_required_present += a->present != 0;
        } else {
            r->n_optional++;
            r->n_optional_present += a->present != 0;
        }
    }
    assert(r->n_required_present <= r->n_required);
    assert(r->n_required + r->n_optional == r->n_artifacts);
    r->n_required_missing = r->n_required - r->n_required_present;
    if (c->n_warn > 1)
        qsort(c->warn, c->n_warn, sizeof *c->warn, cmp_warning);
    r->warnings = c->warn;
    r->n_warnings = c->n_warn;
    c->warn = NULL;
    c->n_warn = 0;
    return 0;
}

static void assemble_free(scan_ctx *c)
{
    free(c->canon);
    free(c->spec_pat);
    free(c->spec_step);
    free(c->used);
    c->canon = NULL;
    c->spec_pat = c->spec_step = NULL;
    c->used = NULL;
}

/* Streaming: hand on, in byte order, the waiting artifacts that sort below
 * floor (all of them when floor is NULL: nothing more is coming).  Those
 * waiting are kept sorted: a batch appended in walk order is usually in
 * order already (one comparison per artifact); where a name sorts between a
 * folder's and the folder's files ("tasks.md" after "tasks/..."), the
 * waiting part is merged again. */
static int stream_send(scan_ctx *c, const char *floor)
{
    dsr_scan_result *r = &c->ri->pub;
    size_t lo = c->sent, n = r->n_artifacts;
    if (n - lo > 1) {
        int rc = sort_artifacts(r->artifacts + lo, n - lo);
        if (rc)
            return rc;
    }
    size_t hi = lo;
    while (hi < n && (!floor || strcmp(r->artifacts[hi].relative_path, floor) < 0))
        hi++;
    if (hi == lo)
        return 0;
    c->sent = hi;
    return c->opts->on_artifacts(c->opts->on_artifacts_ctx, r, lo, hi);
}

/* Streaming: convert the batches at the head that the workers are done
 * with and hand on what that allows; with wait, every submitted batch,
 * waiting for the workers as needed. */
static int stream_take(scan_ctx *c, int wait)
{
    assert(c->stream);
    int rc = 0;
    while (!rc && c->head && c->head != c->cur) {
        batch *b = c->head;
        size_t seen = c->pool ? scan_pool_finished(c->pool) : 0;
        /* acquire: pairs with the release of the batch's last job */
        if (atomic_load_explicit(&b->jobs_left, memory_order_acquire)) {
            if (!wait)
                break;          /* also a batch held back (submit) */
            /* the walk's end released every held batch */
            assert(c->pool);
            if (scan_pool_wait_finished(c->pool, seen))
                return DSR_EIO;     /* nothing runs, yet the batch is not done */
            continue;
        }
        const char *floor = b->floor;
        if (!(rc = convert_head(c, c->ri)))
            rc = stream_send(c, floor);
    }
    return rc;
}

static int assemble(scan_ctx *c, result_impl *ri, dsr_err *err)
{
    int rc = 0;
    if (!c->stream) {
        size_t n_entries = 0;
        for (batch *b = c->head; b; b = b->next)
            n_entries += b->n;
        rc = assemble_begin(c, ri, n_entries);
    }
    slab_release(&c->batches);    /* the walk is over: mappings go as they empty */
    while (!rc && c->head)
        rc = convert_head(c, ri);
    if (!rc && c->stream)
        rc = stream_send(c, NULL);
    if (!rc)
        rc = assemble_end(c, ri);
    if (rc == DSR_ENOMEM)
        dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
    else if (rc)
        dsr_err_set(err, rc, "scan failed");
    return rc;
}

/* ---- dsr_scan ------------------------------------------------------------ */

static unsigned default_jobs(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static int make_slug(const char *opt, const char *root_real, char **out, dsr_err *err)
{
    if (opt) {
        if (!*opt)
            return dsr_err_set(err, DSR_EINVAL, "feature slug is empty");
        *out = strdup(opt);
    } else {
        const char *b = strrchr(root_real, '/');
        b = b ? b + 1 : root_real;
        if (!*b)
            return dsr_err_set(err, DSR_EINVAL, "%s: cannot derive a feature slug from the "
                               "folder name; give one explicitly", root_real);
        *out = strdup(b);
    }
    return *out ? 0 : dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
}

/* ---- path-limited scans ---------------------------------------------------- */

/* Leave a keep empty (its arena, if not moved, freed): a consumed keep
 * holds nothing that points into another result. */
static void empty_keep(dsr_scan_result *k)
{
    result_impl *ki = (result_impl *)k;    /* pub is the first member */
    free(k->artifacts);
    k->artifacts = NULL;
    k->n_artifacts = 0;
    for (size_t i = 0; i < k->n_warnings; i++) {
        free(k->warnings[i].path);
        free(k->warnings[i].message);
    }
    free(k->warnings);
    k->warnings = NULL;
    k->n_warnings = 0;
    free(ki->excl);
    ki->excl = NULL;
    ki->n_excl = 0;
    ar_free(&ki->strings);
}

/* Before the walk: the paths, and the kept result's strings moved into the
 * new one's arena (so its artifacts, warnings and exclusions can be taken
 * over without a copy), its exclusions outside the paths taken at once (a
 * required entry's ghost asks about every exclusion). */
static int limit_to_paths(scan_ctx *c, result_impl *ri, dsr_err *err)
{
    const dsr_scan_opts *o = c->opts;
    result_impl *ki = (result_impl *)o->keep;
    if (pathset_make(&c->scope, o->only_paths, o->n_only_paths))
        return dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
    c->keep = o->keep;
    ar_adopt(&ri->strings, &ki->strings);
    for (size_t i = 0; i < ki->n_excl; i++) {
        if (pathset_has(&c->scope, ki->excl[i].rel))
            continue;
        if (ARRAY_RESERVE1(c->excl, c->n_excl, c->cap_excl, 16))
            return dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
        c->excl[c->n_excl++] = ki->excl[i];
        c->n_excluded++;
    }
    ri->pub.paths_only = 1;
    return 0;
}

static int scan_run(const dsr_scan_opts *opts, dsr_scan_result **out, dsr_err *err);

int dsr_scan(const dsr_scan_opts *opts, dsr_scan_result **out, dsr_err *err)
{
    int rc = scan_run(opts, out, err);
    if (opts && opts->keep)
        empty_keep(opts->keep);    /* consumed, whatever the outcome */
    return rc;
}

static int scan_run(const dsr_scan_opts *opts, dsr_scan_result **out, dsr_err *err)
{
    *out = NULL;
    if (opts && opts_version_check(opts->version, DSR_SCAN_OPTS_VERSION, "dsr_scan_opts",
                                   "DSR_SCAN_OPTS_INIT", err))
        return DSR_EINVAL;
    if (!opts || !opts->root || !*opts->root)
        return dsr_err_set(err, DSR_EINVAL, "scan: no mission folder given");
    if (opts->step_id) {
        if (!opts->manifest)
            return dsr_err_set(err, DSR_EINVAL, "step '%s' given but no manifest", opts->step_id);
        if (!dsr_manifest_has_step(opts->manifest, opts->step_id)) {
            char steps[512] = "";
            size_t used = 0;
            for (size_t i = 0; i < dsr_manifest_step_count(opts->manifest) && used < sizeof steps; i++) {
                int w = snprintf(steps + used, sizeof steps - used, "%s%s", i ? ", " : "",
                                 dsr_manifest_step_at(opts->manifest, i));
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            return dsr_err_set(err, DSR_EINVAL, "unknown step '%s' for mission type '%s' "
                               "(steps: %s)", opts->step_id,
                               dsr_manifest_mission_type(opts->manifest), used ? steps : "none");
        }
    }
    if (opts->profile != DSR_PROFILE_WP04 && opts->profile != DSR_PROFILE_SPEC_KITTY_3)
        return dsr_err_set(err, DSR_EINVAL, "scan: unknown profile %d (known: %s)",
                           (int)opts->profile, DSR_PROFILE_NAMES);
    if (!opts->only_paths != !opts->keep)
        return dsr_err_set(err, DSR_EINVAL, "scan: only_paths and keep go together (a "
                           "path-limited scan takes everything else from keep)");
    if (opts->no_xxh3 && opts->cache_lookup)
        return dsr_err_set(err, DSR_EINVAL, "scan: no_xxh3 with a cache: the cache compares "
                           "XXH3 fingerprints");
    unsigned jobs = opts->jobs ? opts->jobs : default_jobs();
    if (jobs > MAX_JOBS)
        jobs = MAX_JOBS;

    scan_ctx c = { .opts = opts, .m = opts->manifest, .root_fd = -1, .workers = jobs,
                   .progress = opts->progress,
                   .max_size = opts->max_file_size ? opts->max_file_size
                                                   : DSR_SCAN_MAX_FILE_SIZE_DEFAULT };
    slab_init(&c.batches, sizeof(batch));
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    result_impl *ri = NULL;
    char *root_real = NULL;
    int rc = 0;

    c.root_fd = open(opts->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.root_fd < 0) {
        rc = dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open mission folder", opts->root);
        goto done;
    }
    const char *pseudo = walk_pseudo_fs(c.root_fd);
    if (pseudo) {
        rc = dsr_err_set(err, DSR_EIO, "%s: on a %s pseudo-filesystem, not a mission folder "
                         "(its files are kernel state, some without end)", opts->root, pseudo);
        goto done;
    }
    if (!(root_real = realpath(opts->root, NULL))) {
        rc = dsr_err_errno(err, errno == ENOMEM ? DSR_ENOMEM : DSR_EIO, errno,
                           "%s: cannot resolve mission folder", opts->root);
        goto done;
    }
    if (!(ri = calloc(1, sizeof *ri))) {
        rc = dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
        goto done;
    }
    ri->pub.has_manifest = c.m != NULL;
    ri->pub.profile = opts->profile;
    ri->pub.started_ns = ts_ns(&t0);
    if ((rc = make_slug(opts->feature_slug, root_real, &ri->pub.feature_slug, err)))
        goto done;
    if (build_order(&c)) {
        rc = dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
        goto done;
    }
    if (opts->keep && (rc = limit_to_paths(&c, ri, err)))
        goto done;
    /* A path-limited scan takes most of its result from keep at the end:
     * nothing to hand on while it runs. */
    c.stream = opts->version >= 2 && opts->on_artifacts && !opts->keep;
    c.ri = ri;
    if (c.stream && (rc = assemble_begin(&c, ri, 0))) {
        rc = dsr_err_set(err, rc, "scan: out of memory");
        goto done;
    }
    /* one slot per worker and one for the calling thread (small_tree); the
     * workers' hashers and the pool start with the first batch (start_pool) */
    size_t slots = (size_t)jobs + 1;
    c.hashers = calloc(slots, sizeof *c.hashers);
    c.werr = calloc(slots, sizeof *c.werr);
    c.work_ar = calloc(slots, sizeof *c.work_ar);
    if (!c.hashers || !c.werr || !c.work_ar) {
        rc = dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
        goto done;
    }
    ignore_init(&c.ign);
    for (size_t i = 0; i < opts->n_excludes; i++)
        if ((rc = ignore_add_cli(&c.ign, opts->excludes[i], err)))
            goto done;
    walk_cb cb = { on_file, on_warn, &c, &c.ign, on_excluded, c.keep ? on_scope : NULL };
    if (opts->cache_mode != DSR_SCAN_CACHE_USE && opts->cache_mode != DSR_SCAN_CACHE_REHASH) {
        rc = dsr_err_set(err, DSR_EINVAL, "scan: unknown cache mode %d", opts->cache_mode);
        goto done;
    }
    rc = walk_tree(c.root_fd, root_real, &cb, err);
    if (rc == 0)
        rc = submit(&c, NULL, 0);
    if (c.progress)
        __atomic_store_n(&c.progress->listing_done, 1, __ATOMIC_RELAXED);
    if (rc == 0 && c.stream)
        rc = stream_take(&c, 1);
    if (c.pool)
        scan_pool_join(c.pool);    /* always: workers may still read batches */
    if (rc) {
        /* callbacks return bare codes; the walker sets its own messages */
        if (rc == DSR_ENOMEM) {
            dsr_err_set(err, DSR_ENOMEM, "scan: out of memory");
            goto done;
        }
        /* an entry a worker could not finish while streaming: its message */
        for (size_t i = 0; i <= jobs; i++)
            if (c.werr[i].code == rc) {
                if (err)
                    *err = c.werr[i];
                goto done;
            }
        if (err && err->code != rc)
            dsr_err_set(err, rc, c.stream ? "%s: scan stopped (the worker pool, or the "
                        "consumer of its artifacts, failed)" : "%s: scan failed: the worker "
                        "pool stopped", root_real);
        goto done;
    }
    for (size_t i = 0; i <= jobs; i++)
        if (c.werr[i].code) {
            /* a worker's digest machinery failed: report its message */
            if (err)
                *err = c.werr[i];
            rc = c.werr[i].code;
            goto done;
        }
    /* the workers are done: their strings (and the walker's) become the
     * result's, before assembly moves pointers to them into artifacts */
    ar_adopt(&ri->strings, &c.walk_ar);
    for (size_t i = 0; i <= jobs; i++)
        ar_adopt(&ri->strings, &c.work_ar[i]);
    ri->pub.n_excluded = c.n_excluded;
    rc = assemble(&c, ri, err);
    if (!rc) {
        /* walk_ar's strings and the kept ones are the result's now */
        ri->excl = c.excl;
        ri->n_excl = c.n_excl;
        c.excl = NULL;
    }

done:
    assemble_free(&c);
    dsr_buf_free(&c.floor);
    ignore_free(&c.ign);
    free(c.excl);
    pathset_free(&c.scope);
    scan_pool_free(c.pool);
    if (c.hashers)
        for (size_t i = 0; i <= jobs; i++)
            hasher_free(c.hashers[i]);
    free(c.hashers);
    free(c.werr);
    ar_free(&c.walk_ar);
    if (c.work_ar)
        for (size_t i = 0; i <= jobs; i++)
            ar_free(&c.work_ar[i]);
    free(c.work_ar);
    free(c.order);
    free_batches(&c, c.head);
    slab_release(&c.batches);
    for (size_t i = 0; i < c.n_warn; i++) {
        free(c.warn[i].path);
        free(c.warn[i].message);
    }
    free(c.warn);
    free(root_real);
    if (c.root_fd >= 0)
        close(c.root_fd);
    if (rc) {
        dsr_scan_result_free(ri ? &ri->pub : NULL);
        return rc;
    }
    *out = &ri->pub;
    return 0;
}

void dsr_scan_result_free(dsr_scan_result *r)
{
    if (!r)
        return;
    result_impl *ri = (result_impl *)r;   /* pub is the first member */
    free(r->artifacts);
    for (size_t i = 0; i < r->n_warnings; i++) {
        free(r->warnings[i].path);
        free(r->warnings[i].message);
    }
    free(r->warnings);
    free(r->feature_slug);
    free(ri->excl);
    ar_free(&ri->strings);
    free(ri);
}

/* A copy of *p (NULL stays NULL) in ar; 0 or DSR_ENOMEM. */
static int move_str(arena *ar, char **p)
{
    if (!*p)
        return 0;
    return (*p = ar_strdup(ar, *p)) ? 0 : DSR_ENOMEM;
}

void dsr_scan_result_drop_present(dsr_scan_result *r)
{
    if (!r)
        return;
    result_impl *ri = (result_impl *)r;
    /* The artifacts kept (absent or unusable: few) get their strings copied
     * into a new arena; the old one, with every present artifact's, goes. */
    arena kept = { 0 };
    size_t w = 0;
    for (size_t i = 0; i < r->n_artifacts; i++) {
        dsr_artifact a = r->artifacts[i];
        if (a.present)
            continue;
        if (move_str(&kept, &a.artifact_key) || move_str(&kept, &a.relative_path) ||
            move_str(&kept, &a.wp_id) || move_str(&kept, &a.reason_detail) ||
            (a.path_pattern && !(a.path_pattern = ar_strdup(&kept, a.path_pattern))) ||
            (a.step_id && !(a.step_id = ar_strdup(&kept, a.step_id)))) {
            ar_free(&kept);   /* out of memory: keep everything as it was */
            return;
        }
        r->artifacts[w++] = a;
    }
    ar_free(&ri->strings);
    ri->strings = kept;
    free(ri->excl);     /* its strings went with the arena */
    ri->excl = NULL;
    ri->n_excl = 0;
    r->n_artifacts = w;
    /* shrinking a large (mmap'd) block returns its pages at once */
    dsr_artifact *p = realloc(r->artifacts, (w ? w : 1) * sizeof *p);
    if (p)
        r->artifacts = p;
}

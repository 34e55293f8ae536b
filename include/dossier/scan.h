/*
 * dossier/scan.h - index a mission folder: walk it, hash every artifact in
 * parallel (SHA-256 via OpenSSL EVP and, unless opts.no_xxh3, XXH3-128 in
 * the same pass), check
 * text artifacts for UTF-8, and match files against a manifest.
 *
 * The result is deterministic: artifacts are sorted by relative_path and do
 * not depend on the number of workers.  Problems with single files (unreadable,
 * vanished, invalid UTF-8, symlink loops, special files) never stop the scan;
 * they become reasons on artifacts or counted warnings.
 */
#ifndef DOSSIER_SCAN_H
#define DOSSIER_SCAN_H

#include "dossier/export.h"

#include <stddef.h>
#include <stdint.h>
#include "dossier/error.h"
#include "dossier/manifest.h"
#include "dossier/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsr_reason {
    DSR_REASON_NONE = 0,          /* present and usable */
    DSR_REASON_NOT_FOUND,
    DSR_REASON_UNREADABLE,
    DSR_REASON_INVALID_FORMAT,
    DSR_REASON_DELETED_AFTER_SCAN,
    /* Added for exclusion rules: a required manifest entry whose file (or
     * a folder above it) exists but an exclusion rule excludes; the detail
     * names the rule ("FILE:LINE 'pattern'" or "--exclude 'pattern'").  The
     * log records it as not_found with that detail (the event contract's
     * reason codes are fixed). */
    DSR_REASON_EXCLUDED
} dsr_reason;

/* "not_found", ..., "excluded"; NULL for DSR_REASON_NONE. */
DSR_API const char *dsr_reason_name(dsr_reason r);

/* Where an artifact's digests came from (incremental rescans, see
 * dsr_scan_opts.cache_lookup). */
typedef enum dsr_cache_use {
    DSR_CACHE_MISS = 0,   /* read and hashed (no usable cache entry) */
    DSR_CACHE_STAT,       /* stat tuple unchanged: digests reused, file not read */
    DSR_CACHE_XXH3        /* re-read; XXH3-128 matched the cache, SHA-256 reused */
} dsr_cache_use;

typedef struct dsr_artifact {
    char       *artifact_key;
    const char *artifact_class;   /* static string */
    char       *relative_path;    /* for absent artifacts: the manifest pattern */
    const char *path_pattern;     /* manifest pattern that matched, or NULL */
    char        sha256[65];       /* lowercase hex; "" when the content was not read
                                     (not_found, unreadable, deleted_after_scan);
                                     filled for invalid_format */
    uint64_t    size_bytes;
    char       *wp_id;            /* "WP04" for tasks/WP04-*.md, else NULL */
    const char *step_id;          /* manifest step requiring it, else NULL */
    int         required;         /* 1: required_status "required" */
    int         blocking;         /* manifest blocking flag (0 for unmatched files) */
    int         present;          /* 1: indexed and usable */
    dsr_reason  reason;
    char       *reason_detail;    /* errno text etc., or NULL */
    uint64_t    xxh3_high, xxh3_low;  /* XXH3-128 fingerprint of the content */
    /* stat tuple at hashing time (for the incremental cache) */
    uint64_t    dev, ino;
    int64_t     mtime_ns, ctime_ns;
    /* Added for incremental rescans: how the digests were obtained, and 1
     * when a non-racy cache entry had this file's size and mtime but the
     * content read now differs: content changed behind an unchanged stat
     * tuple, or an mtime restored after an edit (only found when the file
     * is read anyway: DSR_SCAN_CACHE_REHASH). */
    dsr_cache_use cache_use;
    int           cache_stale;
    /* Added for the profiles: 1 when sha256 is the hash of the WP
     * frontmatter projection (spec-kitty-3), not of the raw bytes. */
    int           wp_projected;
    /* Added for `dossier watch`: 1 when the file was reached through a
     * followed symlink (its content can change with no file-system event
     * in the folder that lists it). */
    int           linked;
    /* Added for cached unusable files: 1 when the file is unusable because
     * its bytes are not valid UTF-8 (reason DSR_REASON_INVALID_FORMAT, sha256
     * and xxh3 filled), the first bad sequence starting at utf8_bad_at. */
    int           utf8_invalid;
    uint64_t      utf8_bad_at;
} dsr_artifact;

typedef struct dsr_scan_warning {
    char *path;                   /* relative path */
    char *message;                /* what is wrong */
} dsr_scan_warning;

/* One file as an incremental cache remembers it: the stat tuple seen when
 * it was last hashed and its digests.  A cache hands out files whose content
 * a scan found usable and, flagged utf8_invalid, files a scan found unusable
 * only because a text path held invalid UTF-8 (their digests describe the
 * bytes; an unchanged stat tuple keeps that verdict without a read). */
typedef struct dsr_scan_cached {
    uint64_t      dev, ino, size;
    int64_t       mtime_ns, ctime_ns;
    uint64_t      xxh3_high, xxh3_low;
    unsigned char sha256[32];
    int           racy;      /* modified too close to the scan that cached it:
                                the stat tuple proves nothing, re-read */
    /* Added for the profiles: the profile of the scan that hashed it.  A
     * scan uses only entries of its own profile (a raw-byte hash is never
     * reused as a WP projection hash, nor a file whose UTF-8 was never
     * checked as a checked one). */
    dsr_profile   profile;
    /* Added for cached unusable files: 1 when the bytes were not valid UTF-8
     * (the first bad sequence at utf8_bad_at) on a path the profile checks.
     * 0 (what a lookup that does not know the field leaves): usable. */
    int           utf8_invalid;
    uint64_t      utf8_bad_at;
} dsr_scan_cached;

enum {
    DSR_SCAN_CACHE_USE = 0,  /* trust unchanged stat tuples, XXH3 for same-size changes */
    DSR_SCAN_CACHE_REHASH    /* read and hash everything; flag stale entries */
};

/* Live counters for a progress display.  The scan updates them with relaxed
 * atomic operations (GCC/Clang __atomic builtins, so the header stays usable
 * from C++); another thread reads them with __atomic_load_n(&p->x,
 * __ATOMIC_RELAXED) while dsr_scan runs.  Zero them before the scan. */
typedef struct dsr_scan_progress {
    uint64_t files_listed;  /* regular files found so far */
    uint64_t files_done;    /* files hashed or taken from the cache */
    uint64_t bytes_done;    /* content bytes of those files */
    int      listing_done;  /* 1 once the walk has finished */
} dsr_scan_progress;

#define DSR_SCAN_OPTS_VERSION 2

typedef struct dsr_scan_opts {
    unsigned            version;       /* DSR_SCAN_OPTS_VERSION (DSR_SCAN_OPTS_INIT) */
    const char         *root;          /* mission folder */
    const dsr_manifest *manifest;      /* NULL: no manifest, completeness unknown */
    const char         *step_id;       /* which required_by_step entries apply, or NULL */
    const char         *feature_slug;  /* NULL: basename of root */
    unsigned            jobs;          /* worker threads; 0: number of cores */
    /* Optional (added by the scanner): called on the walking thread for every
     * regular file right after it is listed and before a worker opens it,
     * with its relative path.  For progress reporting and for tests that
     * change the tree between listing and reading.  NULL: not called. */
    void              (*on_listed)(void *ctx, const char *relative_path);
    void               *on_listed_ctx;
    /* Optional (added for incremental rescans): asked on the walking thread,
     * for every regular file, in walk order (relative paths ascend
     * component by component, i.e. byte order with '/' sorting before every
     * other byte), before the file is opened.  Fill *out and return 1 when
     * the cache knows relative_path, 0 when it does not, a negative DSR_E*
     * code to stop the scan.  The scanner then fstatat()s the file: an
     * unchanged (dev, ino, size, mtime, ctime) of a non-racy entry reuses
     * the digests without opening it; a same-size change or a racy entry is
     * re-read computing XXH3 only, and the cached SHA-256 is reused when
     * XXH3 matches.  The scanner never writes the cache. */
    int               (*cache_lookup)(void *ctx, const char *relative_path,
                                      dsr_scan_cached *out);
    void               *cache_ctx;
    int                 cache_mode;    /* DSR_SCAN_CACHE_* */
    dsr_scan_progress  *progress;      /* or NULL */
    /* Added for batched reads: 1 reads every file with plain system calls.
     * 0 (default): small files are opened, read and closed in batches
     * through io_uring where the kernel offers it (the results are the
     * same; see docs/scanning.md). */
    int                 plain_io;
    /* Added for bounded reads: files larger than this many bytes are not
     * read; their artifact is unusable (DSR_REASON_UNREADABLE, the detail
     * names the cap).  0: DSR_SCAN_MAX_FILE_SIZE_DEFAULT. */
    uint64_t            max_file_size;
    /* Added for exclusion rules: n_excludes patterns in gitignore syntax
     * (as one line of a .dossierignore; '!' re-includes), consulted before
     * the ignore files and deciding whenever one matches.  Besides them the
     * scan reads a `.dossierignore` in the root and in every folder it
     * enters (docs/scanning.md "Excluding files").  Excluded files are not
     * opened, hashed or listed in the result; excluded folders are not
     * entered.  A bad pattern is DSR_EINVAL naming it. */
    const char *const  *excludes;
    size_t              n_excludes;
    /* Added for the profiles (docs/interop.md): DSR_PROFILE_WP04 (0, the
     * default) hashes raw bytes and checks UTF-8 on text extensions only.
     * DSR_PROFILE_SPEC_KITTY_3 checks every file for UTF-8 and hashes WP
     * files (WP##*.md in any folder) as the canonical JSON of their static
     * frontmatter projection; a WP file whose frontmatter fails spec-kitty's
     * schema is unusable (DSR_REASON_INVALID_FORMAT, "wp frontmatter
     * invalid: ..."). */
    dsr_profile         profile;
    /* Added for `dossier watch` (a run over the changed paths only):
     * n_only_paths relative paths ('/' separated, "" for the root), each
     * standing for itself and everything below it; a path that no longer
     * exists is fine (nothing is found there).  The walk then lists only
     * the folders on the way to them and lists, stats and reads only what
     * lies at or below them; every other artifact, warning and excluded
     * entry is taken over from keep, the result of an earlier scan of the
     * same root with the same options (manifest, step, excludes, profile),
     * which the tree is known not to have changed outside these paths.
     * Taken-over artifacts count as DSR_CACHE_STAT.  keep is consumed: its
     * contents move into the new result and it is left empty (still to be
     * freed with dsr_scan_result_free), whether the scan succeeds or not.
     * Both set or both unset; keep must not have been through
     * dsr_scan_result_drop_present.  The result is the one a full scan
     * would give, if the premise holds. */
    const char *const  *only_paths;
    size_t              n_only_paths;
    struct dsr_scan_result *keep;
    /* Added for large files: 1 computes no XXH3-128 fingerprint (every
     * artifact's xxh3_high/low is 0), only SHA-256 -- for callers that keep
     * no incremental cache, where the fingerprint is never compared
     * (`dossier index`).  Must be 0 with cache_lookup (DSR_EINVAL). */
    int                 no_xxh3;
    /* Version 2, for recording while the scan runs: called on the calling
     * thread, during the walk and after it, with artifacts of the result
     * as soon as their files are hashed and every file still to come sorts
     * above them: r->artifacts[from, to), in byte order of relative_path,
     * each artifact once, the ranges ascending.  Of r itself only
     * feature_slug, has_manifest, profile and started_ns are final.  The
     * artifacts may move between calls (the array grows): use them during
     * the call.  The absent required artifacts that no file matched are
     * known only at the end: they are never handed on (dsr_scan's result
     * holds them).  Not called for a path-limited scan (keep).  Return 0,
     * or a negative DSR_E* code to stop the scan with it.  NULL: not
     * called. */
    int               (*on_artifacts)(void *ctx, const struct dsr_scan_result *r,
                                      size_t from, size_t to);
    void               *on_artifacts_ctx;
} dsr_scan_opts;

/* Initialise with DSR_SCAN_OPTS_INIT and then set fields, or set .version
 * first in a designated initialiser: { .version = DSR_SCAN_OPTS_VERSION, .root = d }. */
#ifdef __cplusplus
#define DSR_SCAN_OPTS_INIT { DSR_SCAN_OPTS_VERSION }
#else
#define DSR_SCAN_OPTS_INIT { .version = DSR_SCAN_OPTS_VERSION }
#endif

/* The default per-file size cap: 64 GiB.  Far above any artifact a mission
 * folder is meant to hold (documents, code, datasets and model shards of a
 * few GiB), while bounding the time one runaway file can take (hashing runs
 * at about 1 GiB/s per core, so a minute or so). */
#define DSR_SCAN_MAX_FILE_SIZE_DEFAULT (UINT64_C(64) << 30)

typedef struct dsr_scan_result {
    char          *feature_slug;
    int            has_manifest;
    dsr_artifact  *artifacts;          /* sorted by relative_path */
    size_t         n_artifacts;
    /* counts */
    size_t n_present, n_required, n_required_present, n_required_missing,
           n_optional, n_optional_present, n_optional_absent;
    uint64_t       bytes_hashed;
    dsr_scan_warning *warnings;        /* skipped entries, sorted by path */
    size_t         n_warnings;
    /* Added for incremental rescans: CLOCK_REALTIME (ns) when the walk
     * started; files whose mtime or ctime is not safely before it are
     * "racy" for a cache (see dsr_scan_cached.racy). */
    int64_t        started_ns;
    size_t         n_cache_stat, n_cache_xxh3, n_cache_stale;
    /* Added for exclusion rules: entries an exclusion rule kept out of the
     * walk, an excluded folder counting once (its content is not listed). */
    size_t         n_excluded;
    /* Added for the profiles: the profile the hashes follow (opts->profile)
     * and how many WP files were hashed by their frontmatter projection. */
    dsr_profile    profile;
    size_t         n_wp_projected;
    /* Added for `dossier watch`: artifacts with linked set, and 1 when the
     * result was assembled from a keep (dsr_scan_opts.only_paths). */
    size_t         n_linked;
    int            paths_only;
} dsr_scan_result;

/* Run a scan.  Returns 0 (even when artifacts are missing: see the result),
 * DSR_EINVAL (bad options, a bad exclude pattern, an ignore file that is
 * not a regular file or does not parse: "FILE:LINE: what"), DSR_EIO (the
 * root itself cannot be read, or lies on a pseudo-filesystem such as /proc
 * or /sys, whose files are not artifacts and may be endless; an ignore file
 * that cannot be read) or DSR_ENOMEM. */
DSR_API int  dsr_scan(const dsr_scan_opts *opts, dsr_scan_result **out, dsr_err *err);
DSR_API void dsr_scan_result_free(dsr_scan_result *r);   /* NULL is fine */

/* Added for large scans: free the present artifacts of r (their strings and
 * array slots), keeping the absent or unusable ones in order and every count
 * and field of r unchanged (r can then no longer be a dsr_scan_opts.keep)
 * - for callers that have recorded the artifacts and
 * only need a summary afterwards (`dossier scan` does this before bringing
 * the projections up to date, to bound peak memory). */
DSR_API void dsr_scan_result_drop_present(dsr_scan_result *r);

/* Added for incremental rescans: the feature slug dsr_scan will use for
 * opts (opts->feature_slug, else the basename of the resolved root), so a
 * caller can open that feature's cache before scanning.  *out is malloc'd.
 * Returns 0, DSR_EINVAL, DSR_EIO (root cannot be resolved) or DSR_ENOMEM. */
DSR_API int  dsr_scan_feature_slug(const dsr_scan_opts *opts, char **out, dsr_err *err);

/* Added by the scanner: "unknown" without a manifest, "incomplete" when a
 * required artifact is missing or unusable, else "complete" (static string). */
DSR_API const char *dsr_scan_completeness(const dsr_scan_result *r);

/* The git branch checked out for the repository containing dir (walking up
 * to the nearest .git), written to out.  Returns 0, or DSR_ENOTFOUND when dir
 * is not in a git work tree or HEAD is detached. */
DSR_API int  dsr_git_branch(const char *dir, char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif

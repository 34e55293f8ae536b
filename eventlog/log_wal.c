/*
 * log_wal.c - check RocksDB's write-ahead log files before a writer opens
 * the log, and find where one is damaged.
 *
 * Why: RocksDB replays the WAL when a writer opens, and in point-in-time
 * recovery mode it silently stops at the first damaged record, so the
 * committed events after it vanish and their sequences are handed out again.
 * Even kAbsoluteConsistency misses a zeroed record header: RocksDB's reader
 * takes a header of type 0 and length 0 for preallocated space and skips the
 * rest of the 32 KiB block without a word (tests/e2e/wal_damage.sh).  So a
 * writer reads every WAL itself first and refuses a damaged one, naming the
 * file and offset, before RocksDB has replayed (and then deleted) anything.
 *
 * The format (RocksDB db/log_format.h, unchanged since LevelDB): a file is
 * a sequence of 32 KiB blocks; a block holds physical records and, when
 * fewer bytes than a header are left, zero padding.  A record is
 *     crc32c (4, masked) | length (2, LE) | type (1) | [log number (4)] | payload
 * the log number only in the "recyclable" types 5..8.  The checksum covers
 * the type byte, the log number if any, and the payload.  Types: 1 full,
 * 2 first, 3 middle, 4 last (5..8 the same, recyclable), 9 set compression
 * type; a logical record is one full record or first, middle..., last.
 *
 * What is tolerated, as RocksDB's kTolerateCorruptedTailRecords does, is a
 * torn tail, the only damage a crash mid-write leaves: a header or a record
 * cut short by the end of the file, a logical record whose last fragment
 * was never written, and zeros from some point to the end of the file.
 * Everything else is damage: a checksum mismatch (even in the last record:
 * a write is cut short, never scrambled), a record crossing its block, an
 * unknown type, fragments out of order, a zeroed header followed by data.
 */
#include "log.h"
#include "dir_lock.h"
#include "fs_room.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_BLOCK       32768
#define WAL_HEADER      7
#define WAL_RECYCLABLE_HEADER 11
#define WAL_MASK_DELTA  0xa282ead8u

/* RocksDB's crc32c::Unmask. */
static uint32_t unmask(uint32_t m)
{
    uint32_t r = m - WAL_MASK_DELTA;
    return (r >> 17) | (r << 15);
}

static uint32_t get32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* crc32c of the type byte and the rest of the header's checked part and the
 * payload (ISA-L's crc32_iscsi leaves the final inversion to the caller). */
static uint32_t record_crc(const unsigned char *hdr, size_t hsize, const unsigned char *payload,
                           size_t len)
{
    uint32_t c = crc32_iscsi((unsigned char *)hdr + 6, (int)(hsize - 6), 0xffffffffu);
    c = crc32_iscsi((unsigned char *)payload, (int)len, c);
    return ~c;
}

/* 1 when every byte of fd from off to the end is zero, 0 when not, -1 on a
 * read error. */
static int zero_to_end(int fd, uint64_t off)
{
    unsigned char buf[WAL_BLOCK];
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);
        if (n < 0)
            return errno == EINTR ? zero_to_end(fd, off) : -1;
        if (n == 0)
            return 1;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i])
                return 0;
        off += (uint64_t)n;
    }
}

static void damaged(log_wal_state *st, const char *name, uint64_t off, const char *what)
{
    st->damaged = 1;
    snprintf(st->file, sizeof st->file, "%s", name);
    st->offset = off;
    snprintf(st->what, sizeof st->what, "%s", what);
}

/* Check one WAL file (number num, open as fd); sets st on damage or a torn
 * tail.  0, or a negative code when it cannot be read. */
static int check_file(const char *dir, const char *name, uint64_t num, int fd,
                      log_wal_state *st, dsr_err *err)
{
    unsigned char *block = malloc(WAL_BLOCK);
    if (!block)
        return dsr_err_set(err, DSR_ENOMEM, "%s/%s: out of memory", dir, name);
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0) {
        rc = dsr_err_errno(err, DSR_EIO, errno, "%s/%s: cannot stat", dir, name);
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size;
    st->bytes += size;
    int in_frag = 0;
    uint64_t frag_start = 0, tail = 0;
    for (uint64_t boff = 0; boff < size; boff += WAL_BLOCK) {
        size_t blen = 0;
        while (blen < WAL_BLOCK && boff + blen < size) {
            ssize_t n = pread(fd, block + blen, WAL_BLOCK - blen, (off_t)(boff + blen));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = dsr_err_errno(err, DSR_EIO, n < 0 ? errno : EIO,
                                   "%s/%s: cannot read at offset %llu", dir, name,
                                   (unsigned long long)(boff + blen));
                goto out;
            }
            blen += (size_t)n;
        }
        size_t pos = 0;
        while (pos < blen) {
            uint64_t off = boff + pos;
            const unsigned char *h = block + pos;
            if (blen - pos < WAL_HEADER) {
                if (blen == WAL_BLOCK)
                    break;                          /* block trailer: padding */
                tail = off;                         /* header cut short */
                goto torn;
            }
            size_t len = (size_t)h[4] | (size_t)h[5] << 8;
            unsigned type = h[6];
            if (type == 0 && len == 0) {
                int z = zero_to_end(fd, off);
                if (z < 0) {
                    rc = dsr_err_errno(err, DSR_EIO, errno, "%s/%s: cannot read", dir, name);
                    goto out;
                }
                if (z) {
                    tail = off;                     /* zeros to the end */
                    goto torn;
                }
                damaged(st, name, off, "a zeroed record header followed by data");
                goto out;
            }
            if (type > 9) {
                damaged(st, name, off, "a record of unknown type");
                goto out;
            }
            size_t hsize = type >= 5 && type <= 8 ? WAL_RECYCLABLE_HEADER : WAL_HEADER;
            if (pos + hsize + len > blen) {
                if (boff + pos + hsize + len > size && blen < WAL_BLOCK) {
                    tail = off;                     /* record cut short by the end */
                    goto torn;
                }
                damaged(st, name, off, "a record whose length crosses its block");
                goto out;
            }
            if (record_crc(h, hsize, h + hsize, len) != unmask(get32le(h))) {
                damaged(st, name, off, "a record failing its checksum");
                goto out;
            }
            if (hsize == WAL_RECYCLABLE_HEADER && get32le(h + 7) != (uint32_t)num)
                goto out;   /* a recycled file's old contents: the log ends here */
            unsigned kind = type >= 5 && type <= 8 ? type - 4 : type;
            if ((kind == 1 || kind == 2) && in_frag) {
                damaged(st, name, frag_start, "a fragmented record without its end");
                goto out;
            }
            if ((kind == 3 || kind == 4) && !in_frag) {
                damaged(st, name, off, "a record fragment without its start");
                goto out;
            }
            if (kind == 2)
                frag_start = off;
            if (kind >= 1 && kind <= 4)
                in_frag = kind == 2 || kind == 3;
            st->records += kind == 1 || kind == 4;
            pos += hsize + len;
        }
    }
    if (!in_frag)
        goto out;
    tail = frag_start;      /* the last logical record was never finished */
torn:
    /* A logical record left unfinished is part of the tail too. */
    st->torn = 1;
    snprintf(st->torn_file, sizeof st->torn_file, "%s", name);
    st->torn_offset = in_frag && frag_start < tail ? frag_start : tail;
out:
    free(block);
    return rc;
}

/* WAL file names: decimal digits and ".log". */
static int wal_number(const char *name, uint64_t *num)
{
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".log"))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *num = v;
    return 1;
}

typedef struct wal_file {
    uint64_t num;
    char     name[64];
} wal_file;

static int cmp_wal(const void *a, const void *b)
{
    const wal_file *x = a, *y = b;
    return x->num < y->num ? -1 : x->num > y->num;
}

int log_wal_check(const char *dir, log_wal_state *st, dsr_err *err)
{
    memset(st, 0, sizeof *st);
    DIR *d = opendir(dir);
    if (!d)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot list the log folder", dir);
    wal_file *files = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t num;
        if (!wal_number(de->d_name, &num) || strlen(de->d_name) >= sizeof files->name)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            wal_file *p = realloc(files, nc * sizeof *p);
            if (!p) {
                rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
                break;
            }
            files = p;
            cap = nc;
        }
        files[n].num = num;
        strcpy(files[n++].name, de->d_name);
    }
    int dfd = dirfd(d);
    if (!rc && n > 1)
        qsort(files, n, sizeof *files, cmp_wal);
    /* Oldest first: the first damage RocksDB's replay would meet. */
    for (size_t i = 0; i < n && !rc && !st->damaged; i++) {
        int fd = openat(dfd, files[i].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;       /* deleted since the listing (a flush) */
            rc = dsr_err_errno(err, DSR_EIO, errno, "%s/%s: cannot open", dir, files[i].name);
            break;
        }
        st->files++;
        rc = check_file(dir, files[i].name, files[i].num, fd, st, err);
        close(fd);
    }
    closedir(d);
    free(files);
    return rc;
}

const log_wal_state *log_wal(const dsr_log *log) { return &log->wal; }

/* ---- side stores ----------------------------------------------------------- */
/* The delivery state and the publish cursor store are RocksDB databases of
 * their own in folders of the log.  Their writes are as small and frequent
 * as the log's (a cursor per delivery round), and a damaged WAL record does
 * to them what it does to the log: RocksDB's point-in-time replay stops
 * there, so every cursor committed after it rolls back and the events it
 * covered are sent again -- 30 duplicate POSTs with the same webhook-id
 * after 16 zero bytes.  The same check before every open turns that into a
 * refusal; repair replays past the damaged record instead. */

int log_side_wal_check(const char *dir, const char *what, const char *logdir, log_wal_state *st,
                       dsr_err *err)
{
    int rc = log_wal_check(dir, st, err);
    if (rc || !st->damaged)
        return rc;
    return dsr_err_set(err, DSR_ECORRUPT,
                       "%s/%s: the write-ahead log of the %s is damaged at offset %llu (%s); "
                       "what was committed in and after that record would be rolled back "
                       "(and sent again), so it is not opened (nothing was changed): run "
                       "`dossier verify --repair --log %s` to keep the records after it",
                       dir, st->file, what, (unsigned long long)st->offset, st->what, logdir);
}

/* The write batches (logical records) of a WAL file from offset from on,
 * in order.  from need not be a record boundary (it is just past a damaged
 * record): where no record with a valid header and checksum starts, step
 * one byte and try again -- a false match is a 2^-32 chance per position;
 * the same after any further damage.  A fragmented record whose start was
 * lost is dropped. */
typedef struct wal_batches {
    char  **p;
    size_t *len;
    size_t  n, cap;
} wal_batches;

static int batches_push(wal_batches *b, const unsigned char *p, size_t len)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        char **np = realloc(b->p, nc * sizeof *np);
        if (!np)
            return -1;
        b->p = np;
        size_t *nl = realloc(b->len, nc * sizeof *nl);
        if (!nl)
            return -1;
        b->len = nl;
        b->cap = nc;
    }
    if (!(b->p[b->n] = malloc(len ? len : 1)))
        return -1;
    memcpy(b->p[b->n], p, len);
    b->len[b->n++] = len;
    return 0;
}

static void batches_free(wal_batches *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->p[i]);
    free(b->p);
    free(b->len);
}

/* Side stores are small (a few keys per endpoint); a WAL past this is not
 * one of theirs. */
#define SIDE_WAL_MAX (UINT64_C(256) << 20)

static int collect_batches(const char *dir, const char *name, uint64_t from,
                           wal_batches *out, dsr_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : dsr_err_errno(err, DSR_EIO, errno, "%s: cannot open", path);
    struct stat sb;
    unsigned char *data = NULL, *frag = NULL;
    size_t flen = 0, fcap = 0;
    int rc = 0;
    if (fstat(fd, &sb) != 0) {
        rc = dsr_err_errno(err, DSR_EIO, errno, "%s: cannot stat", path);
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size > SIDE_WAL_MAX) {
        rc = dsr_err_set(err, DSR_ECORRUPT, "%s: %llu bytes, too large for the write-ahead "
                         "log of a side store", path, (unsigned long long)size);
        goto out;
    }
    if (!(data = malloc(size ? size : 1))) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (uint64_t got = 0; got < size;) {
        ssize_t n = pread(fd, data + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = dsr_err_errno(err, DSR_EIO, n < 0 ? errno : EIO, "%s: cannot read", path);
            goto out;
        }
        got += (uint64_t)n;
    }
    int in_frag = 0;
    for (uint64_t pos = from; pos + WAL_HEADER <= size;) {
        uint64_t bpos = pos % WAL_BLOCK;
        if (WAL_BLOCK - bpos < WAL_HEADER) {
            pos += WAL_BLOCK - bpos;            /* block trailer */
            continue;
        }
        const unsigned char *h = data + pos;
        size_t len = (size_t)h[4] | (size_t)h[5] << 8;
        unsigned type = h[6];
        if (type < 1 || type > 4 || bpos + WAL_HEADER + len > WAL_BLOCK ||
            pos + WAL_HEADER + len > size ||
            record_crc(h, WAL_HEADER, h + WAL_HEADER, len) != unmask(get32le(h))) {
            in_frag = 0;
            pos++;
            continue;
        }
        const unsigned char *p = h + WAL_HEADER;
        if (type == 2 || (type >= 3 && in_frag)) {
            if (type == 2)
                flen = 0;
            if (flen + len > fcap) {
                size_t nc = (flen + len) * 2;
                unsigned char *nf = realloc(frag, nc);
                if (!nf) {
                    rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
                    goto out;
                }
                frag = nf;
                fcap = nc;
            }
            memcpy(frag + flen, p, len);
            flen += len;
            in_frag = type != 4;
            if (type == 4 && batches_push(out, frag, flen)) {
                rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
                goto out;
            }
        } else if (type == 1) {
            in_frag = 0;
            if (batches_push(out, p, len)) {
                rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", path);
                goto out;
            }
        }
        pos += WAL_HEADER + len;
    }
out:
    free(frag);
    free(data);
    close(fd);
    return rc;
}

/* The WAL files of dir from the damaged one (st->file) on, oldest first,
 * collected after the damage. */
static int collect_after_damage(const char *dir, const log_wal_state *st, wal_batches *out,
                                dsr_err *err)
{
    uint64_t dnum = 0;
    int ok = wal_number(st->file, &dnum);
    assert(ok);
    (void)ok;
    DIR *d = opendir(dir);
    if (!d)
        return dsr_err_errno(err, DSR_EIO, errno, "%s: cannot list", dir);
    uint64_t *nums = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) && !rc) {
        uint64_t num;
        if (!wal_number(de->d_name, &num) || num <= dnum)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            uint64_t *p = realloc(nums, nc * sizeof *p);
            if (!p) {
                rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
                break;
            }
            nums = p;
            cap = nc;
        }
        nums[n++] = num;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++)              /* a handful: insertion sort */
        for (size_t j = i; j > 0 && nums[j - 1] > nums[j]; j--) {
            uint64_t t = nums[j];
            nums[j] = nums[j - 1];
            nums[j - 1] = t;
        }
    if (!rc)
        rc = collect_batches(dir, st->file, st->offset + 1, out, err);
    for (size_t i = 0; i < n && !rc; i++) {
        char name[32];
        snprintf(name, sizeof name, "%06llu.log", (unsigned long long)nums[i]);
        rc = collect_batches(dir, name, 0, out, err);
    }
    free(nums);
    return rc;
}

int log_side_repair(const char *dir, const char *what, log_wal_state *st, uint64_t *kept,
                    dsr_err *err)
{
    *kept = 0;
    int rc = log_wal_check(dir, st, err);
    if (rc || !st->damaged)
        return rc;
    int lock_fd = -1;
    if ((rc = dir_lock(dir, &lock_fd, err)) == DSR_ELOCKED)
        return dsr_err_set(err, DSR_ELOCKED, "%s: the %s is in use by another process; "
                           "run the repair again when it ends", dir, what);
    if (rc)
        return rc;
    /* 1. Under the lock, the write batches committed after the damaged
     *    record, read before RocksDB's open replays and drops the WAL. */
    wal_batches b = { 0 };
    rocksdb_options_t *o = NULL;
    rocksdb_writeoptions_t *wo = NULL;
    rocksdb_t *db = NULL;
    if ((rc = log_wal_check(dir, st, err)) || !st->damaged ||
        (rc = collect_after_damage(dir, st, &b, err)))
        goto out;
    if ((rc = fs_room_check(dir, FS_ROOM_OPEN_BYTES, FS_ROOM_OPEN_BYTES + 2 * st->bytes, what,
                            err)))
        goto out;
    o = rocksdb_options_create();
    wo = rocksdb_writeoptions_create();
    if (!o || !wo) {
        rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    rocksdb_options_set_create_if_missing(o, 0);
    rocksdb_options_set_info_log_level(o, 4 /* FATAL: see log_options.c */);
    rocksdb_options_set_keep_log_file_num(o, 2);
    rocksdb_writeoptions_set_sync(wo, 1);
    /* 2. Open replaying what RocksDB can read: on a checksum failure its
     *    reader drops the rest of the 32 KiB block, later records included
     *    (a repair that stopped here rolled the cursors back). */
    rocksdb_options_set_wal_recovery_mode(o, 3 /* kSkipAnyCorruptedRecords */);
    char *e = NULL;
    db = rocksdb_open(o, dir, &e);
    if (e) {
        db = NULL;
        rc = log_rdb_fail(err, e, "%s: cannot repair the %s", dir, what);
        goto out;
    }
    /* 3. Apply every batch after the damage again, in commit order: each
     *    holds puts and deletes of whole values, so replaying a suffix of
     *    the history over a state that holds part of it ends in the state
     *    after the last batch, for every key the suffix touches. */
    for (size_t i = 0; i < b.n && !rc; i++) {
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create_from(b.p[i], b.len[i]);
        if (!wb) {
            rc = dsr_err_set(err, DSR_ENOMEM, "%s: out of memory", dir);
            break;
        }
        rocksdb_write(db, wo, wb, &e);
        rocksdb_writebatch_destroy(wb);
        if (e)
            rc = log_rdb_fail(err, e, "%s: cannot apply a record kept from the damaged "
                              "write-ahead log of the %s", dir, what);
    }
    if (!rc) {
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        if (fo) {
            rocksdb_flushoptions_set_wait(fo, 1);
            rocksdb_flush(db, fo, &e);
            rocksdb_flushoptions_destroy(fo);
            if (e)
                rc = log_rdb_fail(err, e, "%s: cannot flush the repaired %s", dir, what);
        }
    }
    *kept = b.n;
out:
    if (db)
        rocksdb_close(db);
    if (o)
        rocksdb_options_destroy(o);
    if (wo)
        rocksdb_writeoptions_destroy(wo);
    batches_free(&b);
    close(lock_fd);
    if (rc || !st->damaged)
        return rc;
    /* 4. The damaged WAL is gone with the open (its records are in tables). */
    log_wal_state after;
    if ((rc = log_wal_check(dir, &after, err)))
        return rc;
    if (after.damaged)
        return dsr_err_set(err, DSR_ECORRUPT, "%s/%s: the write-ahead log of the %s is still "
                           "damaged at offset %llu after the repair", dir, after.file, what,
                           (unsigned long long)after.offset);
    return 0;
}

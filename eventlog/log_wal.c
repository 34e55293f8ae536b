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

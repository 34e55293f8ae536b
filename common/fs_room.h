/*
 * fs_room.h - is there room to open a RocksDB database as its writer?
 *
 * Debian's librocksdb keeps its assertions: when one write to a file fails
 * (a full disk, a file size limit) the next write to the same file aborts
 * the process (WritableFileWriter::AssertFalseAndGetStatusForPrevError).
 * An open writes several small files in a row -- the info LOG header, which
 * no log level suppresses, OPTIONS, a MANIFEST, a WAL -- so on a full disk
 * the open itself died with SIGABRT.  Checking for room first turns that
 * into a clean error; writes after the open fail cleanly (the database
 * stops accepting writes after the first failure).
 */
#ifndef DOSSIER_FS_ROOM_H
#define DOSSIER_FS_ROOM_H

#include <stdint.h>

#include "dossier/error.h"

/* What an open of a small database writes before it can fail cleanly, with
 * a wide margin. */
#define FS_ROOM_OPEN_BYTES (UINT64_C(1) << 20)

/* 0 when the filesystem of dir has at least need bytes free for this user
 * and the process may write files of file_need bytes (RLIMIT_FSIZE limits
 * each file, not their sum); else DSR_EIO with "<what> <dir>: No space left
 * on device ..." or "... File too large ...".  A statvfs failure is not an
 * error (the open will tell).  Invariant: file_need <= need. */
int fs_room_check(const char *dir, uint64_t file_need, uint64_t need, const char *what,
                  dsr_err *err);

#endif

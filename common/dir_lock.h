/*
 * dir_lock.h - an exclusive flock() on a folder, for the writers of the
 * RocksDB databases dossier keeps (the event log, the delivery state, the
 * publish cursors).
 *
 * RocksDB takes its LOCK file only after it has rotated its info log
 * (LOG -> LOG.old.<time>, deleting the oldest), so two writers opening one
 * database at the same moment could fail each other's open with "IO error:
 * No such file or directory: while unlink() file: LOG.old..." instead of one
 * of them finding it locked (7 rounds in 150 of four racing imports).  A
 * writer that locks the folder first never gets that far.  The lock belongs to
 * the open file, so it goes with the process, even after SIGKILL.
 */
#ifndef DOSSIER_DIR_LOCK_H
#define DOSSIER_DIR_LOCK_H

#include "dossier/error.h"

/* Lock the existing folder dir.  0 and *fd (close it to unlock);
 * DSR_ELOCKED when another holder has it (err untouched: the caller says
 * what is running); DSR_EIO with err set otherwise. */
int dir_lock(const char *dir, int *fd, dsr_err *err);

#endif

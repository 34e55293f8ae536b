/*
 * beneath.h - open a path below a directory descriptor without following
 * any symlink on the way (private to the scanner; issue 17 item 4).
 *
 * The walker checks each symlink it follows (its target must lie inside
 * the mission) and hands the workers the target's symlink-free path below
 * the root.  Between that check and the open, any folder on that path may
 * be swapped for a link to somewhere else.  O_NOFOLLOW only guards the last
 * component, so every open of a mission file by a path of more than one
 * component goes through beneath_open: the kernel's openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where it exists (Linux 5.6+), else
 * one openat(O_NOFOLLOW) per component.  A swapped path then fails with
 * ELOOP instead of leading out of the mission.
 */
#ifndef DOSSIER_BENEATH_H
#define DOSSIER_BENEATH_H

struct open_how;

/* openat(dirfd, path, flags | O_NOFOLLOW), except that no component of
 * path may be a symlink (ELOOP) and path may not leave dirfd (an absolute
 * path, or ".." above it: EXDEV; the fallback refuses every "..").  Returns
 * the descriptor, or -1 with errno set.  Thread-safe. */
int beneath_open(int dirfd, const char *path, int flags);

/* The fallback alone: one openat(O_NOFOLLOW) per component (also when the
 * kernel has openat2; for tests of the fallback). */
int beneath_open_by_components(int dirfd, const char *path, int flags);

/* 1 when the kernel has openat2() (probed once, thread-safe), so that
 * beneath_how's open_how may be given to io_uring's IORING_OP_OPENAT2. */
int beneath_have_openat2(void);

/* Fill how for an open of flags with beneath_open's rules. */
void beneath_how(struct open_how *how, int flags);

#endif

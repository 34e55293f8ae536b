/*
 * git_branch.c - finds the branch a mission folder is checked out on, by
 * reading .git/HEAD directly (no git process).  Used as the default
 * target_branch of a scan and of accepted baselines.
 */
#include "dossier/scan.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads the first line of path into out; 0 or -1. */
static int read_line(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(out, (int)n, f);
    fclose(f);
    if (!ok)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* HEAD of a git dir: "ref: refs/heads/<branch>" -> branch. */
static int branch_from_head(const char *gitdir, char *out, size_t n)
{
    char path[PATH_MAX], line[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/HEAD", gitdir) >= (int)sizeof path)
        return DSR_ENOTFOUND;
    if (read_line(path, line, sizeof line))
        return DSR_ENOTFOUND;
    const char *prefix = "ref: refs/heads/";
    if (strncmp(line, prefix, strlen(prefix)) != 0)
        return DSR_ENOTFOUND; /* detached HEAD */
    if (snprintf(out, n, "%s", line + strlen(prefix)) >= (int)n)
        return DSR_ENOTFOUND;
    return 0;
}

int dsr_git_branch(const char *dir, char *out, size_t n)
{
    char cur[PATH_MAX];
    if (!realpath(dir, cur))
        return DSR_ENOTFOUND;
    for (;;) {
        char dotgit[PATH_MAX + 8];
        struct stat st;
        snprintf(dotgit, sizeof dotgit, "%s/.git", strcmp(cur, "/") ? cur : "");
        if (stat(dotgit, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                return branch_from_head(dotgit, out, n);
            /* a worktree or submodule: ".git" is a file "gitdir: <path>" */
            char line[PATH_MAX];
            if (read_line(dotgit, line, sizeof line) || strncmp(line, "gitdir: ", 8))
                return DSR_ENOTFOUND;
            const char *gd = line + 8;
            char abs[PATH_MAX * 2];
            if (gd[0] == '/')
                snprintf(abs, sizeof abs, "%s", gd);
            else
                snprintf(abs, sizeof abs, "%s/%s", cur, gd);
            return branch_from_head(abs, out, n);
        }
        char *slash = strrchr(cur, '/');
        if (!slash || cur[1] == '\0')
            return DSR_ENOTFOUND;
        if (slash == cur)
            cur[1] = '\0';
        else
            *slash = '\0';
    }
}

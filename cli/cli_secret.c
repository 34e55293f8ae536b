/*
 * cli_secret.c - secrets given by file or environment instead of argv.
 *
 * Anything on the command line is visible to every user through ps and
 * /proc/PID/cmdline, so a NATS URL with a password (nats://alice:pw@host) or
 * a webhook URL with a token can be given as a file (--nats-file,
 * --url-file, like --secret-file) or, for publish and pull, in
 * $DOSSIER_NATS_URL.  Files holding secrets are opened non-blocking and must
 * be regular files (a FIFO would hang the command, issue 17 item 10), and a
 * file that group or others may read gets a warning.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A secret-bearing value is a URL or a URL list: 64 KiB is far above any. */
#define SECRET_LINE_MAX 65536

static void perms_warn(const char *cmd, const char *what, const char *path, mode_t mode)
{
    if (mode & (S_IRWXG | S_IRWXO))
        cli_warn(cmd, "warning: %s %s is readable or writable by %s (mode %04o): "
                 "chmod 600 %s", what, cli_safe(path),
                 (mode & S_IRWXO) ? "other users" : "its group", (unsigned)(mode & 07777),
                 cli_safe(path));
}

void cli_secret_perms(const char *cmd, const char *what, const char *path)
{
    struct stat sb;
    if (path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        perms_warn(cmd, what, path, sb.st_mode);
}

int cli_secret_read_line(const char *cmd, const char *what, const char *path, char **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        cli_error(cmd, "%s %s: %s", what, cli_safe(path), strerror(errno));
        return DSR_EXIT_USAGE;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cli_error(cmd, "%s %s is not a regular file", what, cli_safe(path));
        close(fd);
        return DSR_EXIT_USAGE;
    }
    perms_warn(cmd, what, path, sb.st_mode);
    char *buf = malloc(SECRET_LINE_MAX + 1);
    if (!buf) {
        close(fd);
        cli_error(cmd, "%s %s: out of memory", what, cli_safe(path));
        return DSR_EXIT_IO;
    }
    size_t n = 0;
    while (n < SECRET_LINE_MAX) {
        ssize_t r = read(fd, buf + n, SECRET_LINE_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            cli_error(cmd, "%s %s: %s", what, cli_safe(path), strerror(e));
            return DSR_EXIT_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    /* The first line, without surrounding blanks. */
    char *s = buf;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t len = strcspn(s, "\r\n");
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len) {
        free(buf);
        cli_error(cmd, "%s %s is empty", what, cli_safe(path));
        return DSR_EXIT_USAGE;
    }
    memmove(buf, s, len);
    buf[len] = '\0';
    *out = buf;
    return DSR_EXIT_OK;
}

int cli_nats_url(const char *cmd, const char **url, const char *url_file, char **owned)
{
    *owned = NULL;
    if (*url && url_file)
        return cli_usage(cmd, "--nats and --nats-file are mutually exclusive");
    if (url_file) {
        int rc = cli_secret_read_line(cmd, "NATS URL file", url_file, owned);
        if (rc)
            return rc;
        *url = *owned;
        return DSR_EXIT_OK;
    }
    if (!*url) {
        const char *env = getenv("DOSSIER_NATS_URL");
        if (env && *env)
            *url = env;
    }
    if (!*url)
        return cli_usage(cmd, "--nats URL is required (or --nats-file FILE, or "
                         "$DOSSIER_NATS_URL)");
    return DSR_EXIT_OK;
}

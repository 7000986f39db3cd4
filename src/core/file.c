/* SPDX-License-Identifier: MIT */
/* Bounded whole-file reads (see sb/file.h). */
#include "sb/file.h"

#include "sb/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int sb_file_read(const char *path, size_t max, char **out, size_t *len, struct sb_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sb_error_set(err, SB_ENOTFOUND, "%s: not found", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sb_error_set(err, SB_ENOTFOUND, "%s: not a regular file", path);
    }
    if (st.st_size < 0 || (size_t)st.st_size > max) {
        close(fd);
        return sb_error_set(err, SB_ETOOBIG, "%s: larger than %zu bytes", path, max);
    }
    size_t n = (size_t)st.st_size, off = 0;
    char *buf = sb_malloc(n ? n : 1);
    while (off < n) {
        ssize_t got = read(fd, buf + off, n - off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        off += (size_t)got;
    }
    close(fd);
    if (off != n) {
        free(buf);
        return sb_error_set(err, SB_EIO, "%s: could not be read", path);
    }
    *out = buf;
    *len = n;
    return 0;
}

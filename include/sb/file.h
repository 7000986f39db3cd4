/* SPDX-License-Identifier: MIT */
/* Reading whole files with a size limit (stored media, uploads kept on disk). */
#ifndef SB_FILE_H
#define SB_FILE_H

#include "sb/error.h"

#include <stddef.h>

/*
 * Reads the regular file at `path` into a new buffer (*out, free with free(); *len its size).
 * SB_ENOTFOUND when it does not exist or is not a regular file, SB_ETOOBIG when larger than
 * `max` bytes, SB_EIO when it cannot be read whole. On failure *out is untouched.
 */
int sb_file_read(const char *path, size_t max, char **out, size_t *len, struct sb_error *err);

#endif

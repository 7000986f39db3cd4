/* SPDX-License-Identifier: MIT */
/*
 * A bounded parser of multipart/form-data request bodies (RFC 7578 over RFC 2046), written for
 * the attachment upload: the boundary from the Content-Type header, each part's headers
 * (Content-Disposition with name and filename, Content-Type), the part bodies. Nothing is
 * copied: parts point into the body. Every count and size has a limit, and a malformed body
 * gives SB_EPARSE (SB_ETOOBIG for a broken limit) with a message naming the part and header at
 * fault, fit to be shown to the API client.
 */
#ifndef SB_HTTP_MULTIPART_H
#define SB_HTTP_MULTIPART_H

#include "sb/error.h"

#include <stddef.h>

#define SB_MP_MAX_BOUNDARY 70 /* RFC 2046 */
#define SB_MP_NAME_MAX 64     /* longest field name kept */
#define SB_MP_FILENAME_MAX 256
#define SB_MP_TYPE_MAX 128

struct sb_mp_part {
    char name[SB_MP_NAME_MAX + 1];         /* the form field's name (required) */
    char filename[SB_MP_FILENAME_MAX + 1]; /* the client's file name, "" when none */
    int has_filename;                      /* 1 when the part carried a filename parameter */
    char content_type[SB_MP_TYPE_MAX + 1]; /* as sent ("" when none): informative only */
    const char *data;                      /* borrowed: points into the parsed body */
    size_t len;
};

struct sb_mp_limits {
    size_t max_parts;        /* 0 = 16 */
    size_t max_file_bytes;   /* largest part with a filename; 0 = 10 MiB */
    size_t max_field_bytes;  /* largest part without one; 0 = 16 KiB */
    size_t max_total_bytes;  /* largest body; 0 = 11 MiB */
    size_t max_header_bytes; /* largest header line; 0 = 1 KiB (at most 16 headers a part) */
};

/*
 * Finds the boundary parameter of a "multipart/form-data; boundary=..." Content-Type (quoted or
 * not) and writes it to `out` (cap >= SB_MP_MAX_BOUNDARY + 1). Returns 0, SB_EINVAL when the
 * type is not multipart/form-data, SB_EPARSE when the boundary is missing or invalid (1-70
 * characters of the RFC 2046 set, not ending in a space). Thread-safe.
 */
int sb__mp_boundary(const char *content_type, char *out, size_t cap, struct sb_error *err);

/*
 * Parses `n` bytes of `body` delimited by `boundary` into at most `cap` parts (`lim` NULL =
 * defaults; more parts than min(cap, max_parts) is SB_ETOOBIG). A preamble before the first
 * delimiter and an epilogue after the closing one are ignored. Each part must have a
 * Content-Disposition: form-data header with a name. On success *n_parts is set and the parts
 * point into `body` (borrowed: valid while it is). On error the message names the part
 * (1-based) and, where it applies, the header; `parts` may be partly written. Thread-safe.
 */
int sb__mp_parse(const char *body, size_t n, const char *boundary,
                 const struct sb_mp_limits *lim, struct sb_mp_part *parts, size_t cap,
                 size_t *n_parts, struct sb_error *err);

/* The first part named `name`, or NULL. */
const struct sb_mp_part *sb__mp_find(const struct sb_mp_part *parts, size_t n, const char *name);

/*
 * Decodes standard base64 (RFC 4648, '=' padding optional, white space allowed between groups
 * of characters as in wrapped lines) from `in` into a malloc'd buffer. Output larger than `max`
 * is SB_ETOOBIG (checked before allocating, from the input length); any other character, or a
 * bad length or padding, is SB_EPARSE naming the offset. Free *out with free(). Thread-safe.
 */
int sb__base64_decode(const char *in, size_t n, size_t max, unsigned char **out,
                      size_t *out_len, struct sb_error *err);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * multipart/form-data and base64 for the attachment upload (see multipart.h). The body is
 * walked once: delimiter lines "--boundary" (the first may follow a preamble; the others follow
 * CRLF), then a part's header lines up to an empty line, then its body up to the next
 * "\r\n--boundary". A delimiter is followed by CRLF, or by "--" for the closing one (transport
 * padding — spaces and tabs — is allowed before the CRLF). Only Content-Disposition and
 * Content-Type are interpreted; other headers are checked for shape and skipped. Limits: the
 * number of parts, each part's size (files and plain fields apart), the whole body, the length
 * and number of header lines.
 */
#include "multipart.h"

#include "sb/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 16

static int is_bchar(unsigned char c)
{
    /* RFC 2046 bcharsnospace plus space */
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Reads a parameter value (token or quoted-string) at *p (up to end) into out; advances *p. */
static int param_value(const char **p, const char *end, char *out, size_t cap, size_t *len)
{
    const char *s = *p;
    size_t o = 0;
    int over = 0;
    if (s < end && *s == '"') {
        s++;
        for (;;) {
            if (s >= end)
                return -1; /* unterminated */
            unsigned char c = (unsigned char)*s;
            if (c == '"')
                break;
            if (c == '\\') {
                if (++s >= end)
                    return -1;
                c = (unsigned char)*s;
            }
            if (c < 0x20 && c != '\t')
                return -1;
            if (o + 1 < cap)
                out[o++] = (char)c;
            else
                over = 1;
            s++;
        }
        s++;
    } else {
        while (s < end && is_tchar((unsigned char)*s)) {
            if (o + 1 < cap)
                out[o++] = *s;
            else
                over = 1;
            s++;
        }
        if (s == *p)
            return -1;
    }
    out[o] = '\0';
    *len = o;
    *p = s;
    return over ? -2 : 0;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

int sb__mp_boundary(const char *ct, char *out, size_t cap, struct sb_error *err)
{
    static const char want[] = "multipart/form-data";
    if (!ct || strncasecmp(ct, want, sizeof(want) - 1) != 0 ||
        (ct[sizeof(want) - 1] && ct[sizeof(want) - 1] != ';' && ct[sizeof(want) - 1] != ' ' &&
         ct[sizeof(want) - 1] != '\t'))
        return sb_error_set(err, SB_EINVAL, "Content-Type is not multipart/form-data");
    const char *p = ct + sizeof(want) - 1, *end = ct + strlen(ct);
    while (p < end) {
        p = skip_ws(p, end);
        if (p < end && *p == ';') {
            p = skip_ws(p + 1, end);
            continue;
        }
        const char *name = p;
        while (p < end && is_tchar((unsigned char)*p))
            p++;
        size_t nl = (size_t)(p - name);
        if (nl == 0 || p >= end || *p != '=')
            return sb_error_set(err, SB_EPARSE, "Content-Type: malformed parameter");
        p++;
        char val[SB_MP_MAX_BOUNDARY + 2];
        size_t vl = 0;
        int rc = param_value(&p, end, val, sizeof(val), &vl);
        int is_boundary = nl == 8 && strncasecmp(name, "boundary", 8) == 0;
        if (rc == -1 || (rc == -2 && !is_boundary))
            return sb_error_set(err, SB_EPARSE, "Content-Type: malformed parameter '%.*s'",
                                (int)(nl > 32 ? 32 : nl), name);
        if (!is_boundary)
            continue;
        if (rc == -2 || vl == 0 || vl > SB_MP_MAX_BOUNDARY || val[vl - 1] == ' ')
            return sb_error_set(err, SB_EPARSE,
                                "Content-Type: boundary must be 1 to 70 characters");
        for (size_t i = 0; i < vl; i++)
            if (!is_bchar((unsigned char)val[i]))
                return sb_error_set(err, SB_EPARSE,
                                    "Content-Type: boundary has a character outside RFC 2046's "
                                    "set");
        if (cap < vl + 1)
            return sb_error_set(err, SB_ETOOBIG, "boundary buffer too small");
        memcpy(out, val, vl + 1);
        return 0;
    }
    return sb_error_set(err, SB_EPARSE, "Content-Type: multipart/form-data without a boundary");
}

/* Content-Disposition: form-data; name="..."; filename="..." */
static int disposition(const char *v, const char *end, struct sb_mp_part *pt, size_t idx,
                       struct sb_error *err)
{
    static const char fd[] = "form-data";
    const char *p = skip_ws(v, end);
    if ((size_t)(end - p) < sizeof(fd) - 1 || strncasecmp(p, fd, sizeof(fd) - 1) != 0 ||
        (p + sizeof(fd) - 1 < end && p[sizeof(fd) - 1] != ';' && p[sizeof(fd) - 1] != ' ' &&
         p[sizeof(fd) - 1] != '\t'))
        return sb_error_set(err, SB_EPARSE, "part %zu: Content-Disposition must be form-data",
                            idx);
    p += sizeof(fd) - 1;
    int have_name = 0;
    while (p < end) {
        p = skip_ws(p, end);
        if (p >= end)
            break;
        if (*p != ';')
            return sb_error_set(err, SB_EPARSE,
                                "part %zu: Content-Disposition: expected ';' between parameters",
                                idx);
        p = skip_ws(p + 1, end);
        if (p >= end)
            break;
        const char *name = p;
        while (p < end && is_tchar((unsigned char)*p))
            p++;
        size_t nl = (size_t)(p - name);
        p = skip_ws(p, end);
        if (nl == 0 || p >= end || *p != '=')
            return sb_error_set(err, SB_EPARSE,
                                "part %zu: Content-Disposition: malformed parameter", idx);
        p = skip_ws(p + 1, end);
        char scratch[SB_MP_FILENAME_MAX + 1];
        char *out = scratch;
        size_t cap = sizeof(scratch), vl = 0;
        int which = 0; /* 1 name, 2 filename */
        if (nl == 4 && strncasecmp(name, "name", 4) == 0) {
            which = 1;
            out = pt->name;
            cap = sizeof(pt->name);
        } else if (nl == 8 && strncasecmp(name, "filename", 8) == 0) {
            which = 2;
            out = pt->filename;
            cap = sizeof(pt->filename);
        }
        int rc = param_value(&p, end, out, cap, &vl);
        if (rc == -1)
            return sb_error_set(err, SB_EPARSE,
                                "part %zu: Content-Disposition: malformed value of '%.*s'", idx,
                                (int)(nl > 32 ? 32 : nl), name);
        if (rc == -2 && which == 1)
            return sb_error_set(err, SB_ETOOBIG,
                                "part %zu: Content-Disposition: name longer than %d bytes", idx,
                                SB_MP_NAME_MAX);
        if (rc == -2 && which == 2)
            return sb_error_set(err, SB_ETOOBIG,
                                "part %zu: Content-Disposition: filename longer than %d bytes",
                                idx, SB_MP_FILENAME_MAX);
        if (which == 1) {
            if (have_name)
                return sb_error_set(err, SB_EPARSE,
                                    "part %zu: Content-Disposition: name given twice", idx);
            have_name = 1;
        } else if (which == 2) {
            pt->has_filename = 1;
        }
    }
    if (!have_name || !pt->name[0])
        return sb_error_set(err, SB_EPARSE, "part %zu: Content-Disposition without a name",
                            idx);
    return 0;
}

/* Parses the header block [p, end) of part `idx`: lines separated by CRLF. */
static int part_headers(const char *p, const char *end, size_t max_line, struct sb_mp_part *pt,
                        size_t idx, struct sb_error *err)
{
    int have_disp = 0;
    size_t count = 0;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end; /* the last line (the caller cut the block before CRLF CRLF) */
        size_t ll = (size_t)(eol - p);
        if (ll > max_line)
            return sb_error_set(err, SB_ETOOBIG, "part %zu: a header line is longer than %zu bytes",
                                idx, max_line);
        if (++count > MAX_HEADERS)
            return sb_error_set(err, SB_ETOOBIG, "part %zu: more than %d headers", idx,
                                MAX_HEADERS);
        const char *colon = memchr(p, ':', ll);
        if (!colon || colon == p)
            return sb_error_set(err, SB_EPARSE, "part %zu: header line without a name and ':'",
                                idx);
        for (const char *q = p; q < colon; q++)
            if (!is_tchar((unsigned char)*q))
                return sb_error_set(err, SB_EPARSE, "part %zu: invalid header name", idx);
        for (const char *q = colon + 1; q < eol; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                return sb_error_set(err, SB_EPARSE,
                                    "part %zu: control character in header '%.*s'", idx,
                                    (int)(colon - p > 32 ? 32 : colon - p), p);
        size_t nl = (size_t)(colon - p);
        const char *v = skip_ws(colon + 1, eol);
        const char *ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (nl == 19 && strncasecmp(p, "Content-Disposition", nl) == 0) {
            if (have_disp)
                return sb_error_set(err, SB_EPARSE, "part %zu: Content-Disposition given twice",
                                    idx);
            have_disp = 1;
            int rc = disposition(v, ve, pt, idx, err);
            if (rc)
                return rc;
        } else if (nl == 12 && strncasecmp(p, "Content-Type", nl) == 0) {
            size_t tl = (size_t)(ve - v);
            if (tl > SB_MP_TYPE_MAX)
                return sb_error_set(err, SB_ETOOBIG,
                                    "part %zu: Content-Type longer than %d bytes", idx,
                                    SB_MP_TYPE_MAX);
            memcpy(pt->content_type, v, tl);
            pt->content_type[tl] = '\0';
        }
        p = eol == end ? end : eol + 2;
    }
    if (!have_disp)
        return sb_error_set(err, SB_EPARSE, "part %zu: missing Content-Disposition header", idx);
    return 0;
}

/* After a delimiter "--boundary" at `p`: 1 closing ("--"), 0 part follows; *next is past the
 * line's CRLF. -1 malformed. */
static int after_delimiter(const char *p, const char *end, const char **next)
{
    int closing = 0;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
        closing = 1;
        p += 2;
    }
    p = skip_ws(p, end); /* transport padding */
    if (p == end && closing) {
        *next = p;
        return 1;
    }
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
        return -1;
    *next = p + 2;
    return closing;
}

int sb__mp_parse(const char *body, size_t n, const char *boundary,
                 const struct sb_mp_limits *lim, struct sb_mp_part *parts, size_t cap,
                 size_t *n_parts, struct sb_error *err)
{
    struct sb_mp_limits L = lim ? *lim : (struct sb_mp_limits){0};
    if (!L.max_parts)
        L.max_parts = 16;
    if (!L.max_file_bytes)
        L.max_file_bytes = 10u * 1024 * 1024;
    if (!L.max_field_bytes)
        L.max_field_bytes = 16u * 1024;
    if (!L.max_total_bytes)
        L.max_total_bytes = 11u * 1024 * 1024;
    if (!L.max_header_bytes)
        L.max_header_bytes = 1024;
    size_t max_parts = cap < L.max_parts ? cap : L.max_parts;
    size_t bl = boundary ? strlen(boundary) : 0;
    if (bl == 0 || bl > SB_MP_MAX_BOUNDARY)
        return sb_error_set(err, SB_EINVAL, "invalid boundary");
    if (n > L.max_total_bytes)
        return sb_error_set(err, SB_ETOOBIG, "multipart body larger than %zu bytes",
                            L.max_total_bytes);
    /* "\r\n--" boundary: the delimiter inside the body */
    char delim[SB_MP_MAX_BOUNDARY + 5];
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, bl);
    size_t dl = bl + 4;
    const char *end = body + n, *p;
    /* the first delimiter: at the very start, or after a preamble line */
    if (n >= dl - 2 && memcmp(body, delim + 2, dl - 2) == 0) {
        p = body + dl - 2;
    } else {
        const char *d = n ? memmem(body, n, delim, dl) : NULL;
        if (!d)
            return sb_error_set(err, SB_EPARSE, "multipart body: no '--%s' delimiter found",
                                boundary);
        p = d + dl;
    }
    size_t count = 0;
    for (;;) {
        const char *next;
        int st = after_delimiter(p, end, &next);
        if (st < 0)
            return sb_error_set(err, SB_EPARSE,
                                "part %zu: delimiter line not followed by CRLF or '--'",
                                count + 1);
        if (st == 1)
            break; /* closing delimiter; the epilogue is ignored */
        if (count == max_parts)
            return sb_error_set(err, SB_ETOOBIG, "more than %zu parts", max_parts);
        struct sb_mp_part *pt = &parts[count++];
        memset(pt, 0, sizeof(*pt));
        p = next;
        const char *hend;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            hend = p; /* no headers at all */
        } else {
            hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
            if (!hend)
                return sb_error_set(err, SB_EPARSE,
                                    "part %zu: headers not ended by an empty line", count);
            hend += 2; /* keep the last header's CRLF out of the block */
        }
        int rc = part_headers(p, hend - (hend > p ? 2 : 0), L.max_header_bytes, pt, count, err);
        if (rc)
            return rc;
        const char *data = hend + 2;
        const char *d = memmem(data, (size_t)(end - data), delim, dl);
        if (!d)
            return sb_error_set(err, SB_EPARSE,
                                "part %zu ('%s'): not ended by a '--%s' delimiter", count,
                                pt->name, boundary);
        pt->data = data;
        pt->len = (size_t)(d - data);
        size_t max = pt->has_filename ? L.max_file_bytes : L.max_field_bytes;
        if (pt->len > max)
            return sb_error_set(err, SB_ETOOBIG, "part %zu ('%s'): larger than %zu bytes", count,
                                pt->name, max);
        p = d + dl;
    }
    if (count == 0)
        return sb_error_set(err, SB_EPARSE, "multipart body without any part");
    *n_parts = count;
    return 0;
}

const struct sb_mp_part *sb__mp_find(const struct sb_mp_part *parts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(parts[i].name, name) == 0)
            return &parts[i];
    return NULL;
}

/* ---- base64 ---- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int sb__base64_decode(const char *in, size_t n, size_t max, unsigned char **out,
                      size_t *out_len, struct sb_error *err)
{
    /* every 4 characters give at most 3 bytes: bound the output before decoding */
    size_t bound = n / 4 * 3 + 3;
    size_t sig = 0;
    for (size_t i = 0; i < n; i++)
        if (b64val((unsigned char)in[i]) >= 0)
            sig++;
    if (sig / 4 * 3 + (sig % 4 ? sig % 4 - 1 : 0) > max)
        return sb_error_set(err, SB_ETOOBIG, "decoded data larger than %zu bytes", max);
    unsigned char *buf = sb_malloc(bound ? bound : 1);
    size_t o = 0, q = 0, pad = 0;
    uint32_t acc = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            if (q < 2 || pad + q >= 4) {
                rc = sb_error_set(err, SB_EPARSE, "misplaced '=' at offset %zu", i);
                goto out;
            }
            pad++;
            continue;
        }
        int v = b64val(c);
        if (v < 0) {
            rc = sb_error_set(err, SB_EPARSE, "character 0x%02x at offset %zu is not base64", c,
                              i);
            goto out;
        }
        if (pad) {
            rc = sb_error_set(err, SB_EPARSE, "data after '=' padding at offset %zu", i);
            goto out;
        }
        acc = acc << 6 | (uint32_t)v;
        if (++q == 4) {
            buf[o++] = (unsigned char)(acc >> 16);
            buf[o++] = (unsigned char)(acc >> 8);
            buf[o++] = (unsigned char)acc;
            q = 0;
            acc = 0;
        }
    }
    if (q == 1) {
        rc = sb_error_set(err, SB_EPARSE, "truncated base64 (one character in the last group)");
        goto out;
    }
    if (pad && q + pad != 4) {
        rc = sb_error_set(err, SB_EPARSE, "wrong '=' padding");
        goto out;
    }
    if (q == 2) {
        buf[o++] = (unsigned char)(acc >> 4);
    } else if (q == 3) {
        buf[o++] = (unsigned char)(acc >> 10);
        buf[o++] = (unsigned char)(acc >> 2);
    }
    if (o > max) {
        rc = sb_error_set(err, SB_ETOOBIG, "decoded data larger than %zu bytes", max);
        goto out;
    }
out:
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = o;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The `text<TAB>label` training/evaluation file format: a header line, then one example per
 * line split at its single TAB. Every limit (file size, line length, label length, rows) is
 * enforced, and every error names the file and the 1-based line so that a business owner can
 * fix their spreadsheet export.
 */
#include "sb/mem.h"
#include "sb/nlu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void sb_nlu_dataset_free(struct sb_nlu_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n; i++) {
        free(ds->text[i]);
        free(ds->label[i]);
    }
    free(ds->text);
    free(ds->label);
    free(ds->line);
    free(ds);
}

static int valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0 || cp == 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ')
            return 0;
    return 1;
}

int sb_nlu_tsv_parse(const char *data, size_t len, const char *name, struct sb_nlu_dataset **out,
                     struct sb_error *err)
{
    if (!name)
        name = "<input>";
    if (!data && len)
        return sb_error_set(err, SB_EINVAL, "%s: no data", name);
    if (len > SB_NLU_TSV_MAX_BYTES)
        return sb_error_set(err, SB_ETOOBIG, "%s: larger than %zu bytes", name,
                            (size_t)SB_NLU_TSV_MAX_BYTES);
    struct sb_nlu_dataset *ds = sb_calloc(1, sizeof(*ds));
    size_t cap = 0;
    int rc = 0;
    size_t lineno = 0, pos = 0;
    int header = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a spreadsheet's byte-order mark */
    while (pos < len) {
        lineno++;
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')
            n--;
        if (n > SB_NLU_TEXT_MAX) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s:%zu: line longer than %d bytes", name, lineno,
                              SB_NLU_TEXT_MAX);
            goto out;
        }
        if (!valid_utf8(line, n)) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%zu: not valid UTF-8", name, lineno);
            goto out;
        }
        if (!header) {
            if (n != 10 || memcmp(line, "text\tlabel", 10) != 0) {
                rc = sb_error_set(err, SB_EPARSE,
                                  "%s:%zu: expected the header line 'text<TAB>label'", name,
                                  lineno);
                goto out;
            }
            header = 1;
            continue;
        }
        if (n == 0 || only_space(line, n))
            continue;
        const char *tab = memchr(line, '\t', n);
        if (!tab) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%zu: no TAB between text and label", name,
                              lineno);
            goto out;
        }
        size_t tl = (size_t)(tab - line), ll = n - tl - 1;
        const char *label = tab + 1;
        if (memchr(label, '\t', ll)) {
            rc = sb_error_set(err, SB_EPARSE,
                              "%s:%zu: more than one TAB (expected text<TAB>label)", name,
                              lineno);
            goto out;
        }
        while (tl && line[tl - 1] == ' ')
            tl--;
        while (ll && label[0] == ' ') {
            label++;
            ll--;
        }
        while (ll && label[ll - 1] == ' ')
            ll--;
        size_t lead = 0;
        while (lead < tl && line[lead] == ' ')
            lead++;
        if (tl == lead) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%zu: empty text", name, lineno);
            goto out;
        }
        if (ll == 0) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%zu: empty label", name, lineno);
            goto out;
        }
        if (ll > SB_NLU_LABEL_MAX) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s:%zu: label longer than %d bytes", name,
                              lineno, SB_NLU_LABEL_MAX);
            goto out;
        }
        if (ds->n >= SB_NLU_TSV_MAX_ROWS) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s:%zu: more than %d rows", name, lineno,
                              SB_NLU_TSV_MAX_ROWS);
            goto out;
        }
        if (ds->n == cap) {
            cap = cap ? cap * 2 : 1024;
            ds->text = sb_realloc(ds->text, cap * sizeof(char *));
            ds->label = sb_realloc(ds->label, cap * sizeof(char *));
            ds->line = sb_realloc(ds->line, cap * sizeof(size_t));
        }
        ds->text[ds->n] = sb_strndup(line + lead, tl - lead);
        ds->label[ds->n] = sb_strndup(label, ll);
        ds->line[ds->n] = lineno;
        ds->n++;
    }
    if (!header) {
        rc = sb_error_set(err, SB_EPARSE, "%s:1: empty file (expected the header 'text<TAB>label')",
                          name);
        goto out;
    }
    if (ds->n == 0) {
        rc = sb_error_set(err, SB_EPARSE, "%s:%zu: no rows after the header", name,
                          lineno ? lineno : 1);
        goto out;
    }
out:
    if (rc) {
        sb_nlu_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

int sb_nlu_tsv_read(const char *path, struct sb_nlu_dataset **out, struct sb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sb_error_set(err, SB_ENOTFOUND, "%s: cannot open: %s", path, strerror(errno));
    struct sb_buf b;
    sb_buf_init(&b, SB_NLU_TSV_MAX_BYTES);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (sb_buf_append(&b, chunk, n)) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s: larger than %zu bytes", path,
                              (size_t)SB_NLU_TSV_MAX_BYTES);
            break;
        }
    }
    if (!rc && ferror(f))
        rc = sb_error_set(err, SB_EIO, "%s: read error", path);
    fclose(f);
    if (!rc)
        rc = sb_nlu_tsv_parse(b.data ? b.data : "", b.len, path, out, err);
    sb_buf_cleanup(&b);
    return rc;
}

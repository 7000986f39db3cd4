/* SPDX-License-Identifier: MIT */
/*
 * The weight store of the sentence encoder: reads a TF.js graph model's model.json, takes its
 * weightsManifest (groups of shard paths and the tensors packed into them, in order), reads the
 * shards, checks that their total size is exactly what the tensors need, and lets the encoder
 * look tensors up by name with their expected shape. The graph topology itself is not read:
 * the encoder implements the one graph it was written for (docs/embed.md).
 */
#include "embed_internal.h"

#include "sb/file.h"
#include "sb/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_JSON_MAX (8u << 20)
#define SHARD_MAX (64u << 20)
#define BLOB_MAX ((size_t)512 << 20)

static int parse_weight(json_t *jw, struct embed_weight *w, size_t *bytes, struct sb_error *err)
{
    const char *name = json_string_value(json_object_get(jw, "name"));
    const char *dtype = json_string_value(json_object_get(jw, "dtype"));
    json_t *shape = json_object_get(jw, "shape");
    if (!name || !dtype || !json_is_array(shape))
        return sb_error_set(err, SB_EPARSE,
                            "model.json: weightsManifest entry lacks name, dtype or shape");
    if (json_object_get(jw, "quantization"))
        return sb_error_set(err, SB_EUNSUPPORTED, "model.json: weight %s is quantised", name);
    if (strcmp(dtype, "float32") == 0)
        w->is_int = 0;
    else if (strcmp(dtype, "int32") == 0)
        w->is_int = 1;
    else
        return sb_error_set(err, SB_EUNSUPPORTED, "model.json: weight %s has dtype %s", name,
                            dtype);
    size_t nd = json_array_size(shape);
    if (nd > EMBED_MAX_SHAPE)
        return sb_error_set(err, SB_EPARSE, "model.json: weight %s has %zu dims", name, nd);
    size_t count = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > (1 << 26))
            return sb_error_set(err, SB_EPARSE, "model.json: weight %s: bad shape[%zu]", name, i);
        w->shape[i] = json_integer_value(d);
        count *= (size_t)w->shape[i];
        if (count > ((size_t)1 << 28))
            return sb_error_set(err, SB_ETOOBIG, "model.json: weight %s is too large", name);
    }
    w->ndim = (int)nd;
    w->count = count;
    w->name = sb_strdup(name);
    *bytes = count * 4;
    return 0;
}

int sb__embed_json_load(const char *dir, const char *name, size_t max, char path[4096],
                        json_t **root, struct sb_error *err)
{
    if ((size_t)snprintf(path, 4096, "%s/%s", dir, name) >= 4096)
        return sb_error_set(err, SB_ETOOBIG, "embed model directory path too long");
    char *text = NULL;
    size_t len = 0;
    int rc = sb_file_read(path, max, &text, &len, err);
    if (rc < 0)
        return rc;
    json_error_t jerr;
    *root = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!*root)
        return sb_error_set(err, SB_EPARSE, "%s: line %d: %s", path, jerr.line, jerr.text);
    return 0;
}

int sb__embed_weights_load(const char *dir, struct embed_weights *ws, struct sb_error *err)
{
    memset(ws, 0, sizeof *ws);
    char path[4096];
    json_t *root = NULL;
    int rc = sb__embed_json_load(dir, "model.json", MODEL_JSON_MAX, path, &root, err);
    if (rc < 0)
        return rc;
    json_t *man = json_object_get(root, "weightsManifest");
    size_t offs[EMBED_MAX_WEIGHTS];
    size_t total = 0;
    if (!json_is_array(man)) {
        rc = sb_error_set(err, SB_EPARSE, "%s: no weightsManifest array", path);
        goto out;
    }
    /* tensors first: their sizes give the expected blob size */
    for (size_t g = 0; g < json_array_size(man); g++) {
        json_t *weights = json_object_get(json_array_get(man, g), "weights");
        if (!json_is_array(weights)) {
            rc = sb_error_set(err, SB_EPARSE, "%s: weightsManifest[%zu].weights missing", path, g);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(weights); i++) {
            if (ws->n == EMBED_MAX_WEIGHTS) {
                rc = sb_error_set(err, SB_ETOOBIG, "%s: more than %d weights", path,
                                  EMBED_MAX_WEIGHTS);
                goto out;
            }
            size_t bytes = 0;
            rc = parse_weight(json_array_get(weights, i), &ws->w[ws->n], &bytes, err);
            if (rc < 0)
                goto out;
            offs[ws->n++] = total;
            total += bytes;
            if (total > BLOB_MAX) {
                rc = sb_error_set(err, SB_ETOOBIG, "%s: weights exceed %zu bytes", path, BLOB_MAX);
                goto out;
            }
        }
    }
    ws->blob = sb_malloc(total ? total : 1);
    size_t got = 0;
    for (size_t g = 0; g < json_array_size(man); g++) {
        json_t *paths = json_object_get(json_array_get(man, g), "paths");
        if (!json_is_array(paths)) {
            rc = sb_error_set(err, SB_EPARSE, "%s: weightsManifest[%zu].paths missing", path, g);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(paths); i++) {
            const char *p = json_string_value(json_array_get(paths, i));
            if (!p || !*p || strchr(p, '/') || strcmp(p, "..") == 0) {
                rc = sb_error_set(err, SB_EPARSE,
                                  "%s: weightsManifest[%zu].paths[%zu] is not a file name", path, g,
                                  i);
                goto out;
            }
            char spath[4096];
            if ((size_t)snprintf(spath, sizeof spath, "%s/%s", dir, p) >= sizeof spath) {
                rc = sb_error_set(err, SB_ETOOBIG, "shard path too long");
                goto out;
            }
            char *sd = NULL;
            size_t sl = 0;
            rc = sb_file_read(spath, SHARD_MAX, &sd, &sl, err);
            if (rc < 0)
                goto out;
            if (sl > total - got) {
                free(sd);
                rc = sb_error_set(err, SB_EPARSE,
                                  "%s: shards hold more bytes than the manifest's %zu", spath,
                                  total);
                goto out;
            }
            memcpy(ws->blob + got, sd, sl);
            got += sl;
            free(sd);
        }
    }
    if (got != total) {
        rc = sb_error_set(err, SB_EPARSE, "%s: shards hold %zu bytes, the manifest needs %zu", path,
                          got, total);
        goto out;
    }
    ws->blob_len = total;
    for (size_t i = 0; i < ws->n; i++)
        ws->w[i].data = ws->blob + offs[i];
    rc = 0;
out:
    json_decref(root);
    if (rc < 0)
        sb__embed_weights_free(ws);
    return rc;
}

void sb__embed_weights_free(struct embed_weights *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        free(ws->w[i].name);
    free(ws->blob);
    memset(ws, 0, sizeof *ws);
}

const float *sb__embed_weight(const struct embed_weights *ws, const char *name, int ndim,
                              const int64_t *dims, struct sb_error *err)
{
    for (size_t i = 0; i < ws->n; i++) {
        const struct embed_weight *w = &ws->w[i];
        if (strcmp(w->name, name) != 0)
            continue;
        int ok = !w->is_int && w->ndim == ndim;
        for (int d = 0; ok && d < ndim; d++)
            ok = w->shape[d] == dims[d];
        if (!ok) {
            sb_error_set(err, SB_EPARSE, "model.json: weight %s has an unexpected type or shape",
                         name);
            return NULL;
        }
        return w->data;
    }
    sb_error_set(err, SB_EPARSE, "model.json: weight %s missing", name);
    return NULL;
}

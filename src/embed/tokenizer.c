/* SPDX-License-Identifier: MIT */
/*
 * The sentence encoder's tokenizer: a SentencePiece unigram segmentation that reproduces the
 * JavaScript tokenizer of @energetic-ai/embeddings 0.2.0 (dist/index.js) id for id, quirks
 * included. The text is NFKC-normalised (utf8proc), "▁" (U+2581) is put in front of a
 * non-empty text and in place of every U+0020; pieces (vocab.json entries from index 6 on, the
 * first six being reserved; a null score counts as 0, as JS's null + number does) are matched over
 * code points with a trie, a later duplicate piece replacing an earlier one; a position where no
 * piece starts yields the unknown id 0 (one code point, score 0). The best path is a Viterbi over
 * piece log-probabilities where, as in the JS, a running best of exactly 0 counts as "none yet" and
 * a tie goes to the later candidate; the backtrack steps by each piece's UTF-16 length; runs of
 * unknown ids are merged into one.
 */
#include "embed_internal.h"

#include "sb/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define VOCAB_JSON_MAX (4u << 20)
#define VOCAB_MAX_PIECES 100000
#define RESERVED_PIECES 6
#define SPACE_MARK 0x2581

static int32_t new_node(struct embed_tokenizer *t, uint32_t cp)
{
    if (t->n_nodes == t->cap_nodes) {
        t->cap_nodes = t->cap_nodes ? t->cap_nodes * 2 : 4096;
        t->nodes = sb_realloc(t->nodes, t->cap_nodes * sizeof *t->nodes);
    }
    struct embed_trie_node *n = &t->nodes[t->n_nodes];
    n->child = -1;
    n->next = -1;
    n->cp = cp;
    n->id = -1;
    n->score = 0;
    return (int32_t)t->n_nodes++;
}

static int32_t find_child(const struct embed_tokenizer *t, int32_t node, uint32_t cp)
{
    for (int32_t c = t->nodes[node].child; c >= 0; c = t->nodes[c].next)
        if (t->nodes[c].cp == cp)
            return c;
    return -1;
}

static size_t edge_hash(uint64_t key, size_t mask)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static uint64_t edge_key(int32_t node, uint32_t cp)
{
    return (uint64_t)(uint32_t)node << 32 | cp;
}

/* The edge table: a power of two at least twice the number of edges (nodes − 1). */
static void build_edges(struct embed_tokenizer *t)
{
    size_t cap = 16;
    while (cap < 2 * t->n_nodes)
        cap *= 2;
    t->hmask = cap - 1;
    t->hkey = sb_malloc(cap * sizeof *t->hkey);
    t->hval = sb_malloc(cap * sizeof *t->hval);
    for (size_t i = 0; i < cap; i++)
        t->hkey[i] = UINT64_MAX;
    for (size_t p = 0; p < t->n_nodes; p++)
        for (int32_t c = t->nodes[p].child; c >= 0; c = t->nodes[c].next) {
            const uint64_t key = edge_key((int32_t)p, t->nodes[c].cp);
            size_t h = edge_hash(key, t->hmask);
            while (t->hkey[h] != UINT64_MAX)
                h = (h + 1) & t->hmask;
            t->hkey[h] = key;
            t->hval[h] = c;
        }
}

static int32_t edge(const struct embed_tokenizer *t, int32_t node, uint32_t cp)
{
    const uint64_t key = edge_key(node, cp);
    for (size_t h = edge_hash(key, t->hmask);; h = (h + 1) & t->hmask) {
        if (t->hkey[h] == key)
            return t->hval[h];
        if (t->hkey[h] == UINT64_MAX)
            return -1;
    }
}

/* Decodes valid UTF-8 (already checked) into code points; returns the count. */
static size_t decode(const uint8_t *s, size_t len, int32_t *cps)
{
    size_t n = 0;
    utf8proc_ssize_t k = 0;
    while ((size_t)k < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t r = utf8proc_iterate(s + k, (utf8proc_ssize_t)(len - (size_t)k), &cp);
        if (r <= 0)
            break;
        cps[n++] = cp;
        k += r;
    }
    return n;
}

static void insert(struct embed_tokenizer *t, const char *piece, double score, int32_t id)
{
    size_t len = strlen(piece);
    int32_t *cps = sb_malloc((len + 1) * sizeof *cps);
    size_t n = decode((const uint8_t *)piece, len, cps);
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = find_child(t, node, (uint32_t)cps[i]);
        if (c < 0) {
            c = new_node(t, (uint32_t)cps[i]);
            t->nodes[c].next = t->nodes[node].child;
            t->nodes[node].child = c;
        }
        node = c;
    }
    if (n > 0) {
        t->nodes[node].id = id;
        t->nodes[node].score = score;
    }
    free(cps);
}

int sb__embed_tokenizer_load(const char *dir, struct embed_tokenizer *t, struct sb_error *err)
{
    memset(t, 0, sizeof *t);
    char path[4096];
    json_t *root = NULL;
    int rc = sb__embed_json_load(dir, "vocab.json", VOCAB_JSON_MAX, path, &root, err);
    if (rc < 0)
        return rc;
    size_t n = json_array_size(root);
    if (!json_is_array(root) || n <= RESERVED_PIECES) {
        json_decref(root);
        return sb_error_set(err, SB_EPARSE, "%s: not an array of more than %d pieces", path,
                            RESERVED_PIECES);
    }
    if (n > VOCAB_MAX_PIECES) {
        json_decref(root);
        return sb_error_set(err, SB_ETOOBIG, "%s: more than %d pieces", path, VOCAB_MAX_PIECES);
    }
    t->n_pieces = n;
    t->u16len = sb_calloc(n, sizeof *t->u16len);
    new_node(t, 0); /* root */
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(root, i);
        const char *piece = json_string_value(json_array_get(e, 0));
        json_t *sc = json_array_get(e, 1);
        if (!json_is_array(e) || !piece || !(json_is_number(sc) || json_is_null(sc))) {
            json_decref(root);
            sb__embed_tokenizer_free(t);
            return sb_error_set(err, SB_EPARSE, "%s: entry %zu is not [piece, score]", path, i);
        }
        size_t pl = strlen(piece);
        if (utf8proc_decompose((const utf8proc_uint8_t *)piece, (utf8proc_ssize_t)pl, NULL, 0, 0) <
            0) {
            json_decref(root);
            sb__embed_tokenizer_free(t);
            return sb_error_set(err, SB_EPARSE, "%s: entry %zu is not valid UTF-8", path, i);
        }
        int32_t *cps = sb_malloc((pl + 1) * sizeof *cps);
        size_t nc = decode((const uint8_t *)piece, pl, cps);
        int32_t u16 = 0;
        for (size_t k = 0; k < nc; k++)
            u16 += cps[k] >= 0x10000 ? 2 : 1;
        free(cps);
        t->u16len[i] = u16;
        if (i >= RESERVED_PIECES)
            insert(t, piece, json_number_value(sc), (int32_t)i); /* null (":") is 0, as in JS */
    }
    json_decref(root);
    build_edges(t);
    return 0;
}

void sb__embed_tokenizer_free(struct embed_tokenizer *t)
{
    free(t->hkey);
    free(t->hval);
    free(t->u16len);
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

/* NFKC of `utf8` as code points with the "▁" marks (*cps allocated); SB_EINVAL for bad UTF-8. */
static int prepare(const char *utf8, int32_t **cps_out, size_t *n_out, struct sb_error *err)
{
    size_t len = strlen(utf8);
    if (len > SB_EMBED_MAX_TEXT)
        return sb_error_set(err, SB_ETOOBIG, "text longer than %u bytes", SB_EMBED_MAX_TEXT);
    utf8proc_uint8_t *norm = NULL;
    utf8proc_ssize_t nl = 0;
    if (len > 0) {
        nl = utf8proc_map((const utf8proc_uint8_t *)utf8, (utf8proc_ssize_t)len, &norm,
                          UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
        if (nl < 0) {
            /* find the offending byte for the message */
            size_t k = 0;
            while (k < len) {
                utf8proc_int32_t cp;
                utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)utf8 + k,
                                                      (utf8proc_ssize_t)(len - k), &cp);
                if (r < 0)
                    break;
                k += (size_t)r;
            }
            return sb_error_set(err, nl == UTF8PROC_ERROR_NOMEM ? SB_ENOMEM : SB_EINVAL,
                                "text is not valid UTF-8 (byte %zu)", k);
        }
    }
    int32_t *cps = sb_malloc(((size_t)nl + 2) * sizeof *cps);
    size_t n = 0;
    if (nl > 0) {
        cps[0] = SPACE_MARK;
        n = 1 + decode(norm, (size_t)nl, cps + 1);
        for (size_t i = 1; i < n; i++)
            if (cps[i] == ' ')
                cps[i] = SPACE_MARK;
    }
    free(norm);
    *cps_out = cps;
    *n_out = n;
    return 0;
}

int sb__embed_tokenize(const struct embed_tokenizer *t, const char *utf8, int32_t **ids_out,
                       size_t *n_out, struct sb_error *err)
{
    int32_t *s = NULL;
    size_t n = 0;
    int rc = prepare(utf8, &s, &n, err);
    if (rc < 0)
        return rc;
    double *best = sb_calloc(n + 1, sizeof *best);
    int32_t *words = sb_calloc(n + 1, sizeof *words);
    /* Starts in increasing order: every candidate ending at e is seen in increasing start order,
     * after best[start] is final — the JS's order (ends outer, starts inner, ascending). */
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        int32_t node = edge(t, 0, (uint32_t)s[i]);
        for (size_t j = i; j < n && node >= 0;) {
            const struct embed_trie_node *nd = &t->nodes[node];
            if (nd->id >= 0) {
                found = 1;
                size_t e = j + 1;
                double sc = nd->score + best[i];
                if (best[e] == 0 || sc >= best[e]) {
                    best[e] = sc;
                    words[e] = nd->id;
                }
            }
            j++;
            node = j < n ? edge(t, node, (uint32_t)s[j]) : -1;
        }
        if (!found) { /* the unknown piece: one code point, score 0, id 0 */
            double sc = best[i];
            if (best[i + 1] == 0 || sc >= best[i + 1]) {
                best[i + 1] = sc;
                words[i + 1] = 0;
            }
        }
    }
    int32_t *rev = sb_malloc((n + 1) * sizeof *rev);
    size_t nr = 0;
    for (ptrdiff_t it = (ptrdiff_t)n; it > 0;) {
        int32_t w = words[it];
        rev[nr++] = w;
        it -= t->u16len[w] > 0 ? t->u16len[w] : 1; /* (an empty piece 0 would hang the JS) */
    }
    int32_t *ids = sb_malloc((nr + 1) * sizeof *ids);
    size_t m = 0;
    int prev_unk = 0;
    for (size_t i = 0; i < nr; i++) {
        if (!(prev_unk && rev[i] == 0))
            ids[m++] = rev[i];
        prev_unk = rev[i] == 0;
    }
    for (size_t i = 0; i < m / 2; i++) {
        int32_t x = ids[i];
        ids[i] = ids[m - 1 - i];
        ids[m - 1 - i] = x;
    }
    free(rev);
    free(best);
    free(words);
    free(s);
    *ids_out = ids;
    *n_out = m;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Model files. Layout (little-endian), version 2:
 *   "SBNLUMDL" | u32 version | u32 kind (1 intent, 2 sentiment)
 *   feature config: u8 word_ngrams, char_min, char_max, han_max, stem, extra, pair_window,
 *     cross (v1: 0) | f32 word_weight
 *     | f32 char_weight
 *   u32 nlabels, then per label u16 length + bytes
 *   i32 oos_index | f32 temperature | f32 oos_threshold
 *   u32 nfeat | u64 hashes[nfeat] (sorted) | f32 idf[nfeat]
 *   u32 nmembers (1..4), then per member: u8 type (1 SVM, 2 NB-SVM, 3 MLP), u8 pad[3],
 *     f32 weight, u32 width (K for SVM/NB, hidden units for MLP), f32 scale[nfeat],
 *     f32 bias[width], i8 rows[nfeat][width], and for MLP f32 w2[K][width], f32 b2[K]
 *   version 3 only (a model with sentiment lexicon features): u32 lexopts, u32 nentries, then
 *     per entry u8 length + the normalised word + f32 valence
 *   u32 CRC-32 of everything before it
 * A model without lexicon features is written as version 2, which older builds read too.
 * Version 1 files (one TF-IDF SVM: f32 scale[nfeat] | f32 bias[K] | i8 weights[nfeat][K] after
 * the idf) still load, as a one-member ensemble.
 * Saving goes through a temporary file in the same directory and rename(2), so a reader (the
 * daemon reloading) sees the old model or the new one, never half of one.
 */
#include "nlu_internal.h"
#include "sb/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "SBNLUMDL"
#define VERSION 3u /* newest written; a model without a lexicon is written as 2 */
#define MAX_FILE ((size_t)256 << 20)

/* CRC-32 (IEEE), slicing by 8: eight table lookups per 8 bytes (a 14 MB model in ~10 ms). */
static uint32_t crc_table[8][256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    uint32_t c = 0xFFFFFFFFu;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
            crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^
            crc_table[2][(hi >> 8) & 0xFF] ^ crc_table[1][(hi >> 16) & 0xFF] ^
            crc_table[0][hi >> 24];
    }
    for (; n; n--, p++)
        c = crc_table[0][(c ^ *p) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void put(struct sb_buf *b, const void *p, size_t n)
{
    (void)sb_buf_append(b, p, n); /* unbounded buffer: cannot fail */
}

static void put_u32(struct sb_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, x, 4);
}

static void put_u64(struct sb_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(struct sb_buf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}

int sb_nlu_model_save(const struct sb_nlu_model *m, const char *path, struct sb_error *err)
{
    struct sb_buf b;
    sb_buf_init(&b, 0);
    int with_lex = m->lex && m->lex->n && m->cfg.lexopts;
    put(&b, MAGIC, 8);
    put_u32(&b, with_lex ? 3u : 2u);
    put_u32(&b, (uint32_t)m->kind);
    unsigned char c[8] = {m->cfg.word_ngrams, m->cfg.char_min, m->cfg.char_max,    m->cfg.han_max,
                          m->cfg.stem,        m->cfg.extra,    m->cfg.pair_window, m->cfg.cross};
    put(&b, c, 8);
    put_f32(&b, m->cfg.word_weight);
    put_f32(&b, m->cfg.char_weight);
    put_u32(&b, m->nlabels);
    for (uint32_t i = 0; i < m->nlabels; i++) {
        size_t n = strlen(m->labels[i]);
        unsigned char l[2] = {(unsigned char)n, (unsigned char)(n >> 8)};
        put(&b, l, 2);
        put(&b, m->labels[i], n);
    }
    put_u32(&b, (uint32_t)m->oos_index);
    put_f32(&b, m->temperature);
    put_f32(&b, m->oos_threshold);
    put_u32(&b, m->nfeat);
    for (uint32_t i = 0; i < m->nfeat; i++)
        put_u64(&b, m->hashes[i]);
    for (uint32_t i = 0; i < m->nfeat; i++)
        put_f32(&b, m->idf[i]);
    put_u32(&b, m->nmembers);
    for (uint32_t j = 0; j < m->nmembers; j++) {
        const struct sb__nlu_member *mb = &m->member[j];
        unsigned char t[4] = {mb->type, 0, 0, 0};
        put(&b, t, 4);
        put_f32(&b, mb->weight);
        put_u32(&b, mb->width);
        for (uint32_t i = 0; i < m->nfeat; i++)
            put_f32(&b, sb__nlu_rec_scale(m, i, j));
        for (uint32_t i = 0; i < mb->width; i++)
            put_f32(&b, mb->bias[i]);
        for (uint32_t i = 0; i < m->nfeat; i++)
            put(&b, sb__nlu_rec_row(m, i, j), mb->width);
        if (mb->type == SB__NLU_M_MLP) {
            for (size_t i = 0; i < (size_t)m->nlabels * mb->width; i++)
                put_f32(&b, mb->w2[i]);
            for (uint32_t i = 0; i < m->nlabels; i++)
                put_f32(&b, mb->b2[i]);
        }
    }
    if (with_lex) {
        put_u32(&b, m->cfg.lexopts);
        put_u32(&b, m->lex->n);
        for (uint32_t i = 0; i < m->lex->n; i++) {
            size_t n = m->lex->off[i + 1] - m->lex->off[i] - 1;
            unsigned char l = (unsigned char)n; /* n <= SB__NLU_LEX_WORD_MAX */
            put(&b, &l, 1);
            put(&b, m->lex->words + m->lex->off[i], n);
            put_f32(&b, m->lex->val[i]);
        }
    }
    put_u32(&b, crc32_of((const unsigned char *)b.data, b.len));

    int rc = 0;
    char *tmp = sb_strdupf("%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = sb_error_set(err, SB_EIO, "%s: cannot create a temporary file: %s", path,
                          strerror(errno));
        goto out;
    }
    (void)fchmod(fd, 0644); /* mkstemp creates 0600; a model is not a secret */
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = sb_error_set(err, SB_EIO, "%s: write failed: %s", path, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (!rc && fsync(fd) != 0)
        rc = sb_error_set(err, SB_EIO, "%s: fsync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = sb_error_set(err, SB_EIO, "%s: close failed: %s", path, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = sb_error_set(err, SB_EIO, "%s: rename failed: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
out:
    free(tmp);
    sb_buf_cleanup(&b);
    return rc;
}

/* ---- loading ----------------------------------------------------------------------------- */

struct rd {
    const unsigned char *p;
    size_t n, off;
    int bad;
};

static const unsigned char *take(struct rd *r, size_t n)
{
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *p = r->p + r->off;
    r->off += n;
    return p;
}

static uint32_t get_u32(struct rd *r)
{
    const unsigned char *p = take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

static uint64_t get_u64(struct rd *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static float get_f32(struct rd *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* n little-endian f32 values into out (bulk copy on little-endian hosts). */
static void get_f32s(struct rd *r, float *out, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const unsigned char *p = n <= SIZE_MAX / 4 ? take(r, n * 4) : NULL;
    if (p)
        memcpy(out, p, n * 4);
    else
        r->bad = 1;
#else
    for (size_t i = 0; i < n; i++)
        out[i] = get_f32(r);
#endif
}

static int parse_model(const unsigned char *data, size_t len, const char *path,
                       enum sb_nlu_kind want, struct sb_nlu_model **out, struct sb_error *err)
{
    if (len < 8 || memcmp(data, MAGIC, 8) != 0)
        return sb_error_set(err, SB_EPARSE, "%s: not a Switchboard model file (bad magic)", path);
    struct rd r = {data, len - 4, 8, 0};
    if (len < 24)
        return sb_error_set(err, SB_EPARSE, "%s: truncated model file", path);
    uint32_t version = get_u32(&r);
    if (version < 1 || version > VERSION)
        return sb_error_set(err, SB_EPARSE,
                            "%s: model file version %u is not supported (this build reads 1 to "
                            "%u); retrain it with this version of switchboard",
                            path, version, VERSION);
    uint32_t kind = get_u32(&r);
    if (kind != SB_NLU_INTENT && kind != SB_NLU_SENTIMENT)
        return sb_error_set(err, SB_EPARSE, "%s: unknown model kind %u", path, kind);
    if (want && (uint32_t)want != kind)
        return sb_error_set(err, SB_EINVAL, "%s: is a %s model, but a %s model is needed", path,
                            sb_nlu_kind_name((enum sb_nlu_kind)kind), sb_nlu_kind_name(want));
    uint32_t crc = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
                   (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
    if (crc32_of(data, len - 4) != crc)
        return sb_error_set(err, SB_EPARSE, "%s: corrupted model file (checksum mismatch)", path);

    struct sb_nlu_model *m = sb_calloc(1, sizeof(*m));
    atomic_init(&m->refs, 1);
    m->kind = (enum sb_nlu_kind)kind;
    const unsigned char *c = take(&r, 8);
    if (c) {
        m->cfg.word_ngrams = c[0];
        m->cfg.char_min = c[1];
        m->cfg.char_max = c[2];
        m->cfg.han_max = c[3];
        m->cfg.stem = c[4];
        m->cfg.extra = c[5];
        m->cfg.pair_window = c[6];
        m->cfg.cross = version == 1 ? 0 : c[7];
    }
    m->cfg.word_weight = get_f32(&r);
    m->cfg.char_weight = get_f32(&r);
    uint32_t K = get_u32(&r);
    int rc = 0;
    if (r.bad || K < 2 || K > 100000 || m->cfg.word_ngrams < 1 || m->cfg.word_ngrams > 3 ||
        m->cfg.char_max > 8 || m->cfg.char_min > m->cfg.char_max + 1u || m->cfg.han_max > 6 ||
        m->cfg.pair_window > 8 || (m->cfg.cross >> 4) > (m->cfg.cross & 15)) {
        rc = sb_error_set(err, SB_EPARSE, "%s: bad model header", path);
        goto out;
    }
    m->labels = sb_calloc(K, sizeof(char *));
    m->nlabels = K;
    for (uint32_t i = 0; i < K; i++) {
        const unsigned char *l = take(&r, 2);
        size_t n = l ? (size_t)l[0] | (size_t)l[1] << 8 : 0;
        const unsigned char *s = take(&r, n);
        if (!s || n == 0 || n > SB_NLU_LABEL_MAX) {
            rc = sb_error_set(err, SB_EPARSE, "%s: bad label %u", path, i);
            goto out;
        }
        m->labels[i] = sb_strndup((const char *)s, n);
    }
    m->oos_index = (int)get_u32(&r);
    m->temperature = get_f32(&r);
    m->oos_threshold = get_f32(&r);
    m->nfeat = get_u32(&r);
    size_t F = m->nfeat;
    if (r.bad || m->oos_index < -1 || m->oos_index >= (int)K ||
        !(m->temperature > 0 && m->temperature < 1e4) ||
        !(m->oos_threshold >= 0 && m->oos_threshold <= 1) || F * (8 + 4) > r.n - r.off) {
        rc = sb_error_set(err, SB_EPARSE, "%s: bad or truncated model body", path);
        goto out;
    }
    m->hashes = sb_malloc((F ? F : 1) * sizeof(uint64_t));
    m->idf = sb_malloc((F ? F : 1) * sizeof(float));
    for (size_t i = 0; i < F; i++) {
        m->hashes[i] = get_u64(&r);
        if (!m->hashes[i] || (i && m->hashes[i] <= m->hashes[i - 1]))
            r.bad = 1;
    }
    get_f32s(&r, m->idf, F);
    uint32_t nm = version == 1 ? 1 : get_u32(&r);
    if (r.bad || nm < 1 || nm > SB__NLU_MAX_MEMBERS) {
        rc = sb_error_set(err, SB_EPARSE, "%s: bad or truncated model body", path);
        goto out;
    }
    for (uint32_t j = 0; j < nm && !r.bad; j++) {
        struct sb__nlu_member *mb = &m->member[j];
        m->nmembers = j + 1;
        if (version == 1) {
            mb->type = SB__NLU_M_SVM;
            mb->weight = 1;
            mb->width = K;
        } else {
            const unsigned char *t = take(&r, 4);
            mb->type = t ? t[0] : 0;
            mb->weight = get_f32(&r);
            mb->width = get_u32(&r);
        }
        size_t W = mb->width;
        if (r.bad || mb->type < SB__NLU_M_SVM || mb->type > SB__NLU_M_MLP ||
            !(mb->weight > -1e6 && mb->weight < 1e6) || W < 1 || W > 100000 ||
            (mb->type != SB__NLU_M_MLP && W != K) || F * (4 + W) + 4 * W > r.n - r.off) {
            r.bad = 1;
            break;
        }
        mb->wscale = sb_malloc((F ? F : 1) * sizeof(float));
        mb->bias = sb_malloc(W * sizeof(float));
        mb->wq = sb_malloc((F ? F : 1) * W);
        get_f32s(&r, mb->wscale, F);
        for (size_t i = 0; i < W; i++)
            mb->bias[i] = get_f32(&r);
        const unsigned char *w = take(&r, F * W);
        if (w)
            memcpy(mb->wq, w, F * W);
        if (mb->type == SB__NLU_M_MLP) {
            if ((size_t)K * W * 4 + 4 * (size_t)K > r.n - r.off) {
                r.bad = 1;
                break;
            }
            mb->w2 = sb_malloc((size_t)K * W * sizeof(float));
            mb->b2 = sb_malloc(K * sizeof(float));
            get_f32s(&r, mb->w2, (size_t)K * W);
            for (size_t i = 0; i < K; i++)
                mb->b2[i] = get_f32(&r);
        }
    }
    if (!r.bad && version >= 3) {
        uint32_t opts = get_u32(&r), ne = get_u32(&r);
        if (r.bad || !opts || (opts & ~SB__NLU_LEX_ALL) || ne < 1 || ne > SB__NLU_LEX_MAX ||
            (size_t)ne * 6 > r.n - r.off) {
            rc = sb_error_set(err, SB_EPARSE, "%s: bad lexicon section", path);
            goto out;
        }
        char **words = sb_calloc(ne, sizeof(char *));
        float *val = sb_malloc(ne * sizeof(float));
        for (uint32_t i = 0; i < ne && !r.bad; i++) {
            const unsigned char *l = take(&r, 1);
            size_t n = l ? *l : 0;
            const unsigned char *w = take(&r, n);
            val[i] = get_f32(&r);
            if (!w || n == 0 || n > SB__NLU_LEX_WORD_MAX || memchr(w, 0, n) ||
                !(val[i] >= -8 && val[i] <= 8))
                r.bad = 1;
            else
                words[i] = sb_strndup((const char *)w, n);
        }
        if (!r.bad) {
            m->lex = sb__nlu_lex_from_entries((const char *const *)words, val, ne, 0);
            m->cfg.lex = m->lex;
            m->cfg.lexopts = opts;
        }
        for (uint32_t i = 0; i < ne; i++)
            free(words[i]);
        free(words);
        free(val);
        if (r.bad) {
            rc = sb_error_set(err, SB_EPARSE, "%s: bad lexicon section", path);
            goto out;
        }
    }
    if (r.bad || r.off != r.n) {
        rc = sb_error_set(err, SB_EPARSE, "%s: bad or truncated model body", path);
        goto out;
    }
    sb__nlu_model_index(m);
out:
    if (rc) {
        sb_nlu_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int sb_nlu_model_load(const char *path, enum sb_nlu_kind kind, struct sb_nlu_model **out,
                      struct sb_error *err)
{
    if (!path || !out)
        return sb_error_set(err, SB_EINVAL, "sb_nlu_model_load: missing argument");
    FILE *f = fopen(path, "rb");
    if (!f)
        return sb_error_set(err, SB_ENOTFOUND, "%s: cannot open model: %s", path, strerror(errno));
    struct sb_buf b;
    sb_buf_init(&b, MAX_FILE);
    char chunk[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (sb_buf_append(&b, chunk, n)) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s: model file larger than %zu bytes", path,
                              MAX_FILE);
            break;
        }
    }
    if (!rc && ferror(f))
        rc = sb_error_set(err, SB_EIO, "%s: read error", path);
    fclose(f);
    if (!rc)
        rc =
            parse_model((const unsigned char *)(b.data ? b.data : ""), b.len, path, kind, out, err);
    sb_buf_cleanup(&b);
    return rc;
}

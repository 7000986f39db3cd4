/* SPDX-License-Identifier: MIT */
/*
 * Our spoken-digit recogniser: MFCC features (mfcc.c) of the utterance against the templates
 * of labelled training recordings by dynamic time warping, and a vote of the k nearest. The
 * model is the template set, stored with 8-bit values (about 150 KB for FSDD's 300 training
 * recordings); the one built into the binary comes from src/media/fsdd_digits.model (made by
 * `switchboard eval asr --data …/fsdd --write-digits-model FILE`, see docs/media.md), and
 * SB_DIGITS_MODEL=FILE replaces it at run time. It recognises one isolated digit per
 * utterance; digit strings go to pocketsphinx.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MAGIC "SBDG"
#define MODEL_VERSION 1
#define MODEL_MAX_TEMPLATES 100000
#define MODEL_MAX_FRAMES 3000
#define MODEL_FILE_MAX (64u * 1024 * 1024)

static const char *const digit_words[10] = {"zero", "one", "two",   "three", "four",
                                            "five", "six", "seven", "eight", "nine"};

void sb__digits_model_free(struct sb__digits_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        sb__mfcc_cleanup(&m->t[i]);
    free(m->t);
    free(m->label);
    memset(m, 0, sizeof(*m));
}

void sb__digits_model_add(struct sb__digits_model *m, struct sb__mfcc *f, int label)
{
    if ((m->n & (m->n - 1)) == 0) {
        size_t cap = m->n ? m->n * 2 : 64;
        m->t = sb_realloc(m->t, cap * sizeof(*m->t));
        m->label = sb_realloc(m->label, cap);
    }
    m->t[m->n] = *f;
    m->label[m->n] = (uint8_t)label;
    m->n++;
    memset(f, 0, sizeof(*f));
}

int sb__digits_classify(const struct sb__digits_model *m, const struct sb__mfcc *f, float *conf)
{
    if (!m->n)
        return -1;
    /* best distance per class, and the k nearest overall */
    float best[10];
    for (int c = 0; c < 10; c++)
        best[c] = INFINITY;
    enum { KMAX = 15 };
    int k = m->k < 1 ? 1 : m->k > KMAX ? KMAX : m->k;
    float nd[KMAX];
    int nl[KMAX], have = 0;
    for (size_t i = 0; i < m->n; i++) {
        float d = sb__media_dtw(f, &m->t[i], m->weight);
        int l = m->label[i];
        if (d < best[l])
            best[l] = d;
        if (have < k || d < nd[have - 1]) {
            int j = have < k ? have++ : k - 1;
            while (j > 0 && nd[j - 1] > d) {
                nd[j] = nd[j - 1];
                nl[j] = nl[j - 1];
                j--;
            }
            nd[j] = d;
            nl[j] = l;
        }
    }
    /* distance-weighted vote; ties go to the nearest */
    double vote[10] = {0};
    for (int j = 0; j < have; j++)
        vote[nl[j]] += 1.0 / (nd[j] + 1e-6);
    int win = nl[0];
    for (int c = 0; c < 10; c++)
        if (vote[c] > vote[win])
            win = c;
    if (conf) {
        /* soft-min over the class distances: a clear winner is near 1 */
        double z = 0;
        for (int c = 0; c < 10; c++)
            if (isfinite(best[c]))
                z += exp(-(best[c] - best[win]) / 0.05);
        *conf = (float)(isfinite(best[win]) ? 1.0 / z : 0);
    }
    return win;
}

/* ---- model files ------------------------------------------------------------------------- */

static void put32(struct sb_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    sb_buf_append(b, x, 4);
}

static void putf(struct sb_buf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put32(b, v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float getf(const uint8_t *p)
{
    uint32_t v = get32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

int sb__digits_model_save(const struct sb__digits_model *m, struct sb_buf *out)
{
    /* per-dimension scale so that the largest magnitude maps to 127 */
    float scale[SB__MFCC_DIM] = {0};
    for (size_t i = 0; i < m->n; i++)
        for (size_t f = 0; f < m->t[i].n_frames * SB__MFCC_DIM; f++) {
            float a = fabsf(m->t[i].f[f]);
            if (a > scale[f % SB__MFCC_DIM])
                scale[f % SB__MFCC_DIM] = a;
        }
    sb_buf_append(out, MODEL_MAGIC, 4);
    put32(out, MODEL_VERSION);
    put32(out, SB__MFCC_DIM);
    put32(out, (uint32_t)m->n);
    put32(out, (uint32_t)m->k);
    for (int d = 0; d < SB__MFCC_DIM; d++)
        putf(out, m->weight[d]);
    for (int d = 0; d < SB__MFCC_DIM; d++)
        putf(out, scale[d] > 0 ? scale[d] / 127.0f : 1.0f);
    for (size_t i = 0; i < m->n; i++) {
        uint8_t h[3] = {m->label[i], (uint8_t)m->t[i].n_frames,
                        (uint8_t)(m->t[i].n_frames >> 8)};
        sb_buf_append(out, h, 3);
        /* only the cepstra: the deltas are recomputed from them on loading */
        for (size_t f = 0; f < m->t[i].n_frames; f++) {
            for (int d = 0; d < SB__MFCC_CEPS; d++) {
                float s = scale[d] > 0 ? scale[d] / 127.0f : 1.0f;
                long q = lrintf(m->t[i].f[f * SB__MFCC_DIM + (size_t)d] / s);
                int8_t v = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
                sb_buf_append(out, &v, 1);
            }
        }
    }
    return 0;
}

int sb__digits_model_load(const void *data, size_t n, struct sb__digits_model *m,
                          struct sb_error *err)
{
    const uint8_t *p = data;
    size_t head = 20 + 2 * 4 * SB__MFCC_DIM;
    if (n < head || memcmp(p, MODEL_MAGIC, 4) != 0)
        return sb_error_set(err, SB_EPARSE, "digits model: bad magic");
    if (get32(p + 4) != MODEL_VERSION)
        return sb_error_set(err, SB_EPARSE, "digits model: version %u", get32(p + 4));
    if (get32(p + 8) != SB__MFCC_DIM)
        return sb_error_set(err, SB_EPARSE, "digits model: dimension %u", get32(p + 8));
    uint32_t count = get32(p + 12), k = get32(p + 16);
    if (count == 0 || count > MODEL_MAX_TEMPLATES || k < 1 || k > 15)
        return sb_error_set(err, SB_EPARSE, "digits model: %u templates, k %u", count, k);
    struct sb__digits_model r = {.k = (int)k};
    float scale[SB__MFCC_DIM];
    for (int d = 0; d < SB__MFCC_DIM; d++) {
        r.weight[d] = getf(p + 20 + 4 * d);
        scale[d] = getf(p + 20 + 4 * SB__MFCC_DIM + 4 * d);
        if (!isfinite(r.weight[d]) || !isfinite(scale[d]) || r.weight[d] < 0)
            return sb_error_set(err, SB_EPARSE, "digits model: bad weight %d", d);
    }
    size_t off = head;
    for (uint32_t i = 0; i < count; i++) {
        if (n - off < 3) {
            sb__digits_model_free(&r);
            return sb_error_set(err, SB_EPARSE, "digits model: truncated at template %u", i);
        }
        int label = p[off];
        size_t frames = (size_t)p[off + 1] | (size_t)p[off + 2] << 8;
        off += 3;
        if (label > 9 || frames < 1 || frames > MODEL_MAX_FRAMES ||
            n - off < frames * SB__MFCC_CEPS) {
            sb__digits_model_free(&r);
            return sb_error_set(err, SB_EPARSE, "digits model: template %u malformed", i);
        }
        struct sb__mfcc f = {.n_frames = frames, .dim = SB__MFCC_DIM};
        f.f = sb_malloc(frames * SB__MFCC_DIM * sizeof(float));
        for (size_t j = 0; j < frames; j++)
            for (int d = 0; d < SB__MFCC_CEPS; d++)
                f.f[j * SB__MFCC_DIM + (size_t)d] =
                    (float)(int8_t)p[off + j * SB__MFCC_CEPS + (size_t)d] * scale[d];
        sb__mfcc_deltas(&f);
        off += frames * SB__MFCC_CEPS;
        sb__digits_model_add(&r, &f, label);
    }
    if (off != n) {
        sb__digits_model_free(&r);
        return sb_error_set(err, SB_EPARSE, "digits model: %zu trailing bytes", n - off);
    }
    *m = r;
    return 0;
}

/* ---- the built-in model -------------------------------------------------------------------- */

#ifdef SB_DIGITS_MODEL_FILE
/* The model file is assembled into the library, so the binary needs no data directory. */
__asm__(".section .rodata\n"
        ".global sb__digits_blob\n"
        ".balign 16\n"
        "sb__digits_blob:\n"
        ".incbin \"" SB_DIGITS_MODEL_FILE "\"\n"
        ".global sb__digits_blob_end\n"
        "sb__digits_blob_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const uint8_t sb__digits_blob[], sb__digits_blob_end[];
#endif

static pthread_once_t model_once = PTHREAD_ONCE_INIT;
static struct sb__digits_model builtin;
static int builtin_ok;

static void model_load_once(void)
{
    struct sb_error err = {0};
    const char *path = getenv("SB_DIGITS_MODEL");
    if (path && path[0]) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return;
        struct sb_buf b;
        sb_buf_init(&b, MODEL_FILE_MAX);
        char chunk[65536];
        size_t got;
        int rc = 0;
        while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
            rc = sb_buf_append(&b, chunk, got);
        fclose(f);
        if (!rc && b.len)
            builtin_ok = sb__digits_model_load(b.data, b.len, &builtin, &err) == 0;
        sb_buf_cleanup(&b);
        return;
    }
#ifdef SB_DIGITS_MODEL_FILE
    size_t n = (size_t)(sb__digits_blob_end - sb__digits_blob);
    builtin_ok = n > 0 && sb__digits_model_load(sb__digits_blob, n, &builtin, &err) == 0;
#endif
}

static const struct sb__digits_model *digits_model(void)
{
    pthread_once(&model_once, model_load_once);
    return builtin_ok ? &builtin : NULL;
}

static int digits_supports(enum sb_asr_mode mode)
{
    return mode == SB_ASR_DIGITS && digits_model() != NULL;
}

static int digits_recognize(const struct sb_audio *audio, const struct sb_asr_opts *opts,
                            struct sb_asr_result *out, struct sb_error *err)
{
    const struct sb__digits_model *m = digits_model();
    if (!m)
        return sb_error_set(err, SB_ECONFIG, "asr: no spoken-digit model");
    int64_t deadline = sb__media_deadline(opts ? opts->time_limit_ms : 0);
    struct sb__mfcc f = {0};
    /* one digit per utterance: bound the work on long inputs (a digit is under 2 s) */
    if ((double)audio->n / audio->rate > 10)
        return sb_error_set(err, SB_ETOOBIG, "asr: %.1f s is too long for one digit",
                            (double)audio->n / audio->rate);
    int rc = sb__media_mfcc(audio, &f);
    if (rc) {
        /* too short to hold a word: an empty transcript, not an error */
        out->text = sb_strdup("");
        out->conf = 0;
        out->engine = "digits";
        return 0;
    }
    float conf = 0;
    int d = sb__digits_classify(m, &f, &conf);
    sb__mfcc_cleanup(&f);
    if (sb__media_past(deadline))
        return sb_error_set(err, SB_ETIMEDOUT, "asr: time limit of %u ms passed",
                            opts->time_limit_ms);
    out->text = sb_strdup(d >= 0 ? digit_words[d] : "");
    out->conf = conf;
    out->engine = "digits";
    return 0;
}

const struct sb_asr_ops sb_asr_digits = {
    .api_version = SB_ASR_API_VERSION,
    .name = "digits",
    .supports = digits_supports,
    .recognize = digits_recognize,
};

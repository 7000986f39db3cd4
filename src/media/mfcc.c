/* SPDX-License-Identifier: MIT */
/*
 * Mel-frequency cepstral features for the spoken-digit recogniser: 8 kHz audio, 25 ms Hamming
 * frames every 10 ms, pre-emphasis, a 256-point FFT, SB__MFCC_MELS triangular mel filters, log,
 * DCT to SB__MFCC_CEPS cepstra (c0 = log energy), per-utterance mean (and variance)
 * normalisation, plus first-order deltas. Leading and trailing silence is cut by an energy
 * threshold relative to the loudest frames, so a voice note with pauses around the word gives
 * the same features as the trimmed training recordings.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FRAME 200 /* 25 ms at 8 kHz */
#define HOP 80    /* 10 ms */
#define NFFT 256

static void fft(double *re, double *im, int n)
{
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        double ang = -2 * M_PI / len;
        double wr = cos(ang), wi = sin(ang);
        for (int i = 0; i < n; i += len) {
            double cr = 1, ci = 0;
            for (int k = 0; k < len / 2; k++) {
                double ur = re[i + k], ui = im[i + k];
                double vr = re[i + k + len / 2] * cr - im[i + k + len / 2] * ci;
                double vi = re[i + k + len / 2] * ci + im[i + k + len / 2] * cr;
                re[i + k] = ur + vr;
                im[i + k] = ui + vi;
                re[i + k + len / 2] = ur - vr;
                im[i + k + len / 2] = ui - vi;
                double t = cr * wr - ci * wi;
                ci = cr * wi + ci * wr;
                cr = t;
            }
        }
    }
}

static double mel(double hz)
{
    return 2595 * log10(1 + hz / 700);
}

static double unmel(double m)
{
    return 700 * (pow(10, m / 2595) - 1);
}

void sb__mfcc_cleanup(struct sb__mfcc *m)
{
    if (!m)
        return;
    free(m->f);
    memset(m, 0, sizeof(*m));
}

int sb__media_mfcc(const struct sb_audio *in, struct sb__mfcc *out)
{
    struct sb_audio a8 = {0};
    int rc = sb_media_resample(in, 8000, &a8);
    if (rc)
        return rc;
    size_t n = a8.n;
    size_t frames = n >= FRAME ? 1 + (n - FRAME) / HOP : 0;
    if (frames < 3) {
        sb_audio_cleanup(&a8);
        return SB_EINVAL;
    }
    /* mel filter bank edges in FFT bins */
    double edge[SB__MFCC_MELS + 2];
    double lo = mel(60), hi = mel(3900);
    for (int i = 0; i < SB__MFCC_MELS + 2; i++)
        edge[i] = unmel(lo + (hi - lo) * i / (SB__MFCC_MELS + 1)) * NFFT / 8000.0;
    double win[FRAME];
    for (int i = 0; i < FRAME; i++)
        win[i] = 0.54 - 0.46 * cos(2 * M_PI * i / (FRAME - 1));

    double *cep = sb_malloc(frames * SB__MFCC_CEPS * sizeof(double));
    double *energy = sb_malloc(frames * sizeof(double));
    double re[NFFT], im[NFFT], logmel[SB__MFCC_MELS];
    for (size_t f = 0; f < frames; f++) {
        const int16_t *s = a8.samples + f * HOP;
        double e = 0;
        for (int i = 0; i < NFFT; i++) {
            double v = 0;
            if (i < FRAME) {
                double prev = i ? s[i - 1] : (f > 0 ? s[-1] : s[0]);
                v = (s[i] - 0.97 * prev) / 32768.0 * win[i];
                e += v * v;
            }
            re[i] = v;
            im[i] = 0;
        }
        energy[f] = log(e + 1e-10);
        fft(re, im, NFFT);
        for (int m = 0; m < SB__MFCC_MELS; m++) {
            double acc = 0;
            for (int k = (int)ceil(edge[m]); k <= (int)floor(edge[m + 2]) && k <= NFFT / 2; k++) {
                double w = k <= edge[m + 1] ? (k - edge[m]) / (edge[m + 1] - edge[m])
                                            : (edge[m + 2] - k) / (edge[m + 2] - edge[m + 1]);
                if (w > 0)
                    acc += w * (re[k] * re[k] + im[k] * im[k]);
            }
            logmel[m] = log(acc + 1e-10);
        }
        for (int c = 0; c < SB__MFCC_CEPS; c++) {
            double acc = 0;
            if (c == 0) {
                acc = energy[f];
            } else {
                for (int m = 0; m < SB__MFCC_MELS; m++)
                    acc += logmel[m] * cos(M_PI * c * (m + 0.5) / SB__MFCC_MELS);
                acc *= sqrt(2.0 / SB__MFCC_MELS);
            }
            cep[f * SB__MFCC_CEPS + c] = acc;
        }
    }
    sb_audio_cleanup(&a8);

    /* speech = frames within 40 dB... of the loudest, from the first to the last such frame */
    double emax = -1e300;
    for (size_t f = 0; f < frames; f++)
        if (energy[f] > emax)
            emax = energy[f];
    size_t first = 0, last = frames - 1;
    const double drop = log(10.0) * SB__MFCC_TRIM_DB / 10;
    while (first < frames && energy[first] < emax - drop)
        first++;
    while (last > first && energy[last] < emax - drop)
        last--;
    if (last - first + 1 < 3) {
        first = 0;
        last = frames - 1;
    }
    size_t nf = last - first + 1;
    free(energy);

    /* mean normalisation per coefficient; c0 relative to the loudest frame */
    double mean[SB__MFCC_CEPS] = {0};
    for (size_t f = first; f <= last; f++)
        for (int c = 0; c < SB__MFCC_CEPS; c++)
            mean[c] += cep[f * SB__MFCC_CEPS + c] / nf;
    mean[0] = emax;
    out->n_frames = nf;
    out->dim = SB__MFCC_DIM;
    out->f = sb_malloc(nf * SB__MFCC_DIM * sizeof(float));
    for (size_t f = 0; f < nf; f++) {
        float *o = out->f + f * SB__MFCC_DIM;
        for (int c = 0; c < SB__MFCC_CEPS; c++)
            o[c] = (float)(cep[(first + f) * SB__MFCC_CEPS + c] - mean[c]);
    }
    free(cep);
    sb__mfcc_deltas(out);
    return 0;
}

void sb__mfcc_deltas(struct sb__mfcc *m)
{
    size_t nf = m->n_frames;
    for (size_t f = 0; f < nf; f++) {
        float *o = m->f + f * SB__MFCC_DIM;
        for (int c = 0; c < SB__MFCC_CEPS; c++) {
            /* regression over ±2 frames, clamped at the ends of the speech */
            double num = 0;
            for (size_t k = 1; k <= 2; k++) {
                size_t fp = f + k >= nf ? nf - 1 : f + k;
                size_t fm = f >= k ? f - k : 0;
                num += (double)k * (m->f[fp * SB__MFCC_DIM + (size_t)c] -
                                    m->f[fm * SB__MFCC_DIM + (size_t)c]);
            }
            o[SB__MFCC_CEPS + c] = (float)(num / 10.0);
        }
    }
}

float sb__media_dtw(const struct sb__mfcc *a, const struct sb__mfcc *b, const float *weight)
{
    size_t n = a->n_frames, m = b->n_frames;
    float *prev = sb_malloc((m + 1) * sizeof(float)), *cur = sb_malloc((m + 1) * sizeof(float));
    const float inf = 1e30f;
    for (size_t j = 0; j <= m; j++)
        prev[j] = inf;
    prev[0] = 0;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = inf;
        const float *x = a->f + (i - 1) * SB__MFCC_DIM;
        for (size_t j = 1; j <= m; j++) {
            const float *y = b->f + (j - 1) * SB__MFCC_DIM;
            float d = 0;
            for (int k = 0; k < SB__MFCC_DIM; k++) {
                float t = x[k] - y[k];
                d += weight[k] * t * t;
            }
            d = sqrtf(d);
            /* symmetric steps: the diagonal counts twice, so path costs are comparable */
            float best = prev[j - 1] + 2 * d;
            if (prev[j] + d < best)
                best = prev[j] + d;
            if (cur[j - 1] + d < best)
                best = cur[j - 1] + d;
            cur[j] = best;
        }
        float *t = prev;
        prev = cur;
        cur = t;
    }
    float r = prev[m] / (float)(n + m);
    free(prev);
    free(cur);
    return r;
}

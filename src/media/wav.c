/* SPDX-License-Identifier: MIT */
/*
 * Our own RIFF/WAVE parser and resampler. Voice notes arrive from customers, so the parser trusts
 * nothing: every chunk size is checked against the bytes that remain, the decoded length is
 * bounded in bytes and seconds before anything is allocated, and compressed or odd formats are
 * refused with a message that names the field. Output is always mono 16-bit PCM; the resampler
 * is a windowed-sinc interpolator whose cut-off follows the lower of the two rates, so
 * downsampling does not alias and upsampling does not image.
 */
#include "sb/media.h"
#include "sb/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WAVE_PCM 1
#define WAVE_FLOAT 3
#define WAVE_EXTENSIBLE 0xFFFE

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

void sb_audio_cleanup(struct sb_audio *a)
{
    if (!a)
        return;
    free(a->samples);
    memset(a, 0, sizeof(*a));
}

/* One sample of `bits` at p as a value in [-1, 1). */
static double sample_at(const uint8_t *p, int bits, int is_float)
{
    if (is_float) {
        float f;
        uint32_t u = rd32(p);
        memcpy(&f, &u, sizeof f);
        if (!isfinite(f))
            return 0;
        return f < -1 ? -1 : f > 1 ? 1 : f;
    }
    switch (bits) {
    case 8:
        return ((int)p[0] - 128) / 128.0;
    case 16:
        return (int16_t)rd16(p) / 32768.0;
    case 24: {
        int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24);
        return (v >> 8) / 8388608.0;
    }
    default:
        return (int32_t)rd32(p) / 2147483648.0;
    }
}

static int16_t to_s16(double v)
{
    double s = v * 32768.0;
    if (s > 32767)
        s = 32767;
    if (s < -32768)
        s = -32768;
    return (int16_t)lrint(s);
}

int sb_media_wav_parse(const void *data, size_t n, size_t max_bytes, uint32_t max_seconds,
                       struct sb_audio *out, struct sb_error *err)
{
    const uint8_t *b = data;
    if (!max_bytes)
        max_bytes = SB_MEDIA_WAV_MAX_BYTES;
    if (!max_seconds)
        max_seconds = SB_MEDIA_WAV_MAX_SECONDS;
    if (!data && n)
        return sb_error_set(err, SB_EINVAL, "wav: no data");
    if (n > max_bytes)
        return sb_error_set(err, SB_ETOOBIG, "wav: %zu bytes, limit %zu", n, max_bytes);
    if (n < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WAVE", 4) != 0)
        return sb_error_set(err, SB_EPARSE, "wav: not a RIFF/WAVE file");

    /* The RIFF size may be wrong in files from streaming recorders; the buffer bounds rule. */
    size_t end = n;
    uint32_t riff = rd32(b + 4);
    if ((uint64_t)riff + 8 < end && riff >= 4)
        end = (size_t)riff + 8;

    int have_fmt = 0, channels = 0, bits = 0, is_float = 0;
    uint32_t rate = 0;
    size_t block = 0;
    const uint8_t *pcm = NULL;
    size_t pcm_len = 0;
    size_t off = 12;
    while (off + 8 <= end) {
        const uint8_t *ck = b + off;
        uint32_t size = rd32(ck + 4);
        size_t avail = end - off - 8;
        if (memcmp(ck, "data", 4) == 0) {
            if (!have_fmt)
                return sb_error_set(err, SB_EPARSE, "wav: data chunk before fmt chunk");
            pcm = ck + 8;
            /* a truncated data chunk (recording cut short) keeps what is there */
            pcm_len = size < avail ? size : avail;
            break;
        }
        if (size > avail) {
            char id[5];
            for (int i = 0; i < 4; i++)
                id[i] = ck[i] >= 0x20 && ck[i] < 0x7f ? (char)ck[i] : '?';
            id[4] = 0;
            return sb_error_set(err, SB_EPARSE, "wav: chunk '%s' at %zu: size %u past end", id,
                                off, size);
        }
        if (memcmp(ck, "fmt ", 4) == 0) {
            if (have_fmt)
                return sb_error_set(err, SB_EPARSE, "wav: two fmt chunks");
            if (size < 16)
                return sb_error_set(err, SB_EPARSE, "wav: fmt chunk of %u bytes", size);
            const uint8_t *f = ck + 8;
            uint16_t tag = rd16(f);
            channels = rd16(f + 2);
            rate = rd32(f + 4);
            block = rd16(f + 12);
            bits = rd16(f + 14);
            if (tag == WAVE_EXTENSIBLE) {
                if (size < 40)
                    return sb_error_set(err, SB_EPARSE, "wav: extensible fmt of %u bytes", size);
                tag = rd16(f + 24); /* first two bytes of the sub-format GUID */
                int valid = rd16(f + 18);
                if (valid && valid != bits && bits != 32 && bits != 24)
                    return sb_error_set(err, SB_EUNSUPPORTED, "wav: %d valid bits in %d",
                                        valid, bits);
            }
            if (tag == WAVE_FLOAT) {
                if (bits != 32)
                    return sb_error_set(err, SB_EUNSUPPORTED, "wav: %d-bit float", bits);
                is_float = 1;
            } else if (tag != WAVE_PCM) {
                return sb_error_set(err, SB_EUNSUPPORTED, "wav: format tag %u (compressed)", tag);
            }
            if (bits != 8 && bits != 16 && bits != 24 && bits != 32)
                return sb_error_set(err, SB_EUNSUPPORTED, "wav: %d bits per sample", bits);
            if (channels < 1 || channels > 8)
                return sb_error_set(err, SB_EUNSUPPORTED, "wav: %d channels", channels);
            if (rate < 4000 || rate > 96000)
                return sb_error_set(err, SB_EUNSUPPORTED, "wav: sample rate %u", rate);
            if (block != (size_t)channels * (size_t)(bits / 8))
                return sb_error_set(err, SB_EPARSE, "wav: block align %zu for %d x %d bits",
                                    block, channels, bits);
            have_fmt = 1;
        }
        off += 8 + (size_t)size + (size & 1);
    }
    if (!have_fmt)
        return sb_error_set(err, SB_EPARSE, "wav: no fmt chunk");
    if (!pcm)
        return sb_error_set(err, SB_EPARSE, "wav: no data chunk");
    size_t frames = pcm_len / block;
    if (frames == 0)
        return sb_error_set(err, SB_EPARSE, "wav: no audio frames");
    if (frames / rate >= max_seconds)
        return sb_error_set(err, SB_ETOOBIG, "wav: %.1f s of audio, limit %u s",
                            (double)frames / rate, max_seconds);

    int16_t *s = sb_malloc(frames * sizeof(int16_t));
    size_t bps = (size_t)bits / 8;
    for (size_t i = 0; i < frames; i++) {
        double acc = 0;
        for (int c = 0; c < channels; c++)
            acc += sample_at(pcm + i * block + (size_t)c * bps, bits, is_float);
        s[i] = to_s16(acc / channels);
    }
    out->samples = s;
    out->n = frames;
    out->rate = (int)rate;
    return 0;
}

/* sinc(x) * Blackman window over |x| < half taps */
static double kernel(double x, double half)
{
    if (fabs(x) >= half)
        return 0;
    double w = 0.42 + 0.5 * cos(M_PI * x / half) + 0.08 * cos(2 * M_PI * x / half);
    if (fabs(x) < 1e-9)
        return w;
    return w * sin(M_PI * x) / (M_PI * x);
}

int sb_media_resample(const struct sb_audio *in, int rate, struct sb_audio *out)
{
    if (!in || !out || rate < 1000 || rate > 192000 || in->rate < 1000 || in->rate > 192000)
        return SB_EINVAL;
    if (in->rate == rate || in->n == 0) {
        out->samples = sb_malloc((in->n ? in->n : 1) * sizeof(int16_t));
        if (in->n)
            memcpy(out->samples, in->samples, in->n * sizeof(int16_t));
        out->n = in->n;
        out->rate = rate;
        return 0;
    }
    double ratio = (double)rate / in->rate;
    size_t n = (size_t)floor((double)in->n * ratio);
    if (n == 0)
        n = 1;
    /* cut-off at the lower Nyquist frequency, slightly below to leave the window room */
    double fc = (ratio < 1 ? ratio : 1.0) * 0.95;
    const double half = 16; /* kernel half-width in units of the cut-off period */
    int16_t *s = sb_malloc(n * sizeof(int16_t));
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / ratio; /* position in input samples */
        double reach = half / fc;
        long lo = (long)ceil(t - reach), hi = (long)floor(t + reach);
        if (lo < 0)
            lo = 0;
        if (hi > (long)in->n - 1)
            hi = (long)in->n - 1;
        double acc = 0, wsum = 0;
        for (long k = lo; k <= hi; k++) {
            double w = fc * kernel((t - (double)k) * fc, half);
            acc += w * in->samples[k];
            wsum += w;
        }
        (void)wsum;
        s[i] = to_s16(acc / 32768.0);
    }
    out->samples = s;
    out->n = n;
    out->rate = rate;
    return 0;
}

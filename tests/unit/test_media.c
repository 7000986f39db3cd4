/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the media module: the WAV parser on good and malformed headers, the resampler,
 * the scoring metrics, key-field extraction on synthetic line lists, engine registration
 * checks, corrupt inputs through the pipeline entry points, an OCR smoke test on one SROIE
 * receipt and ASR on one FSDD recording (both from ../shared, skipped when absent).
 */
#include "../../src/media/media_internal.h"
#include "../../src/media/media_metrics.h"
#include "sb/mem.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

/* A canonical 44-byte-header WAV of `frames` frames of a 440 Hz tone; free() it. */
static uint8_t *make_wav(unsigned rate, unsigned bits, unsigned ch, unsigned tag, size_t frames,
                         size_t *len)
{
    size_t block = ch * bits / 8, data = frames * block;
    uint8_t *b = sb_calloc(1, 44 + data);
    memcpy(b, "RIFF", 4);
    put32(b + 4, (uint32_t)(36 + data));
    memcpy(b + 8, "WAVEfmt ", 8);
    put32(b + 16, 16);
    put16(b + 20, tag);
    put16(b + 22, ch);
    put32(b + 24, rate);
    put32(b + 28, (uint32_t)(rate * block));
    put16(b + 32, (unsigned)block);
    put16(b + 34, bits);
    memcpy(b + 36, "data", 4);
    put32(b + 40, (uint32_t)data);
    for (size_t i = 0; i < frames; i++) {
        double v = 0.5 * sin(2 * M_PI * 440 * (double)i / rate);
        for (unsigned c = 0; c < ch; c++) {
            uint8_t *p = b + 44 + i * block + c * bits / 8;
            if (tag == 3) {
                float f = (float)v;
                uint32_t u;
                memcpy(&u, &f, 4);
                put32(p, u);
            } else if (bits == 8) {
                p[0] = (uint8_t)(128 + lrint(v * 127));
            } else {
                put16(p, (unsigned)(uint16_t)(int16_t)lrint(v * 32767));
            }
        }
    }
    *len = 44 + data;
    return b;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct sb_buf b;
    sb_buf_init(&b, 0);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_buf_append(&b, chunk, got);
    fclose(f);
    *len = b.len;
    return sb_buf_steal(&b, NULL);
}

/* ---- WAV ---------------------------------------------------------------------------------- */

static void test_wav_good(void **state)
{
    (void)state;
    size_t len;
    struct sb_audio a = {0};
    struct sb_error err = {0};
    uint8_t *w = make_wav(8000, 16, 1, 1, 800, &len);
    assert_int_equal(sb_media_wav_parse(w, len, 0, 0, &a, &err), 0);
    assert_int_equal(a.rate, 8000);
    assert_int_equal(a.n, 800);
    /* sample 5 of a 440 Hz tone at half scale */
    assert_true(abs(a.samples[5] - (int)lrint(0.5 * 32767 * sin(2 * M_PI * 440 * 5 / 8000.0))) <= 1);
    sb_audio_cleanup(&a);
    free(w);

    /* 8-bit stereo mixes down to mono */
    w = make_wav(16000, 8, 2, 1, 160, &len);
    assert_int_equal(sb_media_wav_parse(w, len, 0, 0, &a, &err), 0);
    assert_int_equal(a.n, 160);
    assert_int_equal(a.rate, 16000);
    sb_audio_cleanup(&a);
    free(w);

    /* 32-bit float */
    w = make_wav(22050, 32, 1, 3, 100, &len);
    assert_int_equal(sb_media_wav_parse(w, len, 0, 0, &a, &err), 0);
    assert_int_equal(a.n, 100);
    sb_audio_cleanup(&a);
    free(w);

    /* a data chunk cut short keeps the frames that are there */
    w = make_wav(8000, 16, 1, 1, 100, &len);
    assert_int_equal(sb_media_wav_parse(w, len - 50, 0, 0, &a, &err), 0);
    assert_int_equal(a.n, 75);
    sb_audio_cleanup(&a);
    free(w);
}

static void expect_wav_error(const uint8_t *w, size_t len, int code, const char *msg_part)
{
    struct sb_audio a = {0};
    struct sb_error err = {0};
    int rc = sb_media_wav_parse(w, len, 4096, 1, &a, &err);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.msg, msg_part));
    assert_null(a.samples);
}

static void test_wav_malformed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *w = make_wav(8000, 16, 1, 1, 100, &len);
    uint8_t *c = sb_malloc(len);

    expect_wav_error(w, 10, SB_EPARSE, "not a RIFF");
    memcpy(c, w, len);
    memcpy(c + 8, "AVI ", 4);
    expect_wav_error(c, len, SB_EPARSE, "not a RIFF");

    memcpy(c, w, len);
    put16(c + 20, 85); /* MPEG layer 3 */
    expect_wav_error(c, len, SB_EUNSUPPORTED, "compressed");

    memcpy(c, w, len);
    put16(c + 22, 0); /* no channels */
    expect_wav_error(c, len, SB_EUNSUPPORTED, "channels");

    memcpy(c, w, len);
    put32(c + 24, 1000); /* 1 kHz */
    expect_wav_error(c, len, SB_EUNSUPPORTED, "sample rate");

    memcpy(c, w, len);
    put16(c + 32, 3); /* block align */
    expect_wav_error(c, len, SB_EPARSE, "block align");

    memcpy(c, w, len);
    put32(c + 16, 0x7fffffff); /* fmt chunk size past the end */
    expect_wav_error(c, len, SB_EPARSE, "past end");

    memcpy(c, w, len);
    memcpy(c + 12, "data", 4); /* data before fmt */
    expect_wav_error(c, len, SB_EPARSE, "before fmt");

    memcpy(c, w, len);
    memcpy(c + 36, "junk", 4);
    expect_wav_error(c, len, SB_EPARSE, "no data chunk");

    expect_wav_error(w, 44, SB_EPARSE, "no audio frames");
    free(w);
    free(c);

    /* limits: bytes, then seconds */
    w = make_wav(8000, 16, 1, 1, 8000 * 2, &len);
    expect_wav_error(w, len, SB_ETOOBIG, "limit");
    struct sb_audio a = {0};
    struct sb_error err = {0};
    assert_int_equal(sb_media_wav_parse(w, len, 0, 1, &a, &err), SB_ETOOBIG);
    assert_non_null(strstr(err.msg, "s of audio"));
    assert_int_equal(sb_media_wav_parse(w, len, 0, 3, &a, &err), 0);
    sb_audio_cleanup(&a);
    free(w);
}

/* ---- resampler ---------------------------------------------------------------------------- */

static double rms(const struct sb_audio *a, size_t from, size_t to)
{
    double e = 0;
    for (size_t i = from; i < to; i++)
        e += (double)a->samples[i] * a->samples[i];
    return sqrt(e / (double)(to - from));
}

static size_t crossings(const struct sb_audio *a)
{
    size_t c = 0;
    for (size_t i = 1; i < a->n; i++)
        c += (a->samples[i - 1] < 0) != (a->samples[i] < 0);
    return c;
}

static struct sb_audio tone(int rate, double hz, size_t n)
{
    struct sb_audio a = {.rate = rate, .n = n};
    a.samples = sb_malloc(n * sizeof(int16_t));
    for (size_t i = 0; i < n; i++)
        a.samples[i] = (int16_t)lrint(10000 * sin(2 * M_PI * hz * (double)i / rate));
    return a;
}

static void test_resample(void **state)
{
    (void)state;
    struct sb_audio in = tone(8000, 440, 8000), out = {0};
    assert_int_equal(sb_media_resample(&in, 16000, &out), 0);
    assert_int_equal(out.rate, 16000);
    assert_int_equal(out.n, 16000);
    /* same frequency (zero crossings per second) and level */
    assert_true(labs((long)crossings(&out) - (long)crossings(&in)) <= 2);
    assert_true(fabs(rms(&out, 1000, 15000) / rms(&in, 500, 7500) - 1) < 0.03);
    sb_audio_cleanup(&out);
    sb_audio_cleanup(&in);

    /* downsampling removes what the new rate cannot hold: 6 kHz at 16k → 8k */
    in = tone(16000, 6000, 16000);
    assert_int_equal(sb_media_resample(&in, 8000, &out), 0);
    assert_int_equal(out.n, 8000);
    assert_true(rms(&out, 500, 7500) < 0.02 * rms(&in, 500, 15500));
    sb_audio_cleanup(&out);
    /* while a 1 kHz tone passes */
    sb_audio_cleanup(&in);
    in = tone(16000, 1000, 16000);
    assert_int_equal(sb_media_resample(&in, 8000, &out), 0);
    assert_true(fabs(rms(&out, 500, 7500) / rms(&in, 500, 15500) - 1) < 0.03);
    sb_audio_cleanup(&out);

    assert_int_equal(sb_media_resample(&in, 10, &out), SB_EINVAL);
    assert_int_equal(sb_media_resample(&in, 16000, &out), 0); /* same rate: a copy */
    assert_memory_equal(out.samples, in.samples, in.n * sizeof(int16_t));
    sb_audio_cleanup(&out);
    sb_audio_cleanup(&in);
}

/* ---- metrics ------------------------------------------------------------------------------ */

static void test_metrics(void **state)
{
    (void)state;
    assert_true(fabs(sb__media_word_f1("Total 9.00", "TOTAL 9.00") - 1) < 1e-9);
    /* pred 3 words, ref 2, 1 in common: P 1/3, R 1/2 → F1 0.4 */
    assert_true(fabs(sb__media_word_f1("a b c", "a d") - 0.4) < 1e-9);
    assert_true(sb__media_word_f1("", "x") == 0);
    size_t d, m;
    assert_true(fabs(sb__media_cer("abcd", "abed", &d, &m) - 0.25) < 1e-9);
    assert_int_equal(d, 1);
    assert_int_equal(m, 4);
    assert_true(fabs(sb__media_cer("  AB\n cd ", "ab cd", NULL, NULL)) < 1e-9);
    assert_true(fabs(sb__media_wer("one two", "one three four", NULL, NULL) - 2.0 / 3) < 1e-9);
    char *n = sb__media_norm("  a\tb \n c ");
    assert_string_equal(n, "A B C");
    free(n);
}

/* ---- key fields --------------------------------------------------------------------------- */

static void add(struct sb_ocr_page *p, const char *t, int y, int h, float conf)
{
    sb_ocr_page_add_line(p, t, (struct sb_box){40, y, 300, h}, conf);
}

static void test_key_fields(void **state)
{
    (void)state;
    struct sb_ocr_page p = {0};
    add(&p, "tan woon yann", 20, 30, 0.9f);             /* a stamp, lower case */
    add(&p, "GOLDEN LEAF TRADING SDN BHD", 70, 24, 0.9f); /* the seller, larger print */
    add(&p, "(123456-K)", 96, 16, 0.8f);
    add(&p, "NO. 12, JALAN MAJU 3,", 116, 16, 0.9f);
    add(&p, "TAMAN INDAH,", 136, 16, 0.9f);
    add(&p, "81100 JOHOR BAHRU, JOHOR.", 156, 16, 0.9f);
    add(&p, "TEL: 07-3521234", 176, 16, 0.9f);
    add(&p, "TAX INVOICE", 210, 16, 0.9f);
    add(&p, "DATE: 05/03/2018 12:30 PM", 240, 16, 0.9f);
    add(&p, "RICE 2 5.00 10.00", 280, 16, 0.9f);
    add(&p, "TEA 1 2.46 2.46", 300, 16, 0.9f);
    add(&p, "SUB TOTAL 12.46", 330, 16, 0.9f);
    add(&p, "TOTAL QTY 3", 350, 16, 0.9f);
    add(&p, "GST 6% 0.74", 370, 16, 0.9f);
    add(&p, "ROUNDING -0.01", 390, 16, 0.9f);
    add(&p, "ROUNDED TOTAL (RM) 12.45", 410, 16, 0.9f);
    add(&p, "CASH 20.00", 430, 16, 0.9f);
    add(&p, "CHANGE 7.55", 450, 16, 0.9f);
    add(&p, "THANK YOU", 480, 16, 0.9f);
    sb_ocr_page_finish(&p);
    struct sb_receipt_fields f;
    sb_media_receipt_fields(&p, &f);
    assert_string_equal(f.company, "GOLDEN LEAF TRADING SDN BHD");
    assert_string_equal(f.address, "NO. 12, JALAN MAJU 3, TAMAN INDAH, 81100 JOHOR BAHRU, JOHOR.");
    assert_string_equal(f.date, "05/03/2018");
    assert_string_equal(f.total, "12.45");
    for (int i = 0; i < 4; i++)
        assert_true(f.conf[i] >= 0 && f.conf[i] <= 1);
    sb_receipt_fields_cleanup(&f);
    sb_ocr_page_cleanup(&p);

    /* amount on the row below its label, decimal comma, a date with a month name */
    add(&p, "Kedai Runcit Ah Seng", 10, 20, 0.9f);
    add(&p, "Invoice 12 Mar 2019", 40, 16, 0.9f);
    add(&p, "Item 4,50", 60, 16, 0.9f);
    add(&p, "Grand Total", 80, 16, 0.9f);
    add(&p, "RM 1.204,50", 98, 16, 0.9f);
    sb_ocr_page_finish(&p);
    sb_media_receipt_fields(&p, &f);
    assert_string_equal(f.date, "12 Mar 2019");
    assert_string_equal(f.total, "1204.50");
    sb_receipt_fields_cleanup(&f);
    sb_ocr_page_cleanup(&p);

    /* nothing to find: empty strings, never NULL */
    sb_media_receipt_fields(&p, &f);
    assert_string_equal(f.company, "");
    assert_string_equal(f.total, "");
    sb_receipt_fields_cleanup(&f);
}

/* ---- contracts and corrupt input ---------------------------------------------------------- */

static int no_recognize(const struct sb_image *img, const struct sb_ocr_opts *o,
                        struct sb_ocr_page *out, struct sb_error *err)
{
    (void)img, (void)o, (void)out;
    return sb_error_set(err, SB_EINTERNAL, "unused");
}

static void test_engine_checks(void **state)
{
    (void)state;
    struct sb_error err = {0};
    assert_int_equal(sb_ocr_engine_check(&sb_ocr_tesseract, &err), 0);
    assert_int_equal(sb_asr_engine_check(&sb_asr_pocketsphinx, &err), 0);
    assert_int_equal(sb_asr_engine_check(&sb_asr_digits, &err), 0);
    const struct sb_ocr_ops no_method = {.api_version = SB_OCR_API_VERSION, .name = "x"};
    assert_int_equal(sb_ocr_engine_check(&no_method, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "recognize"));
    const struct sb_ocr_ops old = {.api_version = 0, .name = "y", .recognize = no_recognize};
    assert_int_equal(sb_ocr_engine_check(&old, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "version"));
    const struct sb_asr_ops half = {.api_version = SB_ASR_API_VERSION, .name = "z"};
    assert_int_equal(sb_asr_engine_check(&half, &err), SB_EINVAL);
}

static void test_corrupt_inputs(void **state)
{
    (void)state;
    struct sb_error err = {0};
    struct sb_ocr_result r = {0};
    static const char text[] = "hello, this is not an image";
    assert_int_equal(sb_media_ocr_image(text, sizeof text, NULL, NULL, &r, &err),
                     SB_EUNSUPPORTED);
    /* JPEG magic then garbage */
    uint8_t junk[600];
    memset(junk, 0x5a, sizeof junk);
    junk[0] = 0xff, junk[1] = 0xd8, junk[2] = 0xff, junk[3] = 0xe0;
    int rc = sb_media_ocr_image(junk, sizeof junk, NULL, NULL, &r, &err);
    assert_true(rc == SB_EPARSE || rc == SB_EUNSUPPORTED);
    assert_null(r.page.text);
    struct sb_image img = {0};
    assert_int_equal(sb_media_image_decode(junk, sizeof junk, 0, 0, &img, &err), SB_EPARSE);

    struct sb_asr_result ar = {0};
    assert_int_equal(sb_media_asr_wav(text, sizeof text, NULL, NULL, &ar, &err),
                     SB_EUNSUPPORTED);
    size_t len;
    uint8_t *w = make_wav(8000, 16, 1, 1, 100, &len);
    put16(w + 32, 7);
    assert_int_equal(sb_media_asr_wav(w, len, NULL, NULL, &ar, &err), SB_EPARSE);
    free(w);
    const struct sb_asr_opts bad = {.mode = SB_ASR_OPTIONS};
    assert_int_equal(sb_media_asr_wav(text, sizeof text, &bad, NULL, &ar, &err), SB_EINVAL);
}

/* ---- real data (skipped without ../shared) ------------------------------------------------- */

static void test_ocr_receipt(void **state)
{
    (void)state;
    size_t len;
    char *jpg = slurp(SB_SHARED_DIR "/bench/data/sroie/img/000.jpg", &len);
    if (!jpg)
        skip();
    struct sb_ocr_opts o = {.preprocess = SB_OCR_PRE_DEFAULT, .key_fields = 1};
    struct sb_ocr_result r = {0};
    struct sb_error err = {0};
    assert_int_equal(sb_media_ocr_image(jpg, len, &o, NULL, &r, &err), 0);
    assert_string_equal(r.mime, "image/jpeg");
    assert_true(r.page.n_lines > 20);
    assert_non_null(strstr(r.page.text, "JOHOR"));
    assert_string_equal(r.fields.date, "25/12/2018");
    assert_non_null(strstr(r.fields.company, "SDN BHD"));
    for (size_t i = 0; i < r.page.n_lines; i++) {
        const struct sb_box *b = &r.page.lines[i].box;
        assert_true(b->x >= 0 && b->y >= 0 && b->x + b->w <= r.page.width &&
                    b->y + b->h <= r.page.height);
    }
    sb_media_ocr_result_cleanup(&r);

    /* a time limit that cannot be met is an error, not a partial result */
    o.time_limit_ms = 1;
    assert_int_equal(sb_media_ocr_image(jpg, len, &o, NULL, &r, &err), SB_ETIMEDOUT);
    assert_null(r.page.text);
    /* and a size limit */
    o.time_limit_ms = 0;
    o.max_bytes = 1000;
    assert_int_equal(sb_media_ocr_image(jpg, len, &o, NULL, &r, &err), SB_ETOOBIG);
    o.max_bytes = 0;
    o.max_pixels = 1000;
    assert_int_equal(sb_media_ocr_image(jpg, len, &o, NULL, &r, &err), SB_ETOOBIG);
    free(jpg);
    sb_media_thread_cleanup();
}

static void test_asr_digit(void **state)
{
    (void)state;
    size_t len;
    char *wav = slurp(SB_SHARED_DIR "/bench/data/fsdd/wav/7_jackson_5.wav", &len);
    if (!wav)
        skip();
    struct sb_asr_opts o = {.mode = SB_ASR_DIGITS};
    struct sb_asr_result r = {0};
    struct sb_error err = {0};
    assert_int_equal(sb_media_asr_wav(wav, len, &o, NULL, &r, &err), 0);
    assert_string_equal(r.engine, "digits");
    assert_string_equal(r.text, "seven");
    assert_true(r.conf > 0.5f && r.conf <= 1);
    assert_true(r.audio_seconds > 0.2 && r.audio_seconds < 2);
    sb_media_asr_result_cleanup(&r);

    /* pocketsphinx with the digits grammar: a digit word (which one is its business) */
    assert_int_equal(sb_media_asr_wav(wav, len, &o, &sb_asr_pocketsphinx, &r, &err), 0);
    assert_string_equal(r.engine, "pocketsphinx");
    static const char *const digits[] = {"zero", "one", "two",   "three", "four",
                                         "five", "six", "seven", "eight", "nine"};
    int ok = r.text[0] == 0;
    for (int i = 0; i < 10; i++)
        ok |= strstr(r.text, digits[i]) != NULL;
    assert_true(ok);
    sb_media_asr_result_cleanup(&r);

    /* option lists: unknown words are refused with the word named */
    static const char *const opts[] = {"billing", "technical support", "zzqxv"};
    o.mode = SB_ASR_OPTIONS;
    o.options = opts;
    o.n_options = 3;
    assert_int_equal(sb_media_asr_wav(wav, len, &o, NULL, &r, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "zzqxv"));
    o.n_options = 2;
    assert_int_equal(sb_media_asr_wav(wav, len, &o, NULL, &r, &err), 0);
    assert_true(strcmp(r.text, "billing") == 0 || strcmp(r.text, "technical support") == 0 ||
                r.text[0] == 0);
    sb_media_asr_result_cleanup(&r);
    free(wav);
    sb_media_thread_cleanup();
}

static void test_digits_model_roundtrip(void **state)
{
    (void)state;
    struct sb__digits_model m = {.k = 1};
    for (int d = 0; d < SB__MFCC_DIM; d++)
        m.weight[d] = 1;
    for (int lab = 0; lab < 3; lab++) {
        struct sb_audio a = tone(8000, 300 + 400 * lab, 4000);
        struct sb__mfcc f = {0};
        assert_int_equal(sb__media_mfcc(&a, &f), 0);
        sb__digits_model_add(&m, &f, lab);
        sb_audio_cleanup(&a);
    }
    struct sb_buf b;
    sb_buf_init(&b, 0);
    assert_int_equal(sb__digits_model_save(&m, &b), 0);
    struct sb__digits_model l = {0};
    struct sb_error err = {0};
    assert_int_equal(sb__digits_model_load(b.data, b.len, &l, &err), 0);
    assert_int_equal(l.n, 3);
    /* each tone is recognised as itself after the 8-bit round trip */
    for (int lab = 0; lab < 3; lab++) {
        struct sb_audio a = tone(8000, 300 + 400 * lab, 4000);
        struct sb__mfcc f = {0};
        assert_int_equal(sb__media_mfcc(&a, &f), 0);
        assert_int_equal(sb__digits_classify(&l, &f, NULL), lab);
        sb__mfcc_cleanup(&f);
        sb_audio_cleanup(&a);
    }
    /* every truncation is refused */
    for (size_t cut = 0; cut < b.len; cut += 97)
        assert_int_equal(sb__digits_model_load(b.data, cut, &l, &err) == 0, 0);
    sb__digits_model_free(&l);
    sb__digits_model_free(&m);
    sb_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wav_good),       cmocka_unit_test(test_wav_malformed),
        cmocka_unit_test(test_resample),       cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_key_fields),     cmocka_unit_test(test_engine_checks),
        cmocka_unit_test(test_corrupt_inputs), cmocka_unit_test(test_digits_model_roundtrip),
        cmocka_unit_test(test_ocr_receipt),    cmocka_unit_test(test_asr_digit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

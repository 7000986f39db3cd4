/* SPDX-License-Identifier: MIT */
/*
 * `switchboard eval ocr|asr --data DIR [--json] [--predictions OUT.jsonl] ...`: runs the media
 * recognisers over a labelled folder (labels.jsonl + the files it names, as in
 * ../shared/bench/data/sroie and fsdd) and reports
 *   ocr: n, word_f1 (mean per image), cer (total edits / total reference characters),
 *        key_exact per field and mean, s_per_image;
 *   asr: n, accuracy (exact transcript), wer, rtf (recognition time / audio time).
 * Everything goes through the same entry points the pipeline uses (sb_media_ocr_image,
 * sb_media_asr_wav), so the figures measure what production runs.
 */
#include "media_internal.h"
#include "media_metrics.h"
#include "sb/cli.h"
#include "sb/clock.h"
#include "sb/json.h"
#include "sb/mem.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LABEL_LINE_MAX (4u * 1024 * 1024)
#define MEDIA_FILE_MAX (64u * 1024 * 1024)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: switchboard eval ocr --data DIR [--json] [--predictions OUT.jsonl]\n"
            "           [--lang L] [--psm N]\n"
            "           [--pre upscale,merge,ppocr,deskew,binarize,normalize,reread|none]\n"
            "           [--lines CACHED.jsonl|gold]  (key fields from cached OCR lines, no OCR)\n"
            "           [--lexicon-from DIR | --lexicon-cv] [--lexicon-min-df N]\n"
            "           (correct words towards a lexicon of DIR's transcripts, or per\n"
            "            shop-grouped fold from the other folds' transcripts)\n"
            "       switchboard eval asr --data DIR [--grammar digits|yesno|free] [--json]\n"
            "           [--predictions OUT.jsonl] [--engine auto|pocketsphinx|digits]\n"
            "       switchboard eval asr --data DIR --cv index|speaker [--k K] [--delta-weight W]\n"
            "       switchboard eval asr --data DIR --write-digits-model FILE [--k K] ...\n"
            "DIR holds labels.jsonl ({\"file\", \"text\", [\"key\"]} per line) and the files.\n");
}

static int read_file(const char *path, size_t max, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return SB_ENOTFOUND;
    struct sb_buf b;
    sb_buf_init(&b, max);
    char chunk[65536];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = sb_buf_append(&b, chunk, got)) != 0)
            break;
    if (!rc && ferror(f))
        rc = SB_EIO;
    fclose(f);
    if (rc) {
        sb_buf_cleanup(&b);
        return rc;
    }
    *len = b.len;
    *data = b.data ? sb_buf_steal(&b, NULL) : sb_strdup("");
    sb_buf_cleanup(&b);
    return 0;
}

/* One labels.jsonl line per item: returns the parsed objects in order. */
static int load_labels(const char *dir, json_t **out, size_t *n_out)
{
    char *path = sb_strdupf("%s/labels.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "switchboard eval: cannot open %s: %s\n", path, strerror(errno));
        free(path);
        return 1;
    }
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, rc = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        lineno++;
        if ((size_t)got > LABEL_LINE_MAX) {
            fprintf(stderr, "%s:%d: line too long\n", path, lineno);
            rc = 1;
            break;
        }
        if (got == 1 && line[0] == '\n')
            continue;
        json_t *v = NULL;
        struct sb_error err = {0};
        if (sb_json_parse(line, (size_t)got, LABEL_LINE_MAX, 16, &v, &err) != 0 ||
            !json_is_object(v) || !json_is_string(json_object_get(v, "file"))) {
            fprintf(stderr, "%s:%d: %s\n", path, lineno,
                    err.msg[0] ? err.msg : "expected an object with \"file\"");
            json_decref(v);
            rc = 1;
            break;
        }
        json_array_append_new(arr, v);
    }
    free(line);
    fclose(f);
    free(path);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    *n_out = json_array_size(arr);
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static unsigned parse_pre(const char *s)
{
    if (strcmp(s, "none") == 0)
        return 0;
    unsigned bits = 0;
    char *copy = sb_strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "upscale") == 0)
            bits |= SB_OCR_PRE_UPSCALE;
        else if (strcmp(t, "deskew") == 0)
            bits |= SB_OCR_PRE_DESKEW;
        else if (strcmp(t, "binarize") == 0)
            bits |= SB_OCR_PRE_BINARIZE;
        else if (strcmp(t, "normalize") == 0)
            bits |= SB_OCR_PRE_NORMALIZE;
        else if (strcmp(t, "reread") == 0)
            bits |= SB_OCR_PRE_REREAD;
        else if (strcmp(t, "merge") == 0)
            bits |= SB_OCR_PRE_MERGE;
        else if (strcmp(t, "ppocr") == 0)
            bits |= SB_OCR_PRE_PPOCR;
        else {
            free(copy);
            return SB_OCR_PRE_DEFAULT - 1; /* marks "invalid" */
        }
    }
    free(copy);
    return bits;
}

static FILE *open_predictions(const char *path, char **tmp)
{
    if (!path)
        return NULL;
    *tmp = sb_strdupf("%s.tmp", path);
    FILE *f = fopen(*tmp, "w");
    if (!f)
        fprintf(stderr, "switchboard eval: cannot write %s: %s\n", *tmp, strerror(errno));
    return f;
}

static int close_predictions(FILE *f, const char *path, char *tmp)
{
    int rc = 0;
    if (f) {
        if (fclose(f) != 0 || rename(tmp, path) != 0) {
            fprintf(stderr, "switchboard eval: cannot write %s\n", path);
            rc = 1;
        }
    }
    free(tmp);
    return rc;
}


/* The OCR lines of one item without running OCR (`--lines`): from a predictions file written
 * earlier ("lines": [{"text", "box": [x, y, w, h], "conf"}]) or, with `gold`, from the
 * labels' own transcribed boxes ("boxes": [{"points": [x1, y1, ... x4, y4], "text"}], conf 1)
 * to measure the layout step apart from OCR errors. Returns 0 or SB_ENOTFOUND. */
static int cached_page(json_t *it, json_t *cache, struct sb_ocr_page *page)
{
    json_t *src = NULL;
    int gold = cache == NULL;
    if (gold) {
        src = json_object_get(it, "boxes");
    } else {
        const char *id = jstr(it, "id");
        for (size_t i = 0; i < json_array_size(cache) && !src; i++) {
            json_t *c = json_array_get(cache, i);
            if (strcmp(jstr(c, "id"), id[0] ? id : jstr(it, "file")) == 0)
                src = json_object_get(c, "lines");
        }
    }
    if (!json_is_array(src))
        return SB_ENOTFOUND;
    for (size_t i = 0; i < json_array_size(src); i++) {
        json_t *l = json_array_get(src, i);
        struct sb_box b = {0};
        double conf = 1;
        if (gold) {
            json_t *pt = json_object_get(l, "points");
            int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
            for (size_t k = 0; k + 1 < json_array_size(pt); k += 2) {
                int x = (int)json_integer_value(json_array_get(pt, k));
                int y = (int)json_integer_value(json_array_get(pt, k + 1));
                x0 = x < x0 ? x : x0;
                y0 = y < y0 ? y : y0;
                x1 = x > x1 ? x : x1;
                y1 = y > y1 ? y : y1;
            }
            if (x1 >= 0)
                b = (struct sb_box){x0, y0, x1 - x0, y1 - y0};
        } else {
            json_t *bx = json_object_get(l, "box");
            b = (struct sb_box){(int)json_integer_value(json_array_get(bx, 0)),
                                (int)json_integer_value(json_array_get(bx, 1)),
                                (int)json_integer_value(json_array_get(bx, 2)),
                                (int)json_integer_value(json_array_get(bx, 3))};
            conf = json_number_value(json_object_get(l, "conf"));
        }
        sb_ocr_page_add_line(page, jstr(l, "text"), b, (float)conf);
        json_t *ws = json_object_get(l, "words");
        for (size_t w = 0; w < json_array_size(ws); w++) {
            json_t *wd = json_array_get(ws, w), *wb = json_object_get(wd, "box");
            sb_ocr_page_add_word(page, jstr(wd, "text"),
                                 (struct sb_box){(int)json_integer_value(json_array_get(wb, 0)),
                                                 (int)json_integer_value(json_array_get(wb, 1)),
                                                 (int)json_integer_value(json_array_get(wb, 2)),
                                                 (int)json_integer_value(json_array_get(wb, 3))},
                                 (float)json_number_value(json_object_get(wd, "conf")));
        }
    }
    sb_ocr_page_finish(page);
    return 0;
}

static const char *const key_names[4] = {"company", "date", "address", "total"};

/* Receipt-lexicon options of `eval ocr` (docs/media.md, fifth round). */
struct lex_opts {
    const char *from; /* --lexicon-from DIR: one lexicon from DIR's transcripts */
    int cv;           /* --lexicon-cv: per shop-grouped fold, from the other folds' labels */
    unsigned min_df;  /* --lexicon-min-df */
};

#define LEX_FOLDS 5

/* The shop of a labelled receipt: the first two words of its company label, upper-cased. */
static char *shop_key(json_t *it)
{
    const char *c = jstr(json_object_get(it, "key"), "company");
    char *u = sb__media_norm(c);
    char *sp = strchr(u, ' ');
    if (sp && (sp = strchr(sp + 1, ' ')) != NULL)
        *sp = 0;
    return u;
}

/*
 * Shop-grouped folds: receipts of one shop stay together; the largest shop is fold 0, the other
 * shops (largest first, ties in file order) go to the smallest of folds 1..4. fold[i] per item.
 */
static void shop_folds(json_t *items, size_t n, int *fold)
{
    char **key = sb_calloc(n ? n : 1, sizeof(char *));
    size_t *gsize = sb_calloc(n ? n : 1, sizeof(size_t)), *first = sb_calloc(n ? n : 1,
                                                                             sizeof(size_t));
    size_t *gid = sb_calloc(n ? n : 1, sizeof(size_t)), ng = 0;
    for (size_t i = 0; i < n; i++) {
        key[i] = shop_key(json_array_get(items, i));
        size_t g = 0;
        while (g < ng && strcmp(key[first[g]], key[i]) != 0)
            g++;
        if (g == ng)
            first[ng++] = i;
        gid[i] = g;
        gsize[g]++;
    }
    int *gfold = sb_calloc(ng ? ng : 1, sizeof(int));
    int *done = sb_calloc(ng ? ng : 1, sizeof(int));
    size_t fsize[LEX_FOLDS] = {0};
    for (size_t r = 0; r < ng; r++) {
        size_t best = ng;
        for (size_t g = 0; g < ng; g++)
            if (!done[g] && (best == ng || gsize[g] > gsize[best]))
                best = g; /* ties: the earlier first receipt (groups are in that order) */
        done[best] = 1;
        int f = 0;
        if (r > 0) {
            f = 1;
            for (int k = 2; k < LEX_FOLDS; k++)
                if (fsize[k] < fsize[f])
                    f = k;
        }
        gfold[best] = f;
        fsize[f] += gsize[best];
    }
    for (size_t i = 0; i < n; i++) {
        fold[i] = gfold[gid[i]];
        free(key[i]);
    }
    free(key);
    free(gsize);
    free(first);
    free(gid);
    free(gfold);
    free(done);
}

/* Builds the lexicons `lex` (1, or LEX_FOLDS with --lexicon-cv) and each item's index into it. */
static int build_lexicons(const struct lex_opts *lo, json_t *items, size_t n,
                          struct sb_ocr_lexicon **lex, int *which)
{
    if (lo->from) {
        json_t *other = NULL;
        size_t m = 0;
        if (load_labels(lo->from, &other, &m))
            return 1;
        lex[0] = sb_ocr_lexicon_new();
        for (size_t i = 0; i < m; i++)
            sb_ocr_lexicon_add_text(lex[0], jstr(json_array_get(other, i), "text"));
        json_decref(other);
        for (size_t i = 0; i < n; i++)
            which[i] = 0;
        return 0;
    }
    shop_folds(items, n, which);
    for (int k = 0; k < LEX_FOLDS; k++) {
        lex[k] = sb_ocr_lexicon_new();
        for (size_t i = 0; i < n; i++)
            if (which[i] != k)
                sb_ocr_lexicon_add_text(lex[k], jstr(json_array_get(items, i), "text"));
    }
    return 0;
}

static int eval_ocr(const char *dir, json_t *items, size_t n, int json, const char *predp,
                    const struct sb_ocr_opts *opts_in, const char *linesp,
                    const struct lex_opts *lo)
{
    struct sb_ocr_lexicon *lex[LEX_FOLDS] = {0};
    int *which = NULL;
    struct sb_ocr_opts opt_copy = *opts_in;
    const struct sb_ocr_opts *opts = &opt_copy;
    if (lo->from || lo->cv) {
        which = sb_calloc(n ? n : 1, sizeof(int));
        if (build_lexicons(lo, items, n, lex, which)) {
            free(which);
            return 1;
        }
        opt_copy.key_fields = 0; /* computed after the correction */
    }
    json_t *cache = NULL;
    if (linesp && strcmp(linesp, "gold") != 0) {
        FILE *cf = fopen(linesp, "r");
        if (!cf) {
            fprintf(stderr, "switchboard eval: cannot open %s: %s\n", linesp, strerror(errno));
            return 1;
        }
        cache = json_array();
        char *ln = NULL;
        size_t cap = 0;
        while (getline(&ln, &cap, cf) > 0) {
            json_t *v = NULL;
            struct sb_error e = {0};
            if (sb_json_parse(ln, strlen(ln), LABEL_LINE_MAX, 16, &v, &e) == 0 &&
                json_is_object(v))
                json_array_append_new(cache, v);
            else
                json_decref(v);
        }
        free(ln);
        fclose(cf);
    }
    char *tmp = NULL;
    FILE *pf = open_predictions(predp, &tmp);
    if (predp && !pf)
        return 1;
    double f1_sum = 0, secs = 0;
    size_t cer_d = 0, cer_m = 0, key_hit[4] = {0}, done = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        char *path = sb_strdupf("%s/%s", dir, jstr(it, "file"));
        char *data = NULL;
        size_t len = 0;
        struct sb_ocr_result r = {0};
        struct sb_error err = {0};
        int rc = 0;
        if (linesp) {
            rc = cached_page(it, cache, &r.page);
            if (rc)
                sb_error_set(&err, rc, "no cached lines for %s", jstr(it, "file"));
            else if (!which)
                sb_media_receipt_fields(&r.page, &r.fields);
        } else {
            rc = read_file(path, MEDIA_FILE_MAX, &data, &len);
            if (rc)
                sb_error_set(&err, rc, "cannot read %s", path);
            else
                rc = sb_media_ocr_image(data, len, opts, NULL, &r, &err);
        }
        free(data);
        free(path);
        if (!rc && which) {
            sb_ocr_lexicon_correct(lex[which[i]], &r.page, lo->min_df);
            sb_media_receipt_fields(&r.page, &r.fields);
        }
        const char *text = rc ? "" : r.page.text;
        if (rc) {
            failed++;
            fprintf(stderr, "switchboard eval: %s: %s\n", jstr(it, "file"), err.msg);
        }
        secs += rc ? 0 : r.seconds;
        f1_sum += sb__media_word_f1(text, jstr(it, "text"));
        size_t d = 0, m = 0;
        sb__media_cer(text, jstr(it, "text"), &d, &m);
        cer_d += d;
        cer_m += m;
        json_t *key = json_object_get(it, "key");
        const char *pred[4] = {rc ? "" : r.fields.company, rc ? "" : r.fields.date,
                               rc ? "" : r.fields.address, rc ? "" : r.fields.total};
        for (int k = 0; k < 4; k++) {
            char *a = sb__media_norm(pred[k] ? pred[k] : "");
            char *b = sb__media_norm(jstr(key, key_names[k]));
            key_hit[k] += strcmp(a, b) == 0;
            free(a);
            free(b);
        }
        if (pf) {
            const char *id = jstr(it, "id");
            json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "id",
                                  id[0] ? id : jstr(it, "file"), "text", text, "key", "company",
                                  pred[0], "date", pred[1], "address", pred[2], "total", pred[3]);
            if (rc) {
                json_object_set_new(o, "error", json_string(err.msg));
            } else {
                /* the layout behind the fields, for error analysis */
                json_t *lines = json_array();
                for (size_t l = 0; l < r.page.n_lines; l++) {
                    const struct sb_ocr_line *ln = &r.page.lines[l];
                    json_t *lj = json_pack("{s:s, s:[i,i,i,i], s:f}", "text", ln->text, "box",
                                           ln->box.x, ln->box.y, ln->box.w, ln->box.h, "conf",
                                           (double)ln->conf);
                    if (ln->n_words) {
                        json_t *ws = json_array();
                        for (size_t w = 0; w < ln->n_words; w++) {
                            const struct sb_ocr_word *wd = &ln->words[w];
                            json_array_append_new(
                                ws, json_pack("{s:s, s:[i,i,i,i], s:f}", "text", wd->text, "box",
                                              wd->box.x, wd->box.y, wd->box.w, wd->box.h,
                                              "conf", (double)wd->conf));
                        }
                        json_object_set_new(lj, "words", ws);
                    }
                    json_array_append_new(lines, lj);
                }
                json_object_set_new(o, "lines", lines);
            }
            char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
            fprintf(pf, "%s\n", s);
            free(s);
            json_decref(o);
        }
        done++;
        sb_media_ocr_result_cleanup(&r);
    }
    double dn = done ? (double)done : 1;
    double ke[4], mean = 0;
    for (int k = 0; k < 4; k++) {
        ke[k] = key_hit[k] / dn;
        mean += ke[k] / 4;
    }
    double cer = cer_m ? (double)cer_d / cer_m : 0;
    double spi = secs / (done - failed ? (double)(done - failed) : 1);
    if (json) {
        json_t *o = json_pack("{s:I, s:f, s:f, s:{s:f, s:f, s:f, s:f, s:f}, s:f, s:I}", "n",
                              (json_int_t)done, "word_f1", f1_sum / dn, "cer", cer, "key_exact",
                              "company", ke[0], "date", ke[1], "address", ke[2], "total", ke[3],
                              "mean", mean, "s_per_image", spi, "errors", (json_int_t)failed);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("n %zu  word_f1 %.4f  cer %.4f  s_per_image %.3f  errors %zu\n", done,
               f1_sum / dn, cer, spi, failed);
        printf("key_exact company %.4f  date %.4f  address %.4f  total %.4f  mean %.4f\n", ke[0],
               ke[1], ke[2], ke[3], mean);
    }
    json_decref(cache);
    for (int k = 0; k < LEX_FOLDS; k++)
        sb_ocr_lexicon_free(lex[k]);
    free(which);
    return close_predictions(pf, predp, tmp);
}

static int eval_asr(const char *dir, json_t *items, size_t n, int json, const char *predp,
                    const struct sb_asr_opts *opts, const struct sb_asr_ops *engine)
{
    char *tmp = NULL;
    FILE *pf = open_predictions(predp, &tmp);
    if (predp && !pf)
        return 1;
    size_t right = 0, wer_d = 0, wer_m = 0, done = 0, failed = 0;
    double secs = 0, audio = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        char *path = sb_strdupf("%s/%s", dir, jstr(it, "file"));
        char *data = NULL;
        size_t len = 0;
        struct sb_asr_result r = {0};
        struct sb_error err = {0};
        int rc = read_file(path, MEDIA_FILE_MAX, &data, &len);
        if (rc)
            sb_error_set(&err, rc, "cannot read %s", path);
        else
            rc = sb_media_asr_wav(data, len, opts, engine, &r, &err);
        free(data);
        free(path);
        const char *text = rc ? "" : r.text;
        if (rc) {
            failed++;
            fprintf(stderr, "switchboard eval: %s: %s\n", jstr(it, "file"), err.msg);
        } else {
            secs += r.seconds;
            audio += r.audio_seconds;
        }
        char *a = sb__media_norm(text), *b = sb__media_norm(jstr(it, "text"));
        right += strcmp(a, b) == 0;
        free(a);
        free(b);
        size_t d = 0, m = 0;
        sb__media_wer(text, jstr(it, "text"), &d, &m);
        wer_d += d;
        wer_m += m;
        if (pf) {
            json_t *o = json_pack("{s:s, s:s}", "file", jstr(it, "file"), "text", text);
            if (!rc)
                json_object_set_new(o, "conf", json_real(r.conf));
            else
                json_object_set_new(o, "error", json_string(err.msg));
            char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
            fprintf(pf, "%s\n", s);
            free(s);
            json_decref(o);
        }
        done++;
        sb_media_asr_result_cleanup(&r);
    }
    double dn = done ? (double)done : 1;
    double wer = wer_m ? (double)wer_d / wer_m : 0, rtf = audio > 0 ? secs / audio : 0;
    if (json) {
        json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:I}", "n", (json_int_t)done, "accuracy",
                              right / dn, "wer", wer, "rtf", rtf, "errors", (json_int_t)failed);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("n %zu  accuracy %.4f  wer %.4f  rtf %.4f  errors %zu\n", done, right / dn, wer,
               rtf, failed);
    }
    return close_predictions(pf, predp, tmp);
}

/* Features and labels of every item whose "text" is a digit word. */
static size_t load_digit_set(const char *dir, json_t *items, size_t n, struct sb__mfcc *f,
                             int *label)
{
    static const char *const words[10] = {"zero", "one", "two",   "three", "four",
                                          "five", "six", "seven", "eight", "nine"};
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        int d = -1;
        for (int k = 0; k < 10; k++)
            if (strcmp(jstr(it, "text"), words[k]) == 0)
                d = k;
        char *path = sb_strdupf("%s/%s", dir, jstr(it, "file"));
        char *data = NULL;
        size_t len = 0;
        struct sb_audio a = {0};
        struct sb_error err = {0};
        int rc = d < 0 ? SB_EINVAL : read_file(path, MEDIA_FILE_MAX, &data, &len);
        if (!rc)
            rc = sb_media_wav_parse(data, len, 0, 0, &a, &err);
        if (!rc)
            rc = sb__media_mfcc(&a, &f[i]);
        if (rc) {
            fprintf(stderr, "switchboard eval: %s: skipped (%s)\n", path, sb_strerror(rc));
            memset(&f[i], 0, sizeof f[i]);
            label[i] = -1;
        } else {
            label[i] = d;
            m++;
        }
        sb_audio_cleanup(&a);
        free(data);
        free(path);
    }
    return m;
}

static void set_weights(struct sb__digits_model *m, double delta_weight)
{
    for (int d = 0; d < SB__MFCC_DIM; d++)
        m->weight[d] = d < SB__MFCC_CEPS ? 1.0f : (float)delta_weight;
}

/*
 * Cross-validation of the digit recogniser: folds by the value of `key` in labels.jsonl
 * ("index": other takes of the same speakers, like FSDD's official test split; "speaker":
 * unseen speakers). Prints the accuracy per fold and overall.
 */
static int digits_cv(const char *dir, json_t *items, size_t n, const char *key, int k,
                     double delta_weight, int json)
{
    struct sb__mfcc *f = sb_calloc(n, sizeof *f);
    int *label = sb_calloc(n, sizeof(int));
    load_digit_set(dir, items, n, f, label);
    char **fold = sb_calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(json_array_get(items, i), key);
        fold[i] = json_is_integer(v) ? sb_strdupf("%lld", (long long)json_integer_value(v))
                                     : sb_strdup(json_is_string(v) ? json_string_value(v) : "");
    }
    size_t right = 0, total = 0;
    json_t *folds = json_object();
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(folds, fold[i]))
            continue;
        struct sb__digits_model m = {.k = k};
        set_weights(&m, delta_weight);
        /* borrow the features of the other folds (the model is only read) */
        for (size_t j = 0; j < n; j++) {
            if (label[j] < 0 || strcmp(fold[j], fold[i]) == 0)
                continue;
            struct sb__mfcc copy = f[j];
            sb__digits_model_add(&m, &copy, label[j]);
        }
        size_t fr = 0, ft = 0;
        for (size_t j = 0; j < n; j++) {
            if (label[j] < 0 || strcmp(fold[j], fold[i]) != 0)
                continue;
            ft++;
            fr += sb__digits_classify(&m, &f[j], NULL) == label[j];
        }
        free(m.t); /* templates are borrowed from f */
        free(m.label);
        right += fr;
        total += ft;
        json_object_set_new(folds, fold[i], json_real(ft ? (double)fr / ft : 0));
        if (!json)
            printf("fold %s=%s: %zu/%zu = %.4f\n", key, fold[i], fr, ft, ft ? (double)fr / ft : 0);
    }
    double acc = total ? (double)right / total : 0;
    if (json) {
        json_t *o = json_pack("{s:s, s:I, s:f, s:o}", "cv", key, "n", (json_int_t)total,
                              "accuracy", acc, "folds", folds);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("cv by %s: n %zu  accuracy %.4f\n", key, total, acc);
        json_decref(folds);
    }
    for (size_t i = 0; i < n; i++) {
        sb__mfcc_cleanup(&f[i]);
        free(fold[i]);
    }
    free(f);
    free(label);
    free(fold);
    return 0;
}

/* Trains the digit recogniser on every digit item of the folder and writes the model file. */
static int digits_write(const char *dir, json_t *items, size_t n, const char *out, int k,
                        double delta_weight)
{
    struct sb__mfcc *f = sb_calloc(n, sizeof *f);
    int *label = sb_calloc(n, sizeof(int));
    load_digit_set(dir, items, n, f, label);
    struct sb__digits_model m = {.k = k};
    set_weights(&m, delta_weight);
    for (size_t i = 0; i < n; i++)
        if (label[i] >= 0)
            sb__digits_model_add(&m, &f[i], label[i]);
    struct sb_buf b;
    sb_buf_init(&b, 0);
    sb__digits_model_save(&m, &b);
    int rc = 0;
    char *tmp = sb_strdupf("%s.tmp", out);
    FILE *fp = fopen(tmp, "wb");
    if (!fp || fwrite(b.data, 1, b.len, fp) != b.len || fclose(fp) != 0 ||
        rename(tmp, out) != 0) {
        fprintf(stderr, "switchboard eval: cannot write %s\n", out);
        rc = 1;
    } else {
        printf("wrote %s: %zu templates, %zu bytes\n", out, m.n, b.len);
    }
    free(tmp);
    sb_buf_cleanup(&b);
    sb__digits_model_free(&m);
    for (size_t i = 0; i < n; i++)
        sb__mfcc_cleanup(&f[i]);
    free(f);
    free(label);
    return rc;
}

int sb_media_cmd_eval(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (sb_media_single_thread_reexec("eval", argc, argv) != 0)
        fprintf(stderr, "switchboard eval: warning: OpenMP not limited to one thread\n");
    int is_ocr = strcmp(argv[0], "ocr") == 0;
    if (!is_ocr && strcmp(argv[0], "asr") != 0) {
        fprintf(stderr, "switchboard eval: unknown kind '%s'\n", argv[0]);
        return 2;
    }
    const char *dir = NULL, *predp = NULL, *linesp = NULL;
    struct lex_opts lo = {.min_df = SB__OCR_LEXICON_MIN_DF};
    int json = 0;
    struct sb_ocr_opts oo = {.preprocess = SB_OCR_PRE_DEFAULT, .key_fields = 1};
    struct sb_asr_opts ao = {.mode = SB_ASR_FREE};
    const struct sb_asr_ops *engine = NULL;
    const char *cv = NULL, *write_model = NULL;
    int knn = SB__DIGITS_K;
    double delta_weight = SB__DIGITS_DELTA_WEIGHT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (is_ocr && strcmp(a, "--lexicon-cv") == 0) {
            lo.cv = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "switchboard eval: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--data") == 0) {
            dir = v;
        } else if (strcmp(a, "--predictions") == 0) {
            predp = v;
        } else if (is_ocr && strcmp(a, "--lines") == 0) {
            linesp = v;
        } else if (is_ocr && strcmp(a, "--lexicon-from") == 0) {
            lo.from = v;
        } else if (is_ocr && strcmp(a, "--lexicon-min-df") == 0) {
            char *end;
            long m = strtol(v, &end, 10);
            if (*end || m < 1 || m > 1000000) {
                fprintf(stderr, "switchboard eval: --lexicon-min-df wants 1..1000000\n");
                return 2;
            }
            lo.min_df = (unsigned)m;
        } else if (is_ocr && strcmp(a, "--lang") == 0) {
            oo.lang = v;
        } else if (is_ocr && strcmp(a, "--psm") == 0) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 0 || p > 13) {
                fprintf(stderr, "switchboard eval: --psm wants 0..13\n");
                return 2;
            }
            oo.psm = (int)p;
        } else if (is_ocr && strcmp(a, "--pre") == 0) {
            oo.preprocess = parse_pre(v);
            if (oo.preprocess == SB_OCR_PRE_DEFAULT - 1) {
                fprintf(stderr, "switchboard eval: --pre: unknown step in '%s'\n", v);
                return 2;
            }
        } else if (!is_ocr && strcmp(a, "--grammar") == 0) {
            if (strcmp(v, "digits") == 0)
                ao.mode = SB_ASR_DIGITS;
            else if (strcmp(v, "yesno") == 0)
                ao.mode = SB_ASR_YESNO;
            else if (strcmp(v, "free") == 0)
                ao.mode = SB_ASR_FREE;
            else {
                fprintf(stderr, "switchboard eval: --grammar digits|yesno|free\n");
                return 2;
            }
        } else if (!is_ocr && strcmp(a, "--cv") == 0) {
            cv = v;
        } else if (!is_ocr && strcmp(a, "--write-digits-model") == 0) {
            write_model = v;
        } else if (!is_ocr && strcmp(a, "--k") == 0) {
            knn = (int)strtol(v, NULL, 10);
            if (knn < 1 || knn > 15) {
                fprintf(stderr, "switchboard eval: --k wants 1..15\n");
                return 2;
            }
        } else if (!is_ocr && strcmp(a, "--delta-weight") == 0) {
            delta_weight = strtod(v, NULL);
            if (!(delta_weight >= 0 && delta_weight <= 100)) {
                fprintf(stderr, "switchboard eval: --delta-weight wants 0..100\n");
                return 2;
            }
        } else if (!is_ocr && strcmp(a, "--engine") == 0) {
            if (strcmp(v, "pocketsphinx") == 0)
                engine = &sb_asr_pocketsphinx;
            else if (strcmp(v, "digits") == 0)
                engine = &sb_asr_digits;
            else if (strcmp(v, "auto") != 0) {
                fprintf(stderr, "switchboard eval: --engine auto|pocketsphinx|digits\n");
                return 2;
            }
        } else {
            fprintf(stderr, "switchboard eval: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "switchboard eval: --data DIR is required\n");
        return 2;
    }
    json_t *items = NULL;
    size_t n = 0;
    if (load_labels(dir, &items, &n))
        return 1;
    int rc;
    if (cv)
        rc = digits_cv(dir, items, n, cv, knn, delta_weight, json);
    else if (write_model)
        rc = digits_write(dir, items, n, write_model, knn, delta_weight);
    else
        rc = is_ocr ? eval_ocr(dir, items, n, json, predp, &oo, linesp, &lo)
                    : eval_asr(dir, items, n, json, predp, &ao, engine);
    json_decref(items);
    sb_media_thread_cleanup();
    return rc;
}

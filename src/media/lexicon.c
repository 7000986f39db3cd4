/* SPDX-License-Identifier: MIT */
/*
 * Receipt-lexicon correction of OCR words (docs/media.md, fifth round). A lexicon counts, for
 * each upper-cased white-space token, on how many transcripts (documents) it occurs. A word of
 * a page that is not in the lexicon, has at least two letters and three characters, is replaced
 * by the lexicon word one OCR-confusion substitution away (0/O/Q/D, 1/I/L, 5/S, 8/B, 6/G,
 * G/Q/C, M/N/H, U/V, E/F, T/Y) that occurs on the most documents, at least `min_df`; a tie
 * leaves the word alone. "QST" → "GST", "OTY" → "QTY", "SON" → "SDN" when the lexicon has them.
 * Number-like words (a digit, at most one letter) are corrected by shape instead: a ',' read for
 * '.' (or the other way round) when the transcripts print that shape far more often, so
 * "60,31" → "60.31" (correct_number).
 * The lexicon comes from labelled transcripts (`eval ocr --lexicon-from DIR`, or per fold with
 * `--lexicon-cv`); none is built in.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define LEX_WORD_MAX 64 /* longer tokens are neither counted nor corrected */

struct lex_entry {
    char *word; /* NULL: empty slot */
    unsigned df;
    unsigned last_doc;
};

struct lex_table {
    struct lex_entry *slot;
    size_t cap, n; /* cap: power of two */
};

struct sb_ocr_lexicon {
    struct lex_table words;  /* upper-cased tokens */
    struct lex_table shapes; /* shapes of tokens with a digit: digits as '9', upper-cased */
    unsigned docs;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct lex_entry *find(const struct lex_table *lex, const char *w)
{
    size_t m = lex->cap - 1;
    for (size_t i = (size_t)fnv1a(w) & m;; i = (i + 1) & m) {
        struct lex_entry *e = &lex->slot[i];
        if (!e->word || strcmp(e->word, w) == 0)
            return e;
    }
}

static void grow(struct lex_table *lex)
{
    struct lex_table old = *lex;
    lex->cap = old.cap ? old.cap * 2 : 1024;
    lex->slot = sb_calloc(lex->cap, sizeof(*lex->slot));
    for (size_t i = 0; i < old.cap; i++)
        if (old.slot[i].word)
            *find(lex, old.slot[i].word) = old.slot[i];
    free(old.slot);
}

struct sb_ocr_lexicon *sb_ocr_lexicon_new(void)
{
    struct sb_ocr_lexicon *lex = sb_calloc(1, sizeof(*lex));
    grow(&lex->words);
    grow(&lex->shapes);
    return lex;
}

void sb_ocr_lexicon_free(struct sb_ocr_lexicon *lex)
{
    if (!lex)
        return;
    struct lex_table *t[2] = {&lex->words, &lex->shapes};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < t[k]->cap; i++)
            free(t[k]->slot[i].word);
        free(t[k]->slot);
    }
    free(lex);
}

/* Upper-cases token s[0..n) into buf (ASCII letters only); 0 when too long. */
static int upper_token(const char *s, size_t n, char buf[LEX_WORD_MAX + 1])
{
    if (n == 0 || n > LEX_WORD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)toupper((unsigned char)s[i]);
    buf[n] = 0;
    return 1;
}

/* Counts `w` once per document `doc`. */
static void count(struct lex_table *t, const char *w, unsigned doc)
{
    if (2 * (t->n + 1) > t->cap)
        grow(t);
    struct lex_entry *e = find(t, w);
    if (!e->word) {
        e->word = sb_strdup(w);
        t->n++;
    }
    if (e->last_doc != doc) {
        e->last_doc = doc;
        e->df++;
    }
}

/* Turns an upper-cased token into its shape (digits become '9') in place; 0 (and the token
 * unchanged) when it has no digit. */
static int to_shape(char *u)
{
    int digits = 0;
    for (char *c = u; *c; c++)
        digits += *c >= '0' && *c <= '9';
    if (!digits)
        return 0;
    for (char *c = u; *c; c++)
        if (*c >= '0' && *c <= '9')
            *c = '9';
    return 1;
}

void sb_ocr_lexicon_add_text(struct sb_ocr_lexicon *lex, const char *text)
{
    lex->docs++;
    const char *p = text ? text : "";
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        char buf[LEX_WORD_MAX + 1];
        if (!upper_token(s, (size_t)(p - s), buf))
            continue;
        count(&lex->words, buf, lex->docs);
        if (to_shape(buf))
            count(&lex->shapes, buf, lex->docs);
    }
}

unsigned sb_ocr_lexicon_df(const struct sb_ocr_lexicon *lex, const char *word)
{
    char buf[LEX_WORD_MAX + 1];
    if (!lex || !word || !upper_token(word, strlen(word), buf))
        return 0;
    const struct lex_entry *e = find(&lex->words, buf);
    return e->word ? e->df : 0;
}

/* Document frequency of a shape (already upper-cased and shaped). */
static unsigned shape_df(const struct sb_ocr_lexicon *lex, const char *shape)
{
    const struct lex_entry *e = find(&lex->shapes, shape);
    return e->word ? e->df : 0;
}

/*
 * A number-like token (a digit, at most one letter) whose shape is rare (document count under
 * min_df) becomes the token with one ',' read as '.' or the other way round whose shape is the
 * most frequent (>= min_df; ties: no change): "60,31" → "60.31" on receipts whose transcripts
 * write amounts "99.99". A new string or NULL.
 */
static char *correct_number(const struct sb_ocr_lexicon *lex, const char *w, size_t n,
                            unsigned min_df)
{
    char u[LEX_WORD_MAX + 1];
    if (!upper_token(w, n, u) || !to_shape(u) || shape_df(lex, u) >= min_df)
        return NULL;
    char best[LEX_WORD_MAX + 1] = "";
    unsigned bd = 0;
    int tie = 0;
    for (size_t k = 0; k < n; k++) {
        if (u[k] != ',' && u[k] != '.')
            continue;
        char orig = u[k];
        u[k] = orig == ',' ? '.' : ',';
        unsigned d = shape_df(lex, u);
        if (d >= min_df && d > bd) {
            memcpy(best, w, n + 1);
            best[k] = u[k];
            bd = d;
            tie = 0;
        } else if (d >= min_df && d == bd) {
            tie = 1;
        }
        u[k] = orig;
    }
    return bd && !tie ? sb_strdup(best) : NULL;
}

static const char *const confusions[] = {"0OQD", "1IL", "5S", "8B", "6G",
                                         "GQC",  "MNH", "UV", "EF", "TY"};

/* The replacement of `w` (a new string) or NULL to keep it. */
static char *correct_word(const struct sb_ocr_lexicon *lex, const char *w, unsigned min_df)
{
    char u[LEX_WORD_MAX + 1];
    size_t n = strlen(w);
    if (!upper_token(w, n, u))
        return NULL;
    int letters = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        letters += (u[i] >= 'A' && u[i] <= 'Z');
        digits += (u[i] >= '0' && u[i] <= '9');
    }
    if (digits && letters <= 1)
        return correct_number(lex, w, n, min_df);
    if (n < 3 || letters < 2 || find(&lex->words, u)->word)
        return NULL;
    char best[LEX_WORD_MAX + 1] = "";
    unsigned bd = 0;
    int tie = 0;
    for (size_t k = 0; k < n; k++) {
        char orig = u[k], alts[16];
        size_t na = 0;
        for (size_t c = 0; c < sizeof confusions / sizeof *confusions; c++) {
            if (!strchr(confusions[c], orig) || orig == 0)
                continue;
            for (const char *a = confusions[c]; *a; a++)
                if (*a != orig && !memchr(alts, *a, na) && na < sizeof alts)
                    alts[na++] = *a;
        }
        for (size_t i = 0; i < na; i++) {
            u[k] = alts[i];
            const struct lex_entry *e = find(&lex->words, u);
            unsigned d = e->word ? e->df : 0;
            if (d >= min_df && d > bd) {
                memcpy(best, u, n + 1);
                bd = d;
                tie = 0;
            } else if (d >= min_df && d == bd) {
                tie = 1;
            }
        }
        u[k] = orig;
    }
    return bd && !tie ? sb_strdup(best) : NULL;
}

/* Corrects the white-space tokens of `text`; a new string, or NULL when nothing changed. */
static char *correct_text(const struct sb_ocr_lexicon *lex, const char *text, unsigned min_df,
                          size_t *changed)
{
    struct sb_buf b;
    sb_buf_init(&b, 0);
    size_t before = *changed;
    const char *p = text;
    while (*p) {
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        char *tok = sb_strndup(s, (size_t)(p - s));
        char *rep = tok[0] ? correct_word(lex, tok, min_df) : NULL;
        sb_buf_appends(&b, rep ? rep : tok);
        *changed += rep != NULL;
        free(rep);
        free(tok);
        if (*p)
            sb_buf_append(&b, p++, 1);
    }
    sb_buf_append(&b, "", 1);
    char *out = *changed > before ? sb_buf_steal(&b, NULL) : NULL;
    sb_buf_cleanup(&b);
    return out;
}

size_t sb_ocr_lexicon_correct(const struct sb_ocr_lexicon *lex, struct sb_ocr_page *page,
                              unsigned min_df)
{
    if (!lex || !page)
        return 0;
    if (min_df == 0)
        min_df = 1;
    size_t changed = 0;
    for (size_t i = 0; i < page->n_lines; i++) {
        struct sb_ocr_line *l = &page->lines[i];
        if (l->n_words) {
            size_t before = changed;
            for (size_t j = 0; j < l->n_words; j++) {
                char *rep = correct_word(lex, l->words[j].text, min_df);
                if (rep) {
                    free(l->words[j].text);
                    l->words[j].text = rep;
                    changed++;
                }
            }
            if (changed > before)
                sb_ocr_line_join_words(l);
        } else {
            char *t = correct_text(lex, l->text, min_df, &changed);
            if (t) {
                free(l->text);
                l->text = t;
            }
        }
    }
    if (changed)
        sb_ocr_page_finish(page);
    return changed;
}

/* SPDX-License-Identifier: MIT */
/*
 * The grounding check of LLM-phrased answers: every sentence of the reply must be covered by
 * the cited passages. Definition (also in include/sb/llm.h): sentences end at . ! ? (followed
 * by a space or the end), at 。！？ and at line breaks; a sentence's numbers (digit runs, "2.5"
 * and "1,000" kept whole) must all occur in the passages, and at least 80 % of its content words
 * (Latin words of 3+ letters outside a short function-word list, negations included as content;
 * every CJK character) must occur there, words compared case-insensitively on their first five
 * letters. Deliberately lexical: it cannot prove a paraphrase right, but it rejects the usual
 * failure — a number, name or claim that no passage contains.
 */
#include "sb/llm.h"

#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

#define PREFIX 4
#define COVER_MIN 0.8

enum { T_WORD, T_NUM, T_CJK };

struct tok {
    int type;
    char s[16];
};

static const char *const function_words[] = {
    "the", "and", "you", "your", "yours", "our", "ours", "are", "can", "for", "with", "this",
    "that", "these", "those", "have", "has", "had", "will", "would", "from", "into", "its",
    "was", "were", "been", "being", "but", "all", "any", "also", "just", "then", "than", "there",
    "here", "what", "when", "where", "which", "who", "how", "why", "may", "might", "could",
    "should", "shall", "about", "please", "thank", "thanks", "happy", "help", "glad", "sure",
    "course", "yes", "hello", "dear", "let", "know", "get", "able", "need", "want", "like",
    "would", "via", "per", "out", "off", "they", "them", "their", "she", "his", "her", "him",
    "does", "did", "doing", "done", "some", "such", "very", "much", "more", "most", "only",
    "one", "each", "both", "own", "same", "other", "again", "once", "too", "use", "using",
};

static int is_function_word(const char *w)
{
    for (size_t i = 0; i < sizeof(function_words) / sizeof(function_words[0]); i++) {
        if (strcmp(function_words[i], w) == 0)
            return 1;
    }
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'' ||
           (c >= 0x80 && !(c >= 0xE3 && c <= 0xE9)); /* other scripts' bytes join words */
}

/* UTF-8 length of a CJK character starting at s (lead bytes E3..E9 cover U+3000..U+9FFF). */
static size_t cjk_len(const unsigned char *s, size_t left)
{
    if (left >= 3 && s[0] >= 0xE3 && s[0] <= 0xE9 && (s[1] & 0xC0) == 0x80 &&
        (s[2] & 0xC0) == 0x80)
        return 3;
    return 0;
}

/* 1 when a CJK sequence is punctuation (U+3000..U+303F, full-width forms start EF). */
static int cjk_punct(const unsigned char *s)
{
    return s[0] == 0xE3 && s[1] == 0x80;
}

/* Tokens of s[0..n): appends to *t. Content filter applied when `content`. */
static void tokenize(const char *str, size_t n, int content, struct tok **t, size_t *nt,
                     size_t *cap)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        struct tok k = {0};
        size_t cl = cjk_len(s + i, n - i);
        if (cl) {
            if (!cjk_punct(s + i)) {
                k.type = T_CJK;
                memcpy(k.s, s + i, cl);
            }
            i += cl;
        } else if (is_digit((char)s[i])) {
            size_t j = i, o = 0;
            while (j < n && (is_digit((char)s[j]) ||
                             ((s[j] == '.' || s[j] == ',') && j + 1 < n &&
                              is_digit((char)s[j + 1]) && j > i))) {
                if (s[j] != ',' && o < sizeof(k.s) - 1)
                    k.s[o++] = (char)s[j]; /* "1,000" and "1000" are one number */
                j++;
            }
            k.type = T_NUM;
            i = j;
        } else if (is_letter(s[i])) {
            size_t j = i, o = 0;
            while (j < n && (is_letter(s[j]) || is_digit((char)s[j])))
                j++;
            char w[64];
            size_t wl = j - i < sizeof(w) - 1 ? j - i : sizeof(w) - 1;
            for (size_t m = 0; m < wl; m++)
                w[m] = (char)(s[i + m] >= 'A' && s[i + m] <= 'Z' ? s[i + m] | 0x20 : s[i + m]);
            w[wl] = '\0';
            i = j;
            if (content && (wl < 3 || is_function_word(w)))
                continue;
            for (o = 0; o < wl && o < PREFIX; o++)
                k.s[o] = w[o];
            k.type = T_WORD;
        } else {
            i++;
            continue;
        }
        if (!k.s[0])
            continue;
        if (*nt == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *t = sb_realloc(*t, *cap * sizeof(**t));
        }
        (*t)[(*nt)++] = k;
    }
}

static int cmp_tok(const void *a, const void *b)
{
    const struct tok *x = a, *y = b;
    if (x->type != y->type)
        return x->type - y->type;
    return strcmp(x->s, y->s);
}

/* Length of the sentence starting at s (up to and including its end mark). */
static size_t sentence_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\n')
            return i + 1;
        if ((s[i] == '.' || s[i] == '!' || s[i] == '?') &&
            (s[i + 1] == '\0' || s[i + 1] == ' ' || s[i + 1] == '\n'))
            return i + 1;
        /* 。 E3 80 82, ！ EF BC 81, ？ EF BC 9F */
        if ((u[i] == 0xE3 && u[i + 1] == 0x80 && u[i + 2] == 0x82) ||
            (u[i] == 0xEF && u[i + 1] == 0xBC && (u[i + 2] == 0x81 || u[i + 2] == 0x9F)))
            return i + 3;
    }
    return strlen(s);
}

int sb_llm_grounded(const char *text, const char *const *passages, size_t n_passages,
                    size_t *bad)
{
    if (bad)
        *bad = 0;
    if (!text)
        return 0;
    struct tok *pt = NULL;
    size_t npt = 0, pcap = 0;
    for (size_t i = 0; i < n_passages; i++) {
        if (passages && passages[i])
            tokenize(passages[i], strlen(passages[i]), 0, &pt, &npt, &pcap);
    }
    if (npt)
        qsort(pt, npt, sizeof(*pt), cmp_tok);
    int ok = 1;
    size_t sentences = 0, index = 0;
    for (const char *s = text; *s && ok;) {
        size_t len = sentence_len(s);
        struct tok *st = NULL;
        size_t nst = 0, scap = 0;
        tokenize(s, len, 1, &st, &nst, &scap);
        if (nst) {
            size_t words = 0, covered = 0;
            for (size_t j = 0; j < nst && ok; j++) {
                int found = npt && bsearch(&st[j], pt, npt, sizeof(*pt), cmp_tok) != NULL;
                if (st[j].type == T_NUM && !found)
                    ok = 0; /* a number no passage has */
                if (st[j].type != T_NUM) {
                    words++;
                    covered += found;
                }
            }
            if (ok && words && (double)covered < COVER_MIN * (double)words)
                ok = 0;
            if (!ok && bad)
                *bad = index;
            sentences++;
            index++;
        }
        free(st);
        s += len;
    }
    free(pt);
    return ok && sentences > 0;
}

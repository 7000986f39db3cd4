/* SPDX-License-Identifier: MIT */
/*
 * The retrieval analyser of the knowledge base: text -> index terms. Unicode is normalised with
 * utf8proc (NFKC, case folding, accents stripped); Latin-script words lose English stop words
 * and are reduced by the Snowball stemmer of the text's language; runs of CJK characters become
 * overlapping character bigrams, the usual dictionary-free choice for Chinese retrieval. Mixed
 * text ("Oslo 沙发 price") gets both treatments in one pass. The nlu module has its own
 * tokeniser for classifiers; this one is tuned for ranking only.
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <libstemmer.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define WORD_MAX 64 /* longer "words" (hashes, base64) are cut to this many bytes */

static const char *const stopwords[] = {
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
    "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
    "me", "more", "most", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only",
    "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "while", "whom",
    "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "i'm", "it's",
    "don't", "can't", "doesn't", "isn't", "i've", "i'd", "let", "get", "s", "t", "also", "may",
    "might", "must", "shall", "want", "way", "possible", "anyone", "someone", "know", "please",
    "something", "anything", "somebody", "anybody", "much",
};

int sb__kb_is_stopword(const char *w, size_t len)
{
    /* the list is short; a linear scan over length-matched words costs less than a hash */
    for (size_t i = 0; i < sizeof(stopwords) / sizeof(stopwords[0]); i++) {
        if (strlen(stopwords[i]) == len && memcmp(stopwords[i], w, len) == 0)
            return 1;
    }
    return 0;
}

int sb__kb_is_question_word(const char *w)
{
    static const char *const qw[] = {"what", "when", "where", "which", "who", "why"};
    for (size_t i = 0; i < sizeof(qw) / sizeof(qw[0]); i++) {
        if (strcmp(qw[i], w) == 0)
            return 1;
    }
    return 0;
}

/* Chinese question and function words that carry no topic: skipped as bigrams. */
static const char *const zh_stop[] = {
    "怎么", "什么", "如何", "可以", "我的", "你们", "是否", "为什么", "哪里", "请问", "能不",
    "不能", "一下", "我们", "的话", "这个", "那个", "怎样", "多少",
};

static int zh_stop_bigram(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(zh_stop) / sizeof(zh_stop[0]); i++) {
        if (strlen(zh_stop[i]) == n && memcmp(zh_stop[i], s, n) == 0)
            return 1;
    }
    return 0;
}

/* ---- one stemmer per thread and language ---- */

#define STEMMERS_MAX 4

struct stemmers {
    char lang[STEMMERS_MAX][16];
    struct sb_stemmer *st[STEMMERS_MAX];
    int n;
};

static pthread_key_t stem_key;
static pthread_once_t stem_once = PTHREAD_ONCE_INIT;

static void stemmers_free(void *p)
{
    struct stemmers *s = p;
    for (int i = 0; i < s->n; i++) {
        if (s->st[i])
            sb_stemmer_delete(s->st[i]);
    }
    free(s);
}

static void stem_key_init(void)
{
    pthread_key_create(&stem_key, stemmers_free);
}

static struct sb_stemmer *stemmer_for(const char *lang)
{
    pthread_once(&stem_once, stem_key_init);
    struct stemmers *s = pthread_getspecific(stem_key);
    if (!s) {
        s = sb_calloc(1, sizeof(*s));
        pthread_setspecific(stem_key, s);
    }
    char key[16];
    size_t n = 0;
    /* "en-US" -> "en"; anything odd -> English */
    while (lang && lang[n] && n < 8 && ((lang[n] >= 'a' && lang[n] <= 'z') ||
                                        (lang[n] >= 'A' && lang[n] <= 'Z'))) {
        key[n] = (char)(lang[n] | 0x20);
        n++;
    }
    if (n == 0 || n > 3 || strncmp(key, "zh", n) == 0 || strncmp(key, "ja", n) == 0) {
        memcpy(key, "en", 2);
        n = 2;
    }
    key[n] = '\0';
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->lang[i], key) == 0)
            return s->st[i];
    }
    struct sb_stemmer *st = sb_stemmer_new(key, "UTF_8");
    if (!st)
        st = sb_stemmer_new("en", "UTF_8");
    if (s->n < STEMMERS_MAX) {
        memcpy(s->lang[s->n], key, n + 1);
        s->st[s->n++] = st;
        return st;
    }
    /* more languages in one thread than slots: replace the last one */
    if (s->st[STEMMERS_MAX - 1])
        sb_stemmer_delete(s->st[STEMMERS_MAX - 1]);
    memcpy(s->lang[STEMMERS_MAX - 1], key, n + 1);
    s->st[STEMMERS_MAX - 1] = st;
    return st;
}

/* ---- token buffer ---- */

void sb__kb_tokens_cleanup(struct sb__kb_tokens *t)
{
    if (!t)
        return;
    free(t->buf);
    free(t->off);
    memset(t, 0, sizeof(*t));
}

static void push_term(struct sb__kb_tokens *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->buf = sb_realloc(t->buf, cap);
        t->cap = cap;
    }
    if (t->n == t->ncap) {
        t->ncap = t->ncap ? t->ncap * 2 : 32;
        t->off = sb_realloc(t->off, t->ncap * sizeof(*t->off));
    }
    t->off[t->n++] = (uint32_t)t->len;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len++] = '\0';
}

/* ---- classification of code points ---- */

static int is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2EBEF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF);
}

static int is_word(int32_t c)
{
    if (c < 128)
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    utf8proc_category_t cat = utf8proc_category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* Copies `len` bytes replacing every invalid UTF-8 sequence by a space. */
static uint8_t *sanitize(const char *text, size_t len)
{
    uint8_t *out = sb_malloc(len + 1);
    size_t i = 0, o = 0;
    while (i < len) {
        int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0 || c == 0) {
            out[o++] = ' ';
            i++;
            continue;
        }
        memcpy(out + o, text + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
    }
    out[o] = '\0';
    return out;
}

static void emit_word(struct sb__kb_tokens *t, const char *w, size_t n, const char *lang,
                      int keep_stop)
{
    if (n > WORD_MAX)
        n = WORD_MAX; /* may cut a UTF-8 sequence; the term is still a stable key */
    /* strip apostrophes at the ends ("'quoted'") */
    while (n && w[0] == '\'') {
        w++;
        n--;
    }
    while (n && w[n - 1] == '\'')
        n--;
    if (n == 0 || (!keep_stop && sb__kb_is_stopword(w, n)))
        return;
    int digits = 1;
    for (size_t i = 0; i < n && digits; i++)
        digits = (w[i] >= '0' && w[i] <= '9');
    if (digits) {
        push_term(t, w, n);
        return;
    }
    struct sb_stemmer *st = stemmer_for(lang);
    const sb_symbol *s = st ? sb_stemmer_stem(st, (const sb_symbol *)w, (int)n) : NULL;
    if (s) {
        int sn = sb_stemmer_length(st);
        if (sn > 0) {
            push_term(t, (const char *)s, (size_t)sn);
            return;
        }
    }
    push_term(t, w, n);
}

static void analyze(const char *text, size_t len, const char *lang, struct sb__kb_tokens *t,
                    int keep_stop)
{
    if (!text || len == 0)
        return;
    uint8_t *clean = sanitize(text, len);
    uint8_t *norm = NULL;
    utf8proc_ssize_t nn = utf8proc_map(clean, 0, &norm,
                                       UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                           UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                           UTF8PROC_STRIPMARK | UTF8PROC_IGNORE);
    const uint8_t *s = clean;
    size_t n = strlen((const char *)clean);
    if (nn >= 0) {
        s = norm;
        n = (size_t)nn;
    }
    size_t i = 0;
    size_t word_start = 0, word_len = 0; /* current Latin word */
    int in_word = 0;
    int32_t prev_cjk = -1;               /* previous CJK code point of the current run */
    size_t prev_cjk_at = 0, prev_cjk_len = 0;
    int run_len = 0;
    while (i <= n) {
        int32_t c = 0;
        utf8proc_ssize_t k = 1;
        if (i < n) {
            k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
            if (k <= 0) {
                c = ' ';
                k = 1;
            }
        }
        int cjk = i < n && is_cjk(c);
        int word = i < n && !cjk && (is_word(c) || (c == '\'' && in_word));
        if (word) {
            if (!in_word) {
                in_word = 1;
                word_start = i;
            }
            word_len = i + (size_t)k - word_start;
        } else if (in_word) {
            emit_word(t, (const char *)s + word_start, word_len, lang, keep_stop);
            in_word = 0;
        }
        if (cjk) {
            if (prev_cjk >= 0 && !zh_stop_bigram((const char *)s + prev_cjk_at,
                                                 prev_cjk_len + (size_t)k)) {
                /* bigram of the previous and this character */
                push_term(t, (const char *)s + prev_cjk_at, prev_cjk_len + (size_t)k);
            }
            prev_cjk = c;
            prev_cjk_at = i;
            prev_cjk_len = (size_t)k;
            run_len++;
        } else if (prev_cjk >= 0) {
            if (run_len == 1)
                push_term(t, (const char *)s + prev_cjk_at, prev_cjk_len);
            prev_cjk = -1;
            run_len = 0;
        }
        i += (size_t)k;
    }
    free(norm);
    free(clean);
}

void sb__kb_analyze(const char *text, size_t len, const char *lang, struct sb__kb_tokens *t)
{
    analyze(text, len, lang, t, 0);
}

void sb__kb_analyze_all(const char *text, size_t len, const char *lang, struct sb__kb_tokens *t)
{
    analyze(text, len, lang, t, 1);
}

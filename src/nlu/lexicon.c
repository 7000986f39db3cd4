/* SPDX-License-Identifier: MIT */
/*
 * Sentiment lexicons as prior knowledge for sentiment models: loading them at training time
 * from installed data packages (never from files in this repository), and the lexicon features
 * of a text. English valences come from the VADER lexicon (npm `vader-sentiment`,
 * vader_lexicon.txt: word, mean valence -4..4, ...). Chinese valences are projected from
 * English: each simplified headword of CC-CEDICT (npm `@nlpjs/lang-zh`, src/cedict_ts.u8.js)
 * gets the mean English valence of its glosses, each gloss scored with the same rules as an
 * English text. A model stores the entries it was trained with (model file v3), so it needs
 * no lexicon file at inference time.
 *
 * The rules applied to a text are this file's own: a negation cue in the three tokens before a
 * lexicon word (same clause) flips and damps its valence, an intensifier before it scales it
 * up and a softener down, and in a sentence split by a contrast word ("but", 但是) the part
 * before it counts half and the part after it 1.5 times. Lexicon words in a Han run are found
 * by forward maximum matching (longest entry first).
 */
#include "nlu_internal.h"
#include "sb/mem.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#ifndef SB_NLU_LEXICON_DIR
#define SB_NLU_LEXICON_DIR "third_party/lexicons/node_modules"
#endif

#define VADER_PATH "vader-sentiment/vader_lexicon.txt"
#define CEDICT_PATH "@nlpjs/lang-zh/src/cedict_ts.u8.js"
#define LEX_MAX_FILE ((size_t)64 << 20)

/* ---- the table ---------------------------------------------------------------------------- */

#define FNV0 0xcbf29ce484222325ull

static uint64_t fnv_more(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t key_mix(uint64_t h)
{
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h ? h : 1;
}

static uint64_t key_hash(const char *s, size_t n)
{
    return key_mix(fnv_more(FNV0, s, n));
}

void sb__nlu_lex_free(struct sb__nlu_lex *lx)
{
    if (!lx)
        return;
    free(lx->words);
    free(lx->off);
    free(lx->val);
    free(lx->slot[0]);
    free(lx->slot[1]);
    free(lx->pfx);
    free(lx);
}

static size_t han_chars(const char *w, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; c++) {
        unsigned char b = (unsigned char)w[i];
        i += b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    }
    return c;
}

static void pfx_add(struct sb__nlu_lex *lx, uint64_t h)
{
    size_t s = h & lx->pmask;
    while (lx->pfx[s] && lx->pfx[s] != h)
        s = (s + 1) & lx->pmask;
    lx->pfx[s] = h;
}

static int pfx_has(const struct sb__nlu_lex *lx, uint64_t h)
{
    for (size_t s = h & lx->pmask;; s = (s + 1) & lx->pmask) {
        if (lx->pfx[s] == h)
            return 1;
        if (!lx->pfx[s])
            return 0;
    }
}

static void lex_index(struct sb__nlu_lex *lx)
{
    size_t pcap = 64, npfx = 0, count[2] = {0, 0};
    for (uint32_t i = 0; i < lx->n; i++)
        count[(unsigned char)lx->words[lx->off[i]] >= 0xE0]++;
    for (int t = 0; t < 2; t++) {
        size_t cap = 16;
        while (cap < count[t] * 2)
            cap <<= 1;
        free(lx->slot[t]);
        lx->slot[t] = sb_calloc(cap, sizeof(*lx->slot[t]));
        lx->mask[t] = cap - 1;
    }
    free(lx->pfx);
    lx->maxhan = 0;
    memset(lx->first, 0, sizeof(lx->first));
    for (uint32_t i = 0; i < lx->n; i++) {
        const char *w = lx->words + lx->off[i];
        size_t n = lx->off[i + 1] - lx->off[i] - 1;
        uint64_t h = key_hash(w, n);
        int t = (unsigned char)w[0] >= 0xE0;
        size_t s = h & lx->mask[t];
        while (lx->slot[t][s].e)
            s = (s + 1) & lx->mask[t];
        lx->slot[t][s].h = h;
        lx->slot[t][s].e = i + 1;
        int32_t cp = 0;
        if ((unsigned char)w[0] >= 0xE0 &&
            utf8proc_iterate((const utf8proc_uint8_t *)w, (utf8proc_ssize_t)n, &cp) > 0 &&
            cp >= 0x3400 && cp < 0xA000)
            lx->first[(cp - 0x3400) >> 3] |= (uint8_t)(1u << ((cp - 0x3400) & 7));
        if ((unsigned char)w[0] >= 0xE0) {
            size_t c = han_chars(w, n);
            if (c > lx->maxhan)
                lx->maxhan = (uint32_t)c;
            npfx += c - 1;
        }
    }
    while (pcap < npfx * 2)
        pcap <<= 1;
    lx->pfx = sb_calloc(pcap, sizeof(uint64_t));
    lx->pmask = pcap - 1;
    for (uint32_t i = 0; i < lx->n; i++) {
        const char *w = lx->words + lx->off[i];
        size_t n = lx->off[i + 1] - lx->off[i] - 1;
        if ((unsigned char)w[0] < 0xE0)
            continue;
        uint64_t st = FNV0;
        for (size_t b = 0; b < n;) {
            unsigned char c = (unsigned char)w[b];
            size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            if (b + k > n)
                break;
            st = fnv_more(st, w + b, k);
            b += k;
            if (b < n)
                pfx_add(lx, key_mix(st));
        }
    }
}

/* Entry index of `w` whose key_hash is `h`, or -1. */
static int64_t find_h(const struct sb__nlu_lex *lx, uint64_t h, const char *w, size_t n)
{
    int t = n && (unsigned char)w[0] >= 0xE0;
    const struct sb__nlu_lexslot *slot = lx->slot[t];
    size_t mask = lx->mask[t];
    for (size_t s = h & mask;; s = (s + 1) & mask) {
        const struct sb__nlu_lexslot *e = &slot[s];
        if (!e->e)
            return -1;
        uint32_t i = e->e - 1;
        if (e->h == h && lx->off[i + 1] - lx->off[i] - 1 == n &&
            memcmp(lx->words + lx->off[i], w, n) == 0)
            return i;
    }
}

int64_t sb__nlu_lex_find(const struct sb__nlu_lex *lx, const char *w, size_t n)
{
    if (!lx || !lx->n)
        return -1;
    return find_h(lx, key_hash(w, n), w, n);
}

/* Entries are appended while loading and frozen by build_finish. */
struct lex_build {
    struct sb_buf words;
    uint32_t *off;
    float *val;
    size_t n, cap;
};

static void build_add(struct lex_build *b, const char *w, size_t n, float v)
{
    if (n == 0 || n > SB__NLU_LEX_WORD_MAX || !(v >= -8 && v <= 8))
        return;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->off = sb_realloc(b->off, (b->cap + 1) * sizeof(uint32_t));
        b->val = sb_realloc(b->val, b->cap * sizeof(float));
    }
    b->off[b->n] = (uint32_t)b->words.len;
    b->val[b->n++] = v;
    (void)sb_buf_append(&b->words, w, n);
    (void)sb_buf_append(&b->words, "", 1);
}

/* Freezes `b` into a lexicon; a word given twice keeps its first valence. */
static struct sb__nlu_lex *build_finish(struct lex_build *b)
{
    struct sb__nlu_lex *lx = sb_calloc(1, sizeof(*lx));
    lx->off = sb_malloc((b->n + 1) * sizeof(uint32_t));
    lx->val = sb_malloc((b->n ? b->n : 1) * sizeof(float));
    struct sb_buf words;
    sb_buf_init(&words, 0);
    for (size_t i = 0; i < b->n; i++) {
        const char *w = b->words.data + b->off[i];
        size_t n = strlen(w);
        lx->off[lx->n] = (uint32_t)words.len;
        lx->val[lx->n] = b->val[i];
        (void)sb_buf_append(&words, w, n);
        (void)sb_buf_append(&words, "", 1);
        lx->n++;
    }
    lx->off[lx->n] = (uint32_t)words.len;
    lx->words = sb_buf_steal(&words, NULL);
    if (!lx->words)
        lx->words = sb_calloc(1, 1);
    lex_index(lx);
    /* drop later duplicates: linear probing finds the earliest entry of a word first */
    size_t keep = 0;
    for (uint32_t i = 0; i < lx->n; i++) {
        const char *w = lx->words + lx->off[i];
        size_t n = lx->off[i + 1] - lx->off[i] - 1;
        if (sb__nlu_lex_find(lx, w, n) == (int64_t)i)
            keep++;
    }
    if (keep != lx->n) {
        struct lex_build nb = {0};
        sb_buf_init(&nb.words, 0);
        for (uint32_t i = 0; i < lx->n; i++) {
            const char *w = lx->words + lx->off[i];
            size_t n = lx->off[i + 1] - lx->off[i] - 1;
            if (sb__nlu_lex_find(lx, w, n) == (int64_t)i)
                build_add(&nb, w, n, lx->val[i]);
        }
        sb__nlu_lex_free(lx);
        lx = build_finish(&nb);
        sb_buf_cleanup(&nb.words);
        free(nb.off);
        free(nb.val);
    }
    return lx;
}

struct sb__nlu_lex *sb__nlu_lex_from_entries(const char *const *words, const float *val, size_t n,
                                             int normalize)
{
    struct lex_build b = {0};
    sb_buf_init(&b.words, 0);
    for (size_t i = 0; i < n; i++) {
        if (!normalize) {
            build_add(&b, words[i], strlen(words[i]), val[i]);
            continue;
        }
        char *norm = sb_nlu_normalize(words[i], strlen(words[i]));
        if (norm) {
            build_add(&b, norm, strlen(norm), val[i]);
            free(norm);
        }
    }
    struct sb__nlu_lex *lx = build_finish(&b);
    sb_buf_cleanup(&b.words);
    free(b.off);
    free(b.val);
    return lx;
}

/* ---- the rules ------------------------------------------------------------------------------ */

static int in_words(const char *w, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, w, n) == 0)
            return 1;
    return 0;
}

static const char *const en_neg[] = {
    "not",  "no",      "never",  "cannot", "nothing", "nobody",   "none",    "nor",     "without",
    "dont", "cant",    "wont",   "didnt",  "doesnt",  "isnt",     "wasnt",   "arent",   "werent",
    "aint", "neither", "hardly", "havent", "hasnt",   "shouldnt", "wouldnt", "couldnt", NULL};
static const char *const en_up[] = {"very",       "really",     "so",    "extremely", "totally",
                                    "absolutely", "incredibly", "super", "too",       "most",
                                    "completely", "highly",     "truly", "utterly",   "especially",
                                    "seriously",  "such",       NULL};
static const char *const en_down[] = {"slightly", "somewhat", "kinda", "kind",   "sort",   "sorta",
                                      "barely",   "little",   "bit",   "fairly", "pretty", NULL};
static const char *const en_but[] = {"but", "however", "though", "although", "yet", NULL};
/* Chinese cues, matched as the Han characters right before a lexicon word */
static const char *const zh_neg[] = {"不", "没", "没有", "无",   "别",   "未",     "非",
                                     "勿", "莫", "不是", "不太", "不够", "不怎么", NULL};
static const char *const zh_up[] = {"很", "非常", "太",   "特别", "超", "真", "十分", "极",
                                    "最", "挺",   "超级", "相当", "巨", "更", "实在", NULL};
static const char *const zh_down[] = {"有点", "有些", "稍微", "略", "一点", "比较", NULL};
static const char *const zh_but[] = {"但", "但是", "可是", "不过", "然而", "却", "可惜", NULL};

enum { CUE_NONE, CUE_NEG, CUE_UP, CUE_DOWN, CUE_BUT };

/* The cue kind of an English word: the lists are checked only when the word's hash is one of
 * theirs (a per-word cost of a few compares instead of sixty string compares). */
static uint64_t cue_hash[128];
static uint8_t cue_kind[128];
static size_t ncue;
static pthread_once_t cue_once = PTHREAD_ONCE_INIT;

static void cue_init(void)
{
    const char *const *lists[] = {en_neg, en_up, en_down, en_but};
    for (int k = 0; k < 4; k++)
        for (const char *const *w = lists[k]; *w && ncue < 128; w++) {
            cue_hash[ncue] = key_hash(*w, strlen(*w));
            cue_kind[ncue++] = (uint8_t)(CUE_NEG + k);
        }
}

static int en_cue(const char *w, size_t n)
{
    if (n >= 3 && memcmp(w + n - 3, "n't", 3) == 0)
        return CUE_NEG;
    pthread_once(&cue_once, cue_init);
    uint64_t h = key_hash(w, n);
    for (size_t i = 0; i < ncue; i++)
        if (cue_hash[i] == h) {
            const char *const *lists[] = {en_neg, en_up, en_down, en_but};
            if (in_words(w, n, lists[cue_kind[i] - CUE_NEG]))
                return cue_kind[i];
        }
    return CUE_NONE;
}

#define NEG_SCALE (-0.6)
#define UP_SCALE 1.3
#define DOWN_SCALE 0.7
#define BEFORE_BUT 0.5
#define AFTER_BUT 1.5

/* The Chinese cues by hash, like the English ones: kind and length of each. */
static uint64_t zcue_hash[64];
static uint8_t zcue_kind[64];
static size_t nzcue;
static pthread_once_t zcue_once = PTHREAD_ONCE_INIT;

static uint8_t zslot[128]; /* open addressing on the hash: cue index + 1 */

static void zcue_init(void)
{
    const char *const *lists[] = {zh_neg, zh_up, zh_down, zh_but};
    for (int k = 0; k < 4; k++)
        for (const char *const *w = lists[k]; *w && nzcue < 64; w++) {
            uint64_t h = key_hash(*w, strlen(*w));
            size_t s = h & 127;
            while (zslot[s])
                s = (s + 1) & 127;
            zcue_hash[nzcue] = h;
            zcue_kind[nzcue++] = (uint8_t)(CUE_NEG + k);
            zslot[s] = (uint8_t)nzcue;
        }
}

/* The cue kind of the Han string w (n bytes) whose key_hash is h. */
static int zh_cue_h(uint64_t h, const char *w, size_t n)
{
    pthread_once(&zcue_once, zcue_init);
    for (size_t s = h & 127; zslot[s]; s = (s + 1) & 127)
        if (zcue_hash[zslot[s] - 1] == h) {
            const char *const *lists[] = {zh_neg, zh_up, zh_down, zh_but};
            int k = zcue_kind[zslot[s] - 1];
            return in_words(w, n, lists[k - CUE_NEG]) ? k : CUE_NONE;
        }
    return CUE_NONE;
}

/* len[kind]: length in bytes of the longest cue of each kind (1..3 characters) that ends right
 * before byte `at` of the Han run at `s`, or 0. */
static void zh_cues_before(const char *s, size_t at, size_t len[CUE_BUT + 1])
{
    memset(len, 0, (CUE_BUT + 1) * sizeof(len[0]));
    for (size_t L = 3; L <= 9 && L <= at; L += 3) {
        int k = zh_cue_h(key_hash(s + at - L, L), s + at - L, L);
        if (k != CUE_NONE)
            len[k] = L;
    }
}

/* Lexicon hits with their valences after the rules. */
struct hit {
    float v;
    uint32_t sent;
    uint32_t clause; /* clause number in the text (every break starts one) */
    uint32_t e;      /* entry index */
};

struct hits {
    struct hit *h;
    size_t n, cap;
};

static void hits_add(struct hits *hs, float v, uint32_t sent, uint32_t clause, int64_t e)
{
    if (hs->n == hs->cap) {
        hs->cap = hs->cap ? hs->cap * 2 : 32;
        hs->h = sb_realloc(hs->h, hs->cap * sizeof(*hs->h));
    }
    hs->h[hs->n].v = v;
    hs->h[hs->n].sent = sent;
    hs->h[hs->n].clause = clause;
    hs->h[hs->n].e = (uint32_t)e;
    hs->n++;
}

static int han_start(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0xE0)
        return 0;
    int32_t cp;
    if (utf8proc_iterate((const utf8proc_uint8_t *)s, 4, &cp) <= 0)
        return 0;
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF);
}

/* In a sentence (its hits from `first` on) with a contrast word before hit `but`, hits before
 * it count less and hits after it more: the verdict usually follows "but". */
static void contrast(struct hits *hs, size_t first, size_t but)
{
    if (but == (size_t)-1)
        return;
    for (size_t h = first; h < hs->n; h++)
        hs->h[h].v *= (float)(h < but ? BEFORE_BUT : AFTER_BUT);
}

/* The hits of `toks` with rule-adjusted valences; returns their sum. */
static double lex_scan(const struct sb__nlu_lex *lx, const struct sb__nlu_ltok *t, size_t n,
                       unsigned opts, struct hits *hs)
{
    int rules = (opts & SB__NLU_LEX_RAW) == 0;
    uint32_t sent = 0; /* sentence number: a contrast word reweighs its sentence */
    uint32_t clause = 0;
    size_t last_neg = (size_t)-1, last_up = (size_t)-1, last_down = (size_t)-1;
    size_t word_i = 0; /* index among non-Han word tokens of the clause, for the cue window */
    /* the hit index where the sentence's last contrast word came, and the sentence's first */
    size_t but_hit = (size_t)-1, sent_hit = 0;
    for (size_t i = 0; i < n;) {
        const struct sb__nlu_ltok *k = &t[i];
        if (k->type == SB__NLU_LT_BREAK) {
            clause++;
            if (k->len) { /* len 1: a sentence ends; 0: a clause */
                contrast(hs, sent_hit, but_hit);
                but_hit = (size_t)-1;
                sent_hit = hs->n;
                sent++;
            }
            last_neg = last_up = last_down = (size_t)-1;
            i++;
            continue;
        }
        if (k->type == SB__NLU_LT_WORD) {
            int64_t e = sb__nlu_lex_find(lx, k->s, k->len);
            int cue = rules ? en_cue(k->s, k->len) : CUE_NONE;
            if (cue == CUE_NEG) {
                last_neg = word_i;
            } else if (cue == CUE_UP) {
                last_up = word_i;
            } else if (cue == CUE_DOWN) {
                last_down = word_i;
            } else if (cue == CUE_BUT) {
                but_hit = hs->n;
                last_neg = last_up = last_down = (size_t)-1;
            } else if (e >= 0) {
                double v = lx->val[e];
                if (rules) {
                    if (last_up != (size_t)-1 && word_i - last_up <= 2)
                        v *= UP_SCALE;
                    if (last_down != (size_t)-1 && word_i - last_down <= 2)
                        v *= DOWN_SCALE;
                    if (last_neg != (size_t)-1 && word_i - last_neg <= 3)
                        v *= NEG_SCALE;
                }
                hits_add(hs, (float)v, sent, clause, e);
            }
            word_i++;
            i++;
            continue;
        }
        if (k->type != SB__NLU_LT_HAN) {
            i++;
            continue;
        }
        /* a run of Han tokens: contiguous bytes in the normalised text */
        size_t j = i;
        while (j < n && t[j].type == SB__NLU_LT_HAN &&
               (j == i || t[j].s == t[j - 1].s + t[j - 1].len))
            j++;
        const char *base = k->s;
        size_t p = i;
        while (p < j) {
            size_t best = 0;
            int64_t be = -1;
            size_t maxg = lx->maxhan < j - p ? lx->maxhan : j - p;
            /* the longest entry starting at p: extend while some entry has this prefix */
            if (t[p].len == 3) {
                const unsigned char *u = (const unsigned char *)t[p].s;
                uint32_t cp =
                    (uint32_t)(u[0] & 15) << 12 | (uint32_t)(u[1] & 63) << 6 | (u[2] & 63);
                if (cp >= 0x3400 && cp < 0xA000 &&
                    !(lx->first[(cp - 0x3400) >> 3] & (1u << ((cp - 0x3400) & 7))))
                    maxg = 0; /* no entry starts with this character */
            }
            uint64_t st = FNV0, bh = 0;
            for (size_t g = 1; g <= maxg; g++) {
                st = fnv_more(st, t[p + g - 1].s, t[p + g - 1].len);
                uint64_t h = key_mix(st);
                size_t len = (size_t)(t[p + g - 1].s + t[p + g - 1].len - t[p].s);
                int64_t e = find_h(lx, h, t[p].s, len);
                if (e >= 0) {
                    best = g;
                    be = e;
                    bh = h;
                }
                if (g < maxg && !pfx_has(lx, h))
                    break;
            }
            size_t at = (size_t)(t[p].s - base);
            if (be >= 0) {
                /* a contrast word found by the lexicon scan is not a sentiment hit */
                size_t blen = (size_t)(t[p + best - 1].s + t[p + best - 1].len - t[p].s);
                int kind = rules ? zh_cue_h(bh, t[p].s, blen) : CUE_NONE;
                int contrast = kind == CUE_BUT, cue = kind != CUE_NONE && !contrast;
                if (!contrast && !cue) {
                    double v = lx->val[be];
                    if (rules) {
                        size_t c[CUE_BUT + 1], c2[CUE_BUT + 1];
                        zh_cues_before(base, at, c);
                        size_t nb = c[CUE_NEG], ub = c[CUE_UP], db = c[CUE_DOWN];
                        /* "不很好" / "很不好": a cue right before, or one more character back */
                        if (!nb && ub) {
                            zh_cues_before(base, at - ub, c2);
                            nb = c2[CUE_NEG];
                        } else if (!ub && nb) {
                            zh_cues_before(base, at - nb, c2);
                            ub = c2[CUE_UP];
                        }
                        if (ub)
                            v *= UP_SCALE;
                        if (db)
                            v *= DOWN_SCALE;
                        if (nb)
                            v *= NEG_SCALE;
                    }
                    hits_add(hs, (float)v, sent, clause, be);
                }
            }
            /* a contrast word anywhere in the run (whether or not it is a lexicon word) */
            /* (only characters that start one: 但 可 不 然 却) */
            if (rules && t[p].len == 3 &&
                (memcmp(t[p].s, "但", 3) == 0 || memcmp(t[p].s, "可", 3) == 0 ||
                 memcmp(t[p].s, "不", 3) == 0 || memcmp(t[p].s, "然", 3) == 0 ||
                 memcmp(t[p].s, "却", 3) == 0)) {
                size_t cl = 0;
                for (const char *const *c = zh_but; *c; c++) {
                    size_t cn = strlen(*c);
                    if (cn > cl && at + cn <= (size_t)(t[j - 1].s + t[j - 1].len - base) &&
                        memcmp(base + at, *c, cn) == 0)
                        cl = cn;
                }
                if (cl && !(be >= 0 && best * 3 > cl))
                    but_hit = hs->n;
            }
            p += best ? best : 1;
        }
        i = j;
    }
    contrast(hs, sent_hit, but_hit);
    double sum = 0;
    for (size_t h = 0; h < hs->n; h++)
        sum += hs->h[h].v;
    return sum;
}

/* ---- features ------------------------------------------------------------------------------- */

static uint64_t feat_hash(const char *tag, long v)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = "\x1eL"; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    for (const char *p = tag; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    for (int i = 0; i < 8; i++)
        h = (h ^ (unsigned char)((unsigned long)v >> (8 * i))) * 0x100000001b3ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    h &= ~SB__NLU_CHAR_BIT; /* the word block */
    return h ? h : 1;
}

static long bin_count(size_t c)
{
    long b = 0;
    while (c && b < 6) {
        b++;
        c >>= 1;
    }
    return b; /* 0, 1, 2-3, 4-7, 8-15, 16-31, 32+ */
}

double sb__nlu_lex_features(const struct sb__nlu_lex *lx, unsigned opts,
                            const struct sb__nlu_ltok *t, size_t n, struct sb__nlu_hvec *out)
{
    if (!lx || !lx->n)
        return 0;
    struct hits hs = {0};
    double sum = lex_scan(lx, t, n, opts, &hs);
    /* repeats: a larger TF-IDF value (1 + log r) than the text's other words */
    unsigned rep = (opts >> SB__NLU_LEX_REP_SHIFT) & 15;
    rep = rep ? rep : 1;
    if (out) {
        size_t pos = 0, neg = 0;
        for (size_t h = 0; h < hs.n; h++) {
            double v = hs.h[h].v;
            if (v > 0.05)
                pos++;
            else if (v < -0.05)
                neg++;
            if (opts & SB__NLU_LEX_TOK) {
                long b = lrint(v);
                if (b > 4)
                    b = 4;
                if (b < -4)
                    b = -4;
                if (b == 0)
                    b = v > 0 ? 10 : -10; /* weak but signed */
                for (unsigned r = 0; r < rep; r++)
                    sb__nlu_hvec_push(out, feat_hash("t", b));
            }
        }
        if (opts & SB__NLU_LEX_DOC) {
            /* a squashed document score in 11 bins, and the counts of each sign */
            double c = sum / sqrt(sum * sum + 12.0);
            for (unsigned r = 0; r < rep; r++) {
                sb__nlu_hvec_push(out, feat_hash("d", lrint(c * 5)));
                sb__nlu_hvec_push(out, feat_hash("p", bin_count(pos)));
                sb__nlu_hvec_push(out, feat_hash("n", bin_count(neg)));
            }
            long bal = pos > neg ? 1 : pos < neg ? -1 : 0;
            sb__nlu_hvec_push(out, feat_hash("b", bal));
        }
        if ((opts & SB__NLU_LEX_LAST) && hs.n) {
            /* the last clause that holds a hit: reviews tend to end on their verdict */
            uint32_t lc = hs.h[hs.n - 1].clause;
            double ls = 0;
            for (size_t h = hs.n; h-- > 0 && hs.h[h].clause == lc;)
                ls += hs.h[h].v;
            double c = ls / sqrt(ls * ls + 4.0);
            sb__nlu_hvec_push(out, feat_hash("e", lrint(c * 3)));
        }
    }
    free(hs.h);
    return sum;
}

void sb__nlu_lex_count(const struct sb__nlu_lex *lx, const struct sb__nlu_ltok *t, size_t n,
                       uint32_t *counts)
{
    if (!lx || !lx->n)
        return;
    struct hits hs = {0};
    (void)lex_scan(lx, t, n, 0, &hs);
    for (size_t h = 0; h < hs.n; h++)
        counts[hs.h[h].e]++;
    free(hs.h);
}

struct sb__nlu_lex *sb__nlu_lex_keep(const struct sb__nlu_lex *lx, const uint32_t *counts,
                                     uint32_t min)
{
    struct lex_build b = {0};
    sb_buf_init(&b.words, 0);
    for (uint32_t i = 0; i < lx->n; i++) {
        const char *w = lx->words + lx->off[i];
        if ((unsigned char)w[0] < 0xE0 || counts[i] >= min)
            build_add(&b, w, lx->off[i + 1] - lx->off[i] - 1, lx->val[i]);
    }
    struct sb__nlu_lex *out = build_finish(&b);
    sb_buf_cleanup(&b.words);
    free(b.off);
    free(b.val);
    return out;
}

/* ---- loading -------------------------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct sb_buf b;
    sb_buf_init(&b, LEX_MAX_FILE);
    char chunk[1 << 16];
    size_t k;
    int bad = 0;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (sb_buf_append(&b, chunk, k)) {
            bad = 1;
            break;
        }
    bad |= ferror(f);
    fclose(f);
    if (bad) {
        sb_buf_cleanup(&b);
        return NULL;
    }
    (void)sb_buf_append(&b, "", 1);
    *len = b.len - 1;
    return sb_buf_steal(&b, NULL);
}

/* The line at *p, up to its '\n' or `end` (*le, not included); *p moves past it. */
static const char *next_line(const char **p, const char *end, const char **le)
{
    const char *line = *p;
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    *le = nl ? nl : end;
    *p = *le + 1;
    return line;
}

/* VADER: `token<TAB>mean<TAB>sd<TAB>[ratings]` per line. Returns the entries read. */
static size_t load_vader(const char *data, size_t len, struct lex_build *b)
{
    size_t count = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *le, *line = next_line(&p, end, &le);
        const char *tab = memchr(line, '\t', (size_t)(le - line));
        if (tab && tab > line && (size_t)(tab - line) <= SB__NLU_LEX_WORD_MAX) {
            char num[32];
            const char *t2 = memchr(tab + 1, '\t', (size_t)(le - tab - 1));
            size_t nn = (size_t)((t2 ? t2 : le) - tab - 1);
            if (nn < sizeof(num)) {
                memcpy(num, tab + 1, nn);
                num[nn] = '\0';
                char *e;
                double v = strtod(num, &e);
                if (e != num && *e == '\0') {
                    char *norm = sb_nlu_normalize(line, (size_t)(tab - line));
                    if (norm) {
                        build_add(b, norm, strlen(norm), (float)v);
                        count++;
                        free(norm);
                    }
                }
            }
        }
    }
    return count;
}

/* Splits an English gloss into lower-case ASCII word tokens (dropping parenthesised parts). */
static size_t gloss_tokens(const char *g, size_t n, struct sb__nlu_ltok *t, size_t max, char *buf,
                           size_t bufcap)
{
    size_t nt = 0, bl = 0;
    int paren = 0;
    for (size_t i = 0; i < n && nt < max;) {
        char c = g[i];
        if (c == '(') {
            paren++;
            i++;
            continue;
        }
        if (c == ')') {
            if (paren)
                paren--;
            i++;
            continue;
        }
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha) {
            if (!paren && (c == ',' || c == ';') && nt && t[nt - 1].type != SB__NLU_LT_BREAK) {
                t[nt].s = buf + bl;
                t[nt].len = 0;
                t[nt++].type = SB__NLU_LT_BREAK;
            }
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && (((g[i] | 0x20) >= 'a' && (g[i] | 0x20) <= 'z') || g[i] == '\''))
            i++;
        if (paren || i - s > 40 || bl + (i - s) > bufcap)
            continue;
        char *w = buf + bl;
        size_t wl = 0;
        for (size_t k = s; k < i; k++)
            if (g[k] != '\'') /* "don't" -> "dont", as the cue lists spell it */
                w[wl++] = (char)(g[k] | 0x20);
        bl += wl;
        t[nt].s = w;
        t[nt].len = (uint32_t)wl;
        t[nt++].type = SB__NLU_LT_WORD;
    }
    return nt;
}

static int gloss_skipped(const char *g, size_t n)
{
    static const char *const skip[] = {"surname ",  "variant of", "see ", "old variant",
                                       "abbr. for", "used in",    "CL:",  "Taiwan pr."};
    for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++) {
        size_t k = strlen(skip[i]);
        if (n >= k && memcmp(g, skip[i], k) == 0)
            return 1;
    }
    return 0;
}

/*
 * CC-CEDICT: lines `trad simp [pinyin] /gloss/gloss/`. A simplified headword of 1..6 Han
 * characters gets the mean valence of its glosses that hold a lexicon word (entries of one
 * headword pooled); kept when at least a third of its glosses carry valence and |mean| >= 0.5
 * (a single character: half of them, and |mean| >= 1).
 */
static size_t load_cedict(const char *data, size_t len, const struct sb__nlu_lex *en,
                          const struct sb__nlu_lex *fb, struct lex_build *b)
{
    struct acc {
        double sum, fsum;
        uint32_t hit, all, fhit;
    };
    /* headwords in a small open-addressing map: hash -> index into parallel arrays */
    size_t cap = 1 << 18, nw = 0;
    uint32_t *slot = sb_calloc(cap, sizeof(uint32_t));
    uint32_t *woff = sb_malloc(cap / 2 * sizeof(uint32_t));
    uint8_t *wlen = sb_malloc(cap / 2);
    struct acc *acc = sb_calloc(cap / 2, sizeof(*acc));
    struct sb__nlu_ltok gt[64];
    char gbuf[512];
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *le, *line = next_line(&p, end, &le);
        if (le - line < 5 || line[0] == '#')
            continue;
        const char *sp1 = memchr(line, ' ', (size_t)(le - line));
        if (!sp1)
            continue;
        const char *simp = sp1 + 1;
        const char *sp2 = memchr(simp, ' ', (size_t)(le - simp));
        const char *sl = sp2 ? memchr(sp2, '/', (size_t)(le - sp2)) : NULL;
        if (!sp2 || !sl)
            continue;
        size_t hn = (size_t)(sp2 - simp);
        /* Han-only headwords of 1..6 characters (3-byte UTF-8 in the BMP) */
        if (hn < 3 || hn > 18 || hn % 3)
            continue;
        int ok = 1;
        for (size_t k = 0; k < hn && ok; k += 3)
            ok = han_start(simp + k);
        if (!ok)
            continue;
        size_t s = key_hash(simp, hn) & (cap - 1);
        uint32_t wi = 0;
        for (;;) {
            uint32_t e = slot[s];
            if (!e) {
                if (nw >= cap / 2 - 1)
                    break;
                woff[nw] = (uint32_t)(simp - data);
                wlen[nw] = (uint8_t)hn;
                slot[s] = (uint32_t)++nw;
                wi = (uint32_t)nw;
                break;
            }
            if (wlen[e - 1] == hn && memcmp(data + woff[e - 1], simp, hn) == 0) {
                wi = e;
                break;
            }
            s = (s + 1) & (cap - 1);
        }
        if (!wi)
            continue;
        struct acc *a = &acc[wi - 1];
        for (const char *g = sl + 1; g < le;) {
            const char *ge = memchr(g, '/', (size_t)(le - g));
            if (!ge)
                break;
            size_t gl = (size_t)(ge - g);
            if (gl && !gloss_skipped(g, gl)) {
                size_t nt = gloss_tokens(g, gl, gt, 64, gbuf, sizeof(gbuf));
                struct hits hs = {0};
                double v = lex_scan(en, gt, nt, 0, &hs);
                a->all++;
                if (hs.n) {
                    a->hit++;
                    a->sum += v / (double)hs.n;
                }
                if (fb) {
                    hs.n = 0;
                    v = lex_scan(fb, gt, nt, 0, &hs);
                    if (hs.n) {
                        a->fhit++;
                        a->fsum += v / (double)hs.n;
                    }
                }
                free(hs.h);
            }
            g = ge + 1;
        }
    }
    /* one character has many senses (了, 吃): it needs half of its glosses to agree */
#define CED_KEEP(hit, sum, all, single)                                                            \
    ((hit) && (hit) * ((single) ? 2 : 3) >= (all) && fabs((sum) / (hit)) >= ((single) ? 1.0 : 0.5))
    size_t count = 0;
    struct lex_build pb = {0}; /* the first lexicon's words, to keep the fallback's out of them */
    sb_buf_init(&pb.words, 0);
    for (size_t i = 0; i < nw; i++) {
        const struct acc *a = &acc[i];
        if (CED_KEEP(a->hit, a->sum, a->all, wlen[i] == 3)) {
            build_add(b, data + woff[i], wlen[i], (float)(a->sum / a->hit));
            if (fb)
                build_add(&pb, data + woff[i], wlen[i], 1);
            count++;
        }
    }
    if (fb) {
        /* a word the first lexicon gives none gets the fallback's valence, unless it holds a
           word of the first lexicon (longest-first matching would hide that word) */
        struct sb__nlu_lex *prim = build_finish(&pb);
        for (size_t i = 0; i < nw; i++) {
            const struct acc *a = &acc[i];
            int single = wlen[i] == 3;
            if (CED_KEEP(a->hit, a->sum, a->all, single) ||
                !CED_KEEP(a->fhit, a->fsum, a->all, single))
                continue;
            int hides = 0;
            const char *w = data + woff[i];
            for (size_t st = 0; st < wlen[i] && !hides; st += 3)
                for (size_t e2 = st + 3; e2 <= wlen[i] && !hides; e2 += 3)
                    hides = sb__nlu_lex_find(prim, w + st, e2 - st) >= 0;
            if (hides)
                continue;
            build_add(b, w, wlen[i], (float)(a->fsum / a->fhit));
            count++;
        }
        sb__nlu_lex_free(prim);
    }
#undef CED_KEEP
    sb_buf_cleanup(&pb.words);
    free(pb.off);
    free(pb.val);
    free(slot);
    free(woff);
    free(wlen);
    free(acc);
    return count;
}

/* ---- WordNet propagation -------------------------------------------------------------------- */

/*
 * VADER rates 7.5 k words, mostly evaluative ones; many plain descriptive words people use to
 * complain or praise ("slow", "stale", "greasy") are not among them. WordNet (Debian
 * `wordnet-base`, the same files src/kb reads) relates them to words VADER knows: a synset
 * whose members VADER rates gets their mean valence; for `WN_STEPS` rounds a synset without
 * one gets `WN_DECAY` times the mean of its related synsets' (similar-to, also-see,
 * pertainym, derivation; antonyms with the sign flipped); a word VADER lacks gets the mean of
 * its scored senses weighted 1/(1 + sense rank), when those senses hold at least a third of
 * its sense weight. Adjectives and adverbs are read: with verbs too the widened lexicon
 * scored worse on every data set measured (docs/nlu.md, fifth round), nouns add 80 k synsets
 * and few polar words. An option (`lexwn=N`), not a default: it did not help on CV.
 */
#define WN_MAX_FILE ((size_t)32 << 20)
#define WN_DECAY 0.5
#define WN_STEPS 2

struct wn_ptr {
    uint32_t from;
    uint64_t to; /* pos << 32 | offset until resolved, then the synset index */
    int8_t sign;
};

struct wn {
    size_t nsyn, cap, nptr, pcap;
    uint64_t *key; /* pos << 32 | offset */
    float *score;  /* NAN: none */
    struct wn_ptr *ptr;
    uint32_t *map; /* open addressing: key -> synset index + 1 */
    size_t mmask;
};

static size_t wn_slot(const struct wn *g, uint64_t k)
{
    size_t s = (size_t)key_mix(k) & g->mmask;
    while (g->map[s] && g->key[g->map[s] - 1] != k)
        s = (s + 1) & g->mmask;
    return s;
}

static int wn_pos(char c)
{
    return c == 's' ? 'a' : c;
}

/* The next space-separated field of [*q, le): its start, and its length in *n; *q moves past
 * it. */
static const char *next_word(char **q, const char *le, size_t *n)
{
    while (*q < le && **q == ' ')
        (*q)++;
    const char *w = *q;
    while (*q < le && **q != ' ')
        (*q)++;
    *n = (size_t)(*q - w);
    return w;
}

/* Data file lines: `offset lexfile pos w_cnt(hex) {word lex_id} p_cnt {sym offset pos st} ...`
 * Each synset's score is the mean VADER valence of its members. */
static void wn_read_data(struct wn *g, const char *data, size_t len, const struct sb__nlu_lex *en)
{
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *le, *line = next_line(&p, end, &le);
        if (le - line < 10 || line[0] == ' ')
            continue;
        const char *bar = memchr(line, '|', (size_t)(le - line));
        if (bar)
            le = bar;
        char *q;
        unsigned long off = strtoul(line, &q, 10);
        (void)strtoul(q, &q, 10);
        while (q < le && *q == ' ')
            q++;
        if (q >= le)
            continue;
        int pos = wn_pos(*q++);
        unsigned long wc = strtoul(q, &q, 16);
        if (g->nsyn == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 4096;
            g->key = sb_realloc(g->key, g->cap * sizeof(*g->key));
            g->score = sb_realloc(g->score, g->cap * sizeof(*g->score));
        }
        uint32_t si = (uint32_t)g->nsyn++;
        g->key[si] = (uint64_t)pos << 32 | off;
        double sum = 0;
        int hits = 0;
        for (unsigned long w = 0; w < wc && q < le; w++) {
            size_t wl;
            const char *ws = next_word(&q, le, &wl);
            const char *par = memchr(ws, '(', wl); /* adjective markers: "(a)", "(p)" */
            if (par)
                wl = (size_t)(par - ws);
            char lw[SB__NLU_LEX_WORD_MAX];
            if (wl && wl < sizeof(lw) && !memchr(ws, '_', wl)) {
                for (size_t k = 0; k < wl; k++)
                    lw[k] = ws[k] >= 'A' && ws[k] <= 'Z' ? (char)(ws[k] | 0x20) : ws[k];
                int64_t e = sb__nlu_lex_find(en, lw, wl);
                if (e >= 0) {
                    sum += en->val[e];
                    hits++;
                }
            }
            (void)strtoul(q, &q, 16); /* lex_id */
        }
        g->score[si] = hits ? (float)(sum / hits) : NAN;
        unsigned long pc = strtoul(q, &q, 10);
        for (unsigned long k = 0; k < pc && q < le; k++) {
            size_t sl, pl;
            const char *sym = next_word(&q, le, &sl);
            unsigned long to = strtoul(q, &q, 10);
            const char *pw = next_word(&q, le, &pl);
            int tp = pl ? wn_pos(*pw) : 0;
            (void)strtoul(q, &q, 16); /* source/target */
            int sign = 0;
            if (sl == 1 && (*sym == '&' || *sym == '^' || *sym == '\\' || *sym == '+'))
                sign = 1;
            else if (sl == 1 && *sym == '!')
                sign = -1;
            if (!sign)
                continue;
            if (g->nptr == g->pcap) {
                g->pcap = g->pcap ? g->pcap * 2 : 8192;
                g->ptr = sb_realloc(g->ptr, g->pcap * sizeof(*g->ptr));
            }
            g->ptr[g->nptr].from = si;
            g->ptr[g->nptr].to = (uint64_t)tp << 32 | to;
            g->ptr[g->nptr++].sign = (int8_t)sign;
        }
    }
}

/* Spreads the synset scores over the relations: WN_STEPS rounds, each new score decayed. */
static void wn_propagate(struct wn *g)
{
    size_t cap = 16;
    while (cap < g->nsyn * 2)
        cap <<= 1;
    g->map = sb_calloc(cap, sizeof(uint32_t));
    g->mmask = cap - 1;
    for (size_t i = 0; i < g->nsyn; i++) {
        size_t s = wn_slot(g, g->key[i]);
        if (!g->map[s])
            g->map[s] = (uint32_t)i + 1;
    }
    for (size_t k = 0; k < g->nptr; k++) {
        size_t s = wn_slot(g, g->ptr[k].to);
        g->ptr[k].to = g->map[s] ? g->map[s] - 1 : UINT64_MAX;
    }
    double *sum = sb_malloc(g->nsyn * sizeof(double));
    uint32_t *cnt = sb_malloc(g->nsyn * sizeof(uint32_t));
    for (int step = 0; step < WN_STEPS; step++) {
        memset(sum, 0, g->nsyn * sizeof(double));
        memset(cnt, 0, g->nsyn * sizeof(uint32_t));
        for (size_t k = 0; k < g->nptr; k++) {
            const struct wn_ptr *e = &g->ptr[k];
            if (e->to == UINT64_MAX || !isnan(g->score[e->from]) || isnan(g->score[e->to]))
                continue;
            sum[e->from] += e->sign * g->score[e->to];
            cnt[e->from]++;
        }
        for (size_t i = 0; i < g->nsyn; i++)
            if (cnt[i])
                g->score[i] = (float)(WN_DECAY * sum[i] / cnt[i]);
    }
    free(sum);
    free(cnt);
}

/* Index lines: `lemma pos synset_cnt p_cnt {sym} sense_cnt tagsense_cnt {offset}` (senses
 * in frequency order). Adds the words VADER lacks with their sense-weighted scores. */
static size_t wn_read_index(const struct wn *g, const char *data, size_t len,
                            const struct sb__nlu_lex *en, struct lex_build *b)
{
    size_t count = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *le, *line = next_line(&p, end, &le);
        if (le - line < 5 || line[0] == ' ')
            continue;
        const char *sp = memchr(line, ' ', (size_t)(le - line));
        if (!sp || sp - line >= SB__NLU_LEX_WORD_MAX || memchr(line, '_', (size_t)(sp - line)))
            continue;
        size_t wl = (size_t)(sp - line);
        if (sb__nlu_lex_find(en, line, wl) >= 0)
            continue;
        const char *q = sp + 1;
        int pos = wn_pos(*q);
        char *r;
        unsigned long sc = strtoul(q + 1, &r, 10);
        unsigned long pc = strtoul(r, &r, 10);
        for (unsigned long k = 0; k < pc && r < le; k++) {
            while (r < le && *r == ' ')
                r++;
            while (r < le && *r != ' ')
                r++;
        }
        (void)strtoul(r, &r, 10);
        (void)strtoul(r, &r, 10);
        double acc = 0, wt = 0, wall = 0;
        for (unsigned long k = 0; k < sc && r < le; k++) {
            unsigned long off = strtoul(r, &r, 10);
            double w = 1.0 / (double)(k + 1);
            wall += w;
            size_t s = wn_slot(g, (uint64_t)pos << 32 | off);
            if (g->map[s] && !isnan(g->score[g->map[s] - 1])) {
                acc += w * g->score[g->map[s] - 1];
                wt += w;
            }
        }
        if (wt > 0 && wt * 3 >= wall) {
            build_add(b, line, wl, (float)(acc / wt));
            count++;
        }
    }
    return count;
}

static const char *wn_dir(void)
{
    const char *e = getenv("SB_WORDNET_DIR");
    return e && *e ? e : "/usr/share/wordnet";
}

/* VADER widened over WordNet: `en`'s entries, then the words it lacks (first score kept for a
 * word found in several parts of speech). NULL when the WordNet files are missing. */
static struct sb__nlu_lex *wn_widen(const struct sb__nlu_lex *en)
{
    static const char *const pos[] = {"adj", "adv"};
    size_t npos = 2;
    struct wn g = {0};
    char path[4096];
    for (size_t i = 0; i < npos; i++) {
        size_t len;
        snprintf(path, sizeof(path), "%s/data.%s", wn_dir(), pos[i]);
        char *d = read_file(path, &len);
        if (d) {
            wn_read_data(&g, d, len, en);
            free(d);
        }
    }
    struct sb__nlu_lex *out = NULL;
    if (g.nsyn) {
        wn_propagate(&g);
        struct lex_build b = {0};
        sb_buf_init(&b.words, 0);
        for (uint32_t i = 0; i < en->n; i++)
            build_add(&b, en->words + en->off[i], en->off[i + 1] - en->off[i] - 1, en->val[i]);
        for (size_t i = 0; i < npos; i++) {
            size_t len;
            snprintf(path, sizeof(path), "%s/index.%s", wn_dir(), pos[i]);
            char *d = read_file(path, &len);
            if (d) {
                (void)wn_read_index(&g, d, len, en, &b);
                free(d);
            }
        }
        out = build_finish(&b);
        sb_buf_cleanup(&b.words);
        free(b.off);
        free(b.val);
    }
    free(g.key);
    free(g.score);
    free(g.ptr);
    free(g.map);
    return out;
}

const char *sb__nlu_lex_dir(void)
{
    const char *e = getenv("SB_NLU_LEXICON_DIR");
    return e && *e ? e : SB_NLU_LEXICON_DIR;
}

int sb__nlu_lex_load(const char *dir, int want_en, int want_zh, struct sb__nlu_lex **out,
                     char *notice, size_t notice_cap)
{
    return sb__nlu_lex_load_wn(dir, want_en, want_zh, 0, out, notice, notice_cap);
}

int sb__nlu_lex_load_wn(const char *dir, int want_en, int want_zh, unsigned wn,
                        struct sb__nlu_lex **out, char *notice, size_t notice_cap)
{
    if (!dir)
        dir = sb__nlu_lex_dir();
    *out = NULL;
    if (notice && notice_cap)
        notice[0] = '\0';
    char path[4096];
    struct lex_build b = {0};
    sb_buf_init(&b.words, 0);
    size_t len = 0, nen = 0, nzh = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, VADER_PATH);
    char *vader = read_file(path, &len);
    if (vader) {
        nen = load_vader(vader, len, &b);
        free(vader);
    }
    if (!nen) {
        if (notice)
            snprintf(notice, notice_cap,
                     "%s: not found or empty; sentiment lexicon features are off "
                     "(scripts/deps.sh installs it)",
                     path);
        sb_buf_cleanup(&b.words);
        free(b.off);
        free(b.val);
        return SB_ENOTFOUND;
    }
    struct sb__nlu_lex *en = build_finish(&b);
    sb_buf_cleanup(&b.words);
    free(b.off);
    free(b.val);
    /* the English words widened over WordNet serve the projection (SB__NLU_LEX_WN_ZH) and
       the English entries (SB__NLU_LEX_WN_EN) */
    struct sb__nlu_lex *wide = wn ? wn_widen(en) : NULL;
    const struct sb__nlu_lex *use = wide && (wn & SB__NLU_LEX_WN_EN) ? wide : en;
    memset(&b, 0, sizeof(b));
    sb_buf_init(&b.words, 0);
    if (want_en)
        for (uint32_t i = 0; i < use->n; i++)
            build_add(&b, use->words + use->off[i], use->off[i + 1] - use->off[i] - 1, use->val[i]);
    if (want_zh) {
        snprintf(path, sizeof(path), "%s/%s", dir, CEDICT_PATH);
        char *ced = read_file(path, &len);
        if (ced) {
            nzh = load_cedict(
                ced, len, wide && (wn & SB__NLU_LEX_WN_ZH) && !(wn & SB__NLU_LEX_WN_FB) ? wide : en,
                wide && (wn & SB__NLU_LEX_WN_FB) ? wide : NULL, &b);
            free(ced);
        }
        if (!nzh && notice)
            snprintf(notice, notice_cap,
                     "%s: not found or empty; Chinese lexicon features are off "
                     "(scripts/deps.sh installs it)",
                     path);
    }
    sb__nlu_lex_free(en);
    sb__nlu_lex_free(wide);
    struct sb__nlu_lex *lx = build_finish(&b);
    sb_buf_cleanup(&b.words);
    free(b.off);
    free(b.val);
    if (!lx->n) {
        sb__nlu_lex_free(lx);
        return SB_ENOTFOUND;
    }
    *out = lx;
    return 0;
}

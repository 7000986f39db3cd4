/* SPDX-License-Identifier: MIT */
/*
 * English synonyms for query expansion, from the WordNet 3.0 database that Debian's
 * `wordnet-base` package installs (/usr/share/wordnet; SB_WORDNET_DIR overrides it). The
 * database is read once per process: for every single-word lemma, the other single-word lemmas
 * of its most frequent senses (index.<pos> lists a lemma's synsets by frequency; the synset's
 * words are read at their byte offset in data.<pos>) become its synonyms. Everything is stored
 * stemmed with the same Snowball stemmer as the index, so a query term maps directly to index
 * terms. Without the database, expansion is simply off (sb__kb_wordnet_ready() is 0).
 *
 * Besides synonyms, every stem keeps its WordNet *relations* of the same senses, by kind
 * (SB__KB_WN_DERIV: derivationally related forms "+" of that very lemma and attributes "=",
 * far -> distance; SB__KB_WN_SIMILAR: similar-to "&" and also-see "^", mostly adjectives).
 * They are weaker evidence than synonyms and the search weighs each kind on its own
 * (docs/kb.md, session 5).
 *
 * Thread-safe after loading: the table is read-only once sb__kb_wordnet_load() has returned
 * (pthread_once).
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <fcntl.h>
#include <libstemmer.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WN_SENSES 2      /* senses per lemma and part of speech whose synonyms are kept */
#define WN_SYN_MAX 12    /* synonyms kept per stem */
#define WN_WORD_MAX 40
#define WN_REL_MAX 16    /* related stems kept per stem and kind */

struct wn_entry {
    char *stem;
    uint32_t first, n; /* range in syn_off */
    uint32_t rfirst[SB__KB_WN_NREL], rn[SB__KB_WN_NREL]; /* relation ranges in syn_off */
    uint32_t cls;      /* instance hypernym of its first noun sense (0 = none) */
};

struct wn_member {
    uint32_t cls;
    const char *stem; /* borrowed from the table */
};

static struct {
    int ready;
    struct wn_entry *tab; /* open addressing by stem */
    size_t cap, used;
    char *pool; /* NUL-separated synonym stems */
    size_t pool_len, pool_cap;
    uint32_t *syn_off;
    size_t nsyn, syn_cap;
    struct wn_member *members; /* sorted by cls: the instances of each class */
    size_t nmembers;
} wn;

static pthread_once_t wn_once = PTHREAD_ONCE_INIT;

static uint64_t wn_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct wn_entry *wn_slot(const char *stem, int create)
{
    if (!wn.cap)
        return NULL;
    size_t mask = wn.cap - 1;
    for (size_t i = wn_hash(stem) & mask;; i = (i + 1) & mask) {
        if (!wn.tab[i].stem) {
            if (!create || (wn.used + 1) * 4 > wn.cap * 3)
                return NULL;
            wn.used++;
            wn.tab[i].stem = sb_strdup(stem);
            return &wn.tab[i];
        }
        if (strcmp(wn.tab[i].stem, stem) == 0)
            return &wn.tab[i];
    }
}

struct mapped {
    const char *p;
    size_t n;
};

static int map_file(const char *dir, const char *name, struct mapped *m)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    m->p = p;
    m->n = (size_t)st.st_size;
    return 0;
}

/* Stems one lowercase single word (letters only); 0 when it is not one. */
static int stem_word(struct sb_stemmer *st, const char *w, size_t n, char *out, size_t cap)
{
    if (n == 0 || n >= WN_WORD_MAX || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (!((c >= 'a' && c <= 'z') || c == '-'))
            return 0;
    }
    if (sb__kb_is_stopword(w, n))
        return 0;
    const sb_symbol *s = sb_stemmer_stem(st, (const sb_symbol *)w, (int)n);
    int sn = s ? sb_stemmer_length(st) : 0;
    if (sn <= 0 || (size_t)sn >= cap)
        return 0;
    memcpy(out, s, (size_t)sn);
    out[sn] = '\0';
    return 1;
}

/* The words of the synset at `off` in a data file, stemmed, into syn[] (distinct). */
static size_t synset_words(struct sb_stemmer *st, const struct mapped *data, unsigned long off,
                           char syn[][WN_WORD_MAX], size_t have, size_t max)
{
    if (off >= data->n)
        return have;
    const char *p = data->p + off, *end = data->p + data->n;
    /* offset lex_filenum ss_type w_cnt (hex) word lex_id ... */
    int field = 0;
    long wcnt = -1;
    while (p < end && *p != '\n' && field < 4) {
        while (p < end && *p == ' ')
            p++;
        const char *t = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        if (field == 3) {
            char hex[8] = {0};
            size_t l = (size_t)(p - t) < 7 ? (size_t)(p - t) : 7;
            memcpy(hex, t, l);
            wcnt = strtol(hex, NULL, 16);
        }
        field++;
    }
    for (long i = 0; i < wcnt && p < end && *p != '\n'; i++) {
        while (p < end && *p == ' ')
            p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        size_t wl = (size_t)(p - w);
        /* adjective markers such as "(a)" end some words */
        const char *paren = memchr(w, '(', wl);
        if (paren)
            wl = (size_t)(paren - w);
        while (p < end && *p == ' ')
            p++;
        while (p < end && *p != ' ' && *p != '\n')
            p++; /* lex_id */
        char lw[WN_WORD_MAX], stem[WN_WORD_MAX];
        if (wl == 0 || wl >= sizeof(lw) || memchr(w, '_', wl))
            continue; /* multi-word lemmas are not single index terms */
        for (size_t k = 0; k < wl; k++)
            lw[k] = (char)(w[k] >= 'A' && w[k] <= 'Z' ? w[k] | 0x20 : w[k]);
        if (!stem_word(st, lw, wl, stem, sizeof(stem)))
            continue;
        int dup = 0;
        for (size_t k = 0; k < have && !dup; k++)
            dup = strcmp(syn[k], stem) == 0;
        if (!dup && have < max)
            memcpy(syn[have++], stem, strlen(stem) + 1);
    }
    return have;
}

/* The first instance hypernym ("@i") of the synset at `off`: Germany -> European country. */
static uint32_t instance_class(const struct mapped *data, unsigned long off)
{
    if (off >= data->n)
        return 0;
    const char *p = data->p + off, *end = data->p + data->n;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl)
        end = nl;
    char line[4096];
    size_t len = (size_t)(end - p) < sizeof(line) - 1 ? (size_t)(end - p) : sizeof(line) - 1;
    memcpy(line, p, len);
    line[len] = '\0';
    char *save = NULL;
    char *t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = strtok_r(i ? NULL : line, " ", &save);
        if (!t[i])
            return 0;
    }
    long w = strtol(t[3], NULL, 16);
    for (long i = 0; i < 2 * w; i++) {
        if (!strtok_r(NULL, " ", &save))
            return 0;
    }
    char *pc = strtok_r(NULL, " ", &save);
    long np = pc ? strtol(pc, NULL, 10) : 0;
    for (long i = 0; i < np; i++) {
        char *sym = strtok_r(NULL, " ", &save), *o = strtok_r(NULL, " ", &save);
        char *pos = strtok_r(NULL, " ", &save), *st = strtok_r(NULL, " ", &save);
        if (!sym || !o || !pos || !st)
            return 0;
        if (strcmp(sym, "@i") == 0)
            return (uint32_t)strtoul(o, NULL, 10);
    }
    return 0;
}

/* Merges `items` (distinct stems) into the range (*first, *count) of syn_off, at most `max`,
 * leaving out `stem` itself. Several lemmas can share a stem: later ones append to a fresh range (the
 * old one stays in the pool unused, which is bounded by the database size). */
static void merge_range(const char *stem, uint32_t *first, uint32_t *count,
                        char items[][WN_WORD_MAX], size_t n, size_t max)
{
    char prev[WN_REL_MAX > WN_SYN_MAX ? WN_REL_MAX : WN_SYN_MAX][WN_WORD_MAX];
    size_t np = 0;
    for (uint32_t i = 0; i < *count && np < max; i++)
        memcpy(prev[np++], wn.pool + wn.syn_off[*first + i],
               strlen(wn.pool + wn.syn_off[*first + i]) + 1);
    for (size_t i = 0; i < n && np < max; i++) {
        if (strcmp(items[i], stem) == 0)
            continue;
        int dup = 0;
        for (size_t k = 0; k < np && !dup; k++)
            dup = strcmp(prev[k], items[i]) == 0;
        if (!dup)
            memcpy(prev[np++], items[i], strlen(items[i]) + 1);
    }
    if (np == *count)
        return;
    if (wn.nsyn + np > wn.syn_cap) {
        wn.syn_cap = (wn.syn_cap + np) * 2;
        wn.syn_off = sb_realloc(wn.syn_off, wn.syn_cap * sizeof(uint32_t));
    }
    *first = (uint32_t)wn.nsyn;
    *count = (uint32_t)np;
    for (size_t i = 0; i < np; i++) {
        size_t l = strlen(prev[i]) + 1;
        if (wn.pool_len + l > wn.pool_cap) {
            wn.pool_cap = (wn.pool_cap + l) * 2;
            wn.pool = sb_realloc(wn.pool, wn.pool_cap);
        }
        memcpy(wn.pool + wn.pool_len, prev[i], l);
        wn.syn_off[wn.nsyn++] = (uint32_t)wn.pool_len;
        wn.pool_len += l;
    }
}

static void add_syns(const char *stem, char syn[][WN_WORD_MAX], size_t n)
{
    struct wn_entry *e = wn_slot(stem, 1);
    if (e) /* NULL: table full, the database is larger than expected */
        merge_range(stem, &e->first, &e->n, syn, n, WN_SYN_MAX);
}

static void add_rel(const char *stem, int kind, char rel[][WN_WORD_MAX], size_t n)
{
    struct wn_entry *e = n ? wn_slot(stem, 1) : NULL;
    if (e)
        merge_range(stem, &e->rfirst[kind], &e->rn[kind], rel, n, WN_REL_MAX);
}

/* The data files by WordNet's part-of-speech letter (n, v, a/s, r), mapped during loading. */
static struct mapped wn_data[4];

static const struct mapped *data_of(char pos)
{
    switch (pos) {
    case 'n': return &wn_data[0];
    case 'v': return &wn_data[1];
    case 'a':
    case 's': return &wn_data[2];
    case 'r': return &wn_data[3];
    default: return NULL;
    }
}

/* One synset line, parsed: its words (lowercase, markers cut) and pointers. */
struct wn_ptr {
    char sym[3];
    char pos;
    unsigned long off;
    unsigned src, tgt; /* word numbers (1-based) of a lexical pointer; 0 = whole synset */
};

struct wn_synset {
    char words[24][WN_WORD_MAX];
    size_t nw;
    struct wn_ptr ptr[48];
    size_t np;
};

static const char *next_tok(const char *p, const char *end, const char **t, size_t *tl)
{
    while (p < end && *p == ' ')
        p++;
    *t = p;
    while (p < end && *p != ' ')
        p++;
    *tl = (size_t)(p - *t);
    return p;
}

/* 0 on success; -1 when `off` is not the start of a well-formed line. With `words_only` the
 * pointers are not read (s->np = 0). */
static int parse_synset(const struct mapped *data, unsigned long off, struct wn_synset *s,
                        int words_only)
{
    s->nw = s->np = 0;
    if (!data || !data->p || off >= data->n)
        return -1;
    const char *p = data->p + off, *end = data->p + data->n;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl)
        end = nl;
    const char *fend = end; /* the pointers come before the frames and the ' | ' gloss */
    const char *t;
    size_t tl;
    char num[16];
    for (int f = 0; f < 4; f++) { /* offset lex_filenum ss_type w_cnt */
        p = next_tok(p, fend, &t, &tl);
        if (!tl)
            return -1;
    }
    if (tl >= sizeof(num))
        return -1;
    memcpy(num, t, tl);
    num[tl] = '\0';
    long wcnt = strtol(num, NULL, 16);
    for (long i = 0; i < wcnt; i++) {
        p = next_tok(p, fend, &t, &tl);
        const char *paren = memchr(t, '(', tl);
        size_t wl = paren ? (size_t)(paren - t) : tl;
        if (wl && wl < WN_WORD_MAX && s->nw < sizeof(s->words) / sizeof(s->words[0])) {
            for (size_t k = 0; k < wl; k++)
                s->words[s->nw][k] = (char)(t[k] >= 'A' && t[k] <= 'Z' ? t[k] | 0x20 : t[k]);
            s->words[s->nw++][wl] = '\0';
        } else if (s->nw < sizeof(s->words) / sizeof(s->words[0])) {
            s->words[s->nw++][0] = '\0'; /* keeps the word numbering */
        }
        p = next_tok(p, fend, &t, &tl); /* lex_id */
    }
    if (words_only)
        return 0;
    p = next_tok(p, fend, &t, &tl);
    if (!tl || tl >= sizeof(num))
        return -1;
    memcpy(num, t, tl);
    num[tl] = '\0';
    long pcnt = strtol(num, NULL, 10);
    for (long i = 0; i < pcnt; i++) {
        const char *sym, *o, *ps, *st;
        size_t syml, ol, psl, stl;
        p = next_tok(p, fend, &sym, &syml);
        p = next_tok(p, fend, &o, &ol);
        p = next_tok(p, fend, &ps, &psl);
        p = next_tok(p, fend, &st, &stl);
        if (!syml || syml > 2 || !ol || ol >= sizeof(num) || psl != 1 || stl != 4)
            return -1;
        if (s->np >= sizeof(s->ptr) / sizeof(s->ptr[0]))
            continue;
        struct wn_ptr *w = &s->ptr[s->np++];
        memcpy(w->sym, sym, syml);
        w->sym[syml] = '\0';
        memcpy(num, o, ol);
        num[ol] = '\0';
        w->off = strtoul(num, NULL, 10);
        w->pos = ps[0];
        char hx[3] = {st[0], st[1], '\0'};
        w->src = (unsigned)strtoul(hx, NULL, 16);
        hx[0] = st[2];
        hx[1] = st[3];
        w->tgt = (unsigned)strtoul(hx, NULL, 16);
    }
    return 0;
}

/* Appends the stem of word `w` (a lemma: letters, '-', no '_') to out[] when distinct. */
static size_t add_word(struct sb_stemmer *st, const char *w, char out[][WN_WORD_MAX], size_t have,
                       size_t max)
{
    char stem[WN_WORD_MAX];
    if (!w[0] || strchr(w, '_') || !stem_word(st, w, strlen(w), stem, sizeof(stem)))
        return have;
    for (size_t k = 0; k < have; k++) {
        if (strcmp(out[k], stem) == 0)
            return have;
    }
    if (have < max)
        memcpy(out[have++], stem, strlen(stem) + 1);
    return have;
}

/* The relations of `lemma` in the synset at `off` of `data`, added to `stem`'s ranges. */
static void add_relations(struct sb_stemmer *st, const char *lemma, const char *stem,
                          const struct mapped *data, unsigned long off)
{
    struct wn_synset s, t;
    if (parse_synset(data, off, &s, 0))
        return;
    unsigned li = 0;
    for (size_t i = 0; i < s.nw && !li; i++)
        li = strcmp(s.words[i], lemma) == 0 ? (unsigned)(i + 1) : 0;
    char rel[SB__KB_WN_NREL][WN_REL_MAX][WN_WORD_MAX];
    size_t nrel[SB__KB_WN_NREL] = {0};
    for (size_t i = 0; i < s.np; i++) {
        const struct wn_ptr *pt = &s.ptr[i];
        int kind;
        if (strcmp(pt->sym, "+") == 0 || strcmp(pt->sym, "=") == 0)
            kind = SB__KB_WN_DERIV;
        else if (strcmp(pt->sym, "&") == 0 || strcmp(pt->sym, "^") == 0)
            kind = SB__KB_WN_SIMILAR;
        else
            continue;
        if (pt->src && pt->src != li)
            continue; /* a lexical pointer of another word of the synset */
        if (parse_synset(data_of(pt->pos), pt->off, &t, 1))
            continue;
        for (size_t w = 0; w < t.nw; w++) {
            if (pt->tgt && pt->tgt != w + 1)
                continue;
            nrel[kind] = add_word(st, t.words[w], rel[kind], nrel[kind], WN_REL_MAX);
        }
    }
    for (int k = 0; k < SB__KB_WN_NREL; k++)
        add_rel(stem, k, rel[k], nrel[k]);
}

static void load_pos(struct sb_stemmer *st, const char *dir, const char *pos,
                     const struct mapped *datap)
{
    char iname[32];
    snprintf(iname, sizeof(iname), "index.%s", pos);
    struct mapped idx;
    const struct mapped data = *datap;
    if (!data.p || map_file(dir, iname, &idx))
        return;
    const char *p = idx.p, *end = idx.p + idx.n;
    while (p < end) {
        const char *line = p;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        p = nl ? nl + 1 : end;
        if (*line == ' ' || le - line < 10)
            continue; /* licence header */
        /* lemma pos synset_cnt p_cnt [ptr]{p_cnt} sense_cnt tagsense_cnt offsets... */
        char tok[64][24];
        size_t nt = 0;
        for (const char *q = line; q < le && nt < 64;) {
            while (q < le && *q == ' ')
                q++;
            const char *t = q;
            while (q < le && *q != ' ')
                q++;
            size_t tl = (size_t)(q - t);
            if (tl == 0)
                break;
            if (tl >= sizeof(tok[0]))
                tl = sizeof(tok[0]) - 1;
            memcpy(tok[nt], t, tl);
            tok[nt++][tl] = '\0';
        }
        if (nt < 6)
            continue;
        long nsyn = strtol(tok[2], NULL, 10), np = strtol(tok[3], NULL, 10);
        size_t first = 4 + (size_t)np + 2;
        char stem[WN_WORD_MAX];
        if (strchr(tok[0], '_') || !stem_word(st, tok[0], strlen(tok[0]), stem, sizeof(stem)))
            continue;
        char syn[WN_SYN_MAX][WN_WORD_MAX];
        size_t have = 0;
        for (long s = 0; s < nsyn && s < WN_SENSES && first + (size_t)s < nt; s++)
            have = synset_words(st, &data, strtoul(tok[first + (size_t)s], NULL, 10), syn,
                                have, WN_SYN_MAX);
        if (have > 1)
            add_syns(stem, syn, have);
        for (long s = 0; s < nsyn && s < WN_SENSES && first + (size_t)s < nt; s++)
            add_relations(st, tok[0], stem, &data, strtoul(tok[first + (size_t)s], NULL, 10));
        if (strcmp(pos, "noun") == 0 && nsyn > 0) {
            uint32_t cls = instance_class(&data, strtoul(tok[first], NULL, 10));
            struct wn_entry *e = cls ? wn_slot(stem, 1) : NULL;
            if (e && !e->cls)
                e->cls = cls;
        }
    }
    munmap((void *)idx.p, idx.n);
}

static int cmp_member(const void *a, const void *b)
{
    const struct wn_member *x = a, *y = b;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

static void wn_load_once(void)
{
    const char *dir = getenv("SB_WORDNET_DIR");
    if (!dir || !dir[0])
        dir = SB__KB_WORDNET_DIR;
    struct sb_stemmer *st = sb_stemmer_new("en", "UTF_8");
    if (!st)
        return;
    wn.cap = 1 << 18;
    wn.tab = sb_calloc(wn.cap, sizeof(*wn.tab));
    static const char *const pos[] = {"noun", "verb", "adj", "adv"};
    for (size_t i = 0; i < 4; i++) {
        char dname[32];
        snprintf(dname, sizeof(dname), "data.%s", pos[i]);
        if (map_file(dir, dname, &wn_data[i]))
            memset(&wn_data[i], 0, sizeof(wn_data[i]));
    }
    for (size_t i = 0; i < 4; i++)
        load_pos(st, dir, pos[i], &wn_data[i]);
    for (size_t i = 0; i < 4; i++) {
        if (wn_data[i].p)
            munmap((void *)wn_data[i].p, wn_data[i].n);
        memset(&wn_data[i], 0, sizeof(wn_data[i]));
    }
    sb_stemmer_delete(st);
    for (size_t i = 0; i < wn.cap; i++)
        wn.nmembers += wn.tab[i].stem && wn.tab[i].cls;
    wn.members = sb_malloc((wn.nmembers ? wn.nmembers : 1) * sizeof(*wn.members));
    size_t m = 0;
    for (size_t i = 0; i < wn.cap; i++) {
        if (wn.tab[i].stem && wn.tab[i].cls) {
            wn.members[m].cls = wn.tab[i].cls;
            wn.members[m++].stem = wn.tab[i].stem;
        }
    }
    qsort(wn.members, wn.nmembers, sizeof(*wn.members), cmp_member);
    wn.ready = wn.nsyn > 0;
}

int sb__kb_wordnet_load(void)
{
    pthread_once(&wn_once, wn_load_once);
    return wn.ready;
}

int sb__kb_wordnet_ready(void)
{
    return wn.ready;
}

size_t sb__kb_wordnet_synonyms(const char *stem, const char **out, size_t max)
{
    if (!wn.ready)
        return 0;
    const struct wn_entry *e = wn_slot(stem, 0);
    size_t n = 0;
    for (uint32_t i = 0; e && i < e->n && n < max; i++)
        out[n++] = wn.pool + wn.syn_off[e->first + i];
    return n;
}

size_t sb__kb_wordnet_siblings(const char *stem, const char **out, size_t max)
{
    if (!wn.ready)
        return 0;
    const struct wn_entry *e = wn_slot(stem, 0);
    if (!e || !e->cls)
        return 0;
    size_t lo = 0, hi = wn.nmembers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (wn.members[mid].cls < e->cls)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < wn.nmembers && wn.members[i].cls == e->cls && n < max; i++) {
        if (strcmp(wn.members[i].stem, stem) != 0)
            out[n++] = wn.members[i].stem;
    }
    return n;
}

size_t sb__kb_wordnet_related(const char *stem, int kind, const char **out, size_t max)
{
    if (!wn.ready || kind < 0 || kind >= SB__KB_WN_NREL)
        return 0;
    const struct wn_entry *e = wn_slot(stem, 0);
    size_t n = 0;
    for (uint32_t i = 0; e && i < e->rn[kind] && n < max; i++)
        out[n++] = wn.pool + wn.syn_off[e->rfirst[kind] + i];
    return n;
}

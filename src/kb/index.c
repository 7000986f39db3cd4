/* SPDX-License-Identifier: MIT */
/*
 * The in-memory BM25F index of one tenant's knowledge base. Entries live in slots (reused after
 * deletion); each term has a posting list of (slot, term frequency per field). Adding, replacing
 * or deleting an entry touches only that entry's postings, so an edit is searchable at once and
 * nothing is ever rebuilt. Field lengths are summed incrementally for BM25F's length
 * normalisation. FAQ entries that share a question (several answers to one question) form a
 * group; ranking can lift an entry by its group's best score so that the answers of a
 * matching question stay together.
 *
 * Not locked: the KB (kb.c) holds a rwlock around every call. Searches keep their scratch
 * memory per call so that any number of them can run at once.
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- string -> u32 open-addressing map (keys owned) ---- */

#define TOMB ((char *)1)

struct smap {
    char **keys;
    uint32_t *vals;
    size_t cap, used; /* used counts live keys and tombstones */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static void smap_grow(struct smap *m);

static long smap_find(const struct smap *m, const char *key)
{
    if (!m->cap)
        return -1;
    size_t mask = m->cap - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
        char *k = m->keys[i];
        if (!k)
            return -1;
        if (k != TOMB && strcmp(k, key) == 0)
            return (long)i;
    }
}

static int smap_get(const struct smap *m, const char *key, uint32_t *val)
{
    long i = smap_find(m, key);
    if (i < 0)
        return 0;
    *val = m->vals[i];
    return 1;
}

static void smap_set(struct smap *m, const char *key, uint32_t val)
{
    long f = smap_find(m, key);
    if (f >= 0) {
        m->vals[f] = val;
        return;
    }
    if ((m->used + 1) * 4 >= m->cap * 3)
        smap_grow(m);
    size_t mask = m->cap - 1;
    size_t i = hash_str(key) & mask;
    while (m->keys[i] && m->keys[i] != TOMB)
        i = (i + 1) & mask;
    if (!m->keys[i])
        m->used++;
    m->keys[i] = sb_strdup(key);
    m->vals[i] = val;
}

static void smap_del(struct smap *m, const char *key)
{
    long i = smap_find(m, key);
    if (i < 0)
        return;
    free(m->keys[i]);
    m->keys[i] = TOMB;
}

static void smap_grow(struct smap *m)
{
    struct smap old = *m;
    size_t live = 0;
    for (size_t i = 0; i < old.cap; i++)
        live += old.keys[i] && old.keys[i] != TOMB;
    m->cap = 64;
    while (m->cap * 3 <= (live + 1) * 8)
        m->cap *= 2;
    m->keys = sb_calloc(m->cap, sizeof(*m->keys));
    m->vals = sb_calloc(m->cap, sizeof(*m->vals));
    m->used = 0;
    for (size_t i = 0; i < old.cap; i++) {
        char *k = old.keys[i];
        if (!k || k == TOMB)
            continue;
        size_t j = hash_str(k) & (m->cap - 1);
        while (m->keys[j])
            j = (j + 1) & (m->cap - 1);
        m->keys[j] = k; /* moves ownership */
        m->vals[j] = old.vals[i];
        m->used++;
    }
    free(old.keys);
    free(old.vals);
}

static void smap_cleanup(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] && m->keys[i] != TOMB)
            free(m->keys[i]);
    }
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ---- index structures ---- */

struct posting {
    uint32_t slot;
    uint16_t tf[SB__KB_NF];
};

struct term {
    struct posting *p;
    uint32_t n, cap;
};

struct slot {
    struct sb_kb_doc doc;
    int live;
    uint32_t group;
    uint32_t len[SB__KB_NF];
    uint32_t *terms; /* distinct term ids */
    uint32_t nterms;
    float *vec;      /* the entry's sentence embedding (SB_EMBED_DIM), NULL when none */
    float *avec;     /* vec mapped by the KB's adapter (adapt.c), NULL without one */
};

struct group {
    uint32_t members;
};

struct sb__kb_index {
    struct smap term_ids;
    struct term *terms;
    size_t nterms, terms_cap;

    struct smap doc_ids; /* id -> slot */
    struct slot *slots;
    size_t nslots, slots_cap;
    uint32_t *free_slots;
    size_t nfree, free_cap;
    size_t live;
    size_t nvec; /* live entries with an embedding */
    float *adapter; /* the KB's map of embeddings (adapt.c), NULL: none */
    double len_sum[SB__KB_NF];

    struct smap group_ids; /* group key -> group */
    struct group *groups;
    size_t ngroups, groups_cap;
};

struct sb__kb_index *sb__kb_index_new(void)
{
    return sb_calloc(1, sizeof(struct sb__kb_index));
}

static void doc_copy(struct sb_kb_doc *dst, const struct sb_kb_doc *src)
{
#define DUP(f) dst->f = sb_strdup(src->f ? src->f : "")
    DUP(id);
    DUP(parent);
    DUP(collection);
    DUP(lang);
    DUP(title);
    DUP(questions);
    DUP(heading);
    DUP(body);
    DUP(link);
    DUP(sku);
    DUP(price);
    DUP(attrs_json);
#undef DUP
    dst->kind = src->kind;
    dst->updated_ms = src->updated_ms;
}

void sb__kb_index_free(struct sb__kb_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->nterms; i++)
        free(ix->terms[i].p);
    free(ix->terms);
    for (size_t i = 0; i < ix->nslots; i++) {
        if (ix->slots[i].live)
            sb_kb_doc_cleanup(&ix->slots[i].doc);
        free(ix->slots[i].terms);
        free(ix->slots[i].vec);
        free(ix->slots[i].avec);
    }
    free(ix->adapter);
    free(ix->slots);
    free(ix->free_slots);
    free(ix->groups);
    smap_cleanup(&ix->term_ids);
    smap_cleanup(&ix->doc_ids);
    smap_cleanup(&ix->group_ids);
    free(ix);
}

static uint32_t term_id(struct sb__kb_index *ix, const char *t)
{
    uint32_t id;
    if (smap_get(&ix->term_ids, t, &id))
        return id;
    if (ix->nterms == ix->terms_cap) {
        ix->terms_cap = ix->terms_cap ? ix->terms_cap * 2 : 1024;
        ix->terms = sb_realloc(ix->terms, ix->terms_cap * sizeof(*ix->terms));
    }
    id = (uint32_t)ix->nterms++;
    memset(&ix->terms[id], 0, sizeof(ix->terms[id]));
    smap_set(&ix->term_ids, t, id);
    return id;
}

/*
 * The key that groups entries answering the same need: FAQ entries with the same analysed
 * question (several answers to one question), the sections of one article, the variants of a
 * product (same name, e.g. colours). Ranking lifts an entry by its group's best score, and the
 * answer's confidence compares the best group with the runner-up group.
 */
static char *group_key(const struct sb_kb_doc *d)
{
    if (d->kind == SB_KB_SECTION && d->parent && d->parent[0])
        return sb_strdupf("a|%s", d->parent);
    if ((d->kind != SB_KB_FAQ && d->kind != SB_KB_PRODUCT) || !d->title || !d->title[0])
        return sb_strdupf("#%s", d->id);
    struct sb__kb_tokens t = {0};
    sb__kb_analyze(d->title, strlen(d->title), d->lang, &t);
    struct sb_buf b;
    sb_buf_init(&b, 0);
    sb_buf_appendf(&b, "%c|%s|%s|", d->kind == SB_KB_FAQ ? 'f' : 'p',
                   d->collection ? d->collection : "", d->lang ? d->lang : "");
    for (size_t i = 0; i < t.n; i++) {
        sb_buf_appends(&b, t.buf + t.off[i]);
        sb_buf_appends(&b, " ");
    }
    sb__kb_tokens_cleanup(&t);
    return sb_buf_steal(&b, NULL);
}

struct tf_acc {
    uint32_t term;
    uint16_t tf[SB__KB_NF];
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The texts that make up each field of an entry. */
static void field_texts(const struct sb_kb_doc *d, struct sb_buf f[SB__KB_NF])
{
    for (int i = 0; i < SB__KB_NF; i++)
        sb_buf_init(&f[i], 0);
    sb_buf_appends(&f[SB__KB_F_TITLE], d->title ? d->title : "");
    sb_buf_appends(&f[SB__KB_F_TITLE], "\n");
    sb_buf_appends(&f[SB__KB_F_TITLE], d->questions ? d->questions : "");
    sb_buf_appends(&f[SB__KB_F_TITLE], "\n");
    sb_buf_appends(&f[SB__KB_F_TITLE], d->heading ? d->heading : "");
    sb_buf_appends(&f[SB__KB_F_TITLE], "\n");
    sb_buf_appends(&f[SB__KB_F_TITLE], d->sku ? d->sku : "");
    sb_buf_appends(&f[SB__KB_F_BODY], d->body ? d->body : "");
    sb_buf_appends(&f[SB__KB_F_META], d->attrs_json ? d->attrs_json : "");
    sb_buf_appends(&f[SB__KB_F_META], "\n");
    if (d->price && d->price[0]) {
        /* the field's name too: customers ask for "the price", not for "899" */
        sb_buf_appends(&f[SB__KB_F_META], "price ");
        sb_buf_appends(&f[SB__KB_F_META], d->price);
    }
}

static void postings_remove(struct sb__kb_index *ix, uint32_t s)
{
    struct slot *sl = &ix->slots[s];
    for (uint32_t i = 0; i < sl->nterms; i++) {
        struct term *t = &ix->terms[sl->terms[i]];
        for (uint32_t j = 0; j < t->n; j++) {
            if (t->p[j].slot == s) {
                t->p[j] = t->p[--t->n];
                break;
            }
        }
    }
    free(sl->terms);
    sl->terms = NULL;
    sl->nterms = 0;
    for (int f = 0; f < SB__KB_NF; f++)
        ix->len_sum[f] -= sl->len[f];
}

static void slot_remove(struct sb__kb_index *ix, uint32_t s)
{
    struct slot *sl = &ix->slots[s];
    postings_remove(ix, s);
    smap_del(&ix->doc_ids, sl->doc.id);
    if (sl->group < ix->ngroups && ix->groups[sl->group].members)
        ix->groups[sl->group].members--;
    sb_kb_doc_cleanup(&sl->doc);
    if (sl->vec)
        ix->nvec--;
    free(sl->vec);
    free(sl->avec);
    sl->vec = sl->avec = NULL;
    sl->live = 0;
    if (ix->nfree == ix->free_cap) {
        ix->free_cap = ix->free_cap ? ix->free_cap * 2 : 64;
        ix->free_slots = sb_realloc(ix->free_slots, ix->free_cap * sizeof(uint32_t));
    }
    ix->free_slots[ix->nfree++] = s;
    ix->live--;
}

void sb__kb_index_put(struct sb__kb_index *ix, const struct sb_kb_doc *d, const float *vec)
{
    uint32_t s;
    if (smap_get(&ix->doc_ids, d->id, &s))
        slot_remove(ix, s);
    if (ix->nfree) {
        s = ix->free_slots[--ix->nfree];
    } else {
        if (ix->nslots == ix->slots_cap) {
            ix->slots_cap = ix->slots_cap ? ix->slots_cap * 2 : 256;
            ix->slots = sb_realloc(ix->slots, ix->slots_cap * sizeof(*ix->slots));
        }
        s = (uint32_t)ix->nslots++;
    }
    struct slot *sl = &ix->slots[s];
    memset(sl, 0, sizeof(*sl));
    doc_copy(&sl->doc, d);
    sl->live = 1;
    if (vec)
        sb__kb_index_set_vec(ix, s, vec);
    ix->live++;
    smap_set(&ix->doc_ids, d->id, s);

    char *gk = group_key(d);
    uint32_t g;
    if (!smap_get(&ix->group_ids, gk, &g)) {
        if (ix->ngroups == ix->groups_cap) {
            ix->groups_cap = ix->groups_cap ? ix->groups_cap * 2 : 256;
            ix->groups = sb_realloc(ix->groups, ix->groups_cap * sizeof(*ix->groups));
        }
        g = (uint32_t)ix->ngroups++;
        ix->groups[g].members = 0;
        smap_set(&ix->group_ids, gk, g);
    }
    free(gk);
    ix->groups[g].members++;
    sl->group = g;

    /* term frequencies per field */
    struct sb_buf ft[SB__KB_NF];
    field_texts(d, ft);
    struct sb__kb_tokens tok[SB__KB_NF];
    size_t total = 0;
    for (int f = 0; f < SB__KB_NF; f++) {
        memset(&tok[f], 0, sizeof(tok[f]));
        sb__kb_analyze(ft[f].data, ft[f].len, d->lang, &tok[f]);
        sl->len[f] = (uint32_t)tok[f].n;
        ix->len_sum[f] += (double)tok[f].n;
        total += tok[f].n;
        sb_buf_cleanup(&ft[f]);
    }
    /* collect (term, field) occurrences, sort by term, merge */
    struct tf_acc *acc = sb_malloc((total ? total : 1) * sizeof(*acc));
    size_t na = 0;
    uint32_t *ids = sb_malloc((total ? total : 1) * sizeof(uint32_t) * 2);
    for (int f = 0; f < SB__KB_NF; f++) {
        for (size_t i = 0; i < tok[f].n; i++) {
            ids[2 * na] = term_id(ix, tok[f].buf + tok[f].off[i]);
            ids[2 * na + 1] = (uint32_t)f;
            na++;
        }
        sb__kb_tokens_cleanup(&tok[f]);
    }
    /* sort pairs by term id: sort an index array of (term << 2 | field) packed values */
    uint64_t *packed = sb_malloc((na ? na : 1) * sizeof(uint64_t));
    for (size_t i = 0; i < na; i++)
        packed[i] = ((uint64_t)ids[2 * i] << 2) | ids[2 * i + 1];
    free(ids);
    qsort(packed, na, sizeof(uint64_t), cmp_u64);
    size_t nacc = 0;
    for (size_t i = 0; i < na; i++) {
        uint32_t t = (uint32_t)(packed[i] >> 2);
        int f = (int)(packed[i] & 3);
        if (nacc == 0 || acc[nacc - 1].term != t) {
            memset(&acc[nacc], 0, sizeof(acc[nacc]));
            acc[nacc++].term = t;
        }
        if (acc[nacc - 1].tf[f] < UINT16_MAX)
            acc[nacc - 1].tf[f]++;
    }
    free(packed);
    sl->terms = sb_malloc((nacc ? nacc : 1) * sizeof(uint32_t));
    sl->nterms = (uint32_t)nacc;
    for (size_t i = 0; i < nacc; i++) {
        struct term *t = &ix->terms[acc[i].term];
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 4;
            t->p = sb_realloc(t->p, t->cap * sizeof(*t->p));
        }
        t->p[t->n].slot = s;
        memcpy(t->p[t->n].tf, acc[i].tf, sizeof(acc[i].tf));
        t->n++;
        sl->terms[i] = acc[i].term;
    }
    free(acc);
}

size_t sb__kb_index_delete(struct sb__kb_index *ix, const char *id)
{
    size_t removed = 0;
    uint32_t s;
    if (smap_get(&ix->doc_ids, id, &s)) {
        slot_remove(ix, s);
        removed++;
    }
    for (size_t i = 0; i < ix->nslots; i++) {
        if (ix->slots[i].live && strcmp(ix->slots[i].doc.parent, id) == 0) {
            slot_remove(ix, (uint32_t)i);
            removed++;
        }
    }
    return removed;
}

const struct sb_kb_doc *sb__kb_index_find(const struct sb__kb_index *ix, const char *id)
{
    uint32_t s;
    if (!ix || !smap_get(&ix->doc_ids, id, &s))
        return NULL;
    return &ix->slots[s].doc;
}

const struct sb_kb_doc *sb__kb_index_doc(const struct sb__kb_index *ix, uint32_t slot)
{
    return slot < ix->nslots && ix->slots[slot].live ? &ix->slots[slot].doc : NULL;
}

const float *sb__kb_index_vec(const struct sb__kb_index *ix, uint32_t slot)
{
    if (slot >= ix->nslots || !ix->slots[slot].live)
        return NULL;
    return ix->slots[slot].avec ? ix->slots[slot].avec : ix->slots[slot].vec;
}

void sb__kb_index_set_vec(struct sb__kb_index *ix, uint32_t slot, const float *vec)
{
    struct slot *sl = &ix->slots[slot];
    if (!sl->live)
        return;
    if (!sl->vec) {
        sl->vec = sb_malloc(SB_EMBED_DIM * sizeof(float));
        ix->nvec++;
    }
    memcpy(sl->vec, vec, SB_EMBED_DIM * sizeof(float));
    if (ix->adapter) {
        if (!sl->avec)
            sl->avec = sb_malloc(SB_EMBED_DIM * sizeof(float));
        sb__kb_adapt_map(ix->adapter, sl->vec, 1, sl->avec);
    }
}

void sb__kb_index_set_adapter(struct sb__kb_index *ix, const float *map)
{
    size_t dd = (size_t)SB_EMBED_DIM * SB_EMBED_DIM;
    free(ix->adapter);
    ix->adapter = map ? memcpy(sb_malloc(dd * sizeof(float)), map, dd * sizeof(float)) : NULL;
    if (!map) {
        for (size_t s = 0; s < ix->nslots; s++) {
            free(ix->slots[s].avec);
            ix->slots[s].avec = NULL;
        }
        return;
    }
    /* every embedding at once: one matrix product instead of one per entry */
    float *vecs = sb_malloc((ix->nvec ? ix->nvec : 1) * SB_EMBED_DIM * sizeof(float));
    size_t n = 0;
    for (size_t s = 0; s < ix->nslots; s++) {
        const struct slot *sl = &ix->slots[s];
        if (sl->live && sl->vec)
            memcpy(vecs + n++ * SB_EMBED_DIM, sl->vec, SB_EMBED_DIM * sizeof(float));
    }
    float *mapped = sb_malloc((n ? n : 1) * SB_EMBED_DIM * sizeof(float));
    if (n)
        sb__kb_adapt_map(ix->adapter, vecs, n, mapped);
    n = 0;
    for (size_t s = 0; s < ix->nslots; s++) {
        struct slot *sl = &ix->slots[s];
        if (!sl->live || !sl->vec)
            continue; /* free slots hold no avec (slot_remove) */
        if (!sl->avec)
            sl->avec = sb_malloc(SB_EMBED_DIM * sizeof(float));
        memcpy(sl->avec, mapped + n++ * SB_EMBED_DIM, SB_EMBED_DIM * sizeof(float));
    }
    free(vecs);
    free(mapped);
}

const float *sb__kb_index_adapter(const struct sb__kb_index *ix)
{
    return ix ? ix->adapter : NULL;
}

void sb__kb_index_map_query(const struct sb__kb_index *ix, const float *q, float *out)
{
    if (ix && ix->adapter)
        sb__kb_adapt_map(ix->adapter, q, 1, out);
    else
        memcpy(out, q, SB_EMBED_DIM * sizeof(float));
}

size_t sb__kb_index_nvec(const struct sb__kb_index *ix)
{
    return ix ? ix->nvec : 0;
}

size_t sb__kb_index_nslots(const struct sb__kb_index *ix)
{
    return ix ? ix->nslots : 0;
}

uint32_t sb__kb_index_group(const struct sb__kb_index *ix, uint32_t slot)
{
    return ix->slots[slot].group;
}

size_t sb__kb_index_count(const struct sb__kb_index *ix)
{
    return ix ? ix->live : 0;
}

size_t sb__kb_index_list(const struct sb__kb_index *ix, const char *after,
                         const struct sb_kb_doc **out, size_t max)
{
    /* a selection of the `max` smallest ids above `after`: fine for admin listing sizes */
    size_t n = 0;
    for (size_t i = 0; ix && i < ix->nslots; i++) {
        const struct sb_kb_doc *d = &ix->slots[i].doc;
        if (!ix->slots[i].live || (after && strcmp(d->id, after) <= 0))
            continue;
        size_t at = n;
        while (at > 0 && strcmp(out[at - 1]->id, d->id) > 0)
            at--;
        if (at >= max)
            continue;
        if (n < max)
            n++;
        memmove(out + at + 1, out + at, (n - 1 - at) * sizeof(*out));
        out[at] = d;
    }
    return n;
}

/* ---- ranking ---- */

/* 1 when a term starts with a CJK character (lead bytes E3..ED cover U+3040..U+D7AF). */
static int is_cjk_term(const char *t)
{
    return (unsigned char)t[0] >= 0xE3 && (unsigned char)t[0] <= 0xED;
}

void sb__kb_params_default(struct sb__kb_params *p)
{
    /* chosen by 5-fold cross-validation on the StackFAQ train queries (bench/kb/tune.py,
     * docs/kb.md); meta has no training signal in StackFAQ and keeps the body's values */
    memset(p, 0, sizeof(*p));
    p->k1 = 4.0;
    p->b[SB__KB_F_TITLE] = 0.8;
    p->b[SB__KB_F_BODY] = 0.5;
    p->b[SB__KB_F_META] = 0.5;
    p->w[SB__KB_F_TITLE] = 4.0;
    p->w[SB__KB_F_BODY] = 1.0;
    p->w[SB__KB_F_META] = 1.0;
    p->group = 1.0;
    p->fuzzy = 0.5;
    p->join = 1.0;
    p->wn = 0.2; /* CV on train: NDCG@10 +0.006; 0 when WordNet is not installed */
    /* session 5, CV on train (docs/kb.md): derivations/attributes, similar-to/also-see, and
     * words joined across a stop word; together MRR@10 +0.004, NDCG@10 +0.006 */
    p->wnd = 0.4;
    p->wns = 0.05;
    p->sjoin = 1.5;
    /* session 7: the sentence encoder's cosine fused with the lexical score (dense.c) */
    p->dense = 1.9;
    p->dense_adapted = 1.5; /* session 8: CV over the same grid with the KB's map */
    p->dense_depth = 200;
}

int sb__kb_params_parse(struct sb__kb_params *p, const char *spec, struct sb_error *err)
{
    static const struct {
        const char *name;
        size_t off;
        int is_int;
    } keys[] = {
        {"k1", offsetof(struct sb__kb_params, k1), 0},
        {"bt", offsetof(struct sb__kb_params, b[0]), 0},
        {"bb", offsetof(struct sb__kb_params, b[1]), 0},
        {"bm", offsetof(struct sb__kb_params, b[2]), 0},
        {"wt", offsetof(struct sb__kb_params, w[0]), 0},
        {"wb", offsetof(struct sb__kb_params, w[1]), 0},
        {"wm", offsetof(struct sb__kb_params, w[2]), 0},
        {"group", offsetof(struct sb__kb_params, group), 0},
        {"prfd", offsetof(struct sb__kb_params, prf_docs), 1},
        {"prft", offsetof(struct sb__kb_params, prf_terms), 1},
        {"prfw", offsetof(struct sb__kb_params, prf_weight), 0},
        {"fuzzy", offsetof(struct sb__kb_params, fuzzy), 0},
        {"join", offsetof(struct sb__kb_params, join), 0},
        {"gsum", offsetof(struct sb__kb_params, gsum), 0},
        {"wn", offsetof(struct sb__kb_params, wn), 0},
        {"wnd", offsetof(struct sb__kb_params, wnd), 0},
        {"wns", offsetof(struct sb__kb_params, wns), 0},
        {"sjoin", offsetof(struct sb__kb_params, sjoin), 0},
        {"sub", offsetof(struct sb__kb_params, sub), 0},
        {"rerank", offsetof(struct sb__kb_params, rerank), 1},
        {"phrase", offsetof(struct sb__kb_params, phrase), 0},
        {"dense", offsetof(struct sb__kb_params, dense), 0},
        {"densea", offsetof(struct sb__kb_params, dense_adapted), 0},
        {"dd", offsetof(struct sb__kb_params, dense_depth), 1},
    };
    const char *s = spec;
    while (s && *s) {
        const char *eq = strchr(s, '=');
        if (!eq)
            return sb_error_set(err, SB_EINVAL, "params: missing '=' in '%s'", s);
        size_t kl = (size_t)(eq - s);
        size_t k;
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            if (strlen(keys[k].name) == kl && memcmp(keys[k].name, s, kl) == 0)
                break;
        }
        if (k == sizeof(keys) / sizeof(keys[0]))
            return sb_error_set(err, SB_EINVAL, "params: unknown key '%.*s'", (int)kl, s);
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || (*end && *end != ','))
            return sb_error_set(err, SB_EINVAL, "params: bad value for '%.*s'", (int)kl, s);
        if (keys[k].is_int)
            *(int *)((char *)p + keys[k].off) = (int)v;
        else
            *(double *)((char *)p + keys[k].off) = v;
        s = *end ? end + 1 : end;
    }
    return 0;
}

struct qterm {
    uint32_t id;
    double weight; /* query weight (count, or expansion weight) */
    double idf;
    int extra;     /* 1 for expansion terms (not written by the customer) */
};

int sb__kb_scored_cmp(const void *a, const void *b)
{
    const struct sb__kb_scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static double idf_of(const struct sb__kb_index *ix, uint32_t n)
{
    double N = (double)ix->live;
    return log(1.0 + (N - n + 0.5) / (n + 0.5));
}

/* BM25F scores of every entry touched by the query terms into score[] (dense by slot). */
static void score_terms(const struct sb__kb_index *ix, const struct qterm *q, size_t nq,
                        const struct sb__kb_params *p, double *score, uint32_t *touched,
                        size_t *ntouched, unsigned char *seen)
{
    double avg[SB__KB_NF];
    for (int f = 0; f < SB__KB_NF; f++)
        avg[f] = ix->live ? ix->len_sum[f] / (double)ix->live : 1.0;
    for (size_t i = 0; i < nq; i++) {
        const struct term *t = &ix->terms[q[i].id];
        double wq = q[i].weight * q[i].idf;
        for (uint32_t j = 0; j < t->n; j++) {
            const struct posting *po = &t->p[j];
            const struct slot *sl = &ix->slots[po->slot];
            double tf = 0;
            for (int f = 0; f < SB__KB_NF; f++) {
                if (!po->tf[f])
                    continue;
                double norm = 1.0 - p->b[f] + p->b[f] * (avg[f] > 0 ? sl->len[f] / avg[f] : 1.0);
                tf += p->w[f] * po->tf[f] / norm;
            }
            if (!seen[po->slot]) {
                seen[po->slot] = 1;
                touched[(*ntouched)++] = po->slot;
            }
            score[po->slot] += wq * tf / (p->k1 + tf);
        }
    }
}

/* Adds group lifting and selects the best k. */
static size_t select_top(const struct sb__kb_index *ix, const struct sb__kb_params *p,
                         double *score, const uint32_t *touched, size_t ntouched, size_t k,
                         struct sb__kb_scored *out)
{
    double *gbest = NULL;
    if (p->group != 0 && ix->ngroups) {
        gbest = sb_calloc(ix->ngroups, sizeof(double));
        for (size_t i = 0; i < ntouched; i++) {
            uint32_t g = ix->slots[touched[i]].group;
            if (p->gsum > 0)
                gbest[g] += score[touched[i]] / (p->gsum * ix->groups[g].members + (1 - p->gsum));
            else if (score[touched[i]] > gbest[g])
                gbest[g] = score[touched[i]];
        }
    }
    /* the best k by (score desc, slot asc): a bounded min-heap over the touched entries,
     * then a sort of those k (a full sort of every touched entry took a third of the answer
     * path at 10,000 entries) */
    size_t cap = k < ntouched ? k : ntouched;
    struct sb__kb_scored *heap = sb_malloc((cap ? cap : 1) * sizeof(*heap));
    size_t nh = 0;
    for (size_t i = 0; i < ntouched && cap; i++) {
        struct sb__kb_scored c = {.slot = touched[i], .score = score[touched[i]]};
        if (gbest)
            c.score += p->group * gbest[ix->slots[touched[i]].group];
        if (nh < cap) {
            /* sift up: the root is the worst kept entry */
            size_t j = nh++;
            while (j > 0 && sb__kb_scored_cmp(&heap[(j - 1) / 2], &c) < 0) {
                heap[j] = heap[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            heap[j] = c;
        } else if (sb__kb_scored_cmp(&c, &heap[0]) < 0) {
            /* better than the worst kept: replace the root and sift down */
            size_t j = 0;
            for (;;) {
                size_t l = 2 * j + 1, r = l + 1, w = j;
                const struct sb__kb_scored *wv = &c;
                if (l < nh && sb__kb_scored_cmp(&heap[l], wv) > 0) {
                    w = l;
                    wv = &heap[l];
                }
                if (r < nh && sb__kb_scored_cmp(&heap[r], wv) > 0)
                    w = r;
                if (w == j)
                    break;
                heap[j] = heap[w];
                j = w;
            }
            heap[j] = c;
        }
    }
    qsort(heap, nh, sizeof(*heap), sb__kb_scored_cmp);
    memcpy(out, heap, nh * sizeof(*out));
    free(heap);
    free(gbest);
    return nh;
}

static int cmp_qterm(const void *a, const void *b)
{
    const struct qterm *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Bounded Damerau-Levenshtein distance of a and b; returns max + 1 when above `max`. */
static int edit_distance(const char *a, size_t la, const char *b, size_t lb, int max)
{
    if (la > 64 || lb > 64)
        return max + 1;
    int d[66][66];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int row_min = max + 1;
        for (size_t j = 1; j <= lb; j++) {
            int c = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = d[i - 1][j - 1] + c;
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
            if (v < row_min)
                row_min = v;
        }
        if (row_min > max)
            return max + 1;
    }
    return d[la][lb];
}

/* The most frequent index term within edit distance 1 (2 for words of 8+ bytes) of `w`. */
static int fuzzy_match(const struct sb__kb_index *ix, const char *w, uint32_t *out)
{
    size_t lw = strlen(w);
    if (lw < 4 || lw > 64 || (w[0] >= '0' && w[0] <= '9'))
        return 0;
    int max = lw >= 8 ? 2 : 1;
    uint32_t best_df = 0;
    int best_d = max + 1;
    for (size_t i = 0; i < ix->term_ids.cap; i++) {
        const char *k = ix->term_ids.keys[i];
        if (!k || k == TOMB || k[0] != w[0])
            continue; /* the first letter first: most of the vocabulary stops here */
        size_t lk = strlen(k);
        if (lk + (size_t)max < lw || lw + (size_t)max < lk)
            continue;
        int d = edit_distance(w, lw, k, lk, max);
        uint32_t df = ix->terms[ix->term_ids.vals[i]].n;
        if (d <= max && df && (d < best_d || (d == best_d && df > best_df))) {
            best_d = d;
            best_df = df;
            *out = ix->term_ids.vals[i];
        }
    }
    return best_d <= max;
}


#define EXTRA_MAX 64 /* expansion terms per query */

/* Adds an expansion term, keeping the larger weight when it is already there. */
static void add_extra(const struct sb__kb_index *ix, struct qterm *extra, size_t *n, uint32_t id,
                      double weight)
{
    for (size_t i = 0; i < *n; i++) {
        if (extra[i].id == id) {
            if (weight > extra[i].weight)
                extra[i].weight = weight;
            return;
        }
    }
    if (*n >= EXTRA_MAX)
        return;
    extra[*n].id = id;
    extra[*n].weight = weight;
    extra[*n].idf = idf_of(ix, ix->terms[id].n);
    (*n)++;
}

static int is_digits(const char *w)
{
    for (; *w; w++) {
        if (*w < '0' || *w > '9')
            return 0;
    }
    return 1;
}

/* WordNet synonyms of the stemmed word `w` that occur in the index. */
static void add_synonyms(const struct sb__kb_index *ix, const char *w, double weight,
                         struct qterm *extra, size_t *n)
{
    const char *syn[16];
    size_t ns = sb__kb_wordnet_synonyms(w, syn, 16);
    for (size_t i = 0; i < ns; i++) {
        uint32_t id;
        if (smap_get(&ix->term_ids, syn[i], &id) && ix->terms[id].n)
            add_extra(ix, extra, n, id, weight);
    }
}

/* WordNet relatives of the stemmed word `w` (by kind, each with its own weight) that occur in
 * the index. */
static void add_related(const struct sb__kb_index *ix, const char *w,
                        const struct sb__kb_params *p, struct qterm *extra, size_t *n)
{
    const double weight[SB__KB_WN_NREL] = {p->wnd, p->wns};
    for (int k = 0; k < SB__KB_WN_NREL; k++) {
        if (weight[k] <= 0)
            continue;
        const char *rel[16];
        size_t nr = sb__kb_wordnet_related(w, k, rel, 16);
        for (size_t i = 0; i < nr; i++) {
            uint32_t id;
            if (smap_get(&ix->term_ids, rel[i], &id) && ix->terms[id].n)
                add_extra(ix, extra, n, id, weight[k]);
        }
    }
}

/* Index terms that are other instances of the class of an unknown proper noun ("Germany" ->
 * "Norway", "Sweden"): an answer about them is likely the answer about it. Returns how many. */
static size_t add_siblings(const struct sb__kb_index *ix, const char *w, double weight,
                           struct qterm *extra, size_t *n)
{
    const char *sib[256];
    size_t ns = sb__kb_wordnet_siblings(w, sib, 256), added = 0;
    for (size_t i = 0; i < ns; i++) {
        uint32_t id;
        if (smap_get(&ix->term_ids, sib[i], &id) && ix->terms[id].n) {
            add_extra(ix, extra, n, id, weight);
            added++;
        }
    }
    return added;
}

/*
 * Index terms of 4+ bytes that contain a query word of 4+ bytes or are contained in it:
 * morphological relatives the stemmer does not join ("strike"/"strikethrough",
 * "reupload"/"upload", "unfriend"/"friend"). One pass over the vocabulary for all words.
 */
static void add_containing(const struct sb__kb_index *ix, const struct sb__kb_tokens *tok,
                           double weight, struct qterm *extra, size_t *n)
{
    const char *w[32];
    size_t lw[32], nw = 0;
    for (size_t i = 0; i < tok->n && nw < 32; i++) {
        const char *t = tok->buf + tok->off[i];
        size_t l = strlen(t);
        if (l < 4 || is_cjk_term(t) || is_digits(t))
            continue;
        int dup = 0;
        for (size_t j = 0; j < nw && !dup; j++)
            dup = strcmp(w[j], t) == 0;
        if (!dup) {
            w[nw] = t;
            lw[nw++] = l;
        }
    }
    if (!nw)
        return;
    for (size_t i = 0; i < ix->term_ids.cap; i++) {
        const char *k = ix->term_ids.keys[i];
        if (!k || k == TOMB || is_cjk_term(k))
            continue;
        size_t lk = strlen(k);
        if (lk < 4)
            continue;
        uint32_t id = ix->term_ids.vals[i];
        if (!ix->terms[id].n)
            continue;
        for (size_t j = 0; j < nw; j++) {
            if (lk == lw[j] || !(lk > lw[j] ? strstr(k, w[j]) : strstr(w[j], k)))
                continue;
            add_extra(ix, extra, n, id, weight);
            break;
        }
    }
}

/*
 * Two words joined across a stop word, which the analysed query no longer has side by side
 * ("back up" -> backup, "log in" -> login, "set up" -> setup), when the KB has the joined term.
 */
static void add_joins(const struct sb__kb_index *ix, const char *query, const char *lang,
                      double weight, struct qterm *extra, size_t *n)
{
    struct sb__kb_tokens all = {0};
    sb__kb_analyze_all(query, strlen(query), lang, &all);
    for (size_t i = 0; i + 1 < all.n; i++) {
        const char *w1 = all.buf + all.off[i], *w2 = all.buf + all.off[i + 1];
        size_t l1 = strlen(w1), l2 = strlen(w2);
        if (is_cjk_term(w1) || is_cjk_term(w2) || l1 + l2 >= 64 ||
            !(sb__kb_is_stopword(w1, l1) || sb__kb_is_stopword(w2, l2)))
            continue; /* pairs without a stop word are joined by p->join already */
        char key[64];
        memcpy(key, w1, l1);
        memcpy(key + l1, w2, l2 + 1);
        uint32_t id;
        if (smap_get(&ix->term_ids, key, &id) && ix->terms[id].n)
            add_extra(ix, extra, n, id, weight);
    }
    sb__kb_tokens_cleanup(&all);
}

/*
 * The weighted query terms of `tok` (the analysed query): its known terms, then expansion terms
 * (flagged `extra`), sorted by term id. Returns the array (free with free()) and its length in
 * *nq; `qi` (may be NULL) receives query-level evidence.
 */
static struct qterm *build_query(const struct sb__kb_index *ix, const struct sb__kb_tokens *tokp,
                                 const char *query, const char *lang,
                                 const struct sb__kb_params *p, size_t *nq_out,
                                 struct sb__kb_qinfo *qi)
{
    const struct sb__kb_tokens tok = *tokp;
    struct qterm *q = sb_malloc((tok.n + EXTRA_MAX + (size_t)(p->prf_terms > 0 ? p->prf_terms : 0) + 1) *
                                sizeof(*q));
    size_t nq = 0, ndistinct = 0, nunfixed = 0;
    uint32_t *ids = sb_malloc((tok.n + 1) * sizeof(uint32_t));
    size_t nids = 0;
    /* extra query terms: corrections of misspelt words, joined word pairs, synonyms and
     * longer/shorter forms of a word */
    struct qterm extra[EXTRA_MAX];
    size_t nextra = 0;
    for (size_t i = 0; i < tok.n; i++) {
        uint32_t id;
        const char *w = tok.buf + tok.off[i];
        if (p->join > 0 && i + 1 < tok.n) {
            /* "git hub" -> "github", "drop box" -> "dropbox" */
            char jw[2 * 64 + 1];
            const char *w2 = tok.buf + tok.off[i + 1];
            size_t l1 = strlen(w), l2 = strlen(w2);
            if (l1 + l2 < sizeof(jw)) {
                memcpy(jw, w, l1);
                memcpy(jw + l1, w2, l2 + 1);
                uint32_t jid;
                if (smap_get(&ix->term_ids, jw, &jid) && ix->terms[jid].n)
                    add_extra(ix, extra, &nextra, jid, p->join);
            }
        }
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(tok.buf + tok.off[j], w) == 0;
        if (!dup && p->wn > 0 && !is_cjk_term(w))
            add_synonyms(ix, w, p->wn, extra, &nextra);
        if (!dup && (p->wnd > 0 || p->wns > 0) && !is_cjk_term(w))
            add_related(ix, w, p, extra, &nextra);
        if (!smap_get(&ix->term_ids, w, &id) || ix->terms[id].n == 0) {
            /* unknown term: counts for coverage; a close spelling may stand in for it */
            /* an unknown CJK bigram usually spans a word boundary: not evidence of a gap */
            ndistinct += !dup && !is_cjk_term(w);
            uint32_t fid = 0;
            if (!dup && p->fuzzy > 0 && fuzzy_match(ix, w, &fid))
                add_extra(ix, extra, &nextra, fid, p->fuzzy);
            else if (!dup && !is_cjk_term(w) &&
                     !(p->wn > 0 && add_siblings(ix, w, p->wn, extra, &nextra)))
                nunfixed++;
            continue;
        }
        ids[nids++] = id;
    }
    if (p->sub > 0)
        add_containing(ix, &tok, p->sub, extra, &nextra);
    if (p->sjoin > 0)
        add_joins(ix, query, lang, p->sjoin, extra, &nextra);
    qsort(ids, nids, sizeof(uint32_t), cmp_u32);
    for (size_t i = 0; i < nids; i++) {
        if (nq && q[nq - 1].id == ids[i]) {
            q[nq - 1].weight += 1.0;
            continue;
        }
        q[nq].id = ids[i];
        q[nq].weight = 1.0;
        q[nq].extra = 0;
        q[nq].idf = idf_of(ix, ix->terms[ids[i]].n);
        nq++;
    }
    free(ids);
    ndistinct += nq;
    size_t nreal = nq, nextra_added = 0;
    double qmax_real = 0;
    for (size_t i = 0; i < nq; i++)
        qmax_real += q[i].weight * q[i].idf;
    for (size_t i = 0; i < nextra; i++) {
        int have = 0;
        for (size_t j = 0; j < nreal && !have; j++)
            have = q[j].id == extra[i].id;
        if (!have) {
            q[nq] = extra[i];
            q[nq++].extra = 1;
            nextra_added++;
        }
    }
    (void)nreal;
    qsort(q, nq, sizeof(*q), cmp_qterm);
    if (qi) {
        qi->n_terms = ndistinct;
        qi->n_known = nq - nextra_added;
        qi->n_unfixed = nunfixed;
        qi->qmax = qmax_real;
    }
    *nq_out = nq;
    return q;
}

size_t sb__kb_index_search(const struct sb__kb_index *ix, const char *query, const char *lang,
                           const struct sb__kb_params *p, size_t k, struct sb__kb_scored *out,
                           struct sb__kb_qinfo *qi)
{
    if (qi)
        memset(qi, 0, sizeof(*qi));
    if (!ix || !ix->live || !query || k == 0)
        return 0;
    struct sb__kb_tokens tok = {0};
    sb__kb_analyze(query, strlen(query), lang, &tok);
    size_t nq = 0;
    struct qterm *q = build_query(ix, &tok, query, lang, p, &nq, qi);
    sb__kb_tokens_cleanup(&tok);
    if (nq == 0) {
        free(q);
        return 0;
    }
    double *score = sb_calloc(ix->nslots, sizeof(double));
    uint32_t *touched = sb_malloc(ix->nslots * sizeof(uint32_t));
    unsigned char *seen = sb_calloc(ix->nslots, 1);
    size_t ntouched = 0;
    score_terms(ix, q, nq, p, score, touched, &ntouched, seen);

    if (p->prf_docs > 0 && p->prf_terms > 0 && p->prf_weight > 0) {
        /* pseudo relevance feedback: the terms of the top entries' titles that the query
         * lacks, weighted by their summed tf-idf, are added with a reduced weight */
        size_t fb = (size_t)p->prf_docs;
        struct sb__kb_scored *top = sb_malloc(fb * sizeof(*top));
        size_t nt = select_top(ix, p, score, touched, ntouched, fb, top);
        struct qterm *cand = NULL;
        size_t ncand = 0, ccap = 0;
        for (size_t i = 0; i < nt; i++) {
            const struct slot *sl = &ix->slots[top[i].slot];
            for (uint32_t j = 0; j < sl->nterms; j++) {
                uint32_t id = sl->terms[j];
                struct qterm key = {.id = id};
                if (bsearch(&key, q, nq, sizeof(*q), cmp_qterm))
                    continue;
                /* title-field frequency only: questions carry the intent */
                const struct term *t = &ix->terms[id];
                uint16_t tf = 0;
                for (uint32_t m = 0; m < t->n; m++) {
                    if (t->p[m].slot == top[i].slot) {
                        tf = t->p[m].tf[SB__KB_F_TITLE];
                        break;
                    }
                }
                if (!tf)
                    continue;
                size_t c;
                for (c = 0; c < ncand && cand[c].id != id; c++)
                    ;
                if (c == ncand) {
                    if (ncand == ccap) {
                        ccap = ccap ? ccap * 2 : 32;
                        cand = sb_realloc(cand, ccap * sizeof(*cand));
                    }
                    cand[ncand].id = id;
                    cand[ncand].idf = idf_of(ix, t->n);
                    cand[ncand].weight = 0;
                    cand[ncand].extra = 1;
                    ncand++;
                }
                cand[c].weight += 1.0 / (double)nt;
            }
        }
        free(top);
        /* keep the best prf_terms by weight*idf */
        for (size_t i = 0; i < ncand; i++)
            cand[i].weight *= cand[i].idf;
        size_t want = (size_t)p->prf_terms;
        size_t nadd = 0;
        for (size_t r = 0; r < want && r < ncand; r++) {
            size_t best = r;
            for (size_t i = r + 1; i < ncand; i++) {
                if (cand[i].weight > cand[best].weight)
                    best = i;
            }
            struct qterm tmp = cand[r];
            cand[r] = cand[best];
            cand[best] = tmp;
            q[nq + nadd] = cand[r];
            q[nq + nadd].weight = p->prf_weight * cand[r].weight /
                                  (cand[0].weight > 0 ? cand[0].weight : 1.0);
            q[nq + nadd].weight /= q[nq + nadd].idf > 0 ? q[nq + nadd].idf : 1.0;
            nadd++;
        }
        free(cand);
        if (nadd)
            score_terms(ix, q + nq, nadd, p, score, touched, &ntouched, seen);
    }

    size_t n = select_top(ix, p, score, touched, ntouched, k, out);
    free(score);
    free(touched);
    free(seen);
    free(q);
    return n;
}

void sb__kb_index_coverage(const struct sb__kb_index *ix, uint32_t slot, const char *query,
                           const char *lang, double *any, double *title)
{
    *any = *title = 0;
    struct sb__kb_tokens tok = {0};
    sb__kb_analyze(query, strlen(query), lang, &tok);
    double total = 0, in_any = 0, in_title = 0;
    for (size_t i = 0; i < tok.n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(tok.buf + tok.off[j], tok.buf + tok.off[i]) == 0;
        if (dup || sb__kb_is_question_word(tok.buf + tok.off[i]))
            continue;
        uint32_t id;
        if (!smap_get(&ix->term_ids, tok.buf + tok.off[i], &id) || ix->terms[id].n == 0) {
            if (is_cjk_term(tok.buf + tok.off[i]))
                continue;
            total += idf_of(ix, 0); /* unseen words weigh like the rarest */
            /* half credit when the entry names other instances of its class (Germany:
             * "we ship to Norway, Sweden, ...") */
            const char *sib[256];
            size_t ns = sb__kb_wordnet_siblings(tok.buf + tok.off[i], sib, 256);
            for (size_t k = 0; k < ns; k++) {
                uint32_t sid;
                if (!smap_get(&ix->term_ids, sib[k], &sid))
                    continue;
                const struct term *st = &ix->terms[sid];
                uint32_t j;
                for (j = 0; j < st->n && st->p[j].slot != slot; j++)
                    ;
                if (j < st->n) {
                    in_any += 0.5 * idf_of(ix, 0);
                    if (st->p[j].tf[SB__KB_F_TITLE])
                        in_title += 0.5 * idf_of(ix, 0);
                    break;
                }
            }
            continue;
        }
        const struct term *t = &ix->terms[id];
        double idf = idf_of(ix, t->n);
        total += idf;
        for (uint32_t j = 0; j < t->n; j++) {
            if (t->p[j].slot == slot) {
                in_any += idf;
                if (t->p[j].tf[SB__KB_F_TITLE])
                    in_title += idf;
                break;
            }
        }
    }
    sb__kb_tokens_cleanup(&tok);
    if (total > 0) {
        *any = in_any / total;
        *title = in_title / total;
    }
}

/* ---- reranking features ---- */

/* Phrasing-level evidence of one line of the title field against the query. */
static void line_features(const struct sb__kb_index *ix, const char *line, size_t len,
                          const char *lang, const struct sb__kb_tokens *qt, double qtotal,
                          const struct qterm *q, size_t nq, double *fc, double *rc, double *bg,
                          double *ln)
{
    struct sb__kb_tokens lt = {0};
    sb__kb_analyze(line, len, lang, &lt);
    double in_q = 0, lsum = 0, fsum = 0;
    for (size_t i = 0; i < lt.n; i++) {
        const char *t = lt.buf + lt.off[i];
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(lt.buf + lt.off[j], t) == 0;
        uint32_t id;
        if (dup || !smap_get(&ix->term_ids, t, &id))
            continue;
        double idf = idf_of(ix, ix->terms[id].n);
        lsum += idf;
        struct qterm key = {.id = id};
        const struct qterm *hit = bsearch(&key, q, nq, sizeof(*q), cmp_qterm);
        if (hit) {
            in_q += hit->extra ? idf * (hit->weight < 1 ? hit->weight : 1) : idf;
            if (!hit->extra)
                fsum += idf;
        }
    }
    size_t pairs = 0, found = 0;
    for (size_t i = 0; i + 1 < qt->n; i++) {
        const char *a = qt->buf + qt->off[i], *b = qt->buf + qt->off[i + 1];
        pairs++;
        for (size_t j = 0; j + 1 < lt.n; j++) {
            if (strcmp(lt.buf + lt.off[j], a) == 0 && strcmp(lt.buf + lt.off[j + 1], b) == 0) {
                found++;
                break;
            }
        }
    }
    *fc = qtotal > 0 ? fsum / qtotal : 0;
    *rc = lsum > 0 ? in_q / lsum : 0;
    *bg = pairs ? (double)found / (double)pairs : 0;
    *ln = log(1.0 + (double)lt.n);
    sb__kb_tokens_cleanup(&lt);
}

void sb__kb_index_features(const struct sb__kb_index *ix, const char *query, const char *lang,
                           const struct sb__kb_params *p, const struct sb__kb_scored *cand,
                           size_t n, double (*feat)[SB__KB_RF_N])
{
    memset(feat, 0, n * sizeof(*feat));
    if (!ix || !n || !query)
        return;
    struct sb__kb_tokens tok = {0};
    sb__kb_analyze(query, strlen(query), lang, &tok);
    size_t nq = 0;
    struct sb__kb_qinfo qi;
    struct qterm *q = build_query(ix, &tok, query, lang, p, &nq, &qi);
    double qmax = qi.qmax > 0 ? qi.qmax : 1.0;
    double total = 0;
    for (size_t j = 0; j < nq; j++)
        total += q[j].extra ? 0 : q[j].idf;
    total += (double)(qi.n_terms - qi.n_known) * idf_of(ix, 0);
    uint32_t *cm = sb_calloc(ix->nslots, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++)
        cm[cand[i].slot] = (uint32_t)i + 1;
    uint64_t *mask = sb_calloc(n, sizeof(uint64_t));
    double avg[SB__KB_NF];
    for (int f = 0; f < SB__KB_NF; f++)
        avg[f] = ix->live ? ix->len_sum[f] / (double)ix->live : 1.0;
    size_t real = 0;
    for (size_t j = 0; j < nq; j++) {
        const struct term *t = &ix->terms[q[j].id];
        double wq = q[j].weight * q[j].idf;
        for (uint32_t m = 0; m < t->n; m++) {
            const struct posting *po = &t->p[m];
            uint32_t c = cm[po->slot];
            if (!c)
                continue;
            c--;
            const struct slot *sl = &ix->slots[po->slot];
            double tfs[SB__KB_NF] = {0}, tf = 0;
            for (int f = 0; f < SB__KB_NF; f++) {
                if (!po->tf[f])
                    continue;
                double norm = 1.0 - p->b[f] + p->b[f] * (avg[f] > 0 ? sl->len[f] / avg[f] : 1.0);
                tfs[f] = p->w[f] * po->tf[f] / norm;
                tf += tfs[f];
            }
            if (q[j].extra) {
                feat[c][SB__KB_RF_EXTRA] += wq * tf / (p->k1 + tf) / qmax;
                continue;
            }
            double tt = tfs[SB__KB_F_TITLE], tb = tfs[SB__KB_F_BODY] + tfs[SB__KB_F_META];
            feat[c][SB__KB_RF_TITLE] += wq * tt / (p->k1 + tt) / qmax;
            feat[c][SB__KB_RF_BODY] += wq * tb / (p->k1 + tb) / qmax;
            feat[c][SB__KB_RF_COV] += q[j].idf;
            if (po->tf[SB__KB_F_TITLE])
                feat[c][SB__KB_RF_COVT] += q[j].idf;
            if (real < 64)
                mask[c] |= 1ull << real;
        }
        real += !q[j].extra;
    }
    double gnorm = (1.0 + (p->group > 0 ? p->group : 0)) * qmax;
    for (size_t i = 0; i < n; i++) {
        double *f = feat[i];
        f[SB__KB_RF_BASE] = cand[i].score / gnorm;
        f[SB__KB_RF_COV] = total > 0 ? f[SB__KB_RF_COV] / total : 0;
        f[SB__KB_RF_COVT] = total > 0 ? f[SB__KB_RF_COVT] / total : 0;
        f[SB__KB_RF_RANK] = log(1.0 + (double)i);
        /* the group's union of matched terms and its best body among the candidates */
        uint32_t g = ix->slots[cand[i].slot].group;
        uint64_t gm = 0;
        double gb = 0;
        for (size_t j = 0; j < n; j++) {
            if (ix->slots[cand[j].slot].group != g)
                continue;
            gm |= mask[j];
            if (feat[j][SB__KB_RF_BODY] > gb)
                gb = feat[j][SB__KB_RF_BODY];
        }
        double cg = 0;
        size_t r = 0;
        for (size_t j = 0; j < nq; j++) {
            if (q[j].extra)
                continue;
            if (r < 64 && (gm >> r & 1))
                cg += q[j].idf;
            r++;
        }
        f[SB__KB_RF_COVG] = total > 0 ? cg / total : 0;
        f[SB__KB_RF_GBODY] = gb;
        /* the best matching phrasing: title, each question, heading */
        const struct sb_kb_doc *d = &ix->slots[cand[i].slot].doc;
        const char *lines[3] = {d->title, d->questions, d->heading};
        double best = -1;
        for (int li = 0; li < 3; li++) {
            const char *s = lines[li];
            while (s && *s) {
                const char *e = strchr(s, '\n');
                size_t len = e ? (size_t)(e - s) : strlen(s);
                if (len) {
                    double fc, rc, bg, ln;
                    line_features(ix, s, len, lang, &tok, total, q, nq, &fc, &rc, &bg, &ln);
                    if (fc + rc > best) {
                        best = fc + rc;
                        f[SB__KB_RF_LFC] = fc;
                        f[SB__KB_RF_LRC] = rc;
                        f[SB__KB_RF_LBG] = bg;
                        f[SB__KB_RF_LLEN] = ln;
                    }
                }
                s = e ? e + 1 : NULL;
            }
        }
    }
    free(mask);
    free(cm);
    free(q);
    sb__kb_tokens_cleanup(&tok);
}

/* ---- translation model learned from the KB itself ---- */

/*
 * Word association between questions and answers, learned from the KB's own entries as one
 * step of IBM model 1 from a uniform start, both directions pooled: every entry with a
 * title/questions field Q and a body or attributes A is a pair (Q -> A and A -> Q), and
 *   T(w|v) = sum_e [tfA(v) tfQ(w) / |A| + tfQ(v) tfA(w) / |Q|]
 *          / sum_e [tfA(v) |Q| / |A| + tfQ(v) |A| / |Q|].
 * All of it comes from the postings, so it follows every edit with no training step. A
 * candidate's question scores the query by the translation language model
 *   p(q|d) = (1-l) [(1-b) tf_d(q)/|d| + b sum_v T(q|v) tf_d(v)/|d|] + l p(q|KB),
 * d = the candidate's title field; the score is the mean over query words of
 * log p(q|d) - log p(q|KB). It bridges words that customers use and the question does not
 * ("remove" for "delete") when the KB's answers use them together.
 */
#define TM_BETA 0.8
#define TM_LAMBDA 0.2
#define TM_QMAX 32 /* query words considered */

void sb__kb_index_translation(const struct sb__kb_index *ix, const char *query, const char *lang,
                              const uint32_t *slots, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0;
    if (!ix || !ix->live || !query || !n)
        return;
    struct sb__kb_tokens tok = {0};
    sb__kb_analyze(query, strlen(query), lang, &tok);
    size_t m = tok.n < TM_QMAX ? tok.n : TM_QMAX;
    if (!m) {
        sb__kb_tokens_cleanup(&tok);
        return;
    }
    double total =
        ix->len_sum[SB__KB_F_TITLE] + ix->len_sum[SB__KB_F_BODY] + ix->len_sum[SB__KB_F_META];
    uint32_t qid[TM_QMAX];
    int qknown[TM_QMAX];
    double pc[TM_QMAX];
    /* (title tf, answer-side tf) of every query word, one row per entry having any of them:
     * row[slot] - 1 indexes rows of m pairs */
    uint32_t *row = sb_calloc(ix->nslots, sizeof(uint32_t));
    size_t nrows = 0, rcap = 0;
    uint16_t(*qtf)[2] = NULL;
    for (size_t j = 0; j < m; j++) {
        double cf = 0;
        qknown[j] = smap_get(&ix->term_ids, tok.buf + tok.off[j], &qid[j]);
        if (qknown[j]) {
            const struct term *t = &ix->terms[qid[j]];
            for (uint32_t k = 0; k < t->n; k++) {
                const struct posting *po = &t->p[k];
                if (!row[po->slot]) {
                    if (nrows == rcap) {
                        rcap = rcap ? rcap * 2 : 256;
                        qtf = sb_realloc(qtf, rcap * m * sizeof(*qtf));
                    }
                    memset(qtf + nrows * m, 0, m * sizeof(*qtf));
                    row[po->slot] = (uint32_t)++nrows;
                }
                uint16_t *q = qtf[(row[po->slot] - 1) * m + j];
                q[0] = po->tf[SB__KB_F_TITLE];
                q[1] = (uint16_t)(po->tf[SB__KB_F_BODY] + po->tf[SB__KB_F_META]);
                cf += q[0] + q[1];
            }
        }
        pc[j] = (cf + 0.5) / (total + 1.0);
    }
    /* per candidate: sum over its title terms v of T(q|v) tf_d(v), and tf_d(q) */
    double *tr = sb_calloc(n * m, sizeof(double));
    double *ml = sb_calloc(n * m, sizeof(double));
    double count[TM_QMAX];
    double dlen[8];
    size_t nc = n < 8 ? n : 8;
    for (size_t c = 0; c < nc; c++)
        dlen[c] = ix->slots[slots[c]].len[SB__KB_F_TITLE];
    for (size_t c = 0; c < nc; c++) {
        /* the candidate's title-field terms: analysed again (a few words) rather than found
         * among all its terms' postings */
        const struct slot *cs = &ix->slots[slots[c]];
        struct sb_buf ft[SB__KB_NF];
        field_texts(&cs->doc, ft);
        struct sb__kb_tokens tt = {0};
        sb__kb_analyze(ft[SB__KB_F_TITLE].data, ft[SB__KB_F_TITLE].len, cs->doc.lang, &tt);
        for (int f = 0; f < SB__KB_NF; f++)
            sb_buf_cleanup(&ft[f]);
        for (size_t ti = 0; ti < tt.n; ti++) {
            const char *vs = tt.buf + tt.off[ti];
            int dup = 0;
            for (size_t tj = 0; tj < ti && !dup; tj++)
                dup = strcmp(tt.buf + tt.off[tj], vs) == 0;
            uint32_t v;
            if (dup || !smap_get(&ix->term_ids, vs, &v))
                continue;
            const struct term *t = &ix->terms[v];
            /* title tf of v in each candidate; skip v when an earlier candidate had it in
             * its title (already counted for all candidates) */
            uint16_t ctf[8] = {0};
            for (uint32_t k = 0; k < t->n; k++) {
                for (size_t c2 = 0; c2 < nc; c2++) {
                    if (t->p[k].slot == slots[c2])
                        ctf[c2] = t->p[k].tf[SB__KB_F_TITLE];
                }
            }
            int seen = 0;
            for (size_t c2 = 0; c2 < c && !seen; c2++)
                seen = ctf[c2] > 0;
            if (seen || !ctf[c])
                continue;
            double tot = 0;
            for (size_t j = 0; j < m; j++)
                count[j] = 0;
            for (uint32_t k = 0; k < t->n; k++) {
                const struct posting *po = &t->p[k];
                const struct slot *e = &ix->slots[po->slot];
                double lq = e->len[SB__KB_F_TITLE];
                double la = e->len[SB__KB_F_BODY] + e->len[SB__KB_F_META];
                if (lq <= 0 || la <= 0)
                    continue;
                double vq = po->tf[SB__KB_F_TITLE];
                double va = po->tf[SB__KB_F_BODY] + po->tf[SB__KB_F_META];
                tot += va * lq / la + vq * la / lq;
                if (!row[po->slot])
                    continue;
                const uint16_t(*w)[2] = qtf + (row[po->slot] - 1) * m;
                for (size_t j = 0; j < m; j++) {
                    if (w[j][0] | w[j][1])
                        count[j] += va * w[j][0] / la + vq * w[j][1] / lq;
                }
            }
            if (tot <= 0)
                continue;
            for (size_t c2 = 0; c2 < nc; c2++) {
                if (!ctf[c2])
                    continue;
                for (size_t j = 0; j < m; j++)
                    tr[c2 * m + j] += count[j] / tot * ctf[c2];
            }
        }
        sb__kb_tokens_cleanup(&tt);
        for (size_t j = 0; row[slots[c]] && j < m; j++)
            ml[c * m + j] = qtf[(row[slots[c]] - 1) * m + j][0];
    }
    for (size_t c = 0; c < nc; c++) {
        double s = 0, dl = dlen[c] > 0 ? dlen[c] : 1;
        for (size_t j = 0; j < m; j++) {
            double p = (1 - TM_LAMBDA) * ((1 - TM_BETA) * ml[c * m + j] / dl +
                                          TM_BETA * tr[c * m + j] / dl) +
                       TM_LAMBDA * pc[j];
            s += log(p) - log(pc[j]);
        }
        out[c] = s / (double)m;
    }
    free(tr);
    free(ml);
    free(qtf);
    free(row);
    sb__kb_tokens_cleanup(&tok);
}

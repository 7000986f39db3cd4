/* SPDX-License-Identifier: MIT */
/*
 * Skill classes and their priority heaps. Waiting conversations that require the same tag set
 * share a class; each class is a binary min-heap on (key, enqueue_ms, id) with every
 * conversation knowing its heap slot, so insertion, removal of any member and a look at the
 * best are O(log n) or O(1). A freed agent only has to look at the top of each class it has
 * the skills for — a few hundred classes at most in practice, whatever the queue length.
 * Classes live in a chained hash table; empty ones are dropped only when their number reaches
 * SB_ROUTING_CLASSES_MAX.
 */
#include "routing_internal.h"

#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

static uint64_t tagset_hash(const struct tagset *s)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < TAG_WORDS; i++) {
        h ^= s->w[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdULL;
    }
    return h ^ (h >> 29);
}

static void rehash(struct sb_routing *r, size_t n_buckets)
{
    struct rclass **b = sb_calloc(n_buckets, sizeof(*b));
    for (size_t i = 0; i < r->n_buckets; i++) {
        struct rclass *c = r->buckets[i], *next;
        for (; c; c = next) {
            next = c->bucket_next;
            size_t j = c->hash & (n_buckets - 1);
            c->bucket_next = b[j];
            b[j] = c;
        }
    }
    free(r->buckets);
    r->buckets = b;
    r->n_buckets = n_buckets;
}

/* Frees every class without waiting conversations. */
static void drop_empty(struct sb_routing *r)
{
    for (size_t i = 0; i < r->n_buckets; i++) {
        struct rclass **pp = &r->buckets[i];
        while (*pp) {
            struct rclass *c = *pp;
            if (c->n == 0) {
                *pp = c->bucket_next;
                free(c->heap);
                free(c);
                r->n_classes--;
            } else {
                pp = &c->bucket_next;
            }
        }
    }
}

int sb__routing_class_get(struct sb_routing *r, const struct tagset *req, struct rclass **out,
                          struct sb_error *err)
{
    uint64_t h = tagset_hash(req);
    if (r->n_buckets) {
        for (struct rclass *c = r->buckets[h & (r->n_buckets - 1)]; c; c = c->bucket_next)
            if (c->hash == h && memcmp(&c->req, req, sizeof(*req)) == 0) {
                *out = c;
                return 0;
            }
    }
    if (r->n_classes >= SB_ROUTING_CLASSES_MAX)
        drop_empty(r);
    if (r->n_classes >= SB_ROUTING_CLASSES_MAX)
        return sb_error_set(err, SB_ETOOBIG, "more than %d distinct required skill sets",
                            SB_ROUTING_CLASSES_MAX);
    if (r->n_classes + 1 > r->n_buckets)
        rehash(r, r->n_buckets ? r->n_buckets * 2 : 64);
    struct rclass *c = sb_calloc(1, sizeof(*c));
    c->req = *req;
    c->hash = h;
    c->live_i = SIZE_MAX;
    size_t j = h & (r->n_buckets - 1);
    c->bucket_next = r->buckets[j];
    r->buckets[j] = c;
    r->n_classes++;
    *out = c;
    return 0;
}

void sb__routing_classes_free(struct sb_routing *r)
{
    for (size_t i = 0; i < r->n_buckets; i++) {
        struct rclass *c = r->buckets[i], *next;
        for (; c; c = next) {
            next = c->bucket_next;
            free(c->heap);
            free(c);
        }
    }
    free(r->buckets);
    free(r->live);
    r->buckets = NULL;
    r->live = NULL;
    r->n_buckets = r->n_classes = r->n_live = r->cap_live = 0;
}

static void heap_set(struct rclass *c, size_t i, struct rconv *x)
{
    c->heap[i] = x;
    x->heap_i = i;
}

static void sift_up(struct rclass *c, size_t i)
{
    struct rconv *x = c->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!rconv_before(x, c->heap[p]))
            break;
        heap_set(c, i, c->heap[p]);
        i = p;
    }
    heap_set(c, i, x);
}

static void sift_down(struct rclass *c, size_t i)
{
    struct rconv *x = c->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, best = l;
        if (l >= c->n)
            break;
        if (l + 1 < c->n && rconv_before(c->heap[l + 1], c->heap[l]))
            best = l + 1;
        if (!rconv_before(c->heap[best], x))
            break;
        heap_set(c, i, c->heap[best]);
        i = best;
    }
    heap_set(c, i, x);
}

void sb__routing_heap_push(struct sb_routing *r, struct rclass *c, struct rconv *x)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->heap = sb_realloc(c->heap, c->cap * sizeof(*c->heap));
    }
    if (c->n == 0) { /* the class becomes live */
        if (r->n_live == r->cap_live) {
            r->cap_live = r->cap_live ? r->cap_live * 2 : 16;
            r->live = sb_realloc(r->live, r->cap_live * sizeof(*r->live));
        }
        c->live_i = r->n_live;
        r->live[r->n_live++] = c;
    }
    x->cls = c;
    heap_set(c, c->n++, x);
    sift_up(c, x->heap_i);
    r->n_waiting++;
}

void sb__routing_heap_remove(struct sb_routing *r, struct rconv *x)
{
    struct rclass *c = x->cls;
    size_t i = x->heap_i;
    struct rconv *last = c->heap[--c->n];
    if (i < c->n) {
        heap_set(c, i, last);
        if (i > 0 && rconv_before(last, c->heap[(i - 1) / 2]))
            sift_up(c, i);
        else
            sift_down(c, i);
    }
    x->cls = NULL;
    x->heap_i = 0;
    r->n_waiting--;
    if (c->n == 0) { /* no longer live: swap-remove from the live list */
        struct rclass *moved = r->live[--r->n_live];
        r->live[c->live_i] = moved;
        moved->live_i = c->live_i;
        c->live_i = SIZE_MAX;
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * Shared between the routing files: tag sets (bitsets over interned tags), the id map, the
 * per-class priority heaps and the router object. A "class" is the set of conversations that
 * require exactly the same tags; each class keeps its waiting conversations in a binary heap
 * ordered by (key, enqueue_ms, id), where key = enqueue_ms - fixed priority expressed in
 * milliseconds of waiting. Because every waiting conversation's priority grows at the same
 * rate (w_wait), that order never changes with time, only when a fixed part changes.
 */
#ifndef SB_ROUTING_INTERNAL_H
#define SB_ROUTING_INTERNAL_H

#include "sb/routing.h"

#include <stdint.h>

#define TAG_WORDS (SB_ROUTING_TAGS_MAX / 64)

struct tagset {
    uint64_t w[TAG_WORDS];
};

static inline int tagset_subset(const struct tagset *a, const struct tagset *b)
{
    uint64_t x = 0;
    for (int i = 0; i < TAG_WORDS; i++)
        x |= a->w[i] & ~b->w[i];
    return x == 0;
}

static inline void tagset_add(struct tagset *s, unsigned i)
{
    s->w[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline int tagset_has(const struct tagset *s, unsigned i)
{
    return (s->w[i / 64] >> (i % 64)) & 1;
}

/* ---- id → pointer map (open addressing, linear probing, backward-shift deletion) ---- */

struct idmap {
    int64_t *keys; /* 0 = empty */
    void **vals;
    size_t cap, n; /* cap is a power of two */
};
void sb__routing_idmap_init(struct idmap *m);
void sb__routing_idmap_cleanup(struct idmap *m);
void *sb__routing_idmap_get(const struct idmap *m, int64_t key);
void sb__routing_idmap_put(struct idmap *m, int64_t key, void *val); /* key must be absent */
void sb__routing_idmap_del(struct idmap *m, int64_t key);

/* ---- objects ------------------------------------------------------------------------- */

struct rclass;
struct ragent;

struct rconv {
    sb_id id;
    int64_t enqueue_ms;
    int64_t key; /* enqueue_ms - fixed_ms: smaller is served first */
    /* inputs of the priority */
    int vip, complaint;
    double ltv, negative_trend;
    int64_t prev_contact_ms;
    /* required tags without the team, and the team */
    struct tagset base;
    sb_id team;
    int team_tag; /* tag number of "team:<team>", -1 for any team */
    struct rclass *cls;   /* while waiting */
    size_t heap_i;
    struct ragent *agent; /* while assigned */
    struct rconv *aprev, *anext;
};

struct ragent {
    sb_id id;
    enum sb_routing_presence presence;
    int capacity, load;
    int64_t last_assigned_ms;
    struct tagset skills;
    struct rconv *head; /* conversations held */
    size_t index;       /* in router->agents */
};

struct rclass {
    struct tagset req;
    uint64_t hash;
    struct rclass *bucket_next;
    struct rconv **heap;
    size_t n, cap;
    size_t live_i; /* index in router->live while n > 0, else SIZE_MAX */
};

struct sb_routing {
    struct sb_routing_config cfg;
    /* tags */
    char (*tag_names)[SB_ROUTING_TAG_MAX];
    unsigned n_tags;
    uint32_t tag_slots[2 * SB_ROUTING_TAGS_MAX]; /* hash → tag number + 1, 0 empty */
    /* agents */
    struct idmap agent_by_id;
    struct ragent **agents;
    size_t n_agents, cap_agents;
    /* conversations */
    struct idmap conv_by_id;
    size_t n_waiting, n_assigned;
    /* classes */
    struct rclass **buckets;
    size_t n_buckets, n_classes;
    struct rclass **live; /* classes with waiting conversations */
    size_t n_live, cap_live;
};

/* Tag number of `name` (interned on first use): >= 0, or SB_EINVAL / SB_ETOOBIG. */
int sb__routing_tag(struct sb_routing *r, const char *name, size_t len, struct sb_error *err);

/* Classes and heaps (classes.c). */
int sb__routing_class_get(struct sb_routing *r, const struct tagset *req, struct rclass **out,
                          struct sb_error *err);
void sb__routing_heap_push(struct sb_routing *r, struct rclass *c, struct rconv *x);
void sb__routing_heap_remove(struct sb_routing *r, struct rconv *x);
void sb__routing_classes_free(struct sb_routing *r);
/* 1 when a is served before b. */
static inline int rconv_before(const struct rconv *a, const struct rconv *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    if (a->enqueue_ms != b->enqueue_ms)
        return a->enqueue_ms < b->enqueue_ms;
    return a->id < b->id;
}

/* Priority (priority.c). */
void sb__routing_priority(const struct sb_routing_config *cfg, const struct rconv *c,
                          int64_t now_ms, struct sb_routing_priority *p);
int64_t sb__routing_key(const struct sb_routing_config *cfg, const struct rconv *c);

#endif

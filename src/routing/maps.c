/* SPDX-License-Identifier: MIT */
/*
 * The router's lookup tables: an id → pointer map (agents and conversations by id) and the
 * interning of skill tags into small numbers, so that "has every required skill" is a few
 * word-wide AND operations over bitsets.
 */
#include "routing_internal.h"

#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

void sb__routing_idmap_init(struct idmap *m)
{
    m->cap = 64;
    m->n = 0;
    m->keys = sb_calloc(m->cap, sizeof(*m->keys));
    m->vals = sb_calloc(m->cap, sizeof(*m->vals));
}

void sb__routing_idmap_cleanup(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static size_t find_slot(const struct idmap *m, int64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)mix64((uint64_t)key) & mask;
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

void *sb__routing_idmap_get(const struct idmap *m, int64_t key)
{
    if (key <= 0)
        return NULL;
    size_t i = find_slot(m, key);
    return m->keys[i] == key ? m->vals[i] : NULL;
}

static void grow(struct idmap *m)
{
    struct idmap old = *m;
    m->cap = old.cap * 2;
    m->n = 0;
    m->keys = sb_calloc(m->cap, sizeof(*m->keys));
    m->vals = sb_calloc(m->cap, sizeof(*m->vals));
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            sb__routing_idmap_put(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

void sb__routing_idmap_put(struct idmap *m, int64_t key, void *val)
{
    if ((m->n + 1) * 4 > m->cap * 3) /* keep the load under 3/4 */
        grow(m);
    size_t i = find_slot(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}

/* Backward-shift deletion: no tombstones, so lookups stay short after many deletions. */
void sb__routing_idmap_del(struct idmap *m, int64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = find_slot(m, key);
    if (m->keys[i] != key)
        return;
    m->keys[i] = 0;
    m->vals[i] = NULL;
    m->n--;
    for (size_t j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
        size_t home = (size_t)mix64((uint64_t)m->keys[j]) & mask;
        /* move j back to the hole i when its home is not within (i, j] (cyclically) */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        m->keys[j] = 0;
        m->vals[j] = NULL;
        i = j;
    }
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int sb__routing_tag(struct sb_routing *r, const char *name, size_t len, struct sb_error *err)
{
    if (len == 0)
        return sb_error_set(err, SB_EINVAL, "empty skill tag");
    if (len >= SB_ROUTING_TAG_MAX)
        return sb_error_set(err, SB_ETOOBIG, "skill tag longer than %d bytes",
                            SB_ROUTING_TAG_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return sb_error_set(err, SB_EINVAL, "skill tag with a control character");
    size_t mask = sizeof(r->tag_slots) / sizeof(r->tag_slots[0]) - 1;
    size_t i = (size_t)hash_bytes(name, len) & mask;
    for (; r->tag_slots[i]; i = (i + 1) & mask) {
        unsigned t = r->tag_slots[i] - 1;
        if (strlen(r->tag_names[t]) == len && memcmp(r->tag_names[t], name, len) == 0)
            return (int)t;
    }
    if (r->n_tags >= SB_ROUTING_TAGS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "more than %d distinct skill tags",
                            SB_ROUTING_TAGS_MAX);
    unsigned t = r->n_tags++;
    memcpy(r->tag_names[t], name, len);
    r->tag_names[t][len] = '\0';
    r->tag_slots[i] = t + 1;
    return (int)t;
}

const char *sb_routing_tag_name(const struct sb_routing *r, unsigned i)
{
    return r && i < r->n_tags ? r->tag_names[i] : NULL;
}

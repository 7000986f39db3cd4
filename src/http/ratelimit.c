/* SPDX-License-Identifier: MIT */
/*
 * Token buckets per client IP and per credential, on the network thread only (no locks). A
 * fixed-size open hash keeps memory bounded whatever the number of clients: when a slot is
 * taken by another id, the older bucket is replaced — a full bucket is what it would have
 * refilled to anyway unless it was recently drained.
 */
#include "http_internal.h"

#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

#define SLOTS 65536

struct bucket {
    uint64_t id_hash;
    double tokens;
    int64_t at_ns;
};

struct ratelimit {
    struct bucket b[SLOTS];
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

struct ratelimit *sb__ratelimit_new(void)
{
    return sb_calloc(1, sizeof(struct ratelimit));
}

void sb__ratelimit_free(struct ratelimit *rl)
{
    free(rl);
}

int sb__ratelimit_take(struct ratelimit *rl, const char *id, double rate, double burst,
                       int64_t now_ns, int *retry_after_s)
{
    uint64_t h = fnv1a(id);
    struct bucket *b = &rl->b[h % SLOTS];
    if (b->id_hash != h) {
        b->id_hash = h;
        b->tokens = burst;
        b->at_ns = now_ns;
    }
    double elapsed = (double)(now_ns - b->at_ns) / 1e9;
    b->tokens += elapsed * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->at_ns = now_ns;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 1;
    }
    double wait = (1.0 - b->tokens) / rate;
    *retry_after_s = wait < 1.0 ? 1 : (int)(wait + 0.999);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Routing decision latency on a synthetic contact centre: AGENTS agents (default 500) with
 * languages, intent groups, product lines and teams drawn from skewed distributions, capacities
 * 2-6, 85 % online / 10 % away / 5 % offline, and WAITING conversations (default 10,000)
 * waiting behind full agents, with VIP, lifetime value, complaint, negative trend, repeat
 * contact and waiting times of up to an hour. Measures, each over many calls:
 *   best_agent      which agent a waiting conversation would get (query, no change)
 *   release+pull    an agent finishes a conversation and takes the next (the change)
 *   enqueue+offer   a new conversation arrives and is offered (the change)
 *   offline+online  an agent leaves (its conversations re-queued and re-offered) and returns
 *   queue_top50     the first 50 of the queue in order, as the console shows it
 *   queue_all       the whole queue in order
 * and prints p50/p99/max in microseconds. usage: routing_bench [AGENTS [WAITING [SEED]]]
 */
#include "sb/clock.h"
#include "sb/routing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}
static double urand(void)
{
    return (rnd(1u << 30) + 0.5) / (double)(1u << 30);
}

static const char *const langs[] = {"en", "zh", "es", "fr", "de"};
static const int lang_share_agent[] = {85, 40, 10, 8, 6}; /* % of agents speaking it */
static const char *const intents[] = {"billing", "orders", "returns", "tech", "account",
                                      "sales"};
static const char *const products[] = {"tv", "phone", "sofa", "laptop", "appliance"};
#define N_TEAMS 10

struct timing {
    double *v;
    size_t n, cap;
};
static void add(struct timing *t, int64_t ns)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->v = realloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n++] = (double)ns / 1000.0;
}
static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static void report(const char *name, struct timing *t)
{
    if (!t->n)
        return;
    qsort(t->v, t->n, sizeof(double), cmpd);
    printf("%-15s n=%-6zu p50=%7.2f us  p99=%7.2f us  max=%8.2f us\n", name, t->n,
           t->v[t->n / 2], t->v[(size_t)(t->n * 0.99)], t->v[t->n - 1]);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

static void new_conv(struct sb_routing_conv_spec *s, sb_id id, int64_t now)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    uint32_t l = rnd(100);
    s->language = l < 65 ? "en" : l < 90 ? "zh" : langs[2 + rnd(3)];
    s->intent_group = rnd(5) ? intents[rnd(6)] : NULL;
    s->product_line = rnd(2) ? products[rnd(5)] : NULL;
    s->team = rnd(10) < 3 ? 1 + rnd(N_TEAMS) : 0;
    s->vip = rnd(100) < 5;
    s->ltv = exp(4 + 2 * sqrt(-2 * log(urand())) * cos(6.283185 * urand())); /* log-normal */
    s->complaint = rnd(100) < 10;
    s->negative_trend = rnd(3) ? 0 : rnd(4) / 3.0;
    s->prev_contact_ms = rnd(100) < 15 ? now - rnd(6) * 86400000LL : 0;
    s->enqueue_ms = now - rnd(3600) * 1000LL;
}

int main(int argc, char **argv);
int main(int argc, char **argv)
{
    int n_agents = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 500;
    int n_waiting = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 10000;
    if (argc > 3)
        rng += strtoull(argv[3], NULL, 10);
    struct sb_routing *r = NULL;
    struct sb_error err = {0};
    if (sb_routing_new(NULL, &r, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    int64_t now = 1700000000000LL;
    struct sb_routing_changes ch = {0};

    for (int i = 1; i <= n_agents; i++) {
        const char *skills[32];
        size_t ns = 0;
        for (int k = 0; k < 5; k++)
            if ((int)rnd(100) < lang_share_agent[k])
                skills[ns++] = (k == 0 ? "lang:en"
                                : k == 1 ? "lang:zh"
                                : k == 2 ? "lang:es"
                                : k == 3 ? "lang:fr"
                                         : "lang:de");
        static char names[16][32];
        for (int k = 0; k < 6; k++)
            if (rnd(100) < 60) {
                snprintf(names[k], sizeof(names[k]), "intent:%s", intents[k]);
                skills[ns++] = names[k];
            }
        for (int k = 0; k < 5; k++)
            if (rnd(100) < 55) {
                snprintf(names[6 + k], sizeof(names[6 + k]), "product:%s", products[k]);
                skills[ns++] = names[6 + k];
            }
        sb_id teams[2] = {1 + rnd(N_TEAMS), 1 + rnd(N_TEAMS)};
        uint32_t p = rnd(100);
        struct sb_routing_agent_spec a = {
            .id = i, .presence = p < 85 ? SB_ROUTING_ONLINE : p < 95 ? SB_ROUTING_AWAY
                                                                    : SB_ROUTING_OFFLINE,
            .capacity = 2 + (int)rnd(5), .skills = skills, .n_skills = ns, .teams = teams,
            .n_teams = 1 + rnd(2)};
        if (sb_routing_agent_upsert(r, &a, now, &ch, &err))
            return fprintf(stderr, "%s\n", err.msg), 1;
    }
    sb_id next_id = 1;
    struct sb_routing_stats st;
    size_t online_capacity = 0;
    for (int i = 1; i <= n_agents; i++) {
        struct sb_routing_agent_info info;
        sb_routing_agent_get(r, i, &info);
        online_capacity += info.presence == SB_ROUTING_ONLINE ? (size_t)info.capacity : 0;
    }
    for (;;) {
        sb_routing_stats(r, now, &st);
        /* WAITING 0: a centre with spare capacity, filled to 80 % of it (a conversation
         * nobody can take is dropped) */
        if (n_waiting ? (int)st.waiting >= n_waiting
                      : st.assigned >= online_capacity * 8 / 10 || next_id > 1000000)
            break;
        struct sb_routing_conv_spec s;
        new_conv(&s, next_id++, now);
        ch.n = 0;
        if (sb_routing_enqueue(r, &s, now, &ch, &err))
            return fprintf(stderr, "%s\n", err.msg), 1;
        if (!n_waiting && !ch.v[0].agent)
            sb_routing_release(r, s.id, now, &ch);
    }
    ch.n = 0;
    printf("population: %zu agents (%zu online), %zu waiting, %zu assigned, %zu skill classes\n",
           st.agents, st.agents_online, st.waiting, st.assigned, st.classes);

    struct timing t = {0};
    volatile sb_id sink = 0;
    const int Q = 20000;
    /* ids of waiting conversations, to ask about */
    struct sb_routing_queued *q = NULL;
    size_t nq = 0;
    sb_routing_queue_list(r, 0, now, 0, st.waiting, &q, &nq);
    for (int i = 0; i < Q && nq; i++) {
        sb_id c = q[rnd((uint32_t)nq)].id, a = 0;
        struct sb_routing_explain x;
        int64_t t0 = sb_mono_ns();
        sb_routing_best_agent(r, c, now, &a, &x);
        add(&t, sb_mono_ns() - t0);
        sink += a;
    }
    free(q);
    report("best_agent", &t);

    /* steady state: agents finish conversations and take the next; new ones arrive */
    struct timing t_rel = {0}, t_enq = {0};
    size_t pulled = 0, offered_assigned = 0;
    for (int i = 0; i < Q; i++) {
        now += 50;
        sb_id a = 1 + rnd(n_agents), held[64];
        size_t n = sb_routing_agent_conversations(r, a, held, 64);
        if (n) {
            ch.n = 0;
            int64_t t0 = sb_mono_ns();
            sb_routing_release(r, held[rnd((uint32_t)n)], now, &ch);
            add(&t_rel, sb_mono_ns() - t0);
            pulled += ch.n;
        }
        struct sb_routing_conv_spec s;
        new_conv(&s, next_id++, now);
        s.enqueue_ms = now;
        ch.n = 0;
        int64_t t0 = sb_mono_ns();
        sb_routing_enqueue(r, &s, now, &ch, &err);
        add(&t_enq, sb_mono_ns() - t0);
        offered_assigned += ch.n && ch.v[0].agent;
    }
    report("release+pull", &t_rel);
    report("enqueue+offer", &t_enq);
    printf("  (releases that led to a pull: %zu; arrivals assigned at once: %zu)\n", pulled,
           offered_assigned);

    for (int i = 0; i < 2000; i++) {
        now += 50;
        sb_id a = 1 + rnd(n_agents);
        struct sb_routing_agent_info info;
        sb_routing_agent_get(r, a, &info);
        if (info.presence != SB_ROUTING_ONLINE)
            continue;
        ch.n = 0;
        int64_t t0 = sb_mono_ns();
        sb_routing_agent_set_presence(r, a, SB_ROUTING_OFFLINE, now, &ch);
        sb_routing_agent_set_presence(r, a, SB_ROUTING_ONLINE, now, &ch);
        add(&t, sb_mono_ns() - t0);
    }
    report("offline+online", &t);

    for (int i = 0; i < 200; i++) {
        struct sb_routing_queued *top = NULL;
        size_t n = 0;
        int64_t t0 = sb_mono_ns();
        sb_routing_queue_list(r, 0, now, 0, 50, &top, &n);
        add(&t, sb_mono_ns() - t0);
        free(top);
    }
    report("queue_top50", &t);
    for (int i = 0; i < 20; i++) {
        struct sb_routing_queued *all = NULL;
        size_t n = 0;
        int64_t t0 = sb_mono_ns();
        sb_routing_queue_list(r, 0, now, 0, SIZE_MAX, &all, &n);
        add(&t, sb_mono_ns() - t0);
        free(all);
    }
    report("queue_all", &t);
    sb_routing_stats(r, now, &st);
    printf("after: %zu waiting, %zu assigned, %zu skill classes (sink %lld)\n", st.waiting,
           st.assigned, st.classes, (long long)sink);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
    return 0;
}

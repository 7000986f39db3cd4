/* SPDX-License-Identifier: MIT */
/*
 * Randomised consistency test of src/routing against a brute-force reference: the same random
 * sequence of operations (conversations queued, updated, released, transferred, handed back;
 * agents added, changing presence, capacity and skills; weights changed) is applied to the
 * router and to a model that decides by scanning every agent and every conversation. After
 * each step the changes reported, every conversation's holder, every agent's load, the queue
 * order and the "what would happen next" queries must agree exactly. The reference shares no
 * code with the router: it recomputes the documented formula and rules from scratch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/routing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXA 40
#define MAXC 400
#define NTAGS 11 /* lang:en lang:zh lang:fr intent:billing intent:tech intent:sales product:tv
                    product:sofa team:1 team:2 team:3 */
static const char *const langs[] = {NULL, "en", "zh", "fr"};
static const char *const intents[] = {NULL, "billing", "tech", "sales"};
static const char *const products[] = {NULL, "tv", "sofa"};
static const char *const tag_names[NTAGS] = {"lang:en", "lang:zh", "lang:fr", "intent:billing",
                                             "intent:tech", "intent:sales", "product:tv",
                                             "product:sofa", "team:1", "team:2", "team:3"};

struct ref_agent {
    int alive, presence, cap, load;
    int64_t last;
    unsigned skills; /* bits over tag_names */
};
struct ref_conv {
    int state; /* 0 gone, 1 waiting, 2 assigned */
    int agent;
    int64_t enq;
    int vip, complaint, lang, intent, product, team;
    double ltv, neg;
    int64_t prev;
};
struct ref {
    struct sb_routing_config cfg;
    struct ref_agent a[MAXA + 1]; /* by id */
    struct ref_conv c[MAXC + 1];
    sb_id ch_conv[4096], ch_agent[4096];
    size_t n_ch;
};

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static unsigned required(const struct ref_conv *c)
{
    unsigned m = 0;
    if (c->lang)
        m |= 1u << (c->lang - 1);
    if (c->intent)
        m |= 1u << (3 + c->intent - 1);
    if (c->product)
        m |= 1u << (6 + c->product - 1);
    if (c->team)
        m |= 1u << (8 + c->team - 1);
    return m;
}

static int64_t ref_key(const struct ref *R, const struct ref_conv *c)
{
    const struct sb_routing_config *w = &R->cfg;
    double ltv = fmin(c->ltv, w->ltv_cap);
    double fixed = (c->vip ? w->w_vip : 0) +
                   (ltv > 0 ? w->w_ltv * log1p(ltv) / log1p(w->ltv_cap) : 0) +
                   (c->complaint ? w->w_complaint : 0) + w->w_negative * c->neg +
                   (c->prev > 0 && c->enq - c->prev <= w->repeat_window_ms ? w->w_repeat : 0);
    return c->enq - llround(fixed * 60000.0 / w->w_wait);
}

static int conv_before(const struct ref *R, int x, int y)
{
    int64_t kx = ref_key(R, &R->c[x]), ky = ref_key(R, &R->c[y]);
    if (kx != ky)
        return kx < ky;
    if (R->c[x].enq != R->c[y].enq)
        return R->c[x].enq < R->c[y].enq;
    return x < y;
}

static int agent_before(const struct ref *R, int x, int y)
{
    const struct ref_agent *a = &R->a[x], *b = &R->a[y];
    if ((int64_t)a->load * b->cap != (int64_t)b->load * a->cap)
        return (int64_t)a->load * b->cap < (int64_t)b->load * a->cap;
    if (a->last != b->last)
        return a->last < b->last;
    return x < y;
}

static void record(struct ref *R, int c, int a)
{
    R->ch_conv[R->n_ch] = c;
    R->ch_agent[R->n_ch] = a;
    R->n_ch++;
}

static int ref_best_agent(const struct ref *R, int c, int exclude)
{
    int best = 0;
    unsigned req = required(&R->c[c]);
    for (int i = 1; i <= MAXA; i++) {
        const struct ref_agent *a = &R->a[i];
        if (!a->alive || i == exclude || a->presence != SB_ROUTING_ONLINE || a->load >= a->cap ||
            (req & ~a->skills))
            continue;
        if (!best || agent_before(R, i, best))
            best = i;
    }
    return best;
}

static void ref_assign(struct ref *R, int c, int a, int64_t now)
{
    R->c[c].state = 2;
    R->c[c].agent = a;
    R->a[a].load++;
    R->a[a].last = now;
}

static void ref_unassign(struct ref *R, int c)
{
    R->a[R->c[c].agent].load--;
    R->c[c].agent = 0;
    R->c[c].state = 1;
}

/* offer; records an assignment, or a "waits" when record_none */
static void ref_offer(struct ref *R, int c, int exclude, int64_t now, int record_none)
{
    int a = ref_best_agent(R, c, exclude);
    if (a)
        ref_assign(R, c, a, now);
    if (a || record_none)
        record(R, c, a);
}

static int ref_next(const struct ref *R, int a, int avoid)
{
    const struct ref_agent *g = &R->a[a];
    if (g->presence != SB_ROUTING_ONLINE || g->load >= g->cap)
        return 0;
    int best = 0;
    for (int c = 1; c <= MAXC; c++)
        if (R->c[c].state == 1 && c != avoid && !(required(&R->c[c]) & ~g->skills) &&
            (!best || conv_before(R, c, best)))
            best = c;
    return best;
}

static void ref_pull(struct ref *R, int a, int avoid, int64_t now)
{
    int c;
    while ((c = ref_next(R, a, avoid))) {
        ref_assign(R, c, a, now);
        record(R, c, a);
    }
}

static void ref_presence(struct ref *R, int a, int p, int64_t now)
{
    int old = R->a[a].presence;
    R->a[a].presence = p;
    if (p == SB_ROUTING_ONLINE && old != SB_ROUTING_ONLINE)
        R->a[a].last = now;
    if (p == old)
        return;
    if ((p == SB_ROUTING_OFFLINE && R->cfg.on_offline == SB_ROUTING_REQUEUE) ||
        (p == SB_ROUTING_AWAY && R->cfg.on_away == SB_ROUTING_REQUEUE)) {
        int held[MAXC], n = 0;
        for (int c = 1; c <= MAXC; c++)
            if (R->c[c].state == 2 && R->c[c].agent == a)
                held[n++] = c;
        for (int i = 0; i < n; i++)
            ref_unassign(R, held[i]);
        /* best first (insertion sort by the queue order) */
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && conv_before(R, held[j], held[j - 1]); j--) {
                int t = held[j];
                held[j] = held[j - 1];
                held[j - 1] = t;
            }
        for (int i = 0; i < n; i++)
            ref_offer(R, held[i], a, now, 1);
    }
}

/* ---- driving both ---- */

static struct sb_routing_conv_spec spec_of(const struct ref_conv *c, sb_id id)
{
    return (struct sb_routing_conv_spec){
        .id = id, .language = langs[c->lang], .intent_group = intents[c->intent],
        .product_line = products[c->product], .team = c->team, .vip = c->vip, .ltv = c->ltv,
        .complaint = c->complaint, .negative_trend = c->neg, .prev_contact_ms = c->prev,
        .enqueue_ms = c->enq};
}

static void random_signals(struct ref_conv *c, int64_t now)
{
    static const double ltvs[] = {0, 50, 500, 20000, 3.5};
    static const double negs[] = {0, 0.25, 0.5, 1, 1.0 / 3};
    c->vip = rnd(6) == 0;
    c->complaint = rnd(5) == 0;
    c->ltv = ltvs[rnd(5)];
    c->neg = negs[rnd(5)];
    int64_t day = 24 * 3600 * 1000LL;
    c->prev = rnd(3) == 0 ? c->enq - day : rnd(4) == 0 ? c->enq - 10 * day : 0;
    c->lang = (int)rnd(4);
    c->intent = rnd(3) ? 0 : (int)rnd(4);
    c->product = rnd(4) ? 0 : (int)rnd(3);
    c->team = rnd(3) ? 0 : (int)rnd(4);
    (void)now;
}

static int generalists; /* 1: agents have most skills, so many are eligible at once */

static void random_agent(struct ref_agent *a)
{
    a->skills = 0;
    for (int t = 0; t < NTAGS; t++)
        if (rnd(100) < (generalists ? 88 : t < 3 ? 60 : 45))
            a->skills |= 1u << t;
    a->cap = (int)rnd(5);
    a->presence = (int)rnd(3);
}

static void upsert(struct sb_routing *r, struct ref *R, int id, int64_t now,
                   struct sb_routing_changes *ch)
{
    struct ref_agent want = R->a[id];
    random_agent(&want);
    const char *skills[NTAGS];
    sb_id teams[3];
    size_t ns = 0, nt = 0;
    for (int t = 0; t < NTAGS; t++)
        if (want.skills & (1u << t)) {
            if (t >= 8)
                teams[nt++] = t - 7;
            else
                skills[ns++] = tag_names[t];
        }
    struct sb_routing_agent_spec s = {.id = id, .presence = want.presence, .capacity = want.cap,
                                      .skills = skills, .n_skills = ns, .teams = teams,
                                      .n_teams = nt};
    struct sb_error err = {0};
    assert_int_equal(sb_routing_agent_upsert(r, &s, now, ch, &err), 0);
    struct ref_agent *a = &R->a[id];
    if (!a->alive) {
        memset(a, 0, sizeof(*a));
        a->alive = 1;
        a->presence = SB_ROUTING_OFFLINE;
        a->last = now;
    }
    a->skills = want.skills;
    a->cap = want.cap;
    ref_presence(R, id, want.presence, now);
    ref_pull(R, id, 0, now);
}

/* What the runs exercised: changes, assignments, and offers decided by each tie-break. */
static long st_changes, st_assigned, st_tie[4];

static void compare(struct sb_routing *r, struct ref *R, const struct sb_routing_changes *ch,
                    int64_t now, int step)
{
    for (size_t i = 0; i < ch->n; i++) {
        st_changes++;
        st_assigned += ch->v[i].agent != 0;
        if (ch->v[i].why.reason == SB_ROUTING_R_LEAST_LOADED)
            st_tie[ch->v[i].why.tiebreak]++;
    }

    if (ch->n != R->n_ch)
        fprintf(stderr, "step %d: %zu changes, reference %zu\n", step, ch->n, R->n_ch);
    assert_int_equal(ch->n, R->n_ch);
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->v[i].conversation != R->ch_conv[i] || ch->v[i].agent != R->ch_agent[i])
            fprintf(stderr, "step %d change %zu: (%lld, %lld) vs reference (%lld, %lld)\n", step,
                    i, (long long)ch->v[i].conversation, (long long)ch->v[i].agent,
                    (long long)R->ch_conv[i], (long long)R->ch_agent[i]);
        assert_int_equal(ch->v[i].conversation, R->ch_conv[i]);
        assert_int_equal(ch->v[i].agent, R->ch_agent[i]);
    }
    size_t waiting = 0;
    for (int c = 1; c <= MAXC; c++) {
        struct sb_routing_conv_info info;
        int rc = sb_routing_conv_get(r, c, now, &info);
        if (!R->c[c].state) {
            assert_int_equal(rc, SB_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(info.agent, R->c[c].state == 2 ? R->c[c].agent : 0);
        waiting += R->c[c].state == 1;
    }
    for (int a = 1; a <= MAXA; a++) {
        struct sb_routing_agent_info info;
        int rc = sb_routing_agent_get(r, a, &info);
        if (!R->a[a].alive) {
            assert_int_equal(rc, SB_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(info.load, R->a[a].load);
        assert_int_equal((int)info.presence, R->a[a].presence);
        /* what this agent would take next */
        sb_id next = -1;
        assert_int_equal(sb_routing_next_for_agent(r, a, now, &next, NULL), 0);
        assert_int_equal(next, ref_next(R, a, 0));
    }
    /* the whole queue in order */
    struct sb_routing_queued *q = NULL;
    size_t n = 0;
    assert_int_equal(sb_routing_queue_list(r, 0, now, 0, MAXC, &q, &n), 0);
    assert_int_equal(n, waiting);
    for (size_t i = 0; i + 1 < n; i++)
        assert_true(conv_before(R, (int)q[i].id, (int)q[i + 1].id));
    /* small pages (the merge over class heaps) agree with the full listing */
    for (size_t off = 0; off < n && off < 40; off += 3) {
        struct sb_routing_queued *pg = NULL;
        size_t m = 0;
        assert_int_equal(sb_routing_queue_list(r, 0, now, off, 3, &pg, &m), 0);
        assert_int_equal(m, n - off < 3 ? n - off : 3);
        for (size_t i = 0; i < m; i++)
            assert_int_equal(pg[i].id, q[off + i].id);
        free(pg);
    }
    /* an agent's own view: the waiting conversations it has every skill for, in order */
    int who = 1 + (int)rnd(MAXA);
    if (R->a[who].alive) {
        struct sb_routing_queued *pg = NULL;
        size_t m = 0;
        assert_int_equal(sb_routing_queue_list(r, who, now, 0, 2, &pg, &m), 0);
        size_t k = 0;
        for (size_t i = 0; i < n && k < m; i++)
            if (!(required(&R->c[q[i].id]) & ~R->a[who].skills))
                assert_int_equal(pg[k++].id, q[i].id);
        assert_int_equal(k, m);
        free(pg);
    }
    /* the best agent for a few waiting conversations */
    for (size_t i = 0; i < n && i < 5; i++) {
        sb_id a = -1;
        assert_int_equal(sb_routing_best_agent(r, q[i].id, now, &a, NULL), 0);
        assert_int_equal(a, ref_best_agent(R, (int)q[i].id, 0));
    }
    free(q);
}

static void run(uint64_t seed, int steps)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    struct ref *R = calloc(1, sizeof(*R));
    sb_routing_config_default(&R->cfg);
    if (seed % 3 == 1)
        R->cfg.on_offline = SB_ROUTING_KEEP;
    if (seed % 3 == 2)
        R->cfg.on_away = SB_ROUTING_REQUEUE;
    struct sb_routing *r = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_routing_new(&R->cfg, &r, &err), 0);
    int64_t now = 1700000000000LL;
    struct sb_routing_changes ch = {0};
    /* from a few conversations per agent (agents often free: the agent choice matters) to
     * an overloaded centre (long queues: the queue order matters) */
    int live_max = seed % 4 == 0 ? MAXC : 20 + (int)(seed % 7) * 15;
    int slow_clock = seed % 5 == 3 || seed % 5 == 4;
    generalists = seed % 2 == 1;
    for (int step = 0; step < steps; step++) {
        /* several steps share a time: ties in idle time and waiting time; in some runs time
         * hardly moves, so that ties go down to the ids */
        now += slow_clock ? (rnd(10) == 0) * 15000 : rnd(4) * 15000;
        ch.n = 0;
        R->n_ch = 0;
        uint32_t op = rnd(100);
        int c = (int)rnd(MAXC) + 1, a = (int)rnd(MAXA) + 1;
        /* most operations are about a conversation that is routed */
        for (int k = 0; k < MAXC && rnd(8) && !R->c[c].state; k++)
            c = c % MAXC + 1;
        int alive = 0;
        for (int k = 1; k <= MAXC; k++)
            alive += R->c[k].state != 0;
        if (op < 30) { /* queue a conversation */
            if (alive >= live_max)
                continue;
            for (int k = 0; k < MAXC && R->c[c].state; k++)
                c = c % MAXC + 1;
            if (R->c[c].state)
                continue;
            struct ref_conv *x = &R->c[c];
            memset(x, 0, sizeof(*x));
            x->enq = now - (int64_t)rnd(3) * 60000;
            random_signals(x, now);
            struct sb_routing_conv_spec s = spec_of(x, c);
            assert_int_equal(sb_routing_enqueue(r, &s, now, &ch, &err), 0);
            x->state = 1;
            ref_offer(R, c, 0, now, 1);
        } else if (op < 48) { /* release */
            int rc = sb_routing_release(r, c, now, &ch);
            if (!R->c[c].state) {
                assert_int_equal(rc, SB_ENOTFOUND);
                continue;
            }
            assert_int_equal(rc, 0);
            int holder = R->c[c].state == 2 ? R->c[c].agent : 0;
            if (holder)
                R->a[holder].load--;
            R->c[c].state = 0;
            if (holder)
                ref_pull(R, holder, 0, now);
        } else if (op < 58) { /* add or change an agent */
            upsert(r, R, a, now, &ch);
        } else if (op < 70) { /* presence */
            int p = (int)rnd(3);
            int rc = sb_routing_agent_set_presence(r, a, p, now, &ch);
            if (!R->a[a].alive) {
                assert_int_equal(rc, SB_ENOTFOUND);
                continue;
            }
            ref_presence(R, a, p, now);
            ref_pull(R, a, 0, now);
        } else if (op < 76) { /* capacity */
            int cap = (int)rnd(5);
            int rc = sb_routing_agent_set_capacity(r, a, cap, now, &ch);
            if (!R->a[a].alive) {
                assert_int_equal(rc, SB_ENOTFOUND);
                continue;
            }
            R->a[a].cap = cap;
            ref_pull(R, a, 0, now);
        } else if (op < 82) { /* new signals */
            if (!R->c[c].state)
                continue;
            struct ref_conv *x = &R->c[c];
            random_signals(x, now);
            struct sb_routing_conv_spec s = spec_of(x, c);
            s.enqueue_ms = 0; /* ignored: the waiting time is kept */
            assert_int_equal(sb_routing_conv_update(r, &s, now, &ch, &err), 0);
            if (x->state == 1)
                ref_offer(R, c, 0, now, 0);
        } else if (op < 87) { /* transfer to an agent */
            int force = (int)rnd(2);
            int rc = sb_routing_transfer_to_agent(r, c, a, force, now, &ch, &err);
            struct ref_conv *x = &R->c[c];
            struct ref_agent *b = &R->a[a];
            if (!x->state || !b->alive) {
                assert_int_equal(rc, SB_ENOTFOUND);
                continue;
            }
            if (x->state == 2 && x->agent == a) {
                assert_int_equal(rc, 0);
                continue;
            }
            if (b->presence == SB_ROUTING_OFFLINE) {
                assert_int_equal(rc, SB_ESTATE);
                continue;
            }
            if (b->load >= b->cap && !force) {
                assert_int_equal(rc, SB_EBUSY);
                continue;
            }
            assert_int_equal(rc, 0);
            int from = x->state == 2 ? x->agent : 0;
            if (from)
                ref_unassign(R, c);
            ref_assign(R, c, a, now);
            record(R, c, a);
            if (from)
                ref_pull(R, from, 0, now);
        } else if (op < 93) { /* transfer to a team, or hand back */
            int to_team = rnd(2);
            int team = (int)rnd(4);
            struct ref_conv *x = &R->c[c];
            int rc = to_team ? sb_routing_transfer_to_team(r, c, team, now, &ch, &err)
                             : sb_routing_requeue(r, c, now, &ch);
            if (!x->state) {
                assert_int_equal(rc, SB_ENOTFOUND);
                continue;
            }
            if (!to_team && x->state != 2) {
                assert_int_equal(rc, SB_ESTATE);
                continue;
            }
            assert_int_equal(rc, 0);
            if (to_team)
                x->team = team;
            int from = x->state == 2 ? x->agent : 0;
            if (from)
                ref_unassign(R, c);
            ref_offer(R, c, from, now, 1);
            if (from)
                ref_pull(R, from, c, now);
        } else if (op < 96) { /* new weights */
            static const double ws[] = {0, 1, 2.5, 10, 30};
            R->cfg.w_wait = rnd(2) ? 1 : 0.5 + rnd(4);
            R->cfg.w_vip = ws[rnd(5)];
            R->cfg.w_ltv = ws[rnd(5)];
            R->cfg.w_complaint = ws[rnd(5)];
            R->cfg.w_negative = ws[rnd(5)];
            R->cfg.w_repeat = ws[rnd(5)];
            assert_int_equal(sb_routing_set_config(r, &R->cfg, &err), 0);
        } else { /* remove an agent */
            int rc = sb_routing_agent_remove(r, a, now, &ch);
            if (!R->a[a].alive) {
                assert_int_equal(rc, SB_ENOTFOUND);
                continue;
            }
            assert_int_equal(rc, 0);
            struct sb_routing_config keep = R->cfg;
            R->cfg.on_offline = SB_ROUTING_REQUEUE; /* removal always re-queues */
            R->a[a].presence = SB_ROUTING_ONLINE;   /* so that the change to offline counts */
            ref_presence(R, a, SB_ROUTING_OFFLINE, now);
            R->cfg = keep;
            R->a[a].alive = 0;
        }
        compare(r, R, &ch, now, step);
    }
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
    free(R);
}

static void test_against_reference(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 24; seed++)
        run(seed, 2500);
    fprintf(stderr, "changes %ld, assignments %ld, offers decided by: only %ld, load %ld, "
                    "idle %ld, id %ld\n",
            st_changes, st_assigned, st_tie[0], st_tie[1], st_tie[2], st_tie[3]);
    /* the runs must reach the rules they check (a test that cannot fail is not a test) */
    assert_true(st_assigned > 5000);
    assert_true(st_tie[SB_ROUTING_TB_LOAD] > 100 && st_tie[SB_ROUTING_TB_IDLE] > 100);
    assert_true(st_tie[SB_ROUTING_TB_ID] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

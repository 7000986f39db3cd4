/* SPDX-License-Identifier: MIT */
/*
 * The router: agents, conversations and the two decisions everything else is built from.
 *  - offer(conversation): the online agent with free capacity and every required tag that has
 *    the lowest load/capacity, then has been idle longest, then has the lowest id — a scan of
 *    the agents (500 agents: a few microseconds).
 *  - pull(agent): while the agent is online with free capacity, the best waiting conversation
 *    it has the skills for — the best of the heap tops of the classes whose required tags it
 *    holds.
 * Every mutating call ends in one of these, so that (outside the documented hand-back step) no
 * waiting conversation has an online agent with free capacity and the skills for it, and a new
 * conversation given to a free agent never overtakes an older one that agent could have taken.
 */
#include "routing_internal.h"

#include "sb/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lifecycle ----------------------------------------------------------------------- */

int sb_routing_new(const struct sb_routing_config *cfg, struct sb_routing **out,
                   struct sb_error *err)
{
    struct sb_routing_config c;
    if (cfg)
        c = *cfg;
    else
        sb_routing_config_default(&c);
    int rc = sb_routing_config_check(&c, err);
    if (rc)
        return rc;
    struct sb_routing *r = sb_calloc(1, sizeof(*r));
    r->cfg = c;
    r->tag_names = sb_calloc(SB_ROUTING_TAGS_MAX, sizeof(*r->tag_names));
    sb__routing_idmap_init(&r->agent_by_id);
    sb__routing_idmap_init(&r->conv_by_id);
    *out = r;
    return 0;
}

void sb_routing_free(struct sb_routing *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->conv_by_id.cap; i++)
        if (r->conv_by_id.keys[i])
            free(r->conv_by_id.vals[i]);
    for (size_t i = 0; i < r->n_agents; i++)
        free(r->agents[i]);
    free(r->agents);
    sb__routing_idmap_cleanup(&r->agent_by_id);
    sb__routing_idmap_cleanup(&r->conv_by_id);
    sb__routing_classes_free(r);
    free(r->tag_names);
    free(r);
}

const struct sb_routing_config *sb_routing_config(const struct sb_routing *r)
{
    return &r->cfg;
}

static struct rconv **all_convs(const struct sb_routing *r, size_t *n)
{
    struct rconv **v = sb_malloc((r->conv_by_id.n ? r->conv_by_id.n : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < r->conv_by_id.cap; i++)
        if (r->conv_by_id.keys[i])
            v[k++] = r->conv_by_id.vals[i];
    *n = k;
    return v;
}

int sb_routing_set_config(struct sb_routing *r, const struct sb_routing_config *cfg,
                          struct sb_error *err)
{
    int rc = sb_routing_config_check(cfg, err);
    if (rc)
        return rc;
    r->cfg = *cfg;
    /* new weights: every key changes; take the waiting ones out and put them back */
    size_t n;
    struct rconv **v = all_convs(r, &n);
    for (size_t i = 0; i < n; i++) {
        struct rclass *c = v[i]->cls;
        if (c)
            sb__routing_heap_remove(r, v[i]);
        v[i]->key = sb__routing_key(&r->cfg, v[i]);
        if (c)
            sb__routing_heap_push(r, c, v[i]);
    }
    free(v);
    return 0;
}

const char *sb_routing_presence_name(enum sb_routing_presence p)
{
    switch (p) {
    case SB_ROUTING_OFFLINE: return "offline";
    case SB_ROUTING_AWAY: return "away";
    case SB_ROUTING_ONLINE: return "online";
    }
    return "unknown";
}

int sb_routing_presence_parse(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "offline"))
        return SB_ROUTING_OFFLINE;
    if (!strcmp(name, "away"))
        return SB_ROUTING_AWAY;
    if (!strcmp(name, "online"))
        return SB_ROUTING_ONLINE;
    return -1;
}

void sb_routing_changes_cleanup(struct sb_routing_changes *c)
{
    if (!c)
        return;
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static void emit(struct sb_routing_changes *out, const struct sb_routing_explain *x)
{
    if (!out)
        return;
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 8;
        out->v = sb_realloc(out->v, out->cap * sizeof(*out->v));
    }
    struct sb_routing_change *c = &out->v[out->n++];
    c->conversation = x->conversation;
    c->agent = x->agent;
    c->why = *x;
}

/* ---- the two decisions --------------------------------------------------------------- */

/* Every tag `c` requires: its own and its team's. */
static struct tagset conv_required(const struct rconv *c)
{
    struct tagset t = c->base;
    if (c->team_tag >= 0)
        tagset_add(&t, (unsigned)c->team_tag);
    return t;
}

/* The tag number of team `team` (interned), -1 for team 0, or an error code. */
static int team_tag(struct sb_routing *r, sb_id team, int *out, struct sb_error *err)
{
    *out = -1;
    if (team <= 0)
        return 0;
    char tag[SB_ROUTING_TAG_MAX];
    int n = snprintf(tag, sizeof(tag), "team:%lld", (long long)team);
    int t = sb__routing_tag(r, tag, (size_t)n, err);
    if (t < 0)
        return t;
    *out = t;
    return 0;
}

/* How agent a beats b (both eligible): by load ratio, idle time or id; SB_ROUTING_TB_ONLY (0)
 * when it does not. */
static enum sb_routing_tiebreak agent_better(const struct ragent *a, const struct ragent *b)
{
    /* load/capacity compared exactly: la/ca < lb/cb  <=>  la*cb < lb*ca (capacities > 0) */
    int64_t x = (int64_t)a->load * b->capacity, y = (int64_t)b->load * a->capacity;
    if (x != y)
        return x < y ? SB_ROUTING_TB_LOAD : SB_ROUTING_TB_ONLY;
    if (a->last_assigned_ms != b->last_assigned_ms)
        return a->last_assigned_ms < b->last_assigned_ms ? SB_ROUTING_TB_IDLE
                                                         : SB_ROUTING_TB_ONLY;
    return a->id < b->id ? SB_ROUTING_TB_ID : SB_ROUTING_TB_ONLY;
}

static void explain_conv(const struct sb_routing *r, const struct rconv *c, int64_t now_ms,
                         struct sb_routing_explain *x)
{
    memset(x, 0, sizeof(*x));
    x->conversation = c->id;
    sb__routing_priority(&r->cfg, c, now_ms, &x->priority);
    struct tagset req = conv_required(c);
    memcpy(x->required, req.w, sizeof(x->required));
}

static void explain_agent(struct sb_routing_explain *x, const struct ragent *a, int64_t now_ms)
{
    x->agent = a->id;
    x->agent_load = a->load;
    x->agent_capacity = a->capacity;
    x->agent_idle_ms = now_ms > a->last_assigned_ms ? now_ms - a->last_assigned_ms : 0;
}

/* The best agent for waiting conversation `c`, never `exclude`; fills the counts of `x`. */
static struct ragent *offer_pick(const struct sb_routing *r, const struct rconv *c,
                                 const struct ragent *exclude, int64_t now_ms,
                                 struct sb_routing_explain *x)
{
    explain_conv(r, c, now_ms, x);
    struct tagset req = conv_required(c), online_union = {{0}};
    struct ragent *best = NULL, *second = NULL;
    x->n_agents = (uint32_t)r->n_agents;
    for (size_t i = 0; i < r->n_agents; i++) {
        struct ragent *a = r->agents[i];
        if (a == exclude && a->presence == SB_ROUTING_ONLINE)
            continue; /* the holder letting go: not considered, not counted */
        if (a->presence == SB_ROUTING_OFFLINE) {
            x->n_offline++;
            continue;
        }
        if (a->presence == SB_ROUTING_AWAY) {
            x->n_away++;
            continue;
        }
        for (int w = 0; w < TAG_WORDS; w++)
            online_union.w[w] |= a->skills.w[w];
        if (a->load >= a->capacity) {
            x->n_full++;
            continue;
        }
        if (!tagset_subset(&req, &a->skills)) {
            x->n_missing_skills++;
            continue;
        }
        x->n_eligible++;
        if (!best || agent_better(a, best) != SB_ROUTING_TB_ONLY) {
            second = best;
            best = a;
        } else if (!second || agent_better(a, second) != SB_ROUTING_TB_ONLY) {
            second = a;
        }
    }
    if (best) {
        explain_agent(x, best, now_ms);
        x->reason = SB_ROUTING_R_LEAST_LOADED;
        /* what set the winner apart from the runner-up */
        x->tiebreak = second ? agent_better(best, second) : SB_ROUTING_TB_ONLY;
    } else {
        x->reason = SB_ROUTING_R_NO_AGENT;
        for (int w = 0; w < TAG_WORDS; w++)
            x->missing[w] = req.w[w] & ~online_union.w[w];
    }
    return best;
}

/* The best waiting conversation agent `a` can take, never `avoid`. */
static struct rconv *pull_pick(const struct sb_routing *r, const struct ragent *a,
                               const struct rconv *avoid, uint32_t *n_eligible)
{
    struct rconv *best = NULL;
    size_t count = 0;
    for (size_t i = 0; i < r->n_live; i++) {
        const struct rclass *c = r->live[i];
        if (!tagset_subset(&c->req, &a->skills))
            continue;
        count += c->n;
        struct rconv *top = c->heap[0];
        if (top == avoid) {
            count--;
            top = NULL;
            if (c->n > 1)
                top = c->heap[1];
            if (c->n > 2 && rconv_before(c->heap[2], c->heap[1]))
                top = c->heap[2];
        }
        if (top && (!best || rconv_before(top, best)))
            best = top;
    }
    if (n_eligible)
        *n_eligible = (uint32_t)count;
    return best;
}

static int agent_free(const struct ragent *a)
{
    return a->presence == SB_ROUTING_ONLINE && a->load < a->capacity;
}

/* ---- state changes ------------------------------------------------------------------- */

static void link_agent(struct ragent *a, struct rconv *c)
{
    c->agent = a;
    c->aprev = NULL;
    c->anext = a->head;
    if (a->head)
        a->head->aprev = c;
    a->head = c;
    a->load++;
}

static void unlink_agent(struct sb_routing *r, struct rconv *c)
{
    struct ragent *a = c->agent;
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        a->head = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    c->agent = NULL;
    c->aprev = c->anext = NULL;
    a->load--;
    r->n_assigned--;
}

/* Waiting → assigned to `a`. */
static void assign(struct sb_routing *r, struct rconv *c, struct ragent *a, int64_t now_ms)
{
    if (c->cls)
        sb__routing_heap_remove(r, c);
    link_agent(a, c);
    r->n_assigned++;
    a->last_assigned_ms = now_ms;
}

/* Puts `c` (not assigned, not waiting) into its class's heap. */
static int make_waiting(struct sb_routing *r, struct rconv *c, struct sb_error *err)
{
    struct tagset req = conv_required(c);
    struct rclass *cls;
    int rc = sb__routing_class_get(r, &req, &cls, err);
    if (rc)
        return rc;
    sb__routing_heap_push(r, cls, c);
    return 0;
}

/* Offers waiting `c` to the best agent (not `exclude`); emits the outcome when it is an
 * assignment, or when `emit_none`. */
static void offer(struct sb_routing *r, struct rconv *c, struct ragent *exclude, sb_id from,
                  int64_t now_ms, int emit_none, struct sb_routing_changes *out)
{
    struct sb_routing_explain x;
    struct ragent *a = offer_pick(r, c, exclude, now_ms, &x);
    x.from_agent = from;
    if (a)
        assign(r, c, a, now_ms);
    if (a || emit_none)
        emit(out, &x);
}

/* The agent takes waiting conversations while it is online with free capacity. */
static void pull(struct sb_routing *r, struct ragent *a, const struct rconv *avoid,
                 int64_t now_ms, struct sb_routing_changes *out)
{
    while (agent_free(a)) {
        uint32_t eligible = 0;
        struct rconv *c = pull_pick(r, a, avoid, &eligible);
        if (!c)
            break;
        struct sb_routing_explain x;
        explain_conv(r, c, now_ms, &x);
        explain_agent(&x, a, now_ms);
        x.reason = SB_ROUTING_R_NEXT_IN_QUEUE;
        x.waiting_eligible = eligible;
        assign(r, c, a, now_ms);
        emit(out, &x);
    }
}

static int conv_cmp(const void *pa, const void *pb)
{
    const struct rconv *a = *(const struct rconv *const *)pa, *b = *(const struct rconv *const *)pb;
    return rconv_before(a, b) ? -1 : rconv_before(b, a) ? 1 : 0;
}

/* Every conversation of `a` back to the queue, offered to others best first. */
static void requeue_all(struct sb_routing *r, struct ragent *a, int64_t now_ms,
                        struct sb_routing_changes *out)
{
    if (!a->load)
        return;
    size_t n = 0;
    struct rconv **v = sb_malloc((size_t)a->load * sizeof(*v));
    while (a->head) {
        struct rconv *c = a->head;
        unlink_agent(r, c);
        v[n++] = c;
    }
    qsort(v, n, sizeof(*v), conv_cmp);
    for (size_t i = 0; i < n; i++) {
        /* the tag and class exist already (it waited before), so this cannot fail, but a
         * router restored from storage may meet a new class here: then it stays assigned */
        if (make_waiting(r, v[i], NULL) != 0) {
            link_agent(a, v[i]);
            r->n_assigned++;
            continue;
        }
        struct sb_routing_explain x;
        struct ragent *b = offer_pick(r, v[i], a, now_ms, &x);
        x.from_agent = a->id;
        if (b)
            assign(r, v[i], b, now_ms);
        else
            x.reason = SB_ROUTING_R_REQUEUED;
        emit(out, &x);
    }
    free(v);
}

static void presence_change(struct sb_routing *r, struct ragent *a, enum sb_routing_presence p,
                            int64_t now_ms, struct sb_routing_changes *out)
{
    enum sb_routing_presence old = a->presence;
    a->presence = p;
    if (p == SB_ROUTING_ONLINE && old != SB_ROUTING_ONLINE)
        a->last_assigned_ms = now_ms; /* idle counts from coming online */
    if (p == old)
        return;
    if ((p == SB_ROUTING_OFFLINE && r->cfg.on_offline == SB_ROUTING_REQUEUE) ||
        (p == SB_ROUTING_AWAY && r->cfg.on_away == SB_ROUTING_REQUEUE))
        requeue_all(r, a, now_ms, out);
}

/* ---- agents -------------------------------------------------------------------------- */

static int agent_skills(struct sb_routing *r, const struct sb_routing_agent_spec *s,
                        struct tagset *out, struct sb_error *err)
{
    memset(out, 0, sizeof(*out));
    if (s->n_skills > SB_ROUTING_SKILLS_MAX || s->n_teams > SB_ROUTING_SKILLS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "more than %d skills or teams for agent %lld",
                            SB_ROUTING_SKILLS_MAX, (long long)s->id);
    for (size_t i = 0; i < s->n_skills; i++) {
        const char *t = s->skills[i] ? s->skills[i] : "";
        int k = sb__routing_tag(r, t, strlen(t), err);
        if (k < 0)
            return k;
        tagset_add(out, (unsigned)k);
    }
    for (size_t i = 0; i < s->n_teams; i++) {
        if (s->teams[i] <= 0)
            return sb_error_set(err, SB_EINVAL, "team ids are positive");
        char tag[SB_ROUTING_TAG_MAX];
        int n = snprintf(tag, sizeof(tag), "team:%lld", (long long)s->teams[i]);
        int k = sb__routing_tag(r, tag, (size_t)n, err);
        if (k < 0)
            return k;
        tagset_add(out, (unsigned)k);
    }
    return 0;
}

int sb_routing_agent_upsert(struct sb_routing *r, const struct sb_routing_agent_spec *s,
                            int64_t now_ms, struct sb_routing_changes *out, struct sb_error *err)
{
    if (s->id <= 0)
        return sb_error_set(err, SB_EINVAL, "agent id must be positive");
    if (s->capacity < 0 || s->capacity > SB_ROUTING_CAPACITY_MAX)
        return sb_error_set(err, SB_EINVAL, "capacity must be in [0, %d]",
                            SB_ROUTING_CAPACITY_MAX);
    if (s->presence != SB_ROUTING_OFFLINE && s->presence != SB_ROUTING_AWAY &&
        s->presence != SB_ROUTING_ONLINE)
        return sb_error_set(err, SB_EINVAL, "unknown presence");
    struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, s->id);
    if (!a && r->n_agents >= SB_ROUTING_AGENTS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "more than %d agents", SB_ROUTING_AGENTS_MAX);
    struct tagset skills;
    int rc = agent_skills(r, s, &skills, err);
    if (rc)
        return rc; /* tags interned so far stay: harmless, they are only names */
    if (!a) {
        a = sb_calloc(1, sizeof(*a));
        a->id = s->id;
        a->presence = SB_ROUTING_OFFLINE;
        a->last_assigned_ms = now_ms;
        if (r->n_agents == r->cap_agents) {
            r->cap_agents = r->cap_agents ? r->cap_agents * 2 : 16;
            r->agents = sb_realloc(r->agents, r->cap_agents * sizeof(*r->agents));
        }
        a->index = r->n_agents;
        r->agents[r->n_agents++] = a;
        sb__routing_idmap_put(&r->agent_by_id, a->id, a);
    }
    a->skills = skills;
    a->capacity = s->capacity;
    presence_change(r, a, s->presence, now_ms, out);
    pull(r, a, NULL, now_ms, out);
    return 0;
}

int sb_routing_agent_remove(struct sb_routing *r, sb_id agent, int64_t now_ms,
                            struct sb_routing_changes *out)
{
    struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!a)
        return SB_ENOTFOUND;
    a->presence = SB_ROUTING_OFFLINE;
    requeue_all(r, a, now_ms, out);
    while (a->head) { /* only when re-queuing failed (class limit): they become unassigned */
        struct rconv *c = a->head;
        unlink_agent(r, c);
        sb__routing_idmap_del(&r->conv_by_id, c->id);
        free(c);
    }
    struct ragent *moved = r->agents[--r->n_agents];
    r->agents[a->index] = moved;
    moved->index = a->index;
    sb__routing_idmap_del(&r->agent_by_id, agent);
    free(a);
    return 0;
}

int sb_routing_agent_set_presence(struct sb_routing *r, sb_id agent,
                                  enum sb_routing_presence p, int64_t now_ms,
                                  struct sb_routing_changes *out)
{
    struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!a)
        return SB_ENOTFOUND;
    if (p != SB_ROUTING_OFFLINE && p != SB_ROUTING_AWAY && p != SB_ROUTING_ONLINE)
        return SB_EINVAL;
    presence_change(r, a, p, now_ms, out);
    pull(r, a, NULL, now_ms, out);
    return 0;
}

int sb_routing_agent_set_capacity(struct sb_routing *r, sb_id agent, int capacity,
                                  int64_t now_ms, struct sb_routing_changes *out)
{
    struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!a)
        return SB_ENOTFOUND;
    if (capacity < 0 || capacity > SB_ROUTING_CAPACITY_MAX)
        return SB_EINVAL;
    a->capacity = capacity;
    pull(r, a, NULL, now_ms, out);
    return 0;
}

int sb_routing_agent_get(const struct sb_routing *r, sb_id agent,
                         struct sb_routing_agent_info *out)
{
    const struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!a)
        return SB_ENOTFOUND;
    out->id = a->id;
    out->presence = a->presence;
    out->capacity = a->capacity;
    out->load = a->load;
    out->last_assigned_ms = a->last_assigned_ms;
    return 0;
}

size_t sb_routing_agent_conversations(const struct sb_routing *r, sb_id agent, sb_id *ids,
                                      size_t max)
{
    const struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!a)
        return 0;
    size_t n = 0;
    for (const struct rconv *c = a->head; c; c = c->anext, n++)
        if (n < max)
            ids[n] = c->id;
    return n;
}

/* ---- conversations ------------------------------------------------------------------- */

static int add_tag(struct sb_routing *r, struct tagset *s, const char *prefix, const char *v,
                   struct sb_error *err)
{
    if (!v || !*v)
        return 0;
    char tag[SB_ROUTING_TAG_MAX];
    size_t lp = strlen(prefix), lv = strlen(v);
    if (lp + lv >= sizeof(tag))
        return sb_error_set(err, SB_ETOOBIG, "skill tag %s%.32s... too long", prefix, v);
    memcpy(tag, prefix, lp);
    memcpy(tag + lp, v, lv);
    int t = sb__routing_tag(r, tag, lp + lv, err);
    if (t < 0)
        return t;
    tagset_add(s, (unsigned)t);
    return 0;
}

/* Validates `s` and computes its tag set (without the team). */
static int conv_base(struct sb_routing *r, const struct sb_routing_conv_spec *s,
                     struct tagset *base, int *tteam, struct sb_error *err)
{
    if (s->id <= 0)
        return sb_error_set(err, SB_EINVAL, "conversation id must be positive");
    if (s->team < 0)
        return sb_error_set(err, SB_EINVAL, "team must be 0 or a team id");
    if (!(isfinite(s->ltv) && s->ltv >= 0))
        return sb_error_set(err, SB_EINVAL, "ltv must be a number >= 0");
    if (!(isfinite(s->negative_trend) && s->negative_trend >= 0 && s->negative_trend <= 1))
        return sb_error_set(err, SB_EINVAL, "negative_trend must be in [0, 1]");
    if (s->n_extra_skills > SB_ROUTING_SKILLS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "more than %d extra skills", SB_ROUTING_SKILLS_MAX);
    memset(base, 0, sizeof(*base));
    int rc;
    if ((rc = add_tag(r, base, "lang:", s->language, err)) ||
        (rc = add_tag(r, base, "intent:", s->intent_group, err)) ||
        (rc = add_tag(r, base, "product:", s->product_line, err)))
        return rc;
    for (size_t i = 0; i < s->n_extra_skills; i++) {
        const char *t = s->extra_skills[i] ? s->extra_skills[i] : "";
        int k = sb__routing_tag(r, t, strlen(t), err);
        if (k < 0)
            return k;
        tagset_add(base, (unsigned)k);
    }
    return team_tag(r, s->team, tteam, err);
}

static void conv_set_inputs(struct rconv *c, const struct sb_routing_conv_spec *s, int tteam)
{
    c->team_tag = tteam;
    c->vip = s->vip != 0;
    c->complaint = s->complaint != 0;
    c->ltv = s->ltv;
    c->negative_trend = s->negative_trend;
    c->prev_contact_ms = s->prev_contact_ms;
    c->team = s->team;
}

static int conv_new(struct sb_routing *r, const struct sb_routing_conv_spec *s, int64_t now_ms,
                    struct rconv **out, struct sb_error *err)
{
    if (s->id > 0 && sb__routing_idmap_get(&r->conv_by_id, s->id))
        return sb_error_set(err, SB_EEXIST, "conversation %lld is already routed",
                            (long long)s->id);
    if (r->conv_by_id.n >= SB_ROUTING_CONVS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "more than %d routed conversations",
                            SB_ROUTING_CONVS_MAX);
    struct tagset base;
    int tteam;
    int rc = conv_base(r, s, &base, &tteam, err);
    if (rc)
        return rc;
    struct rconv *c = sb_calloc(1, sizeof(*c));
    c->id = s->id;
    c->enqueue_ms = s->enqueue_ms ? s->enqueue_ms : now_ms;
    c->base = base;
    conv_set_inputs(c, s, tteam);
    c->key = sb__routing_key(&r->cfg, c);
    *out = c;
    return 0;
}

int sb_routing_enqueue(struct sb_routing *r, const struct sb_routing_conv_spec *s, int64_t now_ms,
                       struct sb_routing_changes *out, struct sb_error *err)
{
    struct rconv *c;
    int rc = conv_new(r, s, now_ms, &c, err);
    if (rc)
        return rc;
    if ((rc = make_waiting(r, c, err))) {
        free(c);
        return rc;
    }
    sb__routing_idmap_put(&r->conv_by_id, c->id, c);
    offer(r, c, NULL, 0, now_ms, 1, out);
    return 0;
}

int sb_routing_restore_assigned(struct sb_routing *r, const struct sb_routing_conv_spec *s,
                                sb_id agent, struct sb_error *err)
{
    struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!a)
        return sb_error_set(err, SB_ENOTFOUND, "agent %lld is not known to routing",
                            (long long)agent);
    struct rconv *c;
    int rc = conv_new(r, s, 0, &c, err);
    if (rc)
        return rc;
    if (!s->enqueue_ms) {
        free(c);
        return sb_error_set(err, SB_EINVAL, "a restored conversation needs its enqueue_ms");
    }
    sb__routing_idmap_put(&r->conv_by_id, c->id, c);
    link_agent(a, c);
    r->n_assigned++;
    return 0;
}

int sb_routing_dispatch(struct sb_routing *r, int64_t now_ms, struct sb_routing_changes *out)
{
    size_t n = 0;
    struct rconv **v = sb_malloc((r->n_waiting ? r->n_waiting : 1) * sizeof(*v));
    for (size_t i = 0; i < r->n_live; i++)
        for (size_t j = 0; j < r->live[i]->n; j++)
            v[n++] = r->live[i]->heap[j];
    qsort(v, n, sizeof(*v), conv_cmp);
    for (size_t i = 0; i < n; i++)
        offer(r, v[i], NULL, 0, now_ms, 0, out);
    free(v);
    return 0;
}

int sb_routing_conv_update(struct sb_routing *r, const struct sb_routing_conv_spec *s,
                           int64_t now_ms, struct sb_routing_changes *out, struct sb_error *err)
{
    struct rconv *c = sb__routing_idmap_get(&r->conv_by_id, s->id);
    if (!c)
        return sb_error_set(err, SB_ENOTFOUND, "conversation %lld is not routed",
                            (long long)s->id);
    struct tagset base;
    int tteam;
    int rc = conv_base(r, s, &base, &tteam, err);
    if (rc)
        return rc;
    struct rconv old = *c;
    int waiting = c->cls != NULL;
    if (waiting)
        sb__routing_heap_remove(r, c);
    c->base = base;
    conv_set_inputs(c, s, tteam);
    c->key = sb__routing_key(&r->cfg, c);
    if (!waiting)
        return 0;
    if ((rc = make_waiting(r, c, err))) {
        /* back as it was: its old class is still there (classes are only dropped at the
         * limit, and it was in use) */
        c->base = old.base;
        c->team = old.team;
        c->team_tag = old.team_tag;
        c->vip = old.vip;
        c->complaint = old.complaint;
        c->ltv = old.ltv;
        c->negative_trend = old.negative_trend;
        c->prev_contact_ms = old.prev_contact_ms;
        c->key = old.key;
        sb__routing_heap_push(r, old.cls, c);
        return rc;
    }
    offer(r, c, NULL, 0, now_ms, 0, out);
    return 0;
}

int sb_routing_release(struct sb_routing *r, sb_id conversation, int64_t now_ms,
                       struct sb_routing_changes *out)
{
    struct rconv *c = sb__routing_idmap_get(&r->conv_by_id, conversation);
    if (!c)
        return SB_ENOTFOUND;
    struct ragent *a = c->agent;
    if (c->cls)
        sb__routing_heap_remove(r, c);
    if (a)
        unlink_agent(r, c);
    sb__routing_idmap_del(&r->conv_by_id, conversation);
    free(c);
    if (a)
        pull(r, a, NULL, now_ms, out);
    return 0;
}

int sb_routing_transfer_to_agent(struct sb_routing *r, sb_id conversation, sb_id agent,
                                 int force, int64_t now_ms, struct sb_routing_changes *out,
                                 struct sb_error *err)
{
    struct rconv *c = sb__routing_idmap_get(&r->conv_by_id, conversation);
    if (!c)
        return sb_error_set(err, SB_ENOTFOUND, "conversation %lld is not routed",
                            (long long)conversation);
    struct ragent *b = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!b)
        return sb_error_set(err, SB_ENOTFOUND, "agent %lld is not known to routing",
                            (long long)agent);
    if (c->agent == b)
        return 0;
    if (b->presence == SB_ROUTING_OFFLINE)
        return sb_error_set(err, SB_ESTATE, "agent %lld is offline", (long long)agent);
    if (b->load >= b->capacity && !force)
        return sb_error_set(err, SB_EBUSY, "agent %lld is at capacity (%d/%d)",
                            (long long)agent, b->load, b->capacity);
    struct sb_routing_explain x;
    explain_conv(r, c, now_ms, &x);
    explain_agent(&x, b, now_ms);
    x.reason = SB_ROUTING_R_TRANSFER;
    x.forced = b->load >= b->capacity;
    struct tagset req = conv_required(c);
    for (int w = 0; w < TAG_WORDS; w++)
        x.missing[w] = req.w[w] & ~b->skills.w[w];
    x.skills_missing = !tagset_subset(&req, &b->skills);
    x.n_agents = (uint32_t)r->n_agents;
    struct ragent *from = c->agent;
    x.from_agent = from ? from->id : 0;
    if (from)
        unlink_agent(r, c);
    assign(r, c, b, now_ms);
    emit(out, &x);
    if (from)
        pull(r, from, NULL, now_ms, out);
    return 0;
}

/* Back to the queue with `team`, offered to anyone but the holder; the holder then pulls. */
static int hand_back(struct sb_routing *r, struct rconv *c, sb_id team, int64_t now_ms,
                     struct sb_routing_changes *out, struct sb_error *err)
{
    struct ragent *from = c->agent;
    sb_id old_team = c->team;
    int old_tag = c->team_tag, tteam;
    int rc = team_tag(r, team, &tteam, err);
    if (rc)
        return rc;
    struct rclass *old_cls = c->cls;
    if (old_cls)
        sb__routing_heap_remove(r, c);
    c->team = team;
    c->team_tag = tteam;
    if ((rc = make_waiting(r, c, err))) {
        c->team = old_team;
        c->team_tag = old_tag;
        if (old_cls)
            sb__routing_heap_push(r, old_cls, c);
        return rc;
    }
    if (from)
        unlink_agent(r, c);
    struct sb_routing_explain x;
    struct ragent *a = offer_pick(r, c, from, now_ms, &x);
    x.from_agent = from ? from->id : 0;
    if (a)
        assign(r, c, a, now_ms);
    else if (from)
        x.reason = SB_ROUTING_R_REQUEUED;
    emit(out, &x);
    if (from)
        pull(r, from, c, now_ms, out);
    return 0;
}

int sb_routing_transfer_to_team(struct sb_routing *r, sb_id conversation, sb_id team,
                                int64_t now_ms, struct sb_routing_changes *out,
                                struct sb_error *err)
{
    struct rconv *c = sb__routing_idmap_get(&r->conv_by_id, conversation);
    if (!c)
        return sb_error_set(err, SB_ENOTFOUND, "conversation %lld is not routed",
                            (long long)conversation);
    if (team < 0)
        return sb_error_set(err, SB_EINVAL, "team must be 0 or a team id");
    return hand_back(r, c, team, now_ms, out, err);
}

int sb_routing_requeue(struct sb_routing *r, sb_id conversation, int64_t now_ms,
                       struct sb_routing_changes *out)
{
    struct rconv *c = sb__routing_idmap_get(&r->conv_by_id, conversation);
    if (!c)
        return SB_ENOTFOUND;
    if (!c->agent)
        return SB_ESTATE;
    return hand_back(r, c, c->team, now_ms, out, NULL);
}

int sb_routing_conv_get(const struct sb_routing *r, sb_id conversation, int64_t now_ms,
                        struct sb_routing_conv_info *out)
{
    const struct rconv *c = sb__routing_idmap_get(&r->conv_by_id, conversation);
    if (!c)
        return SB_ENOTFOUND;
    out->id = c->id;
    out->agent = c->agent ? c->agent->id : 0;
    out->enqueue_ms = c->enqueue_ms;
    sb__routing_priority(&r->cfg, c, now_ms, &out->priority);
    return 0;
}

/* ---- decisions without changes ------------------------------------------------------- */

int sb_routing_best_agent(const struct sb_routing *r, sb_id conversation, int64_t now_ms,
                          sb_id *agent, struct sb_routing_explain *x)
{
    const struct rconv *c = sb__routing_idmap_get(&r->conv_by_id, conversation);
    if (!c)
        return SB_ENOTFOUND;
    if (!c->cls)
        return SB_ESTATE;
    struct sb_routing_explain tmp;
    const struct ragent *a = offer_pick(r, c, NULL, now_ms, x ? x : &tmp);
    *agent = a ? a->id : 0;
    return 0;
}

int sb_routing_next_for_agent(const struct sb_routing *r, sb_id agent, int64_t now_ms,
                              sb_id *conversation, struct sb_routing_explain *x)
{
    const struct ragent *a = sb__routing_idmap_get(&r->agent_by_id, agent);
    if (!a)
        return SB_ENOTFOUND;
    *conversation = 0;
    uint32_t eligible = 0;
    const struct rconv *c = agent_free(a) ? pull_pick(r, a, NULL, &eligible) : NULL;
    if (x) {
        memset(x, 0, sizeof(*x));
        if (c)
            explain_conv(r, c, now_ms, x);
        explain_agent(x, a, now_ms);
        x->reason = c ? SB_ROUTING_R_NEXT_IN_QUEUE : SB_ROUTING_R_NONE;
        x->waiting_eligible = eligible;
    }
    if (c)
        *conversation = c->id;
    return 0;
}

/* ---- the queue as people see it ------------------------------------------------------ */

/* A candidate of the ordered walk over all class heaps: heap slot `i` of class `c`. */
struct cand {
    const struct rclass *c;
    size_t i;
};

static int cand_before(const struct cand *a, const struct cand *b)
{
    return rconv_before(a->c->heap[a->i], b->c->heap[b->i]);
}

static void cand_push(struct cand *h, size_t *n, struct cand x)
{
    size_t i = (*n)++;
    while (i > 0 && cand_before(&x, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static struct cand cand_pop(struct cand *h, size_t *n)
{
    struct cand top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, b = l;
        if (l >= *n)
            break;
        if (l + 1 < *n && cand_before(&h[l + 1], &h[l]))
            b = l + 1;
        if (!cand_before(&h[b], &x))
            break;
        h[i] = h[b];
        i = b;
    }
    if (*n)
        h[i] = x;
    return top;
}

/* Positions [offset, want) of the queue (agent filter `a`), by sorting every member. */
static int queue_sorted(const struct sb_routing *r, const struct ragent *a, int64_t now_ms,
                        size_t offset, size_t want, struct sb_routing_queued **out, size_t *n)
{
    size_t k = 0;
    struct rconv **v = sb_malloc((r->n_waiting ? r->n_waiting : 1) * sizeof(*v));
    for (size_t i = 0; i < r->n_live; i++) {
        const struct rclass *c = r->live[i];
        if (a && !tagset_subset(&c->req, &a->skills))
            continue;
        for (size_t j = 0; j < c->n; j++)
            v[k++] = c->heap[j];
    }
    qsort(v, k, sizeof(*v), conv_cmp);
    size_t m = want < k ? want : k;
    m = m > offset ? m - offset : 0;
    if (m) {
        *out = sb_malloc(m * sizeof(**out));
        for (size_t i = 0; i < m; i++) {
            const struct rconv *c = v[offset + i];
            (*out)[i].id = c->id;
            (*out)[i].enqueue_ms = c->enqueue_ms;
            sb__routing_priority(&r->cfg, c, now_ms, &(*out)[i].priority);
        }
    }
    *n = m;
    free(v);
    return 0;
}

/*
 * The first offset+limit waiting conversations in queue order without sorting the queue: a
 * heap of candidates starts with the top of every class; taking the best candidate adds its two
 * children in its class's heap. O((classes + offset + limit) log) instead of O(n log n).
 */
int sb_routing_queue_list(const struct sb_routing *r, sb_id agent, int64_t now_ms, size_t offset,
                          size_t limit, struct sb_routing_queued **out, size_t *n)
{
    const struct ragent *a = NULL;
    *out = NULL;
    *n = 0;
    if (agent > 0 && !(a = sb__routing_idmap_get(&r->agent_by_id, agent)))
        return SB_ENOTFOUND;
    size_t want = offset + limit < offset ? SIZE_MAX : offset + limit; /* saturating */
    if (want > r->n_waiting)
        want = r->n_waiting;
    if (want <= offset || limit == 0)
        return 0;
    if (want > r->n_waiting / 8) /* a large part of the queue: sorting it all is cheaper */
        return queue_sorted(r, a, now_ms, offset, want, out, n);
    size_t nh = 0;
    struct cand *h = sb_malloc((r->n_live + 2 * want + 1) * sizeof(*h));
    for (size_t i = 0; i < r->n_live; i++)
        if (!a || tagset_subset(&r->live[i]->req, &a->skills))
            cand_push(h, &nh, (struct cand){r->live[i], 0});
    struct sb_routing_queued *v = sb_malloc((want - offset) * sizeof(*v));
    size_t taken = 0, m = 0;
    while (nh && taken < want) {
        struct cand x = cand_pop(h, &nh);
        const struct rconv *c = x.c->heap[x.i];
        if (taken++ >= offset) {
            v[m].id = c->id;
            v[m].enqueue_ms = c->enqueue_ms;
            sb__routing_priority(&r->cfg, c, now_ms, &v[m].priority);
            m++;
        }
        for (size_t k = 2 * x.i + 1; k <= 2 * x.i + 2; k++)
            if (k < x.c->n)
                cand_push(h, &nh, (struct cand){x.c, k});
    }
    free(h);
    if (m)
        *out = v;
    else
        free(v);
    *n = m;
    return 0;
}

void sb_routing_stats(const struct sb_routing *r, int64_t now_ms, struct sb_routing_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->waiting = r->n_waiting;
    out->assigned = r->n_assigned;
    out->agents = r->n_agents;
    out->classes = r->n_classes;
    for (size_t i = 0; i < r->n_agents; i++)
        out->agents_online += r->agents[i]->presence == SB_ROUTING_ONLINE;
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < r->n_live; i++) /* the oldest is not the heap top: scan */
        for (size_t j = 0; j < r->live[i]->n; j++)
            if (r->live[i]->heap[j]->enqueue_ms < oldest)
                oldest = r->live[i]->heap[j]->enqueue_ms;
    if (oldest != INT64_MAX && now_ms > oldest)
        out->longest_wait_ms = now_ms - oldest;
}

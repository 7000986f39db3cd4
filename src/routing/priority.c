/* SPDX-License-Identifier: MIT */
/*
 * Per-tenant routing settings (defaults, bounds, JSON in and out) and the priority formula.
 * A conversation's priority at time t is fixed + w_wait * minutes waited, where `fixed` adds
 * the value and risk terms. Every waiting conversation gains priority at the same rate, so the
 * queue order is the order of key = enqueue_ms - fixed * 60000 / w_wait (the fixed part turned
 * into milliseconds of waiting, rounded to the nearest one): computed once per change of a
 * fixed input, never re-sorted as time passes.
 */
#include "routing_internal.h"

#include "sb/json.h"
#include "sb/mem.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS 60000.0
#define CONFIG_JSON_MAX (16 * 1024)

void sb_routing_config_default(struct sb_routing_config *c)
{
    memset(c, 0, sizeof(*c));
    c->w_wait = 1;
    c->w_vip = 10;
    c->w_ltv = 5;
    c->ltv_cap = 10000;
    c->w_complaint = 8;
    c->w_negative = 6;
    c->w_repeat = 4;
    c->repeat_window_ms = 7LL * 24 * 3600 * 1000;
    c->on_offline = SB_ROUTING_REQUEUE;
    c->on_away = SB_ROUTING_KEEP;
    c->esc_asks_human = 1;
    c->esc_complaint = 1;
    c->esc_negative_streak = 3;
    c->esc_abstentions = 2;
    c->esc_vip = 0;
    c->esc_intent_min_conf = 0.6;
}

static int weight_ok(double w)
{
    return isfinite(w) && w >= 0 && w <= SB_ROUTING_WEIGHT_MAX;
}

int sb_routing_config_check(const struct sb_routing_config *c, struct sb_error *err)
{
    if (!(isfinite(c->w_wait) && c->w_wait >= 0.001 && c->w_wait <= SB_ROUTING_WEIGHT_MAX))
        return sb_error_set(err, SB_EINVAL, "w_wait must be in [0.001, %g]",
                            SB_ROUTING_WEIGHT_MAX);
    const struct {
        const char *name;
        double v;
    } ws[] = {{"w_vip", c->w_vip}, {"w_ltv", c->w_ltv}, {"w_complaint", c->w_complaint},
              {"w_negative", c->w_negative}, {"w_repeat", c->w_repeat}};
    for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++)
        if (!weight_ok(ws[i].v))
            return sb_error_set(err, SB_EINVAL, "%s must be in [0, %g]", ws[i].name,
                                SB_ROUTING_WEIGHT_MAX);
    if (!(isfinite(c->ltv_cap) && c->ltv_cap > 0 && c->ltv_cap <= 1e12))
        return sb_error_set(err, SB_EINVAL, "ltv_cap must be in (0, 1e12]");
    if (c->repeat_window_ms < 0 || c->repeat_window_ms > 366LL * 24 * 3600 * 1000)
        return sb_error_set(err, SB_EINVAL, "repeat_window_ms must be in [0, 1 year]");
    if ((c->on_offline != SB_ROUTING_KEEP && c->on_offline != SB_ROUTING_REQUEUE))
        return sb_error_set(err, SB_EINVAL, "on_offline must be keep or requeue");
    if ((c->on_away != SB_ROUTING_KEEP && c->on_away != SB_ROUTING_REQUEUE))
        return sb_error_set(err, SB_EINVAL, "on_away must be keep or requeue");
    if ((unsigned)c->esc_asks_human > 1 || (unsigned)c->esc_complaint > 1 ||
        (unsigned)c->esc_vip > 1)
        return sb_error_set(err, SB_EINVAL, "esc_asks_human, esc_complaint and esc_vip are 0 or 1");
    if (c->esc_negative_streak < 0 || c->esc_negative_streak > SB_ROUTING_SUMMARY_SENTIMENTS)
        return sb_error_set(err, SB_EINVAL, "esc_negative_streak must be in [0, %d]",
                            SB_ROUTING_SUMMARY_SENTIMENTS);
    if (c->esc_abstentions < 0 || c->esc_abstentions > 100)
        return sb_error_set(err, SB_EINVAL, "esc_abstentions must be in [0, 100]");
    if (!(isfinite(c->esc_intent_min_conf) && c->esc_intent_min_conf >= 0 &&
          c->esc_intent_min_conf <= 1))
        return sb_error_set(err, SB_EINVAL, "esc_intent_min_conf must be in [0, 1]");
    return 0;
}

enum field_kind { F_DOUBLE, F_INT64, F_INT, F_LEAVE };

static const struct field {
    const char *name;
    enum field_kind kind;
    size_t off;
} fields[] = {
#define D(n) {#n, F_DOUBLE, offsetof(struct sb_routing_config, n)}
#define I(n) {#n, F_INT, offsetof(struct sb_routing_config, n)}
    D(w_wait), D(w_vip), D(w_ltv), D(ltv_cap), D(w_complaint), D(w_negative), D(w_repeat),
    {"repeat_window_ms", F_INT64, offsetof(struct sb_routing_config, repeat_window_ms)},
    {"on_offline", F_LEAVE, offsetof(struct sb_routing_config, on_offline)},
    {"on_away", F_LEAVE, offsetof(struct sb_routing_config, on_away)},
    I(esc_asks_human), I(esc_complaint), I(esc_negative_streak), I(esc_abstentions),
    I(esc_vip), D(esc_intent_min_conf),
#undef D
#undef I
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static int set_field(struct sb_routing_config *c, const struct field *f, json_t *v,
                     struct sb_error *err)
{
    char *p = (char *)c + f->off;
    switch (f->kind) {
    case F_DOUBLE:
        if (!json_is_number(v))
            return sb_error_set(err, SB_EINVAL, "%s must be a number", f->name);
        *(double *)p = json_number_value(v);
        return 0;
    case F_INT64:
    case F_INT: {
        double d = json_is_integer(v) ? (double)json_integer_value(v)
                   : json_is_real(v)  ? json_real_value(v)
                                      : NAN;
        if (json_is_boolean(v) && f->kind == F_INT)
            d = json_is_true(v);
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9e15)
            return sb_error_set(err, SB_EINVAL, "%s must be an integer", f->name);
        if (f->kind == F_INT64)
            *(int64_t *)p = (int64_t)d;
        else if (fabs(d) > 1e9)
            return sb_error_set(err, SB_EINVAL, "%s is out of range", f->name);
        else
            *(int *)p = (int)d;
        return 0;
    }
    case F_LEAVE: {
        const char *s = json_string_value(v);
        if (s && !strcmp(s, "keep"))
            *(enum sb_routing_leave *)p = SB_ROUTING_KEEP;
        else if (s && !strcmp(s, "requeue"))
            *(enum sb_routing_leave *)p = SB_ROUTING_REQUEUE;
        else
            return sb_error_set(err, SB_EINVAL, "%s must be \"keep\" or \"requeue\"", f->name);
        return 0;
    }
    }
    return sb_error_set(err, SB_EINTERNAL, "field kind");
}

int sb_routing_config_from_json(const char *json, size_t len, struct sb_routing_config *c,
                                struct sb_error *err)
{
    json_t *root = NULL;
    int rc = sb_json_parse(json, len, CONFIG_JSON_MAX, 8, &root, err);
    if (rc)
        return rc;
    struct sb_routing_config tmp = *c;
    const char *k;
    json_t *v;
    if (!json_is_object(root)) {
        rc = sb_error_set(err, SB_EINVAL, "routing settings must be a JSON object");
        goto out;
    }
    json_object_foreach(root, k, v)
    {
        const struct field *f = NULL;
        for (size_t i = 0; i < N_FIELDS && !f; i++)
            if (!strcmp(fields[i].name, k))
                f = &fields[i];
        if (!f) {
            rc = sb_error_set(err, SB_EINVAL, "unknown routing setting \"%.64s\"", k);
            goto out;
        }
        if ((rc = set_field(&tmp, f, v, err)))
            goto out;
    }
    if ((rc = sb_routing_config_check(&tmp, err)))
        goto out;
    *c = tmp;
out:
    json_decref(root);
    return rc;
}

char *sb_routing_config_to_json(const struct sb_routing_config *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < N_FIELDS; i++) {
        const char *p = (const char *)c + fields[i].off;
        json_t *v = NULL;
        switch (fields[i].kind) {
        case F_DOUBLE: v = json_real(*(const double *)p); break;
        case F_INT64: v = json_integer(*(const int64_t *)p); break;
        case F_INT: v = json_integer(*(const int *)p); break;
        case F_LEAVE:
            v = json_string(*(const enum sb_routing_leave *)p == SB_ROUTING_KEEP ? "keep"
                                                                                 : "requeue");
            break;
        }
        json_object_set_new(o, fields[i].name, v);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    return s;
}

static void terms(const struct sb_routing_config *cfg, const struct rconv *c,
                  struct sb_routing_priority *p)
{
    memset(p, 0, sizeof(*p));
    p->vip = c->vip ? cfg->w_vip : 0;
    double ltv = c->ltv < cfg->ltv_cap ? c->ltv : cfg->ltv_cap;
    p->ltv = ltv > 0 ? cfg->w_ltv * log1p(ltv) / log1p(cfg->ltv_cap) : 0;
    p->complaint = c->complaint ? cfg->w_complaint : 0;
    p->negative = cfg->w_negative * c->negative_trend;
    int repeat = c->prev_contact_ms > 0 && c->enqueue_ms - c->prev_contact_ms <= cfg->repeat_window_ms;
    p->repeat = repeat ? cfg->w_repeat : 0;
    p->fixed = p->vip + p->ltv + p->complaint + p->negative + p->repeat;
}

void sb__routing_priority(const struct sb_routing_config *cfg, const struct rconv *c,
                          int64_t now_ms, struct sb_routing_priority *p)
{
    terms(cfg, c, p);
    p->waited_ms = now_ms > c->enqueue_ms ? now_ms - c->enqueue_ms : 0;
    p->waiting = cfg->w_wait * (double)p->waited_ms / MINUTE_MS;
    p->total = p->fixed + p->waiting;
}

int64_t sb__routing_key(const struct sb_routing_config *cfg, const struct rconv *c)
{
    struct sb_routing_priority p;
    terms(cfg, c, &p);
    return c->enqueue_ms - llround(p.fixed * MINUTE_MS / cfg->w_wait);
}

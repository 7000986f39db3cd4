/* SPDX-License-Identifier: MIT */
/*
 * The supervisor dashboard's API (supervisor or admin, always the caller's tenant):
 * GET /api/v1/dashboard — the live queue and agents, and the period's volume per channel,
 * outcomes (hand-off, bot-resolved), first response and resolution times, CSAT, sentiment per
 * day and top intents, from sb_store_metrics plus the live router (presence and load); and
 * GET /api/v1/reports/conversations.csv — one RFC 4180 row per conversation of the period,
 * safe to open in a spreadsheet (a cell that could start a formula is prefixed with a quote).
 * docs/metrics.md defines every figure.
 *
 * The period is [from, to) in milliseconds since the epoch; without it, "today" in the
 * caller's time zone (tz_offset minutes east of UTC, default 0).
 */
#include "api.h"

#include "sb/clock.h"
#include "sb/engine_routing.h"
#include "sb/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL
#define CSV_MAX_ROWS 250000
#define CSV_MAX_BYTES (256u * 1024 * 1024)

/* from/to/tz_offset of the request; answers 400 and returns non-zero when one is bad. */
static int period_of(struct sb_http_req *r, int64_t now, int64_t *from, int64_t *to, int *tz)
{
    int bad = 0;
    *tz = (int)sb__api_query_int(r, "tz_offset", 0, -840, 840, &bad);
    if (bad)
        return 1;
    if (*tz % 15) {
        sb__http_error(r, SB_EINVAL, "query parameter 'tz_offset' must be a multiple of 15");
        return 1;
    }
    int64_t off = (int64_t)*tz * 60000;
    int64_t local = now + off;
    int64_t midnight = (local >= 0 ? local / DAY_MS : (local - DAY_MS + 1) / DAY_MS) * DAY_MS;
    *from = sb__api_query_int(r, "from", midnight - off, 0, INT64_MAX / 2, &bad);
    *to = sb__api_query_int(r, "to", *from + DAY_MS, 1, INT64_MAX / 2, &bad);
    if (bad)
        return 1;
    if (*to <= *from) {
        sb__http_error(r, SB_EINVAL, "query parameter 'to' must be later than 'from'");
        return 1;
    }
    return 0;
}

static json_t *rate(int64_t part, int64_t whole)
{
    return whole > 0 ? json_real((double)part / (double)whole) : json_null();
}

static json_t *dist_json(const struct sb_metrics_dist *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer(d->n));
    json_object_set_new(o, "median_ms", d->n ? json_integer(d->median_ms) : json_null());
    json_object_set_new(o, "p90_ms", d->n ? json_integer(d->p90_ms) : json_null());
    json_object_set_new(o, "max_ms", d->n ? json_integer(d->max_ms) : json_null());
    return o;
}

static void iso_date(int64_t ms, int tz, char out[11])
{
    time_t t = (time_t)((ms + (int64_t)tz * 60000) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The live router's view of an agent (presence, load, capacity), NULL when it has none. */
static json_t *live_agent(json_t *live, sb_id id)
{
    size_t i;
    json_t *a;
    json_array_foreach(live, i, a)
    {
        if (json_integer_value(json_object_get(a, "agent_id")) == id)
            return a;
    }
    return NULL;
}

static json_t *agents_json(const struct sb_metrics *m, json_t *live, int64_t *online)
{
    json_t *arr = json_array();
    *online = 0;
    for (size_t i = 0; i < m->n_agents; i++) {
        const struct sb_metrics_agent *a = &m->agents[i];
        json_t *la = live_agent(live, a->agent_id);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(a->agent_id));
        json_object_set_new(o, "name", json_string(a->name));
        json_object_set_new(o, "role", json_string(a->role));
        const char *presence = la ? json_string_value(json_object_get(la, "presence")) : NULL;
        json_object_set_new(o, "presence", json_string(presence ? presence : a->presence));
        json_object_set_new(o, "presence_source", json_string(la ? "router" : "stored"));
        json_t *cap = la ? json_object_get(la, "capacity") : NULL;
        json_object_set_new(o, "capacity", cap ? json_incref(cap)
                                           : a->capacity >= 0 ? json_integer(a->capacity)
                                                              : json_null());
        json_object_set_new(o, "assigned", json_integer(a->assigned));
        json_object_set_new(o, "csat_count", json_integer(a->csat_n));
        json_object_set_new(o, "csat_mean", a->csat_n ? json_real(a->csat_mean) : json_null());
        if (presence && !strcmp(presence, "online"))
            (*online)++;
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The JSON of the sections asked for (the others are left out). */
static json_t *dashboard_json(struct sb_http_req *r, const struct sb_metrics *m, unsigned sec,
                              int64_t from, int64_t to, int tz, int64_t now)
{
    json_t *o = json_object();
    json_object_set_new(o, "period", json_pack("{s:I, s:I, s:i}", "from", (json_int_t)from,
                                               "to", (json_int_t)to, "tz_offset", tz));
    json_object_set_new(o, "generated_at", json_integer(now));

    if (sec & (SB_METRICS_AGENTS | SB_METRICS_QUEUE)) {
        /* live presence and load come from the router when the engine has one */
        json_t *live = NULL;
        struct sb_error err = {0};
        if (r->srv->engine &&
            sb_engine_routing_agents(r->srv->engine, r->who.tenant_id, &live, &err) != 0)
            live = NULL;
        int64_t online = 0;
        json_t *agents = agents_json(m, live, &online);
        json_decref(live);
        if (sec & SB_METRICS_AGENTS)
            json_object_set_new(o, "agents", agents);
        else
            json_decref(agents);
        if (sec & SB_METRICS_QUEUE) {
            json_t *q = json_object();
            json_object_set_new(q, "waiting", json_integer(m->queued));
            json_object_set_new(q, "longest_wait_ms", json_integer(m->longest_wait_ms));
            json_object_set_new(q, "assigned", json_integer(m->assigned));
            json_object_set_new(q, "with_bot", json_integer(m->with_bot));
            json_object_set_new(q, "awaiting_first_response",
                                json_integer(m->awaiting_first_response));
            if (sec & SB_METRICS_AGENTS)
                json_object_set_new(q, "agents_online", json_integer(online));
            json_object_set_new(o, "queue", q);
        }
    }

    if (sec & SB_METRICS_VOLUME) {
        json_t *vol = json_array();
        for (size_t i = 0; i < m->n_channels; i++) {
            const struct sb_metrics_channel *c = &m->channels[i];
            json_array_append_new(
                vol, json_pack("{s:s, s:I, s:I, s:I, s:I}", "channel", c->kind,
                               "conversations", (json_int_t)c->conversations,
                               "customer_messages", (json_int_t)c->customer_messages,
                               "bot_messages", (json_int_t)c->bot_messages, "agent_messages",
                               (json_int_t)c->agent_messages));
        }
        json_object_set_new(o, "volume", vol);
    }

    if (sec & SB_METRICS_OUTCOMES) {
        json_t *c = json_object();
        json_object_set_new(c, "total", json_integer(m->conversations));
        json_object_set_new(c, "handed_off", json_integer(m->handed_off));
        json_object_set_new(c, "hand_off_rate", rate(m->handed_off, m->conversations));
        json_object_set_new(c, "resolved", json_integer(m->resolved));
        json_object_set_new(c, "bot_resolved", json_integer(m->bot_resolved));
        json_object_set_new(c, "bot_resolved_provisional",
                            json_integer(m->bot_resolved_provisional));
        json_object_set_new(c, "bot_resolved_rate", rate(m->bot_resolved, m->conversations));
        json_object_set_new(c, "bot_resolved_rate_with_provisional",
                            rate(m->bot_resolved + m->bot_resolved_provisional,
                                 m->conversations));
        json_object_set_new(c, "reopened", json_integer(m->reopened));
        json_object_set_new(o, "conversations", c);
    }

    if (sec & SB_METRICS_TIMES) {
        json_object_set_new(o, "first_response", dist_json(&m->first_response));
        json_object_set_new(o, "resolution", dist_json(&m->resolution));
        if (!(sec & SB_METRICS_QUEUE))
            json_object_set_new(o, "awaiting_first_response",
                                json_integer(m->awaiting_first_response));
    }

    if (sec & SB_METRICS_CSAT) {
        json_t *hist = json_array();
        for (int i = 0; i < 5; i++)
            json_array_append_new(hist, json_integer(m->csat_hist[i]));
        json_object_set_new(o, "csat",
                            json_pack("{s:I, s:o, s:o}", "count", (json_int_t)m->csat_n, "mean",
                                      m->csat_n ? json_real(m->csat_mean) : json_null(),
                                      "distribution", hist));
    }

    if (sec & SB_METRICS_SENTIMENT) {
        json_t *days = json_array();
        for (size_t i = 0; i < m->n_days; i++) {
            const struct sb_metrics_day *d = &m->days[i];
            char date[11];
            iso_date(d->start_ms, tz, date);
            int64_t scored = d->positive + d->neutral + d->negative;
            json_t *day = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "date", date, "start",
                                    (json_int_t)d->start_ms, "positive", (json_int_t)d->positive,
                                    "neutral", (json_int_t)d->neutral, "negative",
                                    (json_int_t)d->negative, "other", (json_int_t)d->other);
            json_object_set_new(day, "score",
                                scored ? json_real((double)(d->positive - d->negative) /
                                                   (double)scored)
                                       : json_null());
            json_array_append_new(days, day);
        }
        json_object_set_new(o, "sentiment", days);
    }

    if (sec & SB_METRICS_INTENTS) {
        json_t *top = json_array();
        for (size_t i = 0; i < m->n_intents; i++)
            json_array_append_new(top, json_pack("{s:s, s:I}", "intent", m->intents[i].label,
                                                 "messages", (json_int_t)m->intents[i].n));
        json_object_set_new(o, "intents",
                            json_pack("{s:o, s:I, s:I}", "top", top, "messages",
                                      (json_int_t)m->intent_messages, "out_of_scope",
                                      (json_int_t)m->intent_oos));
    }
    return o;
}

static const struct {
    const char *name;
    unsigned bits;
} section_names[] = {
    {"queue", SB_METRICS_QUEUE},       {"agents", SB_METRICS_AGENTS},
    {"volume", SB_METRICS_VOLUME},     {"outcomes", SB_METRICS_OUTCOMES},
    {"times", SB_METRICS_TIMES},       {"csat", SB_METRICS_CSAT},
    {"sentiment", SB_METRICS_SENTIMENT}, {"intents", SB_METRICS_INTENTS},
};

/* ?sections=a,b,... (default all) into SB_METRICS_* bits; 400 and 0 for an unknown name. */
static unsigned sections_of(struct sb_http_req *r)
{
    char v[128];
    if (!sb__http_query(r, "sections", v, sizeof(v)))
        return SB_METRICS_ALL;
    unsigned bits = 0;
    for (char *save = NULL, *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned b = 0;
        for (size_t i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++)
            if (!strcmp(t, section_names[i].name))
                b = section_names[i].bits;
        if (!b) {
            sb__http_error(r, SB_EINVAL,
                           "query parameter 'sections': unknown section '%.40s' (queue, agents, "
                           "volume, outcomes, times, csat, sentiment, intents)",
                           t);
            return 0;
        }
        bits |= b;
    }
    if (!bits)
        sb__http_error(r, SB_EINVAL, "query parameter 'sections' names no section");
    return bits;
}

void sb__api_dashboard(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    int64_t now = sb_now_ms(), from, to;
    int tz, bad = 0;
    if (period_of(r, now, &from, &to, &tz))
        return;
    int64_t top = sb__api_query_int(r, "top", 10, 1, SB_METRICS_TOP_MAX, &bad);
    if (bad)
        return;
    unsigned sections = sections_of(r);
    if (!sections)
        return;
    struct sb_metrics_query q = {.from_ms = from, .to_ms = to, .now_ms = now,
                                 .tz_offset_min = tz, .top_intents = (size_t)top,
                                 .sections = sections};
    struct sb_metrics m = {0};
    struct sb_error err = {0};
    int rc = sb_store_metrics(r->srv->store, r->who.tenant_id, &q, &m, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, dashboard_json(r, &m, sections, from, to, tz, now));
    sb_metrics_cleanup(&m);
}

/* ---- CSV ---------------------------------------------------------------------------------- */

int sb__csv_cell(struct sb_buf *b, const char *s)
{
    /* a spreadsheet would run a cell starting like a formula: make it text */
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                  s[0] == '\r';
    int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    int rc = 0;
    if (quote)
        rc = sb_buf_append(b, "\"", 1);
    if (!rc && formula)
        rc = sb_buf_append(b, "'", 1);
    for (const char *p = s; !rc && *p;) {
        const char *q = strchr(p, '"');
        size_t n = q ? (size_t)(q - p) + 1 : strlen(p);
        rc = sb_buf_append(b, p, n);
        if (!rc && q)
            rc = sb_buf_append(b, "\"", 1); /* a quote is doubled */
        p += n;
    }
    if (!rc && quote)
        rc = sb_buf_append(b, "\"", 1);
    return rc;
}

static void iso_time(int64_t ms, char out[32])
{
    if (ms <= 0) {
        out[0] = '\0';
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static const char *const csv_header[] = {
    "conversation_id", "channel",           "inbox",           "contact_id",
    "contact_name",    "status",            "assignee",        "team_id",
    "intent",          "created_at",        "first_customer_at", "handoff_at",
    "first_response_at", "resolved_at",     "reopened_at",     "first_response_s",
    "resolution_s",    "customer_messages", "bot_messages",    "agent_messages",
    "bot_resolved",    "csat",              "resolve_reason",
};

#define N_COLS (sizeof(csv_header) / sizeof(csv_header[0]))

/* "yes" / "provisional" (inside the 24 h window) / "no", per docs/metrics.md. */
static const char *bot_resolved(const struct sb_conversation *c, int64_t now)
{
    if (strcmp(c->status, SB_CONV_RESOLVED) || !c->resolved_ms || c->handoff_ms ||
        c->agent_messages)
        return "no";
    if (now < c->resolved_ms + SB_METRICS_REOPEN_MS)
        return c->reopened_ms ? "no" : "provisional";
    return !c->reopened_ms || c->reopened_ms >= c->resolved_ms + SB_METRICS_REOPEN_MS ? "yes"
                                                                                        : "no";
}

static int csv_row(struct sb_buf *b, const struct sb_conversation_report *x, int64_t now)
{
    const struct sb_conversation *c = &x->c;
    char num[8][24], t[6][32], fr[24] = "", res[24] = "", csat[8] = "";
    snprintf(num[0], sizeof(num[0]), "%lld", (long long)c->id);
    snprintf(num[1], sizeof(num[1]), "%lld", (long long)c->contact_id);
    snprintf(num[2], sizeof(num[2]), "%lld", (long long)c->team_id);
    snprintf(num[3], sizeof(num[3]), "%d", c->customer_messages);
    snprintf(num[4], sizeof(num[4]), "%d", c->bot_messages);
    snprintf(num[5], sizeof(num[5]), "%d", c->agent_messages);
    iso_time(c->created_ms, t[0]);
    iso_time(c->first_customer_ms, t[1]);
    iso_time(c->handoff_ms, t[2]);
    iso_time(c->first_response_ms, t[3]);
    iso_time(c->resolved_ms, t[4]);
    iso_time(c->reopened_ms, t[5]);
    if (c->first_response_ms && c->handoff_ms) {
        int64_t d = c->first_response_ms - c->handoff_ms;
        snprintf(fr, sizeof(fr), "%.3f", (double)(d > 0 ? d : 0) / 1000.0);
    }
    if (c->resolved_ms) {
        int64_t start = c->first_customer_ms ? c->first_customer_ms : c->created_ms;
        int64_t d = c->resolved_ms - start;
        snprintf(res, sizeof(res), "%.3f", (double)(d > 0 ? d : 0) / 1000.0);
    }
    if (x->csat_rating)
        snprintf(csat, sizeof(csat), "%d", x->csat_rating);
    const char *cells[N_COLS] = {
        num[0], x->inbox_kind, x->inbox_name, num[1], c->contact_name, c->status,
        x->assignee_name, c->team_id ? num[2] : "", c->intent, t[0], t[1], t[2], t[3], t[4],
        t[5], fr, res, num[3], num[4], num[5], bot_resolved(c, now), csat, c->resolve_reason,
    };
    int rc = 0;
    for (size_t i = 0; !rc && i < N_COLS; i++) {
        if (i)
            rc = sb_buf_append(b, ",", 1);
        if (!rc)
            rc = sb__csv_cell(b, cells[i]);
    }
    return rc ? rc : sb_buf_append(b, "\r\n", 2);
}

void sb__api_report_csv(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    int64_t now = sb_now_ms(), from, to;
    int tz;
    if (period_of(r, now, &from, &to, &tz))
        return;
    struct sb_buf b;
    sb_buf_init(&b, CSV_MAX_BYTES);
    int rc = 0;
    for (size_t i = 0; !rc && i < N_COLS; i++) {
        if (i)
            rc = sb_buf_append(&b, ",", 1);
        if (!rc)
            rc = sb__csv_cell(&b, csv_header[i]);
    }
    if (!rc)
        rc = sb_buf_append(&b, "\r\n", 2);
    sb_id after = 0;
    size_t rows = 0;
    struct sb_error err = {0};
    while (!rc) {
        struct sb_conversation_report *xs = NULL;
        size_t n = 0;
        rc = sb_store_conversation_report(r->srv->store, r->who.tenant_id, from, to, after,
                                          SB_STORE_REPORT_MAX, &xs, &n, &err);
        if (rc) {
            sb__api_store_error(r, &err, rc);
            sb_buf_cleanup(&b);
            return;
        }
        for (size_t i = 0; !rc && i < n; i++)
            rc = csv_row(&b, &xs[i], now);
        rows += n;
        if (n)
            after = xs[n - 1].c.id;
        sb_conversation_report_list_free(xs, n);
        if (rows > CSV_MAX_ROWS)
            rc = SB_ETOOBIG;
        if (n < SB_STORE_REPORT_MAX)
            break;
    }
    if (rc) {
        sb_buf_cleanup(&b);
        sb__http_error(r, SB_ETOOBIG,
                       "the period has more than %d conversations: export a shorter period",
                       CSV_MAX_ROWS);
        return;
    }
    char headers[160];
    snprintf(headers, sizeof(headers),
             "content-disposition: attachment; filename=\"conversations-%lld-%lld.csv\"\r\n",
             (long long)from, (long long)to);
    size_t len = 0;
    char *body = sb_buf_steal(&b, &len);
    sb__http_respond(r, 200, "text/csv; charset=utf-8; header=present", body, len,
                     headers); /* takes the body */
}

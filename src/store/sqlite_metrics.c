/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: the supervisor dashboard's figures and the per-conversation report (schema
 * step 4). Everything is read from the conversation facts (columns the write paths keep in
 * the transaction of each message and status change) and from the 15-minute buckets of
 * customer-message labels (message_labels, kept by triggers), through indexes made for these
 * queries — never by reading the messages themselves, so the cost grows with the conversations
 * of the period, not with the messages stored. docs/metrics.md defines every figure; the
 * comments here only say how it is computed.
 *
 * All sections of one call read one snapshot: they run in one read transaction on a borrowed
 * read connection, so the figures agree with each other.
 */
#include "sqlite_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET_MS 900000LL /* message_labels granularity: 15 minutes */
#define DAY_MS 86400000LL

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A message counts in the period when its 15-minute slot starts inside it. */
static int64_t first_bucket(int64_t from_ms)
{
    return floor_div(from_ms + BUCKET_MS - 1, BUCKET_MS);
}

static int64_t end_bucket(int64_t to_ms)
{
    return floor_div(to_ms + BUCKET_MS - 1, BUCKET_MS);
}

/* ---- live ------------------------------------------------------------------------------ */

struct live {
    int64_t queued, oldest, assigned, with_bot, awaiting;
};

static void row_live(sqlite3_stmt *s, void *out)
{
    struct live *l = out;
    l->queued = sqlite3_column_int64(s, 0);
    l->oldest = sqlite3_column_int64(s, 1);
    l->assigned = sqlite3_column_int64(s, 2);
    l->with_bot = sqlite3_column_int64(s, 3);
    l->awaiting = sqlite3_column_int64(s, 4);
}

/* The conversations waiting now and since when: the queue time routing kept, else the
 * hand-off (becoming "queued" sets it). Each figure is a range of the covering index
 * conversations_by_status_facts. */
static int live_figures(struct sq_conn *r, sb_id tenant, int64_t now, struct sb_metrics *m,
                        struct sb_error *err)
{
    struct live l = {0};
    int rc = sb__sq_one(
        r, row_live, &l, "live figures", err,
        "SELECT (SELECT count(*) FROM conversations WHERE tenant_id = ?1 AND status = 'queued'),"
        " (SELECT IFNULL(MIN(CASE WHEN queued_ms > 0 THEN queued_ms ELSE handoff_ms END), 0)"
        "   FROM conversations WHERE tenant_id = ?1 AND status = 'queued'),"
        " (SELECT count(*) FROM conversations WHERE tenant_id = ?1 AND status = 'assigned'),"
        " (SELECT count(*) FROM conversations WHERE tenant_id = ?1 AND status = 'bot'),"
        " (SELECT count(*) FROM conversations WHERE tenant_id = ?1"
        "   AND status IN ('queued', 'assigned') AND first_response_ms = 0)",
        "i", tenant);
    if (rc)
        return rc;
    m->queued = l.queued;
    m->longest_wait_ms = l.queued && l.oldest > 0 && now > l.oldest ? now - l.oldest : 0;
    m->assigned = l.assigned;
    m->with_bot = l.with_bot;
    m->awaiting_first_response = l.awaiting;
    return 0;
}

static void row_agent(sqlite3_stmt *s, void *out)
{
    struct sb_metrics_agent *a = out;
    a->agent_id = sqlite3_column_int64(s, 0);
    sb__sq_col_str(s, 1, a->name, sizeof(a->name));
    sb__sq_col_str(s, 2, a->role, sizeof(a->role));
    sb__sq_col_str(s, 3, a->presence, sizeof(a->presence));
    a->capacity = sqlite3_column_int(s, 4);
    a->assigned = sqlite3_column_int64(s, 5);
}

static int agents(struct sq_conn *r, sb_id tenant, struct sb_metrics *m, struct sb_error *err)
{
    return sb__sq_list(
        r, row_agent, sizeof(*m->agents), NULL, (void **)&m->agents, &m->n_agents, err,
        "SELECT a.id, a.name, a.role, IFNULL(p.presence, 'offline'), IFNULL(p.capacity, -1),"
        " IFNULL(l.n, 0) FROM agents a"
        " LEFT JOIN agent_routing p ON p.agent_id = a.id AND p.tenant_id = a.tenant_id"
        " LEFT JOIN (SELECT assignee_id, count(*) AS n FROM conversations"
        "   INDEXED BY conversations_by_status_facts"
        "   WHERE tenant_id = ?1 AND status = 'assigned' GROUP BY assignee_id) l"
        "   ON l.assignee_id = a.id"
        " WHERE a.tenant_id = ?1 ORDER BY a.id",
        "i", tenant);
}

/* ---- conversations created in the period ----------------------------------------------- */

/* One inbox's share of the period: conversations started (and what became of them), or the
 * messages written (then n, handed_off, resolved hold the customer, bot and agent counts). */
struct inbox_row {
    char kind[32];
    char sender[16]; /* "" for the conversations row, "m" for the messages row */
    int64_t n, handed_off, resolved, bot_final, bot_provisional, reopened;
};

static void row_inbox(sqlite3_stmt *s, void *out)
{
    struct inbox_row *x = out;
    sb__sq_col_str(s, 0, x->kind, sizeof(x->kind));
    sb__sq_col_str(s, 1, x->sender, sizeof(x->sender));
    x->n = sqlite3_column_int64(s, 2);
    x->handed_off = sqlite3_column_int64(s, 3);
    x->resolved = sqlite3_column_int64(s, 4);
    x->bot_final = sqlite3_column_int64(s, 5);
    x->bot_provisional = sqlite3_column_int64(s, 6);
    x->reopened = sqlite3_column_int64(s, 7);
}

static struct sb_metrics_channel *channel_of(struct sb_metrics *m, const char *kind)
{
    for (size_t i = 0; i < m->n_channels; i++)
        if (!strcmp(m->channels[i].kind, kind))
            return &m->channels[i];
    m->channels = sb_realloc(m->channels, (m->n_channels + 1) * sizeof(*m->channels));
    struct sb_metrics_channel *c = &m->channels[m->n_channels++];
    memset(c, 0, sizeof(*c));
    snprintf(c->kind, sizeof(c->kind), "%s", kind);
    return c;
}

static int cmp_channel(const void *a, const void *b)
{
    const struct sb_metrics_channel *x = a, *y = b;
    if (x->conversations != y->conversations)
        return x->conversations > y->conversations ? -1 : 1;
    if (x->customer_messages != y->customer_messages)
        return x->customer_messages > y->customer_messages ? -1 : 1;
    return strcmp(x->kind, y->kind);
}

/*
 * Volume per channel and the outcomes of the conversations started in the period, in one pass:
 * for each inbox of the tenant (the outer loop, in id order, so grouping needs no sort) one
 * range of the covering index conversations_by_inbox_created. Bot-resolved: resolved, never
 * with people, not reopened within the window — final once the window has passed,
 * provisional while it is still open. An agent's message to the customer always sets
 * handoff_ms (sqlite_ingest.c), so "handoff_ms = 0" also says "no agent message". The
 * messages written in the period come from message_volume, one range per inbox and sender.
 */
static int period_conversations(struct sq_conn *r, sb_id tenant, const struct sb_metrics_query *q,
                                unsigned sec, int64_t now, struct sb_metrics *m,
                                struct sb_error *err)
{
    struct inbox_row *xs = NULL;
    size_t n = 0;
    int rc = sb__sq_list(
        r, row_inbox, sizeof(*xs), NULL, (void **)&xs, &n, err,
        "SELECT i.kind, '', count(*), sum(c.handoff_ms > 0),"
        " sum(c.status = 'resolved' AND c.resolved_ms > 0),"
        " sum(c.status = 'resolved' AND c.resolved_ms > 0 AND c.handoff_ms = 0"
        "   AND ?4 >= c.resolved_ms + ?5"
        "   AND (c.reopened_ms = 0 OR c.reopened_ms >= c.resolved_ms + ?5)),"
        " sum(c.status = 'resolved' AND c.resolved_ms > 0 AND c.handoff_ms = 0"
        "   AND ?4 < c.resolved_ms + ?5 AND c.reopened_ms = 0),"
        " sum(c.reopened_ms > 0)"
        " FROM inboxes i CROSS JOIN conversations c INDEXED BY conversations_by_inbox_created"
        "  ON c.tenant_id = i.tenant_id AND c.inbox_id = i.id"
        " WHERE i.tenant_id = ?1 AND c.created_ms >= ?2 AND c.created_ms < ?3"
        " GROUP BY i.name" /* unique per tenant, and the order of the outer loop: no sort */
        " UNION ALL "
        "SELECT i.kind, 'm',"
        " (SELECT IFNULL(sum(n), 0) FROM message_volume WHERE tenant_id = ?1 AND inbox_id = i.id"
        "  AND sender_kind = 'customer' AND bucket >= ?6 AND bucket < ?7),"
        " (SELECT IFNULL(sum(n), 0) FROM message_volume WHERE tenant_id = ?1 AND inbox_id = i.id"
        "  AND sender_kind = 'bot' AND bucket >= ?6 AND bucket < ?7),"
        " (SELECT IFNULL(sum(n), 0) FROM message_volume WHERE tenant_id = ?1 AND inbox_id = i.id"
        "  AND sender_kind = 'agent' AND bucket >= ?6 AND bucket < ?7), 0, 0, 0"
        " FROM inboxes i WHERE i.tenant_id = ?1 AND ?8",
        "iiiiiiid", tenant, q->from_ms, q->to_ms, now, (int64_t)SB_METRICS_REOPEN_MS,
        first_bucket(q->from_ms), end_bucket(q->to_ms), (sec & SB_METRICS_VOLUME) != 0);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const struct inbox_row *x = &xs[i];
        if (!x->sender[0]) {
            m->conversations += x->n;
            m->handed_off += x->handed_off;
            m->resolved += x->resolved;
            m->bot_resolved += x->bot_final;
            m->bot_resolved_provisional += x->bot_provisional;
            m->reopened += x->reopened;
        }
        if (!(sec & SB_METRICS_VOLUME))
            continue;
        if (x->sender[0] && !x->n && !x->handed_off && !x->resolved)
            continue; /* an inbox without messages in the period */
        struct sb_metrics_channel *c = channel_of(m, x->kind);
        if (!x->sender[0]) {
            c->conversations += x->n;
        } else { /* the messages row: customer, bot, agent in the first three columns */
            c->customer_messages += x->n;
            c->bot_messages += x->handed_off;
            c->agent_messages += x->resolved;
        }
    }
    free(xs);
    if (m->n_channels)
        qsort(m->channels, m->n_channels, sizeof(*m->channels), cmp_channel);
    if (!(sec & SB_METRICS_OUTCOMES)) { /* asked for the volume only */
        m->conversations = m->handed_off = m->resolved = m->reopened = 0;
        m->bot_resolved = m->bot_resolved_provisional = 0;
    }
    return 0;
}

/* ---- times of first responses and resolutions in the period ----------------------------- */

static void row_i64(sqlite3_stmt *s, void *out)
{
    int64_t v = sqlite3_column_int64(s, 0);
    *(int64_t *)out = v > 0 ? v : 0; /* clocks of two machines may disagree a little */
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The value at nearest rank ceil(pct/100 * n) of sorted v[0..n). */
static int64_t nearest_rank(const int64_t *v, size_t n, unsigned pct)
{
    size_t rank = (size_t)(((uint64_t)n * pct + 99) / 100);
    return v[rank ? rank - 1 : 0];
}

static void fill_dist(int64_t *v, size_t n, struct sb_metrics_dist *d)
{
    memset(d, 0, sizeof(*d));
    if (!n)
        return;
    qsort(v, n, sizeof(*v), cmp_i64);
    d->n = (int64_t)n;
    d->median_ms = nearest_rank(v, n, 50);
    d->p90_ms = nearest_rank(v, n, 90);
    d->max_ms = v[n - 1];
}

static int dist(struct sq_conn *r, struct sb_metrics_dist *d, struct sb_error *err,
                const char *sql, sb_id tenant, const struct sb_metrics_query *q)
{
    int64_t *v = NULL;
    size_t n = 0;
    int rc = sb__sq_list(r, row_i64, sizeof(*v), NULL, (void **)&v, &n, err, sql, "iii", tenant,
                         q->from_ms, q->to_ms);
    if (!rc)
        fill_dist(v, n, d);
    free(v);
    return rc;
}

static int times(struct sq_conn *r, sb_id tenant, const struct sb_metrics_query *q,
                 struct sb_metrics *m, struct sb_error *err)
{
    /* the literal "> 0" lets SQLite use the partial indexes */
    int rc = dist(r, &m->first_response, err,
                  "SELECT first_response_ms - handoff_ms FROM conversations"
                  " WHERE tenant_id = ?1 AND first_response_ms > 0"
                  " AND first_response_ms >= ?2 AND first_response_ms < ?3",
                  tenant, q);
    if (!rc)
        rc = dist(r, &m->resolution, err,
                  "SELECT resolved_ms - CASE WHEN first_customer_ms > 0 THEN first_customer_ms"
                  " ELSE created_ms END FROM conversations"
                  " WHERE tenant_id = ?1 AND resolved_ms > 0"
                  " AND resolved_ms >= ?2 AND resolved_ms < ?3",
                  tenant, q);
    return rc;
}

/* ---- CSAT (the ratings of the agent workspace, schema step 3) -------------------------- */

struct rating {
    sb_id agent;
    int64_t rating, n;
};

static void row_rating(sqlite3_stmt *s, void *out)
{
    struct rating *x = out;
    x->agent = sqlite3_column_int64(s, 0);
    x->rating = sqlite3_column_int64(s, 1);
    x->n = sqlite3_column_int64(s, 2);
}

static int csat(struct sq_conn *r, sb_id tenant, const struct sb_metrics_query *q,
                struct sb_metrics *m, struct sb_error *err)
{
    struct rating *xs = NULL;
    size_t n = 0;
    int rc = sb__sq_list(r, row_rating, sizeof(*xs), NULL, (void **)&xs, &n, err,
                     "SELECT agent_id, rating, count(*) FROM csat"
                     " WHERE tenant_id = ?1 AND created_ms >= ?2 AND created_ms < ?3"
                     " GROUP BY 1, 2",
                     "iii", tenant, q->from_ms, q->to_ms);
    if (rc)
        return rc;
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (xs[i].rating < 1 || xs[i].rating > 5)
            continue;
        m->csat_hist[xs[i].rating - 1] += xs[i].n;
        m->csat_n += xs[i].n;
        sum += xs[i].rating * xs[i].n;
        for (size_t k = 0; k < m->n_agents; k++) {
            struct sb_metrics_agent *a = &m->agents[k];
            if (a->agent_id != xs[i].agent)
                continue;
            /* running mean over the agent's ratings */
            a->csat_mean = (a->csat_mean * (double)a->csat_n + (double)(xs[i].rating * xs[i].n)) /
                           (double)(a->csat_n + xs[i].n);
            a->csat_n += xs[i].n;
        }
    }
    m->csat_mean = m->csat_n ? (double)sum / (double)m->csat_n : 0;
    free(xs);
    return 0;
}

/* ---- customer-message labels ----------------------------------------------------------- */

struct bucket_label {
    int64_t bucket, n;
    char label[64];
};

static void row_bucket_label(sqlite3_stmt *s, void *out)
{
    struct bucket_label *x = out;
    x->bucket = sqlite3_column_int64(s, 0);
    sb__sq_col_str(s, 1, x->label, sizeof(x->label));
    x->n = sqlite3_column_int64(s, 2);
}

static int sentiment(struct sq_conn *r, sb_id tenant, const struct sb_metrics_query *q,
                     struct sb_metrics *m, struct sb_error *err)
{
    int64_t off = (int64_t)q->tz_offset_min * 60000;
    int64_t day0 = floor_div(q->from_ms + off, DAY_MS);
    int64_t day_last = floor_div(q->to_ms - 1 + off, DAY_MS);
    size_t n_days = (size_t)(day_last - day0 + 1);
    struct bucket_label *xs = NULL;
    size_t n = 0;
    int rc = sb__sq_list(r, row_bucket_label, sizeof(*xs), NULL, (void **)&xs, &n, err,
                         "SELECT bucket, label, n FROM message_labels WHERE tenant_id = ?1"
                         " AND kind = 'sentiment' AND bucket >= ?2 AND bucket < ?3 AND n > 0",
                         "iii", tenant, first_bucket(q->from_ms), end_bucket(q->to_ms));
    if (rc)
        return rc;
    m->days = sb_calloc(n_days, sizeof(*m->days));
    m->n_days = n_days;
    for (size_t i = 0; i < n_days; i++)
        m->days[i].start_ms = (day0 + (int64_t)i) * DAY_MS - off;
    for (size_t i = 0; i < n; i++) {
        int64_t d = floor_div(xs[i].bucket * BUCKET_MS + off, DAY_MS) - day0;
        if (d < 0 || d >= (int64_t)n_days)
            continue;
        struct sb_metrics_day *day = &m->days[d];
        if (!strcmp(xs[i].label, "positive"))
            day->positive += xs[i].n;
        else if (!strcmp(xs[i].label, "neutral"))
            day->neutral += xs[i].n;
        else if (!strcmp(xs[i].label, "negative"))
            day->negative += xs[i].n;
        else
            day->other += xs[i].n;
    }
    free(xs);
    return 0;
}

static void row_label(sqlite3_stmt *s, void *out)
{
    struct sb_metrics_label *x = out;
    sb__sq_col_str(s, 0, x->label, sizeof(x->label));
    x->n = sqlite3_column_int64(s, 1);
}

static int intents(struct sq_conn *r, sb_id tenant, const struct sb_metrics_query *q,
                   struct sb_metrics *m, struct sb_error *err)
{
    struct sb_metrics_label *xs = NULL;
    size_t n = 0;
    int rc = sb__sq_list(r, row_label, sizeof(*xs), NULL, (void **)&xs, &n, err,
                         "SELECT label, sum(n) FROM message_labels WHERE tenant_id = ?1"
                         " AND kind = 'intent' AND bucket >= ?2 AND bucket < ?3"
                         " GROUP BY label HAVING sum(n) > 0 ORDER BY 2 DESC, 1",
                         "iii", tenant, first_bucket(q->from_ms), end_bucket(q->to_ms));
    if (rc)
        return rc;
    size_t top = q->top_intents ? q->top_intents : 10, kept = 0;
    for (size_t i = 0; i < n; i++) {
        m->intent_messages += xs[i].n;
        if (!strcmp(xs[i].label, "oos")) {
            m->intent_oos += xs[i].n;
            continue;
        }
        if (kept < top)
            xs[kept++] = xs[i];
    }
    m->intents = xs;
    m->n_intents = kept;
    if (!kept) {
        free(xs);
        m->intents = NULL;
    }
    return 0;
}

/* ---- the call ----------------------------------------------------------------------------- */

int sb__sq_metrics(struct sb_store *base, sb_id tenant, const struct sb_metrics_query *q,
                   struct sb_metrics *out, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *r;
    int rc = sb__sq_reader(st, &r, err);
    if (rc)
        return rc;
    unsigned sec = q->sections ? q->sections : SB_METRICS_ALL;
    int64_t now = q->now_ms ? q->now_ms : sb_now_ms();
    struct sb_metrics m = {0};
    if ((rc = sb__sq_exec(r, NULL, err, "BEGIN", "")))
        goto done;
    if (sec & (SB_METRICS_QUEUE | SB_METRICS_TIMES))
        rc = live_figures(r, tenant, now, &m, err);
    if (!rc && (sec & (SB_METRICS_AGENTS | SB_METRICS_CSAT)))
        rc = agents(r, tenant, &m, err);
    if (!rc && (sec & (SB_METRICS_VOLUME | SB_METRICS_OUTCOMES)))
        rc = period_conversations(r, tenant, q, sec, now, &m, err);
    if (!rc && (sec & SB_METRICS_TIMES))
        rc = times(r, tenant, q, &m, err);
    if (!rc && (sec & SB_METRICS_CSAT))
        rc = csat(r, tenant, q, &m, err);
    if (!rc && (sec & SB_METRICS_SENTIMENT))
        rc = sentiment(r, tenant, q, &m, err);
    if (!rc && (sec & SB_METRICS_INTENTS))
        rc = intents(r, tenant, q, &m, err);
    sb__sq_exec(r, NULL, NULL, "COMMIT", "");
done:
    sb__sq_reader_done(st, r);
    if (rc)
        sb_metrics_cleanup(&m);
    else
        *out = m;
    return rc;
}

/* ---- the report ------------------------------------------------------------------------- */

static void row_report(sqlite3_stmt *s, void *out)
{
    struct sb_conversation_report *x = out;
    struct sb_conversation *c = &x->c;
    c->id = sqlite3_column_int64(s, 0);
    c->tenant_id = sqlite3_column_int64(s, 1);
    c->inbox_id = sqlite3_column_int64(s, 2);
    c->contact_id = sqlite3_column_int64(s, 3);
    sb__sq_col_str(s, 4, c->status, sizeof(c->status));
    c->priority = sqlite3_column_int(s, 5);
    c->assignee_id = sqlite3_column_int64(s, 6);
    c->team_id = sqlite3_column_int64(s, 7);
    c->created_ms = sqlite3_column_int64(s, 8);
    c->updated_ms = sqlite3_column_int64(s, 9);
    c->last_message_ms = sqlite3_column_int64(s, 10);
    c->first_customer_ms = sqlite3_column_int64(s, 11);
    c->handoff_ms = sqlite3_column_int64(s, 12);
    c->first_response_ms = sqlite3_column_int64(s, 13);
    c->resolved_ms = sqlite3_column_int64(s, 14);
    c->reopened_ms = sqlite3_column_int64(s, 15);
    c->customer_messages = sqlite3_column_int(s, 16);
    c->bot_messages = sqlite3_column_int(s, 17);
    c->agent_messages = sqlite3_column_int(s, 18);
    sb__sq_col_str(s, 19, c->intent, sizeof(c->intent));
    sb__sq_col_str(s, 20, x->inbox_kind, sizeof(x->inbox_kind));
    sb__sq_col_str(s, 21, x->inbox_name, sizeof(x->inbox_name));
    sb__sq_col_str(s, 22, x->assignee_name, sizeof(x->assignee_name));
    x->csat_rating = sqlite3_column_int(s, 23);
    sb__sq_col_str(s, 24, c->contact_name, sizeof(c->contact_name));
    sb__sq_col_str(s, 25, c->resolve_reason, sizeof(c->resolve_reason));
}

#define REPORT_SELECT                                                                         \
    "SELECT c.id, c.tenant_id, c.inbox_id, c.contact_id, c.status, c.priority,"              \
    " IFNULL(c.assignee_id, 0), c.team_id, c.created_ms, c.updated_ms, c.last_message_ms,"    \
    " c.first_customer_ms, c.handoff_ms, c.first_response_ms, c.resolved_ms, c.reopened_ms," \
    " c.customer_messages, c.bot_messages, c.agent_messages, c.intent, i.kind, i.name,"       \
    " IFNULL(a.name, ''), IFNULL(r.rating, 0), k.name, c.resolve_reason"                      \
    " FROM conversations c"                                                                   \
    " JOIN inboxes i ON i.id = c.inbox_id JOIN contacts k ON k.id = c.contact_id"            \
    " LEFT JOIN agents a ON a.id = c.assignee_id"                                             \
    " LEFT JOIN csat r ON r.conversation_id = c.id AND r.tenant_id = c.tenant_id"             \
    " WHERE c.tenant_id = ?1 AND c.created_ms >= ?2 AND c.created_ms < ?3"                    \
    " AND (c.created_ms > ?4 OR (c.created_ms = ?4 AND c.id > ?5))"                          \
    " ORDER BY c.created_ms, c.id LIMIT ?6"

int sb__sq_conversation_report(struct sb_store *base, sb_id tenant, int64_t from_ms,
                               int64_t to_ms, sb_id after_id, size_t limit,
                               struct sb_conversation_report **out, size_t *n,
                               struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *r;
    int rc = sb__sq_reader(st, &r, err);
    if (rc)
        return rc;
    int64_t after_created = INT64_MIN;
    if (after_id &&
        (rc = sb__sq_int(r, &after_created, "conversation", err,
                         "SELECT created_ms FROM conversations WHERE id = ? AND tenant_id = ?",
                         "ii", after_id, tenant)))
        goto done;
    rc = sb__sq_list(r, row_report, sizeof(**out), NULL, (void **)out, n, err, REPORT_SELECT,
                     "iiiiii",
                     tenant, from_ms, to_ms, after_created, after_id, (int64_t)limit);
done:
    sb__sq_reader_done(st, r);
    return rc;
}

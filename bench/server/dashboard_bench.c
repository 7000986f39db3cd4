/* SPDX-License-Identifier: MIT */
/*
 * Dashboard benchmark: fills a store with a realistic month of support traffic through the
 * store's own write paths (ingest, bot/agent replies, annotations, status changes, CSAT) and
 * then times every section of sb_store_metrics and the CSV report's queries over it.
 *
 * The store stamps status changes with the wall clock (sb_now_ms); to spread a month of
 * hand-offs and resolutions over a month, this program defines sb_now_ms itself (the linker
 * then takes it instead of src/core/clock.c's) and returns a simulated time while filling, the
 * real time afterwards. Nothing else of the store is bypassed.
 *
 * Traffic model (fixed seed, so every run builds the same data): conversations start over the
 * 30 days before now, more in the daytime; channel web 45 %, whatsapp 25 %, telegram 12 %,
 * email 10 %, api 8 %; turns of customer message + bot reply, 2..30 messages (mean about 10);
 * 35 % are handed off (more when the customer is negative), then agents answer after a
 * lognormal wait (median ~2 min) and customer and agent alternate; 90 % of handed-off and 40 %
 * of bot-only conversations are resolved; 5 % of resolved ones come back within two days (a
 * new conversation, which reopens the old one); 40 % of resolved hand-offs get a CSAT rating.
 * Customer messages are annotated like the NLU does: language, intent (15 labels, Zipf-like,
 * 8 % out of scope), sentiment (20/55/25 % negative/neutral/positive, more negative when
 * handed off), entities, pii. The last hours keep some conversations waiting or assigned.
 *
 * Usage: dashboard_bench DB_PATH [MESSAGES=1000000] [RUNS=7]
 * An existing DB_PATH with a filled tenant is reused (delete it to refill).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sb/store.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define MIN_MS 60000LL
#define N_AGENTS 40

/* ---- the clock the store reads ---------------------------------------------------------- */

static int64_t sim_ms; /* 0: real time */

int64_t sb_now_ms(void)
{
    if (sim_ms)
        return sim_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sb_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- deterministic randomness ------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double unif(void)
{
    return (double)(next() >> 11) / (double)(1ULL << 53);
}

static int pick(const double *w, int n)
{
    double t = 0, x;
    for (int i = 0; i < n; i++)
        t += w[i];
    x = unif() * t;
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* lognormal with the given median; sigma 1.2 puts p90 at ~4.7x the median */
static int64_t lognormal_ms(double median_ms)
{
    double u1 = unif() + 1e-12, u2 = unif();
    double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
    return (int64_t)(median_ms * exp(1.2 * z));
}

/* ---- the model ------------------------------------------------------------------------------ */

static const char *const channels[] = {"web", "whatsapp", "telegram", "email", "api"};
static const double channel_w[] = {45, 25, 12, 10, 8};
static const char *const intents[] = {
    "order_status", "delivery", "refund", "return", "product_question", "payment_problem",
    "cancel_order", "greeting", "thanks", "complaint", "talk_to_human", "goodbye",
    "change_address", "warranty", "discount"};
static const char *const sentiments[] = {"negative", "neutral", "positive"};

struct fx {
    struct sb_store *st;
    sb_id tenant, inbox[5], agent[N_AGENTS];
    int64_t now;
    long messages, conversations, handoffs, resolutions, ratings;
};

static void die(const char *what, const struct sb_error *err)
{
    fprintf(stderr, "dashboard_bench: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static void annotate(struct fx *f, sb_id message, int negative_bias)
{
    double iw[15];
    for (int i = 0; i < 15; i++)
        iw[i] = 1.0 / (i + 1.5);
    double sw[3] = {20 + negative_bias, 55, 25};
    int oos = unif() < 0.08;
    const char *intent = intents[pick(iw, 15)];
    const char *sent = sentiments[pick(sw, 3)];
    int zh = unif() < 0.2;
    char ann[512];
    snprintf(ann, sizeof(ann),
             "{\"language\":\"%s\",\"intent\":{\"label\":\"%s\",\"confidence\":%.4f,\"oos\":%s%s},"
             "\"sentiment\":{\"label\":\"%s\",\"confidence\":%.4f},\"entities\":%s,\"pii\":[]}",
             zh ? "zh" : "en", oos ? "oos" : intent, 0.4 + 0.6 * unif(), oos ? "true" : "false",
             oos ? ",\"nearest\":\"order_status\"" : "", sent, 0.5 + 0.5 * unif(),
             unif() < 0.3 ? "[{\"type\":\"order_id\",\"start\":12,\"end\":20,\"value\":\"A1234567\"}]"
                          : "[]");
    struct sb_error err = {0};
    if (sb_store_message_annotate(f->st, f->tenant, message, ann, NULL, &err))
        die("annotate", &err);
}

static sb_id customer(struct fx *f, int ch, const char *who, int64_t at, int negative_bias,
                      sb_id *conversation)
{
    static const char *const texts[] = {"Where is my order?", "I want a refund",
                                        "Does this come in blue?", "hello",
                                        "The parcel arrived broken", "Can I change the address?"};
    sim_ms = at;
    struct sb_ingest in = {.tenant_id = f->tenant, .inbox_id = f->inbox[ch],
                           .customer_ext_id = who, .text = texts[next() % 6], .created_ms = at};
    struct sb_ingest_result r = {0};
    struct sb_error err = {0};
    if (sb_store_ingest_batch(f->st, &in, &r, 1, &err) || r.rc)
        die("ingest", &err);
    f->messages++;
    annotate(f, r.message_id, negative_bias);
    if (conversation)
        *conversation = r.conversation_id;
    return r.message_id;
}

static void reply(struct fx *f, sb_id conv, const char *kind, sb_id sender, int64_t at)
{
    sim_ms = at;
    struct sb_message_new m = {.tenant_id = f->tenant, .conversation_id = conv,
                               .direction = SB_DIR_OUT, .sender_kind = kind, .sender_id = sender,
                               .text = "Thanks, let me check that for you.", .created_ms = at};
    struct sb_error err = {0};
    if (sb_store_message_append(f->st, &m, NULL, NULL, &err))
        die("append", &err);
    f->messages++;
}

static void status(struct fx *f, sb_id conv, const char *s, sb_id agent, int64_t at)
{
    sim_ms = at;
    struct sb_conversation_update u = {.status = s};
    if (agent) {
        u.set_assignee = 1;
        u.assignee_id = agent;
    }
    struct sb_error err = {0};
    if (sb_store_conversation_update(f->st, f->tenant, conv, &u, NULL, &err))
        die("update", &err);
}

/* One conversation from its start; returns when it ends (or "now" stops it). */
static void conversation(struct fx *f, long id, int64_t start, long budget)
{
    int ch = pick(channel_w, 5);
    char who[32];
    snprintf(who, sizeof(who), "c%ld", id);
    int negative = unif() < 0.2;
    int bias = negative ? 40 : 0;
    int hand_off = unif() < (negative ? 0.7 : 0.27);
    long n = 2 + (long)(next() % 17); /* 2..18 messages, mean 10 */
    if (n > budget)
        n = budget;
    int64_t t = start;
    sb_id conv = 0;
    long sent = 0;
    int with_people = 0;
    sb_id agent = 0;
    long handoff_at = hand_off ? 2 + (long)(next() % 4) : -1;
    while (sent < n && t < f->now) {
        /* the customer writes */
        customer(f, ch, who, t, bias, &conv);
        sent++;
        if (sent == 1)
            f->conversations++;
        t += 5000 + (int64_t)(next() % 60000);
        if (sent >= n || t >= f->now)
            break;
        if (!with_people && handoff_at >= 0 && sent >= handoff_at) {
            reply(f, conv, SB_SENDER_BOT, 0, t); /* "I will get you a person" */
            sent++;
            status(f, conv, SB_CONV_QUEUED, 0, t);
            f->handoffs++;
            with_people = 1;
            t += lognormal_ms(2 * MIN_MS);
            if (t >= f->now)
                return; /* still waiting */
            agent = f->agent[next() % N_AGENTS];
            status(f, conv, SB_CONV_ASSIGNED, agent, t);
            if (sent >= n)
                break;
        }
        reply(f, conv, with_people ? SB_SENDER_AGENT : SB_SENDER_BOT, agent, t);
        sent++;
        t += with_people ? 30000 + lognormal_ms(3 * MIN_MS) : 20000 + (int64_t)(next() % 120000);
    }
    if (!conv || t >= f->now)
        return;
    /* resolved by an agent, or by the bot flow (a supervisor closing it); else it went quiet */
    if (unif() < (with_people ? 0.9 : 0.4)) {
        t += with_people ? lognormal_ms(10 * MIN_MS) : lognormal_ms(30 * MIN_MS);
        if (t >= f->now)
            return;
        status(f, conv, SB_CONV_RESOLVED, 0, t);
        f->resolutions++;
        if (with_people && unif() < 0.4) {
            sim_ms = t + lognormal_ms(5 * MIN_MS);
            if (sim_ms < f->now) {
                static const double rw[5] = {6, 5, 10, 30, 49};
                struct sb_error err = {0};
                if (sb_store_csat_put(f->st, f->tenant, conv, 1 + pick(rw, 5), NULL, NULL, NULL,
                                      &err))
                    die("csat", &err);
                f->ratings++;
            }
        }
        if (unif() < 0.05) {
            int64_t back = t + lognormal_ms(6 * HOUR_MS);
            if (back < f->now && sent < budget) {
                customer(f, ch, who, back, bias, NULL); /* reopens: a new conversation */
                f->conversations++;
            }
        }
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void fill(struct fx *f, long target)
{
    struct sb_error err = {0};
    if (sb_store_tenant_create(f->st, "bench", "Bench shop", &f->tenant, &err))
        die("tenant", &err);
    for (int i = 0; i < 5; i++)
        if (sb_store_inbox_create(f->st, f->tenant, channels[i], channels[i], NULL, &f->inbox[i],
                                  &err))
            die("inbox", &err);
    for (int i = 0; i < N_AGENTS; i++) {
        char email[64], name[64];
        snprintf(email, sizeof(email), "agent%d@bench.test", i);
        snprintf(name, sizeof(name), "Agent %d", i);
        if (sb_store_agent_create(f->st, f->tenant, email, name, SB_ROLE_AGENT, "x", &f->agent[i],
                                  &err))
            die("agent", &err);
    }
    /* starts spread over 30 days, denser in the daytime; ordered, so ids follow time */
    long n_conv = target / 10;
    int64_t *starts = malloc(sizeof(*starts) * (size_t)n_conv);
    for (long i = 0; i < n_conv; i++) {
        int64_t t;
        do {
            t = f->now - 30 * DAY_MS + (int64_t)(unif() * 30 * DAY_MS);
        } while (unif() > 0.35 + 0.65 * sin(M_PI * (double)((t % DAY_MS) / HOUR_MS) / 24.0));
        starts[i] = t;
    }
    qsort(starts, (size_t)n_conv, sizeof(*starts), cmp_i64);
    double t0 = (double)sb_mono_ns();
    for (long i = 0; i < n_conv && f->messages < target; i++) {
        conversation(f, i, starts[i], target - f->messages);
        if (i % 10000 == 0 && i)
            fprintf(stderr, "  %ld conversations, %ld messages, %.0f s\n", i, f->messages,
                    ((double)sb_mono_ns() - t0) / 1e9);
    }
    /* top up to the target with short bot conversations in the last days */
    for (long i = n_conv; f->messages < target; i++)
        conversation(f, i, f->now - (int64_t)(unif() * 3 * DAY_MS), target - f->messages);
    free(starts);
    sim_ms = 0;
}

/* ---- timing ------------------------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double ms_since(int64_t t0)
{
    return (double)(sb_mono_ns() - t0) / 1e6;
}

/* CPU time of this thread (the store's reads run on the calling thread): on a shared machine
 * the wall time also holds the time spent waiting for a core. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void time_metrics(struct fx *f, const char *label, int64_t from, int64_t to,
                         unsigned sections, const char *name, int runs)
{
    double *v = calloc((size_t)runs, sizeof(double)), *c = calloc((size_t)runs, sizeof(double));
    struct sb_metrics m = {0};
    for (int i = 0; i < runs; i++) {
        struct sb_metrics_query q = {.from_ms = from, .to_ms = to, .sections = sections};
        struct sb_error err = {0};
        int64_t t0 = sb_mono_ns(), c0 = cpu_ns();
        if (sb_store_metrics(f->st, f->tenant, &q, &m, &err))
            die("metrics", &err);
        v[i] = ms_since(t0);
        c[i] = (double)(cpu_ns() - c0) / 1e6;
        if (i + 1 < runs)
            sb_metrics_cleanup(&m);
    }
    qsort(v, (size_t)runs, sizeof(double), cmp_d);
    qsort(c, (size_t)runs, sizeof(double), cmp_d);
    printf("| %-8s | %-10s | %8.1f | %8.1f | %8.1f |", label, name, v[runs / 2], v[runs - 1],
           c[runs / 2]);
    if (sections == SB_METRICS_ALL)
        printf(" %lld conversations, %lld resolved, first response p90 %.0f s, resolution p90"
               " %.0f min, %lld ratings, %zu days, %lld labelled messages |",
               (long long)m.conversations, (long long)m.resolved,
               (double)m.first_response.p90_ms / 1000, (double)m.resolution.p90_ms / 60000,
               (long long)m.csat_n, m.n_days, (long long)m.intent_messages);
    else
        printf(" |");
    printf("\n");
    sb_metrics_cleanup(&m);
    free(v);
    free(c);
}

static void time_report(struct fx *f, const char *label, int64_t from, int64_t to, int runs)
{
    double *v = calloc((size_t)runs, sizeof(double)), *c = calloc((size_t)runs, sizeof(double));
    size_t rows = 0;
    for (int i = 0; i < runs; i++) {
        int64_t t0 = sb_mono_ns(), c0 = cpu_ns();
        sb_id after = 0;
        rows = 0;
        for (;;) {
            struct sb_conversation_report *xs = NULL;
            size_t n = 0;
            struct sb_error err = {0};
            if (sb_store_conversation_report(f->st, f->tenant, from, to, after,
                                             SB_STORE_REPORT_MAX, &xs, &n, &err))
                die("report", &err);
            rows += n;
            if (n)
                after = xs[n - 1].c.id;
            sb_conversation_report_list_free(xs, n);
            if (n < SB_STORE_REPORT_MAX)
                break;
        }
        v[i] = ms_since(t0);
        c[i] = (double)(cpu_ns() - c0) / 1e6;
    }
    qsort(v, (size_t)runs, sizeof(double), cmp_d);
    qsort(c, (size_t)runs, sizeof(double), cmp_d);
    printf("| %-8s | %-10s | %8.1f | %8.1f | %8.1f | %zu rows (store part of the CSV export) |\n",
           label, "report", v[runs / 2], v[runs - 1], c[runs / 2], rows);
    free(v);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dashboard_bench DB_PATH [MESSAGES=1000000] [RUNS=7]\n");
        return 2;
    }
    long target = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
    int runs = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 7;
    if (target < 100 || runs < 1)
        return 2;
    struct fx f = {0};
    struct sb_error err = {0};
    int existed = access(argv[1], F_OK) == 0;
    if (sb_store_open(&f.st, argv[1], &err) || sb_store_migrate(f.st, NULL, NULL, &err))
        die("open", &err);
    struct sb_tenant t;
    if (existed && sb_store_tenant_find(f.st, "bench", &t, NULL) == 0) {
        f.tenant = t.id;
        fprintf(stderr, "reusing %s\n", argv[1]);
    } else {
        f.now = sb_now_ms();
        int64_t t0 = sb_mono_ns();
        fprintf(stderr, "filling %s with %ld messages...\n", argv[1], target);
        fill(&f, target);
        fprintf(stderr,
                "filled in %.0f s: %ld messages, %ld conversations, %ld hand-offs, %ld "
                "resolutions, %ld ratings\n",
                ms_since(t0) / 1000, f.messages, f.conversations, f.handoffs, f.resolutions,
                f.ratings);
    }
    int64_t now = sb_now_ms();
    int64_t today = now / DAY_MS * DAY_MS;
    static const struct {
        const char *name;
        unsigned bits;
    } sec[] = {
        {"queue", SB_METRICS_QUEUE},       {"agents", SB_METRICS_AGENTS},
        {"volume", SB_METRICS_VOLUME},     {"outcomes", SB_METRICS_OUTCOMES},
        {"times", SB_METRICS_TIMES},       {"csat", SB_METRICS_CSAT},
        {"sentiment", SB_METRICS_SENTIMENT}, {"intents", SB_METRICS_INTENTS},
        {"ALL", SB_METRICS_ALL},
    };
    struct {
        const char *label;
        int64_t from, to;
    } periods[] = {
        {"today", today, today + DAY_MS},
        {"7 days", today - 6 * DAY_MS, today + DAY_MS},
        {"30 days", today - 30 * DAY_MS, today + DAY_MS},
    };
    double load[1] = {0};
    if (getloadavg(load, 1) == 1)
        printf("load average when the timing started: %.2f\n\n", load[0]);
    printf("| period | section | median ms | max ms | median CPU ms | what it found |\n");
    printf("|---|---|---:|---:|---:|---|\n");
    for (size_t p = 0; p < sizeof(periods) / sizeof(periods[0]); p++) {
        for (size_t s = 0; s < sizeof(sec) / sizeof(sec[0]); s++)
            time_metrics(&f, periods[p].label, periods[p].from, periods[p].to, sec[s].bits,
                         sec[s].name, runs);
        time_report(&f, periods[p].label, periods[p].from, periods[p].to, runs);
    }
    sb_store_close(f.st);
    return 0;
}

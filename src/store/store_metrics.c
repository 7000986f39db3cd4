/* SPDX-License-Identifier: MIT */
/*
 * The store's front for the dashboard's figures and the per-conversation report (schema
 * step 4): argument checks that do not depend on the backend, then dispatch; and the
 * functions that free what those calls return. docs/metrics.md defines the figures.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

static int check_period(int64_t from_ms, int64_t to_ms, struct sb_error *err)
{
    if (from_ms < 0 || to_ms <= from_ms)
        return sb_error_set(err, SB_EINVAL, "field 'to' must be later than 'from' (both >= 0)");
    return 0;
}

int sb_store_metrics(struct sb_store *st, sb_id tenant, const struct sb_metrics_query *q,
                     struct sb_metrics *out, struct sb_error *err)
{
    if (!st || !q || !out)
        return sb_error_set(err, SB_EINVAL, "a store, a query and an output are required");
    int rc = check_period(q->from_ms, q->to_ms, err);
    if (rc)
        return rc;
    if (q->tz_offset_min < -840 || q->tz_offset_min > 840 || q->tz_offset_min % 15)
        return sb_error_set(err, SB_EINVAL,
                            "field 'tz_offset' must be minutes from -840 to 840, a multiple "
                            "of 15");
    if (q->top_intents > SB_METRICS_TOP_MAX)
        return sb_error_set(err, SB_EINVAL, "field 'top' must be at most %d",
                            SB_METRICS_TOP_MAX);
    unsigned sec = q->sections ? q->sections : SB_METRICS_ALL;
    if ((sec & SB_METRICS_SENTIMENT) && (q->to_ms - q->from_ms) / DAY_MS + 2 > SB_METRICS_DAYS_MAX)
        return sb_error_set(err, SB_EINVAL, "the period is longer than %d days",
                            SB_METRICS_DAYS_MAX - 2);
    return st->ops->metrics(st, tenant, q, out, err);
}

int sb_store_conversation_report(struct sb_store *st, sb_id tenant, int64_t from_ms,
                                 int64_t to_ms, sb_id after_id, size_t limit,
                                 struct sb_conversation_report **out, size_t *n,
                                 struct sb_error *err)
{
    if (!st || !out || !n)
        return sb_error_set(err, SB_EINVAL, "a store and outputs are required");
    int rc = check_period(from_ms, to_ms, err);
    if (rc)
        return rc;
    if (after_id < 0)
        return sb_error_set(err, SB_EINVAL, "field 'after' must not be negative");
    if ((rc = sb__store_check_limit(limit, SB_STORE_REPORT_MAX, err)))
        return rc;
    return st->ops->conversation_report(st, tenant, from_ms, to_ms, after_id, limit, out, n,
                                        err);
}

void sb_metrics_cleanup(struct sb_metrics *m)
{
    if (!m)
        return;
    free(m->agents);
    free(m->channels);
    free(m->days);
    free(m->intents);
    memset(m, 0, sizeof(*m));
}

void sb_conversation_report_list_free(struct sb_conversation_report *xs, size_t n)
{
    for (size_t i = 0; xs && i < n; i++)
        sb_conversation_cleanup(&xs[i].c);
    free(xs);
}

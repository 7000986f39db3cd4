/* SPDX-License-Identifier: MIT */
/*
 * The worker pool: a fixed set of threads that run slow work (storage reads, model inference,
 * OCR, outbound HTTP) away from the network loop. Jobs are run in submission order by
 * whichever thread is free. The queue is bounded so that overload is reported (SB_EBUSY, which
 * the HTTP layer answers with 503) instead of growing without limit.
 */
#ifndef SB_POOL_H
#define SB_POOL_H

#include <stddef.h>

typedef void (*sb_job_fn)(void *arg);

struct sb_pool; /* opaque */

/* Starts `threads` workers with a queue of at most `max_queued` waiting jobs.
 * Free with sb_pool_free(). */
struct sb_pool *sb_pool_new(int threads, size_t max_queued);

/* The same with the workers' scheduling niceness raised by `nice` (0..19), for background
 * work that must not delay latency-critical threads on a busy machine. */
struct sb_pool *sb_pool_new_niced(int threads, size_t max_queued, int nice);

/* Names the pool's threads (at most 15 bytes: what `top -H`, perf and /proc/PID/task show). */
void sb_pool_name(struct sb_pool *p, const char *name);

/* Queues fn(arg). Thread-safe. SB_EBUSY when the queue is full or the pool is stopping; the
 * caller then still owns `arg`. */
int sb_pool_submit(struct sb_pool *p, sb_job_fn fn, void *arg);

/* The same, but the job runs before every job already waiting (for short completions that
 * must not wait behind a backlog). */
int sb_pool_submit_first(struct sb_pool *p, sb_job_fn fn, void *arg);

/* Number of jobs waiting or running. */
size_t sb_pool_pending(struct sb_pool *p);

/* Stops accepting jobs, runs every job already queued, joins the threads and frees the pool. */
void sb_pool_free(struct sb_pool *p);

#endif

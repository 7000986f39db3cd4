/* SPDX-License-Identifier: MIT */
/* A fixed-size thread pool over a bounded FIFO ring of jobs (see sb/pool.h). */
#include "sb/pool.h"

#include "sb/error.h"
#include "sb/mem.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>

struct job {
    sb_job_fn fn;
    void *arg;
};

struct sb_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *ring;
    size_t cap, head, count;
    size_t running;
    int stopping;
    int nice;
    int nthreads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    struct sb_pool *p = arg;
    /* Linux applies a nice value per thread; failing to lower priority is harmless. */
    if (p->nice > 0 && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice) != 0)
        p->nice = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->count == 0 && p->stopping)
            break;
        struct job j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct sb_pool *sb_pool_new(int threads, size_t max_queued)
{
    return sb_pool_new_niced(threads, max_queued, 0);
}

struct sb_pool *sb_pool_new_niced(int threads, size_t max_queued, int nice)
{
    struct sb_pool *p = sb_calloc(1, sizeof(*p));
    p->nice = nice < 0 ? 0 : nice > 19 ? 19 : nice;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cap = max_queued ? max_queued : 1;
    p->ring = sb_calloc(p->cap, sizeof(*p->ring));
    p->nthreads = threads > 0 ? threads : 1;
    p->threads = sb_calloc((size_t)p->nthreads, sizeof(pthread_t));
    for (int i = 0; i < p->nthreads; i++)
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            abort();
    return p;
}

void sb_pool_name(struct sb_pool *p, const char *name)
{
    for (int i = 0; i < p->nthreads; i++)
        pthread_setname_np(p->threads[i], name); /* a name over 15 bytes is refused: harmless */
}

static int submit(struct sb_pool *p, sb_job_fn fn, void *arg, int first)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->count == p->cap) {
        rc = SB_EBUSY;
    } else {
        if (first) {
            p->head = (p->head + p->cap - 1) % p->cap;
            p->ring[p->head] = (struct job){fn, arg};
        } else {
            p->ring[(p->head + p->count) % p->cap] = (struct job){fn, arg};
        }
        p->count++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int sb_pool_submit(struct sb_pool *p, sb_job_fn fn, void *arg)
{
    return submit(p, fn, arg, 0);
}

int sb_pool_submit_first(struct sb_pool *p, sb_job_fn fn, void *arg)
{
    return submit(p, fn, arg, 1);
}

size_t sb_pool_pending(struct sb_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->count + p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void sb_pool_free(struct sb_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->ring);
    free(p);
}

/* SPDX-License-Identifier: MIT */
/*
 * Open-loop load for POST /api/v1/messages: CONNECTIONS keep-alive connections send messages
 * at a fixed total RATE for SECONDS, and the latency of each message is measured from the
 * moment it was *due*, not from when it could be sent. A closed-loop client (wrk) slows down
 * when the server does, so a stall hides the requests that would have queued behind it
 * ("coordinated omission"); here a request that is due while its connection still waits for
 * the previous answer is queued on that connection and its wait counts.
 *
 * Usage: ingest_load HOST PORT KEY RATE CONNECTIONS SECONDS
 * Prints the achieved rate and the latency distribution (p50 … max) in milliseconds.
 * Single-threaded (epoll), so that it takes one core at most from the daemon it measures.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define MAX_QUEUED 4096 /* due requests one connection may owe before the run is void */

struct conn {
    int fd;
    int64_t next_due_ns;          /* when this connection's next request is due */
    int64_t queue[MAX_QUEUED];    /* due times of requests not yet answered, oldest first */
    int head, count;              /* queue[head] is in flight when sent == 1 */
    int sent;
    char in[8192];
    size_t in_len;
};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *host, *key;
static long counter;

static int connect_to(const char *h, long port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, h, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Sends the request at the head of c's queue (a blocking write: requests are small). */
static void send_head(struct conn *c)
{
    char body[256], req[1024];
    long n = ++counter;
    int blen = snprintf(body, sizeof(body),
                        "{\"customer\":{\"id\":\"load-%ld\"},\"message_id\":\"l%ld\","
                        "\"text\":\"Where is my order %ld?\"}",
                        n % 1000, n, n);
    int rlen = snprintf(req, sizeof(req),
                        "POST /api/v1/messages HTTP/1.1\r\nHost: %s\r\n"
                        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n\r\n%s",
                        host, key, blen, body);
    for (int off = 0; off < rlen;) {
        ssize_t w = write(c->fd, req + off, (size_t)(rlen - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        off += (int)w;
    }
    c->sent = 1;
}

/* Length of one complete response at the start of c->in, or 0 when more bytes are needed. */
static size_t response_length(const struct conn *c, int *status)
{
    const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->in) + 4;
    long body = 0;
    for (const char *p = c->in; p < end; p++) {
        if ((*p == '\n') && strncasecmp(p + 1, "content-length:", 15) == 0)
            body = strtol(p + 16, NULL, 10);
    }
    if (c->in_len < head + (size_t)body)
        return 0;
    *status = (int)strtol(c->in + 9, NULL, 10);
    return head + (size_t)body;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: ingest_load HOST PORT KEY RATE CONNECTIONS SECONDS\n");
        return 2;
    }
    host = argv[1];
    key = argv[3];
    long port = strtol(argv[2], NULL, 10), nconn = strtol(argv[5], NULL, 10);
    double rate = strtod(argv[4], NULL), secs = strtod(argv[6], NULL);
    if (port < 1 || port > 65535 || nconn < 1 || nconn > MAX_CONNS || !(rate > 0) ||
        !(secs > 0) || rate * secs > 1e8) {
        fprintf(stderr, "ingest_load: PORT 1..65535, CONNECTIONS 1..%d, RATE and SECONDS > 0 "
                        "(at most 1e8 messages)\n", MAX_CONNS);
        return 2;
    }
    size_t cap = (size_t)(rate * secs * 1.1) + 16;
    int64_t *lat = malloc(cap * sizeof(*lat));
    struct conn *cs = calloc((size_t)nconn, sizeof(*cs));
    int ep = epoll_create1(0);
    int64_t period = (int64_t)(1e9 * nconn / rate), start = now_ns() + 100000000;
    for (long i = 0; i < nconn; i++) {
        cs[i].fd = connect_to(host, port);
        cs[i].next_due_ns = start + period * i / nconn; /* staggered: an even total rate */
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    int64_t stop = start + (int64_t)(secs * 1e9);
    size_t done = 0, errors = 0;
    for (;;) {
        int64_t t = now_ns();
        int64_t next = INT64_MAX;
        int pending = 0;
        for (int i = 0; i < nconn; i++) {
            struct conn *c = &cs[i];
            while (c->next_due_ns <= t && c->next_due_ns < stop) {
                if (c->count == MAX_QUEUED) {
                    fprintf(stderr, "ingest_load: the daemon fell %d requests behind\n",
                            MAX_QUEUED);
                    return 1;
                }
                c->queue[(c->head + c->count++) % MAX_QUEUED] = c->next_due_ns;
                c->next_due_ns += period;
            }
            if (c->count && !c->sent)
                send_head(c);
            if (c->next_due_ns < stop && c->next_due_ns < next)
                next = c->next_due_ns;
            pending += c->count;
        }
        if (!pending && t >= stop)
            break;
        /* sleep until the next request is due (to the microsecond: a millisecond timeout
         * would spin through the last millisecond and take a core from the daemon) */
        int64_t wait_ns = next == INT64_MAX ? 100000000 : next - t;
        struct timespec ts = {.tv_sec = wait_ns > 0 ? wait_ns / 1000000000 : 0,
                              .tv_nsec = wait_ns > 0 ? wait_ns % 1000000000 : 0};
        struct epoll_event evs[64];
        int n = epoll_pwait2(ep, evs, 64, &ts, NULL);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
            if (r <= 0) {
                fprintf(stderr, "ingest_load: the daemon closed a connection\n");
                return 1;
            }
            c->in_len += (size_t)r;
            int status = 0;
            size_t len;
            while (c->sent && (len = response_length(c, &status)) > 0) {
                int64_t due = c->queue[c->head];
                if (done < cap)
                    lat[done++] = now_ns() - due;
                if (status != 200 && status != 201)
                    errors++;
                c->head = (c->head + 1) % MAX_QUEUED;
                c->count--;
                c->sent = 0;
                memmove(c->in, c->in + len, c->in_len - len);
                c->in_len -= len;
                if (c->count)
                    send_head(c);
            }
        }
    }
    double took = (double)(now_ns() - start) / 1e9;
    qsort(lat, done, sizeof(*lat), cmp_i64);
    printf("offered %.0f/s over %ld connections for %.0f s: %zu answered (%.0f/s), %zu errors\n",
           rate, nconn, secs, done, (double)done / took, errors);
    if (done) {
        const double q[] = {0.5, 0.9, 0.99, 0.999};
        printf("latency from due time (ms):");
        for (int i = 0; i < 4; i++)
            printf(" p%g %.2f", q[i] * 100, (double)lat[(size_t)(q[i] * (double)(done - 1))] / 1e6);
        printf(" max %.2f\n", (double)lat[done - 1] / 1e6);
    }
    return errors ? 1 : 0;
}

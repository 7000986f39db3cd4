/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of per-job limits (src/media/job.c): a job's result comes back through the pipe;
 * a job past its time limit is stopped and named as such well before it would have ended; a job
 * allocating past its memory limit fails with the limit named; a crashing job is an error, not
 * a crash of the caller; a thread of the caller keeps working throughout; the defaults match the
 * config table.
 */
#include "sb/config.h"
#include "sb/media_job.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int job_echo(void *arg, struct sb_buf *out, struct sb_error *err)
{
    (void)err;
    return sb_buf_appends(out, arg);
}

static int job_sleep(void *arg, struct sb_buf *out, struct sb_error *err)
{
    (void)arg;
    (void)err;
    sleep(20);
    return sb_buf_appends(out, "late");
}

static int job_spin(void *arg, struct sb_buf *out, struct sb_error *err)
{
    (void)arg;
    (void)err;
    volatile unsigned long x = 0;
    for (;;)
        x++;
    return sb_buf_appends(out, "never");
}

static int job_hog(void *arg, struct sb_buf *out, struct sb_error *err)
{
    (void)arg;
    (void)out;
    /* 4 GiB in 64 MiB steps, each touched: stopped by the address-space limit */
    for (int i = 0; i < 64; i++) {
        char *p = malloc(64u << 20);
        if (!p)
            return sb_error_set(err, SB_ENOMEM, "allocation %d failed", i);
        memset(p, 1, 64u << 20);
    }
    return sb_buf_appends(out, "allocated everything");
}

static int job_crash(void *arg, struct sb_buf *out, struct sb_error *err)
{
    (void)arg;
    (void)out;
    (void)err;
    raise(SIGSEGV);
    return 0;
}

static int job_fail(void *arg, struct sb_buf *out, struct sb_error *err)
{
    (void)arg;
    (void)out;
    return sb_error_set(err, SB_EPARSE, "corrupt input at byte %d", 7);
}

static void test_result(void **state)
{
    (void)state;
    struct sb_media_job_limits lim = {.time_ms = 5000, .memory_mb = 256, .isolate = 1};
    char *out = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    assert_int_equal(sb_media_job_run(&lim, job_echo, "{\"text\":\"seven\"}", &out, &n, &err),
                     0);
    assert_string_equal(out, "{\"text\":\"seven\"}");
    assert_int_equal(n, 16);
    free(out);
    /* the job's own error comes back with its message */
    assert_int_equal(sb_media_job_run(&lim, job_fail, NULL, &out, &n, &err), SB_EPARSE);
    assert_string_equal(err.msg, "corrupt input at byte 7");
    /* not isolated: runs here */
    lim.isolate = 0;
    assert_int_equal(sb_media_job_run(&lim, job_echo, "x", &out, &n, &err), 0);
    assert_string_equal(out, "x");
    free(out);
}

static void *ticker(void *arg)
{
    volatile int *ticks = arg;
    for (int i = 0; i < 100 && *ticks >= 0; i++) {
        (*ticks)++;
        usleep(10000);
    }
    return NULL;
}

static void test_time_limit(void **state)
{
    (void)state;
    volatile int ticks = 0;
    pthread_t t;
    pthread_create(&t, NULL, ticker, (void *)&ticks);
    struct sb_media_job_limits lim = {.time_ms = 300, .memory_mb = 256, .isolate = 1};
    char *out = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(sb_media_job_run(&lim, job_sleep, NULL, &out, &n, &err), SB_ETIMEDOUT);
    int64_t took = now_ms() - t0;
    assert_true(took >= 300 && took < 3000);
    assert_non_null(strstr(err.msg, "time limit of 300 ms"));
    t0 = now_ms();
    assert_int_equal(sb_media_job_run(&lim, job_spin, NULL, &out, &n, &err), SB_ETIMEDOUT);
    assert_true(now_ms() - t0 < 3000);
    int seen = ticks;
    ticks = -1;
    pthread_join(t, NULL);
    assert_true(seen > 10); /* the caller's other threads ran on */
}

static void test_memory_limit(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* address-space limits are not applied under ASan (its shadow memory) */
#endif
    struct sb_media_job_limits lim = {.time_ms = 20000, .memory_mb = 128, .isolate = 1};
    char *out = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    assert_int_equal(sb_media_job_run(&lim, job_hog, NULL, &out, &n, &err), SB_ETOOBIG);
    assert_non_null(strstr(err.msg, "memory limit of 128 MB"));
    /* the parent itself is not limited */
    char *p = malloc(256u << 20);
    assert_non_null(p);
    memset(p, 0, 256u << 20);
    free(p);
}

static void test_crash(void **state)
{
    (void)state;
    struct sb_media_job_limits lim = {.time_ms = 5000, .memory_mb = 256, .isolate = 1};
    char *out = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    assert_int_equal(sb_media_job_run(&lim, job_crash, NULL, &out, &n, &err), SB_EINTERNAL);
    assert_non_null(strstr(err.msg, "signal 11"));
    assert_non_null(strstr(err.msg, "memory limit of 256 MB"));
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct sb_config *c = sb_config_new();
    assert_int_equal(sb_config_int(c, "media_ocr_time_ms"), SB_MEDIA_OCR_TIME_MS);
    assert_int_equal(sb_config_int(c, "media_asr_time_ms"), SB_MEDIA_ASR_TIME_MS);
    assert_int_equal(sb_config_int(c, "media_job_memory_mb"), SB_MEDIA_JOB_MEMORY_MB);
    assert_int_equal(sb_config_set(c, "media_asr_time_ms", "1234", "test", NULL), 0);
    sb_media_job_configure(c);
    struct sb_media_job_limits l;
    sb_media_job_limits_get(1, &l);
    assert_int_equal(l.time_ms, 1234);
    assert_int_equal(l.isolate, 1);
    sb_media_job_limits_get(0, &l);
    assert_int_equal(l.time_ms, SB_MEDIA_OCR_TIME_MS);
    sb_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result),       cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_memory_limit), cmocka_unit_test(test_crash),
        cmocka_unit_test(test_config_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

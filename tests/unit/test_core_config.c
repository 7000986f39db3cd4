/* SPDX-License-Identifier: MIT */
/* Unit tests of the configuration table: precedence, bounds, errors naming file and line, and
 * the sample file checked in under conf/ matching the table. Also the worker pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/config.h"
#include "sb/pool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/sb-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_defaults_and_bounds(void **state)
{
    (void)state;
    struct sb_config *c = sb_config_new();
    assert_string_equal(sb_config_str(c, "listen"), "127.0.0.1:8080");
    assert_int_equal(sb_config_int(c, "workers"), 4);
    assert_false(sb_config_bool(c, "log_json"));
    struct sb_error err = {0};
    assert_int_equal(sb_config_set(c, "workers", "0", "test", &err), SB_ECONFIG);
    assert_non_null(strstr(err.msg, "between 1 and 256"));
    assert_int_equal(sb_config_set(c, "workers", "4x", "test", &err), SB_ECONFIG);
    assert_non_null(strstr(err.msg, "must be an integer"));
    assert_int_equal(sb_config_set(c, "log_json", "maybe", "test", &err), SB_ECONFIG);
    assert_int_equal(sb_config_set(c, "no_such", "1", "test", &err), SB_ECONFIG);
    assert_non_null(strstr(err.msg, "unknown setting 'no_such'"));
    assert_int_equal(sb_config_int(c, "workers"), 4); /* failed sets change nothing */
    sb_config_free(c);
}

static void test_precedence(void **state)
{
    (void)state;
    char *path = write_temp("# comment\nworkers = 3\nmax-body-bytes = 2048\nlog_json = yes\n");
    setenv("SB_WORKERS", "5", 1);
    struct sb_config *c = sb_config_new();
    char *argv[] = {"serve", "--config", path, "--max-body-bytes", "4096", NULL};
    struct sb_error err = {0};
    assert_int_equal(sb_config_load_all(c, 5, argv, &err), 0);
    assert_int_equal(sb_config_int(c, "workers"), 5);           /* env beats file */
    assert_int_equal(sb_config_int(c, "max_body_bytes"), 4096); /* flag beats file */
    assert_true(sb_config_bool(c, "log_json"));                 /* file beats default */
    unsetenv("SB_WORKERS");
    sb_config_free(c);
    unlink(path);
    free(path);
}

static void test_file_errors_name_line(void **state)
{
    (void)state;
    char *path = write_temp("workers = 2\n\nthis line is wrong\n");
    struct sb_config *c = sb_config_new();
    struct sb_error err = {0};
    assert_int_equal(sb_config_load_file(c, path, &err), SB_ECONFIG);
    char want[300];
    snprintf(want, sizeof(want), "%s:3:", path);
    assert_non_null(strstr(err.msg, want));
    unlink(path);
    free(path);
    assert_int_equal(sb_config_load_file(c, "/nonexistent/sb.conf", &err), SB_ECONFIG);
    char *argv[] = {"serve", "--workers", NULL};
    assert_int_equal(sb_config_load_all(c, 2, argv, &err), SB_ECONFIG);
    assert_non_null(strstr(err.msg, "needs a value"));
    sb_config_free(c);
}

static void test_sample_matches_table(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    sb_config_write_sample(mem);
    fclose(mem);
    FILE *f = fopen(SB_SOURCE_DIR "/conf/switchboard.conf.sample", "r");
    assert_non_null(f);
    char *file = calloc(1, len + 2);
    size_t n = fread(file, 1, len + 1, f);
    fclose(f);
    if (n != len || memcmp(file, text, len) != 0)
        fail_msg("conf/switchboard.conf.sample is out of date: regenerate it with "
                 "`switchboard serve --print-config > conf/switchboard.conf.sample`");
    free(file);
    free(text);
}

static atomic_int counter;

static void bump(void *arg)
{
    (void)arg;
    atomic_fetch_add(&counter, 1);
}

static void test_pool_runs_everything_and_bounds_queue(void **state)
{
    (void)state;
    struct sb_pool *p = sb_pool_new(3, 10000);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(sb_pool_submit(p, bump, NULL), 0);
    sb_pool_free(p); /* runs what was queued */
    assert_int_equal(atomic_load(&counter), 5000);

    p = sb_pool_new(1, 2);
    int busy = 0;
    for (int i = 0; i < 1000; i++)
        busy += sb_pool_submit(p, bump, NULL) == SB_EBUSY;
    assert_true(busy > 0);
    sb_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_bounds),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_file_errors_name_line),
        cmocka_unit_test(test_sample_matches_table),
        cmocka_unit_test(test_pool_runs_everything_and_bounds_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

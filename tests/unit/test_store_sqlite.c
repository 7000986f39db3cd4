/* SPDX-License-Identifier: MIT */
/*
 * Tests of what is particular to the SQLite backend: location syntax, the ops-table check,
 * refusing a database from a newer Switchboard, WAL mode on disk, `switchboard migrate`, and
 * the crash test — a child process ingests batches and reports each acknowledged batch over a
 * pipe until it is killed with SIGKILL; afterwards every acknowledged message must be present
 * exactly once and the database must pass PRAGMA integrity_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/cli.h"
#include "sb/clock.h"
#include "sb/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct tmp {
    char dir[128];
};

static int make_tmp(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/sb-test-sqlite-XXXXXX");
    if (!mkdtemp(t->dir))
        return -1;
    *state = t;
    return 0;
}

static int remove_tmp(void **state)
{
    struct tmp *t = *state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", t->dir);
    free(t);
    return 0;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void test_locations(void **state)
{
    struct tmp *t = *state;
    struct sb_error err = {0};
    struct sb_store *st = NULL;
    char path[256];

    /* a directory holds switchboard.db */
    assert_int_equal(sb_store_open(&st, t->dir, &err), 0);
    assert_string_equal(sb_store_ops_of(st)->name, "sqlite");
    sb_store_close(st);
    snprintf(path, sizeof(path), "%s/switchboard.db", t->dir);
    assert_true(exists(path));
    /* so does "sqlite:DIR/" */
    char loc[300];
    snprintf(loc, sizeof(loc), "sqlite:%s/", t->dir);
    assert_int_equal(sb_store_open(&st, loc, &err), 0);
    sb_store_close(st);
    /* a file, plain or with the prefix */
    snprintf(path, sizeof(path), "%s/plain.db", t->dir);
    assert_int_equal(sb_store_open(&st, path, &err), 0);
    sb_store_close(st);
    assert_true(exists(path));
    snprintf(loc, sizeof(loc), "sqlite:%s/prefixed.db", t->dir);
    assert_int_equal(sb_store_open(&st, loc, &err), 0);
    sb_store_close(st);
    snprintf(path, sizeof(path), "%s/prefixed.db", t->dir);
    assert_true(exists(path));

    st = NULL;
    assert_int_equal(sb_store_open(&st, "postgres://db.example/sb", &err), SB_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "PostgreSQL"));
    assert_null(st);
    assert_int_equal(sb_store_open(&st, "postgresql://db.example/sb", &err), SB_EUNSUPPORTED);
    assert_int_equal(sb_store_open(&st, "mysql://db.example/sb", &err), SB_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "mysql"));
    assert_int_equal(sb_store_open(&st, "", &err), SB_EINVAL);
    assert_int_equal(sb_store_open(&st, "sqlite:", &err), SB_EINVAL);
    snprintf(loc, sizeof(loc), "%s/no/such/dir/x.db", t->dir);
    assert_int_equal(sb_store_open(&st, loc, &err), SB_EIO);
    assert_null(st);
}

static void test_register_check(void **state)
{
    (void)state;
    struct sb_error err = {0};
    assert_int_equal(sb_store_register_check(&sb_store_sqlite_ops, &err), 0);
    struct sb_store_ops ops = sb_store_sqlite_ops;
    ops.event_list = NULL;
    assert_int_equal(sb_store_register_check(&ops, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "'event_list'"));
    ops = sb_store_sqlite_ops;
    ops.open = NULL;
    assert_int_equal(sb_store_register_check(&ops, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "'open'"));
    ops = sb_store_sqlite_ops;
    ops.name = NULL;
    assert_int_equal(sb_store_register_check(&ops, &err), SB_EINVAL);
    assert_int_equal(sb_store_register_check(NULL, &err), SB_EINVAL);
}

/* Runs SQL on the database file directly. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* The first column of the first row of `sql` as text (static buffer). */
static const char *raw_text(const char *path, const char *sql)
{
    static char out[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

static void test_schema_versions(void **state)
{
    struct tmp *t = *state;
    struct sb_error err = {0};
    struct sb_store *st = NULL;
    char path[256];
    snprintf(path, sizeof(path), "%s/v.db", t->dir);
    assert_int_equal(sb_store_open(&st, path, &err), 0);
    /* before migrating, the tables are missing: a clean error, not a crash */
    sb_id id;
    assert_int_equal(sb_store_tenant_create(st, "x", "x", &id, &err), SB_ESTORE);
    int from = -1, to = -1;
    assert_int_equal(sb_store_migrate(st, &from, &to, &err), 0);
    assert_int_equal(from, 0);
    assert_true(to >= 1);
    sb_store_close(st);
    assert_string_equal(raw_text(path, "PRAGMA journal_mode"), "wal");
    char expect[16];
    snprintf(expect, sizeof(expect), "%d", to);
    assert_string_equal(raw_text(path, "SELECT max(version) FROM schema_migrations"), expect);

    /* a database written by a newer Switchboard is refused, by open and by migrate */
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", to + 1);
    raw_exec(path, sql);
    st = NULL;
    assert_int_equal(sb_store_open(&st, path, &err), SB_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "newer"));
    assert_null(st);
}

static void test_cmd_migrate(void **state)
{
    struct tmp *t = *state;
    char data[256], db[300], out_path[300];
    snprintf(data, sizeof(data), "%s/data", t->dir);
    snprintf(db, sizeof(db), "%s/switchboard.db", data);
    snprintf(out_path, sizeof(out_path), "%s/stdout.txt", t->dir);

    /* capture stdout in a file while the command runs */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    char *argv1[] = {"migrate", "--data", data, NULL};
    int rc1 = sb_cmd_migrate(3, argv1);
    char *argv2[] = {"migrate", "--data", data, NULL};
    int rc2 = sb_cmd_migrate(3, argv2);
    char store_flag[320];
    snprintf(store_flag, sizeof(store_flag), "--store=sqlite:%s/other.db", t->dir);
    char *argv3[] = {"migrate", store_flag, NULL};
    int rc3 = sb_cmd_migrate(2, argv3);
    char *argv4[] = {"migrate", "--store", "postgres://x/y", NULL};
    int rc4 = sb_cmd_migrate(3, argv4);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_int_equal(rc3, 0);
    assert_int_equal(rc4, 1);
    struct stat sb;
    assert_int_equal(stat(data, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_true(exists(db));
    FILE *f = fopen(out_path, "r");
    assert_non_null(f);
    char line[3][128] = {{0}};
    for (int i = 0; i < 3; i++)
        assert_non_null(fgets(line[i], sizeof(line[i]), f));
    fclose(f);
    int to, from;
    assert_int_equal(sscanf(line[0], "schema at version %d (was %d)", &to, &from), 2);
    assert_int_equal(from, 0);
    assert_true(to >= 1);
    char expect[64];
    snprintf(expect, sizeof(expect), "schema at version %d (was %d)\n", to, to);
    assert_string_equal(line[1], expect);
    snprintf(expect, sizeof(expect), "schema at version %d (was 0)\n", to);
    assert_string_equal(line[2], expect);
}

/* ---- crash test ---- */

#define CRASH_BATCH 32

struct ack {
    int32_t batch;
    int32_t n;
    int64_t ids[CRASH_BATCH];
};

/* The child: ingest batches forever, report each acknowledged one. Never returns. */
static void crash_child(const char *path, sb_id tenant, sb_id inbox, int round, int fd)
{
    struct sb_store *st = NULL;
    struct sb_error err = {0};
    if (sb_store_open(&st, path, &err))
        _exit(3);
    char pid[CRASH_BATCH][48], who[CRASH_BATCH][32];
    struct sb_ingest in[CRASH_BATCH];
    struct sb_ingest_result out[CRASH_BATCH];
    for (int32_t b = 0; b < 1000000; b++) {
        for (int i = 0; i < CRASH_BATCH; i++) {
            snprintf(pid[i], sizeof(pid[i]), "crash-%d-%d-%d", round, b, i);
            snprintf(who[i], sizeof(who[i]), "crash-cust-%d", (b * CRASH_BATCH + i) % 50);
            in[i] = (struct sb_ingest){.tenant_id = tenant, .inbox_id = inbox,
                                       .provider_msg_id = pid[i], .customer_ext_id = who[i],
                                       .text = "crash test message"};
        }
        if (sb_store_ingest_batch(st, in, out, CRASH_BATCH, &err))
            _exit(4);
        struct ack a = {.batch = b, .n = CRASH_BATCH};
        for (int i = 0; i < CRASH_BATCH; i++) {
            if (out[i].rc || out[i].duplicate)
                _exit(5);
            a.ids[i] = out[i].message_id;
        }
        /* smaller than PIPE_BUF: the write is atomic */
        if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
            _exit(6);
    }
    _exit(0);
}

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

static void test_crash_keeps_acknowledged_messages(void **state)
{
    struct tmp *t = *state;
    struct sb_error err = {0};
    char path[256];
    snprintf(path, sizeof(path), "%s/crash.db", t->dir);
    struct sb_store *st = NULL;
    assert_int_equal(sb_store_open(&st, path, &err), 0);
    int from, to;
    assert_int_equal(sb_store_migrate(st, &from, &to, &err), 0);
    sb_id tenant, inbox;
    assert_int_equal(sb_store_tenant_create(st, "crash", "Crash", &tenant, &err), 0);
    assert_int_equal(sb_store_inbox_create(st, tenant, "api", "api", NULL, &inbox, &err), 0);
    sb_store_close(st);

    size_t total_acked = 0;
    for (int round = 0; round < 3; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            close(p[0]);
            crash_child(path, tenant, inbox, round, p[1]);
        }
        close(p[1]);
        /* let it run for a varying number of batches, then kill it mid-flight */
        int kill_after = 10 + round * 17;
        size_t cap = 4096, n_acks = 0;
        struct ack *acks = malloc(cap * sizeof(*acks));
        while (n_acks < cap && read_full(p[0], &acks[n_acks], sizeof(acks[0]))) {
            n_acks++;
            if ((int)n_acks == kill_after)
                kill(child, SIGKILL);
        }
        close(p[0]);
        int status = 0;
        waitpid(child, &status, 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_true((int)n_acks >= kill_after);

        /* every acknowledged message is there, once */
        assert_int_equal(sb_store_open(&st, path, &err), 0);
        for (size_t a = 0; a < n_acks; a++) {
            for (int i = 0; i < acks[a].n; i++) {
                struct sb_message m;
                if (sb_store_message_get(st, tenant, acks[a].ids[i], &m, &err))
                    fail_msg("round %d: acknowledged message %lld lost: %s", round,
                             (long long)acks[a].ids[i], err.msg);
                char expect[48];
                snprintf(expect, sizeof(expect), "crash-%d-%d-%d", round, acks[a].batch, i);
                assert_string_equal(m.provider_msg_id, expect);
                sb_message_cleanup(&m);
            }
            total_acked += (size_t)acks[a].n;
        }
        /* re-sending an acknowledged message is recognised as a duplicate */
        struct sb_ingest in = {.tenant_id = tenant, .inbox_id = inbox,
                               .provider_msg_id = "", .customer_ext_id = "crash-cust-0",
                               .text = "again"};
        char again[48];
        snprintf(again, sizeof(again), "crash-%d-%d-0", round, acks[n_acks - 1].batch);
        in.provider_msg_id = again;
        struct sb_ingest_result r;
        assert_int_equal(sb_store_ingest_batch(st, &in, &r, 1, &err), 0);
        assert_int_equal(r.duplicate, 1);
        assert_int_equal(r.message_id, acks[n_acks - 1].ids[0]);
        sb_store_close(st);
        free(acks);

        assert_string_equal(raw_text(path, "PRAGMA integrity_check"), "ok");
        assert_string_equal(raw_text(path, "PRAGMA foreign_key_check"), "");
        /* no message twice, and nothing half-written: each message has its event */
        assert_string_equal(raw_text(path, "SELECT count(*) = count(DISTINCT provider_msg_id) "
                                            "FROM messages"),
                            "1");
        assert_string_equal(raw_text(path, "SELECT (SELECT count(*) FROM messages) = "
                                            "(SELECT count(*) FROM events "
                                            "WHERE type = 'message.created')"),
                            "1");
    }
    print_message("crash test: %zu acknowledged messages over 3 kills, all present once\n",
                  total_acked);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, make_tmp, remove_tmp)
    const struct CMUnitTest tests[] = {
        T(test_locations),
        T(test_register_check),
        T(test_schema_versions),
        T(test_cmd_migrate),
        T(test_crash_keeps_acknowledged_messages),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

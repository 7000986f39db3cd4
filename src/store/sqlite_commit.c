/* SPDX-License-Identifier: MIT */
/*
 * Write transactions of the SQLite backend, with group commit across threads. Every write
 * call is a job: it runs on the one write connection, inside a SAVEPOINT of its own, in the
 * transaction that is open (or a new one). When its job is done, a thread that sees other
 * writers waiting leaves the transaction open for them and sleeps until a later job commits;
 * the last job of the transaction (no one waiting, or the transaction is already big or old)
 * commits — one fsync for all of them — and wakes the others. So concurrent writers (bot
 * turns annotating messages, agents replying, the ingest committer) share fsyncs instead of
 * queueing one fsync each behind the write mutex.
 *
 * Each job still succeeds or fails alone: a failing job is rolled back to its savepoint
 * before anyone else runs. A job returns success only after the commit that made it durable.
 * If the commit itself fails, or a statement ends the whole transaction (I/O error, disk
 * full), every job of that transaction fails and none of them changed anything.
 */
#include "sqlite_internal.h"

#include "sb/clock.h"

#define GROUP_MAX_JOBS 256             /* a transaction commits at this many jobs ... */
#define GROUP_MAX_AGE_NS (5 * 1000000) /* ... or this long after it began */

/* A job that has left its transaction open for others and waits for the commit. */
struct sq_follower {
    struct sq_follower *next;
    int done;
    int rc;                 /* the commit's result */
    struct sb_error *err;   /* the follower's, to receive the commit's failure */
};

/* Ends the open transaction with `rc` (0 = it committed) for every follower, and wakes them.
 * Called with write_mu held. */
static void finish_transaction(struct sq_store *st, int rc, const struct sb_error *why)
{
    st->tx_open = 0;
    pthread_mutex_lock(&st->group_mu);
    for (struct sq_follower *f = st->followers; f; f = f->next) {
        f->rc = rc;
        if (rc && f->err)
            sb_error_set(f->err, rc, "%s", why && why->code ? why->msg : "transaction failed");
        f->done = 1;
    }
    st->followers = NULL;
    pthread_cond_broadcast(&st->group_cv);
    pthread_mutex_unlock(&st->group_mu);
}

/* Rolls the whole transaction back (when it still exists) and fails all its jobs. */
static void abort_transaction(struct sq_store *st, int rc, const struct sb_error *why)
{
    if (!sqlite3_get_autocommit(st->writer->db))
        sb__sq_exec(st->writer, NULL, NULL, "ROLLBACK", "");
    finish_transaction(st, rc, why);
}

int sb__sq_begin(struct sq_store *st, struct sq_conn **writer, struct sb_error *err)
{
    pthread_mutex_lock(&st->group_mu);
    st->writers_waiting++;
    pthread_mutex_unlock(&st->group_mu);
    pthread_mutex_lock(&st->write_mu);
    pthread_mutex_lock(&st->group_mu);
    st->writers_waiting--;
    pthread_mutex_unlock(&st->group_mu);

    int rc;
    if (!st->tx_open) {
        if ((rc = sb__sq_exec(st->writer, NULL, err, "BEGIN IMMEDIATE", ""))) {
            pthread_mutex_unlock(&st->write_mu);
            return rc;
        }
        st->tx_open = 1;
        st->tx_jobs = 0;
        st->tx_started_ns = sb_mono_ns();
    }
    if ((rc = sb__sq_exec(st->writer, NULL, err, "SAVEPOINT job", ""))) {
        struct sb_error why = {0};
        sb_error_set(&why, rc, "%s", err ? err->msg : "cannot start a savepoint");
        abort_transaction(st, rc, &why);
        pthread_mutex_unlock(&st->write_mu);
        return rc;
    }
    st->tx_jobs++;
    *writer = st->writer;
    return 0;
}

int sb__sq_end(struct sq_store *st, int rc, struct sb_error *err)
{
    struct sq_conn *w = st->writer;
    struct sb_error why = {0};
    /* undo a failed job; a transaction that a statement ended (I/O error) fails as a whole */
    int fatal = sqlite3_get_autocommit(w->db);
    if (!fatal && rc)
        fatal = sb__sq_exec(w, NULL, &why, "ROLLBACK TO job", "") != 0;
    if (!fatal)
        fatal = sb__sq_exec(w, NULL, &why, "RELEASE job", "") != 0;
    if (fatal) {
        if (!rc)
            rc = why.code ? why.code : SB_ESTORE;
        if (!why.code)
            sb_error_set(&why, rc, "%s", err && err->code ? err->msg : "transaction failed");
        if (err && err->code != rc)
            *err = why;
        abort_transaction(st, rc, &why);
        pthread_mutex_unlock(&st->write_mu);
        return rc;
    }

    pthread_mutex_lock(&st->group_mu);
    int leave_open = st->writers_waiting > 0 && st->tx_jobs < GROUP_MAX_JOBS &&
                     sb_mono_ns() - st->tx_started_ns < GROUP_MAX_AGE_NS;
    if (leave_open) {
        pthread_mutex_unlock(&st->write_mu);
        if (rc) {
            /* nothing of this job remains: no commit to wait for */
            pthread_mutex_unlock(&st->group_mu);
            return rc;
        }
        struct sq_follower me = {.next = st->followers, .err = err};
        st->followers = &me;
        while (!me.done)
            pthread_cond_wait(&st->group_cv, &st->group_mu);
        pthread_mutex_unlock(&st->group_mu);
        return me.rc;
    }
    pthread_mutex_unlock(&st->group_mu);

    int crc = sb__sq_exec(w, NULL, &why, "COMMIT", "");
    if (crc)
        abort_transaction(st, crc, &why);
    else
        finish_transaction(st, 0, NULL);
    pthread_mutex_unlock(&st->write_mu);
    if (!rc && crc && err)
        *err = why;
    return rc ? rc : crc;
}

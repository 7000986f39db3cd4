/* SPDX-License-Identifier: MIT */
/*
 * Per-job limits for media recognition (OCR, ASR): each job runs in a child process forked
 * from the calling worker thread, under a wall-clock time limit (the child is killed when it
 * passes it) and an address-space limit (setrlimit RLIMIT_AS: the process's size at the fork
 * plus the job's memory budget), and sends its result back through a pipe. A job that hangs,
 * allocates without bound or crashes costs its child, never the daemon: the caller gets an
 * error naming the limit. The child starts with the parent's memory, so engine state loaded on
 * the calling thread (tesseract handles, pocketsphinx decoders) is reused without reloading;
 * what the child changes is lost when it exits — load engines in the parent first
 * (sb_media_job_warm_up).
 *
 * fork() in a threaded process: the child runs only the forking thread. glibc keeps malloc
 * usable in such a child; a lock held by another thread at the fork (e.g. inside an engine's
 * initialisation) can block the child, which the time limit then ends. The child never touches
 * the store, sockets or logs, and leaves with _exit().
 */
#ifndef SB_MEDIA_JOB_H
#define SB_MEDIA_JOB_H

#include "sb/error.h"
#include "sb/mem.h"

#include <stddef.h>
#include <stdint.h>

struct sb_config;

struct sb_media_job_limits {
    uint32_t time_ms;   /* wall clock, 0 = none */
    uint32_t memory_mb; /* address space the job may add, 0 = no limit */
    int isolate;        /* 0: run in the calling thread without limits (tests, debugging) */
};

/* Defaults of the settings below (the config table holds the same values; a test checks). */
#define SB_MEDIA_OCR_TIME_MS 5000
#define SB_MEDIA_ASR_TIME_MS 10000
#define SB_MEDIA_JOB_MEMORY_MB 1024

/*
 * Reads media_ocr_time_ms, media_asr_time_ms, media_job_memory_mb and media_job_isolate from
 * `cfg` into process-wide values used by sb_media_job_limits_get(). Call once at start (serve);
 * until then the defaults above apply. Thread-safe.
 */
void sb_media_job_configure(const struct sb_config *cfg);

/* The configured limits for an OCR job (`asr` 0) or an ASR job (`asr` 1). Thread-safe. */
void sb_media_job_limits_get(int asr, struct sb_media_job_limits *out);

/*
 * The work of a job, run in the child (or in the caller when not isolated): appends its result
 * to `out` and returns 0, or returns a negative SB_E* code with `err` set.
 */
typedef int (*sb_media_job_fn)(void *arg, struct sb_buf *out, struct sb_error *err);

/*
 * Runs `fn(arg)` under `lim` and returns its result bytes in *out (malloc'd, NUL-terminated,
 * at most 8 MiB; free with free()) and *out_len. Errors: the job's own code and message; or
 * SB_ETIMEDOUT "over the time limit of N ms"; SB_ETOOBIG "over the memory limit of N MB"
 * (an allocation failed in the child); SB_EINTERNAL when the child died (the message names the
 * signal and the memory limit, the usual cause of an abort in an engine); SB_EIO when the
 * child could not be started. Thread-safe; blocks the calling thread until the job ends.
 */
int sb_media_job_run(const struct sb_media_job_limits *lim, sb_media_job_fn fn, void *arg,
                     char **out, size_t *out_len, struct sb_error *err);

/*
 * Loads, in the calling thread, the engine state an OCR job (`asr` 0) or an ASR job of `mode`
 * (an enum sb_asr_mode) will use, by recognising a tiny blank input once per thread and mode,
 * so that children forked later start with it. Trusted input, bounded time; errors are
 * ignored (the job will report them). Thread-safe.
 */
void sb_media_job_warm_up(int asr, int mode);

#endif

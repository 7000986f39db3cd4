/* SPDX-License-Identifier: MIT */
/*
 * Per-job time and memory limits for OCR/ASR (contract: include/sb/media_job.h). The parent
 * forks, the child lowers its limits (RLIMIT_AS = size at fork + budget, RLIMIT_CPU as a
 * backstop, death with the parent), runs the job and writes a small header (code, message
 * length, result length), the message and the result to a pipe, then _exit()s. The parent reads
 * with poll() against the deadline, kills the child with SIGKILL when it is passed, and always
 * reaps it. Bounded: the message is cut at 255 bytes, the result at 8 MiB.
 */
#include "sb/media_job.h"

#include "sb/config.h"
#include "sb/media.h"
#include "media_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESULT (8u * 1024 * 1024)
#define KILL_GRACE_MS 500 /* the engines' own limits stop them first when they cooperate */

static atomic_uint ocr_time_ms = SB_MEDIA_OCR_TIME_MS;
static atomic_uint asr_time_ms = SB_MEDIA_ASR_TIME_MS;
static atomic_uint memory_mb = SB_MEDIA_JOB_MEMORY_MB;
static atomic_int isolate = 1;

void sb_media_job_configure(const struct sb_config *cfg)
{
    atomic_store(&ocr_time_ms, (unsigned)sb_config_int(cfg, "media_ocr_time_ms"));
    atomic_store(&asr_time_ms, (unsigned)sb_config_int(cfg, "media_asr_time_ms"));
    atomic_store(&memory_mb, (unsigned)sb_config_int(cfg, "media_job_memory_mb"));
    atomic_store(&isolate, sb_config_bool(cfg, "media_job_isolate"));
}

void sb_media_job_limits_get(int asr, struct sb_media_job_limits *out)
{
    out->time_ms = asr ? atomic_load(&asr_time_ms) : atomic_load(&ocr_time_ms);
    out->memory_mb = atomic_load(&memory_mb);
    out->isolate = atomic_load(&isolate);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#if !defined(__SANITIZE_ADDRESS__) /* its only caller is not built under ASan */
/* The process's virtual size now, in bytes (0 when unknown). */
static uint64_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f)
        return 0;
    unsigned long long pages = 0;
    int ok = fscanf(f, "%llu", &pages) == 1;
    fclose(f);
    long ps = sysconf(_SC_PAGESIZE);
    return ok && ps > 0 ? (uint64_t)pages * (uint64_t)ps : 0;
}
#endif

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The child: never returns. */
static void child(int fd, const struct sb_media_job_limits *lim, uint64_t as_limit,
                  sb_media_job_fn fn, void *arg)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* a fault ends the child: no handler inherited from the parent may resume it */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGXCPU};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        signal(fatal[i], SIG_DFL);
    if (as_limit) {
        struct rlimit rl = {as_limit, as_limit};
        setrlimit(RLIMIT_AS, &rl);
    }
    if (lim->time_ms) {
        rlim_t cpu = lim->time_ms / 1000 + 2;
        struct rlimit rl = {cpu, cpu + 1};
        setrlimit(RLIMIT_CPU, &rl);
    }
    struct sb_buf out;
    sb_buf_init(&out, MAX_RESULT);
    struct sb_error err = {0};
    errno = 0;
    int rc = fn(arg, &out, &err);
    int oom = errno == ENOMEM;
    if (rc == 0 && out.len > MAX_RESULT)
        rc = sb_error_set(&err, SB_ETOOBIG, "job result larger than %u bytes", MAX_RESULT);
    if (rc && oom && as_limit) {
        char why[sizeof(err.msg)];
        memcpy(why, err.msg, sizeof(why)); /* not read and written by one call */
        rc = sb_error_set(&err, SB_ETOOBIG,
                          "over the memory limit of %u MB (media_job_memory_mb): %s",
                          lim->memory_mb, why);
    }
    uint32_t hdr[3];
    size_t ml = rc ? strnlen(err.msg, sizeof(err.msg) - 1) : 0;
    hdr[0] = (uint32_t)(int32_t)rc;
    hdr[1] = (uint32_t)ml;
    hdr[2] = rc ? 0 : (uint32_t)out.len;
    int bad = write_all(fd, hdr, sizeof(hdr)) || (ml && write_all(fd, err.msg, ml)) ||
              (!rc && out.len && write_all(fd, out.data, out.len));
    _exit(bad ? 3 : 0);
}

/* Reads exactly n bytes before the deadline: 0, 1 on time-out, -1 on EOF/error. */
static int read_until(int fd, void *p, size_t n, int64_t deadline)
{
    char *c = p;
    while (n) {
        int wait = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return 1;
            wait = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -1;
        if (pr == 0)
            continue; /* re-checks the deadline */
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int run_inline(sb_media_job_fn fn, void *arg, char **out, size_t *out_len,
                      struct sb_error *err)
{
    struct sb_buf b;
    sb_buf_init(&b, MAX_RESULT);
    int rc = fn(arg, &b, err);
    if (rc) {
        sb_buf_cleanup(&b);
        return rc;
    }
    size_t n = 0;
    char *s = sb_buf_steal(&b, &n);
    if (!s)
        s = sb_strdup("");
    *out = s;
    *out_len = n;
    return 0;
}

int sb_media_job_run(const struct sb_media_job_limits *lim, sb_media_job_fn fn, void *arg,
                     char **out, size_t *out_len, struct sb_error *err)
{
    if (!lim->isolate)
        return run_inline(fn, arg, out, out_len, err);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return sb_error_set(err, SB_EIO, "media job: pipe: %s", strerror(errno));
    uint64_t as_limit = 0;
#if !defined(__SANITIZE_ADDRESS__)
    if (lim->memory_mb) {
        uint64_t base = vm_size();
        if (base)
            as_limit = base + (uint64_t)lim->memory_mb * 1024 * 1024;
    }
#endif
    int64_t start = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return sb_error_set(err, SB_EIO, "media job: fork: %s", strerror(e));
    }
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], lim, as_limit, fn, arg);
    }
    close(fds[1]);
    int64_t deadline = lim->time_ms ? start + lim->time_ms + KILL_GRACE_MS : 0;
    uint32_t hdr[3];
    char msg[256] = "";
    char *buf = NULL;
    int rc = 0;
    int r = read_until(fds[0], hdr, sizeof(hdr), deadline);
    if (r == 0) {
        int code = (int)(int32_t)hdr[0];
        size_t ml = hdr[1] < sizeof(msg) ? hdr[1] : sizeof(msg) - 1;
        size_t pl = hdr[2];
        if (code > 0 || code < -1000 || hdr[1] >= sizeof(msg) || pl > MAX_RESULT) {
            r = -1;
        } else if (code) {
            r = read_until(fds[0], msg, ml, deadline);
            msg[ml] = '\0';
            if (r == 0)
                rc = sb_error_set(err, code, "%s", msg);
        } else {
            buf = sb_malloc(pl + 1);
            r = read_until(fds[0], buf, pl, deadline);
            buf[pl] = '\0';
            *out_len = pl;
        }
    }
    close(fds[0]);
    int status = 0;
    if (r == 1)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (r == 1) {
        free(buf);
        return sb_error_set(err, SB_ETIMEDOUT,
                            "over the time limit of %u ms; the job was stopped", lim->time_ms);
    }
    if (r < 0) {
        free(buf);
        if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            if (sig == SIGXCPU || sig == SIGKILL)
                return sb_error_set(err, SB_ETIMEDOUT,
                                    "over the time limit of %u ms (CPU); the job was stopped",
                                    lim->time_ms);
            if (as_limit)
                return sb_error_set(err, SB_EINTERNAL,
                                    "the job died with signal %d (%s), most likely over its "
                                    "memory limit of %u MB",
                                    sig, strsignal(sig), lim->memory_mb);
            return sb_error_set(err, SB_EINTERNAL, "the job died with signal %d (%s)", sig,
                                strsignal(sig));
        }
        return sb_error_set(err, SB_EINTERNAL, "the job ended without a result (exit %d)",
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (rc)
        return rc;
    *out = buf;
    return 0;
}

/* ---- warm-up ---- */

static _Thread_local unsigned warmed; /* bit 0 OCR, bit 1 + mode: ASR modes */

void sb_media_job_warm_up(int asr, int mode)
{
    unsigned bit = asr ? 1u << (1 + (mode & 7)) : 1u;
    if (warmed & bit)
        return;
    warmed |= bit;
    struct sb_error err = {0};
    if (!asr) {
        uint8_t px[64 * 64];
        memset(px, 0xFF, sizeof(px));
        struct sb_image img = {.width = 64, .height = 64, .stride = 64, .px = px};
        struct sb_ocr_opts o = {.time_limit_ms = 5000};
        struct sb_ocr_page page = {0};
        sb_ocr_tesseract.recognize(&img, &o, &page, &err);
        sb_ocr_page_cleanup(&page);
        sb__ocr_ppocr_available(NULL); /* the network too, once, before jobs fork */
        sb_media_sniff("\x89PNG\r\n\x1a\n", 8, NULL, 0);
        return;
    }
    /* 0.25 s of silence, 16 kHz mono 16-bit */
    enum { RATE = 16000, SAMPLES = RATE / 4, DATA = SAMPLES * 2 };
    unsigned char wav[44 + DATA];
    memset(wav, 0, sizeof(wav));
    static const unsigned char hdr[44] = {
        'R', 'I', 'F', 'F', (36 + DATA) & 0xFF, ((36 + DATA) >> 8) & 0xFF, 0, 0,
        'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
        RATE & 0xFF, RATE >> 8, 0, 0, (RATE * 2) & 0xFF, ((RATE * 2) >> 8) & 0xFF,
        ((RATE * 2) >> 16) & 0xFF, 0, 2, 0, 16, 0, 'd', 'a', 't', 'a', DATA & 0xFF,
        (DATA >> 8) & 0xFF, 0, 0};
    memcpy(wav, hdr, sizeof(hdr));
    struct sb_asr_opts o = {.mode = (enum sb_asr_mode)mode, .time_limit_ms = 10000};
    struct sb_asr_result res = {0};
    if (sb_media_asr_wav(wav, sizeof(wav), &o, NULL, &res, &err) == 0)
        sb_media_asr_result_cleanup(&res);
}

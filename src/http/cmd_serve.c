/* SPDX-License-Identifier: MIT */
/*
 * `switchboard serve`: load the configuration, open and migrate the store, make sure the
 * default tenant exists with its API and web inboxes, an admin key and a first agent, then run
 * the server until SIGTERM; SIGHUP reloads the bot's models (sb_assist_models_reload). Secrets created here are written to the data directory with mode
 * 0600 and only their paths are printed.
 */
#include "api.h"

#include "sb/cli.h"
#include "sb/log.h"
#include "sb/media.h"
#include "sb/media_job.h"
#include "sb/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SB_DEFAULT_WEB_DIR
#define SB_DEFAULT_WEB_DIR "web"
#endif
#ifndef SB_DEFAULT_DEMO_DIR
#define SB_DEFAULT_DEMO_DIR "demo"
#endif

#define DEMO_AGENT_EMAIL "agent@demo.local"

/* Reads a small secret file into `out` (NUL-terminated, trailing newline removed). */
static int read_secret(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return n ? 0 : -1;
}

/* Writes a secret file that only the owner can read; fails if it exists. */
static int write_secret(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, data, len);
    int rc = (w == (ssize_t)len && fsync(fd) == 0) ? 0 : -1;
    close(fd);
    return rc;
}

/* The file's secret, or a new random one (written first). */
static int load_or_create(const char *path, const char *prefix, char *out, size_t cap,
                          int *created)
{
    *created = 0;
    if (read_secret(path, out, cap) == 0)
        return 0;
    char *fresh = sb__auth_new_secret(prefix);
    snprintf(out, cap, "%s", fresh);
    sodium_memzero(fresh, strlen(fresh));
    free(fresh);
    char line[256];
    int n = snprintf(line, sizeof(line), "%s\n", out);
    if (write_secret(path, line, (size_t)n) != 0)
        return -1;
    *created = 1;
    return 0;
}

static int ensure_inbox(struct sb_store *st, sb_id tenant, const char *kind, const char *name,
                        sb_id *id, struct sb_error *err)
{
    struct sb_inbox ib = {0};
    if (sb_store_inbox_find(st, tenant, name, &ib, NULL) == 0) {
        *id = ib.id;
        sb_inbox_cleanup(&ib);
        return 0;
    }
    return sb_store_inbox_create(st, tenant, kind, name, NULL, id, err);
}

struct seed {
    sb_id tenant, api_inbox, web_inbox;
    unsigned char secret[32];
};

static int seed(struct sb_store *st, const struct sb_config *cfg, const char *data,
                struct seed *out, struct sb_error *err)
{
    const char *slug = sb_config_str(cfg, "tenant");
    struct sb_tenant t;
    int rc = sb_store_tenant_find(st, slug, &t, NULL);
    if (rc == 0)
        out->tenant = t.id;
    else if ((rc = sb_store_tenant_create(st, slug, "Demo Shop", &out->tenant, err)))
        return rc;
    if ((rc = ensure_inbox(st, out->tenant, "api", "api", &out->api_inbox, err)) ||
        (rc = ensure_inbox(st, out->tenant, "web", "web", &out->web_inbox, err)))
        return rc;

    char path[4096], secret[256];
    int created;
    const char *env_key = getenv("SWITCHBOARD_ADMIN_KEY");
    if (env_key && *env_key) {
        snprintf(secret, sizeof(secret), "%s", env_key);
        SB_LOG(SB_LOG_INFO, "serve", "admin API key: from SWITCHBOARD_ADMIN_KEY");
    } else {
        snprintf(path, sizeof(path), "%s/admin.key", data);
        if (load_or_create(path, "sbk_", secret, sizeof(secret), &created))
            return sb_error_set(err, SB_EIO, "%s: cannot read or write the admin key", path);
        SB_LOG(SB_LOG_INFO, "serve", "admin API key: %s%s", path, created ? " (new)" : "");
    }
    rc = sb__auth_store_key(st, out->tenant, "admin", SB_ROLE_ADMIN, secret, err);
    sodium_memzero(secret, sizeof(secret));
    if (rc)
        return rc;
    if ((rc = sb__workspace_seed(st, out->tenant, err))) /* demo canned replies, once */
        return rc;

    struct sb_agent a;
    if (sb_store_agent_find(st, out->tenant, DEMO_AGENT_EMAIL, &a, NULL) != 0) {
        const char *env_pw = getenv("SWITCHBOARD_AGENT_PASSWORD");
        char pw[256];
        if (env_pw && *env_pw) {
            snprintf(pw, sizeof(pw), "%s", env_pw);
        } else {
            snprintf(path, sizeof(path), "%s/agent.password", data);
            if (load_or_create(path, "", pw, sizeof(pw), &created))
                return sb_error_set(err, SB_EIO, "%s: cannot write the agent password", path);
        }
        char hash[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            return sb_error_set(err, SB_ENOMEM, "password hashing failed");
        sodium_memzero(pw, sizeof(pw));
        sb_id id;
        if ((rc = sb_store_agent_create(st, out->tenant, DEMO_AGENT_EMAIL, "Demo Agent",
                                        SB_ROLE_ADMIN, hash, &id, err)))
            return rc;
        SB_LOG(SB_LOG_INFO, "serve", "console login: %s, password in %s/agent.password",
               DEMO_AGENT_EMAIL, data);
    }

    /* The secret that signs widget visitor tokens. */
    snprintf(path, sizeof(path), "%s/secret.key", data);
    char hex[65];
    if (read_secret(path, hex, sizeof(hex)) != 0 || strlen(hex) != 64) {
        randombytes_buf(out->secret, sizeof(out->secret));
        sodium_bin2hex(hex, sizeof(hex), out->secret, sizeof(out->secret));
        if (write_secret(path, hex, 64) != 0)
            return sb_error_set(err, SB_EIO, "%s: cannot write the server secret", path);
    } else if (sodium_hex2bin(out->secret, sizeof(out->secret), hex, 64, NULL, NULL, NULL)) {
        return sb_error_set(err, SB_ECONFIG, "%s: not a 64-digit hex secret", path);
    }
    return 0;
}

/* SIGHUP is blocked in every thread (sb_cmd_serve blocks it before creating any) and taken
 * here with sigwait, so the reload runs on an ordinary thread, not in a signal handler. */
struct hup_thread {
    struct sb_assist *assist; /* NULL: nothing to reload */
    pthread_t thread;
    atomic_int stop;
};

static void *hup_main(void *arg)
{
    struct hup_thread *h = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&h->stop))
            break;
        if (!h->assist) {
            SB_LOG(SB_LOG_WARN, "serve", "SIGHUP: bot_policy is basic, no models to reload");
            continue;
        }
        struct sb_assist_model_info info[2];
        struct sb_error err = {0};
        if (sb_assist_models_reload(h->assist, info, &err))
            SB_LOG(SB_LOG_ERROR, "serve", "SIGHUP: %s; the models in use are unchanged",
                   err.msg);
        else
            SB_LOG(SB_LOG_INFO, "serve", "SIGHUP: models reloaded (intent %s, sentiment %s)",
                   info[0].loaded ? "new" : "unchanged", info[1].loaded ? "new" : "unchanged");
    }
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: switchboard serve [--listen ADDR:PORT] [--data DIR] [--config FILE] "
                 "[--NAME VALUE ...]\n\nsettings (also SB_NAME environment variables):\n");
    sb_config_write_help(out);
    fprintf(out, "\n  --print-config           print the sample configuration file and exit\n");
}

int sb_cmd_serve(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--print-config")) {
            sb_config_write_sample(stdout);
            return 0;
        }
    }
    /* OCR on the workers: cap tesseract's OpenMP teams at one thread (see docs/media.md) */
    if (sb_media_single_thread_reexec("serve", argc - 1, argv + 1) != 0)
        fprintf(stderr, "switchboard: warning: OpenMP not limited to one thread\n");
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an error return, not a process death */
    sigset_t hup_set; /* before any thread exists, so that every thread inherits the mask */
    sigemptyset(&hup_set);
    sigaddset(&hup_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup_set, NULL);
    struct hup_thread hup = {0};
    int have_hup = 0;
    if (sodium_init() < 0) {
        fprintf(stderr, "switchboard: libsodium failed to initialise\n");
        return 1;
    }
    struct sb_error err = {0};
    struct sb_config *cfg = sb_config_new();
    struct sb_store *st = NULL;
    struct sb_pool *pool = NULL, *bot_pool = NULL;
    struct sb_server *srv = NULL;
    struct sb_assist assist = {0};
    int have_assist = 0;
    int status = 1;
    if (sb_config_load_all(cfg, argc, argv, &err)) {
        fprintf(stderr, "switchboard: %s\n\n", err.msg);
        usage(stderr);
        status = 2;
        goto out;
    }
    sb_media_job_configure(cfg); /* per-job OCR/ASR limits (sb/media_job.h) */
    int level = sb_log_level_parse(sb_config_str(cfg, "log_level"));
    sb_log_configure(level < 0 ? SB_LOG_INFO : (enum sb_log_level)level,
                     sb_config_bool(cfg, "log_json"));

    const char *data = sb_config_str(cfg, "data");
    if (mkdir(data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "switchboard: cannot create data directory %s: %s\n", data,
                strerror(errno));
        goto out;
    }
    const char *loc = sb_config_str(cfg, "store");
    if (sb_store_open(&st, *loc ? loc : data, &err)) {
        fprintf(stderr, "switchboard: store: %s\n", err.msg);
        goto out;
    }
    int from, to;
    if (sb_store_migrate(st, &from, &to, &err)) {
        fprintf(stderr, "switchboard: migrating the store: %s\n", err.msg);
        goto out;
    }
    if (from != to)
        SB_LOG(SB_LOG_INFO, "serve", "store schema migrated from version %d to %d", from, to);
    struct seed sd = {0};
    if (seed(st, cfg, data, &sd, &err)) {
        fprintf(stderr, "switchboard: setting up the default tenant: %s\n", err.msg);
        goto out;
    }
    const char *policy = sb_config_str(cfg, "bot_policy");
    if (strcmp(policy, "assist") && strcmp(policy, "basic")) {
        fprintf(stderr, "switchboard: bot_policy must be assist or basic, got '%s'\n", policy);
        goto out;
    }
    if (!strcmp(policy, "assist")) {
        const char *demo = sb_config_str(cfg, "demo_dir");
        if (sb_assist_init(&assist, data, *demo ? demo : SB_DEFAULT_DEMO_DIR, sd.tenant, &err)) {
            fprintf(stderr, "switchboard: loading the bot's models and knowledge: %s\n", err.msg);
            goto out;
        }
        have_assist = 1;
        if (sb_assist_configure_llm(&assist, cfg, &err)) {
            fprintf(stderr, "switchboard: LLM phrasing: %s\n", err.msg);
            goto out;
        }
    }
    hup.assist = have_assist ? &assist : NULL;
    atomic_init(&hup.stop, 0);
    have_hup = pthread_create(&hup.thread, NULL, hup_main, &hup) == 0;
    pool = sb_pool_new((int)sb_config_int(cfg, "workers"), 65536);
    /* Acknowledging messages is latency-critical; bot turns are throughput work. */
    bot_pool = sb_pool_new_niced((int)sb_config_int(cfg, "bot_workers"), 65536, 5);
    sb_pool_name(pool, "sb-worker");
    sb_pool_name(bot_pool, "sb-bot");
    const char *web = sb_config_str(cfg, "web_dir");
    struct sb_server_options so = {
        .config = cfg,
        .store = st,
        .pool = pool,
        .bot_pool = bot_pool,
        .default_tenant = sd.tenant,
        .default_api_inbox = sd.api_inbox,
        .default_web_inbox = sd.web_inbox,
        .secret = sd.secret,
        .web_dir = *web ? web : SB_DEFAULT_WEB_DIR,
        .assist = have_assist ? &assist : NULL,
    };
    if (sb_server_new(&so, &srv, &err)) {
        fprintf(stderr, "switchboard: %s\n", err.msg);
        goto out;
    }
    sodium_memzero(sd.secret, sizeof(sd.secret));
    char host[256];
    snprintf(host, sizeof(host), "%s", sb_config_str(cfg, "listen"));
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    printf("switchboard: listening on http://%s:%d (widget /widget, console /console)\n", host,
           sb_server_port(srv));
    fflush(stdout);
    status = sb_server_run(srv) ? 1 : 0;
    SB_LOG(SB_LOG_INFO, "serve", "stopped");
out:
    if (have_hup) {
        atomic_store(&hup.stop, 1);
        pthread_kill(hup.thread, SIGHUP);
        pthread_join(hup.thread, NULL);
    }
    sb_server_free(srv);
    sb_pool_free(bot_pool);
    sb_pool_free(pool);
    if (have_assist)
        sb_assist_cleanup(&assist);
    sb_store_close(st);
    sb_config_free(cfg);
    return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * The LLM phrasing client against a small OpenAI-compatible stub server that this test forks on
 * 127.0.0.1 (an ephemeral port): a grounded reply is used; a reply with a number or claim not in
 * the passages, an HTTP error, a non-JSON or oversized body, a missing key and a server slower
 * than the timeout all fall back to the extractive answer (the slow one within the timeout);
 * PII never reaches the server. Also the grounding check on its own (English and Chinese).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/clock.h"
#include "sb/llm.h"
#include "sb/mem.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t stub_pid;
static int stub_port;
static char last_body_path[] = "/tmp/sb-llm-stub-XXXXXX";

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static void respond(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

static void reply_content(int fd, const char *content)
{
    char *b = sb_strdupf("{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                         "\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
                         "\"finish_reason\":\"stop\"}]}",
                         content);
    respond(fd, 200, b);
    free(b);
}

/* One request: headers, then Content-Length bytes; behaviour chosen by the model name. */
static void serve_one(int fd)
{
    struct sb_buf b;
    sb_buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t need = (size_t)-1;
    while (b.len < need) {
        ssize_t k = read(fd, chunk, sizeof(chunk));
        if (k <= 0)
            break;
        sb_buf_append(&b, chunk, (size_t)k);
        char *end = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
        if (end && need == (size_t)-1) {
            char *cl = strcasestr(b.data, "content-length:");
            need = (size_t)(end + 4 - b.data) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        }
    }
    const char *req = b.data ? b.data : "";
    const char *body = strstr(req, "\r\n\r\n");
    body = body ? body + 4 : "";
    FILE *f = fopen(last_body_path, "w");
    if (f) {
        fputs(body, f);
        fclose(f);
    }
    if (!strstr(req, "POST /v1/chat/completions "))
        respond(fd, 404, "{}");
    else if (strstr(body, "\"model\":\"good\""))
        reply_content(fd, "Sure! You can return any item within 30 days of delivery, unused.");
    else if (strstr(body, "\"model\":\"invent\""))
        reply_content(fd, "You can return any item within 60 days. We also refund shipping.");
    else if (strstr(body, "\"model\":\"keyed\""))
        strstr(req, "Authorization: Bearer k-123\r\n")
            ? reply_content(fd, "You can return any item within 30 days of delivery.")
            : respond(fd, 401, "{\"error\":\"no key\"}");
    else if (strstr(body, "\"model\":\"status500\""))
        respond(fd, 500, "{\"error\":\"down\"}");
    else if (strstr(body, "\"model\":\"notjson\""))
        respond(fd, 200, "<html>oops</html>");
    else if (strstr(body, "\"model\":\"nocontent\""))
        respond(fd, 200, "{\"choices\":[]}");
    else if (strstr(body, "\"model\":\"huge\"")) {
        char *big = sb_malloc(300000);
        memset(big, 'a', 299999);
        big[299999] = '\0';
        reply_content(fd, big);
        free(big);
    } else if (strstr(body, "\"model\":\"slow\"")) {
        sleep(3);
        reply_content(fd, "You can return any item within 30 days of delivery.");
    } else
        respond(fd, 400, "{}");
    sb_buf_cleanup(&b);
}

static int stub_start(void **state)
{
    (void)state;
    int fd = mkstemp(last_body_path);
    assert_true(fd >= 0);
    close(fd);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 16), 0);
    socklen_t al = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &al);
    stub_port = ntohs(a.sin_port);
    stub_pid = fork();
    assert_true(stub_pid >= 0);
    if (stub_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a test that crashed */
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0)
                continue;
            serve_one(c);
            close(c);
        }
    }
    close(s);
    return 0;
}

static int stub_stop(void **state)
{
    (void)state;
    kill(stub_pid, SIGTERM);
    waitpid(stub_pid, NULL, 0);
    unlink(last_body_path);
    return 0;
}

static const char *const passages[] = {
    "You may return any item within 30 days of delivery, unused and in its original packaging.",
    "We refund the purchase price within 5 working days.",
};
static const char *const extractive = "You may return any item within 30 days of delivery.";

static struct sb_llm *client(const char *model, const char *key, long timeout_ms)
{
    char *url = sb_strdupf("http://127.0.0.1:%d/v1/", stub_port);
    struct sb_llm_config cfg = {.url = url, .model = model, .api_key = key,
                                .timeout_ms = timeout_ms, .max_response = 64 * 1024};
    struct sb_llm *l = NULL;
    assert_int_equal(sb_llm_new(&cfg, &l, NULL), 0);
    free(url);
    return l;
}

/* Phrases with `model`; returns whether the LLM text was used and checks the fallback. */
static int phrase(const char *model, const char *key, long timeout_ms, int want_code)
{
    struct sb_llm *l = client(model, key, timeout_ms);
    char *out = NULL;
    int used = -1;
    struct sb_error err = {0};
    assert_int_equal(sb_llm_phrase(l, "How long can I return my sofa? Mail me at ann@example.com",
                                   extractive, passages, 2, &out, &used, &err),
                     0);
    assert_non_null(out);
    if (!used)
        assert_string_equal(out, extractive);
    if (want_code)
        assert_int_equal(err.code, want_code);
    free(out);
    sb_llm_free(l);
    return used;
}

static void test_grounded_reply_used_and_pii_redacted(void **state)
{
    (void)state;
    assert_int_equal(phrase("good", NULL, 2000, 0), 1);
    FILE *f = fopen(last_body_path, "r");
    assert_non_null(f);
    char body[8192] = {0};
    size_t n = fread(body, 1, sizeof(body) - 1, f);
    fclose(f);
    assert_true(n > 0);
    assert_null(strstr(body, "ann@example.com"));
    assert_non_null(strstr(body, "[EMAIL]"));
    assert_non_null(strstr(body, "30 days of delivery"));
}

static void test_unsupported_or_failed_reply_falls_back(void **state)
{
    (void)state;
    assert_int_equal(phrase("invent", NULL, 2000, SB_EINVAL), 0);
    assert_int_equal(phrase("status500", NULL, 2000, SB_EIO), 0);
    assert_int_equal(phrase("notjson", NULL, 2000, SB_EPARSE), 0);
    assert_int_equal(phrase("nocontent", NULL, 2000, SB_EPARSE), 0);
    assert_int_equal(phrase("huge", NULL, 2000, SB_ETOOBIG), 0);
    assert_int_equal(phrase("keyed", NULL, 2000, SB_EIO), 0);
    assert_int_equal(phrase("keyed", "k-123", 2000, 0), 1);
    /* no LLM configured: the extractive answer */
    char *out = NULL;
    int used = -1;
    assert_int_equal(sb_llm_phrase(NULL, "q", extractive, passages, 2, &out, &used, NULL), 0);
    assert_string_equal(out, extractive);
    assert_int_equal(used, 0);
    free(out);
}

static void test_slow_server_bounded_by_timeout(void **state)
{
    (void)state;
    int64_t t0 = sb_mono_ns();
    assert_int_equal(phrase("slow", NULL, 300, SB_ETIMEDOUT), 0);
    double ms = (double)(sb_mono_ns() - t0) / 1e6;
    assert_true(ms < 1500);
}

static void test_config_errors(void **state)
{
    (void)state;
    struct sb_llm *l = NULL;
    struct sb_llm_config c = {.url = "ftp://x", .model = "m"};
    assert_int_equal(sb_llm_new(&c, &l, NULL), SB_EINVAL);
    c.url = "http://x";
    c.model = "";
    assert_int_equal(sb_llm_new(&c, &l, NULL), SB_EINVAL);
    c.model = "m";
    c.api_key = "bad\r\nInjected: 1";
    assert_int_equal(sb_llm_new(&c, &l, NULL), SB_EINVAL);
    assert_null(l);
    sb_llm_free(NULL);
}

static void test_grounding_check(void **state)
{
    (void)state;
    size_t bad = 99;
    /* paraphrase with the same facts */
    assert_int_equal(sb_llm_grounded("Sure! Items can be returned within 30 days of delivery.",
                                     passages, 2, &bad), 1);
    /* a number the passages do not have */
    assert_int_equal(sb_llm_grounded("You may return items within 30 days. Refunds take 10 "
                                     "working days.", passages, 2, &bad), 0);
    assert_int_equal(bad, 1);
    /* a claim made of words the passages do not have */
    assert_int_equal(sb_llm_grounded("You get a free gift voucher with every exchange.", passages,
                                     2, &bad), 0);
    assert_int_equal(bad, 0);
    /* "1,000" and "1000" are one number; decimals stay whole */
    const char *p2[] = {"Shipping is free above 1000 €; parcels cost 9.50 €."};
    assert_int_equal(sb_llm_grounded("Free shipping from 1,000 €. A parcel costs 9.50 €.", p2, 1,
                                     NULL), 1);
    assert_int_equal(sb_llm_grounded("A parcel costs 9.95 €.", p2, 1, NULL), 0);
    /* Chinese: characters must come from the passages */
    const char *zh[] = {"收货后30天内可以退货，商品需保持未使用状态。"};
    assert_int_equal(sb_llm_grounded("我们提供免费安装服务。", zh, 1, NULL), 0);
    assert_int_equal(sb_llm_grounded("您可以在收货后30天内退货。", zh, 1, NULL), 1); /* 9 of 11 */
    assert_int_equal(sb_llm_grounded("收货后30天内可以退货。", zh, 1, NULL), 1);
    assert_int_equal(sb_llm_grounded("收货后60天内可以退货。", zh, 1, NULL), 0);
    /* nothing to check is not grounded */
    assert_int_equal(sb_llm_grounded("", passages, 2, NULL), 0);
    assert_int_equal(sb_llm_grounded("ok", NULL, 0, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grounding_check),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_grounded_reply_used_and_pii_redacted),
        cmocka_unit_test(test_unsupported_or_failed_reply_falls_back),
        cmocka_unit_test(test_slow_server_bounded_by_timeout),
    };
    return cmocka_run_group_tests(tests, stub_start, stub_stop);
}

/* SPDX-License-Identifier: MIT */
/*
 * The sentence encoder (src/embed) against the package's own JavaScript: piece ids of a few
 * texts from @energetic-ai/embeddings' tokenizer (tests/fixtures/embed/tokens.tsv), and
 * embeddings of four sentences written for this test plus the empty text, computed with
 * @tensorflow/tfjs's CPU backend on the same model files (tests/fixtures/embed/ref.tsv: a JSON
 * string, then 512 floats; the fourth text has 153 pieces, so the 128-piece clip is exercised).
 * Each C embedding must have cosine ≥ 0.9999 with its reference. Invalid UTF-8 is rejected with
 * SB_EINVAL. Two threads sharing the model agree with one. Skipped when the model is not
 * installed (scripts/deps.sh installs it).
 */
#include "sb/embed.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* after setjmp.h, stdarg.h and stddef.h, which it needs */
#include <cmocka.h>

static struct sb_embed_model *model;
static char skip_why[SB_ERROR_MSG_MAX];
static int load_rc; /* a load failure other than "not installed" fails the tests */

static int setup(void **state)
{
    (void)state;
    struct sb_error err = {0};
    if (sb_embed_load(NULL, &model, &err) < 0) {
        model = NULL;
        load_rc = err.code == SB_ENOTFOUND ? 0 : err.code;
        snprintf(skip_why, sizeof skip_why, "%s", err.msg);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_embed_free(model);
    return 0;
}

#define NEED_MODEL()                                                                               \
    do {                                                                                           \
        if (!model) {                                                                              \
            if (load_rc)                                                                           \
                fail_msg("model failed to load: %s", skip_why);                                    \
            printf("skipped: USE-lite model not installed (%s)\n", skip_why);                      \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* One fixture line: the JSON-quoted text (decoded into *text, free()) and the rest. */
static const char *split_line(char *line, char **text)
{
    char *tab = strchr(line, '\t');
    assert_non_null(tab);
    *tab = '\0';
    json_error_t je;
    json_t *s = json_loads(line, JSON_DECODE_ANY, &je);
    assert_non_null(s);
    assert_true(json_is_string(s));
    *text = strdup(json_string_value(s));
    json_decref(s);
    return tab + 1;
}

static FILE *open_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/embed/%s", SB_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    return f;
}

static void test_tokens(void **state)
{
    (void)state;
    NEED_MODEL();
    FILE *f = open_fixture("tokens.tsv");
    static char line[65536];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *text;
        const char *rest = split_line(line, &text);
        int32_t want[512], got[512];
        size_t nw = 0, ng = 0;
        char *end;
        for (const char *p = rest; *p; p = end) {
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            want[nw++] = (int32_t)v;
        }
        struct sb_error err = {0};
        assert_int_equal(sb_embed_tokenize(model, text, got, 512, &ng, &err), 0);
        if (ng != nw || memcmp(got, want, nw * sizeof *got) != 0) {
            fprintf(stderr, "tokens differ for \"%s\":", text);
            for (size_t i = 0; i < ng; i++)
                fprintf(stderr, " %d", got[i]);
            fprintf(stderr, "\n");
        }
        assert_int_equal(ng, nw);
        assert_memory_equal(got, want, nw * sizeof *got);
        free(text);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 5);
}

static void test_reference_embeddings(void **state)
{
    (void)state;
    NEED_MODEL();
    FILE *f = open_fixture("ref.tsv");
    static char line[65536];
    int cases = 0, clipped = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *text;
        const char *rest = split_line(line, &text);
        float ref[SB_EMBED_DIM], got[SB_EMBED_DIM];
        char *end;
        for (int i = 0; i < SB_EMBED_DIM; i++, rest = end) {
            ref[i] = strtof(rest, &end);
            assert_true(end != rest);
        }
        struct sb_error err = {0};
        assert_int_equal(sb_embed_text(model, text, got, &err), 0);
        double dot = 0, nr = 0, ng = 0;
        for (int i = 0; i < SB_EMBED_DIM; i++) {
            dot += (double)got[i] * ref[i];
            nr += (double)ref[i] * ref[i];
            ng += (double)got[i] * got[i];
        }
        double cosv = dot / sqrt(nr * ng);
        printf("cos %.9f  %.40s\n", cosv, text);
        assert_true(cosv >= 0.9999);
        assert_true(fabs(ng - 1.0) < 1e-4);
        size_t n = 0;
        assert_int_equal(sb_embed_tokenize(model, text, NULL, 0, &n, &err), 0);
        if (n > SB_EMBED_MAX_TOKENS)
            clipped++;
        free(text);
        cases++;
    }
    fclose(f);
    assert_int_equal(cases, 5);
    assert_int_equal(clipped, 1);
}

static void test_empty_text(void **state)
{
    (void)state;
    NEED_MODEL();
    struct sb_error err = {0};
    size_t n = 99;
    assert_int_equal(sb_embed_tokenize(model, "", NULL, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    float e[SB_EMBED_DIM];
    assert_int_equal(sb_embed_text(model, "", e, &err), 0);
    assert_true(fabsf(sb_embed_cosine(e, e) - 1.0f) < 1e-4f);
}

/* Pieces past the 128th do not change the embedding. */
static void test_clip(void **state)
{
    (void)state;
    NEED_MODEL();
    static char a[8192], b[8192];
    size_t la = 0;
    for (int i = 0; i < 200; i++)
        la += (size_t)snprintf(a + la, sizeof a - la, "w%d ", i % 10);
    memcpy(b, a, la + 1);
    snprintf(b + la, sizeof b - la, "something entirely different at the end");
    struct sb_error err = {0};
    size_t n = 0;
    assert_int_equal(sb_embed_tokenize(model, a, NULL, 0, &n, &err), 0);
    assert_true(n > SB_EMBED_MAX_TOKENS + 20);
    float ea[SB_EMBED_DIM], eb[SB_EMBED_DIM];
    assert_int_equal(sb_embed_text(model, a, ea, &err), 0);
    assert_int_equal(sb_embed_text(model, b, eb, &err), 0);
    assert_memory_equal(ea, eb, sizeof ea);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    NEED_MODEL();
    float e[SB_EMBED_DIM];
    for (int i = 0; i < SB_EMBED_DIM; i++)
        e[i] = 7.0f;
    struct sb_error err = {0};
    assert_int_equal(sb_embed_text(model, "abc \xff def", e, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "byte 4"));
    assert_true(e[0] == 7.0f);
    struct sb_error err2 = {0};
    assert_int_equal(sb_embed_text(model, "caf\xc3", e, &err2), SB_EINVAL);
    struct sb_error err3 = {0};
    size_t n = 0;
    assert_int_equal(sb_embed_tokenize(model, "\xed\xa0\x80", NULL, 0, &n, &err3), SB_EINVAL);
}

/* Two threads sharing the model get the same vectors as one thread. */
struct job {
    const char *text;
    float e[SB_EMBED_DIM];
    int rc;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    struct sb_error err = {0};
    for (int i = 0; i < 5 && j->rc == 0; i++)
        j->rc = sb_embed_text(model, j->text, j->e, &err);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    NEED_MODEL();
    struct job jobs[2] = {{.text = "Where is my parcel? It was due on Monday."},
                          {.text = "Can I pay the invoice by bank transfer instead of card?"}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        float e[SB_EMBED_DIM];
        struct sb_error err = {0};
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(sb_embed_text(model, jobs[i].text, e, &err), 0);
        assert_memory_equal(e, jobs[i].e, sizeof e);
    }
}

static void test_load_errors(void **state)
{
    (void)state;
    struct sb_error err = {0};
    struct sb_embed_model *m = NULL;
    assert_int_equal(sb_embed_load("/nonexistent/embed-model", &m, &err), SB_ENOTFOUND);
    assert_null(m);
    assert_non_null(strstr(err.msg, "model.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),       cmocka_unit_test(test_reference_embeddings),
        cmocka_unit_test(test_empty_text),   cmocka_unit_test(test_clip),
        cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_threads),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: MIT */
/*
 * `switchboard kb`: import files into a tenant's knowledge base, search it, ask it a question
 * (the bot's real answer path), list and delete entries. Works on DATA/kb.db directly, so it can
 * run while no daemon does; a running daemon picks up changes made through its REST API, not
 * through this command (it loads kb.db at start).
 */
#include "sb/cli.h"
#include "sb/kb.h"
#include "kb_internal.h"

#include "sb/mem.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void kb_usage(FILE *out)
{
    fprintf(out,
            "usage: switchboard kb import FILE... [--data DIR] [--tenant SLUG|ID]\n"
            "       switchboard kb search \"query\" [--json] [-k N] [--lang L] [--data DIR] "
            "[--tenant T]\n"
            "       switchboard kb answer \"question\" [--json] [--lang L] [--data DIR] "
            "[--tenant T]\n"
            "       switchboard kb list [--data DIR] [--tenant T]\n"
            "       switchboard kb delete ID [--data DIR] [--tenant T]\n"
            "       switchboard kb calibrate ... (fit the answer confidence; --help)\n"
            "\n"
            "Files: .md .html .txt (articles), .csv (catalogue: sku,name,price,... columns),\n"
            ".jsonl (FAQ {\"id\",\"question\",\"answer\"} or passages {\"id\",\"text\"}).\n"
            "All files of one import are stored in one transaction, or none on any error.\n"
            "DIR defaults to $SB_DATA or ./data; the tenant to \"demo\" (id 1).\n");
}

/* Tenant id from a number, or a slug looked up in the core store (DATA/switchboard.db). The
 * demo tenant is id 1 when there is no store yet. */
int sb__kb_resolve_tenant(const char *data, const char *t, int64_t *id)
{
    char *end;
    long long v = strtoll(t, &end, 10);
    if (*t && *end == '\0' && v > 0) {
        *id = v;
        return 0;
    }
    char *path = sb_strdupf("%s/switchboard.db", data);
    sqlite3 *db = NULL;
    int found = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT id FROM tenants WHERE slug=?", -1, &st, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                *id = sqlite3_column_int64(st, 0);
                found = 1;
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    free(path);
    if (!found && strcmp(t, "demo") == 0) {
        *id = 1;
        found = 1;
    }
    if (!found) {
        fprintf(stderr, "switchboard kb: unknown tenant '%s'\n", t);
        return -1;
    }
    return 0;
}

int sb_cmd_kb(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        kb_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "calibrate") == 0)
        return sb__kb_cmd_calibrate(argc - 1, argv + 1);
    const char *data = getenv("SB_DATA");
    if (!data || !data[0])
        data = "./data";
    const char *tenant_s = "demo", *lang = NULL;
    int json = 0;
    long k = 5;
    const char **pos = sb_calloc((size_t)argc, sizeof(char *));
    size_t npos = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--data") == 0 || strcmp(a, "--tenant") == 0 || strcmp(a, "-k") == 0 ||
             strcmp(a, "--lang") == 0) &&
            i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 'd')
                data = v;
            else if (a[2] == 't')
                tenant_s = v;
            else if (a[2] == 'l')
                lang = v;
            else
                k = strtol(v, NULL, 10);
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "switchboard kb: unknown option '%s'\n", a);
            free(pos);
            kb_usage(stderr);
            return 2;
        } else {
            pos[npos++] = a;
        }
    }
    int status = 0;
    struct sb_kb *kb = NULL;
    struct sb_error err = {0};
    int64_t tenant;
    if (k < 1 || k > 100) {
        fprintf(stderr, "switchboard kb: -k must be 1..100\n");
        status = 2;
        goto out;
    }
    if ((strcmp(sub, "import") == 0 && npos < 1) ||
        ((strcmp(sub, "search") == 0 || strcmp(sub, "answer") == 0 ||
          strcmp(sub, "delete") == 0) &&
         npos != 1)) {
        kb_usage(stderr);
        status = 2;
        goto out;
    }
    if (sb__kb_resolve_tenant(data, tenant_s, &tenant)) {
        status = 1;
        goto out;
    }
    if (sb_kb_open(data, &kb, &err)) {
        fprintf(stderr, "switchboard kb: %s\n", err.msg);
        status = 1;
        goto out;
    }
    if (strcmp(sub, "import") == 0) {
        size_t n = 0;
        if (sb_kb_import_files(kb, tenant, pos, npos, &n, &err)) {
            fprintf(stderr, "switchboard kb import: %s\n", err.msg);
            status = 1;
        } else {
            printf("imported %zu entries from %zu file(s); tenant %lld now has %zu\n", n, npos,
                   (long long)tenant, sb_kb_count(kb, tenant));
        }
    } else if (strcmp(sub, "search") == 0) {
        struct sb_kb_hit *h = NULL;
        size_t n = 0;
        if (sb_kb_search(kb, tenant, pos[0], lang, (size_t)k, &h, &n, &err)) {
            fprintf(stderr, "switchboard kb search: %s\n", err.msg);
            status = 1;
        } else if (json) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:s,s:s,s:f}", "id", h[i].id,
                                                     "kind", h[i].kind, "title", h[i].title,
                                                     "heading", h[i].heading, "link", h[i].link,
                                                     "score", h[i].score));
            char *s = json_dumps(arr, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
            json_decref(arr);
        } else {
            for (size_t i = 0; i < n; i++)
                printf("%2zu. %-24s %7.3f  %s%s%s\n", i + 1, h[i].id, h[i].score, h[i].title,
                       h[i].heading[0] ? " — " : "", h[i].heading);
            if (n == 0)
                printf("no match\n");
        }
        sb_kb_hits_free(h, n);
    } else if (strcmp(sub, "answer") == 0) {
        struct sb_kb_answer *a = NULL;
        if (sb_kb_answer(kb, tenant, pos[0], lang, &a, &err)) {
            fprintf(stderr, "switchboard kb answer: %s\n", err.msg);
            status = 1;
        } else if (json) {
            json_t *cits = json_array();
            for (size_t i = 0; i < a->n_citations; i++)
                json_array_append_new(cits, json_pack("{s:s,s:s,s:s}", "doc_id",
                                                      a->citations[i].doc_id, "title",
                                                      a->citations[i].title, "link",
                                                      a->citations[i].link));
            json_t *o = json_pack("{s:s,s:s?,s:f,s:o}", "decision",
                                  a->decision == SB_KB_ANSWER ? "answer" : "abstain", "text",
                                  a->text, "confidence", a->confidence, "citations", cits);
            char *s = json_dumps(o, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
            json_decref(o);
        } else {
            if (a->decision == SB_KB_ANSWER)
                printf("%s\n", a->text);
            else
                printf("(abstain: the knowledge base does not answer this; hand off)\n");
            printf("confidence %.2f\n", a->confidence);
            for (size_t i = 0; i < a->n_citations; i++)
                printf("[%zu] %s — %s%s%s\n", i + 1, a->citations[i].doc_id,
                       a->citations[i].title, a->citations[i].link[0] ? " " : "",
                       a->citations[i].link);
        }
        sb_kb_answer_free(a);
    } else if (strcmp(sub, "list") == 0) {
        char *after = sb_strdup("");
        for (;;) {
            struct sb_kb_doc *d = NULL;
            size_t n = 0;
            sb_kb_list(kb, tenant, after, 1000, &d, &n, NULL);
            for (size_t i = 0; i < n; i++)
                printf("%s\t%s\t%s%s%s\n",
                       d[i].id, d[i].kind == SB_KB_FAQ ? "faq" : d[i].kind == SB_KB_PRODUCT
                                                                     ? "product" : "section",
                       d[i].title, d[i].heading[0] ? " — " : "", d[i].heading);
            if (n) {
                free(after);
                after = sb_strdup(d[n - 1].id);
            }
            sb_kb_doc_list_free(d, n);
            if (n < 1000)
                break;
        }
        free(after);
    } else if (strcmp(sub, "delete") == 0) {
        if (sb_kb_delete(kb, tenant, pos[0], &err)) {
            fprintf(stderr, "switchboard kb delete: %s\n", err.msg);
            status = 1;
        } else {
            printf("deleted %s\n", pos[0]);
        }
    } else {
        fprintf(stderr, "switchboard kb: unknown subcommand '%s'\n", sub);
        kb_usage(stderr);
        status = 2;
    }
out:
    sb_kb_close(kb);
    free(pos);
    return status;
}

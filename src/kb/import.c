/* SPDX-License-Identifier: MIT */
/*
 * Importers: files -> knowledge-base entries. JSON Lines (FAQ lines {"id","question","answer"}
 * or corpus lines {"id","text"}), CSV catalogues (header row; sku/name/price/description/link
 * columns, every other column an attribute), Markdown and HTML articles (split into one section
 * per heading, each keeping its heading path) and plain text (split into passages of
 * paragraphs). Every error names the file and the line; sb_kb_import_files parses every file
 * before storing anything, then stores all entries in one transaction.
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define PASSAGE_TARGET 900 /* bytes of a plain-text passage before a new one starts */

static struct sb_kb_doc *new_doc(struct sb_kb_doc **docs, size_t *n, int kind)
{
    *docs = sb_realloc(*docs, (*n + 1) * sizeof(**docs));
    struct sb_kb_doc *d = &(*docs)[(*n)++];
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    return d;
}

/* Fills every NULL string of `d` with "" so that owners can free them uniformly. */
static void fill_empty(struct sb_kb_doc *d)
{
    char **f[] = {&d->id, &d->parent, &d->collection, &d->lang, &d->title, &d->questions,
                  &d->heading, &d->body, &d->link, &d->sku, &d->price, &d->attrs_json};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (!*f[i])
            *f[i] = sb_strdup("");
    }
}

static int has_cjk(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; p && *p; p++) {
        /* U+3040..U+9FFF and U+AC00..U+D7AF start with E3..E9 / EA..ED lead bytes */
        if (*p >= 0xE3 && *p <= 0xED)
            return 1;
    }
    return 0;
}

static void guess_lang(struct sb_kb_doc *d)
{
    if (d->lang && d->lang[0])
        return;
    free(d->lang);
    d->lang = sb_strdup(has_cjk(d->title) || has_cjk(d->body) || has_cjk(d->questions) ? "zh"
                                                                                         : "en");
}

/* Line number (1-based) of byte offset `at`. */
static int line_of(const char *data, size_t at)
{
    int line = 1;
    for (size_t i = 0; i < at; i++)
        line += data[i] == '\n';
    return line;
}

static int check_utf8(const char *name, const char *data, size_t len, struct sb_error *err)
{
    size_t i = 0;
    while (i < len) {
        int32_t c;
        utf8proc_ssize_t k =
            utf8proc_iterate((const uint8_t *)data + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0)
            return sb_error_set(err, SB_EPARSE, "%s:%d: invalid UTF-8", name, line_of(data, i));
        if (c == 0)
            return sb_error_set(err, SB_EPARSE, "%s:%d: NUL byte", name, line_of(data, i));
        i += (size_t)k;
    }
    return 0;
}

/* The file's base name without directory and extension, as an id prefix. */
static char *base_id(const char *name)
{
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot > b ? (size_t)(dot - b) : strlen(b);
    if (n > SB_KB_ID_MAX - 16)
        n = SB_KB_ID_MAX - 16;
    char *id = sb_strndup(b, n);
    for (char *p = id; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
    }
    return id[0] ? id : (free(id), sb_strdup("doc"));
}

static char *trimmed(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return sb_strndup(s, n);
}

/* ---- JSON Lines ---- */

static char *json_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return sb_strdup(json_string_value(v));
    if (json_is_integer(v))
        return sb_strdupf("%lld", (long long)json_integer_value(v));
    return NULL;
}

static int parse_jsonl(const char *name, const char *data, size_t len, struct sb_kb_doc **docs,
                       size_t *n, struct sb_error *err)
{
    size_t at = 0;
    int line = 0;
    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - (data + at)) : len - at;
        const char *l = data + at;
        at += ll + (nl ? 1 : 0);
        line++;
        size_t k = 0;
        while (k < ll && (l[k] == ' ' || l[k] == '\t' || l[k] == '\r'))
            k++;
        if (k == ll)
            continue;
        json_error_t je;
        json_t *o = json_loadb(l, ll, JSON_REJECT_DUPLICATES, &je);
        if (!o)
            return sb_error_set(err, SB_EPARSE, "%s:%d: invalid JSON: %s", name, line, je.text);
        int rc = 0;
        if (!json_is_object(o)) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: not a JSON object", name, line);
            goto next;
        }
        json_t *jid = json_object_get(o, "id");
        if (!json_is_string(jid) && !json_is_integer(jid)) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: missing \"id\" (string)", name, line);
            goto next;
        }
        json_t *q = json_object_get(o, "question"), *a = json_object_get(o, "answer");
        json_t *t = json_object_get(o, "text");
        struct sb_kb_doc *d;
        if (q || a) {
            if (!json_is_string(q) || !json_is_string(a)) {
                rc = sb_error_set(err, SB_EPARSE,
                                  "%s:%d: FAQ line needs \"question\" and \"answer\" strings",
                                  name, line);
                goto next;
            }
            d = new_doc(docs, n, SB_KB_FAQ);
            d->title = sb_strdup(json_string_value(q));
            d->body = sb_strdup(json_string_value(a));
            json_t *qs = json_object_get(o, "questions");
            if (qs) {
                if (!json_is_array(qs)) {
                    rc = sb_error_set(err, SB_EPARSE, "%s:%d: \"questions\" must be an array",
                                      name, line);
                    fill_empty(d);
                    goto next;
                }
                struct sb_buf b;
                sb_buf_init(&b, SB_KB_TEXT_MAX);
                size_t i;
                json_t *v;
                json_array_foreach(qs, i, v)
                {
                    if (!json_is_string(v)) {
                        rc = sb_error_set(err, SB_EPARSE,
                                          "%s:%d: \"questions\" must hold strings", name, line);
                        break;
                    }
                    if (b.len)
                        sb_buf_appends(&b, "\n");
                    if (sb_buf_appends(&b, json_string_value(v))) {
                        rc = sb_error_set(err, SB_ETOOBIG, "%s:%d: questions too long", name,
                                          line);
                        break;
                    }
                }
                d->questions = b.data ? sb_buf_steal(&b, NULL) : sb_strdup("");
                sb_buf_cleanup(&b);
                if (rc) {
                    fill_empty(d);
                    goto next;
                }
            }
        } else if (t) {
            if (!json_is_string(t)) {
                rc = sb_error_set(err, SB_EPARSE, "%s:%d: \"text\" must be a string", name,
                                  line);
                goto next;
            }
            d = new_doc(docs, n, SB_KB_SECTION);
            d->body = sb_strdup(json_string_value(t));
            d->title = json_str(o, "title");
        } else {
            rc = sb_error_set(err, SB_EPARSE,
                              "%s:%d: expected {\"id\",\"question\",\"answer\"} or "
                              "{\"id\",\"text\"}",
                              name, line);
            goto next;
        }
        d->id = json_str(o, "id");
        d->link = json_str(o, "link");
        d->lang = json_str(o, "lang");
        d->collection = json_str(o, "collection");
        if (!d->collection)
            d->collection = sb_strdup(d->kind == SB_KB_FAQ ? "faq" : "passages");
        fill_empty(d);
        guess_lang(d);
        if (strlen(d->id) == 0 || strlen(d->id) > SB_KB_ID_MAX)
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: \"id\" must have 1..%d bytes", name, line,
                              SB_KB_ID_MAX);
        else if (strlen(d->body) > SB_KB_TEXT_MAX || strlen(d->title) > SB_KB_TEXT_MAX)
            rc = sb_error_set(err, SB_ETOOBIG, "%s:%d: text longer than %d bytes", name, line,
                              SB_KB_TEXT_MAX);
    next:
        json_decref(o);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- CSV (RFC 4180: quoted fields may hold commas, quotes and newlines) ---- */

struct csv_row {
    char **f;
    size_t n, cap;
};

static void row_cleanup(struct csv_row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    free(r->f);
    memset(r, 0, sizeof(*r));
}

/* Reads one record starting at *at; returns 0, 1 at end of input, or SB_EPARSE. */
static int csv_record(const char *data, size_t len, size_t *at, int *line, struct csv_row *r,
                      const char *name, struct sb_error *err)
{
    row_cleanup(r);
    if (*at >= len)
        return 1;
    struct sb_buf fld;
    sb_buf_init(&fld, SB_KB_TEXT_MAX);
    size_t i = *at;
    int start_line = *line;
    for (;;) {
        sb_buf_reset(&fld);
        sb_buf_appends(&fld, "");
        if (i < len && data[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    sb_buf_cleanup(&fld);
                    return sb_error_set(err, SB_EPARSE, "%s:%d: unterminated quoted field",
                                        name, start_line);
                }
                if (data[i] == '"') {
                    if (i + 1 < len && data[i + 1] == '"') {
                        sb_buf_append(&fld, "\"", 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (data[i] == '\n')
                    (*line)++;
                if (sb_buf_append(&fld, data + i, 1)) {
                    sb_buf_cleanup(&fld);
                    return sb_error_set(err, SB_ETOOBIG, "%s:%d: field too long", name,
                                        start_line);
                }
                i++;
            }
            if (i < len && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
                sb_buf_cleanup(&fld);
                return sb_error_set(err, SB_EPARSE, "%s:%d: text after closing quote", name,
                                    *line);
            }
        } else {
            size_t s = i;
            while (i < len && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
                if (data[i] == '"') {
                    sb_buf_cleanup(&fld);
                    return sb_error_set(err, SB_EPARSE, "%s:%d: quote inside unquoted field",
                                        name, *line);
                }
                i++;
            }
            if (sb_buf_append(&fld, data + s, i - s)) {
                sb_buf_cleanup(&fld);
                return sb_error_set(err, SB_ETOOBIG, "%s:%d: field too long", name, *line);
            }
        }
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 8;
            r->f = sb_realloc(r->f, r->cap * sizeof(char *));
        }
        r->f[r->n++] = trimmed(fld.data, fld.len);
        if (r->n > 256) {
            sb_buf_cleanup(&fld);
            return sb_error_set(err, SB_ETOOBIG, "%s:%d: more than 256 columns", name, *line);
        }
        if (i < len && data[i] == ',') {
            i++;
            continue;
        }
        if (i < len && data[i] == '\r')
            i++;
        if (i < len && data[i] == '\n') {
            i++;
            (*line)++;
        }
        break;
    }
    sb_buf_cleanup(&fld);
    *at = i;
    return 0;
}

static int col_index(const struct csv_row *h, const char *const *names)
{
    for (size_t i = 0; i < h->n; i++) {
        for (const char *const *nm = names; *nm; nm++) {
            if (strcasecmp(h->f[i], *nm) == 0)
                return (int)i;
        }
    }
    return -1;
}

static int parse_csv(const char *name, const char *data, size_t len, struct sb_kb_doc **docs,
                     size_t *n, struct sb_error *err)
{
    struct csv_row h = {0}, r = {0};
    size_t at = 0;
    int line = 1;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        at = 3;
    int rc = csv_record(data, len, &at, &line, &h, name, err);
    if (rc == 1)
        rc = sb_error_set(err, SB_EPARSE, "%s:1: empty file, expected a header row", name);
    if (rc)
        goto out;
    static const char *const c_id[] = {"id", NULL}, *const c_sku[] = {"sku", NULL},
                             *const c_name[] = {"name", "title", "product", NULL},
                             *const c_price[] = {"price", NULL},
                             *const c_cur[] = {"currency", NULL},
                             *const c_desc[] = {"description", "desc", NULL},
                             *const c_link[] = {"link", "url", NULL},
                             *const c_coll[] = {"collection", "category", NULL},
                             *const c_lang[] = {"lang", "language", NULL};
    int ci = col_index(&h, c_id), cs = col_index(&h, c_sku), cn = col_index(&h, c_name),
        cp = col_index(&h, c_price), cc = col_index(&h, c_cur), cd = col_index(&h, c_desc),
        cl = col_index(&h, c_link), co = col_index(&h, c_coll), cg = col_index(&h, c_lang);
    if (cn < 0 || (cs < 0 && ci < 0)) {
        rc = sb_error_set(err, SB_EPARSE, "%s:1: header needs a \"name\" and a \"sku\" or \"id\" "
                          "column", name);
        goto out;
    }
    for (;;) {
        int row_line = line;
        rc = csv_record(data, len, &at, &line, &r, name, err);
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (rc)
            goto out;
        if (r.n == 1 && r.f[0][0] == '\0')
            continue; /* blank line */
        if (r.n != h.n) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: %zu fields, the header has %zu", name,
                              row_line, r.n, h.n);
            goto out;
        }
        const char *key = ci >= 0 && r.f[ci][0] ? r.f[ci] : cs >= 0 ? r.f[cs] : "";
        if (!key[0] || strlen(key) > SB_KB_ID_MAX || !r.f[cn][0]) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: empty or too long sku/id or name", name,
                              row_line);
            goto out;
        }
        struct sb_kb_doc *d = new_doc(docs, n, SB_KB_PRODUCT);
        d->id = sb_strdup(key);
        d->sku = sb_strdup(cs >= 0 ? r.f[cs] : key);
        d->title = sb_strdup(r.f[cn]);
        if (cp >= 0 && r.f[cp][0])
            d->price = cc >= 0 && r.f[cc][0] ? sb_strdupf("%s %s", r.f[cp], r.f[cc])
                                             : sb_strdup(r.f[cp]);
        d->body = cd >= 0 ? sb_strdup(r.f[cd]) : NULL;
        d->link = cl >= 0 ? sb_strdup(r.f[cl]) : NULL;
        d->collection = sb_strdup(co >= 0 && r.f[co][0] ? r.f[co] : "catalogue");
        d->lang = cg >= 0 ? sb_strdup(r.f[cg]) : NULL;
        json_t *attrs = json_object();
        for (size_t i = 0; i < h.n; i++) {
            int c = (int)i;
            if (c == ci || c == cs || c == cn || c == cp || c == cc || c == cd || c == cl ||
                c == co || c == cg || !r.f[i][0] || !h.f[i][0])
                continue;
            json_object_set_new(attrs, h.f[i], json_string(r.f[i]));
        }
        char *js = json_object_size(attrs) ? json_dumps(attrs, JSON_PRESERVE_ORDER | JSON_COMPACT)
                                           : NULL;
        json_decref(attrs);
        d->attrs_json = js ? sb_strdup(js) : NULL;
        free(js);
        fill_empty(d);
        guess_lang(d);
    }
out:
    row_cleanup(&h);
    row_cleanup(&r);
    return rc;
}

/* ---- articles: Markdown, HTML, text -> sections ---- */

struct article {
    char *id;
    char *title;
    char *link;
    char *lang;
    char *collection;
    char *heads[6]; /* current heading path by level */
    struct sb_buf body;
    int nsec;
};

static void heading_path(struct article *a, struct sb_buf *out)
{
    sb_buf_init(out, 0);
    sb_buf_appends(out, "");
    for (int i = 0; i < 6; i++) {
        if (!a->heads[i] || !a->heads[i][0])
            continue;
        /* the article's title heads every section already */
        if (out->len == 0 && a->title && strcmp(a->heads[i], a->title) == 0)
            continue;
        if (out->len)
            sb_buf_appends(out, " > ");
        sb_buf_appends(out, a->heads[i]);
    }
}

static void flush_section(struct article *a, struct sb_kb_doc **docs, size_t *n)
{
    char *body = trimmed(a->body.data ? a->body.data : "", a->body.len);
    sb_buf_reset(&a->body);
    if (!body[0]) {
        free(body);
        return;
    }
    struct sb_kb_doc *d = new_doc(docs, n, SB_KB_SECTION);
    d->id = sb_strdupf("%s#%d", a->id, ++a->nsec);
    d->parent = sb_strdup(a->id);
    d->title = sb_strdup(a->title ? a->title : a->id);
    struct sb_buf hp;
    heading_path(a, &hp);
    d->heading = sb_buf_steal(&hp, NULL);
    d->body = body;
    d->link = sb_strdup(a->link);
    d->lang = sb_strdup(a->lang);
    d->collection = sb_strdup(a->collection ? a->collection : "articles");
    fill_empty(d);
    guess_lang(d);
}

static void set_heading(struct article *a, int level, const char *text, size_t len)
{
    if (level < 1)
        level = 1;
    if (level > 6)
        level = 6;
    for (int i = level - 1; i < 6; i++) {
        free(a->heads[i]);
        a->heads[i] = NULL;
    }
    a->heads[level - 1] = trimmed(text, len);
    if (!a->title && level == 1)
        a->title = sb_strdup(a->heads[0]);
}

static void article_init(struct article *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->id = base_id(name);
    sb_buf_init(&a->body, SB_KB_TEXT_MAX);
}

static void article_cleanup(struct article *a)
{
    free(a->id);
    free(a->title);
    free(a->link);
    free(a->lang);
    free(a->collection);
    for (int i = 0; i < 6; i++)
        free(a->heads[i]);
    sb_buf_cleanup(&a->body);
}

static int body_append(struct article *a, const char *s, size_t n, const char *name, int line,
                       struct sb_error *err)
{
    if (sb_buf_append(&a->body, s, n))
        return sb_error_set(err, SB_ETOOBIG, "%s:%d: section longer than %d bytes", name, line,
                            SB_KB_TEXT_MAX);
    return 0;
}

/* Front matter: a first line "---", then "key: value" lines, then "---". */
static size_t front_matter(struct article *a, const char *data, size_t len, int *line)
{
    if (len < 4 || memcmp(data, "---", 3) != 0 || (data[3] != '\n' && data[3] != '\r'))
        return 0;
    size_t at = data[3] == '\r' ? 5 : 4;
    int l = 2;
    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - (data + at)) : len - at;
        char *s = trimmed(data + at, ll);
        at += ll + (nl ? 1 : 0);
        l++;
        if (strcmp(s, "---") == 0) {
            free(s);
            *line = l;
            return at;
        }
        char *colon = strchr(s, ':');
        if (colon) {
            *colon = '\0';
            char *v = trimmed(colon + 1, strlen(colon + 1));
            char **dst = strcmp(s, "title") == 0        ? &a->title
                         : strcmp(s, "link") == 0       ? &a->link
                         : strcmp(s, "lang") == 0       ? &a->lang
                         : strcmp(s, "collection") == 0 ? &a->collection
                         : strcmp(s, "id") == 0         ? &a->id
                                                        : NULL;
            if (dst && v[0] && strlen(v) <= SB_KB_ID_MAX - 16) {
                free(*dst);
                *dst = v;
            } else {
                free(v);
            }
        }
        free(s);
    }
    return 0; /* no closing line: not front matter */
}

static int parse_markdown(const char *name, const char *data, size_t len, struct sb_kb_doc **docs,
                          size_t *n, struct sb_error *err)
{
    struct article a;
    article_init(&a, name);
    int line = 1;
    size_t at = front_matter(&a, data, len, &line);
    int fence = 0, rc = 0;
    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - (data + at)) : len - at;
        const char *l = data + at;
        at += ll + (nl ? 1 : 0);
        if (ll >= 3 && (memcmp(l, "```", 3) == 0 || memcmp(l, "~~~", 3) == 0))
            fence = !fence;
        int level = 0;
        while (!fence && level < (int)ll && level < 7 && l[level] == '#')
            level++;
        if (level >= 1 && level <= 6 && ((size_t)level == ll || l[level] == ' ')) {
            flush_section(&a, docs, n);
            size_t e = ll;
            while (e > (size_t)level && (l[e - 1] == '#' || l[e - 1] == ' ' || l[e - 1] == '\r'))
                e--;
            set_heading(&a, level, l + level, e > (size_t)level ? e - (size_t)level : 0);
        } else if ((rc = body_append(&a, l, ll, name, line, err)) ||
                   (rc = body_append(&a, "\n", 1, name, line, err))) {
            goto out;
        }
        line++;
    }
    flush_section(&a, docs, n);
out:
    article_cleanup(&a);
    return rc;
}

static int tag_is(const char *t, size_t tl, const char *name)
{
    size_t n = strlen(name);
    return tl >= n && strncasecmp(t, name, n) == 0 &&
           (tl == n || t[n] == ' ' || t[n] == '>' || t[n] == '/' || t[n] == '\t' ||
            t[n] == '\n');
}

static void append_entity(struct sb_buf *b, const char *e, size_t n)
{
    static const struct {
        const char *name;
        const char *text;
    } ents[] = {{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
                {"nbsp", " "}, {"euro", "\xE2\x82\xAC"}, {"times", "\xC3\x97"}};
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        if (strlen(ents[i].name) == n && memcmp(ents[i].name, e, n) == 0) {
            sb_buf_appends(b, ents[i].text);
            return;
        }
    }
    if (n >= 2 && e[0] == '#') {
        char tmp[16];
        if (n - 1 < sizeof(tmp)) {
            memcpy(tmp, e + 1, n - 1);
            tmp[n - 1] = '\0';
            char *end;
            long cp = (tmp[0] == 'x' || tmp[0] == 'X') ? strtol(tmp + 1, &end, 16)
                                                       : strtol(tmp, &end, 10);
            uint8_t u[4];
            if (*end == '\0' && cp > 0 && utf8proc_codepoint_valid((utf8proc_int32_t)cp)) {
                utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)cp, u);
                sb_buf_append(b, u, (size_t)k);
                return;
            }
        }
    }
    sb_buf_appends(b, "&");
    sb_buf_append(b, e, n);
    sb_buf_appends(b, ";");
}

/* Decodes text between tags (entities) into b; collapses nothing (trimmed later). */
static int html_text(struct sb_buf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == '&') {
            size_t j = i + 1;
            while (j < n && j - i < 12 && s[j] != ';' && s[j] != '&' && s[j] != ' ')
                j++;
            if (j < n && s[j] == ';') {
                append_entity(b, s + i + 1, j - i - 1);
                i = j + 1;
                continue;
            }
        }
        if (sb_buf_append(b, s + i, 1))
            return SB_ETOOBIG;
        i++;
    }
    return 0;
}

static int parse_html(const char *name, const char *data, size_t len, struct sb_kb_doc **docs,
                      size_t *n, struct sb_error *err)
{
    struct article a;
    article_init(&a, name);
    size_t at = 0;
    int rc = 0;
    int in_heading = 0, in_title = 0;
    struct sb_buf head;
    sb_buf_init(&head, 4096);
    while (at < len) {
        const char *lt = memchr(data + at, '<', len - at);
        size_t tl = lt ? (size_t)(lt - (data + at)) : len - at;
        struct sb_buf *dst = (in_heading || in_title) ? &head : &a.body;
        if (tl && html_text(dst, data + at, tl)) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s:%d: section or heading too long", name,
                              line_of(data, at));
            goto out;
        }
        at += tl;
        if (!lt)
            break;
        /* a comment, a tag */
        if (len - at >= 4 && memcmp(data + at, "<!--", 4) == 0) {
            const char *e = memmem(data + at + 4, len - at - 4, "-->", 3);
            if (!e) {
                rc = sb_error_set(err, SB_EPARSE, "%s:%d: unterminated comment", name,
                                  line_of(data, at));
                goto out;
            }
            at = (size_t)(e - data) + 3;
            continue;
        }
        const char *gt = memchr(data + at, '>', len - at);
        if (!gt) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: unterminated tag", name, line_of(data, at));
            goto out;
        }
        const char *t = data + at + 1;
        size_t tlen = (size_t)(gt - t);
        int closing = tlen && t[0] == '/';
        const char *tn = closing ? t + 1 : t;
        size_t tnl = closing ? tlen - 1 : tlen;
        at = (size_t)(gt - data) + 1;
        if (!closing && (tag_is(tn, tnl, "script") || tag_is(tn, tnl, "style"))) {
            const char *end = tag_is(tn, tnl, "script") ? "</script" : "</style";
            const char *e = NULL;
            for (size_t k = at; k + strlen(end) <= len; k++) {
                if (strncasecmp(data + k, end, strlen(end)) == 0) {
                    e = data + k;
                    break;
                }
            }
            if (!e) {
                rc = sb_error_set(err, SB_EPARSE, "%s:%d: unterminated <script>/<style>", name,
                                  line_of(data, at));
                goto out;
            }
            const char *g2 = memchr(e, '>', len - (size_t)(e - data));
            at = g2 ? (size_t)(g2 - data) + 1 : len;
            continue;
        }
        if (tnl >= 2 && (tn[0] == 'h' || tn[0] == 'H') && tn[1] >= '1' && tn[1] <= '6' &&
            (tnl == 2 || tn[2] == ' ' || tn[2] == '>')) {
            if (!closing) {
                flush_section(&a, docs, n);
                in_heading = tn[1] - '0';
                sb_buf_reset(&head);
            } else if (in_heading) {
                set_heading(&a, in_heading, head.data ? head.data : "", head.len);
                in_heading = 0;
                sb_buf_reset(&head);
            }
            continue;
        }
        if (tag_is(tn, tnl, "title")) {
            if (!closing) {
                in_title = 1;
                sb_buf_reset(&head);
            } else if (in_title) {
                free(a.title);
                a.title = trimmed(head.data ? head.data : "", head.len);
                in_title = 0;
                sb_buf_reset(&head);
            }
            continue;
        }
        /* block-level tags end a line of text */
        if (tag_is(tn, tnl, "p") || tag_is(tn, tnl, "br") || tag_is(tn, tnl, "li") ||
            tag_is(tn, tnl, "div") || tag_is(tn, tnl, "tr") || tag_is(tn, tnl, "ul") ||
            tag_is(tn, tnl, "ol") || tag_is(tn, tnl, "table")) {
            if (sb_buf_appends(in_heading ? &head : &a.body, "\n")) {
                rc = sb_error_set(err, SB_ETOOBIG, "%s:%d: section too long", name,
                                  line_of(data, at));
                goto out;
            }
        } else if (tag_is(tn, tnl, "td") || tag_is(tn, tnl, "th")) {
            sb_buf_appends(in_heading ? &head : &a.body, " ");
        }
    }
    flush_section(&a, docs, n);
out:
    sb_buf_cleanup(&head);
    article_cleanup(&a);
    return rc;
}

static int parse_text(const char *name, const char *data, size_t len, struct sb_kb_doc **docs,
                      size_t *n, struct sb_error *err)
{
    struct article a;
    article_init(&a, name);
    int line = 1, rc = 0;
    size_t at = front_matter(&a, data, len, &line);
    int blank = 0;
    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - (data + at)) : len - at;
        const char *l = data + at;
        at += ll + (nl ? 1 : 0);
        char *t = trimmed(l, ll);
        if (!t[0]) {
            blank = 1;
        } else if (!a.title) {
            a.title = t; /* the first line is the title */
            t = NULL;
        } else {
            /* a new passage starts at a paragraph break once the current one is long enough */
            if (blank && a.body.len >= PASSAGE_TARGET)
                flush_section(&a, docs, n);
            if ((rc = body_append(&a, blank && a.body.len ? "\n\n" : " ", blank && a.body.len ? 2 : 1,
                                  name, line, err)) ||
                (rc = body_append(&a, t, strlen(t), name, line, err))) {
                free(t);
                goto out;
            }
            blank = 0;
        }
        free(t);
        line++;
    }
    flush_section(&a, docs, n);
out:
    article_cleanup(&a);
    return rc;
}

static int ext_is(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcasecmp(name + n - e, ext) == 0;
}

int sb_kb_parse(const char *name, const char *data, size_t len, struct sb_kb_doc **docs,
                size_t *n, struct sb_error *err)
{
    if (len > SB_KB_FILE_MAX)
        return sb_error_set(err, SB_ETOOBIG, "%s: larger than %d bytes", name, SB_KB_FILE_MAX);
    int rc = check_utf8(name, data, len, err);
    if (rc)
        return rc;
    if (ext_is(name, ".jsonl") || ext_is(name, ".ndjson"))
        return parse_jsonl(name, data, len, docs, n, err);
    if (ext_is(name, ".csv"))
        return parse_csv(name, data, len, docs, n, err);
    if (ext_is(name, ".md") || ext_is(name, ".markdown"))
        return parse_markdown(name, data, len, docs, n, err);
    if (ext_is(name, ".html") || ext_is(name, ".htm"))
        return parse_html(name, data, len, docs, n, err);
    if (ext_is(name, ".txt"))
        return parse_text(name, data, len, docs, n, err);
    return sb_error_set(err, SB_EUNSUPPORTED,
                        "%s: unknown file type (use .md .html .txt .csv .jsonl)", name);
}

int sb_kb_import_files(struct sb_kb *kb, int64_t tenant, const char *const *paths, size_t n_paths,
                       size_t *n_docs, struct sb_error *err)
{
    struct sb_kb_doc *docs = NULL;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < n_paths && !rc; i++) {
        char *data = NULL;
        size_t len = 0;
        rc = sb__kb_read_file(paths[i], &data, &len, err);
        if (!rc)
            rc = sb_kb_parse(paths[i], data, len, &docs, &n, err);
        free(data);
    }
    if (!rc) {
        struct sb_error e2 = {0};
        rc = sb_kb_put(kb, tenant, docs, n, &e2);
        if (rc)
            sb_error_set(err, rc, "import not stored: %s", e2.msg);
    }
    if (!rc && n_docs)
        *n_docs = n;
    sb_kb_doc_list_free(docs, n);
    return rc;
}

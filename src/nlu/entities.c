/* SPDX-License-Identifier: MIT */
/*
 * Entities and PII in customer text: order numbers (tenant patterns or the built-in keyword
 * rule), e-mail addresses, phone numbers (E.164, Chinese mobiles and landlines, North American
 * formats), amounts with a currency, dates (ISO, Chinese, English month names, relative words
 * such as "yesterday" / "昨天"), bank card numbers (Luhn), PRC resident identity numbers
 * (GB 11643 check digit + birth date) and IBANs (ISO 13616 mod 97), and redaction.
 *
 * The text is scanned as code points with full-width ASCII folded to ASCII (so "１３８…" is a
 * phone number), and spans are reported as byte offsets into the original. Detectors run in a
 * fixed priority order and a later one never takes characters an earlier one claimed. Every
 * matcher is linear in the text (no backtracking), so hostile input cannot make it slow.
 */
#include "sb/mem.h"
#include "sb/nlu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

static const char *const type_names[SB_NLU_ENT_COUNT] = {
    "order_id", "email", "phone", "amount", "date", "bank_card", "cn_id", "iban",
};

const char *sb_nlu_entity_name(enum sb_nlu_entity_type t)
{
    return (unsigned)t < SB_NLU_ENT_COUNT ? type_names[t] : "unknown";
}

/* ---- validators ------------------------------------------------------------------------- */

int sb_nlu_luhn_valid(const char *d, size_t n)
{
    if (!d || n < 2)
        return 0;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = d[n - 1 - i];
        if (c < '0' || c > '9')
            return 0;
        int v = c - '0';
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int valid_ymd(int y, int m, int d)
{
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

int sb_nlu_cn_id_valid(const char *s, size_t n)
{
    static const int wt[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    if (!s || n != 18)
        return 0;
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        sum += (s[i] - '0') * wt[i];
    }
    char last = s[17] == 'x' ? 'X' : s[17];
    if (last != check[sum % 11])
        return 0;
    if (s[0] == '0' || s[0] == '9') /* no province code starts with 0 or 9 */
        return 0;
    int y = (s[6] - '0') * 1000 + (s[7] - '0') * 100 + (s[8] - '0') * 10 + (s[9] - '0');
    int m = (s[10] - '0') * 10 + (s[11] - '0');
    int d = (s[12] - '0') * 10 + (s[13] - '0');
    return y >= 1800 && y <= 2100 && valid_ymd(y, m, d);
}

int sb_nlu_iban_valid(const char *s, size_t n)
{
    if (!s || n < 15 || n > 34)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        int digit = c >= '0' && c <= '9';
        if (i < 2 ? !alpha : i < 4 ? !digit : !(alpha || digit))
            return 0;
    }
    /* move the first four characters to the end, letters become 10..35, mod 97 must be 1 */
    unsigned r = 0;
    for (size_t k = 0; k < n; k++) {
        char c = s[(k + 4) % n];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c >= 'A' && c <= 'Z') {
            int v = c - 'A' + 10;
            r = (r * 100 + (unsigned)v) % 97;
        } else {
            r = (r * 10 + (unsigned)(c - '0')) % 97;
        }
    }
    return r == 1;
}

/* ---- the scanned text -------------------------------------------------------------------- */

struct scan {
    int32_t *c;     /* code points, full-width ASCII folded, ASCII letters lower-cased */
    int32_t *orig;  /* the folded code points with their case */
    size_t *off;    /* byte offset of each code point; off[n] = text length */
    size_t n;
    unsigned char *claimed;
    struct sb_nlu_span *sp;
    size_t nsp, cap;
    const struct sb_nlu_entity_opts *opts;
};

static int dig(int32_t c)
{
    return c >= '0' && c <= '9';
}

static int alpha(int32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int alnum(int32_t c)
{
    return dig(c) || alpha(c);
}

static int32_t at(const struct scan *s, size_t i)
{
    return i < s->n ? s->c[i] : 0;
}

/* No ASCII letter or digit right before i. */
static int left_edge(const struct scan *s, size_t i)
{
    return i == 0 || !alnum(s->c[i - 1]);
}

static int right_edge(const struct scan *s, size_t i)
{
    return i >= s->n || !alnum(s->c[i]);
}

static int is_free(const struct scan *s, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (s->claimed[i])
            return 0;
    return 1;
}

static void add(struct scan *s, enum sb_nlu_entity_type t, size_t a, size_t b, const char *value)
{
    if (!is_free(s, a, b) || b <= a)
        return;
    memset(s->claimed + a, 1, b - a);
    if (s->nsp == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->sp = sb_realloc(s->sp, s->cap * sizeof(*s->sp));
    }
    struct sb_nlu_span *p = &s->sp[s->nsp++];
    memset(p, 0, sizeof(*p));
    p->type = t;
    p->start = s->off[a];
    p->end = s->off[b];
    snprintf(p->value, sizeof(p->value), "%s", value);
    p->pii = (SB_NLU_PII_MASK >> t) & 1u;
}

/* Case-insensitive match of ASCII/UTF-8 word `w` at code point i; returns its length in code
 * points or 0. */
static size_t word_at(const struct scan *s, size_t i, const char *w)
{
    size_t k = 0;
    for (size_t j = 0; w[j];) {
        int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)w + j, -1, &c);
        if (l <= 0)
            return 0;
        if (at(s, i + k) != c)
            return 0;
        j += (size_t)l;
        k++;
    }
    return k;
}

/* ---- e-mail -------------------------------------------------------------------------------- */

static int local_ch(int32_t c)
{
    return alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static void find_email(struct scan *s)
{
    for (size_t i = 1; i + 1 < s->n; i++) {
        if (s->c[i] != '@')
            continue;
        size_t a = i;
        while (a > 0 && local_ch(s->c[a - 1]) && i - a < 64)
            a--;
        while (a < i && s->c[a] == '.')
            a++;
        if (a == i)
            continue;
        size_t b = i + 1, lastdot;
        while (b < s->n && (alnum(s->c[b]) || s->c[b] == '.' || s->c[b] == '-') && b - i < 255)
            b++;
        while (b > i + 1 && (s->c[b - 1] == '.' || s->c[b - 1] == '-'))
            b--;
        /* lastdot: first character of the top-level domain */
        for (lastdot = b; lastdot > i + 1 && s->c[lastdot - 1] != '.'; lastdot--)
            ;
        if (lastdot <= i + 2 || b - lastdot < 2)
            continue;
        int tld_ok = 1;
        for (size_t k = lastdot; k < b; k++)
            tld_ok &= alpha(s->c[k]);
        if (!tld_ok)
            continue;
        char v[SB_NLU_VALUE_MAX];
        size_t o = 0;
        for (size_t k = a; k < b && o + 1 < sizeof(v); k++)
            v[o++] = (char)s->orig[k];
        v[o] = '\0';
        add(s, SB_NLU_ENT_EMAIL, a, b, v);
        i = b;
    }
}

/* ---- IBAN ----------------------------------------------------------------------------------- */

static void find_iban(struct scan *s)
{
    for (size_t i = 0; i + 15 <= s->n; i++) {
        if (!left_edge(s, i) || !alpha(s->orig[i]) || !alpha(s->orig[i + 1]) ||
            !dig(s->c[i + 2]) || !dig(s->c[i + 3]))
            continue;
        char buf[40];
        size_t ends[40];
        size_t nb = 0, j = i;
        while (j < s->n && nb < 34) {
            if (alnum(s->c[j])) {
                buf[nb] = (char)s->orig[j];
                if (buf[nb] >= 'a' && buf[nb] <= 'z')
                    buf[nb] = (char)(buf[nb] - 'a' + 'A');
                nb++;
                ends[nb] = j + 1;
                j++;
            } else if (s->c[j] == ' ' && j + 1 < s->n && alnum(s->c[j + 1]) && nb % 4 == 0) {
                j++;
            } else {
                break;
            }
        }
        for (size_t len = nb; len >= 15; len--) {
            if (!right_edge(s, ends[len]))
                continue;
            if (sb_nlu_iban_valid(buf, len)) {
                buf[len] = '\0';
                add(s, SB_NLU_ENT_IBAN, i, ends[len], buf);
                i = ends[len];
                break;
            }
        }
    }
}

/* ---- numbers: resident id, cards, phones ----------------------------------------------------- */

static void find_numbers(struct scan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        int32_t c = s->c[i];
        int plus = c == '+' && dig(at(s, i + 1));
        int paren = c == '(' && dig(at(s, i + 1));
        if (!(dig(c) || plus || paren) || !left_edge(s, i) || (i > 0 && s->c[i - 1] == '.'))
            continue;
        char d[48];
        size_t nd = 0, seps = 0, j = i + (plus ? 1 : 0);
        int spaces_only = 1, has_paren = paren;
        size_t end = j;
        while (j < s->n && nd < 40) {
            int32_t x = s->c[j];
            if (dig(x)) {
                d[nd++] = (char)x;
                j++;
                end = j;
            } else if ((x == ' ' || x == '-' || x == '.' || x == '(' || x == ')') &&
                       (dig(at(s, j + 1)) || ((x == ')' || x == ' ') && at(s, j + 1) == '(') ||
                        (x == ')' && at(s, j + 1) == ' ' && dig(at(s, j + 2))))) {
                if (x != ' ')
                    spaces_only = 0;
                if (x == '(' || x == ')')
                    has_paren = 1;
                seps++;
                j++;
            } else {
                break;
            }
        }
        int xcheck = 0;
        if (nd == 17 && (at(s, end) == 'x') && right_edge(s, end + 1)) {
            d[nd++] = 'X';
            end++;
            xcheck = 1;
        }
        d[nd] = '\0';
        if (!xcheck && !right_edge(s, end))
            continue;
        if (end < s->n && s->c[end] == '.' && dig(at(s, end + 1)))
            continue; /* a decimal number, not an identifier */
        char v[SB_NLU_VALUE_MAX];
        if (nd == 18 && !plus && sb_nlu_cn_id_valid(d, 18)) {
            add(s, SB_NLU_ENT_CN_ID, i, end, d);
        } else if (nd >= 13 && nd <= 19 && !plus && !has_paren && (spaces_only || seps <= 4) &&
                   sb_nlu_luhn_valid(d, nd)) {
            add(s, SB_NLU_ENT_BANK_CARD, i, end, d);
        } else if (nd == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && !plus) {
            snprintf(v, sizeof(v), "+86%s", d);
            add(s, SB_NLU_ENT_PHONE, i, end, v);
        } else if (nd == 13 && d[0] == '8' && d[1] == '6' && d[2] == '1' && d[3] >= '3') {
            snprintf(v, sizeof(v), "+%s", d);
            add(s, SB_NLU_ENT_PHONE, i, end, v);
        } else if (plus && nd >= 8 && nd <= 15 && d[0] != '0') {
            snprintf(v, sizeof(v), "+%s", d);
            add(s, SB_NLU_ENT_PHONE, i, end, v);
        } else if (nd == 10 && seps >= 1 && d[0] >= '2' && d[0] <= '9' && d[3] >= '2') {
            snprintf(v, sizeof(v), "+1%s", d);
            add(s, SB_NLU_ENT_PHONE, i, end, v);
        } else if (nd == 11 && seps >= 1 && d[0] == '1' && d[1] >= '2' && d[4] >= '2') {
            snprintf(v, sizeof(v), "+%s", d);
            add(s, SB_NLU_ENT_PHONE, i, end, v);
        } else if (d[0] == '0' && nd >= 10 && nd <= 12 && seps >= 1 && !spaces_only) {
            add(s, SB_NLU_ENT_PHONE, i, end, d); /* Chinese landline: 010-12345678 */
        } else {
            i = end > i ? end - 1 : i;
            continue;
        }
        i = end > i ? end - 1 : i;
    }
}

/* ---- order numbers ---------------------------------------------------------------------------- */

enum { P_DIGIT = -1, P_ALPHA = -2, P_ALNUM = -3 };
#define P_MAX 128

struct pat {
    int32_t what[P_MAX];
    unsigned char optional[P_MAX];
    size_t n;
};

static int pat_compile(const char *p, struct pat *out, struct sb_error *err)
{
    out->n = 0;
    size_t last_start = 0;
    int have_item = 0;
    for (size_t i = 0; p[i];) {
        if (p[i] == '{') {
            if (!have_item)
                return sb_error_set(err, SB_EINVAL, "order pattern '%s': '{' without an item", p);
            char *end;
            long a = strtol(p + i + 1, &end, 10), b;
            if (end == p + i + 1)
                return sb_error_set(err, SB_EINVAL, "order pattern '%s': bad repeat", p);
            b = a;
            if (*end == ',') {
                const char *q = end + 1;
                b = strtol(q, &end, 10);
                if (end == q)
                    return sb_error_set(err, SB_EINVAL, "order pattern '%s': bad repeat", p);
            }
            if (*end != '}' || a < 0 || b < a || b > 64)
                return sb_error_set(err, SB_EINVAL, "order pattern '%s': bad repeat", p);
            int32_t item = out->what[last_start];
            out->n = last_start;
            if (out->n + (size_t)b > P_MAX)
                return sb_error_set(err, SB_EINVAL, "order pattern '%s': too long", p);
            for (long k = 0; k < b; k++) {
                out->what[out->n] = item;
                out->optional[out->n] = k >= a;
                out->n++;
            }
            have_item = 0;
            i = (size_t)(end - p) + 1;
            continue;
        }
        int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)p + i, -1, &cp);
        if (l <= 0)
            return sb_error_set(err, SB_EINVAL, "order pattern: invalid UTF-8");
        if (out->n >= P_MAX)
            return sb_error_set(err, SB_EINVAL, "order pattern '%s': too long", p);
        last_start = out->n;
        int32_t w = cp == '#' ? P_DIGIT : cp == 'A' ? P_ALPHA : cp == '*' ? P_ALNUM
                                                                         : utf8proc_tolower(cp);
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            w = utf8proc_tolower(cp - 0xFEE0);
        out->what[out->n] = w;
        out->optional[out->n] = 0;
        out->n++;
        have_item = 1;
        i += (size_t)l;
    }
    if (out->n == 0)
        return sb_error_set(err, SB_EINVAL, "order pattern is empty");
    int mandatory = 0;
    for (size_t i = 0; i < out->n; i++)
        mandatory += !out->optional[i];
    if (mandatory < 3)
        return sb_error_set(err, SB_EINVAL, "order pattern '%s': fewer than 3 required characters",
                            p);
    return 0;
}

int sb_nlu_order_pattern_check(const char *pattern, struct sb_error *err)
{
    struct pat p;
    if (!pattern)
        return sb_error_set(err, SB_EINVAL, "order pattern is missing");
    return pat_compile(pattern, &p, err);
}

static int pat_item_ok(int32_t w, int32_t c)
{
    switch (w) {
    case P_DIGIT:
        return dig(c);
    case P_ALPHA:
        return alpha(c);
    case P_ALNUM:
        return alnum(c);
    default:
        return w == c;
    }
}

/* Longest match of the pattern starting at i (as an NFA over the expanded items), or 0. */
static size_t pat_match(const struct pat *p, const struct scan *s, size_t i)
{
    unsigned char cur[P_MAX + 1], nxt[P_MAX + 1];
    memset(cur, 0, sizeof(cur));
    cur[0] = 1;
    /* epsilon closure: an optional item may be skipped */
    for (size_t k = 0; k < p->n; k++)
        if (cur[k] && p->optional[k])
            cur[k + 1] = 1;
    size_t best = 0;
    for (size_t j = i; j < s->n; j++) {
        memset(nxt, 0, p->n + 1);
        int any = 0;
        for (size_t k = 0; k < p->n; k++)
            if (cur[k] && pat_item_ok(p->what[k], s->c[j])) {
                nxt[k + 1] = 1;
                any = 1;
            }
        if (!any)
            break;
        for (size_t k = 0; k < p->n; k++)
            if (nxt[k] && p->optional[k])
                nxt[k + 1] = 1;
        memcpy(cur, nxt, p->n + 1);
        if (cur[p->n])
            best = j + 1 - i;
    }
    return best;
}

static void find_order_patterns(struct scan *s)
{
    const struct sb_nlu_entity_opts *o = s->opts;
    if (!o || !o->order_patterns)
        return;
    for (size_t k = 0; k < o->n_order_patterns; k++) {
        struct pat p;
        if (!o->order_patterns[k] || pat_compile(o->order_patterns[k], &p, NULL))
            continue; /* invalid patterns are rejected when the configuration is loaded */
        for (size_t i = 0; i < s->n; i++) {
            if (!left_edge(s, i) || s->claimed[i])
                continue;
            size_t m = pat_match(&p, s, i);
            if (m && right_edge(s, i + m)) {
                char v[SB_NLU_VALUE_MAX];
                size_t o2 = 0;
                for (size_t j = i; j < i + m && o2 + 5 < sizeof(v); j++) {
                    int32_t c = s->orig[j];
                    if (c >= 'a' && c <= 'z')
                        c -= 32;
                    o2 += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)v + o2);
                }
                v[o2] = '\0';
                add(s, SB_NLU_ENT_ORDER_ID, i, i + m, v);
                i += m;
            }
        }
    }
}

static const char *const order_words[] = {
    "order number", "order no", "order id", "order #", "order", "订单编号", "订单号", "订单",
    "单号", "tracking number", "tracking no", "tracking",
};

static void find_order_default(struct scan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        size_t kw = 0;
        for (size_t w = 0; w < sizeof(order_words) / sizeof(*order_words) && !kw; w++) {
            size_t l = word_at(s, i, order_words[w]);
            if (l && (order_words[w][0] & 0x80 || left_edge(s, i)))
                kw = l;
        }
        if (!kw)
            continue;
        size_t j = i + kw;
        /* a few filler characters and words: "order #", "order: ", "order is", "订单号是" */
        for (int guard = 0; guard < 4 && j < s->n; guard++) {
            int32_t c = s->c[j];
            if (c == ' ' || c == ':' || c == '#' || c == 0x3A || c == 0xFF1A || c == 0x662F ||
                c == 0x4E3A || c == 0x53F7 || c == '-' || c == '=') {
                j++;
            } else if (word_at(s, j, "is ") || word_at(s, j, "was ")) {
                j += word_at(s, j, "is ") ? 3 : 4;
            } else if (word_at(s, j, "number ") || word_at(s, j, "no. ")) {
                j += word_at(s, j, "number ") ? 7 : 4;
            } else {
                break;
            }
        }
        size_t a = j, digits = 0;
        while (j < s->n && (alnum(s->c[j]) || (s->c[j] == '-' && alnum(at(s, j + 1)))) &&
               j - a < 32) {
            digits += dig(s->c[j]);
            j++;
        }
        if (j - a >= 5 && j - a <= 24 && digits >= 4 && right_edge(s, j)) {
            char v[SB_NLU_VALUE_MAX];
            size_t o = 0;
            for (size_t k = a; k < j && o + 1 < sizeof(v); k++) {
                int32_t c = s->orig[k];
                v[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
            }
            v[o] = '\0';
            add(s, SB_NLU_ENT_ORDER_ID, a, j, v);
            i = j;
        }
    }
}

/* ---- amounts ---------------------------------------------------------------------------------- */

struct cur {
    const char *word;
    const char *code;
};

static const struct cur prefixes[] = {
    {"us$", "USD"}, {"hk$", "HKD"}, {"$", "USD"},   {"€", "EUR"},   {"£", "GBP"},
    {"¥", "CNY"},   {"usd", "USD"}, {"eur", "EUR"}, {"gbp", "GBP"}, {"cny", "CNY"},
    {"rmb", "CNY"}, {"人民币", "CNY"},
};
static const struct cur suffixes[] = {
    {"usd", "USD"},     {"eur", "EUR"},     {"gbp", "GBP"},    {"cny", "CNY"},
    {"rmb", "CNY"},     {"jpy", "JPY"},     {"hkd", "HKD"},    {"dollars", "USD"},
    {"dollar", "USD"},  {"bucks", "USD"},   {"euros", "EUR"},  {"euro", "EUR"},
    {"pounds", "GBP"},  {"yuan", "CNY"},    {"块钱", "CNY"},   {"块", "CNY"},
    {"元", "CNY"},      {"美元", "USD"},    {"美金", "USD"},   {"欧元", "EUR"},
    {"英镑", "GBP"},    {"日元", "JPY"},    {"港币", "HKD"},   {"港元", "HKD"},
    {"人民币", "CNY"},
};

/* A number at i: digits with optional thousands commas and decimals. Writes it without
 * commas into v; returns its length in code points or 0. */
static size_t number_at(const struct scan *s, size_t i, char *v, size_t vcap)
{
    size_t j = i, o = 0;
    if (!dig(at(s, j)))
        return 0;
    while (j < s->n && o + 1 < vcap) {
        if (dig(s->c[j])) {
            v[o++] = (char)s->c[j++];
        } else if (s->c[j] == ',' && dig(at(s, j + 1)) && dig(at(s, j + 2)) &&
                   dig(at(s, j + 3)) && !dig(at(s, j + 4))) {
            j++;
        } else {
            break;
        }
    }
    if (at(s, j) == '.' && dig(at(s, j + 1))) {
        v[o++] = '.';
        j++;
        while (j < s->n && dig(s->c[j]) && o + 1 < vcap)
            v[o++] = (char)s->c[j++];
    }
    v[o] = '\0';
    return j - i;
}

static void find_amounts(struct scan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->claimed[i])
            continue;
        char num[32], v[SB_NLU_VALUE_MAX];
        /* currency first: "$12.50", "RMB 300", "人民币300" */
        for (size_t p = 0; p < sizeof(prefixes) / sizeof(*prefixes); p++) {
            size_t l = word_at(s, i, prefixes[p].word);
            if (!l || (alpha(s->c[i]) && !left_edge(s, i)))
                continue;
            size_t j = i + l;
            if (at(s, j) == ' ')
                j++;
            size_t nl = number_at(s, j, num, sizeof(num));
            if (nl && right_edge(s, j + nl)) {
                snprintf(v, sizeof(v), "%s %s", num, prefixes[p].code);
                add(s, SB_NLU_ENT_AMOUNT, i, j + nl, v);
                i = j + nl - 1;
            }
            break;
        }
        if (s->claimed[i] || !dig(s->c[i]) || !left_edge(s, i) || (i && s->c[i - 1] == '.'))
            continue;
        /* number first: "12.50 USD", "300元", "20 dollars" */
        size_t nl = number_at(s, i, num, sizeof(num));
        if (!nl)
            continue;
        size_t j = i + nl, sp = at(s, j) == ' ' ? 1 : 0;
        for (size_t p = 0; p < sizeof(suffixes) / sizeof(*suffixes); p++) {
            size_t l = word_at(s, j + sp, suffixes[p].word);
            if (!l)
                continue;
            if (alpha(at(s, j + sp)) && !right_edge(s, j + sp + l))
                continue;
            snprintf(v, sizeof(v), "%s %s", num, suffixes[p].code);
            add(s, SB_NLU_ENT_AMOUNT, i, j + sp + l, v);
            break;
        }
        i = j - 1;
    }
}

/* ---- dates --------------------------------------------------------------------------------- */

/* The civil date of a day number counted from 1970-01-01 (proleptic Gregorian). */
static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static long today_days(const struct scan *s)
{
    int64_t ms = s->opts && s->opts->now_ms ? s->opts->now_ms : (int64_t)time(NULL) * 1000;
    int64_t off = s->opts ? (int64_t)s->opts->tz_offset_min * 60000 : 0;
    int64_t t = ms + off;
    return (long)(t >= 0 ? t / 86400000 : (t - 86399999) / 86400000);
}

static void add_date(struct scan *s, size_t a, size_t b, int y, int m, int d)
{
    if (!valid_ymd(y, m, d) || y < 1900 || y > 2200)
        return;
    char v[32];
    snprintf(v, sizeof(v), "%04d-%02d-%02d", y, m, d);
    add(s, SB_NLU_ENT_DATE, a, b, v);
}

static void add_rel(struct scan *s, size_t a, size_t b, long delta)
{
    int y, m, d;
    civil_from_days(today_days(s) + delta, &y, &m, &d);
    add_date(s, a, b, y, m, d);
}

/* Unsigned integer of up to `max` digits at i; length in *len. */
static int int_at(const struct scan *s, size_t i, int max, size_t *len)
{
    int v = 0;
    size_t k = 0;
    while (k < (size_t)max && dig(at(s, i + k))) {
        v = v * 10 + (s->c[i + k] - '0');
        k++;
    }
    *len = k;
    return v;
}

static const char *const months[12] = {"january", "february", "march",     "april",
                                       "may",     "june",     "july",      "august",
                                       "september", "october", "november", "december"};

/* An English month name (full or three-letter, optional '.') at i. */
static int month_at(const struct scan *s, size_t i, size_t *len)
{
    if (!left_edge(s, i))
        return 0;
    for (int m = 0; m < 12; m++) {
        size_t l = word_at(s, i, months[m]);
        if (l && right_edge(s, i + l)) {
            *len = l;
            return m + 1;
        }
        char abbr[5];
        memcpy(abbr, months[m], 3);
        abbr[3] = '\0';
        l = word_at(s, i, abbr);
        if (l && right_edge(s, i + l) && m != 4) {
            *len = l + (at(s, i + l) == '.' ? 1 : 0);
            return m + 1;
        }
    }
    return 0;
}

struct rel {
    const char *word;
    long delta;
};

static const struct rel rels[] = {
    {"the day before yesterday", -2}, {"day before yesterday", -2}, {"the day after tomorrow", 2},
    {"day after tomorrow", 2},        {"yesterday", -1},            {"today", 0},
    {"tonight", 0},                   {"tomorrow", 1},              {"last week", -7},
    {"next week", 7},                 {"大前天", -3},               {"前天", -2},
    {"昨天", -1},                     {"昨日", -1},                 {"今天", 0},
    {"今日", 0},                      {"明天", 1},                  {"明日", 1},
    {"后天", 2},                      {"上周", -7},                 {"上星期", -7},
    {"下周", 7},                      {"下星期", 7},
};

static void find_dates(struct scan *s)
{
    int y0, m0, d0;
    civil_from_days(today_days(s), &y0, &m0, &d0);
    for (size_t i = 0; i < s->n; i++) {
        if (s->claimed[i])
            continue;
        size_t l1, l2, l3;
        if (dig(s->c[i]) && left_edge(s, i)) {
            int a = int_at(s, i, 4, &l1);
            int32_t sep = at(s, i + l1);
            /* 2024-05-01, 2024/5/1, 2024.05.01 */
            if (l1 == 4 && (sep == '-' || sep == '/' || sep == '.')) {
                int b = int_at(s, i + 5, 2, &l2);
                if (l2 && at(s, i + 5 + l2) == sep) {
                    int c = int_at(s, i + 6 + l2, 2, &l3);
                    size_t e = i + 6 + l2 + l3;
                    if (l3 && right_edge(s, e)) {
                        add_date(s, i, e, a, b, c);
                        continue;
                    }
                }
            }
            /* 5/1/2024 (US order unless the first part cannot be a month) */
            if (l1 <= 2 && sep == '/') {
                int b = int_at(s, i + l1 + 1, 2, &l2);
                if (l2 && at(s, i + l1 + 1 + l2) == '/') {
                    int c = int_at(s, i + l1 + 2 + l2, 4, &l3);
                    size_t e = i + l1 + 2 + l2 + l3;
                    if (l3 == 4 && right_edge(s, e)) {
                        if (a > 12)
                            add_date(s, i, e, c, b, a);
                        else
                            add_date(s, i, e, c, a, b);
                        continue;
                    }
                }
            }
            /* 2024年5月1日, 5月1日, 5月1号 */
            size_t j = i;
            int y = y0;
            if (l1 == 4 && sep == 0x5E74 /* 年 */) {
                y = a;
                j = i + 5;
            }
            int m = j == i ? a : int_at(s, j, 2, &l2);
            size_t lm = j == i ? l1 : l2;
            if (lm && lm <= 2 && at(s, j + lm) == 0x6708 /* 月 */) {
                int d = int_at(s, j + lm + 1, 2, &l3);
                int32_t t = at(s, j + lm + 1 + l3);
                if (l3 && (t == 0x65E5 || t == 0x53F7)) { /* 日 号 */
                    add_date(s, i, j + lm + 2 + l3, y, m, d);
                    continue;
                }
            }
            /* 3 May 2024, 3rd of May */
            size_t k = i + l1;
            if (l1 <= 2) {
                if (word_at(s, k, "st") || word_at(s, k, "nd") || word_at(s, k, "rd") ||
                    word_at(s, k, "th"))
                    k += 2;
                if (at(s, k) == ' ')
                    k++;
                if (word_at(s, k, "of "))
                    k += 3;
                size_t ml;
                int m2 = month_at(s, k, &ml);
                if (m2) {
                    size_t e = k + ml;
                    int yy = y0;
                    if (at(s, e) == ' ' || at(s, e) == ',') {
                        size_t q = e + 1 + (at(s, e + 1) == ' ');
                        int yv = int_at(s, q, 4, &l3);
                        if (l3 == 4 && right_edge(s, q + 4)) {
                            yy = yv;
                            e = q + 4;
                        }
                    }
                    add_date(s, i, e, yy, m2, a);
                    continue;
                }
            }
            /* N days ago / N天前 */
            if (l1 <= 3) {
                size_t q = i + l1 + (at(s, i + l1) == ' ');
                size_t w = word_at(s, q, "days ago");
                if (!w)
                    w = word_at(s, q, "day ago");
                if (!w)
                    w = word_at(s, q, "天前");
                if (w) {
                    add_rel(s, i, q + w, -(long)a);
                    continue;
                }
            }
            i += l1 - 1;
            continue;
        }
        /* May 3, May 3rd, 2024 */
        size_t ml;
        int m = month_at(s, i, &ml);
        if (m) {
            size_t q = i + ml + (at(s, i + ml) == ' ');
            int d = int_at(s, q, 2, &l1);
            if (l1) {
                size_t e = q + l1;
                if (word_at(s, e, "st") || word_at(s, e, "nd") || word_at(s, e, "rd") ||
                    word_at(s, e, "th"))
                    e += 2;
                if (right_edge(s, e)) {
                    int yy = y0;
                    if (at(s, e) == ',' || at(s, e) == ' ') {
                        size_t r = e + 1 + (at(s, e) == ',' && at(s, e + 1) == ' ');
                        int yv = int_at(s, r, 4, &l2);
                        if (l2 == 4 && right_edge(s, r + 4)) {
                            yy = yv;
                            e = r + 4;
                        }
                    }
                    add_date(s, i, e, yy, m, d);
                    continue;
                }
            }
        }
        for (size_t r = 0; r < sizeof(rels) / sizeof(*rels); r++) {
            size_t l = word_at(s, i, rels[r].word);
            if (l && (rels[r].word[0] & 0x80 || (left_edge(s, i) && right_edge(s, i + l)))) {
                add_rel(s, i, i + l, rels[r].delta);
                i += l - 1;
                break;
            }
        }
    }
}

/* ---- driver ------------------------------------------------------------------------------------ */

static int cmp_span(const void *a, const void *b)
{
    const struct sb_nlu_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int sb_nlu_entities(const char *text, size_t len, const struct sb_nlu_entity_opts *opts,
                    struct sb_nlu_span **spans, size_t *n)
{
    if (!spans || !n || (!text && len))
        return SB_EINVAL;
    *spans = NULL;
    *n = 0;
    if (len > SB_NLU_TEXT_MAX)
        return SB_ETOOBIG;
    struct scan s = {0};
    s.opts = opts;
    s.c = sb_malloc((len + 1) * sizeof(int32_t));
    s.orig = sb_malloc((len + 1) * sizeof(int32_t));
    s.off = sb_malloc((len + 1) * sizeof(size_t));
    for (size_t i = 0; i < len;) {
        int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                              (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            k = 1;
            c = 0xFFFD;
        }
        if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0; /* full-width ASCII */
        else if (c == 0x3000)
            c = ' ';
        else if (c == 0xFFE5)
            c = 0xA5; /* full-width yen sign */
        s.off[s.n] = i;
        s.orig[s.n] = c;
        s.c[s.n] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        s.n++;
        i += (size_t)k;
    }
    s.off[s.n] = len;
    s.claimed = sb_calloc(s.n + 1, 1);
    find_email(&s);
    find_order_patterns(&s);
    find_iban(&s);
    find_numbers(&s);
    find_dates(&s);
    find_amounts(&s);
    find_order_default(&s);
    if (s.nsp)
        qsort(s.sp, s.nsp, sizeof(*s.sp), cmp_span);
    free(s.c);
    free(s.orig);
    free(s.off);
    free(s.claimed);
    *spans = s.sp;
    *n = s.nsp;
    return 0;
}

static const char *const tags[SB_NLU_ENT_COUNT] = {
    "[ORDER]", "[EMAIL]", "[PHONE]", "[AMOUNT]", "[DATE]", "[CARD]", "[ID]", "[IBAN]",
};

int sb_nlu_redact(const char *text, size_t len, const struct sb_nlu_entity_opts *opts,
                  unsigned mask, char **masked, struct sb_nlu_span **spans, size_t *n)
{
    if (!masked)
        return SB_EINVAL;
    struct sb_nlu_span *all;
    size_t na;
    int rc = sb_nlu_entities(text, len, opts, &all, &na);
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < na; i++)
        if ((mask >> all[i].type) & 1u)
            all[k++] = all[i];
    struct sb_buf b;
    sb_buf_init(&b, 0);
    size_t pos = 0;
    for (size_t i = 0; i < k; i++) {
        (void)sb_buf_append(&b, text + pos, all[i].start - pos);
        (void)sb_buf_appends(&b, tags[all[i].type]);
        pos = all[i].end;
    }
    (void)sb_buf_append(&b, text ? text + pos : "", len - pos);
    *masked = sb_buf_steal(&b, NULL);
    if (!*masked)
        *masked = sb_strdup("");
    if (spans) {
        *spans = k ? all : NULL;
        if (!k)
            free(all);
    } else {
        free(all);
    }
    if (n)
        *n = k;
    return 0;
}

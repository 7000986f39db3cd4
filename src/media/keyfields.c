/* SPDX-License-Identifier: MIT */
/*
 * Receipt and invoice key fields (company, date, address, total) from OCR lines. The method
 * uses the layout, not just the words: a receipt is a header block (the seller's name, often in
 * larger print, then its address lines, then registration/phone lines), a body of items, and a
 * footer of totals where each label and its amount share a row.
 *   company  the header line with the best score from: position among the first lines, height
 *            relative to the page's median line height, capitals, legal-entity or trade words
 *            (SDN BHD, LTD, TRADING, RESTAURANT…), OCR confidence; lines that look like
 *            addresses, phone/tax numbers or document titles score low.
 *   address  the run of lines that follows the company (registration numbers skipped), until a
 *            line that is clearly not address (phone, tax id, date, document title, amounts) or
 *            a vertical gap; joined with spaces.
 *   date     every date-shaped match (d/m/y, y-m-d, d MON y) with valid day and month; a
 *            "date" label on the line and an early position win.
 *   total    amounts on rows whose label says total (rounded/grand/net/inclusive totals ahead
 *            of plain totals; sub-totals, quantities, tax and discounts behind), the amount
 *            taken from the same row or the row just below; a candidate equal to cash minus
 *            change is preferred; without any labelled row the largest repeated amount.
 * Every weight is a small integer chosen on the 40 training receipts and checked on each half
 * of them (docs/media.md); none names a shop.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_receipt_fields_cleanup(struct sb_receipt_fields *f)
{
    if (!f)
        return;
    free(f->company);
    free(f->date);
    free(f->address);
    free(f->total);
    memset(f, 0, sizeof(*f));
}

static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static regex_t re_date[4], re_amount, re_postcode, re_phone, re_regno, re_regno7, re_time;
static int re_ok;

static void re_init(void)
{
    static const char *const dates[4] = {
        /* 25/12/2018, 12-01-19, 5.3.2018 */
        "(^|[^0-9])([0-3]?[0-9][/.-][01]?[0-9][/.-](19|20)?[0-9][0-9])($|[^0-9])",
        /* 2018-03-23 */
        "(^|[^0-9])((19|20)[0-9][0-9][/.-][01]?[0-9][/.-][0-3]?[0-9])($|[^0-9])",
        /* 05 MAR 2018, 5-Mar-18 */
        "(^|[^0-9])([0-3]?[0-9][ -]?(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*"
        "[ ,-]*(19|20)?[0-9][0-9])($|[^0-9])",
        /* MAR 05, 2018 */
        "()((JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]* [0-3]?[0-9],? "
        "(19|20)[0-9][0-9])($|[^0-9])",
    };
    int bad = 0;
    for (int i = 0; i < 4; i++)
        bad |= regcomp(&re_date[i], dates[i], REG_EXTENDED | REG_ICASE);
    bad |= regcomp(&re_amount, "(^|[^0-9.,])(\\$?[0-9]{1,3}([.,][0-9]{3})*[.,][0-9]{2})($|[^0-9])",
                   REG_EXTENDED);
    bad |= regcomp(&re_postcode, "(^|[^0-9])[0-9]{5}($|[^0-9])", REG_EXTENDED);
    bad |= regcomp(&re_phone, "[0-9]{2,4}[- ]?[0-9]{3,4}[- ]?[0-9]{3,4}", REG_EXTENDED);
    bad |= regcomp(&re_regno, "[0-9]{6,}|[0-9]-[A-Z]($|[^A-Z])", REG_EXTENDED | REG_ICASE);
    bad |= regcomp(&re_regno7, "[0-9]{7,}", REG_EXTENDED);
    bad |= regcomp(&re_time, "[0-2]?[0-9]:[0-5][0-9]", REG_EXTENDED);
    re_ok = !bad;
}

/* Upper-cased copy with runs of white space collapsed. */
static char *upper(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *o = sb_malloc(n + 1);
    int sp = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            sp = k > 0;
            continue;
        }
        if (sp)
            o[k++] = ' ';
        sp = 0;
        o[k++] = (char)toupper(c);
    }
    o[k] = 0;
    return o;
}

/* Whole-word (letters) occurrence of `w` in upper-cased `s`. */
static int has_word(const char *s, const char *w)
{
    size_t l = strlen(w);
    for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
        int left = p == s || !isalpha((unsigned char)p[-1]);
        int right = !isalpha((unsigned char)p[l]);
        if (left && right)
            return 1;
    }
    return 0;
}

static int has_any(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (has_word(s, *words))
            return 1;
    return 0;
}

static const char *const entity_words[] = {
    "SDN", "BHD", "BERHAD", "LTD", "LIMITED", "INC", "CORP", "CORPORATION", "LLC", "PLC",
    "GMBH", "CO", "COMPANY", "ENTERPRISE", "ENTERPRISES", "TRADING", "TRADERS", "RESTAURANT",
    "RESTORAN", "CAFE", "BAKERY", "HARDWARE", "STORE", "STORES", "SHOP", "MART", "MARKET",
    "SUPERMARKET", "PHARMACY", "STATION", "HOTEL", "PERNIAGAAN", "KEDAI", "INDUSTRIES",
    "HOLDINGS", "GROUP", "SERVICES", "MOTOR", "BOOKSTORE", "STATIONERY", "BISTRO", "KITCHEN",
    "S/B", NULL};
static const char *const address_words[] = {
    "JALAN", "JLN", "JL", "ROAD", "RD", "STREET", "ST", "AVENUE", "LOT", "TAMAN", "LORONG",
    "BLOCK", "BLK", "FLOOR", "FLR", "LEVEL", "SUITE", "UNIT", "BUILDING", "PLAZA", "KAWASAN",
    "BANDAR", "PERSIARAN", "LEBUHRAYA", "STATE", "CITY", NULL};
static const char *const stop_words[] = {
    "TEL", "TELEPHONE", "PHONE", "FAX", "GST", "SST", "REG", "INVOICE", "RECEIPT", "DATE",
    "CASHIER", "EMAIL", "E-MAIL", "WWW", "HTTP", "TAX", "BILL", "ORDER", "TABLE", "SERVER",
    "TERMINAL", "DOC", "DOCUMENT", "MEMBER", "WELCOME", "THANK", "HOTLINE", "WEBSITE",
    "OPEN", "DAILY", "COUNTER", "TIME", "GUEST", "CHECK", "COMPANY", NULL};

struct line {
    const struct sb_ocr_line *src;
    char *up; /* upper-cased text */
    int y, h;
};

static int n_alpha(const char *s, int *n_upper, int *n_lower, int *n_digit, int *n_visible)
{
    int a = 0, u = 0, lo = 0, d = 0, v = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isspace(c))
            continue;
        v++;
        if (isalpha(c)) {
            a++;
            u += isupper(c) != 0;
            lo += islower(c) != 0;
        } else if (isdigit(c)) {
            d++;
        }
    }
    if (n_upper)
        *n_upper = u;
    if (n_lower)
        *n_lower = lo;
    if (n_digit)
        *n_digit = d;
    if (n_visible)
        *n_visible = v;
    return a;
}

/* A line that is a registration or tax number rather than a name or an address. */
static int is_regno_line(const struct line *l)
{
    int digits = 0, vis = 0;
    int a = n_alpha(l->up, NULL, NULL, &digits, &vis);
    if (vis == 0)
        return 1;
    if (has_word(l->up, "REG") || has_word(l->up, "GST") || has_word(l->up, "ROC") ||
        has_word(l->up, "SST"))
        return 1;
    /* company numbers: a run of 7+ digits (longer than postcodes), or digits ending in "-X"
     * on a line that is not an address */
    if (regexec(&re_regno7, l->up, 0, NULL, 0) == 0)
        return 1;
    return regexec(&re_regno, l->up, 0, NULL, 0) == 0 && !has_any(l->up, address_words) &&
           a <= digits;
}

static int is_stop_line(const struct line *l)
{
    if (has_any(l->up, stop_words))
        return 1;
    regmatch_t m[3];
    for (int i = 0; i < 4; i++)
        if (regexec(&re_date[i], l->up, 3, m, 0) == 0)
            return 1;
    if (regexec(&re_time, l->up, 0, NULL, 0) == 0)
        return 1;
    if (regexec(&re_amount, l->up, 0, NULL, 0) == 0)
        return 1;
    int digits = 0, vis = 0;
    int a = n_alpha(l->up, NULL, NULL, &digits, &vis);
    /* phone numbers without a label: mostly digits and dashes */
    if (regexec(&re_phone, l->up, 0, NULL, 0) == 0 && digits >= 9 && a < digits / 2)
        return 1;
    return 0;
}

/* "NO" is an address word only before a number ("NO.59", "NO 4"), not in "Company No". */
static int has_house_number(const char *up)
{
    for (const char *p = strstr(up, "NO"); p; p = strstr(p + 1, "NO")) {
        if (p > up && isalpha((unsigned char)p[-1]))
            continue;
        const char *q = p + 2;
        while (*q == '.' || *q == ' ' || *q == ':')
            q++;
        if (isdigit((unsigned char)*q))
            return 1;
    }
    return 0;
}

/* Connectors and trade words alone ("BISTRO & CAFE") describe a shop; a name needs a word
 * of its own. */
static int has_name_word(const char *up)
{
    static const char *const connectors[] = {"&", "AND", "THE", "OF", "N", NULL};
    char w[64];
    for (const char *p = up; *p;) {
        while (*p == ' ')
            p++;
        size_t k = 0;
        while (p[k] && p[k] != ' ')
            k++;
        size_t m = 0;
        for (size_t i = 0; i < k && m + 1 < sizeof w; i++)
            if (isalnum((unsigned char)p[i]) || p[i] == '&' || p[i] == '/')
                w[m++] = p[i];
        w[m] = 0;
        p += k;
        int letters = 0;
        for (size_t i = 0; i < m; i++)
            letters += isalpha((unsigned char)w[i]) != 0;
        if (!letters)
            continue;
        int generic = 0;
        for (const char *const *c = connectors; *c && !generic; c++)
            generic = strcmp(w, *c) == 0;
        for (const char *const *c = entity_words; *c && !generic; c++)
            generic = strcmp(w, *c) == 0;
        if (!generic)
            return 1;
    }
    return 0;
}

static int is_address_like(const struct line *l)
{
    return has_any(l->up, address_words) || has_house_number(l->up) ||
           regexec(&re_postcode, l->up, 0, NULL, 0) == 0;
}

/* Cleans a company line: drops a trailing "(123456-X)" registration and stray punctuation. */
/* A zero among letters is the letter O ("AEON C0." -> "AEON CO."): in a word of letters whose
 * only digits are zeros, each zero becomes an O of the case of the letter before it. */
static void letters_for_zeros(char *s)
{
    for (char *p = s; *p;) {
        char *q = p;
        int letters = 0, zeros = 0, other = 0;
        for (; isalnum((unsigned char)*q); q++) {
            letters += isalpha((unsigned char)*q) != 0;
            zeros += *q == '0';
            other += isdigit((unsigned char)*q) && *q != '0';
        }
        if (letters && zeros && !other && letters >= zeros)
            for (char *c = p; c < q; c++)
                if (*c == '0')
                    *c = c > p && islower((unsigned char)c[-1]) ? 'o' : 'O';
        p = *q ? q + 1 : q;
    }
}

static char *clean_line(const char *text, int is_name)
{
    char *s = sb_strdup(text);
    char *open = strrchr(s, '(');
    if (open && open > s) {
        int digits = 0;
        for (char *p = open; *p; p++)
            digits += isdigit((unsigned char)*p) != 0;
        if (digits >= 4)
            *open = 0;
    }
    size_t n = strlen(s);
    while (n && (isspace((unsigned char)s[n - 1]) || strchr(is_name ? "|_:;,~" : "|_~", s[n - 1])))
        s[--n] = 0;
    char *start = s;
    while (*start && !isalnum((unsigned char)*start) && *start != '(')
        start++;
    /* a lone lower-case letter before capitals is a speck, not a word */
    if (islower((unsigned char)start[0]) && start[1] == ' ' && isupper((unsigned char)start[2]))
        start += 2;
    /* no space before a comma (OCR spaces out punctuation), and one comma where a speck was
     * read as a second */
    char *r = sb_malloc(strlen(start) + 1);
    size_t k = 0;
    for (const char *p = start; *p; p++) {
        if ((*p == ' ' && p[1] == ',') || (*p == ',' && k && r[k - 1] == ','))
            continue;
        r[k++] = *p;
    }
    r[k] = 0;
    free(s);
    letters_for_zeros(r);
    return r;
}

/* Common misreadings of the Malaysian legal forms ("SON BHD", "SDN 8HD", "SDN BH0"): a word
 * that is one of these next to the other half of the pair is repaired. */
static void replace_word(char *s, const char *bad, const char *good)
{
    size_t l = strlen(bad);
    for (char *p = strstr(s, bad); p; p = strstr(p + 1, bad))
        if ((p == s || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[l]))
            memcpy(p, good, l);
}

static int has_word_in(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (has_word(s, words[i]))
            return 1;
    return 0;
}

static void fix_entity_words(char *s)
{
    static const char *const sdn[] = {"SDN", "SON", "5DN", "SDM", "S0N"};
    static const char *const bhd[] = {"BHD", "8HD", "BH0", "BHO", "8H0"};
    const size_t n = sizeof sdn / sizeof *sdn;
    /* only as a pair: "SON" alone is a word ("& SON TRADING") */
    if (!has_word_in(s, sdn, n) || !has_word_in(s, bhd, n))
        return;
    for (size_t i = 1; i < n; i++) {
        replace_word(s, sdn[i], "SDN");
        replace_word(s, bhd[i], "BHD");
    }
}

/* Drops trailing tokens of a name that are specks, not words: one lower-case letter ("i"), or
 * at most two characters without a letter ("2", ":", "$8"). */
static void drop_trailing_specks(char *s)
{
    for (;;) {
        size_t n = strlen(s);
        while (n && s[n - 1] == ' ')
            s[--n] = 0;
        char *sp = strrchr(s, ' ');
        if (!sp)
            return;
        const char *t = sp + 1;
        size_t len = strlen(t);
        int letters = 0;
        for (const char *p = t; *p; p++)
            letters += isalpha((unsigned char)*p) != 0;
        int speck = (len == 1 && islower((unsigned char)t[0])) || (len <= 2 && letters == 0);
        if (!speck)
            return;
        *sp = 0;
    }
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void find_company_address(const struct line *L, size_t n, double med_h,
                                 struct sb_receipt_fields *out)
{
    /* the header: lines before the first date/amount line, at most the first 12 */
    size_t head = 0;
    while (head < n && head < 12) {
        regmatch_t m[3];
        int date = 0;
        for (int i = 0; i < 4 && !date; i++)
            date = regexec(&re_date[i], L[head].up, 3, m, 0) == 0;
        if (date || (head > 2 && regexec(&re_amount, L[head].up, 0, NULL, 0) == 0))
            break;
        head++;
    }
    if (head == 0)
        head = n < 3 ? n : 3;
    double best = -1e9;
    size_t bi = n;
    for (size_t i = 0; i < head; i++) {
        const struct line *l = &L[i];
        int up = 0, lo = 0, dig = 0, vis = 0;
        int a = n_alpha(l->src->text, &up, &lo, &dig, &vis);
        if (a < 3)
            continue;
        double s = 0;
        s += 2.0 * a / vis;                            /* mostly letters */
        if (has_any(l->up, entity_words))              /* legal-entity or trade word */
            s += has_name_word(l->up) ? 3 : 0;
        s -= is_address_like(l) ? 3 : 0;
        s -= is_stop_line(l) ? 3 : 0;
        s -= is_regno_line(l) ? 3 : 0;
        s -= up == 0 ? 3 : 0;                          /* lower-case only: a stamp or hand */
        s -= lo > up ? 1 : 0;
        s -= 0.4 * (double)i;                          /* names come first */
        s += clamp(l->h / med_h - 1, 0, 1.5);          /* larger print */
        /* the name comes before the address block: a line with an address line just below it
         * gains, a line below an address line loses */
        for (size_t j = i + 1; j < n && j <= i + 2; j++) {
            if (is_address_like(&L[j]) && !is_regno_line(&L[j])) {
                s += 2;
                break;
            }
            if (!is_regno_line(&L[j]))
                break;
        }
        for (size_t j = 0; j < i; j++)
            if (is_address_like(&L[j]) && !is_regno_line(&L[j]) && !is_stop_line(&L[j])) {
                s -= 2;
                break;
            }
        s += 3 * l->src->conf;                         /* logos read as garbage score low */
        s -= l->src->conf < 0.5 ? 2 : 0;
        if (s > best) {
            best = s;
            bi = i;
        }
    }
    if (bi == n) {
        out->company = sb_strdup("");
        out->address = sb_strdup("");
        return;
    }
    out->company = clean_line(L[bi].src->text, 1);
    drop_trailing_specks(out->company);
    fix_entity_words(out->company);
    out->conf[0] = (float)(L[bi].src->conf * clamp(best / 5, 0, 1));

    /* the address: the lines after the company, registration lines skipped */
    struct sb_buf b;
    sb_buf_init(&b, 4096);
    size_t i = bi + 1, taken = 0;
    double conf = 0;
    int prev_bottom = L[bi].y + L[bi].h;
    /* it starts at the first address-like line among the next five (slogans, "formerly
     * known as", registration numbers and dates may come first), else right after */
    for (size_t j = i; j < n && j < bi + 6; j++) {
        if (is_address_like(&L[j]) && !is_regno_line(&L[j])) {
            i = j;
            break;
        }
    }
    /* registration numbers and a trade descriptor under the name ("BISTRO & CAFE") are not
     * address lines */
    while (i < n && (is_regno_line(&L[i]) ||
                     (has_any(L[i].up, entity_words) && !has_name_word(L[i].up))))
        i++;
    if (i > bi + 1)
        prev_bottom = L[i - 1].y + L[i - 1].h;
    int postcode_seen = 0;
    for (; i < n && taken < 6; i++) {
        const struct line *l = &L[i];
        if (l->y - prev_bottom > 1.6 * med_h && taken)
            break;
        if (is_stop_line(l) && !is_address_like(l))
            break;
        if (is_regno_line(l))
            break;
        /* after the postcode line only a short all-letters line (a state) may follow */
        if (postcode_seen) {
            int a = 0, vis = 0;
            a = n_alpha(l->up, NULL, NULL, NULL, &vis);
            if (a < vis - 2 || vis > 24 || is_address_like(l))
                break;
        }
        /* a line with a phone label after the address has begun ends it */
        if (taken && (has_word(l->up, "TEL") || has_word(l->up, "FAX") ||
                      has_word(l->up, "GST")))
            break;
        int vis = 0, digits = 0;
        int letters = n_alpha(l->src->text, NULL, NULL, &digits, &vis);
        /* an unlabelled phone number (digits and separators only) ends it */
        if (taken && letters == 0 && digits >= 7)
            break;
        if (vis < 2)
            continue;
        char *t = clean_line(l->src->text, 0);
        sb_buf_appendf(&b, "%s%s", b.len ? " " : "", t);
        free(t);
        conf += l->src->conf;
        taken++;
        prev_bottom = l->y + l->h;
        if (regexec(&re_postcode, l->up, 0, NULL, 0) == 0) {
            if (postcode_seen)
                break;
            postcode_seen = 1;
        }
    }
    out->address = b.data ? sb_buf_steal(&b, NULL) : sb_strdup("");
    sb_buf_cleanup(&b);
    out->conf[2] = taken ? (float)(conf / taken) : 0;
}

static int valid_date(const char *s)
{
    /* day and month must be plausible for d/m/y, y-m-d or m/d/y */
    int v[3] = {0}, k = 0;
    for (const char *p = s; *p && k < 3;) {
        if (isdigit((unsigned char)*p)) {
            v[k++] = (int)strtol(p, (char **)&p, 10);
        } else {
            p++;
        }
    }
    if (k < 3)
        return 1; /* a month name: the regex checked it */
    if (v[0] >= 1900)
        return v[1] >= 1 && v[1] <= 12 && v[2] >= 1 && v[2] <= 31;
    return v[0] >= 1 && v[0] <= 31 && v[1] >= 1 && v[1] <= 31 && (v[0] <= 12 || v[1] <= 12);
}

static void find_date(const struct line *L, size_t n, struct sb_receipt_fields *out)
{
    double best = -1e9;
    char *pick = NULL;
    float conf = 0;
    for (size_t i = 0; i < n; i++) {
        for (int r = 0; r < 4; r++) {
            regmatch_t m[3];
            const char *text = L[i].src->text;
            if (regexec(&re_date[r], text, 3, m, 0) != 0)
                continue;
            char *d = sb_strndup(text + m[2].rm_so, (size_t)(m[2].rm_eo - m[2].rm_so));
            if (!valid_date(d)) {
                free(d);
                continue;
            }
            double s = -0.05 * (double)i;
            if (has_word(L[i].up, "DATE") || strstr(L[i].up, "DATE"))
                s += 2;
            if (regexec(&re_time, L[i].up, 0, NULL, 0) == 0)
                s += 1; /* the transaction's date and time go together */
            if (s > best) {
                best = s;
                free(pick);
                pick = d;
                conf = L[i].src->conf;
            } else {
                free(d);
            }
        }
    }
    out->date = pick ? pick : sb_strdup("");
    out->conf[1] = conf;
}

/* Amounts in a line: values (cents) and their printed forms ("$8.20", "60,30" → "60.30"). */
struct amount {
    long cents;
    char text[24];
};

static size_t amounts_z(const char *s, struct amount *a, size_t max, int keep_zero)
{
    size_t k = 0;
    regmatch_t m[3];
    const char *p = s;
    while (k < max && regexec(&re_amount, p, 3, m, p == s ? 0 : REG_NOTBOL) == 0) {
        const char *t = p + m[2].rm_so;
        size_t len = (size_t)(m[2].rm_eo - m[2].rm_so);
        if (len < sizeof a[k].text) {
            size_t j = 0;
            long cents = 0;
            for (size_t i = 0; i < len; i++) {
                char c = t[i];
                /* the last separator is the decimal point; others group thousands */
                if ((c == ',' || c == '.') && i + 3 == len)
                    c = '.';
                else if (c == ',' || c == '.')
                    continue;
                a[k].text[j++] = c;
                if (isdigit((unsigned char)c))
                    cents = cents * 10 + (c - '0');
            }
            a[k].text[j] = 0;
            a[k].cents = cents;
            if (cents > 0 || keep_zero)
                k++;
        }
        p += m[2].rm_eo;
    }
    return k;
}

static size_t amounts(const char *s, struct amount *a, size_t max)
{
    return amounts_z(s, a, max, 0);
}

/* How strongly a line's label says "this is the amount to pay". */
static int total_label_score(const char *up)
{
    int total = has_word(up, "TOTAL") || has_word(up, "JUMLAH");
    int s = 0;
    if (total)
        s = 4;
    if (total && (has_word(up, "ROUND") || has_word(up, "ROUNDED") || has_word(up, "GRAND") ||
                  has_word(up, "NETT") || has_word(up, "NET") || has_word(up, "INCL") ||
                  has_word(up, "INCLUSIVE") || has_word(up, "PAYABLE") || has_word(up, "DUE")))
        s = 6;
    if (!total && (strstr(up, "AMOUNT DUE") || strstr(up, "BALANCE DUE") ||
                   strstr(up, "NET AMOUNT") || strstr(up, "AMOUNT PAYABLE")))
        s = 5;
    if (!s)
        return 0;
    if (has_word(up, "SUB") || strstr(up, "SUBTOTAL") || strstr(up, "SUB-TOTAL"))
        s -= 3;
    if (has_word(up, "QTY") || has_word(up, "QUANTITY") || has_word(up, "ITEM") ||
        has_word(up, "ITEMS") || has_word(up, "UNITS"))
        s -= 5;
    if ((has_word(up, "GST") || has_word(up, "TAX") || has_word(up, "SST") ||
         has_word(up, "EXCL") || has_word(up, "EXCLUDING") || has_word(up, "DISCOUNT") ||
         has_word(up, "SAVING") || has_word(up, "SAVINGS")) &&
        !has_word(up, "INCL") && !has_word(up, "INCLUSIVE"))
        s -= 3;
    return s;
}

/* A word within one edit of `w` (OCR reads "SUMMARY" as "SUSMARY", "SUMARY"). */
static int has_word_fuzzy(const char *s, const char *w)
{
    size_t m = strlen(w);
    for (const char *p = s; *p;) {
        while (*p && !isalpha((unsigned char)*p))
            p++;
        const char *q = p;
        while (*q && isalpha((unsigned char)*q))
            q++;
        size_t n = (size_t)(q - p);
        if (n + 1 >= m && n <= m + 1) {
            size_t i = 0, j = 0;
            int edits = 0;
            while (i < n && j < m && edits <= 1) {
                if (p[i] == w[j]) {
                    i++;
                    j++;
                } else if (n > m) {
                    i++, edits++;
                } else if (n < m) {
                    j++, edits++;
                } else {
                    i++, j++, edits++;
                }
            }
            edits += (int)(n - i) + (int)(m - j);
            if (edits <= 1)
                return 1;
        }
        p = q;
    }
    return 0;
}

/* Digits of an amount in cents, for comparing printed forms. */
static int cents_digits(long v, char *d, size_t size)
{
    return snprintf(d, size, "%ld", v < 0 ? -v : v);
}

/* Same number of digits and at most one different: what a one-character misreading does. */
static int one_digit_apart(long a, long b)
{
    char x[24], y[24];
    int n = cents_digits(a, x, sizeof x), m = cents_digits(b, y, sizeof y);
    if (n != m)
        return 0;
    int diff = 0;
    for (int i = 0; i < n; i++)
        diff += x[i] != y[i];
    return diff <= 1;
}

static void amount_of(long cents, struct amount *a)
{
    a->cents = cents;
    snprintf(a->text, sizeof a->text, "%ld.%02ld", cents / 100, cents % 100);
}

/* A row with a label of its own (letters), whose amount is not another row's. */
static int has_label(const char *up)
{
    int letters = 0;
    for (; *up; up++)
        letters += isalpha((unsigned char)*up) != 0;
    return letters >= 3;
}

/* How many times `cents` is printed on the page. */
static int occurrences(const struct line *L, size_t n, long cents)
{
    struct amount a[8];
    int c = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = amounts(L[i].src->text, a, 8);
        for (size_t j = 0; j < k; j++)
            c += a[j].cents == cents;
    }
    return c;
}

/* The total is printed several times (total, rounded total, summary); when the chosen reading
 * is printed once and a one-digit neighbour at least twice more, the neighbour wins. */
static void majority_repair(const struct line *L, size_t n, struct amount *pick)
{
    int own = occurrences(L, n, pick->cents), best = own + 1;
    struct amount a[8], win = *pick;
    for (size_t i = 0; i < n; i++) {
        size_t k = amounts(L[i].src->text, a, 8);
        for (size_t j = 0; j < k; j++) {
            if (a[j].cents == pick->cents || !one_digit_apart(a[j].cents, pick->cents))
                continue;
            int c = occurrences(L, n, a[j].cents);
            if (c > best) {
                best = c;
                win = a[j];
            }
        }
    }
    *pick = win;
}

static void find_total(const struct line *L, size_t n, double med_h,
                       struct sb_receipt_fields *out)
{
    enum { MAXA = 8 };
    struct amount a[MAXA];
    /* amounts the receipt's own arithmetic gives: cash tendered minus change, and the total
     * before tax plus the tax */
    long cash = -1, change = -1, excl = -1, tax = -1;
    size_t summary = n; /* first line of a GST/tax summary table */
    for (size_t i = 0; i < n; i++) {
        if (summary == n && has_word_fuzzy(L[i].up, "SUMMARY"))
            summary = i;
        size_t k = amounts_z(L[i].src->text, a, MAXA, 1);
        if (!k)
            continue;
        if (has_word(L[i].up, "CASH") || has_word(L[i].up, "TENDER") ||
            has_word(L[i].up, "TENDERED") || has_word(L[i].up, "PAID") ||
            has_word(L[i].up, "RECEIVED"))
            cash = a[k - 1].cents;
        if (has_word(L[i].up, "CHANGE") || has_word(L[i].up, "BALANCE"))
            change = a[k - 1].cents;
        if (i < summary && has_word(L[i].up, "TOTAL") &&
            (has_word(L[i].up, "EXCL") || has_word(L[i].up, "EXCLUDING")))
            excl = a[k - 1].cents;
        if (i < summary && has_word(L[i].up, "TOTAL") &&
            (has_word(L[i].up, "GST") || has_word(L[i].up, "TAX")) &&
            !has_word(L[i].up, "EXCL") && !has_word(L[i].up, "EXCLUDING") &&
            !has_word(L[i].up, "INCL") && !has_word(L[i].up, "INCLUSIVE") &&
            !has_word(L[i].up, "SALES"))
            tax = a[k - 1].cents;
    }
    long paid = cash > 0 && change >= 0 && cash >= change ? cash - change : -1;
    long sum = excl > 0 && tax >= 0 ? excl + tax : -1;

    double best = -1e9;
    struct amount pick = {0};
    float conf = 0;
    for (size_t i = 0; i < n; i++) {
        int label = total_label_score(L[i].up);
        if (label <= 0)
            continue;
        size_t k = amounts(L[i].src->text, a, MAXA);
        int below = 0;
        /* the amount may sit on the row below, or on a separate box of the same row, but not
         * on a row with a label of its own (the cash row under an amount-less total) */
        for (size_t j = i + 1; !k && j < n && j <= i + 2; j++) {
            if (abs(L[j].y - L[i].y) < med_h * 0.6 || L[j].y - (L[i].y + L[i].h) < med_h) {
                if (has_label(L[j].up) && total_label_score(L[j].up) <= 0)
                    break;
                k = amounts(L[j].src->text, a, MAXA);
                below = 1;
            }
        }
        if (!k)
            continue;
        /* the largest amount on the row (summary rows also print tax) */
        size_t m = 0;
        for (size_t j = 1; j < k; j++)
            if (a[j].cents > a[m].cents)
                m = j;
        double s = label - 0.5 * below + 0.02 * (double)i;
        if (paid >= 0 && a[m].cents == paid)
            s += 2;
        if (i >= summary)
            s -= 3; /* a tax summary's "Total" is the tax table's, not the bill's */
        if (s > best) {
            best = s;
            pick = a[m];
            conf = L[i].src->conf;
        }
    }
    if (best > -1e8) {
        /* a one-digit misreading of what the arithmetic says: trust the arithmetic */
        if (paid > 0 && pick.cents != paid && one_digit_apart(pick.cents, paid))
            amount_of(paid, &pick);
        else if (sum > 0 && pick.cents != sum && pick.cents != paid &&
                 one_digit_apart(pick.cents, sum))
            amount_of(sum, &pick);
        else
            majority_repair(L, n, &pick);
    } else if (paid > 0) {
        /* a total label whose amount was not read: cash minus change */
        amount_of(paid, &pick);
        conf = 0.5f;
    } else {
        /* no labelled total: the largest amount printed at least twice, else the largest */
        long top = -1;
        int top_rep = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k = amounts(L[i].src->text, a, MAXA);
            for (size_t j = 0; j < k; j++) {
                int rep = 0;
                struct amount b[MAXA];
                for (size_t i2 = 0; i2 < n; i2++) {
                    size_t k2 = amounts(L[i2].src->text, b, MAXA);
                    for (size_t j2 = 0; j2 < k2; j2++)
                        rep += b[j2].cents == a[j].cents;
                }
                rep = rep >= 2;
                if (rep > top_rep || (rep == top_rep && a[j].cents > top)) {
                    top = a[j].cents;
                    top_rep = rep;
                    pick = a[j];
                    conf = L[i].src->conf * 0.5f;
                }
            }
        }
    }
    /* a receipt that rounds its bill (a "Rounding" line) is paid in multiples of five cents
     * (Malaysia's cash rounding, as in Australia and Switzerland); the total read before the
     * adjustment is rounded likewise */
    if (pick.text[0] && pick.cents % 5) {
        for (size_t i = 0; i < n; i++)
            if (has_word(L[i].up, "ROUNDING") || has_word(L[i].up, "ROUNDED")) {
                amount_of((pick.cents + 2) / 5 * 5, &pick);
                break;
            }
    }
    out->total = sb_strdup(pick.text);
    out->conf[3] = conf;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

void sb_media_receipt_fields(const struct sb_ocr_page *page, struct sb_receipt_fields *out)
{
    memset(out, 0, sizeof(*out));
    pthread_once(&re_once, re_init);
    size_t n = page ? page->n_lines : 0;
    if (!re_ok || n == 0) {
        out->company = sb_strdup("");
        out->date = sb_strdup("");
        out->address = sb_strdup("");
        out->total = sb_strdup("");
        return;
    }
    struct line *L = sb_calloc(n, sizeof *L);
    int *hs = sb_malloc(n * sizeof(int));
    for (size_t i = 0; i < n; i++) {
        L[i].src = &page->lines[i];
        L[i].up = upper(page->lines[i].text);
        L[i].y = page->lines[i].box.y;
        L[i].h = page->lines[i].box.h > 0 ? page->lines[i].box.h : 1;
        hs[i] = L[i].h;
    }
    qsort(hs, n, sizeof(int), cmp_int);
    double med_h = hs[n / 2] > 0 ? hs[n / 2] : 1;
    free(hs);
    find_company_address(L, n, med_h, out);
    find_date(L, n, out);
    find_total(L, n, med_h, out);
    for (size_t i = 0; i < n; i++)
        free(L[i].up);
    free(L);
}

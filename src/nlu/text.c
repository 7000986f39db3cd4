/* SPDX-License-Identifier: MIT */
/*
 * The text core: Unicode normalisation (utf8proc NFKC + case folding + lumping), tokenisation
 * of English, Chinese and mixed text, and hashed feature extraction (token n-grams and
 * character n-grams inside word boundaries). Everything here is deterministic and thread-safe;
 * the Snowball stemmer, which is not, is kept per thread.
 */
#include "nlu_internal.h"
#include "sb/mem.h"

#include <libstemmer.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void sb__nlu_feat_cfg_default(struct sb__nlu_feat_cfg *c)
{
    c->word_ngrams = 2;
    c->char_min = 2;
    c->char_max = 5;
    c->han_max = 3;
    c->stem = 1;
    /* character 2..4-grams across boundaries, only those holding a Han character: in Chinese
       text they add n-grams with punctuation, digits and Latin letters and 4-grams; English
       text gets none (measured in docs/nlu.md) */
    c->extra = SB__NLU_F_XHAN | SB__NLU_F_CHAT; /* chat marks: measured neutral to +0.2 */
    c->pair_window = 0;
    c->cross = 2 << 4 | 4;
    c->word_weight = 1.0f;
    c->char_weight = 1.0f;
    c->lex = NULL;
    c->lexopts = 0;
}

void sb__nlu_hvec_cleanup(struct sb__nlu_hvec *v)
{
    if (!v->borrowed)
        free(v->h);
    v->borrowed = 0;
    v->h = NULL;
    v->n = v->cap = 0;
}

static void hvec_push(struct sb__nlu_hvec *v, uint64_t h)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        if (v->borrowed) {
            uint64_t *heap = sb_malloc(cap * sizeof(*v->h));
            memcpy(heap, v->h, v->n * sizeof(*v->h));
            v->h = heap;
            v->borrowed = 0;
        } else {
            v->h = sb_realloc(v->h, cap * sizeof(*v->h));
        }
        v->cap = cap;
    }
    v->h[v->n++] = h;
}

void sb__nlu_hvec_push(struct sb__nlu_hvec *v, uint64_t h)
{
    hvec_push(v, h);
}

/* ---- normalisation ---------------------------------------------------------------------- */

/* Copies `len` bytes replacing invalid UTF-8 by U+FFFD, so utf8proc_map never fails. */
static char *sanitize_utf8(const char *s, size_t len, size_t *outlen)
{
    char *o = sb_malloc(len * 3 + 1);
    size_t j = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0 || cp == 0) {
            if (k <= 0) {
                memcpy(o + j, "\xEF\xBF\xBD", 3);
                j += 3;
            } else {
                o[j++] = ' ';
            }
            i++;
            continue;
        }
        memcpy(o + j, s + i, (size_t)k);
        j += (size_t)k;
        i += (size_t)k;
    }
    o[j] = '\0';
    *outlen = j;
    return o;
}

char *sb_nlu_normalize(const char *text, size_t len)
{
    if (len > SB_NLU_TEXT_MAX || (!text && len))
        return NULL;
    size_t n;
    char *clean = sanitize_utf8(text ? text : "", len, &n);
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)clean, (utf8proc_ssize_t)n, &out,
                                      UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                                          UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_LUMP);
    if (r < 0) { /* cannot happen on sanitised input; keep the cleaned text */
        free(out);
        return clean;
    }
    free(clean);
    /* utf8proc allocates with malloc: hand it over as ours (free with free()). */
    return (char *)out;
}

/* ---- tokenisation --------------------------------------------------------------------------- */

enum tok_type { TOK_WORD, TOK_NUM, TOK_HAN, TOK_SYM };

struct tok {
    uint32_t off, len;         /* the token text in the scratch string */
    uint32_t raw_off, raw_len; /* unstemmed word in the normalised text (words only) */
    uint8_t type;
    uint32_t sent; /* sentence number (sentence-final punctuation starts the next one) */
};

struct toks {
    struct tok *t;
    size_t n, cap;
    struct sb_buf s; /* token strings */
    uint32_t sent;   /* current sentence number while tokenising */
    int tw;          /* chat-text normalisation (URLs, elongations) */
    uint32_t elong;  /* elongated words seen ("soooo") */
};

static int is_han(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x3040 && c <= 0x30FF) || /* kana: one token per character as well */
           (c >= 0xAC00 && c <= 0xD7AF);   /* hangul syllables */
}

static int is_wordch(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_NO);
}

static pthread_key_t stem_key;
static pthread_once_t stem_once = PTHREAD_ONCE_INIT;

static void stem_free(void *p)
{
    sb_stemmer_delete(p);
}

static void stem_key_init(void)
{
    (void)pthread_key_create(&stem_key, stem_free);
}

static struct sb_stemmer *thread_stemmer(void)
{
    pthread_once(&stem_once, stem_key_init);
    struct sb_stemmer *st = pthread_getspecific(stem_key);
    if (!st) {
        st = sb_stemmer_new("english", "UTF_8");
        if (st)
            pthread_setspecific(stem_key, st);
    }
    return st;
}

static void toks_add(struct toks *ts, enum tok_type type, const char *s, size_t len, size_t raw_off,
                     size_t raw_len)
{
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 64;
        ts->t = sb_realloc(ts->t, ts->cap * sizeof(*ts->t));
    }
    struct tok *t = &ts->t[ts->n++];
    t->off = (uint32_t)ts->s.len;
    t->len = (uint32_t)len;
    t->raw_off = (uint32_t)raw_off;
    t->raw_len = (uint32_t)raw_len;
    t->type = (uint8_t)type;
    t->sent = ts->sent;
    (void)sb_buf_append(&ts->s, s, len);
}

static void emit_word(struct toks *ts, const char *norm, size_t start, size_t end, int stem)
{
    const char *w = norm + start;
    size_t n = end - start;
    int digits = 1, ascii_alpha = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c < '0' || c > '9')
            digits = 0;
        if (!((c >= 'a' && c <= 'z') || c == '\''))
            ascii_alpha = 0;
    }
    if (digits) {
        toks_add(ts, TOK_NUM, "<num>", 5, start, n);
        return;
    }
    char sq[64];
    if (ts->tw && ascii_alpha && n >= 3 && n < sizeof(sq)) {
        /* "soooo" -> "soo" plus an elongation mark */
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            if (!(o >= 2 && sq[o - 1] == w[i] && sq[o - 2] == w[i]))
                sq[o++] = w[i];
        if (o < n) {
            ts->elong++;
            w = sq;
            n = o;
        }
    }
    if (stem && ascii_alpha && n >= 3) {
        struct sb_stemmer *st = thread_stemmer();
        if (st) {
            const sb_symbol *r = sb_stemmer_stem(st, (const sb_symbol *)w, (int)n);
            if (r) {
                toks_add(ts, TOK_WORD, (const char *)r, (size_t)sb_stemmer_length(st), start, n);
                return;
            }
        }
    }
    toks_add(ts, TOK_WORD, w, n, start, n);
}

/* Tokenises normalised text. */
static void tokenize(const char *norm, size_t len, int stem, struct toks *ts)
{
    size_t i = 0, wstart = 0;
    int inword = 0;
    while (i < len) {
        int32_t c;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)norm + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            k = 1;
            c = ' ';
        }
        int apostrophe =
            (c == '\'' && inword && i + 1 < len && is_wordch((unsigned char)norm[i + 1]) &&
             (unsigned char)norm[i + 1] < 0x80);
        if (ts->tw && !inword && (c == 'h' || c == 'w') &&
            (strncmp(norm + i, "http://", 7) == 0 || strncmp(norm + i, "https://", 8) == 0 ||
             strncmp(norm + i, "www.", 4) == 0)) {
            size_t e = i;
            while (e < len && (unsigned char)norm[e] > ' ')
                e++;
            toks_add(ts, TOK_NUM, "<url>", 5, i, 0);
            i = e;
            continue;
        }
        if (!is_han(c) && (is_wordch(c) || apostrophe)) {
            if (!inword) {
                inword = 1;
                wstart = i;
            }
            i += (size_t)k;
            continue;
        }
        if (inword) {
            emit_word(ts, norm, wstart, i, stem);
            inword = 0;
        }
        if (is_han(c)) {
            toks_add(ts, TOK_HAN, norm + i, (size_t)k, i, (size_t)k);
        } else if (c == '?' || c == '!') {
            toks_add(ts, TOK_SYM, norm + i, (size_t)k, i, (size_t)k);
        } else if (c > 0x7F) {
            utf8proc_category_t cat = utf8proc_category(c);
            if (cat == UTF8PROC_CATEGORY_SO) /* emoji and other symbols carry sentiment */
                toks_add(ts, TOK_SYM, norm + i, (size_t)k, i, (size_t)k);
        }
        if (c == '.' || c == '!' || c == '?' || c == ';' || c == 0x3002 || c == 0xFF01 ||
            c == 0xFF1F || c == 0xFF1B || c == '\n') {
            if (ts->n && ts->t[ts->n - 1].sent == ts->sent)
                ts->sent++;
        }
        i += (size_t)k;
    }
    if (inword)
        emit_word(ts, norm, wstart, len, stem);
}

char *sb_nlu_tokens(const char *text, size_t len, size_t *n)
{
    char *norm = sb_nlu_normalize(text, len);
    if (!norm)
        return NULL;
    struct toks ts = {0};
    sb_buf_init(&ts.s, 0);
    tokenize(norm, strlen(norm), 1, &ts);
    struct sb_buf out;
    sb_buf_init(&out, 0);
    for (size_t i = 0; i < ts.n; i++) {
        (void)sb_buf_append(&out, ts.s.data + ts.t[i].off, ts.t[i].len);
        (void)sb_buf_append(&out, "", 1);
    }
    (void)sb_buf_append(&out, "", 1);
    *n = ts.n;
    free(ts.t);
    sb_buf_cleanup(&ts.s);
    free(norm);
    return sb_buf_steal(&out, NULL);
}

/* ---- hashing and features ---------------------------------------------------------------- */

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static uint64_t finish(uint64_t h, int charblock)
{
    /* splitmix finaliser: spreads FNV's weak low bits over the whole word */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    h &= ~SB__NLU_CHAR_BIT;
    if (charblock)
        h |= SB__NLU_CHAR_BIT;
    return h ? h : 1;
}

static uint64_t tok_hash(uint64_t h, const struct toks *ts, size_t i)
{
    h = fnv(h, ts->s.data + ts->t[i].off, ts->t[i].len);
    return fnv(h, "\x1f", 1);
}

/* Char n-grams of "<word>" for n in [lo, hi], counted in code points. */
static void word_chars(const char *w, size_t n, int lo, int hi, struct sb__nlu_hvec *out)
{
    size_t pos[260];
    size_t np = 0;
    /* code point boundaries of "<" w ">" (virtual marks at both ends) */
    for (size_t i = 0; i < n && np < 256;) {
        pos[np++] = i;
        unsigned char c = (unsigned char)w[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        i += k;
    }
    pos[np] = n;
    if (np > 255) /* absurdly long token: its char n-grams carry nothing */
        return;
    size_t total = np + 2; /* with the marks */
    for (int g = lo; g <= hi; g++) {
        if ((size_t)g > total)
            break;
        for (size_t s = 0; s + (size_t)g <= total; s++) {
            size_t e = s + (size_t)g; /* [s, e) in marked positions */
            if (g == 1 && (s == 0 || s == total - 1))
                continue;
            uint64_t h = fnv(FNV_OFF, "c", 1);
            size_t a = s, b = e;
            if (a == 0) {
                h = fnv(h, "<", 1);
                a = 1;
            }
            int close = 0;
            if (b == total) {
                close = 1;
                b = total - 1;
            }
            if (b > a)
                h = fnv(h, w + pos[a - 1], pos[b - 1] - pos[a - 1]);
            if (close)
                h = fnv(h, ">", 1);
            hvec_push(out, finish(h, 1));
        }
    }
}

/*
 * Char n-grams of lengths lo..hi over the whole normalised text, across word boundaries, with
 * every run of blanks (and the text's start and end) as one space: they see punctuation,
 * emoticons and word pairs that the tokens drop ("not good", ":(", "!!").
 */
static void cross_chars(const char *s, size_t n, int lo, int hi, int mixed_only,
                        struct sb__nlu_hvec *out)
{
    uint32_t posbuf[1024];
    uint8_t clsbuf[1024];
    char bufstack[2048];
    size_t maxcp = n + 2;
    uint32_t *pos = maxcp + 1 <= 1024 ? posbuf : sb_malloc((maxcp + 1) * sizeof(uint32_t));
    char *b = n + 2 <= sizeof(bufstack) ? bufstack : sb_malloc(n + 2);
    /* class of each code point: 1 Han (or kana, hangul), 2 ASCII letter, 4 anything else */
    uint8_t *cls = maxcp + 1 <= 1024 ? clsbuf : sb_malloc(maxcp + 1);
    size_t bl = 0, np = 0;
    cls[np] = 4;
    pos[np++] = 0;
    b[bl++] = ' ';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (k > n - i)
            k = n - i;
        if (c <= ' ') {
            if (b[bl - 1] != ' ') {
                cls[np] = 4;
                pos[np++] = (uint32_t)bl;
                b[bl++] = ' ';
            }
        } else {
            int32_t cp = c;
            if (k > 1 &&
                utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)k, &cp) <= 0)
                cp = 0xFFFD;
            cls[np] = is_han(cp) ? 1 : (c >= 'a' && c <= 'z') ? 2 : 4;
            pos[np++] = (uint32_t)bl;
            memcpy(b + bl, s + i, k);
            bl += k;
        }
        i += k;
    }
    if (b[bl - 1] != ' ') {
        cls[np] = 4;
        pos[np++] = (uint32_t)bl;
        b[bl++] = ' ';
    }
    pos[np] = (uint32_t)bl; /* np code points, pos[np] the end */
    int han = 0;
    for (size_t j = 0; j < np && !han; j++)
        han = cls[j] == 1;
    if ((mixed_only & 2) && !han)
        np = 0; /* only n-grams holding a Han character, and there is none */
    uint64_t seed = fnv(FNV_OFF, "x", 1);
    for (size_t st = 0; st < np; st++) {
        uint64_t h = seed;
        size_t at = pos[st];
        unsigned mask = 0;
        for (int g = 1; g <= hi && st + (size_t)g <= np; g++) {
            h = fnv(h, b + at, pos[st + (size_t)g] - at);
            at = pos[st + (size_t)g];
            mask |= cls[st + (size_t)g - 1];
            /* mixed_only: leave out what the tokens' n-grams already see (a Han run, one word) */
            if ((mixed_only & 1) && (mask == 1 || mask == 2))
                continue;
            if ((mixed_only & 2) && !(mask & 1))
                continue;
            if (g >= lo && !(g == 1 && b[pos[st]] == ' '))
                hvec_push(out, finish(h, 1));
        }
    }
    if (pos != posbuf)
        free(pos);
    if (b != bufstack)
        free(b);
    if (cls != clsbuf)
        free(cls);
}

/* English negation cues: the next few word tokens get a negated copy of their unigram. */
static int is_negation(const char *w, size_t n)
{
    static const char *const neg[] = {"not",   "no",     "never",   "cannot", "nothing", "nobody",
                                      "none",  "nor",    "without", "dont",   "cant",    "wont",
                                      "didnt", "doesnt", "isnt",    "wasnt",  "aint",    "neither"};
    if (n >= 3 && memcmp(w + n - 3, "n't", 3) == 0)
        return 1;
    for (size_t i = 0; i < sizeof(neg) / sizeof(*neg); i++)
        if (strlen(neg[i]) == n && memcmp(neg[i], w, n) == 0)
            return 1;
    return 0;
}

/*
 * Chat-text marks read from the raw text (before case folding): words of 3+ capital letters
 * ("NEVER again"), and emoticons as two classes (":)", ":-D", ";)", "<3" / ":(", ":'(", ":/").
 */
static void chat_marks(const char *s, size_t n, struct sb__nlu_hvec *out)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z') {
            size_t e = i;
            int upper = 1;
            while (e < n &&
                   (((unsigned char)s[e] | 0x20) >= 'a' && ((unsigned char)s[e] | 0x20) <= 'z')) {
                if (s[e] >= 'a')
                    upper = 0;
                e++;
            }
            int handle = i > 0 && (s[i - 1] == '@' || s[i - 1] == '#');
            if (upper && e - i >= 3 && !handle)
                hvec_push(out, finish(fnv(FNV_OFF, "<caps>", 6), 0));
            i = e;
            continue;
        }
        if (c == ':' || c == ';' || c == '=') {
            size_t j = i + 1;
            if (j < n && (s[j] == '-' || s[j] == '\'' || s[j] == 'o' || s[j] == '^'))
                j++;
            if (j < n) {
                char m = s[j];
                int next_ok = j + 1 >= n || !(((unsigned char)s[j + 1] | 0x20) >= 'a' &&
                                              ((unsigned char)s[j + 1] | 0x20) <= 'z');
                if ((m == ')' || m == ']' || m == 'D' || m == 'P' || m == 'p') && next_ok)
                    hvec_push(out, finish(fnv(FNV_OFF, "<smile>", 7), 0));
                else if ((m == '(' || m == '[' || (m == '/' && (j + 1 >= n || s[j + 1] != '/'))) &&
                         next_ok)
                    hvec_push(out, finish(fnv(FNV_OFF, "<frown>", 7), 0));
            }
        } else if (c == '<' && i + 1 < n && s[i + 1] == '3') {
            hvec_push(out, finish(fnv(FNV_OFF, "<smile>", 7), 0));
        }
        i++;
    }
}

/*
 * The tokens as the lexicon scan sees them (unstemmed, normalised), with a clause break where
 * a sentence ends or punctuation stands between two tokens; then the lexicon features.
 */
static double lexicon_pass(const struct sb__nlu_lex *lx, unsigned opts, const char *norm,
                           const struct toks *ts, struct sb__nlu_hvec *out, uint32_t *counts)
{
    struct sb__nlu_ltok stack[512];
    stack[0] = (struct sb__nlu_ltok){0}; /* the rest is written before it is read */
    size_t cap = ts->n * 2 + 1;
    struct sb__nlu_ltok *lt = cap <= 512 ? stack : sb_malloc(cap * sizeof(*lt));
    size_t n = 0, prev_end = 0;
    for (size_t i = 0; i < ts->n; i++) {
        const struct tok *t = &ts->t[i];
        /* a break of len 1 ends a sentence, of len 0 a clause (punctuation) */
        int sent = i > 0 && t->sent != ts->t[i - 1].sent, brk = sent;
        for (size_t b = prev_end; !brk && b < t->raw_off; b++)
            brk = (unsigned char)norm[b] > ' ';
        if (brk && n && lt[n - 1].type == SB__NLU_LT_BREAK && sent)
            lt[n - 1].len = 1;
        else if (brk && n) {
            lt[n].s = norm + t->raw_off;
            lt[n].len = (uint32_t)sent;
            lt[n++].type = SB__NLU_LT_BREAK;
        }
        lt[n].s = norm + t->raw_off;
        lt[n].len = t->raw_len;
        lt[n].type = t->type == TOK_WORD  ? SB__NLU_LT_WORD
                     : t->type == TOK_HAN ? SB__NLU_LT_HAN
                     : (t->type == TOK_SYM && (norm[t->raw_off] == '!' || norm[t->raw_off] == '?'))
                         ? SB__NLU_LT_BREAK
                         : SB__NLU_LT_OTHER;
        n++;
        if (t->raw_len)
            prev_end = t->raw_off + t->raw_len;
    }
    double v = 0;
    if (counts)
        sb__nlu_lex_count(lx, lt, n, counts);
    else
        v = sb__nlu_lex_features(lx, opts, lt, n, out);
    if (lt != stack)
        free(lt);
    return v;
}

double sb__nlu_lex_score(const struct sb__nlu_lex *lx, const char *text, size_t len)
{
    if (len > SB_NLU_TEXT_MAX)
        len = SB_NLU_TEXT_MAX;
    char *norm = sb_nlu_normalize(text, len);
    if (!norm)
        return 0;
    struct toks ts = {0};
    sb_buf_init(&ts.s, 0);
    tokenize(norm, strlen(norm), 0, &ts);
    double v = lexicon_pass(lx, 0, norm, &ts, NULL, NULL);
    free(ts.t);
    sb_buf_cleanup(&ts.s);
    free(norm);
    return v;
}

void sb__nlu_lex_count_text(const struct sb__nlu_lex *lx, const char *text, size_t len,
                            uint32_t *counts)
{
    if (len > SB_NLU_TEXT_MAX)
        len = SB_NLU_TEXT_MAX;
    char *norm = sb_nlu_normalize(text, len);
    if (!norm)
        return;
    struct toks ts = {0};
    sb_buf_init(&ts.s, 0);
    tokenize(norm, strlen(norm), 0, &ts);
    (void)lexicon_pass(lx, 0, norm, &ts, NULL, counts);
    free(ts.t);
    sb_buf_cleanup(&ts.s);
    free(norm);
}

void sb__nlu_features(const char *text, size_t len, const struct sb__nlu_feat_cfg *cfg,
                      struct sb__nlu_hvec *out)
{
    if (len > SB_NLU_TEXT_MAX)
        len = SB_NLU_TEXT_MAX;
    char *norm = sb_nlu_normalize(text, len);
    if (!norm)
        return;
    size_t nlen = strlen(norm);
    struct toks ts = {0};
    sb_buf_init(&ts.s, 0);
    ts.tw = (cfg->extra & SB__NLU_F_CHAT) != 0;
    tokenize(norm, nlen, cfg->stem, &ts);
    if (ts.tw) {
        chat_marks(text, len, out);
        for (uint32_t e = 0; e < ts.elong; e++)
            hvec_push(out, finish(fnv(FNV_OFF, "<elong>", 7), 0));
    }
    if (cfg->lex && (cfg->lexopts & (SB__NLU_LEX_TOK | SB__NLU_LEX_DOC)))
        (void)lexicon_pass(cfg->lex, cfg->lexopts, norm, &ts, out, NULL);
    if ((cfg->extra & SB__NLU_F_ENDS) && ts.n && ts.t[ts.n - 1].sent > 0) {
        /* the first and the last sentence again, as their own features: reviews open with
           the topic and close with the verdict */
        uint32_t last = ts.t[ts.n - 1].sent;
        for (size_t i = 0; i < ts.n; i++) {
            uint32_t sn = ts.t[i].sent;
            if (sn != 0 && sn != last)
                continue;
            const char *tag = sn == 0 ? "F" : "L";
            hvec_push(out, finish(tok_hash(fnv(FNV_OFF, tag, 1), &ts, i), 0));
            if (i >= 1 && ts.t[i - 1].sent == sn) {
                uint64_t h =
                    tok_hash(tok_hash(fnv(fnv(FNV_OFF, tag, 1), "b", 1), &ts, i - 1), &ts, i);
                hvec_push(out, finish(h, 0));
            }
        }
    }
    size_t neg_left = 0;
    for (size_t i = 0; i < ts.n; i++) {
        uint64_t h = tok_hash(fnv(FNV_OFF, "u", 1), &ts, i);
        hvec_push(out, finish(h, 0));
        if (cfg->extra & SB__NLU_F_NEG) {
            const struct tok *t = &ts.t[i];
            if (t->type == TOK_SYM) {
                neg_left = 0;
            } else if (t->type == TOK_WORD && is_negation(norm + t->raw_off, t->raw_len)) {
                neg_left = 3;
            } else if (neg_left > 0) {
                h = tok_hash(fnv(FNV_OFF, "n", 1), &ts, i);
                hvec_push(out, finish(h, 0));
                neg_left--;
            }
        }
        if (cfg->pair_window >= 2 && ts.t[i].type != TOK_HAN) {
            /* ordered pairs of non-Han tokens 2..pair_window apart (adjacent ones are bigrams) */
            for (size_t d = 2; d <= cfg->pair_window && d <= i; d++) {
                if (ts.t[i - d].type == TOK_HAN)
                    continue;
                h = tok_hash(tok_hash(fnv(FNV_OFF, "p", 1), &ts, i - d), &ts, i);
                hvec_push(out, finish(h, 0));
            }
        }
        if (cfg->word_ngrams >= 2 && i >= 1) {
            h = tok_hash(tok_hash(fnv(FNV_OFF, "b", 1), &ts, i - 1), &ts, i);
            hvec_push(out, finish(h, 0));
        }
        if ((cfg->extra & SB__NLU_F_EDGE) && (i == 0 || i + 1 == ts.n)) {
            h = tok_hash(fnv(FNV_OFF, i == 0 ? "<" : ">", 1), &ts, i);
            hvec_push(out, finish(h, 0));
        }
        if ((cfg->extra & SB__NLU_F_SKIP) && i >= 2) {
            h = tok_hash(tok_hash(fnv(FNV_OFF, "s", 1), &ts, i - 2), &ts, i);
            hvec_push(out, finish(h, 0));
        }
        if (cfg->word_ngrams >= 3 && i >= 2) {
            h = tok_hash(tok_hash(tok_hash(fnv(FNV_OFF, "t", 1), &ts, i - 2), &ts, i - 1), &ts, i);
            hvec_push(out, finish(h, 0));
        }
        const struct tok *t = &ts.t[i];
        if (t->type == TOK_WORD && cfg->char_max > 0)
            word_chars(norm + t->raw_off, t->raw_len, cfg->char_min, cfg->char_max, out);
        if (t->type == TOK_HAN && cfg->han_max >= 3) {
            /* longer Han n-grams ending here, inside the current run of Han characters */
            uint64_t hh = fnv(FNV_OFF, "h", 1);
            size_t run = 0;
            while (run < i && ts.t[i - run - 1].type == TOK_HAN && run + 1 < cfg->han_max)
                run++;
            for (size_t g = 3; g <= (size_t)cfg->han_max && g <= run + 1; g++) {
                uint64_t x = hh;
                for (size_t j = i + 1 - g; j <= i; j++)
                    x = tok_hash(x, &ts, j);
                hvec_push(out, finish(x, 1));
            }
        }
    }
    if (cfg->cross)
        cross_chars(
            norm, nlen, cfg->cross >> 4, cfg->cross & 15,
            ((cfg->extra & SB__NLU_F_XMIX) ? 1 : 0) | ((cfg->extra & SB__NLU_F_XHAN) ? 2 : 0), out);
    free(ts.t);
    sb_buf_cleanup(&ts.s);
    free(norm);
}

void sb__nlu_cross_features(const char *text, size_t len, const struct sb__nlu_feat_cfg *cfg,
                            struct sb__nlu_hvec *out)
{
    if (!cfg->cross)
        return;
    if (len > SB_NLU_TEXT_MAX)
        len = SB_NLU_TEXT_MAX;
    char *norm = sb_nlu_normalize(text, len);
    if (!norm)
        return;
    cross_chars(norm, strlen(norm), cfg->cross >> 4, cfg->cross & 15,
                ((cfg->extra & SB__NLU_F_XMIX) ? 1 : 0) | ((cfg->extra & SB__NLU_F_XHAN) ? 2 : 0),
                out);
    free(norm);
}

/* ---- language identification ------------------------------------------------------------- */

static const char *const en_words[] = {
    "the",  "and",   "you",    "my",    "is",   "it",    "to",     "of",    "for",  "have",
    "not",  "this",  "what",   "where", "how",  "can",   "was",    "are",   "with", "your",
    "me",   "order", "please", "i",     "a",    "do",    "does",   "did",   "why",  "when",
    "will", "be",    "on",     "in",    "hi",   "hello", "thanks", "thank", "want", "need",
    "yet",  "get",   "no",     "yes",   "that", "there", "from",   "but",
};
static const char *const other_words[] = {
    /* frequent short words of other Latin-script languages that are not English words */
    "le",         "la",     "les",      "des",  "est",  "et",  "une",   "je",    "pas",
    "que",        "qui",    "der",      "die",  "das",  "und", "ist",   "nicht", "ich",
    "el",         "los",    "las",      "es",   "y",    "por", "para",  "con",   "una",
    "mi",         "su",     "het",      "een",  "niet", "il",  "di",    "che",   "non",
    "sono",       "da",     "um",       "uma",  "não",  "com", "och",   "att",   "jag",
    "og",         "er",     "ikke",     "sie",  "wir",  "du",  "vous",  "mein",  "meine",
    "bestellung", "pedido", "commande", "dove", "wo",   "où",  "donde",
};

static int in_list(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(list[i], w, n) == 0)
            return 1;
    return 0;
}

const char *sb_nlu_langid(const char *text, size_t len)
{
    if (!text)
        return "other";
    if (len > 4096)
        len = 4096; /* a prefix decides */
    size_t han = 0, kana = 0, hangul = 0, latin = 0, other_letters = 0, accented = 0;
    int en = 0, oth = 0;
    char word[32];
    size_t wl = 0;
    int wlatin = 1;
    for (size_t i = 0; i <= len;) {
        int32_t c = ' ';
        utf8proc_ssize_t k = 1;
        if (i < len) {
            k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i),
                                 &c);
            if (k <= 0) {
                k = 1;
                c = ' ';
            }
        }
        int letter = i < len && utf8proc_category(c) >= UTF8PROC_CATEGORY_LU &&
                     utf8proc_category(c) <= UTF8PROC_CATEGORY_LO;
        if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF))
            han++;
        else if (c >= 0x3040 && c <= 0x30FF)
            kana++;
        else if (c >= 0xAC00 && c <= 0xD7AF)
            hangul++;
        else if (letter && c < 0x250) {
            latin++;
            if (c >= 0x80)
                accented++;
        } else if (letter)
            other_letters++;
        if (letter && c < 0x250 && !(c >= 0x4E00)) {
            if (wl + 4 < sizeof(word)) {
                int32_t lc = utf8proc_tolower(c);
                utf8proc_ssize_t e = utf8proc_encode_char(lc, (utf8proc_uint8_t *)word + wl);
                wl += (size_t)e;
            } else {
                wlatin = 0;
            }
        } else if (c == '\'' && wl) {
            /* keep contractions together: "don't" */
        } else {
            if (wl && wlatin) {
                if (in_list(word, wl, en_words, sizeof(en_words) / sizeof(*en_words)))
                    en++;
                else if (in_list(word, wl, other_words, sizeof(other_words) / sizeof(*other_words)))
                    oth++;
            }
            wl = 0;
            wlatin = 1;
        }
        i += (size_t)k;
    }
    size_t letters = han + kana + hangul + latin + other_letters;
    if (!letters)
        return "other";
    if (kana * 5 > han + kana || hangul * 2 > letters)
        return "other"; /* Japanese, Korean */
    /* A Han character carries about a word's worth of text: weigh it against Latin letters. */
    if (han * 3 >= latin && han >= other_letters)
        return "zh";
    if (other_letters > latin)
        return "other";
    if (oth > en || (accented * 10 > latin && oth >= en))
        return "other";
    return "en";
}

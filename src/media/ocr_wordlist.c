/* SPDX-License-Identifier: MIT */
/*
 * The English word list that settles between two readings of a word (ocr_ppocr.c): when
 * tesseract and the network read a word differently and exactly one of the two readings is a
 * known word of at least SB__OCR_KNOWN_MIN letters, that reading is the one kept ("Owner" over
 * "Dwner", "RETURNABLE" over "RETURNABTE"); docs/media.md, seventh round. Shorter words are
 * left out: the list holds abbreviations ("GK", "Re") that OCR garbage matches by chance.
 *
 * The list is Debian's wamerican (/usr/share/dict/words, scripts/deps.d/media.list);
 * SB_OCR_WORDLIST in the environment names another file. Without it no word is known and the
 * merge decides by confidence alone.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORDLIST_DEFAULT "/usr/share/dict/words"
#define WORDLIST_MAX_BYTES (16u << 20)

static struct sb_ocr_lexicon *known;
static pthread_once_t known_once = PTHREAD_ONCE_INIT;

static void known_load(void)
{
    const char *path = getenv("SB_OCR_WORDLIST");
    if (!path || !path[0])
        path = WORDLIST_DEFAULT;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *buf = sb_malloc(WORDLIST_MAX_BYTES + 1);
    size_t n = fread(buf, 1, WORDLIST_MAX_BYTES + 1, f);
    fclose(f);
    if (n > 0 && n <= WORDLIST_MAX_BYTES) {
        buf[n] = '\0';
        known = sb_ocr_lexicon_new();
        sb_ocr_lexicon_add_text(known, buf);
    }
    free(buf);
}

void sb__ocr_wordlist_load(void)
{
    pthread_once(&known_once, known_load);
}

int sb__ocr_known_word(const char *w)
{
    sb__ocr_wordlist_load();
    if (!known)
        return 0;
    const char *a = w, *e = w + strlen(w);
    while (a < e && !isalpha((unsigned char)*a))
        a++;
    while (e > a && !isalpha((unsigned char)e[-1]))
        e--;
    if (e - a < SB__OCR_KNOWN_MIN || e - a > 64)
        return 0;
    char core[65];
    for (const char *p = a; p < e; p++) {
        if (!isalpha((unsigned char)*p))
            return 0;
        core[p - a] = *p;
    }
    core[e - a] = '\0';
    return sb_ocr_lexicon_df(known, core) > 0;
}

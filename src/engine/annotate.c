/* SPDX-License-Identifier: MIT */
/* The engine's annotation hook over the understanding module (see sb/assist.h): media first
 * (OCR of images, ASR of voice notes, src/engine/annotate_media.c), then language, intent,
 * sentiment and entities over what the customer wrote and said (voice-note transcripts); the
 * text of an image gets its own entities and PII, and decides the intent only when the
 * customer wrote and said nothing else. */
#include "sb/assist.h"

#include "sb/mem.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Adds "entities" and "pii" of the image's text to its "ocr" annotation. */
static void ocr_entities(json_t *ocr, const char *text)
{
    size_t len = strlen(text);
    if (len > SB_NLU_TEXT_MAX)
        return;
    struct sb_nlu_annotate_opts o = {.oos_threshold = -1};
    char *s = sb_nlu_annotate_json(text, len, &o);
    json_t *all = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    if (json_is_object(all)) {
        json_t *v;
        if ((v = json_object_get(all, "entities")))
            json_object_set(ocr, "entities", v);
        if ((v = json_object_get(all, "pii")))
            json_object_set(ocr, "pii", v);
    }
    json_decref(all);
}

char *sb_assist_annotate(void *ud, const struct sb_message *msg)
{
    struct sb_assist *a = ud;
    json_t *media = json_object();
    char *understood = sb_assist_media_annotate(a->media_dir, msg, media);
    const char *own = msg->text ? msg->text : "";
    char *text = NULL;
    if (understood) {
        const char *u = understood;
        while (*u == '\n')
            u++;
        text = *own ? sb_strdupf("%s\n%s", own, u) : sb_strdup(u);
        free(understood);
    }
    /* Text in an image (a receipt, an error screen) is evidence, not a request: its entities
     * and PII are found (below), and it decides the intent only when the customer wrote and
     * said nothing. */
    json_t *ocr = json_object_get(media, "ocr");
    const char *ocr_text = json_string_value(json_object_get(ocr, "text"));
    if (!text && !*own && ocr_text && *ocr_text)
        text = sb_strdup(ocr_text);
    else if (ocr_text && *ocr_text)
        ocr_entities(ocr, ocr_text);
    const char *t = text ? text : own;
    size_t tl = strlen(t);
    if (text && tl > SB_NLU_TEXT_MAX) { /* a page full of text: understand its beginning */
        tl = SB_NLU_TEXT_MAX;
        while (tl > 0 && ((unsigned char)text[tl] & 0xC0) == 0x80)
            tl--; /* not inside a UTF-8 sequence */
        text[tl] = '\0';
    }
    char *out = NULL;
    if (tl) {
        /* Own references: a reload (sb_assist_models_reload) may swap the models meanwhile. */
        struct sb_nlu_model *intent, *sentiment;
        sb_assist_models_get(a, &intent, &sentiment);
        struct sb_nlu_annotate_opts o = {
            .intent = intent,
            .sentiment = sentiment,
            .oos_threshold = -1,
        };
        out = sb_nlu_annotate_json(t, tl, &o);
        sb_nlu_model_free(intent);
        sb_nlu_model_free(sentiment);
    }
    if (json_object_size(media)) {
        json_t *all = out ? json_loads(out, 0, NULL) : NULL;
        if (!json_is_object(all)) {
            json_decref(all);
            all = json_object();
        }
        json_object_update(all, media);
        free(out);
        out = json_dumps(all, JSON_COMPACT);
        json_decref(all);
    }
    json_decref(media);
    free(text);
    return out;
}

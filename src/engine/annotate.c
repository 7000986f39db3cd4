/* SPDX-License-Identifier: MIT */
/* The engine's annotation hook over the understanding module (see sb/assist.h): media first
 * (OCR of images, ASR of voice notes, src/engine/annotate_media.c), then language, intent,
 * sentiment and entities over the customer's text together with what the media said. */
#include "sb/assist.h"

#include "sb/mem.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

char *sb_assist_annotate(void *ud, const struct sb_message *msg)
{
    const struct sb_assist *a = ud;
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
    const char *t = text ? text : own;
    char *out = NULL;
    if (*t) {
        struct sb_nlu_annotate_opts o = {
            .intent = a->intent,
            .sentiment = a->sentiment,
            .oos_threshold = -1,
        };
        out = sb_nlu_annotate_json(t, strlen(t), &o);
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

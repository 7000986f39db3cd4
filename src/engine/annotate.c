/* SPDX-License-Identifier: MIT */
/* The engine's annotation hook over the understanding module (see sb/assist.h). */
#include "sb/assist.h"

#include <string.h>

char *sb_assist_annotate(void *ud, const struct sb_message *msg)
{
    const struct sb_assist *a = ud;
    if (!msg->text || !*msg->text)
        return NULL;
    struct sb_nlu_annotate_opts o = {
        .intent = a->intent,
        .sentiment = a->sentiment,
        .oos_threshold = -1,
    };
    return sb_nlu_annotate_json(msg->text, strlen(msg->text), &o);
}

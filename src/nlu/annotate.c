/* SPDX-License-Identifier: MIT */
/*
 * The annotation the pipeline stores on every inbound text message: language, intent with
 * confidence and out-of-scope flag, sentiment, entities and where the PII is. PII values are
 * never copied into the annotation (it is shown in the console and may reach logs); only
 * their type and position, so the store can apply the tenant's redaction policy.
 */
#include "sb/mem.h"
#include "sb/nlu.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

static double round4(double x)
{
    return floor(x * 10000 + 0.5) / 10000;
}

char *sb_nlu_annotate_json(const char *text, size_t len, const struct sb_nlu_annotate_opts *o)
{
    if ((!text && len) || len > SB_NLU_TEXT_MAX)
        return NULL;
    if (!text)
        text = "";
    json_t *root = json_object();
    json_object_set_new(root, "language", json_string(sb_nlu_langid(text, len)));
    double thr = o ? o->oos_threshold : -1;
    struct sb_nlu_result r;
    if (o && o->intent && sb_nlu_classify(o->intent, text, len, thr, &r) == 0) {
        json_t *in = json_pack("{s:s, s:f, s:b}", "label", r.label, "confidence",
                               round4(r.confidence), "oos", r.is_oos);
        if (r.is_oos && r.index >= 0) /* what it resembled most, for the console */
            json_object_set_new(in, "nearest", json_string(r.top[0].label));
        json_object_set_new(root, "intent", in);
    }
    if (o && o->sentiment && sb_nlu_classify(o->sentiment, text, len, 0, &r) == 0)
        json_object_set_new(root, "sentiment", json_pack("{s:s, s:f}", "label", r.label,
                                                         "confidence", round4(r.confidence)));
    struct sb_nlu_span *sp = NULL;
    size_t n = 0;
    json_t *ents = json_array(), *pii = json_array();
    if (sb_nlu_entities(text, len, o ? o->entities : NULL, &sp, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_pack("{s:s, s:I, s:I}", "type", sb_nlu_entity_name(sp[i].type),
                                  "start", (json_int_t)sp[i].start, "end",
                                  (json_int_t)sp[i].end);
            if (sp[i].pii) {
                json_array_append_new(pii, e);
            } else {
                json_object_set_new(e, "value", json_string(sp[i].value));
                json_array_append_new(ents, e);
            }
        }
    }
    free(sp);
    json_object_set_new(root, "entities", ents);
    json_object_set_new(root, "pii", pii);
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
    json_decref(root);
    return s;
}

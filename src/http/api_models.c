/* SPDX-License-Identifier: MIT */
/*
 * POST /api/v1/models/reload (admin): re-reads DATA/models/intent.model and sentiment.model
 * and swaps them in for the bot without a restart (sb_assist_models_reload: all or nothing, a
 * file that does not load leaves the models in use as they were). Answers what was loaded.
 */
#include "api.h"

#include "sb/assist.h"

void sb__api_models_reload(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_assist *a = r->srv->opt.assist;
    if (!a) {
        sb__http_error(r, SB_ESTATE, "bot_policy is basic: the daemon has no models to reload");
        return;
    }
    struct sb_assist_model_info info[2];
    struct sb_error err = {0};
    int rc = sb_assist_models_reload(a, info, &err);
    if (rc) {
        /* The loader's message names the file and the problem; the old models stay. */
        sb__http_error(r, rc == SB_EIO ? SB_EINVAL : rc, "%s; the models in use are unchanged",
                       err.msg);
        return;
    }
    json_t *models = json_array();
    for (int i = 0; i < 2; i++) {
        const struct sb_assist_model_info *m = &info[i];
        json_t *o = json_pack("{s:s,s:s,s:b}", "kind", sb_nlu_kind_name(m->kind), "file",
                              m->path, "loaded", m->loaded);
        if (m->loaded) {
            json_object_set_new(o, "labels", json_integer((json_int_t)m->nlabels));
            json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
            json_object_set_new(o, "load_ms", json_real(m->load_ms));
        }
        json_array_append_new(models, o);
    }
    sb__http_respond_json(r, 200, json_pack("{s:o}", "models", models));
}

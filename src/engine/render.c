/* SPDX-License-Identifier: MIT */
/* JSON shapes of stored objects for the API and events (see sb/render.h). */
#include "sb/render.h"

json_t *sb_render_json_text(const char *text, json_t *fallback)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (v) {
        json_decref(fallback);
        return v;
    }
    return fallback;
}

json_t *sb_render_message(const struct sb_message *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "conversation_id", json_integer(m->conversation_id));
    json_object_set_new(o, "inbox_id", json_integer(m->inbox_id));
    json_object_set_new(o, "direction", json_string(m->direction));
    json_t *sender = json_object();
    json_object_set_new(sender, "kind", json_string(m->sender_kind));
    json_object_set_new(sender, "id", m->sender_id ? json_integer(m->sender_id) : json_null());
    json_object_set_new(o, "sender", sender);
    json_object_set_new(o, "text", json_string(m->text ? m->text : ""));
    json_object_set_new(o, "parts", sb_render_json_text(m->parts_json, json_array()));
    json_object_set_new(o, "annotations", sb_render_json_text(m->annotations_json, json_object()));
    json_object_set_new(o, "provider_message_id",
                        m->provider_msg_id ? json_string(m->provider_msg_id) : json_null());
    json_object_set_new(o, "created_at", json_integer(m->created_ms));
    return o;
}

json_t *sb_render_conversation(const struct sb_conversation *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(c->id));
    json_object_set_new(o, "inbox_id", json_integer(c->inbox_id));
    json_t *contact = json_object();
    json_object_set_new(contact, "id", json_integer(c->contact_id));
    json_object_set_new(contact, "name", json_string(c->contact_name));
    json_object_set_new(o, "contact", contact);
    json_object_set_new(o, "status", json_string(c->status));
    json_object_set_new(o, "priority", json_integer(c->priority));
    json_object_set_new(o, "assignee_id", c->assignee_id ? json_integer(c->assignee_id) : json_null());
    json_object_set_new(o, "tags", sb_render_json_text(c->tags_json, json_array()));
    json_object_set_new(o, "created_at", json_integer(c->created_ms));
    json_object_set_new(o, "updated_at", json_integer(c->updated_ms));
    json_object_set_new(o, "last_message_at", json_integer(c->last_message_ms));
    json_object_set_new(o, "preview",
                        json_string(c->last_message_preview ? c->last_message_preview : ""));
    json_object_set_new(o, "team_id", c->team_id ? json_integer(c->team_id) : json_null());
    json_object_set_new(o, "queued_at", c->queued_ms ? json_integer(c->queued_ms) : json_null());
    json_object_set_new(o, "routing", sb_render_json_text(c->routing_json, json_object()));
    json_object_set_new(o, "resolve_reason", json_string(c->resolve_reason));
    /* the SLA clocks (docs/metrics.md): null until they happen */
    json_object_set_new(o, "handoff_at", c->handoff_ms ? json_integer(c->handoff_ms) : json_null());
    json_object_set_new(o, "first_response_at",
                        c->first_response_ms ? json_integer(c->first_response_ms) : json_null());
    json_object_set_new(o, "resolved_at", c->resolved_ms ? json_integer(c->resolved_ms) : json_null());
    return o;
}

json_t *sb_render_contact(const struct sb_contact *c, const struct sb_contact_identity *ids,
                          size_t n_ids)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(c->id));
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "attributes", sb_render_json_text(c->attributes_json, json_object()));
    json_object_set_new(o, "created_at", json_integer(c->created_ms));
    if (ids) {
        json_t *a = json_array();
        for (size_t i = 0; i < n_ids; i++) {
            json_t *x = json_object();
            json_object_set_new(x, "inbox_id", json_integer(ids[i].inbox_id));
            json_object_set_new(x, "external_id", json_string(ids[i].external_id));
            json_array_append_new(a, x);
        }
        json_object_set_new(o, "identities", a);
    }
    return o;
}

json_t *sb_render_inbox(const struct sb_inbox *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(x->id));
    json_object_set_new(o, "kind", json_string(x->kind));
    json_object_set_new(o, "name", json_string(x->name));
    json_object_set_new(o, "config", sb_render_json_text(x->config_json, json_object()));
    json_object_set_new(o, "created_at", json_integer(x->created_ms));
    return o;
}

json_t *sb_render_agent(const struct sb_agent *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "email", json_string(a->email));
    json_object_set_new(o, "name", json_string(a->name));
    json_object_set_new(o, "role", json_string(a->role));
    json_object_set_new(o, "created_at", json_integer(a->created_ms));
    return o;
}

json_t *sb_render_api_key(const struct sb_api_key *k)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(k->id));
    json_object_set_new(o, "name", json_string(k->name));
    json_object_set_new(o, "role", json_string(k->role));
    json_object_set_new(o, "prefix", json_string(k->prefix));
    json_object_set_new(o, "revoked", json_boolean(k->revoked));
    json_object_set_new(o, "created_at", json_integer(k->created_ms));
    return o;
}

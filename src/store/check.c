/* SPDX-License-Identifier: MIT */
/*
 * Argument checks shared by the store's public functions and its backends (see
 * store_internal.h), and the two small text rules every backend applies the same way: the
 * UTF-8-safe preview cut and the default parts of a plain-text message.
 */
#include "store_internal.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sb__store_check_str(const char *field, const char *value, size_t size, int required,
                        struct sb_error *err)
{
    if (!value || !*value) {
        if (required)
            return sb_error_set(err, SB_EINVAL, "field '%s' is required", field);
        return 0;
    }
    size_t n = strnlen(value, size);
    if (n >= size)
        return sb_error_set(err, SB_ETOOBIG, "field '%s' is longer than %zu bytes", field,
                            size - 1);
    return 0;
}

int sb__store_check_text(const char *field, const char *value, struct sb_error *err)
{
    if (value && strnlen(value, SB_STORE_TEXT_MAX + 1) > SB_STORE_TEXT_MAX)
        return sb_error_set(err, SB_ETOOBIG, "field '%s' is longer than %u bytes", field,
                            SB_STORE_TEXT_MAX);
    return 0;
}

int sb__store_check_id(const char *field, sb_id id, struct sb_error *err)
{
    if (id <= 0)
        return sb_error_set(err, SB_EINVAL, "field '%s' must be a positive id", field);
    return 0;
}

int sb__store_check_limit(size_t limit, size_t max, struct sb_error *err)
{
    if (limit < 1 || limit > max)
        return sb_error_set(err, SB_EINVAL, "limit %zu is outside 1..%zu", limit, max);
    return 0;
}

int sb__store_check_status(const char *field, const char *status, struct sb_error *err)
{
    static const char *const known[] = {SB_CONV_BOT, SB_CONV_QUEUED, SB_CONV_ASSIGNED,
                                        SB_CONV_RESOLVED};
    for (size_t i = 0; status && i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(status, known[i]) == 0)
            return 0;
    return sb_error_set(err, SB_EINVAL,
                        "field '%s': unknown status (bot, queued, assigned or resolved)", field);
}

int sb__store_check_role(const char *role, struct sb_error *err)
{
    if (role && (strcmp(role, SB_ROLE_ADMIN) == 0 || strcmp(role, SB_ROLE_SUPERVISOR) == 0 ||
                 strcmp(role, SB_ROLE_AGENT) == 0))
        return 0;
    return sb_error_set(err, SB_EINVAL, "field 'role': unknown role (admin, supervisor, agent)");
}

/* Byte offset of the first invalid UTF-8 sequence in s, or -1 when it is all valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static long utf8_invalid_at(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (s[i]) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return (long)i;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return (long)i;
        i += len;
    }
    return -1;
}

static int check_utf8(const char *field, const char *text, struct sb_error *err)
{
    long at = text ? utf8_invalid_at(text) : -1;
    if (at >= 0)
        return sb_error_set(err, SB_EINVAL, "field '%s' is not valid UTF-8 (byte %ld)", field,
                            at);
    return 0;
}

int sb__store_check_ingest(const struct sb_ingest *in, struct sb_error *err)
{
    int rc;
    if ((rc = sb__store_check_id("tenant_id", in->tenant_id, err)) ||
        (rc = sb__store_check_id("inbox_id", in->inbox_id, err)) ||
        (rc = sb__store_check_str("provider_msg_id", in->provider_msg_id, SB_STORE_KEY_MAX + 1,
                                  0, err)) ||
        (rc = sb__store_check_str("customer_ext_id", in->customer_ext_id, SB_STORE_KEY_MAX + 1,
                                  1, err)) ||
        (rc = sb__store_check_str("customer_name", in->customer_name,
                                  sizeof(((struct sb_contact *)0)->name), 0, err)) ||
        (rc = sb__store_check_text("text", in->text, err)) ||
        (rc = check_utf8("text", in->text, err)) ||
        (rc = check_utf8("customer_name", in->customer_name, err)) ||
        (rc = sb__store_check_text("parts_json", in->parts_json, err)))
        return rc;
    return 0;
}

int sb__store_check_message_new(const struct sb_message_new *m, struct sb_error *err)
{
    int rc;
    if ((rc = sb__store_check_id("tenant_id", m->tenant_id, err)) ||
        (rc = sb__store_check_id("conversation_id", m->conversation_id, err)))
        return rc;
    if (!m->direction || (strcmp(m->direction, SB_DIR_IN) && strcmp(m->direction, SB_DIR_OUT)))
        return sb_error_set(err, SB_EINVAL, "field 'direction' must be \"in\" or \"out\"");
    if (!m->sender_kind ||
        (strcmp(m->sender_kind, SB_SENDER_BOT) && strcmp(m->sender_kind, SB_SENDER_AGENT) &&
         strcmp(m->sender_kind, SB_SENDER_SYSTEM)))
        return sb_error_set(err, SB_EINVAL,
                            "field 'sender_kind' must be \"bot\", \"agent\" or \"system\"");
    if (m->sender_id < 0)
        return sb_error_set(err, SB_EINVAL, "field 'sender_id' must not be negative");
    if ((rc = sb__store_check_str("provider_msg_id", m->provider_msg_id, SB_STORE_KEY_MAX + 1, 0,
                                  err)) ||
        (rc = sb__store_check_text("text", m->text, err)) ||
        (rc = check_utf8("text", m->text, err)) ||
        (rc = sb__store_check_text("parts_json", m->parts_json, err)) ||
        (rc = sb__store_check_text("annotations_json", m->annotations_json, err)))
        return rc;
    return 0;
}

size_t sb__store_preview_len(const char *text, size_t max)
{
    size_t n = strnlen(text, max + 1);
    if (n <= max)
        return n;
    n = max;
    /* step back over continuation bytes so the cut falls before a character's first byte */
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int sb__store_default_parts(const char *text, char **out, struct sb_error *err)
{
    json_t *parts = json_pack("[{s:s, s:s}]", "type", "text", "text", text ? text : "");
    if (!parts)
        return sb_error_set(err, SB_EINVAL, "field 'text' is not valid UTF-8");
    *out = json_dumps(parts, JSON_COMPACT);
    json_decref(parts);
    if (!*out)
        return sb_error_set(err, SB_ENOMEM, "out of memory rendering the message parts");
    return 0;
}

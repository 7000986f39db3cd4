/* SPDX-License-Identifier: MIT */
/* Bounded JSON parsing for outside input (see sb/json.h). */
#include "sb/json.h"

int sb_json_depth(const char *s, size_t n)
{
    int depth = 0, max = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

int sb_json_parse(const char *s, size_t n, size_t max_bytes, int max_depth, json_t **out,
                  struct sb_error *err)
{
    if (n > max_bytes)
        return sb_error_set(err, SB_ETOOBIG, "JSON text of %zu bytes is over the limit of %zu",
                            n, max_bytes);
    if (n == 0)
        return sb_error_set(err, SB_EINVAL, "expected JSON, got nothing");
    if (sb_json_depth(s, n) > max_depth)
        return sb_error_set(err, SB_EINVAL, "JSON nested deeper than %d levels", max_depth);
    json_error_t je;
    json_t *v = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v)
        return sb_error_set(err, SB_EINVAL, "invalid JSON at line %d column %d: %s", je.line,
                            je.column, je.text);
    *out = v;
    return 0;
}

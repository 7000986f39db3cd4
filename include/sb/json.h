/* SPDX-License-Identifier: MIT */
/*
 * Parsing JSON from outside with limits: a size cap and a nesting-depth cap checked before
 * jansson sees the text (jansson's own limit is 2048 levels), and an error that says where
 * the text is wrong.
 */
#ifndef SB_JSON_H
#define SB_JSON_H

#include "sb/error.h"

#include <jansson.h>
#include <stddef.h>

/* Deepest nesting of objects/arrays in `s` (brackets inside strings do not count). */
int sb_json_depth(const char *s, size_t n);

/*
 * Parses `n` bytes as one JSON value. SB_ETOOBIG when n > max_bytes, SB_EINVAL when nested
 * deeper than max_depth or not valid JSON (duplicate object keys are invalid); the message
 * names line and column. The new value is returned in *out (json_decref it).
 */
int sb_json_parse(const char *s, size_t n, size_t max_bytes, int max_depth, json_t **out,
                  struct sb_error *err);

#endif

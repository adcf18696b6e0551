/*
 * core/io/json_strict.h: strict JSON for files from outside (safetensors headers and
 * indexes, HF config.json). json-glib alone accepts single quotes and hex numbers, wraps
 * integers beyond 64 bits, keeps the last of duplicate keys and recurses once per
 * nesting level; this check runs first and refuses all of that.
 */
#ifndef BALDRO_CORE_IO_JSON_STRICT_H
#define BALDRO_CORE_IO_JSON_STRICT_H

#include <json-glib/json-glib.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Nesting deeper than this is rejected before json-glib (which recurses) sees the text. A
 * safetensors header needs 3 levels, an index 2 or 3, an HF config.json 2 or 3. */
#define BALDRO_JSON_MAX_DEPTH 32

/* Strict RFC 8259 check of `text` (len bytes, UTF-8 validated here too) plus what json-glib
 * does not check: duplicate keys in any object (json-glib keeps the last silently), integer
 * literals outside int64 (json-glib wraps them), "\u0000" in strings (our names are C
 * strings), nesting deeper than BALDRO_JSON_MAX_DEPTH. On failure returns BALDRO_EINVAL
 * with "<file>: <what>: <reason>". */
int baldro_json_check(const char *text, size_t len, const char *file, const char *what,
                         baldro_error *err);

/* baldro_json_check(), then json-glib; returns the root node (json_node_unref() it) or
 * NULL with err set. */
JsonNode *baldro_json_parse(const char *text, size_t len, const char *file,
                               const char *what, baldro_error *err);

/* A JSON integer node as int64; 0 on success, -1 if the node is not an integer. */
int baldro_json_int(JsonNode *node, int64_t *out);

/* What a node is, for messages: "an object", "a list", "null", "a string", "a boolean",
 * "a number". */
const char *baldro_json_kind_name(JsonNode *n);

#endif /* BALDRO_CORE_IO_JSON_STRICT_H */

/*
 * plugins/models/distilbert/lib/dbjson.h: the checked JSON reading the DistilBERT plugin
 * shares (config.json, tokenizer.json, tokenizer_config.json): strict JSON before
 * json-glib sees it, and typed member access whose errors are one line
 * "<file>: <field path>: expected <type>, got <type>".
 */
#ifndef BALDRO_DISTILBERT_DBJSON_H
#define BALDRO_DISTILBERT_DBJSON_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stddef.h>
#include <stdint.h>

#define DBJ_MAX_DEPTH 64 /* JSON nesting accepted (a tokenizer.json needs 5) */

/* Formats into err[cap] (newlines become spaces) and returns code. */
int dbj_fail(char *err, size_t cap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A string for a message: escaped, cut to about 40 bytes; g_free() it. */
char *dbj_shown(const char *s);

/* Strict JSON (RFC 8259 without what json-glib also accepts: comments, single quotes, bare
 * words, hex numbers; no raw control characters or \u0000 in strings, UTF-8 without NUL,
 * nesting at most DBJ_MAX_DEPTH since json-glib recurses per level), parsed; the root must
 * be an object. Unref *out with g_object_unref(). BALDRO_EINVAL naming `file`. */
int dbj_parse(const char *text, size_t len, const char *file, JsonParser **out, char *err,
              size_t cap);

/* Where errors go. */
typedef struct dbj {
    const char *file;
    char *err;
    size_t cap;
} dbj;

JsonNode *dbj_mem(JsonObject *o, const char *k); /* NULL when absent (or o NULL) */
int dbj_is_null(JsonNode *n);                    /* absent or JSON null */
/* Each checks the node's type (and an integer's range), naming `path` on failure. */
int dbj_object(dbj *c, JsonNode *n, const char *path, JsonObject **out);
int dbj_array(dbj *c, JsonNode *n, const char *path, JsonArray **out);
int dbj_string(dbj *c, JsonNode *n, const char *path, const char **out);
int dbj_bool(dbj *c, JsonNode *n, const char *path, gboolean *out);
int dbj_int(dbj *c, JsonNode *n, const char *path, int64_t lo, int64_t hi, int64_t *out);
/* An optional boolean member k of o: absent gives def. */
int dbj_opt_bool(dbj *c, JsonObject *o, const char *k, const char *path, gboolean def,
                 gboolean *out);

#endif /* BALDRO_DISTILBERT_DBJSON_H */

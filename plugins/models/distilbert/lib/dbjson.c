/* plugins/models/distilbert/lib/dbjson.c: see dbjson.h. */
#include "dbjson.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baldro/abi.h"

/* ---- errors ------------------------------------------------------------------------ */

int dbj_fail(char *err, size_t cap, int code, const char *fmt, ...) {
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
        for (char *p = err; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return code;
}

/* A token or string for a message: escaped, at most ~40 bytes (caller g_free()s). */
char *dbj_shown(const char *s) {
    char *e = g_strescape(s ? s : "", NULL);
    if (strlen(e) > 40) strcpy(e + 37, "...");
    return e;
}

/* ---- JSON -------------------------------------------------------------------------- */

/* Strict JSON, before json-glib sees the text: valid UTF-8 without NUL, no comments, no
 * single quotes or bare words json-glib would accept, no raw control characters or
 * \u0000 in strings, nesting at most DBJ_MAX_DEPTH (json-glib recurses per level). */
static int precheck(const char *s, size_t len, const char *file, char *err, size_t cap) {
    if (!g_utf8_validate(s, (gssize)len, NULL))
        return dbj_fail(err, cap, BALDRO_EINVAL, "%s: not valid UTF-8 JSON (or a NUL byte)", file);
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '"') {
            for (i++; i < len && s[i] != '"'; i++) {
                if ((unsigned char)s[i] < 0x20)
                    return dbj_fail(err, cap, BALDRO_EINVAL,
                                    "%s: byte %zu: control character inside a JSON string", file,
                                    i);
                if (s[i] == '\\') {
                    if (i + 5 < len && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4))
                        return dbj_fail(err, cap, BALDRO_EINVAL,
                                        "%s: byte %zu: \\u0000 inside a JSON string", file, i);
                    i++;
                }
            }
            if (i >= len)
                return dbj_fail(err, cap, BALDRO_EINVAL, "%s: unterminated JSON string", file);
        } else if (ch == '[' || ch == '{') {
            if (++depth > DBJ_MAX_DEPTH)
                return dbj_fail(err, cap, BALDRO_EINVAL, "%s: JSON nested deeper than %d levels",
                                file, DBJ_MAX_DEPTH);
        } else if (ch == ']' || ch == '}') {
            depth--;
        } else if (!strchr(" \t\n\r,:0123456789+-.eEtrufalsn", ch)) {
            return dbj_fail(err, cap, BALDRO_EINVAL, "%s: byte %zu: not JSON (unexpected '%c')",
                            file, i, g_ascii_isprint(ch) ? ch : '?');
        }
    }
    return BALDRO_OK;
}

int dbj_parse(const char *text, size_t len, const char *file, JsonParser **out, char *err,
              size_t cap) {
    *out = NULL;
    int rc = precheck(text, len, file, err, cap);
    if (rc) return rc;
    JsonParser *p = json_parser_new_immutable();
    GError *ge = NULL;
    if (!json_parser_load_from_data(p, text, (gssize)len, &ge)) {
        rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: not JSON: %s", file, ge->message);
        g_error_free(ge);
        g_object_unref(p);
        return rc;
    }
    if (!json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
        g_object_unref(p);
        return dbj_fail(err, cap, BALDRO_EINVAL, "%s: the top level is not a JSON object", file);
    }
    *out = p;
    return BALDRO_OK;
}

static const char *kind(JsonNode *n) {
    if (!n) return "nothing";
    switch (JSON_NODE_TYPE(n)) {
    case JSON_NODE_OBJECT:
        return "an object";
    case JSON_NODE_ARRAY:
        return "an array";
    case JSON_NODE_NULL:
        return "null";
    default:
        break;
    }
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_STRING) return "a string";
    if (t == G_TYPE_INT64) return "an integer";
    if (t == G_TYPE_DOUBLE) return "a number";
    if (t == G_TYPE_BOOLEAN) return "a boolean";
    return "a value";
}

static int wrong(dbj *c, const char *path, const char *want, JsonNode *n) {
    return dbj_fail(c->err, c->cap, BALDRO_EINVAL, "%s: %s: expected %s, got %s", c->file, path,
                    want, kind(n));
}

JsonNode *dbj_mem(JsonObject *o, const char *k) {
    return o && json_object_has_member(o, k) ? json_object_get_member(o, k) : NULL;
}
int dbj_is_null(JsonNode *n) {
    return !n || JSON_NODE_HOLDS_NULL(n);
}

int dbj_object(dbj *c, JsonNode *n, const char *path, JsonObject **out) {
    *out = NULL;
    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) return wrong(c, path, "an object", n);
    *out = json_node_get_object(n);
    return BALDRO_OK;
}
int dbj_array(dbj *c, JsonNode *n, const char *path, JsonArray **out) {
    *out = NULL;
    if (!n || !JSON_NODE_HOLDS_ARRAY(n)) return wrong(c, path, "an array", n);
    *out = json_node_get_array(n);
    return BALDRO_OK;
}
int dbj_string(dbj *c, JsonNode *n, const char *path, const char **out) {
    *out = NULL;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return wrong(c, path, "a string", n);
    *out = json_node_get_string(n);
    return BALDRO_OK;
}
int dbj_bool(dbj *c, JsonNode *n, const char *path, gboolean *out) {
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return wrong(c, path, "true or false", n);
    *out = json_node_get_boolean(n) ? TRUE : FALSE;
    return BALDRO_OK;
}
int dbj_int(dbj *c, JsonNode *n, const char *path, int64_t lo, int64_t hi, int64_t *out) {
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
        return wrong(c, path, "an integer", n);
    int64_t v = json_node_get_int(n);
    if (v < lo || v > hi)
        return dbj_fail(c->err, c->cap, BALDRO_EINVAL, "%s: %s: %lld is outside [%lld, %lld]",
                        c->file, path, (long long)v, (long long)lo, (long long)hi);
    *out = v;
    return BALDRO_OK;
}
int dbj_opt_bool(dbj *c, JsonObject *o, const char *k, const char *path, gboolean def,
                 gboolean *out) {
    JsonNode *n = dbj_mem(o, k);
    if (!n) {
        *out = def;
        return BALDRO_OK;
    }
    return dbj_bool(c, n, path, out);
}

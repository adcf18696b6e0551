/*
 * core/tokenizer/json_util.c: typed access to tokenizer.json members, each failure a
 * one-line "<file>: <field>: <reason>" error. Absent or null members take the default, as
 * tokenizers' serde defaults do.
 */
#include "tokenizer/tokenizer_json.h"

int tj_fail(tj_ctx *c, int code, const char *path, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    g_vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return baldro_error_set(c->err, code, "%s: %s: %s", c->name, path, why);
}

JsonNode *tj_member(JsonObject *o, const char *key) {
    if (!o || !json_object_has_member(o, key)) return NULL;
    JsonNode *n = json_object_get_member(o, key);
    return (n && JSON_NODE_HOLDS_NULL(n)) ? NULL : n;
}

static char *join(const char *path, const char *key) {
    return path && *path ? g_strdup_printf("%s.%s", path, key) : g_strdup(key);
}

int tj_str(tj_ctx *c, JsonObject *o, const char *path, const char *key, const char *def,
           const char **out) {
    JsonNode *n = tj_member(o, key);
    if (!n) {
        *out = def;
        return BALDRO_OK;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        char *p = join(path, key);
        int rc = tj_fail(c, BALDRO_EINVAL, p, "expected a string");
        g_free(p);
        return rc;
    }
    *out = json_node_get_string(n);
    return BALDRO_OK;
}

int tj_bool(tj_ctx *c, JsonObject *o, const char *path, const char *key, int def, int *out) {
    JsonNode *n = tj_member(o, key);
    if (!n) {
        *out = def;
        return BALDRO_OK;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
        char *p = join(path, key);
        int rc = tj_fail(c, BALDRO_EINVAL, p, "expected true or false");
        g_free(p);
        return rc;
    }
    *out = json_node_get_boolean(n) ? 1 : 0;
    return BALDRO_OK;
}

int tj_int(tj_ctx *c, JsonObject *o, const char *path, const char *key, int64_t lo, int64_t hi,
           int64_t def, int64_t *out) {
    JsonNode *n = tj_member(o, key);
    if (!n) {
        *out = def;
        return BALDRO_OK;
    }
    int64_t v;
    if (baldro_json_int(n, &v) != 0 || v < lo || v > hi) {
        char *p = join(path, key);
        int rc = tj_fail(c, BALDRO_EINVAL, p, "expected an integer in [%lld, %lld]",
                         (long long)lo, (long long)hi);
        g_free(p);
        return rc;
    }
    *out = v;
    return BALDRO_OK;
}

int tj_obj(tj_ctx *c, JsonObject *o, const char *path, const char *key, JsonObject **out) {
    JsonNode *n = tj_member(o, key);
    *out = NULL;
    if (!n) return BALDRO_OK;
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        char *p = join(path, key);
        int rc = tj_fail(c, BALDRO_EINVAL, p, "expected an object");
        g_free(p);
        return rc;
    }
    *out = json_node_get_object(n);
    return BALDRO_OK;
}

int tj_arr(tj_ctx *c, JsonObject *o, const char *path, const char *key, JsonArray **out) {
    JsonNode *n = tj_member(o, key);
    *out = NULL;
    if (!n) return BALDRO_OK;
    if (!JSON_NODE_HOLDS_ARRAY(n)) {
        char *p = join(path, key);
        int rc = tj_fail(c, BALDRO_EINVAL, p, "expected an array");
        g_free(p);
        return rc;
    }
    *out = json_node_get_array(n);
    return BALDRO_OK;
}

/* {"String": s} or {"Regex": r}: a regex either way (a string pattern escaped), compiled
 * with PCRE's Unicode properties so \s and \p{L} mean what they do in Oniguruma. */
int tj_pattern(tj_ctx *c, JsonObject *o, const char *path, GRegex **out) {
    JsonObject *pat = NULL;
    char *p = join(path, "pattern");
    int rc = tj_obj(c, o, path, "pattern", &pat);
    const char *s = NULL, *r = NULL;
    if (rc == BALDRO_OK && !pat) rc = tj_fail(c, BALDRO_EINVAL, p, "missing");
    if (rc == BALDRO_OK) rc = tj_str(c, pat, p, "String", NULL, &s);
    if (rc == BALDRO_OK) rc = tj_str(c, pat, p, "Regex", NULL, &r);
    if (rc == BALDRO_OK && !s == !r)
        rc = tj_fail(c, BALDRO_EINVAL, p, "expected {\"String\": ...} or {\"Regex\": ...}");
    /* PCRE's \C matches one byte, so matches could start inside a UTF-8 character; HF's
     * regex engines have no such escape. Found by tests/fuzz/fuzz_tokenizer_json.c. */
    for (const char *q = r; rc == BALDRO_OK && q && *q; q++)
        if (*q == '\\' && q[1]) {
            if (q[1] == 'C') rc = tj_fail(c, BALDRO_EINVAL, p, "\\C (single byte) is not supported");
            q++;
        }
    if (rc == BALDRO_OK) {
        char *src = s ? g_regex_escape_string(s, -1) : g_strdup(r);
        GError *ge = NULL;
        *out = g_regex_new(src, G_REGEX_OPTIMIZE, 0, &ge);
        if (!*out) {
            rc = tj_fail(c, BALDRO_EINVAL, p, "invalid regex: %s", ge ? ge->message : "?");
            g_clear_error(&ge);
        }
        g_free(src);
    }
    g_free(p);
    return rc;
}

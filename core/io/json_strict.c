/*
 * core/io/json_strict.c: the strict JSON gate in front of json-glib (json_strict.h).
 *
 * json-glib 1.6 is lenient where a checkpoint reader must not be: it accepts single-quoted
 * strings and hex numbers, wraps integers beyond int64, keeps the last of duplicate keys
 * and recurses once per nesting level (a header of a million '[' would overflow the stack).
 * This file walks the text once, iteratively, against the RFC 8259 grammar and rejects all
 * of that with a byte offset; only then does json-glib build the tree.
 */
#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "io/json_strict.h"

typedef struct {
    bool is_object;
    GHashTable *keys; /* decoded member names seen so far (objects only) */
    char *key;        /* the member being parsed; owned by `keys` */
} st_json_frame;

typedef struct {
    const char *s;
    size_t len, pos;
    const char *file, *what;
    baldro_error *err;
    st_json_frame stack[BALDRO_JSON_MAX_DEPTH];
    int depth;
} st_json_ck;

static int st_json_fail(st_json_ck *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int st_json_fail(st_json_ck *ck, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return baldro_error_set(ck->err, BALDRO_EINVAL, "%s: %s: invalid JSON at byte %zu: %s",
                            ck->file, ck->what, ck->pos, reason);
}

static void st_json_skip_ws(st_json_ck *ck) {
    while (ck->pos < ck->len) {
        char c = ck->s[ck->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        ck->pos++;
    }
}

static int st_json_hex4(st_json_ck *ck, size_t at, unsigned *out) {
    if (ck->len - at < 4) return -1;
    unsigned v = 0;
    for (size_t i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(ck->s[at + i]);
        if (d < 0) return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

/* At the opening quote; leaves pos after the closing one. Decodes into `out` when given
 * (member names, for the duplicate check); values are only validated. */
static int st_json_string(st_json_ck *ck, GString *out) {
    ck->pos++; /* opening quote */
    for (;;) {
        if (ck->pos >= ck->len) return st_json_fail(ck, "unterminated string");
        unsigned char c = (unsigned char)ck->s[ck->pos];
        if (c == '"') {
            ck->pos++;
            return BALDRO_OK;
        }
        if (c < 0x20) return st_json_fail(ck, "control character 0x%02x in a string", c);
        if (c != '\\') {
            if (out) g_string_append_c(out, (char)c);
            ck->pos++;
            continue;
        }
        if (ck->pos + 1 >= ck->len) return st_json_fail(ck, "unterminated escape");
        char e = ck->s[ck->pos + 1];
        char lit = 0;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': break;
        default: return st_json_fail(ck, "invalid escape '\\%c'", e);
        }
        if (lit) {
            if (out) g_string_append_c(out, lit);
            ck->pos += 2;
            continue;
        }
        unsigned u;
        if (st_json_hex4(ck, ck->pos + 2, &u) != 0)
            return st_json_fail(ck, "\\u needs four hex digits");
        size_t used = 6;
        gunichar cp = u;
        if (u == 0) return st_json_fail(ck, "\\u0000 (NUL) in a string");
        if (u >= 0xDC00 && u <= 0xDFFF) return st_json_fail(ck, "unpaired low surrogate \\u%04x", u);
        if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned lo;
            if (ck->len - ck->pos < 12 || ck->s[ck->pos + 6] != '\\' || ck->s[ck->pos + 7] != 'u' ||
                st_json_hex4(ck, ck->pos + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                return st_json_fail(ck, "unpaired high surrogate \\u%04x", u);
            cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        }
        if (out) g_string_append_unichar(out, cp);
        ck->pos += used;
    }
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; an integer (no fraction or exponent) must
 * fit int64, because json-glib would wrap it. */
static int st_json_number(st_json_ck *ck) {
    size_t start = ck->pos;
    bool neg = false;
    if (ck->s[ck->pos] == '-') {
        neg = true;
        ck->pos++;
    }
    if (ck->pos >= ck->len || !g_ascii_isdigit(ck->s[ck->pos]))
        return st_json_fail(ck, "expected a digit");
    /* Magnitude with overflow detection: up to 2^63 for a negative, 2^63 - 1 otherwise. */
    guint64 mag = 0;
    bool big = false;
    if (ck->s[ck->pos] == '0') {
        ck->pos++;
        if (ck->pos < ck->len && g_ascii_isdigit(ck->s[ck->pos]))
            return st_json_fail(ck, "leading zero in a number");
    } else {
        while (ck->pos < ck->len && g_ascii_isdigit(ck->s[ck->pos])) {
            unsigned d = (unsigned)(ck->s[ck->pos] - '0');
            if (mag > (G_MAXUINT64 - d) / 10) big = true;
            else mag = mag * 10 + d;
            ck->pos++;
        }
    }
    bool integer = true;
    if (ck->pos < ck->len && ck->s[ck->pos] == '.') {
        integer = false;
        ck->pos++;
        if (ck->pos >= ck->len || !g_ascii_isdigit(ck->s[ck->pos]))
            return st_json_fail(ck, "expected a digit after '.'");
        while (ck->pos < ck->len && g_ascii_isdigit(ck->s[ck->pos])) ck->pos++;
    }
    if (ck->pos < ck->len && (ck->s[ck->pos] == 'e' || ck->s[ck->pos] == 'E')) {
        integer = false;
        ck->pos++;
        if (ck->pos < ck->len && (ck->s[ck->pos] == '+' || ck->s[ck->pos] == '-')) ck->pos++;
        if (ck->pos >= ck->len || !g_ascii_isdigit(ck->s[ck->pos]))
            return st_json_fail(ck, "expected a digit in the exponent");
        while (ck->pos < ck->len && g_ascii_isdigit(ck->s[ck->pos])) ck->pos++;
    }
    if (integer && (big || mag > (neg ? (guint64)G_MAXINT64 + 1 : (guint64)G_MAXINT64))) {
        ck->pos = start;
        return st_json_fail(ck, "integer out of the 64-bit range");
    }
    return BALDRO_OK;
}

static int st_json_literal(st_json_ck *ck) {
    static const char *const lits[] = { "true", "false", "null" };
    for (size_t i = 0; i < G_N_ELEMENTS(lits); i++) {
        size_t n = strlen(lits[i]);
        if (ck->len - ck->pos >= n && memcmp(ck->s + ck->pos, lits[i], n) == 0) {
            ck->pos += n;
            return BALDRO_OK;
        }
    }
    unsigned char c = (unsigned char)ck->s[ck->pos];
    if (g_ascii_isprint((char)c)) return st_json_fail(ck, "unexpected character '%c'", c);
    return st_json_fail(ck, "unexpected byte 0x%02x", c);
}

/* Where a duplicate sits, for the message: the member names leading to its object. */
static void st_json_path(const st_json_ck *ck, char *buf, size_t cap) {
    if (ck->depth <= 1) {
        snprintf(buf, cap, "the top-level object");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ck->depth - 1 && used < cap; i++) {
        const st_json_frame *fr = &ck->stack[i];
        int n = fr->is_object ? snprintf(buf + used, cap - used, "%s\"%s\"", used ? "." : "", fr->key)
                              : snprintf(buf + used, cap - used, "[]");
        if (n < 0) break;
        used += (size_t)n;
    }
}

/* At a '"' that starts a member name: read it, reject a duplicate, eat the ':'. */
static int st_json_member_name(st_json_ck *ck) {
    if (ck->pos >= ck->len || ck->s[ck->pos] != '"')
        return st_json_fail(ck, "expected a member name in double quotes");
    GString *name = g_string_new(NULL);
    size_t at = ck->pos;
    int rc = st_json_string(ck, name);
    if (rc != BALDRO_OK) {
        g_string_free(name, TRUE);
        return rc;
    }
    st_json_frame *fr = &ck->stack[ck->depth - 1];
    if (g_hash_table_contains(fr->keys, name->str)) {
        char where[256];
        st_json_path(ck, where, sizeof where);
        rc = baldro_error_set(ck->err, BALDRO_EINVAL,
                              "%s: %s: duplicate key \"%s\" in %s (byte %zu)", ck->file,
                              ck->what, name->str, where, at);
        g_string_free(name, TRUE);
        return rc;
    }
    fr->key = g_string_free(name, FALSE);
    g_hash_table_add(fr->keys, fr->key);
    st_json_skip_ws(ck);
    if (ck->pos >= ck->len || ck->s[ck->pos] != ':')
        return st_json_fail(ck, "expected ':' after member name");
    ck->pos++;
    return BALDRO_OK;
}

static int st_json_push(st_json_ck *ck, bool is_object) {
    if (ck->depth >= BALDRO_JSON_MAX_DEPTH)
        return st_json_fail(ck, "nested deeper than %d levels", BALDRO_JSON_MAX_DEPTH);
    st_json_frame *fr = &ck->stack[ck->depth++];
    fr->is_object = is_object;
    fr->key = NULL;
    fr->keys = is_object ? g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) : NULL;
    ck->pos++;
    return BALDRO_OK;
}

static void st_json_pop(st_json_ck *ck) {
    st_json_frame *fr = &ck->stack[--ck->depth];
    if (fr->keys) g_hash_table_destroy(fr->keys);
    fr->keys = NULL;
}

static int st_json_walk(st_json_ck *ck) {
    bool want_value = true;
    for (;;) {
        st_json_skip_ws(ck);
        if (want_value) {
            if (ck->pos >= ck->len) return st_json_fail(ck, "unexpected end, expected a value");
            char c = ck->s[ck->pos];
            int rc;
            if (c == '{' || c == '[') {
                rc = st_json_push(ck, c == '{');
                if (rc != BALDRO_OK) return rc;
                st_json_skip_ws(ck);
                if (ck->pos < ck->len && ck->s[ck->pos] == (c == '{' ? '}' : ']')) {
                    ck->pos++;
                    st_json_pop(ck);
                    want_value = false;
                } else if (c == '{') {
                    rc = st_json_member_name(ck);
                    if (rc != BALDRO_OK) return rc;
                }
                continue;
            }
            if (c == '"') rc = st_json_string(ck, NULL);
            else if (c == '-' || g_ascii_isdigit(c)) rc = st_json_number(ck);
            else rc = st_json_literal(ck);
            if (rc != BALDRO_OK) return rc;
            want_value = false;
            continue;
        }
        /* After a value. */
        if (ck->depth == 0) {
            if (ck->pos != ck->len) return st_json_fail(ck, "trailing characters after the JSON value");
            return BALDRO_OK;
        }
        if (ck->pos >= ck->len) return st_json_fail(ck, "unexpected end inside an object or array");
        st_json_frame *fr = &ck->stack[ck->depth - 1];
        char c = ck->s[ck->pos];
        if (c == ',') {
            ck->pos++;
            if (fr->is_object) {
                st_json_skip_ws(ck);
                int rc = st_json_member_name(ck);
                if (rc != BALDRO_OK) return rc;
            }
            want_value = true;
        } else if (c == (fr->is_object ? '}' : ']')) {
            ck->pos++;
            st_json_pop(ck);
        } else {
            return st_json_fail(ck, fr->is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

int baldro_json_check(const char *text, size_t len, const char *file, const char *what,
                         baldro_error *err) {
    const char *bad = NULL;
    if (!g_utf8_validate(text, (gssize)len, &bad))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: not valid UTF-8 (byte %zu)", file,
                                what, (size_t)(bad - text));
    st_json_ck ck = { .s = text, .len = len, .file = file, .what = what, .err = err };
    int rc = st_json_walk(&ck);
    while (ck.depth > 0) st_json_pop(&ck);
    return rc;
}

JsonNode *baldro_json_parse(const char *text, size_t len, const char *file, const char *what,
                               baldro_error *err) {
    if (baldro_json_check(text, len, file, what, err) != BALDRO_OK) return NULL;
    JsonParser *parser = json_parser_new_immutable();
    GError *gerr = NULL;
    JsonNode *root = NULL;
    if (json_parser_load_from_data(parser, text, (gssize)len, &gerr)) {
        root = json_parser_steal_root(parser);
    }
    if (!root) {
        /* The gate above should make this unreachable; keep json-glib's reason if not. */
        baldro_error_set(err, BALDRO_EINVAL, "%s: %s: invalid JSON: %s", file, what,
                         gerr ? gerr->message : "empty document");
    }
    if (gerr) g_error_free(gerr);
    g_object_unref(parser);
    return root;
}

int baldro_json_int(JsonNode *node, int64_t *out) {
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return -1;
    *out = json_node_get_int(node);
    return 0;
}

const char *baldro_json_kind_name(JsonNode *n) {
    switch (json_node_get_node_type(n)) {
    case JSON_NODE_OBJECT: return "an object";
    case JSON_NODE_ARRAY: return "a list";
    case JSON_NODE_NULL: return "null";
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(n)) {
        case G_TYPE_STRING: return "a string";
        case G_TYPE_BOOLEAN: return "a boolean";
        default: return "a number";
        }
    }
    return "something else";
}

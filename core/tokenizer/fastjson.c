/*
 * core/tokenizer/fastjson.c: a fast path for the two big members of tokenizer.json,
 * model.vocab (128k entries for Llama-3) and model.merges (280k). Through json-glib they
 * cost a node, a hash entry and several allocations each, which alone took most of a
 * second; here they are read straight from the text into a string arena. The text has
 * passed baldro_json_check, so the scanner can assume well-formed JSON (strings closed,
 * escapes valid, brackets balanced) and only checks the shapes it expects.
 */
#include <string.h>

#include "tokenizer/tokenizer_json.h"

static size_t skip_ws(const char *s, size_t len, size_t i) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* s[i] is '"'; returns the index after the closing quote. */
static size_t skip_string(const char *s, size_t len, size_t i) {
    for (i++; i < len; i++) {
        if (s[i] == '\\') i++;
        else if (s[i] == '"') return i + 1;
    }
    return len;
}

static size_t skip_value(const char *s, size_t len, size_t i) {
    if (i >= len) return len;
    if (s[i] == '"') return skip_string(s, len, i);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < len) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, len, i);
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
            i++;
        }
        return len;
    }
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
           s[i] != '\t' && s[i] != '\r')
        i++;
    return i;
}

static unsigned hex4(const char *p) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) v = v * 16 + (unsigned)g_ascii_xdigit_value(p[k]);
    return v;
}

/* Decode the string at s[i] (a '"') into out; returns the index after it. */
static size_t read_string(const char *s, size_t len, size_t i, GString *out) {
    g_string_truncate(out, 0);
    size_t start = ++i;
    while (i < len && s[i] != '"') {
        if (s[i] != '\\') {
            i++;
            continue;
        }
        g_string_append_len(out, s + start, (gssize)(i - start));
        char e = i + 1 < len ? s[i + 1] : '"';
        i += 2;
        switch (e) {
        case 'b': g_string_append_c(out, '\b'); break;
        case 'f': g_string_append_c(out, '\f'); break;
        case 'n': g_string_append_c(out, '\n'); break;
        case 'r': g_string_append_c(out, '\r'); break;
        case 't': g_string_append_c(out, '\t'); break;
        case 'u': {
            unsigned cp = i + 4 <= len ? hex4(s + i) : 0xfffd;
            i += 4;
            /* the check guarantees a high surrogate is followed by \uDC00.. */
            if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u') {
                unsigned lo = hex4(s + i + 2);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            g_string_append_unichar(out, cp);
            break;
        }
        default: g_string_append_c(out, e); break; /* \" \\ \/ */
        }
        start = i;
    }
    g_string_append_len(out, s + start, (gssize)(i - start));
    return i < len ? i + 1 : len;
}

/* The value span of member `key` of the object at s[i] ('{'), or 0 when absent. */
static int find_member(const char *s, size_t len, size_t i, const char *key, size_t *vs,
                       size_t *ve) {
    size_t klen = strlen(key);
    i = skip_ws(s, len, i + 1);
    while (i < len && s[i] == '"') {
        size_t ke = skip_string(s, len, i);
        int hit = ke - i == klen + 2 && memcmp(s + i + 1, key, klen) == 0;
        i = skip_ws(s, len, ke);
        i = skip_ws(s, len, i + 1); /* ':' */
        size_t e = skip_value(s, len, i);
        if (hit) {
            *vs = i;
            *ve = e;
            return 1;
        }
        i = skip_ws(s, len, e);
        if (i < len && s[i] == ',') i = skip_ws(s, len, i + 1);
    }
    return 0;
}

void tj_fast_find(const char *s, size_t len, tj_fast *f) {
    memset(f, 0, sizeof *f);
    size_t i = skip_ws(s, len, 0), ms, me;
    if (i >= len || s[i] != '{' || !find_member(s, len, i, "model", &ms, &me) || s[ms] != '{')
        return;
    size_t vs, ve;
    if (find_member(s, len, ms, "vocab", &vs, &ve) && s[vs] == '{') {
        f->vocab_start = vs;
        f->vocab_end = ve;
    }
    if (find_member(s, len, ms, "merges", &vs, &ve) && s[vs] == '[') {
        f->merges_start = vs;
        f->merges_end = ve;
    }
}

int tj_fast_vocab(tj_ctx *c, const char *s, size_t i, size_t end, GStringChunk *arena,
                  GPtrArray *keys, GArray *ids) {
    GString *k = g_string_new(NULL);
    int rc = BALDRO_OK;
    i = skip_ws(s, end, i + 1);
    while (i < end && s[i] == '"') {
        i = read_string(s, end, i, k);
        i = skip_ws(s, end, i);
        i = skip_ws(s, end, i + 1);
        size_t e = skip_value(s, end, i);
        int64_t v = 0;
        int ok = e > i && e - i <= 18;
        for (size_t j = i; ok && j < e; j++) {
            if (!g_ascii_isdigit(s[j])) ok = 0;
            else v = v * 10 + (s[j] - '0');
        }
        if (!ok) {
            rc = tj_fail(c, BALDRO_EINVAL, "model.vocab", "'%s': expected a non-negative id",
                         k->str);
            break;
        }
        g_ptr_array_add(keys, g_string_chunk_insert_len(arena, k->str, (gssize)k->len));
        g_array_append_val(ids, v);
        i = skip_ws(s, end, e);
        if (i < end && s[i] == ',') i = skip_ws(s, end, i + 1);
    }
    g_string_free(k, TRUE);
    return rc;
}

int tj_fast_merges(tj_ctx *c, const char *s, size_t i, size_t end, GStringChunk *arena,
                   GPtrArray *pairs) {
    GString *a = g_string_new(NULL), *b = g_string_new(NULL);
    int rc = BALDRO_OK;
    i = skip_ws(s, end, i + 1);
    for (guint n = 0; i < end && s[i] != ']'; n++) {
        int ok = 0;
        if (s[i] == '"') {
            i = read_string(s, end, i, a);
            const char *sp = memchr(a->str, ' ', a->len);
            if (sp && !memchr(sp + 1, ' ', a->len - (size_t)(sp - a->str) - 1)) {
                g_ptr_array_add(pairs, g_string_chunk_insert_len(arena, a->str, sp - a->str));
                g_ptr_array_add(pairs, g_string_chunk_insert(arena, sp + 1));
                ok = 1;
            }
        } else if (s[i] == '[') {
            size_t e = skip_value(s, end, i);
            size_t j = skip_ws(s, end, i + 1);
            if (j < e && s[j] == '"') {
                j = skip_ws(s, end, read_string(s, end, j, a));
                if (j < e && s[j] == ',') {
                    j = skip_ws(s, end, j + 1);
                    if (j < e && s[j] == '"') {
                        j = skip_ws(s, end, read_string(s, end, j, b));
                        if (j < e && s[j] == ']') {
                            g_ptr_array_add(pairs,
                                            g_string_chunk_insert_len(arena, a->str, (gssize)a->len));
                            g_ptr_array_add(pairs,
                                            g_string_chunk_insert_len(arena, b->str, (gssize)b->len));
                            ok = 1;
                        }
                    }
                }
            }
            i = e;
        }
        if (!ok) {
            char p[64];
            g_snprintf(p, sizeof p, "model.merges[%u]", n);
            rc = tj_fail(c, BALDRO_EINVAL, p, "expected \"a b\" or [\"a\", \"b\"]");
            break;
        }
        i = skip_ws(s, end, i);
        if (i < end && s[i] == ',') i = skip_ws(s, end, i + 1);
    }
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    return rc;
}

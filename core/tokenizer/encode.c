/*
 * core/tokenizer/encode.c: text -> ids. Added tokens are found first, on the raw text
 * (leftmost, longest first, as tokenizers' Aho-Corasick pass does), and the text between
 * them goes through normalizer, pre-tokenizer and BPE.
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static int is_word_char(const char *s, size_t len, int before) {
    /* The character just before (or at) a position, for single_word. */
    if (len == 0) return 0;
    const char *p = before ? g_utf8_find_prev_char(s, s + len) : s;
    if (!p) return 0;
    gunichar c = g_utf8_get_char_validated(p, (gssize)(before ? s + len - p : (gssize)len));
    if (c == (gunichar)-1 || c == (gunichar)-2) return 0;
    return g_unichar_isalnum(c) || c == '_';
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The added token at s[i], longest first; returns its index or -1, with the span it
 * covers once lstrip/rstrip took the whitespace around it. */
static long match_added(const baldro_tokenizer *t, const char *s, size_t len, size_t i,
                        size_t seg_start, size_t *ms, size_t *me) {
    for (size_t k = 0; k < t->n_added; k++) {
        const tok_added *a = &t->added[k];
        if (a->len == 0 || a->len > len - i || memcmp(s + i, a->content, a->len) != 0) continue;
        size_t e = i + a->len;
        if (a->single_word && (is_word_char(s, i, 1) || is_word_char(s + e, len - e, 0)))
            continue;
        size_t b = i;
        if (a->lstrip)
            while (b > seg_start && is_space(s[b - 1])) b--;
        if (a->rstrip)
            while (e < len && is_space(s[e])) e++;
        *ms = b;
        *me = e;
        return (long)k;
    }
    return -1;
}

static void encode_span(const baldro_tokenizer *t, const char *s, size_t len, int first,
                        GString *buf, GArray *spans, GArray *out) {
    if (len == 0) return;
    tok_pretokenize(t, s, len, first, buf, spans);
    for (guint i = 0; i < spans->len; i++) {
        tok_span sp = g_array_index(spans, tok_span, i);
        tok_bpe_piece(t, buf->str + sp.off, sp.len, out);
    }
}

int baldro_tok_encode(const baldro_tokenizer *t, const char *text, size_t len, int add_special,
                      int32_t **ids, size_t *n, baldro_error *err) {
    if (!t || !ids || !n || (!text && len > 0))
        return baldro_error_set(err, BALDRO_EINVAL, "baldro_tok_encode: NULL argument");
    *ids = NULL;
    *n = 0;
    size_t fixed_len = 0;
    char *fixed = text ? tok_utf8_repair(text, len, &fixed_len) : NULL;
    const char *s = fixed ? fixed : (text ? text : "");
    if (fixed) len = fixed_len;

    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(int32_t), (guint)(len / 3 + 8));
    GString *buf = g_string_sized_new(len + 16);
    GArray *spans = g_array_new(FALSE, FALSE, sizeof(tok_span));
    if (add_special && t->n_prefix) g_array_append_vals(out, t->prefix, (guint)t->n_prefix);
    size_t seg = 0; /* start of the text not yet encoded */
    for (size_t i = 0; i < len;) {
        size_t ms, me;
        long k = -1;
        if (t->added_first[(unsigned char)s[i]]) k = match_added(t, s, len, i, seg, &ms, &me);
        if (k < 0) {
            i++;
            continue;
        }
        encode_span(t, s + seg, ms - seg, seg == 0, buf, spans, out);
        g_array_append_val(out, t->added[k].id);
        seg = i = me;
    }
    encode_span(t, s + seg, len - seg, seg == 0, buf, spans, out);
    if (add_special && t->n_suffix) g_array_append_vals(out, t->suffix, (guint)t->n_suffix);
    g_array_free(spans, TRUE);
    g_string_free(buf, TRUE);
    g_free(fixed);
    *n = out->len;
    *ids = (int32_t *)(void *)g_array_free(out, FALSE);
    return BALDRO_OK;
}

/*
 * core/tokenizer/pretok.c: normalizer and pre-tokenizer, on one span of text between
 * added tokens. Pieces are (offset, length) pairs into one buffer; steps that only cut
 * (Split, ByteLevel's regex) make new pairs over the same bytes, steps that change text
 * (Prepend, Replace, Metaspace, ByteLevel's prefix space) rebuild the buffer.
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static void span_add(GArray *spans, size_t off, size_t len) {
    if (len == 0) return; /* tokenizers drops empty splits */
    tok_span sp = { off, len };
    g_array_append_val(spans, sp);
}

static void replace_all(GString *out, const char *s, size_t len, const char *pat, size_t plen,
                        const char *with) {
    size_t i = 0;
    while (i < len) {
        if (plen > 0 && i + plen <= len && memcmp(s + i, pat, plen) == 0) {
            g_string_append(out, with);
            i += plen;
        } else {
            g_string_append_c(out, s[i]);
            i++;
        }
    }
}

static void normalize(const baldro_tokenizer *t, GString *buf) {
    for (size_t k = 0; k < t->n_norms; k++) {
        const tok_norm *n = &t->norms[k];
        if (n->kind == TOK_NORM_PREPEND) {
            if (buf->len > 0) g_string_prepend(buf, n->a);
        } else {
            GString *out = g_string_sized_new(buf->len + 16);
            replace_all(out, buf->str, buf->len, n->a, strlen(n->a), n->b);
            g_string_truncate(buf, 0);
            g_string_append_len(buf, out->str, (gssize)out->len);
            g_string_free(out, TRUE);
        }
    }
}

/* Cut one piece at the regex matches, per the Split behaviour. */
static void split_piece(const GRegex *re, tok_split_behavior bh, const char *base, size_t off,
                        size_t len, GArray *out) {
    GMatchInfo *mi = NULL;
    size_t last = 0;     /* end of what has been emitted, relative to the piece */
    size_t pending = 0;  /* MergedWithNext: start of the piece being built */
    int any = 0;
    g_regex_match_full(re, base + off, (gssize)len, 0, 0, &mi, NULL);
    while (g_match_info_matches(mi)) {
        gint ms = 0, me = 0;
        g_match_info_fetch_pos(mi, 0, &ms, &me);
        /* Matches never go backwards; the check keeps a broken pattern from wrapping the
         * span arithmetic (a fuzzer input once did, through \C). */
        if (me > ms && ms >= 0 && (size_t)ms >= last && (size_t)me <= len) {
            size_t s = (size_t)ms, e = (size_t)me;
            switch (bh) {
            case TOK_SPLIT_ISOLATED:
                span_add(out, off + last, s - last);
                span_add(out, off + s, e - s);
                break;
            case TOK_SPLIT_REMOVED:
                span_add(out, off + last, s - last);
                break;
            case TOK_SPLIT_MERGED_PREV:
                span_add(out, off + last, e - last);
                break;
            case TOK_SPLIT_MERGED_NEXT:
                if (any) span_add(out, off + pending, s - pending);
                else span_add(out, off, s);
                pending = s;
                any = 1;
                break;
            }
            last = e;
        }
        if (!g_match_info_next(mi, NULL)) break;
    }
    g_match_info_free(mi);
    if (bh == TOK_SPLIT_MERGED_NEXT && any) span_add(out, off + pending, len - pending);
    else span_add(out, off + last, len - last);
}

static void split_all(const GRegex *re, tok_split_behavior bh, GString *buf, GArray **spans) {
    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(tok_span), (*spans)->len * 4 + 4);
    for (guint i = 0; i < (*spans)->len; i++) {
        tok_span sp = g_array_index(*spans, tok_span, i);
        split_piece(re, bh, buf->str, sp.off, sp.len, out);
    }
    g_array_free(*spans, TRUE);
    *spans = out;
}

/* Metaspace: spaces become the replacement, which is also prepended per the scheme; with
 * split, each replacement starts a new piece. */
static void metaspace(const tok_pre *p, int first, GString *buf, GArray **spans) {
    GString *nb = g_string_sized_new(buf->len * 2 + 8);
    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(tok_span), (*spans)->len + 4);
    size_t rl = strlen(p->replacement);
    for (guint i = 0; i < (*spans)->len; i++) {
        tok_span sp = g_array_index(*spans, tok_span, i);
        size_t start = nb->len;
        GString *piece = g_string_sized_new(sp.len * 2 + rl);
        replace_all(piece, buf->str + sp.off, sp.len, " ", 1, p->replacement);
        int starts = piece->len >= rl && memcmp(piece->str, p->replacement, rl) == 0;
        int at_origin = first && i == 0 && sp.off == 0;
        if (!starts && (p->prepend == TOK_PREPEND_ALWAYS ||
                        (p->prepend == TOK_PREPEND_FIRST && at_origin)))
            g_string_prepend(piece, p->replacement);
        g_string_append_len(nb, piece->str, (gssize)piece->len);
        g_string_free(piece, TRUE);
        if (!p->split) {
            span_add(out, start, nb->len - start);
            continue;
        }
        /* MergedWithNext on the replacement */
        size_t ps = start;
        for (size_t k = start + 1; k + rl <= nb->len; k++) {
            if (memcmp(nb->str + k, p->replacement, rl) == 0) {
                span_add(out, ps, k - ps);
                ps = k;
            }
        }
        span_add(out, ps, nb->len - ps);
    }
    g_string_truncate(buf, 0);
    g_string_append_len(buf, nb->str, (gssize)nb->len);
    g_string_free(nb, TRUE);
    g_array_free(*spans, TRUE);
    *spans = out;
}

static void prefix_space(GString *buf, GArray **spans) {
    GString *nb = g_string_sized_new(buf->len + (*spans)->len + 1);
    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(tok_span), (*spans)->len);
    for (guint i = 0; i < (*spans)->len; i++) {
        tok_span sp = g_array_index(*spans, tok_span, i);
        size_t start = nb->len;
        if (buf->str[sp.off] != ' ') g_string_append_c(nb, ' ');
        g_string_append_len(nb, buf->str + sp.off, (gssize)sp.len);
        span_add(out, start, nb->len - start);
    }
    g_string_truncate(buf, 0);
    g_string_append_len(buf, nb->str, (gssize)nb->len);
    g_string_free(nb, TRUE);
    g_array_free(*spans, TRUE);
    *spans = out;
}

void tok_pretokenize(const baldro_tokenizer *t, const char *s, size_t len, int first,
                     GString *buf, GArray *spans_out) {
    g_string_truncate(buf, 0);
    g_string_append_len(buf, s, (gssize)len);
    normalize(t, buf);
    GArray *spans = g_array_new(FALSE, FALSE, sizeof(tok_span));
    span_add(spans, 0, buf->len);
    for (size_t k = 0; k < t->n_pres && spans->len > 0; k++) {
        const tok_pre *p = &t->pres[k];
        switch (p->kind) {
        case TOK_PRE_SPLIT:
            split_all(p->re, p->behavior, buf, &spans);
            break;
        case TOK_PRE_BYTELEVEL:
            if (p->add_prefix_space) prefix_space(buf, &spans);
            if (p->re) split_all(p->re, TOK_SPLIT_ISOLATED, buf, &spans);
            break;
        case TOK_PRE_METASPACE:
            metaspace(p, first, buf, &spans);
            break;
        }
    }
    g_array_set_size(spans_out, 0);
    if (spans->len) g_array_append_vals(spans_out, spans->data, spans->len);
    g_array_free(spans, TRUE);
}

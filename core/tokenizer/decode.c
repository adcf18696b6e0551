/*
 * core/tokenizer/decode.c: ids -> text through the decoder chain, as tokenizers does it:
 * the token strings form a list that each decoder rewrites in turn, then the list is
 * concatenated (joined by spaces when there is no decoder at all).
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static void list_free(GPtrArray *l) {
    g_ptr_array_free(l, TRUE);
}

static void gstring_free(gpointer p) {
    g_string_free(p, TRUE);
}

static GPtrArray *list_new(void) {
    return g_ptr_array_new_with_free_func(gstring_free);
}

/* ByteLevel: each token's characters back to bytes (a token with a character outside the
 * table is taken as it is), then the whole as lossy UTF-8. */
static GPtrArray *dec_bytelevel(GPtrArray *in) {
    GString *bytes = g_string_new(NULL);
    for (guint i = 0; i < in->len; i++) {
        GString *tk = g_ptr_array_index(in, i);
        size_t bl = 0;
        char *b = tok_bytelevel_unmap(tk->str, tk->len, &bl);
        if (b) g_string_append_len(bytes, b, (gssize)bl);
        else g_string_append_len(bytes, tk->str, (gssize)tk->len);
        g_free(b);
    }
    GString *text = g_string_sized_new(bytes->len);
    tok_utf8_lossy_append(text, bytes->str, bytes->len);
    g_string_free(bytes, TRUE);
    GPtrArray *out = list_new();
    g_ptr_array_add(out, text);
    return out;
}

static int byte_token(const GString *tk, unsigned *b) {
    if (tk->len != 6 || memcmp(tk->str, "<0x", 3) != 0 || tk->str[5] != '>') return 0;
    int hi = g_ascii_xdigit_value(tk->str[3]), lo = g_ascii_xdigit_value(tk->str[4]);
    if (hi < 0 || lo < 0) return 0;
    *b = (unsigned)(hi * 16 + lo);
    return 1;
}

/* ByteFallback: runs of <0xNN> tokens become their bytes when those are valid UTF-8, else
 * one U+FFFD per byte token. */
static void flush_bytes(GPtrArray *out, GString *pend, size_t count) {
    if (count == 0) return;
    if (tok_utf8_valid(pend->str, pend->len)) {
        g_ptr_array_add(out, g_string_new_len(pend->str, (gssize)pend->len));
    } else {
        for (size_t i = 0; i < count; i++) g_ptr_array_add(out, g_string_new("\xef\xbf\xbd"));
    }
    g_string_truncate(pend, 0);
}

static GPtrArray *dec_bytefallback(GPtrArray *in) {
    GPtrArray *out = list_new();
    GString *pend = g_string_new(NULL);
    size_t count = 0;
    for (guint i = 0; i < in->len; i++) {
        GString *tk = g_ptr_array_index(in, i);
        unsigned b;
        if (byte_token(tk, &b)) {
            g_string_append_c(pend, (char)b);
            count++;
            continue;
        }
        flush_bytes(out, pend, count);
        count = 0;
        g_ptr_array_add(out, g_string_new_len(tk->str, (gssize)tk->len));
    }
    flush_bytes(out, pend, count);
    g_string_free(pend, TRUE);
    return out;
}

static GString *replace_in(const GString *tk, const char *pat, const char *with) {
    GString *o = g_string_sized_new(tk->len);
    size_t pl = strlen(pat);
    for (size_t i = 0; i < tk->len;) {
        if (pl && i + pl <= tk->len && memcmp(tk->str + i, pat, pl) == 0) {
            g_string_append(o, with);
            i += pl;
        } else {
            g_string_append_c(o, tk->str[i++]);
        }
    }
    return o;
}

/* Strip: up to `start` leading and `stop` trailing characters equal to content, per
 * token. */
static GString *strip_token(const GString *tk, const char *content, int start, int stop) {
    size_t cl = strlen(content);
    size_t b = 0, e = tk->len;
    for (int k = 0; k < start && cl && b + cl <= e && memcmp(tk->str + b, content, cl) == 0; k++)
        b += cl;
    for (int k = 0; k < stop && cl && e >= b + cl && memcmp(tk->str + e - cl, content, cl) == 0;
         k++)
        e -= cl;
    return g_string_new_len(tk->str + b, (gssize)(e - b));
}

static GPtrArray *dec_step(const tok_dec *d, GPtrArray *in) {
    if (d->kind == TOK_DEC_BYTELEVEL) return dec_bytelevel(in);
    if (d->kind == TOK_DEC_BYTEFALLBACK) return dec_bytefallback(in);
    GPtrArray *out = list_new();
    if (d->kind == TOK_DEC_FUSE) {
        GString *all = g_string_new(NULL);
        for (guint i = 0; i < in->len; i++) {
            GString *tk = g_ptr_array_index(in, i);
            g_string_append_len(all, tk->str, (gssize)tk->len);
        }
        g_ptr_array_add(out, all);
        return out;
    }
    for (guint i = 0; i < in->len; i++) {
        GString *tk = g_ptr_array_index(in, i);
        switch (d->kind) {
        case TOK_DEC_REPLACE:
            g_ptr_array_add(out, replace_in(tk, d->a, d->b));
            break;
        case TOK_DEC_STRIP:
            g_ptr_array_add(out, strip_token(tk, d->a, d->start, d->stop));
            break;
        case TOK_DEC_METASPACE:
            /* The replacement back to spaces; tokenizers drops every replacement of the
             * first token (not only the prepended one) unless prepend_scheme is never. */
            g_ptr_array_add(out, replace_in(tk, d->a,
                                            i == 0 && d->prepend != TOK_PREPEND_NEVER ? "" : " "));
            break;
        default:
            g_ptr_array_add(out, g_string_new_len(tk->str, (gssize)tk->len));
            break;
        }
    }
    return out;
}

int baldro_tok_decode(const baldro_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                      char **text, size_t *len, baldro_error *err) {
    if (!t || !text || (!ids && n > 0))
        return baldro_error_set(err, BALDRO_EINVAL, "baldro_tok_decode: NULL argument");
    *text = NULL;
    GPtrArray *l = list_new();
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_ids || !t->str[id]) {
            list_free(l);
            return baldro_error_set(err, BALDRO_EINVAL, "%s: decode: id %d is not in the vocabulary",
                                    t->name, (int)id);
        }
        if (skip_special && t->special[id]) continue;
        g_ptr_array_add(l, g_string_new_len(t->str[id], (gssize)t->str_len[id]));
    }
    for (size_t k = 0; k < t->n_decs; k++) {
        GPtrArray *next = dec_step(&t->decs[k], l);
        list_free(l);
        l = next;
    }
    GString *all = g_string_new(NULL);
    for (guint i = 0; i < l->len; i++) {
        GString *tk = g_ptr_array_index(l, i);
        if (i > 0 && !t->has_decoder) g_string_append_c(all, ' ');
        g_string_append_len(all, tk->str, (gssize)tk->len);
    }
    list_free(l);
    if (len) *len = all->len;
    *text = g_string_free(all, FALSE);
    return BALDRO_OK;
}

/* plugins/models/distilbert/lib/wordpiece.c: see wordpiece.h. */
#include "wordpiece.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baldro/abi.h"
#include "dbjson.h"

#define WP_MAX_ID            ((int64_t)INT32_MAX - 1)
#define WP_DEFAULT_MAX_CHARS 100 /* tokenizers' and transformers' default */

typedef struct wp_added {
    char *content; /* as written in the file */
    gunichar *u;   /* what is matched: content, or content normalized when normalized */
    size_t n;      /* characters of u; 0: never matches */
    int32_t id;
    gboolean single_word, lstrip, rstrip, normalized;
} wp_added;

struct wordpiece {
    GHashTable *vocab; /* token (owned) -> GINT_TO_POINTER(id + 1) */
    char *unk, *prefix;
    int32_t unk_id;
    int64_t max_chars;      /* max_input_chars_per_word */
    size_t max_token_bytes; /* longest vocabulary entry: longer candidates are not tried */
    gboolean normalizer, clean_text, chinese, strip_accents, lowercase;
    gboolean pretokenizer; /* BertPreTokenizer; FALSE: a piece is one word */
    wp_added *added;
    size_t n_added, n_added_raw, n_added_norm;
    int32_t *head, *tail; /* template ids before and after the sequence */
    int32_t n_head, n_tail;
    int32_t max_id;
};

/* ---- Unicode classes (as tokenizers defines them) ----------------------------------- */

/* tokenizers takes its classes from Unicode tables older than GLib's (a character
 * assigned since is neither control, punctuation nor Mn to it), and its CJK ranges skip
 * U+2B820..U+2B91F; so the classes are its own, probed on every code point
 * (wordpiece_unicode.h). GLib gives only NFD, combining classes and lowercase. */
#include "wordpiece_unicode.h"

static int in_ranges(const uint32_t (*r)[2], size_t n, gunichar c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid][0])
            hi = mid;
        else if (c > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}
#define IN(table, c) in_ranges(table, G_N_ELEMENTS(table), (c))

/* Rust's char::is_whitespace (White_Space): split by BertPreTokenizer, ' ' by clean_text. */
static int is_ws(gunichar c) {
    return IN(wp_ws, c);
}
/* clean_text drops these: Cc, Cf, Co, Cs (not Cn) but \t \n \r; also U+0000, U+FFFD. */
static int is_control(gunichar c) {
    return IN(wp_ctrl, c);
}
/* ' ' around each by handle_chinese_chars. */
static int is_cjk(gunichar c) {
    return IN(wp_cjk, c);
}
/* BertPreTokenizer's punctuation: ASCII 33-47, 58-64, 91-96, 123-126 and categories P*. */
static int is_punct(gunichar c) {
    return IN(wp_punct, c);
}
/* strip_accents drops these after NFD: category Mn. */
static int is_mn(gunichar c) {
    return IN(wp_mn, c);
}
/* NFD changes these. */
static int has_nfd(gunichar c) {
    return IN(wp_nfd, c);
}

/* Lowercase of c, one character (U+0130, the one exception, is the caller's). */
static gunichar lower1(gunichar c) {
    size_t lo = 0, hi = G_N_ELEMENTS(wp_lower);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((int32_t)c < wp_lower[mid][0])
            hi = mid;
        else if ((int32_t)c > wp_lower[mid][1])
            lo = mid + 1;
        else
            return ((int32_t)c - wp_lower[mid][0]) % wp_lower[mid][2] == 0
                       ? (gunichar)((int32_t)c + wp_lower[mid][3])
                       : c;
    }
    return c;
}

/* A word character for single_word added tokens (regex \w: letters, marks, digits, _). */
static int is_word_char(gunichar c) {
    if (c == '_' || g_unichar_isalnum(c)) return 1;
    switch (g_unichar_type(c)) {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_CONNECT_PUNCTUATION:
        return 1;
    default:
        return 0;
    }
}

/* ---- text buffers -------------------------------------------------------------------- */

static void push(GArray *a, gunichar c) {
    g_array_append_val(a, c);
}
#define UAT(a, i) g_array_index((a), gunichar, (i))

/* UTF-8 to code points; an invalid or truncated sequence gives U+FFFD per byte. */
static void decode_utf8(const char *s, size_t len, GArray *out) {
    g_array_set_size(out, 0);
    const char *p = s, *e = s + len;
    while (p < e) {
        gunichar c = g_utf8_get_char_validated(p, (gssize)(e - p));
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            c = 0xFFFD;
            p++;
        } else {
            p = g_utf8_next_char(p);
        }
        push(out, c);
    }
}

/* BertNormalizer on in[0..n) into out (replaced). tmp is scratch. */
static void normalize(const wordpiece *wp, const gunichar *in, size_t n, GArray *out, GArray *tmp) {
    g_array_set_size(out, 0);
    if (!wp->normalizer) {
        g_array_append_vals(out, in, (guint)n);
        return;
    }
    /* clean_text, then the CJK spacing, into tmp. */
    g_array_set_size(tmp, 0);
    for (size_t i = 0; i < n; i++) {
        gunichar c = in[i];
        if (wp->clean_text) {
            if (is_control(c)) continue;
            if (is_ws(c)) c = ' ';
        }
        if (wp->chinese && is_cjk(c)) {
            push(tmp, ' ');
            push(tmp, c);
            push(tmp, ' ');
        } else {
            push(tmp, c);
        }
    }
    GArray *src = tmp;
    if (wp->strip_accents) {
        /* NFD: full canonical decomposition of every character, then the canonical
         * ordering of each run of combining marks (a stable sort by combining class). */
        for (guint i = 0; i < src->len; i++) {
            gunichar d[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
            gsize k = 1;
            d[0] = UAT(src, i);
            if (has_nfd(d[0])) k = g_unichar_fully_decompose(d[0], FALSE, d, G_N_ELEMENTS(d));
            for (gsize j = 0; j < k; j++) {
                int cc = g_unichar_combining_class(d[j]);
                push(out, d[j]);
                for (guint q = out->len - 1; cc && q > 0; q--) {
                    int pc = g_unichar_combining_class(UAT(out, q - 1));
                    if (pc <= cc) break;
                    gunichar t = UAT(out, q - 1);
                    UAT(out, q - 1) = UAT(out, q);
                    UAT(out, q) = t;
                }
            }
        }
        /* Then drop the nonspacing marks (category Mn). */
        guint w = 0;
        for (guint i = 0; i < out->len; i++)
            if (!is_mn(UAT(out, i))) UAT(out, w++) = UAT(out, i);
        g_array_set_size(out, w);
        if (!wp->lowercase) return;
        g_array_set_size(tmp, 0);
        g_array_append_vals(tmp, out->data, out->len);
        g_array_set_size(out, 0);
    }
    for (guint i = 0; i < src->len; i++) {
        gunichar c = UAT(src, i);
        if (!wp->lowercase) {
            push(out, c);
        } else if (c == 0x130) { /* the one unconditional multi-character lowercase */
            push(out, 'i');
            push(out, 0x307);
        } else {
            push(out, lower1(c));
        }
    }
}

/* ---- encoding ---------------------------------------------------------------------- */

typedef struct enc {
    const wordpiece *wp;
    int32_t *ids;
    int32_t n, limit;
    GArray *raw, *norm, *tmp, *sub; /* code points; sub: int32 ids of one word */
    GString *utf, *key;
    GArray *off; /* size_t byte offsets of the word's characters */
} enc;

static int full(const enc *e) {
    return e->n >= e->limit;
}
static void emit(enc *e, int32_t id) {
    if (e->n < e->limit) e->ids[e->n++] = id;
}

/* WordPiece on one word w[0..m). */
static void word(enc *e, const gunichar *w, size_t m) {
    const wordpiece *wp = e->wp;
    if ((int64_t)m > wp->max_chars) {
        emit(e, wp->unk_id);
        return;
    }
    g_string_truncate(e->utf, 0);
    g_array_set_size(e->off, (guint)m + 1);
    for (size_t k = 0; k < m; k++) {
        g_array_index(e->off, size_t, k) = e->utf->len;
        g_string_append_unichar(e->utf, w[k]);
    }
    g_array_index(e->off, size_t, m) = e->utf->len;
    const size_t *off = (const size_t *)(void *)e->off->data;
    size_t plen = strlen(wp->prefix);
    g_array_set_size(e->sub, 0);
    size_t start = 0;
    while (start < m) {
        size_t pre = start > 0 ? plen : 0, end = m;
        while (end > start && off[end] - off[start] + pre > wp->max_token_bytes) end--;
        int32_t found = -1;
        for (; end > start; end--) {
            size_t blen = off[end] - off[start];
            if (memchr(e->utf->str + off[start], 0, blen)) continue; /* U+0000: in no token */
            g_string_truncate(e->key, 0);
            if (start > 0) g_string_append(e->key, wp->prefix);
            g_string_append_len(e->key, e->utf->str + off[start], (gssize)blen);
            gpointer v;
            if (g_hash_table_lookup_extended(wp->vocab, e->key->str, NULL, &v)) {
                found = GPOINTER_TO_INT(v) - 1;
                break;
            }
        }
        if (found < 0) {
            emit(e, wp->unk_id);
            return;
        }
        g_array_append_val(e->sub, found);
        start = end;
    }
    for (guint k = 0; k < e->sub->len; k++) emit(e, g_array_index(e->sub, int32_t, k));
}

/* BertPreTokenizer on v[0..m), then WordPiece on each word. */
static void words(enc *e, const gunichar *v, size_t m) {
    int pt = e->wp->pretokenizer;
    size_t i = 0;
    while (i < m && !full(e)) {
        if (pt && is_ws(v[i])) {
            i++;
        } else if (pt && is_punct(v[i])) {
            word(e, v + i, 1);
            i++;
        } else {
            size_t j = i;
            while (j < m && !(pt && (is_ws(v[j]) || is_punct(v[j])))) j++;
            word(e, v + i, j - i);
            i = j;
        }
    }
}

/* The next added token of one class (normalized or not) in u[from..n): leftmost, then
 * longest, as tokenizers' Aho-Corasick (LeftmostLongest) finds it; a single_word match
 * with a word character beside it is skipped (the search goes on after it). lstrip and
 * rstrip widen the match over whitespace (not to the left of `from`). Returns 1 and the
 * span and id, or 0 when there is none. */
static int find_added(const wordpiece *wp, gboolean normalized, const gunichar *u, size_t n,
                      size_t from, size_t *ms, size_t *me, int32_t *id) {
    if (!(normalized ? wp->n_added_norm : wp->n_added_raw)) return 0;
    size_t pos = from;
    while (pos < n) {
        const wp_added *best = NULL;
        size_t s;
        for (s = pos; s < n && !best; s++) {
            for (size_t k = 0; k < wp->n_added; k++) {
                const wp_added *a = &wp->added[k];
                if (a->normalized != normalized || !a->n || a->n > n - s) continue;
                if (memcmp(u + s, a->u, a->n * sizeof(gunichar)) != 0) continue;
                if (!best || a->n > best->n) best = a;
            }
        }
        if (!best) return 0;
        size_t start = s - 1, end = start + best->n;
        if (best->single_word &&
            ((start > 0 && is_word_char(u[start - 1])) || (end < n && is_word_char(u[end])))) {
            pos = end;
            continue;
        }
        if (best->lstrip)
            while (start > from && is_ws(u[start - 1])) start--;
        if (best->rstrip)
            while (end < n && is_ws(u[end])) end++;
        *ms = start;
        *me = end;
        *id = best->id;
        return 1;
    }
    return 0;
}

/* A piece of raw text between non-normalized added tokens. */
static void piece(enc *e, const gunichar *u, size_t n) {
    if (!n || full(e)) return;
    normalize(e->wp, u, n, e->norm, e->tmp);
    const gunichar *v = (const gunichar *)(void *)e->norm->data;
    size_t m = e->norm->len, pos = 0, s, t;
    int32_t id;
    while (pos < m && !full(e)) {
        if (!find_added(e->wp, TRUE, v, m, pos, &s, &t, &id)) {
            words(e, v + pos, m - pos);
            break;
        }
        words(e, v + pos, s - pos);
        emit(e, id);
        pos = t;
    }
}

struct wordpiece_work {
    GArray *raw, *norm, *tmp, *sub, *off;
    GString *utf, *key;
};

wordpiece_work *wordpiece_work_new(void) {
    wordpiece_work *w = g_new0(wordpiece_work, 1);
    w->raw = g_array_new(FALSE, FALSE, sizeof(gunichar));
    w->norm = g_array_new(FALSE, FALSE, sizeof(gunichar));
    w->tmp = g_array_new(FALSE, FALSE, sizeof(gunichar));
    w->sub = g_array_new(FALSE, FALSE, sizeof(int32_t));
    w->off = g_array_new(FALSE, FALSE, sizeof(size_t));
    w->utf = g_string_new(NULL);
    w->key = g_string_new(NULL);
    return w;
}

void wordpiece_work_free(wordpiece_work *w) {
    if (!w) return;
    g_array_free(w->raw, TRUE);
    g_array_free(w->norm, TRUE);
    g_array_free(w->tmp, TRUE);
    g_array_free(w->sub, TRUE);
    g_array_free(w->off, TRUE);
    g_string_free(w->utf, TRUE);
    g_string_free(w->key, TRUE);
    g_free(w);
}

int wordpiece_encode(const wordpiece *wp, wordpiece_work *work, const char *text, size_t len,
                     int32_t max_length, int32_t *ids, int32_t *n, char *err, size_t cap) {
    *n = 0;
    int32_t room = max_length - wp->n_head - wp->n_tail;
    if (room < 0)
        return dbj_fail(err, cap, BALDRO_EINVAL,
                        "wordpiece: max_length %d is below the %d special tokens of the "
                        "template",
                        max_length, wp->n_head + wp->n_tail);
    wordpiece_work *own = work ? NULL : wordpiece_work_new();
    wordpiece_work *w = work ? work : own;
    for (int32_t i = 0; i < wp->n_head; i++) ids[i] = wp->head[i];
    enc e = {.wp = wp,
             .ids = ids + wp->n_head,
             .limit = room,
             .raw = w->raw,
             .norm = w->norm,
             .tmp = w->tmp,
             .sub = w->sub,
             .off = w->off,
             .utf = w->utf,
             .key = w->key};
    decode_utf8(text, len, e.raw);
    const gunichar *u = (const gunichar *)(void *)e.raw->data;
    size_t m = e.raw->len, pos = 0, s, t;
    int32_t id;
    while (pos < m && !full(&e)) {
        if (!find_added(wp, FALSE, u, m, pos, &s, &t, &id)) {
            piece(&e, u + pos, m - pos);
            break;
        }
        piece(&e, u + pos, s - pos);
        emit(&e, id);
        pos = t;
    }
    int32_t k = wp->n_head + e.n;
    for (int32_t i = 0; i < wp->n_tail; i++) ids[k++] = wp->tail[i];
    *n = k;
    wordpiece_work_free(own);
    return BALDRO_OK;
}

char **wordpiece_words(const wordpiece *wp, const char *text, size_t len) {
    GArray *raw = g_array_new(FALSE, FALSE, sizeof(gunichar));
    GArray *norm = g_array_new(FALSE, FALSE, sizeof(gunichar));
    GArray *tmp = g_array_new(FALSE, FALSE, sizeof(gunichar));
    GPtrArray *out = g_ptr_array_new();
    decode_utf8(text, len, raw);
    normalize(wp, (const gunichar *)(void *)raw->data, raw->len, norm, tmp);
    const gunichar *v = (const gunichar *)(void *)norm->data;
    size_t m = norm->len, i = 0;
    int pt = wp->pretokenizer;
    while (i < m) {
        size_t j = i + 1;
        if (pt && is_ws(v[i])) {
            i++;
            continue;
        }
        if (!(pt && is_punct(v[i])))
            while (j < m && !(pt && (is_ws(v[j]) || is_punct(v[j])))) j++;
        g_ptr_array_add(out, g_ucs4_to_utf8(v + i, (glong)(j - i), NULL, NULL, NULL));
        i = j;
    }
    g_ptr_array_add(out, NULL);
    g_array_free(raw, TRUE);
    g_array_free(norm, TRUE);
    g_array_free(tmp, TRUE);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* ---- construction ------------------------------------------------------------------ */

static wordpiece *wp_new(void) {
    wordpiece *wp = g_new0(wordpiece, 1);
    wp->vocab = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    wp->prefix = g_strdup("##");
    wp->max_chars = WP_DEFAULT_MAX_CHARS;
    wp->unk_id = -1;
    return wp;
}

void wordpiece_free(wordpiece *wp) {
    if (!wp) return;
    g_hash_table_destroy(wp->vocab);
    for (size_t i = 0; i < wp->n_added; i++) {
        g_free(wp->added[i].content);
        g_free(wp->added[i].u);
    }
    g_free(wp->added);
    g_free(wp->head);
    g_free(wp->tail);
    g_free(wp->unk);
    g_free(wp->prefix);
    g_free(wp);
}

int32_t wordpiece_max_id(const wordpiece *wp) {
    return wp->max_id;
}
int32_t wordpiece_n_special(const wordpiece *wp) {
    return wp->n_head + wp->n_tail;
}

int32_t wordpiece_token_id(const wordpiece *wp, const char *token) {
    gpointer v;
    return g_hash_table_lookup_extended(wp->vocab, token, NULL, &v) ? GPOINTER_TO_INT(v) - 1 : -1;
}

static void vocab_put(wordpiece *wp, const char *tok, size_t len, int32_t id) {
    g_hash_table_replace(wp->vocab, g_strndup(tok, len), GINT_TO_POINTER(id + 1));
}

static void add_token(wordpiece *wp, const char *content, int32_t id, gboolean single_word,
                      gboolean lstrip, gboolean rstrip, gboolean normalized) {
    wp->added = g_renew(wp_added, wp->added, wp->n_added + 1);
    wp->added[wp->n_added++] = (wp_added){.content = g_strdup(content),
                                          .id = id,
                                          .single_word = single_word,
                                          .lstrip = lstrip,
                                          .rstrip = rstrip,
                                          .normalized = normalized};
}

/* Once the normalizer is final: what each added token matches, the counts, max_id and
 * the longest vocabulary entry. unk must be in the vocabulary (checked by the callers). */
static void finish(wordpiece *wp) {
    GArray *raw = g_array_new(FALSE, FALSE, sizeof(gunichar));
    GArray *norm = g_array_new(FALSE, FALSE, sizeof(gunichar));
    GArray *tmp = g_array_new(FALSE, FALSE, sizeof(gunichar));
    wp->n_added_raw = wp->n_added_norm = 0;
    int32_t mx = 0;
    for (size_t i = 0; i < wp->n_added; i++) {
        wp_added *a = &wp->added[i];
        decode_utf8(a->content, strlen(a->content), raw);
        GArray *src = raw;
        if (a->normalized) {
            normalize(wp, (const gunichar *)(void *)raw->data, raw->len, norm, tmp);
            src = norm;
        }
        g_free(a->u);
        a->n = src->len;
        a->u = g_new(gunichar, src->len + 1);
        if (src->len) memcpy(a->u, src->data, src->len * sizeof(gunichar));
        if (a->n) {
            if (a->normalized)
                wp->n_added_norm++;
            else
                wp->n_added_raw++;
        }
        if (a->id > mx) mx = a->id;
    }
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, wp->vocab);
    wp->max_token_bytes = 0;
    while (g_hash_table_iter_next(&it, &k, &v)) {
        size_t l = strlen(k);
        if (l > wp->max_token_bytes) wp->max_token_bytes = l;
        if (GPOINTER_TO_INT(v) - 1 > mx) mx = GPOINTER_TO_INT(v) - 1;
    }
    for (int32_t i = 0; i < wp->n_head; i++) mx = MAX(mx, wp->head[i]);
    for (int32_t i = 0; i < wp->n_tail; i++) mx = MAX(mx, wp->tail[i]);
    wp->max_id = mx;
    g_array_free(raw, TRUE);
    g_array_free(norm, TRUE);
    g_array_free(tmp, TRUE);
}

/* ---- tokenizer.json ---------------------------------------------------------------- */

static int parse_normalizer(dbj *c, wordpiece *wp, JsonNode *node) {
    wp->normalizer = FALSE;
    if (dbj_is_null(node)) return BALDRO_OK;
    JsonObject *o;
    const char *type;
    int rc = dbj_object(c, node, "normalizer", &o);
    if (!rc) rc = dbj_string(c, dbj_mem(o, "type"), "normalizer.type", &type);
    if (rc) return rc;
    if (strcmp(type, "BertNormalizer") != 0) {
        char *t = dbj_shown(type);
        rc = dbj_fail(c->err, c->cap, BALDRO_EUNSUPPORTED,
                      "%s: normalizer.type: '%s' is not supported (only BertNormalizer or null)",
                      c->file, t);
        g_free(t);
        return rc;
    }
    wp->normalizer = TRUE;
    rc = dbj_opt_bool(c, o, "clean_text", "normalizer.clean_text", TRUE, &wp->clean_text);
    if (!rc)
        rc = dbj_opt_bool(c, o, "handle_chinese_chars", "normalizer.handle_chinese_chars", TRUE,
                          &wp->chinese);
    if (!rc) rc = dbj_opt_bool(c, o, "lowercase", "normalizer.lowercase", TRUE, &wp->lowercase);
    if (rc) return rc;
    JsonNode *sa = dbj_mem(o, "strip_accents");
    if (dbj_is_null(sa))
        wp->strip_accents = wp->lowercase;
    else
        rc = dbj_bool(c, sa, "normalizer.strip_accents", &wp->strip_accents);
    return rc;
}

static int parse_model(dbj *c, wordpiece *wp, JsonNode *node) {
    JsonObject *o;
    int rc = dbj_object(c, node, "model", &o);
    if (rc) return rc;
    JsonNode *tn = dbj_mem(o, "type");
    if (tn) {
        const char *type;
        if ((rc = dbj_string(c, tn, "model.type", &type))) return rc;
        if (strcmp(type, "WordPiece") != 0) {
            char *t = dbj_shown(type);
            rc = dbj_fail(c->err, c->cap, BALDRO_EUNSUPPORTED,
                          "%s: model.type: '%s' is not supported (only WordPiece)", c->file, t);
            g_free(t);
            return rc;
        }
    }
    JsonObject *vocab;
    if ((rc = dbj_object(c, dbj_mem(o, "vocab"), "model.vocab", &vocab))) return rc;
    GList *names = json_object_get_members(vocab);
    for (GList *l = names; l && !rc; l = l->next) {
        const char *tok = l->data;
        char path[96];
        char *t = dbj_shown(tok);
        snprintf(path, sizeof path, "model.vocab[\"%s\"]", t);
        g_free(t);
        int64_t id = 0;
        rc = dbj_int(c, json_object_get_member(vocab, tok), path, 0, WP_MAX_ID, &id);
        if (!rc) vocab_put(wp, tok, strlen(tok), (int32_t)id);
    }
    g_list_free(names);
    if (rc) return rc;
    const char *unk, *prefix = "##";
    if ((rc = dbj_string(c, dbj_mem(o, "unk_token"), "model.unk_token", &unk))) return rc;
    JsonNode *pn = dbj_mem(o, "continuing_subword_prefix");
    if (pn && (rc = dbj_string(c, pn, "model.continuing_subword_prefix", &prefix))) return rc;
    JsonNode *mn = dbj_mem(o, "max_input_chars_per_word");
    if (mn && (rc = dbj_int(c, mn, "model.max_input_chars_per_word", 0, INT64_MAX, &wp->max_chars)))
        return rc;
    g_free(wp->prefix);
    wp->prefix = g_strdup(prefix);
    wp->unk = g_strdup(unk);
    wp->unk_id = wordpiece_token_id(wp, unk);
    if (wp->unk_id < 0) {
        char *t = dbj_shown(unk);
        rc = dbj_fail(c->err, c->cap, BALDRO_EINVAL,
                      "%s: model.unk_token: '%s' is not in model.vocab", c->file, t);
        g_free(t);
    }
    return rc;
}

static int parse_added(dbj *c, wordpiece *wp, JsonNode *node) {
    if (dbj_is_null(node)) return BALDRO_OK;
    JsonArray *a;
    int rc = dbj_array(c, node, "added_tokens", &a);
    guint n = rc ? 0 : json_array_get_length(a);
    for (guint i = 0; i < n && !rc; i++) {
        char path[64], f[96];
        snprintf(path, sizeof path, "added_tokens[%u]", i);
        JsonObject *o;
        const char *content;
        int64_t id = 0;
        gboolean sw, ls, rs, norm, special;
        if ((rc = dbj_object(c, json_array_get_element(a, i), path, &o))) break;
#define F(name) (snprintf(f, sizeof f, "%s.%s", path, name), f)
        if ((rc = dbj_int(c, dbj_mem(o, "id"), F("id"), 0, WP_MAX_ID, &id))) break;
        if ((rc = dbj_string(c, dbj_mem(o, "content"), F("content"), &content))) break;
        if ((rc = dbj_opt_bool(c, o, "special", F("special"), FALSE, &special))) break;
        if ((rc = dbj_opt_bool(c, o, "single_word", F("single_word"), FALSE, &sw))) break;
        if ((rc = dbj_opt_bool(c, o, "lstrip", F("lstrip"), FALSE, &ls))) break;
        if ((rc = dbj_opt_bool(c, o, "rstrip", F("rstrip"), FALSE, &rs))) break;
        if ((rc = dbj_opt_bool(c, o, "normalized", F("normalized"), !special, &norm))) break;
#undef F
        add_token(wp, content, (int32_t)id, sw, ls, rs, norm);
    }
    return rc;
}

/* The ids of one special token of a TemplateProcessing. */
static int template_special(dbj *c, JsonObject *specials, const char *name, GArray *out) {
    JsonNode *sn = dbj_mem(specials, name);
    char *t = dbj_shown(name);
    char path[128];
    snprintf(path, sizeof path, "post_processor.special_tokens[\"%s\"]", t);
    g_free(t);
    if (!sn)
        return dbj_fail(c->err, c->cap, BALDRO_EINVAL, "%s: %s: missing (the template names it)",
                        c->file, path);
    JsonObject *so;
    JsonArray *ids = NULL;
    int rc = dbj_object(c, sn, path, &so);
    if (!rc) {
        strncat(path, ".ids", sizeof path - strlen(path) - 1);
        rc = dbj_array(c, dbj_mem(so, "ids"), path, &ids);
    }
    for (guint i = 0; !rc && i < json_array_get_length(ids); i++) {
        int64_t id = 0;
        rc = dbj_int(c, json_array_get_element(ids, i), path, 0, WP_MAX_ID, &id);
        int32_t v = (int32_t)id;
        if (!rc) g_array_append_val(out, v);
    }
    return rc;
}

static int parse_post(dbj *c, wordpiece *wp, JsonNode *node) {
    if (dbj_is_null(node)) return BALDRO_OK;
    JsonObject *o;
    const char *type;
    int rc = dbj_object(c, node, "post_processor", &o);
    if (!rc) rc = dbj_string(c, dbj_mem(o, "type"), "post_processor.type", &type);
    if (rc) return rc;
    GArray *head = g_array_new(FALSE, FALSE, sizeof(int32_t));
    GArray *tail = g_array_new(FALSE, FALSE, sizeof(int32_t));
    if (!strcmp(type, "BertProcessing")) {
        const char *names[2] = {"cls", "sep"};
        for (int k = 0; k < 2 && !rc; k++) {
            char path[64];
            snprintf(path, sizeof path, "post_processor.%s", names[k]);
            JsonArray *pair;
            const char *tok;
            int64_t id = 0;
            rc = dbj_array(c, dbj_mem(o, names[k]), path, &pair);
            if (!rc && json_array_get_length(pair) != 2)
                rc = dbj_fail(c->err, c->cap, BALDRO_EINVAL, "%s: %s: expected [token, id]",
                              c->file, path);
            if (!rc) rc = dbj_string(c, json_array_get_element(pair, 0), path, &tok);
            if (!rc) rc = dbj_int(c, json_array_get_element(pair, 1), path, 0, WP_MAX_ID, &id);
            int32_t v = (int32_t)id;
            if (!rc) g_array_append_val(k ? tail : head, v);
        }
    } else if (!strcmp(type, "TemplateProcessing")) {
        JsonArray *single = NULL;
        JsonObject *specials = NULL;
        rc = dbj_array(c, dbj_mem(o, "single"), "post_processor.single", &single);
        if (!rc)
            rc = dbj_object(c, dbj_mem(o, "special_tokens"), "post_processor.special_tokens",
                            &specials);
        int seen = 0;
        for (guint i = 0; !rc && i < json_array_get_length(single); i++) {
            char path[64];
            snprintf(path, sizeof path, "post_processor.single[%u]", i);
            JsonObject *part, *inner;
            const char *id;
            rc = dbj_object(c, json_array_get_element(single, i), path, &part);
            if (rc) break;
            int is_seq = json_object_has_member(part, "Sequence");
            if (json_object_get_size(part) != 1 ||
                !(is_seq || json_object_has_member(part, "SpecialToken"))) {
                rc = dbj_fail(c->err, c->cap, BALDRO_EINVAL,
                              "%s: %s: expected {\"SpecialToken\": ...} or {\"Sequence\": ...}",
                              c->file, path);
                break;
            }
            rc = dbj_object(c, dbj_mem(part, is_seq ? "Sequence" : "SpecialToken"), path, &inner);
            if (!rc) rc = dbj_string(c, dbj_mem(inner, "id"), path, &id);
            if (rc) break;
            if (is_seq) {
                if (strcmp(id, "A") != 0 || seen++)
                    rc = dbj_fail(c->err, c->cap, BALDRO_EINVAL,
                                  "%s: %s: the single template must hold sequence A exactly once",
                                  c->file, path);
            } else {
                rc = template_special(c, specials, id, seen ? tail : head);
            }
        }
        if (!rc && !seen)
            rc = dbj_fail(c->err, c->cap, BALDRO_EINVAL,
                          "%s: post_processor.single: no {\"Sequence\": {\"id\": \"A\"}}", c->file);
    } else {
        char *t = dbj_shown(type);
        rc = dbj_fail(c->err, c->cap, BALDRO_EUNSUPPORTED,
                      "%s: post_processor.type: '%s' is not supported (TemplateProcessing, "
                      "BertProcessing or null)",
                      c->file, t);
        g_free(t);
    }
    if (!rc && head->len + tail->len > 64)
        rc = dbj_fail(c->err, c->cap, BALDRO_EINVAL,
                      "%s: post_processor: more than 64 special "
                      "tokens in the template",
                      c->file);
    if (!rc) {
        wp->n_head = (int32_t)head->len;
        wp->n_tail = (int32_t)tail->len;
        wp->head = g_new(int32_t, head->len + 1);
        wp->tail = g_new(int32_t, tail->len + 1);
        if (head->len) memcpy(wp->head, head->data, head->len * sizeof(int32_t));
        if (tail->len) memcpy(wp->tail, tail->data, tail->len * sizeof(int32_t));
    }
    g_array_free(head, TRUE);
    g_array_free(tail, TRUE);
    return rc;
}

static int from_json(dbj *c, wordpiece *wp, JsonObject *root) {
    int rc = parse_model(c, wp, dbj_mem(root, "model"));
    if (!rc) rc = parse_normalizer(c, wp, dbj_mem(root, "normalizer"));
    JsonNode *pt = dbj_mem(root, "pre_tokenizer");
    if (!rc && !dbj_is_null(pt)) {
        JsonObject *o;
        const char *type;
        rc = dbj_object(c, pt, "pre_tokenizer", &o);
        if (!rc) rc = dbj_string(c, dbj_mem(o, "type"), "pre_tokenizer.type", &type);
        if (!rc && strcmp(type, "BertPreTokenizer") != 0) {
            char *t = dbj_shown(type);
            rc = dbj_fail(c->err, c->cap, BALDRO_EUNSUPPORTED,
                          "%s: pre_tokenizer.type: '%s' is not supported (only BertPreTokenizer or "
                          "null)",
                          c->file, t);
            g_free(t);
        }
        wp->pretokenizer = TRUE;
    }
    if (!rc) rc = parse_added(c, wp, dbj_mem(root, "added_tokens"));
    if (!rc) rc = parse_post(c, wp, dbj_mem(root, "post_processor"));
    return rc;
}

int wordpiece_load_json(const char *text, size_t len, const char *file, wordpiece **out, char *err,
                        size_t cap) {
    *out = NULL;
    JsonParser *p;
    int rc = dbj_parse(text, len, file, &p, err, cap);
    if (rc) return rc;
    wordpiece *wp = wp_new();
    dbj c = {file, err, cap};
    rc = from_json(&c, wp, json_node_get_object(json_parser_get_root(p)));
    g_object_unref(p);
    if (rc) {
        wordpiece_free(wp);
        return rc;
    }
    finish(wp);
    *out = wp;
    return BALDRO_OK;
}

/* ---- vocab.txt and tokenizer_config.json ------------------------------------------- */

enum { TK_UNK, TK_SEP, TK_PAD, TK_CLS, TK_MASK, TK_N };
static const char *const k_tok_keys[TK_N] = {"unk_token", "sep_token", "pad_token", "cls_token",
                                             "mask_token"};
static const char *const k_tok_defaults[TK_N] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

typedef struct tok_config {
    gboolean lower, chinese;
    int strip; /* -1: null (follows lower) */
    char *tokens[TK_N];
} tok_config;

static void tok_config_init(tok_config *t) {
    *t = (tok_config){.lower = TRUE, .chinese = TRUE, .strip = -1};
    for (int i = 0; i < TK_N; i++) t->tokens[i] = g_strdup(k_tok_defaults[i]);
}
static void tok_config_clear(tok_config *t) {
    for (int i = 0; i < TK_N; i++) g_free(t->tokens[i]);
}

/* tokenizer_config.json (flags and tokens) or special_tokens_map.json (tokens only). */
static int parse_tok_config(const char *text, size_t len, const char *file, int flags,
                            tok_config *t, char *err, size_t cap) {
    JsonParser *p;
    int rc = dbj_parse(text, len, file, &p, err, cap);
    if (rc) return rc;
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    dbj c = {file, err, cap};
    if (flags) {
        rc = dbj_opt_bool(&c, o, "do_lower_case", "do_lower_case", TRUE, &t->lower);
        if (!rc)
            rc = dbj_opt_bool(&c, o, "tokenize_chinese_chars", "tokenize_chinese_chars", TRUE,
                              &t->chinese);
        JsonNode *sa = dbj_mem(o, "strip_accents");
        gboolean b;
        if (!rc && !dbj_is_null(sa) && !(rc = dbj_bool(&c, sa, "strip_accents", &b))) t->strip = b;
    }
    for (int i = 0; i < TK_N && !rc; i++) {
        JsonNode *n = dbj_mem(o, k_tok_keys[i]);
        const char *s;
        if (dbj_is_null(n)) continue;
        if (JSON_NODE_HOLDS_OBJECT(n)) { /* an AddedToken: {"content": ..., ...} */
            char path[64];
            snprintf(path, sizeof path, "%s.content", k_tok_keys[i]);
            rc = dbj_string(&c, dbj_mem(json_node_get_object(n), "content"), path, &s);
        } else {
            rc = dbj_string(&c, n, k_tok_keys[i], &s);
        }
        if (!rc) {
            g_free(t->tokens[i]);
            t->tokens[i] = g_strdup(s);
        }
    }
    g_object_unref(p);
    return rc;
}

static void set_normalizer(wordpiece *wp, const tok_config *t) {
    wp->normalizer = wp->clean_text = TRUE;
    wp->chinese = t->chinese;
    wp->lowercase = t->lower;
    wp->strip_accents = t->strip < 0 ? t->lower : t->strip;
}

int wordpiece_load_vocab(const char *vocab, size_t vocab_len, const char *vocab_file,
                         const char *config, size_t config_len, const char *config_file,
                         const char *stmap, size_t stmap_len, const char *stmap_file,
                         wordpiece **out, char *err, size_t cap) {
    *out = NULL;
    if (!g_utf8_validate(vocab, (gssize)vocab_len, NULL))
        return dbj_fail(err, cap, BALDRO_EINVAL, "%s: not UTF-8 text (or a NUL byte)", vocab_file);
    tok_config t;
    tok_config_init(&t);
    int rc = BALDRO_OK;
    if (config) rc = parse_tok_config(config, config_len, config_file, 1, &t, err, cap);
    if (!rc && stmap) rc = parse_tok_config(stmap, stmap_len, stmap_file, 0, &t, err, cap);
    if (rc) {
        tok_config_clear(&t);
        return rc;
    }
    wordpiece *wp = wp_new();
    /* One token per line; \n, \r\n and \r end a line (Python's universal newlines). */
    int64_t id = 0;
    size_t start = 0;
    for (size_t i = 0; i <= vocab_len && !rc; i++) {
        if (i < vocab_len && vocab[i] != '\n' && vocab[i] != '\r') continue;
        if (i == vocab_len && start == vocab_len) break; /* no unterminated last line */
        if (id > WP_MAX_ID) {
            rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: too many lines", vocab_file);
            break;
        }
        vocab_put(wp, vocab + start, i - start, (int32_t)id++);
        if (i + 1 < vocab_len && vocab[i] == '\r' && vocab[i + 1] == '\n') i++;
        start = i + 1;
    }
    int32_t next = (int32_t)id;
    if (!rc && id == 0) rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: no tokens", vocab_file);
    for (int k = 0; k < TK_N && !rc; k++) {
        int32_t tid = wordpiece_token_id(wp, t.tokens[k]);
        if (tid < 0 && (k == TK_UNK || k == TK_CLS || k == TK_SEP)) {
            char *s = dbj_shown(t.tokens[k]);
            rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: %s '%s' is not in %s",
                          config ? config_file : vocab_file, k_tok_keys[k], s, vocab_file);
            g_free(s);
            break;
        }
        if (tid < 0) tid = next++; /* transformers appends a missing special token */
        if (*t.tokens[k]) add_token(wp, t.tokens[k], tid, FALSE, FALSE, FALSE, FALSE);
    }
    if (!rc) {
        wp->unk = g_strdup(t.tokens[TK_UNK]);
        wp->unk_id = wordpiece_token_id(wp, wp->unk);
        wp->pretokenizer = TRUE;
        set_normalizer(wp, &t);
        wp->n_head = wp->n_tail = 1;
        wp->head = g_new(int32_t, 1);
        wp->tail = g_new(int32_t, 1);
        wp->head[0] = wordpiece_token_id(wp, t.tokens[TK_CLS]);
        wp->tail[0] = wordpiece_token_id(wp, t.tokens[TK_SEP]);
        finish(wp);
        *out = wp;
    } else {
        wordpiece_free(wp);
    }
    tok_config_clear(&t);
    return rc;
}

/* ---- a checkpoint directory -------------------------------------------------------- */

/* Reads dir/name when it exists: BALDRO_OK with *text NULL when absent. */
static int read_opt(const char *dir, const char *name, char **path, char **text, gsize *len,
                    char *err, size_t cap) {
    *path = g_build_filename(dir, name, NULL);
    *text = NULL;
    *len = 0;
    if (!g_file_test(*path, G_FILE_TEST_EXISTS)) return BALDRO_OK;
    GError *ge = NULL;
    if (!g_file_get_contents(*path, text, len, &ge)) {
        int rc = dbj_fail(err, cap, BALDRO_EIO, "%s: cannot read: %s", *path, ge->message);
        g_error_free(ge);
        return rc;
    }
    return BALDRO_OK;
}

int wordpiece_load_dir(const char *dir, wordpiece **out, char *err, size_t cap) {
    *out = NULL;
    enum { TJ, TC, SM, VT, NF };
    static const char *const names[NF] = {"tokenizer.json", "tokenizer_config.json",
                                          "special_tokens_map.json", "vocab.txt"};
    char *path[NF] = {0}, *text[NF] = {0};
    gsize len[NF] = {0};
    int rc = BALDRO_OK;
    for (int i = 0; i < NF && !rc; i++)
        rc = read_opt(dir, names[i], &path[i], &text[i], &len[i], err, cap);
    if (rc) {
        /* reported */
    } else if (text[TJ]) {
        tok_config t;
        tok_config_init(&t);
        if (text[TC]) rc = parse_tok_config(text[TC], len[TC], path[TC], 1, &t, err, cap);
        if (!rc) rc = wordpiece_load_json(text[TJ], len[TJ], path[TJ], out, err, cap);
        if (!rc) {
            set_normalizer(*out, &t);
            finish(*out);
        }
        tok_config_clear(&t);
    } else if (text[VT]) {
        rc = wordpiece_load_vocab(text[VT], len[VT], path[VT], text[TC], len[TC], path[TC],
                                  text[SM], len[SM], path[SM], out, err, cap);
    } else {
        rc = dbj_fail(err, cap, BALDRO_ENOTFOUND,
                      "%s: missing: the checkpoint has neither tokenizer.json nor vocab.txt",
                      path[TJ]);
    }
    for (int i = 0; i < NF; i++) {
        g_free(path[i]);
        g_free(text[i]);
    }
    return rc;
}

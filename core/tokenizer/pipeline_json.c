/*
 * core/tokenizer/pipeline_json.c: the normalizer, pre_tokenizer, decoder and
 * post_processor sections of tokenizer.json. Each accepts what the BPE tokenizers in use
 * need and refuses any other type by name, so an unsupported tokenizer fails at load
 * rather than encoding differently from Hugging Face.
 */
#include <string.h>

#include "tokenizer/tokenizer_json.h"

static int type_of(tj_ctx *c, JsonObject *o, const char *path, const char **type) {
    char *p = g_strdup_printf("%s.type", path);
    int rc = tj_str(c, o, path, "type", NULL, type);
    if (rc == BALDRO_OK && !*type) rc = tj_fail(c, BALDRO_EINVAL, p, "missing");
    g_free(p);
    return rc;
}

static int unsupported(tj_ctx *c, const char *path, const char *type, const char *known) {
    return baldro_error_set(c->err, BALDRO_EUNSUPPORTED, "%s: %s.type '%s' is not supported (%s)",
                            c->name, path, type, known);
}

/* Each element of a Sequence, at "<path>.<key>[i]". */
typedef int (*tj_item_fn)(tj_ctx *c, baldro_tokenizer *t, JsonObject *o, const char *path,
                          GArray *out);

static int each(tj_ctx *c, baldro_tokenizer *t, JsonObject *o, const char *path,
                const char *key, tj_item_fn fn, GArray *out) {
    JsonArray *a = NULL;
    int rc = tj_arr(c, o, path, key, &a);
    if (rc != BALDRO_OK) return rc;
    guint n = a ? json_array_get_length(a) : 0;
    for (guint i = 0; i < n && rc == BALDRO_OK; i++) {
        char *p = g_strdup_printf("%s.%s[%u]", path, key, i);
        JsonNode *e = json_array_get_element(a, i);
        if (!JSON_NODE_HOLDS_OBJECT(e)) rc = tj_fail(c, BALDRO_EINVAL, p, "expected an object");
        else rc = fn(c, t, json_node_get_object(e), p, out);
        g_free(p);
    }
    return rc;
}

/* ---- normalizer ---- */

static int norm_item(tj_ctx *c, baldro_tokenizer *t, JsonObject *o, const char *path,
                     GArray *out) {
    const char *type;
    int rc = type_of(c, o, path, &type);
    if (rc != BALDRO_OK) return rc;
    if (strcmp(type, "Sequence") == 0) return each(c, t, o, path, "normalizers", norm_item, out);
    tok_norm n = { 0 };
    if (strcmp(type, "Prepend") == 0) {
        const char *s;
        if ((rc = tj_str(c, o, path, "prepend", "", &s)) != BALDRO_OK) return rc;
        n.kind = TOK_NORM_PREPEND;
        n.a = g_strdup(s);
    } else if (strcmp(type, "Replace") == 0) {
        JsonObject *pat = NULL;
        const char *s = NULL, *with = "";
        char *pp = g_strdup_printf("%s.pattern", path);
        rc = tj_obj(c, o, path, "pattern", &pat);
        if (rc == BALDRO_OK) rc = tj_str(c, pat, pp, "String", NULL, &s);
        if (rc == BALDRO_OK && !s)
            rc = baldro_error_set(c->err, BALDRO_EUNSUPPORTED,
                                  "%s: %s: only {\"String\": ...} patterns are supported",
                                  c->name, pp);
        if (rc == BALDRO_OK) rc = tj_str(c, o, path, "content", "", &with);
        g_free(pp);
        if (rc != BALDRO_OK) return rc;
        n.kind = TOK_NORM_REPLACE;
        n.a = g_strdup(s);
        n.b = g_strdup(with);
    } else {
        return unsupported(c, path, type, "Prepend, Replace, Sequence");
    }
    g_array_append_val(out, n);
    return BALDRO_OK;
}

int tj_normalizer(tj_ctx *c, baldro_tokenizer *t, JsonObject *root) {
    JsonObject *o = NULL;
    int rc = tj_obj(c, root, "", "normalizer", &o);
    if (rc != BALDRO_OK || !o) return rc;
    GArray *out = g_array_new(FALSE, TRUE, sizeof(tok_norm));
    rc = norm_item(c, t, o, "normalizer", out);
    t->n_norms = out->len;
    t->norms = (tok_norm *)(void *)g_array_free(out, FALSE);
    return rc;
}

/* ---- pre_tokenizer ---- */

/* GPT-2's pattern, what ByteLevel's use_regex applies. */
static const char GPT2_RE[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int prepend_scheme(tj_ctx *c, JsonObject *o, const char *path, tok_prepend *out) {
    const char *s;
    int rc = tj_str(c, o, path, "prepend_scheme", NULL, &s);
    if (rc != BALDRO_OK) return rc;
    if (!s) {
        /* older files: add_prefix_space (default true) */
        int aps;
        if ((rc = tj_bool(c, o, path, "add_prefix_space", 1, &aps)) != BALDRO_OK) return rc;
        *out = aps ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
        return BALDRO_OK;
    }
    if (strcmp(s, "always") == 0) *out = TOK_PREPEND_ALWAYS;
    else if (strcmp(s, "first") == 0) *out = TOK_PREPEND_FIRST;
    else if (strcmp(s, "never") == 0) *out = TOK_PREPEND_NEVER;
    else {
        char *p = g_strdup_printf("%s.prepend_scheme", path);
        rc = tj_fail(c, BALDRO_EINVAL, p, "'%s' is not always, first or never", s);
        g_free(p);
    }
    return rc;
}

static int replacement(tj_ctx *c, JsonObject *o, const char *path, char out[8]) {
    const char *s;
    int rc = tj_str(c, o, path, "replacement", "\xe2\x96\x81", &s);
    if (rc != BALDRO_OK) return rc;
    if (g_utf8_strlen(s, -1) != 1) {
        char *p = g_strdup_printf("%s.replacement", path);
        rc = tj_fail(c, BALDRO_EINVAL, p, "expected one character");
        g_free(p);
        return rc;
    }
    g_strlcpy(out, s, 8);
    return BALDRO_OK;
}

static int pre_item(tj_ctx *c, baldro_tokenizer *t, JsonObject *o, const char *path,
                    GArray *out) {
    const char *type;
    int rc = type_of(c, o, path, &type);
    if (rc != BALDRO_OK) return rc;
    if (strcmp(type, "Sequence") == 0) return each(c, t, o, path, "pretokenizers", pre_item, out);
    tok_pre p = { 0 };
    if (strcmp(type, "Split") == 0) {
        const char *bh;
        int invert;
        if ((rc = tj_str(c, o, path, "behavior", "Isolated", &bh)) != BALDRO_OK ||
            (rc = tj_bool(c, o, path, "invert", 0, &invert)) != BALDRO_OK)
            return rc;
        if (strcmp(bh, "Isolated") == 0) p.behavior = TOK_SPLIT_ISOLATED;
        else if (strcmp(bh, "Removed") == 0) p.behavior = TOK_SPLIT_REMOVED;
        else if (strcmp(bh, "MergedWithPrevious") == 0) p.behavior = TOK_SPLIT_MERGED_PREV;
        else if (strcmp(bh, "MergedWithNext") == 0) p.behavior = TOK_SPLIT_MERGED_NEXT;
        else
            return baldro_error_set(c->err, BALDRO_EUNSUPPORTED,
                                    "%s: %s.behavior '%s' is not supported (Isolated, Removed, "
                                    "MergedWithPrevious, MergedWithNext)", c->name, path, bh);
        if (invert)
            return baldro_error_set(c->err, BALDRO_EUNSUPPORTED,
                                    "%s: %s.invert: true is not supported", c->name, path);
        if ((rc = tj_pattern(c, o, path, &p.re)) != BALDRO_OK) return rc;
        p.kind = TOK_PRE_SPLIT;
    } else if (strcmp(type, "ByteLevel") == 0) {
        int use_regex;
        if ((rc = tj_bool(c, o, path, "add_prefix_space", 1, &p.add_prefix_space)) != BALDRO_OK ||
            (rc = tj_bool(c, o, path, "use_regex", 1, &use_regex)) != BALDRO_OK)
            return rc;
        if (use_regex) p.re = g_regex_new(GPT2_RE, G_REGEX_OPTIMIZE, 0, NULL);
        p.kind = TOK_PRE_BYTELEVEL;
        t->byte_level = 1;
    } else if (strcmp(type, "Metaspace") == 0) {
        if ((rc = replacement(c, o, path, p.replacement)) != BALDRO_OK ||
            (rc = prepend_scheme(c, o, path, &p.prepend)) != BALDRO_OK ||
            (rc = tj_bool(c, o, path, "split", 1, &p.split)) != BALDRO_OK)
            return rc;
        p.kind = TOK_PRE_METASPACE;
    } else {
        return unsupported(c, path, type, "Split, ByteLevel, Metaspace, Sequence");
    }
    g_array_append_val(out, p);
    return BALDRO_OK;
}

int tj_pre_tokenizer(tj_ctx *c, baldro_tokenizer *t, JsonObject *root) {
    JsonObject *o = NULL;
    int rc = tj_obj(c, root, "", "pre_tokenizer", &o);
    if (rc != BALDRO_OK || !o) return rc;
    GArray *out = g_array_new(FALSE, TRUE, sizeof(tok_pre));
    rc = pre_item(c, t, o, "pre_tokenizer", out);
    t->n_pres = out->len;
    t->pres = (tok_pre *)(void *)g_array_free(out, FALSE);
    return rc;
}

/* ---- decoder ---- */

static int dec_item(tj_ctx *c, baldro_tokenizer *t, JsonObject *o, const char *path,
                    GArray *out) {
    const char *type;
    int rc = type_of(c, o, path, &type);
    if (rc != BALDRO_OK) return rc;
    if (strcmp(type, "Sequence") == 0) return each(c, t, o, path, "decoders", dec_item, out);
    tok_dec d = { 0 };
    if (strcmp(type, "ByteLevel") == 0) {
        d.kind = TOK_DEC_BYTELEVEL;
    } else if (strcmp(type, "ByteFallback") == 0) {
        d.kind = TOK_DEC_BYTEFALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        d.kind = TOK_DEC_FUSE;
    } else if (strcmp(type, "Replace") == 0) {
        JsonObject *pat = NULL;
        const char *s = NULL, *with = "";
        char *pp = g_strdup_printf("%s.pattern", path);
        rc = tj_obj(c, o, path, "pattern", &pat);
        if (rc == BALDRO_OK) rc = tj_str(c, pat, pp, "String", NULL, &s);
        if (rc == BALDRO_OK && !s)
            rc = baldro_error_set(c->err, BALDRO_EUNSUPPORTED,
                                  "%s: %s: only {\"String\": ...} patterns are supported",
                                  c->name, pp);
        if (rc == BALDRO_OK) rc = tj_str(c, o, path, "content", "", &with);
        g_free(pp);
        if (rc != BALDRO_OK) return rc;
        d.kind = TOK_DEC_REPLACE;
        d.a = g_strdup(s);
        d.b = g_strdup(with);
    } else if (strcmp(type, "Strip") == 0) {
        const char *s;
        int64_t start, stop;
        if ((rc = tj_str(c, o, path, "content", " ", &s)) != BALDRO_OK ||
            (rc = tj_int(c, o, path, "start", 0, 1 << 20, 0, &start)) != BALDRO_OK ||
            (rc = tj_int(c, o, path, "stop", 0, 1 << 20, 0, &stop)) != BALDRO_OK)
            return rc;
        d.kind = TOK_DEC_STRIP;
        d.a = g_strdup(s);
        d.start = (int)start;
        d.stop = (int)stop;
    } else if (strcmp(type, "Metaspace") == 0) {
        char rep[8];
        if ((rc = replacement(c, o, path, rep)) != BALDRO_OK ||
            (rc = prepend_scheme(c, o, path, &d.prepend)) != BALDRO_OK)
            return rc;
        d.kind = TOK_DEC_METASPACE;
        d.a = g_strdup(rep);
    } else {
        return unsupported(c, path, type,
                           "ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace, Sequence");
    }
    g_array_append_val(out, d);
    return BALDRO_OK;
}

int tj_decoder(tj_ctx *c, baldro_tokenizer *t, JsonObject *root) {
    JsonObject *o = NULL;
    int rc = tj_obj(c, root, "", "decoder", &o);
    if (rc != BALDRO_OK || !o) return rc;
    t->has_decoder = 1;
    GArray *out = g_array_new(FALSE, TRUE, sizeof(tok_dec));
    rc = dec_item(c, t, o, "decoder", out);
    t->n_decs = out->len;
    t->decs = (tok_dec *)(void *)g_array_free(out, FALSE);
    return rc;
}

/* ---- post_processor ---- */

/* The ids of one special token of a template, from "special_tokens". */
static int template_special(tj_ctx *c, JsonObject *specials, const char *path, const char *name,
                            GArray *out) {
    JsonObject *st = NULL;
    JsonArray *ids = NULL;
    char *sp = g_strdup_printf("%s.special_tokens", path);
    int rc = tj_obj(c, specials, sp, name, &st);
    if (rc == BALDRO_OK && !st) rc = tj_fail(c, BALDRO_EINVAL, sp, "'%s' is missing", name);
    char *ip = g_strdup_printf("%s.%s", sp, name);
    if (rc == BALDRO_OK) rc = tj_arr(c, st, ip, "ids", &ids);
    for (guint i = 0; rc == BALDRO_OK && ids && i < json_array_get_length(ids); i++) {
        int64_t v;
        if (baldro_json_int(json_array_get_element(ids, i), &v) != 0 || v < 0 || v > INT32_MAX)
            rc = tj_fail(c, BALDRO_EINVAL, ip, "ids[%u]: expected a non-negative integer", i);
        else {
            int32_t id = (int32_t)v;
            g_array_append_val(out, id);
        }
    }
    g_free(ip);
    g_free(sp);
    return rc;
}

static int post_item(tj_ctx *c, baldro_tokenizer *t, JsonObject *o, const char *path,
                     GArray *out) {
    const char *type;
    int rc = type_of(c, o, path, &type);
    if (rc != BALDRO_OK) return rc;
    (void)out;
    if (strcmp(type, "Sequence") == 0) return each(c, t, o, path, "processors", post_item, out);
    if (strcmp(type, "ByteLevel") == 0) return BALDRO_OK; /* offsets only */
    if (strcmp(type, "TemplateProcessing") != 0)
        return unsupported(c, path, type, "TemplateProcessing, ByteLevel, Sequence");
    JsonArray *single = NULL;
    JsonObject *specials = NULL;
    if ((rc = tj_arr(c, o, path, "single", &single)) != BALDRO_OK ||
        (rc = tj_obj(c, o, path, "special_tokens", &specials)) != BALDRO_OK)
        return rc;
    GArray *pre = g_array_new(FALSE, FALSE, sizeof(int32_t));
    GArray *post = g_array_new(FALSE, FALSE, sizeof(int32_t));
    int seen_a = 0;
    for (guint i = 0; rc == BALDRO_OK && single && i < json_array_get_length(single); i++) {
        char *ep = g_strdup_printf("%s.single[%u]", path, i);
        JsonNode *e = json_array_get_element(single, i);
        JsonObject *eo = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        JsonObject *sp = NULL, *seq = NULL;
        if (!eo) rc = tj_fail(c, BALDRO_EINVAL, ep, "expected an object");
        if (rc == BALDRO_OK) rc = tj_obj(c, eo, ep, "SpecialToken", &sp);
        if (rc == BALDRO_OK) rc = tj_obj(c, eo, ep, "Sequence", &seq);
        if (rc == BALDRO_OK && !sp == !seq)
            rc = tj_fail(c, BALDRO_EINVAL, ep, "expected SpecialToken or Sequence");
        if (rc == BALDRO_OK && seq) {
            if (seen_a) rc = tj_fail(c, BALDRO_EINVAL, ep, "the sequence appears twice");
            seen_a = 1;
        } else if (rc == BALDRO_OK) {
            const char *name = NULL;
            char *spp = g_strdup_printf("%s.SpecialToken", ep);
            rc = tj_str(c, sp, spp, "id", NULL, &name);
            if (rc == BALDRO_OK && !name) rc = tj_fail(c, BALDRO_EINVAL, spp, "id is missing");
            if (rc == BALDRO_OK && !specials)
                rc = tj_fail(c, BALDRO_EINVAL, path, "special_tokens is missing");
            if (rc == BALDRO_OK) rc = template_special(c, specials, path, name, seen_a ? post : pre);
            g_free(spp);
        }
        g_free(ep);
    }
    if (rc == BALDRO_OK) {
        g_free(t->prefix);
        g_free(t->suffix);
        t->n_prefix = pre->len;
        t->n_suffix = post->len;
        t->prefix = (int32_t *)(void *)g_array_free(pre, FALSE);
        t->suffix = (int32_t *)(void *)g_array_free(post, FALSE);
    } else {
        g_array_free(pre, TRUE);
        g_array_free(post, TRUE);
    }
    return rc;
}

int tj_post_processor(tj_ctx *c, baldro_tokenizer *t, JsonObject *root) {
    JsonObject *o = NULL;
    int rc = tj_obj(c, root, "", "post_processor", &o);
    if (rc != BALDRO_OK || !o) return rc;
    return post_item(c, t, o, "post_processor", NULL);
}

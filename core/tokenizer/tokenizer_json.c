/*
 * core/tokenizer/tokenizer_json.c: loading tokenizer.json (the BPE model, added tokens;
 * the pipeline sections are in pipeline_json.c) and tokenizer_config.json, and the
 * tokenizer's accessors. The file comes from outside, so it passes baldro_json_check
 * before json-glib sees it, and every id is range-checked before use.
 */
#include <string.h>

#include "tokenizer/tokenizer_json.h"

/* Ids beyond this many more than there are tokens are refused: they would size the
 * per-id tables for nothing (a fuzzed {"x": 2000000000}). */
#define TOK_ID_SLACK 4096

/* model.vocab and model.merges as flat lists, from the fast path or from json-glib. */
typedef struct {
    GStringChunk *arena;
    GPtrArray *keys;  /* vocab strings */
    GArray *ids;      /* int64_t, one per key */
    GPtrArray *pairs; /* merges: a0, b0, a1, b1, ... */
} tj_lists;

static int lists_from_json(tj_ctx *c, JsonObject *vocab, JsonArray *merges, tj_lists *l) {
    GList *members = vocab ? json_object_get_members(vocab) : NULL;
    int rc = BALDRO_OK;
    for (GList *m = members; m; m = m->next) {
        int64_t v;
        if (baldro_json_int(json_object_get_member(vocab, m->data), &v) != 0 || v < 0) {
            rc = tj_fail(c, BALDRO_EINVAL, "model.vocab", "'%s': expected a non-negative id",
                         (const char *)m->data);
            break;
        }
        g_ptr_array_add(l->keys, g_string_chunk_insert(l->arena, m->data));
        g_array_append_val(l->ids, v);
    }
    g_list_free(members);
    guint n = merges ? json_array_get_length(merges) : 0;
    for (guint i = 0; i < n && rc == BALDRO_OK; i++) {
        JsonNode *e = json_array_get_element(merges, i);
        const char *a = NULL, *b = NULL, *sp;
        char *tmp = NULL;
        if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING) {
            const char *str = json_node_get_string(e);
            if ((sp = strchr(str, ' ')) && !strchr(sp + 1, ' ')) {
                tmp = g_strndup(str, (gsize)(sp - str));
                a = tmp;
                b = sp + 1;
            }
        } else if (JSON_NODE_HOLDS_ARRAY(e) && json_array_get_length(json_node_get_array(e)) == 2) {
            JsonArray *arr = json_node_get_array(e);
            JsonNode *x = json_array_get_element(arr, 0), *y = json_array_get_element(arr, 1);
            if (JSON_NODE_HOLDS_VALUE(x) && json_node_get_value_type(x) == G_TYPE_STRING &&
                JSON_NODE_HOLDS_VALUE(y) && json_node_get_value_type(y) == G_TYPE_STRING) {
                a = json_node_get_string(x);
                b = json_node_get_string(y);
            }
        }
        if (!a) {
            char p[64];
            g_snprintf(p, sizeof p, "model.merges[%u]", i);
            rc = tj_fail(c, BALDRO_EINVAL, p, "expected \"a b\" or [\"a\", \"b\"]");
        } else {
            g_ptr_array_add(l->pairs, g_string_chunk_insert(l->arena, a));
            g_ptr_array_add(l->pairs, g_string_chunk_insert(l->arena, b));
        }
        g_free(tmp);
    }
    return rc;
}

static int vocab_load(tj_ctx *c, baldro_tokenizer *t, const tj_lists *l, JsonArray *added) {
    int64_t max_id = -1;
    guint nv = l->keys->len;
    guint na = added ? json_array_get_length(added) : 0;
    int64_t limit = (int64_t)nv + na + TOK_ID_SLACK;
    const int64_t *ids = (const int64_t *)(void *)l->ids->data;
    int rc = BALDRO_OK;
    for (guint i = 0; i < nv; i++) {
        if (ids[i] > limit)
            return tj_fail(c, BALDRO_EINVAL, "model.vocab", "'%s': expected an id in [0, %lld]",
                           (const char *)g_ptr_array_index(l->keys, i), (long long)limit);
        if (ids[i] > max_id) max_id = ids[i];
    }
    for (guint i = 0; rc == BALDRO_OK && i < na; i++) {
        JsonNode *e = json_array_get_element(added, i);
        char *p = g_strdup_printf("added_tokens[%u]", i);
        int64_t v;
        if (!JSON_NODE_HOLDS_OBJECT(e)) rc = tj_fail(c, BALDRO_EINVAL, p, "expected an object");
        else rc = tj_int(c, json_node_get_object(e), p, "id", 0, limit, -1, &v);
        if (rc == BALDRO_OK && v < 0) rc = tj_fail(c, BALDRO_EINVAL, p, "id is missing");
        if (rc == BALDRO_OK && v > max_id) max_id = v;
        g_free(p);
    }
    if (rc != BALDRO_OK) return rc;
    t->n_ids = (int32_t)(max_id + 1);
    size_t n = (size_t)t->n_ids > 0 ? (size_t)t->n_ids : 1;
    t->str = g_new0(char *, n);
    t->str_len = g_new0(uint32_t, n);
    t->raw = g_new0(char *, n);
    t->raw_len = g_new0(uint32_t, n);
    t->special = g_new0(uint8_t, n);
    for (guint i = 0; i < nv; i++) {
        const char *k = g_ptr_array_index(l->keys, i);
        int64_t v = ids[i];
        if (t->str[v])
            return tj_fail(c, BALDRO_EINVAL, "model.vocab", "id %lld is given to '%s' and '%s'",
                           (long long)v, t->str[v], k);
        t->str[v] = g_strdup(k);
        t->str_len[v] = (uint32_t)strlen(k);
    }
    return BALDRO_OK;
}

static int merges_load(tj_ctx *c, baldro_tokenizer *t, const tj_lists *l) {
    guint n = l->pairs->len / 2;
    if (tok_pairmap_init(&t->merges, n) != 0)
        return tj_fail(c, BALDRO_ENOMEM, "model.merges", "out of memory");
    int rc = BALDRO_OK;
    GString *cat = g_string_new(NULL);
    for (guint i = 0; i < n && rc == BALDRO_OK; i++) {
        const char *a = g_ptr_array_index(l->pairs, 2 * i), *b = g_ptr_array_index(l->pairs, 2 * i + 1);
        size_t la = strlen(a), lb = strlen(b);
        g_string_truncate(cat, 0);
        g_string_append_len(cat, a, (gssize)la);
        g_string_append_len(cat, b, (gssize)lb);
        int32_t ia = tok_strmap_get(&t->by_str, t->str, t->str_len, a, la);
        int32_t ib = tok_strmap_get(&t->by_str, t->str, t->str_len, b, lb);
        int32_t ic = tok_strmap_get(&t->by_str, t->str, t->str_len, cat->str, cat->len);
        if (ia < 0 || ib < 0 || ic < 0) {
            char p[64];
            g_snprintf(p, sizeof p, "model.merges[%u]", i);
            rc = tj_fail(c, BALDRO_EINVAL, p, "'%s' is not in model.vocab",
                         ia < 0 ? a : ib < 0 ? b : cat->str);
        } else {
            tok_pairmap_put(&t->merges, ia, ib, i, ic);
        }
    }
    g_string_free(cat, TRUE);
    return rc;
}

static int cmp_added(const void *x, const void *y) {
    const tok_added *a = x, *b = y;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int added_load(tj_ctx *c, baldro_tokenizer *t, JsonArray *added) {
    guint n = added ? json_array_get_length(added) : 0;
    t->added = g_new0(tok_added, n ? n : 1);
    int rc = BALDRO_OK;
    for (guint i = 0; i < n && rc == BALDRO_OK; i++) {
        JsonObject *o = json_node_get_object(json_array_get_element(added, i)); /* checked */
        char *p = g_strdup_printf("added_tokens[%u]", i);
        const char *content = NULL;
        int64_t id;
        tok_added *a = &t->added[t->n_added];
        rc = tj_str(c, o, p, "content", NULL, &content);
        if (rc == BALDRO_OK && (!content || !*content))
            rc = tj_fail(c, BALDRO_EINVAL, p, "content is missing or empty");
        if (rc == BALDRO_OK) rc = tj_int(c, o, p, "id", 0, t->n_ids - 1, 0, &id);
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "special", 0, &a->special);
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "lstrip", 0, &a->lstrip);
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "rstrip", 0, &a->rstrip);
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "single_word", 0, &a->single_word);
        g_free(p);
        if (rc != BALDRO_OK) break;
        a->content = g_strdup(content);
        a->len = strlen(content);
        a->id = (int32_t)id;
        t->n_added++;
        /* The added token's text is what the id decodes to, as tokenizers' id_to_token
         * asks the added vocabulary first. */
        g_free(t->str[id]);
        t->str[id] = g_strdup(content);
        t->str_len[id] = (uint32_t)a->len;
        t->special[id] = (uint8_t)a->special;
        t->added_first[(unsigned char)content[0]] = 1;
    }
    qsort(t->added, t->n_added, sizeof *t->added, cmp_added);
    return rc;
}

/* The model-level bytes of each vocabulary token: GPT-2 characters back to bytes for a
 * byte-level model, the string itself otherwise. */
static int raw_vocab(tj_ctx *c, baldro_tokenizer *t) {
    for (int32_t i = 0; i < t->n_ids; i++) {
        if (!t->str[i]) continue;
        if (t->byte_level) {
            size_t bl;
            t->raw[i] = tok_bytelevel_unmap(t->str[i], t->str_len[i], &bl);
            t->raw_len[i] = (uint32_t)bl;
        } else {
            t->raw[i] = g_strndup(t->str[i], t->str_len[i]);
            t->raw_len[i] = t->str_len[i];
        }
    }
    if (tok_strmap_init(&t->by_raw, t->raw, t->raw_len, t->n_ids) != 0)
        return tj_fail(c, BALDRO_ENOMEM, "model.vocab", "out of memory");
    for (int b = 0; b < 256; b++) {
        char ch = (char)b, fb[8];
        t->byte_id[b] = tok_strmap_get(&t->by_raw, t->raw, t->raw_len, &ch, 1);
        g_snprintf(fb, sizeof fb, "<0x%02X>", (unsigned)b);
        t->fallback_id[b] = t->byte_fallback
                                ? tok_strmap_get(&t->by_raw, t->raw, t->raw_len, fb, 6)
                                : -1;
    }
    return BALDRO_OK;
}

static int model_load(tj_ctx *c, baldro_tokenizer *t, JsonObject *root, const char *text,
                      const tj_fast *fast) {
    JsonObject *model = NULL, *vocab = NULL;
    JsonArray *merges = NULL, *added = NULL;
    const char *type, *unk, *cont, *suffix;
    int rc = tj_obj(c, root, "", "model", &model);
    if (rc == BALDRO_OK && !model) rc = tj_fail(c, BALDRO_EINVAL, "model", "missing");
    if (rc != BALDRO_OK) return rc;
    if ((rc = tj_str(c, model, "model", "type", "BPE", &type)) != BALDRO_OK) return rc;
    if (strcmp(type, "BPE") != 0)
        return baldro_error_set(c->err, BALDRO_EUNSUPPORTED,
                                "%s: model.type '%s' is not supported (BPE)", c->name, type);
    if ((rc = tj_obj(c, model, "model", "vocab", &vocab)) != BALDRO_OK ||
        (rc = tj_arr(c, model, "model", "merges", &merges)) != BALDRO_OK ||
        (rc = tj_arr(c, root, "", "added_tokens", &added)) != BALDRO_OK ||
        (rc = tj_str(c, model, "model", "unk_token", NULL, &unk)) != BALDRO_OK ||
        (rc = tj_str(c, model, "model", "continuing_subword_prefix", "", &cont)) != BALDRO_OK ||
        (rc = tj_str(c, model, "model", "end_of_word_suffix", "", &suffix)) != BALDRO_OK ||
        (rc = tj_bool(c, model, "model", "fuse_unk", 0, &t->fuse_unk)) != BALDRO_OK ||
        (rc = tj_bool(c, model, "model", "byte_fallback", 0, &t->byte_fallback)) != BALDRO_OK ||
        (rc = tj_bool(c, model, "model", "ignore_merges", 0, &t->ignore_merges)) != BALDRO_OK)
        return rc;
    if (!vocab && !fast->vocab_end) return tj_fail(c, BALDRO_EINVAL, "model.vocab", "missing");
    if (*cont || *suffix)
        return baldro_error_set(c->err, BALDRO_EUNSUPPORTED,
                                "%s: model.%s is not supported", c->name,
                                *cont ? "continuing_subword_prefix" : "end_of_word_suffix");
    JsonNode *dropout = tj_member(model, "dropout");
    if (dropout)
        return baldro_error_set(c->err, BALDRO_EUNSUPPORTED,
                                "%s: model.dropout is not supported (null)", c->name);
    tj_lists l = { g_string_chunk_new(1 << 20), g_ptr_array_new(),
                   g_array_new(FALSE, FALSE, sizeof(int64_t)), g_ptr_array_new() };
    rc = lists_from_json(c, fast->vocab_end ? NULL : vocab, fast->merges_end ? NULL : merges, &l);
    if (rc == BALDRO_OK && fast->vocab_end)
        rc = tj_fast_vocab(c, text, fast->vocab_start, fast->vocab_end, l.arena, l.keys, l.ids);
    if (rc == BALDRO_OK && fast->merges_end)
        rc = tj_fast_merges(c, text, fast->merges_start, fast->merges_end, l.arena, l.pairs);
    if (rc == BALDRO_OK) rc = vocab_load(c, t, &l, added);
    if (rc == BALDRO_OK && tok_strmap_init(&t->by_str, t->str, t->str_len, t->n_ids) != 0)
        rc = tj_fail(c, BALDRO_ENOMEM, "model.vocab", "out of memory");
    if (rc == BALDRO_OK)
        t->unk_id = unk ? tok_strmap_get(&t->by_str, t->str, t->str_len, unk, strlen(unk)) : -1;
    if (rc == BALDRO_OK) rc = merges_load(c, t, &l);
    g_ptr_array_free(l.pairs, TRUE);
    g_array_free(l.ids, TRUE);
    g_ptr_array_free(l.keys, TRUE);
    g_string_chunk_free(l.arena);
    if (rc != BALDRO_OK) return rc;
    /* The pre-tokenizer says whether the model is byte-level; it is needed for the raw
     * vocabulary, which must exist before added tokens can rename ids. */
    if ((rc = tj_pre_tokenizer(c, t, root)) != BALDRO_OK) return rc;
    if ((rc = raw_vocab(c, t)) != BALDRO_OK) return rc;
    if ((rc = added_load(c, t, added)) != BALDRO_OK) return rc;
    tok_strmap_clear(&t->by_str);
    if (tok_strmap_init(&t->by_str, t->str, t->str_len, t->n_ids) != 0)
        return tj_fail(c, BALDRO_ENOMEM, "added_tokens", "out of memory");
    return BALDRO_OK;
}

/* "<s>" or {"content": "<s>", ...} */
static int config_token(tj_ctx *c, baldro_tokenizer *t, JsonObject *cfg, const char *key,
                        int32_t *out) {
    JsonNode *n = tj_member(cfg, key);
    if (!n) return BALDRO_OK;
    const char *s = NULL;
    if (JSON_NODE_HOLDS_OBJECT(n)) {
        int rc = tj_str(c, json_node_get_object(n), key, "content", NULL, &s);
        if (rc != BALDRO_OK) return rc;
    } else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        s = json_node_get_string(n);
    }
    if (!s) return tj_fail(c, BALDRO_EINVAL, key, "expected a token string");
    int32_t id = baldro_tok_token_id(t, s);
    if (id < 0) return tj_fail(c, BALDRO_EINVAL, key, "'%s' is not in the vocabulary", s);
    *out = id;
    return BALDRO_OK;
}

static void ids_add(int32_t **v, size_t *n, int32_t id, int front) {
    *v = g_renew(int32_t, *v, *n + 1);
    if (front) memmove(*v + 1, *v, *n * sizeof **v);
    (*v)[front ? 0 : *n] = id;
    (*n)++;
}

/* HF writes model_max_length as int(1e30) (1000000000000000019884624838656), which the
 * strict check refuses as beyond int64. Such literals outside strings get a ".0" so they
 * read as the float they stand for; nothing we use from the config is a large integer. */
static char *config_widen_ints(const char *text, size_t len, size_t *out_len) {
    GString *o = g_string_sized_new(len + 16);
    int in_str = 0;
    for (size_t i = 0; i < len;) {
        char ch = text[i];
        if (in_str) {
            g_string_append_c(o, ch);
            if (ch == '\\' && i + 1 < len) g_string_append_c(o, text[++i]);
            else if (ch == '"') in_str = 0;
            i++;
            continue;
        }
        if (ch == '"') in_str = 1;
        if (g_ascii_isdigit(ch)) {
            size_t j = i;
            while (j < len && g_ascii_isdigit(text[j])) j++;
            g_string_append_len(o, text + i, (gssize)(j - i));
            int frac = j < len && (text[j] == '.' || text[j] == 'e' || text[j] == 'E');
            if (j - i > 18 && !frac) g_string_append(o, ".0");
            /* skip the rest of a number so its exponent digits are not seen again */
            while (j < len && (g_ascii_isdigit(text[j]) || text[j] == '.' || text[j] == 'e' ||
                               text[j] == 'E' || text[j] == '+' || text[j] == '-')) {
                g_string_append_c(o, text[j]);
                j++;
            }
            i = j;
            continue;
        }
        g_string_append_c(o, ch);
        i++;
    }
    *out_len = o->len;
    return g_string_free(o, FALSE);
}

/* tokenizer_config.json's added_tokens_decoder {"<id>": {"content", "special", ...}}:
 * transformers adds any entry the fast tokenizer lacks. An entry that agrees with
 * tokenizer.json only updates the flags; a new id extends the vocabulary as an added
 * token; an id that tokenizer.json gives to another string is refused (the two files
 * describe different tokenizers). */
static int config_added(tj_ctx *c, baldro_tokenizer *t, JsonObject *dec) {
    GList *members = json_object_get_members(dec);
    int rc = BALDRO_OK, grew = 0;
    for (GList *l = members; l && rc == BALDRO_OK; l = l->next) {
        const char *key = l->data;
        char p[96];
        g_snprintf(p, sizeof p, "added_tokens_decoder.%.40s", key);
        char *end = NULL;
        gint64 id = g_ascii_strtoll(key, &end, 10);
        if (!*key || !end || *end || id < 0 || id > (gint64)t->n_ids + TOK_ID_SLACK) {
            rc = tj_fail(c, BALDRO_EINVAL, p, "expected an id in [0, %lld]",
                         (long long)t->n_ids + TOK_ID_SLACK);
            break;
        }
        JsonNode *n = json_object_get_member(dec, key);
        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            rc = tj_fail(c, BALDRO_EINVAL, p, "expected an object");
            break;
        }
        JsonObject *o = json_node_get_object(n);
        const char *content = NULL;
        tok_added a = {0};
        rc = tj_str(c, o, p, "content", NULL, &content);
        if (rc == BALDRO_OK && (!content || !*content))
            rc = tj_fail(c, BALDRO_EINVAL, p, "content is missing or empty");
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "special", 0, &a.special);
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "lstrip", 0, &a.lstrip);
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "rstrip", 0, &a.rstrip);
        if (rc == BALDRO_OK) rc = tj_bool(c, o, p, "single_word", 0, &a.single_word);
        if (rc != BALDRO_OK) break;
        if (id < t->n_ids && t->str[id]) {
            if (strcmp(t->str[id], content) != 0) {
                rc = tj_fail(c, BALDRO_EINVAL, p, "'%s' but tokenizer.json gives id %lld to '%s'",
                             content, (long long)id, t->str[id]);
                break;
            }
            for (size_t i = 0; i < t->n_added; i++)
                if (t->added[i].id == id) t->added[i].special = a.special;
            t->special[id] = (uint8_t)a.special;
            continue;
        }
        if (baldro_tok_token_id(t, content) >= 0) {
            rc = tj_fail(c, BALDRO_EINVAL, p, "'%s' already has id %d", content,
                         (int)baldro_tok_token_id(t, content));
            break;
        }
        if (id >= t->n_ids) {
            size_t old = (size_t)t->n_ids, nn = (size_t)id + 1;
            t->str = g_renew(char *, t->str, nn);
            t->str_len = g_renew(uint32_t, t->str_len, nn);
            t->raw = g_renew(char *, t->raw, nn);
            t->raw_len = g_renew(uint32_t, t->raw_len, nn);
            t->special = g_renew(uint8_t, t->special, nn);
            memset(t->str + old, 0, (nn - old) * sizeof *t->str);
            memset(t->str_len + old, 0, (nn - old) * sizeof *t->str_len);
            memset(t->raw + old, 0, (nn - old) * sizeof *t->raw);
            memset(t->raw_len + old, 0, (nn - old) * sizeof *t->raw_len);
            memset(t->special + old, 0, nn - old);
            t->n_ids = (int32_t)nn;
        }
        a.content = g_strdup(content);
        a.len = strlen(content);
        a.id = (int32_t)id;
        t->added = g_renew(tok_added, t->added, t->n_added + 1);
        t->added[t->n_added++] = a;
        t->str[id] = g_strdup(content);
        t->str_len[id] = (uint32_t)a.len;
        t->special[id] = (uint8_t)a.special;
        t->added_first[(unsigned char)content[0]] = 1;
        grew = 1;
        /* rebuild now, so a later entry's duplicate-content check sees this one */
        tok_strmap_clear(&t->by_str);
        if (tok_strmap_init(&t->by_str, t->str, t->str_len, t->n_ids) != 0)
            rc = tj_fail(c, BALDRO_ENOMEM, p, "out of memory");
    }
    g_list_free(members);
    if (grew) qsort(t->added, t->n_added, sizeof *t->added, cmp_added);
    return rc;
}

/* chat_template: a string, or transformers' list of {"name", "template"} (the "default"
 * entry is taken). */
static int config_chat_template(tj_ctx *c, baldro_tokenizer *t, JsonObject *cfg) {
    JsonNode *n = tj_member(cfg, "chat_template");
    if (!n) return BALDRO_OK;
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        t->chat_template = g_strdup(json_node_get_string(n));
        return BALDRO_OK;
    }
    if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *a = json_node_get_array(n);
        for (guint i = 0; i < json_array_get_length(a); i++) {
            JsonNode *e = json_array_get_element(a, i);
            if (!JSON_NODE_HOLDS_OBJECT(e)) continue;
            const char *name = NULL, *tpl = NULL;
            char p[48];
            g_snprintf(p, sizeof p, "chat_template[%u]", i);
            int rc = tj_str(c, json_node_get_object(e), p, "name", NULL, &name);
            if (rc == BALDRO_OK) rc = tj_str(c, json_node_get_object(e), p, "template", NULL, &tpl);
            if (rc != BALDRO_OK) return rc;
            if (name && tpl && !strcmp(name, "default")) {
                t->chat_template = g_strdup(tpl);
                return BALDRO_OK;
            }
        }
        return BALDRO_OK;
    }
    return tj_fail(c, BALDRO_EINVAL, "chat_template", "expected a string or a list of templates");
}

static int config_load(tj_ctx *c, baldro_tokenizer *t, const char *raw, size_t raw_len) {
    size_t len;
    char *text = config_widen_ints(raw, raw_len, &len);
    JsonNode *root = baldro_json_parse(text, len, c->name, "JSON", c->err);
    g_free(text);
    if (!root) return c->err ? c->err->code : BALDRO_EINVAL;
    int rc = BALDRO_OK, add_bos = 0, add_eos = 0;
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        rc = baldro_error_set(c->err, BALDRO_EINVAL, "%s: expected a JSON object", c->name);
    } else {
        JsonObject *cfg = json_node_get_object(root);
        JsonNode *dec = tj_member(cfg, "added_tokens_decoder");
        if (dec && !JSON_NODE_HOLDS_OBJECT(dec))
            rc = tj_fail(c, BALDRO_EINVAL, "added_tokens_decoder", "expected an object");
        else if (dec)
            rc = config_added(c, t, json_node_get_object(dec));
        if (rc == BALDRO_OK) rc = config_token(c, t, cfg, "bos_token", &t->bos);
        if (rc == BALDRO_OK) rc = config_token(c, t, cfg, "eos_token", &t->eos);
        if (rc == BALDRO_OK) rc = tj_bool(c, cfg, "", "add_bos_token", 0, &add_bos);
        if (rc == BALDRO_OK) rc = tj_bool(c, cfg, "", "add_eos_token", 0, &add_eos);
        if (rc == BALDRO_OK) rc = config_token(c, t, cfg, "pad_token", &t->pad);
        if (rc == BALDRO_OK) rc = config_chat_template(c, t, cfg);
    }
    /* add_bos_token / add_eos_token on top of the template, unless it already has them. */
    if (rc == BALDRO_OK && add_bos && t->bos >= 0 && (t->n_prefix == 0 || t->prefix[0] != t->bos))
        ids_add(&t->prefix, &t->n_prefix, t->bos, 1);
    if (rc == BALDRO_OK && add_eos && t->eos >= 0 &&
        (t->n_suffix == 0 || t->suffix[t->n_suffix - 1] != t->eos))
        ids_add(&t->suffix, &t->n_suffix, t->eos, 0);
    json_node_unref(root);
    return rc;
}

static int check_template(tj_ctx *c, baldro_tokenizer *t) {
    for (size_t i = 0; i < t->n_prefix + t->n_suffix; i++) {
        int32_t id = i < t->n_prefix ? t->prefix[i] : t->suffix[i - t->n_prefix];
        if (id < 0 || id >= t->n_ids || !t->str[id])
            return tj_fail(c, BALDRO_EINVAL, "post_processor", "id %d is not in the vocabulary",
                           (int)id);
    }
    return BALDRO_OK;
}

int baldro_tok_load_buffers(const char *json, size_t len, const char *config_json,
                            size_t config_len, const char *name, baldro_tokenizer **out,
                            baldro_error *err) {
    if (!out) return baldro_error_set(err, BALDRO_EINVAL, "baldro_tok_load_buffers: NULL out");
    *out = NULL;
    if (!json) return baldro_error_set(err, BALDRO_EINVAL, "baldro_tok_load_buffers: NULL json");
    if (!name) name = "tokenizer.json";
    tj_ctx c = { name, err };
    /* Check the whole text, then hand json-glib a copy without the two big members. */
    int rc0 = baldro_json_check(json, len, name, "JSON", err);
    if (rc0 != BALDRO_OK) return rc0;
    tj_fast fast;
    tj_fast_find(json, len, &fast);
    GString *small = g_string_sized_new(1024);
    size_t at = 0;
    if (fast.vocab_end && fast.merges_end && fast.merges_start < fast.vocab_start) {
        g_string_append_len(small, json, (gssize)fast.merges_start);
        g_string_append(small, "[]");
        g_string_append_len(small, json + fast.merges_end,
                            (gssize)(fast.vocab_start - fast.merges_end));
        g_string_append(small, "{}");
        at = fast.vocab_end;
    } else {
        if (fast.vocab_end) {
            g_string_append_len(small, json, (gssize)fast.vocab_start);
            g_string_append(small, "{}");
            at = fast.vocab_end;
        }
        if (fast.merges_end) {
            g_string_append_len(small, json + at, (gssize)(fast.merges_start - at));
            g_string_append(small, "[]");
            at = fast.merges_end;
        }
    }
    g_string_append_len(small, json + at, (gssize)(len - at));
    JsonNode *root = baldro_json_parse(small->str, small->len, name, "JSON", err);
    g_string_free(small, TRUE);
    if (!root) return err ? err->code : BALDRO_EINVAL;
    baldro_tokenizer *t = g_new0(baldro_tokenizer, 1);
    t->name = g_strdup(name);
    t->bos = t->eos = t->pad = t->unk_id = -1;
    int rc = BALDRO_OK;
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: expected a JSON object", name);
    } else {
        JsonObject *o = json_node_get_object(root);
        rc = model_load(&c, t, o, json, &fast);
        if (rc == BALDRO_OK) rc = tj_normalizer(&c, t, o);
        if (rc == BALDRO_OK) rc = tj_decoder(&c, t, o);
        if (rc == BALDRO_OK) rc = tj_post_processor(&c, t, o);
        if (rc == BALDRO_OK) rc = check_template(&c, t);
    }
    json_node_unref(root);
    if (rc == BALDRO_OK && config_json) {
        char *dir = g_path_get_dirname(name);
        char *cname = g_build_filename(dir, "tokenizer_config.json", NULL);
        tj_ctx cc = { cname, err };
        rc = config_load(&cc, t, config_json, config_len);
        g_free(cname);
        g_free(dir);
    }
    if (rc != BALDRO_OK) {
        baldro_tok_free(t);
        return rc;
    }
    *out = t;
    return BALDRO_OK;
}

int baldro_tok_load_json(const char *path, baldro_tokenizer **out, baldro_error *err) {
    if (!path || !out) return baldro_error_set(err, BALDRO_EINVAL, "baldro_tok_load_json: NULL argument");
    *out = NULL;
    char *text = NULL, *cfg = NULL;
    gsize len = 0, cfg_len = 0;
    GError *ge = NULL;
    if (!g_file_get_contents(path, &text, &len, &ge)) {
        int rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", path, ge->message);
        g_error_free(ge);
        return rc;
    }
    char *dir = g_path_get_dirname(path);
    char *cpath = g_build_filename(dir, "tokenizer_config.json", NULL);
    int rc = BALDRO_OK;
    if (g_file_test(cpath, G_FILE_TEST_EXISTS) && !g_file_get_contents(cpath, &cfg, &cfg_len, &ge)) {
        rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", cpath, ge->message);
        g_error_free(ge);
    }
    if (rc == BALDRO_OK) rc = baldro_tok_load_buffers(text, len, cfg, cfg_len, path, out, err);
    /* transformers >= 4.43 writes the template to chat_template.jinja; it wins over the
     * config's copy, as in transformers. */
    char *jpath = g_build_filename(dir, "chat_template.jinja", NULL);
    char *jtext = NULL;
    if (rc == BALDRO_OK && g_file_test(jpath, G_FILE_TEST_EXISTS)) {
        if (!g_file_get_contents(jpath, &jtext, NULL, &ge)) {
            rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", jpath, ge->message);
            g_error_free(ge);
            baldro_tok_free(*out);
            *out = NULL;
        } else {
            g_free((*out)->chat_template);
            (*out)->chat_template = jtext;
        }
    }
    g_free(jpath);
    g_free(cpath);
    g_free(dir);
    g_free(cfg);
    g_free(text);
    return rc;
}

void baldro_tok_free(baldro_tokenizer *t) {
    if (!t) return;
    for (int32_t i = 0; i < t->n_ids; i++) {
        g_free(t->str[i]);
        g_free(t->raw[i]);
    }
    g_free(t->str);
    g_free(t->str_len);
    g_free(t->raw);
    g_free(t->raw_len);
    g_free(t->special);
    tok_strmap_clear(&t->by_str);
    tok_strmap_clear(&t->by_raw);
    tok_pairmap_clear(&t->merges);
    for (size_t i = 0; i < t->n_added; i++) g_free(t->added[i].content);
    g_free(t->added);
    for (size_t i = 0; i < t->n_norms; i++) {
        g_free(t->norms[i].a);
        g_free(t->norms[i].b);
    }
    g_free(t->norms);
    for (size_t i = 0; i < t->n_pres; i++)
        if (t->pres[i].re) g_regex_unref(t->pres[i].re);
    g_free(t->pres);
    for (size_t i = 0; i < t->n_decs; i++) {
        g_free(t->decs[i].a);
        g_free(t->decs[i].b);
    }
    g_free(t->decs);
    g_free(t->prefix);
    g_free(t->suffix);
    g_free(t->chat_template);
    g_free(t->name);
    g_free(t);
}

int32_t baldro_tok_vocab_size(const baldro_tokenizer *t) {
    return t ? t->n_ids : 0;
}

int32_t baldro_tok_token_id(const baldro_tokenizer *t, const char *token) {
    if (!t || !token) return -1;
    return tok_strmap_get(&t->by_str, t->str, t->str_len, token, strlen(token));
}

const char *baldro_tok_token_str(const baldro_tokenizer *t, int32_t id) {
    if (!t || id < 0 || id >= t->n_ids) return NULL;
    return t->str[id];
}

int baldro_tok_is_special(const baldro_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_ids && t->special[id];
}

int32_t baldro_tok_bos(const baldro_tokenizer *t) {
    return t ? t->bos : -1;
}

int32_t baldro_tok_eos(const baldro_tokenizer *t) {
    return t ? t->eos : -1;
}

int32_t baldro_tok_pad(const baldro_tokenizer *t) {
    return t ? t->pad : -1;
}

const char *baldro_tok_chat_template(const baldro_tokenizer *t) {
    return t ? t->chat_template : NULL;
}

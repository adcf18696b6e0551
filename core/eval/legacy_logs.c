/* core/eval/legacy_logs.c: see legacy_logs.h. */
#include "eval/legacy_logs.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "io/json_strict.h"

#define MAX_ALT 8

static const char *const k_keys[4] = {"eval_log_forget.json", "eval_log.json",
                                      "eval_real_author_wo_options.json",
                                      "eval_real_world_wo_options.json"};
static const char *const k_splits[4] = {"forget_perturbed", "retain_perturbed",
                                        "real_authors_perturbed", "world_facts_perturbed"};

int baldro_legacy_log_detect(const char *text, size_t len) {
    return g_strstr_len(text, (gssize)MIN(len, (size_t)1 << 20), "\"eval_log_forget.json\"") != NULL;
}

const char *baldro_log_split_name(int k) { return k >= 0 && k < 4 ? k_splits[k] : NULL; }

void baldro_log_split_alloc(baldro_log_split *s, int k, size_t n, size_t alt_stride,
                            size_t strings_per_item) {
    s->split = baldro_log_split_name(k);
    s->n = n;
    s->items = g_new0(baldro_eval_item, n);
    s->ptr = g_new(const baldro_eval_item *, n);
    s->alt_nll = g_new(double, n * alt_stride);
    s->alt_tok = g_new(int32_t, n * alt_stride);
    s->strings = g_new0(char *, strings_per_item * n);
    s->n_strings = 0;
}

const char *baldro_log_split_own(baldro_log_split *s, const char *text) {
    s->strings[s->n_strings] = g_strdup(text);
    return s->strings[s->n_strings++];
}

void baldro_log_split_clear(baldro_log_split *s) {
    for (size_t i = 0; i < s->n_strings; i++) g_free(s->strings[i]);
    g_free(s->strings);
    g_free(s->items);
    g_free(s->ptr);
    g_free(s->alt_nll);
    g_free(s->alt_tok);
    memset(s, 0, sizeof *s);
}

void baldro_legacy_log_clear(baldro_legacy_log *l) {
    for (int k = 0; k < 4; k++) baldro_log_split_clear(&l->s[k]);
    memset(l, 0, sizeof *l);
}

/* A logged token count: a whole number small enough for int32 (UB to cast otherwise). */
static int token_count(double v) { return v >= 0 && v <= 1e9 && v == floor(v); }

static int is_number(JsonNode *n) {
    if (!n || !JSON_NODE_HOLDS_VALUE(n)) return 0;
    GType t = json_node_get_value_type(n);
    return t == G_TYPE_DOUBLE || t == G_TYPE_INT64;
}

/* A finite number member, or an error naming where. */
static int get_num(JsonObject *o, const char *key, const char *where, const char *field,
                   double *out, baldro_error *err) {
    JsonNode *n = json_object_get_member(o, key);
    if (!is_number(n))
        return baldro_error_set(err, BALDRO_EINVAL, "%s.%s.%s: missing or not a number", where,
                                field, key);
    *out = json_node_get_double(n);
    if (!isfinite(*out))
        return baldro_error_set(err, BALDRO_EINVAL, "%s.%s.%s: not finite", where, field, key);
    return BALDRO_OK;
}

static JsonObject *get_obj(JsonObject *o, const char *key) {
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *get_arr(JsonObject *o, const char *key) {
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static int load_split(JsonObject *v, const char *path, int k, baldro_log_split *s,
                      baldro_error *err) {
    char *where = g_strdup_printf("%s: %s", path, k_keys[k]);
    static const char *const fields[] = {"avg_gt_loss", "num_token_gt", "avg_paraphrased_loss",
                                         "num_token_paraphrased", "average_perturb_loss",
                                         "num_token_perturb", "generated_text"};
    JsonObject *f[7];
    int rc = BALDRO_OK;
    for (int q = 0; q < 7 && !rc; q++) {
        f[q] = get_obj(v, fields[q]);
        if (!f[q]) rc = baldro_error_set(err, BALDRO_EINVAL, "%s.%s: missing or not an object",
                                         where, fields[q]);
    }
    if (!rc) {
        size_t n = json_object_get_size(f[0]);
        if (n == 0) rc = baldro_error_set(err, BALDRO_EINVAL, "%s: no items", where);
        else baldro_log_split_alloc(s, k, n, MAX_ALT, 2);
    }
    for (size_t i = 0; i < s->n && !rc; i++) {
        char key[24];
        g_snprintf(key, sizeof key, "%zu", i);
        baldro_eval_item *e = &s->items[i];
        double avg, nt, pavg, pnt;
        e->struct_size = sizeof *e;
        rc = get_num(f[0], key, where, fields[0], &avg, err);
        if (!rc) rc = get_num(f[1], key, where, fields[1], &nt, err);
        if (!rc) rc = get_num(f[2], key, where, fields[2], &pavg, err);
        if (!rc) rc = get_num(f[3], key, where, fields[3], &pnt, err);
        if (rc) break;
        if (!token_count(nt) || !token_count(pnt)) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s.%s.%s: not a token count (a whole "
                                  "number in [0, 1e9])", where, !token_count(nt) ? fields[1]
                                  : fields[3], key);
            break;
        }
        e->n_tokens = (int32_t)nt;
        e->nll = avg * nt;
        e->para_tokens = (int32_t)pnt;
        e->para_nll = pavg * pnt;
        JsonArray *pl = get_arr(f[4], key), *pn = get_arr(f[5], key), *g = get_arr(f[6], key);
        guint na = pl ? json_array_get_length(pl) : 0;
        if (!pl || !pn || json_array_get_length(pn) != na || na == 0 || na > MAX_ALT) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s.average_perturb_loss.%s: expected 1..%d "
                                  "losses with as many num_token_perturb", where, key, MAX_ALT);
            break;
        }
        for (guint j = 0; j < na && !rc; j++) {
            JsonNode *a = json_array_get_element(pl, j), *b = json_array_get_element(pn, j);
            if (!is_number(a) || !is_number(b) || !isfinite(json_node_get_double(a)))
                rc = baldro_error_set(err, BALDRO_EINVAL, "%s.average_perturb_loss.%s[%u]: not "
                                      "a finite number", where, key, j);
            else if (!token_count(json_node_get_double(b)))
                rc = baldro_error_set(err, BALDRO_EINVAL, "%s.num_token_perturb.%s[%u]: not a "
                                      "token count (a whole number in [0, 1e9])", where, key, j);
            else {
                s->alt_tok[i * MAX_ALT + j] = (int32_t)json_node_get_double(b);
                s->alt_nll[i * MAX_ALT + j] = json_node_get_double(a) * json_node_get_double(b);
            }
        }
        e->n_alt = (int32_t)na;
        e->alt_nll = s->alt_nll + i * MAX_ALT;
        e->alt_tokens = s->alt_tok + i * MAX_ALT;
        if (!rc && (!g || json_array_get_length(g) != 3 ||
                    !JSON_NODE_HOLDS_VALUE(json_array_get_element(g, 1)) ||
                    json_node_get_value_type(json_array_get_element(g, 1)) != G_TYPE_STRING ||
                    json_node_get_value_type(json_array_get_element(g, 2)) != G_TYPE_STRING))
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s.generated_text.%s: expected [prompt, "
                                  "generation, ground truth]", where, key);
        if (rc) break;
        e->generation = baldro_log_split_own(s, json_array_get_string_element(g, 1));
        e->ground_truth = baldro_log_split_own(s, json_array_get_string_element(g, 2));
        s->ptr[i] = e;
    }
    g_free(where);
    return rc;
}

int baldro_legacy_log_load(const char *path, baldro_legacy_log *out, baldro_error *err) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot read", path);
    int rc = baldro_legacy_log_parse(text, len, path, out, err);
    g_free(text);
    return rc;
}

int baldro_legacy_log_parse(const char *text, size_t len, const char *path,
                            baldro_legacy_log *out, baldro_error *err) {
    memset(out, 0, sizeof *out);
    JsonNode *root = baldro_json_parse(text, len, path, "JSON", err);
    if (!root) return err ? err->code : BALDRO_EINVAL;
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    int rc = BALDRO_OK;
    for (int k = 0; k < 4 && !rc; k++) {
        JsonObject *v = get_obj(o, k_keys[k]);
        if (!v) rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %s: missing (not a TOFU "
                                      "eval_log_aggregated.json?)", path, k_keys[k]);
        else rc = load_split(v, path, k, &out->s[k], err);
    }
    json_node_unref(root);
    if (rc) baldro_legacy_log_clear(out);
    return rc;
}

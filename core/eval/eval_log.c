/* core/eval/eval_log.c: see eval_log.h. */
#include "eval/eval_log.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_strict.h"

#define EL_MAX_BYTES ((size_t)1 << 30)
#define EL_MAX_INDEX 1000000000u
#define EL_MAX_PERT 64
#define EL_DETECT_SCAN ((size_t)16 << 20)

static const char *const k_prefix[4] = {"forget", "retain", "ra", "wf"};

/* A message naming the file; `where` is the metric key (and index and field). */
typedef struct el_ctx {
    const char *path;
    baldro_error *err;
} el_ctx;

static int el_fail(const el_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int el_fail(const el_ctx *c, const char *fmt, ...) {
    char msg[BALDRO_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s", c->path, msg);
}

/* A member name fit for a one-line message: escaped, at most ~40 characters. */
static char *el_show(const char *s) {
    char *e = g_strescape(s, NULL);
    if (strlen(e) > 40) strcpy(e + 37, "...");
    return e;
}

/* Canonical decimal dataset index: "0" or [1-9][0-9]*, at most 10^9. */
static int el_index(const char *s, uint32_t *out) {
    size_t n = strlen(s);
    if (n == 0 || n > 10 || (s[0] == '0' && n > 1)) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > EL_MAX_INDEX) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* One value_by_index, its items in ascending index order. */
typedef struct el_vbi {
    char *key; /* the metric key for messages: "forget_Q_A_Prob", "mia_min_k.forget" */
    size_t n;
    uint32_t *idx;
    JsonObject **item;
} el_vbi;

static void el_vbi_free(el_vbi *v) {
    g_free(v->key);
    g_free(v->idx);
    g_free(v->item);
    memset(v, 0, sizeof *v);
}

typedef struct el_pair {
    uint32_t idx;
    JsonObject *item;
} el_pair;

static int el_pair_cmp(const void *a, const void *b) {
    uint32_t x = ((const el_pair *)a)->idx, y = ((const el_pair *)b)->idx;
    return (x > y) - (x < y);
}

static JsonObject *el_obj(JsonObject *o, const char *key) {
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* entry.value_by_index: every member an item object under a canonical index. */
static int el_vbi_read(const el_ctx *c, JsonObject *entry, const char *key, el_vbi *v) {
    memset(v, 0, sizeof *v);
    JsonObject *o = el_obj(entry, "value_by_index");
    if (!o) return el_fail(c, "%s.value_by_index: missing or not an object", key);
    guint size = json_object_get_size(o);
    if (size == 0) return el_fail(c, "%s.value_by_index: no items", key);
    el_pair *p = g_new(el_pair, size);
    GList *names = json_object_get_members(o);
    size_t n = 0;
    int rc = BALDRO_OK;
    for (GList *l = names; l && !rc; l = l->next) {
        const char *name = l->data;
        JsonNode *it = json_object_get_member(o, name);
        if (el_index(name, &p[n].idx)) {
            char *s = el_show(name);
            rc = el_fail(c, "%s.value_by_index: \"%s\" is not a dataset index (decimal 0 to %u, "
                         "no sign or leading zero)", key, s, EL_MAX_INDEX);
            g_free(s);
        } else if (!it || !JSON_NODE_HOLDS_OBJECT(it)) {
            rc = el_fail(c, "%s.value_by_index.%u: expected an object", key, p[n].idx);
        } else {
            p[n++].item = json_node_get_object(it);
        }
    }
    g_list_free(names);
    if (!rc && n != size) rc = el_fail(c, "%s.value_by_index: unreadable members", key);
    if (!rc) {
        qsort(p, n, sizeof *p, el_pair_cmp);
        v->key = g_strdup(key);
        v->n = n;
        v->idx = g_new(uint32_t, n);
        v->item = g_new(JsonObject *, n);
        for (size_t i = 0; i < n; i++) {
            v->idx[i] = p[i].idx;
            v->item[i] = p[i].item;
        }
    }
    g_free(p);
    return rc;
}

/* b must hold exactly a's indices; else the first index (ascending) in one but not the other. */
static int el_same_indices(const el_ctx *c, const el_vbi *a, const el_vbi *b) {
    size_t i = 0;
    while (i < a->n && i < b->n && a->idx[i] == b->idx[i]) i++;
    if (i == a->n && i == b->n) return BALDRO_OK;
    if (i < a->n && (i >= b->n || a->idx[i] < b->idx[i]))
        return el_fail(c, "%s.value_by_index: no index %u, which %s has (their index sets must "
                       "be equal)", b->key, a->idx[i], a->key);
    return el_fail(c, "%s.value_by_index: index %u is not in %s (their index sets must be equal)",
                   b->key, b->idx[i], a->key);
}

static int el_is_number(JsonNode *n) {
    if (!n || !JSON_NODE_HOLDS_VALUE(n)) return 0;
    GType t = json_node_get_value_type(n);
    return t == G_TYPE_DOUBLE || t == G_TYPE_INT64;
}

/* A finite number or null (NaN); 1 if it is neither. */
static int el_number_or_null(JsonNode *n, double *out) {
    if (n && JSON_NODE_HOLDS_NULL(n)) {
        *out = NAN;
        return 0;
    }
    if (!el_is_number(n)) return 1;
    *out = json_node_get_double(n);
    return isfinite(*out) ? 0 : 1;
}

/* Item i's `field`: a finite number or null (NaN). Required unless `optional`. */
static int el_num(const el_ctx *c, const el_vbi *v, size_t i, const char *field, int optional,
                  double *out) {
    JsonNode *n = json_object_get_member(v->item[i], field);
    if (!n) {
        *out = NAN;
        return optional ? BALDRO_OK
                        : el_fail(c, "%s.value_by_index.%u.%s: missing", v->key, v->idx[i], field);
    }
    if (el_number_or_null(n, out))
        return el_fail(c, "%s.value_by_index.%u.%s: expected a finite number or null", v->key,
                       v->idx[i], field);
    return BALDRO_OK;
}

/* Item i's `field`: a string. Required unless `optional` (then *out may be NULL). */
static int el_str(const el_ctx *c, const el_vbi *v, size_t i, const char *field, int optional,
                  const char **out) {
    JsonNode *n = json_object_get_member(v->item[i], field);
    *out = NULL;
    if (!n && optional) return BALDRO_OK;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return el_fail(c, "%s.value_by_index.%u.%s: %s", v->key, v->idx[i], field,
                       n ? "expected a string" : "missing");
    *out = json_node_get_string(n);
    return BALDRO_OK;
}

/* Item i's `field`: a list of 1..64 numbers or nulls into dst[]; its length must be `want`
 * (the split's count, taken from its first item) unless want is 0. */
static int el_list(const el_ctx *c, const el_vbi *v, size_t i, const char *field, size_t want,
                   double *dst, size_t *got) {
    JsonNode *n = json_object_get_member(v->item[i], field);
    if (!n) return el_fail(c, "%s.value_by_index.%u.%s: missing", v->key, v->idx[i], field);
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return el_fail(c, "%s.value_by_index.%u.%s: expected a list of numbers", v->key,
                       v->idx[i], field);
    JsonArray *a = json_node_get_array(n);
    size_t len = json_array_get_length(a);
    if (len == 0 || len > EL_MAX_PERT)
        return el_fail(c, "%s.value_by_index.%u.%s: %zu perturbed answers (1 to %d allowed)",
                       v->key, v->idx[i], field, len, EL_MAX_PERT);
    if (want && len != want)
        return el_fail(c, "%s.value_by_index.%u.%s: %zu perturbed answers, index %u has %zu (a "
                       "split's items need as many)", v->key, v->idx[i], field, len, v->idx[0],
                       want);
    for (size_t j = 0; j < len; j++)
        if (el_number_or_null(json_array_get_element(a, (guint)j), &dst[j]))
            return el_fail(c, "%s.value_by_index.%u.%s: expected a list of numbers (element %zu)",
                           v->key, v->idx[i], field, j);
    *got = len;
    return BALDRO_OK;
}

/* Split k from {p}_Q_A_Prob, _PARA_Prob (forget, retain), _PERT_Prob and _ROUGE. The forget
 * split's index set goes to *keep, for forget_truth_ratio. */
static int el_split(const el_ctx *c, JsonObject *root, int k, baldro_log_split *s,
                    el_vbi *keep) {
    const char *p = k_prefix[k];
    char *names[4] = {g_strdup_printf("%s_Q_A_Prob", p),
                      k < 2 ? g_strdup_printf("%s_Q_A_PARA_Prob", p) : NULL,
                      g_strdup_printf("%s_Q_A_PERT_Prob", p), g_strdup_printf("%s_Q_A_ROUGE", p)};
    el_vbi v[4] = {{0}};
    int rc = BALDRO_OK, has = -1, lacks = -1;
    for (int q = 0; q < 4; q++) {
        if (!names[q]) continue;
        if (json_object_has_member(root, names[q])) {
            if (has < 0) has = q;
        } else if (lacks < 0) {
            lacks = q;
        }
    }
    if (has < 0) { /* absent entirely: nothing to recompute for this split */
        s->split = baldro_log_split_name(k);
        goto out;
    }
    if (lacks >= 0) {
        rc = el_fail(c, "%s: missing, but %s is there (the %s split needs %s, %s%s%s and %s)",
                     names[lacks], names[has], p, names[0], k < 2 ? names[1] : "",
                     k < 2 ? ", " : "", names[2], names[3]);
        goto out;
    }
    for (int q = 0; q < 4 && !rc; q++) {
        if (!names[q]) continue;
        JsonObject *e = el_obj(root, names[q]);
        if (!e) rc = el_fail(c, "%s: expected an object", names[q]);
        else rc = el_vbi_read(c, e, names[q], &v[q]);
    }
    for (int q = 1; q < 4 && !rc; q++)
        if (names[q]) rc = el_same_indices(c, &v[0], &v[q]);
    if (rc) goto out;
    const size_t n = v[0].n;
    double pert[EL_MAX_PERT], scratch[EL_MAX_PERT];
    size_t n_pert = 0, got = 0;
    rc = el_list(c, &v[2], 0, "avg_loss", 0, pert, &n_pert);
    if (rc) goto out;
    baldro_log_split_alloc(s, k, n, n_pert, 3);
    for (size_t i = 0; i < n && !rc; i++) {
        baldro_eval_item *e = &s->items[i];
        double unused;
        const char *in, *gt, *gen;
        e->struct_size = sizeof *e;
        rc = el_num(c, &v[0], i, "avg_loss", 0, &e->nll);
        if (!rc) rc = el_num(c, &v[0], i, "prob", 1, &unused);
        e->n_tokens = 1;
        e->para_nll = NAN;
        e->para_tokens = 0;
        if (!rc && names[1]) {
            rc = el_num(c, &v[1], i, "avg_loss", 0, &e->para_nll);
            if (!rc) rc = el_num(c, &v[1], i, "prob", 1, &unused);
            e->para_tokens = 1;
        }
        double *alt = s->alt_nll + i * n_pert;
        int32_t *tok = s->alt_tok + i * n_pert;
        if (!rc) rc = el_list(c, &v[2], i, "avg_loss", n_pert, alt, &got);
        if (!rc && json_object_has_member(v[2].item[i], "prob"))
            rc = el_list(c, &v[2], i, "prob", n_pert, scratch, &got);
        for (size_t j = 0; j < n_pert; j++) tok[j] = 1;
        e->n_alt = (int32_t)n_pert;
        e->alt_nll = alt;
        e->alt_tokens = tok;
        if (!rc) rc = el_str(c, &v[3], i, "input", 0, &in);
        if (!rc) rc = el_str(c, &v[3], i, "ground_truth", 0, &gt);
        if (!rc) rc = el_str(c, &v[3], i, "generation", 0, &gen);
        if (!rc) rc = el_num(c, &v[3], i, "rouge1_recall", 1, &unused);
        if (!rc) rc = el_num(c, &v[3], i, "rougeL_f1", 1, &unused);
        if (!rc) rc = el_num(c, &v[3], i, "rougeL_recall", 1, &unused);
        if (rc) break;
        e->question = baldro_log_split_own(s, in);
        e->ground_truth = baldro_log_split_own(s, gt);
        e->generation = baldro_log_split_own(s, gen);
        s->ptr[i] = e;
    }
    if (!rc && keep) {
        *keep = v[0];
        memset(&v[0], 0, sizeof v[0]);
    }
out:
    for (int q = 0; q < 4; q++) {
        el_vbi_free(&v[q]);
        g_free(names[q]);
    }
    return rc;
}

/* entry.value_by_index[i].score for every index, ascending; `str_field`, where given and
 * present, must be a string. With `same`, the index set must equal same's. */
static int el_scores(const el_ctx *c, JsonObject *entry, const char *key, const char *str_field,
                     const el_vbi *same, double **out, size_t *n_out) {
    el_vbi v;
    int rc = el_vbi_read(c, entry, key, &v);
    if (!rc && same && same->n) rc = el_same_indices(c, same, &v);
    double *sc = rc ? NULL : g_new(double, v.n);
    for (size_t i = 0; i < v.n && !rc; i++) {
        const char *unused;
        rc = el_num(c, &v, i, "score", 0, &sc[i]);
        if (!rc && str_field) rc = el_str(c, &v, i, str_field, 1, &unused);
    }
    if (rc) {
        g_free(sc);
    } else {
        *out = sc;
        *n_out = v.n;
    }
    el_vbi_free(&v);
    return rc;
}

/* A top-level entry: NULL if absent, else the object (an error if it is not one). */
static int el_entry(const el_ctx *c, JsonObject *root, const char *key, JsonObject **out) {
    JsonNode *n = json_object_get_member(root, key);
    *out = NULL;
    if (!n) return BALDRO_OK;
    if (!JSON_NODE_HOLDS_OBJECT(n)) return el_fail(c, "%s: expected an object", key);
    *out = json_node_get_object(n);
    return BALDRO_OK;
}

static int el_mia(const el_ctx *c, JsonObject *m, baldro_eval_log *out) {
    JsonNode *a = json_object_get_member(m, "agg_value");
    if (!a) return el_fail(c, "mia_min_k.agg_value: missing");
    if (el_number_or_null(a, &out->mia_auc))
        return el_fail(c, "mia_min_k.agg_value: expected a finite number or null");
    static const char *const sides[2] = {"forget", "holdout"};
    for (int q = 0; q < 2; q++) {
        JsonObject *o = el_obj(m, sides[q]);
        char key[24];
        g_snprintf(key, sizeof key, "mia_min_k.%s", sides[q]);
        if (!o) return el_fail(c, "%s: missing or not an object", key);
        int rc = q == 0 ? el_scores(c, o, key, NULL, NULL, &out->mia_forget, &out->n_mia_forget)
                        : el_scores(c, o, key, NULL, NULL, &out->mia_holdout, &out->n_mia_holdout);
        if (rc) return rc;
    }
    return BALDRO_OK;
}

void baldro_eval_log_clear(baldro_eval_log *l) {
    baldro_legacy_log_clear(&l->qa);
    g_free(l->forget_tr);
    g_free(l->mia_forget);
    g_free(l->mia_holdout);
    g_free(l->es);
    g_free(l->gibberish);
    memset(l, 0, sizeof *l);
    l->mia_auc = NAN;
}

/* Messages are one line even where a JSON key or a file name carries a control character. */
/* Python's json.dump writes a failed item's NaN loss as a bare NaN (and infinities as
 * Infinity), which JSON has not: such tokens outside strings become null (read as NaN,
 * so the metrics name the item). Returns a new buffer, or NULL when there is none. */
static char *el_python_nan(const char *t, size_t len, size_t *out_len) {
    static const char *const tok[3] = {"-Infinity", "Infinity", "NaN"};
    GString *o = NULL;
    size_t last = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (t[i] == '\\') i++;
            else if (t[i] == '"') in_str = 0;
            continue;
        }
        if (t[i] == '"') {
            in_str = 1;
            continue;
        }
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(tok[k]);
            if (len - i >= n && memcmp(t + i, tok[k], n) == 0) {
                if (!o) o = g_string_sized_new(len + 64);
                g_string_append_len(o, t + last, (gssize)(i - last));
                g_string_append(o, "null");
                i += n - 1;
                last = i + 1;
                break;
            }
        }
    }
    if (!o) return NULL;
    g_string_append_len(o, t + last, (gssize)(len - last));
    *out_len = o->len;
    return g_string_free(o, FALSE);
}

static int el_parse(const char *text, size_t len, const char *path, int reference_only,
                    baldro_eval_log *out, baldro_error *err) {
    memset(out, 0, sizeof *out);
    out->mia_auc = NAN;
    for (int k = 0; k < 4; k++) out->qa.s[k].split = baldro_log_split_name(k);
    el_ctx c = {.path = path, .err = err};
    if (len > EL_MAX_BYTES) {
        return el_fail(&c, "%zu bytes, over the 1 GiB limit of an eval log", len);
    }
    size_t nlen = 0;
    char *nan_free = el_python_nan(text, len, &nlen);
    JsonNode *root = nan_free ? baldro_json_parse(nan_free, nlen, path, "JSON", err)
                              : baldro_json_parse(text, len, path, "JSON", err);
    g_free(nan_free);
    if (!root) return err ? err->code : BALDRO_EINVAL;
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    el_vbi forget_idx = {0};
    JsonObject *tr = NULL, *mia = NULL, *es = NULL, *gib = NULL;
    int rc = o ? BALDRO_OK
               : el_fail(&c, "not a JSON object at the top level (not a TOFU_EVAL.json?)");
    for (int k = 0; k < 4 && !rc && !reference_only; k++)
        rc = el_split(&c, o, k, &out->qa.s[k], k == 0 ? &forget_idx : NULL);
    if (!rc) rc = el_entry(&c, o, "forget_truth_ratio", &tr);
    if (!rc && tr)
        rc = el_scores(&c, tr, "forget_truth_ratio", NULL, &forget_idx, &out->forget_tr,
                       &out->n_forget_tr);
    if (!rc) rc = el_entry(&c, o, "mia_min_k", &mia);
    if (!rc && mia) rc = el_mia(&c, mia, out);
    if (!rc && !reference_only) {
        rc = el_entry(&c, o, "extraction_strength", &es);
        if (!rc && es)
            rc = el_scores(&c, es, "extraction_strength", NULL, NULL, &out->es, &out->n_es);
        if (!rc) rc = el_entry(&c, o, "forget_Q_A_gibberish", &gib);
        if (!rc && gib)
            rc = el_scores(&c, gib, "forget_Q_A_gibberish", "generation", NULL, &out->gibberish,
                           &out->n_gibberish);
    }
    if (!rc && !tr && !mia) {
        size_t items = 0;
        for (int k = 0; k < 4; k++) items += out->qa.s[k].n;
        if (reference_only)
            rc = el_fail(&c, "forget_truth_ratio and mia_min_k: both missing (not a retain "
                         "model's TOFU_EVAL.json?)");
        else if (!items && !es && !gib)
            rc = el_fail(&c, "none of forget_Q_A_Prob, retain_Q_A_Prob, ra_Q_A_Prob, "
                         "wf_Q_A_Prob, forget_truth_ratio, mia_min_k, extraction_strength "
                         "(not a TOFU_EVAL.json?)");
    }
    el_vbi_free(&forget_idx);
    json_node_unref(root);
    if (rc) baldro_eval_log_clear(out);
    return rc;
}

int baldro_eval_log_parse(const char *text, size_t len, const char *path, baldro_eval_log *out,
                          baldro_error *err) {
    return el_parse(text, len, path, 0, out, err);
}

int baldro_eval_log_parse_reference(const char *text, size_t len, const char *path,
                                    baldro_eval_log *out, baldro_error *err) {
    return el_parse(text, len, path, 1, out, err);
}

static int el_load(const char *path, int reference_only, baldro_eval_log *out,
                   baldro_error *err) {
    memset(out, 0, sizeof *out);
    out->mia_auc = NAN;
    GStatBuf st;
    if (g_stat(path, &st) != 0)
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot read (%s)", path, g_strerror(errno));
    if (st.st_size > (off_t)EL_MAX_BYTES)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %lld bytes, over the 1 GiB limit of an "
                                "eval log", path, (long long)st.st_size);
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot read", path);
    int rc = el_parse(text, len, path, reference_only, out, err);
    g_free(text);
    return rc;
}

int baldro_eval_log_load(const char *path, baldro_eval_log *out, baldro_error *err) {
    return el_load(path, 0, out, err);
}

int baldro_eval_log_load_reference(const char *path, baldro_eval_log *out, baldro_error *err) {
    return el_load(path, 1, out, err);
}

/* A string token at text[*pos] == '"': moves past it; 1 if it equals `want` exactly (no
 * escapes; the keys looked for have none). -1 if unterminated. */
static int el_scan_string(const char *t, size_t len, size_t *pos, const char *want) {
    size_t start = ++*pos;
    while (*pos < len && t[*pos] != '"') {
        if (t[*pos] == '\\') ++*pos;
        ++*pos;
    }
    if (*pos >= len) return -1;
    size_t n = *pos - start;
    ++*pos;
    return want && n == strlen(want) && memcmp(t + start, want, n) == 0;
}

int baldro_eval_log_detect(const char *text, size_t len) {
    if (!text || baldro_legacy_log_detect(text, len)) return 0;
    len = MIN(len, EL_DETECT_SCAN);
    size_t pos = 0;
    while (pos < len && g_ascii_isspace(text[pos])) pos++;
    if (pos >= len || text[pos] != '{') return 0;
    /* depth 1: inside the top-level object; depth 2: inside one of its members' values */
    int depth = 0, obj2 = 0;
    while (pos < len) {
        char ch = text[pos];
        if (ch == '"') {
            int is = el_scan_string(text, len, &pos, depth == 2 && obj2 ? "value_by_index" : NULL);
            if (is < 0) return 0;
            if (is == 1) {
                size_t p = pos;
                while (p < len && g_ascii_isspace(text[p])) p++;
                if (p < len && text[p] == ':') return 1;
            }
            continue;
        }
        if (ch == '{' || ch == '[') {
            depth++;
            if (depth == 2) obj2 = ch == '{';
        } else if (ch == '}' || ch == ']') {
            if (--depth <= 0) return 0;
        }
        pos++;
    }
    return 0;
}

/* ---- Parts of a log, for readers that show them (eval_log.h) ----------------------------- */

JsonNode *baldro_eval_json_load(const char *path, baldro_error *err) {
    GStatBuf st;
    if (g_stat(path, &st) != 0) {
        baldro_error_set(err, errno == ENOENT ? BALDRO_ENOTFOUND : BALDRO_EIO,
                         "%s: cannot read (%s)", path, g_strerror(errno));
        return NULL;
    }
    if (st.st_size > (off_t)EL_MAX_BYTES) {
        baldro_error_set(err, BALDRO_EINVAL, "%s: %lld bytes, over the 1 GiB limit of an eval "
                         "log", path, (long long)st.st_size);
        return NULL;
    }
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL)) {
        baldro_error_set(err, BALDRO_EIO, "%s: cannot read", path);
        return NULL;
    }
    size_t nlen = 0;
    char *nan_free = el_python_nan(text, len, &nlen);
    JsonNode *root = nan_free ? baldro_json_parse(nan_free, nlen, path, "JSON", err)
                              : baldro_json_parse(text, len, path, "JSON", err);
    g_free(nan_free);
    g_free(text);
    return root;
}

void baldro_eval_entry_clear(baldro_eval_entry *e) {
    for (size_t i = 0; i < e->n; i++) {
        if (e->input) g_free(e->input[i]);
        if (e->ground_truth) g_free(e->ground_truth[i]);
        if (e->generation) g_free(e->generation[i]);
    }
    g_free(e->idx);
    g_free(e->score);
    g_free(e->input);
    g_free(e->ground_truth);
    g_free(e->generation);
    memset(e, 0, sizeof *e);
}

int baldro_eval_entry_read(JsonNode *root, const char *path, const char *key,
                           baldro_eval_entry *out, baldro_error *err) {
    memset(out, 0, sizeof *out);
    el_ctx c = {.path = path, .err = err};
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    if (!o) return el_fail(&c, "not a JSON object at the top level (not a TOFU_EVAL.json?)");
    JsonObject *entry = NULL;
    int rc = el_entry(&c, o, key, &entry);
    if (rc) return rc;
    if (!entry) return baldro_error_set(err, BALDRO_ENOTFOUND, "%s: %s: missing", path, key);
    el_vbi v;
    rc = el_vbi_read(&c, entry, key, &v);
    if (rc) return rc;
    out->n = v.n;
    out->idx = g_memdup2(v.idx, sizeof *v.idx * v.n);
    out->score = g_new(double, v.n);
    out->input = g_new0(char *, v.n);
    out->ground_truth = g_new0(char *, v.n);
    out->generation = g_new0(char *, v.n);
    char **dst[3] = {out->input, out->ground_truth, out->generation};
    static const char *const fields[3] = {"input", "ground_truth", "generation"};
    for (size_t i = 0; i < v.n && !rc; i++) {
        rc = el_num(&c, &v, i, "score", 1, &out->score[i]);
        for (int f = 0; f < 3 && !rc; f++) {
            const char *s = NULL;
            rc = el_str(&c, &v, i, fields[f], 1, &s);
            if (!rc && s) dst[f][i] = g_strdup(s);
        }
    }
    el_vbi_free(&v);
    if (rc) baldro_eval_entry_clear(out);
    return rc;
}

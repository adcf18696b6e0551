/* plugins/models/distilbert/lib/distilbert.c: see distilbert.h. */
#include "distilbert.h"

#include <cblas.h>
#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baldro/abi.h"
#include "dbjson.h"

#define LN_EPS 1e-12 /* DistilBERT's LayerNorm eps (fixed in modeling_distilbert.py) */

/* ---- config.json ------------------------------------------------------------------- */

/* An integer size under its DistilBERT name or its HF alias (either, or both if equal). */
static int size_field(dbj *c, JsonObject *o, const char *name, const char *alias, int64_t lo,
                      int64_t hi, int required, int64_t def, int32_t *out) {
    JsonNode *a = dbj_mem(o, name), *b = alias ? dbj_mem(o, alias) : NULL;
    if (a && dbj_is_null(a)) a = NULL;
    if (b && dbj_is_null(b)) b = NULL;
    int64_t va = 0, vb = 0;
    int rc = BALDRO_OK;
    if (a) rc = dbj_int(c, a, name, lo, hi, &va);
    if (!rc && b) rc = dbj_int(c, b, alias, lo, hi, &vb);
    if (rc) return rc;
    if (a && b && va != vb)
        return dbj_fail(c->err, c->cap, BALDRO_EINVAL, "%s: %s: %lld disagrees with %s: %lld",
                        c->file, name, (long long)va, alias, (long long)vb);
    if (!a && !b) {
        if (required)
            return dbj_fail(c->err, c->cap, BALDRO_EINVAL, "%s: %s: missing%s%s%s", c->file, name,
                            alias ? " (nor " : "", alias ? alias : "", alias ? ")" : "");
        va = def;
    }
    *out = (int32_t)(a ? va : b ? vb : va);
    return BALDRO_OK;
}

static int parse_labels(dbj *c, JsonObject *o, distilbert_config *cfg) {
    JsonNode *idn = dbj_mem(o, "id2label");
    int32_t n_num = 0;
    int rc = size_field(c, o, "num_labels", "_num_labels", 1, 65536, 0, 0, &n_num);
    if (rc) return rc;
    if (dbj_is_null(idn)) {
        cfg->n_classes = n_num ? n_num : 2; /* transformers' default */
        return BALDRO_OK;
    }
    JsonObject *m;
    if ((rc = dbj_object(c, idn, "id2label", &m))) return rc;
    int32_t n = (int32_t)json_object_get_size(m);
    if (n < 1 || n > 65536)
        return dbj_fail(c->err, c->cap, BALDRO_EINVAL, "%s: id2label: %d entries (1 to 65536)",
                        c->file, n);
    if (n_num && n_num != n)
        return dbj_fail(c->err, c->cap, BALDRO_EINVAL,
                        "%s: num_labels: %d disagrees with the %d entries of id2label", c->file,
                        n_num, n);
    cfg->n_classes = n;
    cfg->labels = g_new0(char *, (size_t)n + 1);
    GList *keys = json_object_get_members(m);
    for (GList *l = keys; l && !rc; l = l->next) {
        const char *k = l->data;
        guint64 idx;
        char path[96];
        char *ks = dbj_shown(k);
        snprintf(path, sizeof path, "id2label[\"%s\"]", ks);
        if (!g_ascii_string_to_unsigned(k, 10, 0, (guint64)n - 1, &idx, NULL) || cfg->labels[idx]) {
            rc = dbj_fail(c->err, c->cap, BALDRO_EINVAL,
                          "%s: id2label: key '%s' is not a distinct class index 0..%d", c->file, ks,
                          n - 1);
        } else {
            const char *v;
            rc = dbj_string(c, json_object_get_member(m, k), path, &v);
            if (!rc) cfg->labels[idx] = g_strdup(v);
        }
        g_free(ks);
    }
    g_list_free(keys);
    return rc;
}

int distilbert_config_parse(const char *json, size_t len, const char *file, distilbert_config *cfg,
                            char *err, size_t cap) {
    memset(cfg, 0, sizeof *cfg);
    JsonParser *p;
    int rc = dbj_parse(json, len, file, &p, err, cap);
    if (rc) return rc;
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    dbj c = {file, err, cap};
    const char *mt;
    rc = dbj_string(&c, dbj_mem(o, "model_type"), "model_type", &mt);
    if (!rc && strcmp(mt, "distilbert") != 0) {
        char *s = dbj_shown(mt);
        rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: model_type: '%s' is not \"distilbert\"", file,
                      s);
        g_free(s);
    }
    if (!rc) rc = size_field(&c, o, "vocab_size", NULL, 1, 1 << 24, 1, 0, &cfg->vocab_size);
    if (!rc) rc = size_field(&c, o, "dim", "hidden_size", 1, 1 << 16, 1, 0, &cfg->dim);
    if (!rc) rc = size_field(&c, o, "n_layers", "num_hidden_layers", 1, 1024, 1, 0, &cfg->n_layers);
    if (!rc)
        rc = size_field(&c, o, "n_heads", "num_attention_heads", 1, 1 << 16, 1, 0, &cfg->n_heads);
    if (!rc)
        rc = size_field(&c, o, "hidden_dim", "intermediate_size", 1, 1 << 18, 1, 0,
                        &cfg->hidden_dim);
    if (!rc)
        rc = size_field(&c, o, "max_position_embeddings", NULL, 1, 1 << 20, 1, 0, &cfg->max_pos);
    if (!rc && cfg->dim % cfg->n_heads != 0)
        rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: n_heads: dim %d is not a multiple of %d", file,
                      cfg->dim, cfg->n_heads);
    JsonNode *an = dbj_mem(o, "activation");
    cfg->gelu = 1;
    if (!rc && !dbj_is_null(an)) {
        const char *act;
        rc = dbj_string(&c, an, "activation", &act);
        if (!rc && !strcmp(act, "relu")) {
            cfg->gelu = 0;
        } else if (!rc && strcmp(act, "gelu") != 0) {
            char *s = dbj_shown(act);
            rc = dbj_fail(err, cap, BALDRO_EUNSUPPORTED,
                          "%s: activation: '%s' is not supported (gelu or relu)", file, s);
            g_free(s);
        }
    }
    JsonNode *sn = dbj_mem(o, "sinusoidal_pos_embds");
    gboolean sinus = FALSE;
    if (!rc && !dbj_is_null(sn)) rc = dbj_bool(&c, sn, "sinusoidal_pos_embds", &sinus);
    if (!rc && sinus)
        rc = dbj_fail(err, cap, BALDRO_EUNSUPPORTED,
                      "%s: sinusoidal_pos_embds: true is not supported (learned position "
                      "embeddings only)",
                      file);
    if (!rc) rc = parse_labels(&c, o, cfg);
    g_object_unref(p);
    if (rc) distilbert_config_clear(cfg);
    return rc;
}

void distilbert_config_clear(distilbert_config *cfg) {
    if (!cfg || !cfg->labels) return;
    /* By count: a parse that failed half-way leaves holes. */
    for (int32_t i = 0; i < cfg->n_classes; i++) g_free(cfg->labels[i]);
    g_free(cfg->labels);
    cfg->labels = NULL;
}

/* ---- weights ----------------------------------------------------------------------- */

typedef struct dlayer {
    float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo; /* [D, D], [D] */
    float *ln1_w, *ln1_b;                         /* sa_layer_norm [D] */
    float *w1, *b1;                               /* ffn.lin1 [F, D], [F] */
    float *w2, *b2;                               /* ffn.lin2 [D, F], [D] */
    float *ln2_w, *ln2_b;                         /* output_layer_norm [D] */
} dlayer;

struct distilbert {
    distilbert_config cfg;
    float *block;         /* every tensor below, one allocation */
    float *word, *pos;    /* [V, D], [P, D] */
    float *eln_w, *eln_b; /* embeddings.LayerNorm [D] */
    dlayer *layers;       /* [n_layers] */
    float *pre_w, *pre_b; /* [D, D], [D] */
    float *cls_w, *cls_b; /* [C, D], [C] */
};

typedef struct wspec {
    char name[96];
    int32_t rank;
    int64_t dims[2];
    float **dst;
} wspec;

static void spec(GArray *a, float **dst, int64_t d0, int64_t d1, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void spec(GArray *a, float **dst, int64_t d0, int64_t d1, const char *fmt, ...) {
    wspec s = {.rank = d1 ? 2 : 1, .dims = {d0, d1}, .dst = dst};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s.name, sizeof s.name, fmt, ap);
    va_end(ap);
    g_array_append_val(a, s);
}

static void dims_str(char *buf, size_t cap, int32_t rank, const int64_t *d) {
    size_t k = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < rank && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)d[i]);
}

int distilbert_load(const distilbert_config *cfg, const baldro_weights *w, const char *where,
                    distilbert **out, char *err, size_t cap) {
    *out = NULL;
    if (!w || w->struct_size < sizeof(baldro_weights) || !w->shape || !w->read_f32)
        return dbj_fail(err, cap, BALDRO_EINVAL, "%s: distilbert: no usable weights reader", where);
    const int64_t V = cfg->vocab_size, D = cfg->dim, F = cfg->hidden_dim, P = cfg->max_pos,
                  C = cfg->n_classes;
    distilbert *m = g_new0(distilbert, 1);
    m->cfg = *cfg;
    m->cfg.labels = cfg->labels ? g_strdupv(cfg->labels) : NULL;
    m->layers = g_new0(dlayer, (size_t)cfg->n_layers);
    GArray *specs = g_array_new(FALSE, FALSE, sizeof(wspec));
    const char *e = "distilbert.embeddings";
    spec(specs, &m->word, V, D, "%s.word_embeddings.weight", e);
    spec(specs, &m->pos, P, D, "%s.position_embeddings.weight", e);
    spec(specs, &m->eln_w, D, 0, "%s.LayerNorm.weight", e);
    spec(specs, &m->eln_b, D, 0, "%s.LayerNorm.bias", e);
    for (int32_t i = 0; i < cfg->n_layers; i++) {
        dlayer *L = &m->layers[i];
        const char *t = "distilbert.transformer.layer";
        spec(specs, &L->wq, D, D, "%s.%d.attention.q_lin.weight", t, i);
        spec(specs, &L->bq, D, 0, "%s.%d.attention.q_lin.bias", t, i);
        spec(specs, &L->wk, D, D, "%s.%d.attention.k_lin.weight", t, i);
        spec(specs, &L->bk, D, 0, "%s.%d.attention.k_lin.bias", t, i);
        spec(specs, &L->wv, D, D, "%s.%d.attention.v_lin.weight", t, i);
        spec(specs, &L->bv, D, 0, "%s.%d.attention.v_lin.bias", t, i);
        spec(specs, &L->wo, D, D, "%s.%d.attention.out_lin.weight", t, i);
        spec(specs, &L->bo, D, 0, "%s.%d.attention.out_lin.bias", t, i);
        spec(specs, &L->ln1_w, D, 0, "%s.%d.sa_layer_norm.weight", t, i);
        spec(specs, &L->ln1_b, D, 0, "%s.%d.sa_layer_norm.bias", t, i);
        spec(specs, &L->w1, F, D, "%s.%d.ffn.lin1.weight", t, i);
        spec(specs, &L->b1, F, 0, "%s.%d.ffn.lin1.bias", t, i);
        spec(specs, &L->w2, D, F, "%s.%d.ffn.lin2.weight", t, i);
        spec(specs, &L->b2, D, 0, "%s.%d.ffn.lin2.bias", t, i);
        spec(specs, &L->ln2_w, D, 0, "%s.%d.output_layer_norm.weight", t, i);
        spec(specs, &L->ln2_b, D, 0, "%s.%d.output_layer_norm.bias", t, i);
    }
    spec(specs, &m->pre_w, D, D, "pre_classifier.weight");
    spec(specs, &m->pre_b, D, 0, "pre_classifier.bias");
    spec(specs, &m->cls_w, C, D, "classifier.weight");
    spec(specs, &m->cls_b, C, 0, "classifier.bias");

    /* Shapes first, so a wrong config.json is reported before anything is read. */
    int rc = BALDRO_OK;
    size_t total = 0;
    for (guint i = 0; i < specs->len && !rc; i++) {
        const wspec *s = &g_array_index(specs, wspec, i);
        int32_t rank = 0;
        int64_t d[8] = {0};
        int src = w->shape(w->ctx, s->name, &rank, d);
        if (src == BALDRO_ENOTFOUND) {
            rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: tensor '%s' is missing from the checkpoint",
                          where, s->name);
        } else if (src) {
            rc = dbj_fail(err, cap, src, "%s: tensor '%s': cannot read its shape", where, s->name);
        } else if (rank != s->rank || d[0] != s->dims[0] || (rank == 2 && d[1] != s->dims[1])) {
            char got[128], want[64];
            dims_str(got, sizeof got, rank < 0 || rank > 8 ? 0 : rank, d);
            dims_str(want, sizeof want, s->rank, s->dims);
            rc = dbj_fail(err, cap, BALDRO_EINVAL,
                          "%s: tensor '%s' has shape [%s] but config.json implies [%s]", where,
                          s->name, got, want);
        }
        total += (size_t)s->dims[0] * (size_t)(s->rank == 2 ? s->dims[1] : 1);
    }
    if (!rc) {
        m->block = g_try_new(float, total);
        if (!m->block)
            rc = dbj_fail(err, cap, BALDRO_ENOMEM, "%s: out of memory for %zu weights", where,
                          total);
    }
    size_t at = 0;
    for (guint i = 0; i < specs->len && !rc; i++) {
        const wspec *s = &g_array_index(specs, wspec, i);
        size_t k = (size_t)s->dims[0] * (size_t)(s->rank == 2 ? s->dims[1] : 1);
        *s->dst = m->block + at;
        at += k;
        rc = w->read_f32(w->ctx, s->name, *s->dst, k, err, cap);
        if (rc && err && cap && !err[0])
            dbj_fail(err, cap, rc, "%s: tensor '%s': cannot read", where, s->name);
    }
    g_array_free(specs, TRUE);
    if (rc) {
        distilbert_free(m);
        return rc;
    }
    *out = m;
    return BALDRO_OK;
}

void distilbert_free(distilbert *m) {
    if (!m) return;
    distilbert_config_clear(&m->cfg);
    g_free(m->block);
    g_free(m->layers);
    g_free(m);
}

const distilbert_config *distilbert_get_config(const distilbert *m) {
    return &m->cfg;
}

/* ---- forward ----------------------------------------------------------------------- */

size_t distilbert_scratch_floats(const distilbert_config *cfg, int32_t T) {
    size_t t = (size_t)(T > 0 ? T : 1), D = (size_t)cfg->dim, F = (size_t)cfg->hidden_dim;
    /* x, q, k, v, ctx, tmp [T, D]; h [T, F]; scores [T, T]; pooled [D] */
    return 6 * t * D + t * F + t * t + D;
}

/* y[T, out] = x[T, in] W^T + b, W [out, in]. */
static void linear(const float *x, int32_t T, int32_t in, const float *W, const float *b,
                   int32_t out, float *y) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1.0f, x, in, W, in, 0.0f, y,
                out);
    for (int32_t t = 0; t < T; t++)
        for (int32_t j = 0; j < out; j++) y[(size_t)t * out + j] += b[j];
}

/* Each row of x[T, D] := LayerNorm(x) * w + b (biased variance, eps LN_EPS). */
static void layernorm(float *x, int32_t T, int32_t D, const float *w, const float *b) {
    for (int32_t t = 0; t < T; t++) {
        float *r = x + (size_t)t * D;
        double mean = 0, var = 0;
        for (int32_t j = 0; j < D; j++) mean += r[j];
        mean /= D;
        for (int32_t j = 0; j < D; j++) var += (r[j] - mean) * (r[j] - mean);
        double inv = 1.0 / sqrt(var / D + LN_EPS);
        for (int32_t j = 0; j < D; j++) r[j] = (float)((r[j] - mean) * inv * w[j] + b[j]);
    }
}

int distilbert_forward(const distilbert *m, const int32_t *ids, int32_t T, float *scratch,
                       float *logits, char *err, size_t cap) {
    const distilbert_config *c = &m->cfg;
    const int32_t D = c->dim, F = c->hidden_dim, H = c->n_heads, dh = D / H;
    if (T < 1 || T > c->max_pos)
        return dbj_fail(err, cap, BALDRO_EINVAL,
                        "distilbert: %d tokens (1 to max_position_embeddings %d)", T, c->max_pos);
    for (int32_t t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return dbj_fail(err, cap, BALDRO_EINVAL,
                            "distilbert: token id %d is outside config.json vocab_size %d", ids[t],
                            c->vocab_size);
    const size_t TD = (size_t)T * D;
    float *x = scratch, *q = x + TD, *k = q + TD, *v = k + TD, *ctx = v + TD, *tmp = ctx + TD;
    float *h = tmp + TD, *s = h + (size_t)T * F, *pooled = s + (size_t)T * T;

    /* Embeddings: word[ids] + position[0..T), then LayerNorm. x [T, D] */
    for (int32_t t = 0; t < T; t++)
        for (int32_t j = 0; j < D; j++)
            x[(size_t)t * D + j] = m->word[(size_t)ids[t] * D + j] + m->pos[(size_t)t * D + j];
    layernorm(x, T, D, m->eln_w, m->eln_b);

    const double scale = 1.0 / sqrt((double)dh);
    for (int32_t l = 0; l < c->n_layers; l++) {
        const dlayer *L = &m->layers[l];
        linear(x, T, D, L->wq, L->bq, D, q); /* q, k, v [T, D] */
        linear(x, T, D, L->wk, L->bk, D, k);
        linear(x, T, D, L->wv, L->bv, D, v);
        for (int32_t hd = 0; hd < H; hd++) {
            const size_t o = (size_t)hd * dh;
            /* s [T, T] = softmax(q_h k_h^T / sqrt(dh)) by rows */
            for (int32_t i = 0; i < T; i++) {
                float *row = s + (size_t)i * T;
                double mx = -INFINITY, sum = 0;
                for (int32_t j = 0; j < T; j++) {
                    double dot = 0;
                    for (int32_t e = 0; e < dh; e++)
                        dot += (double)q[(size_t)i * D + o + e] * k[(size_t)j * D + o + e];
                    row[j] = (float)(dot * scale);
                    if (row[j] > mx) mx = row[j];
                }
                for (int32_t j = 0; j < T; j++) sum += exp(row[j] - mx);
                for (int32_t j = 0; j < T; j++) row[j] = (float)(exp(row[j] - mx) / sum);
            }
            /* ctx[:, head h] [T, dh] = s v_h */
            for (int32_t i = 0; i < T; i++)
                for (int32_t e = 0; e < dh; e++) {
                    double acc = 0;
                    for (int32_t j = 0; j < T; j++)
                        acc += (double)s[(size_t)i * T + j] * v[(size_t)j * D + o + e];
                    ctx[(size_t)i * D + o + e] = (float)acc;
                }
        }
        linear(ctx, T, D, L->wo, L->bo, D, tmp); /* attention output [T, D] */
        for (size_t i = 0; i < TD; i++) x[i] += tmp[i];
        layernorm(x, T, D, L->ln1_w, L->ln1_b);
        linear(x, T, D, L->w1, L->b1, F, h); /* h [T, F] */
        for (size_t i = 0; i < (size_t)T * F; i++) {
            double a = h[i];
            h[i] = c->gelu ? (float)(0.5 * a * (1.0 + erf(a * M_SQRT1_2))) : (float)(a > 0 ? a : 0);
        }
        linear(h, T, F, L->w2, L->b2, D, tmp); /* [T, D] */
        for (size_t i = 0; i < TD; i++) x[i] += tmp[i];
        layernorm(x, T, D, L->ln2_w, L->ln2_b);
    }
    /* Head on the [CLS] row: pooled [D] = ReLU(pre_classifier(x[0])); logits [C]. */
    for (int32_t j = 0; j < D; j++) {
        double acc = m->pre_b[j];
        for (int32_t e = 0; e < D; e++) acc += (double)m->pre_w[(size_t)j * D + e] * x[e];
        pooled[j] = acc > 0 ? (float)acc : 0.0f;
    }
    for (int32_t j = 0; j < c->n_classes; j++) {
        double acc = m->cls_b[j];
        for (int32_t e = 0; e < D; e++) acc += (double)m->cls_w[(size_t)j * D + e] * pooled[e];
        logits[j] = (float)acc;
    }
    return BALDRO_OK;
}

/* ---- classifier -------------------------------------------------------------------- */

int distilbert_classifier_open(const char *dir, const baldro_weights *w,
                               distilbert_classifier **out, char *err, size_t cap) {
    *out = NULL;
    char *path = g_build_filename(dir, "config.json", NULL), *text = NULL;
    gsize len = 0;
    GError *ge = NULL;
    int rc = BALDRO_OK;
    if (!g_file_get_contents(path, &text, &len, &ge)) {
        rc = dbj_fail(err, cap,
                      g_error_matches(ge, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? BALDRO_ENOTFOUND
                                                                            : BALDRO_EIO,
                      "%s: cannot read: %s", path, ge->message);
        g_error_free(ge);
        g_free(path);
        return rc;
    }
    distilbert_config cfg;
    rc = distilbert_config_parse(text, len, path, &cfg, err, cap);
    g_free(text);
    g_free(path);
    if (rc) return rc;
    distilbert_classifier *c = g_new0(distilbert_classifier, 1);
    c->dir = g_strdup(dir);
    rc = wordpiece_load_dir(dir, &c->tok, err, cap);
    if (!rc) {
        /* Shape errors name the weights file (the index of a sharded checkpoint). */
        char *wf = g_build_filename(dir, "model.safetensors.index.json", NULL);
        if (!g_file_test(wf, G_FILE_TEST_EXISTS)) {
            g_free(wf);
            wf = g_build_filename(dir, "model.safetensors", NULL);
        }
        rc = distilbert_load(&cfg, w, wf, &c->model, err, cap);
        g_free(wf);
    }
    distilbert_config_clear(&cfg);
    if (rc) {
        distilbert_classifier_close(c);
        return rc;
    }
    *out = c;
    return BALDRO_OK;
}

void distilbert_classifier_close(distilbert_classifier *c) {
    if (!c) return;
    distilbert_free(c->model);
    wordpiece_free(c->tok);
    g_free(c->dir);
    g_free(c);
}

int distilbert_classify(const distilbert_classifier *c, const char *const *texts, size_t n,
                        int32_t max_length, float *logits, char *err, size_t cap) {
    const distilbert_config *cfg = &c->model->cfg;
    int32_t ns = wordpiece_n_special(c->tok);
    if (max_length < 1 || max_length < ns || max_length > (1 << 20))
        return dbj_fail(err, cap, BALDRO_EINVAL,
                        "%s: max_length %d is outside [%d, 1048576] (the tokenizer's template "
                        "adds %d tokens)",
                        c->dir, max_length, ns > 1 ? ns : 1, ns);
    if (n && (!texts || !logits))
        return dbj_fail(err, cap, BALDRO_EINVAL, "%s: classify: NULL texts or logits", c->dir);
    if (!n) return BALDRO_OK;
    int32_t T_max = max_length < cfg->max_pos ? max_length : cfg->max_pos;
    /* The one scratch allocation: ids [max_length], then the forward's floats. */
    size_t nf = distilbert_scratch_floats(cfg, T_max);
    void *block = g_try_malloc((size_t)max_length * sizeof(int32_t) + nf * sizeof(float));
    if (!block) return dbj_fail(err, cap, BALDRO_ENOMEM, "%s: out of memory", c->dir);
    int32_t *ids = block;
    float *scratch = (float *)(void *)(ids + max_length);
    wordpiece_work *work = wordpiece_work_new();
    int rc = BALDRO_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t T = 0;
        if (!texts[i]) {
            rc = dbj_fail(err, cap, BALDRO_EINVAL, "%s: text %zu is NULL", c->dir, i);
            break;
        }
        rc = wordpiece_encode(c->tok, work, texts[i], strlen(texts[i]), max_length, ids, &T, err,
                              cap);
        if (!rc && T > cfg->max_pos)
            rc = dbj_fail(err, cap, BALDRO_EINVAL,
                          "%s: text %zu has %d tokens but config.json max_position_embeddings "
                          "is %d (lower max_length)",
                          c->dir, i, T, cfg->max_pos);
        for (int32_t t = 0; !rc && t < T; t++)
            if (ids[t] > cfg->vocab_size - 1)
                rc = dbj_fail(err, cap, BALDRO_EINVAL,
                              "%s: text %zu: the tokenizer gives id %d but config.json "
                              "vocab_size is %d",
                              c->dir, i, ids[t], cfg->vocab_size);
        if (!rc && T < 1)
            rc = dbj_fail(err, cap, BALDRO_EINVAL,
                          "%s: text %zu has no tokens (the tokenizer adds no [CLS])", c->dir, i);
        if (!rc)
            rc = distilbert_forward(c->model, ids, T, scratch, logits + i * (size_t)cfg->n_classes,
                                    err, cap);
    }
    wordpiece_work_free(work);
    g_free(block);
    return rc;
}

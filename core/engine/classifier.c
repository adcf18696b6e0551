/* core/engine/classifier.c: see classifier.h. */
#include "engine/classifier.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "io/json_strict.h"
#include "io/safetensors.h"

struct baldro_classifier {
    const baldro_classifier_vtable *vt; /* the registry's copy (lives as long as it) */
    void *state;
    char *dir;
    int32_t n_classes;
};

/* ---- the baldro_weights a plugin's open() reads ------------------------------------ */

typedef struct weights_ctx {
    const baldro_st_set *set;
} weights_ctx;

static int w_shape(void *ctx, const char *name, int32_t *rank, int64_t dims[8]) {
    const baldro_st_tensor *t = name ? baldro_st_set_find(((weights_ctx *)ctx)->set, name) : NULL;
    if (!t) return BALDRO_ENOTFOUND;
    *rank = t->ndim;
    for (int32_t i = 0; i < 8; i++) dims[i] = i < t->ndim ? t->shape[i] : 0;
    return BALDRO_OK;
}

static int w_read_f32(void *ctx, const char *name, float *dst, size_t n, char *err,
                      size_t err_cap) {
    baldro_error e = {0};
    int rc = baldro_st_set_read_f32(((weights_ctx *)ctx)->set, name, dst, n, &e);
    if (rc && err && err_cap) g_strlcpy(err, e.msg, err_cap);
    return rc;
}

/* ---- open / close ------------------------------------------------------------------ */

static char *loaded_names(const baldro_registry *reg) {
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < baldro_registry_count(reg); i++) {
        const baldro_object *o = baldro_registry_at(reg, i);
        if (o->kind != BALDRO_KIND_CLASSIFIER) continue;
        g_string_append_printf(s, "%s%s", s->len ? ", " : "", o->name);
    }
    if (!s->len) g_string_append(s, "none: is the distilbert plugin installed?");
    return g_string_free(s, FALSE);
}

/* config.json's model_type, strictly parsed. */
static int read_model_type(const char *path, char **out, baldro_error *err) {
    *out = NULL;
    char *text = NULL;
    gsize len = 0;
    GError *ge = NULL;
    if (!g_file_get_contents(path, &text, &len, &ge)) {
        int code =
            g_error_matches(ge, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? BALDRO_ENOTFOUND : BALDRO_EIO;
        int rc = baldro_error_set(err, code, "%s: cannot read: %s", path, ge->message);
        g_error_free(ge);
        return rc;
    }
    JsonNode *root = baldro_json_parse(text, len, path, "JSON", err);
    g_free(text);
    if (!root) return err ? err->code : BALDRO_EINVAL;
    int rc = BALDRO_OK;
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonNode *mt = o && json_object_has_member(o, "model_type")
                       ? json_object_get_member(o, "model_type")
                       : NULL;
    if (!o)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: the top level is not a JSON object", path);
    else if (!mt || !JSON_NODE_HOLDS_VALUE(mt) || json_node_get_value_type(mt) != G_TYPE_STRING)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: model_type: %s", path,
                              mt ? "not a string" : "missing (which classifier is this?)");
    else
        *out = g_strdup(json_node_get_string(mt));
    json_node_unref(root);
    return rc;
}

int baldro_classifier_open(const baldro_registry *reg, const char *dir, baldro_classifier **out,
                           baldro_error *err) {
    *out = NULL;
    if (!reg || !dir || !*dir)
        return baldro_error_set(err, BALDRO_EINVAL, "classifier: no registry or directory");
    char *cfg = g_build_filename(dir, "config.json", NULL), *type = NULL;
    int rc = read_model_type(cfg, &type, err);
    const baldro_object *obj = NULL;
    if (rc == BALDRO_OK) {
        obj = baldro_registry_find(reg, BALDRO_KIND_CLASSIFIER, type);
        if (!obj) {
            char *names = loaded_names(reg);
            char *shown = g_strescape(type, NULL);
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: model_type: no loaded classifier serves '%.80s' (loaded "
                                  "classifiers: %s)",
                                  cfg, shown, names);
            g_free(shown);
            g_free(names);
        }
    }
    baldro_st_set *set = NULL;
    if (rc == BALDRO_OK) rc = baldro_st_open_index(dir, &set, err);
    if (rc == BALDRO_OK) {
        weights_ctx wc = {set};
        baldro_weights w = {.struct_size = sizeof(baldro_weights),
                            .ctx = &wc,
                            .shape = w_shape,
                            .read_f32 = w_read_f32};
        char msg[BALDRO_ERROR_MSG_MAX] = "";
        void *state = NULL;
        const baldro_classifier_vtable *vt = &obj->vt.classifier;
        int prc = vt->open(&state, dir, &w, msg, sizeof msg);
        if (prc != BALDRO_OK) {
            if (state) vt->close(state);
            for (char *p = msg; *p; p++)
                if (*p == '\n' || *p == '\r') *p = ' ';
            rc = msg[0] ? baldro_error_set(err, prc, "%s", msg)
                        : baldro_error_set(err, prc,
                                           "%s: classifier '%s' failed to open it "
                                           "(status %s)",
                                           dir, obj->name, baldro_status_name(prc));
        } else {
            int32_t nc = vt->n_classes(state);
            if (nc < 1) {
                vt->close(state);
                rc = baldro_error_set(err, BALDRO_EPLUGIN,
                                      "%s: classifier '%s' reports %d "
                                      "classes",
                                      dir, obj->name, nc);
            } else {
                baldro_classifier *c = g_new0(baldro_classifier, 1);
                c->vt = vt;
                c->state = state;
                c->dir = g_strdup(dir);
                c->n_classes = nc;
                *out = c;
            }
        }
    }
    baldro_st_set_close(set); /* the weights are valid only during open() */
    g_free(type);
    g_free(cfg);
    return rc;
}

void baldro_classifier_close(baldro_classifier *c) {
    if (!c) return;
    c->vt->close(c->state);
    g_free(c->dir);
    g_free(c);
}

int32_t baldro_classifier_n_classes(const baldro_classifier *c) {
    return c->n_classes;
}

const char *baldro_classifier_class_name(const baldro_classifier *c, int32_t k) {
    if (!c->vt->class_name || k < 0 || k >= c->n_classes) return NULL;
    return c->vt->class_name(c->state, k);
}

const char *baldro_classifier_arch(const baldro_classifier *c) {
    return c->vt->name;
}

/* ---- probabilities ----------------------------------------------------------------- */

int baldro_classifier_probs(baldro_classifier *c, const char *const *texts, size_t n,
                            int32_t max_length, int32_t batch, double *probs, baldro_error *err) {
    if (!n) return BALDRO_OK;
    if (!texts || !probs)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: classifier: NULL texts or probs", c->dir);
    if (max_length < 1)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: classifier: max_length %d < 1", c->dir,
                                max_length);
    for (size_t i = 0; i < n; i++)
        if (!texts[i])
            return baldro_error_set(err, BALDRO_EINVAL, "%s: classifier: text %zu is NULL", c->dir,
                                    i);
    size_t B = batch > 0 && (size_t)batch < n ? (size_t)batch : n, C = (size_t)c->n_classes;
    float *logits = g_try_new(float, B *C);
    if (!logits) return baldro_error_set(err, BALDRO_ENOMEM, "%s: out of memory", c->dir);
    int rc = BALDRO_OK;
    for (size_t at = 0; at < n && rc == BALDRO_OK; at += B) {
        size_t m = n - at < B ? n - at : B;
        char msg[BALDRO_ERROR_MSG_MAX] = "";
        int prc = c->vt->classify(c->state, texts + at, m, max_length, logits, msg, sizeof msg);
        if (prc != BALDRO_OK) {
            for (char *p = msg; *p; p++)
                if (*p == '\n' || *p == '\r') *p = ' ';
            if (msg[0] && g_str_has_prefix(msg, c->dir)) /* names the file already */
                rc = baldro_error_set(err, prc, "%s", msg);
            else
                rc = baldro_error_set(err, prc, "%s: classifier '%s': %s", c->dir, c->vt->name,
                                      msg[0] ? msg : baldro_status_name(prc));
            break;
        }
        for (size_t i = 0; i < m && rc == BALDRO_OK; i++) {
            const float *l = logits + i * C;
            double *p = probs + (at + i) * C, mx = -INFINITY, sum = 0;
            for (size_t k = 0; k < C; k++) {
                if (!isfinite(l[k])) {
                    rc = baldro_error_set(err, BALDRO_ENUMERIC,
                                          "%s: classifier '%s': text %zu: "
                                          "logit %zu is %g",
                                          c->dir, c->vt->name, at + i, k, (double)l[k]);
                    break;
                }
                if (l[k] > mx) mx = l[k];
            }
            if (rc) break;
            for (size_t k = 0; k < C; k++) sum += p[k] = exp((double)l[k] - mx);
            for (size_t k = 0; k < C; k++) p[k] /= sum;
        }
    }
    g_free(logits);
    return rc;
}

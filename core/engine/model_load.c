/* core/engine/model_load.c: see model_load.h. */
#include "engine/model_load.h"

#include <glib.h>
#include <string.h>

static int ignorable(const baldro_model *m, const char *name) {
    if (g_str_has_suffix(name, "rotary_emb.inv_freq")) return 1;
    /* Tied: the plugin lists no lm_head.weight; a checkpoint may still carry the copy. */
    return !strcmp(name, "lm_head.weight") && !baldro_model_find_param(m, name);
}

/* A single file or a sharded set, behind the same three calls. */
typedef struct st_source {
    const baldro_st_file *file;
    const baldro_st_set *set;
    const char *path; /* for messages */
} st_source;

static size_t src_count(const st_source *s) {
    return s->file ? baldro_st_count(s->file) : baldro_st_set_count(s->set);
}
static const baldro_st_tensor *src_at(const st_source *s, size_t i) {
    return s->file ? baldro_st_at(s->file, i) : baldro_st_set_at(s->set, i);
}
static const baldro_st_tensor *src_find(const st_source *s, const char *name) {
    return s->file ? baldro_st_find(s->file, name) : baldro_st_set_find(s->set, name);
}
static int src_read(const st_source *s, const char *name, float *dst, size_t n,
                    baldro_error *err) {
    return s->file ? baldro_st_read_f32(s->file, name, dst, n, err)
                   : baldro_st_set_read_f32(s->set, name, dst, n, err);
}

static int load_from(baldro_model *m, const st_source *src, baldro_error *err) {
    const char *path = src->path;
    const baldro_param *p;
    int32_t n;
    baldro_model_params(m, &p, &n);
    for (size_t i = 0; i < src_count(src); i++) {
        const baldro_st_tensor *t = src_at(src, i);
        if (!baldro_model_find_param(m, t->name) && !ignorable(m, t->name))
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: tensor '%s' is not a parameter of this %s model "
                                    "(wrong architecture or config.json?)", path, t->name,
                                    baldro_model_arch(m));
    }
    size_t max_n = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t k = (size_t)baldro_tensor_numel(&p[i].value);
        if (k > max_n) max_n = k;
    }
    float *buf = g_try_new(float, max_n ? max_n : 1);
    if (!buf) return baldro_error_set(err, BALDRO_ENOMEM, "%s: out of memory", path);
    const baldro_ops *o = baldro_model_ops(m);
    baldro_backend *be = baldro_model_backend(m);
    int rc = BALDRO_OK;
    for (int32_t i = 0; i < n && rc == BALDRO_OK; i++) {
        const baldro_st_tensor *t = src_find(src, p[i].name);
        if (!t) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s' is missing", path,
                                  p[i].name);
            break;
        }
        int same = t->ndim == p[i].value.ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == p[i].value.shape[d];
        if (!same) {
            char a[96] = "", b[96] = "";
            for (int d = 0; d < t->ndim; d++)
                g_snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? ", " : "",
                           (long long)t->shape[d]);
            for (int d = 0; d < p[i].value.ndim; d++)
                g_snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", d ? ", " : "",
                           (long long)p[i].value.shape[d]);
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: tensor '%s' has shape [%s] but config.json implies [%s]",
                                  path, p[i].name, a, b);
            break;
        }
        size_t k = (size_t)baldro_tensor_numel(&p[i].value);
        if ((rc = src_read(src, p[i].name, buf, k, err))) break;
        if ((rc = o->upload(be, p[i].value.data, buf, k * sizeof(float))))
            rc = baldro_error_set(err, rc, "%s: %s", path, o->last_error(be));
    }
    g_free(buf);
    return rc;
}

int baldro_model_load_st_file(baldro_model *m, const baldro_st_file *f, baldro_error *err) {
    st_source src = {.file = f, .path = baldro_st_path(f)};
    return load_from(m, &src, err);
}

int baldro_model_load_st_set(baldro_model *m, const baldro_st_set *set, const char *path,
                             baldro_error *err) {
    st_source src = {.set = set, .path = path};
    return load_from(m, &src, err);
}

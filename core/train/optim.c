/* core/train/optim.c: see optim.h. */
#include "train/optim.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "util/fsutil.h"

struct baldro_optimizer {
    baldro_model *model;
    baldro_adamw_config cfg;
    const baldro_ops *ops;
    baldro_backend *be;
    void *block;            /* m and v for every parameter                          */
    baldro_tensor *m, *v;   /* [n_params], views into block, shaped like the grads  */
    int32_t n;
    size_t bytes;
    int64_t steps;
};

int baldro_optim_new(baldro_model *model, const baldro_adamw_config *c, baldro_optimizer **out,
                     baldro_error *err) {
    *out = NULL;
    const baldro_param *p;
    int32_t n;
    baldro_model_params(model, &p, &n);
    for (int32_t i = 0; i < n; i++)
        if (!p[i].grad.data)
            return baldro_error_set(err, BALDRO_ESTATE,
                                    "optimizer: parameter '%s' has no gradient (model not "
                                    "created for training)", p[i].name);
    if (!(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1 && c->eps > 0 &&
          c->weight_decay >= 0))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "optimizer: betas must be in [0, 1), eps > 0, weight_decay >= 0");
    baldro_optimizer *o = g_new0(baldro_optimizer, 1);
    o->model = model;
    o->cfg = *c;
    o->ops = baldro_model_ops(model);
    o->be = baldro_model_backend(model);
    o->n = n;
    o->m = g_new0(baldro_tensor, (size_t)n);
    o->v = g_new0(baldro_tensor, (size_t)n);
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) off += (baldro_tensor_bytes(&p[i].grad) + 63) & ~(size_t)63;
    o->bytes = 2 * off;
    int rc = o->ops->alloc(o->be, o->bytes ? o->bytes : 64, &o->block);
    if (rc) {
        baldro_error_set(err, rc, "optimizer: cannot allocate %.1f MiB of AdamW state: %s",
                         (double)o->bytes / 1048576.0, o->ops->last_error(o->be));
        baldro_optim_free(o);
        return rc;
    }
    char *base = o->block;
    size_t at = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t b = (baldro_tensor_bytes(&p[i].grad) + 63) & ~(size_t)63;
        o->m[i] = p[i].grad;
        o->m[i].data = base + at;
        o->v[i] = p[i].grad;
        o->v[i].data = base + off + at;
        at += b;
    }
    *out = o;
    return BALDRO_OK;
}

void baldro_optim_free(baldro_optimizer *o) {
    if (!o) return;
    if (o->block) o->ops->free(o->be, o->block);
    g_free(o->m);
    g_free(o->v);
    g_free(o);
}

int64_t baldro_optim_steps_done(const baldro_optimizer *o) { return o->steps; }
size_t baldro_optim_state_bytes(const baldro_optimizer *o) { return o->bytes; }

float baldro_lr_linear(int64_t k, int64_t warmup, int64_t total, float base_lr) {
    /* Evaluated in double and rounded once, like LambdaLR's python floats. */
    double f;
    if (k < warmup) f = (double)k / (double)(warmup > 1 ? warmup : 1);
    else {
        int64_t d = total - warmup;
        f = (double)(total - k) / (double)(d > 1 ? d : 1);
        if (f < 0) f = 0;
    }
    return (float)((double)base_lr * f);
}

int baldro_optim_step(baldro_optimizer *o, float lr, double *grad_norm, baldro_error *err) {
    const baldro_param *p;
    int32_t n;
    baldro_model_params(o->model, &p, &n);
    double ss = 0;
    for (int32_t i = 0; i < n; i++) {
        double s;
        int rc = o->ops->sumsq(o->be, &p[i].grad, &s);
        if (rc) return baldro_error_set(err, rc, "optimizer: %s", o->ops->last_error(o->be));
        ss += s;
    }
    double norm = sqrt(ss);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm))
        return baldro_error_set(err, BALDRO_ENUMERIC,
                                "optimizer: gradient norm is %g at update %lld; parameters left "
                                "unchanged", norm, (long long)o->steps + 1);
    if (o->cfg.max_grad_norm > 0) {
        double coef = (double)o->cfg.max_grad_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (int32_t i = 0; i < n; i++) {
                baldro_tensor g = p[i].grad;
                int rc = o->ops->scale(o->be, &g, (float)coef);
                if (rc)
                    return baldro_error_set(err, rc, "optimizer: %s", o->ops->last_error(o->be));
            }
    }
    o->steps++;
    baldro_adamw_args a = {
        .struct_size = sizeof a, .lr = lr, .beta1 = o->cfg.beta1, .beta2 = o->cfg.beta2,
        .eps = o->cfg.eps,
        .bias_correction1 = (float)(1.0 - pow((double)o->cfg.beta1, (double)o->steps)),
        .bias_correction2 = (float)(1.0 - pow((double)o->cfg.beta2, (double)o->steps)),
    };
    for (int32_t i = 0; i < n; i++) {
        baldro_tensor v = p[i].value;
        a.weight_decay = p[i].no_decay ? 0.0f : o->cfg.weight_decay;
        int rc = o->ops->adamw(o->be, &v, &p[i].grad, &o->m[i], &o->v[i], &a);
        if (rc) return baldro_error_set(err, rc, "optimizer: %s", o->ops->last_error(o->be));
    }
    return BALDRO_OK;
}

/* ---- state files -------------------------------------------------------------------------
 * "BLDROPT1", u32 version (1), i64 updates done, u32 n_params, then per parameter:
 * u32 name length, name bytes, u64 bytes, m bytes, v bytes (the backend's raw layout).
 * Little-endian host order; the loader checks names and sizes against the model. */
#define OPT_MAGIC "BLDROPT1"
#define OPT_VERSION 1u

int baldro_optim_save(const baldro_optimizer *o, const char *path, baldro_error *err) {
    const baldro_param *p;
    int32_t n;
    baldro_model_params(o->model, &p, &n);
    baldro_atomic_file af;
    int rc = baldro_atomic_open(path, &af, err);
    if (rc) return rc;
    uint32_t ver = OPT_VERSION, nn = (uint32_t)n;
    int64_t steps = o->steps;
    baldro_atomic_write(&af, OPT_MAGIC, 8);
    baldro_atomic_write(&af, &ver, 4);
    baldro_atomic_write(&af, &steps, 8);
    baldro_atomic_write(&af, &nn, 4);
    void *host = NULL;
    size_t cap = 0;
    for (int32_t i = 0; i < n && rc == BALDRO_OK; i++) {
        uint32_t nl = (uint32_t)strlen(p[i].name);
        uint64_t b = baldro_tensor_bytes(&o->m[i]);
        baldro_atomic_write(&af, &nl, 4);
        baldro_atomic_write(&af, p[i].name, nl);
        baldro_atomic_write(&af, &b, 8);
        if (b > cap) {
            g_free(host);
            host = g_malloc(b);
            cap = b;
        }
        for (int k = 0; k < 2 && rc == BALDRO_OK; k++) {
            const baldro_tensor *t = k ? &o->v[i] : &o->m[i];
            rc = o->ops->download(o->be, host, t->data, b);
            if (rc) rc = baldro_error_set(err, rc, "%s: %s", path, o->ops->last_error(o->be));
            else baldro_atomic_write(&af, host, b);
        }
    }
    g_free(host);
    if (rc) {
        baldro_atomic_abort(&af);
        return rc;
    }
    return baldro_atomic_commit(&af, err);
}

int baldro_optim_load(baldro_optimizer *o, const char *path, baldro_error *err) {
    const baldro_param *p;
    int32_t n;
    baldro_model_params(o->model, &p, &n);
    GMappedFile *mf = NULL;
    GError *ge = NULL;
    mf = g_mapped_file_new(path, FALSE, &ge);
    if (!mf) {
        int rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", path, ge->message);
        g_error_free(ge);
        return rc;
    }
    const char *d = g_mapped_file_get_contents(mf);
    size_t len = g_mapped_file_get_length(mf), at = 0;
    int rc = BALDRO_OK;
#define NEED(k, what)                                                                          \
    do {                                                                                       \
        if (rc == BALDRO_OK && len - at < (size_t)(k))                                         \
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: truncated at %s (offset %zu)",     \
                                  path, what, at);                                             \
    } while (0)
    uint32_t ver = 0, nn = 0;
    int64_t steps = 0;
    NEED(24, "the header");
    if (rc == BALDRO_OK && memcmp(d, OPT_MAGIC, 8) != 0)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: not a baldro optimizer state (magic)", path);
    if (rc == BALDRO_OK) {
        memcpy(&ver, d + 8, 4);
        memcpy(&steps, d + 12, 8);
        memcpy(&nn, d + 20, 4);
        at = 24;
        if (ver != OPT_VERSION)
            rc = baldro_error_set(err, BALDRO_EVERSION, "%s: version %u, this build reads %u",
                                  path, ver, OPT_VERSION);
        else if (nn != (uint32_t)n || steps < 0)
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: holds %u parameters, the model has %d", path, nn, n);
    }
    for (int32_t i = 0; i < n && rc == BALDRO_OK; i++) {
        uint32_t nl;
        uint64_t b;
        NEED(4, "a name length");
        if (rc) break;
        memcpy(&nl, d + at, 4);
        at += 4;
        NEED(nl, "a name");
        if (rc) break;
        if (nl != strlen(p[i].name) || memcmp(d + at, p[i].name, nl) != 0) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: parameter %d is not '%s'", path, i,
                                  p[i].name);
            break;
        }
        at += nl;
        NEED(8, "a size");
        if (rc) break;
        memcpy(&b, d + at, 8);
        at += 8;
        if (b != baldro_tensor_bytes(&o->m[i])) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: '%s' has %llu bytes, the model %zu",
                                  path, p[i].name, (unsigned long long)b,
                                  baldro_tensor_bytes(&o->m[i]));
            break;
        }
        NEED(2 * b, p[i].name);
        for (int k = 0; k < 2 && rc == BALDRO_OK; k++) {
            const baldro_tensor *t = k ? &o->v[i] : &o->m[i];
            rc = o->ops->upload(o->be, t->data, d + at, b);
            if (rc) rc = baldro_error_set(err, rc, "%s: %s", path, o->ops->last_error(o->be));
            at += b;
        }
    }
    if (rc == BALDRO_OK && at != len)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %zu bytes left over", path, len - at);
#undef NEED
    if (rc == BALDRO_OK) o->steps = steps;
    g_mapped_file_unref(mf);
    return rc;
}

/* core/train/optim.c: see optim.h. */
#include "train/optim.h"

#include <glib.h>
#include <math.h>

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

/*
 * core/backend/cpu/cpu_adamw.c: one AdamW step, in torch.optim.AdamW's order of
 * operations (single-tensor fp32 path), so a run can be compared with PyTorch's:
 *
 *   p = p * (1 - lr * wd)                       decoupled decay, before the moments
 *   m = lerp(m, g, 1 - beta1)                    torch's exp_avg.lerp_: m + w (g - m)
 *   v = beta2 * v + (1 - beta2) * (g * g)        mul_ then addcmul_
 *   p = p + (-lr / bc1) * (m / (sqrt(v) / sqrt(bc2) + eps))
 *
 * The scalar factors (1 - lr*wd, lr/bc1, sqrt(bc2)) are formed in double and rounded
 * to float once, as PyTorch does with its Python-float scalars.
 * Shapes: param, grad, m, v with the same number of elements.
 */
#include <math.h>
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

typedef struct cpu_adamw_k {
    float decay, b1, omb1, b2, omb2, step, bc2s, eps;
    int lerp_lo; /* 1 - beta1 < 0.5 */
} cpu_adamw_k;

CPU_HOT static void cpu_adamw_kernel(float *restrict p, const float *restrict g, float *restrict m,
                                     float *restrict v, int64_t n, const cpu_adamw_k *kp) {
    const cpu_adamw_k k = *kp;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i] * k.decay;
        /* torch's lerp kernel: weight < 0.5 ? m + w (g - m) : g - (g - m)(1 - w). */
        float mi = k.lerp_lo ? m[i] + k.omb1 * (gi - m[i]) : gi - (gi - m[i]) * k.b1;
        float vi = k.b2 * v[i] + k.omb2 * (gi * gi);
        /* sqrtf keeps this loop scalar (its errno path is a branch); the step is
         * memory-bound anyway: 4 floats read and 3 written per parameter. */
        float den = sqrtf(vi) / k.bc2s + k.eps;
        p[i] = pi + k.step * (mi / den);
        m[i] = mi;
        v[i] = vi;
    }
}

int cpu_adamw(baldro_backend *be, baldro_tensor *param, const baldro_tensor *grad, baldro_tensor *m,
              baldro_tensor *v, const baldro_adamw_args *a) {
    BK_TRY(bk_check_adamw(be, param, grad, m, v, a));
    int64_t n = baldro_tensor_numel(grad);
    cpu_adamw_k k = {
        .decay = (float)(1.0 - (double)a->lr * (double)a->weight_decay),
        .b1 = a->beta1,
        .omb1 = (float)(1.0 - (double)a->beta1),
        .lerp_lo = (1.0 - (double)a->beta1) < 0.5,
        .b2 = a->beta2,
        .omb2 = (float)(1.0 - (double)a->beta2),
        .step = (float)(-(double)a->lr / (double)a->bias_correction1),
        .bc2s = (float)sqrt((double)a->bias_correction2),
        .eps = a->eps,
    };
    float *pp = param->data, *mp = m->data, *vp = v->data;
    const float *gp = grad->data;
    int64_t nchunk = n > CPU_PAR_MIN ? be->threads : 1;
#pragma omp parallel for num_threads(be->threads) if (nchunk > 1) schedule(static)
    for (int64_t c = 0; c < nchunk; c++) {
        int64_t i0 = n * c / nchunk, i1 = n * (c + 1) / nchunk;
        cpu_adamw_kernel(pp + i0, gp + i0, mp + i0, vp + i0, i1 - i0, &k);
    }
    return BALDRO_OK;
}

/*
 * core/backend/cuda/cuda_adamw.cu: one AdamW step in torch.optim.AdamW's order of
 * operations, exactly as cpu_adamw.c (see there for the formulas):
 *
 *   p = p * (1 - lr * wd)
 *   m = lerp(m, g, 1 - beta1)       torch's lerp: w < 0.5 ? m + w (g - m) : g - (g - m)(1 - w)
 *   v = beta2 * v + (1 - beta2) * (g * g)
 *   p = p + (-lr / bc1) * (m / (sqrt(v) / sqrt(bc2) + eps))
 *
 * The scalar factors are formed in double on the host and rounded to float once, as
 * PyTorch does with its Python-float scalars. sqrtf and the divisions are IEEE-rounded
 * (nvcc's defaults without fast-math).
 *
 * bf16 mode: the fp32 parameter is the master copy. When the backend holds a bf16 working
 * copy of it (the GEMMs' weight operand, cuda_gemm.c), this same kernel writes the new
 * value there too, rounded to nearest even (core/backend/bf16.h): the copy never goes
 * stale across a step and needs no conversion pass of its own.
 */
#include <math.h>

#include "backend/bf16.h"
#include "backend/cuda/cuda_internal.h"

#define ADAMW_THREADS 256
#define ADAMW_MAX_BLOCKS 65535u

typedef struct cuda_adamw_k {
    float decay, b1, omb1, b2, omb2, step, bc2s, eps;
    int lerp_lo; /* 1 - beta1 < 0.5 */
} cuda_adamw_k;

__global__ void k_adamw(float *p, const float *g, float *m, float *v, uint16_t *p16, int64_t n,
                        cuda_adamw_k k) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float gi = g[i], mi0 = m[i];
        float pi = p[i] * k.decay;
        float mi = k.lerp_lo ? mi0 + k.omb1 * (gi - mi0) : gi - (gi - mi0) * k.b1;
        float vi = k.b2 * v[i] + k.omb2 * (gi * gi);
        float den = sqrtf(vi) / k.bc2s + k.eps;
        float pn = pi + k.step * (mi / den);
        p[i] = pn;
        if (p16) p16[i] = bk_f32_to_bf16(pn);
        m[i] = mi;
        v[i] = vi;
    }
}

int cuda_adamw(baldro_backend *be, baldro_tensor *param, const baldro_tensor *grad,
               baldro_tensor *m, baldro_tensor *v, const baldro_adamw_args *a) {
    const char *op = "adamw";
    BK_TRY(bk_check_adamw(be, param, grad, m, v, a));
    int64_t n = baldro_tensor_numel(grad);
    cuda_adamw_k k;
    k.decay = (float)(1.0 - (double)a->lr * (double)a->weight_decay);
    k.b1 = a->beta1;
    k.omb1 = (float)(1.0 - (double)a->beta1);
    k.lerp_lo = (1.0 - (double)a->beta1) < 0.5;
    k.b2 = a->beta2;
    k.omb2 = (float)(1.0 - (double)a->beta2);
    k.step = (float)(-(double)a->lr / (double)a->bias_correction1);
    k.bc2s = (float)sqrt((double)a->bias_correction2);
    k.eps = a->eps;
    if (n == 0) return BALDRO_OK;
    cuda_wrote_t(be, m);
    cuda_wrote_t(be, v);
    uint16_t *p16 = cuda_bf16_adamw_copy(be, param->data, n);
    unsigned cap = (unsigned)cuda_st(be)->n_sm * 32u;
    if (cap < 1 || cap > ADAMW_MAX_BLOCKS) cap = ADAMW_MAX_BLOCKS;
    k_adamw<<<cuda_grid(n, ADAMW_THREADS, cap), ADAMW_THREADS, 0, cuda_stream(be)>>>(
        (float *)param->data, (const float *)grad->data, (float *)m->data, (float *)v->data, p16,
        n, k);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

/*
 * core/backend/cuda/cuda_swiglu.cu: the SwiGLU activation out = silu(gate) * up, with
 * silu(g) = g / (1 + exp(-g)) (PyTorch's formula), and its backward
 *   dgate = dout * up * s * (1 + g * (1 - s)),  dup = dout * silu(g),  s = sigmoid(g),
 * as cpu_swiglu.c. expf is the accurate one (no fast-math), within 2 ulp.
 *
 * dgate may alias gate and dup may alias up: each thread reads its element's g, u and
 * dout before it writes that element's gradients, so the aliasing is harmless.
 */
#include "backend/cuda/cuda_internal.h"

#define SWIGLU_THREADS 256
#define SWIGLU_MAX_BLOCKS 65535u

__global__ void k_swiglu_fwd(float *out, const float *g, const float *u, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float gi = g[i];
        out[i] = gi / (1.0f + expf(-gi)) * u[i];
    }
}

__global__ void k_swiglu_bwd(float *dg, float *du, const float *d, const float *g, const float *u,
                             int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float gi = g[i], ui = u[i], di = d[i];
        float den = 1.0f + expf(-gi), s = 1.0f / den;
        float dui = di * (gi / den); /* silu(g) exactly as the forward rounds it */
        float dgi = di * ui * (s * (1.0f + gi * (1.0f - s)));
        du[i] = dui;
        dg[i] = dgi;
    }
}

static unsigned swiglu_grid(baldro_backend *be, int64_t n) {
    unsigned cap = (unsigned)cuda_st(be)->n_sm * 32u;
    if (cap < 1 || cap > SWIGLU_MAX_BLOCKS) cap = SWIGLU_MAX_BLOCKS;
    return cuda_grid(n, SWIGLU_THREADS, cap);
}

int cuda_swiglu_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *gate,
                    const baldro_tensor *up) {
    const char *op = "swiglu_fwd";
    BK_TRY(bk_check_swiglu_fwd(be, out, gate, up));
    cuda_wrote_t(be, out);
    int64_t n = baldro_tensor_numel(gate);
    if (n == 0) return BALDRO_OK;
    k_swiglu_fwd<<<swiglu_grid(be, n), SWIGLU_THREADS, 0, cuda_stream(be)>>>(
        (float *)out->data, (const float *)gate->data, (const float *)up->data, n);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_swiglu_bwd(baldro_backend *be, baldro_tensor *dgate, baldro_tensor *dup,
                    const baldro_tensor *dout, const baldro_tensor *gate, const baldro_tensor *up) {
    const char *op = "swiglu_bwd";
    BK_TRY(bk_check_swiglu_bwd(be, dgate, dup, dout, gate, up));
    cuda_wrote_t(be, dgate);
    cuda_wrote_t(be, dup);
    int64_t n = baldro_tensor_numel(dout);
    if (n == 0) return BALDRO_OK;
    k_swiglu_bwd<<<swiglu_grid(be, n), SWIGLU_THREADS, 0, cuda_stream(be)>>>(
        (float *)dgate->data, (float *)dup->data, (const float *)dout->data,
        (const float *)gate->data, (const float *)up->data, n);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

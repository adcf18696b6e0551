/*
 * core/backend/cpu/cpu_swiglu.c: the SwiGLU activation out = silu(gate) * up, with
 * silu(g) = g / (1 + exp(-g)) (PyTorch's formula), and its backward
 *   dgate = dout * up * s * (1 + g * (1 - s)),  dup = dout * silu(g),  s = sigmoid(g).
 *
 * Shapes: gate, up, out, dout, dgate, dup all have the same number of elements
 * ([N, F] in a Llama MLP). dgate may alias gate and dup may alias up.
 */
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

/* Elements per block of the backward: inputs are copied to the stack first so that
 * the arithmetic runs on restrict (non-aliasing) buffers and vectorises even when the
 * caller's outputs alias its inputs. */
#define CPU_SWIGLU_BLOCK 256

CPU_HOT static void cpu_swiglu_fwd_kernel(float *restrict out, const float *restrict g,
                                          const float *restrict u, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) out[i] = g[i] / (1.0f + cpu_expf(-g[i])) * u[i];
}

CPU_HOT static void cpu_swiglu_bwd_block(float *restrict dg, float *restrict du,
                                         const float *restrict d, const float *restrict g,
                                         const float *restrict u, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float den = 1.0f + cpu_expf(-g[i]), s = 1.0f / den;
        du[i] = d[i] * (g[i] / den); /* silu(g) exactly as the forward rounds it */
        dg[i] = d[i] * u[i] * (s * (1.0f + g[i] * (1.0f - s)));
    }
}

/* One contiguous range [0, n) of the backward, block by block through the stack. */
static void cpu_swiglu_bwd_range(float *dg, float *du, const float *d, const float *g,
                                 const float *u, int64_t n) {
    float gb[CPU_SWIGLU_BLOCK], ub[CPU_SWIGLU_BLOCK], dgb[CPU_SWIGLU_BLOCK], dub[CPU_SWIGLU_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += CPU_SWIGLU_BLOCK) {
        int64_t m = n - i0 < CPU_SWIGLU_BLOCK ? n - i0 : CPU_SWIGLU_BLOCK;
        size_t bytes = (size_t)m * sizeof(float);
        memcpy(gb, g + i0, bytes);
        memcpy(ub, u + i0, bytes);
        /* dout is never aliased by an output (only gate and up are). */
        cpu_swiglu_bwd_block(dgb, dub, d + i0, gb, ub, m);
        memcpy(dg + i0, dgb, bytes);
        memcpy(du + i0, dub, bytes);
    }
}

int cpu_swiglu_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *gate,
                   const baldro_tensor *up) {
    BK_TRY(bk_check_swiglu_fwd(be, out, gate, up));
    int64_t n = baldro_tensor_numel(gate);
    float *o = out->data;
    const float *g = gate->data, *u = up->data;
    int64_t nchunk = n > CPU_PAR_MIN ? be->threads : 1;
#pragma omp parallel for num_threads(be->threads) if (nchunk > 1) schedule(static)
    for (int64_t c = 0; c < nchunk; c++) {
        int64_t i0 = n * c / nchunk, i1 = n * (c + 1) / nchunk;
        cpu_swiglu_fwd_kernel(o + i0, g + i0, u + i0, i1 - i0);
    }
    return BALDRO_OK;
}

int cpu_swiglu_bwd(baldro_backend *be, baldro_tensor *dgate, baldro_tensor *dup,
                   const baldro_tensor *dout, const baldro_tensor *gate, const baldro_tensor *up) {
    BK_TRY(bk_check_swiglu_bwd(be, dgate, dup, dout, gate, up));
    int64_t n = baldro_tensor_numel(dout);
    float *dg = dgate->data, *du = dup->data;
    const float *d = dout->data, *g = gate->data, *u = up->data;
    int64_t nchunk = n > CPU_PAR_MIN ? be->threads : 1;
#pragma omp parallel for num_threads(be->threads) if (nchunk > 1) schedule(static)
    for (int64_t c = 0; c < nchunk; c++) {
        int64_t i0 = n * c / nchunk, i1 = n * (c + 1) / nchunk;
        cpu_swiglu_bwd_range(dg + i0, du + i0, d + i0, g + i0, u + i0, i1 - i0);
    }
    return BALDRO_OK;
}

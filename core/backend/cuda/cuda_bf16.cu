/*
 * core/backend/cuda/cuda_bf16.cu: fp32 -> bf16 conversion of GEMM operands (bf16 mode).
 *
 * Round to nearest even with NaN kept, by the bit manipulation of core/backend/bf16.h
 * (the same function the unit tests check against a value-based reference), rather than
 * the __float2bfloat16_rn intrinsic: host and device then provably round alike.
 *
 * Pairs of elements per thread (one 8-byte load, one 4-byte store) when both pointers
 * allow it; a scalar loop otherwise and for an odd tail. Memory-bound either way.
 */
#include "backend/bf16.h"
#include "backend/cuda/cuda_internal.h"

#define CVT_THREADS 256
#define CVT_MAX_BLOCKS 65535u

/* dst[i] = bf16(src[i]), i < n: one element per grid-stride step. */
__global__ void k_f32_to_bf16(uint16_t *dst, const float *src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = bk_f32_to_bf16(src[i]);
}

/* The same for npair = n / 2 pairs: src 8-byte and dst 4-byte aligned. The low half of
 * the stored word is the first element (little-endian, as a uint16_t array reads it). */
__global__ void k_f32_to_bf16_x2(uint32_t *dst, const float2 *src, int64_t npair) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < npair;
         i += (int64_t)gridDim.x * blockDim.x) {
        float2 v = src[i];
        dst[i] = (uint32_t)bk_f32_to_bf16(v.x) | (uint32_t)bk_f32_to_bf16(v.y) << 16;
    }
}

int cuda_f32_to_bf16(baldro_backend *be, uint16_t *dst, const float *src, int64_t n,
                     const char *op) {
    if (n <= 0) return BALDRO_OK;
    unsigned cap = (unsigned)cuda_st(be)->n_sm * 32u;
    if (cap < 1 || cap > CVT_MAX_BLOCKS) cap = CVT_MAX_BLOCKS;
    cudaStream_t s = cuda_stream(be);
    int pairs = ((uintptr_t)src % 8 == 0) && ((uintptr_t)dst % 4 == 0) && n >= 2;
    if (!pairs) {
        k_f32_to_bf16<<<cuda_grid(n, CVT_THREADS, cap), CVT_THREADS, 0, s>>>(dst, src, n);
        CUDA_LAUNCHED(be, op);
        return BALDRO_OK;
    }
    int64_t np = n / 2;
    k_f32_to_bf16_x2<<<cuda_grid(np, CVT_THREADS, cap), CVT_THREADS, 0, s>>>(
        (uint32_t *)dst, (const float2 *)src, np);
    CUDA_LAUNCHED(be, op);
    if (n % 2) {
        k_f32_to_bf16<<<1, 32, 0, s>>>(dst + (n - 1), src + (n - 1), 1);
        CUDA_LAUNCHED(be, op);
    }
    return BALDRO_OK;
}

/*
 * core/backend/bf16.h: fp32 <-> bf16 by bit manipulation, one definition for the host (C)
 * and the device (CUDA C++), so the conversion kernels, the CPU emulation of them and the
 * unit tests all round the same way.
 *
 * bf16 is the upper half of an IEEE fp32: sign, 8 exponent bits, 7 mantissa bits. The
 * conversion rounds to nearest, ties to even (the rounding of torch's .to(bfloat16) and
 * of __float2bfloat16_rn): add 0x7fff plus the lowest kept bit, then drop the low 16 bits.
 * A carry out of the mantissa bumps the exponent, so values above the largest finite bf16
 * (by at least half an ulp) become infinity, as IEEE rounding says. NaN is kept a NaN:
 * the add could carry a NaN whose payload is only in the low bits into infinity, so NaNs
 * are truncated instead, with the quiet bit (0x40 of the result) set. Infinities and
 * zeros keep their sign; subnormals round like any other value (bf16 has fp32's range).
 */
#ifndef BALDRO_BF16_H
#define BALDRO_BF16_H

#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define BK_BF16_FN static __host__ __device__ __forceinline__
#else
#define BK_BF16_FN static inline
#endif

BK_BF16_FN uint32_t bk_f32_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

BK_BF16_FN float bk_bits_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* fp32 -> bf16 bits, round to nearest even, NaN kept (quiet). */
BK_BF16_FN uint16_t bk_f32_to_bf16(float f) {
    uint32_t u = bk_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* bf16 bits -> fp32 (exact). */
BK_BF16_FN float bk_bf16_to_f32(uint16_t h) {
    return bk_bits_f32((uint32_t)h << 16);
}

/* fp32 rounded to the nearest bf16, as an fp32 (what a bf16 GEMM operand holds). */
BK_BF16_FN float bk_bf16_round(float f) {
    return bk_bf16_to_f32(bk_f32_to_bf16(f));
}

#endif /* BALDRO_BF16_H */

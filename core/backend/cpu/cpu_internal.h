/*
 * core/backend/cpu/cpu_internal.h: shared by the fp32 CPU backend's files.
 *
 * The op entry points (each file implements one family; cpu_backend.c puts them in the
 * ops table), the sgemm wrapper, a vectorisable expf, and the size threshold below
 * which kernels stay on one thread.
 */
#ifndef BALDRO_CPU_INTERNAL_H
#define BALDRO_CPU_INTERNAL_H

#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "backend/backend_check.h"
#include "backend/backend_internal.h"

/* Elementwise kernels go parallel only above this many elements of work: starting a
 * team costs a few microseconds, more than a small tensor's whole loop. */
#define CPU_PAR_MIN ((int64_t)1 << 15)

/* Hot loops are compiled twice (AVX2 and baseline) and picked at load time: the build
 * has no -march flag, and 8-wide float loops double the throughput of exp-heavy rows. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define CPU_HOT __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef CPU_HOT
#define CPU_HOT
#endif

/* C = alpha op(A) op(B) + beta C, row-major, for int64 sizes that callers checked fit
 * an int. Empty products are handled here (BLAS rejects a leading dimension of 0):
 * M or N = 0 does nothing, K = 0 leaves beta C. */
void cpu_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc);

static inline uint32_t cpu_f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float cpu_u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* exp(x) in float, max error 1.4 ulp (Cephes polynomial after range reduction by
 * ln 2). exp(x) for x < -86.5 (about 3e-38, next to FLT_MIN) is 0; x > 88.72 gives
 * +inf; NaN stays NaN.
 * Written for the vectoriser: straight-line arithmetic, and the range tests are done
 * on the bit patterns with integer masks. A float comparison feeding a select makes
 * GCC (with the default -ftrapping-math) branch around the polynomial, and a loop
 * with branches does not vectorise. Loops that call it carry `#pragma omp simd`
 * (or fixed 8-wide lanes), since -O2's cost model skips loops of unknown length. */
static inline float cpu_expf(float x) {
    const uint32_t ulo = 0xc2ad0000u; /* -86.5f: bits of larger negatives compare above */
    const uint32_t uhi = 0x42b17218u; /* 88.7228390f, as a signed int: larger positives above */
    uint32_t ux = cpu_f2u(x);
    uint32_t uc = ux > ulo ? ulo : ux;          /* clamp below (and -NaN) */
    uc = (int32_t)uc > (int32_t)uhi ? uhi : uc; /* clamp above (and +NaN) */
    float xc = cpu_u2f(uc);
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick: t's low mantissa bits hold n. */
    const float magic = 12582912.0f;
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = xc - n * 0.693359375f; /* ln 2 in two parts: exact product, then the rest */
    r = r - n * -2.12194440e-4f;
    float z = r * r;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * z + r + 1.0f;
    /* 2^n = 2 * 2^(n-1): n reaches 128 at the top of the range and n >= -125 after the
     * clamp, so the biased exponent n + 126 is never negative. */
    y = y * cpu_u2f((cpu_f2u(t) - cpu_f2u(magic) + 126u) << 23) * 2.0f;
    uint32_t uy = cpu_f2u(y);
    uint32_t m_lo = 0u - (uint32_t)(ux > ulo);
    uint32_t m_hi = 0u - (uint32_t)((int32_t)ux > (int32_t)uhi);
    uint32_t m_nan = 0u - (uint32_t)((ux & 0x7fffffffu) > 0x7f800000u);
    uy = (uy & ~(m_lo | m_hi)) | (m_hi & 0x7f800000u);
    uy = (uy & ~m_nan) | (ux & m_nan);
    return cpu_u2f(uy);
}

/* ---- ops (one family per file) ------------------------------------------------- */
/* cpu_backend.c: memory and elementwise basics */
int cpu_fill(baldro_backend *be, baldro_tensor *x, float value);
int cpu_copy(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x);
int cpu_add(baldro_backend *be, baldro_tensor *y, const baldro_tensor *a, const baldro_tensor *b);
int cpu_scale(baldro_backend *be, baldro_tensor *x, float s);
int cpu_sumsq(baldro_backend *be, const baldro_tensor *x, double *out);
/* cpu_linear.c */
int cpu_linear_fwd(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x,
                   const baldro_tensor *w, const baldro_tensor *b, int accumulate);
int cpu_linear_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw, baldro_tensor *db,
                   const baldro_tensor *dy, const baldro_tensor *x, const baldro_tensor *w,
                   int accumulate_dx);
/* cpu_embed.c */
int cpu_embedding_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *ids,
                      const baldro_tensor *table);
int cpu_embedding_bwd(baldro_backend *be, baldro_tensor *dtable, const baldro_tensor *dout,
                      const baldro_tensor *ids);
int cpu_gather_rows(baldro_backend *be, baldro_tensor *out, const baldro_tensor *x,
                    const baldro_tensor *idx);
/* cpu_norm.c */
int cpu_rmsnorm_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *rstd,
                    const baldro_tensor *x, const baldro_tensor *w, float eps);
int cpu_rmsnorm_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw,
                    const baldro_tensor *dout, const baldro_tensor *x, const baldro_tensor *w,
                    const baldro_tensor *rstd, int accumulate_dx);
/* cpu_rope.c */
int cpu_rope_table(baldro_backend *be, baldro_tensor *table, const baldro_rope_params *p);
int cpu_rope_fwd(baldro_backend *be, baldro_tensor *x, const baldro_tensor *table,
                 const baldro_tensor *pos0, int interleaved);
int cpu_rope_bwd(baldro_backend *be, baldro_tensor *dx, const baldro_tensor *table,
                 const baldro_tensor *pos0, int interleaved);
/* cpu_swiglu.c */
int cpu_swiglu_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *gate,
                   const baldro_tensor *up);
int cpu_swiglu_bwd(baldro_backend *be, baldro_tensor *dgate, baldro_tensor *dup,
                   const baldro_tensor *dout, const baldro_tensor *gate, const baldro_tensor *up);
/* cpu_attention.c */
size_t cpu_attention_workspace(baldro_backend *be, int64_t B, int64_t Tq, int64_t S, int64_t Hq,
                               int64_t Hkv, int64_t D);
int cpu_attention_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *lse,
                      const baldro_tensor *q, const baldro_tensor *k, const baldro_tensor *v,
                      const baldro_tensor *pos0, float scale, baldro_tensor *workspace);
int cpu_attention_bwd(baldro_backend *be, baldro_tensor *dq, baldro_tensor *dk, baldro_tensor *dv,
                      const baldro_tensor *dout, const baldro_tensor *q, const baldro_tensor *k,
                      const baldro_tensor *v, const baldro_tensor *out, const baldro_tensor *lse,
                      float scale, baldro_tensor *workspace);
int cpu_kv_append(baldro_backend *be, baldro_tensor *cache, const baldro_tensor *x,
                  const baldro_tensor *pos0);
/* cpu_logits.c */
int cpu_logsoftmax_gather_fwd(baldro_backend *be, baldro_tensor *logp, baldro_tensor *lse,
                              const baldro_tensor *logits, const baldro_tensor *targets);
int cpu_logsoftmax_gather_bwd(baldro_backend *be, baldro_tensor *logits, const baldro_tensor *lse,
                              const baldro_tensor *targets, const baldro_tensor *dlogp);
int cpu_argmax(baldro_backend *be, baldro_tensor *ids, const baldro_tensor *logits);
/* cpu_adamw.c */
int cpu_adamw(baldro_backend *be, baldro_tensor *param, const baldro_tensor *grad, baldro_tensor *m,
              baldro_tensor *v, const baldro_adamw_args *a);


/* pos0 [B] I32 or NULL (rope, attention, kv_append): checks dtype and length (B named by
 * `b_from`), sets *p0, and sets *bad to the first row whose positions
 * pos0[b] .. pos0[b] + T - 1 leave [0, limit), or -1. Callers word that error themselves. */
int cpu_check_pos0(baldro_backend *be, const char *op, const baldro_tensor *pos0, int64_t B,
                   const char *b_from, int64_t T, int64_t limit, const int32_t **p0,
                   int64_t *bad);

/* ---- attention helpers shared by cpu_attention.c and cpu_attention_small.c ---- */

/* Head dims up to this use the sgemm-free kernels of cpu_attention_small.c. */
#define CPU_ATT_SMALL_D 32

/* Row of scores [0, lim) -> softmax probabilities in place, [lim, nk) -> 0; returns
 * the log-sum-exp (sums in double). */
double cpu_att_softmax_row(float *row, int64_t lim, int64_t nk);

typedef struct cpu_att_small {
    const float *q, *k, *v;   /* q [B,Tq,Hq,D]; k, v [B,S,Hkv,D]                      */
    const float *o, *dout;    /* backward: out and d out [B,T,Hq,D]                   */
    const float *lse_in;      /* backward: [B,Hq,T]                                   */
    float *out, *lse;         /* forward outputs; lse may be NULL                     */
    float *dq, *dk, *dv;      /* backward outputs                                     */
    const int32_t *pos0;      /* forward: [B] or NULL                                 */
    int64_t Tq, S, Hq, Hkv, D;
    float scale;
} cpu_att_small;

/* Scratch floats per worker. */
static inline int64_t cpu_att_small_fwd_floats(int64_t S, int64_t D) {
    return (2 * D + 2) * ((S + 7) & ~(int64_t)7);
}
static inline int64_t cpu_att_small_bwd_floats(int64_t T, int64_t D) {
    return (4 * D + 4) * ((T + 7) & ~(int64_t)7);
}
/* Forward of query head h of row b, all its queries; backward of kv head kvh of row b
 * (the G query heads that read it). */
void cpu_att_small_fwd_item(const cpu_att_small *a, int64_t b, int64_t h, float *ws);
void cpu_att_small_bwd_unit(const cpu_att_small *a, int64_t b, int64_t kvh, float *ws);

#endif /* BALDRO_CPU_INTERNAL_H */

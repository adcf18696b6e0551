/*
 * core/backend/cpu/cpu_attention_small.c: causal attention for small head dims
 * (D <= CPU_ATT_SMALL_D) without sgemm.
 *
 * With D = 8 or 16 an sgemm of [64, S] x [S, D] does almost no arithmetic per byte it
 * packs, zeroes and writes, and the [64, S] block wastes the upper triangle. Here the
 * keys and values of one head are transposed once into [D, S] scratch (KT, VT), and
 * every query row runs D vectorised passes over exactly the keys it attends:
 *   s[j] = q . k_j  (D axpys over j),  softmax,  out[d] = p . VT[d]  (D dots).
 * The backward does the same per row with dq, dKT and dVT, then transposes dk, dv back.
 * Same lse convention as the sgemm path (lse of the scaled scores).
 *
 * Shapes: q, out [B,Tq,Hq,D]; k, v [B,S,Hkv,D]; scratch per worker:
 *   forward  KT, VT [D, S8] and two score rows [S8]          -> (2D + 2) S8 floats
 *   backward KT, VT, dKT, dVT [D, T8] and rows p, dp [T8] x 2 -> (4D + 4) T8 floats
 * with S8, T8 rounded up to a multiple of 8.
 */
#include <math.h>

#include "backend/cpu/cpu_internal.h"

/* The row kernels are inlined into drivers compiled once per common head dim (8, 16,
 * 32, and any), so D is a constant there: the D-term loops unroll and q's broadcasts
 * stay in registers. Each driver is itself cloned for AVX2 (CPU_HOT). */
#define CPU_ATT_INLINE static inline __attribute__((always_inline))

/* Columns are padded to a multiple of 8 so that every loop runs in whole 8-float
 * chunks (one AVX register); padding columns of KT and VT are zero. */
static inline int64_t cpu_att_up8(int64_t n) { return (n + 7) & ~(int64_t)7; }

/* src rows j < n of a head ([n, D], row stride ld) -> dst [D, ld8], zero-padded. */
static void cpu_att_transpose_in(float *restrict dst, const float *restrict src, int64_t n,
                                 int64_t ld, int64_t D, int64_t ld8) {
    for (int64_t d = 0; d < D; d++) {
        float *row = dst + d * ld8;
        for (int64_t j = 0; j < n; j++) row[j] = src[j * ld + d];
        for (int64_t j = n; j < ld8; j++) row[j] = 0.0f;
    }
}

/* Eight floats as one value (GCC/clang vector extension): the compiler keeps these in
 * registers, which it would not do for a float[8] array indexed in a loop nest. The
 * aligned(4) variant is for loads and stores at any float address. */
typedef float v8f __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4)));

/* Macros, not functions: passing vectors by value would make the baseline clone's ABI
 * differ from the AVX2 clone's (gcc -Wpsabi). */
#define V8_LD(p) (*(const v8fu *)(p))
#define V8_ST(p, v) (*(v8fu *)(p) = (v))
#define V8_HSUM(v, out)                                                                  \
    do {                                                                                 \
        double t_ = 0;                                                                   \
        for (int l_ = 0; l_ < 8; l_++) t_ += (v)[l_];                                    \
        (out) = (float)t_;                                                               \
    } while (0)

/* s[j] = scale * sum_d q[d] KT[d][j] for j < lim8: a chunk's 8 partial sums stay in a
 * register across the D terms. */
CPU_ATT_INLINE void cpu_att_scores(float *restrict s, const float *restrict q,
                                   const float *restrict KT, int64_t ld8, int64_t lim8, int64_t D,
                                   float scale) {
    for (int64_t j0 = 0; j0 < lim8; j0 += 8) {
        v8f acc = {0};
#pragma GCC unroll 32
        for (int64_t d = 0; d < D; d++) acc += q[d] * V8_LD(KT + d * ld8 + j0);
        V8_ST(s + j0, acc * scale);
    }
}

/* o[d] = sum_j p[j] X[d][j] over j < lim8 (p is 0 past the row's last key), four output
 * dims per sweep so each chunk of p is loaded once for four rows of X. */
CPU_ATT_INLINE void cpu_att_rowdots(float *restrict o, const float *restrict p,
                                    const float *restrict X, int64_t ld8, int64_t lim8,
                                    int64_t D) {
    int64_t d0 = 0;
#pragma GCC unroll 8
    for (; d0 + 4 <= D; d0 += 4) {
        v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        const float *x0 = X + d0 * ld8, *x1 = x0 + ld8, *x2 = x1 + ld8, *x3 = x2 + ld8;
        for (int64_t j0 = 0; j0 < lim8; j0 += 8) {
            v8f pj = V8_LD(p + j0);
            a0 += pj * V8_LD(x0 + j0);
            a1 += pj * V8_LD(x1 + j0);
            a2 += pj * V8_LD(x2 + j0);
            a3 += pj * V8_LD(x3 + j0);
        }
        V8_HSUM(a0, o[d0]);
        V8_HSUM(a1, o[d0 + 1]);
        V8_HSUM(a2, o[d0 + 2]);
        V8_HSUM(a3, o[d0 + 3]);
    }
    for (; d0 < D; d0++) {
        v8f a0 = {0};
        for (int64_t j0 = 0; j0 < lim8; j0 += 8) a0 += V8_LD(p + j0) * V8_LD(X + d0 * ld8 + j0);
        V8_HSUM(a0, o[d0]);
    }
}

/* Y[d][j] += c[d] x[j] for j < lim8. */
CPU_ATT_INLINE void cpu_att_outer_acc(float *restrict Y, const float *restrict c,
                                      const float *restrict x, int64_t ld8, int64_t lim8,
                                      int64_t D) {
#pragma GCC unroll 32
    for (int64_t d = 0; d < D; d++) {
        float *y = Y + d * ld8;
        for (int64_t j0 = 0; j0 < lim8; j0 += 8) V8_ST(y + j0, V8_LD(y + j0) + c[d] * V8_LD(x + j0));
    }
}

/* ---- two query rows per sweep: every chunk of KT, VT (and of dKT, dVT) is loaded, or
 * read-modified-written, once for both rows; at D = 8 the single-row loops are bound by
 * those loads and stores, not by the arithmetic. ---- */

CPU_ATT_INLINE void cpu_att_scores2(float *restrict sA, float *restrict sB,
                                    const float *restrict qA, const float *restrict qB,
                                    const float *restrict KT, int64_t ld8, int64_t lim8,
                                    int64_t D, float scale) {
    for (int64_t j0 = 0; j0 < lim8; j0 += 8) {
        v8f a = {0}, b = {0};
#pragma GCC unroll 32
        for (int64_t d = 0; d < D; d++) {
            v8f k = V8_LD(KT + d * ld8 + j0);
            a += qA[d] * k;
            b += qB[d] * k;
        }
        V8_ST(sA + j0, a * scale);
        V8_ST(sB + j0, b * scale);
    }
}

CPU_ATT_INLINE void cpu_att_rowdots2(float *restrict oA, float *restrict oB,
                                     const float *restrict pA, const float *restrict pB,
                                     const float *restrict X, int64_t ld8, int64_t lim8,
                                     int64_t D) {
    int64_t d0 = 0;
#pragma GCC unroll 8
    for (; d0 + 4 <= D; d0 += 4) {
        v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        const float *x0 = X + d0 * ld8, *x1 = x0 + ld8, *x2 = x1 + ld8, *x3 = x2 + ld8;
        for (int64_t j0 = 0; j0 < lim8; j0 += 8) {
            v8f pa = V8_LD(pA + j0), pb = V8_LD(pB + j0), x;
            x = V8_LD(x0 + j0), a0 += pa * x, b0 += pb * x;
            x = V8_LD(x1 + j0), a1 += pa * x, b1 += pb * x;
            x = V8_LD(x2 + j0), a2 += pa * x, b2 += pb * x;
            x = V8_LD(x3 + j0), a3 += pa * x, b3 += pb * x;
        }
        V8_HSUM(a0, oA[d0]);
        V8_HSUM(a1, oA[d0 + 1]);
        V8_HSUM(a2, oA[d0 + 2]);
        V8_HSUM(a3, oA[d0 + 3]);
        V8_HSUM(b0, oB[d0]);
        V8_HSUM(b1, oB[d0 + 1]);
        V8_HSUM(b2, oB[d0 + 2]);
        V8_HSUM(b3, oB[d0 + 3]);
    }
    for (; d0 < D; d0++) {
        v8f a0 = {0}, b0 = {0};
        for (int64_t j0 = 0; j0 < lim8; j0 += 8) {
            v8f x = V8_LD(X + d0 * ld8 + j0);
            a0 += V8_LD(pA + j0) * x;
            b0 += V8_LD(pB + j0) * x;
        }
        V8_HSUM(a0, oA[d0]);
        V8_HSUM(b0, oB[d0]);
    }
}

/* Y[d][j] += cA[d] xA[j] + cB[d] xB[j] for j < lim8. */
CPU_ATT_INLINE void cpu_att_outer_acc2(float *restrict Y, const float *restrict cA,
                                       const float *restrict xA, const float *restrict cB,
                                       const float *restrict xB, int64_t ld8, int64_t lim8,
                                       int64_t D) {
#pragma GCC unroll 32
    for (int64_t d = 0; d < D; d++) {
        float *y = Y + d * ld8;
        for (int64_t j0 = 0; j0 < lim8; j0 += 8)
            V8_ST(y + j0, V8_LD(y + j0) + cA[d] * V8_LD(xA + j0) + cB[d] * V8_LD(xB + j0));
    }
}

/* s[j] = exp(s[j] - max) for j < lim (unnormalised), 0 up to lim8; *sum gets their sum
 * and the max is returned. The caller folds 1/sum into the output instead of a third
 * pass over the row. Float partial sums per lane (reduction), at most a few thousand
 * terms each. */
CPU_ATT_INLINE float cpu_att_exp_row(float *restrict s, int64_t lim, int64_t lim8, float *sum) {
    float mx = -INFINITY, acc = 0.0f;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < lim; j++) mx = s[j] > mx ? s[j] : mx;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < lim; j++) {
        float e = cpu_expf(s[j] - mx);
        s[j] = e;
        acc += e;
    }
    for (int64_t j = lim; j < lim8; j++) s[j] = 0.0f;
    *sum = acc;
    return mx;
}

/* p[j] = exp(p[j] - lse) for j < lim, 0 for lim <= j < lim8. */
CPU_ATT_INLINE void cpu_att_probs(float *restrict p, int64_t lim, int64_t lim8, float lse) {
#pragma omp simd
    for (int64_t j = 0; j < lim; j++) p[j] = cpu_expf(p[j] - lse);
    for (int64_t j = lim; j < lim8; j++) p[j] = 0.0f;
}

/* dS = P (dP - di) in place on dP (0 wherever P is). */
CPU_ATT_INLINE void cpu_att_ds(float *restrict dp, const float *restrict p, int64_t lim8,
                               float di) {
#pragma omp simd
    for (int64_t j = 0; j < lim8; j++) dp[j] = p[j] * (dp[j] - di);
}

CPU_ATT_INLINE void cpu_att_fwd_impl(const cpu_att_small *a, int64_t b, int64_t h, float *ws,
                                     const int64_t D) {
    const int64_t Tq = a->Tq, S = a->S, Hq = a->Hq, Hkv = a->Hkv, G = Hq / Hkv;
    const int64_t start = a->pos0 ? a->pos0[b] : 0, n = start + Tq; /* keys any row reads */
    const int64_t ldk = Hkv * D, n8 = cpu_att_up8(n);
    float *KT = ws, *VT = ws + D * n8, *sA = ws + 2 * D * n8, *sB = sA + n8;
    cpu_att_transpose_in(KT, a->k + (b * S * Hkv + h / G) * D, n, ldk, D, n8);
    cpu_att_transpose_in(VT, a->v + (b * S * Hkv + h / G) * D, n, ldk, D, n8);
    int64_t i = 0;
    for (; i + 2 <= Tq; i += 2) { /* rows i and i + 1 */
        const int64_t limA = start + i + 1, limB = limA + 1, lim8 = cpu_att_up8(limB);
        const float *qA = a->q + ((b * Tq + i) * Hq + h) * D, *qB = qA + Hq * D;
        float *oA = a->out + ((b * Tq + i) * Hq + h) * D, *oB = oA + Hq * D;
        cpu_att_scores2(sA, sB, qA, qB, KT, n8, lim8, D, a->scale);
        float sumA, mxA = cpu_att_exp_row(sA, limA, lim8, &sumA);
        float sumB, mxB = cpu_att_exp_row(sB, limB, lim8, &sumB);
        if (a->lse) {
            a->lse[(b * Hq + h) * Tq + i] = (float)((double)mxA + log((double)sumA));
            a->lse[(b * Hq + h) * Tq + i + 1] = (float)((double)mxB + log((double)sumB));
        }
        cpu_att_rowdots2(oA, oB, sA, sB, VT, n8, lim8, D);
        const float invA = 1.0f / sumA, invB = 1.0f / sumB;
        for (int64_t d = 0; d < D; d++) {
            oA[d] *= invA;
            oB[d] *= invB;
        }
    }
    for (; i < Tq; i++) {
        const int64_t lim = start + i + 1, lim8 = cpu_att_up8(lim);
        const float *q = a->q + ((b * Tq + i) * Hq + h) * D;
        float *o = a->out + ((b * Tq + i) * Hq + h) * D;
        cpu_att_scores(sA, q, KT, n8, lim8, D, a->scale);
        float sum, mx = cpu_att_exp_row(sA, lim, lim8, &sum);
        if (a->lse) a->lse[(b * Hq + h) * Tq + i] = (float)((double)mx + log((double)sum));
        cpu_att_rowdots(o, sA, VT, n8, lim8, D);
        const float inv = 1.0f / sum;
        for (int64_t d = 0; d < D; d++) o[d] *= inv;
    }
}

/* One query row's backward (the odd row left over by the pairs). */
CPU_ATT_INLINE void cpu_att_bwd_row(const cpu_att_small *a, int64_t b, int64_t h, int64_t i,
                                    const float *KT, const float *VT, float *dKT, float *dVT,
                                    float *p, float *dp, int64_t T8, const int64_t D) {
    const int64_t T = a->Tq, Hq = a->Hq;
    const int64_t lim = i + 1, lim8 = cpu_att_up8(lim), off = ((b * T + i) * Hq + h) * D;
    const float *q = a->q + off, *o = a->o + off, *g = a->dout + off;
    float cq[CPU_ATT_SMALL_D];
    cpu_att_scores(p, q, KT, T8, lim8, D, a->scale); /* P = exp(scale q k^T - lse) */
    cpu_att_probs(p, lim, lim8, a->lse_in[(b * Hq + h) * T + i]);
    cpu_att_scores(dp, g, VT, T8, lim8, D, 1.0f); /* dP = dO V^T */
    double di = 0;
    for (int64_t d = 0; d < D; d++) di += (double)g[d] * o[d];
    cpu_att_ds(dp, p, lim8, (float)di); /* dS = P (dP - dO . O) */
    float *dq = a->dq + off;
    cpu_att_rowdots(dq, dp, KT, T8, lim8, D); /* dq = scale dS K */
    for (int64_t d = 0; d < D; d++) {
        dq[d] *= a->scale;
        cq[d] = a->scale * q[d];
    }
    cpu_att_outer_acc(dKT, cq, dp, T8, lim8, D); /* dK += scale q dS */
    cpu_att_outer_acc(dVT, g, p, T8, lim8, D);   /* dV += dO P */
}

CPU_ATT_INLINE void cpu_att_bwd_impl(const cpu_att_small *a, int64_t b, int64_t kvh, float *ws,
                                     const int64_t D) {
    const int64_t T = a->Tq, Hq = a->Hq, Hkv = a->Hkv, G = Hq / Hkv;
    const int64_t ldk = Hkv * D, T8 = cpu_att_up8(T);
    float *KT = ws, *VT = KT + D * T8, *dKT = VT + D * T8, *dVT = dKT + D * T8;
    float *pA = dVT + D * T8, *pB = pA + T8, *dpA = pB + T8, *dpB = dpA + T8;
    float cA[CPU_ATT_SMALL_D], cB[CPU_ATT_SMALL_D];
    const float *kb = a->k + (b * T * Hkv + kvh) * D, *vb = a->v + (b * T * Hkv + kvh) * D;
    cpu_att_transpose_in(KT, kb, T, ldk, D, T8);
    cpu_att_transpose_in(VT, vb, T, ldk, D, T8);
    memset(dKT, 0, (size_t)(2 * D * T8) * sizeof(float));
    for (int64_t h = kvh * G; h < (kvh + 1) * G; h++) {
        int64_t i = 0;
        for (; i + 2 <= T; i += 2) { /* rows i and i + 1 */
            const int64_t limA = i + 1, limB = i + 2, lim8 = cpu_att_up8(limB);
            const int64_t offA = ((b * T + i) * Hq + h) * D, offB = offA + Hq * D;
            const float *qA = a->q + offA, *oA = a->o + offA, *gA = a->dout + offA;
            const float *qB = a->q + offB, *oB = a->o + offB, *gB = a->dout + offB;
            /* P = exp(scale q k^T - lse); row A's key i + 1 is masked by probs. */
            cpu_att_scores2(pA, pB, qA, qB, KT, T8, lim8, D, a->scale);
            cpu_att_probs(pA, limA, lim8, a->lse_in[(b * Hq + h) * T + i]);
            cpu_att_probs(pB, limB, lim8, a->lse_in[(b * Hq + h) * T + i + 1]);
            /* dP = dO V^T; dS = P (dP - dO . O) */
            cpu_att_scores2(dpA, dpB, gA, gB, VT, T8, lim8, D, 1.0f);
            double diA = 0, diB = 0;
            for (int64_t d = 0; d < D; d++) {
                diA += (double)gA[d] * oA[d];
                diB += (double)gB[d] * oB[d];
            }
            cpu_att_ds(dpA, pA, lim8, (float)diA);
            cpu_att_ds(dpB, pB, lim8, (float)diB);
            /* dq = scale dS K; dK += scale q dS; dV += dO P */
            float *dqA = a->dq + offA, *dqB = a->dq + offB;
            cpu_att_rowdots2(dqA, dqB, dpA, dpB, KT, T8, lim8, D);
            for (int64_t d = 0; d < D; d++) {
                dqA[d] *= a->scale;
                dqB[d] *= a->scale;
                cA[d] = a->scale * qA[d];
                cB[d] = a->scale * qB[d];
            }
            cpu_att_outer_acc2(dKT, cA, dpA, cB, dpB, T8, lim8, D);
            cpu_att_outer_acc2(dVT, gA, pA, gB, pB, T8, lim8, D);
        }
        for (; i < T; i++) cpu_att_bwd_row(a, b, h, i, KT, VT, dKT, dVT, pA, dpA, T8, D);
    }
    float *dkb = a->dk + (b * T * Hkv + kvh) * D, *dvb = a->dv + (b * T * Hkv + kvh) * D;
    for (int64_t j = 0; j < T; j++)
        for (int64_t d = 0; d < D; d++) {
            dkb[j * ldk + d] = dKT[d * T8 + j];
            dvb[j * ldk + d] = dVT[d * T8 + j];
        }
}

/* Drivers with the head dim fixed at compile time, and the dispatch. */
#define CPU_ATT_DRIVERS(suffix_, dexpr_)                                                   \
    CPU_HOT static void cpu_att_fwd_##suffix_(const cpu_att_small *a, int64_t b, int64_t h, \
                                              float *ws) {                                 \
        cpu_att_fwd_impl(a, b, h, ws, (dexpr_));                                           \
    }                                                                                      \
    CPU_HOT static void cpu_att_bwd_##suffix_(const cpu_att_small *a, int64_t b,           \
                                              int64_t kvh, float *ws) {                    \
        cpu_att_bwd_impl(a, b, kvh, ws, (dexpr_));                                         \
    }
CPU_ATT_DRIVERS(d8, 8)
CPU_ATT_DRIVERS(d16, 16)
CPU_ATT_DRIVERS(d32, 32)
CPU_ATT_DRIVERS(dn, a->D)

void cpu_att_small_fwd_item(const cpu_att_small *a, int64_t b, int64_t h, float *ws) {
    switch (a->D) {
    case 8: cpu_att_fwd_d8(a, b, h, ws); break;
    case 16: cpu_att_fwd_d16(a, b, h, ws); break;
    case 32: cpu_att_fwd_d32(a, b, h, ws); break;
    default: cpu_att_fwd_dn(a, b, h, ws); break;
    }
}

void cpu_att_small_bwd_unit(const cpu_att_small *a, int64_t b, int64_t kvh, float *ws) {
    switch (a->D) {
    case 8: cpu_att_bwd_d8(a, b, kvh, ws); break;
    case 16: cpu_att_bwd_d16(a, b, kvh, ws); break;
    case 32: cpu_att_bwd_d32(a, b, kvh, ws); break;
    default: cpu_att_bwd_dn(a, b, kvh, ws); break;
    }
}

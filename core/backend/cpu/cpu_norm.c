/*
 * core/backend/cpu/cpu_norm.c: RMSNorm as in Hugging Face's LlamaRMSNorm.
 *
 *   rstd[n] = 1 / sqrt(mean_c x[n,c]^2 + eps)      (mean accumulated in double)
 *   out[n,c] = w[c] * (x[n,c] * rstd[n])           (that rounding order, in float)
 *
 * Shapes: x, out, dout, dx [N,C] (leading dims flatten to N rows), w, dw [C],
 * rstd [N] (any shape with N elements).
 */
#include <math.h>
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

/* Sum of squares of one row in double; eight lanes so the loop vectorises without
 * reassociating one running sum. */
static double cpu_row_sumsq(const float *restrict x, int64_t C) {
    double acc[8] = {0};
    int64_t c = 0;
    for (; c + 8 <= C; c += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)x[c + l] * (double)x[c + l];
    for (; c < C; c++) acc[0] += (double)x[c] * (double)x[c];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static float cpu_rstd(const float *x, int64_t C, float eps) {
    double ms = C > 0 ? cpu_row_sumsq(x, C) / (double)C : 0.0;
    return (float)(1.0 / sqrt(ms + (double)eps));
}

int cpu_rmsnorm_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *rstd,
                    const baldro_tensor *x, const baldro_tensor *w, float eps) {
    BK_TRY(bk_check_rmsnorm_fwd(be, out, rstd, x, w, eps));
    int64_t N = bk_rows(x), C = bk_cols(x);
    const float *xp = x->data, *wp = w->data;
    float *op_ = out->data, *rp = rstd ? rstd->data : NULL;
#pragma omp parallel for num_threads(be->threads) if (N * C > CPU_PAR_MIN) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *restrict xr = xp + n * C;
        float *restrict yr = op_ + n * C;
        float r = cpu_rstd(xr, C, eps);
        if (rp) rp[n] = r;
#pragma omp simd
        for (int64_t c = 0; c < C; c++) yr[c] = wp[c] * (xr[c] * r);
    }
    return BALDRO_OK;
}

/* dw[c] += sum_n dout[n,c] * x[n,c] * rstd[n], in double. Threads own column blocks
 * (no shared writes) and add rows in order (deterministic). */
#define CPU_NORM_BLOCK 256

static void cpu_norm_dw(baldro_backend *be, float *dw, const float *g, const float *x,
                        const float *rs, int64_t N, int64_t C) {
    int64_t nblk = (C + CPU_NORM_BLOCK - 1) / CPU_NORM_BLOCK;
#pragma omp parallel for num_threads(be->threads) if (N * C > CPU_PAR_MIN) schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t c0 = blk * CPU_NORM_BLOCK;
        int64_t nc = C - c0 < CPU_NORM_BLOCK ? C - c0 : CPU_NORM_BLOCK;
        double acc[CPU_NORM_BLOCK] = {0};
        for (int64_t n = 0; n < N; n++) {
            double r = (double)rs[n];
            const float *restrict gr = g + n * C + c0, *restrict xr = x + n * C + c0;
#pragma omp simd
            for (int64_t c = 0; c < nc; c++) acc[c] += (double)gr[c] * (double)xr[c] * r;
        }
        for (int64_t c = 0; c < nc; c++) dw[c0 + c] = (float)((double)dw[c0 + c] + acc[c]);
    }
}

int cpu_rmsnorm_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw,
                    const baldro_tensor *dout, const baldro_tensor *x, const baldro_tensor *w,
                    const baldro_tensor *rstd, int accumulate_dx) {
    BK_TRY(bk_check_rmsnorm_bwd(be, dx, dw, dout, x, w, rstd));
    int64_t N = bk_rows(x), C = bk_cols(x);
    const float *g = dout->data, *xp = x->data, *wp = w->data, *rs = rstd->data;
    /* dw first: dx is written last, so even a dx that reuses dout's memory stays right. */
    if (dw) cpu_norm_dw(be, dw->data, g, xp, rs, N, C);
    if (!dx) return BALDRO_OK;
    float *dxp = dx->data;
    /* dx = r w g - x r^3 / C * sum_c(g w x), the row sum in double. */
#pragma omp parallel for num_threads(be->threads) if (N * C > CPU_PAR_MIN) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *gr = g + n * C, *xr = xp + n * C;
        float *dr = dxp + n * C;
        double r = (double)rs[n];
        double acc[8] = {0};
        int64_t c = 0;
        for (; c + 8 <= C; c += 8)
            for (int l = 0; l < 8; l++)
                acc[l] += (double)gr[c + l] * (double)wp[c + l] * (double)xr[c + l];
        for (; c < C; c++) acc[0] += (double)gr[c] * (double)wp[c] * (double)xr[c];
        double dot =
            ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        double k = C > 0 ? r * r * r * dot / (double)C : 0.0;
        if (accumulate_dx)
#pragma omp simd
            for (int64_t j = 0; j < C; j++)
                dr[j] += (float)(r * (double)wp[j] * (double)gr[j] - k * (double)xr[j]);
        else
#pragma omp simd
            for (int64_t j = 0; j < C; j++)
                dr[j] = (float)(r * (double)wp[j] * (double)gr[j] - k * (double)xr[j]);
    }
    return BALDRO_OK;
}

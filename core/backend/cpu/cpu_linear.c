/*
 * core/backend/cpu/cpu_linear.c: dense layer y = x W^T + b and its backward, on sgemm.
 *
 * Shapes: x[N,I] (any leading dims flatten to N rows), w[O,I] (PyTorch's nn.Linear
 * layout), b[O], y[N,O]. W^T is never materialised: sgemm reads w transposed.
 */
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

/* y[n, :] += b for every row (y[N,O], b[O]). */
static void cpu_add_bias_rows(baldro_backend *be, float *y, const float *b, int64_t N, int64_t O) {
#pragma omp parallel for num_threads(be->threads) if (N * O > 4 * CPU_PAR_MIN) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        float *restrict yr = y + n * O;
#pragma omp simd
        for (int64_t o = 0; o < O; o++) yr[o] += b[o];
    }
}

int cpu_linear_fwd(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x,
                   const baldro_tensor *w, const baldro_tensor *b, int accumulate) {
    BK_TRY(bk_check_linear_fwd(be, y, x, w, b));
    int64_t N = bk_rows(x), K = w->shape[1], O = w->shape[0];
    float *yp = y->data;
    if (b && !accumulate) {
        /* Seed each row with the bias, then accumulate the product onto it: one pass. */
        const float *bp = b->data;
        for (int64_t n = 0; n < N; n++) memcpy(yp + n * O, bp, (size_t)O * sizeof(float));
        cpu_sgemm(CblasNoTrans, CblasTrans, N, O, K, 1.0f, x->data, K, w->data, K, 1.0f, yp, O);
        return BALDRO_OK;
    }
    cpu_sgemm(CblasNoTrans, CblasTrans, N, O, K, 1.0f, x->data, K, w->data, K,
              accumulate ? 1.0f : 0.0f, yp, O);
    if (b) cpu_add_bias_rows(be, yp, b->data, N, O);
    return BALDRO_OK;
}

/* db[O] += sum over rows of dy[N,O], in double. Threads own blocks of columns (no two
 * write the same db entry) and each sums its rows in order, so the result is
 * deterministic. */
#define CPU_COLSUM_BLOCK 256

static void cpu_colsum_acc(baldro_backend *be, float *db, const float *dy, int64_t N, int64_t O) {
    int64_t nblk = (O + CPU_COLSUM_BLOCK - 1) / CPU_COLSUM_BLOCK;
#pragma omp parallel for num_threads(be->threads) if (N * O > 4 * CPU_PAR_MIN) schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t c0 = blk * CPU_COLSUM_BLOCK;
        int64_t nc = O - c0 < CPU_COLSUM_BLOCK ? O - c0 : CPU_COLSUM_BLOCK;
        double acc[CPU_COLSUM_BLOCK] = {0};
        for (int64_t n = 0; n < N; n++) {
            const float *restrict r = dy + n * O + c0;
#pragma omp simd
            for (int64_t c = 0; c < nc; c++) acc[c] += (double)r[c];
        }
        for (int64_t c = 0; c < nc; c++) db[c0 + c] = (float)((double)db[c0 + c] + acc[c]);
    }
}

int cpu_linear_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw, baldro_tensor *db,
                   const baldro_tensor *dy, const baldro_tensor *x, const baldro_tensor *w,
                   int accumulate_dx) {
    BK_TRY(bk_check_linear_bwd(be, dx, dw, db, dy, x, w));
    int64_t N = bk_rows(dy), O = bk_cols(dy);
    /* dw and db first: they read x and dy, so a dx written over x stays correct. */
    if (dw) {
        int64_t K = dw->shape[1];
        cpu_sgemm(CblasTrans, CblasNoTrans, O, K, N, 1.0f, dy->data, O, x->data, K, 1.0f, dw->data,
                  K);
    }
    if (db) cpu_colsum_acc(be, db->data, dy->data, N, O);
    if (dx) {
        int64_t K = w->shape[1];
        cpu_sgemm(CblasNoTrans, CblasNoTrans, N, K, O, 1.0f, dy->data, O, w->data, K,
                  accumulate_dx ? 1.0f : 0.0f, dx->data, K);
    }
    return BALDRO_OK;
}

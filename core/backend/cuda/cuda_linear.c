/*
 * core/backend/cuda/cuda_linear.c: dense layer y = x W^T + b and its backward, on
 * cublasSgemm (fp32, TF32 off: see cuda_backend.c).
 *
 * cuBLAS is column-major. A row-major [R, C] matrix with leading dimension C is, to
 * cuBLAS, the column-major [C, R] matrix: its transpose. So each row-major product
 * P = A B is computed as the column-major P^T = B^T A^T, with the operands swapped:
 *   y[N,O]  = x[N,I] w[O,I]^T   ->  y^T  = op_T(w) . x^T     m=O n=N k=I
 *   dx[N,I] = dy[N,O] w[O,I]    ->  dx^T = w^T . dy^T         m=I n=N k=O
 *   dw[O,I] += dy^T x           ->  dw^T = x^T . op_T(dy^T)   m=I n=O k=N
 * The checks are cpu_linear.c's, message for message.
 */
#include <cublas_v2.h>

#include "backend/cuda/cuda_internal.h"

/* C = alpha op(A) op(B) + beta C, column-major, for sizes the callers checked fit an
 * int. Empty products are handled here, as cpu_sgemm does: m or n = 0 does nothing,
 * k = 0 leaves beta C (cuBLAS rejects a leading dimension of 0). C is contiguous
 * (ldc = m) in every caller. */
static int cuda_sgemm(baldro_backend *be, const char *op, cublasOperation_t ta,
                      cublasOperation_t tb, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc) {
    if (m == 0 || n == 0) return BALDRO_OK;
    if (k == 0) {
        if (beta == 0.0f)
            CUDA_TRY(be, cudaMemsetAsync(C, 0, (size_t)m * (size_t)n * sizeof(float),
                                         cuda_stream(be)), op);
        else if (beta != 1.0f) {
            baldro_tensor t = baldro_t1(C, BALDRO_DT_F32, m * n);
            return cuda_scale(be, &t, beta);
        }
        return BALDRO_OK;
    }
    cublasStatus_t s = cublasSgemm((cublasHandle_t)cuda_st(be)->cublas, ta, tb, (int)m, (int)n,
                                   (int)k, &alpha, A, (int)lda, B, (int)ldb, &beta, C, (int)ldc);
    return cuda_cublas_check(be, (int)s, op, "cublasSgemm");
}

int cuda_linear_fwd(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x,
                    const baldro_tensor *w, const baldro_tensor *b, int accumulate) {
    const char *op = "linear_fwd";
    BK_TRY(bk_check_tensor(be, op, "x", x, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "w", w, BALDRO_DT_F32, 2));
    BK_TRY(bk_check_tensor(be, op, "y", y, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_dim(be, op, "w", w, 1, "x", x, -1));
    BK_TRY(bk_check_dim(be, op, "y", y, -1, "w", w, 0));
    BK_TRY(bk_check_rows(be, op, "y", y, "x", x));
    if (b) {
        BK_TRY(bk_check_tensor(be, op, "b", b, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "b", b, w->shape[0], "w.shape[0]"));
    }
    /* sgemm cannot write y while reading x or w from the same memory. */
    BK_TRY(bk_check_disjoint(be, op, "y", y, "x", x));
    BK_TRY(bk_check_disjoint(be, op, "y", y, "w", w));
    int64_t N = bk_rows(x), K = w->shape[1], O = w->shape[0];
    float *yp = y->data;
    if (b && !accumulate) {
        /* Seed each row with the bias, then accumulate the product onto it (as the CPU). */
        BK_TRY(cuda_bias_rows(be, yp, b->data, N, O, 1, op));
        return cuda_sgemm(be, op, CUBLAS_OP_T, CUBLAS_OP_N, O, N, K, 1.0f, w->data, K, x->data,
                          K, 1.0f, yp, O);
    }
    BK_TRY(cuda_sgemm(be, op, CUBLAS_OP_T, CUBLAS_OP_N, O, N, K, 1.0f, w->data, K, x->data, K,
                      accumulate ? 1.0f : 0.0f, yp, O));
    if (b) BK_TRY(cuda_bias_rows(be, yp, b->data, N, O, 0, op));
    return BALDRO_OK;
}

int cuda_linear_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw, baldro_tensor *db,
                    const baldro_tensor *dy, const baldro_tensor *x, const baldro_tensor *w,
                    int accumulate_dx) {
    const char *op = "linear_bwd";
    BK_TRY(bk_check_tensor(be, op, "dy", dy, BALDRO_DT_F32, 0));
    int64_t N = bk_rows(dy), O = bk_cols(dy);
    if (dx) {
        BK_TRY(bk_check_tensor(be, op, "dx", dx, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_tensor(be, op, "w", w, BALDRO_DT_F32, 2));
        BK_TRY(bk_check_dim(be, op, "w", w, 0, "dy", dy, -1));
        BK_TRY(bk_check_dim(be, op, "dx", dx, -1, "w", w, 1));
        BK_TRY(bk_check_rows(be, op, "dx", dx, "dy", dy));
        BK_TRY(bk_check_disjoint(be, op, "dx", dx, "dy", dy));
        BK_TRY(bk_check_disjoint(be, op, "dx", dx, "w", w));
    }
    if (dw) {
        BK_TRY(bk_check_tensor(be, op, "dw", dw, BALDRO_DT_F32, 2));
        BK_TRY(bk_check_tensor(be, op, "x", x, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_dim(be, op, "dw", dw, 0, "dy", dy, -1));
        BK_TRY(bk_check_dim(be, op, "dw", dw, 1, "x", x, -1));
        BK_TRY(bk_check_rows(be, op, "x", x, "dy", dy));
        if (w) {
            BK_TRY(bk_check_tensor(be, op, "w", w, BALDRO_DT_F32, 2));
            BK_TRY(bk_check_dim(be, op, "dw", dw, 1, "w", w, 1));
        }
        BK_TRY(bk_check_disjoint(be, op, "dw", dw, "dy", dy));
        BK_TRY(bk_check_disjoint(be, op, "dw", dw, "x", x));
    }
    if (db) {
        BK_TRY(bk_check_tensor(be, op, "db", db, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "db", db, O, "dy.shape[-1]"));
    }
    /* dw and db first: they read x and dy, so a dx written over x stays correct (the
     * stream runs them in this order). */
    if (dw) {
        int64_t K = dw->shape[1];
        BK_TRY(cuda_sgemm(be, op, CUBLAS_OP_N, CUBLAS_OP_T, K, O, N, 1.0f, x->data, K, dy->data,
                          O, 1.0f, dw->data, K));
    }
    if (db) BK_TRY(cuda_colsum_acc(be, db->data, dy->data, N, O, op));
    if (dx) {
        int64_t K = w->shape[1];
        BK_TRY(cuda_sgemm(be, op, CUBLAS_OP_N, CUBLAS_OP_N, K, N, O, 1.0f, w->data, K, dy->data,
                          O, accumulate_dx ? 1.0f : 0.0f, dx->data, K));
    }
    return BALDRO_OK;
}

/*
 * core/backend/cuda/cuda_linear.c: dense layer y = x W^T + b and its backward, in the
 * backend's precision: fp32 on cublasSgemm (TF32 off: see cuda_backend.c), or bf16
 * operands with fp32 accumulation on cuBLASLt (cuda_gemm.c).
 *
 * cuBLAS is column-major. A row-major [R, C] matrix with leading dimension C is, to
 * cuBLAS, the column-major [C, R] matrix: its transpose. So each row-major product
 * P = A B is computed as the column-major P^T = B^T A^T, with the operands swapped:
 *   y[N,O]  = x[N,I] w[O,I]^T   ->  y^T  = op_T(w) . x^T     m=O n=N k=I
 *   dx[N,I] = dy[N,O] w[O,I]    ->  dx^T = w^T . dy^T         m=I n=N k=O
 *   dw[O,I] += dy^T x           ->  dw^T = x^T . op_T(dy^T)   m=I n=O k=N
 * The checks are the shared bk_check_linear_fwd/bwd (backend_check.c).
 *
 * In bf16 the weight operand w is the backend's cached bf16 copy of it; x goes to
 * activation scratch slot 0 and dy to slot 1 (so dw and dx share one conversion of dy).
 */
#include <cublas_v2.h>

#include "backend/cuda/cuda_internal.h"

/* One GEMM operand: its fp32 data and, for bf16, where its bf16 copy comes from. */
typedef struct opnd {
    const float *p;
    int64_t ld;
    const baldro_tensor *weight; /* a weight: the cached copy of this tensor            */
    int slot;                    /* else an activation: scratch slot 0 or 1            */
    int64_t n;                   /* elements to convert (activations)                  */
} opnd;

/* C = op(A) op(B) + beta C, column-major, for sizes the callers checked fit an int.
 * Empty products are handled here, as cpu_sgemm does: m or n = 0 does nothing, k = 0
 * leaves beta C (cuBLAS rejects a leading dimension of 0). C is contiguous (ldc = m). */
static int gemm(baldro_backend *be, const char *op, cublasOperation_t ta, cublasOperation_t tb,
                int64_t m, int64_t n, int64_t k, const opnd *A, const opnd *B, float beta,
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
    if (be->precision == BALDRO_PRECISION_BF16) {
        const uint16_t *a16, *b16;
        if (A->weight)
            BK_TRY(cuda_bf16_weight(be, op, A->weight, &a16));
        else
            BK_TRY(cuda_bf16_act(be, op, A->slot, A->p, A->n, &a16));
        if (B->weight)
            BK_TRY(cuda_bf16_weight(be, op, B->weight, &b16));
        else
            BK_TRY(cuda_bf16_act(be, op, B->slot, B->p, B->n, &b16));
        return cuda_lt_gemm(be, op, (int)ta, (int)tb, m, n, k, a16, A->ld, b16, B->ld, beta, C,
                            ldc);
    }
    const float alpha = 1.0f;
    cublasStatus_t s = cublasSgemm((cublasHandle_t)cuda_st(be)->cublas, ta, tb, (int)m, (int)n,
                                   (int)k, &alpha, A->p, (int)A->ld, B->p, (int)B->ld, &beta, C,
                                   (int)ldc);
    return cuda_cublas_check(be, (int)s, op, "cublasSgemm");
}

int cuda_linear_fwd(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x,
                    const baldro_tensor *w, const baldro_tensor *b, int accumulate) {
    const char *op = "linear_fwd";
    BK_TRY(bk_check_linear_fwd(be, y, x, w, b));
    cuda_wrote_t(be, y);
    int64_t N = bk_rows(x), K = w->shape[1], O = w->shape[0];
    float *yp = (float *)y->data;
    opnd W = {(const float *)w->data, K, w, 0, 0};
    opnd X = {(const float *)x->data, K, NULL, 0, N * K};
    if (b && !accumulate) {
        /* Seed each row with the bias, then accumulate the product onto it (as the CPU). */
        BK_TRY(cuda_bias_rows(be, yp, (const float *)b->data, N, O, 1, op));
        return gemm(be, op, CUBLAS_OP_T, CUBLAS_OP_N, O, N, K, &W, &X, 1.0f, yp, O);
    }
    BK_TRY(gemm(be, op, CUBLAS_OP_T, CUBLAS_OP_N, O, N, K, &W, &X, accumulate ? 1.0f : 0.0f, yp,
                O));
    if (b) BK_TRY(cuda_bias_rows(be, yp, (const float *)b->data, N, O, 0, op));
    return BALDRO_OK;
}

int cuda_linear_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw, baldro_tensor *db,
                    const baldro_tensor *dy, const baldro_tensor *x, const baldro_tensor *w,
                    int accumulate_dx) {
    const char *op = "linear_bwd";
    BK_TRY(bk_check_linear_bwd(be, dx, dw, db, dy, x, w));
    cuda_wrote_t(be, dx);
    cuda_wrote_t(be, dw);
    cuda_wrote_t(be, db);
    int64_t N = bk_rows(dy), O = bk_cols(dy);
    opnd DY = {(const float *)dy->data, O, NULL, 1, N * O};
    /* dw and db first: they read x and dy, so a dx written over x stays correct (the
     * stream runs them in this order). */
    if (dw) {
        int64_t K = dw->shape[1];
        opnd X = {(const float *)x->data, K, NULL, 0, N * K};
        BK_TRY(gemm(be, op, CUBLAS_OP_N, CUBLAS_OP_T, K, O, N, &X, &DY, 1.0f, (float *)dw->data,
                    K));
    }
    if (db) BK_TRY(cuda_colsum_acc(be, (float *)db->data, (const float *)dy->data, N, O, op));
    if (dx) {
        int64_t K = w->shape[1];
        opnd W = {(const float *)w->data, K, w, 0, 0};
        BK_TRY(gemm(be, op, CUBLAS_OP_N, CUBLAS_OP_N, K, N, O, &W, &DY, accumulate_dx ? 1.0f : 0.0f,
                    (float *)dx->data, K));
        /* dx may be x's memory: slot 0's bf16 copy of x is stale now. */
        cuda_wrote_t(be, dx);
    }
    return BALDRO_OK;
}

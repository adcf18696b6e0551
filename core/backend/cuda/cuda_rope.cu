/*
 * core/backend/cuda/cuda_rope.cu: rotary position embedding: the cos/sin table and the
 * in-place rotation (forward) and its inverse (backward).
 *
 * The table is built on the host, by the same float operations in the same order as
 * cpu_rope.c (Hugging Face's fp32 inv_freq and angles, Llama-3.1 scaling, cos/sin in
 * double then rounded), and uploaded: it is made once at set-up, and the device's
 * powf/cos differ from glibc's in the last bits. This file's host code is compiled with
 * -ffp-contract=off (core/CMakeLists.txt) so no product and sum fuse.
 * The rotation rounds each product and sum on its own (__fmul_rn/__fadd_rn, which nvcc
 * never contracts into an FMA), as cpu_rope.c does.
 *
 * pos0 lives in device memory: a row whose positions leave the table is skipped and
 * reported by the next synchronising call (cuda_dev_error).
 */
#include <math.h>
#include <stdlib.h>

#include "backend/cuda/cuda_internal.h"

#define ROPE_THREADS 128
#define ROPE_MAX_BLOCKS 65535u

/* The table is built on the host by the code every backend shares (backend_rope.c), so
 * it is bit-identical to the CPU's, then uploaded. */
int cuda_rope_table(baldro_backend *be, baldro_tensor *table, const baldro_rope_params *p) {
    const char *op = "rope_table";
    BK_TRY(bk_rope_table_check(be, table, p));
    size_t bytes = baldro_tensor_bytes(table);
    if (bytes == 0) return BALDRO_OK;
    cuda_wrote_t(be, table);
    float *t = (float *)malloc(bytes);
    if (!t) return bk_fail(be, BALDRO_ENOMEM, "%s: out of host memory for %zu bytes", op, bytes);
    bk_rope_table_fill(p, t, 1);
    cudaError_t e = cudaMemcpyAsync(table->data, t, bytes, cudaMemcpyHostToDevice,
                                    cuda_stream(be));
    int rc = cuda_check(be, e, op, "cudaMemcpyAsync");
    /* Wait before freeing the host copy (the copy may still be reading it). */
    if (rc == BALDRO_OK) rc = cuda_sync(be, op);
    else (void)cudaStreamSynchronize(cuda_stream(be));
    free(t);
    return rc;
}

/* One block per (b, t) row of x[B,T,H,D]; threads over its H * D/2 pairs. sgn = +1:
 * forward, -1: the inverse rotation. */
__global__ void k_rope(float *x, const float *table, const int32_t *pos0, int64_t B, int64_t T,
                       int64_t H, int64_t D, int64_t P, float sgn, int interleaved,
                       cuda_dev_error *err, int opid) {
    const int64_t h = D / 2, npairs = H * h;
    for (int64_t row = blockIdx.x; row < B * T; row += gridDim.x) {
        int64_t b = row / T, t = row - b * T;
        int64_t start = pos0 ? (int64_t)pos0[b] : 0;
        /* The CPU's condition, per batch row: every position of row b in the table. */
        if (start < 0 || start + T > P) {
            if (threadIdx.x == 0) cuda_dev_flag(err, CUDA_DERR_POS_TABLE, opid, b, start, P, T);
            continue;
        }
        const float *c = table + (start + t) * D, *s = c + h;
        float *xr = x + row * H * D;
        for (int64_t k = threadIdx.x; k < npairs; k += blockDim.x) {
            int64_t hd = k / h, i = k - hd * h;
            float *xh = xr + hd * D;
            int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + h;
            float a = xh[ia], bb = xh[ib], ci = c[i], si = sgn * s[i];
            xh[ia] = __fsub_rn(__fmul_rn(a, ci), __fmul_rn(bb, si));
            xh[ib] = __fadd_rn(__fmul_rn(bb, ci), __fmul_rn(a, si));
        }
    }
}

static int cuda_rope_apply(baldro_backend *be, const char *op, int opid, const char *xn,
                           baldro_tensor *x, const baldro_tensor *table,
                           const baldro_tensor *pos0, int interleaved, float sgn) {
    BK_TRY(bk_check_rope(be, op, xn, x, table, pos0));
    cuda_wrote_t(be, x);
    const int64_t B = x->shape[0], T = x->shape[1], H = x->shape[2], D = x->shape[3];
    const int64_t P = table->shape[0];
    if (B * T * H * D == 0) return BALDRO_OK;
    int64_t rows = B * T;
    unsigned grid = rows > (int64_t)ROPE_MAX_BLOCKS ? ROPE_MAX_BLOCKS : (unsigned)rows;
    k_rope<<<grid, ROPE_THREADS, 0, cuda_stream(be)>>>(
        (float *)x->data, (const float *)table->data, pos0 ? (const int32_t *)pos0->data : NULL,
        B, T, H, D, P, sgn, interleaved, cuda_st(be)->d_err, opid);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_rope_fwd(baldro_backend *be, baldro_tensor *x, const baldro_tensor *table,
                  const baldro_tensor *pos0, int interleaved) {
    return cuda_rope_apply(be, "rope_fwd", CUDA_OP_ROPE_FWD, "x", x, table, pos0, interleaved,
                           1.0f);
}

int cuda_rope_bwd(baldro_backend *be, baldro_tensor *dx, const baldro_tensor *table,
                  const baldro_tensor *pos0, int interleaved) {
    return cuda_rope_apply(be, "rope_bwd", CUDA_OP_ROPE_BWD, "dx", dx, table, pos0, interleaved,
                           -1.0f);
}

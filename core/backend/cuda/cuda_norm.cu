/*
 * core/backend/cuda/cuda_norm.cu: RMSNorm as in Hugging Face's LlamaRMSNorm (see
 * cpu_norm.c for the formulas and the rounding order, which these kernels keep).
 *
 * Forward: one block per row; the row's sum of squares in fp32 (per-thread sums, then
 * warp shuffles), rstd = 1 / sqrt(mean + eps) formed in double as on the CPU.
 * Backward dx: one block per row, the row dot sum(g w x) in double. dw: each block owns
 * 32 columns and walks all rows (lane = column: coalesced), row lanes added in a fixed
 * order: deterministic and free of atomics, with no scratch memory.
 */
#include <math.h>

#include "backend/cuda/cuda_internal.h"

#define NORM_THREADS 256
#define NORM_MAX_BLOCKS 65535u
#define NORM_DW_ROWS 16

/* Sum over the block, returned to every thread. Ends with a barrier, so a loop may call
 * it again at once. blockDim.x: a multiple of 32. */
template <typename T> static __device__ T block_allsum(T v) {
    __shared__ T sh[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    if (wid == 0) {
        v = lane < nw ? sh[lane] : (T)0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0) sh[0] = v;
    }
    __syncthreads();
    v = sh[0];
    __syncthreads();
    return v;
}

__global__ void k_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int64_t N,
                              int64_t C, float eps) {
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        const float *xr = x + n * C;
        float *yr = out + n * C;
        float acc = 0.0f;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) acc += xr[c] * xr[c];
        acc = block_allsum(acc);
        double ms = C > 0 ? (double)acc / (double)C : 0.0;
        float r = (float)(1.0 / sqrt(ms + (double)eps));
        if (rstd && threadIdx.x == 0) rstd[n] = r;
        /* out may be x itself: every thread reads its own columns before writing them,
         * after the sum is complete. */
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = w[c] * (xr[c] * r);
    }
}

/* dx = r w g - x r^3 / C * sum_c(g w x), the row sum in double (cpu_norm.c). */
__global__ void k_rmsnorm_bwd_dx(float *dx, const float *g, const float *x, const float *w,
                                 const float *rs, int64_t N, int64_t C, int accumulate) {
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        const float *gr = g + n * C, *xr = x + n * C;
        float *dr = dx + n * C;
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
            acc += (double)gr[c] * (double)w[c] * (double)xr[c];
        double dot = block_allsum(acc);
        double r = (double)rs[n];
        double k = C > 0 ? r * r * r * dot / (double)C : 0.0;
        /* dx may be dout itself: same-thread read before write, after the row sum. */
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
            float v = (float)(r * (double)w[c] * (double)gr[c] - k * (double)xr[c]);
            if (accumulate)
                dr[c] += v;
            else
                dr[c] = v;
        }
    }
}

/* dw[c] += sum_n g[n,c] x[n,c] rstd[n], in double. */
__global__ void k_rmsnorm_bwd_dw(float *dw, const float *g, const float *x, const float *rs,
                                 int64_t N, int64_t C) {
    __shared__ double part[NORM_DW_ROWS][33];
    int64_t c = (int64_t)blockIdx.x * 32 + threadIdx.x;
    double acc = 0.0;
    if (c < C)
        for (int64_t n = threadIdx.y; n < N; n += NORM_DW_ROWS)
            acc += (double)g[n * C + c] * (double)x[n * C + c] * (double)rs[n];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        double s = 0.0;
        for (int r = 0; r < NORM_DW_ROWS; r++) s += part[r][threadIdx.x];
        dw[c] = (float)((double)dw[c] + s);
    }
}

static unsigned norm_grid(int64_t N) {
    return N > (int64_t)NORM_MAX_BLOCKS ? NORM_MAX_BLOCKS : (unsigned)N;
}

int cuda_rmsnorm_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *rstd,
                     const baldro_tensor *x, const baldro_tensor *w, float eps) {
    const char *op = "rmsnorm_fwd";
    BK_TRY(bk_check_rmsnorm_fwd(be, out, rstd, x, w, eps));
    cuda_wrote_t(be, out);
    cuda_wrote_t(be, rstd);
    int64_t N = bk_rows(x), C = bk_cols(x);
    if (N == 0) return BALDRO_OK;
    k_rmsnorm_fwd<<<norm_grid(N), NORM_THREADS, 0, cuda_stream(be)>>>(
        (float *)out->data, rstd ? (float *)rstd->data : NULL, (const float *)x->data,
        (const float *)w->data, N, C, eps);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_rmsnorm_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw,
                     const baldro_tensor *dout, const baldro_tensor *x, const baldro_tensor *w,
                     const baldro_tensor *rstd, int accumulate_dx) {
    const char *op = "rmsnorm_bwd";
    BK_TRY(bk_check_rmsnorm_bwd(be, dx, dw, dout, x, w, rstd));
    cuda_wrote_t(be, dx);
    cuda_wrote_t(be, dw);
    int64_t N = bk_rows(x), C = bk_cols(x);
    const float *g = (const float *)dout->data, *xp = (const float *)x->data;
    const float *wp = (const float *)w->data, *rs = (const float *)rstd->data;
    /* dw first: dx is written last, so even a dx that reuses dout's memory stays right. */
    if (dw && C > 0) {
        unsigned grid = (unsigned)((C + 31) / 32);
        k_rmsnorm_bwd_dw<<<grid, dim3(32, NORM_DW_ROWS), 0, cuda_stream(be)>>>(
            (float *)dw->data, g, xp, rs, N, C);
        CUDA_LAUNCHED(be, op);
    }
    if (!dx || N == 0) return BALDRO_OK;
    k_rmsnorm_bwd_dx<<<norm_grid(N), NORM_THREADS, 0, cuda_stream(be)>>>(
        (float *)dx->data, g, xp, wp, rs, N, C, accumulate_dx);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

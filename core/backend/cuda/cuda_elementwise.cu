/*
 * core/backend/cuda/cuda_elementwise.cu: fill, copy, add, scale, sumsq, and the bias and
 * column-sum kernels of linear (cuda_linear.c).
 *
 * Argument checks are the shared bk_check_<op> (backend_check.c), as on the CPU. Kernels
 * are fp32 grid-stride loops on the backend's stream; sumsq reduces in double and is
 * deterministic: a fixed grid for a given size, block partials summed in order.
 */
#include <math.h>

#include "backend/cuda/cuda_internal.h"

#define EW_THREADS 256
#define EW_MAX_BLOCKS 65535u

static unsigned ew_grid(baldro_backend *be, int64_t n) {
    /* Enough blocks to fill the device several times over; the loops stride the rest. */
    unsigned cap = (unsigned)cuda_st(be)->n_sm * 32u;
    if (cap < 1 || cap > EW_MAX_BLOCKS) cap = EW_MAX_BLOCKS;
    return cuda_grid(n, EW_THREADS, cap);
}

__global__ void k_fill_f32(float *p, int64_t n, float v) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        p[i] = v;
}

__global__ void k_fill_i32(int32_t *p, int64_t n, int32_t v) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        p[i] = v;
}

__global__ void k_add(float *y, const float *a, const float *b, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = a[i] + b[i];
}

__global__ void k_scale(float *x, int64_t n, float s) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        x[i] *= s;
}

int cuda_fill(baldro_backend *be, baldro_tensor *x, float value) {
    const char *op = "fill";
    BK_TRY(bk_check_fill(be, x, value));
    cuda_wrote_t(be, x);
    if (x->dtype == BALDRO_DT_I32) {
        int64_t n = baldro_tensor_numel(x);
        if (n == 0) return BALDRO_OK;
        k_fill_i32<<<ew_grid(be, n), EW_THREADS, 0, cuda_stream(be)>>>((int32_t *)x->data, n,
                                                                        (int32_t)value);
        CUDA_LAUNCHED(be, op);
        return BALDRO_OK;
    }
    int64_t n = baldro_tensor_numel(x);
    if (n == 0) return BALDRO_OK;
    k_fill_f32<<<ew_grid(be, n), EW_THREADS, 0, cuda_stream(be)>>>((float *)x->data, n, value);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_copy(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x) {
    const char *op = "copy";
    BK_TRY(bk_check_copy(be, y, x));
    size_t bytes = baldro_tensor_bytes(x);
    if (!bytes || y->data == x->data) return BALDRO_OK;
    /* The CPU's memmove allows a partial overlap; a device-to-device cudaMemcpy does not,
     * and no caller needs it, so it is refused rather than silently corrupted. */
    BK_TRY(bk_check_disjoint(be, op, "y", y, "x", x));
    cuda_wrote_t(be, y);
    CUDA_TRY(be, cudaMemcpyAsync(y->data, x->data, bytes, cudaMemcpyDeviceToDevice,
                                 cuda_stream(be)), op);
    return BALDRO_OK;
}

int cuda_add(baldro_backend *be, baldro_tensor *y, const baldro_tensor *a, const baldro_tensor *b) {
    const char *op = "add";
    /* y may be a or b exactly (each element is read before it is written, by the same
     * thread); the shared check refuses a partial overlap. */
    BK_TRY(bk_check_add(be, y, a, b));
    cuda_wrote_t(be, y);
    int64_t n = baldro_tensor_numel(a);
    if (n == 0) return BALDRO_OK;
    k_add<<<ew_grid(be, n), EW_THREADS, 0, cuda_stream(be)>>>(
        (float *)y->data, (const float *)a->data, (const float *)b->data, n);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_scale(baldro_backend *be, baldro_tensor *x, float s) {
    const char *op = "scale";
    BK_TRY(bk_check_scale(be, x));
    cuda_wrote_t(be, x);
    int64_t n = baldro_tensor_numel(x);
    if (n == 0) return BALDRO_OK;
    k_scale<<<ew_grid(be, n), EW_THREADS, 0, cuda_stream(be)>>>((float *)x->data, n, s);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

/* ---- sumsq -------------------------------------------------------------------------- */

/* Sum of one block's doubles into thread 0 (blockDim.x a multiple of 32, <= 1024). */
static __device__ double block_sum_d(double v) {
    __shared__ double warp_sums[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
    if (lane == 0) warp_sums[wid] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = threadIdx.x < nw ? warp_sums[threadIdx.x] : 0.0;
    if (wid == 0)
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* partial[block] = sum of x^2 over the block's grid-stride share, in double. */
__global__ void k_sumsq_partial(const float *x, int64_t n, double *partial) {
    double acc = 0.0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        double v = (double)x[i];
        acc += v * v;
    }
    acc = block_sum_d(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

/* *out = sum of partial[0..nb), one block, fixed order for a given nb. */
__global__ void k_sumsq_final(const double *partial, int nb, double *out) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < nb; i += blockDim.x) acc += partial[i];
    acc = block_sum_d(acc);
    if (threadIdx.x == 0) *out = acc;
}

int cuda_sumsq(baldro_backend *be, const baldro_tensor *x, double *out) {
    const char *op = "sumsq";
    BK_TRY(bk_check_sumsq(be, x, out));
    cuda_state *st = cuda_st(be);
    int64_t n = baldro_tensor_numel(x);
    /* The grid depends only on n (not on the device), so the sum is reproducible. */
    unsigned nb = cuda_grid(n, CUDA_SUMSQ_THREADS * 8, CUDA_SUMSQ_MAX_BLOCKS);
    k_sumsq_partial<<<nb, CUDA_SUMSQ_THREADS, 0, st->stream>>>((const float *)x->data, n,
                                                                st->d_partial);
    CUDA_LAUNCHED(be, op);
    k_sumsq_final<<<1, CUDA_SUMSQ_THREADS, 0, st->stream>>>(st->d_partial, (int)nb, st->d_scalar);
    CUDA_LAUNCHED(be, op);
    CUDA_TRY(be, cudaMemcpyAsync(st->h_scalar, st->d_scalar, sizeof(double),
                                 cudaMemcpyDeviceToHost, st->stream), op);
    BK_TRY(cuda_sync(be, op));
    *out = *st->h_scalar;
    return BALDRO_OK;
}

/* ---- linear helpers ----------------------------------------------------------------- */

/* One block row per y row (grid-stride over rows in y and x), columns across threads. */
__global__ void k_bias_rows(float *y, const float *b, int64_t N, int64_t O, int seed) {
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        float *yr = y + n * O;
        if (seed)
            for (int64_t o = threadIdx.x; o < O; o += blockDim.x) yr[o] = b[o];
        else
            for (int64_t o = threadIdx.x; o < O; o += blockDim.x) yr[o] += b[o];
    }
}

int cuda_bias_rows(baldro_backend *be, float *y, const float *b, int64_t N, int64_t O, int seed,
                   const char *op) {
    if (N == 0 || O == 0) return BALDRO_OK;
    unsigned grid = N > (int64_t)EW_MAX_BLOCKS ? EW_MAX_BLOCKS : (unsigned)N;
    k_bias_rows<<<grid, EW_THREADS, 0, cuda_stream(be)>>>(y, b, N, O, seed);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

/* Column sums: a block owns 32 columns; its 32 x COLSUM_ROWS threads walk the rows (lane
 * = column, so each row's 32 floats are one coalesced read), then the row lanes are
 * added in a fixed order. */
#define COLSUM_ROWS 16

__global__ void k_colsum_acc(float *db, const float *dy, int64_t N, int64_t O) {
    __shared__ double part[COLSUM_ROWS][33];
    int64_t c = (int64_t)blockIdx.x * 32 + threadIdx.x;
    double acc = 0.0;
    if (c < O)
        for (int64_t n = threadIdx.y; n < N; n += COLSUM_ROWS) acc += (double)dy[n * O + c];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < O) {
        double s = 0.0;
        for (int r = 0; r < COLSUM_ROWS; r++) s += part[r][threadIdx.x];
        db[c] = (float)((double)db[c] + s);
    }
}

int cuda_colsum_acc(baldro_backend *be, float *db, const float *dy, int64_t N, int64_t O,
                    const char *op) {
    if (O == 0) return BALDRO_OK;
    unsigned grid = (unsigned)((O + 31) / 32); /* O fits an int: at most 2^26 blocks */
    k_colsum_acc<<<grid, dim3(32, COLSUM_ROWS), 0, cuda_stream(be)>>>(db, dy, N, O);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

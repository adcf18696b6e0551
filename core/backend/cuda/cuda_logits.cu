/*
 * core/backend/cuda/cuda_logits.cu: the LM-head end of the network: fused log-softmax +
 * target gather (forward and in-place backward) and greedy argmax (cpu_logits.c).
 *
 * One block per row. The forward keeps, per thread, an online (max, sum of exp(x - max))
 * pair in fp32 over its strided share of the row, merges the pairs across the block,
 * and forms lse = max + log(sum) in double; no probability tensor exists at any point.
 * Targets are in device memory: one >= V is recorded as a device error (reported by the
 * next synchronising call, naming the op) and its row is treated as ignored.
 */
#include <math.h>

#include "backend/cuda/cuda_internal.h"

#define LSM_THREADS 512
#define LSM_MAX_BLOCKS 65535u

/* (m, s) merges: s is a sum of exp(x - m). An empty side has m = -inf and s = 0. */
static __device__ __forceinline__ void lse_merge(float &m, float &s, float m2, float s2) {
    if (m2 == -INFINITY) return;
    if (m == -INFINITY) {
        m = m2;
        s = s2;
        return;
    }
    if (m2 > m) {
        s = s * expf(m - m2) + s2;
        m = m2;
    } else {
        s += s2 * expf(m2 - m);
    }
}

/* log-sum-exp of row[0..V) over the block, returned to every thread (in double). NaN
 * entries make the result NaN, as on the CPU. */
static __device__ double block_row_lse(const float *row, int64_t V) {
    __shared__ float shm[32], shs[32];
    __shared__ double result;
    float m = -INFINITY, s = 0.0f;
    int has_nan = 0;
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
        float x = row[j];
        if (x != x) {
            has_nan = 1;
            continue;
        }
        if (x == -INFINITY) continue;
        if (x > m) {
            s = (m == -INFINITY ? 0.0f : s * expf(m - x)) + 1.0f;
            m = x;
        } else {
            s += expf(x - m);
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        lse_merge(m, s, m2, s2);
    }
    has_nan = __syncthreads_or(has_nan);
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) {
        shm[wid] = m;
        shs[wid] = s;
    }
    __syncthreads();
    if (wid == 0) {
        m = lane < nw ? shm[lane] : -INFINITY;
        s = lane < nw ? shs[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) {
            float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
            lse_merge(m, s, m2, s2);
        }
        if (lane == 0) {
            /* All -inf: log(0) = -inf, as max + log(sum) gives on the CPU (with NaN from
             * -inf - -inf there; an all -inf row has no finite answer either way). */
            double l = m == -INFINITY ? -(double)INFINITY : (double)m + log((double)s);
            result = has_nan ? (double)NAN : l;
        }
    }
    __syncthreads();
    double l = result;
    __syncthreads();
    return l;
}

__global__ void k_lsm_gather_fwd(float *logp, float *lse, const float *logits,
                                 const int32_t *targets, int64_t N, int64_t V,
                                 cuda_dev_error *err) {
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        int32_t t = targets[n];
        if (t >= V) {
            if (threadIdx.x == 0)
                cuda_dev_flag(err, CUDA_DERR_TARGET, CUDA_OP_LSM_GATHER_FWD, n, t, V, 0);
            t = -1;
        }
        if (t < 0) {
            /* Ignored rows (padding) cost nothing: logp = 0 and lse = 0. */
            if (threadIdx.x == 0) {
                logp[n] = 0.0f;
                if (lse) lse[n] = 0.0f;
            }
            continue;
        }
        const float *row = logits + n * V;
        double l = block_row_lse(row, V);
        if (threadIdx.x == 0) {
            logp[n] = (float)((double)row[t] - l);
            if (lse) lse[n] = (float)l;
        }
    }
}

/* row = d * (onehot(target) - exp(row - lse)), in place; the target entry as
 * d * (1 - p) (cpu_logits.c). Ignored rows become 0. */
__global__ void k_lsm_gather_bwd(float *logits, const float *lse, const int32_t *targets,
                                 const float *dlogp, int64_t N, int64_t V, cuda_dev_error *err) {
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        float *row = logits + n * V;
        int32_t t = targets[n];
        if (t >= V) {
            if (threadIdx.x == 0)
                cuda_dev_flag(err, CUDA_DERR_TARGET, CUDA_OP_LSM_GATHER_BWD, n, t, V, 0);
            t = -1;
        }
        if (t < 0) {
            for (int64_t j = threadIdx.x; j < V; j += blockDim.x) row[j] = 0.0f;
            continue;
        }
        float l = lse[n], d = dlogp[n];
        /* Each element is read and written by one thread: in place is safe. */
        for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
            float p = expf(row[j] - l);
            row[j] = j == t ? d * (1.0f - p) : -d * p;
        }
    }
}

/* Largest entry, lowest index on ties; NaN is never chosen; a row of NaN gives 0. */
static __device__ __forceinline__ void amax_merge(float &v, int64_t &i, float v2, int64_t i2) {
    if (v2 > v || (v2 == v && i2 < i)) {
        v = v2;
        i = i2;
    }
}

__global__ void k_argmax(int32_t *ids, const float *logits, int64_t M, int64_t V) {
    __shared__ float shv[32];
    __shared__ long long shi[32];
    const int64_t NONE = INT64_MAX;
    for (int64_t m = blockIdx.x; m < M; m += gridDim.x) {
        const float *row = logits + m * V;
        float v = -INFINITY;
        int64_t i = NONE;
        for (int64_t j = threadIdx.x; j < V; j += blockDim.x) amax_merge(v, i, row[j], j);
        for (int o = 16; o > 0; o >>= 1) {
            float v2 = __shfl_xor_sync(0xffffffffu, v, o);
            long long i2 = __shfl_xor_sync(0xffffffffu, (long long)i, o);
            amax_merge(v, i, v2, i2);
        }
        int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
        if (lane == 0) {
            shv[wid] = v;
            shi[wid] = i;
        }
        __syncthreads();
        if (wid == 0) {
            v = lane < nw ? shv[lane] : -INFINITY;
            i = lane < nw ? shi[lane] : NONE;
            for (int o = 16; o > 0; o >>= 1) {
                float v2 = __shfl_xor_sync(0xffffffffu, v, o);
                long long i2 = __shfl_xor_sync(0xffffffffu, (long long)i, o);
                amax_merge(v, i, v2, i2);
            }
            if (lane == 0) ids[m] = i == NONE ? 0 : (int32_t)i;
        }
        __syncthreads();
    }
}

static unsigned lsm_grid(int64_t N) {
    return N > (int64_t)LSM_MAX_BLOCKS ? LSM_MAX_BLOCKS : (unsigned)N;
}

int cuda_logsoftmax_gather_fwd(baldro_backend *be, baldro_tensor *logp, baldro_tensor *lse,
                               const baldro_tensor *logits, const baldro_tensor *targets) {
    const char *op = "logsoftmax_gather_fwd";
    BK_TRY(bk_check_logsoftmax_gather_fwd(be, logp, lse, logits, targets));
    cuda_wrote_t(be, logp);
    cuda_wrote_t(be, lse);
    const int64_t N = bk_rows(logits), V = bk_cols(logits);
    if (N == 0) return BALDRO_OK;
    k_lsm_gather_fwd<<<lsm_grid(N), LSM_THREADS, 0, cuda_stream(be)>>>(
        (float *)logp->data, lse ? (float *)lse->data : NULL, (const float *)logits->data,
        (const int32_t *)targets->data, N, V, cuda_st(be)->d_err);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_logsoftmax_gather_bwd(baldro_backend *be, baldro_tensor *logits, const baldro_tensor *lse,
                               const baldro_tensor *targets, const baldro_tensor *dlogp) {
    const char *op = "logsoftmax_gather_bwd";
    BK_TRY(bk_check_logsoftmax_gather_bwd(be, logits, lse, targets, dlogp));
    cuda_wrote_t(be, logits);
    const int64_t N = bk_rows(logits), V = bk_cols(logits);
    if (N == 0 || V == 0) return BALDRO_OK;
    k_lsm_gather_bwd<<<lsm_grid(N), LSM_THREADS, 0, cuda_stream(be)>>>(
        (float *)logits->data, (const float *)lse->data, (const int32_t *)targets->data,
        (const float *)dlogp->data, N, V, cuda_st(be)->d_err);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_argmax(baldro_backend *be, baldro_tensor *ids, const baldro_tensor *logits) {
    const char *op = "argmax";
    BK_TRY(bk_check_argmax(be, ids, logits));
    cuda_wrote_t(be, ids);
    const int64_t M = bk_rows(logits), V = bk_cols(logits);
    if (M == 0) return BALDRO_OK;
    k_argmax<<<lsm_grid(M), LSM_THREADS, 0, cuda_stream(be)>>>((int32_t *)ids->data,
                                                               (const float *)logits->data, M, V);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

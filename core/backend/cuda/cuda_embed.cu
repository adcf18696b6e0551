/*
 * core/backend/cuda/cuda_embed.cu: embedding lookup, its scatter-add backward, and row
 * gather.
 *
 * Shapes are cpu_embed.c's; the checks are the shared bk_check_<op>. The index values
 * themselves are in device memory: each kernel checks them and, on the first one out of
 * range, records a device error (cuda_dev_error, see cuda_internal.h) and leaves that row
 * alone (fwd and gather: its output row is left as it was; bwd: nothing is added for it).
 * The error is reported, naming this op, by the next synchronising call (download,
 * upload, sumsq).
 *
 * The backward adds with atomicAdd: repeated ids collide, so the order of the additions
 * (and the last bits of a table row hit many times) varies from run to run.
 */
#include "backend/cuda/cuda_internal.h"

#define EMB_THREADS 256
#define EMB_MAX_BLOCKS 65535u

/* out[m, :] = src[idx[m], :] for m < M (rows of C floats); idx in [0, limit). */
__global__ void k_copy_rows(float *out, const float *src, const int32_t *idx, int64_t M,
                            int64_t C, int64_t limit, cuda_dev_error *err, int opid) {
    for (int64_t m = blockIdx.x; m < M; m += gridDim.x) {
        int32_t id = idx[m];
        if (id < 0 || id >= limit) {
            if (threadIdx.x == 0) cuda_dev_flag(err, CUDA_DERR_INDEX, opid, m, id, limit, 0);
            continue;
        }
        const float *s = src + (int64_t)id * C;
        float *o = out + m * C;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] = s[c];
    }
}

/* dtable[ids[n], :] += dout[n, :]. */
__global__ void k_scatter_add_rows(float *dtable, const float *dout, const int32_t *ids,
                                   int64_t N, int64_t C, int64_t V, cuda_dev_error *err) {
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        int32_t id = ids[n];
        if (id < 0 || id >= V) {
            if (threadIdx.x == 0)
                cuda_dev_flag(err, CUDA_DERR_INDEX, CUDA_OP_EMBEDDING_BWD, n, id, V, 0);
            continue;
        }
        float *d = dtable + (int64_t)id * C;
        const float *g = dout + n * C;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) atomicAdd(d + c, g[c]);
    }
}

static int emb_copy_rows(baldro_backend *be, const char *op, int opid, float *out,
                         const float *src, const int32_t *idx, int64_t M, int64_t C,
                         int64_t limit) {
    if (M == 0) return BALDRO_OK;
    unsigned grid = M > (int64_t)EMB_MAX_BLOCKS ? EMB_MAX_BLOCKS : (unsigned)M;
    k_copy_rows<<<grid, EMB_THREADS, 0, cuda_stream(be)>>>(out, src, idx, M, C, limit,
                                                           cuda_st(be)->d_err, opid);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_embedding_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *ids,
                       const baldro_tensor *table) {
    const char *op = "embedding_fwd";
    BK_TRY(bk_check_embedding_fwd(be, out, ids, table));
    cuda_wrote_t(be, out);
    return emb_copy_rows(be, op, CUDA_OP_EMBEDDING_FWD, (float *)out->data,
                         (const float *)table->data, (const int32_t *)ids->data, bk_rows(out),
                         table->shape[1], table->shape[0]);
}

int cuda_embedding_bwd(baldro_backend *be, baldro_tensor *dtable, const baldro_tensor *dout,
                       const baldro_tensor *ids) {
    const char *op = "embedding_bwd";
    BK_TRY(bk_check_embedding_bwd(be, dtable, dout, ids));
    cuda_wrote_t(be, dtable);
    int64_t N = bk_rows(dout), C = dtable->shape[1];
    if (N == 0) return BALDRO_OK;
    unsigned grid = N > (int64_t)EMB_MAX_BLOCKS ? EMB_MAX_BLOCKS : (unsigned)N;
    k_scatter_add_rows<<<grid, EMB_THREADS, 0, cuda_stream(be)>>>(
        (float *)dtable->data, (const float *)dout->data, (const int32_t *)ids->data, N, C,
        dtable->shape[0], cuda_st(be)->d_err);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

int cuda_gather_rows(baldro_backend *be, baldro_tensor *out, const baldro_tensor *x,
                     const baldro_tensor *idx) {
    const char *op = "gather_rows";
    BK_TRY(bk_check_gather_rows(be, out, x, idx));
    cuda_wrote_t(be, out);
    return emb_copy_rows(be, op, CUDA_OP_GATHER_ROWS, (float *)out->data, (const float *)x->data,
                         (const int32_t *)idx->data, bk_rows(out), bk_cols(x), bk_rows(x));
}

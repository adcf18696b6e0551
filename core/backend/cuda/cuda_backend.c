/*
 * core/backend/cuda/cuda_backend.c: the CUDA backend's handle, ops table and memory.
 *
 * One device, one non-blocking stream, GEMMs in the precision chosen at open (fp32:
 * cuBLAS, TF32 off; bf16: cuBLASLt, cuda_gemm.c). Every op enqueues its work on that
 * stream and returns; the calls that hand a value to the host (download, sumsq) and upload (the
 * caller may reuse its buffer at once) wait for the stream. cuBLAS is bound to the same
 * stream with TF32 off, so fp32 GEMMs stay fp32. Memory: plain cudaMalloc blocks
 * (never managed memory), zeroed on the stream, tracked in a table so that close frees
 * whatever is left and `free` refuses pointers it did not hand out.
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"

/* cuBLASLt workspace for the bf16 GEMMs (NVIDIA recommends 32 MiB on Hopper). */
#define CUDA_LT_WORKSPACE ((size_t)32 << 20)

/* ---- errors -------------------------------------------------------------------------- */

int cuda_check(baldro_backend *be, cudaError_t e, const char *op, const char *what) {
    if (e == cudaSuccess) return BALDRO_OK;
    /* `what` is the stringified call: name the function, not its argument list. */
    int n = (int)strcspn(what, "(");
    return bk_fail(be, BALDRO_EIO, "%s: %.*s: %s (%s)", op, n, what, cudaGetErrorString(e),
                   cudaGetErrorName(e));
}

int cuda_cublas_check(baldro_backend *be, int status, const char *op, const char *what) {
    if (status == CUBLAS_STATUS_SUCCESS) return BALDRO_OK;
    int n = (int)strcspn(what, "(");
    return bk_fail(be, BALDRO_EIO, "%s: %.*s: %s", op, n, what,
                   cublasGetStatusString((cublasStatus_t)status));
}

/* Names of the ops that check index values on the device (cuda_op_id order) and the
 * argument their CUDA_DERR_INDEX errors name. */
static const char *const cuda_op_names[CUDA_OP_COUNT] = {
    [CUDA_OP_EMBEDDING_FWD] = "embedding_fwd",
    [CUDA_OP_EMBEDDING_BWD] = "embedding_bwd",
    [CUDA_OP_GATHER_ROWS] = "gather_rows",
    [CUDA_OP_ROPE_FWD] = "rope_fwd",
    [CUDA_OP_ROPE_BWD] = "rope_bwd",
    [CUDA_OP_ATTENTION_FWD] = "attention_fwd",
    [CUDA_OP_KV_APPEND] = "kv_append",
    [CUDA_OP_LSM_GATHER_FWD] = "logsoftmax_gather_fwd",
    [CUDA_OP_LSM_GATHER_BWD] = "logsoftmax_gather_bwd",
};

static int cuda_report_dev_error(baldro_backend *be, const cuda_dev_error *e, const char *by) {
    const char *op = e->op >= 0 && e->op < CUDA_OP_COUNT ? cuda_op_names[e->op] : "an op";
    const char *arg = e->op == CUDA_OP_GATHER_ROWS ? "idx" : "ids";
    char what[320];
    switch (e->kind) {
    case CUDA_DERR_INDEX:
        snprintf(what, sizeof what, "%s[%lld]=%lld is out of range [0, %lld)", arg, e->index,
                 e->value, e->limit);
        break;
    case CUDA_DERR_TARGET:
        snprintf(what, sizeof what, "targets[%lld]=%lld is not < V=%lld", e->index, e->value,
                 e->limit);
        break;
    case CUDA_DERR_POS_TABLE:
        snprintf(what, sizeof what,
                 "positions %lld..%lld of row %lld are outside the table (%lld positions)",
                 e->value, e->value + e->extra - 1, e->index, e->limit);
        break;
    case CUDA_DERR_POS_KEYS:
        snprintf(what, sizeof what, "pos0[%lld]=%lld with q.shape[1]=%lld reaches past "
                 "k.shape[1]=%lld", e->index, e->value, e->extra, e->limit);
        break;
    case CUDA_DERR_POS_CACHE:
        snprintf(what, sizeof what,
                 "positions %lld..%lld of row %lld do not fit cache.shape[1]=%lld", e->value,
                 e->value + e->extra - 1, e->index, e->limit);
        break;
    default:
        snprintf(what, sizeof what, "device error kind %d", (int)e->kind);
        break;
    }
    return bk_fail(be, BALDRO_EINVAL, "%s: %s (found on the device, reported by %s)", op, what,
                   by);
}

int cuda_sync(baldro_backend *be, const char *op) {
    cuda_state *st = cuda_st(be);
    /* The record's copy rides on the stream, so one wait covers both. */
    CUDA_TRY(be, cudaMemcpyAsync(st->h_err, st->d_err, sizeof *st->h_err, cudaMemcpyDeviceToHost,
                                 st->stream), op);
    CUDA_TRY(be, cudaStreamSynchronize(st->stream), op);
    if (st->h_err->kind == CUDA_DERR_NONE) return BALDRO_OK;
    cuda_dev_error e = *st->h_err;
    memset(st->h_err, 0, sizeof *st->h_err);
    CUDA_TRY(be, cudaMemsetAsync(st->d_err, 0, sizeof *st->d_err, st->stream), op);
    return cuda_report_dev_error(be, &e, op);
}

/* ---- memory ---------------------------------------------------------------------------- */

static const char *cuda_last_error(baldro_backend *be) {
    return be ? be->err : "";
}

static int cuda_alloc(baldro_backend *be, size_t bytes, void **out) {
    if (!out) return bk_fail(be, BALDRO_EINVAL, "alloc: out is NULL");
    *out = NULL;
    cuda_state *st = cuda_st(be);
    size_t *rec = malloc(sizeof *rec);
    if (!rec) return bk_fail(be, BALDRO_ENOMEM, "alloc: out of host memory");
    void *p = NULL;
    /* cudaMalloc returns 256-byte aligned blocks; a 0-byte request still gets a block so
     * that the pointer is distinct and can be freed, as on the CPU. */
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        free(rec);
        (void)cudaGetLastError(); /* an out-of-memory error is not sticky; clear it */
        size_t fr = 0, tot = 0;
        if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) fr = tot = 0;
        return bk_fail(be, e == cudaErrorMemoryAllocation ? BALDRO_ENOMEM : BALDRO_EIO,
                       "alloc: cudaMalloc of %zu bytes on %s: %s (%zu of %zu MiB free)", bytes,
                       st->name, cudaGetErrorString(e), fr >> 20, tot >> 20);
    }
    e = cudaMemsetAsync(p, 0, bytes, st->stream);
    if (e != cudaSuccess) {
        cudaFree(p);
        free(rec);
        return cuda_check(be, e, "alloc", "cudaMemsetAsync");
    }
    *rec = bytes;
    g_hash_table_insert((GHashTable *)st->blocks, p, rec);
    be->bytes_live += bytes;
    if (be->bytes_live > be->bytes_peak) be->bytes_peak = be->bytes_live;
    be->n_allocs++;
    *out = p;
    return BALDRO_OK;
}

static void cuda_free(baldro_backend *be, void *p) {
    if (!p) return;
    cuda_state *st = cuda_st(be);
    size_t *rec = g_hash_table_lookup((GHashTable *)st->blocks, p);
    if (!rec) {
        bk_fail(be, BALDRO_EINVAL, "free: %p was not allocated by this backend", p);
        return;
    }
    be->bytes_live -= *rec;
    /* bf16 copies of tensors in this block die with it: a later block at the same
     * address must not find them. */
    cuda_bf16_forget_block(be, p, *rec);
    g_hash_table_remove((GHashTable *)st->blocks, p); /* frees rec */
    /* cudaFree waits for the device, so no queued kernel still uses the block. */
    cudaError_t e = cudaFree(p);
    if (e != cudaSuccess) cuda_check(be, e, "free", "cudaFree");
}

static int cuda_upload(baldro_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes && (!dst || !src)) return bk_fail(be, BALDRO_EINVAL, "upload: NULL pointer");
    if (!bytes) return BALDRO_OK;
    cuda_state *st = cuda_st(be);
    cuda_wrote(be, dst, bytes);
    CUDA_TRY(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st->stream), "upload");
    /* The caller may reuse `src` as soon as this returns. */
    return cuda_sync(be, "upload");
}

static int cuda_download(baldro_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes && (!dst || !src)) return bk_fail(be, BALDRO_EINVAL, "download: NULL pointer");
    cuda_state *st = cuda_st(be);
    if (bytes)
        CUDA_TRY(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, st->stream),
                 "download");
    return cuda_sync(be, "download");
}

/* ---- the ops table ----------------------------------------------------------------------- */

static const baldro_ops cuda_ops = {
    .struct_size = sizeof(baldro_ops),
    .name = "cuda",
    .act_dtype = BALDRO_DT_F32,
    .last_error = cuda_last_error,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .fill = cuda_fill,
    .copy = cuda_copy,
    .add = cuda_add,
    .scale = cuda_scale,
    .sumsq = cuda_sumsq,
    .linear_fwd = cuda_linear_fwd,
    .linear_bwd = cuda_linear_bwd,
    .embedding_fwd = cuda_embedding_fwd,
    .embedding_bwd = cuda_embedding_bwd,
    .gather_rows = cuda_gather_rows,
    .rmsnorm_fwd = cuda_rmsnorm_fwd,
    .rmsnorm_bwd = cuda_rmsnorm_bwd,
    .rope_table = cuda_rope_table,
    .rope_fwd = cuda_rope_fwd,
    .rope_bwd = cuda_rope_bwd,
    .swiglu_fwd = cuda_swiglu_fwd,
    .swiglu_bwd = cuda_swiglu_bwd,
    .attention_workspace = cuda_attention_workspace,
    .attention_fwd = cuda_attention_fwd,
    .attention_bwd = cuda_attention_bwd,
    .kv_append = cuda_kv_append,
    .logsoftmax_gather_fwd = cuda_logsoftmax_gather_fwd,
    .logsoftmax_gather_bwd = cuda_logsoftmax_gather_bwd,
    .argmax = cuda_argmax,
    .adamw = cuda_adamw,
};

/* Frees everything; also the clean-up path of a half-finished open. Errors are ignored:
 * nothing can be done about them here. */
static void cuda_close(baldro_backend *be) {
    cuda_state *st = be->impl;
    if (!st) return;
    if (st->stream) (void)cudaStreamSynchronize(st->stream);
    cuda_bf16_release(be);
    if (st->blocks) {
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, (GHashTable *)st->blocks);
        while (g_hash_table_iter_next(&it, &key, NULL)) (void)cudaFree(key);
        g_hash_table_destroy((GHashTable *)st->blocks);
        be->bytes_live = 0;
    }
    if (st->cublas) (void)cublasDestroy((cublasHandle_t)st->cublas);
    if (st->cublaslt) (void)cublasLtDestroy((cublasLtHandle_t)st->cublaslt);
    if (st->lt_workspace) (void)cudaFree(st->lt_workspace);
    if (st->d_scalar) (void)cudaFree(st->d_scalar);
    if (st->d_partial) (void)cudaFree(st->d_partial);
    if (st->d_err) (void)cudaFree(st->d_err);
    if (st->h_scalar) (void)cudaFreeHost(st->h_scalar);
    if (st->h_err) (void)cudaFreeHost(st->h_err);
    if (st->stream) (void)cudaStreamDestroy(st->stream);
    free(st);
    be->impl = NULL;
}

int baldro_backend_cuda_available(char *why, size_t cap) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        if (why && cap) snprintf(why, cap, "cudaGetDeviceCount: %s", cudaGetErrorString(e));
        (void)cudaGetLastError();
        return 0;
    }
    if (n < 1) {
        if (why && cap) snprintf(why, cap, "cudaGetDeviceCount: 0 devices");
        return 0;
    }
    if (why && cap) snprintf(why, cap, "%d CUDA device%s", n, n == 1 ? "" : "s");
    return 1;
}

/* Open steps that fail report through baldro_error with the backend's prefix. */
#define OPEN_TRY(call, what)                                                                   \
    do {                                                                                       \
        cudaError_t e_ = (call);                                                               \
        if (e_ != cudaSuccess) {                                                               \
            rc = baldro_error_set(err, BALDRO_EIO, "cuda backend: device %d: %s: %s", device,  \
                                  what, cudaGetErrorString(e_));                               \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)
#define OPEN_TRY_BLAS(call, what)                                                              \
    do {                                                                                       \
        cublasStatus_t s_ = (call);                                                            \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                     \
            rc = baldro_error_set(err, BALDRO_EIO, "cuda backend: device %d: %s: %s", device,  \
                                  what, cublasGetStatusString(s_));                            \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

int baldro_backend_cuda_open(int device, baldro_precision precision, baldro_backend **be,
                             const baldro_ops **ops, baldro_error *err) {
    if (be) *be = NULL;
    if (ops) *ops = NULL;
    if (!be || !ops) return baldro_error_set(err, BALDRO_EINVAL, "cuda backend: NULL out-pointer");
    if (precision != BALDRO_PRECISION_FP32 && precision != BALDRO_PRECISION_BF16)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "cuda backend: precision %d is not fp32 or bf16", (int)precision);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return baldro_error_set(err, BALDRO_EUNSUPPORTED,
                                "cuda backend: no CUDA device (cudaGetDeviceCount: %s)",
                                cudaGetErrorString(e));
    }
    if (n < 1)
        return baldro_error_set(err, BALDRO_EUNSUPPORTED,
                                "cuda backend: no CUDA device (cudaGetDeviceCount: 0 devices)");
    if (device < 0 || device >= n)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "cuda backend: device %d does not exist (%d device%s: 0..%d)",
                                device, n, n == 1 ? "" : "s", n - 1);
    int rc = BALDRO_OK;
    baldro_backend *b = calloc(1, sizeof *b);
    cuda_state *st = calloc(1, sizeof *st);
    if (!b || !st) {
        free(b);
        free(st);
        return baldro_error_set(err, BALDRO_ENOMEM, "cuda backend: out of memory");
    }
    b->ops = &cuda_ops;
    b->threads = 1; /* host threads; the kernels' parallelism is the device's */
    b->close = cuda_close;
    b->impl = st;
    b->precision = precision;
    st->device = device;
    bk_bf16_cache_init(&st->bf16);
    st->blocks = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free);

    OPEN_TRY(cudaSetDevice(device), "cudaSetDevice");
    struct cudaDeviceProp prop;
    OPEN_TRY(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    snprintf(st->name, sizeof st->name, "%s", prop.name);
    st->sm_major = prop.major;
    st->sm_minor = prop.minor;
    st->n_sm = prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1;
    OPEN_TRY(cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking), "cudaStreamCreate");

    cublasHandle_t h = NULL;
    OPEN_TRY_BLAS(cublasCreate(&h), "cublasCreate");
    st->cublas = h;
    OPEN_TRY_BLAS(cublasSetStream(h, st->stream), "cublasSetStream");
    /* No TF32 (or other reduced-precision) tensor-core paths for fp32 GEMMs: results
     * must match the CPU backend's sgemm to ~1e-6, which TF32's 10-bit mantissa breaks. */
    OPEN_TRY_BLAS(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    OPEN_TRY_BLAS(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
    cublasLtHandle_t lt = NULL;
    OPEN_TRY_BLAS(cublasLtCreate(&lt), "cublasLtCreate");
    st->cublaslt = lt;
    OPEN_TRY(cudaMalloc(&st->lt_workspace, CUDA_LT_WORKSPACE), "cudaMalloc (cuBLASLt workspace)");
    st->lt_workspace_bytes = CUDA_LT_WORKSPACE;

    OPEN_TRY(cudaMalloc((void **)&st->d_scalar, sizeof(double)), "cudaMalloc");
    OPEN_TRY(cudaMalloc((void **)&st->d_partial, CUDA_SUMSQ_MAX_BLOCKS * sizeof(double)),
             "cudaMalloc");
    OPEN_TRY(cudaMalloc((void **)&st->d_err, sizeof(cuda_dev_error)), "cudaMalloc");
    OPEN_TRY(cudaMallocHost((void **)&st->h_scalar, sizeof(double)), "cudaMallocHost");
    OPEN_TRY(cudaMallocHost((void **)&st->h_err, sizeof(cuda_dev_error)), "cudaMallocHost");
    memset(st->h_err, 0, sizeof *st->h_err);
    OPEN_TRY(cudaMemsetAsync(st->d_err, 0, sizeof(cuda_dev_error), st->stream), "cudaMemsetAsync");
    OPEN_TRY(cudaStreamSynchronize(st->stream), "cudaStreamSynchronize");
    *be = b;
    *ops = &cuda_ops;
    return BALDRO_OK;
fail:
    baldro_backend_close(b);
    return rc;
}

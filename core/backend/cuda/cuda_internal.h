/*
 * core/backend/cuda/cuda_internal.h: shared by the CUDA backend's files (C and CUDA C).
 *
 * The CUDA backend implements the whole ops table (sdk/include/baldro/ops.h) on one
 * device and one stream. Every op is asynchronous on that stream; `download` (and
 * `sumsq`, which returns a host value) synchronise. Every CUDA runtime and cuBLAS call and
 * every kernel launch is checked, and a failure becomes a one-line message in be->err
 * (bk_fail) naming the op and the CUDA error.
 *
 * The op entry points of each family are declared here with the exact ops.h signature;
 * cuda_backend.c puts them in the ops table. Argument checks (shapes, dtypes) are the
 * shared bk_check_<op> of backend_check.h, run before anything is launched; index values
 * are checked on the device (below). Every op that writes a tensor reports it with
 * cuda_wrote first, which keeps the bf16 working copies of weights honest.
 */
#ifndef BALDRO_CUDA_INTERNAL_H
#define BALDRO_CUDA_INTERNAL_H

#include <cuda_runtime.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <baldro/ops.h>

/* The host headers are C; .cu files are C++ and must see C linkage for bk_fail & co. */
#ifdef __cplusplus
extern "C" {
#endif
#include "backend/backend_check.h"
#include "backend/backend_internal.h"
#include "backend/bf16_cache.h"

/* ---- device-side argument errors ---------------------------------------------------
 * Index values (ids, idx, targets, pos0) live in device memory, so the host cannot check
 * them before a launch the way the CPU backend does. Kernels check them instead: the
 * first bad value a kernel meets is recorded in one cuda_dev_error in device memory
 * (atomicCAS on `kind`, later ones are dropped) and the offending row is skipped. The
 * next synchronising call (download, upload, sumsq: cuda_sync) copies the record back
 * and fails with the op's own message, e.g. "embedding_fwd: ids[7]=70000 is out of
 * range [0, 32000) (found on the device, reported by download)", then clears it.        */
typedef enum cuda_derr_kind {
    CUDA_DERR_NONE = 0,
    CUDA_DERR_INDEX = 1,     /* "<arg>[index]=value is out of range [0, limit)"         */
    CUDA_DERR_TARGET = 2,    /* "targets[index]=value is not < V=limit"                 */
    CUDA_DERR_POS_TABLE = 3, /* rope: "positions v..v+extra-1 of row index are outside
                                the table (limit positions)"                           */
    CUDA_DERR_POS_KEYS = 4,  /* attention_fwd: "pos0[index]=value with q.shape[1]=extra
                                reaches past k.shape[1]=limit"                          */
    CUDA_DERR_POS_CACHE = 5, /* kv_append: "positions v..v+extra-1 of row index do not
                                fit cache.shape[1]=limit"                               */
} cuda_derr_kind;

/* Which op (and argument) a device error belongs to: an index into cuda_op_names. */
typedef enum cuda_op_id {
    CUDA_OP_EMBEDDING_FWD = 0, /* arg "ids" */
    CUDA_OP_EMBEDDING_BWD,     /* arg "ids" */
    CUDA_OP_GATHER_ROWS,       /* arg "idx" */
    CUDA_OP_ROPE_FWD,
    CUDA_OP_ROPE_BWD,
    CUDA_OP_ATTENTION_FWD,
    CUDA_OP_KV_APPEND,
    CUDA_OP_LSM_GATHER_FWD,
    CUDA_OP_LSM_GATHER_BWD,
    CUDA_OP_COUNT
} cuda_op_id;

typedef struct cuda_dev_error {
    int32_t kind; /* cuda_derr_kind; 0: none                                     */
    int32_t op;   /* cuda_op_id                                                  */
    long long index, value, limit, extra;
} cuda_dev_error;

#define CUDA_SUMSQ_THREADS    256
#define CUDA_SUMSQ_MAX_BLOCKS 1024 /* d_partial holds one double per block          */

/* Implementation state behind be->impl. */
typedef struct cuda_state {
    int device;
    cudaStream_t stream;
    void *cublas;        /* cublasHandle_t, bound to `stream`                         */
    void *cublaslt;      /* cublasLtHandle_t (bf16 GEMMs)                             */
    void *lt_workspace;  /* cuBLASLt workspace, lt_workspace_bytes                    */
    size_t lt_workspace_bytes;
    double *d_scalar;    /* one device double for reductions (sumsq)                  */
    int sm_major, sm_minor;
    char name[256];      /* device name, for messages and the device check            */
    /* Added by the core backend: */
    int n_sm;            /* multiprocessors, for grid sizes                           */
    double *d_partial;   /* CUDA_SUMSQ_MAX_BLOCKS doubles: sumsq's per-block sums     */
    double *h_scalar;    /* pinned host double: sumsq's result lands here             */
    cuda_dev_error *d_err; /* the device error record (see above)                     */
    cuda_dev_error *h_err; /* pinned host copy of it                                  */
    void *blocks;        /* GHashTable: device pointer -> size_t* bytes, live blocks  */
    /* bf16 mode (runtime.precision = "bf16", cuda_gemm.c): */
    bk_bf16_cache bf16;  /* weights' bf16 working copies, by fp32 range (bf16_cache.h) */
    void *act16[2];      /* bf16 scratch for the activation operands of one GEMM     */
    size_t act16_bytes[2];
    void *lt_plans;      /* cuda_gemm.c's state: cuBLASLt plans by GEMM shape, and which
                            fp32 range each act16 slot holds                         */
} cuda_state;

static inline cuda_state *cuda_st(baldro_backend *be) { return (cuda_state *)be->impl; }
static inline cudaStream_t cuda_stream(baldro_backend *be) { return cuda_st(be)->stream; }

/* Checks a CUDA runtime result: BALDRO_OK, or bk_fail(be, BALDRO_EIO, "<op>: <what>:
 * <cudaGetErrorString>"). After a kernel launch pass cudaGetLastError(). */
int cuda_check(baldro_backend *be, cudaError_t e, const char *op, const char *what);
#define CUDA_TRY(be, call, op)                                                         \
    do {                                                                               \
        int cuda_rc_ = cuda_check((be), (call), (op), #call);                          \
        if (cuda_rc_ != BALDRO_OK) return cuda_rc_;                                    \
    } while (0)
#define CUDA_LAUNCHED(be, op) CUDA_TRY((be), cudaGetLastError(), (op))

/* A cublasStatus_t (passed as int so this header needs no cuBLAS): BALDRO_OK, or
 * bk_fail(be, BALDRO_EIO, "<op>: <what>: <cublasGetStatusString>"). */
int cuda_cublas_check(baldro_backend *be, int status, const char *op, const char *what);

/* Waits for the stream, then reports (and clears) a device-side argument error recorded
 * since the last call. `op` names the synchronising call ("download"). */
int cuda_sync(baldro_backend *be, const char *op);


/* Blocks for a grid-stride loop over n items with `threads` per block: at most `cap`,
 * at least 1 (callers skip the launch when n == 0). */
static inline unsigned cuda_grid(int64_t n, int threads, unsigned cap) {
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    return b > (int64_t)cap ? cap : (unsigned)b;
}

/* ---- bf16 mode (cuda_gemm.c, cuda_bf16.cu) -------------------------------------------- */
/* An op is about to write [p, p + bytes) (or tensor t): bf16 copies of weights in that
 * range are stale from now on. Every op calls this for each output before it launches;
 * free in fp32 mode (the cache is empty). */
void cuda_wrote(baldro_backend *be, const void *p, size_t bytes);
static inline void cuda_wrote_t(baldro_backend *be, const baldro_tensor *t) {
    if (t) cuda_wrote(be, t->data, baldro_tensor_bytes(t));
}
/* dst[i] = bf16(src[i]) for i < n (round to nearest even, NaN kept; core/backend/bf16.h). */
int cuda_f32_to_bf16(baldro_backend *be, uint16_t *dst, const float *src, int64_t n,
                     const char *op);
/* The bf16 working copy of weight tensor w (F32), converted on first use or when stale. */
int cuda_bf16_weight(baldro_backend *be, const char *op, const baldro_tensor *w,
                     const uint16_t **out);
/* x[0..n) converted into activation scratch slot 0 or 1 (grown when too small). */
int cuda_bf16_act(baldro_backend *be, const char *op, int slot, const float *x, int64_t n,
                  const uint16_t **out);
/* C[m,n] = A op B + beta C, column-major, A and B bf16, C fp32, fp32 accumulation
 * (cuBLASLt, CUBLAS_COMPUTE_32F). Sizes as cuda_linear.c's sgemm; alpha is 1. */
int cuda_lt_gemm(baldro_backend *be, const char *op, int ta, int tb, int64_t m, int64_t n,
                 int64_t k, const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb,
                 float beta, float *C, int64_t ldc);
/* AdamW is about to update param [n floats]: the bf16 copy its kernel must rewrite too
 * (NULL: none, or fp32 mode); every other copy or scratch overlapping it is stale. */
uint16_t *cuda_bf16_adamw_copy(baldro_backend *be, const void *param, int64_t n);
/* The block [p, p + bytes) is being freed: drop the copies of ranges inside it. */
void cuda_bf16_forget_block(baldro_backend *be, const void *p, size_t bytes);
/* Frees the bf16 copies, scratch and cuBLASLt plans (close). */
void cuda_bf16_release(baldro_backend *be);

/* ---- helpers of cuda_elementwise.cu used by cuda_linear.c ---------------------------- */
/* y[n, :] = b (seed = 1) or y[n, :] += b (seed = 0) for y[N,O], b[O]. */
int cuda_bias_rows(baldro_backend *be, float *y, const float *b, int64_t N, int64_t O, int seed,
                   const char *op);
/* db[o] += sum_n dy[n, o] (dy[N,O]), summed in double in row order: deterministic, no
 * atomics (each block owns 32 columns). */
int cuda_colsum_acc(baldro_backend *be, float *db, const float *dy, int64_t N, int64_t O,
                    const char *op);

/* ---- op families (exact ops.h signatures) ------------------------------------------ */
/* cuda_elementwise.cu */
int cuda_fill(baldro_backend *be, baldro_tensor *x, float value);
int cuda_copy(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x);
int cuda_add(baldro_backend *be, baldro_tensor *y, const baldro_tensor *a, const baldro_tensor *b);
int cuda_scale(baldro_backend *be, baldro_tensor *x, float s);
int cuda_sumsq(baldro_backend *be, const baldro_tensor *x, double *out);
/* cuda_linear.c (cuBLAS) */
int cuda_linear_fwd(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x,
                    const baldro_tensor *w, const baldro_tensor *b, int accumulate);
int cuda_linear_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw, baldro_tensor *db,
                    const baldro_tensor *dy, const baldro_tensor *x, const baldro_tensor *w,
                    int accumulate_dx);
/* cuda_embed.cu */
int cuda_embedding_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *ids,
                       const baldro_tensor *table);
int cuda_embedding_bwd(baldro_backend *be, baldro_tensor *dtable, const baldro_tensor *dout,
                       const baldro_tensor *ids);
int cuda_gather_rows(baldro_backend *be, baldro_tensor *out, const baldro_tensor *x,
                     const baldro_tensor *idx);
/* cuda_norm.cu */
int cuda_rmsnorm_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *rstd,
                     const baldro_tensor *x, const baldro_tensor *w, float eps);
int cuda_rmsnorm_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw,
                     const baldro_tensor *dout, const baldro_tensor *x, const baldro_tensor *w,
                     const baldro_tensor *rstd, int accumulate_dx);
/* cuda_rope.cu */
int cuda_rope_table(baldro_backend *be, baldro_tensor *table, const baldro_rope_params *p);
int cuda_rope_fwd(baldro_backend *be, baldro_tensor *x, const baldro_tensor *table,
                  const baldro_tensor *pos0, int interleaved);
int cuda_rope_bwd(baldro_backend *be, baldro_tensor *dx, const baldro_tensor *table,
                  const baldro_tensor *pos0, int interleaved);
/* cuda_swiglu.cu */
int cuda_swiglu_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *gate,
                    const baldro_tensor *up);
int cuda_swiglu_bwd(baldro_backend *be, baldro_tensor *dgate, baldro_tensor *dup,
                    const baldro_tensor *dout, const baldro_tensor *gate, const baldro_tensor *up);
/* cuda_attention.cu */
size_t cuda_attention_workspace(baldro_backend *be, int64_t B, int64_t Tq, int64_t S, int64_t Hq,
                                int64_t Hkv, int64_t D);
int cuda_attention_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *lse,
                       const baldro_tensor *q, const baldro_tensor *k, const baldro_tensor *v,
                       const baldro_tensor *pos0, float scale, baldro_tensor *workspace);
int cuda_attention_bwd(baldro_backend *be, baldro_tensor *dq, baldro_tensor *dk, baldro_tensor *dv,
                       const baldro_tensor *dout, const baldro_tensor *q, const baldro_tensor *k,
                       const baldro_tensor *v, const baldro_tensor *out, const baldro_tensor *lse,
                       float scale, baldro_tensor *workspace);
int cuda_kv_append(baldro_backend *be, baldro_tensor *cache, const baldro_tensor *x,
                   const baldro_tensor *pos0);
/* cuda_logits.cu */
int cuda_logsoftmax_gather_fwd(baldro_backend *be, baldro_tensor *logp, baldro_tensor *lse,
                               const baldro_tensor *logits, const baldro_tensor *targets);
int cuda_logsoftmax_gather_bwd(baldro_backend *be, baldro_tensor *logits, const baldro_tensor *lse,
                               const baldro_tensor *targets, const baldro_tensor *dlogp);
int cuda_argmax(baldro_backend *be, baldro_tensor *ids, const baldro_tensor *logits);
/* cuda_adamw.cu (in bf16 mode it also rewrites the parameter's bf16 copy, if it has one) */
int cuda_adamw(baldro_backend *be, baldro_tensor *param, const baldro_tensor *grad,
               baldro_tensor *m, baldro_tensor *v, const baldro_adamw_args *a);

#ifdef __cplusplus
}
#endif

#ifdef __CUDACC__
/* Records the first device-side argument error (see cuda_dev_error). */
static __device__ __forceinline__ void cuda_dev_flag(cuda_dev_error *e, int kind, int op,
                                                     long long index, long long value,
                                                     long long limit, long long extra) {
    if (atomicCAS(&e->kind, 0, kind) == 0) {
        e->op = op;
        e->index = index;
        e->value = value;
        e->limit = limit;
        e->extra = extra;
    }
}
#endif

#endif /* BALDRO_CUDA_INTERNAL_H */

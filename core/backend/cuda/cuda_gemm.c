/*
 * core/backend/cuda/cuda_gemm.c: the bf16 GEMM path (runtime.precision = "bf16").
 *
 * Tensors stay fp32 everywhere (ops->act_dtype is F32); only the products of linear_fwd
 * and linear_bwd change. Their operands are converted to bf16 and multiplied by cuBLASLt
 * with fp32 accumulation and an fp32 output (CUBLAS_COMPUTE_32F, C = D in fp32):
 *
 *   - a weight operand comes from the backend's cache of bf16 working copies
 *     (bf16_cache.h): converted on first use, rewritten by AdamW in the same kernel that
 *     updates the fp32 master, reconverted only after some other write to its range;
 *   - an activation operand (x, dy) is converted into one of two scratch buffers. They
 *     grow (to a power of two) when a larger operand comes, which happens in the first
 *     step only, and are never freed before close. A slot remembers which fp32 range it
 *     holds, so operands shared by consecutive GEMMs (x of the q, k and v projections;
 *     dy of dw and dx) are converted once; any write to that range forgets it.
 *
 * The copies and scratch are device memory the backend owns: counted in bytes_live and
 * bytes_peak (and bytes_bf16), not in n_allocs. cuBLASLt's descriptors and its chosen
 * algorithm are kept per GEMM shape (lt_plans), since the heuristic query costs about as
 * much as a small GEMM.
 */
#include <cublasLt.h>
#include <glib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"

/* ---- memory accounting ------------------------------------------------------------------ */

static void acct_add(baldro_backend *be, size_t bytes) {
    be->bytes_live += bytes;
    be->bytes_bf16 += bytes;
    if (be->bytes_live > be->bytes_peak) be->bytes_peak = be->bytes_live;
}

static void acct_sub(baldro_backend *be, size_t bytes) {
    be->bytes_live -= bytes;
    be->bytes_bf16 -= bytes;
}

/* The bf16 cache's free callback: the copy's device memory. cudaFree waits for the device,
 * so no queued kernel still reads it. */
static void free_copy(void *ud, void *copy, size_t bytes) {
    baldro_backend *be = ud;
    (void)cudaFree(copy);
    acct_sub(be, bytes);
}

static int dev_alloc(baldro_backend *be, const char *op, size_t bytes, void **out) {
    cudaError_t e = cudaMalloc(out, bytes);
    if (e == cudaSuccess) return BALDRO_OK;
    *out = NULL;
    (void)cudaGetLastError(); /* out of memory is not sticky */
    size_t fr = 0, tot = 0;
    if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) fr = tot = 0;
    return bk_fail(be, e == cudaErrorMemoryAllocation ? BALDRO_ENOMEM : BALDRO_EIO,
                   "%s: cudaMalloc of %zu bytes for bf16 operands on %s: %s (%zu of %zu MiB "
                   "free)",
                   op, bytes, cuda_st(be)->name, cudaGetErrorString(e), fr >> 20, tot >> 20);
}

/* ---- writes: stale copies and scratch ---------------------------------------------------- */

/* What a scratch slot holds: bf16 of the fp32 range [src, src + 4n); n = 0: nothing. */
typedef struct act_slot {
    uintptr_t src;
    int64_t n;
} act_slot;
static act_slot *slots(baldro_backend *be);

static int range_overlap(uintptr_t a, size_t an, uintptr_t b, size_t bn) {
    if (!an || !bn) return 0;
    return a < b ? b - a < an : a - b < bn;
}

static void forget_slots(baldro_backend *be, const void *p, size_t bytes) {
    act_slot *sl = slots(be);
    for (int i = 0; i < 2; i++)
        if (sl[i].n && range_overlap(sl[i].src, 4 * (size_t)sl[i].n, (uintptr_t)p, bytes))
            sl[i].n = 0;
}

void cuda_wrote(baldro_backend *be, const void *p, size_t bytes) {
    cuda_state *st = cuda_st(be);
    if (be->precision != BALDRO_PRECISION_BF16 || !bytes) return;
    if (st->bf16.len) bk_bf16_cache_invalidate(&st->bf16, p, bytes);
    forget_slots(be, p, bytes);
}

uint16_t *cuda_bf16_adamw_copy(baldro_backend *be, const void *param, int64_t n) {
    cuda_state *st = cuda_st(be);
    if (be->precision != BALDRO_PRECISION_BF16 || n <= 0) return NULL;
    forget_slots(be, param, 4 * (size_t)n);
    bk_bf16_entry *e = bk_bf16_cache_adamw(&st->bf16, param, (uint64_t)n);
    return e ? (uint16_t *)e->copy : NULL;
}

void cuda_bf16_forget_block(baldro_backend *be, const void *p, size_t bytes) {
    cuda_state *st = cuda_st(be);
    if (be->precision != BALDRO_PRECISION_BF16) return;
    bk_bf16_cache_drop(&st->bf16, p, bytes, free_copy, be);
    forget_slots(be, p, bytes);
}

/* ---- operands ------------------------------------------------------------------------------ */

int cuda_bf16_weight(baldro_backend *be, const char *op, const baldro_tensor *w,
                     const uint16_t **out) {
    cuda_state *st = cuda_st(be);
    int64_t n = baldro_tensor_numel(w);
    *out = NULL;
    if (n <= 0) return BALDRO_OK;
    bk_bf16_entry *e = bk_bf16_cache_find(&st->bf16, w->data, (uint64_t)n);
    if (!e) {
        void *copy = NULL;
        BK_TRY(dev_alloc(be, op, 2 * (size_t)n, &copy));
        if (bk_bf16_cache_insert(&st->bf16, w->data, (uint64_t)n, copy, &e) != BALDRO_OK) {
            (void)cudaFree(copy);
            return bk_fail(be, BALDRO_ENOMEM, "%s: out of host memory for the bf16 cache", op);
        }
        acct_add(be, 2 * (size_t)n);
    }
    if (!e->valid) {
        BK_TRY(cuda_f32_to_bf16(be, (uint16_t *)e->copy, (const float *)w->data, n, op));
        e->valid = 1;
        st->bf16.n_conversions++;
    } else {
        st->bf16.n_hits++;
    }
    *out = (const uint16_t *)e->copy;
    return BALDRO_OK;
}

/* Scratch grows to the next power of two of what is asked (at least 1 MiB): a few steps
 * in the first training step, none after. */
static size_t scratch_cap(size_t need) {
    size_t cap = (size_t)1 << 20;
    while (cap < need && cap <= SIZE_MAX / 2) cap *= 2;
    return cap < need ? need : cap;
}

int cuda_bf16_act(baldro_backend *be, const char *op, int slot, const float *x, int64_t n,
                  const uint16_t **out) {
    cuda_state *st = cuda_st(be);
    act_slot *sl = &slots(be)[slot];
    *out = NULL;
    if (n <= 0) return BALDRO_OK;
    if (sl->n == n && sl->src == (uintptr_t)x) { /* converted already, not written since */
        *out = (const uint16_t *)st->act16[slot];
        return BALDRO_OK;
    }
    size_t need = 2 * (size_t)n;
    if (need > st->act16_bytes[slot]) {
        size_t cap = scratch_cap(need);
        if (st->act16[slot]) { /* cudaFree waits: queued GEMMs are done with it */
            (void)cudaFree(st->act16[slot]);
            acct_sub(be, st->act16_bytes[slot]);
            st->act16[slot] = NULL;
            st->act16_bytes[slot] = 0;
        }
        sl->n = 0;
        BK_TRY(dev_alloc(be, op, cap, &st->act16[slot]));
        st->act16_bytes[slot] = cap;
        acct_add(be, cap);
    }
    sl->n = 0; /* a failed conversion leaves the slot empty */
    BK_TRY(cuda_f32_to_bf16(be, (uint16_t *)st->act16[slot], x, n, op));
    sl->src = (uintptr_t)x;
    sl->n = n;
    *out = (const uint16_t *)st->act16[slot];
    return BALDRO_OK;
}

/* ---- cuBLASLt plans ---------------------------------------------------------------------- */

typedef struct lt_key {
    int64_t m, n, k, lda, ldb, ldc;
    int32_t ta, tb;
    uint32_t align_c; /* alignment of C (= D) in bytes, <= 256                       */
    uint32_t pad;     /* zero: keys are hashed and compared as bytes                 */
} lt_key;

typedef struct lt_plan {
    lt_key key;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
} lt_plan;

/* The slot records sit after the plans table in one allocation (see plans()). */
typedef struct lt_state {
    GHashTable *plans; /* lt_key* -> lt_plan* (key inside the plan)                  */
    act_slot slot[2];
} lt_state;

static guint key_hash(gconstpointer p) {
    const unsigned char *b = p;
    guint32 h = 2166136261u;
    for (size_t i = 0; i < sizeof(lt_key); i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b) {
    return memcmp(a, b, sizeof(lt_key)) == 0;
}

static void plan_free(gpointer p) {
    lt_plan *pl = p;
    if (pl->desc) (void)cublasLtMatmulDescDestroy(pl->desc);
    if (pl->a) (void)cublasLtMatrixLayoutDestroy(pl->a);
    if (pl->b) (void)cublasLtMatrixLayoutDestroy(pl->b);
    if (pl->c) (void)cublasLtMatrixLayoutDestroy(pl->c);
    g_free(pl);
}

static lt_state *lt_st(baldro_backend *be) {
    cuda_state *st = cuda_st(be);
    if (!st->lt_plans) {
        lt_state *s = g_new0(lt_state, 1);
        s->plans = g_hash_table_new_full(key_hash, key_equal, NULL, plan_free);
        st->lt_plans = s;
    }
    return st->lt_plans;
}

static act_slot *slots(baldro_backend *be) {
    return lt_st(be)->slot;
}

#define LT_TRY(call, what)                                                                     \
    do {                                                                                       \
        cublasStatus_t s_ = (call);                                                            \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                     \
            plan_free(pl);                                                                     \
            return cuda_cublas_check(be, (int)s_, op, what);                                   \
        }                                                                                      \
    } while (0)

/* Descriptors and the heuristic's first algorithm for one shape. */
static int plan_for(baldro_backend *be, const char *op, const lt_key *key, lt_plan **out) {
    lt_state *ls = lt_st(be);
    lt_plan *pl = g_hash_table_lookup(ls->plans, key);
    if (pl) {
        *out = pl;
        return BALDRO_OK;
    }
    cuda_state *st = cuda_st(be);
    pl = g_new0(lt_plan, 1);
    pl->key = *key;
    cublasOperation_t ta = (cublasOperation_t)key->ta, tb = (cublasOperation_t)key->tb;
    LT_TRY(cublasLtMatmulDescCreate(&pl->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
           "cublasLtMatmulDescCreate");
    LT_TRY(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta),
           "cublasLtMatmulDescSetAttribute");
    LT_TRY(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb),
           "cublasLtMatmulDescSetAttribute");
    /* Column-major layouts: A is m x k (k x m stored when transposed), B k x n. */
    int na = ta == CUBLAS_OP_N;
    int nb = tb == CUBLAS_OP_N;
    LT_TRY(cublasLtMatrixLayoutCreate(&pl->a, CUDA_R_16BF, (uint64_t)(na ? key->m : key->k),
                                      (uint64_t)(na ? key->k : key->m), key->lda),
           "cublasLtMatrixLayoutCreate");
    LT_TRY(cublasLtMatrixLayoutCreate(&pl->b, CUDA_R_16BF, (uint64_t)(nb ? key->k : key->n),
                                      (uint64_t)(nb ? key->n : key->k), key->ldb),
           "cublasLtMatrixLayoutCreate");
    LT_TRY(cublasLtMatrixLayoutCreate(&pl->c, CUDA_R_32F, (uint64_t)key->m, (uint64_t)key->n,
                                      key->ldc),
           "cublasLtMatrixLayoutCreate");
    cublasLtMatmulPreference_t pref = NULL;
    LT_TRY(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
    size_t ws = st->lt_workspace_bytes;
    /* A and B are the backend's own buffers (cudaMalloc: 256-byte aligned); C is the
     * caller's tensor, which may be a view at any 4-byte offset. The default preference
     * assumes 256 bytes for all four and may pick an algorithm that needs it. */
    uint32_t al_ab = 256, al_c = key->align_c;
    cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                                 &al_ab, sizeof al_ab);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                                 &al_ab, sizeof al_ab);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                                 &al_c, sizeof al_c);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                 &al_c, sizeof al_c);
    cublasLtMatmulHeuristicResult_t res;
    int nres = 0;
    memset(&res, 0, sizeof res);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic((cublasLtHandle_t)st->cublaslt, pl->desc, pl->a, pl->b,
                                           pl->c, pl->c, pref, 1, &res, &nres);
    (void)cublasLtMatmulPreferenceDestroy(pref);
    LT_TRY(s, "cublasLtMatmulAlgoGetHeuristic");
    if (nres < 1) {
        plan_free(pl);
        return bk_fail(be, BALDRO_EUNSUPPORTED,
                       "%s: cuBLASLt has no bf16 algorithm for m=%lld n=%lld k=%lld (C aligned "
                       "to %u bytes)",
                       op, (long long)key->m, (long long)key->n, (long long)key->k, key->align_c);
    }
    pl->algo = res.algo;
    g_hash_table_insert(ls->plans, &pl->key, pl);
    *out = pl;
    return BALDRO_OK;
}

int cuda_lt_gemm(baldro_backend *be, const char *op, int ta, int tb, int64_t m, int64_t n,
                 int64_t k, const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb,
                 float beta, float *C, int64_t ldc) {
    if (m == 0 || n == 0 || k == 0) return BALDRO_OK; /* cuda_linear.c handled k = 0 */
    cuda_state *st = cuda_st(be);
    uintptr_t c = (uintptr_t)C;
    uint32_t align = (uint32_t)(c & (~c + 1)); /* lowest set bit */
    if (align == 0 || align > 256) align = 256;
    lt_key key;
    memset(&key, 0, sizeof key);
    key.m = m, key.n = n, key.k = k, key.lda = lda, key.ldb = ldb, key.ldc = ldc;
    key.ta = ta, key.tb = tb, key.align_c = align;
    lt_plan *pl = NULL;
    BK_TRY(plan_for(be, op, &key, &pl));
    const float alpha = 1.0f;
    cublasStatus_t s = cublasLtMatmul((cublasLtHandle_t)st->cublaslt, pl->desc, &alpha, A, pl->a,
                                      B, pl->b, &beta, C, pl->c, C, pl->c, &pl->algo,
                                      st->lt_workspace, st->lt_workspace_bytes, st->stream);
    return cuda_cublas_check(be, (int)s, op, "cublasLtMatmul");
}

/* ---- close ------------------------------------------------------------------------------- */

void cuda_bf16_release(baldro_backend *be) {
    cuda_state *st = cuda_st(be);
    bk_bf16_cache_clear(&st->bf16, free_copy, be);
    for (int i = 0; i < 2; i++) {
        if (st->act16[i]) {
            (void)cudaFree(st->act16[i]);
            acct_sub(be, st->act16_bytes[i]);
        }
        st->act16[i] = NULL;
        st->act16_bytes[i] = 0;
    }
    lt_state *ls = st->lt_plans;
    if (ls) {
        g_hash_table_destroy(ls->plans);
        g_free(ls);
        st->lt_plans = NULL;
    }
}

/*
 * core/backend/cpu/cpu_backend.c: the fp32 CPU backend's handle, ops table, memory and
 * the elementwise basics (fill, copy, add, scale, sumsq).
 *
 * Memory: each block carries a 64-byte header (so the data stays 64-byte aligned) that
 * links it into the backend's list of live blocks; close frees whatever is left.
 * Threads: one count for our OpenMP kernels and OpenBLAS (the OpenMP build, so both use
 * the same pool and BLAS runs single-threaded inside our parallel regions).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

/* From openblas_config.h; declared here so we do not depend on which header has it. */
void openblas_set_num_threads(int num_threads);

#define CPU_ALIGN       64
#define CPU_BLOCK_MAGIC 0x62616c64726f6d6dULL /* "baldromm" */

/* Header in front of every block; its size keeps the data 64-byte aligned. */
typedef struct cpu_block {
    struct cpu_block *prev, *next;
    size_t bytes;
    uint64_t magic;
    unsigned char pad[CPU_ALIGN - 2 * sizeof(void *) - sizeof(size_t) - sizeof(uint64_t)];
} cpu_block;
_Static_assert(sizeof(cpu_block) == CPU_ALIGN, "cpu_block header must keep data aligned");

typedef struct cpu_state {
    cpu_block live; /* sentinel of the circular list of live blocks */
} cpu_state;

static const char *cpu_last_error(baldro_backend *be) {
    return be ? be->err : "";
}

static int cpu_alloc(baldro_backend *be, size_t bytes, void **out) {
    if (!out) return bk_fail(be, BALDRO_EINVAL, "alloc: out is NULL");
    *out = NULL;
    if (bytes > SIZE_MAX - 2 * CPU_ALIGN)
        return bk_fail(be, BALDRO_ENOMEM, "alloc: %zu bytes is too large", bytes);
    size_t total = (sizeof(cpu_block) + bytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
    cpu_block *blk = aligned_alloc(CPU_ALIGN, total);
    if (!blk) return bk_fail(be, BALDRO_ENOMEM, "alloc: out of memory for %zu bytes", bytes);
    memset(blk, 0, total);
    cpu_state *st = be->impl;
    blk->bytes = bytes;
    blk->magic = CPU_BLOCK_MAGIC;
    blk->next = st->live.next;
    blk->prev = &st->live;
    st->live.next->prev = blk;
    st->live.next = blk;
    be->bytes_live += bytes;
    if (be->bytes_live > be->bytes_peak) be->bytes_peak = be->bytes_live;
    be->n_allocs++;
    *out = blk + 1;
    return BALDRO_OK;
}

static void cpu_unlink_free(baldro_backend *be, cpu_block *blk) {
    blk->prev->next = blk->next;
    blk->next->prev = blk->prev;
    blk->magic = 0;
    be->bytes_live -= blk->bytes;
    free(blk);
}

static void cpu_free(baldro_backend *be, void *p) {
    if (!p) return;
    cpu_block *blk = (cpu_block *)p - 1;
    /* A pointer that did not come from alloc is refused rather than passed to free(). */
    if (blk->magic != CPU_BLOCK_MAGIC) {
        bk_fail(be, BALDRO_EINVAL, "free: %p was not allocated by this backend", p);
        return;
    }
    cpu_unlink_free(be, blk);
}

static int cpu_upload(baldro_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes && (!dst || !src)) return bk_fail(be, BALDRO_EINVAL, "upload: NULL pointer");
    if (bytes) memmove(dst, src, bytes);
    return BALDRO_OK;
}

static int cpu_download(baldro_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes && (!dst || !src)) return bk_fail(be, BALDRO_EINVAL, "download: NULL pointer");
    if (bytes) memmove(dst, src, bytes);
    return BALDRO_OK;
}

int cpu_fill(baldro_backend *be, baldro_tensor *x, float value) {
    BK_TRY(bk_check_fill(be, x, value));
    if (x->dtype == BALDRO_DT_I32) {
        int32_t iv = (int32_t)value, *restrict p = x->data;
        int64_t n = baldro_tensor_numel(x);
        for (int64_t i = 0; i < n; i++) p[i] = iv;
        return BALDRO_OK;
    }
    float *restrict p = x->data;
    int64_t n = baldro_tensor_numel(x);
#pragma omp parallel for simd num_threads(be->threads) if (n > 4 * CPU_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) p[i] = value;
    return BALDRO_OK;
}

int cpu_copy(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x) {
    BK_TRY(bk_check_copy(be, y, x));
    size_t bytes = baldro_tensor_bytes(x);
    if (bytes && y->data != x->data) memmove(y->data, x->data, bytes);
    return BALDRO_OK;
}

/* y[n] = a[n] + b[n]; y may be a or b (each element is read before it is written). */
CPU_HOT static void cpu_add_kernel(float *y, const float *a, const float *b, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

int cpu_add(baldro_backend *be, baldro_tensor *y, const baldro_tensor *a, const baldro_tensor *b) {
    BK_TRY(bk_check_add(be, y, a, b));
    int64_t n = baldro_tensor_numel(a);
    float *yp = y->data;
    const float *ap = a->data, *bp = b->data;
    int64_t nchunk = n > 4 * CPU_PAR_MIN ? be->threads : 1;
#pragma omp parallel for num_threads(be->threads) if (nchunk > 1) schedule(static)
    for (int64_t c = 0; c < nchunk; c++) {
        int64_t i0 = n * c / nchunk, i1 = n * (c + 1) / nchunk;
        cpu_add_kernel(yp + i0, ap + i0, bp + i0, i1 - i0);
    }
    return BALDRO_OK;
}

int cpu_scale(baldro_backend *be, baldro_tensor *x, float s) {
    BK_TRY(bk_check_scale(be, x));
    float *restrict p = x->data;
    int64_t n = baldro_tensor_numel(x);
#pragma omp parallel for simd num_threads(be->threads) if (n > 4 * CPU_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) p[i] *= s;
    return BALDRO_OK;
}

/* Sum of squares in double, in fixed chunks summed in order: the result does not depend
 * on the thread count (gradient clipping stays reproducible across machines). */
#define CPU_SUMSQ_CHUNKS 64

CPU_HOT static double cpu_sumsq_kernel(const float *restrict p, int64_t n) {
    /* Eight independent lanes: vectorisable without reassociating a single sum. */
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)p[i + l] * (double)p[i + l];
    for (; i < n; i++) acc[0] += (double)p[i] * (double)p[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

int cpu_sumsq(baldro_backend *be, const baldro_tensor *x, double *out) {
    BK_TRY(bk_check_sumsq(be, x, out));
    const float *p = x->data;
    int64_t n = baldro_tensor_numel(x);
    double part[CPU_SUMSQ_CHUNKS];
#pragma omp parallel for num_threads(be->threads) if (n > 4 * CPU_PAR_MIN) schedule(static)
    for (int c = 0; c < CPU_SUMSQ_CHUNKS; c++) {
        int64_t i0 = n * c / CPU_SUMSQ_CHUNKS, i1 = n * (c + 1) / CPU_SUMSQ_CHUNKS;
        part[c] = cpu_sumsq_kernel(p + i0, i1 - i0);
    }
    double s = 0.0;
    for (int c = 0; c < CPU_SUMSQ_CHUNKS; c++) s += part[c];
    *out = s;
    return BALDRO_OK;
}

void cpu_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta, tb, (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda,
                B, (blasint)ldb, beta, C, (blasint)ldc);
}

static const baldro_ops cpu_ops = {
    .struct_size = sizeof(baldro_ops),
    .name = "cpu",
    .act_dtype = BALDRO_DT_F32,
    .last_error = cpu_last_error,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .fill = cpu_fill,
    .copy = cpu_copy,
    .add = cpu_add,
    .scale = cpu_scale,
    .sumsq = cpu_sumsq,
    .linear_fwd = cpu_linear_fwd,
    .linear_bwd = cpu_linear_bwd,
    .embedding_fwd = cpu_embedding_fwd,
    .embedding_bwd = cpu_embedding_bwd,
    .gather_rows = cpu_gather_rows,
    .rmsnorm_fwd = cpu_rmsnorm_fwd,
    .rmsnorm_bwd = cpu_rmsnorm_bwd,
    .rope_table = cpu_rope_table,
    .rope_fwd = cpu_rope_fwd,
    .rope_bwd = cpu_rope_bwd,
    .swiglu_fwd = cpu_swiglu_fwd,
    .swiglu_bwd = cpu_swiglu_bwd,
    .attention_workspace = cpu_attention_workspace,
    .attention_fwd = cpu_attention_fwd,
    .attention_bwd = cpu_attention_bwd,
    .kv_append = cpu_kv_append,
    .logsoftmax_gather_fwd = cpu_logsoftmax_gather_fwd,
    .logsoftmax_gather_bwd = cpu_logsoftmax_gather_bwd,
    .argmax = cpu_argmax,
    .adamw = cpu_adamw,
};

static void cpu_close(baldro_backend *be) {
    cpu_state *st = be->impl;
    if (!st) return;
    while (st->live.next != &st->live) cpu_unlink_free(be, st->live.next);
    free(st);
    be->impl = NULL;
}

int baldro_backend_cpu_open(int threads, baldro_backend **be, const baldro_ops **ops,
                            baldro_error *err) {
    if (be) *be = NULL;
    if (ops) *ops = NULL;
    if (!be || !ops) return baldro_error_set(err, BALDRO_EINVAL, "cpu backend: NULL out-pointer");
    if (threads < 0)
        return baldro_error_set(err, BALDRO_EINVAL, "cpu backend: threads=%d, expected >= 0",
                                threads);
    /* 0: OMP_NUM_THREADS when set, else every core (what omp_get_max_threads says). */
    if (threads == 0) threads = omp_get_max_threads();
    if (threads < 1) threads = 1;
    baldro_backend *b = calloc(1, sizeof *b);
    cpu_state *st = calloc(1, sizeof *st);
    if (!b || !st) {
        free(b);
        free(st);
        return baldro_error_set(err, BALDRO_ENOMEM, "cpu backend: out of memory");
    }
    st->live.next = st->live.prev = &st->live;
    b->ops = &cpu_ops;
    b->threads = threads;
    b->close = cpu_close;
    b->impl = st;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    *be = b;
    *ops = &cpu_ops;
    return BALDRO_OK;
}

int cpu_check_pos0(baldro_backend *be, const char *op, const baldro_tensor *pos0, int64_t B,
                   const char *b_from, int64_t T, int64_t limit, const int32_t **p0,
                   int64_t *bad) {
    *p0 = NULL;
    *bad = -1;
    BK_TRY(bk_check_pos0(be, op, pos0, B, b_from));
    if (pos0) *p0 = pos0->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t start = *p0 ? (*p0)[b] : 0;
        if (start < 0 || start + T > limit) {
            *bad = b;
            break;
        }
    }
    return BALDRO_OK;
}

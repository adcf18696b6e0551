/*
 * core/backend/backend_internal.h: what every backend implementation shares.
 *
 * The handle behind the opaque `baldro_backend` of ops.h, the error helper every op
 * reports through, and the argument checks ops run before they touch memory. Messages
 * are one line that names the op, the argument and the reason, e.g.
 * "linear_fwd: w.shape[1]=64 but x.shape[1]=32".
 */
#ifndef BALDRO_BACKEND_INTERNAL_H
#define BALDRO_BACKEND_INTERNAL_H

#include <baldro/ops.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

struct baldro_backend {
    const baldro_ops *ops;
    int threads;   /* worker threads the kernels (and BLAS) use, >= 1              */
    char err[512]; /* last error, one line; "" when none                           */
    size_t bytes_live, bytes_peak;
    uint64_t n_allocs;
    baldro_precision precision; /* GEMM precision (fp32 unless the backend opened bf16) */
    size_t bytes_bf16;          /* of bytes_live: the backend's bf16 copies and scratch */
    /* Frees the implementation's state, including every block still allocated. The
     * generic baldro_backend_close frees the handle itself afterwards.               */
    void (*close)(baldro_backend *be);
    void *impl; /* implementation state (cpu: the list of live blocks)          */
};

/* Records a one-line message in be->err and returns `code`, so an op can write
 * `return bk_fail(be, BALDRO_EINVAL, "...")`. Newlines are replaced by spaces. */
int bk_fail(baldro_backend *be, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- argument checks: each returns BALDRO_OK or fails through bk_fail ------------- */

/* `t` is present (non-NULL, data non-NULL unless it has no elements), has dtype `dtype`,
 * 1 <= ndim <= 4, non-negative dims that fit an int (BLAS takes int dimensions) and a
 * byte size that fits size_t. `ndim` is the number of dims required, 0 for any. */
int bk_check_tensor(baldro_backend *be, const char *op, const char *name, const baldro_tensor *t,
                    int32_t dtype, int ndim);

/* Last dim and the product of the others: how ops see an [N, C] tensor that the caller
 * may have shaped [B, T, C]. */
static inline int64_t bk_cols(const baldro_tensor *t) {
    return t->shape[t->ndim - 1];
}
static inline int64_t bk_rows(const baldro_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim - 1; i++) n *= t->shape[i];
    return n;
}

/* a.shape[ai] == b.shape[bi] (ai, bi < 0 count from the end), else
 * "op: a.shape[ai]=X but b.shape[bi]=Y". */
int bk_check_dim(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a, int ai,
                 const char *bn, const baldro_tensor *b, int bi);
/* a.shape[ai] == want, else "op: a.shape[ai]=X but expected Y (what)". */
int bk_check_dim_val(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                     int ai, int64_t want, const char *what);
/* bk_rows(a) == bk_rows(b), else "op: a has X rows but b has Y". */
int bk_check_rows(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                  const char *bn, const baldro_tensor *b);
/* numel(a) == want, else "op: a.numel=X but expected Y (what)". */
int bk_check_numel(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                   int64_t want, const char *what);
/* a and b do not share any byte, else "op: a overlaps b". For outputs that a kernel
 * (sgemm) cannot write while it still reads an input. */
int bk_check_disjoint(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                      const char *bn, const baldro_tensor *b);

/* Checks run first in an op; the first failure returns from the calling function. */
#define BK_TRY(expr)                                                                               \
    do {                                                                                           \
        int bk_rc_ = (expr);                                                                       \
        if (bk_rc_ != BALDRO_OK) return bk_rc_;                                                    \
    } while (0)

/* ---- shared op pieces -------------------------------------------------------------- */

/* rope_table's checks of its params and table (backend_rope.c), then the host table:
 * t[max_positions * head_dim] as ops.h describes it, on `threads` threads. */
int bk_rope_table_check(baldro_backend *be, const baldro_tensor *table,
                        const baldro_rope_params *p);
void bk_rope_table_fill(const baldro_rope_params *p, float *t, int threads);

#endif /* BALDRO_BACKEND_INTERNAL_H */

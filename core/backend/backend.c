/* core/backend/backend.c: the backend-independent part of a handle: closing it, its
 * statistics, error messages and the argument checks every op runs first. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_internal.h"

void baldro_backend_close(baldro_backend *be) {
    if (!be) return;
    if (be->close) be->close(be);
    free(be);
}

void baldro_backend_get_stats(baldro_backend *be, baldro_backend_stats *st) {
    if (!st) return;
    if (!be) {
        *st = (baldro_backend_stats){0};
        return;
    }
    st->bytes_live = be->bytes_live;
    st->bytes_peak = be->bytes_peak;
    st->n_allocs = be->n_allocs;
    st->threads = be->threads;
    st->precision = be->precision;
    st->bytes_bf16 = be->bytes_bf16;
}

const char *baldro_precision_name(baldro_precision p) {
    return p == BALDRO_PRECISION_BF16 ? "bf16" : "fp32";
}

int baldro_precision_parse(const char *s, baldro_precision *out) {
    if (s && !strcmp(s, "fp32")) {
        *out = BALDRO_PRECISION_FP32;
        return BALDRO_OK;
    }
    if (s && !strcmp(s, "bf16")) {
        *out = BALDRO_PRECISION_BF16;
        return BALDRO_OK;
    }
    return BALDRO_EINVAL;
}

#if !BALDRO_HAVE_CUDA
/* Without nvcc at configure time there is no CUDA backend; callers still link. */
#define BK_NO_CUDA "this build has no CUDA backend (configure with nvcc on PATH)"

int baldro_backend_cuda_open(int device, baldro_precision precision, baldro_backend **be,
                             const baldro_ops **ops, baldro_error *err) {
    (void)device;
    (void)precision;
    if (be) *be = NULL;
    if (ops) *ops = NULL;
    return baldro_error_set(err, BALDRO_EUNSUPPORTED, "%s", BK_NO_CUDA);
}

int baldro_backend_cuda_available(char *why, size_t cap) {
    if (why && cap) snprintf(why, cap, "%s", BK_NO_CUDA);
    return 0;
}
#endif

int bk_fail(baldro_backend *be, int code, const char *fmt, ...) {
    if (!be) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->err, sizeof be->err, fmt, ap);
    va_end(ap);
    /* One line: callers print it as "baldro-host: <msg>". */
    for (char *p = be->err; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return code;
}

static const char *bk_dtype_name(int32_t dt) {
    switch (dt) {
    case BALDRO_DT_F32:
        return "F32";
    case BALDRO_DT_BF16:
        return "BF16";
    case BALDRO_DT_F16:
        return "F16";
    case BALDRO_DT_I32:
        return "I32";
    default:
        return "unknown";
    }
}

/* Negative dimension indices count from the end, as in Python. */
static int bk_axis(const baldro_tensor *t, int i) {
    return i < 0 ? t->ndim + i : i;
}

int bk_check_tensor(baldro_backend *be, const char *op, const char *name, const baldro_tensor *t,
                    int32_t dtype, int ndim) {
    if (!t) return bk_fail(be, BALDRO_EINVAL, "%s: %s is NULL", op, name);
    if (t->ndim < 1 || t->ndim > BALDRO_TENSOR_MAX_DIMS)
        return bk_fail(be, BALDRO_EINVAL, "%s: %s.ndim=%d, expected 1 to %d", op, name,
                       (int)t->ndim, BALDRO_TENSOR_MAX_DIMS);
    if (ndim > 0 && t->ndim != ndim)
        return bk_fail(be, BALDRO_EINVAL, "%s: %s.ndim=%d but expected %d", op, name, (int)t->ndim,
                       ndim);
    if (t->dtype != dtype)
        return bk_fail(be, BALDRO_EINVAL, "%s: %s.dtype=%s but expected %s", op, name,
                       bk_dtype_name(t->dtype), bk_dtype_name(dtype));
    /* Every dim fits an int (BLAS dimensions) and the byte size fits in size_t. */
    size_t bytes = baldro_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || t->shape[i] > INT_MAX)
            return bk_fail(be, BALDRO_EINVAL, "%s: %s.shape[%d]=%lld is out of range", op, name, i,
                           (long long)t->shape[i]);
        if (t->shape[i] && bytes > SIZE_MAX / (size_t)t->shape[i])
            return bk_fail(be, BALDRO_EINVAL, "%s: %s is too large", op, name);
        bytes *= (size_t)t->shape[i];
    }
    if (!t->data && bytes > 0) return bk_fail(be, BALDRO_EINVAL, "%s: %s.data is NULL", op, name);
    return BALDRO_OK;
}

int bk_check_dim(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a, int ai,
                 const char *bn, const baldro_tensor *b, int bi) {
    ai = bk_axis(a, ai);
    bi = bk_axis(b, bi);
    if (a->shape[ai] == b->shape[bi]) return BALDRO_OK;
    return bk_fail(be, BALDRO_EINVAL, "%s: %s.shape[%d]=%lld but %s.shape[%d]=%lld", op, an, ai,
                   (long long)a->shape[ai], bn, bi, (long long)b->shape[bi]);
}

int bk_check_dim_val(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                     int ai, int64_t want, const char *what) {
    ai = bk_axis(a, ai);
    if (a->shape[ai] == want) return BALDRO_OK;
    return bk_fail(be, BALDRO_EINVAL, "%s: %s.shape[%d]=%lld but expected %lld (%s)", op, an, ai,
                   (long long)a->shape[ai], (long long)want, what);
}

int bk_check_rows(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                  const char *bn, const baldro_tensor *b) {
    if (bk_rows(a) == bk_rows(b)) return BALDRO_OK;
    return bk_fail(be, BALDRO_EINVAL, "%s: %s has %lld rows but %s has %lld", op, an,
                   (long long)bk_rows(a), bn, (long long)bk_rows(b));
}

int bk_check_numel(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                   int64_t want, const char *what) {
    int64_t n = baldro_tensor_numel(a);
    if (n == want) return BALDRO_OK;
    return bk_fail(be, BALDRO_EINVAL, "%s: %s.numel=%lld but expected %lld (%s)", op, an,
                   (long long)n, (long long)want, what);
}

int bk_check_disjoint(baldro_backend *be, const char *op, const char *an, const baldro_tensor *a,
                      const char *bn, const baldro_tensor *b) {
    uintptr_t a0 = (uintptr_t)a->data, a1 = a0 + baldro_tensor_bytes(a);
    uintptr_t b0 = (uintptr_t)b->data, b1 = b0 + baldro_tensor_bytes(b);
    if (a0 == a1 || b0 == b1 || a1 <= b0 || b1 <= a0) return BALDRO_OK;
    return bk_fail(be, BALDRO_EINVAL, "%s: %s overlaps %s", op, an, bn);
}

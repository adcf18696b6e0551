/*
 * baldro/tensor.h: the tensor a backend op reads and writes.
 *
 * A tensor is a view: a pointer into backend memory (host memory on the cpu backend,
 * device memory on cuda) with a dtype and up to four dimensions, row-major and
 * contiguous. It owns nothing; all memory comes from the one block a model or the
 * optimizer allocates up front (see ops.h). Pointer arithmetic on `data` is how a
 * caller takes a sub-view, on every backend.
 */
#ifndef BALDRO_TENSOR_H
#define BALDRO_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum baldro_dtype {
    BALDRO_DT_F32 = 0,
    BALDRO_DT_BF16 = 1,
    BALDRO_DT_F16 = 2,
    BALDRO_DT_I32 = 3,
} baldro_dtype;

#define BALDRO_TENSOR_MAX_DIMS 4

typedef struct baldro_tensor {
    void *data;                            /* backend memory; NULL: absent           */
    int32_t dtype;                         /* baldro_dtype                            */
    int32_t ndim;                          /* 1..4                                    */
    int64_t shape[BALDRO_TENSOR_MAX_DIMS]; /* unused trailing entries are 1           */
} baldro_tensor;

static inline size_t baldro_dtype_size(int32_t dt) {
    return dt == BALDRO_DT_BF16 || dt == BALDRO_DT_F16 ? 2u : 4u;
}

static inline int64_t baldro_tensor_numel(const baldro_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

static inline size_t baldro_tensor_bytes(const baldro_tensor *t) {
    return (size_t)baldro_tensor_numel(t) * baldro_dtype_size(t->dtype);
}

/* Constructors for views: baldro_t2(p, BALDRO_DT_F32, N, C) is an [N, C] tensor. */
static inline baldro_tensor baldro_t1(void *p, int32_t dt, int64_t d0) {
    baldro_tensor t = {p, dt, 1, {d0, 1, 1, 1}};
    return t;
}
static inline baldro_tensor baldro_t2(void *p, int32_t dt, int64_t d0, int64_t d1) {
    baldro_tensor t = {p, dt, 2, {d0, d1, 1, 1}};
    return t;
}
static inline baldro_tensor baldro_t3(void *p, int32_t dt, int64_t d0, int64_t d1,
                                      int64_t d2) {
    baldro_tensor t = {p, dt, 3, {d0, d1, d2, 1}};
    return t;
}
static inline baldro_tensor baldro_t4(void *p, int32_t dt, int64_t d0, int64_t d1,
                                      int64_t d2, int64_t d3) {
    baldro_tensor t = {p, dt, 4, {d0, d1, d2, d3}};
    return t;
}

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_TENSOR_H */

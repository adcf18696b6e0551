/*
 * core/backend/backend.h: opening and closing compute backends (host side).
 *
 * A backend is the pair (baldro_backend *, const baldro_ops *): an opaque handle with
 * its thread pool, error buffer and allocation accounting, and the ops table that model
 * plugins compose networks from (sdk/include/baldro/ops.h).
 */
#ifndef BALDRO_BACKEND_H
#define BALDRO_BACKEND_H

#include <baldro/ops.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* What the GEMMs compute in (runtime.precision). Tensors a model plugin sees stay F32 in
 * both (ops->act_dtype): in BF16 the CUDA backend converts the operands of every
 * linear_fwd / linear_bwd product to bf16 (weights into cached working copies, activations
 * into scratch) and accumulates in fp32; every other op stays fp32 (docs/cuda.md). */
typedef enum baldro_precision {
    BALDRO_PRECISION_FP32 = 0,
    BALDRO_PRECISION_BF16 = 1,
} baldro_precision;

/* "fp32" / "bf16"; parse returns BALDRO_EINVAL for anything else. */
const char *baldro_precision_name(baldro_precision p);
int baldro_precision_parse(const char *s, baldro_precision *out);

typedef struct baldro_backend_stats {
    size_t bytes_live; /* allocated through ops->alloc and not yet freed, plus the
                          backend's own bf16 copies and scratch (bytes_bf16)        */
    size_t bytes_peak; /* high-water mark of bytes_live                              */
    uint64_t n_allocs; /* calls to ops->alloc since open                             */
    int threads;       /* worker threads the kernels use                             */
    baldro_precision precision; /* what the GEMMs compute in                         */
    size_t bytes_bf16; /* of bytes_live: bf16 weight copies and GEMM operand scratch */
} baldro_backend_stats;

/* Opens the fp32 CPU backend with `threads` workers (0: all cores, or OMP_NUM_THREADS
 * when set). Sets the BLAS thread count to match. */
int baldro_backend_cpu_open(int threads, baldro_backend **be, const baldro_ops **ops,
                            baldro_error *err);

/* Opens the CUDA backend on `device` (0-based): one stream, cuBLAS and cuBLASLt bound to
 * it, GEMMs in `precision` (fp32: cuBLAS with TF32 off; bf16: cuBLASLt, bf16 operands,
 * fp32 accumulation and output). Fails with a one-line error when there is no usable
 * device ("cuda backend: no CUDA device (cudaGetDeviceCount: ...)") or when this build
 * has no CUDA backend ("this build has no CUDA backend (configure with nvcc on PATH)",
 * BALDRO_EUNSUPPORTED). */
int baldro_backend_cuda_open(int device, baldro_precision precision, baldro_backend **be,
                             const baldro_ops **ops, baldro_error *err);

/* 1 when this build has the CUDA backend and the driver reports at least one device;
 * else 0 with the reason in `why` (may be NULL). Does not open anything. */
int baldro_backend_cuda_available(char *why, size_t cap);

/* Frees everything still allocated and the handle. NULL is ignored. */
void baldro_backend_close(baldro_backend *be);

void baldro_backend_get_stats(baldro_backend *be, baldro_backend_stats *st);

#endif /* BALDRO_BACKEND_H */

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

typedef struct baldro_backend_stats {
    size_t bytes_live; /* allocated through ops->alloc and not yet freed            */
    size_t bytes_peak; /* high-water mark of bytes_live                              */
    uint64_t n_allocs; /* calls to ops->alloc since open                             */
    int threads;       /* worker threads the kernels use                             */
} baldro_backend_stats;

/* Opens the fp32 CPU backend with `threads` workers (0: all cores, or OMP_NUM_THREADS
 * when set). Sets the BLAS thread count to match. */
int baldro_backend_cpu_open(int threads, baldro_backend **be, const baldro_ops **ops,
                            baldro_error *err);

/* Opens the fp32 CUDA backend on `device` (0-based): one stream, cuBLAS bound to it.
 * Fails with a one-line error when there is no usable device ("cuda backend: no CUDA
 * device (cudaGetDeviceCount: ...)") or when this build has no CUDA backend ("this build
 * has no CUDA backend (configure with nvcc on PATH)", BALDRO_EUNSUPPORTED). */
int baldro_backend_cuda_open(int device, baldro_backend **be, const baldro_ops **ops,
                             baldro_error *err);

/* 1 when this build has the CUDA backend and the driver reports at least one device;
 * else 0 with the reason in `why` (may be NULL). Does not open anything. */
int baldro_backend_cuda_available(char *why, size_t cap);

/* Frees everything still allocated and the handle. NULL is ignored. */
void baldro_backend_close(baldro_backend *be);

void baldro_backend_get_stats(baldro_backend *be, baldro_backend_stats *st);

#endif /* BALDRO_BACKEND_H */

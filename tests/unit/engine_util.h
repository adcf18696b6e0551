/*
 * tests/unit/engine_util.h: shared set-up for the engine suites: a CPU backend, the
 * built plugins loaded, and small model configs. Header-only, included by one test
 * source each.
 */
#ifndef BALDRO_TEST_ENGINE_UTIL_H
#define BALDRO_TEST_ENGINE_UTIL_H

#include <criterion/criterion.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "backend/backend.h"
#include "engine/model.h"
#include "plugin/loader.h"

typedef struct engine_env {
    baldro_loader *ld;
    baldro_backend *be;
    const baldro_ops *ops;
} engine_env;

static inline void engine_env_open(engine_env *e, int threads) {
    baldro_error err = {0};
    e->ld = baldro_loader_new();
    baldro_loader_load_dir(e->ld, BALDRO_BUILT_PLUGIN_DIR);
    cr_assert_not_null(baldro_registry_find(baldro_loader_registry(e->ld), BALDRO_KIND_MODEL,
                                            "llama"),
                       "the llama plugin was not loaded from %s", BALDRO_BUILT_PLUGIN_DIR);
    int rc = baldro_backend_cpu_open(threads, &e->be, &e->ops, &err);
    cr_assert_eq(rc, BALDRO_OK, "cpu backend: %s", err.msg);
}

static inline void engine_env_close(engine_env *e) {
    baldro_backend_close(e->be);
    baldro_loader_free(e->ld);
}

static inline int engine_open_model(engine_env *e, const char *config_json,
                                    baldro_model_limits lim, uint64_t seed, float std,
                                    baldro_model **m, baldro_error *err) {
    baldro_model_open_args a = {.hf_config_json = config_json, .source = "test config",
                                .seed = seed, .init_std = std, .limits = lim};
    return baldro_model_open(baldro_loader_registry(e->ld), e->ops, e->be, &a, m, err);
}

/* The same, for training with the logits chunked above logits_bytes. */
static inline int engine_open_model_chunked(engine_env *e, const char *config_json,
                                            baldro_model_limits lim, uint64_t seed, float std,
                                            int64_t logits_bytes, baldro_model **m,
                                            baldro_error *err) {
    baldro_model_open_args a = {.hf_config_json = config_json, .source = "test config",
                                .seed = seed, .init_std = std, .limits = lim,
                                .logits_bytes = logits_bytes};
    return baldro_model_open(baldro_loader_registry(e->ld), e->ops, e->be, &a, m, err);
}

/* Copies a parameter or gradient tensor to a new host array. */
static inline float *engine_download(engine_env *e, const baldro_tensor *t) {
    size_t n = (size_t)baldro_tensor_numel(t);
    float *h = g_new(float, n);
    cr_assert_eq(e->ops->download(e->be, h, t->data, n * 4), BALDRO_OK);
    return h;
}

/* ||a - b|| / ||b|| in double; 0 when both are 0. */
static inline double rel_l2(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    if (den == 0) return num == 0 ? 0 : INFINITY;
    return sqrt(num / den);
}

#endif /* BALDRO_TEST_ENGINE_UTIL_H */

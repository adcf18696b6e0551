/*
 * baldro/model.h: the model-architecture vtable.
 *
 * A model plugin composes a network from the host's backend-neutral ops (handed over
 * in baldro_model_create_args) and never brings kernels of its own, so one plugin runs
 * on every backend. The host feeds token ids and target ids and gets per-token target
 * log-probs back; backward takes d loss / d logp. The ops table arrives with the
 * compute-engine work; until then `ops` is NULL and this vtable is provisional within
 * ABI 1.x pre-release (see docs/plugin-abi.md).
 */
#ifndef BALDRO_MODEL_H
#define BALDRO_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct baldro_model_create_args {
    uint32_t struct_size;
    const char *hf_config_json;  /* text of the HF config.json (hyper-parameters)    */
    uint64_t seed;               /* for random initialisation                         */
    const void *ops;             /* backend ops table (engine issue); NULL for now    */
} baldro_model_create_args;

typedef struct baldro_model_vtable {
    uint32_t struct_size;
    const char *name;                   /* architecture name, e.g. "llama"            */
    const char *version;
    const char *description;
    const char *const *hf_model_types;  /* NULL-terminated config.json model_type     */
                                        /* values served ("llama", "mistral")         */
    /* Required. */
    int (*create)(void **model, const baldro_model_create_args *args, char *err,
                  size_t err_cap);
    void (*destroy)(void *model);
    /* tokens, targets: [B][T]; logp: [B][T] out, log p(targets[b][t] | tokens[b][<=t]). */
    int (*forward)(void *model, const int32_t *tokens, const int32_t *targets, int32_t B,
                   int32_t T, float *logp, char *err, size_t err_cap);
    /* dlogp: [B][T]; accumulates parameter gradients. */
    int (*backward)(void *model, const float *dlogp, char *err, size_t err_cap);

    /* ---- ABI 1.1 ---- */
    const char *const *aliases;
} baldro_model_vtable;

#define BALDRO_MODEL_VTABLE_SIZE_1_0 ((uint32_t)offsetof(baldro_model_vtable, aliases))

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_MODEL_H */

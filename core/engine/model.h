/*
 * core/engine/model.h: a model instance on a backend, as the host uses it.
 *
 * Wraps a model plugin's vtable: picks the architecture from config.json's model_type,
 * checks the plugin is new enough (ABI 1.2 members for training and generation), and
 * turns plugin error strings into baldro_error values.
 */
#ifndef BALDRO_ENGINE_MODEL_H
#define BALDRO_ENGINE_MODEL_H

#include <baldro/model.h>
#include <baldro/ops.h>

#include "plugin/registry.h"
#include "util/error.h"

typedef struct baldro_model baldro_model;

typedef struct baldro_model_open_args {
    const char *hf_config_json; /* text of config.json                              */
    const char *source;         /* where it came from, for messages ("x/config.json") */
    const char *arch;           /* architecture name to force; NULL: by model_type  */
    uint64_t seed;
    float init_std;             /* 0: the config's initializer_range                */
    baldro_model_limits limits;
    int64_t logits_bytes;       /* training: chunk the logits above this (0: never);  */
                                /* see baldro_model_create_args                        */
} baldro_model_open_args;

int baldro_model_open(const baldro_registry *reg, const baldro_ops *ops, baldro_backend *be,
                      const baldro_model_open_args *args, baldro_model **out, baldro_error *err);
void baldro_model_close(baldro_model *m);

const baldro_model_info *baldro_model_get_info(const baldro_model *m);
const char *baldro_model_arch(const baldro_model *m);
/* The config.json text the model was created from (written back when saving). */
const char *baldro_model_config_json(const baldro_model *m);
void baldro_model_params(const baldro_model *m, const baldro_param **list, int32_t *n);
const baldro_param *baldro_model_find_param(const baldro_model *m, const char *name);
const baldro_ops *baldro_model_ops(const baldro_model *m);
baldro_backend *baldro_model_backend(const baldro_model *m);

/* tokens, targets [B][T] host; logp [B][T] out (0 where target < 0). */
int baldro_model_forward(baldro_model *m, const int32_t *tokens, const int32_t *targets,
                         int32_t B, int32_t T, float *logp, baldro_error *err);
/* dlogp [B][T] host: d loss / d logp of the last forward; gradients accumulate. */
int baldro_model_backward(baldro_model *m, const float *dlogp, baldro_error *err);
/* The logits [B*T, V] of the last forward (backend memory; valid until the next forward
 * or backward), and backward with d loss / d logits added (NULL: plain backward). For
 * losses over whole distributions (KL to a reference); ABI 1.3 model plugins. */
int baldro_model_logits(baldro_model *m, const baldro_tensor **logits, baldro_error *err);
int baldro_model_backward_logits(baldro_model *m, const float *dlogp,
                                 const baldro_tensor *dlogits, baldro_error *err);
/* Sets every parameter gradient to zero. */
int baldro_model_zero_grad(baldro_model *m, baldro_error *err);

int baldro_model_gen_prefill(baldro_model *m, const int32_t *tokens, const int32_t *lengths,
                             int32_t B, int32_t T, const baldro_tensor **logits,
                             baldro_error *err);
int baldro_model_gen_decode(baldro_model *m, const int32_t *ids, const baldro_tensor **logits,
                            baldro_error *err);

#endif /* BALDRO_ENGINE_MODEL_H */

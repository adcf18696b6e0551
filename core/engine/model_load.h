/*
 * core/engine/model_load.h: parameters from safetensors into a model.
 *
 * HF names map one to one onto the plugin's parameter list. Every parameter must be
 * present with its exact shape; a tensor the model does not know is an error (a wrong
 * architecture or a truncated config would otherwise load silently), except the copies
 * HF may write that carry no information: lm_head.weight of a tied model and
 * rotary_emb.inv_freq buffers.
 */
#ifndef BALDRO_ENGINE_MODEL_LOAD_H
#define BALDRO_ENGINE_MODEL_LOAD_H

#include "engine/model.h"
#include "io/safetensors.h"
#include "util/error.h"

int baldro_model_load_st_file(baldro_model *m, const baldro_st_file *f, baldro_error *err);
/* The same from a sharded checkpoint (baldro_st_open_index); `path` names it in messages. */
int baldro_model_load_st_set(baldro_model *m, const baldro_st_set *set, const char *path,
                             baldro_error *err);

#endif /* BALDRO_ENGINE_MODEL_LOAD_H */

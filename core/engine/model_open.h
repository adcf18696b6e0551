/*
 * core/engine/model_open.h: open a model from any supported path: an HF directory
 * (model_hf.h), a llama2.c checkpoint (*.bin) or a GGUF file (*.gguf) (model_import.h).
 */
#ifndef BALDRO_ENGINE_MODEL_OPEN_H
#define BALDRO_ENGINE_MODEL_OPEN_H

#include "engine/model.h"
#include "util/error.h"

int baldro_model_open_path(const baldro_registry *reg, const baldro_ops *ops, baldro_backend *be,
                           const char *path, baldro_model_limits lim, baldro_model **out,
                           baldro_error *err);

#endif /* BALDRO_ENGINE_MODEL_OPEN_H */

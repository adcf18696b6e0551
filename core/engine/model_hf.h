/*
 * core/engine/model_hf.h: Hugging Face model directories in and out.
 *
 * In: config.json picks the architecture (model_type), the weights come from
 * model.safetensors or the shards of model.safetensors.index.json, in F32, BF16 or F16
 * (converted to the backend's type on load). Out: the same layout, written so that
 * transformers' from_pretrained loads it: config.json, F32 safetensors with
 * {"format": "pt"} metadata, sharded with an index above a size limit, and the tokenizer
 * and generation files of a source directory copied alongside. A save is atomic: the
 * files go to a temporary sibling directory that is renamed into place at the end.
 */
#ifndef BALDRO_ENGINE_MODEL_HF_H
#define BALDRO_ENGINE_MODEL_HF_H

#include <stddef.h>
#include <stdint.h>

#include "engine/model.h"
#include "util/error.h"

int baldro_model_open_hf_dir(const baldro_registry *reg, const baldro_ops *ops,
                             baldro_backend *be, const char *dir, baldro_model_limits limits,
                             baldro_model **out, baldro_error *err);
/* The same, for training with the logits chunked above `logits_bytes` (0: never). */
int baldro_model_open_hf_dir_train(const baldro_registry *reg, const baldro_ops *ops,
                                   baldro_backend *be, const char *dir,
                                   baldro_model_limits limits, int64_t logits_bytes,
                                   baldro_model **out, baldro_error *err);

typedef struct baldro_save_options {
    size_t max_shard_bytes;      /* 0: 5 GB, transformers' default                     */
    const char *copy_files_from; /* directory whose tokenizer/generation files to copy */
    int overwrite;               /* replace an existing directory                       */
} baldro_save_options;

int baldro_model_save_hf_dir(baldro_model *m, const char *dir, const baldro_save_options *opt,
                             baldro_error *err);

/* The end-of-generation token ids of a model directory: generation_config.json's
 * eos_token_id (an integer or a list, as Llama-3 Instruct has), else config.json's. At most
 * `cap` ids go to ids; *n receives how many there are. A directory naming none gives
 * *n = 0 (generation then runs to its length limit). */
int baldro_hf_end_tokens(const char *dir, int32_t *ids, int32_t cap, int32_t *n,
                         baldro_error *err);

#endif /* BALDRO_ENGINE_MODEL_HF_H */

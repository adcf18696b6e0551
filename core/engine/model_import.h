/*
 * core/engine/model_import.h: models from llama2.c checkpoints and GGUF files (F32, F16,
 * BF16 tensors), loaded into the llama plugin as ordinary Hugging Face llamas.
 *
 * Both formats store q_proj and k_proj for RoPE on interleaved pairs (Meta's layout,
 * which llama.cpp keeps); the plugin, like transformers, rotates halves. Each head's rows
 * are therefore reordered on load with the permutation transformers'
 * convert_llama_weights_to_hf.py applies to Meta weights (the inverse of the one
 * llama.cpp's convert_hf_to_gguf.py applies), per query head for q and per key/value head
 * for k. After that every engine path (forward, backward, generation) applies unchanged.
 *
 * The HF config.json text is synthesized from the file's header or metadata:
 *   llama2.c: max_position_embeddings = seq_len, rms_norm_eps 1e-5, rope_theta 10000,
 *             tied when the header's vocab_size is positive;
 *   GGUF:     llama.* keys (context_length, attention.layer_norm_rms_epsilon,
 *             rope.freq_base); tied when output.weight is absent or a byte copy of
 *             token_embd.weight. Only general.architecture "llama" without rope scaling.
 * Errors are one line naming the file and the tensor or field.
 */
#ifndef BALDRO_ENGINE_MODEL_IMPORT_H
#define BALDRO_ENGINE_MODEL_IMPORT_H

#include <stdint.h>

#include "engine/model.h"
#include "util/error.h"

int baldro_model_open_llama2c(const baldro_registry *reg, const baldro_ops *ops,
                              baldro_backend *be, const char *bin_path, baldro_model_limits lim,
                              baldro_model **out, baldro_error *err);
int baldro_model_open_gguf(const baldro_registry *reg, const baldro_ops *ops,
                           baldro_backend *be, const char *gguf_path, baldro_model_limits lim,
                           baldro_model **out, baldro_error *err);

/* The q/k reordering described above: src and dst are [n_heads * head_dim][cols],
 * head_dim even; row h*D + 2i + j of src becomes row h*D + j*D/2 + i of dst. */
void baldro_import_permute_qk(const float *src, float *dst, int32_t n_heads, int32_t head_dim,
                              int32_t cols);

#endif /* BALDRO_ENGINE_MODEL_IMPORT_H */

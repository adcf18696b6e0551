/*
 * baldro/model.h: the model-architecture vtable.
 *
 * A model plugin composes a network from the host's backend-neutral ops (ops.h, handed
 * over in baldro_model_create_args) and never brings kernels of its own, so one plugin
 * runs on every backend. The host feeds token ids and target ids and gets per-token
 * target log-probs back; backward takes d loss / d logp and accumulates parameter
 * gradients. Generation is prefill + decode on a KV cache inside the model; the host
 * picks the next tokens (generate.c).
 *
 * Memory: create() plans every buffer the model will ever use for the given limits
 * (parameters, gradients, saved activations, KV cache, workspaces) and allocates them
 * as one block through ops->alloc. forward/backward/generation allocate nothing.
 */
#ifndef BALDRO_MODEL_H
#define BALDRO_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "ops.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the model must be able to do; sizes every buffer. */
typedef struct baldro_model_limits {
    int32_t max_batch; /* rows per forward/backward                                    */
    int32_t max_seq;   /* tokens per row                                               */
    int32_t train;     /* 1: gradients and the activations backward needs              */
    int32_t recompute; /* 1 (with train): keep only each layer's input, recompute the  */
                       /* rest of the layer in backward (less memory, ~1/3 more work)  */
    int32_t gen_batch; /* KV-cache rows; 0: no generation                              */
    int32_t gen_len;   /* KV-cache positions (prompt + new tokens)                     */
} baldro_model_limits;

typedef struct baldro_model_create_args {
    uint32_t struct_size;
    const char *hf_config_json;  /* text of the HF config.json (hyper-parameters)      */
    uint64_t seed;               /* random initialisation                               */
    const baldro_ops *ops;       /* ---- ABI 1.2: the backend ----                      */
    baldro_backend *backend;
    baldro_model_limits limits;
    float init_std;              /* normal(0, init_std) for weights; 0: the config's   */
                                 /* initializer_range (0.02 when absent). Norms: 1.    */
    /* ---- ABI 1.5 ---- */
    /* Training (limits.train): the most bytes the [rows, vocab] fp32 logits may take at
     * once. A model may then run the LM head and the log-softmax in chunks of rows, and
     * recompute each chunk's logits in backward, so no [B*T, V] logits tensor exists
     * (2.1 GB for 8 x 512 rows of a 128k vocabulary). The host then never asks for the
     * logits. 0: all rows at once; the host may read them (logits(), backward_logits()). */
    int64_t logits_bytes;
} baldro_model_create_args;

/* One parameter tensor, named as in HF checkpoints. */
typedef struct baldro_param {
    const char *name;    /* "model.layers.0.self_attn.q_proj.weight"                    */
    baldro_tensor value; /* backend memory                                              */
    baldro_tensor grad;  /* same shape; data NULL when the model was created without   */
                         /* limits.train                                                */
    int32_t no_decay;    /* 1 for norm weights and biases (HF Trainer's decay groups)  */
} baldro_param;

typedef struct baldro_model_info {
    uint32_t struct_size;
    int32_t vocab_size;
    int32_t hidden_size;
    int32_t num_layers;
    int32_t max_positions;   /* max_position_embeddings                                */
    int64_t n_params;        /* scalars in the parameter list                          */
    size_t planned_bytes;    /* the block create() allocated                           */
    size_t param_bytes, grad_bytes, activation_bytes, kv_cache_bytes, workspace_bytes;
} baldro_model_info;

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
    /* tokens, targets: [B][T] host arrays, B <= max_batch, T <= max_seq. logp: [B][T]
     * out, log p(targets[b][t] | tokens[b][<=t]); 0 where targets[b][t] < 0.          */
    int (*forward)(void *model, const int32_t *tokens, const int32_t *targets, int32_t B,
                   int32_t T, float *logp, char *err, size_t err_cap);
    /* dlogp: [B][T] host array, for the last forward; accumulates parameter gradients. */
    int (*backward)(void *model, const float *dlogp, char *err, size_t err_cap);

    /* ---- ABI 1.1 ---- */
    const char *const *aliases;

    /* ---- ABI 1.2: what training and generation need; NULL in older plugins ---- */
    int (*describe)(void *model, baldro_model_info *info);
    /* The parameter list, owned by the model, in checkpoint order.                    */
    int (*params)(void *model, const baldro_param **list, int32_t *n);
    /* Starts generation: tokens [B][T] host, row b right-padded after lengths[b] >= 1
     * tokens. Fills the KV cache and points *logits at [B, V] backend logits of each
     * row's last prompt token (valid until the next call).                            */
    int (*gen_prefill)(void *model, const int32_t *tokens, const int32_t *lengths, int32_t B,
                       int32_t T, const baldro_tensor **logits, char *err, size_t err_cap);
    /* Appends ids[b] (host, [B]) to every row and returns the next logits [B, V].     */
    int (*gen_decode)(void *model, const int32_t *ids, const baldro_tensor **logits,
                      char *err, size_t err_cap);

    /* ---- ABI 1.3: losses over whole distributions (KL to a reference) ---- */
    /* The logits [B*T, V] of the last forward (backend memory, row b*T + t), valid until
     * the next forward or backward.                                                    */
    int (*logits)(void *model, const baldro_tensor **logits, char *err, size_t err_cap);
    /* backward, with d loss / d logits [B*T, V] (backend memory; NULL = none) added to
     * what dlogp gives.                                                                */
    int (*backward_logits)(void *model, const float *dlogp, const baldro_tensor *dlogits,
                           char *err, size_t err_cap);
} baldro_model_vtable;

#define BALDRO_MODEL_VTABLE_SIZE_1_0 ((uint32_t)offsetof(baldro_model_vtable, aliases))
#define BALDRO_MODEL_VTABLE_SIZE_1_1 ((uint32_t)offsetof(baldro_model_vtable, describe))
#define BALDRO_MODEL_VTABLE_SIZE_1_2 ((uint32_t)offsetof(baldro_model_vtable, logits))
#define BALDRO_MODEL_CREATE_ARGS_SIZE_1_0 ((uint32_t)offsetof(baldro_model_create_args, backend))

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_MODEL_H */

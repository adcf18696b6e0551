/*
 * llama_plugin.c: registers the architectures. "llama" serves model_type llama and
 * mistral (Llama-2, Llama-3.x, Mistral shapes); "qwen2" adds q/k/v biases; "qwen3" adds
 * per-head q/k RMSNorm. One network (llama_forward.c) covers all three.
 */
#include <glib.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

BALDRO_PLUGIN("models_llama", "0.2.0",
              "Llama-family causal LMs: Llama-2/3.x, Mistral, Qwen2, Qwen3");

static int create_arch(void **out, const baldro_model_create_args *args, const char *arch,
                       char *err, size_t cap) {
    *out = NULL;
    if (!args || args->struct_size < sizeof(baldro_model_create_args) || !args->ops ||
        !args->backend)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "llama: create needs ABI 1.2 create args with ops and a backend");
    const baldro_model_limits *lim = &args->limits;
    if (lim->max_batch < 1 || lim->max_seq < 1 || lim->gen_batch < 0 ||
        (lim->gen_batch > 0 && lim->gen_len < 1))
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "llama: limits max_batch=%d max_seq=%d gen_batch=%d gen_len=%d are "
                           "invalid", lim->max_batch, lim->max_seq, lim->gen_batch, lim->gen_len);
    if (args->ops->act_dtype != BALDRO_DT_F32)
        return BALDRO_FAIL(err, cap, BALDRO_EUNSUPPORTED,
                           "llama: backend '%s' computes in a dtype this plugin does not plan for",
                           args->ops->name);
    llama_model *m = calloc(1, sizeof *m);
    if (!m) return BALDRO_FAIL(err, cap, BALDRO_ENOMEM, "llama: out of memory");
    int rc = llama_config_parse(args->hf_config_json, arch, &m->cfg, err, cap);
    if (rc) {
        free(m);
        return rc;
    }
    int64_t need = lim->max_seq > lim->gen_len ? lim->max_seq : lim->gen_len;
    if (need > m->cfg.P) {
        int32_t P = m->cfg.P;
        free(m);
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "llama: %lld positions requested but config.json "
                           "max_position_embeddings=%d", (long long)need, P);
    }
    m->ops = args->ops;
    m->be = args->backend;
    m->lim = *lim;
    /* ABI 1.5: chunked logits in training; an older host's args end before the field. */
    if (lim->train && args->struct_size >= offsetof(baldro_model_create_args, logits_bytes) +
                                                sizeof args->logits_bytes)
        m->logits_bytes = args->logits_bytes > 0 ? args->logits_bytes : 0;
    rc = llama_plan(m, err, cap);
    if (rc == BALDRO_OK) {
        float std = args->init_std > 0 ? args->init_std : m->cfg.init_range;
        rc = llama_init_weights(m, args->seed, std, err, cap);
    }
    if (rc) {
        llama_unplan(m);
        free(m);
        return rc;
    }
    *out = m;
    return BALDRO_OK;
}

static int create_llama(void **out, const baldro_model_create_args *a, char *err, size_t cap) {
    return create_arch(out, a, "llama", err, cap);
}
static int create_qwen2(void **out, const baldro_model_create_args *a, char *err, size_t cap) {
    return create_arch(out, a, "qwen2", err, cap);
}
static int create_qwen3(void **out, const baldro_model_create_args *a, char *err, size_t cap) {
    return create_arch(out, a, "qwen3", err, cap);
}

static void destroy(void *model) {
    llama_model *m = model;
    if (!m) return;
    llama_unplan(m);
    free(m);
}

static int forward(void *model, const int32_t *tokens, const int32_t *targets, int32_t B,
                   int32_t T, float *logp, char *err, size_t cap) {
    return llama_forward(model, tokens, targets, B, T, logp, err, cap);
}
static int backward(void *model, const float *dlogp, char *err, size_t cap) {
    return llama_backward(model, dlogp, NULL, err, cap);
}
static int backward_logits(void *model, const float *dlogp, const baldro_tensor *dlogits,
                           char *err, size_t cap) {
    return llama_backward(model, dlogp, dlogits, err, cap);
}
static int logits(void *model, const baldro_tensor **out, char *err, size_t cap) {
    llama_model *m = model;
    if (m->logits_rows < (int64_t)m->lim.max_batch * m->lim.max_seq)
        return BALDRO_FAIL(err, cap, BALDRO_ESTATE,
                           "llama: no logits: this training model runs its LM head in chunks of "
                           "%lld rows (create args logits_bytes); create it with 0 to read them",
                           (long long)m->logits_rows);
    if (!m->have_logits)
        return BALDRO_FAIL(err, cap, BALDRO_ESTATE,
                           "llama: no logits: they are valid after a forward, until backward");
    m->lview = baldro_t2(m->logits.data, 0, (int64_t)m->B * m->T, m->cfg.V);
    *out = &m->lview;
    return BALDRO_OK;
}
static int describe(void *model, baldro_model_info *info) {
    *info = ((llama_model *)model)->info;
    return BALDRO_OK;
}
static int params(void *model, const baldro_param **list, int32_t *n) {
    llama_model *m = model;
    *list = m->params;
    *n = m->n_params;
    return BALDRO_OK;
}
static int prefill(void *model, const int32_t *tokens, const int32_t *lengths, int32_t B,
                   int32_t T, const baldro_tensor **logits, char *err, size_t cap) {
    return llama_gen_prefill(model, tokens, lengths, B, T, logits, err, cap);
}
static int decode(void *model, const int32_t *ids, const baldro_tensor **logits, char *err,
                  size_t cap) {
    return llama_gen_decode(model, ids, logits, err, cap);
}

#define LLAMA_VTABLE(name_, desc_, types_, create_)                                       \
    {                                                                                     \
        BALDRO_VTABLE_HEADER(baldro_model_vtable), .name = (name_), .version = "0.2.0",   \
        .description = (desc_), .hf_model_types = (types_), .create = (create_),          \
        .destroy = destroy, .forward = forward, .backward = backward,                     \
        .describe = describe, .params = params, .gen_prefill = prefill,                   \
        .gen_decode = decode, .logits = logits, .backward_logits = backward_logits,       \
    }

static const char *const llama_types[] = {"llama", "mistral", NULL};
static const char *const llama_aliases[] = {"LlamaForCausalLM", "MistralForCausalLM", NULL};
static const char *const qwen2_types[] = {"qwen2", NULL};
static const char *const qwen2_aliases[] = {"Qwen2ForCausalLM", NULL};
static const char *const qwen3_types[] = {"qwen3", NULL};
static const char *const qwen3_aliases[] = {"Qwen3ForCausalLM", NULL};

static baldro_model_vtable vt_llama =
    LLAMA_VTABLE("llama", "Llama-2, Llama-3.x and Mistral decoder", llama_types, create_llama);
static baldro_model_vtable vt_qwen2 =
    LLAMA_VTABLE("qwen2", "Qwen2 decoder (q/k/v biases)", qwen2_types, create_qwen2);
static baldro_model_vtable vt_qwen3 =
    LLAMA_VTABLE("qwen3", "Qwen3 decoder (per-head q/k RMSNorm)", qwen3_types, create_qwen3);

BALDRO_PLUGIN_INIT(ctx, host) {
    vt_llama.aliases = llama_aliases;
    vt_qwen2.aliases = qwen2_aliases;
    vt_qwen3.aliases = qwen3_aliases;
    int rc = host->register_model(ctx, &vt_llama);
    if (rc == BALDRO_OK) rc = host->register_model(ctx, &vt_qwen2);
    if (rc == BALDRO_OK) rc = host->register_model(ctx, &vt_qwen3);
    return rc;
}

/* core/engine/model_import.c: see model_import.h. */
#include "engine/model_import.h"

#include <glib.h>
#include <string.h>

#include "io/gguf.h"
#include "io/llama2c.h"

typedef struct hparams {
    int64_t C, F, L, Hq, Hkv, V, P;
    double eps, theta;
    int tied;
} hparams;

void baldro_import_permute_qk(const float *src, float *dst, int32_t n_heads, int32_t head_dim,
                              int32_t cols) {
    size_t D = (size_t)head_dim, half = D / 2, W = (size_t)cols;
    for (size_t h = 0; h < (size_t)n_heads; h++)
        for (size_t i = 0; i < half; i++)
            for (size_t j = 0; j < 2; j++)
                memcpy(dst + (h * D + j * half + i) * W, src + (h * D + 2 * i + j) * W,
                       W * sizeof(float));
}

static char *config_json(const hparams *h) {
    char eps[G_ASCII_DTOSTR_BUF_SIZE], theta[G_ASCII_DTOSTR_BUF_SIZE];
    /* %.17g round-trips the double; the eps read from a GGUF float32 then rounds back to
     * the same float in the plugin. g_ascii_formatd: a JSON number in any locale. */
    g_ascii_formatd(eps, sizeof eps, "%.17g", h->eps);
    g_ascii_formatd(theta, sizeof theta, "%.17g", h->theta);
    return g_strdup_printf(
        "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], "
        "\"hidden_act\": \"silu\", \"hidden_size\": %lld, \"intermediate_size\": %lld, "
        "\"num_hidden_layers\": %lld, \"num_attention_heads\": %lld, "
        "\"num_key_value_heads\": %lld, \"vocab_size\": %lld, "
        "\"max_position_embeddings\": %lld, \"rms_norm_eps\": %s, \"rope_theta\": %s, "
        "\"tie_word_embeddings\": %s, \"bos_token_id\": 1, \"eos_token_id\": 2}",
        (long long)h->C, (long long)h->F, (long long)h->L, (long long)h->Hq, (long long)h->Hkv,
        (long long)h->V, (long long)h->P, eps, theta, h->tied ? "true" : "false");
}

/* Where one HF parameter comes from. */
typedef enum { W_EMBED, W_LN1, W_Q, W_K, W_V, W_O, W_LN2, W_GATE, W_UP, W_DOWN, W_NORM,
               W_LM_HEAD } wkind;

static const char *const k_hf_suffix[] = {
    [W_LN1] = "input_layernorm.weight",        [W_Q] = "self_attn.q_proj.weight",
    [W_K] = "self_attn.k_proj.weight",         [W_V] = "self_attn.v_proj.weight",
    [W_O] = "self_attn.o_proj.weight",         [W_LN2] = "post_attention_layernorm.weight",
    [W_GATE] = "mlp.gate_proj.weight",         [W_UP] = "mlp.up_proj.weight",
    [W_DOWN] = "mlp.down_proj.weight",
};

static const char *const k_gguf_suffix[] = {
    [W_LN1] = "attn_norm.weight", [W_Q] = "attn_q.weight",     [W_K] = "attn_k.weight",
    [W_V] = "attn_v.weight",      [W_O] = "attn_output.weight", [W_LN2] = "ffn_norm.weight",
    [W_GATE] = "ffn_gate.weight", [W_UP] = "ffn_up.weight",     [W_DOWN] = "ffn_down.weight",
};

static const baldro_l2c_array k_l2c_array[] = {
    [W_EMBED] = BALDRO_L2C_TOKEN_EMBEDDING, [W_LN1] = BALDRO_L2C_RMS_ATT,
    [W_Q] = BALDRO_L2C_WQ,   [W_K] = BALDRO_L2C_WK,     [W_V] = BALDRO_L2C_WV,
    [W_O] = BALDRO_L2C_WO,   [W_LN2] = BALDRO_L2C_RMS_FFN, [W_GATE] = BALDRO_L2C_W1,
    [W_UP] = BALDRO_L2C_W3,  [W_DOWN] = BALDRO_L2C_W2,  [W_NORM] = BALDRO_L2C_RMS_FINAL,
    [W_LM_HEAD] = BALDRO_L2C_WCLS,
};

/* Reads one parameter's host values (in the file's row order) into dst[n]. */
typedef int (*read_fn)(void *src, wkind k, int32_t layer, const baldro_param *p, float *dst,
                       size_t n, baldro_error *err);

static const char *hf_name(wkind k, int32_t layer, char *buf, size_t cap) {
    switch (k) {
    case W_EMBED: return "model.embed_tokens.weight";
    case W_NORM: return "model.norm.weight";
    case W_LM_HEAD: return "lm_head.weight";
    default: g_snprintf(buf, cap, "model.layers.%d.%s", layer, k_hf_suffix[k]); return buf;
    }
}

/* Opens the model from the synthesized config and fills every parameter. */
static int open_and_fill(const baldro_registry *reg, const baldro_ops *ops, baldro_backend *be,
                         const char *path, const hparams *h, baldro_model_limits lim,
                         read_fn rd, void *src, baldro_model **out, baldro_error *err) {
    *out = NULL;
    char *json = config_json(h);
    baldro_model_open_args a = {.hf_config_json = json, .source = path, .seed = 0,
                                .init_std = 0, .limits = lim};
    baldro_model *m = NULL;
    int rc = baldro_model_open(reg, ops, be, &a, &m, err);
    g_free(json);
    if (rc) return rc;
    const baldro_param *params;
    int32_t np;
    baldro_model_params(m, &params, &np);
    int64_t expect = 2 + 9 * h->L + (h->tied ? 0 : 1);
    if (np != expect) {
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: the %s model has %d parameters, a plain llama has %lld "
                              "(biases or q/k norms are not in this format)", path,
                              baldro_model_arch(m), np, (long long)expect);
        goto fail;
    }
    size_t max_n = 0;
    for (int32_t i = 0; i < np; i++) {
        size_t k = (size_t)baldro_tensor_numel(&params[i].value);
        if (k > max_n) max_n = k;
    }
    float *buf = g_try_new(float, 2 * (max_n ? max_n : 1));
    if (!buf) {
        rc = baldro_error_set(err, BALDRO_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    float *perm = buf + (max_n ? max_n : 1);
    int64_t D = h->C / h->Hq;
    for (int32_t layer = -1; layer < h->L && rc == BALDRO_OK; layer++) {
        for (int k = 0; k <= W_LM_HEAD && rc == BALDRO_OK; k++) {
            int per_layer = k != W_EMBED && k != W_NORM && k != W_LM_HEAD;
            if (per_layer != (layer >= 0) || (k == W_LM_HEAD && h->tied)) continue;
            char nb[128];
            const char *name = hf_name((wkind)k, layer, nb, sizeof nb);
            const baldro_param *p = baldro_model_find_param(m, name);
            if (!p) {
                rc = baldro_error_set(err, BALDRO_EINVAL, "%s: the model has no parameter '%s'",
                                      path, name);
                break;
            }
            size_t n = (size_t)baldro_tensor_numel(&p->value);
            if ((rc = rd(src, (wkind)k, layer, p, buf, n, err))) break;
            const float *up = buf;
            if (k == W_Q || k == W_K) {
                int64_t heads = k == W_Q ? h->Hq : h->Hkv;
                baldro_import_permute_qk(buf, perm, (int32_t)heads, (int32_t)D, (int32_t)h->C);
                up = perm;
            }
            if ((rc = ops->upload(be, p->value.data, up, n * sizeof(float))))
                rc = baldro_error_set(err, rc, "%s: %s: upload: %s", path, name,
                                      ops->last_error(be));
        }
    }
    g_free(buf);
    if (rc) goto fail;
    *out = m;
    return BALDRO_OK;
fail:
    baldro_model_close(m);
    return rc;
}

/* ---- llama2.c -------------------------------------------------------------------------- */

static int l2c_read(void *src, wkind k, int32_t layer, const baldro_param *p, float *dst,
                    size_t n, baldro_error *err) {
    const baldro_l2c_file *f = src;
    size_t have = baldro_l2c_array_numel(f, k_l2c_array[k]);
    if (have != n)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: '%s' has %zu elements in the checkpoint, the model expects "
                                "%zu", baldro_l2c_path(f), p->name, have, n);
    return baldro_l2c_read(f, k_l2c_array[k], layer, dst, n, err);
}

int baldro_model_open_llama2c(const baldro_registry *reg, const baldro_ops *ops,
                              baldro_backend *be, const char *bin_path, baldro_model_limits lim,
                              baldro_model **out, baldro_error *err) {
    *out = NULL;
    baldro_l2c_file *f = NULL;
    int rc = baldro_l2c_open(bin_path, &f, err);
    if (rc) return rc;
    const baldro_l2c_config *c = baldro_l2c_config_of(f);
    hparams h = {.C = c->dim, .F = c->hidden_dim, .L = c->n_layers, .Hq = c->n_heads,
                 .Hkv = c->n_kv_heads, .V = c->vocab_size, .P = c->seq_len, .eps = 1e-5,
                 .theta = 10000.0, .tied = c->shared_classifier};
    rc = open_and_fill(reg, ops, be, bin_path, &h, lim, l2c_read, f, out, err);
    baldro_l2c_close(f);
    return rc;
}

/* ---- GGUF ------------------------------------------------------------------------------ */

static const char *gguf_name(wkind k, int32_t layer, char *buf, size_t cap) {
    switch (k) {
    case W_EMBED: return "token_embd.weight";
    case W_NORM: return "output_norm.weight";
    case W_LM_HEAD: return "output.weight";
    default: g_snprintf(buf, cap, "blk.%d.%s", layer, k_gguf_suffix[k]); return buf;
    }
}

static int gguf_read(void *src, wkind k, int32_t layer, const baldro_param *p, float *dst,
                     size_t n, baldro_error *err) {
    const baldro_gguf_file *f = src;
    char nb[128];
    const char *name = gguf_name(k, layer, nb, sizeof nb);
    const baldro_gguf_tensor *t = baldro_gguf_tensor_find(f, name);
    if (!t)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s' is missing",
                                baldro_gguf_path(f), name);
    /* ggml lists dimensions fastest first: the HF shape reversed. */
    int same = t->ndim == p->value.ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = t->ne[d] == p->value.shape[p->value.ndim - 1 - d];
    if (!same) {
        char a[96] = "", b[96] = "";
        for (int d = 0; d < t->ndim; d++)
            g_snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? ", " : "",
                       (long long)t->ne[d]);
        for (int d = p->value.ndim - 1; d >= 0; d--)
            g_snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld",
                       d != p->value.ndim - 1 ? ", " : "", (long long)p->value.shape[d]);
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s' has ggml shape [%s] but the metadata implies "
                                "[%s]", baldro_gguf_path(f), name, a, b);
    }
    return baldro_gguf_read_f32(f, t, dst, n, err);
}

/* A required positive llama.* integer. */
static int gguf_need_int(const baldro_gguf_file *f, const char *key, int64_t max, int64_t *out,
                         baldro_error *err) {
    int rc = baldro_gguf_get_int(f, key, 1, max, out, err);
    if (rc == BALDRO_ENOTFOUND)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: metadata '%s' is missing",
                                baldro_gguf_path(f), key);
    return rc;
}

static int gguf_hparams(const baldro_gguf_file *f, hparams *h, baldro_error *err) {
    const char *path = baldro_gguf_path(f);
    char *arch = NULL;
    int rc = baldro_gguf_get_str(f, "general.architecture", &arch, err);
    if (rc == BALDRO_ENOTFOUND)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: metadata 'general.architecture' is "
                                "missing", path);
    if (rc) return rc;
    int is_llama = !strcmp(arch, "llama");
    if (!is_llama) {
        char esc[128];
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: metadata 'general.architecture': '%s' is not supported "
                              "(only llama)", path, baldro_gguf_escape(arch, esc, sizeof esc));
        g_free(arch);
        return rc;
    }
    g_free(arch);
    const int64_t big = (int64_t)1 << 24;
    if ((rc = gguf_need_int(f, "llama.embedding_length", big, &h->C, err)) ||
        (rc = gguf_need_int(f, "llama.feed_forward_length", big, &h->F, err)) ||
        (rc = gguf_need_int(f, "llama.block_count", 65536, &h->L, err)) ||
        (rc = gguf_need_int(f, "llama.attention.head_count", big, &h->Hq, err)) ||
        (rc = gguf_need_int(f, "llama.context_length", big, &h->P, err)))
        return rc;
    rc = baldro_gguf_get_int(f, "llama.attention.head_count_kv", 1, big, &h->Hkv, err);
    if (rc == BALDRO_ENOTFOUND) h->Hkv = h->Hq;
    else if (rc) return rc;
    if (h->C % h->Hq != 0 || (h->C / h->Hq) % 2 != 0)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: metadata 'llama.attention.head_count': %lld heads do not "
                                "split embedding_length %lld into even head sizes", path,
                                (long long)h->Hq, (long long)h->C);
    int64_t rdim;
    rc = baldro_gguf_get_int(f, "llama.rope.dimension_count", 1, big, &rdim, err);
    if (rc == BALDRO_OK && rdim != h->C / h->Hq)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: metadata 'llama.rope.dimension_count': partial rotary "
                                "(%lld of head size %lld) is not supported", path,
                                (long long)rdim, (long long)(h->C / h->Hq));
    if (rc && rc != BALDRO_ENOTFOUND) return rc;
    char *scaling = NULL;
    rc = baldro_gguf_get_str(f, "llama.rope.scaling.type", &scaling, err);
    if (rc == BALDRO_OK) {
        int none = !strcmp(scaling, "none");
        g_free(scaling);
        if (!none)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: metadata 'llama.rope.scaling.type': RoPE scaling is not "
                                    "supported", path);
    } else if (rc != BALDRO_ENOTFOUND) {
        return rc;
    }
    h->eps = 1e-5;
    h->theta = 10000.0;
    rc = baldro_gguf_get_float(f, "llama.attention.layer_norm_rms_epsilon", &h->eps, err);
    if (rc && rc != BALDRO_ENOTFOUND) return rc;
    rc = baldro_gguf_get_float(f, "llama.rope.freq_base", &h->theta, err);
    if (rc && rc != BALDRO_ENOTFOUND) return rc;
    const baldro_gguf_tensor *emb = baldro_gguf_tensor_find(f, "token_embd.weight");
    if (!emb)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor 'token_embd.weight' is missing",
                                path);
    if (emb->ndim != 2 || emb->ne[1] < 1 || emb->ne[1] > big)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor 'token_embd.weight': expected 2 dimensions "
                                "[embedding_length, vocab]", path);
    h->V = emb->ne[1];
    /* llama.cpp's llama2.c converter writes output.weight as a copy of the embedding; that
     * is a tied model, and loading it as one keeps both loaders' parameters identical. */
    const baldro_gguf_tensor *o = baldro_gguf_tensor_find(f, "output.weight");
    h->tied = !o || (o->type == emb->type && o->nbytes == emb->nbytes &&
                     o->ndim == emb->ndim && !memcmp(o->ne, emb->ne, sizeof o->ne) &&
                     !memcmp(o->data, emb->data, o->nbytes));
    /* Every tensor must be one we load: an unknown one means a variant this mapping would
     * silently get wrong (rope_freqs of Llama 3.1, biases, ...). */
    for (size_t i = 0; i < baldro_gguf_tensor_count(f); i++) {
        const char *n = baldro_gguf_tensor_at(f, i)->name;
        int known = !strcmp(n, "token_embd.weight") || !strcmp(n, "output_norm.weight") ||
                    !strcmp(n, "output.weight");
        int layer = -1, end = 0;
        char suffix[64];
        if (!known && sscanf(n, "blk.%d.%63s%n", &layer, suffix, &end) == 2 &&
            n[end] == '\0' && layer >= 0 && layer < h->L) {
            char canon[128];
            g_snprintf(canon, sizeof canon, "blk.%d.%s", layer, suffix);
            for (int k = W_LN1; k <= W_DOWN && !known; k++)
                known = !strcmp(suffix, k_gguf_suffix[k]) && !strcmp(canon, n);
        }
        char esc[128];
        if (!known)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: tensor '%s' is not part of a plain llama model", path,
                                    baldro_gguf_escape(n, esc, sizeof esc));
    }
    return BALDRO_OK;
}

int baldro_model_open_gguf(const baldro_registry *reg, const baldro_ops *ops,
                           baldro_backend *be, const char *gguf_path, baldro_model_limits lim,
                           baldro_model **out, baldro_error *err) {
    *out = NULL;
    baldro_gguf_file *f = NULL;
    int rc = baldro_gguf_open(gguf_path, &f, err);
    if (rc) return rc;
    hparams h;
    memset(&h, 0, sizeof h);
    if (!(rc = gguf_hparams(f, &h, err)))
        rc = open_and_fill(reg, ops, be, gguf_path, &h, lim, gguf_read, f, out, err);
    baldro_gguf_close(f);
    return rc;
}

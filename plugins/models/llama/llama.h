/*
 * plugins/models/llama/llama.h: the Llama-family network, composed from host ops.
 *
 * One implementation serves Llama-2, Llama-3.x and Mistral (model_type llama, mistral),
 * Qwen2 (q/k/v biases) and Qwen3 (per-head RMSNorm on q and k). Shapes use
 *   B batch rows, T tokens per row, N = B*T, C hidden_size, F intermediate_size,
 *   L layers, Hq query heads, Hkv key/value heads, D head_dim, V vocab_size,
 *   Q = Hq*D, K = Hkv*D.
 *
 * Every buffer lives in one block allocated at create (llama_plan.c); the structs
 * below are views into it.
 */
#ifndef LLAMA_H
#define LLAMA_H

#include <baldro/plugin.h>
#include <stdint.h>

typedef enum { LLAMA_ARCH_LLAMA, LLAMA_ARCH_QWEN2, LLAMA_ARCH_QWEN3 } llama_arch;

typedef struct llama_config {
    llama_arch arch;
    int32_t C, F, L, Hq, Hkv, D, V, P; /* P: max_position_embeddings                  */
    float eps;                         /* rms_norm_eps                                */
    baldro_rope_params rope;
    int32_t tied;                      /* lm_head shares embed_tokens                 */
    int32_t qk_norm;                   /* Qwen3                                       */
    int32_t qkv_bias, o_bias;          /* Qwen2: qkv; Llama attention_bias: all four  */
    int32_t sliding_window;            /* Mistral; 0: none. Longer rows are refused.  */
    float init_range;                  /* initializer_range                           */
} llama_config;

/* Parses an HF config.json text. Errors name the field ("num_key_value_heads=3 does not
 * divide num_attention_heads=4"). */
int llama_config_parse(const char *json, const char *arch_hint, llama_config *cfg, char *err,
                       size_t cap);

/* Parameters (value) or their gradients (same layout), one layer. */
typedef struct llama_layer_w {
    baldro_tensor ln1;              /* [C]            input_layernorm                 */
    baldro_tensor wq, wk, wv, wo;   /* [Q,C] [K,C] [K,C] [C,Q]                        */
    baldro_tensor bq, bk, bv, bo;   /* [Q] [K] [K] [C]; data NULL when absent          */
    baldro_tensor qn, kn;           /* [D] [D] q_norm, k_norm (Qwen3)                  */
    baldro_tensor ln2;              /* [C]            post_attention_layernorm        */
    baldro_tensor wg, wu, wd;       /* [F,C] [F,C] [C,F] gate, up, down               */
} llama_layer_w;

typedef struct llama_weights {
    baldro_tensor embed;            /* [V,C]                                          */
    llama_layer_w *layers;          /* [L]                                            */
    baldro_tensor norm;             /* [C]                                            */
    baldro_tensor lm_head;          /* [V,C]; aliases embed when tied                 */
} llama_weights;

/* What one layer's forward leaves for its backward (rows R = max rows of the set). */
typedef struct llama_layer_act {
    baldro_tensor ln1, ln1_rstd;    /* [R,C] [R]                                      */
    baldro_tensor qpre, kpre;       /* [R,Q] [R,K] before q/k norm (Qwen3)            */
    baldro_tensor qn_rstd, kn_rstd; /* [R*Hq] [R*Hkv]                                 */
    baldro_tensor q, k, v;          /* [R,Q] [R,K] [R,K] after norm and RoPE          */
    baldro_tensor att, lse;         /* [R,Q] attention output; [R*Hq] log-sum-exp     */
    baldro_tensor mid;              /* [R,C] residual after attention                 */
    baldro_tensor ln2, ln2_rstd;    /* [R,C] [R]                                      */
    baldro_tensor gate, up, h;      /* [R,F] each; h = silu(gate) * up                */
} llama_layer_act;

/* Scratch for backward: activation gradients, shared by all layers. */
typedef struct llama_grad_scratch {
    baldro_tensor dres;             /* [N,C] d loss / d residual stream               */
    baldro_tensor dln;              /* [N,C]                                          */
    baldro_tensor dq, dk, dv;       /* [N,Q] [N,K] [N,K]                              */
    baldro_tensor dqpre, dkpre;     /* [N,Q] [N,K] (Qwen3)                            */
    baldro_tensor datt;             /* [N,Q]                                          */
    baldro_tensor dh;               /* [N,F]                                          */
} llama_grad_scratch;

typedef struct llama_model {
    llama_config cfg;
    const baldro_ops *ops;
    baldro_backend *be;
    baldro_model_limits lim;
    void *block;                    /* the one allocation                             */
    baldro_model_info info;

    llama_weights w, g;             /* values and gradients (g.*.data NULL: no train)  */
    baldro_param *params;           /* [n_params] HF-named list over w and g          */
    char **param_names;
    int32_t n_params;
    llama_layer_w *layer_store;     /* host arrays behind w.layers and g.layers       */

    baldro_tensor rope;             /* [P', D] cos | sin table                        */
    baldro_tensor workspace;        /* attention scratch                              */

    /* Training / scoring pass, rows N = max_batch * max_seq. */
    baldro_tensor tokens, targets;  /* [N] I32                                        */
    baldro_tensor *resid;           /* [L+1] of [N,C]: the input of each layer        */
    llama_layer_act *act;           /* [L], or [1] with recompute / without train     */
    int32_t n_act;
    baldro_tensor lnf, lnf_rstd;    /* [N,C] [N]                                      */
    baldro_tensor logits, lse;      /* [R,V] (becomes d logits in backward) [N]       */
    int64_t logits_bytes;           /* create args' budget (training; 0: none)        */
    int64_t logits_rows;            /* R: N, or fewer when the LM head runs in chunks  */
    const baldro_tensor *dlogits_pending; /* backward_logits' d logits, during backward */
    baldro_tensor logp, dlogp;      /* [N] [N]                                        */
    llama_grad_scratch gs;
    int32_t B, T;                   /* shape of the last forward                      */
    int32_t ready_for_backward;
    int32_t have_logits;            /* logits hold the last forward's (not d logits)   */
    baldro_tensor lview;            /* [B*T,V] view of logits handed to the host      */

    /* Generation, rows G = gen_batch, positions S = gen_len. */
    baldro_tensor *kc, *vc;         /* [L] of [G,S,Hkv,D]                              */
    baldro_tensor *gres;            /* [2] of [G*S,C]: residual ping-pong             */
    llama_layer_act gact;           /* rows G*S (prefill) or G (decode)               */
    baldro_tensor gtokens, gidx;    /* [G*S] I32, [G] I32                             */
    baldro_tensor gpos;             /* [G] I32: positions written so far per row     */
    baldro_tensor glast, glnf;      /* [G,C] [G,C]                                    */
    baldro_tensor glogits;          /* [G,V]                                          */
    baldro_tensor gview;            /* [B,V] view handed to the host                  */
    int32_t *gpos_host;             /* [G] host copy of gpos                          */
    int32_t *gidx_host;             /* [G] host scratch for row indices               */
    int32_t gB;                     /* rows of the current generation; 0: none        */
} llama_model;

/* llama_plan.c: lays out and allocates every buffer; builds the parameter list. */
int llama_plan(llama_model *m, char *err, size_t cap);
void llama_unplan(llama_model *m);
/* llama_init.c: normal(0, std) weights, norms 1, biases 0, from a seed. */
int llama_init_weights(llama_model *m, uint64_t seed, float std, char *err, size_t cap);
/* llama_forward.c */
int llama_forward(llama_model *m, const int32_t *tokens, const int32_t *targets, int32_t B,
                  int32_t T, float *logp, char *err, size_t cap);
/* One layer on rows [B,T] from x_in into x_out; pos0/kv for generation (NULL: training). */
int llama_layer_forward(llama_model *m, int32_t l, llama_layer_act *a, baldro_tensor *x_in,
                        baldro_tensor *x_out, int32_t B, int32_t T, const baldro_tensor *pos0,
                        int32_t use_cache, char *err, size_t cap);
/* llama_backward.c */
/* The LM head and log-softmax over N rows, logits_rows at a time (llama_forward.c). */
int llama_output_chunks(llama_model *m, int64_t N, int backward, char *err, size_t cap);
/* dlogits [B*T,V] (backend, may be NULL): added to the log-softmax backward's d logits. */
int llama_backward(llama_model *m, const float *dlogp, const baldro_tensor *dlogits, char *err,
                   size_t cap);
/* llama_generate.c */
int llama_gen_prefill(llama_model *m, const int32_t *tokens, const int32_t *lengths, int32_t B,
                      int32_t T, const baldro_tensor **logits, char *err, size_t cap);
int llama_gen_decode(llama_model *m, const int32_t *ids, const baldro_tensor **logits,
                     char *err, size_t cap);

/* A view of the first `rows` rows of a [R, ...] buffer, as [rows, cols]. */
static inline baldro_tensor llama_rows(const baldro_tensor *t, int64_t rows, int64_t cols) {
    return baldro_t2(t->data, t->dtype, rows, cols);
}

/* Fails with the backend's message, prefixed by what the model was doing. */
int llama_op_fail(llama_model *m, int rc, const char *what, char *err, size_t cap);
#define LLAMA_OP(m_, call_, what_, err_, cap_)                                           \
    do {                                                                                 \
        int rc_ = (call_);                                                               \
        if (rc_ != BALDRO_OK) return llama_op_fail((m_), rc_, (what_), (err_), (cap_));  \
    } while (0)

#endif /* LLAMA_H */

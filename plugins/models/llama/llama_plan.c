/*
 * llama_plan.c: the memory plan. Every buffer the model will use for its limits is laid
 * out here, in one block from ops->alloc: parameters, then gradients in the same layout
 * (so both are contiguous and a flat view of either is one tensor), then activations,
 * the KV cache and the attention workspace. The layout runs twice: once to measure,
 * once to hand out views into the allocated block.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "llama.h"

typedef struct carver {
    char *base; /* NULL while measuring */
    size_t off;
} carver;

static baldro_tensor carve(carver *c, int32_t dt, int nd, int64_t d0, int64_t d1, int64_t d2,
                           int64_t d3) {
    baldro_tensor t = {NULL, dt, nd, {d0, d1, d2, d3}};
    for (int i = nd; i < BALDRO_TENSOR_MAX_DIMS; i++) t.shape[i] = 1;
    c->off = (c->off + 63) & ~(size_t)63;
    if (c->base) t.data = c->base + c->off;
    c->off += baldro_tensor_bytes(&t);
    return t;
}
#define F32 BALDRO_DT_F32
#define V1(c, a) carve((c), F32, 1, (a), 1, 1, 1)
#define V2(c, a, b) carve((c), F32, 2, (a), (b), 1, 1)

static const baldro_tensor k_absent = {NULL, F32, 1, {0, 1, 1, 1}};

/* One set of weights (or gradients: same layout). */
static void carve_weights(carver *c, const llama_config *g, llama_weights *w) {
    const int64_t C = g->C, F = g->F, Q = (int64_t)g->Hq * g->D, K = (int64_t)g->Hkv * g->D;
    w->embed = V2(c, g->V, C);
    for (int l = 0; l < g->L; l++) {
        llama_layer_w *y = &w->layers[l];
        y->ln1 = V1(c, C);
        y->wq = V2(c, Q, C);
        y->bq = g->qkv_bias ? V1(c, Q) : k_absent;
        y->wk = V2(c, K, C);
        y->bk = g->qkv_bias ? V1(c, K) : k_absent;
        y->wv = V2(c, K, C);
        y->bv = g->qkv_bias ? V1(c, K) : k_absent;
        y->wo = V2(c, C, Q);
        y->bo = g->o_bias ? V1(c, C) : k_absent;
        y->qn = g->qk_norm ? V1(c, g->D) : k_absent;
        y->kn = g->qk_norm ? V1(c, g->D) : k_absent;
        y->ln2 = V1(c, C);
        y->wg = V2(c, F, C);
        y->wu = V2(c, F, C);
        y->wd = V2(c, C, F);
    }
    w->norm = V1(c, C);
    w->lm_head = g->tied ? w->embed : V2(c, g->V, C);
}

static void carve_act(carver *c, const llama_config *g, int64_t R, llama_layer_act *a) {
    const int64_t C = g->C, F = g->F, Q = (int64_t)g->Hq * g->D, K = (int64_t)g->Hkv * g->D;
    a->ln1 = V2(c, R, C);
    a->ln1_rstd = V1(c, R);
    a->qpre = g->qk_norm ? V2(c, R, Q) : k_absent;
    a->kpre = g->qk_norm ? V2(c, R, K) : k_absent;
    a->qn_rstd = g->qk_norm ? V1(c, R * g->Hq) : k_absent;
    a->kn_rstd = g->qk_norm ? V1(c, R * g->Hkv) : k_absent;
    a->q = V2(c, R, Q);
    a->k = V2(c, R, K);
    a->v = V2(c, R, K);
    a->att = V2(c, R, Q);
    a->lse = V1(c, R * g->Hq);
    a->mid = V2(c, R, C);
    a->ln2 = V2(c, R, C);
    a->ln2_rstd = V1(c, R);
    a->gate = V2(c, R, F);
    a->up = V2(c, R, F);
    a->h = V2(c, R, F);
}

/* The whole layout; returns the total bytes. Section sizes go to m->info. */
static size_t layout(llama_model *m, char *base) {
    const llama_config *g = &m->cfg;
    const baldro_model_limits *lim = &m->lim;
    const int64_t N = (int64_t)lim->max_batch * lim->max_seq, C = g->C, F = g->F;
    const int64_t Q = (int64_t)g->Hq * g->D, K = (int64_t)g->Hkv * g->D;
    carver c = {base, 0};
    size_t mark;

    carve_weights(&c, g, &m->w);
    m->info.param_bytes = c.off;
    mark = c.off;
    if (lim->train) carve_weights(&c, g, &m->g);
    m->info.grad_bytes = c.off - mark;
    mark = c.off;

    int64_t P = lim->max_seq > lim->gen_len ? lim->max_seq : lim->gen_len;
    m->rope = V2(&c, P, g->D);
    m->tokens = carve(&c, BALDRO_DT_I32, 1, N, 1, 1, 1);
    m->targets = carve(&c, BALDRO_DT_I32, 1, N, 1, 1, 1);
    int n_resid = lim->train ? g->L + 1 : 2;
    for (int i = 0; i < n_resid; i++) m->resid[i] = V2(&c, N, C);
    for (int i = 0; i < m->n_act; i++) carve_act(&c, g, N, &m->act[i]);
    m->lnf = V2(&c, N, C);
    m->lnf_rstd = V1(&c, N);
    /* Training under a logits budget: R rows at a time (llama_forward.c's output_chunks). */
    int64_t R = N;
    if (lim->train && m->logits_bytes > 0) {
        int64_t fit = m->logits_bytes / ((int64_t)g->V * 4);
        R = fit < 1 ? 1 : fit < N ? fit : N;
    }
    m->logits_rows = R;
    m->logits = V2(&c, R, g->V);
    m->lse = V1(&c, N);
    m->logp = V1(&c, N);
    m->dlogp = V1(&c, N);
    if (lim->train) {
        llama_grad_scratch *s = &m->gs;
        s->dres = V2(&c, N, C);
        s->dln = V2(&c, N, C);
        s->dq = V2(&c, N, Q);
        s->dk = V2(&c, N, K);
        s->dv = V2(&c, N, K);
        s->dqpre = g->qk_norm ? V2(&c, N, Q) : k_absent;
        s->dkpre = g->qk_norm ? V2(&c, N, K) : k_absent;
        s->datt = V2(&c, N, Q);
        s->dh = V2(&c, N, F);
    }
    if (lim->gen_batch > 0) {
        const int64_t G = lim->gen_batch, S = lim->gen_len;
        carve_act(&c, g, G * S, &m->gact);
        for (int i = 0; i < 2; i++) m->gres[i] = V2(&c, G * S, C);
        m->gtokens = carve(&c, BALDRO_DT_I32, 1, G * S, 1, 1, 1);
        m->gidx = carve(&c, BALDRO_DT_I32, 1, G, 1, 1, 1);
        m->gpos = carve(&c, BALDRO_DT_I32, 1, G, 1, 1, 1);
        m->glast = V2(&c, G, C);
        m->glnf = V2(&c, G, C);
        m->glogits = V2(&c, G, g->V);
    }
    m->info.activation_bytes = c.off - mark;
    mark = c.off;
    if (lim->gen_batch > 0)
        for (int l = 0; l < g->L; l++) {
            m->kc[l] = carve(&c, F32, 4, lim->gen_batch, lim->gen_len, g->Hkv, g->D);
            m->vc[l] = carve(&c, F32, 4, lim->gen_batch, lim->gen_len, g->Hkv, g->D);
        }
    m->info.kv_cache_bytes = c.off - mark;
    mark = c.off;
    size_t ws = m->ops->attention_workspace(m->be, lim->max_batch, lim->max_seq, lim->max_seq,
                                            g->Hq, g->Hkv, g->D);
    if (lim->gen_batch > 0) {
        size_t w2 = m->ops->attention_workspace(m->be, lim->gen_batch, lim->gen_len,
                                                lim->gen_len, g->Hq, g->Hkv, g->D);
        if (w2 > ws) ws = w2;
    }
    m->workspace = V1(&c, (int64_t)((ws + 3) / 4));
    m->info.workspace_bytes = c.off - mark;
    return (c.off + 63) & ~(size_t)63;
}

/* HF names of one weight set, in checkpoint order, paired with value and gradient. */
static void add_param(llama_model *m, const char *name, const baldro_tensor *v,
                      const baldro_tensor *g, int no_decay) {
    if (!v->data) return; /* optional tensor not present in this architecture */
    baldro_param *p = &m->params[m->n_params];
    m->param_names[m->n_params] = g_strdup(name);
    p->name = m->param_names[m->n_params];
    p->value = *v;
    p->grad = *g;
    p->no_decay = no_decay;
    m->n_params++;
}

static void build_param_list(llama_model *m) {
    const llama_config *c = &m->cfg;
    llama_weights *w = &m->w, *g = &m->g;
    char name[128];
    add_param(m, "model.embed_tokens.weight", &w->embed, &g->embed, 0);
    for (int l = 0; l < c->L; l++) {
        llama_layer_w *a = &w->layers[l], *b = &g->layers[l];
        struct {
            const char *suffix;
            baldro_tensor *v, *g;
            int no_decay;
        } items[] = {
            {"input_layernorm.weight", &a->ln1, &b->ln1, 1},
            {"self_attn.q_proj.weight", &a->wq, &b->wq, 0},
            {"self_attn.q_proj.bias", &a->bq, &b->bq, 1},
            {"self_attn.k_proj.weight", &a->wk, &b->wk, 0},
            {"self_attn.k_proj.bias", &a->bk, &b->bk, 1},
            {"self_attn.v_proj.weight", &a->wv, &b->wv, 0},
            {"self_attn.v_proj.bias", &a->bv, &b->bv, 1},
            {"self_attn.o_proj.weight", &a->wo, &b->wo, 0},
            {"self_attn.o_proj.bias", &a->bo, &b->bo, 1},
            {"self_attn.q_norm.weight", &a->qn, &b->qn, 1},
            {"self_attn.k_norm.weight", &a->kn, &b->kn, 1},
            {"post_attention_layernorm.weight", &a->ln2, &b->ln2, 1},
            {"mlp.gate_proj.weight", &a->wg, &b->wg, 0},
            {"mlp.up_proj.weight", &a->wu, &b->wu, 0},
            {"mlp.down_proj.weight", &a->wd, &b->wd, 0},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(items); i++) {
            snprintf(name, sizeof name, "model.layers.%d.%s", l, items[i].suffix);
            add_param(m, name, items[i].v, items[i].g, items[i].no_decay);
        }
    }
    add_param(m, "model.norm.weight", &w->norm, &g->norm, 1);
    if (!c->tied) add_param(m, "lm_head.weight", &w->lm_head, &g->lm_head, 0);
}

int llama_plan(llama_model *m, char *err, size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_model_limits *lim = &m->lim;
    m->layer_store = g_new0(llama_layer_w, 2 * (size_t)c->L);
    m->w.layers = m->layer_store;
    m->g.layers = m->layer_store + c->L;
    m->resid = g_new0(baldro_tensor, (size_t)c->L + 1);
    m->n_act = lim->train && !lim->recompute ? c->L : 1;
    m->act = g_new0(llama_layer_act, (size_t)m->n_act);
    m->kc = g_new0(baldro_tensor, (size_t)c->L);
    m->vc = g_new0(baldro_tensor, (size_t)c->L);
    m->gres = g_new0(baldro_tensor, 2);
    m->gpos_host = g_new0(int32_t, lim->gen_batch > 0 ? (size_t)lim->gen_batch : 1);
    m->gidx_host = g_new0(int32_t, lim->gen_batch > 0 ? (size_t)lim->gen_batch : 1);
    m->params = g_new0(baldro_param, 16 * (size_t)c->L + 3);
    m->param_names = g_new0(char *, 16 * (size_t)c->L + 3);

    size_t total = layout(m, NULL);
    int rc = m->ops->alloc(m->be, total, &m->block);
    if (rc != BALDRO_OK)
        return BALDRO_FAIL(err, cap, rc, "llama: cannot allocate the model's %.1f MiB: %s",
                           (double)total / 1048576.0, m->ops->last_error(m->be));
    size_t again = layout(m, m->block);
    (void)again;
    m->info.struct_size = sizeof m->info;
    m->info.planned_bytes = total;
    m->info.vocab_size = c->V;
    m->info.hidden_size = c->C;
    m->info.num_layers = c->L;
    m->info.max_positions = c->P;
    if (!lim->train) memset(&m->g.embed, 0, sizeof m->g.embed);
    build_param_list(m);
    int64_t n = 0;
    for (int i = 0; i < m->n_params; i++) n += baldro_tensor_numel(&m->params[i].value);
    m->info.n_params = n;
    if (!lim->train)
        for (int i = 0; i < m->n_params; i++) m->params[i].grad.data = NULL;

    baldro_rope_params rp = c->rope;
    rp.max_positions = (int32_t)m->rope.shape[0];
    rc = m->ops->rope_table(m->be, &m->rope, &rp);
    if (rc != BALDRO_OK) return llama_op_fail(m, rc, "building the rope table", err, cap);
    return BALDRO_OK;
}

void llama_unplan(llama_model *m) {
    if (m->block) m->ops->free(m->be, m->block);
    m->block = NULL;
    for (int i = 0; i < m->n_params; i++) g_free(m->param_names[i]);
    g_free(m->param_names);
    g_free(m->params);
    g_free(m->layer_store);
    g_free(m->resid);
    g_free(m->act);
    g_free(m->kc);
    g_free(m->vc);
    g_free(m->gres);
    g_free(m->gpos_host);
    g_free(m->gidx_host);
}

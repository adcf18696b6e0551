/*
 * llama_forward.c: the forward pass, one explicit step per op.
 *
 *   x = embed[tokens]                                   [N,C]
 *   per layer:  x = x + o_proj(attn(rope(norm_qk(qkv(rmsnorm(x))))))
 *               x = x + down(silu(gate(rmsnorm(x))) * up(rmsnorm(x)))
 *   logp = log_softmax(lm_head(rmsnorm(x)))[target]     [N]
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llama.h"

int llama_op_fail(llama_model *m, int rc, const char *what, char *err, size_t cap) {
    return BALDRO_FAIL(err, cap, rc, "llama: %s: %s", what, m->ops->last_error(m->be));
}

int llama_layer_forward(llama_model *m, int32_t l, llama_layer_act *a, baldro_tensor *x_in,
                        baldro_tensor *x_out, int32_t B, int32_t T, const baldro_tensor *pos0,
                        int32_t use_cache, char *err, size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    baldro_backend *be = m->be;
    const llama_layer_w *w = &m->w.layers[l];
    const int64_t N = (int64_t)B * T, C = c->C, F = c->F, D = c->D;
    const int64_t Q = (int64_t)c->Hq * D, K = (int64_t)c->Hkv * D;
    const float scale = (float)(1.0 / sqrt((double)D));

    baldro_tensor x = llama_rows(x_in, N, C), y = llama_rows(x_out, N, C);
    baldro_tensor ln1 = llama_rows(&a->ln1, N, C), r1 = baldro_t1(a->ln1_rstd.data, 0, N);
    baldro_tensor q = llama_rows(&a->q, N, Q), k = llama_rows(&a->k, N, K), v = llama_rows(&a->v, N, K);
    const baldro_tensor *bq = w->bq.data ? &w->bq : NULL, *bk = w->bk.data ? &w->bk : NULL,
                        *bv = w->bv.data ? &w->bv : NULL, *bo = w->bo.data ? &w->bo : NULL;

    /* attention block */
    LLAMA_OP(m, o->rmsnorm_fwd(be, &ln1, &r1, &x, &w->ln1, c->eps), "input_layernorm", err, cap);
    if (c->qk_norm) {
        /* Qwen3: RMSNorm over each head's D values, before RoPE. */
        baldro_tensor qp = llama_rows(&a->qpre, N, Q), kp = llama_rows(&a->kpre, N, K);
        LLAMA_OP(m, o->linear_fwd(be, &qp, &ln1, &w->wq, bq, 0), "q_proj", err, cap);
        LLAMA_OP(m, o->linear_fwd(be, &kp, &ln1, &w->wk, bk, 0), "k_proj", err, cap);
        baldro_tensor qh = baldro_t2(qp.data, 0, N * c->Hq, D), kh = baldro_t2(kp.data, 0, N * c->Hkv, D);
        baldro_tensor qo = baldro_t2(q.data, 0, N * c->Hq, D), ko = baldro_t2(k.data, 0, N * c->Hkv, D);
        baldro_tensor qr = baldro_t1(a->qn_rstd.data, 0, N * c->Hq);
        baldro_tensor kr = baldro_t1(a->kn_rstd.data, 0, N * c->Hkv);
        LLAMA_OP(m, o->rmsnorm_fwd(be, &qo, &qr, &qh, &w->qn, c->eps), "q_norm", err, cap);
        LLAMA_OP(m, o->rmsnorm_fwd(be, &ko, &kr, &kh, &w->kn, c->eps), "k_norm", err, cap);
    } else {
        LLAMA_OP(m, o->linear_fwd(be, &q, &ln1, &w->wq, bq, 0), "q_proj", err, cap);
        LLAMA_OP(m, o->linear_fwd(be, &k, &ln1, &w->wk, bk, 0), "k_proj", err, cap);
    }
    LLAMA_OP(m, o->linear_fwd(be, &v, &ln1, &w->wv, bv, 0), "v_proj", err, cap);

    baldro_tensor q4 = baldro_t4(q.data, 0, B, T, c->Hq, D);
    baldro_tensor k4 = baldro_t4(k.data, 0, B, T, c->Hkv, D);
    baldro_tensor v4 = baldro_t4(v.data, 0, B, T, c->Hkv, D);
    LLAMA_OP(m, o->rope_fwd(be, &q4, &m->rope, pos0, c->rope.interleaved), "rope(q)", err, cap);
    LLAMA_OP(m, o->rope_fwd(be, &k4, &m->rope, pos0, c->rope.interleaved), "rope(k)", err, cap);

    baldro_tensor att4 = baldro_t4(a->att.data, 0, B, T, c->Hq, D);
    if (use_cache) {
        /* Generation: keys and values go to the cache rows of this batch, and the
         * queries attend the cache. kc[l] is [G,S,Hkv,D]; this batch uses its first B. */
        const int64_t S = m->lim.gen_len;
        baldro_tensor kc = baldro_t4(m->kc[l].data, 0, B, S, c->Hkv, D);
        baldro_tensor vc = baldro_t4(m->vc[l].data, 0, B, S, c->Hkv, D);
        LLAMA_OP(m, o->kv_append(be, &kc, &k4, pos0), "kv_append(k)", err, cap);
        LLAMA_OP(m, o->kv_append(be, &vc, &v4, pos0), "kv_append(v)", err, cap);
        LLAMA_OP(m, o->attention_fwd(be, &att4, NULL, &q4, &kc, &vc, pos0, scale, &m->workspace),
                 "attention", err, cap);
    } else {
        baldro_tensor lse = baldro_t3(a->lse.data, 0, B, c->Hq, T);
        LLAMA_OP(m, o->attention_fwd(be, &att4, &lse, &q4, &k4, &v4, NULL, scale, &m->workspace),
                 "attention", err, cap);
    }
    baldro_tensor att = llama_rows(&a->att, N, Q), mid = llama_rows(&a->mid, N, C);
    LLAMA_OP(m, o->copy(be, &mid, &x), "residual", err, cap);
    LLAMA_OP(m, o->linear_fwd(be, &mid, &att, &w->wo, bo, 1), "o_proj", err, cap);

    /* MLP block */
    baldro_tensor ln2 = llama_rows(&a->ln2, N, C), r2 = baldro_t1(a->ln2_rstd.data, 0, N);
    baldro_tensor gt = llama_rows(&a->gate, N, F), up = llama_rows(&a->up, N, F), h = llama_rows(&a->h, N, F);
    LLAMA_OP(m, o->rmsnorm_fwd(be, &ln2, &r2, &mid, &w->ln2, c->eps), "post_attention_layernorm",
             err, cap);
    LLAMA_OP(m, o->linear_fwd(be, &gt, &ln2, &w->wg, NULL, 0), "gate_proj", err, cap);
    LLAMA_OP(m, o->linear_fwd(be, &up, &ln2, &w->wu, NULL, 0), "up_proj", err, cap);
    LLAMA_OP(m, o->swiglu_fwd(be, &h, &gt, &up), "swiglu", err, cap);
    LLAMA_OP(m, o->copy(be, &y, &mid), "residual", err, cap);
    LLAMA_OP(m, o->linear_fwd(be, &y, &h, &w->wd, NULL, 1), "down_proj", err, cap);
    return BALDRO_OK;
}

static baldro_tensor *resid_at(llama_model *m, int l) {
    return m->lim.train ? &m->resid[l] : &m->resid[l & 1];
}

int llama_forward(llama_model *m, const int32_t *tokens, const int32_t *targets, int32_t B,
                  int32_t T, float *logp, char *err, size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    baldro_backend *be = m->be;
    m->ready_for_backward = 0;
    m->have_logits = 0;
    if (B < 1 || T < 1 || B > m->lim.max_batch || T > m->lim.max_seq)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "llama: batch [%d, %d] outside the planned limits [1..%d, 1..%d]", B, T,
                           m->lim.max_batch, m->lim.max_seq);
    if (c->sliding_window > 0 && T > c->sliding_window)
        return BALDRO_FAIL(err, cap, BALDRO_EUNSUPPORTED,
                           "llama: %d tokens exceed sliding_window=%d (banded attention is not "
                           "implemented)", T, c->sliding_window);
    const int64_t N = (int64_t)B * T, C = c->C;
    for (int64_t i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= c->V)
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                               "llama: token id %d at [%lld][%lld] outside the vocabulary [0, %d)",
                               tokens[i], (long long)(i / T), (long long)(i % T), c->V);
        if (targets[i] >= c->V)
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                               "llama: target id %d at [%lld][%lld] outside the vocabulary [0, %d)",
                               targets[i], (long long)(i / T), (long long)(i % T), c->V);
    }
    LLAMA_OP(m, o->upload(be, m->tokens.data, tokens, (size_t)N * 4), "upload tokens", err, cap);
    LLAMA_OP(m, o->upload(be, m->targets.data, targets, (size_t)N * 4), "upload targets", err, cap);
    baldro_tensor ids = baldro_t1(m->tokens.data, BALDRO_DT_I32, N);

    baldro_tensor x0 = baldro_t2(resid_at(m, 0)->data, 0, N, C);
    LLAMA_OP(m, o->embedding_fwd(be, &x0, &ids, &m->w.embed), "embed_tokens", err, cap);
    for (int l = 0; l < c->L; l++) {
        llama_layer_act *a = &m->act[m->n_act == c->L ? l : 0];
        int rc = llama_layer_forward(m, l, a, resid_at(m, l), resid_at(m, l + 1), B, T, NULL, 0,
                                     err, cap);
        if (rc) return rc;
    }
    baldro_tensor xl = baldro_t2(resid_at(m, c->L)->data, 0, N, C);
    baldro_tensor lnf = baldro_t2(m->lnf.data, 0, N, C), rf = baldro_t1(m->lnf_rstd.data, 0, N);
    LLAMA_OP(m, o->rmsnorm_fwd(be, &lnf, &rf, &xl, &m->w.norm, c->eps), "norm", err, cap);
    int rc = llama_output_chunks(m, N, 0, err, cap);
    if (rc) return rc;
    LLAMA_OP(m, o->download(be, logp, m->logp.data, (size_t)N * 4), "download logp", err, cap);
    m->B = B;
    m->T = T;
    m->ready_for_backward = m->lim.train;
    m->have_logits = m->logits_rows >= N;
    return BALDRO_OK;
}

/* A view of rows [r0, r0 + n) of a row-major [*, cols] tensor of 4-byte elements. */
static baldro_tensor rows_of(const baldro_tensor *t, int32_t dtype, int64_t r0, int64_t n,
                             int64_t cols) {
    char *p = (char *)t->data + (size_t)(r0 * cols) * 4;
    return cols == 1 ? baldro_t1(p, dtype, n) : baldro_t2(p, dtype, n, cols);
}

/* The output layer over the N rows of the last forward, R = logits_rows at a time:
 *   forward:  logits[r,V] = lnf[r,C] . lm_head[V,C]^T;  logp[r], lse[r] = log-softmax at
 *             the targets;
 *   backward: the chunk's logits again (unless they are all still there), d logits in
 *             place from dlogp[r], then dln[r,C] = d logits . lm_head (rows written, =)
 *             and d lm_head += d logits^T . lnf[r,C].
 * With R = N (inference, or no budget) it is the one-pass output layer the host may read
 * logits from; with R < N no [N,V] tensor exists, at the price of one more LM-head GEMM
 * per chunk in backward. */
int llama_output_chunks(llama_model *m, int64_t N, int backward, char *err, size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    baldro_backend *be = m->be;
    const int64_t R = m->logits_rows, C = c->C, V = c->V;
    for (int64_t r0 = 0; r0 < N; r0 += R) {
        const int64_t n = N - r0 < R ? N - r0 : R;
        baldro_tensor lg = baldro_t2(m->logits.data, 0, n, V);               /* [n,V] */
        baldro_tensor lnf = rows_of(&m->lnf, 0, r0, n, C);                   /* [n,C] */
        baldro_tensor lse = rows_of(&m->lse, 0, r0, n, 1);                   /* [n]   */
        baldro_tensor tg = rows_of(&m->targets, BALDRO_DT_I32, r0, n, 1);    /* [n]   */
        if (!backward || R < N)
            LLAMA_OP(m, o->linear_fwd(be, &lg, &lnf, &m->w.lm_head, NULL, 0), "lm_head", err,
                     cap);
        if (!backward) {
            baldro_tensor lp = rows_of(&m->logp, 0, r0, n, 1);
            LLAMA_OP(m, o->logsoftmax_gather_fwd(be, &lp, &lse, &lg, &tg), "log_softmax", err,
                     cap);
            continue;
        }
        baldro_tensor dlp = rows_of(&m->dlogp, 0, r0, n, 1);
        baldro_tensor dln = rows_of(&m->gs.dln, 0, r0, n, C);
        LLAMA_OP(m, o->logsoftmax_gather_bwd(be, &lg, &lse, &tg, &dlp), "log_softmax backward",
                 err, cap);
        if (m->dlogits_pending)
            LLAMA_OP(m, o->add(be, &lg, &lg, m->dlogits_pending), "d logits", err, cap);
        LLAMA_OP(m, o->linear_bwd(be, &dln, &m->g.lm_head, NULL, &lg, &lnf, &m->w.lm_head, 0),
                 "lm_head backward", err, cap);
    }
    return BALDRO_OK;
}

/*
 * llama_backward.c: the backward pass, the forward's steps in reverse.
 *
 * gs.dres carries d loss / d residual stream from the top down. Residual branches merge
 * through the ops' accumulate flags (rmsnorm_bwd and linear_bwd add into dres), so no
 * separate add pass runs. Parameter gradients accumulate (+=) across micro-batches.
 * The gate/up activations are overwritten by their own gradients (swiglu_bwd aliasing),
 * so a forward feeds exactly one backward.
 */
#include <math.h>
#include <string.h>

#include "llama.h"

static baldro_tensor *optw(baldro_tensor *t) { return t->data ? t : NULL; }

/* dres: in, d loss / d x_out; out, d loss / d x_in. */
static int layer_backward(llama_model *m, int32_t l, llama_layer_act *a, baldro_tensor *x_in,
                          char *err, size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    baldro_backend *be = m->be;
    const llama_layer_w *w = &m->w.layers[l];
    llama_layer_w *g = &m->g.layers[l];
    llama_grad_scratch *s = &m->gs;
    const int32_t B = m->B, T = m->T;
    const int64_t N = (int64_t)B * T, C = c->C, F = c->F, D = c->D;
    const int64_t Q = (int64_t)c->Hq * D, K = (int64_t)c->Hkv * D;
    const float scale = (float)(1.0 / sqrt((double)D));

    baldro_tensor dres = llama_rows(&s->dres, N, C), dln = llama_rows(&s->dln, N, C);
    baldro_tensor x = llama_rows(x_in, N, C), mid = llama_rows(&a->mid, N, C);

    /* MLP block: y = mid + down(h), h = silu(gate) * up, gate/up = W ln2(mid) */
    baldro_tensor h = llama_rows(&a->h, N, F), dh = llama_rows(&s->dh, N, F);
    baldro_tensor gt = llama_rows(&a->gate, N, F), up = llama_rows(&a->up, N, F);
    baldro_tensor ln2 = llama_rows(&a->ln2, N, C), r2 = baldro_t1(a->ln2_rstd.data, 0, N);
    LLAMA_OP(m, o->linear_bwd(be, &dh, &g->wd, NULL, &dres, &h, &w->wd, 0), "down_proj backward",
             err, cap);
    LLAMA_OP(m, o->swiglu_bwd(be, &gt, &up, &dh, &gt, &up), "swiglu backward", err, cap);
    LLAMA_OP(m, o->linear_bwd(be, &dln, &g->wg, NULL, &gt, &ln2, &w->wg, 0), "gate_proj backward",
             err, cap);
    LLAMA_OP(m, o->linear_bwd(be, &dln, &g->wu, NULL, &up, &ln2, &w->wu, 1), "up_proj backward",
             err, cap);
    LLAMA_OP(m, o->rmsnorm_bwd(be, &dres, &g->ln2, &dln, &mid, &w->ln2, &r2, 1),
             "post_attention_layernorm backward", err, cap);

    /* attention block: mid = x + o_proj(att) */
    baldro_tensor att = llama_rows(&a->att, N, Q), datt = llama_rows(&s->datt, N, Q);
    LLAMA_OP(m, o->linear_bwd(be, &datt, &g->wo, optw(&g->bo), &dres, &att, &w->wo, 0),
             "o_proj backward", err, cap);
    baldro_tensor q4 = baldro_t4(a->q.data, 0, B, T, c->Hq, D);
    baldro_tensor k4 = baldro_t4(a->k.data, 0, B, T, c->Hkv, D);
    baldro_tensor v4 = baldro_t4(a->v.data, 0, B, T, c->Hkv, D);
    baldro_tensor o4 = baldro_t4(a->att.data, 0, B, T, c->Hq, D);
    baldro_tensor do4 = baldro_t4(s->datt.data, 0, B, T, c->Hq, D);
    baldro_tensor dq4 = baldro_t4(s->dq.data, 0, B, T, c->Hq, D);
    baldro_tensor dk4 = baldro_t4(s->dk.data, 0, B, T, c->Hkv, D);
    baldro_tensor dv4 = baldro_t4(s->dv.data, 0, B, T, c->Hkv, D);
    baldro_tensor lse = baldro_t3(a->lse.data, 0, B, c->Hq, T);
    LLAMA_OP(m, o->attention_bwd(be, &dq4, &dk4, &dv4, &do4, &q4, &k4, &v4, &o4, &lse, scale,
                                 &m->workspace),
             "attention backward", err, cap);
    LLAMA_OP(m, o->rope_bwd(be, &dq4, &m->rope, NULL, c->rope.interleaved), "rope(q) backward",
             err, cap);
    LLAMA_OP(m, o->rope_bwd(be, &dk4, &m->rope, NULL, c->rope.interleaved), "rope(k) backward",
             err, cap);
    baldro_tensor dq = llama_rows(&s->dq, N, Q), dk = llama_rows(&s->dk, N, K), dv = llama_rows(&s->dv, N, K);
    baldro_tensor *dq_in = &dq, *dk_in = &dk;
    baldro_tensor dqp, dkp;
    if (c->qk_norm) {
        baldro_tensor dqh = baldro_t2(s->dq.data, 0, N * c->Hq, D);
        baldro_tensor dkh = baldro_t2(s->dk.data, 0, N * c->Hkv, D);
        baldro_tensor dqph = baldro_t2(s->dqpre.data, 0, N * c->Hq, D);
        baldro_tensor dkph = baldro_t2(s->dkpre.data, 0, N * c->Hkv, D);
        baldro_tensor qph = baldro_t2(a->qpre.data, 0, N * c->Hq, D);
        baldro_tensor kph = baldro_t2(a->kpre.data, 0, N * c->Hkv, D);
        baldro_tensor qr = baldro_t1(a->qn_rstd.data, 0, N * c->Hq);
        baldro_tensor kr = baldro_t1(a->kn_rstd.data, 0, N * c->Hkv);
        LLAMA_OP(m, o->rmsnorm_bwd(be, &dqph, &g->qn, &dqh, &qph, &w->qn, &qr, 0),
                 "q_norm backward", err, cap);
        LLAMA_OP(m, o->rmsnorm_bwd(be, &dkph, &g->kn, &dkh, &kph, &w->kn, &kr, 0),
                 "k_norm backward", err, cap);
        dqp = llama_rows(&s->dqpre, N, Q);
        dkp = llama_rows(&s->dkpre, N, K);
        dq_in = &dqp;
        dk_in = &dkp;
    }
    baldro_tensor ln1 = llama_rows(&a->ln1, N, C), r1 = baldro_t1(a->ln1_rstd.data, 0, N);
    LLAMA_OP(m, o->linear_bwd(be, &dln, &g->wq, optw(&g->bq), dq_in, &ln1, &w->wq, 0),
             "q_proj backward", err, cap);
    LLAMA_OP(m, o->linear_bwd(be, &dln, &g->wk, optw(&g->bk), dk_in, &ln1, &w->wk, 1),
             "k_proj backward", err, cap);
    LLAMA_OP(m, o->linear_bwd(be, &dln, &g->wv, optw(&g->bv), &dv, &ln1, &w->wv, 1),
             "v_proj backward", err, cap);
    LLAMA_OP(m, o->rmsnorm_bwd(be, &dres, &g->ln1, &dln, &x, &w->ln1, &r1, 1),
             "input_layernorm backward", err, cap);
    return BALDRO_OK;
}

int llama_backward(llama_model *m, const float *dlogp, const baldro_tensor *dlogits, char *err,
                   size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    baldro_backend *be = m->be;
    if (!m->lim.train)
        return BALDRO_FAIL(err, cap, BALDRO_ESTATE,
                           "llama: backward on a model created without limits.train");
    if (!m->ready_for_backward)
        return BALDRO_FAIL(err, cap, BALDRO_ESTATE,
                           "llama: backward needs a forward first (one backward per forward)");
    m->ready_for_backward = 0;
    m->have_logits = 0; /* the log-softmax backward turns them into d logits in place */
    const int64_t N = (int64_t)m->B * m->T, C = c->C;
    if (dlogits && (dlogits->ndim != 2 || dlogits->shape[0] != N || dlogits->shape[1] != c->V ||
                    dlogits->dtype != BALDRO_DT_F32))
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "llama: d logits must be F32 [%lld, %d] for the last forward",
                           (long long)N, c->V);
    LLAMA_OP(m, o->upload(be, m->dlogp.data, dlogp, (size_t)N * 4), "upload dlogp", err, cap);

    /* Output: logits -> d logits in place, then lm_head (in chunks when the logits are),
     * then the final norm. A loss over whole distributions (KL to a reference) adds its
     * d logits to the log-softmax's; it needs every row at once. */
    if (dlogits && m->logits_rows < N)
        return BALDRO_FAIL(err, cap, BALDRO_ESTATE,
                           "llama: d logits given, but this training model runs its LM head in "
                           "chunks of %lld rows (create it with logits_bytes 0)",
                           (long long)m->logits_rows);
    m->dlogits_pending = dlogits;
    int orc = llama_output_chunks(m, N, 1, err, cap);
    m->dlogits_pending = NULL;
    if (orc) return orc;
    baldro_tensor dln = baldro_t2(m->gs.dln.data, 0, N, C);
    baldro_tensor dres = baldro_t2(m->gs.dres.data, 0, N, C);
    baldro_tensor rf = baldro_t1(m->lnf_rstd.data, 0, N);
    baldro_tensor xl = baldro_t2(m->resid[c->L].data, 0, N, C);
    LLAMA_OP(m, o->rmsnorm_bwd(be, &dres, &m->g.norm, &dln, &xl, &m->w.norm, &rf, 0),
             "norm backward", err, cap);

    for (int l = c->L - 1; l >= 0; l--) {
        llama_layer_act *a = &m->act[m->n_act == c->L ? l : 0];
        if (m->n_act != c->L) {
            /* Recompute: rebuild this layer's activations from its saved input. The
             * output it rewrites into resid[l+1] is bit-identical to the first pass. */
            int rc = llama_layer_forward(m, l, a, &m->resid[l], &m->resid[l + 1], m->B, m->T,
                                         NULL, 0, err, cap);
            if (rc) return rc;
        }
        int rc = layer_backward(m, l, a, &m->resid[l], err, cap);
        if (rc) return rc;
    }
    baldro_tensor ids = baldro_t1(m->tokens.data, BALDRO_DT_I32, N);
    LLAMA_OP(m, o->embedding_bwd(be, &m->g.embed, &dres, &ids), "embed_tokens backward", err,
             cap);
    return BALDRO_OK;
}

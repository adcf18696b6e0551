/*
 * llama_generate.c: prefill and decode on the KV cache.
 *
 * Rows may have prompts of different lengths. Prefill runs the right-padded batch
 * through causal attention (a real token never sees the padding after it), writes the
 * keys and values of every position to the cache, and takes each row's logits at its
 * own last prompt token. Decode then appends one token per row at that row's own
 * position, overwriting the padding's cache entries before anything reads them.
 */
#include <string.h>

#include "llama.h"

/* After the layers: x [B, C] (or rows idx of a larger x), final norm, lm_head ->
 * glogits [B, V]. */
static int gen_head(llama_model *m, baldro_tensor *x, int32_t B, const int32_t *idx,
                    const baldro_tensor **logits, char *err, size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    baldro_backend *be = m->be;
    baldro_tensor last = baldro_t2(m->glast.data, 0, B, c->C);
    baldro_tensor lnf = baldro_t2(m->glnf.data, 0, B, c->C);
    if (idx) {
        LLAMA_OP(m, o->upload(be, m->gidx.data, idx, (size_t)B * 4), "upload rows", err, cap);
        baldro_tensor gi = baldro_t1(m->gidx.data, BALDRO_DT_I32, B);
        LLAMA_OP(m, o->gather_rows(be, &last, x, &gi), "gather last positions", err, cap);
        x = &last;
    }
    LLAMA_OP(m, o->rmsnorm_fwd(be, &lnf, NULL, x, &m->w.norm, c->eps), "norm", err, cap);
    m->gview = baldro_t2(m->glogits.data, 0, B, c->V);
    LLAMA_OP(m, o->linear_fwd(be, &m->gview, &lnf, &m->w.lm_head, NULL, 0), "lm_head", err, cap);
    *logits = &m->gview;
    return BALDRO_OK;
}

/* Runs the layers over [B, T] rows whose first position is pos0 (device, [B]). */
static int gen_layers(llama_model *m, int32_t B, int32_t T, baldro_tensor **out, char *err,
                      size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    const int64_t N = (int64_t)B * T;
    baldro_tensor ids = baldro_t1(m->gtokens.data, BALDRO_DT_I32, N);
    baldro_tensor x0 = baldro_t2(m->gres[0].data, 0, N, c->C);
    LLAMA_OP(m, o->embedding_fwd(m->be, &x0, &ids, &m->w.embed), "embed_tokens", err, cap);
    baldro_tensor pos = baldro_t1(m->gpos.data, BALDRO_DT_I32, B);
    for (int l = 0; l < c->L; l++) {
        int rc = llama_layer_forward(m, l, &m->gact, &m->gres[l & 1], &m->gres[(l + 1) & 1], B, T,
                                     &pos, 1, err, cap);
        if (rc) return rc;
    }
    *out = &m->gres[c->L & 1];
    return BALDRO_OK;
}

int llama_gen_prefill(llama_model *m, const int32_t *tokens, const int32_t *lengths, int32_t B,
                      int32_t T, const baldro_tensor **logits, char *err, size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    m->gB = 0;
    if (m->lim.gen_batch <= 0)
        return BALDRO_FAIL(err, cap, BALDRO_ESTATE,
                           "llama: generation needs limits.gen_batch > 0 at create");
    if (B < 1 || B > m->lim.gen_batch || T < 1 || T > m->lim.gen_len)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "llama: prompt batch [%d, %d] outside the planned limits [1..%d, 1..%d]",
                           B, T, m->lim.gen_batch, m->lim.gen_len);
    if (c->sliding_window > 0 && m->lim.gen_len > c->sliding_window)
        return BALDRO_FAIL(err, cap, BALDRO_EUNSUPPORTED,
                           "llama: gen_len %d exceeds sliding_window=%d", m->lim.gen_len,
                           c->sliding_window);
    for (int32_t b = 0; b < B; b++) {
        if (lengths[b] < 1 || lengths[b] > T)
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                               "llama: prompt %d has length %d, outside [1, %d]", b, lengths[b], T);
        for (int32_t t = 0; t < T; t++) {
            int32_t id = tokens[(int64_t)b * T + t];
            if (id < 0 || id >= c->V)
                return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                                   "llama: prompt token %d at [%d][%d] outside the vocabulary "
                                   "[0, %d)", id, b, t, c->V);
        }
    }
    LLAMA_OP(m, o->upload(m->be, m->gtokens.data, tokens, (size_t)B * T * 4), "upload prompts", err,
             cap);
    for (int32_t b = 0; b < B; b++) m->gpos_host[b] = 0;
    LLAMA_OP(m, o->upload(m->be, m->gpos.data, m->gpos_host, (size_t)B * 4), "upload positions",
             err, cap);
    baldro_tensor *x;
    int rc = gen_layers(m, B, T, &x, err, cap);
    if (rc) return rc;
    baldro_tensor xs = baldro_t2(x->data, 0, (int64_t)B * T, c->C);
    for (int32_t b = 0; b < B; b++) m->gidx_host[b] = b * T + lengths[b] - 1;
    rc = gen_head(m, &xs, B, m->gidx_host, logits, err, cap);
    if (rc) return rc;
    for (int32_t b = 0; b < B; b++) m->gpos_host[b] = lengths[b];
    LLAMA_OP(m, o->upload(m->be, m->gpos.data, m->gpos_host, (size_t)B * 4), "upload positions",
             err, cap);
    m->gB = B;
    return BALDRO_OK;
}

int llama_gen_decode(llama_model *m, const int32_t *ids, const baldro_tensor **logits, char *err,
                     size_t cap) {
    const llama_config *c = &m->cfg;
    const baldro_ops *o = m->ops;
    const int32_t B = m->gB;
    if (B <= 0)
        return BALDRO_FAIL(err, cap, BALDRO_ESTATE, "llama: gen_decode before gen_prefill");
    for (int32_t b = 0; b < B; b++) {
        if (ids[b] < 0 || ids[b] >= c->V)
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                               "llama: token id %d for row %d outside the vocabulary [0, %d)",
                               ids[b], b, c->V);
        if (m->gpos_host[b] >= m->lim.gen_len)
            return BALDRO_FAIL(err, cap, BALDRO_ESTATE,
                               "llama: row %d has filled the KV cache (gen_len %d)", b,
                               m->lim.gen_len);
    }
    LLAMA_OP(m, o->upload(m->be, m->gtokens.data, ids, (size_t)B * 4), "upload tokens", err, cap);
    baldro_tensor *x;
    int rc = gen_layers(m, B, 1, &x, err, cap);
    if (rc) return rc;
    baldro_tensor xs = baldro_t2(x->data, 0, B, c->C);
    for (int32_t b = 0; b < B; b++) m->gpos_host[b] += 1;
    LLAMA_OP(m, o->upload(m->be, m->gpos.data, m->gpos_host, (size_t)B * 4), "upload positions",
             err, cap);
    return gen_head(m, &xs, B, NULL, logits, err, cap);
}

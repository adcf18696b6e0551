/* core/eval/evaluator.c: see evaluator.h. */
#include "eval/evaluator.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/chat_template.h"
#include "engine/generate.h"

void baldro_item_scores_clear(baldro_item_scores *s) {
    g_free(s->nll);
    g_free(s->n_tokens);
    g_free(s->tok_off);
    g_free(s->tok_logp);
    g_free(s->tok_top1);
    memset(s, 0, sizeof *s);
}

/* Item indices ordered by length (then index), so consecutive batches pad little. */
typedef struct {
    size_t len, i;
} by_len;

static int cmp_len(const void *a, const void *b) {
    const by_len *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Item k of the batch: its answer tokens' log-probs and greedy hits (argmax[b*T + t],
 * the backend's argmax of each logits row, lowest index on ties as torch.argmax) at
 * out->tok_off[item]. */
static void keep_tokens(const baldro_batch *b, int32_t k, const float *logp,
                        const int32_t *argmax, baldro_item_scores *out, size_t item) {
    size_t at = out->tok_off[item];
    for (int32_t t = 0; t < b->T; t++) {
        const size_t u = (size_t)k * b->T + t;
        if (b->targets[u] < 0) continue;
        out->tok_logp[at] = logp[u];
        out->tok_top1[at] = argmax[u] == b->targets[u];
        at++;
    }
}

/* The greedy choice at every position of the last forward: argmax on the backend, and
 * only the ids come back. */
static int greedy_ids(baldro_model *m, int64_t rows, void *dev_ids, int32_t *ids,
                      baldro_error *err) {
    const baldro_ops *o = baldro_model_ops(m);
    baldro_backend *be = baldro_model_backend(m);
    const baldro_tensor *lg;
    int rc = baldro_model_logits(m, &lg, err);
    if (rc) return rc;
    baldro_tensor view = baldro_t2(lg->data, lg->dtype, rows, lg->shape[1]);
    baldro_tensor out = baldro_t1(dev_ids, BALDRO_DT_I32, rows);
    if (o->argmax(be, &out, &view) ||
        o->download(be, ids, dev_ids, (size_t)rows * sizeof *ids))
        return baldro_error_set(err, BALDRO_EIO, "eval: greedy ids: %s", o->last_error(be));
    return BALDRO_OK;
}

static int score(baldro_model *m, const baldro_tok_dataset *ds, int32_t B, int tokens,
                 baldro_item_scores *out, baldro_error *err) {
    memset(out, 0, sizeof *out);
    if (B < 1) return baldro_error_set(err, BALDRO_EINVAL, "eval: batch must be >= 1");
    by_len *order = g_new(by_len, ds->n);
    for (size_t i = 0; i < ds->n; i++) order[i] = (by_len){baldro_tok_dataset_len(ds, i), i};
    qsort(order, ds->n, sizeof *order, cmp_len);
    baldro_batch b = {0};
    int rc = baldro_batch_init(&b, B, (int32_t)ds->longest - 1, err);
    size_t *idx = g_new(size_t, (size_t)B);
    float *logp = g_new(float, (size_t)B * (ds->longest > 1 ? ds->longest - 1 : 1));
    out->n = ds->n;
    out->nll = g_new(double, ds->n);
    out->n_tokens = g_new0(int32_t, ds->n);
    int32_t *argmax = NULL;
    void *dev_ids = NULL;
    if (tokens) {
        /* every item's answer-token count is known before the pass: its targets >= 0 */
        size_t total = 0;
        out->tok_off = g_new(size_t, ds->n ? ds->n : 1);
        for (size_t i = 0; i < ds->n; i++) {
            out->tok_off[i] = total;
            /* targets of item i: its answer positions after the first token */
            for (size_t j = ds->off[i] + 1; j < ds->off[i + 1]; j++) total += ds->mask[j] != 0;
        }
        out->tok_logp = g_new0(float, total ? total : 1);
        out->tok_top1 = g_new0(uint8_t, total ? total : 1);
        const size_t cap = (size_t)B * (size_t)(ds->longest > 1 ? ds->longest - 1 : 1);
        argmax = g_new(int32_t, cap);
        if (!rc && baldro_model_ops(m)->alloc(baldro_model_backend(m), cap * sizeof(int32_t),
                                              &dev_ids))
            rc = baldro_error_set(err, BALDRO_ENOMEM, "eval: greedy ids: %s",
                                  baldro_model_ops(m)->last_error(baldro_model_backend(m)));
    }
    for (size_t i0 = 0; i0 < ds->n && !rc; i0 += (size_t)B) {
        int32_t nb = (int32_t)MIN((size_t)B, ds->n - i0);
        for (int32_t k = 0; k < nb; k++) idx[k] = order[i0 + (size_t)k].i;
        rc = baldro_batch_fill(&b, ds, idx, nb, err);
        if (!rc) rc = baldro_model_forward(m, b.tokens, b.targets, b.B, b.T, logp, err);
        if (!rc && tokens) rc = greedy_ids(m, (int64_t)b.B * b.T, dev_ids, argmax, err);
        for (int32_t k = 0; !rc && tokens && k < nb; k++)
            keep_tokens(&b, k, logp, argmax, out, idx[k]);
        for (int32_t k = 0; !rc && k < nb; k++) {
            double s = 0;
            for (int32_t t = 0; t < b.T; t++)
                if (b.targets[(size_t)k * b.T + t] >= 0) s -= logp[(size_t)k * b.T + t];
            out->nll[idx[k]] = b.ans_len[k] > 0 ? s : NAN;
            out->n_tokens[idx[k]] = b.ans_len[k];
        }
    }
    if (dev_ids) baldro_model_ops(m)->free(baldro_model_backend(m), dev_ids);
    g_free(argmax);
    g_free(logp);
    g_free(idx);
    g_free(order);
    baldro_batch_release(&b);
    if (rc) baldro_item_scores_clear(out);
    return rc;
}

int baldro_eval_score(baldro_model *m, const baldro_tok_dataset *ds, int32_t B,
                      baldro_item_scores *out, baldro_error *err) {
    return score(m, ds, B, 0, out, err);
}

int baldro_eval_score_tokens(baldro_model *m, const baldro_tok_dataset *ds, int32_t B,
                             baldro_item_scores *out, baldro_error *err) {
    return score(m, ds, B, 1, out, err);
}

int baldro_eval_prompt_len(const baldro_gen_request *r, const baldro_tofu_split *split,
                           int32_t *longest, baldro_error *err) {
    *longest = 0;
    for (size_t i = 0; i < split->n; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        int rc = baldro_template_encode_prompt(r->tok, r->kind, split->items[i].question, &ids, &n,
                                               err);
        g_free(ids);
        if (rc) return rc;
        if ((int32_t)n > *longest) *longest = (int32_t)n;
    }
    return BALDRO_OK;
}

int baldro_eval_generate(baldro_model *m, const baldro_gen_request *r,
                         const baldro_tofu_split *split, char ***texts, baldro_error *err) {
    *texts = NULL;
    if (r->batch < 1 || r->max_new < 1)
        return baldro_error_set(err, BALDRO_EINVAL, "eval: batch and max_new must be >= 1");
    const size_t n = split->n;
    /* Every prompt once, then batches of similar length. */
    int32_t **ids = g_new0(int32_t *, n);
    size_t *len = g_new0(size_t, n);
    int rc = BALDRO_OK;
    for (size_t i = 0; i < n && !rc; i++)
        rc = baldro_template_encode_prompt(r->tok, r->kind, split->items[i].question, &ids[i],
                                           &len[i], err);
    by_len *order = g_new(by_len, n);
    size_t P = 1;
    for (size_t i = 0; i < n; i++) {
        order[i] = (by_len){len[i], i};
        if (len[i] > P) P = len[i];
    }
    qsort(order, n, sizeof *order, cmp_len);
    char **out = g_new0(char *, n + 1);
    int32_t *prompts = g_new0(int32_t, (size_t)r->batch * P);
    int32_t *lengths = g_new(int32_t, (size_t)r->batch);
    int32_t *gen = g_new(int32_t, (size_t)r->batch * (size_t)r->max_new);
    int32_t *got = g_new(int32_t, (size_t)r->batch);
    baldro_gen_options go = {.max_new_tokens = r->max_new, .stop_ids = r->stops,
                             .n_stop = r->n_stop};
    for (size_t i0 = 0; i0 < n && !rc; i0 += (size_t)r->batch) {
        int32_t nb = (int32_t)MIN((size_t)r->batch, n - i0);
        size_t Pb = 1;
        for (int32_t k = 0; k < nb; k++) Pb = MAX(Pb, len[order[i0 + (size_t)k].i]);
        memset(prompts, 0, (size_t)nb * Pb * sizeof *prompts);
        for (int32_t k = 0; k < nb; k++) {
            size_t i = order[i0 + (size_t)k].i;
            memcpy(prompts + (size_t)k * Pb, ids[i], len[i] * sizeof *prompts);
            lengths[k] = (int32_t)len[i];
        }
        rc = baldro_generate(m, prompts, lengths, nb, (int32_t)Pb, &go, gen, got, NULL, err);
        for (int32_t k = 0; !rc && k < nb; k++) {
            size_t i = order[i0 + (size_t)k].i;
            int32_t g = got[k];
            /* the stop token itself is not part of the answer */
            for (int32_t s = 0; g > 0 && s < r->n_stop; s++)
                if (gen[(size_t)k * r->max_new + g - 1] == r->stops[s]) {
                    g--;
                    break;
                }
            char *t = NULL;
            size_t tl = 0;
            rc = baldro_tok_decode(r->tok, gen + (size_t)k * r->max_new, (size_t)g, 1, &t, &tl, err);
            if (!rc) out[i] = g_strstrip(t);
        }
    }
    for (size_t i = 0; i < n; i++) g_free(ids[i]);
    g_free(ids);
    g_free(len);
    g_free(order);
    g_free(prompts);
    g_free(lengths);
    g_free(gen);
    g_free(got);
    if (rc) {
        g_strfreev(out);
        return rc;
    }
    *texts = out;
    return BALDRO_OK;
}

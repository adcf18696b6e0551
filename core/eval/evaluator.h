/*
 * core/eval/evaluator.h: the two passes TOFU's metrics are computed from, run once per
 * split and shared between metrics.
 *
 * Scoring: every item's answer scored under teacher forcing: the summed NLL of its answer
 * tokens (and end token) and how many there are, in batches of rows sorted by length so
 * that a batch pads little. One dataset per answer variant (the answer, the paraphrased
 * answer, each perturbed answer), all through the model's chat template.
 *
 * Generation: greedy continuations of each question's prompt (the template's prompt, as
 * open-unlearning's predict_with_generate), batched on the KV cache, at most max_new
 * tokens, stopping at the end tokens; decoded without special tokens and stripped of
 * surrounding whitespace.
 */
#ifndef BALDRO_EVAL_EVALUATOR_H
#define BALDRO_EVAL_EVALUATOR_H

#include <stddef.h>
#include <stdint.h>

#include "data/batch.h"
#include "data/tofu.h"
#include "engine/model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

typedef struct baldro_item_scores {
    size_t n;
    double *nll;        /* [n] summed answer-token NLL                                  */
    int32_t *n_tokens;  /* [n] answer tokens scored (0: the item had none left after    */
                        /* truncation; its nll is NaN so it is never averaged in)      */
    /* Token level (baldro_eval_score_tokens only; NULL otherwise): item i's answer tokens
     * are [tok_off[i], tok_off[i] + n_tokens[i]), in order, the end token last.        */
    size_t *tok_off;    /* [n]                                                          */
    float *tok_logp;    /* [sum n_tokens] log p(token | prefix), teacher forced         */
    uint8_t *tok_top1;  /* [sum n_tokens] 1 where the token is the greedy choice (the   */
                        /* first index of the largest logit, as torch.argmax)           */
} baldro_item_scores;

/* Scores `ds` with `m` in batches of at most B rows (the model must have been created for
 * B rows of ds->longest - 1 positions). */
int baldro_eval_score(baldro_model *m, const baldro_tok_dataset *ds, int32_t B,
                      baldro_item_scores *out, baldro_error *err);
/* The same pass, keeping every answer token's log-prob and greedy hit (membership
 * inference and extraction strength read them); the sums are those of eval_score. */
int baldro_eval_score_tokens(baldro_model *m, const baldro_tok_dataset *ds, int32_t B,
                             baldro_item_scores *out, baldro_error *err);
void baldro_item_scores_clear(baldro_item_scores *s);

typedef struct baldro_gen_request {
    const baldro_tokenizer *tok;
    int kind;                /* chat template                                          */
    int32_t batch;           /* prompts per generation batch                           */
    int32_t max_new;         /* new tokens at most (TOFU: 200)                         */
    const int32_t *stops;    /* end tokens                                             */
    int32_t n_stop;
} baldro_gen_request;

/* Longest prompt (tokens) of the split's questions under the template: with max_new it
 * sizes the model's KV cache (limits.gen_len). */
int baldro_eval_prompt_len(const baldro_gen_request *r, const baldro_tofu_split *split,
                           int32_t *longest, baldro_error *err);

/* texts[i] (g_strfreev the array) is the greedy answer to split item i. */
int baldro_eval_generate(baldro_model *m, const baldro_gen_request *r,
                         const baldro_tofu_split *split, char ***texts, baldro_error *err);

#endif /* BALDRO_EVAL_EVALUATOR_H */

/*
 * baldro/metric.h: the metric vtable.
 *
 * Metrics do not run models. They declare what they need (answer scores, greedy
 * generations); the host's evaluator computes each pass once, shares it between
 * metrics, and hands every metric the per-item results of one split.
 */
#ifndef BALDRO_METRIC_H
#define BALDRO_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "params.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BALDRO_METRIC_NEEDS_SCORES (1u << 0)      /* answer NLL and token counts      */
#define BALDRO_METRIC_NEEDS_GENERATIONS (1u << 1) /* greedy generations               */
#define BALDRO_METRIC_NEEDS_REFERENCE (1u << 2)   /* a reference run's item scores    */
                                                  /* (forget quality vs retain model) */
/* ---- ABI 1.4 ---- */
#define BALDRO_METRIC_NEEDS_TOKENS (1u << 3)      /* per-token answer log-probs and   */
                                                  /* greedy hits (tok_logp, tok_top1) */
#define BALDRO_METRIC_NEEDS_HOLDOUT (1u << 4)     /* the held-out split's items too   */
                                                  /* (membership inference)           */
#define BALDRO_METRIC_NEEDS_CLASSIFIER (1u << 5)  /* class probabilities of each      */
                                                  /* generation (class_probs)         */

/* One evaluated item. Host-owned; grows only at the end, so the host passes an array
 * of pointers rather than an array of structs. */
typedef struct baldro_eval_item {
    uint32_t struct_size;
    const char *question;
    const char *ground_truth;
    const char *generation;   /* NULL unless NEEDS_GENERATIONS                       */
    double nll;               /* sum of answer-token NLL                             */
    int32_t n_tokens;         /* answer tokens scored                                */
    double para_nll;          /* paraphrased answer: NLL sum (NaN if none)           */
    int32_t para_tokens;
    int32_t n_alt;            /* perturbed / alternative answers                     */
    const double *alt_nll;    /* [n_alt] NLL sums                                    */
    const int32_t *alt_tokens;/* [n_alt] token counts                                */

    /* ---- ABI 1.4 ---- */
    /* NEEDS_TOKENS: the answer's scored tokens in order (the end token last, where the
     * template has one): log p(token | prefix) under teacher forcing, and 1 where the
     * token is the model's greedy choice there (the first index of the largest logit,
     * as torch.argmax). NULL otherwise.                                              */
    const float *tok_logp;    /* [n_tokens]                                          */
    const uint8_t *tok_top1;  /* [n_tokens]                                          */
    /* NEEDS_CLASSIFIER: softmax of the classifier's logits on the generation.        */
    int32_t n_classes;
    const double *class_probs;/* [n_classes] or NULL                                 */
} baldro_eval_item;

typedef struct baldro_metric_input {
    uint32_t struct_size;
    const char *split;                     /* e.g. "forget10_perturbed"            */
    size_t n_items;
    const baldro_eval_item *const *items;  /* [n_items]                            */
    const double *reference;               /* [n_reference] or NULL                */
    size_t n_reference;

    /* ---- ABI 1.4 ---- */
    const char *holdout_split;             /* NEEDS_HOLDOUT: e.g. "holdout10"      */
    size_t n_holdout;
    const baldro_eval_item *const *holdout;/* [n_holdout] or NULL                  */
} baldro_metric_input;

typedef struct baldro_metric_output {
    uint32_t struct_size;
    double *item_scores; /* [n_items], host-allocated, prefilled with NaN          */
    double value;        /* the aggregate                                          */

    /* ---- ABI 1.4 ---- */
    double *holdout_scores; /* [n_holdout] (NEEDS_HOLDOUT), prefilled with NaN     */
} baldro_metric_output;

typedef struct baldro_metric_vtable {
    uint32_t struct_size;
    const char *name;
    const char *version;
    const char *description;
    uint32_t needs;                  /* BALDRO_METRIC_NEEDS_*                       */
    const baldro_param_spec *params; /* NULL-name-terminated; NULL = none           */
    int (*create)(void **state, const baldro_param_value *params, char *err, size_t err_cap);
    void (*destroy)(void *state);
    /* Required. */
    int (*compute)(void *state, const baldro_metric_input *in, baldro_metric_output *out,
                   char *err, size_t err_cap);

    /* ---- ABI 1.1 ---- */
    const char *const *aliases;

    /* ---- ABI 1.4 ---- */
    /* NEEDS_REFERENCE: which entry of the reference run's TOFU_EVAL.json the metric
     * compares against (NULL: "forget_truth_ratio"), and whether it takes that entry's
     * agg_value (one number) or every value_by_index[i].score (per item).             */
    const char *reference_key;
    int32_t reference_agg;
} baldro_metric_vtable;

#define BALDRO_METRIC_VTABLE_SIZE_1_0 ((uint32_t)offsetof(baldro_metric_vtable, aliases))

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_METRIC_H */

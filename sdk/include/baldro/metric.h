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
} baldro_eval_item;

typedef struct baldro_metric_input {
    uint32_t struct_size;
    const char *split;                     /* e.g. "forget10_perturbed"            */
    size_t n_items;
    const baldro_eval_item *const *items;  /* [n_items]                            */
    const double *reference;               /* [n_reference] or NULL                */
    size_t n_reference;
} baldro_metric_input;

typedef struct baldro_metric_output {
    uint32_t struct_size;
    double *item_scores; /* [n_items], host-allocated, prefilled with NaN          */
    double value;        /* the aggregate                                          */
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
} baldro_metric_vtable;

#define BALDRO_METRIC_VTABLE_SIZE_1_0 ((uint32_t)offsetof(baldro_metric_vtable, aliases))

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_METRIC_H */

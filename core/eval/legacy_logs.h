/*
 * core/eval/legacy_logs.h: the original TOFU code's per-item evaluation logs
 * (eval_log_aggregated.json: {"eval_log_forget.json": {...}, "eval_log.json": ...,
 * "eval_real_author_wo_options.json": ..., "eval_real_world_wo_options.json": ...}, each
 * with per-item avg_gt_loss, num_token_gt, avg_paraphrased_loss, num_token_paraphrased,
 * average_perturb_loss[], num_token_perturb[] and generated_text [prompt, generation,
 * ground truth]) turned into the evaluator's items, so that the metric plugins
 * re-aggregate them exactly as they aggregate a live evaluation.
 *
 * Summed losses are rebuilt as avg * tokens, so sum / tokens is the logged average.
 * Every field is type-checked; errors name the file, the split, the item and the field.
 */
#ifndef BALDRO_EVAL_LEGACY_LOGS_H
#define BALDRO_EVAL_LEGACY_LOGS_H

#include <baldro/metric.h>
#include <stddef.h>

#include "util/error.h"

typedef struct baldro_log_split {
    const char *split;               /* "forget10_perturbed"-style name for the metrics */
    size_t n;
    baldro_eval_item *items;         /* [n]                                             */
    const baldro_eval_item **ptr;    /* [n]                                             */
    double *alt_nll;                 /* [n * max_alt]                                   */
    int32_t *alt_tok;
    char **strings;                  /* owned texts                                     */
    size_t n_strings;
} baldro_log_split;

/* The four splits: [0] forget, [1] retain, [2] real authors, [3] world facts. */
typedef struct baldro_legacy_log {
    baldro_log_split s[4];
} baldro_legacy_log;

/* Shared with the other per-item log readers (eval_log.h). */
/* The metrics' name of split k (0..3): "forget_perturbed", "retain_perturbed",
 * "real_authors_perturbed", "world_facts_perturbed". */
const char *baldro_log_split_name(int k);
/* Names split k and allocates n zeroed items, their pointers, alt_stride perturbed slots per
 * item and room for strings_per_item owned strings per item. */
void baldro_log_split_alloc(baldro_log_split *s, int k, size_t n, size_t alt_stride,
                            size_t strings_per_item);
/* A copy of text owned by the split (room reserved by baldro_log_split_alloc). */
const char *baldro_log_split_own(baldro_log_split *s, const char *text);
/* Frees what the split owns and zeroes it. */
void baldro_log_split_clear(baldro_log_split *s);

/* 1 if the JSON text looks like a legacy log (has "eval_log_forget.json"). */
int baldro_legacy_log_detect(const char *text, size_t len);

int baldro_legacy_log_load(const char *path, baldro_legacy_log *out, baldro_error *err);
/* The same from memory; `path` names the input in messages. */
int baldro_legacy_log_parse(const char *text, size_t len, const char *path,
                            baldro_legacy_log *out, baldro_error *err);
void baldro_legacy_log_clear(baldro_legacy_log *l);

#endif /* BALDRO_EVAL_LEGACY_LOGS_H */

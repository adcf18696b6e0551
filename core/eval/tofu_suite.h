/*
 * core/eval/tofu_suite.h: TOFU's evaluation suite over evaluated items, shared by a live
 * `eval` and by `eval --aggregate` (items rebuilt from a per-item log), so that both
 * compute every figure through the same metric plugins and write the same files.
 *
 * The suite names what to report (open-unlearning's metric names) and which metric
 * plugin computes each; the metrics declare what they need (baldro/metric.h), and
 * baldro_suite_needs() turns the declarations into the passes a live evaluation must run:
 * answer scores, token-level scores, greedy generations, a held-out split, classifier
 * probabilities. Each pass runs once per split and every metric of the split shares it.
 *
 *   split     reports (metric plugin)
 *   forget    forget_Q_A_Prob (probability), forget_Q_A_ROUGE (rouge + rouge1),
 *             forget_truth_ratio (truth_ratio), forget_quality (forget_quality, against
 *             the retain model's forget truth ratios), mia_min_k + privleak (forget vs
 *             holdout min-k% AUC, privleak against the retain model's AUC),
 *             extraction_strength, forget_Q_A_gibberish (gibberish: a classifier's class
 *             0 probability), forget_degeneration (degeneration: model-free)
 *   retain    retain_Q_A_Prob, retain_Q_A_ROUGE, retain_Truth_Ratio
 *   ra / wf   ra_Q_A_Prob_normalised, ra_Q_A_ROUGE, ra_Truth_Ratio (wf_ likewise)
 *   all       model_utility: the harmonic mean of the nine retain / ra / wf values
 *
 * TOFU_EVAL.json also gets open-unlearning's pre-computed entries that re-aggregation
 * needs ({p}_Q_A_Prob with avg_loss, {p}_Q_A_PARA_Prob, {p}_Q_A_PERT_Prob), so our log
 * and open-unlearning's are read by one reader (eval_log.h).
 */
#ifndef BALDRO_EVAL_TOFU_SUITE_H
#define BALDRO_EVAL_TOFU_SUITE_H

#include <baldro/metric.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "config/config.h"
#include "plugin/registry.h"
#include "util/error.h"

enum { BALDRO_SUITE_FORGET = 0, BALDRO_SUITE_RETAIN, BALDRO_SUITE_RA, BALDRO_SUITE_WF,
       BALDRO_SUITE_HOLDOUT, BALDRO_SUITE_NSPLIT };

/* Optional reports (the rest always run). */
#define BALDRO_SUITE_PRIVLEAK 1u     /* mia_min_k and privleak (needs the holdout split) */
#define BALDRO_SUITE_ES 2u           /* extraction_strength                              */
#define BALDRO_SUITE_DEGEN 4u        /* forget_degeneration                              */
#define BALDRO_SUITE_GIBBERISH 8u    /* forget_Q_A_gibberish (needs a classifier)        */

typedef struct baldro_suite_split {
    const char *name;                      /* "forget10_perturbed", "holdout10", ...    */
    size_t n;                              /* 0: absent                                 */
    const baldro_eval_item *const *items;  /* [n]                                       */
} baldro_suite_split;

typedef struct baldro_suite_input {
    baldro_suite_split s[BALDRO_SUITE_NSPLIT];
    unsigned want;                 /* BALDRO_SUITE_* optional reports                   */
    const double *ref_tr;          /* the retain model's forget truth ratios, or NULL   */
    size_t n_ref_tr;
    double ref_auc;                /* the retain model's mia_min_k AUC, or NAN          */
    int with_raw;                  /* also write the raw PARA / PERT / avg_loss entries */
} baldro_suite_input;

/* BALDRO_METRIC_NEEDS_* of split k's reports under `want` (0 for a split nothing reads).
 * A report whose metric is not loaded is an error naming it and its plugin. */
int baldro_suite_needs(const baldro_registry *reg, unsigned want, int split, uint32_t *needs,
                       baldro_error *err);

/* Runs every report. Members go into `eval` (TOFU_EVAL.json's object, NULL: none) and
 * `summary` (TOFU_SUMMARY.json's object), and one line each into `table` (NULL: none).
 * Metric parameters come from cfg's metrics.<name>.<param> (NULL: their defaults). A
 * figure that cannot be computed (no retain log for forget quality; no holdout) is left
 * out with a note on the table; a metric that fails on an item fails the suite, naming
 * the split and the item. */
int baldro_suite_run(const baldro_registry *reg, const baldro_config *cfg,
                     const baldro_suite_input *in, JsonBuilder *eval, JsonBuilder *summary,
                     FILE *table, baldro_error *err);

/* One metric on one split, with no reference and no holdout (the retain model's truth
 * ratios from a legacy log, for instance): per-item scores[s->n] and the value. */
int baldro_suite_metric(const baldro_registry *reg, const baldro_config *cfg,
                        const char *metric, const baldro_suite_split *s, double *scores,
                        double *value, baldro_error *err);

/* Re-aggregation of logged per-item scores, where the passes behind them cannot be rerun:
 * the ROC AUC of membership scores with forget labelled 0 and holdout 1 (sklearn's
 * roc_auc_score: ties count one half; NAN if a side is empty or a score not finite), and
 * privleak against a reference AUC, as open-unlearning computes it. */
double baldro_suite_auc(const double *forget, size_t n_forget, const double *holdout,
                        size_t n_holdout);
double baldro_suite_privleak(double auc, double ref_auc);

#endif /* BALDRO_EVAL_TOFU_SUITE_H */

/*
 * plugins/metrics/tofu/metrics_tofu.c: TOFU's per-split metrics as metric plugins
 * (baldro/metric.h), on the numerics of lib/ (tofu_stats, rouge, ks). Built only against
 * sdk/, like any third-party plugin.
 *
 *   probability     item: exp(-NLL/|A|); on real_authors* / world_facts* splits the true
 *                   answer against the perturbed ones, each length-normalised. Value: mean.
 *   truth_ratio     item: R = exp(-mean_j Lpert_j) / exp(-Lpara) with per-token losses;
 *                   real_authors* / world_facts* items without a scored paraphrase use
 *                   the answer itself. Value: mean min(R, 1/R) on forget* splits, mean max(0, 1 - R)
 *                   elsewhere. Items keep the raw R (forget quality compares them).
 *   rouge           item: ROUGE-L recall of the generation against the ground truth
 *                   (rouge_score with the Porter stemmer). Value: mean.
 *   rouge1          the same with ROUGE-1 recall.
 *   forget_quality  the two-sided two-sample KS p-value of this split's raw truth ratios
 *                   against the reference run's (the retain model's). Value only.
 * An item whose inputs are missing or not finite fails the metric with the item's index:
 * nothing is averaged in silently.
 */
#include <baldro/plugin.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks.h"
#include "rouge.h"
#include "tofu_stats.h"

BALDRO_PLUGIN("metrics_tofu", BALDRO_VERSION_STRING,
              "TOFU metrics: probability, truth ratio, ROUGE, forget quality");

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return BALDRO_EINVAL;
}

/* real_authors / world_facts: probabilities normalised over the options, and the answer
 * is its own paraphrase. */
static int options_split(const char *split) {
    return split && (strncmp(split, "real_authors", 12) == 0 ||
                     strncmp(split, "world_facts", 11) == 0);
}

static int forget_split(const char *split) { return split && strncmp(split, "forget", 6) == 0; }

static double avg_loss(double nll, int32_t n) { return n > 0 ? nll / n : NAN; }

static int probability(void *st, const baldro_metric_input *in, baldro_metric_output *out,
                       char *err, size_t cap) {
    (void)st;
    const int opt = options_split(in->split);
    double sum = 0;
    for (size_t i = 0; i < in->n_items; i++) {
        const baldro_eval_item *it = in->items[i];
        double a = avg_loss(it->nll, it->n_tokens), p;
        if (opt) {
            double pa[64];
            if (it->n_alt < 1 || it->n_alt > 64)
                return fail(err, cap, "%s item %zu: no perturbed answers to normalise over",
                            in->split, i);
            for (int32_t j = 0; j < it->n_alt; j++) pa[j] = avg_loss(it->alt_nll[j], it->alt_tokens[j]);
            p = baldro_tofu_probability_options(&a, pa, 1, (size_t)it->n_alt);
        } else {
            p = baldro_tofu_probability(&a, 1);
        }
        if (!isfinite(p)) return fail(err, cap, "%s item %zu: answer loss is not finite", in->split, i);
        out->item_scores[i] = p;
        sum += p;
    }
    out->value = in->n_items ? sum / (double)in->n_items : NAN;
    return BALDRO_OK;
}

/* The raw truth ratio of item i, or NAN. */
static double item_ratio(const char *split, const baldro_eval_item *it) {
    double pa[64];
    if (it->n_alt < 1 || it->n_alt > 64) return NAN;
    for (int32_t j = 0; j < it->n_alt; j++) pa[j] = avg_loss(it->alt_nll[j], it->alt_tokens[j]);
    /* The paraphrased answer's loss; real_authors / world_facts have no paraphrase, and
     * their answer stands for it unless the evaluator scored one (the legacy logs do). */
    double para = avg_loss(it->para_nll, it->para_tokens);
    if (!isfinite(para) && options_split(split)) para = avg_loss(it->nll, it->n_tokens);
    return baldro_tofu_truth_ratio(para, pa, (size_t)it->n_alt);
}

static int truth_ratio(void *st, const baldro_metric_input *in, baldro_metric_output *out,
                       char *err, size_t cap) {
    (void)st;
    for (size_t i = 0; i < in->n_items; i++) {
        double R = item_ratio(in->split, in->items[i]);
        if (!isfinite(R))
            return fail(err, cap, "%s item %zu: missing or non-finite paraphrased/perturbed losses",
                        in->split, i);
        out->item_scores[i] = R;
    }
    out->value = baldro_tofu_truth_ratio_stat(out->item_scores, in->n_items, forget_split(in->split));
    return BALDRO_OK;
}

static int rouge_common(const baldro_metric_input *in, baldro_metric_output *out, int which,
                        char *err, size_t cap) {
    double sum = 0;
    for (size_t i = 0; i < in->n_items; i++) {
        const baldro_eval_item *it = in->items[i];
        if (!it->ground_truth || !it->generation)
            return fail(err, cap, "%s item %zu: no generation to score", in->split, i);
        double r1, rl;
        if (baldro_rouge_recall(it->ground_truth, it->generation, &r1, &rl) != 0)
            return fail(err, cap, "%s item %zu: ROUGE failed (out of memory)", in->split, i);
        out->item_scores[i] = which ? r1 : rl;
        sum += out->item_scores[i];
    }
    out->value = in->n_items ? sum / (double)in->n_items : NAN;
    return BALDRO_OK;
}

static int rouge_l(void *st, const baldro_metric_input *in, baldro_metric_output *out, char *err,
                   size_t cap) {
    (void)st;
    return rouge_common(in, out, 0, err, cap);
}

static int rouge_1(void *st, const baldro_metric_input *in, baldro_metric_output *out, char *err,
                   size_t cap) {
    (void)st;
    return rouge_common(in, out, 1, err, cap);
}

static int forget_quality(void *st, const baldro_metric_input *in, baldro_metric_output *out,
                          char *err, size_t cap) {
    (void)st;
    if (!in->reference || in->n_reference == 0) {
        snprintf(err, cap, "%s: forget quality needs the retain model's truth ratios "
                 "(eval.retain_logs)", in->split);
        return BALDRO_EINVAL;
    }
    double *R = malloc((in->n_items ? in->n_items : 1) * sizeof *R);
    if (!R) return BALDRO_ENOMEM;
    for (size_t i = 0; i < in->n_items; i++) {
        R[i] = item_ratio(in->split, in->items[i]);
        if (!isfinite(R[i])) {
            free(R);
            return fail(err, cap, "%s item %zu: missing or non-finite paraphrased/perturbed losses",
                        in->split, i);
        }
    }
    double D, p;
    int rc = baldro_ks_2samp(R, in->n_items, in->reference, in->n_reference, &D, &p);
    free(R);
    if (rc != 0) {
        snprintf(err, cap, "%s: KS test failed (%s)", in->split,
                 rc == BALDRO_KS_ENAN ? "a reference truth ratio is NaN" : "empty sample");
        return BALDRO_EINVAL;
    }
    out->value = p;
    return BALDRO_OK;
}

static const char *const prob_aliases[] = {"Q_A_Prob", NULL};
static const char *const tr_aliases[] = {"Truth_Ratio", NULL};
static const char *const rouge_aliases[] = {"Q_A_ROUGE", NULL};
static const char *const fq_aliases[] = {"FQ", NULL};

static baldro_metric_vtable vt_prob = {
    BALDRO_VTABLE_HEADER(baldro_metric_vtable), .name = "probability",
    .description = "Answer probability exp(-NLL/|A|) (normalised over options for "
                   "real_authors/world_facts)",
    .needs = BALDRO_METRIC_NEEDS_SCORES, .compute = probability, .aliases = prob_aliases};
static baldro_metric_vtable vt_tr = {
    BALDRO_VTABLE_HEADER(baldro_metric_vtable), .name = "truth_ratio",
    .description = "Truth ratio: forget min(R, 1/R), others max(0, 1 - R)",
    .needs = BALDRO_METRIC_NEEDS_SCORES, .compute = truth_ratio, .aliases = tr_aliases};
static baldro_metric_vtable vt_rouge = {
    BALDRO_VTABLE_HEADER(baldro_metric_vtable), .name = "rouge",
    .description = "ROUGE-L recall of greedy generations (rouge_score, Porter stemmer)",
    .needs = BALDRO_METRIC_NEEDS_GENERATIONS, .compute = rouge_l, .aliases = rouge_aliases};
static baldro_metric_vtable vt_rouge1 = {
    BALDRO_VTABLE_HEADER(baldro_metric_vtable), .name = "rouge1",
    .description = "ROUGE-1 recall of greedy generations",
    .needs = BALDRO_METRIC_NEEDS_GENERATIONS, .compute = rouge_1};
static baldro_metric_vtable vt_fq = {
    BALDRO_VTABLE_HEADER(baldro_metric_vtable), .name = "forget_quality",
    .description = "KS p-value of forget truth ratios against the retain model's",
    .needs = BALDRO_METRIC_NEEDS_SCORES | BALDRO_METRIC_NEEDS_REFERENCE,
    .compute = forget_quality, .aliases = fq_aliases};

BALDRO_PLUGIN_INIT(ctx, host) {
    int rc = host->register_metric(ctx, &vt_prob);
    if (rc == BALDRO_OK) rc = host->register_metric(ctx, &vt_tr);
    if (rc == BALDRO_OK) rc = host->register_metric(ctx, &vt_rouge);
    if (rc == BALDRO_OK) rc = host->register_metric(ctx, &vt_rouge1);
    if (rc == BALDRO_OK) rc = host->register_metric(ctx, &vt_fq);
    return rc;
}

/*
 * plugins/metrics/tofu/lib/tofu_stats.h: TOFU's per-split statistics from answer losses
 * (Maini et al. 2024; the legacy aggregate_eval_stat.py and open-unlearning agree on them;
 * ../shared/reference/unlearning-formulas.md, "TOFU evaluation").
 *
 * Inputs are per-token mean NLLs ("avg losses": the answer's summed NLL over its token
 * count), one per item, and for each item its paraphrased answer's and its perturbed
 * answers' avg losses.
 *   probability (QA splits)          mean_i exp(-L_i)
 *   probability (options splits)     mean_i exp(-L_i) / (exp(-L_i) + sum_j exp(-Lpert_ij))
 *                                    (real authors, world facts: the true answer against
 *                                    the perturbed ones, each length-normalised)
 *   truth ratio of item i            R_i = exp(-mean_j Lpert_ij) / exp(-Lpara_i)
 *     forget splits                  mean_i min(R_i, 1/R_i)
 *     the others                     mean_i max(0, 1 - R_i)
 *   model utility                    harmonic mean of the 9 numbers {probability, ROUGE-L
 *                                    recall, truth ratio} x {retain, real authors, world facts};
 *                                    0 if any of them is 0 (scipy.stats.hmean's convention)
 * Forget quality is the KS test of the forget truth ratios against a retain model's (ks.h);
 * it is invariant to which of R or 1/R is compared.
 *
 * Every function returns NAN when an input holds NaN or Inf, so a broken item is never
 * averaged in silently; the caller reports which. Computation is in double.
 */
#ifndef BALDRO_METRICS_TOFU_STATS_H
#define BALDRO_METRICS_TOFU_STATS_H

#include <stddef.h>

/* R_i from the paraphrased avg loss and the n_pert perturbed avg losses [n_pert]. */
double baldro_tofu_truth_ratio(double para_avg, const double *pert_avg, size_t n_pert);

/* The split's truth-ratio statistic from R[n]: forget != 0 gives mean min(R, 1/R), else
 * mean max(0, 1 - R). */
double baldro_tofu_truth_ratio_stat(const double *R, size_t n, int forget);

/* mean exp(-avg[i]) over n items. */
double baldro_tofu_probability(const double *avg, size_t n);

/* Options form: item i's true avg loss avg[i] against its n_pert perturbed avg losses
 * pert_avg[i * n_pert ... + n_pert). */
double baldro_tofu_probability_options(const double *avg, const double *pert_avg, size_t n,
                                       size_t n_pert);

/* Harmonic mean of v[n] (all >= 0); 0 if any is 0; NAN if any is negative or not finite. */
double baldro_tofu_hmean(const double *v, size_t n);

#endif /* BALDRO_METRICS_TOFU_STATS_H */

/*
 * plugins/metrics/tofu/lib/mia.h: membership inference for TOFU's privleak, as
 * open-unlearning computes it (src/evals/metrics/mia/min_k.py, mia/utils.py, privacy.py).
 *
 * Min-k% Prob (Shi et al. 2023) of one answer, from the log-probs lp[0..n) of the answer
 * tokens the attack reads (the caller drops the template's end token first, as
 * open-unlearning's tokenwise_logprobs does: "-1 to ignore eos prediction"):
 *   n == 0:  score 0;
 *   else:    num_k = max(1, floor(n * k)) (n * k one double product, as Python's
 *            int(len(lp) * k)), score = -mean of the num_k smallest lp.
 * The float log-probs are widened to double and summed in double (open-unlearning takes
 * the mean in float32; the two differ by float32 rounding only).
 *
 * ROC AUC of membership scores with the forget items labelled 0 and the held-out items
 * labelled 1, sklearn's roc_auc_score(labels, scores): the probability that a held-out
 * score is above a forget score, ties counting one half (Mann-Whitney U over the number of
 * pairs). Computed exactly: one sort with ties grouped, 2U counted in integers, then one
 * division, so the result is the exact rational rounded once (sklearn's trapezoid sum is
 * within a few ulps of it). A high AUC means the forget answers are more likely than the
 * held-out ones (lower min-k scores): not forgotten.
 *
 * privleak = ((1 - AUC) - (1 - ref)) / ((1 - ref) + 1e-10) * 100 against the retain model's
 * AUC ref (open-unlearning's MUSE-style convention, its 1e-10 guard included).
 *
 * No allocation survives a call; nothing aborts; inputs are never modified.
 */
#ifndef BALDRO_METRICS_TOFU_MIA_H
#define BALDRO_METRICS_TOFU_MIA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BALDRO_MIA_EEMPTY  (-1) /* an empty sample (AUC)                                  */
#define BALDRO_MIA_ENAN    (-2) /* a value is NaN or +-Inf                                */
#define BALDRO_MIA_EARG    (-3) /* NULL with a nonzero size, k outside (0, 1], NULL output */
#define BALDRO_MIA_ENOMEM  (-4)

/* The min-k% score of lp[0..n) into *score. Returns 0 or a BALDRO_MIA_E* code; on error
 * *score is untouched and *bad (if not NULL) is the index of the first non-finite value
 * (ENAN only). */
int baldro_mia_min_k(const float *lp, size_t n, double k, double *score, size_t *bad);

/* AUC of forget[0..n_forget) (label 0) against holdout[0..n_holdout) (label 1) into *auc.
 * Returns 0 or a BALDRO_MIA_E* code (EEMPTY when either side is empty, ENAN for a
 * non-finite score, as sklearn refuses them; EARG when a side has more than 2^26 items,
 * past which 2U could leave double's exact integers). */
int baldro_mia_auc(const double *forget, size_t n_forget, const double *holdout,
                   size_t n_holdout, double *auc);

/* privleak of auc against ref_auc, as above; NAN when either is not finite. */
double baldro_mia_privleak(double auc, double ref_auc);

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_METRICS_TOFU_MIA_H */

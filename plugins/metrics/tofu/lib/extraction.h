/*
 * plugins/metrics/tofu/lib/extraction.h: extraction strength (Carlini et al.'s
 * extractability as open-unlearning's memorization.py computes it, "extraction_strength").
 *
 * Input: the greedy hits of the answer tokens the metric reads, top1[0..L) (nonzero where
 * the teacher-forced argmax is the answer token), the template's end token already
 * dropped by the caller (open-unlearning's "-1 to ignore eos prediction").
 *   L == 0:  score 0 (open-unlearning logs 0 there);
 *   else:    k* = the smallest k in [0, L) such that top1[k..L) are all hits, and
 *            score = 1 - k* / L (one double division and one subtraction, as Python).
 *   No such k (the last token is a miss): k* = L - 1, so the score is 1/L, not 0.
 *            That is open-unlearning's loop, `for k in range(valid_len): if
 *            torch.equal(preds[k:], labels[k:]): break`, which leaves k at its last value
 *            L - 1 when it never breaks. The formula sheet's "min over an empty set" would
 *            give k* = L and score 0; this is the one place where the two differ, and this
 *            code follows open-unlearning so that logs compare.
 */
#ifndef BALDRO_METRICS_TOFU_EXTRACTION_H
#define BALDRO_METRICS_TOFU_EXTRACTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* k* as above (0 when L == 0). */
size_t baldro_es_suffix_start(const uint8_t *top1, size_t L);

/* The score as above; NAN when top1 is NULL and L > 0. */
double baldro_es_score(const uint8_t *top1, size_t L);

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_METRICS_TOFU_EXTRACTION_H */

/* plugins/metrics/tofu/lib/extraction.c: see extraction.h. */
#include "extraction.h"

#include <math.h>

size_t baldro_es_suffix_start(const uint8_t *top1, size_t L) {
    if (L == 0 || !top1) return 0;
    /* The longest all-hit suffix starts after the last miss. */
    size_t k = L;
    while (k > 0 && top1[k - 1]) k--;
    /* k == L: the last token is a miss and no suffix matches; open-unlearning's loop ends
     * with k = L - 1 (see extraction.h). */
    return k == L ? L - 1 : k;
}

double baldro_es_score(const uint8_t *top1, size_t L) {
    if (L == 0) return 0.0;
    if (!top1) return NAN;
    return 1.0 - (double)baldro_es_suffix_start(top1, L) / (double)L;
}

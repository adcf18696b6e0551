/* plugins/metrics/tofu/lib/mia.c: see mia.h. */
#include "mia.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int baldro_mia_min_k(const float *lp, size_t n, double k, double *score, size_t *bad) {
    if (!score || (n && !lp) || !(k > 0.0 && k <= 1.0)) return BALDRO_MIA_EARG;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(lp[i])) {
            if (bad) *bad = i;
            return BALDRO_MIA_ENAN;
        }
    }
    if (n == 0) {
        *score = 0.0;
        return 0;
    }
    /* Python: max(1, int(len(lp) * k)): one double product, truncated (it is >= 0). */
    const double nk = (double)n * k;
    size_t num_k = nk >= (double)n ? n : (size_t)nk;
    if (num_k < 1) num_k = 1;
    double *v = malloc(n * sizeof *v);
    if (!v) return BALDRO_MIA_ENOMEM;
    for (size_t i = 0; i < n; i++) v[i] = (double)lp[i];
    qsort(v, n, sizeof *v, cmp_double);
    double s = 0.0;
    for (size_t i = 0; i < num_k; i++) s += v[i];
    free(v);
    *score = -(s / (double)num_k);
    return 0;
}

typedef struct {
    double v;
    int holdout;
} labelled;

static int cmp_labelled(const void *a, const void *b) {
    const labelled *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

#define MIA_MAX_SIDE ((size_t)1 << 26)

int baldro_mia_auc(const double *forget, size_t n_forget, const double *holdout, size_t n_holdout,
                   double *auc) {
    if (!auc || (n_forget && !forget) || (n_holdout && !holdout)) return BALDRO_MIA_EARG;
    if (!n_forget || !n_holdout) return BALDRO_MIA_EEMPTY;
    if (n_forget > MIA_MAX_SIDE || n_holdout > MIA_MAX_SIDE) return BALDRO_MIA_EARG;
    const size_t n = n_forget + n_holdout;
    for (size_t i = 0; i < n_forget; i++)
        if (!isfinite(forget[i])) return BALDRO_MIA_ENAN;
    for (size_t i = 0; i < n_holdout; i++)
        if (!isfinite(holdout[i])) return BALDRO_MIA_ENAN;
    labelled *l = malloc(n * sizeof *l);
    if (!l) return BALDRO_MIA_ENOMEM;
    for (size_t i = 0; i < n_forget; i++) l[i] = (labelled){forget[i], 0};
    for (size_t i = 0; i < n_holdout; i++) l[n_forget + i] = (labelled){holdout[i], 1};
    qsort(l, n, sizeof *l, cmp_labelled);
    /* 2U = sum over held-out scores of 2 #{forget below} + #{forget tied}, group by group
     * of equal values (-0.0 and 0.0 are one group, as they compare equal). */
    uint64_t u2 = 0, forget_below = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint64_t f = 0, h = 0;
        while (j < n && l[j].v == l[i].v) {
            if (l[j].holdout)
                h++;
            else
                f++;
            j++;
        }
        u2 += h * (2 * forget_below + f);
        forget_below += f;
        i = j;
    }
    free(l);
    /* Both operands are integers below 2^53, so this is the exact ratio rounded once. */
    *auc = (double)u2 / (2.0 * (double)n_forget * (double)n_holdout);
    return 0;
}

double baldro_mia_privleak(double auc, double ref_auc) {
    if (!isfinite(auc) || !isfinite(ref_auc)) return NAN;
    const double score = 1.0 - auc, ref = 1.0 - ref_auc;
    return (score - ref) / (ref + 1e-10) * 100.0;
}

/* plugins/metrics/tofu/lib/tofu_stats.c: see tofu_stats.h. */
#include "tofu_stats.h"

#include <math.h>

double baldro_tofu_truth_ratio(double para_avg, const double *pert_avg, size_t n_pert) {
    if (n_pert == 0 || !isfinite(para_avg)) return NAN;
    double s = 0;
    for (size_t j = 0; j < n_pert; j++) {
        if (!isfinite(pert_avg[j])) return NAN;
        s += pert_avg[j];
    }
    /* exp(-mean_pert) / exp(-para), as one exp so that large losses do not overflow */
    return exp(para_avg - s / (double)n_pert);
}

double baldro_tofu_truth_ratio_stat(const double *R, size_t n, int forget) {
    if (n == 0) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(R[i]) || R[i] < 0) return NAN;
        s += forget ? fmin(R[i], 1.0 / R[i]) : fmax(0.0, 1.0 - R[i]);
    }
    return s / (double)n;
}

double baldro_tofu_probability(const double *avg, size_t n) {
    if (n == 0) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(avg[i])) return NAN;
        s += exp(-avg[i]);
    }
    return s / (double)n;
}

double baldro_tofu_probability_options(const double *avg, const double *pert_avg, size_t n,
                                       size_t n_pert) {
    if (n == 0) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(avg[i])) return NAN;
        double t = exp(-avg[i]), f = 0;
        for (size_t j = 0; j < n_pert; j++) {
            double l = pert_avg[i * n_pert + j];
            if (!isfinite(l)) return NAN;
            f += exp(-l);
        }
        s += t + f > 0 ? t / (t + f) : 0.0;
    }
    return s / (double)n;
}

double baldro_tofu_hmean(const double *v, size_t n) {
    if (n == 0) return NAN;
    double s = 0;
    int zero = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || v[i] < 0) return NAN;
        if (v[i] == 0) zero = 1;
        else s += 1.0 / v[i];
    }
    return zero ? 0.0 : (double)n / s;
}

/*
 * The BalDRO core (core/dro/dro.c): DV weights against hand computations in both
 * directions, dv with equal losses equals no reweighting, the plain reductions, group
 * selection, and finite weights for extreme losses.
 */
#include <baldro/objective.h>
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "dro/dro.h"

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol) * fmax(1.0, fabs(b)))

Test(dro, names) {
    cr_assert_eq(baldro_dro_parse_mode("dv"), BALDRO_DRO_DV);
    cr_assert_eq(baldro_dro_parse_mode("DV"), -1);
    cr_assert_eq(baldro_dro_parse_direction("worst_case"), BALDRO_DRO_WORST_CASE);
    cr_assert_eq(baldro_dro_parse_scope("effective"), BALDRO_DRO_EFFECTIVE);
    cr_assert_str_eq(baldro_dro_mode_name(BALDRO_DRO_GROUP), "group");
}

/* L = (1, 2, 3), tau = 1.
 * official: w_i = exp(-L_i) / sum_j exp(-L_j) = (0.66524096, 0.24472847, 0.09003057);
 *           F = -log((e^-1 + e^-2 + e^-3) / 3) = 1.69100632...
 * worst:    w_i = exp(L_i) / sum = (0.09003057, 0.24472847, 0.66524096);
 *           F = log((e + e^2 + e^3) / 3) = 2.30899368...
 * (the two values sum to 4: log-mean-exp of +-x around the mean 2 is symmetric). */
Test(dro, dv_hand_computation_both_directions) {
    const double L[3] = {1, 2, 3};
    double w[3], F;
    baldro_dro_dv(L, 3, 1.0, BALDRO_DRO_OFFICIAL, w, &F);
    const double e1 = exp(-1), e2 = exp(-2), e3 = exp(-3), z = e1 + e2 + e3;
    cr_assert(NEAR(w[0], e1 / z, 1e-15) && NEAR(w[1], e2 / z, 1e-15) && NEAR(w[2], e3 / z, 1e-15));
    cr_assert(NEAR(w[0], 0.66524096, 1e-8), "%.10f", w[0]);
    cr_assert(NEAR(F, -log(z / 3), 1e-14), "%.17g", F);
    cr_assert(NEAR(F, 1.6910063, 1e-7), "%.10f", F);
    baldro_dro_dv(L, 3, 1.0, BALDRO_DRO_WORST_CASE, w, &F);
    cr_assert(NEAR(w[2], 0.66524096, 1e-8) && NEAR(w[0], 0.09003057, 1e-7), "%.10f", w[2]);
    cr_assert(NEAR(F, log((exp(1) + exp(2) + exp(3)) / 3), 1e-14), "%.17g", F);
    /* tau = 2 halves the exponent: w ∝ exp(-L/2) */
    baldro_dro_dv(L, 3, 2.0, BALDRO_DRO_OFFICIAL, w, &F);
    const double y = exp(-0.5) + exp(-1) + exp(-1.5);
    cr_assert(NEAR(w[1], exp(-1) / y, 1e-15));
    cr_assert(NEAR(F, -2 * log(y / 3), 1e-14));
}

Test(dro, dv_limits_and_extremes) {
    /* A large tau tends to the mean, a small one to the min (official) / max (worst). */
    const double L[4] = {0.5, 1.5, 2.5, 4.0};
    double w[4], F;
    baldro_dro_dv(L, 4, 1e6, BALDRO_DRO_OFFICIAL, w, &F);
    cr_assert(NEAR(F, 2.125, 1e-5), "%.10f", F);
    baldro_dro_dv(L, 4, 1e-3, BALDRO_DRO_OFFICIAL, w, &F);
    cr_assert(NEAR(F, 0.5 + 1e-3 * log(4.0), 1e-9), "%.10f", F);
    cr_assert(w[0] > 0.999999);
    baldro_dro_dv(L, 4, 1e-3, BALDRO_DRO_WORST_CASE, w, &F);
    cr_assert(NEAR(F, 4.0 - 1e-3 * log(4.0), 1e-9), "%.10f", F);
    /* huge spreads stay finite and sum to 1 */
    const double X[3] = {1e4, -1e4, 0};
    for (int d = 0; d < 2; d++) {
        baldro_dro_dv(X, 3, 0.1, (baldro_dro_direction)d, w, &F);
        double s = 0;
        for (int i = 0; i < 3; i++) {
            cr_assert(isfinite(w[i]) && w[i] >= 0);
            s += w[i];
        }
        cr_assert(isfinite(F) && NEAR(s, 1.0, 1e-15));
    }
}

static const baldro_dro_config k_none = {BALDRO_DRO_NONE, 1.0, BALDRO_DRO_OFFICIAL,
                                         BALDRO_DRO_MICRO, 0.5};

/* B = 3, T = 4; row 1 has no valid token. */
static const uint8_t k_mask[12] = {1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0};

Test(dro, plain_reductions) {
    double uw[12], sL[3], sw[3], scratch[36];
    /* SAMPLE grain: mean over the samples with tokens (row 1 has none). */
    const float Ls[3] = {2.0f, 0.0f, 4.0f};
    double v = baldro_dro_reduce(&k_none, BALDRO_GRAIN_SAMPLE, 3, 4, k_mask, Ls, NULL, uw, sL, sw,
                                 scratch);
    cr_assert(NEAR(v, 3.0, 1e-15), "%g", v);
    cr_assert(uw[0] == 0.5 && uw[1] == 0 && uw[2] == 0.5);
    /* TOKEN grain: mean over the 5 valid tokens. */
    const float Lt[12] = {1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 0, 0};
    v = baldro_dro_reduce(&k_none, BALDRO_GRAIN_TOKEN, 3, 4, k_mask, Lt, NULL, uw, sL, sw, scratch);
    cr_assert(NEAR(v, 3.0, 1e-15), "%g", v);
    for (int u = 0; u < 12; u++) cr_assert_eq(uw[u], k_mask[u] ? 0.2 : 0.0);
    cr_assert(NEAR(sL[0], 2.0, 1e-15) && NEAR(sL[2], 4.5, 1e-15) && sL[1] == 0);
    cr_assert(NEAR(sw[0], 0.6, 1e-15) && NEAR(sw[2], 0.4, 1e-15) && sw[1] == 0);
}

/* dv with equal losses gives exactly the plain weights, in both grains and directions. */
Test(dro, dv_equal_losses_is_off) {
    double uw0[12], uw1[12], sL[3], sw[3], scratch[36];
    const float Ls[3] = {1.25f, 1.25f, 1.25f};
    const float Lt[12] = {0.7f, 0.7f, 0.7f, 0, 0, 0, 0, 0, 0.7f, 0.7f, 0, 0};
    for (int d = 0; d < 2; d++) {
        baldro_dro_config dv = {BALDRO_DRO_DV, 2.0, (baldro_dro_direction)d, BALDRO_DRO_MICRO, 0.5};
        double v0 = baldro_dro_reduce(&k_none, BALDRO_GRAIN_SAMPLE, 3, 4, k_mask, Ls, NULL, uw0, sL,
                                      sw, scratch);
        double v1 = baldro_dro_reduce(&dv, BALDRO_GRAIN_SAMPLE, 3, 4, k_mask, Ls, NULL, uw1, sL, sw,
                                      scratch);
        cr_assert(NEAR(v0, v1, 1e-15), "%.17g vs %.17g", v0, v1);
        for (int b = 0; b < 3; b++) cr_assert(NEAR(uw0[b], uw1[b], 1e-15));
        v0 = baldro_dro_reduce(&k_none, BALDRO_GRAIN_TOKEN, 3, 4, k_mask, Lt, NULL, uw0, sL, sw,
                               scratch);
        v1 = baldro_dro_reduce(&dv, BALDRO_GRAIN_TOKEN, 3, 4, k_mask, Lt, NULL, uw1, sL, sw, scratch);
        cr_assert(NEAR(v0, v1, 1e-7), "%.17g vs %.17g", v0, v1);
        for (int u = 0; u < 12; u++) cr_assert(NEAR(uw0[u], uw1[u], 1e-15));
    }
}

/* Token-level dv (DrSatImp): the softmax runs over all valid tokens of the scope. */
Test(dro, dv_token_level) {
    baldro_dro_config dv = {BALDRO_DRO_DV, 1.0, BALDRO_DRO_OFFICIAL, BALDRO_DRO_MICRO, 0.5};
    const float Lt[12] = {1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 0, 0};
    double uw[12], sL[3], sw[3], scratch[36];
    double v = baldro_dro_reduce(&dv, BALDRO_GRAIN_TOKEN, 3, 4, k_mask, Lt, NULL, uw, sL, sw, scratch);
    double z = 0;
    for (int k = 1; k <= 5; k++) z += exp(-k);
    cr_assert(NEAR(uw[0], exp(-1) / z, 1e-15) && NEAR(uw[9], exp(-5) / z, 1e-15));
    cr_assert(NEAR(v, -log(z / 5), 1e-14));
    cr_assert(NEAR(sw[0], (exp(-1) + exp(-2) + exp(-3)) / z, 1e-15));
}

/* group keeps the floor(rho B) lowest-NLL samples; ties to the lower index; NaN last. */
Test(dro, group_selection) {
    const double nll[6] = {2.0, 0.5, NAN, 0.5, 3.0, 1.0};
    uint8_t keep[6];
    cr_assert_eq(baldro_dro_group(nll, 6, 0.5, keep), 3);
    const uint8_t want[6] = {0, 1, 0, 1, 0, 1};
    cr_assert(memcmp(keep, want, 6) == 0);
    cr_assert_eq(baldro_dro_group(nll, 6, 0.1, keep), 1, "at least one sample");
    cr_assert(keep[1] && !keep[3], "ties go to the lower index");
    cr_assert_eq(baldro_dro_group(nll, 6, 1.0, keep), 6);
    cr_assert(keep[2], "a sample without tokens is kept only when nothing else is left");
    /* the reduction over the kept rows is their plain mean */
    const uint8_t mask[6] = {1, 1, 1, 1, 1, 1};
    const float L[6] = {10, 1, 7, 3, 10, 5};
    double uw[6], sL[6], sw[6], scratch[18];
    baldro_dro_config g = {BALDRO_DRO_GROUP, 1.0, BALDRO_DRO_OFFICIAL, BALDRO_DRO_MICRO, 0.5};
    baldro_dro_group(nll, 6, 0.5, keep);
    double v = baldro_dro_reduce(&g, BALDRO_GRAIN_SAMPLE, 6, 1, mask, L, keep, uw, sL, sw, scratch);
    cr_assert(NEAR(v, 3.0, 1e-15), "%g", v);
    cr_assert(uw[0] == 0 && NEAR(uw[1], 1.0 / 3, 1e-15) && uw[2] == 0);
}

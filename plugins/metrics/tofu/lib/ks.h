/*
 * plugins/metrics/tofu/lib/ks.h: the two-sample Kolmogorov-Smirnov test behind TOFU's
 * "forget quality" (../shared/reference/unlearning-formulas.md, "TOFU evaluation"): the
 * p-value of scipy.stats.ks_2samp(x, y) with alternative="two-sided", method="auto", as
 * scipy 1.17 computes it (scipy/stats/_stats_py.py ks_2samp, _attempt_exact_2kssamp,
 * _compute_prob_outside_square; _stats_pythran.py _compute_outer_prob_inside_method;
 * _ksstats.py kolmogn; xsf cephes smirnov). Checked against scipy on
 * tests/fixtures/metrics/ks.json (tests/oracle/metrics_oracle.py) to 1e-10 relative.
 *
 * Statistic. Both samples are sorted (copies) and the two ECDFs are evaluated at every
 * pooled value, so ties inside or across the samples count once per value:
 *   D = max over pooled v of |#{x <= v}/nx - #{y <= v}/ny|,
 * each difference formed in double as scipy does (i/nx - j/ny). Both functions report D as
 * scipy does: when max(nx, ny) <= 10000 the exact branch's h/L below (the exact rational sup
 * rounded once; the double differences can be a few ulps off it), else this double D.
 *
 * P-value, method "auto":
 *   exact when max(nx, ny) <= 10000 (scipy's MAX_AUTO_N, 10000 in scipy 1.17.1):
 *     g = gcd(nx, ny), L = lcm = (nx/g)*ny, h = round-half-even(D*L) and D := h/L (this
 *     rounded D is what baldro_ks_2samp reports in the exact branch). h = 0 gives p = 1.
 *     nx == ny: Pr(D_{n,n} >= h/n) = 2 (A0 - A0 A1 + A0 A1 A2 - ...) in Horner form, where
 *       each A_k is a product of h ratios (n - kh - j)/(n + kh + j + 1) (the reflection
 *       formula for lattice paths leaving the band |x - y| < h).
 *     nx != ny: Hodges' lattice-path count of the paths from (0,0) to (m,n) that stay
 *       strictly inside |n x - m y| < h g, run column by column over a sliding window, in
 *       Viehmann's form (arXiv 2102.08037) that carries the probability of having left the
 *       band, normalised at every step, so no binomial coefficient is ever formed and tiny
 *       p-values (1e-21, 1e-170, ...) keep full relative precision.
 *     Both recurrences are evaluated in double in the very order scipy evaluates them (only
 *     +, -, *, / on doubles and exactly representable integers, no contraction to fma), so
 *     the result is bit-for-bit scipy's. That matters beyond the last bits: when rounding
 *     leaves the exact result outside [0, 1] (e.g. 2P = 1 + 2^-52 for nx = ny = 7, D = 1/7),
 *     scipy abandons the exact value and uses the asymptotic branch with the rounded D,
 *     and so does this code.
 *   asymptotic when max(nx, ny) > 10000 (or after such a fallback): with m >= n the sizes,
 *     en = m n / (m + n) in double and N = round-half-even(en), p = scipy.stats.kstwo.sf(D,
 *     N), the exact one-sample Kolmogorov distribution of D_N evaluated as scipy's kolmogn
 *     does (Simard & L'Ecuyer 2011): the same regions, chosen by the same double-precision
 *     tests on N D and N D^2 (Ruben-Gambino closed forms near 1/(2N) and 1; 2*Smirnov for
 *     D >= 1/2 and in the upper tail; the Durbin matrix in the Marsaglia-Tsang-Wang form for
 *     small N D^2; Pelz-Good for large N). Those are computed here in long double (Durbin,
 *     Smirnov's sum in logs, no early cut) or, for the Pelz-Good series, in double in
 *     scipy's formula; they agree with scipy to about 1e-13 relative. Where scipy uses the
 *     Pomeranz recursion (N <= 140, 0.754693 < N D^2 <= 4) this code uses the Durbin matrix,
 *     which is exact too: there scipy's double convolutions are off by up to ~1e-11 relative
 *     (p >= 5e-4; measured against 50-digit mpmath), this code by ~2e-14.
 *   p is clipped to [0, 1].
 *
 * Inputs are never modified (the functions sort private copies); every allocation is freed
 * before return. +-Inf values are ordinary (they sort to the ends); NaN is an error.
 */
#ifndef BALDRO_METRICS_TOFU_KS_H
#define BALDRO_METRICS_TOFU_KS_H

#include <stddef.h>
#include <stdint.h>

/* Error codes (negative) of baldro_ks_2samp / baldro_ks_2samp_ex. */
#define BALDRO_KS_EEMPTY (-1) /* nx == 0 or ny == 0, or a NULL sample with a nonzero size */
#define BALDRO_KS_ENAN   (-2) /* a NaN in x or y */
#define BALDRO_KS_ENOMEM (-3) /* an allocation failed */

/* How the p-value was obtained (baldro_ks_2samp_ex). */
#define BALDRO_KS_EXACT          0 /* the exact lattice-path probability */
#define BALDRO_KS_ASYMP          1 /* kstwo.sf(D, round(en)): max(nx, ny) > 10000 */
#define BALDRO_KS_EXACT_FALLBACK 2 /* exact attempted, result outside [0, 1]: asymptotic */

/* Largest size for which method "auto" is exact (scipy's MAX_AUTO_N). */
#define BALDRO_KS_MAX_EXACT_N 10000

/* D = sup |F_x - F_y| (see above); NaN when a sample is empty or holds a NaN. */
double baldro_ks_statistic(const double *x, size_t nx, const double *y, size_t ny);

/* The two-sided test: *D (scipy's reported statistic) and *p (its p-value). Returns 0, or
 * one of the BALDRO_KS_E* codes, leaving *D and *p NaN. D or p may be NULL. */
int baldro_ks_2samp(const double *x, size_t nx, const double *y, size_t ny, double *D, double *p);

/* Same, and *method (may be NULL) receives BALDRO_KS_EXACT, _ASYMP or _EXACT_FALLBACK. */
int baldro_ks_2samp_ex(const double *x, size_t nx, const double *y, size_t ny, double *D, double *p,
                       int *method);

/* scipy.stats.kstwo.sf(d, n): Pr(D_n >= d) for the two-sided one-sample statistic with n
 * observations; 1 for d <= 0.5/n, 0 for d >= 1, NaN for n < 1 or a NaN d. */
double baldro_kstwo_sf(double d, int64_t n);

#endif

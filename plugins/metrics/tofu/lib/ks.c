/*
 * plugins/metrics/tofu/lib/ks.c: the two-sample Kolmogorov-Smirnov test of scipy.stats.ks_2samp
 * (two-sided, method "auto"); ks.h describes the method and how it follows scipy.
 *
 * The exact branch is written so that every floating-point operation is the one scipy performs,
 * in the same order, on the same doubles: the result is scipy's to the bit, including the
 * cases where rounding pushes it outside [0, 1] and scipy falls back to the asymptotic branch.
 * Do not "simplify" those expressions (reassociating, hoisting 1/x, fusing into fma).
 */
#include "ks.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ISO C: no contraction of a*b+c into fma (GCC already does not contract under -std=c11). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define KS_PI  3.141592653589793238462643383279502884
#define KS_LN2 0.693147180559055309417232121458176568

/* ---- sorting and the statistic -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

static int check_sample(const double *x, size_t n) {
    if (n == 0 || !x) return BALDRO_KS_EEMPTY;
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) return BALDRO_KS_ENAN;
    return 0;
}

static double *sorted_copy(const double *x, size_t n) {
    double *c = malloc(n * sizeof *c);
    if (!c) return NULL;
    memcpy(c, x, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    return c;
}

/*
 * The ECDF differences i/nx - j/ny at every distinct pooled value (i, j: how many of x, y are
 * <= it); D is the larger of the largest difference and minus the smallest, as scipy picks it
 * (the negative side only when strictly larger).
 */
static double statistic_sorted(const double *x, size_t nx, const double *y, size_t ny) {
    const double fx = (double)nx, fy = (double)ny;
    double dmax = -INFINITY, dmin = INFINITY;
    size_t i = 0, j = 0;
    while (i < nx || j < ny) {
        double v;
        if (j >= ny || (i < nx && x[i] <= y[j]))
            v = x[i];
        else
            v = y[j];
        while (i < nx && x[i] <= v) i++;
        while (j < ny && y[j] <= v) j++;
        double diff = (double)i / fx - (double)j / fy;
        if (diff > dmax) dmax = diff;
        if (diff < dmin) dmin = diff;
    }
    double neg = -dmin;
    if (neg < 0) neg = 0;
    if (neg > 1) neg = 1;
    return neg > dmax ? neg : dmax;
}

/* Sorted copies of both samples, and the difference statistic; 0 or an error code. */
static int raw_statistic(const double *x, size_t nx, const double *y, size_t ny, double *d) {
    int rc = check_sample(x, nx);
    if (!rc) rc = check_sample(y, ny);
    if (rc) return rc;
    double *xs = sorted_copy(x, nx), *ys = sorted_copy(y, ny);
    if (xs && ys)
        *d = statistic_sorted(xs, nx, ys, ny);
    else
        rc = BALDRO_KS_ENOMEM;
    free(xs);
    free(ys);
    return rc;
}

/* ---- exact two-sample probabilities (double, scipy's operation order) ----------------- */

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* floor(a / b) and ceil(a / b) for b > 0 and any sign of a. */
static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b) {
    return -floor_div(-a, b);
}

/*
 * Equal sizes n: Pr(D_{n,n} >= h/n) = 2 sum_{k>=1} (-1)^(k-1) C(2n, n-kh) / C(2n, n). With
 * A_k = prod_{j<h} (n-kh-j)/(n+kh+j+1), the k-th ratio is A_0 A_1 ... A_{k-1}, so the sum is
 * A_0 (1 - A_1 (1 - A_2 (...))), evaluated from k = floor(n/h) down as P <- A_k (1 - P).
 */
static double prob_outside_square(int64_t n, int64_t h) {
    double P = 0.0;
    for (int64_t k = n / h; k >= 0; k--) {
        double a = 1.0;
        for (int64_t j = 0; j < h; j++) {
            double num = (double)(n - k * h - j), den = (double)(n + k * h + j + 1);
            a = num * a / den;
        }
        P = a * (1.0 - P);
    }
    return 2 * P;
}

/*
 * Unequal sizes: the probability that a uniformly random lattice path from (0,0) to (m,n)
 * (m >= n after swapping) leaves the band |x/m - y/n| < h/lcm at some point. Column i of
 * the path grid is kept only over the window [lo, hi) of rows inside the band; a cell (i, j)
 * holds the probability that a uniformly random path from (0,0) to (i,j) has left the band,
 * so cells outside the band count as 1. Such a path arrives from (i-1, j) with probability
 * i/(i+j) and from (i, j-1) with probability j/(i+j). The window of the first column is
 * [0, ceil(h/(m/g))), and scipy's storage of min(2 hi + 2, n + 1) cells always holds it
 * (checked exhaustively for m, n <= 25 and on 15000 random (m, n, h) up to 300).
 * Returns 0, or BALDRO_KS_ENOMEM when the window storage cannot be allocated.
 */
static int prob_outside_band(int64_t m, int64_t n, int64_t g, int64_t h, double *out) {
    if (m < n) {
        int64_t t = m;
        m = n;
        n = t;
    }
    const int64_t mg = m / g, ng = n / g;
    int64_t lo = 0, hi = ceil_div(h, mg);
    if (hi > n + 1) hi = n + 1;
    int64_t len = hi - lo;
    int64_t cap = 2 * hi + 2;
    if (cap > n + 1) cap = n + 1;
    double *A = malloc((size_t)cap * sizeof *A);
    if (!A) return BALDRO_KS_ENOMEM;
    for (int64_t c = 0; c < cap; c++) A[c] = (c < hi) ? 0.0 : 1.0;
    double result = 1.0;
    int left_early = 0;
    for (int64_t i = 1; i <= m; i++) {
        const int64_t prev_lo = lo, prev_len = len;
        lo = floor_div(ng * i - h, mg) + 1;
        if (lo < 0) lo = 0;
        if (lo > n) lo = n;
        hi = ceil_div(ng * i + h, mg);
        if (hi > n + 1) hi = n + 1;
        if (hi <= lo) {
            left_early = 1; /* the band closes: every path leaves it */
            break;
        }
        const int64_t shift = lo - prev_lo;
        const double fi = (double)i;
        double below = (lo == 0) ? 0.0 : 1.0;
        for (int64_t c = 0; c < hi - lo; c++) {
            const int64_t j = c + lo;
            below = (A[c + shift] * fi + below * (double)j) / (double)(i + j);
            A[c] = below;
        }
        len = hi - lo;
        for (int64_t c = len; c < prev_len; c++) A[c] = 1.0;
    }
    if (!left_early) result = A[hi - lo - 1];
    free(A);
    *out = result;
    return 0;
}

/* ---- the one-sample two-sided distribution kstwo (scipy's kolmogn regions) ------------- */

static double clip01(double p) {
    if (p < 0) return 0.0;
    if (p > 1) return 1.0;
    return p; /* NaN passes through */
}

/* log(n! / n^n) by Stirling's series with the n log n term cancelled analytically. */
static double log_nfact_over_npow(double n) {
    static const double c[8] = {-2.955065359477124183e-2,  6.4102564102564102564e-3,
                                -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                -5.952380952380952381e-4,  7.9365079365079365079e-4,
                                -2.7777777777777777778e-3, 8.3333333333333333333e-2};
    const double r = 1.0 / n, u = r / n;
    double s = 0.0;
    for (int i = 0; i < 8; i++) s = s * u + c[i];
    return log(n) / 2 - n + log(2 * KS_PI) / 2 + r * s;
}

/*
 * Pr(D_n < d) by Durbin's matrix (Marsaglia, Tsang & Wang 2003): with n d = k - f,
 * k integer, 0 <= f < 1 and m = 2k - 1, the CDF is n!/n^n (H^n)[k-1][k-1] for the m x m
 * matrix H[r][c] = 1/(r-c+1)! (r >= c-1) whose first column and last row carry the
 * boundary corrections (1 - f^(r+1))/(r+1)! and whose corner is (1 - 2 f^m + max(0,
 * 2f-1)^m)/m!. Long double, with power-of-two rescaling of the matrices and of the final
 * factorial product (n!/n^n underflows long double near n = 1e5). NaN when out of memory.
 */
static void matmul_ld(long double *restrict C, const long double *A, const long double *B, int m) {
    for (int r = 0; r < m; r++) {
        long double *row = C + (size_t)r * m;
        for (int c = 0; c < m; c++) row[c] = 0;
        for (int t = 0; t < m; t++) {
            const long double a = A[(size_t)r * m + t];
            if (a == 0) continue;
            const long double *b = B + (size_t)t * m;
            for (int c = 0; c < m; c++) row[c] += a * b[c];
        }
    }
}

static void rescale_ld(long double *M, int m, int64_t *expo) {
    int e;
    frexpl(M[(size_t)((m - 1) / 2) * m + (m - 1) / 2], &e);
    if (e > 1024 || e < -1024) {
        for (size_t q = 0; q < (size_t)m * m; q++) M[q] = ldexpl(M[q], -e);
        *expo += e;
    }
}

static double durbin_cdf(int64_t n, double d) {
    if (d >= 1.0) return 1.0;
    const double nd = (double)n * d;
    if (nd <= 0.5) return 0.0;
    const int k = (int)ceil(nd);
    const long double f = (long double)((double)k - nd);
    const int m = 2 * k - 1;
    const size_t mm = (size_t)m * m;
    long double *buf = calloc(4 * mm + (size_t)m + 1, sizeof *buf);
    if (!buf) return NAN;
    long double *H = buf, *P = buf + mm, *T = buf + 2 * mm, *v = buf + 3 * mm;
    long double *inv_fact = buf + 4 * mm; /* 1/j!, j = 0..m */
    inv_fact[0] = 1;
    for (int j = 1; j <= m; j++) inv_fact[j] = inv_fact[j - 1] / j;
    for (int r = 0; r < m; r++)
        for (int c = 1; c < m; c++)
            if (r - c + 1 >= 0) H[(size_t)r * m + c] = inv_fact[r - c + 1];
    long double fp = 1;
    for (int r = 0; r < m; r++) {
        fp *= f; /* f^(r+1) */
        v[r] = (1 - fp) * inv_fact[r + 1];
    }
    const long double two_f_1 = 2 * f - 1;
    v[m - 1] = (1 - 2 * fp + (two_f_1 > 0 ? powl(two_f_1, m) : 0)) * inv_fact[m];
    for (int r = 0; r < m; r++) H[(size_t)r * m] = v[r];
    for (int c = 0; c < m; c++) H[(size_t)(m - 1) * m + c] = v[m - 1 - c];

    for (int r = 0; r < m; r++) P[(size_t)r * m + r] = 1;
    int64_t eP = 0, eH = 0;
    for (int64_t e = n; e > 0; e >>= 1) {
        if (e & 1) {
            matmul_ld(T, P, H, m);
            memcpy(P, T, mm * sizeof *P);
            eP += eH;
            rescale_ld(P, m, &eP);
        }
        if (e > 1) {
            matmul_ld(T, H, H, m);
            memcpy(H, T, mm * sizeof *H);
            eH *= 2;
            rescale_ld(H, m, &eH);
        }
    }
    long double p = P[(size_t)(k - 1) * m + (k - 1)];
    free(buf);
    const long double ln = (long double)n;
    for (int64_t i = 1; i <= n; i++) {
        p = p * (long double)i / ln;
        if (p < 0x1p-1024L && p > 0) {
            p = ldexpl(p, 1024);
            eP -= 1024;
        }
    }
    if (eP < -20000) return 0.0;
    if (eP > 20000) return 1.0;
    return clip01((double)ldexpl(p, (int)eP));
}

/*
 * Pelz & Good's (1976) approximation of Pr(D_n <= x) for large n: the Li-Chien/Korolyuk
 * expansion K0 + K1/sqrt(n) + K2/n + K3/n^1.5 in z = x sqrt(n), each K_i written through
 * the Jacobi theta transformation as sums over odd m = 2k-1 of polynomials in m^2 times
 * q^(m^2), q = exp(-pi^2/(8 z^2)), plus the sums over all k of q'^(k^2),
 * q' = exp(-pi^2/(2 z^2)), in K2 and K3. The same truncation (k <= ceil(16 z/pi)) as scipy.
 */
static double pelz_good_cdf(int64_t n, double x) {
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    const double pi2 = pow(KS_PI, 2), pi4 = pow(KS_PI, 4), pi6 = pow(KS_PI, 6);
    const double s2pi = sqrt(2 * KS_PI);
    const double z = sqrt((double)n) * x;
    const double z2 = pow(z, 2), z3 = pow(z, 3), z4 = pow(z, 4), z6 = pow(z, 6);
    const double qlog = -pi2 / 8 / z2;
    if (qlog < -708) return 0.0;
    double q = exp(qlog);
    /* K_i(z) series coefficients as polynomials in m^2 */
    const double a1 = -z2, b1 = pi2 / 4;
    const double a2 = 6 * z6 + 2 * z4, b2 = (2 * z4 - 5 * z2) * pi2 / 4,
                 c2 = pi4 * (1 - 2 * z2) / 16;
    const double d3 = pi6 * (5 - 30 * z2) / 64, c3 = pi4 * (-60 * z2 + 212 * z4) / 16,
                 b3 = pi2 * (135 * z4 - 96 * z6) / 4, a3 = -30 * z6 - 90 * pow(z, 8);
    double K[4] = {0, 0, 0, 0};
    const int64_t kmax = (int64_t)ceil(16 * z / KS_PI);
    for (int64_t k = kmax; k >= 1; k--) {
        const double mo = (double)(2 * k - 1);
        const double mo2 = mo * mo, mo4 = mo2 * mo2, mo6 = mo4 * mo2;
        const double qp = pow(q, (double)(8 * k));
        const double term[4] = {1.0, a1 + b1 * mo2, a2 + b2 * mo2 + c2 * mo4,
                                a3 + b3 * mo2 + c3 * mo4 + d3 * mo6};
        for (int i = 0; i < 4; i++) K[i] = K[i] * qp + term[i];
    }
    const double div[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
    for (int i = 0; i < 4; i++) K[i] = K[i] * q * s2pi / div[i];
    q = exp(-pi2 / 2 / z2);
    const double s3z = sqrt(3.0) * z;
    double e2 = 0, e3 = 0;
    for (int64_t k = kmax; k >= 1; k--) {
        const double kk = (double)(k * k);
        const double w = kk * pow(q, kk);
        const double kpi = KS_PI * (double)k;
        e2 += w;
        e3 += (s3z + kpi) * (s3z - kpi) * w;
    }
    K[2] += e2 * (pi2 * s2pi / (-36 * z3));
    K[3] += e3 * (pi2 * s2pi / (216 * z6));
    const double dn = (double)n;
    const double npow[4] = {1.0, pow(dn, 0.5), dn, pow(dn, 1.5)};
    double sum = 0;
    for (int i = 0; i < 4; i++) sum += K[i] / npow[i];
    return sum;
}

/*
 * Smirnov's one-sided Pr(D_n^+ >= x) (Birnbaum & Tingey 1951):
 *   x sum_{0 <= v < n(1-x)} C(n,v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1),
 * all terms positive, summed in long double from their logarithms (a running log-sum-exp).
 * n x is split exactly into a double pair so that 1 - x - v/n keeps its relative precision
 * when it is tiny. For n > 1e6, scipy's approximation exp(-(6nx+1)^2/(18n)).
 */
static double smirnov_sf(int64_t n, double x) {
    if (!(n > 0 && x >= 0.0 && x <= 1.0)) return NAN;
    if (n == 1) return 1 - x;
    if (x == 0.0) return 1.0;
    if (x == 1.0) return 0.0;
    const double dn = (double)n;
    const double nx_hi = dn * x, nx_lo = fma(dn, x, -nx_hi);
    double fl = floor(nx_hi);
    long double frac = ((long double)nx_hi - fl) + nx_lo;
    if (frac < 0) {
        fl -= 1;
        frac += 1;
    } else if (frac >= 1) {
        fl += 1;
        frac -= 1;
    }
    const int64_t nxfl = (int64_t)fl;
    if (nxfl == 0 || (nxfl == 1 && frac == 0)) /* x <= 1/n */
        return (double)(1 - (long double)x * powl(1 + (long double)x, (long double)(n - 1)));
    if (-2 * dn * x * x < -7.451332191019412076235e2) return 0.0;
    if (nxfl >= n - 1) return (double)powl(1 - (long double)x, (long double)n);
    if (n > 1000000) {
        const double logp = -pow(6.0 * dn * x + 1, 2) / 18.0 / dn;
        if (logp < -KS_LN2) return exp(logp);
        return 1 - (-expm1(logp));
    }
    const long double ldn = (long double)n, lnx = (long double)nx_hi + nx_lo;
    const int64_t last = n - nxfl - 1; /* the largest v with v < n - n x */
    /* log C(n, v), summed with Kahan compensation: the plain running sum reaches ~n and
     * its rounding errors would accumulate to ~1e-11 relative for n near 1e6. */
    long double log_binom = 0, comp = 0;
    long double lmax = -INFINITY, acc = 0;
    for (int64_t v = 0; v <= last; v++) {
        if (v > 0) {
            const long double inc = logl((long double)(n - v + 1) / (long double)v) - comp;
            const long double next = log_binom + inc;
            comp = (next - log_binom) - inc;
            log_binom = next;
        }
        const long double base1 = (((long double)(n - v) - nx_hi) - nx_lo) / ldn;
        const long double base2 = ((long double)v + lnx) / ldn;
        const long double lt =
            log_binom + (long double)(n - v) * logl(base1) + (long double)(v - 1) * logl(base2);
        if (lt > lmax) {
            acc = acc * expl(lmax - lt) + 1;
            lmax = lt;
        } else {
            acc += expl(lt - lmax);
        }
    }
    const long double lres = lmax + logl(acc) + logl((long double)x);
    return (double)expl(lres);
}

/* kolmogn(n, x, cdf=False) of scipy/stats/_ksstats.py, for 0 < x < 1: the regions and
 * their double-precision boundary tests are scipy's. */
static double kolmogn_sf(int64_t n, double x) {
    if (x >= 1.0) return 0.0;
    if (x <= 0.0) return 1.0;
    const double dn = (double)n;
    const double t = dn * x;
    if (t <= 1.0) { /* Ruben & Gambino: CDF = n!/n^n (2t-1)^n for 1/(2n) <= x <= 1/n */
        if (t <= 0.5) return 1.0;
        const double w = 2 * t - 1;
        double prob;
        if (n <= 140) {
            prob = 1.0;
            for (int64_t i = 1; i <= n; i++) prob *= (double)i * (1.0 / dn) * w;
        } else {
            prob = exp(log_nfact_over_npow(dn) + dn * log(w));
        }
        return clip01(1.0 - prob);
    }
    if (t >= dn - 1) /* Ruben & Gambino: SF = 2 (1-x)^n for x >= 1 - 1/n */
        return clip01(2 * pow(1.0 - x, dn));
    if (x >= 0.5) /* D+ >= x and D- >= x are disjoint: exactly 2 Smirnov */
        return clip01(2 * smirnov_sf(n, x));
    const double nxx = t * x;
    if (n <= 140) {
        if (nxx <= 4) return clip01(1.0 - durbin_cdf(n, x)); /* scipy: Durbin, then Pomeranz */
        return clip01(2 * smirnov_sf(n, x));                 /* Miller's approximation */
    }
    if (nxx >= 370.0) return 0.0;
    if (nxx >= 2.2) return clip01(2 * smirnov_sf(n, x));
    double cdf;
    if (nxx >= 18.0)
        cdf = 1.0;
    else if (n <= 100000 && dn * pow(x, 1.5) <= 1.4)
        cdf = durbin_cdf(n, x);
    else
        cdf = pelz_good_cdf(n, x);
    return clip01(1.0 - cdf);
}

double baldro_kstwo_sf(double d, int64_t n) {
    if (n < 1 || isnan(d)) return NAN;
    if (d <= 0.5 / (double)n) return 1.0;
    if (d >= 1.0) return 0.0;
    return kolmogn_sf(n, d);
}

/* ---- the test -------------------------------------------------------------------------- */

static int uses_exact(size_t nx, size_t ny) {
    return nx <= BALDRO_KS_MAX_EXACT_N && ny <= BALDRO_KS_MAX_EXACT_N;
}

/* D on the lattice of the exact branch: h = round-half-even(d L), L = lcm(n1, n2); the
 * statistic reported is then h / L, the exact rational sup rounded once. */
static int64_t lattice_h(double d, int64_t n1, int64_t n2, int64_t *lcm) {
    *lcm = (n1 / gcd64(n1, n2)) * n2;
    return (int64_t)rint(d * (double)*lcm);
}

double baldro_ks_statistic(const double *x, size_t nx, const double *y, size_t ny) {
    double d = NAN;
    if (raw_statistic(x, nx, y, ny, &d)) return NAN;
    if (uses_exact(nx, ny)) {
        int64_t lcm;
        const int64_t h = lattice_h(d, (int64_t)nx, (int64_t)ny, &lcm);
        d = (double)h / (double)lcm;
    }
    return d;
}

int baldro_ks_2samp_ex(const double *x, size_t nx, const double *y, size_t ny, double *D, double *p,
                       int *method) {
    if (D) *D = NAN;
    if (p) *p = NAN;
    if (method) *method = BALDRO_KS_EXACT;
    double d = NAN;
    const int rc = raw_statistic(x, nx, y, ny, &d);
    if (rc) return rc;

    const int64_t n1 = (int64_t)nx, n2 = (int64_t)ny;
    int how = uses_exact(nx, ny) ? BALDRO_KS_EXACT : BALDRO_KS_ASYMP;
    double prob = NAN;
    if (how == BALDRO_KS_EXACT) {
        const int64_t g = gcd64(n1, n2);
        int64_t lcm;
        const int64_t h = lattice_h(d, n1, n2, &lcm);
        d = (double)h / (double)lcm;
        if (h == 0)
            prob = 1.0;
        else if (n1 == n2)
            prob = prob_outside_square(n1, h);
        else if (prob_outside_band(n1, n2, g, h, &prob))
            return BALDRO_KS_ENOMEM;
        if (!(prob >= 0 && prob <= 1)) how = BALDRO_KS_EXACT_FALLBACK;
    }
    if (how != BALDRO_KS_EXACT) {
        const double a = (double)(n1 > n2 ? n1 : n2), b = (double)(n1 > n2 ? n2 : n1);
        const double en = a * b / (a + b);
        prob = baldro_kstwo_sf(d, (int64_t)rint(en));
        if (isnan(prob)) return BALDRO_KS_ENOMEM; /* only an allocation can fail there */
    }
    if (D) *D = d;
    if (p) *p = clip01(prob);
    if (method) *method = how;
    return 0;
}

int baldro_ks_2samp(const double *x, size_t nx, const double *y, size_t ny, double *D, double *p) {
    return baldro_ks_2samp_ex(x, nx, y, ny, D, p, NULL);
}

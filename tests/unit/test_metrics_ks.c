/*
 * The two-sample Kolmogorov-Smirnov test of TOFU's forget quality
 * (plugins/metrics/tofu/lib/ks.c) against scipy: tests/fixtures/metrics/ks.json, written by
 * tests/oracle/metrics_oracle.py with scipy.stats.ks_2samp(x, y) (two-sided, method "auto")
 * and scipy.stats.kstwo.sf(d, n) (the asymptotic branch's distribution). Required:
 *   D equal to scipy's (==), the method (exact / asymptotic / exact then fallback) scipy's,
 *   p within 1e-10 relative (floored at DBL_MIN for subnormal and zero p: see p_ok).
 * Plus hand cases: identical samples, single elements, symmetry, untouched inputs, +-Inf,
 * error codes. The fixture test logs the largest relative p error and the time per call on
 * the TOFU-sized case (400 vs 400).
 */
#include <criterion/criterion.h>
#include <float.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "ks.h"

#define FIXTURE BALDRO_TEST_FIXTURES "/metrics/ks.json"
#define P_RTOL  1e-10

static double rel_err(double got, double want) {
    if (got == want) return 0.0;
    return fabs(got - want) / fabs(want);
}

/*
 * The p-value rule: |got - want| <= 1e-10 max(|want|, DBL_MIN), i.e. 1e-10 relative wherever
 * scipy's p is a normal double. Below DBL_MIN (2.2e-308) a double has fewer than 52
 * significant bits, so relative 1e-10 is not representable there; the floor makes the bound
 * 2.2e-318 absolute, which is stricter than "0 or < 1e-300" for a p that scipy rounds to 0.
 * (Subnormal p occur in the fixture: below_515x515 in the exact branch, bit-equal to scipy,
 * and kstwo.sf near N D^2 = 369, where scipy's Smirnov sum, ldexp'ing each term into the
 * subnormal range, is off by ~4% from a 40-digit evaluation and this code by < 1 ulp.)
 */
static int p_ok(double got, double want) {
    if (!(got >= 0.0 && got <= 1.0)) return 0;
    return fabs(got - want) <= P_RTOL * fmax(fabs(want), DBL_MIN);
}

static JsonParser *load_fixture(JsonObject **root) {
    JsonParser *parser = json_parser_new();
    GError *err = NULL;
    cr_assert(json_parser_load_from_file(parser, FIXTURE, &err), "%s: %s", FIXTURE,
              err ? err->message : "?");
    *root = json_node_get_object(json_parser_get_root(parser));
    return parser;
}

static double *doubles(JsonObject *o, const char *key, size_t *n) {
    JsonArray *a = json_object_get_array_member(o, key);
    cr_assert(a, "missing array %s", key);
    *n = json_array_get_length(a);
    double *v = g_new(double, *n ? *n : 1);
    for (size_t i = 0; i < *n; i++) v[i] = json_array_get_double_element(a, (guint)i);
    return v;
}

static int method_code(const char *m) {
    if (!strcmp(m, "exact")) return BALDRO_KS_EXACT;
    if (!strcmp(m, "asymp")) return BALDRO_KS_ASYMP;
    if (!strcmp(m, "exact_fallback")) return BALDRO_KS_EXACT_FALLBACK;
    cr_assert_fail("unknown method %s", m);
    return -1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

Test(metrics_ks, fixture_matches_scipy, .timeout = 120) {
    JsonObject *root;
    JsonParser *parser = load_fixture(&root);
    cr_assert_eq(json_object_get_int_member(root, "max_auto_n"), BALDRO_KS_MAX_EXACT_N,
                 "scipy's MAX_AUTO_N changed: re-read ks_2samp");
    JsonArray *cases = json_object_get_array_member(root, "cases");
    const guint ncases = json_array_get_length(cases);
    cr_assert_gt(ncases, 80);
    double worst = 0.0;
    const char *worst_name = "";
    int failures = 0, seen_method[3] = {0, 0, 0}, tofu_seen = 0, bit_equal = 0;
    for (guint c = 0; c < ncases; c++) {
        JsonObject *o = json_array_get_object_element(cases, c);
        const char *name = json_object_get_string_member(o, "name");
        size_t nx, ny;
        double *x = doubles(o, "x", &nx), *y = doubles(o, "y", &ny);
        cr_assert_eq(nx, (size_t)json_object_get_int_member(o, "n1"), "%s", name);
        cr_assert_eq(ny, (size_t)json_object_get_int_member(o, "n2"), "%s", name);
        const double wD = json_object_get_double_member(o, "D");
        const double wp = json_object_get_double_member(o, "p");
        const int wm = method_code(json_object_get_string_member(o, "method"));
        double *x0 = g_memdup2(x, nx * sizeof *x), *y0 = g_memdup2(y, ny * sizeof *y);

        double D = -1, p = -1;
        int m = -1;
        const int rc = baldro_ks_2samp_ex(x, nx, y, ny, &D, &p, &m);
        const double stat = baldro_ks_statistic(x, nx, y, ny);
        double D2 = -1, p2 = -1;
        const int rc2 = baldro_ks_2samp(x, nx, y, ny, &D2, &p2);
        int ok = rc == 0 && rc2 == 0 && D == wD && stat == wD && m == wm && p_ok(p, wp) &&
                 D2 == D && p2 == p;
        ok = ok && !memcmp(x, x0, nx * sizeof *x) && !memcmp(y, y0, ny * sizeof *y);
        cr_expect(ok,
                  "%s (%zu x %zu): rc %d, D %.17g (statistic %.17g) want %.17g, p %.17g want "
                  "%.17g (rel %.3g), method %d want %d",
                  name, nx, ny, rc, D, stat, wD, p, wp, wp ? rel_err(p, wp) : p, m, wm);
        failures += !ok;
        seen_method[wm]++;
        if (m == BALDRO_KS_EXACT) bit_equal += p == wp;
        if (wp >= DBL_MIN && rel_err(p, wp) > worst) {
            worst = rel_err(p, wp);
            worst_name = name;
        }
        if (!strcmp(name, "tofu_400_moderate")) {
            tofu_seen = 1;
            const int reps = 2000;
            int same = 0;
            const double t0 = now_s();
            for (int r = 0; r < reps; r++) {
                double Dr, pr;
                same += baldro_ks_2samp(x, nx, y, ny, &Dr, &pr) == 0 && Dr == D && pr == p;
            }
            const double us = (now_s() - t0) / reps * 1e6;
            cr_assert_eq(same, reps);
            cr_log_info("400 x 400 (TOFU forget10 size): %.1f us per baldro_ks_2samp call", us);
        }
        g_free(x);
        g_free(y);
        g_free(x0);
        g_free(y0);
    }
    cr_assert_eq(failures, 0, "%d of %u cases differ from scipy", failures, ncases);
    cr_assert(seen_method[BALDRO_KS_EXACT] && seen_method[BALDRO_KS_ASYMP] &&
              seen_method[BALDRO_KS_EXACT_FALLBACK]);
    cr_assert(tofu_seen);
    cr_log_info("%u ks_2samp cases (%d exact, %d of them bit-equal to scipy; %d asymptotic; "
                "%d exact->asymptotic): largest relative p error %.3g (%s)",
                ncases, seen_method[0], bit_equal, seen_method[1], seen_method[2], worst,
                worst_name);
    g_object_unref(parser);
}

Test(metrics_ks, kstwo_sf_matches_scipy, .timeout = 120) {
    JsonObject *root;
    JsonParser *parser = load_fixture(&root);
    JsonArray *rows = json_object_get_array_member(root, "kstwo_sf");
    const guint n = json_array_get_length(rows);
    cr_assert_gt(n, 200);
    double worst = 0.0, worst_sub = 0.0;
    int failures = 0;
    for (guint i = 0; i < n; i++) {
        JsonObject *o = json_array_get_object_element(rows, i);
        const int64_t N = json_object_get_int_member(o, "n");
        const double d = json_object_get_double_member(o, "d");
        const double want = json_object_get_double_member(o, "sf");
        const double got = baldro_kstwo_sf(d, N);
        const int ok = p_ok(got, want);
        cr_expect(ok, "kstwo.sf(%.17g, %" G_GINT64_FORMAT ") [%s]: %.17g want %.17g (rel %.3g)", d,
                  (gint64)N, json_object_get_string_member(o, "region"), got, want,
                  rel_err(got, want));
        failures += !ok;
        if (want >= DBL_MIN && rel_err(got, want) > worst) worst = rel_err(got, want);
        if (want < DBL_MIN && fabs(got - want) > worst_sub) worst_sub = fabs(got - want);
    }
    cr_assert_eq(failures, 0, "%d of %u kstwo.sf points differ from scipy", failures, n);
    cr_log_info("%u kstwo.sf points: largest relative error %.3g (sf >= DBL_MIN), largest "
                "absolute error %.3g (sf < DBL_MIN)",
                n, worst, worst_sub);
    g_object_unref(parser);
}

Test(metrics_ks, identical_samples_give_one) {
    const double x[6] = {0.3, -1.0, 2.5, 0.3, 7.0, 1e-9};
    double D = -1, p = -1;
    cr_assert_eq(baldro_ks_2samp(x, 6, x, 6, &D, &p), 0);
    cr_assert_eq(D, 0.0);
    cr_assert_eq(p, 1.0);
    /* the same ECDF from a sample and its doubled copy */
    const double xx[12] = {0.3, -1.0, 2.5, 0.3, 7.0, 1e-9, 0.3, -1.0, 2.5, 0.3, 7.0, 1e-9};
    cr_assert_eq(baldro_ks_2samp(x, 6, xx, 12, &D, &p), 0);
    cr_assert_eq(D, 0.0);
    cr_assert_eq(p, 1.0);
    const double c1[4] = {2, 2, 2, 2}, c2[3] = {2, 2, 2};
    cr_assert_eq(baldro_ks_2samp(c1, 4, c2, 3, &D, &p), 0);
    cr_assert_eq(D, 0.0);
    cr_assert_eq(p, 1.0);
}

Test(metrics_ks, single_elements) {
    const double a = 1.0, b = 2.0;
    double D = -1, p = -1;
    int m = -1;
    /* 1 vs 1: D = 1, both orders of two points equally likely, p = 1 */
    cr_assert_eq(baldro_ks_2samp_ex(&a, 1, &b, 1, &D, &p, &m), 0);
    cr_assert_eq(D, 1.0);
    cr_assert_eq(p, 1.0);
    cr_assert_eq(m, BALDRO_KS_EXACT);
    cr_assert_eq(baldro_ks_2samp(&a, 1, &a, 1, &D, &p), 0);
    cr_assert_eq(D, 0.0);
    cr_assert_eq(p, 1.0);
    /* 1 vs {0, 2}: D = 1/2, and every arrangement reaches it: p = 1 (scipy 1.0) */
    const double y[2] = {0.0, 2.0};
    cr_assert_eq(baldro_ks_2samp(&a, 1, y, 2, &D, &p), 0);
    cr_assert_eq(D, 0.5);
    cr_assert_eq(p, 1.0);
    /* 1 vs {2, 3}: D = 1; of the 3 places for the single x, the two ends reach D = 1:
     * p = 2/3 (scipy 0.6666666666666666) */
    const double z[2] = {2.0, 3.0};
    cr_assert_eq(baldro_ks_2samp(&a, 1, z, 2, &D, &p), 0);
    cr_assert_eq(D, 1.0);
    cr_assert_eq(p, 0.6666666666666666, "p %.17g", p);
}

Test(metrics_ks, symmetric_in_the_samples) {
    JsonObject *root;
    JsonParser *parser = load_fixture(&root);
    JsonArray *cases = json_object_get_array_member(root, "cases");
    for (guint c = 0; c < json_array_get_length(cases); c++) {
        JsonObject *o = json_array_get_object_element(cases, c);
        size_t nx, ny;
        double *x = doubles(o, "x", &nx), *y = doubles(o, "y", &ny);
        double D1, p1, D2, p2;
        int m1, m2;
        cr_assert_eq(baldro_ks_2samp_ex(x, nx, y, ny, &D1, &p1, &m1), 0);
        cr_assert_eq(baldro_ks_2samp_ex(y, ny, x, nx, &D2, &p2, &m2), 0);
        cr_assert(D1 == D2 && p1 == p2 && m1 == m2,
                  "%s: (x, y) D %.17g p %.17g, (y, x) D %.17g p %.17g",
                  json_object_get_string_member(o, "name"), D1, p1, D2, p2);
        g_free(x);
        g_free(y);
    }
    g_object_unref(parser);
}

Test(metrics_ks, inputs_unmodified_and_rank_invariant) {
    /* unsorted, with ties and signed zeros; Inf are ordinary values at the ends */
    double x[7] = {3.0, -0.0, 1.5, INFINITY, 0.0, -2.0, 1.5};
    double y[5] = {-INFINITY, 2.0, 1.5, 8.0, -1.0};
    double x0[7], y0[5];
    memcpy(x0, x, sizeof x);
    memcpy(y0, y, sizeof y);
    double D, p;
    cr_assert_eq(baldro_ks_2samp(x, 7, y, 5, &D, &p), 0);
    cr_assert(!memcmp(x, x0, sizeof x) && !memcmp(y, y0, sizeof y));
    (void)baldro_ks_statistic(x, 7, y, 5);
    cr_assert(!memcmp(x, x0, sizeof x) && !memcmp(y, y0, sizeof y));
    /* scipy: statistic 0.2571428571428571, pvalue 0.9595959595959594 */
    cr_assert_eq(D, 0.2571428571428571, "D %.17g", D);
    cr_assert_eq(p, 0.9595959595959594, "p %.17g", p);
    /* the same ranks with finite values give the same result */
    const double xf[7] = {3.0, 0.0, 1.5, 9.0, 0.0, -2.0, 1.5};
    const double yf[5] = {-5.0, 2.0, 1.5, 8.0, -1.0};
    double Df, pf;
    cr_assert_eq(baldro_ks_2samp(xf, 7, yf, 5, &Df, &pf), 0);
    cr_assert_eq(D, Df);
    cr_assert_eq(p, pf);
    /* all of x below all of y, with infinities: D = 1, p = 2 / C(6, 3) = 0.1, which scipy's
     * recurrence rounds to 0.09999999999999999 */
    const double lo[3] = {-INFINITY, 0.0, 1.0}, hi[3] = {2.0, 3.0, INFINITY};
    cr_assert_eq(baldro_ks_2samp(lo, 3, hi, 3, &D, &p), 0);
    cr_assert_eq(D, 1.0);
    cr_assert_eq(p, 0.09999999999999999, "p %.17g", p);
}

Test(metrics_ks, error_codes) {
    const double x[3] = {1, 2, 3}, bad[3] = {1, NAN, 3};
    double D = 0, p = 0;
    int m = 7;
    cr_assert_eq(baldro_ks_2samp(x, 0, x, 3, &D, &p), BALDRO_KS_EEMPTY);
    cr_assert(isnan(D) && isnan(p));
    cr_assert_eq(baldro_ks_2samp(x, 3, x, 0, &D, &p), BALDRO_KS_EEMPTY);
    cr_assert_eq(baldro_ks_2samp(NULL, 3, x, 3, &D, &p), BALDRO_KS_EEMPTY);
    cr_assert_eq(baldro_ks_2samp(x, 3, NULL, 3, &D, &p), BALDRO_KS_EEMPTY);
    D = p = 0;
    cr_assert_eq(baldro_ks_2samp_ex(bad, 3, x, 3, &D, &p, &m), BALDRO_KS_ENAN);
    cr_assert(isnan(D) && isnan(p));
    cr_assert_eq(baldro_ks_2samp(x, 3, bad, 3, &D, &p), BALDRO_KS_ENAN);
    cr_assert(isnan(baldro_ks_statistic(x, 0, x, 3)));
    cr_assert(isnan(baldro_ks_statistic(x, 3, bad, 3)));
    cr_assert(isnan(baldro_kstwo_sf(0.3, 0)));
    cr_assert(isnan(baldro_kstwo_sf(NAN, 10)));
    /* NULL outputs are allowed */
    cr_assert_eq(baldro_ks_2samp(x, 3, x, 3, NULL, NULL), 0);
    cr_assert_eq(baldro_ks_2samp_ex(x, 3, x, 3, NULL, NULL, NULL), 0);
}

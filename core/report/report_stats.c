/* core/report/report_stats.c: the figures the report derives from the logs (see
 * report_internal.h): BalDRO weight quantiles per step, forget-set log-prob per step, the
 * per-sample weight table, histogram counts and the two-sample KS statistic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* Row order for grouping: by step, then item, then row number (a total order, so the
 * result does not depend on qsort's stability). */
typedef struct rp_row {
    double step;
    int64_t item;
    double w, nll;
    size_t r;
} rp_row;

static int rp_row_by_step(const void *a, const void *b) {
    const rp_row *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    return (x->r > y->r) - (x->r < y->r);
}

static int rp_row_by_item(const void *a, const void *b) {
    const rp_row *x = a, *y = b;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    return (x->r > y->r) - (x->r < y->r);
}

static int rp_double_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy's default ("linear") quantile of sorted v[0..n). */
static double rp_quantile(const double *v, size_t n, double q) {
    if (n == 0) return NAN;
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n) return v[n - 1];
    double f = pos - (double)i;
    return v[i] + f * (v[i + 1] - v[i]);
}

/* Highest mean weight first; at equal weight (no reweighting) the lowest final NLL, i.e.
 * the sample the model still knows best; then the item index, so the order is total. */
static int rp_item_cmp(const void *a, const void *b) {
    const rp_item *x = a, *y = b;
    if (x->mean_w != y->mean_w) return x->mean_w > y->mean_w ? -1 : 1;
    double nx = isnan(x->last_nll) ? INFINITY : x->last_nll;
    double ny = isnan(y->last_nll) ? INFINITY : y->last_nll;
    if (nx != ny) return nx < ny ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

void rp_dro_summarise(rp_dro *d, const double *step, const int64_t *item, const double *weight,
                      const double *nll, size_t n_rows) {
    d->n_lines = n_rows;
    if (n_rows == 0) return;
    rp_row *rows = g_new(rp_row, n_rows);
    for (size_t r = 0; r < n_rows; r++)
        rows[r] = (rp_row){.step = step[r], .item = item[r], .w = weight[r], .nll = nll[r], .r = r};

    /* Per step: weight quantiles (finite weights), -mean(nll_mean) (finite nll). */
    qsort(rows, n_rows, sizeof *rows, rp_row_by_step);
    size_t n_steps = 1;
    for (size_t r = 1; r < n_rows; r++) n_steps += rows[r].step != rows[r - 1].step;
    d->n_steps = n_steps;
    double **cols[7] = {&d->step, &d->wmin, &d->wq1, &d->wmed, &d->wq3, &d->wmax, &d->logprob};
    for (int c = 0; c < 7; c++) *cols[c] = g_new(double, n_steps);
    double *w = g_new(double, n_rows);
    d->uniform = 1;
    size_t s = 0;
    for (size_t r0 = 0; r0 < n_rows; s++) {
        size_t r1 = r0, nw = 0, nn = 0;
        double nll_sum = 0;
        while (r1 < n_rows && rows[r1].step == rows[r0].step) {
            if (isfinite(rows[r1].w)) w[nw++] = rows[r1].w;
            if (isfinite(rows[r1].nll)) {
                nll_sum += rows[r1].nll;
                nn++;
            }
            r1++;
        }
        qsort(w, nw, sizeof *w, rp_double_cmp);
        d->step[s] = rows[r0].step;
        d->wmin[s] = nw ? w[0] : NAN;
        d->wq1[s] = rp_quantile(w, nw, 0.25);
        d->wmed[s] = rp_quantile(w, nw, 0.5);
        d->wq3[s] = rp_quantile(w, nw, 0.75);
        d->wmax[s] = nw ? w[nw - 1] : NAN;
        d->logprob[s] = nn ? -nll_sum / (double)nn : NAN;
        /* Equal up to float printing: the log holds 9 significant digits. */
        if (nw && fabs(w[nw - 1] - w[0]) > 1e-7 * fmax(fabs(w[0]), 1e-30)) d->uniform = 0;
        r0 = r1;
    }
    g_free(w);

    /* Per item: mean and max weight over its lines, nll_mean at its last step. */
    qsort(rows, n_rows, sizeof *rows, rp_row_by_item);
    size_t n_items = 1;
    for (size_t r = 1; r < n_rows; r++) n_items += rows[r].item != rows[r - 1].item;
    d->items = g_new0(rp_item, n_items);
    size_t k = 0;
    for (size_t r0 = 0; r0 < n_rows; k++) {
        rp_item *it = &d->items[k];
        it->item = rows[r0].item;
        it->max_w = -INFINITY;
        double sum = 0;
        size_t nw = 0, r1 = r0;
        while (r1 < n_rows && rows[r1].item == rows[r0].item) {
            if (isfinite(rows[r1].w)) {
                sum += rows[r1].w;
                nw++;
                it->max_w = fmax(it->max_w, rows[r1].w);
            }
            it->last_nll = rows[r1].nll; /* rows are in step order within the item */
            r1++;
        }
        it->count = r1 - r0;
        it->mean_w = nw ? sum / (double)nw : NAN;
        if (!nw) it->max_w = NAN;
        r0 = r1;
    }
    d->n_items = n_items;
    /* NaN means sort last: give them -inf for the order only. */
    for (size_t i = 0; i < n_items; i++)
        if (isnan(d->items[i].mean_w)) d->items[i].mean_w = -INFINITY;
    qsort(d->items, n_items, sizeof *d->items, rp_item_cmp);
    for (size_t i = 0; i < n_items; i++)
        if (d->items[i].mean_w == -INFINITY) d->items[i].mean_w = NAN;
    g_free(rows);
}

void rp_histogram(const double *v, size_t n, double lo, double hi, size_t n_bins, double *counts) {
    memset(counts, 0, sizeof *counts * n_bins);
    double width = (hi - lo) / (double)n_bins;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || v[i] < lo || v[i] > hi) continue;
        size_t b = width > 0 ? (size_t)((v[i] - lo) / width) : 0;
        if (b >= n_bins) b = n_bins - 1;
        counts[b] += 1;
    }
}

/* The finite values of v, sorted; their count in *m. */
static double *rp_sorted_finite(const double *v, size_t n, size_t *m) {
    double *s = g_new(double, n ? n : 1);
    *m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) s[(*m)++] = v[i];
    qsort(s, *m, sizeof *s, rp_double_cmp);
    return s;
}

double baldro_report_ks_d(const double *x, size_t nx, const double *y, size_t ny) {
    size_t m = 0, k = 0;
    double *a = rp_sorted_finite(x, nx, &m), *b = rp_sorted_finite(y, ny, &k);
    double d = NAN;
    if (m && k) {
        /* Walk both empirical CDFs; at a tie both step before comparing. */
        size_t i = 0, j = 0;
        d = 0;
        while (i < m && j < k) {
            double t = fmin(a[i], b[j]);
            while (i < m && a[i] == t) i++;
            while (j < k && b[j] == t) j++;
            d = fmax(d, fabs((double)i / (double)m - (double)j / (double)k));
        }
    }
    g_free(a);
    g_free(b);
    return d;
}

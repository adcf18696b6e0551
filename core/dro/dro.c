/* core/dro/dro.c: see dro.h. */
#include "dro/dro.h"

#include <baldro/objective.h>
#include <math.h>
#include <string.h>

static int find(const char *s, const char *const *names) {
    for (int i = 0; s && names[i]; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

static const char *const k_modes[] = {"none", "dv", "group", NULL};
static const char *const k_dirs[] = {"official", "worst_case", NULL};
static const char *const k_scopes[] = {"micro", "effective", NULL};

int baldro_dro_parse_mode(const char *s) { return find(s, k_modes); }
int baldro_dro_parse_direction(const char *s) { return find(s, k_dirs); }
int baldro_dro_parse_scope(const char *s) { return find(s, k_scopes); }
const char *baldro_dro_mode_name(int mode) {
    return mode >= 0 && mode <= BALDRO_DRO_GROUP ? k_modes[mode] : "?";
}

void baldro_dro_dv(const double *L, size_t n, double tau, baldro_dro_direction dir, double *w,
                   double *F) {
    /* s_i = sign * L_i / tau; w = softmax(s); F = sign * tau * (logsumexp(s) - log n). */
    const double sign = dir == BALDRO_DRO_WORST_CASE ? 1.0 : -1.0;
    double smax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double s = sign * L[i] / tau;
        if (s > smax) smax = s;
    }
    double z = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = exp(sign * L[i] / tau - smax);
        z += w[i];
    }
    for (size_t i = 0; i < n; i++) w[i] /= z;
    *F = sign * tau * (smax + log(z) - log((double)n));
}

/* a before b in the ranking: lower NLL first, NaN (no valid token) last, ties by index. */
static int ranks_before(const double *v, int32_t a, int32_t b) {
    int an = isnan(v[a]), bn = isnan(v[b]);
    if (an != bn) return bn;
    if (!an && v[a] != v[b]) return v[a] < v[b];
    return a < b;
}

int32_t baldro_dro_group(const double *nll_mean, int32_t B, double rho, uint8_t *keep) {
    int32_t k = (int32_t)floor(rho * (double)B + 1e-9);
    if (k < 1) k = 1;
    if (k > B) k = B;
    memset(keep, 0, (size_t)B);
    /* k rounds of "best row not yet kept": B is a micro- or effective batch (tens). */
    for (int32_t j = 0; j < k; j++) {
        int32_t best = -1;
        for (int32_t i = 0; i < B; i++)
            if (!keep[i] && (best < 0 || ranks_before(nll_mean, i, best))) best = i;
        keep[best] = 1;
    }
    return k;
}

double baldro_dro_reduce(const baldro_dro_config *c, uint32_t grain, int32_t B, int32_t T,
                         const uint8_t *mask, const float *loss, const uint8_t *keep,
                         double *unit_w, double *sample_L, double *sample_w, double *scratch) {
    const int token = grain == BALDRO_GRAIN_TOKEN;
    const size_t n_units = token ? (size_t)B * (size_t)T : (size_t)B;
    memset(unit_w, 0, n_units * sizeof *unit_w);
    /* The units that take part: rows in keep with at least one valid token; for TOKEN
     * grain, each valid token of those rows. L, w and their unit index live in scratch. */
    double *L = scratch, *w = scratch + n_units, *at = scratch + 2 * n_units;
    size_t n = 0;
    double value = 0;
    for (int32_t b = 0; b < B; b++) {
        int32_t valid = 0;
        double row = 0;
        for (int32_t t = 0; t < T; t++) {
            if (!mask[(size_t)b * T + t]) continue;
            valid++;
            if (token) row += loss[(size_t)b * T + t];
        }
        sample_L[b] = valid == 0 ? 0.0 : token ? row / valid : loss[b];
        sample_w[b] = 0;
        if (valid == 0 || (keep && !keep[b])) continue;
        if (token) {
            for (int32_t t = 0; t < T; t++) {
                size_t u = (size_t)b * T + t;
                if (!mask[u]) continue;
                L[n] = loss[u];
                at[n++] = (double)u;
            }
        } else {
            L[n] = loss[b];
            at[n++] = (double)b;
        }
    }
    if (n == 0) return 0.0;
    if (c->mode == BALDRO_DRO_DV) {
        baldro_dro_dv(L, n, c->tau, c->direction, w, &value);
    } else { /* none, and group on the kept rows: the plain mean */
        for (size_t i = 0; i < n; i++) {
            w[i] = 1.0 / (double)n;
            value += L[i] * w[i];
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t u = (size_t)at[i];
        unit_w[u] = w[i];
        sample_w[token ? u / (size_t)T : u] += w[i];
    }
    return value;
}

/*
 * plugins/objectives/common/objective_util.h: helpers shared by the built-in objective
 * plugins (header-only, so each .so still depends on nothing but sdk/ and libm).
 *
 *   - input validation: one-line reasons, and the ABI 1.3 struct_size checks that a
 *     NEEDS_ALT objective must make before it touches the alt fields;
 *   - numerically stable softplus / log-sigmoid / sigmoid in double:
 *       softplus(x)    = log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
 *       log sigma(z)   = -softplus(-z)
 *       sigma(z)       = 1 / (1 + e^-z), evaluated on the side where e^(...) <= 1
 *     None of them overflows or returns NaN for a finite argument, which matters because
 *     beta * (sum of log-prob differences) reaches 1e5 and more on long answers;
 *   - per-row sums over the valid positions of a [B][T] array, in double.
 */
#ifndef BALDRO_PLUGINS_OBJECTIVE_UTIL_H
#define BALDRO_PLUGINS_OBJECTIVE_UTIL_H

#include <baldro/plugin.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* log(1 + e^x) without overflow (x large) or loss of the tail (x very negative). */
static inline double obj_softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

/* log sigma(z) = -softplus(-z). */
static inline double obj_log_sigmoid(double z) { return -obj_softplus(-z); }

/* sigma(z); exp() only ever sees a non-positive argument. */
static inline double obj_sigmoid(double z) {
    if (z >= 0.0) return 1.0 / (1.0 + exp(-z));
    const double e = exp(z);
    return e / (1.0 + e);
}

/* Checks what every objective reads: shape, logp, mask, outputs, and ref_logp when the
 * objective asked for it. Returns BALDRO_OK or BALDRO_EINVAL with a reason in err. */
static inline int obj_check_batch(const char *name, uint32_t flags,
                                  const baldro_objective_batch *in,
                                  const baldro_objective_output *out, char *err, size_t cap) {
    if (!in || !out)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: missing batch or output", name);
    if (in->B < 0 || in->T < 0)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: negative batch shape B=%d T=%d", name,
                           (int)in->B, (int)in->T);
    if ((size_t)in->B * (size_t)in->T == 0) return BALDRO_OK; /* nothing will be read */
    if (!in->logp || !in->mask || !out->loss || !out->dlogp)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: NULL logp, mask, loss or dlogp", name);
    if ((flags & BALDRO_OBJ_NEEDS_REF_LOGP) && !in->ref_logp)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "%s: needs ref_logp (BALDRO_OBJ_NEEDS_REF_LOGP) but got NULL", name);
    return BALDRO_OK;
}

/* Byte size a struct must report for a member to be present (the member's end). */
#define OBJ_END_OF(type_, member_) \
    (offsetof(type_, member_) + sizeof(((type_ *)0)->member_))

/* The ABI 1.3 part of a NEEDS_ALT call: a host older than 1.3 hands smaller structs, and
 * the alt members must then not be read at all (they lie past the host's allocation). */
static inline int obj_check_alt(const char *name, uint32_t flags,
                                const baldro_objective_batch *in,
                                const baldro_objective_output *out, char *err, size_t cap) {
    if (in->struct_size < OBJ_END_OF(baldro_objective_batch, alt_mask) ||
        out->struct_size < OBJ_END_OF(baldro_objective_output, dalt_logp))
        return BALDRO_FAIL(err, cap, BALDRO_EUNSUPPORTED,
                           "%s: needs a second answer per sample (ABI 1.3 batch fields), but the "
                           "host passed batch/output struct_size %u/%u", name,
                           (unsigned)in->struct_size, (unsigned)out->struct_size);
    if (in->T_alt < 0)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: negative T_alt=%d", name,
                           (int)in->T_alt);
    if ((size_t)in->B * (size_t)in->T_alt == 0) return BALDRO_OK;
    if (!in->alt_logp || !in->alt_mask || !out->dalt_logp || !out->loss)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "%s: NULL alt_logp, alt_mask, dalt_logp or loss", name);
    if ((flags & BALDRO_OBJ_NEEDS_REF_LOGP) && !in->alt_ref_logp)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: needs alt_ref_logp but got NULL", name);
    return BALDRO_OK;
}

/* Over the valid positions of one row: n = their count, sum of x (and of x - ref when ref
 * is not NULL, else 0). Rows are [T]; padding is never read. */
static inline int obj_row_sums(const float *x, const float *ref, const uint8_t *mask, int T,
                               double *sum_x, double *sum_diff) {
    int n = 0;
    double sx = 0.0, sd = 0.0;
    for (int t = 0; t < T; t++) {
        if (!mask[t]) continue;
        sx += (double)x[t];
        if (ref) sd += (double)x[t] - (double)ref[t];
        n++;
    }
    *sum_x = sx;
    *sum_diff = sd;
    return n;
}

/* Reads the float parameters of `spec` (all of them are FLOAT) into vals[], in spec
 * order: from v when given, else the declared defaults (a caller that runs create()
 * outside the config path). Every value must be finite and inside the declared bounds:
 * the host bounds-checks config values, but create() may be called directly (tests,
 * other hosts), and a beta of 0 would divide by zero. */
static inline int obj_read_params(const char *name, const baldro_param_spec *spec,
                                  const baldro_param_value *v, double *vals, int n_vals,
                                  char *err, size_t cap) {
    for (int i = 0; spec[i].name; i++) {
        if (i >= n_vals)
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: more than %d parameters", name,
                               n_vals);
        if (v && v[i].type != BALDRO_PARAM_FLOAT)
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: parameter %s must be a float",
                               name, spec[i].name);
        const double x = v ? v[i].f : spec[i].default_float;
        if (!isfinite(x) || (spec[i].min <= spec[i].max && (x < spec[i].min || x > spec[i].max)))
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "%s: %s = %g is outside [%g, %g]", name,
                               spec[i].name, x, spec[i].min, spec[i].max);
        vals[i] = x;
    }
    return BALDRO_OK;
}

#endif /* BALDRO_PLUGINS_OBJECTIVE_UTIL_H */

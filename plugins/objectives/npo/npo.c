/*
 * plugins/objectives/npo: NPO, SimNPO and IdkDPO, the sample-grained preference losses.
 *
 * Notation for sample i: A_i its valid answer positions, n_i = |A_i|, logp_t and ref_t the
 * current and reference log-probs, sigma the logistic function. Each loss is a softplus of
 * one scalar per sample, so its partials share one sigmoid:
 *
 *   npo     r_i = sum_{t in A_i} (logp_t - ref_t)
 *           L_i = -(2/beta) log sigma(-beta r_i) = (2/beta) softplus(beta r_i)
 *           dL_i/dlogp_t = 2 sigma(beta r_i)                     (Zhang et al. 2024)
 *   simnpo  u_i = NLL_i / n_i - delta,  NLL_i = -sum_{t in A_i} logp_t  (no reference)
 *           L_i = -(2/beta) log sigma(beta u_i) = (2/beta) softplus(-beta u_i)
 *           dL_i/dlogp_t = 2 sigma(-beta u_i) / n_i
 *   dpo     IdkDPO: the preferred ("win") answer is the alternative one, the "I don't know"
 *           answer of the same question (alt_*), the rejected ("lose") one the forget answer:
 *           m_i = sum_{alt} (alt_logp - alt_ref) - sum_{A_i} (logp - ref)
 *           L_i = -(2/beta) log sigma(beta m_i) = (2/beta) softplus(-beta m_i)
 *           dL_i/dlogp_t = 2 sigma(-beta m_i),  dL_i/dalt_logp_t = -2 sigma(-beta m_i)
 *
 * Sums and the softplus run in double: beta * r_i reaches 1e5 on long answers far from the
 * reference, where the naive log(1 + exp(.)) overflows, and log sigma of a large negative
 * argument must stay finite. A sample with no valid position (a padding row; for dpo, no
 * valid position in either answer) has loss 0 and zero partials, not the constant
 * (2/beta) log 2 that the formula gives for an empty sum: it carries no data, and a
 * constant would shift BalDRO's weights for nothing. (simnpo would otherwise divide 0/0.)
 *
 * Every objective declares gamma (weight of the forget term) and alpha (weight of the
 * retain term) for the trainer, which reads them as objectives.<name>.gamma / .alpha.
 * Built only against sdk/.
 */
#include <baldro/plugin.h>

#include <stdlib.h>

#include "../common/objective_util.h"

BALDRO_PLUGIN("objectives_npo", BALDRO_VERSION_STRING,
              "NPO, SimNPO and IdkDPO forget losses, sample-grained");

/* Bounds on beta: it divides the loss, so it must stay away from 0. */
#define BETA_MIN 1e-6
#define BETA_MAX 1e3

/* Per-run state: the parameters the loss uses (gamma/alpha are the trainer's). */
typedef struct pref_state {
    double beta;
    double delta; /* simnpo only */
} pref_state;

/* ---- parameters, in the order create() receives them ---------------------------------- */

static const baldro_param_spec npo_params[] = {
    BALDRO_PARAM_F("beta", 0.1, BETA_MIN, BETA_MAX, "inverse temperature of the NPO log-sigmoid"),
    BALDRO_PARAM_F("gamma", 1.0, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

static const baldro_param_spec simnpo_params[] = {
    BALDRO_PARAM_F("beta", 4.5, BETA_MIN, BETA_MAX, "inverse temperature of the log-sigmoid"),
    BALDRO_PARAM_F("delta", 0.0, -1e3, 1e3, "margin subtracted from the length-normalised NLL"),
    BALDRO_PARAM_F("gamma", 0.125, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

static const baldro_param_spec dpo_params[] = {
    BALDRO_PARAM_F("beta", 0.1, BETA_MIN, BETA_MAX, "inverse temperature of the DPO log-sigmoid"),
    BALDRO_PARAM_F("gamma", 1.0, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

/* create() for all three: beta is parameter 0 everywhere, delta parameter 1 of simnpo. */
static int make_state(void **state, const char *name, const baldro_param_spec *spec,
                      const baldro_param_value *params, int has_delta, char *err, size_t cap) {
    double v[4];
    int rc = obj_read_params(name, spec, params, v, 4, err, cap);
    if (rc != BALDRO_OK) return rc;
    pref_state *s = calloc(1, sizeof *s);
    if (!s) return BALDRO_FAIL(err, cap, BALDRO_ENOMEM, "%s: out of memory", name);
    s->beta = v[0];
    s->delta = has_delta ? v[1] : 0.0;
    *state = s;
    return BALDRO_OK;
}

static int npo_create(void **state, const baldro_param_value *p, char *err, size_t cap) {
    return make_state(state, "npo", npo_params, p, 0, err, cap);
}
static int simnpo_create(void **state, const baldro_param_value *p, char *err, size_t cap) {
    return make_state(state, "simnpo", simnpo_params, p, 1, err, cap);
}
static int dpo_create(void **state, const baldro_param_value *p, char *err, size_t cap) {
    return make_state(state, "dpo", dpo_params, p, 0, err, cap);
}

static void pref_destroy(void *state) { free(state); }

/* ---- losses ---------------------------------------------------------------------------- */

#define NPO_FLAGS (BALDRO_OBJ_FORGET | BALDRO_OBJ_NEEDS_REF_LOGP)
#define SIMNPO_FLAGS (BALDRO_OBJ_FORGET)
#define DPO_FLAGS (BALDRO_OBJ_FORGET | BALDRO_OBJ_NEEDS_REF_LOGP | BALDRO_OBJ_NEEDS_ALT)

/* Writes g on the valid positions of a row: row arrays are [T]. */
static void fill_row(float *d, const uint8_t *mask, int T, double g) {
    for (int t = 0; t < T; t++)
        if (mask[t]) d[t] = (float)g;
}

static int npo_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                    char *err, size_t cap) {
    int rc = obj_check_batch("npo", NPO_FLAGS, in, out, err, cap);
    if (rc != BALDRO_OK || in->T == 0) return rc; /* T = 0: every row is empty */
    const double beta = ((const pref_state *)state)->beta;
    for (int b = 0; b < in->B; b++) {
        const size_t row = (size_t)b * (size_t)in->T;
        double sum_logp, r;
        int n = obj_row_sums(in->logp + row, in->ref_logp + row, in->mask + row, in->T,
                             &sum_logp, &r);
        if (n == 0) continue; /* padding row: loss 0, partials 0 */
        out->loss[b] = (float)(2.0 / beta * obj_softplus(beta * r));
        fill_row(out->dlogp + row, in->mask + row, in->T, 2.0 * obj_sigmoid(beta * r));
    }
    return BALDRO_OK;
}

static int simnpo_loss(void *state, const baldro_objective_batch *in,
                       baldro_objective_output *out, char *err, size_t cap) {
    int rc = obj_check_batch("simnpo", SIMNPO_FLAGS, in, out, err, cap);
    if (rc != BALDRO_OK || in->T == 0) return rc; /* T = 0: every row is empty */
    const pref_state *s = state;
    for (int b = 0; b < in->B; b++) {
        const size_t row = (size_t)b * (size_t)in->T;
        double sum_logp, unused;
        int n = obj_row_sums(in->logp + row, NULL, in->mask + row, in->T, &sum_logp, &unused);
        if (n == 0) continue; /* no 0/0: an empty row carries nothing */
        const double u = -sum_logp / n - s->delta;
        out->loss[b] = (float)(2.0 / s->beta * obj_softplus(-s->beta * u));
        fill_row(out->dlogp + row, in->mask + row, in->T, 2.0 * obj_sigmoid(-s->beta * u) / n);
    }
    return BALDRO_OK;
}

static int dpo_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                    char *err, size_t cap) {
    int rc = obj_check_batch("dpo", DPO_FLAGS, in, out, err, cap);
    if (rc == BALDRO_OK) rc = obj_check_alt("dpo", DPO_FLAGS, in, out, err, cap);
    if (rc != BALDRO_OK) return rc;
    const double beta = ((const pref_state *)state)->beta;
    for (int b = 0; b < in->B; b++) {
        const size_t row = (size_t)b * (size_t)in->T, arow = (size_t)b * (size_t)in->T_alt;
        double unused, lose = 0.0, win = 0.0;
        int n = 0, n_alt = 0;
        if (in->T > 0)
            n = obj_row_sums(in->logp + row, in->ref_logp + row, in->mask + row, in->T,
                             &unused, &lose);
        if (in->T_alt > 0)
            n_alt = obj_row_sums(in->alt_logp + arow, in->alt_ref_logp + arow,
                                 in->alt_mask + arow, in->T_alt, &unused, &win);
        if (n == 0 && n_alt == 0) continue; /* padding sample */
        const double m = win - lose;        /* an empty answer's log-ratio is 0 */
        const double g = 2.0 * obj_sigmoid(-beta * m);
        out->loss[b] = (float)(2.0 / beta * obj_softplus(-beta * m));
        if (n) fill_row(out->dlogp + row, in->mask + row, in->T, g);
        if (n_alt) fill_row(out->dalt_logp + arow, in->alt_mask + arow, in->T_alt, -g);
    }
    return BALDRO_OK;
}

/* ---- registration ------------------------------------------------------------------------ */

static const char *const npo_aliases[] = {"NPO", NULL};
static const char *const simnpo_aliases[] = {"SimNPO", NULL};
static const char *const dpo_aliases[] = {"DPO", "IdkDPO", NULL};

static const baldro_objective_vtable npo = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "npo",
    .description = "Negative preference optimisation: (2/beta) softplus(beta sum(logp - ref))",
    .grain = BALDRO_GRAIN_SAMPLE,
    .flags = NPO_FLAGS,
    .params = npo_params,
    .create = npo_create,
    .destroy = pref_destroy,
    .loss = npo_loss,
    .aliases = npo_aliases,
};

static const baldro_objective_vtable simnpo = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "simnpo",
    .description = "SimNPO: reference-free NPO on the length-normalised NLL, margin delta",
    .grain = BALDRO_GRAIN_SAMPLE,
    .flags = SIMNPO_FLAGS,
    .params = simnpo_params,
    .create = simnpo_create,
    .destroy = pref_destroy,
    .loss = simnpo_loss,
    .aliases = simnpo_aliases,
};

static const baldro_objective_vtable dpo = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "dpo",
    .description = "IdkDPO: prefer the \"I don't know\" answer (alt) over the forget answer",
    .grain = BALDRO_GRAIN_SAMPLE,
    .flags = DPO_FLAGS,
    .params = dpo_params,
    .create = dpo_create,
    .destroy = pref_destroy,
    .loss = dpo_loss,
    .aliases = dpo_aliases,
};

BALDRO_PLUGIN_INIT(ctx, host) {
    int rc = host->register_objective(ctx, &npo);
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &simnpo);
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &dpo);
    return rc;
}

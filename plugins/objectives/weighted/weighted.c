/*
 * plugins/objectives/weighted: token-weighted gradient ascent (WGA, TNPO, WTNPO, SatImp).
 *
 * Each is gradient ascent with a per-token weight w_t that carries no gradient (it is
 * "detached" in the PyTorch originals):
 *     loss[b][t]  = w_t * logp_t          (= -w_t * CE_t)
 *     dlogp[b][t] = w_t                   (not d loss / d logp: BALDRO_OBJ_SURROGATE_GRAD)
 * and the host's token mean turns this into -mean_t(w_t CE_t), as in the sources.
 * With p_t = exp(logp_t) and q_t = exp(ref_logp_t):
 *   wga     w = p^beta                                      beta = 1    (Wang et al. 2025)
 *   tnpo    w = 2 p^beta / (p^beta + q^beta + 1e-5)         beta = 4    (G-effect code)
 *   wtnpo   w = 2 p^(beta+alpha_w) / (p^beta + q^beta + 1e-5)  beta = 4, alpha_w = 1.5
 *   satimp  w = p^beta1 (1 - p)^beta2                       beta1 = 5, beta2 = 1
 * (WTNPO's exponent is called alpha in the G-effect code; here it is alpha_w, because
 * alpha is the retain-term weight every forget objective declares.)
 *
 * Numerics, in double, for log-probs anywhere in [-1e4, 0]:
 *   - p^beta = exp(beta * logp) underflows to 0 far from 1, which is the right limit;
 *   - the TNPO ratio is evaluated as 2 / (1 + e^(beta (ref - logp)) + 1e-5 e^(-beta logp)),
 *     the same number, but without 0/0-like cancellation when p^beta and q^beta both
 *     underflow; an overflowing exponential just sends the weight to 0;
 *   - 1 - p = -expm1(logp): exact for p near 1, where 1 - exp(logp) loses every digit;
 *   - a log-prob above 0 (only rounding can produce one) counts as 0 in the weights, so
 *     p <= 1 and no power of it overflows.
 * Every objective declares gamma (weight of the forget term) and alpha (weight of the
 * retain term) for the trainer, which reads them as objectives.<name>.gamma / .alpha.
 * Built only against sdk/.
 */
#include <baldro/plugin.h>

#include <stdlib.h>

#include "../common/objective_util.h"

BALDRO_PLUGIN("objectives_weighted", BALDRO_VERSION_STRING,
              "WGA, TNPO, WTNPO and SatImp: token-weighted gradient ascent");

#define TNPO_EPS 1e-5 /* the G-effect code's guard in the TNPO denominator */

typedef enum weight_kind { W_WGA, W_TNPO, W_WTNPO, W_SATIMP } weight_kind;

/* Per-run state: the exponents the weight uses (gamma/alpha are the trainer's). */
typedef struct weight_state {
    weight_kind kind;
    double e1; /* wga, tnpo, wtnpo: beta;  satimp: beta1 */
    double e2; /* wtnpo: alpha_w;          satimp: beta2 */
} weight_state;

/* ---- parameters, in the order create() receives them ---------------------------------- */

#define BETA_MIN 1e-6
#define EXP_MAX 1e3

static const baldro_param_spec wga_params[] = {
    BALDRO_PARAM_F("beta", 1.0, BETA_MIN, EXP_MAX, "exponent of the token weight p^beta"),
    BALDRO_PARAM_F("gamma", 1.0, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

static const baldro_param_spec tnpo_params[] = {
    BALDRO_PARAM_F("beta", 4.0, BETA_MIN, EXP_MAX, "exponent of p and ref_p in the weight"),
    BALDRO_PARAM_F("gamma", 1.0, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

static const baldro_param_spec wtnpo_params[] = {
    BALDRO_PARAM_F("beta", 4.0, BETA_MIN, EXP_MAX, "exponent of p and ref_p in the weight"),
    BALDRO_PARAM_F("alpha_w", 1.5, 0.0, EXP_MAX, "extra exponent of p in the numerator"),
    BALDRO_PARAM_F("gamma", 1.0, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

/* beta1/beta2 may be 0 (p^0 = (1-p)^0 = 1): satimp then reduces to wga or to plain GA. */
static const baldro_param_spec satimp_params[] = {
    BALDRO_PARAM_F("beta1", 5.0, 0.0, EXP_MAX, "exponent of p in the weight"),
    BALDRO_PARAM_F("beta2", 1.0, 0.0, EXP_MAX, "exponent of 1 - p in the weight"),
    BALDRO_PARAM_F("gamma", 0.1, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

/* e1 is parameter 0 everywhere; e2 is parameter 1 of wtnpo and satimp. */
static int make_state(void **state, weight_kind kind, const char *name,
                      const baldro_param_spec *spec, const baldro_param_value *params,
                      char *err, size_t cap) {
    double v[4];
    int rc = obj_read_params(name, spec, params, v, 4, err, cap);
    if (rc != BALDRO_OK) return rc;
    weight_state *s = calloc(1, sizeof *s);
    if (!s) return BALDRO_FAIL(err, cap, BALDRO_ENOMEM, "%s: out of memory", name);
    s->kind = kind;
    s->e1 = v[0];
    s->e2 = (kind == W_WTNPO || kind == W_SATIMP) ? v[1] : 0.0;
    *state = s;
    return BALDRO_OK;
}

static int wga_create(void **state, const baldro_param_value *p, char *err, size_t cap) {
    return make_state(state, W_WGA, "wga", wga_params, p, err, cap);
}
static int tnpo_create(void **state, const baldro_param_value *p, char *err, size_t cap) {
    return make_state(state, W_TNPO, "tnpo", tnpo_params, p, err, cap);
}
static int wtnpo_create(void **state, const baldro_param_value *p, char *err, size_t cap) {
    return make_state(state, W_WTNPO, "wtnpo", wtnpo_params, p, err, cap);
}
static int satimp_create(void **state, const baldro_param_value *p, char *err, size_t cap) {
    return make_state(state, W_SATIMP, "satimp", satimp_params, p, err, cap);
}

static void weight_destroy(void *state) { free(state); }

/* ---- weights and the shared loss -------------------------------------------------------- */

/* 2 p^beta / (p^beta + q^beta + eps) from log-probs lp, lq <= 0, divided through by p^beta. */
static double tnpo_ratio(double lp, double lq, double beta) {
    return 2.0 / (1.0 + exp(beta * (lq - lp)) + TNPO_EPS * exp(-beta * lp));
}

/* The detached weight of one token; lp = logp, lq = ref_logp (unused by wga/satimp). */
static double token_weight(const weight_state *s, double lp, double lq) {
    lp = fmin(lp, 0.0);
    lq = fmin(lq, 0.0);
    switch (s->kind) {
    case W_WGA: return exp(s->e1 * lp);
    case W_TNPO: return tnpo_ratio(lp, lq, s->e1);
    case W_WTNPO: return exp(s->e2 * lp) * tnpo_ratio(lp, lq, s->e1);
    case W_SATIMP: {
        double one_minus_p = -expm1(lp);
        if (!(one_minus_p > 0.0)) one_minus_p = 0.0; /* p = 1 gives -0.0: pow(-0, 1) = -0 */
        return exp(s->e1 * lp) * pow(one_minus_p, s->e2);
    }
    }
    return 0.0;
}

static const char *const kind_name[] = {"wga", "tnpo", "wtnpo", "satimp"};

static int weighted_loss(void *state, const baldro_objective_batch *in,
                         baldro_objective_output *out, char *err, size_t cap) {
    const weight_state *s = state;
    const uint32_t flags = (s->kind == W_TNPO || s->kind == W_WTNPO) ? BALDRO_OBJ_NEEDS_REF_LOGP
                                                                      : 0u;
    int rc = obj_check_batch(kind_name[s->kind], flags, in, out, err, cap);
    if (rc != BALDRO_OK) return rc;
    const size_t n = (size_t)in->B * (size_t)in->T; /* logp, ref_logp, mask, loss, dlogp: [B][T] */
    for (size_t i = 0; i < n; i++) {
        if (!in->mask[i]) continue; /* padding is never read */
        const double lp = in->logp[i];
        const double w = token_weight(s, lp, (flags & BALDRO_OBJ_NEEDS_REF_LOGP) ? in->ref_logp[i]
                                                                                 : 0.0);
        out->loss[i] = (float)(w * lp);
        out->dlogp[i] = (float)w;
    }
    return BALDRO_OK;
}

/* ---- registration ------------------------------------------------------------------------ */

#define WEIGHTED_FLAGS (BALDRO_OBJ_FORGET | BALDRO_OBJ_SURROGATE_GRAD)

static const char *const wga_aliases[] = {"WGA", NULL};
static const char *const tnpo_aliases[] = {"TNPO", NULL};
static const char *const wtnpo_aliases[] = {"WTNPO", NULL};
static const char *const satimp_aliases[] = {"SatImp", NULL};

static const baldro_objective_vtable wga = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "wga",
    .description = "Weighted gradient ascent: tokens weighted by p^beta (detached)",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = WEIGHTED_FLAGS,
    .params = wga_params,
    .create = wga_create,
    .destroy = weight_destroy,
    .loss = weighted_loss,
    .aliases = wga_aliases,
};

static const baldro_objective_vtable tnpo = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "tnpo",
    .description = "Token-level NPO: tokens weighted by 2 p^b / (p^b + ref_p^b + 1e-5) (detached)",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = WEIGHTED_FLAGS | BALDRO_OBJ_NEEDS_REF_LOGP,
    .params = tnpo_params,
    .create = tnpo_create,
    .destroy = weight_destroy,
    .loss = weighted_loss,
    .aliases = tnpo_aliases,
};

static const baldro_objective_vtable wtnpo = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "wtnpo",
    .description = "Weighted token-level NPO: the TNPO weight times p^alpha_w (detached)",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = WEIGHTED_FLAGS | BALDRO_OBJ_NEEDS_REF_LOGP,
    .params = wtnpo_params,
    .create = wtnpo_create,
    .destroy = weight_destroy,
    .loss = weighted_loss,
    .aliases = wtnpo_aliases,
};

static const baldro_objective_vtable satimp = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "satimp",
    .description = "SatImp: tokens weighted by p^beta1 (1 - p)^beta2 (detached)",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = WEIGHTED_FLAGS,
    .params = satimp_params,
    .create = satimp_create,
    .destroy = weight_destroy,
    .loss = weighted_loss,
    .aliases = satimp_aliases,
};

BALDRO_PLUGIN_INIT(ctx, host) {
    int rc = host->register_objective(ctx, &wga);
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &tnpo);
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &wtnpo);
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &satimp);
    return rc;
}

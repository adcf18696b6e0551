/*
 * plugins/objectives/basic: gradient ascent, GradDiff and the NLL retain loss.
 *
 * All three are token-grained: loss[b][t] is a function of logp[b][t] alone, and the host
 * reduces over the batch as HF's token mean (sum over valid tokens / valid tokens), which
 * is how open-unlearning's GradAscent and retain NLL reduce.
 *   grad_ascent:  loss[b][t] = logp[b][t]    (minimising it ascends the NLL)
 *   grad_diff:    the same forget loss; GradDiff is gamma * GA(forget) + alpha * NLL(retain),
 *                 and the trainer applies gamma and alpha, so the objective differs from
 *                 grad_ascent only in its name (and in what a config means by choosing it)
 *   nll:          loss[b][t] = -logp[b][t]
 * The forget objectives declare `gamma` (weight of the forget term) and `alpha` (weight of
 * the retain term); the trainer reads them as objectives.<name>.gamma / .alpha, so the
 * loss itself never uses them and no per-run state is needed.
 * Built only against sdk/, like any third-party plugin.
 */
#include <baldro/plugin.h>

#include "../common/objective_util.h"

BALDRO_PLUGIN("objectives_basic", BALDRO_VERSION_STRING,
              "Gradient ascent and GradDiff (forget), NLL (retain), token-grained");

/* Shared body: loss = sign * logp, dloss/dlogp = sign, on valid positions only. */
static int signed_logp(const char *name, const baldro_objective_batch *in,
                       baldro_objective_output *out, float sign, char *err, size_t err_cap) {
    int rc = obj_check_batch(name, 0, in, out, err, err_cap);
    if (rc != BALDRO_OK) return rc;
    const size_t n = (size_t)in->B * (size_t)in->T; /* logp, mask, loss, dlogp: [B][T] */
    for (size_t i = 0; i < n; i++) {
        if (!in->mask[i]) continue; /* padding is never read */
        out->loss[i] = sign * in->logp[i];
        out->dlogp[i] = sign;
    }
    return BALDRO_OK;
}

static int ga_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                   char *err, size_t err_cap) {
    (void)state;
    return signed_logp("grad_ascent", in, out, 1.0f, err, err_cap);
}

static int gd_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                   char *err, size_t err_cap) {
    (void)state;
    return signed_logp("grad_diff", in, out, 1.0f, err, err_cap);
}

static int nll_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                    char *err, size_t err_cap) {
    (void)state;
    return signed_logp("nll", in, out, -1.0f, err, err_cap);
}

/* gamma and alpha of a forget objective: read by the trainer, not by the loss. */
static const baldro_param_spec forget_weights[] = {
    BALDRO_PARAM_F("gamma", 1.0, 0.0, 1e6, "weight of the forget term"),
    BALDRO_PARAM_F("alpha", 1.0, 0.0, 1e6, "weight of the retain term"),
    BALDRO_PARAM_END,
};

static const char *const ga_aliases[] = {"GradAscent", "ga", NULL};
static const char *const gd_aliases[] = {"GradDiff", NULL};
static const char *const nll_aliases[] = {"NLL", NULL};

static const baldro_objective_vtable grad_ascent = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "grad_ascent",
    .description = "Gradient ascent on the forget set: minimise the answer log-likelihood",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = BALDRO_OBJ_FORGET,
    .params = forget_weights,
    .loss = ga_loss,
    .aliases = ga_aliases,
};

static const baldro_objective_vtable grad_diff = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "grad_diff",
    .description = "GradDiff: gradient ascent on the forget set, to pair with the nll retain "
                   "term (gamma * forget + alpha * retain)",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = BALDRO_OBJ_FORGET,
    .params = forget_weights,
    .loss = gd_loss,
    .aliases = gd_aliases,
};

static const baldro_objective_vtable nll = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "nll",
    .description = "Negative log-likelihood (retain term, and fine-tuning)",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = BALDRO_OBJ_RETAIN,
    .loss = nll_loss,
    .aliases = nll_aliases,
};

BALDRO_PLUGIN_INIT(ctx, host) {
    int rc = host->register_objective(ctx, &grad_ascent);
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &grad_diff);
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &nll);
    return rc;
}

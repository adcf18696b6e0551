/*
 * plugins/objectives/basic: gradient ascent and the NLL retain loss.
 *
 * Both are token-grained: loss[b][t] is a function of logp[b][t] alone, and the host
 * reduces over the batch as HF's token mean (sum over valid tokens / valid tokens),
 * which is how open-unlearning's GradAscent and retain NLL reduce.
 *   grad_ascent:  loss[b][t] = logp[b][t]    (minimising it ascends the NLL)
 *   nll:          loss[b][t] = -logp[b][t]
 * GradDiff is grad_ascent as the forget term plus nll as the retain term, weighted by
 * objective.gamma and objective.alpha; it needs no plugin of its own.
 * Built only against sdk/, like any third-party plugin.
 */
#include <baldro/plugin.h>

BALDRO_PLUGIN("objectives_basic", BALDRO_VERSION_STRING,
              "Gradient ascent (forget) and NLL (retain), token-grained");

/* Shared body: loss = sign * logp, dloss/dlogp = sign, on valid positions only. */
static int signed_logp(const baldro_objective_batch *in, baldro_objective_output *out,
                       float sign) {
    const size_t n = (size_t)in->B * (size_t)in->T;
    for (size_t i = 0; i < n; i++) {
        if (!in->mask[i]) continue; /* padding is never read */
        out->loss[i] = sign * in->logp[i];
        out->dlogp[i] = sign;
    }
    return BALDRO_OK;
}

static int ga_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                   char *err, size_t err_cap) {
    (void)state, (void)err, (void)err_cap;
    return signed_logp(in, out, 1.0f);
}

static int nll_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                    char *err, size_t err_cap) {
    (void)state, (void)err, (void)err_cap;
    return signed_logp(in, out, -1.0f);
}

static const char *const ga_aliases[] = {"GradAscent", "ga", NULL};
static const char *const nll_aliases[] = {"NLL", NULL};

static const baldro_objective_vtable grad_ascent = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "grad_ascent",
    .description = "Gradient ascent on the forget set: minimise the answer log-likelihood",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = BALDRO_OBJ_FORGET,
    .loss = ga_loss,
    .aliases = ga_aliases,
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
    if (rc == BALDRO_OK) rc = host->register_objective(ctx, &nll);
    return rc;
}

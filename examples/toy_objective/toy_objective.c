/*
 * examples/toy_objective: a third-party objective plugin, built out of tree against the
 * installed SDK (see Makefile: pkg-config is all it needs).
 *
 * toy_mean_logp: a sample-grained forget loss with one parameter,
 *     L_i = scale * (1/|A_i|) * sum_{t in A_i} logp[i][t],
 *     dL_i / dlogp[i][t] = scale / |A_i|.
 * Minimising it pushes the mean answer log-probability down, like gradient ascent,
 * but every sample counts equally whatever its length. It is here to show the whole
 * surface a plugin author touches: the plugin info, init, a vtable, declared
 * parameters, per-run state from create()/destroy(), and error reporting.
 */
#include <baldro/plugin.h>
#include <stdlib.h>

BALDRO_PLUGIN("toy_objective", "1.0.0", "Example out-of-tree objective plugin");

typedef struct toy_state {
    float scale;
} toy_state;

/* Declared parameters: the host exposes them as objectives.toy_mean_logp.scale, checks
 * types and bounds, and passes the resolved values to create() in this order. */
static const baldro_param_spec toy_params[] = {
    BALDRO_PARAM_F("scale", 1.0, 0.0, 100.0, "multiplier of the mean log-probability"),
    BALDRO_PARAM_END,
};

static int toy_create(void **state, const baldro_param_value *params, char *err, size_t cap) {
    toy_state *s = malloc(sizeof *s);
    if (!s) return BALDRO_FAIL(err, cap, BALDRO_ENOMEM, "toy_mean_logp: out of memory");
    s->scale = (float)params[0].f;
    *state = s;
    return BALDRO_OK;
}

static void toy_destroy(void *state) { free(state); }

static int toy_loss(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                    char *err, size_t cap) {
    const toy_state *s = state;
    for (int b = 0; b < in->B; b++) {
        const float *logp = in->logp + (size_t)b * in->T;   /* [T] */
        const uint8_t *mask = in->mask + (size_t)b * in->T; /* [T] */
        float *dlogp = out->dlogp + (size_t)b * in->T;      /* [T] */
        int n = 0;
        double sum = 0.0;
        for (int t = 0; t < in->T; t++)
            if (mask[t]) {
                sum += logp[t]; /* padding is never read: it may hold anything */
                n++;
            }
        if (n == 0) continue; /* an empty answer contributes nothing */
        out->loss[b] = (float)(s->scale * sum / n);
        for (int t = 0; t < in->T; t++)
            if (mask[t]) dlogp[t] = s->scale / (float)n;
    }
    (void)err, (void)cap;
    return BALDRO_OK;
}

static const char *const toy_aliases[] = {"ToyMeanLogp", NULL};

static const baldro_objective_vtable toy_vtable = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "toy_mean_logp",
    .description = "Length-normalised gradient ascent (example plugin)",
    .grain = BALDRO_GRAIN_SAMPLE,
    .flags = BALDRO_OBJ_FORGET,
    .params = toy_params,
    .create = toy_create,
    .destroy = toy_destroy,
    .loss = toy_loss,
    .aliases = toy_aliases,
};

BALDRO_PLUGIN_INIT(ctx, host) {
    host->log(ctx, BALDRO_LOG_DEBUG, "registering toy_mean_logp (host %s)", host->host_version);
    return host->register_objective(ctx, &toy_vtable);
}

/*
 * plugins/objectives/kl: the KL retain term, KL(p_ref || p_theta) per position.
 *
 * open-unlearning's retain KL compares the whole next-token distribution of the model
 * being trained with that of the frozen reference (the model before unlearning) on the
 * retain sequences. That needs logits, not target log-probs, so the objective declares
 * BALDRO_OBJ_NEEDS_LOGITS and implements loss_rows (ABI 1.3); the host keeps the
 * reference model in memory, runs both, and reduces the per-position losses as a token
 * mean over the positions it masked in. Per position n with mask[n] = 1, with
 *   lq_v = x_v - logsumexp(x)     (x = logits[n],     current model, log p_theta)
 *   lp_v = r_v - logsumexp(r)     (r = ref_logits[n], reference,     log p_ref)
 * the loss and its gradient are
 *   loss[n]       = sum_v p_v (lp_v - lq_v)          (terms with p_v = 0 are 0)
 *   dlogits[n][v] = q_v - p_v                        (softmax(x) - softmax(r))
 * The gradient is exact (not a surrogate): d/dx_v of -sum_u p_u lq_u is q_v sum_u p_u - p_v.
 *
 * Parameter `positions` ("all" | "answer"): which positions of a retain row carry the
 * loss. The host reads it itself and sets mask accordingly (open-unlearning averages over
 * every real position, hence the default "all"); with "answer" the plugin also skips any
 * position whose target is negative (a prompt position), so it is right whichever host
 * calls it.
 *
 * Numerics: every logsumexp is max-shifted and accumulated in double, so logits of any
 * finite float size (1e30 and up) work and a vocabulary of 256k sums without loss; the
 * loss is clamped at 0 because rounding can leave -1e-17 where p = q. A row whose
 * logits are not finite (NaN, +Inf, all -Inf) or whose KL is infinite (the current
 * model gives probability 0 to a token the reference does not) is refused with
 * BALDRO_ENUMERIC naming the position.
 *
 * Cost: two exp() per logit (kept in a scratch row of the state, so none is taken twice),
 * single-threaded: about 20-30 ns per logit on the 2-core development VM, i.e. ~0.2 s for
 * 64 positions of a 128k vocabulary. Built only against sdk/.
 */
#include <baldro/plugin.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/objective_util.h"

BALDRO_PLUGIN("objectives_kl", BALDRO_VERSION_STRING,
              "KL retain term: KL(reference || current) over whole next-token distributions");

typedef enum kl_positions { KL_ALL = 0, KL_ANSWER = 1 } kl_positions;

/* Per-run state: which positions carry the loss, and a scratch row of exponentials that
 * grows to the largest V seen (so each exp() is taken once: they dominate the cost). */
typedef struct kl_state {
    kl_positions positions;
    double *exps;    /* [2][cap]: exp(x - max x), exp(r - max r) of the current position */
    size_t cap;      /* entries per half                                               */
} kl_state;

static const baldro_param_spec kl_params[] = {
    BALDRO_PARAM_S("positions", "all",
                   "positions that carry the loss: all (every real position of a retain "
                   "row, as open-unlearning) or answer (answer tokens only)"),
    BALDRO_PARAM_END,
};

/* Echoing a value into an error is safe only if it cannot break the one-line rule. */
static int printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    return 1;
}

/* params: NULL (the declared defaults: a caller outside the config path) or one STRING. */
static int kl_create(void **state, const baldro_param_value *params, char *err, size_t cap) {
    const char *pos = kl_params[0].default_string;
    if (params) {
        if (params[0].type != BALDRO_PARAM_STRING || !params[0].s)
            return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: parameter positions must be a "
                               "string (all or answer)");
        pos = params[0].s;
    }
    kl_positions p;
    if (strcmp(pos, "all") == 0) p = KL_ALL;
    else if (strcmp(pos, "answer") == 0) p = KL_ANSWER;
    else if (printable(pos))
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: positions = '%.40s' is not one of "
                           "all, answer", pos);
    else
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: positions is not one of all, answer "
                           "(the value holds control characters)");
    kl_state *s = calloc(1, sizeof *s);
    if (!s) return BALDRO_FAIL(err, cap, BALDRO_ENOMEM, "kl: out of memory");
    s->positions = p;
    *state = s;
    return BALDRO_OK;
}

static void kl_destroy(void *state) {
    kl_state *s = state;
    if (s) free(s->exps);
    free(s);
}

/* Max-shifted exponentials of one row x[V] into e[V], in double (each in [0, 1], the max's
 * exactly 1), their max *m and sum *sum (>= 1). Returns 0 when the row has a NaN or +Inf,
 * or no finite entry: no distribution to speak of. */
static int row_exps(const float *x, int32_t V, double *e, double *m, double *sum) {
    double mx = -INFINITY;
    for (int32_t v = 0; v < V; v++) {
        if (isnan(x[v])) return 0;
        if (x[v] > mx) mx = x[v];
    }
    if (!isfinite(mx)) return 0; /* +Inf somewhere, or every entry -Inf */
    double s = 0.0;
    for (int32_t v = 0; v < V; v++) s += e[v] = exp((double)x[v] - mx);
    *m = mx;
    *sum = s;
    return 1;
}

/* loss and dlogits of one position: x, r: [V] logits; d: [V] output; ex, er: [V] scratch.
 * Returns BALDRO_OK or BALDRO_ENUMERIC with a reason naming position n. */
static int kl_row(int32_t n, const float *x, const float *r, int32_t V, float *loss, float *d,
                  double *ex, double *er, char *err, size_t cap) {
    double mx, sx, mr, sr;
    if (!row_exps(x, V, ex, &mx, &sx))
        return BALDRO_FAIL(err, cap, BALDRO_ENUMERIC, "kl: logits[%d] hold NaN or +Inf or no "
                           "finite value", (int)n);
    if (!row_exps(r, V, er, &mr, &sr))
        return BALDRO_FAIL(err, cap, BALDRO_ENUMERIC, "kl: ref_logits[%d] hold NaN or +Inf or "
                           "no finite value", (int)n);
    const double lse_x = mx + log(sx), lse_r = mr + log(sr), inv_x = 1.0 / sx, inv_r = 1.0 / sr;
    double kl = 0.0;
    for (int32_t v = 0; v < V; v++) {
        const double q = ex[v] * inv_x, p = er[v] * inv_r;
        /* log-probs from the logits, not log(p): exact where p underflows to 0 */
        const double lq = (double)x[v] - lse_x, lp = (double)r[v] - lse_r;
        if (p > 0.0) kl += p * (lp - lq); /* 0 log 0 = 0: no -Inf * 0 when both vanish */
        d[v] = (float)(q - p);
    }
    if (!isfinite(kl))
        return BALDRO_FAIL(err, cap, BALDRO_ENUMERIC, "kl: KL is infinite at position %d (the "
                           "current model gives probability 0 to a token the reference does "
                           "not)", (int)n);
    *loss = (float)fmax(kl, 0.0);
    return BALDRO_OK;
}

static int kl_loss_rows(void *state, const baldro_objective_rows *in,
                        baldro_objective_rows_output *out, char *err, size_t cap) {
    kl_state *s = state;
    if (!s) return BALDRO_FAIL(err, cap, BALDRO_ESTATE, "kl: no state (create() not called)");
    if (!in || !out) return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: missing rows or output");
    /* A struct smaller than 1.3's cannot be a rows call: refuse before reading members. */
    if (in->struct_size < OBJ_END_OF(baldro_objective_rows, mask) ||
        out->struct_size < OBJ_END_OF(baldro_objective_rows_output, dlogits))
        return BALDRO_FAIL(err, cap, BALDRO_EUNSUPPORTED, "kl: rows/output struct_size %u/%u is "
                           "smaller than the ABI 1.3 layout", (unsigned)in->struct_size,
                           (unsigned)out->struct_size);
    if (in->N < 0 || in->V < 0)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: negative shape N=%d V=%d", (int)in->N,
                           (int)in->V);
    if (in->N == 0) return BALDRO_OK; /* nothing will be read */
    if (in->V == 0)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: V = 0: no distribution");
    if (!in->logits || !in->ref_logits || !in->mask || !out->loss || !out->dlogits)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: NULL logits, ref_logits, mask, loss or "
                           "dlogits");
    if (s->positions == KL_ANSWER && !in->targets)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL, "kl: positions = answer needs targets, got "
                           "NULL");
    const size_t V = (size_t)in->V;
    if (V > s->cap) {
        double *e = realloc(s->exps, 2 * V * sizeof *e);
        if (!e) return BALDRO_FAIL(err, cap, BALDRO_ENOMEM, "kl: out of memory (V = %zu)", V);
        s->exps = e;
        s->cap = V;
    }
    for (int32_t n = 0; n < in->N; n++) {
        if (!in->mask[n]) continue; /* masked rows are never read */
        if (s->positions == KL_ANSWER && in->targets[n] < 0) continue; /* prompt position */
        const size_t o = (size_t)n * V; /* logits, ref_logits, dlogits: [N][V] */
        int rc = kl_row(n, in->logits + o, in->ref_logits + o, in->V, &out->loss[n],
                        out->dlogits + o, s->exps, s->exps + s->cap, err, cap);
        if (rc != BALDRO_OK) return rc;
    }
    return BALDRO_OK;
}

static const char *const kl_aliases[] = {"KL", NULL};

static const baldro_objective_vtable kl_vt = {
    BALDRO_VTABLE_HEADER(baldro_objective_vtable),
    .name = "kl",
    .description = "KL retain term: KL(reference || current) of the next-token distribution at "
                   "each position (a frozen reference model stays in memory)",
    .grain = BALDRO_GRAIN_TOKEN,
    .flags = BALDRO_OBJ_RETAIN | BALDRO_OBJ_NEEDS_LOGITS,
    .params = kl_params,
    .create = kl_create,
    .destroy = kl_destroy,
    .loss = NULL, /* the host calls loss_rows for NEEDS_LOGITS objectives */
    .aliases = kl_aliases,
    .loss_rows = kl_loss_rows,
};

BALDRO_PLUGIN_INIT(ctx, host) { return host->register_objective(ctx, &kl_vt); }

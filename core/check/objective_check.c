/* core/check/objective_check.c: see objective_check.h. */
#include "check/objective_check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Synthetic batch shape: rows of different lengths, one of length 1, one full. */
#define CHECK_B 4
#define CHECK_T 7
static const int k_row_len[CHECK_B] = {7, 1, 4, 6};

#define FD_H 1e-2
#define FD_TOL 2e-3

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double uniform01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1.0p-53; }

typedef struct check_ctx {
    const baldro_objective_vtable *vt;
    void *state;
    int n_loss;                            /* B or B*T                        */
    float logp[CHECK_B * CHECK_T];         /* [B][T]                          */
    float ref_logp[CHECK_B * CHECK_T];     /* [B][T]                          */
    uint8_t mask[CHECK_B * CHECK_T];       /* [B][T]                          */
    float loss[CHECK_B * CHECK_T];         /* [B] or [B][T]                   */
    float dlogp[CHECK_B * CHECK_T];        /* [B][T]                          */
    char err[512];
} check_ctx;

static int fail(baldro_check_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(baldro_check_result *res, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->failure, sizeof res->failure, fmt, ap);
    va_end(ap);
    res->passed = 0;
    return BALDRO_OK;
}

/* One loss() call on the current inputs into c->loss / c->dlogp (zeroed first, as the
 * host does). Returns the plugin's status. */
static int run_loss(check_ctx *c) {
    baldro_objective_batch in = {
        .struct_size = sizeof in, .B = CHECK_B, .T = CHECK_T, .logp = c->logp,
        .ref_logp = (c->vt->flags & BALDRO_OBJ_NEEDS_REF_LOGP) ? c->ref_logp : NULL,
        .mask = c->mask};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = c->loss, .dlogp = c->dlogp};
    memset(c->loss, 0, sizeof c->loss);
    memset(c->dlogp, 0, sizeof c->dlogp);
    c->err[0] = '\0';
    return c->vt->loss(c->state, &in, &out, c->err, sizeof c->err);
}

/* Index into loss[] that position (b, t) contributes to. */
static int loss_index(const check_ctx *c, int b, int t) {
    return c->vt->grain == BALDRO_GRAIN_TOKEN ? b * CHECK_T + t : b;
}

static int run_checks(check_ctx *c, baldro_check_result *res, uint64_t seed) {
    const char *name = c->vt->name;
    uint64_t s = seed;
    /* Inputs: log-probs of plausible tokens (p in [0.05, 0.95]); the reference a little
     * different, as after a few unlearning steps. Padding holds NaN. */
    for (int b = 0; b < CHECK_B; b++)
        for (int t = 0; t < CHECK_T; t++) {
            int i = b * CHECK_T + t;
            c->mask[i] = t < k_row_len[b];
            double p = 0.05 + 0.9 * uniform01(&s);
            double q = fmin(0.97, fmax(0.03, p + 0.2 * (uniform01(&s) - 0.5)));
            c->logp[i] = c->mask[i] ? (float)log(p) : NAN;
            c->ref_logp[i] = c->mask[i] ? (float)log(q) : NAN;
            res->n_valid += c->mask[i];
        }

    int rc = run_loss(c);
    if (rc != BALDRO_OK)
        return fail(res, "%s: loss() failed with status %d: %s", name, rc,
                    c->err[0] ? c->err : "(no message)");

    float loss0[CHECK_B * CHECK_T], dlogp0[CHECK_B * CHECK_T];
    memcpy(loss0, c->loss, sizeof loss0);
    memcpy(dlogp0, c->dlogp, sizeof dlogp0);

    /* Finite on valid positions, exactly zero on padding. */
    double total = 0.0;
    for (int b = 0; b < CHECK_B; b++)
        for (int t = 0; t < CHECK_T; t++) {
            int i = b * CHECK_T + t;
            if (!c->mask[i]) {
                if (dlogp0[i] != 0.0f)
                    return fail(res, "%s: dlogp[%d][%d] = %g on a padded position (must stay 0)",
                                name, b, t, dlogp0[i]);
                if (c->vt->grain == BALDRO_GRAIN_TOKEN && loss0[i] != 0.0f)
                    return fail(res, "%s: loss[%d][%d] = %g on a padded position (must stay 0)",
                                name, b, t, loss0[i]);
                continue;
            }
            if (!isfinite(dlogp0[i]))
                return fail(res, "%s: dlogp[%d][%d] is %g (padding is NaN: is it read?)", name,
                            b, t, dlogp0[i]);
        }
    for (int k = 0; k < c->n_loss; k++) {
        if (!isfinite(loss0[k]))
            return fail(res, "%s: loss[%d] is %g (padding is NaN: is it read?)", name, k,
                        loss0[k]);
        total += loss0[k];
    }
    res->batch_loss = c->vt->grain == BALDRO_GRAIN_TOKEN ? total / res->n_valid : total / CHECK_B;

    /* Deterministic. */
    if ((rc = run_loss(c)) != BALDRO_OK)
        return fail(res, "%s: second loss() call failed with status %d", name, rc);
    if (memcmp(loss0, c->loss, sizeof loss0) != 0 || memcmp(dlogp0, c->dlogp, sizeof dlogp0) != 0)
        return fail(res, "%s: two calls on the same input gave different outputs", name);

    /* Locality and finite differences, one valid position at a time. */
    res->fd_checked = !(c->vt->flags & BALDRO_OBJ_SURROGATE_GRAD);
    for (int b = 0; b < CHECK_B; b++)
        for (int t = 0; t < k_row_len[b]; t++) {
            int i = b * CHECK_T + t, li = loss_index(c, b, t);
            float saved = c->logp[i];
            float up[CHECK_B * CHECK_T];
            c->logp[i] = (float)(saved + FD_H);
            if ((rc = run_loss(c)) != BALDRO_OK)
                return fail(res, "%s: loss() failed on a perturbed input (status %d)", name, rc);
            memcpy(up, c->loss, sizeof up);
            c->logp[i] = (float)(saved - FD_H);
            if ((rc = run_loss(c)) != BALDRO_OK)
                return fail(res, "%s: loss() failed on a perturbed input (status %d)", name, rc);
            c->logp[i] = saved;
            for (int k = 0; k < c->n_loss; k++)
                if (k != li && (up[k] != loss0[k] || c->loss[k] != loss0[k]))
                    return fail(res, "%s: perturbing logp[%d][%d] changed loss[%d]: a %s loss "
                                "may depend only on its own %s", name, b, t, k,
                                c->vt->grain == BALDRO_GRAIN_TOKEN ? "token" : "sample",
                                c->vt->grain == BALDRO_GRAIN_TOKEN ? "position" : "row");
            if (!res->fd_checked) continue;
            double fd = ((double)up[li] - (double)c->loss[li]) / (2.0 * FD_H);
            double an = dlogp0[i];
            double e = fabs(fd - an) / fmax(1.0, fabs(an));
            if (e > res->max_fd_error) res->max_fd_error = e;
            if (!(e <= FD_TOL))
                return fail(res, "%s: dlogp[%d][%d] = %.6g but the finite difference of "
                            "loss[%d] is %.6g", name, b, t, an, li, fd);
        }
    res->passed = 1;
    return BALDRO_OK;
}

int baldro_check_objective(const baldro_object *obj, const baldro_param_value *params,
                           uint64_t seed, baldro_check_result *res, baldro_error *err) {
    memset(res, 0, sizeof *res);
    if (obj->kind != BALDRO_KIND_OBJECTIVE)
        return baldro_error_set(err, BALDRO_EINVAL, "'%s' is a %s, not an objective", obj->name,
                                baldro_kind_name(obj->kind));
    check_ctx *c = g_new0(check_ctx, 1);
    c->vt = &obj->vt.objective;
    c->n_loss = c->vt->grain == BALDRO_GRAIN_TOKEN ? CHECK_B * CHECK_T : CHECK_B;
    int rc = BALDRO_OK;
    if (c->vt->create) {
        int crc = c->vt->create(&c->state, params, c->err, sizeof c->err);
        if (crc != BALDRO_OK) {
            rc = baldro_error_set(err, BALDRO_EPLUGIN, "objective '%s': create() failed with "
                                  "status %d: %s", obj->name, crc,
                                  c->err[0] ? c->err : "(no message)");
            g_free(c);
            return rc;
        }
    }
    rc = run_checks(c, res, seed);
    if (c->vt->destroy) c->vt->destroy(c->state);
    g_free(c);
    return rc;
}

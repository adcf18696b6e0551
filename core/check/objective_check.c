/* core/check/objective_check.c: see objective_check.h. */
#include "check/objective_check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Synthetic batch shape: rows of different lengths, one of length 1, one full. The second
 * answer (NEEDS_ALT objectives) has its own width and row lengths, so an objective that
 * mixes up T and T_alt, or the two masks, reads NaN padding or loses positions. */
#define CHECK_B 4
#define CHECK_T 7
#define CHECK_T_ALT 5
static const int k_row_len[CHECK_B] = {7, 1, 4, 6};
static const int k_alt_len[CHECK_B] = {3, 5, 1, 2};

#define FD_H 1e-2
#define FD_TOL 2e-3

/* Synthetic rows for NEEDS_LOGITS objectives (loss_rows): N positions of a V-token
 * vocabulary; two positions masked out (their logits are NaN), and some targets -1 (prompt
 * positions) on both masked and unmasked positions, so an objective that keys on targets
 * instead of mask, or the reverse, shows it. */
#define CHECK_N 6
#define CHECK_V 11
static const uint8_t k_rows_mask[CHECK_N] = {1, 0, 1, 1, 0, 1};
static const int32_t k_rows_target[CHECK_N] = {-1, -1, 3, 7, 2, -1};

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
    int has_alt;                               /* BALDRO_OBJ_NEEDS_ALT             */
    int n_loss;                                /* B or B*T                         */
    float logp[CHECK_B * CHECK_T];             /* [B][T]                           */
    float ref_logp[CHECK_B * CHECK_T];         /* [B][T]                           */
    uint8_t mask[CHECK_B * CHECK_T];           /* [B][T]                           */
    float alt_logp[CHECK_B * CHECK_T_ALT];     /* [B][T_alt]                       */
    float alt_ref_logp[CHECK_B * CHECK_T_ALT]; /* [B][T_alt]                       */
    uint8_t alt_mask[CHECK_B * CHECK_T_ALT];   /* [B][T_alt]                       */
    float loss[CHECK_B * CHECK_T];             /* [B] or [B][T]                    */
    float dlogp[CHECK_B * CHECK_T];            /* [B][T]                           */
    float dalt_logp[CHECK_B * CHECK_T_ALT];    /* [B][T_alt]                       */
    char err[512];
} check_ctx;

/* One answer of the batch as the generic checks see it: the input the finite differences
 * perturb, its mask and row lengths, and the partials the objective returned for it. */
typedef struct check_side {
    const char *in_name;  /* "logp" or "alt_logp"  */
    const char *out_name; /* "dlogp" or "dalt_logp" */
    int T;
    const int *row_len;   /* [B]                    */
    float *x;             /* [B][T] input           */
    const uint8_t *mask;  /* [B][T]                 */
    const float *d0;      /* [B][T] partials of the unperturbed call */
} check_side;

/* Records the first failed rule. fail() returns BALDRO_OK for run_checks (the check ran,
 * the objective did not pass); reject() returns 0 for the helpers' "stop" result. */
static void vrecord(baldro_check_result *res, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vrecord(baldro_check_result *res, const char *fmt, va_list ap) {
    vsnprintf(res->failure, sizeof res->failure, fmt, ap);
    res->passed = 0;
}
static int fail(baldro_check_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(baldro_check_result *res, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vrecord(res, fmt, ap);
    va_end(ap);
    return BALDRO_OK;
}
static int reject(baldro_check_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int reject(baldro_check_result *res, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vrecord(res, fmt, ap);
    va_end(ap);
    return 0;
}

/* One loss() call on the current inputs into c->loss / c->dlogp / c->dalt_logp (zeroed
 * first, as the host does). The structs are the 1.3 layout; the alt fields are filled only
 * for NEEDS_ALT objectives, as the host does. Returns the plugin's status. */
static int run_loss(check_ctx *c) {
    const int ref = (c->vt->flags & BALDRO_OBJ_NEEDS_REF_LOGP) != 0;
    baldro_objective_batch in = {
        .struct_size = sizeof in, .B = CHECK_B, .T = CHECK_T, .logp = c->logp,
        .ref_logp = ref ? c->ref_logp : NULL, .mask = c->mask};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = c->loss,
                                   .dlogp = c->dlogp};
    if (c->has_alt) {
        in.T_alt = CHECK_T_ALT;
        in.alt_logp = c->alt_logp;
        in.alt_ref_logp = ref ? c->alt_ref_logp : NULL;
        in.alt_mask = c->alt_mask;
        out.dalt_logp = c->dalt_logp;
    }
    memset(c->loss, 0, sizeof c->loss);
    memset(c->dlogp, 0, sizeof c->dlogp);
    memset(c->dalt_logp, 0, sizeof c->dalt_logp);
    c->err[0] = '\0';
    return c->vt->loss(c->state, &in, &out, c->err, sizeof c->err);
}

/* The entries [*lo, *hi) of loss[] that position (b, t) may change: loss[b] for sample
 * grain; for token grain loss[b][t] when (b, t) is a position of the main answer, and all
 * of row b for a position of the second answer (token losses live on the main answer's
 * positions, so an alt position can only feed its own row; dalt_logp is then checked
 * against the row's summed loss). */
static void loss_range(const check_ctx *c, int main_side, int b, int t, int *lo, int *hi) {
    if (c->vt->grain != BALDRO_GRAIN_TOKEN) {
        *lo = b;
        *hi = b + 1;
    } else if (main_side) {
        *lo = b * CHECK_T + t;
        *hi = *lo + 1;
    } else {
        *lo = b * CHECK_T;
        *hi = *lo + CHECK_T;
    }
}

/* Inputs: log-probs of plausible tokens (p in [0.05, 0.95]); the reference a little
 * different, as after a few unlearning steps. Padding holds NaN. Returns valid count. */
static int fill_inputs(uint64_t *s, int T, const int *row_len, float *x, float *ref,
                       uint8_t *mask) {
    int n = 0;
    for (int b = 0; b < CHECK_B; b++)
        for (int t = 0; t < T; t++) {
            int i = b * T + t;
            mask[i] = t < row_len[b];
            double p = 0.05 + 0.9 * uniform01(s);
            double q = fmin(0.97, fmax(0.03, p + 0.2 * (uniform01(s) - 0.5)));
            x[i] = mask[i] ? (float)log(p) : NAN;
            ref[i] = mask[i] ? (float)log(q) : NAN;
            n += mask[i];
        }
    return n;
}

/* Partials finite on valid positions, exactly zero on padding. */
static int check_partials(const check_ctx *c, const check_side *sd, baldro_check_result *res) {
    for (int b = 0; b < CHECK_B; b++)
        for (int t = 0; t < sd->T; t++) {
            int i = b * sd->T + t;
            if (!sd->mask[i]) {
                if (sd->d0[i] != 0.0f)
                    return reject(res, "%s: %s[%d][%d] = %g on a padded position (must stay "
                                  "0)", c->vt->name, sd->out_name, b, t, sd->d0[i]);
                continue;
            }
            if (!isfinite(sd->d0[i]))
                return reject(res, "%s: %s[%d][%d] is %g (padding is NaN: is it read?)",
                              c->vt->name, sd->out_name, b, t, sd->d0[i]);
        }
    return 1;
}

/* Locality and finite differences, one valid position of one answer at a time. Returns 1
 * when every position passed; otherwise the failure is recorded in res. */
static int check_positions(check_ctx *c, const check_side *sd, int main_side,
                           const float *loss0, baldro_check_result *res) {
    const char *name = c->vt->name;
    const int token = c->vt->grain == BALDRO_GRAIN_TOKEN;
    int rc;
    for (int b = 0; b < CHECK_B; b++)
        for (int t = 0; t < sd->row_len[b]; t++) {
            int i = b * sd->T + t, lo, hi;
            loss_range(c, main_side, b, t, &lo, &hi);
            float saved = sd->x[i];
            float up[CHECK_B * CHECK_T];
            sd->x[i] = (float)(saved + FD_H);
            if ((rc = run_loss(c)) != BALDRO_OK)
                return reject(res, "%s: loss() failed on a perturbed input (status %d)", name,
                              rc);
            memcpy(up, c->loss, sizeof up);
            sd->x[i] = (float)(saved - FD_H);
            if ((rc = run_loss(c)) != BALDRO_OK)
                return reject(res, "%s: loss() failed on a perturbed input (status %d)", name,
                              rc);
            sd->x[i] = saved;
            double f_up = 0.0, f_down = 0.0; /* the losses (b, t) may change, summed */
            for (int k = 0; k < c->n_loss; k++) {
                if (k >= lo && k < hi) {
                    f_up += up[k];
                    f_down += c->loss[k];
                } else if (up[k] != loss0[k] || c->loss[k] != loss0[k]) {
                    return reject(res, "%s: perturbing %s[%d][%d] changed loss[%d]: a %s loss "
                                  "may depend only on its own %s", name, sd->in_name, b, t, k,
                                  token ? "token" : "sample",
                                  token && main_side ? "position" : "row");
                }
            }
            if (!res->fd_checked) continue;
            double fd = (f_up - f_down) / (2.0 * FD_H);
            double an = sd->d0[i];
            double e = fabs(fd - an) / fmax(1.0, fabs(an));
            if (e > res->max_fd_error) res->max_fd_error = e;
            if (!(e <= FD_TOL))
                return reject(res, "%s: %s[%d][%d] = %.6g but the finite difference of "
                              "loss[%d] is %.6g", name, sd->out_name, b, t, an, lo, fd);
        }
    return 1;
}

/* ---- NEEDS_LOGITS objectives: loss_rows ----------------------------------------------- */

typedef struct rows_ctx {
    const baldro_objective_vtable *vt;
    void *state;
    float logits[CHECK_N * CHECK_V];     /* [N][V] current model, NaN on masked rows */
    float ref_logits[CHECK_N * CHECK_V]; /* [N][V] reference,     NaN on masked rows */
    float loss[CHECK_N];                 /* [N]                                      */
    float dlogits[CHECK_N * CHECK_V];    /* [N][V]                                   */
    char err[512];
} rows_ctx;

/* One loss_rows() call on the current inputs, outputs zeroed first as the host does. The
 * structs are the 1.3 layout. Returns the plugin's status. */
static int run_rows(rows_ctx *c) {
    const baldro_objective_rows in = {
        .struct_size = sizeof in, .N = CHECK_N, .V = CHECK_V, .logits = c->logits,
        .ref_logits = c->ref_logits, .targets = k_rows_target, .mask = k_rows_mask};
    baldro_objective_rows_output out = {.struct_size = sizeof out, .loss = c->loss,
                                        .dlogits = c->dlogits};
    memset(c->loss, 0, sizeof c->loss);
    memset(c->dlogits, 0, sizeof c->dlogits);
    c->err[0] = '\0';
    return c->vt->loss_rows(c->state, &in, &out, c->err, sizeof c->err);
}

/* Logits of order 1 (uniform in [-3, 3]: distributions neither flat nor one-hot), the
 * reference a perturbation of them (+-1), as after some unlearning steps. */
static int fill_rows(uint64_t *s, rows_ctx *c) {
    int n_valid = 0;
    for (int n = 0; n < CHECK_N; n++) {
        n_valid += k_rows_mask[n];
        for (int v = 0; v < CHECK_V; v++) {
            const int i = n * CHECK_V + v;
            const double x = 6.0 * uniform01(s) - 3.0, r = x + 2.0 * uniform01(s) - 1.0;
            c->logits[i] = k_rows_mask[n] ? (float)x : NAN;
            c->ref_logits[i] = k_rows_mask[n] ? (float)r : NAN;
        }
    }
    return n_valid;
}

/* The same rules as for loss(), on rows: finite outputs, masked rows (NaN) never read and
 * their outputs exactly 0, determinism, loss[n] depending on row n only, and dlogits
 * against central finite differences of loss[n] (FD_H, FD_TOL as for dlogp: logits of
 * order 1 make the loss as smooth in them as the log-prob losses are in logp). */
static int run_rows_checks(rows_ctx *c, baldro_check_result *res, uint64_t seed) {
    const char *name = c->vt->name;
    uint64_t s = seed;
    res->n_valid = fill_rows(&s, c);
    int rc = run_rows(c);
    if (rc != BALDRO_OK)
        return fail(res, "%s: loss_rows() failed with status %d: %s", name, rc,
                    c->err[0] ? c->err : "(no message)");
    float loss0[CHECK_N], d0[CHECK_N * CHECK_V];
    memcpy(loss0, c->loss, sizeof loss0);
    memcpy(d0, c->dlogits, sizeof d0);

    double total = 0.0;
    for (int n = 0; n < CHECK_N; n++) {
        if (!k_rows_mask[n]) {
            if (loss0[n] != 0.0f)
                return fail(res, "%s: loss[%d] = %g on a masked position (must stay 0)", name,
                            n, loss0[n]);
            for (int v = 0; v < CHECK_V; v++)
                if (d0[n * CHECK_V + v] != 0.0f)
                    return fail(res, "%s: dlogits[%d][%d] = %g on a masked position (must "
                                "stay 0)", name, n, v, d0[n * CHECK_V + v]);
            continue;
        }
        if (!isfinite(loss0[n]))
            return fail(res, "%s: loss[%d] is %g (masked rows hold NaN: is one read?)", name, n,
                        loss0[n]);
        for (int v = 0; v < CHECK_V; v++)
            if (!isfinite(d0[n * CHECK_V + v]))
                return fail(res, "%s: dlogits[%d][%d] is %g (masked rows hold NaN: is one "
                            "read?)", name, n, v, d0[n * CHECK_V + v]);
        total += loss0[n];
    }
    res->batch_loss = total / res->n_valid; /* the host's token mean over mask positions */

    if ((rc = run_rows(c)) != BALDRO_OK)
        return fail(res, "%s: second loss_rows() call failed with status %d", name, rc);
    if (memcmp(loss0, c->loss, sizeof loss0) != 0 || memcmp(d0, c->dlogits, sizeof d0) != 0)
        return fail(res, "%s: two calls on the same input gave different outputs", name);

    res->fd_checked = !(c->vt->flags & BALDRO_OBJ_SURROGATE_GRAD);
    for (int n = 0; n < CHECK_N; n++) {
        if (!k_rows_mask[n]) continue;
        for (int v = 0; v < CHECK_V; v++) {
            float *x = &c->logits[n * CHECK_V + v];
            const float saved = *x, x_up = (float)(saved + FD_H), x_down = (float)(saved - FD_H);
            float up[CHECK_N];
            *x = x_up;
            if ((rc = run_rows(c)) != BALDRO_OK)
                return fail(res, "%s: loss_rows() failed on a perturbed input (status %d)",
                            name, rc);
            memcpy(up, c->loss, sizeof up);
            *x = x_down;
            if ((rc = run_rows(c)) != BALDRO_OK)
                return fail(res, "%s: loss_rows() failed on a perturbed input (status %d)",
                            name, rc);
            *x = saved;
            for (int k = 0; k < CHECK_N; k++)
                if (k != n && (up[k] != loss0[k] || c->loss[k] != loss0[k]))
                    return fail(res, "%s: perturbing logits[%d][%d] changed loss[%d]: a "
                                "position's loss may depend only on its own row", name, n, v,
                                k);
            if (!res->fd_checked) continue;
            /* the float step actually taken, not the nominal 2h */
            const double fd = ((double)up[n] - (double)c->loss[n]) / ((double)x_up - x_down);
            const double an = d0[n * CHECK_V + v];
            const double e = fabs(fd - an) / fmax(1.0, fabs(an));
            if (e > res->max_fd_error) res->max_fd_error = e;
            if (!(e <= FD_TOL))
                return fail(res, "%s: dlogits[%d][%d] = %.6g but the finite difference of "
                            "loss[%d] is %.6g", name, n, v, an, n, fd);
        }
    }
    res->passed = 1;
    return BALDRO_OK;
}

static int check_rows_objective(const baldro_object *obj, const baldro_param_value *params,
                                uint64_t seed, baldro_check_result *res, baldro_error *err) {
    rows_ctx *c = g_new0(rows_ctx, 1);
    c->vt = &obj->vt.objective;
    int rc = BALDRO_OK;
    if (!c->vt->loss_rows) {
        /* The registry refuses this; an object built by hand may still get here. */
        fail(res, "%s: declares BALDRO_OBJ_NEEDS_LOGITS but has no loss_rows", obj->name);
        g_free(c);
        return BALDRO_OK;
    }
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
    rc = run_rows_checks(c, res, seed);
    if (c->vt->destroy) c->vt->destroy(c->state);
    g_free(c);
    return rc;
}

/* ---- loss() --------------------------------------------------------------------------- */

static int run_checks(check_ctx *c, baldro_check_result *res, uint64_t seed) {
    const char *name = c->vt->name;
    uint64_t s = seed;
    res->n_valid = fill_inputs(&s, CHECK_T, k_row_len, c->logp, c->ref_logp, c->mask);
    if (c->has_alt)
        res->n_alt_valid = fill_inputs(&s, CHECK_T_ALT, k_alt_len, c->alt_logp,
                                       c->alt_ref_logp, c->alt_mask);

    int rc = run_loss(c);
    if (rc != BALDRO_OK)
        return fail(res, "%s: loss() failed with status %d: %s", name, rc,
                    c->err[0] ? c->err : "(no message)");

    float loss0[CHECK_B * CHECK_T], dlogp0[CHECK_B * CHECK_T], dalt0[CHECK_B * CHECK_T_ALT];
    memcpy(loss0, c->loss, sizeof loss0);
    memcpy(dlogp0, c->dlogp, sizeof dlogp0);
    memcpy(dalt0, c->dalt_logp, sizeof dalt0);
    const check_side sides[2] = {
        {"logp", "dlogp", CHECK_T, k_row_len, c->logp, c->mask, dlogp0},
        {"alt_logp", "dalt_logp", CHECK_T_ALT, k_alt_len, c->alt_logp, c->alt_mask, dalt0},
    };
    const int n_sides = c->has_alt ? 2 : 1;

    /* Finite on valid positions, exactly zero on padding. */
    for (int k = 0; k < n_sides; k++)
        if (!check_partials(c, &sides[k], res)) return BALDRO_OK;
    if (c->vt->grain == BALDRO_GRAIN_TOKEN)
        for (int i = 0; i < CHECK_B * CHECK_T; i++)
            if (!c->mask[i] && loss0[i] != 0.0f)
                return fail(res, "%s: loss[%d][%d] = %g on a padded position (must stay 0)",
                            name, i / CHECK_T, i % CHECK_T, loss0[i]);
    double total = 0.0;
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
    if (memcmp(loss0, c->loss, sizeof loss0) != 0 || memcmp(dlogp0, c->dlogp, sizeof dlogp0) != 0 ||
        memcmp(dalt0, c->dalt_logp, sizeof dalt0) != 0)
        return fail(res, "%s: two calls on the same input gave different outputs", name);

    /* Locality and finite differences, on both answers. */
    res->fd_checked = !(c->vt->flags & BALDRO_OBJ_SURROGATE_GRAD);
    for (int k = 0; k < n_sides; k++)
        if (!check_positions(c, &sides[k], k == 0, loss0, res)) return BALDRO_OK;
    res->passed = 1;
    return BALDRO_OK;
}

int baldro_check_objective(const baldro_object *obj, const baldro_param_value *params,
                           uint64_t seed, baldro_check_result *res, baldro_error *err) {
    memset(res, 0, sizeof *res);
    if (obj->kind != BALDRO_KIND_OBJECTIVE)
        return baldro_error_set(err, BALDRO_EINVAL, "'%s' is a %s, not an objective", obj->name,
                                baldro_kind_name(obj->kind));
    if (obj->vt.objective.flags & BALDRO_OBJ_NEEDS_LOGITS)
        return check_rows_objective(obj, params, seed, res, err);
    check_ctx *c = g_new0(check_ctx, 1);
    c->vt = &obj->vt.objective;
    c->has_alt = (c->vt->flags & BALDRO_OBJ_NEEDS_ALT) != 0;
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

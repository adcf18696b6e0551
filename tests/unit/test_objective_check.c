/* The objective contract checker must pass a correct objective and catch each kind of
 * broken one with a message naming the rule. Objects are registered directly (no .so). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "check/objective_check.h"

/* Correct: loss_b = -sum_t logp, dlogp = -1. */
static int good(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                char *e, size_t c) {
    for (int b = 0; b < in->B; b++)
        for (int t = 0; t < in->T; t++) {
            int i = b * in->T + t;
            if (!in->mask[i]) continue;
            out->loss[b] -= in->logp[i];
            out->dlogp[i] = -1.0f;
        }
    return BALDRO_OK;
}
/* Reads the padding: mask * logp turns NaN padding into NaN. */
static int reads_padding(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                         char *e, size_t c) {
    for (int b = 0; b < in->B; b++)
        for (int t = 0; t < in->T; t++) {
            int i = b * in->T + t;
            out->loss[b] -= (float)in->mask[i] * in->logp[i];
            if (in->mask[i]) out->dlogp[i] = -1.0f;
        }
    return BALDRO_OK;
}
/* Gradient off by a factor of two. */
static int wrong_grad(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                      char *e, size_t c) {
    good(s, in, out, e, c);
    for (int i = 0; i < in->B * in->T; i++) out->dlogp[i] *= 2.0f;
    return BALDRO_OK;
}
/* Row 0's loss also depends on row 1. */
static int cross_row(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                     char *e, size_t c) {
    good(s, in, out, e, c);
    out->loss[0] += in->logp[in->T];
    return BALDRO_OK;
}
/* Different output each call. */
static int calls;
static int nondeterministic(void *s, const baldro_objective_batch *in,
                            baldro_objective_output *out, char *e, size_t c) {
    good(s, in, out, e, c);
    out->loss[0] += (float)(calls++) * 1e-3f;
    return BALDRO_OK;
}
/* Writes a gradient into padding. */
static int writes_padding(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                          char *e, size_t c) {
    good(s, in, out, e, c);
    out->dlogp[in->B * in->T - 1] = 1.0f; /* row 3 is shorter than T */
    return BALDRO_OK;
}
static int fails(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                 char *e, size_t c) {
    return BALDRO_FAIL(e, c, BALDRO_EINVAL, "refusing on purpose");
}

/* ---- NEEDS_ALT objectives: a second answer alt_logp[B][T_alt] --------------------------- */

/* The checker hands the 1.3 structs, and the alt fields only to NEEDS_ALT objectives. */
static int saw_1_3_without_alt;
static int no_alt_expected(void *s, const baldro_objective_batch *in,
                           baldro_objective_output *out, char *e, size_t c) {
    saw_1_3_without_alt = in->struct_size == sizeof *in && out->struct_size == sizeof *out &&
                          in->T_alt == 0 && !in->alt_logp && !in->alt_mask && !out->dalt_logp;
    return good(s, in, out, e, c);
}
/* Correct: loss_b = -sum_t logp - 2 sum_t alt_logp, dlogp = -1, dalt_logp = -2. */
static int good_alt(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                    char *e, size_t c) {
    if (in->struct_size < sizeof *in || out->struct_size < sizeof *out || !out->dalt_logp)
        return BALDRO_FAIL(e, c, BALDRO_EUNSUPPORTED, "no alt fields");
    good(s, in, out, e, c);
    for (int b = 0; b < in->B; b++)
        for (int t = 0; t < in->T_alt; t++) {
            int i = b * in->T_alt + t;
            if (!in->alt_mask[i]) continue;
            out->loss[b] -= 2.0f * in->alt_logp[i];
            out->dalt_logp[i] = -2.0f;
        }
    return BALDRO_OK;
}
/* Token grain: loss[b][t] = -logp[b][t], plus -sum_t alt_logp[b][t] on the row's first
 * position; the row's summed loss has d / d alt_logp = -1. */
static int good_alt_token(void *s, const baldro_objective_batch *in,
                          baldro_objective_output *out, char *e, size_t c) {
    for (int b = 0; b < in->B; b++) {
        for (int t = 0; t < in->T; t++) {
            int i = b * in->T + t;
            if (!in->mask[i]) continue;
            out->loss[i] = -in->logp[i];
            out->dlogp[i] = -1.0f;
        }
        for (int t = 0; t < in->T_alt; t++) {
            int i = b * in->T_alt + t;
            if (!in->alt_mask[i]) continue;
            out->loss[b * in->T] -= in->alt_logp[i];
            out->dalt_logp[i] = -1.0f;
        }
    }
    return BALDRO_OK;
}
static int wrong_alt_grad(void *s, const baldro_objective_batch *in,
                          baldro_objective_output *out, char *e, size_t c) {
    good_alt(s, in, out, e, c);
    for (int i = 0; i < in->B * in->T_alt; i++) out->dalt_logp[i] *= 0.5f;
    return BALDRO_OK;
}
static int reads_alt_padding(void *s, const baldro_objective_batch *in,
                             baldro_objective_output *out, char *e, size_t c) {
    good_alt(s, in, out, e, c);
    for (int i = 0; i < in->B * in->T_alt; i++)
        out->loss[i / in->T_alt] += 0.0f * in->alt_logp[i]; /* NaN where padded */
    return BALDRO_OK;
}
/* Indexes the alt rows with T instead of T_alt. */
static int alt_wrong_stride(void *s, const baldro_objective_batch *in,
                            baldro_objective_output *out, char *e, size_t c) {
    good(s, in, out, e, c);
    for (int b = 0; b < in->B; b++)
        for (int t = 0; t < in->T_alt; t++) {
            int i = b * in->T_alt + t, wrong = (b * in->T + t) % (in->B * in->T_alt);
            if (!in->alt_mask[i]) continue;
            out->loss[b] -= 2.0f * in->alt_logp[wrong];
            out->dalt_logp[i] = -2.0f;
        }
    return BALDRO_OK;
}
static int writes_alt_padding(void *s, const baldro_objective_batch *in,
                              baldro_objective_output *out, char *e, size_t c) {
    good_alt(s, in, out, e, c);
    out->dalt_logp[in->B * in->T_alt - 1] = 1.0f; /* row 3 is shorter than T_alt */
    return BALDRO_OK;
}
static int alt_cross_row(void *s, const baldro_objective_batch *in,
                         baldro_objective_output *out, char *e, size_t c) {
    good_alt(s, in, out, e, c);
    out->loss[0] += in->alt_logp[in->T_alt]; /* row 1's first alt position */
    return BALDRO_OK;
}

/* ---- NEEDS_LOGITS objectives: loss_rows over logits[N][V] ------------------------------ */

/* Correct and nonlinear: loss[n] = sum_v (e^(x_v) - r_v x_v), dlogits = e^(x_v) - r_v,
 * with x = logits[n], r = ref_logits[n]. */
static int good_rows(void *s, const baldro_objective_rows *in, baldro_objective_rows_output *out,
                     char *e, size_t c) {
    for (int n = 0; n < in->N; n++) {
        if (!in->mask[n]) continue;
        double l = 0.0;
        for (int v = 0; v < in->V; v++) {
            const int i = n * in->V + v;
            l += exp(in->logits[i]) - (double)in->ref_logits[i] * in->logits[i];
            out->dlogits[i] = (float)(exp(in->logits[i]) - in->ref_logits[i]);
        }
        out->loss[n] = (float)l;
    }
    return BALDRO_OK;
}
/* Gradient without the reference's term. */
static int wrong_rows_grad(void *s, const baldro_objective_rows *in,
                           baldro_objective_rows_output *out, char *e, size_t c) {
    good_rows(s, in, out, e, c);
    for (int i = 0; i < in->N * in->V; i++)
        if (in->mask[i / in->V]) out->dlogits[i] = expf(in->logits[i]);
    return BALDRO_OK;
}
/* Computes every row, masked or not: the masked rows' NaN logits reach their outputs. */
static int reads_masked_row(void *s, const baldro_objective_rows *in,
                            baldro_objective_rows_output *out, char *e, size_t c) {
    for (int n = 0; n < in->N; n++) {
        double l = 0.0;
        for (int v = 0; v < in->V; v++) {
            const int i = n * in->V + v;
            l += exp(in->logits[i]) - (double)in->ref_logits[i] * in->logits[i];
            out->dlogits[i] = (float)(exp(in->logits[i]) - in->ref_logits[i]);
        }
        out->loss[n] = (float)l;
    }
    return BALDRO_OK;
}
/* Skips masked rows but normalises by a batch-wide sum that includes them (NaN). */
static int mixes_in_masked_row(void *s, const baldro_objective_rows *in,
                               baldro_objective_rows_output *out, char *e, size_t c) {
    good_rows(s, in, out, e, c);
    float z = 0.0f;
    for (int i = 0; i < in->N * in->V; i++) z += 0.0f * in->logits[i];
    for (int n = 0; n < in->N; n++)
        if (in->mask[n]) out->loss[n] += z;
    return BALDRO_OK;
}
/* Position 0's loss also depends on the last position's logits. */
static int cross_position(void *s, const baldro_objective_rows *in,
                          baldro_objective_rows_output *out, char *e, size_t c) {
    good_rows(s, in, out, e, c);
    out->loss[0] += in->logits[(in->N - 1) * in->V]; /* both unmasked in the checker */
    return BALDRO_OK;
}
static int rows_calls;
static int nondeterministic_rows(void *s, const baldro_objective_rows *in,
                                 baldro_objective_rows_output *out, char *e, size_t c) {
    good_rows(s, in, out, e, c);
    out->dlogits[0] += (float)(rows_calls++) * 1e-3f;
    return BALDRO_OK;
}
/* What the checker hands: 1.3 structs, N = 6, V = 11, two masked rows, targets -1 on some
 * rows of each kind. */
static int rows_shape_ok;
static int records_rows_shape(void *s, const baldro_objective_rows *in,
                              baldro_objective_rows_output *out, char *e, size_t c) {
    int masked = 0, masked_neg = 0, valid_neg = 0;
    for (int n = 0; n < in->N; n++) {
        masked += !in->mask[n];
        masked_neg += !in->mask[n] && in->targets[n] < 0;
        valid_neg += in->mask[n] && in->targets[n] < 0;
    }
    rows_shape_ok = in->struct_size == sizeof *in && out->struct_size == sizeof *out &&
                    in->N == 6 && in->V == 11 && masked == 2 && masked_neg > 0 && valid_neg > 0;
    return good_rows(s, in, out, e, c);
}

typedef int (*rows_fn)(void *, const baldro_objective_rows *, baldro_objective_rows_output *,
                       char *, size_t);

static baldro_check_result run_rows(rows_fn fn, uint32_t flags) {
    baldro_objective_vtable vt = {BALDRO_VTABLE_HEADER(baldro_objective_vtable), .name = "r",
                                  .grain = BALDRO_GRAIN_TOKEN,
                                  .flags = BALDRO_OBJ_NEEDS_LOGITS | flags, .loss_rows = fn};
    baldro_registry *reg = baldro_registry_new();
    baldro_error err;
    cr_assert_eq(baldro_registry_add(reg, BALDRO_KIND_OBJECTIVE, &vt, NULL, &err), BALDRO_OK,
                 "%s", err.msg);
    baldro_check_result res;
    cr_assert_eq(baldro_check_objective(baldro_registry_find(reg, BALDRO_KIND_OBJECTIVE, "r"),
                                        NULL, 7, &res, &err), BALDRO_OK);
    baldro_registry_free(reg);
    return res;
}

typedef int (*loss_fn)(void *, const baldro_objective_batch *, baldro_objective_output *, char *,
                       size_t);

static baldro_check_result run_grain(loss_fn fn, uint32_t grain, uint32_t flags) {
    baldro_objective_vtable vt = {BALDRO_VTABLE_HEADER(baldro_objective_vtable), .name = "t",
                                  .grain = grain, .flags = flags, .loss = fn};
    baldro_registry *reg = baldro_registry_new();
    baldro_error err;
    cr_assert_eq(baldro_registry_add(reg, BALDRO_KIND_OBJECTIVE, &vt, NULL, &err), BALDRO_OK);
    baldro_check_result res;
    cr_assert_eq(baldro_check_objective(baldro_registry_find(reg, BALDRO_KIND_OBJECTIVE, "t"),
                                        NULL, 7, &res, &err), BALDRO_OK);
    baldro_registry_free(reg);
    return res;
}

static baldro_check_result run(loss_fn fn, uint32_t flags) {
    return run_grain(fn, BALDRO_GRAIN_SAMPLE, flags);
}

Test(objective_check, passes_a_correct_objective) {
    baldro_check_result r = run(good, 0);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert(r.fd_checked);
    cr_assert_eq(r.n_valid, 18);
    cr_assert_lt(r.max_fd_error, 1e-4);
    cr_assert_lt(r.batch_loss, 0.0 + 100.0);
    cr_assert_gt(r.batch_loss, 0.0); /* -sum of negative log-probs */
}
Test(objective_check, catches_reading_padding) {
    baldro_check_result r = run(reads_padding, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "padding"), "%s", r.failure);
}
Test(objective_check, catches_wrong_gradient) {
    baldro_check_result r = run(wrong_grad, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "finite difference"), "%s", r.failure);
}
Test(objective_check, surrogate_gradient_skips_finite_differences) {
    baldro_check_result r = run(wrong_grad, BALDRO_OBJ_SURROGATE_GRAD);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert_not(r.fd_checked);
}
Test(objective_check, catches_cross_row_dependency) {
    baldro_check_result r = run(cross_row, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "changed loss[0]"), "%s", r.failure);
}
Test(objective_check, catches_nondeterminism) {
    baldro_check_result r = run(nondeterministic, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "different outputs"), "%s", r.failure);
}
Test(objective_check, catches_writes_to_padding) {
    baldro_check_result r = run(writes_padding, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "padded position"), "%s", r.failure);
}
Test(objective_check, reports_plugin_failure) {
    baldro_check_result r = run(fails, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "refusing on purpose"), "%s", r.failure);
}

Test(objective_check, hands_1_3_structs_without_alt_fields) {
    saw_1_3_without_alt = 0;
    baldro_check_result r = run(no_alt_expected, 0);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert(saw_1_3_without_alt, "struct_size or alt fields not as expected");
    cr_assert_eq(r.n_alt_valid, 0);
}
Test(objective_check, passes_a_correct_alt_objective) {
    baldro_check_result r = run(good_alt, BALDRO_OBJ_NEEDS_ALT);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert(r.fd_checked);
    cr_assert_eq(r.n_valid, 18);
    cr_assert_eq(r.n_alt_valid, 11);
    cr_assert_lt(r.max_fd_error, 1e-4);
}
Test(objective_check, passes_a_token_grain_alt_objective) {
    baldro_check_result r = run_grain(good_alt_token, BALDRO_GRAIN_TOKEN, BALDRO_OBJ_NEEDS_ALT);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert_lt(r.max_fd_error, 1e-4);
}
Test(objective_check, catches_wrong_alt_gradient) {
    baldro_check_result r = run(wrong_alt_grad, BALDRO_OBJ_NEEDS_ALT);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "dalt_logp") && strstr(r.failure, "finite difference"), "%s",
              r.failure);
}
Test(objective_check, surrogate_alt_gradient_skips_finite_differences) {
    baldro_check_result r = run(wrong_alt_grad, BALDRO_OBJ_NEEDS_ALT | BALDRO_OBJ_SURROGATE_GRAD);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert_not(r.fd_checked);
}
Test(objective_check, catches_reading_alt_padding) {
    baldro_check_result r = run(reads_alt_padding, BALDRO_OBJ_NEEDS_ALT);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "padding"), "%s", r.failure);
}
Test(objective_check, catches_alt_rows_indexed_with_T) {
    baldro_check_result r = run(alt_wrong_stride, BALDRO_OBJ_NEEDS_ALT);
    cr_assert_not(r.passed, "an objective mixing up T and T_alt passed");
    cr_assert(strstr(r.failure, "padding"), "%s", r.failure); /* it lands on NaN padding */
}
Test(objective_check, catches_writes_to_alt_padding) {
    baldro_check_result r = run(writes_alt_padding, BALDRO_OBJ_NEEDS_ALT);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "dalt_logp") && strstr(r.failure, "padded position"), "%s",
              r.failure);
}
Test(objective_check, catches_cross_row_alt_dependency) {
    baldro_check_result r = run(alt_cross_row, BALDRO_OBJ_NEEDS_ALT);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "alt_logp[1][0] changed loss[0]"), "%s", r.failure);
}

Test(objective_check, passes_a_correct_rows_objective) {
    rows_shape_ok = 0;
    baldro_check_result r = run_rows(records_rows_shape, 0);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert(rows_shape_ok, "struct sizes, shape, mask or targets not as documented");
    cr_assert(r.fd_checked);
    cr_assert_eq(r.n_valid, 4);
    cr_assert_lt(r.max_fd_error, 1e-3);
    cr_assert(isfinite(r.batch_loss));
}
Test(objective_check, catches_wrong_rows_gradient) {
    baldro_check_result r = run_rows(wrong_rows_grad, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "dlogits") && strstr(r.failure, "finite difference"), "%s",
              r.failure);
}
Test(objective_check, surrogate_rows_gradient_skips_finite_differences) {
    baldro_check_result r = run_rows(wrong_rows_grad, BALDRO_OBJ_SURROGATE_GRAD);
    cr_assert(r.passed, "%s", r.failure);
    cr_assert_not(r.fd_checked);
}
Test(objective_check, catches_reading_a_masked_row) {
    baldro_check_result r = run_rows(reads_masked_row, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "masked"), "%s", r.failure);
    r = run_rows(mixes_in_masked_row, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "masked rows hold NaN"), "%s", r.failure);
}
Test(objective_check, catches_cross_position_rows_dependency) {
    baldro_check_result r = run_rows(cross_position, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "changed loss[0]"), "%s", r.failure);
}
Test(objective_check, catches_nondeterministic_rows) {
    baldro_check_result r = run_rows(nondeterministic_rows, 0);
    cr_assert_not(r.passed);
    cr_assert(strstr(r.failure, "different outputs"), "%s", r.failure);
}

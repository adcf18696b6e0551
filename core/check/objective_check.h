/*
 * core/check/objective_check.h: a contract check for objective plugins.
 *
 * `baldro-host check` runs every loaded objective (or one) on a synthetic micro-batch
 * and verifies what the host relies on, so a third-party author learns about a broken
 * objective before it silently corrupts an unlearning run:
 *   - create()/loss()/destroy() succeed with the declared default parameters;
 *   - every loss and partial on a valid position is finite;
 *   - padded positions are never read (they hold NaN) and their outputs stay exactly 0;
 *   - two calls on the same input give bit-identical outputs;
 *   - loss[b] (sample grain) depends only on row b, loss[b][t] (token grain) only on
 *     position (b, t): the BalDRO core reweights rows/tokens independently;
 *   - unless the objective declares BALDRO_OBJ_SURROGATE_GRAD, dlogp matches a central
 *     finite difference of the loss (h = 1e-2 in log-prob units, |fd - dlogp| within
 *     2e-3 * max(1, |dlogp|): float32 losses limit a finite difference to about that).
 * The batch and output structs are the ABI 1.3 layout (struct_size = their sizeof). For a
 * BALDRO_OBJ_NEEDS_ALT objective the batch also carries a second answer per sample with
 * its own width T_alt and row lengths (NaN padding, alt_ref_logp when the objective needs
 * references), and dalt_logp gets the same checks as dlogp: finite, zero on padding,
 * deterministic, local (an alt position of row b may change only row b's losses), and
 * the finite difference of loss[b] (token grain: of row b's summed losses).
 * A BALDRO_OBJ_NEEDS_LOGITS objective is checked through loss_rows instead (its loss() may
 * be NULL): 6 positions of an 11-token vocabulary, logits in [-3, 3] and reference logits
 * within +-1 of them, two positions masked out with NaN logits, targets -1 on some masked
 * and unmasked positions. The same rules hold per position: finite loss and dlogits, masked
 * rows never read and their outputs exactly 0, determinism, loss[n] depending on row n
 * only, and dlogits[n][v] against the central finite difference of loss[n] in
 * logits[n][v] (same h and tolerance). n_valid then counts the unmasked positions.
 */
#ifndef BALDRO_CORE_OBJECTIVE_CHECK_H
#define BALDRO_CORE_OBJECTIVE_CHECK_H

#include <glib.h>
#include <stdint.h>

#include "plugin/registry.h"
#include "util/error.h"

typedef struct baldro_check_result {
    int passed;            /* 1 when every check held                               */
    int fd_checked;        /* 0 when skipped (surrogate gradient)                   */
    int n_valid;           /* valid positions in the synthetic batch (main answer;  */
                           /* for NEEDS_LOGITS: unmasked rows)                      */
    int n_alt_valid;       /* valid positions of the second answer (NEEDS_ALT)      */
    double max_fd_error;   /* max |fd - dlogp| / max(1, |dlogp|) (or of dlogits)    */
    double batch_loss;     /* reduced as the host does with BalDRO off              */
    char failure[512];     /* first failed check, one line                          */
} baldro_check_result;

/* Runs the checks. Returns BALDRO_OK when the check could run (look at res->passed),
 * or an error when the objective could not even be created. */
int baldro_check_objective(const baldro_object *obj, const baldro_param_value *params,
                           uint64_t seed, baldro_check_result *res, baldro_error *err);

#endif /* BALDRO_CORE_OBJECTIVE_CHECK_H */

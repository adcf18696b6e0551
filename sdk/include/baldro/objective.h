/*
 * baldro/objective.h: the objective (forget or retain loss) vtable.
 *
 * Almost every unlearning loss is a function of target-token log-probabilities only,
 * so an objective never sees the model. The host runs the model, hands the objective
 *   logp[b][t]     = log p_theta(y_t | x, y_<t)   for every answer token,
 *   ref_logp[b][t] = the same under the frozen reference model (if asked for),
 *   mask[b][t]     = 1 where the position carries loss,
 * and gets back the losses and their partial derivatives d loss / d logp[b][t]. The
 * BalDRO core in the host then weights samples (or tokens) and calls the model's
 * backward. Objectives never see BalDRO; BalDRO never sees objective internals.
 */
#ifndef BALDRO_OBJECTIVE_H
#define BALDRO_OBJECTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How losses are reported and how the host reduces them when BalDRO is off:
 *   SAMPLE: loss[b] per sample; batch loss = mean over the B samples.
 *   TOKEN:  loss[b][t] per token (0 where mask is 0); batch loss = sum over valid
 *           tokens / number of valid tokens in the batch (HF's token mean). */
typedef enum baldro_grain {
    BALDRO_GRAIN_SAMPLE = 1,
    BALDRO_GRAIN_TOKEN = 2
} baldro_grain;

/* Objective flags. */
#define BALDRO_OBJ_NEEDS_REF_LOGP (1u << 0) /* wants ref_logp (served from the cache) */
#define BALDRO_OBJ_SURROGATE_GRAD (1u << 1) /* dlogp is not the derivative of loss     */
                                            /* (detached weights, as WGA/TNPO); the    */
                                            /* host's gradient check skips that test   */
#define BALDRO_OBJ_FORGET (1u << 2)         /* usable as the forget term               */
#define BALDRO_OBJ_RETAIN (1u << 3)         /* usable as the retain term               */
#define BALDRO_OBJ_NEEDS_ALT (1u << 4)      /* (1.3) wants a second answer per sample:  */
                                            /* alt_logp (and alt_ref_logp with          */
                                            /* NEEDS_REF_LOGP), e.g. IdkDPO's "I don't  */
                                            /* know" answers                            */
#define BALDRO_OBJ_NEEDS_LOGITS (1u << 5)   /* (1.3) a loss over whole next-token        */
                                            /* distributions (KL to the reference): the */
                                            /* host calls loss_rows with current and    */
                                            /* reference logits instead of loss(); the  */
                                            /* grain must be TOKEN (one loss a position)*/

/* Input of one loss() call. Host-owned; grows only at the end. */
typedef struct baldro_objective_batch {
    uint32_t struct_size;
    int32_t B;               /* samples in this micro-batch                         */
    int32_t T;               /* answer positions per sample (padded)                */
    const float *logp;       /* [B][T] current model's target-token log-probs       */
    const float *ref_logp;   /* [B][T] reference model's, NULL unless NEEDS_REF_LOGP */
    const uint8_t *mask;     /* [B][T] 1 = position carries loss, 0 = padding       */

    /* ---- ABI 1.3: a second answer per sample, only for BALDRO_OBJ_NEEDS_ALT.
     * Read these only when struct_size > offsetof(baldro_objective_batch, T_alt). */
    int32_t T_alt;               /* positions of the second answer (padded)           */
    const float *alt_logp;       /* [B][T_alt] current model, same prompt as logp[b]  */
    const float *alt_ref_logp;   /* [B][T_alt] reference; NULL unless NEEDS_REF_LOGP  */
    const uint8_t *alt_mask;     /* [B][T_alt]                                        */
} baldro_objective_batch;

/* Output of one loss() call. Both arrays are host-allocated and zeroed before the call;
 * entries where mask is 0 must stay exactly 0. */
typedef struct baldro_objective_output {
    uint32_t struct_size;
    float *loss;  /* SAMPLE: [B]; TOKEN: [B][T]              */
    float *dlogp; /* [B][T] d loss[b] (or loss[b][t]) / d logp[b][t] */

    /* ---- ABI 1.3 ---- */
    float *dalt_logp; /* [B][T_alt] d loss[b] / d alt_logp[b][t]; NULL unless NEEDS_ALT */
} baldro_objective_output;

/* ---- ABI 1.3: input and output of loss_rows (BALDRO_OBJ_NEEDS_LOGITS) ----------------
 * N positions, each with the current model's and the frozen reference model's logits of
 * its next-token distribution. The host chooses the positions (mask) and reduces the
 * per-position losses as a token mean; the objective returns d loss[n] / d logits[n][v].
 * Positions with mask 0 are never read and their outputs stay exactly 0. */
typedef struct baldro_objective_rows {
    uint32_t struct_size;
    int32_t N;                /* positions                                           */
    int32_t V;                /* vocabulary size                                     */
    const float *logits;      /* [N][V] current model                                */
    const float *ref_logits;  /* [N][V] reference model (the model before training)  */
    const int32_t *targets;   /* [N] the next token, or -1 where it is not an answer */
                              /* token (prompt positions)                            */
    const uint8_t *mask;      /* [N] 1 = the position carries loss                   */
} baldro_objective_rows;

typedef struct baldro_objective_rows_output {
    uint32_t struct_size;
    float *loss;    /* [N], zeroed by the host                                         */
    float *dlogits; /* [N][V], zeroed by the host                                      */
} baldro_objective_rows_output;

typedef struct baldro_objective_vtable {
    uint32_t struct_size;     /* sizeof(baldro_objective_vtable) at build time (1.0+) */
    const char *name;         /* unique across all objects, [A-Za-z0-9_.-]           */
    const char *version;      /* may be NULL: the plugin's version is used            */
    const char *description;  /* one line, may be NULL                                */
    uint32_t grain;           /* baldro_grain                                         */
    uint32_t flags;           /* BALDRO_OBJ_*                                         */
    const baldro_param_spec *params; /* NULL-name-terminated; NULL = no parameters   */

    /* Optional: build per-run state from the resolved parameters (same order as
     * `params`). On failure write a reason into err and return non-zero. */
    int (*create)(void **state, const baldro_param_value *params, char *err, size_t err_cap);
    /* Optional: free what create() made. */
    void (*destroy)(void *state);
    /* Required: losses and partials for one micro-batch. Must be deterministic and
     * thread-compatible (the host never calls one state from two threads at once). */
    int (*loss)(void *state, const baldro_objective_batch *in, baldro_objective_output *out,
                char *err, size_t err_cap);

    /* ---- ABI 1.1 ---- */
    const char *const *aliases; /* NULL-terminated other names ("NPO", "GradAscent")  */

    /* ---- ABI 1.3 ---- */
    /* Required with BALDRO_OBJ_NEEDS_LOGITS (loss may then be NULL); NULL otherwise.  */
    int (*loss_rows)(void *state, const baldro_objective_rows *in,
                     baldro_objective_rows_output *out, char *err, size_t err_cap);
} baldro_objective_vtable;

/* Size of the 1.0 layout: what a plugin built against SDK 1.0 reports. */
#define BALDRO_OBJECTIVE_VTABLE_SIZE_1_0 \
    ((uint32_t)offsetof(baldro_objective_vtable, aliases))
#define BALDRO_OBJECTIVE_VTABLE_SIZE_1_2 \
    ((uint32_t)offsetof(baldro_objective_vtable, loss_rows))

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_OBJECTIVE_H */

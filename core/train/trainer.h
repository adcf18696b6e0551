/*
 * core/train/trainer.h: fine-tuning and unlearning, one loop for both.
 *
 * Each optimizer update takes `accum` micro-batches of `batch` samples of the main set
 * (the forget set when unlearning, the training split when fine-tuning), in the order
 * baldro_data_permutation gives for the epoch. A micro-batch is one forward pass over
 * up to three blocks of rows stacked in one batch:
 *     rows [0, B)      the main samples
 *     rows [B, 2B)     their IDK answers (objectives with BALDRO_OBJ_NEEDS_ALT)
 *     next B rows      the retain samples paired with them (baldro_data_pair_batch)
 * The forget objective sees the main (and IDK) log-probs and the cached reference ones;
 * a KL retain objective sees the logits of the retain rows and those of the reference
 * model (ref_model) on the same rows, and hands back d loss / d logits;
 * the BalDRO core (core/dro) turns its losses into the forget value and per-unit weights;
 * the retain objective's losses reduce plainly over the paired rows (in group mode only
 * those paired with kept samples). One backward pass then takes
 *     d/dlogp = gamma * w_unit * dlogp_forget   (main and IDK rows)
 *             + alpha * w_unit * dlogp_retain   (retain rows)
 * scaled by 1/(micro-batches in the update) as HF Trainer scales accumulated losses,
 * except the forget term of the effective scope, whose weights already sum to one over
 * the whole update. The reported loss is gamma * forget + alpha * retain, averaged the
 * same way.
 *
 * Counting, as HF Trainer without drop_last: micro-batches per epoch = ceil(n / batch)
 * (the last one smaller), updates per epoch = ceil(those / accum) (the last update of an
 * epoch may take fewer micro-batches), warm-up updates = floor(warmup_epochs * updates
 * per epoch), then linear decay to 0 at the last update (baldro_lr_linear).
 *
 * Checkpoints are HF directories with optimizer.bin and trainer_state.json (written
 * last: a directory without it is incomplete and refused). Resuming from one recomputes
 * the epoch orders from the seed and continues at the next update, so the losses equal
 * those of an uninterrupted run. A NaN or Inf loss or gradient stops the run with the
 * step and the samples named; nothing is saved for that step.
 *
 * Logs (run_dir): metrics.jsonl, one line per update; dro.jsonl (unlearning), one line
 * per forget sample per update: its loss, BalDRO weight, group membership and NLL.
 * Library code does not print: progress goes to the caller's callback.
 */
#ifndef BALDRO_TRAIN_TRAINER_H
#define BALDRO_TRAIN_TRAINER_H

#include <stdint.h>

#include "data/batch.h"
#include "dro/dro.h"
#include "engine/model.h"
#include "plugin/registry.h"
#include "train/optim.h"
#include "train/ref_cache.h"
#include "util/error.h"

/* What the callback receives after every update. */
typedef struct baldro_step_report {
    int64_t step, total_steps; /* updates done (1-based) and planned           */
    int32_t epoch;             /* 0-based                                      */
    double loss, forget, retain; /* reported values of this update             */
    double grad_norm;
    float lr;
    int64_t tokens;            /* real (non-padding) tokens of this update     */
    double seconds;            /* since the start of this process's training   */
    double tokens_per_s;       /* this run's average                           */
    const char *saved;         /* checkpoint directory written now, or NULL    */
} baldro_step_report;

typedef struct baldro_train_config {
    const char *what;                   /* "finetune" or "unlearn", for messages     */
    /* data */
    const baldro_tok_dataset *main;     /* forget set, or the fine-tuning split      */
    const char *main_name;              /* e.g. "forget10", for messages             */
    const baldro_tok_dataset *alt;      /* IDK answers, item for item; or NULL       */
    const baldro_tok_dataset *retain;   /* or NULL: no retain term                   */
    const baldro_ref_logp *ref_main;    /* NULL unless the forget objective needs it */
    const baldro_ref_logp *ref_alt;
    uint64_t ref_model_hash;            /* recorded in checkpoints                   */
    /* objectives (created by the caller) */
    const baldro_object *forget_obj;
    void *forget_state;
    const baldro_object *retain_obj;    /* NULL: none                                */
    void *retain_state;
    /* A retain objective with BALDRO_OBJ_NEEDS_LOGITS (KL) compares whole distributions
     * with this frozen copy of the model before training (created by the caller for at
     * least `batch` rows of the longest retain row), on the positions of the retain rows
     * (all real positions, or only answer positions with retain_answer_only). */
    baldro_model *ref_model;
    int retain_answer_only;
    double gamma, alpha;
    baldro_dro_config dro;
    /* schedule and optimizer */
    float lr;
    int32_t epochs, batch, accum;
    double warmup_epochs;
    baldro_adamw_config adamw;
    int64_t save_every;                 /* updates between checkpoints; 0: end only  */
    uint64_t seed;
    /* output */
    const char *run_dir;
    const char *copy_files_from;        /* tokenizer files for saved directories     */
    int overwrite;                      /* start over in a run_dir with a previous run */
    void (*on_step)(void *ud, const baldro_step_report *r);
    void *ud;
} baldro_train_config;

typedef struct baldro_train_result {
    int64_t steps;      /* updates done in total (including before a resume)  */
    double last_loss;
    double seconds;     /* this process's training time                       */
    int64_t tokens;
    char *final_dir;    /* run_dir/model (g_free)                              */
} baldro_train_result;

/* Updates the run plans (the counting rule above); *updates_per_epoch may be NULL. */
int64_t baldro_train_total_steps(const baldro_train_config *c, size_t *updates_per_epoch);

/* Model rows and positions the model must be created for (its limits). */
void baldro_train_limits(const baldro_train_config *c, int32_t *max_rows, int32_t *max_seq);

/* Runs the whole schedule (from `resume_dir`, a checkpoint of this run, when not NULL;
 * the model must already hold that checkpoint's weights). */
int baldro_train(baldro_model *m, const baldro_train_config *c, const char *resume_dir,
                 baldro_train_result *res, baldro_error *err);

/* The reference model hash a checkpoint's trainer_state.json records (a resumed run
 * checks its cached reference log-probs against it). */
int baldro_train_checkpoint_ref_hash(const char *dir, uint64_t *hash, baldro_error *err);

/* A parameter of an object by name from resolved values, or `dflt` when not declared. */
double baldro_param_lookup(const baldro_object *o, const baldro_param_value *vals,
                           const char *name, double dflt);

#endif /* BALDRO_TRAIN_TRAINER_H */

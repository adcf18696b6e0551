/*
 * core/train/optim.h: AdamW with Hugging Face Trainer semantics.
 *
 *  - torch.optim.AdamW's update (decoupled weight decay, bias correction; ops.h);
 *  - HF's decay groups: no decay for norm weights and biases (baldro_param.no_decay);
 *  - clipping of the global gradient norm as torch.nn.utils.clip_grad_norm_
 *    (coef = max_norm / (norm + 1e-6), applied when below 1);
 *  - transformers.get_linear_schedule_with_warmup: update k (0-based) runs at
 *    lr * k / warmup during warm-up, then lr * (total - k) / (total - warmup).
 * Gradient accumulation is the caller's: it scales each micro-batch's loss by 1/A and
 * lets the model add the gradients up before one step.
 * The moments live in one block from the backend (ops->alloc), allocated at creation.
 */
#ifndef BALDRO_TRAIN_OPTIM_H
#define BALDRO_TRAIN_OPTIM_H

#include <stdint.h>

#include "engine/model.h"
#include "util/error.h"

typedef struct baldro_adamw_config {
    float beta1, beta2, eps; /* torch defaults 0.9, 0.999, 1e-8                      */
    float weight_decay;      /* applied to parameters without no_decay               */
    float max_grad_norm;     /* <= 0: no clipping                                    */
} baldro_adamw_config;

typedef struct baldro_optimizer baldro_optimizer;

int baldro_optim_new(baldro_model *m, const baldro_adamw_config *c, baldro_optimizer **out,
                     baldro_error *err);
void baldro_optim_free(baldro_optimizer *o);

/* One update at learning rate lr from the accumulated gradients: clip, AdamW, count.
 * *grad_norm (may be NULL) receives the norm before clipping. Gradients are left as
 * they are (clipped); call baldro_model_zero_grad before the next accumulation. */
int baldro_optim_step(baldro_optimizer *o, float lr, double *grad_norm, baldro_error *err);
int64_t baldro_optim_steps_done(const baldro_optimizer *o);
size_t baldro_optim_state_bytes(const baldro_optimizer *o);

/* The moments and the update count, for resuming: saved atomically, loaded after
 * checking every parameter's name and size against the model. */
int baldro_optim_save(const baldro_optimizer *o, const char *path, baldro_error *err);
int baldro_optim_load(baldro_optimizer *o, const char *path, baldro_error *err);

/* Learning rate of update k (0-based) of `total`, with `warmup` warm-up updates. */
float baldro_lr_linear(int64_t k, int64_t warmup, int64_t total, float base_lr);

#endif /* BALDRO_TRAIN_OPTIM_H */

/*
 * core/train/ref_cache.h: the reference model's target-token log-probabilities.
 *
 * NPO, IdkDPO, TNPO and WTNPO compare the model being unlearned with the model before
 * unlearning, but only through ref_logp of the fixed forget answers (and IDK answers).
 * Those never change during unlearning, so one pass before the first step computes them
 * and the trainer reads them from here: no second model sits in memory, and no step pays
 * for a second forward pass.
 *
 * File (written atomically): "BLDRREF1", u32 version, u64 model hash, u64 data hash,
 * u64 n items, u64 off[n + 1], f32 v[off[n]], all little-endian host order. The model
 * hash covers every parameter's name and bytes (the reference model itself, not a path
 * that may have changed); the data hash covers the token ids and masks (so template,
 * tokenizer, split and max_length are all in it). A cache whose key differs is refused
 * with both keys named, never silently used.
 */
#ifndef BALDRO_TRAIN_REF_CACHE_H
#define BALDRO_TRAIN_REF_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "data/batch.h"
#include "engine/model.h"
#include "util/error.h"

typedef struct baldro_ref_logp {
    uint64_t model_hash, data_hash;
    size_t n;   /* items                                                           */
    size_t *off; /* [n + 1]: item i's answer tokens are v[off[i] .. off[i + 1])    */
    float *v;    /* [off[n]]: log p_ref of each answer token (and end token), in order */
} baldro_ref_logp;

/* 64-bit hashes (not cryptographic: they name inputs, they do not defend them). */
int baldro_model_hash(baldro_model *m, uint64_t *out, baldro_error *err);
uint64_t baldro_tok_dataset_hash(const baldro_tok_dataset *ds);

/* One forward pass of `m` over `ds` in batches of at most B rows (`scratch` is a batch
 * with capacity for them) -> per-item target log-probs. */
int baldro_ref_logp_compute(baldro_model *m, uint64_t model_hash, const baldro_tok_dataset *ds,
                            baldro_batch *scratch, int32_t B, baldro_ref_logp **out,
                            baldro_error *err);

int baldro_ref_logp_save(const baldro_ref_logp *r, const char *path, baldro_error *err);
/* Loads `path` and checks its key against (model_hash, data_hash) and its shape against
 * `ds`. BALDRO_ENOTFOUND (err untouched) when the file does not exist. */
int baldro_ref_logp_load(const char *path, uint64_t model_hash, const baldro_tok_dataset *ds,
                         baldro_ref_logp **out, baldro_error *err);
void baldro_ref_logp_free(baldro_ref_logp *r);

/* Mean over items of exp(-NLL_i / |A_i|) (TOFU's "Probability") from per-token log-probs;
 * items with no answer token are skipped. */
double baldro_ref_logp_probability(const baldro_ref_logp *r);

#endif /* BALDRO_TRAIN_REF_CACHE_H */

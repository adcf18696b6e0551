/*
 * core/data/batch.h: TOFU items as token ids, batches in the engine's convention, and
 * the rules that decide which items a step sees.
 *
 * Tokenised dataset. Item i is baldro_template_encode(question_i, answer_i): the prompt
 * and the answer encoded together, with a loss mask that is 1 on the answer and its end
 * token (a suffix of the item), then cut to its first max_length tokens, as HF's
 * truncation does. The cut is counted (n_truncated), and so are items whose answer it
 * removed entirely (n_no_answer: such a row carries no loss, |A_i| = 0).
 *
 * Batch. The engine's forward takes tokens[B][T] and targets[B][T] and scores
 * log p(targets[b][t] | tokens[b][<=t]). An item with ids[0..n) and mask[0..n) becomes a
 * row of n - 1 positions:
 *     tokens[t]  = ids[t]                                  t < n - 1
 *     targets[t] = mask[t + 1] ? ids[t + 1] : -1           t < n - 1
 * and the positions after it are padding: token = pad id (the tokenizer's pad, else its
 * eos, else 0; the value never matters, padding is causal-masked and carries no target),
 * target = -1. T is the longest row of this batch, not max_length - 1, so a batch of
 * short items costs only what it holds. |A_i| (ans_len) is the number of targets >= 0
 * in row i: the answer tokens and the end token.
 *
 * Determinism. Order, pairing and the IDK choice are pure functions of the run's seed
 * and a position, not draws from a shared generator: a run resumed at (epoch, step)
 * gets exactly the batches it would have seen, without replaying anything, and the
 * three rules never disturb each other. With
 *     mix(z)  = splitmix64's output function: z += 0x9E3779B97F4A7C15;
 *               z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9; z = (z ^ z >> 27) * 0x94D049BB133111EB;
 *               z ^ z >> 31                                   (all mod 2^64)
 *     hash(seed, stream, epoch, i) = mix(mix(mix(mix(seed) ^ stream) ^ epoch) ^ i)
 *     uniform(n, key) = the first x_j = mix(key ^ j), j = 0, 1, ..., with
 *               x_j >= 2^64 mod n, taken mod n       (exactly uniform; a retry has
 *                                                     probability < n / 2^64)
 * the rules are
 *   order:   the permutation of 0..n-1 of an epoch is Fisher-Yates from the identity,
 *            k = n-1 down to 1: swap(out[k], out[uniform(k + 1, hash(seed, 1, epoch, k))]).
 *   pairing: the retain item paired with forget position p (0-based, in the epoch's
 *            order) is uniform(n_retain, hash(seed, 2, epoch, p)): a uniform draw with
 *            replacement, as open-unlearning's ForgetRetainDataset pairs each forget sample
 *            with a random retain sample.
 *   IDK:     forget item i (its index in the split) gets idontknow line
 *            uniform(n_idk, hash(seed, 3, 0, i)), the same in every epoch. open-unlearning
 *            redraws it on every fetch; a fixed y_idk per item is what lets IdkDPO's
 *            reference log-probs be computed once and cached.
 */
#ifndef BALDRO_DATA_BATCH_H
#define BALDRO_DATA_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "data/tofu.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

/* data.max_length is at least 2 (one position with a target) and at most this: rows are
 * int32-indexed by the engine and a batch block is max_B * max_T. */
#define BALDRO_DATA_MAX_LENGTH (1 << 20)

typedef struct baldro_tok_dataset {
    size_t n;           /* items, >= 1                                                   */
    size_t *off;        /* [n + 1]: item i is ids[off[i] .. off[i + 1])                  */
    int32_t *ids;       /* [off[n]]: prompt + answer + end token, after the cut          */
    uint8_t *mask;      /* [off[n]]: 1 on answer and end-token positions (a suffix)      */
    size_t max_length;  /* every item was cut to at most this many tokens                */
    size_t n_truncated; /* items that were longer than max_length                        */
    size_t n_no_answer; /* items left with no answer token by the cut (|A_i| = 0)         */
    size_t longest;     /* tokens in the longest item after the cut; rows are one shorter */
    int32_t pad_id;     /* the padding token of batches built from this dataset         */
    int kind;           /* baldro_template_kind used                                    */
} baldro_tok_dataset;

/* The split's own (question, answer) pairs. */
int baldro_tok_dataset_build(const baldro_tokenizer *tok, int kind,
                             const baldro_tofu_split *split, size_t max_length,
                             baldro_tok_dataset **out, baldro_error *err);

/* Any (questions[i], answers[i]) pairs, i < n (e.g. a paraphrased or perturbed answer
 * per item); `name` stands for the source in messages ("forget10_perturbed.json
 * paraphrased_answer"). */
int baldro_tok_dataset_build_qa(const baldro_tokenizer *tok, int kind, size_t n,
                                const char *const *questions, const char *const *answers,
                                const char *name, size_t max_length, baldro_tok_dataset **out,
                                baldro_error *err);

/* IdkDPO's preferred answers: item i is (split question i, idk line
 * baldro_data_idk_choice(idk->n, seed, i)), so its rows line up index for index with
 * baldro_tok_dataset_build(split). */
int baldro_tok_dataset_build_idk(const baldro_tokenizer *tok, int kind,
                                 const baldro_tofu_split *split, const baldro_tofu_lines *idk,
                                 uint64_t seed, size_t max_length, baldro_tok_dataset **out,
                                 baldro_error *err);

void baldro_tok_dataset_free(baldro_tok_dataset *ds);

/* Tokens of item i (after the cut). */
static inline size_t baldro_tok_dataset_len(const baldro_tok_dataset *ds, size_t i) {
    return ds->off[i + 1] - ds->off[i];
}

/* A batch and its storage: one block sized at init for max_B rows of max_T positions,
 * refilled in place every step (nothing is allocated after init). max_T =
 * ds->longest - 1 fits every batch of `ds`. */
typedef struct baldro_batch {
    int32_t max_B, max_T; /* capacity, fixed at init                                     */
    int32_t B, T;         /* this batch: rows, and the longest row's positions            */
    int32_t *tokens;      /* [B][T], packed (row stride T) at the start of its block      */
    int32_t *targets;     /* [B][T], same layout; -1 = no loss here                       */
    int32_t *row_len;     /* [B]: real positions of row b (n_b - 1); padding after        */
    int32_t *ans_len;     /* [B]: |A_b|, the targets >= 0 of row b                        */
    size_t *items;        /* [B]: dataset index of row b                                 */
    int64_t n_targets;    /* sum of ans_len: the batch's valid tokens                     */
    int32_t pad_id;       /* padding token of the last fill                              */
    void *block_;         /* the one allocation; private                                 */
} baldro_batch;

/* Capacity max_B >= 1 rows of max_T >= 1 positions. */
int baldro_batch_init(baldro_batch *b, int32_t max_B, int32_t max_T, baldro_error *err);

/* Rows idx[0..B) of `ds`, 1 <= B <= max_B. Fails (the batch left empty, B = 0) if an
 * index is out of range or a row is longer than max_T. */
int baldro_batch_fill(baldro_batch *b, const baldro_tok_dataset *ds, const size_t *idx,
                      int32_t B, baldro_error *err);

/* Frees the block; the struct may be initialised again. */
void baldro_batch_release(baldro_batch *b);

/* ---- the determinism rules above ---------------------------------------------------- */

enum { BALDRO_DATA_STREAM_ORDER = 1, BALDRO_DATA_STREAM_PAIR = 2, BALDRO_DATA_STREAM_IDK = 3 };

uint64_t baldro_data_hash(uint64_t seed, uint64_t stream, uint64_t epoch, uint64_t i);
/* Uniform in [0, n) from `key`; 0 when n == 0. */
uint64_t baldro_data_uniform(uint64_t n, uint64_t key);

/* out[n]: the order of epoch `epoch` (a permutation of 0..n-1). */
void baldro_data_permutation(size_t n, uint64_t seed, uint64_t epoch, size_t *out);

/* The retain index paired with forget position `pos` of epoch `epoch`; 0 if n_retain == 0. */
size_t baldro_data_pair(size_t n_retain, uint64_t seed, uint64_t epoch, size_t pos);

/* out[B]: the pairs of positions pos0 .. pos0 + B - 1. */
void baldro_data_pair_batch(size_t n_retain, uint64_t seed, uint64_t epoch, size_t pos0,
                            size_t B, size_t *out);

/* The idontknow line of forget item `item`; 0 if n_idk == 0. */
size_t baldro_data_idk_choice(size_t n_idk, uint64_t seed, size_t item);

#endif /* BALDRO_DATA_BATCH_H */

/*
 * core/engine/generate.h: batched generation (greedy, or temperature / top-p sampling)
 * on a model's KV cache: one prefill of the right-padded prompts, then one decode per
 * new token for all rows at once. Rows stop independently at a stop token or at
 * max_new_tokens; finished rows ride along until every row is done.
 */
#ifndef BALDRO_ENGINE_GENERATE_H
#define BALDRO_ENGINE_GENERATE_H

#include <stdint.h>

#include "engine/model.h"
#include "util/error.h"

typedef struct baldro_gen_options {
    int32_t max_new_tokens;
    float temperature;        /* 0: greedy (argmax, lowest id on ties)               */
    float top_p;              /* nucleus sampling mass in (0, 1]; 1: off              */
    uint64_t seed;            /* sampling; the same seed gives the same tokens        */
    const int32_t *stop_ids;  /* a row stops after emitting one of these (included)   */
    int32_t n_stop;
    int32_t no_cache;         /* 1: recompute every prefix from scratch each step (the */
                              /* reference path the KV cache is tested against)       */
} baldro_gen_options;

typedef enum baldro_stop_reason {
    BALDRO_STOP_NONE = 0,
    BALDRO_STOP_TOKEN = 1,  /* emitted a stop token                                   */
    BALDRO_STOP_LENGTH = 2, /* reached max_new_tokens                                 */
} baldro_stop_reason;

/* prompts [B][P] right-padded, lengths[B] in [1, P]. out_tokens [B][max_new_tokens]
 * receives the new tokens, -1 after a row's end; out_n[B] their counts; out_stop[B] a
 * baldro_stop_reason (either output array may be NULL). */
int baldro_generate(baldro_model *m, const int32_t *prompts, const int32_t *lengths, int32_t B,
                    int32_t P, const baldro_gen_options *opt, int32_t *out_tokens,
                    int32_t *out_n, int32_t *out_stop, baldro_error *err);

#endif /* BALDRO_ENGINE_GENERATE_H */

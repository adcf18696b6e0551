/*
 * The evaluator's passes (core/eval/evaluator.c) on a small random Llama with the demo's
 * TOFU tokenizer and forget01: per-item answer NLL equals the trainer's per-token
 * log-probs summed, whatever the batch; greedy generations in batches of mixed prompt
 * lengths equal one-at-a-time generation; items without an answer score NaN.
 */
#include "data/batch.h"
#include "data/chat_template.h"
#include "engine_util.h"
#include "engine/generate.h"
#include "eval/evaluator.h"
#include "train/ref_cache.h"

static engine_env env;
static void setup(void) { engine_env_open(&env, 1); }
static void teardown(void) { engine_env_close(&env); }
TestSuite(evaluator, .init = setup, .fini = teardown, .timeout = 120);

static const char *k_cfg =
    "{\"model_type\": \"llama\", \"hidden_size\": 32, \"intermediate_size\": 64,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
    " \"vocab_size\": 2048, \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-5,"
    " \"rope_theta\": 10000.0, \"tie_word_embeddings\": true}";

typedef struct fixture {
    baldro_tokenizer *tok;
    baldro_tofu_split *split;
    baldro_tok_dataset *ds;
} fixture;

static void load(fixture *f, size_t max_length) {
    baldro_error err = {0};
    cr_assert_eq(baldro_tok_load_json(BALDRO_SOURCE_DIR "/examples/tiny/tokenizer.json", &f->tok,
                                      &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_tofu_load(BALDRO_SOURCE_DIR "/../shared/data/tofu", "forget01", &f->split,
                                  &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_tok_dataset_build(f->tok, BALDRO_TPL_PLAIN, f->split, max_length, &f->ds,
                                          &err), BALDRO_OK, "%s", err.msg);
}

static void unload(fixture *f) {
    baldro_tok_dataset_free(f->ds);
    baldro_tofu_free(f->split);
    baldro_tok_free(f->tok);
}

Test(evaluator, scores_match_summed_logprobs_in_any_batch) {
    fixture f;
    load(&f, 512);
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = 5, .max_seq = (int32_t)f.ds->longest - 1};
    cr_assert_eq(engine_open_model(&env, k_cfg, lim, 5, 0.2f, &m, &err), BALDRO_OK, "%s", err.msg);
    /* reference: the trainer's per-token log-probs, in dataset order, one row at a time */
    baldro_batch b = {0};
    baldro_ref_logp *r = NULL;
    cr_assert_eq(baldro_batch_init(&b, 1, lim.max_seq, &err), BALDRO_OK);
    cr_assert_eq(baldro_ref_logp_compute(m, 0, f.ds, &b, 1, &r, &err), BALDRO_OK, "%s", err.msg);
    for (int32_t B = 1; B <= 5; B += 4) {
        baldro_item_scores s;
        cr_assert_eq(baldro_eval_score(m, f.ds, B, &s, &err), BALDRO_OK, "%s", err.msg);
        cr_assert_eq(s.n, 40);
        for (size_t i = 0; i < s.n; i++) {
            double want = 0;
            for (size_t k = r->off[i]; k < r->off[i + 1]; k++) want -= r->v[k];
            cr_assert_eq(s.n_tokens[i], (int32_t)(r->off[i + 1] - r->off[i]));
            cr_assert(fabs(s.nll[i] - want) <= 1e-5 * fmax(1.0, fabs(want)),
                      "B=%d item %zu: %.9g vs %.9g", B, i, s.nll[i], want);
        }
        baldro_item_scores_clear(&s);
    }
    baldro_ref_logp_free(r);
    baldro_batch_release(&b);
    baldro_model_close(m);
    unload(&f);
}

Test(evaluator, no_answer_left_scores_nan) {
    fixture f;
    load(&f, 12); /* every TOFU question is longer: no answer token survives the cut */
    cr_assert_gt(f.ds->n_no_answer, 0);
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = 4, .max_seq = (int32_t)f.ds->longest - 1};
    cr_assert_eq(engine_open_model(&env, k_cfg, lim, 5, 0.2f, &m, &err), BALDRO_OK, "%s", err.msg);
    baldro_item_scores s;
    cr_assert_eq(baldro_eval_score(m, f.ds, 4, &s, &err), BALDRO_OK, "%s", err.msg);
    size_t nan = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.n_tokens[i] == 0) {
            cr_assert(isnan(s.nll[i]));
            nan++;
        }
    cr_assert_eq(nan, f.ds->n_no_answer);
    baldro_item_scores_clear(&s);
    baldro_model_close(m);
    unload(&f);
}

Test(evaluator, batched_generation_equals_single) {
    fixture f;
    load(&f, 512);
    baldro_error err = {0};
    int32_t eos = baldro_tok_eos(f.tok);
    baldro_gen_request rq = {.tok = f.tok, .kind = BALDRO_TPL_PLAIN, .batch = 6, .max_new = 24,
                             .stops = &eos, .n_stop = eos >= 0};
    int32_t P = 0;
    cr_assert_eq(baldro_eval_prompt_len(&rq, f.split, &P, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_gt(P, 10);
    baldro_model *m = NULL;
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 1, .gen_batch = 6, .gen_len = P + 24};
    cr_assert_eq(engine_open_model(&env, k_cfg, lim, 9, 0.3f, &m, &err), BALDRO_OK, "%s", err.msg);
    char **batched = NULL, **single = NULL;
    cr_assert_eq(baldro_eval_generate(m, &rq, f.split, &batched, &err), BALDRO_OK, "%s", err.msg);
    rq.batch = 1;
    cr_assert_eq(baldro_eval_generate(m, &rq, f.split, &single, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(g_strv_length(batched), 40);
    size_t nonempty = 0;
    for (size_t i = 0; i < 40; i++) {
        cr_assert_str_eq(batched[i], single[i], "item %zu", i);
        nonempty += batched[i][0] != '\0';
        cr_assert(!g_ascii_isspace(batched[i][0]), "stripped");
    }
    cr_assert_gt(nonempty, 30);
    g_strfreev(batched);
    g_strfreev(single);
    rq.max_new = 0;
    cr_assert_eq(baldro_eval_generate(m, &rq, f.split, &batched, &err), BALDRO_EINVAL);
    baldro_model_close(m);
    unload(&f);
}

/* The token-level pass: the same sums, every answer token's log-prob in order (the
 * trainer's), and greedy hits equal to an independent greedy step (KV-cache prefill of
 * the prefix, one new token) at every answer position. */
Test(evaluator, token_pass_logp_and_greedy_hits) {
    fixture f;
    load(&f, 512);
    baldro_model *m = NULL;
    baldro_error err = {0};
    const int32_t L = (int32_t)f.ds->longest;
    baldro_model_limits lim = {.max_batch = 4, .max_seq = L - 1, .gen_batch = 1, .gen_len = L + 1};
    cr_assert_eq(engine_open_model(&env, k_cfg, lim, 5, 0.6f, &m, &err), BALDRO_OK, "%s", err.msg);
    baldro_batch b = {0};
    baldro_ref_logp *r = NULL;
    cr_assert_eq(baldro_batch_init(&b, 1, lim.max_seq, &err), BALDRO_OK);
    cr_assert_eq(baldro_ref_logp_compute(m, 0, f.ds, &b, 1, &r, &err), BALDRO_OK, "%s", err.msg);
    baldro_item_scores s, plain;
    cr_assert_eq(baldro_eval_score_tokens(m, f.ds, 3, &s, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_eval_score(m, f.ds, 3, &plain, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_null(plain.tok_logp);
    size_t hits = 0, checked = 0;
    for (size_t i = 0; i < s.n; i++) {
        cr_assert_eq(s.nll[i], plain.nll[i], "item %zu", i);
        cr_assert_eq((size_t)s.n_tokens[i], r->off[i + 1] - r->off[i]);
        double sum = 0;
        for (int32_t k = 0; k < s.n_tokens[i]; k++) {
            float lp = s.tok_logp[s.tok_off[i] + (size_t)k];
            cr_assert(fabsf(lp - r->v[r->off[i] + (size_t)k]) <= 1e-5f * fmaxf(1.f, fabsf(lp)),
                      "item %zu token %d", i, k);
            sum -= lp;
        }
        cr_assert(fabs(sum - s.nll[i]) <= 1e-4 * fmax(1.0, fabs(sum)));
        if (i >= 4) continue;
        /* answer tokens are the last n_tokens ids of the item */
        const int32_t *ids = f.ds->ids + f.ds->off[i];
        const int32_t len = (int32_t)baldro_tok_dataset_len(f.ds, i);
        for (int32_t k = 0; k < s.n_tokens[i]; k++) {
            int32_t pos = len - s.n_tokens[i] + k, next = -1, got = 0;
            baldro_gen_options go = {.max_new_tokens = 1};
            cr_assert_eq(baldro_generate(m, ids, &pos, 1, pos, &go, &next, &got, NULL, &err),
                         BALDRO_OK, "%s", err.msg);
            cr_assert_eq(got, 1);
            uint8_t want = next == ids[pos];
            cr_assert_eq(s.tok_top1[s.tok_off[i] + (size_t)k], want, "item %zu token %d", i, k);
            hits += want;
            checked++;
        }
    }
    cr_assert_gt(checked, 40);
    baldro_item_scores_clear(&s);
    /* Answers the model would give: each item's first 6 tokens, then its own greedy
     * continuation of 8 tokens with the 6th of them replaced, so the hits are known:
     * 1 1 1 1 1 0 1? ... (after the change the model may or may not agree again). */
    const int32_t n = 6, P = 6, A = 8;
    baldro_tok_dataset *d = g_new0(baldro_tok_dataset, 1);
    d->n = (size_t)n;
    d->off = g_new(size_t, (size_t)n + 1);
    d->ids = g_new(int32_t, (size_t)(n * (P + A)));
    d->mask = g_new0(uint8_t, (size_t)(n * (P + A)));
    d->longest = (size_t)(P + A);
    d->max_length = 512;
    d->pad_id = f.ds->pad_id;
    for (int32_t i = 0; i < n; i++) {
        int32_t *ids = d->ids + i * (P + A), got = 0, plen = P;
        memcpy(ids, f.ds->ids + f.ds->off[(size_t)i], (size_t)P * sizeof *ids);
        baldro_gen_options go = {.max_new_tokens = A};
        cr_assert_eq(baldro_generate(m, ids, &plen, 1, P, &go, ids + P, &got, NULL, &err),
                     BALDRO_OK, "%s", err.msg);
        cr_assert_eq(got, A);
        ids[P + 5] = (ids[P + 5] + 1) % 2048;
        d->off[i] = (size_t)(i * (P + A));
        memset(d->mask + i * (P + A) + P, 1, (size_t)A);
    }
    d->off[n] = (size_t)(n * (P + A));
    cr_assert_eq(baldro_eval_score_tokens(m, d, 4, &s, &err), BALDRO_OK, "%s", err.msg);
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *h = s.tok_top1 + s.tok_off[i];
        cr_assert_eq(s.n_tokens[i], A);
        for (int32_t k = 0; k < 5; k++) cr_assert_eq(h[k], 1, "item %d token %d", i, k);
        cr_assert_eq(h[5], 0, "item %d: the replaced token is not the greedy one", i);
        hits += 5;
    }
    cr_log_info("greedy hits checked: %zu of %zu + %d", hits, checked, n * A);
    baldro_tok_dataset_free(d);
    baldro_item_scores_clear(&s);
    baldro_item_scores_clear(&plain);
    baldro_ref_logp_free(r);
    baldro_batch_release(&b);
    baldro_model_close(m);
    unload(&f);
}

/*
 * The llama model plugin on the CPU backend, without PyTorch: finite-difference
 * gradients on a very small model, recompute == stored activations, KV-cache
 * generation == full recomputation, nothing allocated per step, and config.json
 * errors that name the field. (Agreement with PyTorch: test_llama_oracle.c.)
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate.h"
#include "engine_util.h"

static engine_env env;
static void setup(void) { engine_env_open(&env, 1); }
static void teardown(void) { engine_env_close(&env); }

/* Very small: every parameter entry gets a finite-difference check. */
static const char *k_micro =
    "{\"model_type\": \"qwen3\", \"hidden_size\": 8, \"intermediate_size\": 12,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
    " \"head_dim\": 6, \"vocab_size\": 7, \"max_position_embeddings\": 16,"
    " \"rms_norm_eps\": 1e-5, \"attention_bias\": true, \"tie_word_embeddings\": true,"
    " \"rope_theta\": 10000.0}";

static const char *k_small =
    "{\"model_type\": \"llama\", \"hidden_size\": 32, \"intermediate_size\": 48,"
    " \"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
    " \"vocab_size\": 29, \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-6,"
    " \"rope_theta\": 10000.0, \"tie_word_embeddings\": false,"
    " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 4.0, \"low_freq_factor\": 1.0,"
    " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8}}";

enum { FB = 2, FT = 5 };
static const int32_t k_tok[FB * FT] = {1, 4, 2, 6, 3, 5, 0, 2, 2, 1};
static const int32_t k_tgt[FB * FT] = {4, 2, 6, -1, 1, -1, 2, 2, 1, 5};
static const float k_w[FB * FT] = {0.3f, -1.1f, 0.7f, 0.0f, 1.3f, 0.0f, -0.4f, 0.9f, 0.5f, -0.8f};

static double loss_of(baldro_model *m) {
    float lp[FB * FT];
    baldro_error err = {0};
    cr_assert_eq(baldro_model_forward(m, k_tok, k_tgt, FB, FT, lp, &err), BALDRO_OK, "%s", err.msg);
    double L = 0;
    for (int i = 0; i < FB * FT; i++) L += (double)k_w[i] * lp[i];
    return L;
}

/* Central differences at h and h/2 on every parameter entry, combined (Richardson) so that
 * the O(h^2) truncation term cancels and the check is not blurred by it, against the
 * gradients in m; each entry within 2e-2 relative. Returns the entries checked. */
static size_t fd_sweep(baldro_model *m, double (*loss)(baldro_model *), const char *what) {
    const baldro_param *p;
    int32_t n;
    baldro_model_params(m, &p, &n);
    const float h = 3e-2f;
    size_t checked = 0;
    double worst = 0;
    char worst_at[200] = "";
    for (int32_t i = 0; i < n; i++) {
        size_t k = (size_t)baldro_tensor_numel(&p[i].value);
        float *val = engine_download(&env, &p[i].value), *g = engine_download(&env, &p[i].grad);
        for (size_t j = 0; j < k; j++) {
            float keep = val[j];
            double d[2];
            for (int r = 0; r < 2; r++) {
                float hh = r ? h / 2 : h;
                val[j] = keep + hh;
                env.ops->upload(env.be, p[i].value.data, val, k * 4);
                double up = loss(m);
                val[j] = keep - hh;
                env.ops->upload(env.be, p[i].value.data, val, k * 4);
                double dn = loss(m);
                d[r] = (up - dn) / (2.0 * hh);
            }
            val[j] = keep;
            env.ops->upload(env.be, p[i].value.data, val, k * 4);
            double fd = (4.0 * d[1] - d[0]) / 3.0, e = fabs(fd - g[j]) / (1e-2 + fabs(fd));
            if (e > worst) {
                worst = e;
                g_snprintf(worst_at, sizeof worst_at, "%s[%zu] analytic %.6g fd %.6g", p[i].name, j,
                           (double)g[j], fd);
            }
            cr_expect_leq(e, 2e-2, "%s[%zu]: analytic %.6g vs finite difference %.6g", p[i].name,
                          j, (double)g[j], fd);
            checked++;
        }
        g_free(val);
        g_free(g);
    }
    cr_log_info("%s: %zu entries, worst relative error %.3g at %s", what, checked, worst,
                worst_at);
    return checked;
}

Test(llama, finite_difference_gradients, .init = setup, .fini = teardown) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = FB, .max_seq = FT, .train = 1};
    cr_assert_eq(engine_open_model(&env, k_micro, lim, 7, 0.5f, &m, &err), BALDRO_OK, "%s",
                 err.msg);
    cr_assert_eq(baldro_model_zero_grad(m, &err), BALDRO_OK);
    loss_of(m);
    cr_assert_eq(baldro_model_backward(m, k_w, &err), BALDRO_OK, "%s", err.msg);
    const baldro_param *p;
    int32_t n;
    baldro_model_params(m, &p, &n);
    cr_assert_gt(n, 10);
    size_t checked = fd_sweep(m, loss_of, "finite differences");
    cr_assert_gt(checked, 500);
    baldro_model_close(m);
}

/* ABI 1.3's logits path: the logits handed out are log p + logsumexp (they reproduce
 * the forward's log-probs), and backward_logits with d logits D adds the gradient of
 * sum(D * logits), checked by finite differences on every parameter entry of the micro
 * model together with the log-prob term. */
static float k_D[FB * FT * 7];

static double loss_logits_of(baldro_model *m) {
    float lp[FB * FT];
    baldro_error err = {0};
    cr_assert_eq(baldro_model_forward(m, k_tok, k_tgt, FB, FT, lp, &err), BALDRO_OK, "%s", err.msg);
    const baldro_tensor *lg;
    cr_assert_eq(baldro_model_logits(m, &lg, &err), BALDRO_OK, "%s", err.msg);
    cr_assert(lg->ndim == 2 && lg->shape[0] == FB * FT && lg->shape[1] == 7);
    float *h = engine_download(&env, lg);
    double L = 0;
    for (int i = 0; i < FB * FT; i++) {
        L += (double)k_w[i] * lp[i];
        for (int v = 0; v < 7; v++) L += (double)k_D[i * 7 + v] * h[i * 7 + v];
        if (k_tgt[i] >= 0) { /* log p(target) = logit - logsumexp */
            double mx = -1e30, z = 0;
            for (int v = 0; v < 7; v++) mx = fmax(mx, h[i * 7 + v]);
            for (int v = 0; v < 7; v++) z += exp(h[i * 7 + v] - mx);
            cr_assert(fabs(h[i * 7 + k_tgt[i]] - mx - log(z) - lp[i]) < 1e-5);
        }
    }
    g_free(h);
    return L;
}

Test(llama, logits_and_backward_logits, .init = setup, .fini = teardown) {
    for (int i = 0; i < FB * FT * 7; i++) k_D[i] = (float)sin(1.7 * i + 0.3);
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = FB, .max_seq = FT, .train = 1};
    cr_assert_eq(engine_open_model(&env, k_micro, lim, 11, 0.5f, &m, &err), BALDRO_OK, "%s",
                 err.msg);
    cr_assert_eq(baldro_model_zero_grad(m, &err), BALDRO_OK);
    loss_logits_of(m);
    void *dl = NULL;
    cr_assert_eq(env.ops->alloc(env.be, sizeof k_D, &dl), BALDRO_OK);
    env.ops->upload(env.be, dl, k_D, sizeof k_D);
    baldro_tensor D = baldro_t2(dl, BALDRO_DT_F32, FB * FT, 7);
    cr_assert_eq(baldro_model_backward_logits(m, k_w, &D, &err), BALDRO_OK, "%s", err.msg);
    const baldro_tensor *lg;
    cr_assert_eq(baldro_model_logits(m, &lg, &err), BALDRO_ESTATE, "no logits after backward");
    baldro_tensor bad = baldro_t2(dl, BALDRO_DT_F32, FB * FT - 1, 7);
    loss_logits_of(m);
    cr_assert_eq(baldro_model_backward_logits(m, k_w, &bad, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_model_zero_grad(m, &err), BALDRO_OK);
    loss_logits_of(m);
    cr_assert_eq(baldro_model_backward_logits(m, k_w, &D, &err), BALDRO_OK, "%s", err.msg);
    size_t checked = fd_sweep(m, loss_logits_of, "logits path");
    cr_assert_gt(checked, 500);
    env.ops->free(env.be, dl);
    baldro_model_close(m);
}

/* Gradients with activation recompute are bit-identical to stored activations. */
Test(llama, recompute_matches_stored, .init = setup, .fini = teardown) {
    baldro_model *a = NULL, *b = NULL;
    baldro_error err = {0};
    baldro_model_limits la = {.max_batch = FB, .max_seq = FT, .train = 1};
    baldro_model_limits lb = la;
    lb.recompute = 1;
    cr_assert_eq(engine_open_model(&env, k_small, la, 3, 0.1f, &a, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(engine_open_model(&env, k_small, lb, 3, 0.1f, &b, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_lt(baldro_model_get_info(b)->activation_bytes,
                 baldro_model_get_info(a)->activation_bytes);
    int32_t tok[FB * FT], tgt[FB * FT];
    for (int i = 0; i < FB * FT; i++) {
        tok[i] = (i * 7 + 3) % 29;
        tgt[i] = (i * 5 + 1) % 29;
    }
    float la_p[FB * FT], lb_p[FB * FT];
    baldro_model *ms[2] = {a, b};
    float *lps[2] = {la_p, lb_p};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(baldro_model_zero_grad(ms[k], &err), BALDRO_OK);
        cr_assert_eq(baldro_model_forward(ms[k], tok, tgt, FB, FT, lps[k], &err), BALDRO_OK, "%s",
                     err.msg);
        cr_assert_eq(baldro_model_backward(ms[k], k_w, &err), BALDRO_OK, "%s", err.msg);
    }
    cr_assert_eq(memcmp(la_p, lb_p, sizeof la_p), 0);
    const baldro_param *pa, *pb;
    int32_t n;
    baldro_model_params(a, &pa, &n);
    baldro_model_params(b, &pb, &n);
    for (int32_t i = 0; i < n; i++) {
        float *ga = engine_download(&env, &pa[i].grad), *gb = engine_download(&env, &pb[i].grad);
        cr_expect_eq(memcmp(ga, gb, baldro_tensor_bytes(&pa[i].grad)), 0, "%s differs",
                     pa[i].name);
        g_free(ga);
        g_free(gb);
    }
    /* One backward per forward. */
    cr_assert_eq(baldro_model_backward(a, k_w, &err), BALDRO_ESTATE);
    baldro_model_close(a);
    baldro_model_close(b);
}

/* A training model under a logits budget runs its LM head in chunks of rows (3 rows of
 * the 29-token vocabulary here, 4 chunks for 10 rows, the last one short) and recomputes
 * them in backward: the log-probs and every gradient equal the one-pass model's to fp32
 * rounding (GEMMs of 3 rows take other BLAS kernels, and the LM-head gradient sums its
 * rows in another order: 1e-6 relative), its plan is smaller, and it
 * refuses to hand out logits it does not keep. */
Test(llama, chunked_logits_match_one_pass, .init = setup, .fini = teardown) {
    baldro_model *a = NULL, *b = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = FB, .max_seq = FT, .train = 1};
    cr_assert_eq(engine_open_model(&env, k_small, lim, 3, 0.1f, &a, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(engine_open_model_chunked(&env, k_small, lim, 3, 0.1f, 3 * 29 * 4, &b, &err),
                 BALDRO_OK, "%s", err.msg);
    /* 7 rows x 29 x 4 bytes fewer, up to the planner's 64-byte alignment */
    long saved = (long)(baldro_model_get_info(a)->activation_bytes -
                        baldro_model_get_info(b)->activation_bytes);
    cr_assert(labs(saved - (FB * FT - 3) * 29 * 4) < 64, "the plan holds 3 rows of logits, not "
              "10: %ld bytes saved", saved);
    int32_t tok[FB * FT], tgt[FB * FT];
    for (int i = 0; i < FB * FT; i++) {
        tok[i] = (i * 7 + 3) % 29;
        tgt[i] = i == 4 ? -1 : (i * 5 + 1) % 29; /* one ignored position inside a chunk */
    }
    float pa[FB * FT], pb[FB * FT];
    baldro_model *ms[2] = {a, b};
    float *lps[2] = {pa, pb};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(baldro_model_zero_grad(ms[k], &err), BALDRO_OK);
        cr_assert_eq(baldro_model_forward(ms[k], tok, tgt, FB, FT, lps[k], &err), BALDRO_OK, "%s",
                     err.msg);
    }
    const baldro_tensor *lg = NULL;
    cr_assert_eq(baldro_model_logits(a, &lg, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_neq(baldro_model_logits(b, &lg, &err), BALDRO_OK);
    cr_assert(strstr(err.msg, "chunks of 3 rows"), "%s", err.msg);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(baldro_model_backward(ms[k], k_w, &err), BALDRO_OK, "%s", err.msg);
    /* BLAS picks other kernels for 3-row GEMMs than for 10-row ones: a few fp32 ulps */
    for (int i = 0; i < FB * FT; i++)
        cr_assert_leq(fabs((double)pa[i] - pb[i]), 1e-6 * fmax(1.0, fabs(pa[i])),
                      "logp[%d] %.9g vs %.9g", i, (double)pa[i], (double)pb[i]);
    const baldro_param *qa, *qb;
    int32_t n;
    baldro_model_params(a, &qa, &n);
    baldro_model_params(b, &qb, &n);
    for (int32_t i = 0; i < n; i++) {
        float *ga = engine_download(&env, &qa[i].grad), *gb = engine_download(&env, &qb[i].grad);
        size_t k = (size_t)baldro_tensor_numel(&qa[i].grad);
        double num = 0, den = 0;
        for (size_t j = 0; j < k; j++) {
            num += ((double)ga[j] - gb[j]) * ((double)ga[j] - gb[j]);
            den += (double)ga[j] * ga[j];
        }
        cr_expect_leq(sqrt(num / (den > 0 ? den : 1)), 1e-6, "%s: relative L2 %.3g", qa[i].name,
                      sqrt(num / (den > 0 ? den : 1)));
        cr_expect_gt(den, 0, "%s has a gradient", qa[i].name);
        g_free(ga);
        g_free(gb);
    }
    /* d logits over whole rows need every row: refused, and the model stays usable */
    float dl[FB * FT] = {0};
    cr_assert_eq(baldro_model_forward(b, tok, tgt, FB, FT, pb, &err), BALDRO_OK);
    baldro_tensor fake = baldro_t2(NULL, BALDRO_DT_F32, FB * FT, 29);
    cr_assert_neq(baldro_model_backward_logits(b, dl, &fake, &err), BALDRO_OK);
    cr_assert(strstr(err.msg, "chunks of 3 rows"), "%s", err.msg);
    baldro_model_close(a);
    baldro_model_close(b);
}

/* Batched KV-cache decoding with prompts of different lengths gives the tokens of
 * recomputing every prefix, and rows stop on their own. */
Test(llama, kv_cache_matches_recompute, .init = setup, .fini = teardown) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    enum { G = 3, P = 6, NEW = 10 };
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 1, .gen_batch = G, .gen_len = P + NEW};
    cr_assert_eq(engine_open_model(&env, k_small, lim, 11, 0.3f, &m, &err), BALDRO_OK, "%s",
                 err.msg);
    int32_t prompts[G * P] = {3, 9, 1, 0, 0, 0, 4, 4, 8, 15, 16, 23, 7, 0, 0, 0, 0, 0};
    int32_t lens[G] = {3, 6, 1};
    int32_t a[G * NEW], b[G * NEW], na[G], nb[G], sa[G], sb[G];
    baldro_gen_options opt = {.max_new_tokens = NEW};
    cr_assert_eq(baldro_generate(m, prompts, lens, G, P, &opt, a, na, sa, &err), BALDRO_OK, "%s",
                 err.msg);
    opt.no_cache = 1;
    cr_assert_eq(baldro_generate(m, prompts, lens, G, P, &opt, b, nb, sb, &err), BALDRO_OK, "%s",
                 err.msg);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "KV cache and recompute disagree");
    /* With a stop token taken from row 0's output, row 0 ends there and others go on. */
    int32_t stop = a[2];
    opt.no_cache = 0;
    opt.stop_ids = &stop;
    opt.n_stop = 1;
    cr_assert_eq(baldro_generate(m, prompts, lens, G, P, &opt, b, nb, sb, &err), BALDRO_OK);
    int first = 0;
    while (a[first] != stop) first++;
    cr_assert_eq(nb[0], first + 1);
    cr_assert_eq(sb[0], BALDRO_STOP_TOKEN);
    cr_assert_eq(b[first + 1], -1);
    for (int r = 0; r < G; r++)
        for (int i = 0; i < nb[r]; i++) cr_assert_eq(b[r * NEW + i], a[r * NEW + i]);
    /* Sampling: the same seed gives the same tokens; top_p tiny is greedy. */
    opt.n_stop = 0;
    opt.temperature = 0.8f;
    opt.top_p = 0.9f;
    opt.seed = 42;
    cr_assert_eq(baldro_generate(m, prompts, lens, G, P, &opt, b, nb, sb, &err), BALDRO_OK);
    int32_t c[G * NEW];
    cr_assert_eq(baldro_generate(m, prompts, lens, G, P, &opt, c, nb, sb, &err), BALDRO_OK);
    cr_assert_eq(memcmp(b, c, sizeof b), 0);
    opt.top_p = 1e-6f;
    cr_assert_eq(baldro_generate(m, prompts, lens, G, P, &opt, c, nb, sb, &err), BALDRO_OK);
    cr_assert_eq(memcmp(a, c, sizeof a), 0, "top_p -> 0 must reduce to greedy");
    baldro_model_close(m);
}

Test(llama, nothing_allocated_per_step, .init = setup, .fini = teardown) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = FB, .max_seq = FT, .train = 1, .gen_batch = 2,
                               .gen_len = 8};
    cr_assert_eq(engine_open_model(&env, k_small, lim, 1, 0.02f, &m, &err), BALDRO_OK, "%s",
                 err.msg);
    baldro_backend_stats s0, s1;
    baldro_backend_get_stats(env.be, &s0);
    cr_assert_geq(s0.bytes_live, baldro_model_get_info(m)->planned_bytes);
    int32_t tok[FB * FT] = {0}, tgt[FB * FT] = {1};
    float lp[FB * FT];
    for (int step = 0; step < 3; step++) {
        cr_assert_eq(baldro_model_forward(m, tok, tgt, FB, FT, lp, &err), BALDRO_OK, "%s", err.msg);
        cr_assert_eq(baldro_model_backward(m, k_w, &err), BALDRO_OK, "%s", err.msg);
    }
    const baldro_tensor *lg;
    int32_t len[2] = {2, 3}, ids[2] = {1, 2};
    cr_assert_eq(baldro_model_gen_prefill(m, tok, len, 2, 3, &lg, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_model_gen_decode(m, ids, &lg, &err), BALDRO_OK, "%s", err.msg);
    baldro_backend_get_stats(env.be, &s1);
    cr_assert_eq(s1.n_allocs, s0.n_allocs, "forward/backward/generation allocated memory");
    baldro_model_close(m);
}

/* ---- config.json errors name the field -------------------------------------- */

static void expect_config_error(const char *json, const char *needle) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 4};
    int rc = engine_open_model(&env, json, lim, 1, 0, &m, &err);
    cr_assert_neq(rc, BALDRO_OK, "accepted: %s", json);
    cr_assert_null(m);
    cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
    cr_assert_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
}

#define BASE "\"hidden_size\": 8, \"intermediate_size\": 8, \"num_hidden_layers\": 1, " \
             "\"vocab_size\": 5, "

Test(llama, config_errors_name_the_field, .init = setup, .fini = teardown) {
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 3}",
                        "num_attention_heads=3 does not divide hidden_size=8");
    expect_config_error("{\"model_type\": \"llama\", " BASE
                        "\"num_attention_heads\": 4, \"num_key_value_heads\": 3}",
                        "num_key_value_heads=3 does not divide num_attention_heads=4");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2}}",
                        "rope_scaling.rope_type 'yarn' is not supported");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}}",
                        "rope_scaling.low_freq_factor");
    expect_config_error("{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
                        " \"vocab_size\": 5, \"num_attention_heads\": 2}",
                        "'intermediate_size' is required");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": \"2\"}",
                        "'num_attention_heads' must be an integer");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"mlp_bias\": true}", "mlp_bias");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"hidden_act\": \"gelu\"}", "hidden_act 'gelu'");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"head_dim\": 5}", "head_dim=5 must be even");
    /* A value with a newline is escaped: the message stays on one line (found by
     * tests/fuzz/fuzz_llama_config.c). */
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"hidden_act\": \"\\nlu\"}", "hidden_act '\\nlu'");
    expect_config_error("{\"model_type\": \"gpt\\n2\", " BASE "\"num_attention_heads\": 2}",
                        "model_type 'gpt\\n2'");
    expect_config_error("{\"model_type\": \"gpt2\", " BASE "\"num_attention_heads\": 2}",
                        "model_type 'gpt2' is served by no loaded model plugin");
    expect_config_error("{" BASE "\"num_attention_heads\": 2}", "'model_type' is missing");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"max_position_embeddings\": 2}",
                        "max_position_embeddings=2");
    expect_config_error("[1, 2]", "top level must be an object");
    expect_config_error("{\"model_type\": \"llama\", ", "test config: config:");
    /* What json-glib alone would accept: the strict gate refuses it first. */
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": 2, "
                        "\"hidden_size\": 16}", "duplicate");
    expect_config_error("{\"model_type\": \"llama\", " BASE "\"num_attention_heads\": "
                        "123456789012345678901234567890}", "test config: config:");
    GString *deep = g_string_new("{\"a\": ");
    for (int i = 0; i < 100000; i++) g_string_append_c(deep, '[');
    expect_config_error(deep->str, "test config: config:");
    g_string_free(deep, TRUE);
}

Test(llama, bad_batches_are_refused, .init = setup, .fini = teardown) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = 2, .max_seq = 4, .train = 1};
    cr_assert_eq(engine_open_model(&env, k_small, lim, 1, 0.02f, &m, &err), BALDRO_OK);
    int32_t tok[12] = {0}, tgt[12] = {0};
    float lp[12];
    cr_assert_eq(baldro_model_forward(m, tok, tgt, 3, 4, lp, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "outside the planned limits"), "%s", err.msg);
    tok[5] = 29;
    cr_assert_eq(baldro_model_forward(m, tok, tgt, 2, 4, lp, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "token id 29 at [1][1]"), "%s", err.msg);
    tok[5] = 0;
    tgt[2] = 100;
    cr_assert_eq(baldro_model_forward(m, tok, tgt, 2, 4, lp, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "target id 100"), "%s", err.msg);
    const baldro_tensor *lg;
    int32_t len = 1;
    cr_assert_eq(baldro_model_gen_prefill(m, tok, &len, 1, 1, &lg, &err), BALDRO_ESTATE);
    baldro_model_close(m);
}

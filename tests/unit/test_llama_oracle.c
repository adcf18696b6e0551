/*
 * The llama plugin against the PyTorch oracle (tests/oracle/engine_oracle.py): for each
 * fixture case in tests/fixtures/engine/, per-token log-probs within 1e-5 of the
 * float64 reference, every parameter gradient within 1e-4 relative L2, the losses of 5
 * AdamW steps (gradient accumulation, clipping, warm-up) within 1e-5, and greedy
 * generation token for token, with the KV cache and without.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate.h"
#include "engine/model_load.h"
#include "engine_util.h"
#include "io/safetensors.h"
#include "train/optim.h"

typedef struct oracle_case {
    char *dir;
    char *config;
    JsonParser *meta_parser;
    JsonObject *meta;
    baldro_st_file *params, *data;
    int32_t B, T, A;
} oracle_case;

static engine_env env;
static void setup(void) { engine_env_open(&env, 2); }
static void teardown(void) { engine_env_close(&env); }

static void case_open(oracle_case *c, const char *name) {
    baldro_error err = {0};
    c->dir = g_build_filename(BALDRO_TEST_FIXTURES, "engine", name, NULL);
    char *p = g_build_filename(c->dir, "config.json", NULL);
    cr_assert(g_file_get_contents(p, &c->config, NULL, NULL), "cannot read %s", p);
    g_free(p);
    p = g_build_filename(c->dir, "meta.json", NULL);
    c->meta_parser = json_parser_new();
    cr_assert(json_parser_load_from_file(c->meta_parser, p, NULL), "cannot parse %s", p);
    g_free(p);
    c->meta = json_node_get_object(json_parser_get_root(c->meta_parser));
    c->B = (int32_t)json_object_get_int_member(c->meta, "B");
    c->T = (int32_t)json_object_get_int_member(c->meta, "T");
    c->A = (int32_t)json_object_get_int_member(c->meta, "A");
    p = g_build_filename(c->dir, "params.safetensors", NULL);
    cr_assert_eq(baldro_st_open(p, &c->params, &err), BALDRO_OK, "%s", err.msg);
    g_free(p);
    p = g_build_filename(c->dir, "case.safetensors", NULL);
    cr_assert_eq(baldro_st_open(p, &c->data, &err), BALDRO_OK, "%s", err.msg);
    g_free(p);
}

static void case_close(oracle_case *c) {
    baldro_st_close(c->params);
    baldro_st_close(c->data);
    g_object_unref(c->meta_parser);
    g_free(c->config);
    g_free(c->dir);
}

static baldro_model *case_model(oracle_case *c, baldro_model_limits lim) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    cr_assert_eq(engine_open_model(&env, c->config, lim, 1, 0, &m, &err), BALDRO_OK, "%s: %s",
                 c->dir, err.msg);
    cr_assert_eq(baldro_model_load_st_file(m, c->params, &err), BALDRO_OK, "%s", err.msg);
    return m;
}

static void *read_i32(oracle_case *c, const char *name, size_t n) {
    baldro_error err = {0};
    int32_t *v = g_new(int32_t, n);
    cr_assert_eq(baldro_st_read_i32(c->data, name, v, n, &err), BALDRO_OK, "%s", err.msg);
    return v;
}
static double *read_f64(oracle_case *c, const char *name, size_t n) {
    baldro_error err = {0};
    double *v = g_new(double, n);
    cr_assert_eq(baldro_st_read_f64(c->data, name, v, n, &err), BALDRO_OK, "%s", err.msg);
    return v;
}

static void check_logp_and_grads(const char *name, int recompute) {
    oracle_case c;
    case_open(&c, name);
    const size_t N = (size_t)c.B * c.T;
    baldro_model_limits lim = {.max_batch = c.B, .max_seq = c.T, .train = 1,
                               .recompute = recompute};
    baldro_model *m = case_model(&c, lim);
    baldro_error err = {0};
    int32_t *tok = read_i32(&c, "tokens", N), *tgt = read_i32(&c, "targets", N);
    double *ref = read_f64(&c, "logp", N), *dlp64 = read_f64(&c, "dlogp", N);
    float *lp = g_new(float, N), *dlp = g_new(float, N);
    for (size_t i = 0; i < N; i++) dlp[i] = (float)dlp64[i];
    cr_assert_eq(baldro_model_zero_grad(m, &err), BALDRO_OK);
    cr_assert_eq(baldro_model_forward(m, tok, tgt, c.B, c.T, lp, &err), BALDRO_OK, "%s", err.msg);
    double worst = 0;
    for (size_t i = 0; i < N; i++) {
        double e = fabs((double)lp[i] - ref[i]);
        if (e > worst) worst = e;
        if (tgt[i] < 0) cr_assert_eq(lp[i], 0.0f, "ignored target must give logp 0");
    }
    cr_assert_leq(worst, 1e-5, "%s: log-prob max abs error %.3g > 1e-5", name, worst);
    cr_assert_eq(baldro_model_backward(m, dlp, &err), BALDRO_OK, "%s", err.msg);
    const baldro_param *p;
    int32_t n;
    baldro_model_params(m, &p, &n);
    for (int32_t i = 0; i < n; i++) {
        char key[160];
        g_snprintf(key, sizeof key, "grad.%s", p[i].name);
        size_t k = (size_t)baldro_tensor_numel(&p[i].grad);
        double *gref = read_f64(&c, key, k);
        float *g = engine_download(&env, &p[i].grad);
        double e = rel_l2(g, gref, k);
        cr_expect_leq(e, 1e-4, "%s: gradient of %s has relative L2 error %.3g > 1e-4", name,
                      p[i].name, e);
        g_free(gref);
        g_free(g);
    }
    baldro_model_close(m);
    g_free(tok), g_free(tgt), g_free(ref), g_free(dlp64), g_free(lp), g_free(dlp);
    case_close(&c);
}

static double json_num(JsonObject *o, const char *k) { return json_object_get_double_member(o, k); }

static void check_adamw(const char *name) {
    oracle_case c;
    case_open(&c, name);
    JsonObject *h = json_object_get_object_member(c.meta, "adamw");
    const int32_t steps = (int32_t)json_object_get_int_member(h, "total_steps");
    const int32_t warm = (int32_t)json_object_get_int_member(h, "warmup_steps");
    JsonArray *betas = json_object_get_array_member(h, "betas");
    baldro_adamw_config ac = {.beta1 = (float)json_array_get_double_element(betas, 0),
                              .beta2 = (float)json_array_get_double_element(betas, 1),
                              .eps = (float)json_num(h, "eps"),
                              .weight_decay = (float)json_num(h, "weight_decay"),
                              .max_grad_norm = (float)json_num(h, "max_grad_norm")};
    const float lr = (float)json_num(h, "lr");
    const size_t N = (size_t)c.B * c.T;
    baldro_model_limits lim = {.max_batch = c.B, .max_seq = c.T, .train = 1};
    baldro_model *m = case_model(&c, lim);
    baldro_optimizer *opt = NULL;
    baldro_error err = {0};
    cr_assert_eq(baldro_optim_new(m, &ac, &opt, &err), BALDRO_OK, "%s", err.msg);
    int32_t *tok = read_i32(&c, "adamw.tokens", N * c.A), *tgt = read_i32(&c, "adamw.targets", N * c.A);
    double *losses = read_f64(&c, "adamw.losses", (size_t)steps);
    double *norms = read_f64(&c, "adamw.grad_norms", (size_t)steps);
    double *lrs = read_f64(&c, "adamw.lrs", (size_t)steps);
    float *lp = g_new(float, N), *dlp = g_new(float, N);
    for (int32_t s = 0; s < steps; s++) {
        cr_assert_eq(baldro_model_zero_grad(m, &err), BALDRO_OK);
        double loss = 0;
        for (int32_t a = 0; a < c.A; a++) {
            const int32_t *tk = tok + (size_t)a * N, *tg = tgt + (size_t)a * N;
            cr_assert_eq(baldro_model_forward(m, tk, tg, c.B, c.T, lp, &err), BALDRO_OK, "%s",
                         err.msg);
            size_t count = 0;
            double sum = 0;
            for (size_t i = 0; i < N; i++)
                if (tg[i] >= 0) count++, sum -= lp[i];
            loss += sum / (double)count / c.A;
            for (size_t i = 0; i < N; i++) dlp[i] = tg[i] >= 0 ? (float)(-1.0 / count / c.A) : 0;
            cr_assert_eq(baldro_model_backward(m, dlp, &err), BALDRO_OK, "%s", err.msg);
        }
        cr_assert_leq(fabs(loss - losses[s]), 1e-5, "%s: loss of step %d is %.8f, oracle %.8f",
                      name, s, loss, losses[s]);
        float lr_s = baldro_lr_linear(s, warm, steps, lr);
        cr_assert_leq(fabs(lr_s - lrs[s]), 1e-9, "%s: lr of step %d %.9g vs %.9g", name, s,
                      (double)lr_s, lrs[s]);
        double gn;
        cr_assert_eq(baldro_optim_step(opt, lr_s, &gn, &err), BALDRO_OK, "%s", err.msg);
        cr_assert_leq(fabs(gn - norms[s]) / norms[s], 1e-4, "%s: grad norm %.6g vs %.6g", name, gn,
                      norms[s]);
    }
    double fin = 0;
    double *final_ref = read_f64(&c, "adamw.final_loss", 1);
    for (int32_t a = 0; a < c.A; a++) {
        const int32_t *tk = tok + (size_t)a * N, *tg = tgt + (size_t)a * N;
        cr_assert_eq(baldro_model_forward(m, tk, tg, c.B, c.T, lp, &err), BALDRO_OK);
        size_t count = 0;
        double sum = 0;
        for (size_t i = 0; i < N; i++)
            if (tg[i] >= 0) count++, sum -= lp[i];
        fin += sum / (double)count / c.A;
    }
    cr_assert_leq(fabs(fin - final_ref[0]), 1e-5, "%s: loss after 5 updates %.8f vs %.8f", name,
                  fin, final_ref[0]);
    cr_assert_eq(baldro_optim_steps_done(opt), steps);
    baldro_optim_free(opt);
    baldro_model_close(m);
    g_free(tok), g_free(tgt), g_free(losses), g_free(norms), g_free(lrs), g_free(lp), g_free(dlp);
    g_free(final_ref);
    case_close(&c);
}

static void check_generation(const char *name) {
    oracle_case c;
    case_open(&c, name);
    JsonObject *g = json_object_get_object_member(c.meta, "gen");
    const int32_t G = (int32_t)json_object_get_int_member(g, "G");
    const int32_t NEW = (int32_t)json_object_get_int_member(g, "max_new");
    const int32_t eos = (int32_t)json_object_get_int_member(g, "eos_token_id");
    const baldro_st_tensor *pt = baldro_st_find(c.data, "gen.prompts");
    cr_assert_not_null(pt);
    const int32_t P = (int32_t)pt->shape[1];
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 1, .gen_batch = G, .gen_len = P + NEW};
    baldro_model *m = case_model(&c, lim);
    int32_t *prompts = read_i32(&c, "gen.prompts", (size_t)G * P);
    int32_t *lens = read_i32(&c, "gen.lengths", (size_t)G);
    int32_t *ref = read_i32(&c, "gen.tokens", (size_t)G * NEW);
    int32_t *out = g_new(int32_t, (size_t)G * NEW), n[64], stop[64];
    cr_assert_leq(G, 64);
    baldro_error err = {0};
    for (int nc = 0; nc < 2; nc++) {
        baldro_gen_options opt = {.max_new_tokens = NEW, .stop_ids = &eos, .n_stop = 1,
                                  .no_cache = nc};
        cr_assert_eq(baldro_generate(m, prompts, lens, G, P, &opt, out, n, stop, &err), BALDRO_OK,
                     "%s", err.msg);
        for (int32_t r = 0; r < G; r++)
            for (int32_t i = 0; i < NEW; i++)
                cr_assert_eq(out[r * NEW + i], ref[r * NEW + i],
                             "%s (%s): row %d token %d is %d, oracle %d", name,
                             nc ? "recompute" : "KV cache", r, i, out[r * NEW + i],
                             ref[r * NEW + i]);
        int early = 0;
        for (int32_t r = 0; r < G; r++) early += stop[r] == BALDRO_STOP_TOKEN;
        cr_assert_gt(early, 0, "%s: the fixture should stop some row at eos", name);
    }
    baldro_model_close(m);
    g_free(prompts), g_free(lens), g_free(ref), g_free(out);
    case_close(&c);
}

#define ORACLE_CASE(name_)                                                               \
    Test(oracle_##name_, logp_and_gradients, .init = setup, .fini = teardown) {          \
        check_logp_and_grads(#name_, 0);                                                 \
    }                                                                                    \
    Test(oracle_##name_, logp_and_gradients_recompute, .init = setup, .fini = teardown) { \
        check_logp_and_grads(#name_, 1);                                                 \
    }                                                                                    \
    Test(oracle_##name_, adamw_five_steps, .init = setup, .fini = teardown) {            \
        check_adamw(#name_);                                                             \
    }                                                                                    \
    Test(oracle_##name_, greedy_generation, .init = setup, .fini = teardown) {           \
        check_generation(#name_);                                                        \
    }

ORACLE_CASE(llama_gqa)
ORACLE_CASE(llama3_rope_tied)
ORACLE_CASE(qwen3_qknorm)
ORACLE_CASE(llama_linear_bias)
ORACLE_CASE(qwen2_bias)
ORACLE_CASE(mistral)

/* Loading parameters checks names and shapes against the config, naming the tensor. */
Test(oracle_load, wrong_shapes_and_names_are_refused, .init = setup, .fini = teardown) {
    oracle_case c;
    case_open(&c, "llama_gqa");
    baldro_error err = {0};
    baldro_model *m = NULL;
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 4};
    /* Same config with a wider MLP: every mlp tensor has the wrong shape. */
    char *wide = g_strdup(c.config);
    char *at = strstr(wide, "\"intermediate_size\"");
    cr_assert_not_null(at);
    char *num = strchr(at, ':') + 1;
    while (*num == ' ') num++;
    long old = strtol(num, NULL, 10);
    char *cfg = g_strdup_printf("%.*s%ld%s", (int)(num - wide), wide, old + 8,
                                num + strspn(num, "0123456789"));
    cr_assert_eq(engine_open_model(&env, cfg, lim, 1, 0, &m, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_model_load_st_file(m, c.params, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "mlp.gate_proj.weight' has shape"), "%s", err.msg);
    cr_assert(strstr(err.msg, "params.safetensors"), "names the file: %s", err.msg);
    baldro_model_close(m);
    /* A Qwen3 model has q_norm/k_norm the Llama checkpoint lacks. */
    char *qwen = g_strdup(c.config);
    char *mt = strstr(qwen, "\"llama\"");
    cr_assert_not_null(mt);
    char *cfg2 = g_strdup_printf("%.*s\"qwen3\"%s", (int)(mt - qwen), qwen, mt + 7);
    cr_assert_eq(engine_open_model(&env, cfg2, lim, 1, 0, &m, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_model_load_st_file(m, c.params, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "q_norm.weight' is missing"), "%s", err.msg);
    baldro_model_close(m);
    g_free(wide), g_free(cfg), g_free(qwen), g_free(cfg2);
    case_close(&c);
}

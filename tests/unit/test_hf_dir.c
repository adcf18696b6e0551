/*
 * Hugging Face model directories: loading what transformers' save_pretrained wrote (BF16
 * sharded, F32 single file, F16 sharded with tied embeddings; tests/oracle/hf_oracle.py)
 * gives transformers' log-probs within 1e-5, and baldro's own save -> load gives identical
 * log-probs, with sharding, side files and atomic replacement.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "engine/model_hf.h"
#include "engine_util.h"
#include "io/safetensors.h"

static engine_env env;
static char *tmpdir;
static void setup(void) {
    engine_env_open(&env, 1);
    tmpdir = g_dir_make_tmp("baldro-hf-XXXXXX", NULL);
    cr_assert_not_null(tmpdir);
}
static void rm_rf(const char *path) {
    GDir *d = g_dir_open(path, 0, NULL);
    if (!d) {
        g_remove(path);
        return;
    }
    const char *n;
    while ((n = g_dir_read_name(d))) {
        char *p = g_build_filename(path, n, NULL);
        rm_rf(p);
        g_free(p);
    }
    g_dir_close(d);
    g_rmdir(path);
}
static void teardown(void) {
    rm_rf(tmpdir);
    g_free(tmpdir);
    engine_env_close(&env);
}

static char *case_dir(const char *name) {
    return g_build_filename(BALDRO_TEST_FIXTURES, "hf", name, NULL);
}

static baldro_model *open_dir(const char *dir, int B, int T) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = B, .max_seq = T};
    int rc = baldro_model_open_hf_dir(baldro_loader_registry(env.ld), env.ops, env.be, dir, lim,
                                      &m, &err);
    cr_assert_eq(rc, BALDRO_OK, "%s: %s", dir, err.msg);
    return m;
}

/* Forward on the case's expected tokens; returns logp (g_free) and fills ref. */
static float *run_case(baldro_model *m, const char *dir, double **ref, int32_t *B, int32_t *T) {
    baldro_error err = {0};
    char *p = g_build_filename(dir, "expected.safetensors", NULL);
    baldro_st_file *f = NULL;
    cr_assert_eq(baldro_st_open(p, &f, &err), BALDRO_OK, "%s", err.msg);
    const baldro_st_tensor *t = baldro_st_find(f, "tokens");
    *B = (int32_t)t->shape[0];
    *T = (int32_t)t->shape[1];
    size_t N = (size_t)*B * *T;
    int32_t *tok = g_new(int32_t, N), *tgt = g_new(int32_t, N);
    *ref = g_new(double, N);
    cr_assert_eq(baldro_st_read_i32(f, "tokens", tok, N, &err), BALDRO_OK);
    cr_assert_eq(baldro_st_read_i32(f, "targets", tgt, N, &err), BALDRO_OK);
    cr_assert_eq(baldro_st_read_f64(f, "logp", *ref, N, &err), BALDRO_OK);
    float *lp = g_new(float, N);
    cr_assert_eq(baldro_model_forward(m, tok, tgt, *B, *T, lp, &err), BALDRO_OK, "%s", err.msg);
    baldro_st_close(f);
    g_free(p), g_free(tok), g_free(tgt);
    return lp;
}

static void check_against_transformers(const char *name) {
    char *dir = case_dir(name);
    baldro_model *m = open_dir(dir, 2, 10);
    double *ref;
    int32_t B, T;
    float *lp = run_case(m, dir, &ref, &B, &T);
    double worst = 0;
    for (int i = 0; i < B * T; i++) worst = fmax(worst, fabs(lp[i] - ref[i]));
    cr_assert_leq(worst, 1e-5, "%s: max |logp - transformers| = %.3g", name, worst);
    baldro_model_close(m);
    g_free(lp), g_free(ref), g_free(dir);
}

Test(hf_dir, loads_transformers_bf16_shards, .init = setup, .fini = teardown) {
    check_against_transformers("llama_bf16_sharded");
}
Test(hf_dir, loads_transformers_f32_single_file, .init = setup, .fini = teardown) {
    check_against_transformers("qwen3_f32_single");
}
Test(hf_dir, loads_transformers_f16_tied_shards, .init = setup, .fini = teardown) {
    check_against_transformers("qwen2_f16_tied_sharded");
}

Test(hf_dir, save_then_load_is_identical, .init = setup, .fini = teardown) {
    const char *cases[] = {"llama_bf16_sharded", "qwen2_f16_tied_sharded"};
    for (int c = 0; c < 2; c++) {
        char *src = case_dir(cases[c]);
        baldro_model *m = open_dir(src, 2, 10);
        double *ref;
        int32_t B, T;
        float *lp0 = run_case(m, src, &ref, &B, &T);
        char *out = g_build_filename(tmpdir, cases[c], NULL);
        baldro_error err = {0};
        baldro_save_options so = {.max_shard_bytes = 30000, .copy_files_from = src};
        cr_assert_eq(baldro_model_save_hf_dir(m, out, &so, &err), BALDRO_OK, "%s", err.msg);
        /* Layout transformers expects. */
        char *idx = g_build_filename(out, "model.safetensors.index.json", NULL);
        char *shard1 = g_build_filename(out, "model-00001-of-00003.safetensors", NULL);
        char *gen = g_build_filename(out, "generation_config.json", NULL);
        cr_assert(g_file_test(idx, G_FILE_TEST_IS_REGULAR), "no index in %s", out);
        cr_assert(g_file_test(shard1, G_FILE_TEST_IS_REGULAR) ||
                      g_file_test(out, G_FILE_TEST_IS_DIR),
                  "no shard");
        cr_assert(g_file_test(gen, G_FILE_TEST_IS_REGULAR), "side files not copied");
        baldro_model *m2 = open_dir(out, 2, 10);
        g_free(ref); /* run_case hands back a new reference each time */
        float *lp1 = run_case(m2, src, &ref, &B, &T);
        cr_assert_eq(memcmp(lp0, lp1, sizeof(float) * (size_t)B * T), 0,
                     "%s: log-probs changed across save -> load", cases[c]);
        /* Saving again: refused without overwrite, atomic replacement with it. */
        cr_assert_eq(baldro_model_save_hf_dir(m2, out, &so, &err), BALDRO_EEXIST);
        so.overwrite = 1;
        cr_assert_eq(baldro_model_save_hf_dir(m2, out, &so, &err), BALDRO_OK, "%s", err.msg);
        GDir *d = g_dir_open(tmpdir, 0, NULL);
        const char *n;
        while ((n = g_dir_read_name(d)))
            cr_assert_null(strstr(n, ".partial-") ? n : strstr(n, ".old-"),
                           "left behind: %s", n);
        g_dir_close(d);
        baldro_model_close(m);
        baldro_model_close(m2);
        g_free(lp0), g_free(lp1), g_free(ref), g_free(src), g_free(out), g_free(idx);
        g_free(shard1), g_free(gen);
    }
}

Test(hf_dir, bad_directories_name_the_file, .init = setup, .fini = teardown) {
    baldro_model *m = NULL;
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 4};
    const baldro_registry *reg = baldro_loader_registry(env.ld);
    /* No config.json. */
    cr_assert_eq(baldro_model_open_hf_dir(reg, env.ops, env.be, tmpdir, lim, &m, &err), BALDRO_EIO);
    cr_assert(strstr(err.msg, "config.json"), "%s", err.msg);
    /* config.json but a missing shard. */
    char *src = case_dir("llama_bf16_sharded"), *txt = NULL;
    char *p = g_build_filename(src, "config.json", NULL);
    cr_assert(g_file_get_contents(p, &txt, NULL, NULL));
    char *q = g_build_filename(tmpdir, "config.json", NULL);
    cr_assert(g_file_set_contents(q, txt, -1, NULL));
    char *pi = g_build_filename(src, "model.safetensors.index.json", NULL), *itxt = NULL;
    cr_assert(g_file_get_contents(pi, &itxt, NULL, NULL));
    char *qi = g_build_filename(tmpdir, "model.safetensors.index.json", NULL);
    cr_assert(g_file_set_contents(qi, itxt, -1, NULL));
    cr_assert_neq(baldro_model_open_hf_dir(reg, env.ops, env.be, tmpdir, lim, &m, &err), BALDRO_OK);
    cr_assert(strstr(err.msg, "model-0000"), "names the shard: %s", err.msg);
    cr_assert_null(m);
    /* The Qwen3 weights under a Llama config: a tensor the model does not have. */
    char *qsrc = case_dir("qwen3_f32_single");
    char *from = g_build_filename(qsrc, "model.safetensors", NULL), *data = NULL;
    gsize len;
    cr_assert(g_file_get_contents(from, &data, &len, NULL));
    g_remove(qi);
    char *to = g_build_filename(tmpdir, "model.safetensors", NULL);
    cr_assert(g_file_set_contents(to, data, (gssize)len, NULL));
    cr_assert_eq(baldro_model_open_hf_dir(reg, env.ops, env.be, tmpdir, lim, &m, &err),
                 BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "is not a parameter") || strstr(err.msg, "has shape"), "%s",
              err.msg);
    cr_assert_null(m);
    g_free(src), g_free(txt), g_free(p), g_free(q), g_free(pi), g_free(itxt), g_free(qi);
    g_free(qsrc), g_free(from), g_free(data), g_free(to);
}

Test(hf_dir, end_tokens_from_generation_config, .init = setup, .fini = teardown) {
    int32_t ids[4], n = -1;
    baldro_error err = {0};
    char *src = case_dir("llama_bf16_sharded");
    cr_assert_eq(baldro_hf_end_tokens(src, ids, 4, &n, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], 2);
    g_free(src);
    /* Llama-3 Instruct style: a list in generation_config.json wins over config.json. */
    char *g = g_build_filename(tmpdir, "generation_config.json", NULL);
    char *c = g_build_filename(tmpdir, "config.json", NULL);
    cr_assert(g_file_set_contents(c, "{\"eos_token_id\": 5}", -1, NULL));
    cr_assert(g_file_set_contents(g, "{\"eos_token_id\": [128001, 128008, 128009]}", -1, NULL));
    cr_assert_eq(baldro_hf_end_tokens(tmpdir, ids, 4, &n, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_eq(ids[2], 128009);
    cr_assert(g_file_set_contents(g, "{\"eos_token_id\": \"</s>\"}", -1, NULL));
    cr_assert_eq(baldro_hf_end_tokens(tmpdir, ids, 4, &n, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "generation_config.json: eos_token_id"), "%s", err.msg);
    g_remove(g);
    cr_assert_eq(baldro_hf_end_tokens(tmpdir, ids, 4, &n, &err), BALDRO_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], 5);
    g_free(g), g_free(c);
}

/* The study's model families (examples/models/): each family's exact config fields at tiny
 * sizes, against transformers' log-probs for the same directory. */
Test(hf_family, llama32_1b_instruct, .init = setup, .fini = teardown) {
    check_against_transformers("family_llama32_1b_instruct");
    int32_t ids[8], n;
    baldro_error err = {0};
    char *d = case_dir("family_llama32_1b_instruct");
    cr_assert_eq(baldro_hf_end_tokens(d, ids, 8, &n, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(n, 3, "Llama-3 Instruct has three end tokens");
    g_free(d);
}
Test(hf_family, llama31_8b_instruct, .init = setup, .fini = teardown) {
    check_against_transformers("family_llama31_8b_instruct");
}
Test(hf_family, qwen3_8b, .init = setup, .fini = teardown) {
    check_against_transformers("family_qwen3_8b");
}
Test(hf_family, mistral_7b_instruct_v03, .init = setup, .fini = teardown) {
    check_against_transformers("family_mistral_7b_instruct_v03");
}
Test(hf_family, llama2_7b_chat, .init = setup, .fini = teardown) {
    check_against_transformers("family_llama2_7b_chat");
}

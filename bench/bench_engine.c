/*
 * bench/bench_engine.c: the C side of the engine benchmark (bench/run.sh runs it next to
 * bench/torch_engine.py with the same sizes and thread count).
 *
 * Measures, for a randomly initialised Llama-shaped model in fp32 on the CPU backend:
 *   - sgemm: the machine's cblas_sgemm rate at the model's matrix shapes (the ceiling);
 *   - training: forward + backward + AdamW step, tokens/s = batch*seq / median step;
 *     and the FLOP rate of the step's matrix work as a fraction of that ceiling;
 *   - generation: greedy, KV cache, generated tokens/s = prompts*new / median call;
 *   - memory: peak RSS, the RSS before the model existed, and the arena's planned bytes.
 * Prints one JSON line, with the same keys as the PyTorch side.
 */
#include <cblas.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend/backend.h"
#include "engine/generate.h"
#include "engine/model.h"
#include "plugin/loader.h"
#include "train/optim.h"
#include "util/fsutil.h"

typedef struct size_spec {
    const char *name;
    int C, L, Hq, Hkv, F, V;
} size_spec;

static const size_spec k_sizes[] = {
    {"tiny", 64, 5, 8, 4, 192, 512},
    {"small", 512, 8, 8, 4, 1376, 32000},
    {"medium", 1024, 12, 16, 8, 2752, 32000},
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static double current_rss_mib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (double)resident * 4096.0 / 1048576.0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* sgemm GFLOP/s on one [M,K] x [K,N] product, best of a few runs. */
static double sgemm_gflops(int M, int N, int K) {
    float *a = g_new0(float, (size_t)M * K), *b = g_new0(float, (size_t)K * N),
          *c = g_new0(float, (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    g_free(a), g_free(b), g_free(c);
    return 2.0 * M * N * K / best / 1e9;
}

typedef struct opts {
    const char *size, *phase;
    int threads, batch, seq, steps, warmup, gen_prompts, gen_prompt_len, gen_new, gen_reps;
    int recompute;
    long seed;
} opts;

int main(int argc, char **argv) {
    opts o = {"tiny", "both", 1, 4, 128, 10, 2, 4, 32, 32, 3, 0, 0};
    GOptionEntry entries[] = {
        {"size", 0, 0, G_OPTION_ARG_STRING, &o.size, "tiny | small | medium", "S"},
        {"threads", 0, 0, G_OPTION_ARG_INT, &o.threads, "worker threads", "N"},
        {"batch", 0, 0, G_OPTION_ARG_INT, &o.batch, "rows per step", "B"},
        {"seq", 0, 0, G_OPTION_ARG_INT, &o.seq, "tokens per row", "T"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &o.steps, "timed training steps", "N"},
        {"warmup", 0, 0, G_OPTION_ARG_INT, &o.warmup, "untimed steps first", "N"},
        {"gen-prompts", 0, 0, G_OPTION_ARG_INT, &o.gen_prompts, "generation rows", "P"},
        {"gen-prompt-len", 0, 0, G_OPTION_ARG_INT, &o.gen_prompt_len, "prompt tokens", "L"},
        {"gen-new", 0, 0, G_OPTION_ARG_INT, &o.gen_new, "new tokens per row", "M"},
        {"gen-reps", 0, 0, G_OPTION_ARG_INT, &o.gen_reps, "timed generate calls", "N"},
        {"phase", 0, 0, G_OPTION_ARG_STRING, &o.phase, "train | gen | both", "P"},
        {"recompute", 0, 0, G_OPTION_ARG_NONE, &o.recompute, "activation recompute", NULL},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "seed", "S"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionContext *ctx = g_option_context_new("- baldro engine benchmark");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *ge = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &ge)) {
        fprintf(stderr, "bench_engine: %s\n", ge->message);
        return 2;
    }
    g_option_context_free(ctx);
    const size_spec *sz = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(k_sizes); i++)
        if (!strcmp(k_sizes[i].name, o.size)) sz = &k_sizes[i];
    if (!sz) {
        fprintf(stderr, "bench_engine: --size '%s' is not tiny, small or medium\n", o.size);
        return 2;
    }
    int do_train = strcmp(o.phase, "gen") != 0, do_gen = strcmp(o.phase, "train") != 0;

    baldro_error err = {0};
    baldro_backend *be;
    const baldro_ops *ops;
    if (baldro_backend_cpu_open(o.threads, &be, &ops, &err)) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    baldro_loader *ld = baldro_loader_new();
    char *exe_dir = baldro_exe_dir();
    char *plugdir = g_build_filename(exe_dir ? exe_dir : ".", BALDRO_PLUGIN_RELDIR, NULL);
    baldro_loader_load_dir(ld, plugdir);

    char *cfg = g_strdup_printf(
        "{\"model_type\": \"llama\", \"hidden_size\": %d, \"num_hidden_layers\": %d,"
        " \"num_attention_heads\": %d, \"num_key_value_heads\": %d, \"intermediate_size\": %d,"
        " \"vocab_size\": %d, \"max_position_embeddings\": 2048, \"rms_norm_eps\": 1e-6,"
        " \"tie_word_embeddings\": false}", sz->C, sz->L, sz->Hq, sz->Hkv, sz->F, sz->V);

    /* The ceiling: sgemm at the step's dominant shapes (rows = tokens). */
    const int N = o.batch * o.seq;
    double g1 = sgemm_gflops(N, sz->F, sz->C), g2 = sgemm_gflops(N, sz->C, sz->C);
    double g3 = sgemm_gflops(N, sz->V, sz->C);
    double sgemm = fmax(g1, fmax(g2, g3));

    double base_rss = current_rss_mib();
    GString *js = g_string_new(NULL);
    g_string_append_printf(js, "{\"impl\":\"baldro\",\"size\":\"%s\",\"phase\":\"%s\","
                           "\"threads\":%d,\"batch\":%d,\"seq\":%d,\"sgemm_gflops\":%.1f",
                           sz->name, o.phase, o.threads, o.batch, o.seq, sgemm);
    int rc = 0;
    if (do_train) {
        baldro_model *m = NULL;
        baldro_model_open_args a = {.hf_config_json = cfg, .source = "bench", .seed = (uint64_t)o.seed,
                                    .limits = {.max_batch = o.batch, .max_seq = o.seq,
                                               .train = 1, .recompute = o.recompute}};
        baldro_optimizer *opt = NULL;
        baldro_adamw_config ac = {0.9f, 0.999f, 1e-8f, 0.01f, 0.0f};
        if (baldro_model_open(baldro_loader_registry(ld), ops, be, &a, &m, &err) ||
            baldro_optim_new(m, &ac, &opt, &err)) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return 1;
        }
        int32_t *tok = g_new(int32_t, (size_t)N), *tgt = g_new(int32_t, (size_t)N);
        float *lp = g_new(float, (size_t)N), *dlp = g_new(float, (size_t)N);
        GRand *r = g_rand_new_with_seed((guint32)o.seed);
        for (int i = 0; i < N; i++) tok[i] = g_rand_int_range(r, 0, sz->V);
        for (int i = 0; i < N; i++) tgt[i] = i % o.seq == o.seq - 1 ? -1 : tok[i + 1];
        for (int i = 0; i < N; i++) dlp[i] = -1.0f / (float)N;
        g_rand_free(r);
        double *t = g_new(double, (size_t)o.steps);
        for (int s = 0; s < o.warmup + o.steps; s++) {
            double t0 = now_s();
            if (baldro_model_zero_grad(m, &err) ||
                baldro_model_forward(m, tok, tgt, o.batch, o.seq, lp, &err) ||
                baldro_model_backward(m, dlp, &err) || baldro_optim_step(opt, 1e-4f, NULL, &err)) {
                fprintf(stderr, "bench_engine: %s\n", err.msg);
                return 1;
            }
            if (s >= o.warmup) t[s - o.warmup] = now_s() - t0;
        }
        double step = median(t, o.steps);
        /* Matrix work of one step: 3 GEMMs (fwd, dX, dW) per linear, 2 FLOPs per MAC;
         * attention: QK^T and PV forward, 4 products backward plus the QK^T recompute,
         * causal half not skipped by the CPU kernels' sgemm. */
        const double C = sz->C, F = sz->F, D = (double)sz->C / sz->Hq, Q = sz->Hq * D,
                     K = sz->Hkv * D, V = sz->V;
        double lin = C * Q + 2 * C * K + Q * C + 3 * C * F;
        double mm = 6.0 * N * (sz->L * lin + V * C);
        double att = 2.0 * o.batch * sz->Hq * (double)o.seq * o.seq * D * (2 + 5) * sz->L;
        const baldro_model_info *info = baldro_model_get_info(m);
        size_t planned = info->planned_bytes + baldro_optim_state_bytes(opt);
        g_string_append_printf(js, ",\"train_tokens_per_s\":%.1f,\"train_step_s\":%.4f,"
                               "\"matmul_gflops\":%.1f,\"sgemm_fraction\":%.3f,"
                               "\"planned_mib\":%.1f,\"params\":%lld",
                               N / step, step, (mm + att) / step / 1e9,
                               (mm + att) / step / 1e9 / sgemm, planned / 1048576.0,
                               (long long)info->n_params);
        g_free(t), g_free(tok), g_free(tgt), g_free(lp), g_free(dlp);
        baldro_optim_free(opt);
        if (do_gen) baldro_model_close(m); /* measure generation on its own model */
        else {
            g_string_append_printf(js, ",\"base_rss_mib\":%.1f", base_rss);
            baldro_model_close(m);
        }
    }
    if (do_gen) {
        const int P = o.gen_prompts, Lp = o.gen_prompt_len, M = o.gen_new;
        baldro_model *m = NULL;
        baldro_model_open_args a = {.hf_config_json = cfg, .source = "bench", .seed = (uint64_t)o.seed,
                                    .limits = {.max_batch = 1, .max_seq = 1, .gen_batch = P,
                                               .gen_len = Lp + M}};
        if (baldro_model_open(baldro_loader_registry(ld), ops, be, &a, &m, &err)) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return 1;
        }
        int32_t *pr = g_new(int32_t, (size_t)P * Lp), *len = g_new(int32_t, (size_t)P);
        int32_t *out = g_new(int32_t, (size_t)P * M);
        GRand *r = g_rand_new_with_seed((guint32)o.seed + 1);
        for (int i = 0; i < P * Lp; i++) pr[i] = g_rand_int_range(r, 0, sz->V);
        for (int i = 0; i < P; i++) len[i] = Lp;
        g_rand_free(r);
        baldro_gen_options go = {.max_new_tokens = M};
        double *t = g_new(double, (size_t)o.gen_reps + 1);
        for (int k = 0; k <= o.gen_reps; k++) {
            double t0 = now_s();
            if (baldro_generate(m, pr, len, P, Lp, &go, out, NULL, NULL, &err)) {
                fprintf(stderr, "bench_engine: %s\n", err.msg);
                return 1;
            }
            t[k] = now_s() - t0;
        }
        double gt = median(t + 1, o.gen_reps);
        g_string_append_printf(js, ",\"gen_tokens_per_s\":%.1f,\"gen_kv_cache_mib\":%.1f",
                               P * M / gt, baldro_model_get_info(m)->kv_cache_bytes / 1048576.0);
        if (!do_train) g_string_append_printf(js, ",\"planned_mib\":%.1f,\"base_rss_mib\":%.1f",
                                              baldro_model_get_info(m)->planned_bytes / 1048576.0,
                                              base_rss);
        g_free(pr), g_free(len), g_free(out), g_free(t);
        baldro_model_close(m);
    }
    baldro_backend_stats st;
    baldro_backend_get_stats(be, &st);
    g_string_append_printf(js, ",\"peak_rss_mib\":%.1f,\"arena_peak_mib\":%.1f}", rss_mib(),
                           st.bytes_peak / 1048576.0);
    printf("%s\n", js->str);
    g_string_free(js, TRUE);
    baldro_loader_free(ld);
    baldro_backend_close(be);
    g_free(cfg), g_free(plugdir), g_free(exe_dir);
    return rc;
}

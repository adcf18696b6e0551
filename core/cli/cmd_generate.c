/* core/cli/cmd_generate.c: `baldro-host generate --model DIR --prompt TEXT`, a quick look
 * at what any checkpoint says: the HF directory's model and tokenizer.json, the prompt as
 * plain text after BOS (chat templates arrive with their own issue), greedy by default or
 * temperature / top-p, stopping at the directory's end tokens. Text goes to stdout, a
 * one-line summary to stderr. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "engine/generate.h"
#include "engine/model_hf.h"
#include "tokenizer/tokenizer.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_generate(baldro_cli *cli, int argc, char **argv) {
    char *model = NULL, *prompt = NULL;
    gint max_new = 64;
    gdouble temperature = 0.0, top_p = 1.0;
    gint64 seed = 0;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "HF model directory (config.json, safetensors, tokenizer.json)", "DIR"},
        {"prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "Prompt text", "TEXT"},
        {"max-new-tokens", 'n', 0, G_OPTION_ARG_INT, &max_new, "New tokens at most (default 64)",
         "N"},
        {"temperature", 't', 0, G_OPTION_ARG_DOUBLE, &temperature,
         "Sampling temperature; 0 (default) is greedy", "T"},
        {"top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, "Nucleus mass for sampling (default 1)", "P"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Sampling seed (default 0)", "S"},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- generate text from a checkpoint");
    g_option_context_add_main_entries(ctx, entries, NULL);
    int ok = cli_parse(ctx, &argc, &argv, "generate");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_backend *be = NULL;
    baldro_model *m = NULL;
    baldro_tokenizer *tok = NULL;
    int32_t *ids = NULL, *out = NULL;
    char *text = NULL, *tok_path = NULL;
    baldro_error err = {0};
    if (!ok) goto done;
    if (!model || !prompt) {
        cli_error("generate: --model and --prompt are required");
        goto done;
    }
    if (max_new < 1 || max_new > 100000 || temperature < 0 || !(top_p > 0 && top_p <= 1)) {
        cli_error("generate: --max-new-tokens must be in [1, 100000], --temperature >= 0, "
                  "--top-p in (0, 1]");
        goto done;
    }
    rc = BALDRO_EXIT_FAILED;
    tok_path = g_build_filename(model, "tokenizer.json", NULL);
    size_t n = 0;
    if (baldro_tok_load_json(tok_path, &tok, &err) ||
        baldro_tok_encode(tok, prompt, strlen(prompt), 1, &ids, &n, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    if (n == 0) {
        cli_error("generate: the prompt encodes to no tokens");
        goto done;
    }
    cli_load_plugins(cli, 1);
    const baldro_ops *ops;
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 1, .gen_batch = 1,
                               .gen_len = (int32_t)n + max_new};
    if (baldro_backend_cpu_open(0, &be, &ops, &err) ||
        baldro_model_open_hf_dir(baldro_loader_registry(cli->loader), ops, be, model, lim, &m,
                                 &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    int32_t stops[16], n_stop = 0;
    if (baldro_hf_end_tokens(model, stops, 16, &n_stop, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    if (n_stop == 0 && baldro_tok_eos(tok) >= 0) stops[n_stop++] = baldro_tok_eos(tok);
    out = g_new(int32_t, (size_t)max_new);
    int32_t len = (int32_t)n, got = 0, why = 0;
    baldro_gen_options go = {.max_new_tokens = max_new, .temperature = (float)temperature,
                             .top_p = (float)top_p, .seed = (uint64_t)seed,
                             .stop_ids = stops, .n_stop = n_stop};
    double t0 = now_s();
    if (baldro_generate(m, ids, &len, 1, len, &go, out, &got, &why, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    double dt = now_s() - t0;
    size_t tlen = 0;
    if (baldro_tok_decode(tok, out, (size_t)got, 1, &text, &tlen, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    fwrite(text, 1, tlen, stdout);
    fputc('\n', stdout);
    fprintf(stderr, "generate: %d prompt tokens, %d new (%s), %.1f tokens/s\n", (int)n, got,
            why == BALDRO_STOP_TOKEN ? "end token" : "length limit", got / (dt > 0 ? dt : 1e-9));
    rc = BALDRO_EXIT_OK;
done:
    baldro_model_close(m);
    baldro_backend_close(be);
    baldro_tok_free(tok);
    g_free(ids);
    g_free(out);
    g_free(text);
    g_free(tok_path);
    g_free(model);
    g_free(prompt);
    return rc;
}

/* core/cli/cmd_generate.c: `baldro-host generate --model PATH --prompt TEXT`, a quick look
 * at what any checkpoint says.
 *
 * PATH is an HF directory (its tokenizer.json and end tokens), a llama2.c checkpoint
 * (--tokenizer names its tokenizer .bin, as run.c's -z) or a GGUF file (its own
 * vocabulary). With --template (default auto) the prompt is a question put through the
 * family's chat template, exactly as training and evaluation see it; `none` feeds the
 * text as is after BOS. --ids gives the prompt as token ids instead (no template). Greedy
 * by default, or temperature / top-p. Text goes to stdout, a one-line summary to stderr;
 * --json prints one object instead: prompt and generated ids, text, stop reason. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cli/cli_items.h"
#include "data/chat_template.h"
#include "engine/generate.h"
#include "engine/model_hf.h"
#include "engine/model_open.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_generate(baldro_cli *cli, int argc, char **argv) {
    char *model = NULL, *prompt = NULL, *tok_path = NULL, *tpl_name = NULL, *backend = NULL,
         *ids_opt = NULL;
    gboolean json = FALSE;
    gint max_new = 64, device = 0;
    gdouble temperature = 0.0, top_p = 1.0;
    gint64 seed = 0;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "HF model directory, llama2.c checkpoint (.bin) or GGUF file", "PATH"},
        {"prompt", 'p', 0, G_OPTION_ARG_FILENAME, &prompt,
         "The question (with a template) or the text; may be empty", "TEXT"},
        {"tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tok_path,
         "tokenizer.json, or a llama2.c tokenizer .bin (default: the model's own)", "FILE"},
        {"template", 0, 0, G_OPTION_ARG_STRING, &tpl_name,
         "auto (default: the tokenizer's chat template, none without one), none, plain, "
         "llama2, llama3, qwen3, mistral", "NAME"},
        {"max-new-tokens", 'n', 0, G_OPTION_ARG_INT, &max_new, "New tokens at most (default 64)",
         "N"},
        {"temperature", 't', 0, G_OPTION_ARG_DOUBLE, &temperature,
         "Sampling temperature; 0 (default) is greedy", "T"},
        {"top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, "Nucleus mass for sampling (default 1)", "P"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Sampling seed (default 0)", "S"},
        {"backend", 0, 0, G_OPTION_ARG_STRING, &backend,
         "cpu (default), cuda, or auto (cuda when a device is there)", "NAME"},
        {"device", 0, 0, G_OPTION_ARG_INT, &device, "CUDA device index (default 0)", "N"},
        {"ids", 0, 0, G_OPTION_ARG_STRING, &ids_opt,
         "The prompt as token ids, comma or space separated (no template)", "LIST"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json,
         "One JSON object: prompt_ids, generated_ids, text, stop", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- generate text from a checkpoint");
    g_option_context_add_main_entries(ctx, entries, NULL);
    int ok = cli_parse(ctx, &argc, &argv, "generate");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_backend *be = NULL;
    baldro_model *m = NULL;
    cli_vocab tx = {0};
    int32_t *ids = NULL, *out = NULL;
    char *text = NULL;
    baldro_error err = {0};
    if (!ok) goto done;
    if (!model || !prompt == !ids_opt) {
        cli_error("generate: --model and --prompt are required (or --ids instead of --prompt)");
        goto done;
    }
    if (ids_opt && tpl_name && strcmp(tpl_name, "none")) {
        cli_error("generate: --ids is the prompt as the model sees it; it takes no template");
        goto done;
    }
    if (max_new < 1 || max_new > 100000 || temperature < 0 || !(top_p > 0 && top_p <= 1)) {
        cli_error("generate: --max-new-tokens must be in [1, 100000], --temperature >= 0, "
                  "--top-p in (0, 1]");
        goto done;
    }
    int kind = -1; /* -1: no template */
    const char *how = "";
    if (tpl_name && strcmp(tpl_name, "none") != 0 && strcmp(tpl_name, "auto") != 0 &&
        baldro_template_parse(tpl_name) < 0) {
        cli_error("generate: --template: '%s' is not one of auto, none, plain, llama2, llama3, "
                  "qwen3, mistral", tpl_name);
        goto done;
    }
    size_t n = 0;
    if (ids_opt && cli_parse_ids(ids_opt, "--ids", &ids, &n, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    rc = BALDRO_EXIT_FAILED;
    /* with --ids a llama2.c checkpoint needs no vocabulary: the text is left out */
    int need_vocab = !ids_opt || tok_path || g_file_test(model, G_FILE_TEST_IS_DIR) ||
                     !g_str_has_suffix(model, ".bin");
    if (!g_file_test(model, G_FILE_TEST_EXISTS)) {
        cli_error("generate: %s: no such file or directory", model);
        goto done;
    }
    if (need_vocab && cli_vocab_open(model, tok_path, &tx, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    if (ids_opt) {
        /* the ids as given */
    } else if (tx.hf && (!tpl_name || !strcmp(tpl_name, "auto"))) {
        if (baldro_tok_chat_template(tx.hf) &&
            baldro_template_resolve("auto", tx.hf, "generate", &kind, &how, &err)) {
            cli_error("generate: %s", err.msg);
            goto done;
        }
    } else if (tpl_name && strcmp(tpl_name, "none") && strcmp(tpl_name, "auto")) {
        if (!tx.hf) {
            cli_error("generate: --template %s needs a tokenizer.json; a llama2.c vocabulary "
                      "takes --template none", tpl_name);
            rc = BALDRO_EXIT_USAGE;
            goto done;
        }
        kind = baldro_template_parse(tpl_name);
        how = "named";
    }
    int erc = BALDRO_OK;
    if (ids_opt) erc = BALDRO_OK; /* parsed above */
    else if (tx.l2c) erc = baldro_l2c_encode(tx.l2c, prompt, strlen(prompt), 1, 0, &ids, &n, &err);
    else if (kind >= 0) erc = baldro_template_encode_prompt(tx.hf, kind, prompt, &ids, &n, &err);
    else erc = baldro_tok_encode(tx.hf, prompt, strlen(prompt), 1, &ids, &n, &err);
    if (erc) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    if (n == 0) {
        cli_error("generate: the prompt encodes to no tokens (the tokenizer adds no BOS)");
        goto done;
    }
    cli_load_plugins(cli, 1);
    const baldro_ops *ops;
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 1, .gen_batch = 1,
                               .gen_len = (int32_t)n + max_new};
    if (cli_open_backend_named("--backend", backend ? backend : "cpu", device, &be, &ops,
                               &err) ||
        baldro_model_open_path(baldro_loader_registry(cli->loader), ops, be, model, lim, &m,
                               &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    int32_t V = baldro_model_get_info(m)->vocab_size;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V) {
            cli_error("generate: --ids: %d is not below the model's vocab_size %d", (int)ids[i],
                      (int)V);
            goto done;
        }
    int32_t stops[17], n_stop = 0;
    if (!tx.hf) {
        stops[n_stop++] = 1; /* run.c: BOS delimits sequences */
    } else {
        if (g_file_test(model, G_FILE_TEST_IS_DIR) &&
            baldro_hf_end_tokens(model, stops, 16, &n_stop, &err)) {
            cli_error("generate: %s", err.msg);
            goto done;
        }
        int32_t extra = kind >= 0 ? baldro_template_end_token(tx.hf, kind) : baldro_tok_eos(tx.hf);
        int seen = 0;
        for (int i = 0; i < n_stop; i++) seen |= stops[i] == extra;
        if (extra >= 0 && !seen) stops[n_stop++] = extra;
    }
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
    if ((tx.hf || tx.l2c) &&
        cli_vocab_decode(&tx, ids[n - 1], out, (size_t)got, 1, &text, &tlen, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    if (json) {
        GString *s = g_string_new("{\"prompt_ids\":");
        cli_json_ids(s, ids, n);
        g_string_append(s, ",\"generated_ids\":");
        cli_json_ids(s, out, (size_t)got);
        g_string_append(s, ",\"text\":");
        if (text) cli_json_string(s, text, tlen);
        else g_string_append(s, "null");
        g_string_append_printf(s, ",\"stop\":\"%s\"}\n",
                               why == BALDRO_STOP_TOKEN ? "eos" : "length");
        fwrite(s->str, 1, s->len, stdout);
        g_string_free(s, TRUE);
    } else if (text) {
        fwrite(text, 1, tlen, stdout);
        fputc('\n', stdout);
    } else {
        for (int32_t i = 0; i < got; i++) printf(i ? " %d" : "%d", (int)out[i]);
        fputc('\n', stdout);
    }
    fprintf(stderr, "generate: template %s%s%s, %d prompt tokens, %d new (%s), %.1f tokens/s\n",
            kind >= 0 ? baldro_template_name(kind) : "none", *how ? " - " : "", how, (int)n, got,
            why == BALDRO_STOP_TOKEN ? "end token" : "length limit", got / (dt > 0 ? dt : 1e-9));
    rc = BALDRO_EXIT_OK;
done:
    baldro_model_close(m);
    baldro_backend_close(be);
    cli_vocab_close(&tx);
    g_free(ids);
    g_free(out);
    g_free(text);
    g_free(tok_path);
    g_free(tpl_name);
    g_free(backend);
    g_free(model);
    g_free(prompt);
    g_free(ids_opt);
    return rc;
}

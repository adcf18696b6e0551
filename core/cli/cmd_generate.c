/* core/cli/cmd_generate.c: `baldro-host generate --model PATH --prompt TEXT`, a quick look
 * at what any checkpoint says.
 *
 * PATH is an HF directory (its tokenizer.json and end tokens), a llama2.c checkpoint
 * (--tokenizer names its tokenizer .bin, as run.c's -z) or a GGUF file (its own
 * vocabulary). With --template (default auto) the prompt is a question put through the
 * family's chat template, exactly as training and evaluation see it; `none` feeds the
 * text as is after BOS. Greedy by default, or temperature / top-p. Text goes to stdout,
 * a one-line summary to stderr. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "data/chat_template.h"
#include "engine/generate.h"
#include "engine/model_hf.h"
#include "engine/model_open.h"
#include "io/gguf_vocab.h"
#include "io/llama2c.h"
#include "tokenizer/tokenizer.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The text side of a checkpoint: an HF tokenizer, or a llama2.c vocabulary. */
typedef struct {
    baldro_tokenizer *hf;
    baldro_l2c_tokenizer *l2c;
} gen_text;

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && g_ascii_strcasecmp(s + a - b, suf) == 0;
}

static int text_open(const char *model, const char *tok_path, gen_text *t, baldro_error *err) {
    if (!g_file_test(model, G_FILE_TEST_EXISTS))
        return baldro_error_set(err, BALDRO_ENOTFOUND, "%s: no such file or directory", model);
    int is_dir = g_file_test(model, G_FILE_TEST_IS_DIR);
    if (tok_path && has_suffix(tok_path, ".json"))
        return baldro_tok_load_json(tok_path, &t->hf, err);
    if (tok_path) return baldro_l2c_tokenizer_open(tok_path, 0, &t->l2c, err);
    if (is_dir) {
        char *p = g_build_filename(model, "tokenizer.json", NULL);
        int rc = baldro_tok_load_json(p, &t->hf, err);
        g_free(p);
        return rc;
    }
    if (has_suffix(model, ".gguf")) {
        baldro_gguf_file *f = NULL;
        int rc = baldro_gguf_open(model, &f, err);
        if (!rc) rc = baldro_gguf_l2c_tokenizer(f, &t->l2c, err);
        baldro_gguf_close(f);
        return rc;
    }
    return baldro_error_set(err, BALDRO_EINVAL,
                            "%s: a llama2.c checkpoint carries no vocabulary; name its "
                            "tokenizer with --tokenizer (e.g. tok512.bin)", model);
}

static void text_close(gen_text *t) {
    baldro_tok_free(t->hf);
    baldro_l2c_tokenizer_free(t->l2c);
}

/* run.c's output: each piece, without the leading space after BOS, bytes that are neither
 * printable nor space dropped. */
static char *l2c_detok(const baldro_l2c_tokenizer *t, int32_t prev, const int32_t *ids, int n,
                       size_t *len) {
    GString *s = g_string_new(NULL);
    for (int i = 0; i < n; i++) {
        size_t pl;
        const char *p = baldro_l2c_decode(t, prev, ids[i], &pl);
        if (p && baldro_l2c_piece_printable(p, pl)) g_string_append_len(s, p, (gssize)pl);
        prev = ids[i];
    }
    *len = s->len;
    return g_string_free(s, FALSE);
}

int cmd_generate(baldro_cli *cli, int argc, char **argv) {
    char *model = NULL, *prompt = NULL, *tok_path = NULL, *tpl_name = NULL, *backend = NULL;
    gint max_new = 64, device = 0;
    gdouble temperature = 0.0, top_p = 1.0;
    gint64 seed = 0;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "HF model directory, llama2.c checkpoint (.bin) or GGUF file", "PATH"},
        {"prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt,
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
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- generate text from a checkpoint");
    g_option_context_add_main_entries(ctx, entries, NULL);
    int ok = cli_parse(ctx, &argc, &argv, "generate");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_backend *be = NULL;
    baldro_model *m = NULL;
    gen_text tx = {0};
    int32_t *ids = NULL, *out = NULL;
    char *text = NULL;
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
    int kind = -1; /* -1: no template */
    const char *how = "";
    if (tpl_name && strcmp(tpl_name, "none") != 0 && strcmp(tpl_name, "auto") != 0 &&
        baldro_template_parse(tpl_name) < 0) {
        cli_error("generate: --template: '%s' is not one of auto, none, plain, llama2, llama3, "
                  "qwen3, mistral", tpl_name);
        goto done;
    }
    rc = BALDRO_EXIT_FAILED;
    if (text_open(model, tok_path, &tx, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    if (tx.hf && (!tpl_name || !strcmp(tpl_name, "auto"))) {
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
    size_t n = 0;
    int erc;
    if (tx.l2c) erc = baldro_l2c_encode(tx.l2c, prompt, strlen(prompt), 1, 0, &ids, &n, &err);
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
    int32_t stops[17], n_stop = 0;
    if (tx.l2c) {
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
    if (tx.l2c) {
        text = l2c_detok(tx.l2c, ids[n - 1], out, got, &tlen);
    } else if (baldro_tok_decode(tx.hf, out, (size_t)got, 1, &text, &tlen, &err)) {
        cli_error("generate: %s", err.msg);
        goto done;
    }
    fwrite(text, 1, tlen, stdout);
    fputc('\n', stdout);
    fprintf(stderr, "generate: template %s%s%s, %d prompt tokens, %d new (%s), %.1f tokens/s\n",
            kind >= 0 ? baldro_template_name(kind) : "none", *how ? " - " : "", how, (int)n, got,
            why == BALDRO_STOP_TOKEN ? "end token" : "length limit", got / (dt > 0 ? dt : 1e-9));
    rc = BALDRO_EXIT_OK;
done:
    baldro_model_close(m);
    baldro_backend_close(be);
    text_close(&tx);
    g_free(ids);
    g_free(out);
    g_free(text);
    g_free(tok_path);
    g_free(tpl_name);
    g_free(backend);
    g_free(model);
    g_free(prompt);
    return rc;
}

/* core/cli/cmd_convert.c: `baldro-host convert --model SRC --out DIR` loads a model (HF
 * directory, llama2.c .bin or GGUF) and
 * writes it as a Hugging Face directory (config.json, F32 safetensors, sharded above
 * --shard-size, tokenizer and generation files copied). It is the save path the trainer
 * uses for checkpoints, exposed so that its output can be checked with transformers
 * (tests/oracle/hf_oracle.py --check-convert). */
#include <stdio.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "engine/model_hf.h"
#include "engine/model_open.h"

int cmd_convert(baldro_cli *cli, int argc, char **argv) {
    char *src = NULL, *out = NULL;
    gint64 shard = 0;
    gboolean overwrite = FALSE;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &src, "Model to load: an HF directory, a llama2.c .bin or a .gguf", "PATH"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Directory to write", "DIR"},
        {"shard-size", 0, 0, G_OPTION_ARG_INT64, &shard,
         "Largest safetensors shard in bytes (default 5e9, as transformers)", "BYTES"},
        {"overwrite", 0, 0, G_OPTION_ARG_NONE, &overwrite, "Replace an existing --out", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- write a model as a Hugging Face directory");
    g_option_context_add_main_entries(ctx, entries, NULL);
    int ok = cli_parse(ctx, &argc, &argv, "convert");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_backend *be = NULL;
    baldro_model *m = NULL;
    baldro_error err = {0};
    if (!ok) goto out;
    if (!src || !out) {
        cli_error("convert: --model and --out are required");
        goto out;
    }
    if (shard < 0) {
        cli_error("convert: --shard-size must be positive");
        goto out;
    }
    cli_load_plugins(cli, 1);
    const baldro_ops *ops;
    rc = BALDRO_EXIT_FAILED;
    /* A format conversion: the CPU backend (the defaults), whatever the machine has. */
    if (cli_open_backend(NULL, &be, &ops, &err) ||
        baldro_model_open_path(baldro_loader_registry(cli->loader), ops, be, src,
                               (baldro_model_limits){.max_batch = 1, .max_seq = 1}, &m, &err)) {
        cli_error("convert: %s", err.msg);
        goto out;
    }
    baldro_save_options so = {.max_shard_bytes = (size_t)shard, .copy_files_from = src,
                              .overwrite = overwrite};
    if (baldro_model_save_hf_dir(m, out, &so, &err)) {
        cli_error("convert: %s", err.msg);
        goto out;
    }
    printf("wrote %s (%s, %lld parameters)\n", out, baldro_model_arch(m),
           (long long)baldro_model_get_info(m)->n_params);
    rc = BALDRO_EXIT_OK;
out:
    baldro_model_close(m);
    baldro_backend_close(be);
    g_free(src);
    g_free(out);
    return rc;
}

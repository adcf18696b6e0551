/*
 * core/cli/main.c: baldro-host, the command-line host.
 *
 *   baldro-host [--plugins DIR[:DIR...]] [-v|-q] <command> [options]
 *
 * Global options come before the command; each command parses its own. Exit codes:
 * 0 success, 1 the run failed, 2 usage or configuration error (or not built yet).
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baldro/version.h"
#include "cli/cli.h"
#include "util/log.h"

typedef int (*command_fn)(baldro_cli *cli, int argc, char **argv);

typedef struct command {
    const char *name;
    command_fn fn;
    const char *summary;
} command;

static const command k_commands[] = {
    {"plugins", cmd_plugins, "list loaded plugins and objects, and rejected files"},
    {"config", cmd_config, "print the resolved configuration"},
    {"check", cmd_check, "check objective plugins against the ABI contract"},
    {"pipeline", cmd_pipeline, "fine-tune, unlearn, evaluate and report, over a sweep"},
    {"convert", cmd_convert, "load a model (HF dir, llama2.c .bin, GGUF) and write an HF directory"},
    {"finetune", cmd_finetune, "fine-tune on a TOFU split (NLL on the answers)"},
    {"unlearn", cmd_unlearn, "unlearn a forget split: objective + retain + BalDRO"},
    {"eval", cmd_eval, "evaluate a model on TOFU: TOFU_EVAL.json, TOFU_SUMMARY.json"},
    {"generate", cmd_generate, "generate text from a checkpoint (HF dir, .bin, .gguf)"},
    {"tokenize", cmd_tokenize, "token ids, token texts and loss mask of items (no weights)"},
    {"score", cmd_score, "answer-token log-probs of items, as the TOFU metrics score them"},
    {"report", cmd_report, "write report.html (inline SVG) over experiment and run dirs"},
};
#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

static char *commands_help(void) {
    GString *s = g_string_new("Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        g_string_append_printf(s, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    g_string_append(s,
        "\n`baldro-host COMMAND --help` describes each command.\n"
        "\nEnvironment:\n"
        "  BALDRO_PLUGIN_PATH  more plugin directories, colon-separated (after --plugins)\n"
        "  BALDRO_LOG          log level: error, warn, info (default) or debug\n"
        "\nExit status:\n"
        "  0  success\n"
        "  1  the run failed\n"
        "  2  usage or configuration error, or a command that is not built yet\n");
    return g_string_free(s, FALSE);
}

/* libgomp reads OMP_WAIT_POLICY once, when it loads (before main). Its default keeps idle
 * threads spinning between parallel regions; on a machine shared with anything else (a
 * compiler, a second job) the spinning threads take the cores the work needs: a
 * fine-tuning step of the tiny demo model ran 8.7x slower that way on 2 cores
 * (docs/performance.md). Unless the user chose a policy, the host re-executes itself
 * once with PASSIVE; BALDRO_NO_REEXEC=1 turns this off. */
static void omp_passive(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("BALDRO_NO_REEXEC")) return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): run on with the default policy */
}

int main(int argc, char **argv) {
    omp_passive(argv);
    baldro_cli cli = {.prog = "baldro-host"};
    gboolean verbose = FALSE, quiet = FALSE, version = FALSE;
    char *plugins = NULL;

    const char *env_level = getenv("BALDRO_LOG");
    if (env_level && env_level[0]) {
        baldro_log_level lvl;
        if (baldro_log_parse_level(env_level, &lvl) == 0)
            baldro_log_set_level(lvl);
        else
            LOG_WARN("BALDRO_LOG='%s' is not one of error, warn, info, debug (ignored)", env_level);
    }

    GOptionEntry entries[] = {
        {"plugins", 'p', 0, G_OPTION_ARG_STRING, &plugins,
         "Plugin directories searched first, colon-separated", "DIR[:DIR...]"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Log errors only", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print host and ABI versions", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("COMMAND [OPTIONS] - machine unlearning for LLMs");
    g_option_context_add_main_entries(ctx, entries, NULL);
    /* Stop at the command name: what follows belongs to the command. */
    g_option_context_set_strict_posix(ctx, TRUE);
    char *desc = commands_help();
    g_option_context_set_description(ctx, desc);
    GError *gerr = NULL;
    int rc = BALDRO_EXIT_USAGE;
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr)) {
        cli_error("%s (see baldro-host --help)", gerr->message);
        g_error_free(gerr);
        goto out;
    }
    if (verbose && quiet) {
        cli_error("--verbose and --quiet exclude each other");
        goto out;
    }
    if (verbose) baldro_log_set_level(BALDRO_LOG_DEBUG);
    if (quiet) baldro_log_set_level(BALDRO_LOG_ERROR);
    if (version) {
        printf("baldro-host %s\nplugin ABI %d.%d\nCUDA backend %s\n", BALDRO_VERSION_STRING,
               BALDRO_ABI_MAJOR, BALDRO_ABI_MINOR, BALDRO_HAVE_CUDA ? "compiled" : "not compiled");
        rc = BALDRO_EXIT_OK;
        goto out;
    }
    if (argc < 2) {
        char *help = g_option_context_get_help(ctx, TRUE, NULL);
        fputs(help, stderr);
        g_free(help);
        goto out;
    }
    cli.plugins_opt = plugins;
    const command *cmd = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], k_commands[i].name) == 0) cmd = &k_commands[i];
    if (!cmd) {
        cli_error("unknown command '%s' (see baldro-host --help)", argv[1]);
        goto out;
    }
    /* The command sees argv[0] = its own name; its --help says "baldro-host NAME". */
    char *prg = g_strdup_printf("baldro-host %s", cmd->name);
    g_set_prgname(prg);
    g_free(prg);
    rc = cmd->fn(&cli, argc - 1, argv + 1);
out:
    baldro_loader_free(cli.loader);
    g_option_context_free(ctx);
    g_free(desc);
    g_free(plugins);
    return rc;
}

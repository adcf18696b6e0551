/* core/cli/cmd_config.c: `baldro-host config` prints the fully resolved configuration
 * (what a run would use), optionally with where each value came from. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_config(baldro_cli *cli, int argc, char **argv) {
    baldro_cli_config_opts opts = {0};
    gboolean origins = FALSE;
    GOptionEntry entries[] = {
        {"origins", 'o', 0, G_OPTION_ARG_NONE, &origins,
         "Annotate each value with where it came from (file:line, --set, defaults, plugin)",
         NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- print the resolved configuration");
    g_option_context_add_main_entries(ctx, entries, NULL);
    cli_add_config_options(ctx, &opts);
    int ok = cli_parse(ctx, &argc, &argv, "config");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    if (!ok) goto out;
    if (argc > 1) {
        cli_error("config: unexpected argument '%s'", argv[1]);
        goto out;
    }
    baldro_config *cfg = cli_resolve_config(cli, &opts);
    if (!cfg) goto out;
    char *text = baldro_config_to_string(cfg, origins);
    fputs(text, stdout);
    g_free(text);
    baldro_config_free(cfg);
    rc = BALDRO_EXIT_OK;
out:
    cli_config_opts_clear(&opts);
    return rc;
}
